"""Fusion rules for several estimates of one object: covariance intersection and the
information sum, vectorised over groups.

Inputs are padded groups: states ``x`` (M, K, 6), covariances ``P`` (M, K, 6, 6) and a
mask (M, K) of which of the K slots of each of the M groups hold an estimate.

**Covariance intersection** (Julier & Uhlmann, "A non-divergent estimation algorithm
in the presence of unknown correlations", ACC 1997) of estimates (x_i, P_i) with
weights ω_i ≥ 0, Σω_i = 1::

    P⁻¹ = Σ ω_i P_i⁻¹,   P⁻¹ x = Σ ω_i P_i⁻¹ x_i

is consistent (P ≥ the true error covariance) for *any* cross-correlation between
the estimates, provided each P_i is. The weights come from the closed-form **fast
CI** of Niehsen ("Information fusion based on fast covariance intersection
filtering", FUSION 2002): for two estimates ω₁ = tr P₂ / (tr P₁ + tr P₂); its N-track
form (the same rule, written as in Franken & Hüpper, "Improved fast covariance
intersection for distributed data fusion", FUSION 2005, eq. for FCI) is

    ω_i = (1 / tr P_i) / Σ_j (1 / tr P_j).

The trace mixes m² and m²/s²; for our tracks it is dominated by the position block,
which is the intent. The optimal ω (minimum trace or determinant of the fused P) is
available for pairs (:func:`optimal_ci_weight_pair`, golden-section search) as the
reference the fast weight is tested against.

**Information sum** (the "independent" rule): ω_i = 1 for all i,

    P⁻¹ = Σ P_i⁻¹,   P⁻¹ x = Σ P_i⁻¹ x_i,

the optimal fusion when the estimates' errors are independent (no common process
noise, no common prior, no double counting). National tracks of one object share the
object's unmodelled motion, so their errors are not exactly independent: use it
knowingly.

**Scaled information sum** (the default at the hub, :func:`scaled_fusion`): the
information sum, with its covariance multiplied by S² = max(1, χ²/ν) where χ² is the
estimates' disagreement about the fused mean (position components, ν = 3 (K − 1)).
This is the Particle Data Group's rule for averaging inconsistent measurements
(*Review of Particle Physics*, Introduction, §5.2.2 "Unconstrained averaging": the
error of the average is multiplied by S = [χ²/(N − 1)]^½ when S > 1): when
the nations disagree more than their covariances allow, the fused covariance grows
by the measured excess instead of claiming the information sum's precision.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]

FusionRule = Literal["ci", "independent", "scaled"]


def _check(x: F64, P: F64, mask: Bool | None) -> tuple[F64, F64, Bool]:
    x = np.asarray(x, dtype=float)
    P = np.asarray(P, dtype=float)
    if x.ndim != 3 or P.ndim != 4 or P.shape[:2] != x.shape[:2]:
        raise ValueError(
            f"fusion: x must be (M, K, d) and P (M, K, d, d); got {x.shape}, {P.shape}"
        )
    d = x.shape[2]
    if P.shape[2:] != (d, d):
        raise ValueError(f"fusion: P must be (M, K, {d}, {d}); got {P.shape}")
    m = np.ones(x.shape[:2], dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != x.shape[:2]:
        raise ValueError(f"fusion: mask must be {x.shape[:2]}; got {m.shape}")
    return x, P, m


def fast_ci_weights(P: F64, mask: Bool | None = None) -> F64:
    """Fast-CI weights (M, K): ω_i ∝ 1/tr P_i over the valid slots (module docstring)."""
    P = np.asarray(P, dtype=float)
    m = np.ones(P.shape[:2], dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    tr = np.trace(P, axis1=-2, axis2=-1)
    inv = np.where(m, 1.0 / np.where(m, tr, 1.0), 0.0)
    s = inv.sum(axis=1, keepdims=True)
    return inv / np.where(s > 0.0, s, 1.0)


def _weighted_information(x: F64, P: F64, mask: Bool, w: F64) -> tuple[F64, F64]:
    d = x.shape[2]
    eye = np.eye(d)
    Pm = np.where(mask[..., None, None], P, eye)
    Y = np.linalg.inv(Pm)
    Yw = Y * w[..., None, None]
    info = Yw.sum(axis=1)
    y = np.einsum("mkij,mkj->mi", Yw, x)
    P_f = np.linalg.inv(info)
    P_f = 0.5 * (P_f + np.swapaxes(P_f, -1, -2))
    x_f = np.einsum("mij,mj->mi", P_f, y)
    return x_f, P_f


def covariance_intersection(
    x: F64, P: F64, mask: Bool | None = None, weights: F64 | None = None
) -> tuple[F64, F64]:
    """CI of each group's valid estimates: (x (M, d), P (M, d, d)).

    ``weights`` (M, K) default to :func:`fast_ci_weights`; they are renormalised to
    sum to 1 over the valid slots. A group of one estimate returns it unchanged.
    """
    x, P, m = _check(x, P, mask)
    w = fast_ci_weights(P, m) if weights is None else np.where(m, weights, 0.0)
    s = w.sum(axis=1, keepdims=True)
    w = w / np.where(s > 0.0, s, 1.0)
    return _weighted_information(x, P, m, w)


def independent_fusion(x: F64, P: F64, mask: Bool | None = None) -> tuple[F64, F64]:
    """Information sum of each group's valid estimates (independent errors)."""
    x, P, m = _check(x, P, mask)
    return _weighted_information(x, P, m, m.astype(float))


def disagreement_chi2(x: F64, P: F64, mask: Bool, x_f: F64, dims: slice = slice(0, 3)) -> F64:
    """χ² = Σ_i (x_i − x_f)ᵀ P_i⁻¹ (x_i − x_f) over each group's valid slots, on the
    components ``dims`` (default the position), (M,). For two estimates fused by the
    information sum it equals Δᵀ (P₁ + P₂)⁻¹ Δ with Δ = x₁ − x₂."""
    d = x[..., dims] - x_f[:, None, dims]
    Pd = np.where(mask[..., None, None], P[..., dims, dims], np.eye(d.shape[-1]))
    q = np.einsum("mki,mki->mk", d, np.linalg.solve(Pd, d[..., None])[..., 0])
    return np.where(mask, q, 0.0).sum(axis=1)


def scaled_fusion(
    x: F64, P: F64, mask: Bool | None = None, dims: slice = slice(0, 3)
) -> tuple[F64, F64, F64]:
    """Information sum with the Particle Data Group's scale factor: (x, P, S²).

    The estimates' disagreement χ² (:func:`disagreement_chi2`, on ``dims``, d
    components) has ν = d (K − 1) degrees of freedom when the K estimates are
    independent and their covariances right. If S² = χ²/ν > 1 the covariances are
    too small to explain the spread, and the fused covariance is multiplied by S²
    (PDG, *Review of Particle Physics*, Introduction, §5.2.2 "Unconstrained
    averaging": errors multiplied by S = [χ²/(N − 1)]^½ when S > 1). Groups of one
    estimate get S² = 1."""
    x, P, m = _check(x, P, mask)
    x_f, P_f = _weighted_information(x, P, m, m.astype(float))
    k = m.sum(axis=1)
    nu = (dims.stop - dims.start) * np.maximum(k - 1, 1)
    S = np.where(k >= 2, np.maximum(disagreement_chi2(x, P, m, x_f, dims) / nu, 1.0), 1.0)
    return x_f, P_f * S[:, None, None], S


def fuse_groups(
    x: F64, P: F64, mask: Bool | None = None, rule: FusionRule = "ci"
) -> tuple[F64, F64]:
    """Dispatch on ``rule``: ``"ci"`` (fast CI) or ``"independent"`` (information sum)."""
    if rule == "ci":
        return covariance_intersection(x, P, mask)
    if rule == "independent":
        return independent_fusion(x, P, mask)
    if rule == "scaled":
        return scaled_fusion(x, P, mask)[:2]
    raise ValueError(f"fusion rule {rule!r}: expected 'ci', 'independent' or 'scaled'")


def ci_pair(P1: F64, P2: F64, omega: F64) -> F64:
    """CI covariance of two estimates for weights ω (on P1), (M, d, d)."""
    om = np.asarray(omega, dtype=float)[..., None, None]
    return np.linalg.inv(om * np.linalg.inv(P1) + (1.0 - om) * np.linalg.inv(P2))


def optimal_ci_weight_pair(
    P1: F64, P2: F64, criterion: Literal["trace", "det"] = "trace", *, tol: float = 1e-10
) -> F64:
    """ω ∈ [0, 1] (on P1) minimising tr or det of the CI covariance, (M,).

    Golden-section search, vectorised over M pairs (the criterion is convex in ω for
    det — log det of an inverse of an affine family — and unimodal for the trace)."""
    P1 = np.asarray(P1, dtype=float)
    P2 = np.asarray(P2, dtype=float)
    Y1, Y2 = np.linalg.inv(P1), np.linalg.inv(P2)

    def f(om: F64) -> F64:
        Pc = np.linalg.inv(om[:, None, None] * Y1 + (1.0 - om)[:, None, None] * Y2)
        if criterion == "trace":
            return np.trace(Pc, axis1=1, axis2=2)
        return np.linalg.slogdet(Pc)[1]

    g = (math.sqrt(5.0) - 1.0) / 2.0
    n = P1.shape[0]
    a, b = np.zeros(n), np.ones(n)
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    while np.max(b - a) > tol:
        left = fc < fd
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        c_new = b - g * (b - a)
        d_new = a + g * (b - a)
        c, d = c_new, d_new
        fc, fd = f(c), f(d)
    om = 0.5 * (a + b)
    # the optimum may sit on an end point
    ends = np.stack([np.zeros(n), om, np.ones(n)], axis=1)
    vals = np.stack([f(ends[:, k]) for k in range(3)], axis=1)
    return ends[np.arange(n), np.argmin(vals, axis=1)]


def mahalanobis2(dx: F64, S: F64) -> F64:
    """dxᵀ S⁻¹ dx over leading axes: dx (..., d), S (..., d, d)."""
    sol = np.linalg.solve(S, dx[..., None])[..., 0]
    return np.einsum("...i,...i->...", dx, sol)
