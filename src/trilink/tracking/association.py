"""Detection-to-track association: vectorised χ² gating, GNN (optimal assignment), cheap JPDA.

Gating works on the converted ECEF position of each detection: for track i and
detection j the innovation ``ν = z_j − r̂_i`` has covariance ``S_ij = P_rr,i + R_j``
and the squared Mahalanobis distance ``d²_ij = νᵀ S⁻¹ ν`` is χ²(3) for the right
pair. The cost is computed for every pair at once as (T, D, 3, 3) arrays after a
cheap Euclidean pre-gate (pairs farther apart than ``prefactor`` standard
deviations of the loosest axis are never inverted), so the work grows with the
number of *plausible* pairs, near-linearly in tracks × detections in practice.

* :func:`gnn` — global nearest neighbour: minimise Σ (d² + ln|S|) over one-to-one
  assignments inside the gate (``scipy.optimize.linear_sum_assignment``).
* :func:`cheap_jpda` — approximate JPDA weights (Fitzgerald, "Development of
  practical PDA logic for multitarget tracking by microprocessor", ACC 1986): the
  association probability of pair (i, j) is ``G_ij / (S_i + R_j − G_ij + B)`` with
  ``G`` the Gaussian likelihoods, ``S_i``/``R_j`` their row/column sums and ``B`` a
  clutter-density term; selectable for closely spaced objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

F64 = NDArray[np.float64]
_INF = 1e18


@dataclass(frozen=True, kw_only=True, eq=False)
class Gating:
    """Pairwise gating of T tracks against D detections."""

    d2: F64
    """(T, D) squared Mahalanobis distances (inf outside the pre-gate)."""
    log_det_s: F64
    """(T, D) ln|S_ij| (inf outside the pre-gate)."""
    inside: NDArray[np.bool_]
    """(T, D) inside the χ² gate."""


def gate(
    r_pred_ecef_m: F64,
    P_rr: F64,
    z_ecef_m: F64,
    Rz: F64,
    threshold: float,
    *,
    prefactor: float = 6.0,
) -> Gating:
    """Gate predicted track positions (T, 3) with covariances (T, 3, 3) against
    detections (D, 3) with covariances (D, 3, 3) at χ² ``threshold``."""
    t, d = r_pred_ecef_m.shape[0], z_ecef_m.shape[0]
    d2 = np.full((t, d), np.inf)
    ld = np.full((t, d), np.inf)
    if t == 0 or d == 0:
        return Gating(d2=d2, log_det_s=ld, inside=np.zeros((t, d), dtype=bool))
    diff = z_ecef_m[None, :, :] - r_pred_ecef_m[:, None, :]
    dist2 = np.einsum("tdi,tdi->td", diff, diff)
    spread = np.trace(P_rr, axis1=1, axis2=2)[:, None] + np.trace(Rz, axis1=1, axis2=2)[None, :]
    ti, dj = np.nonzero(dist2 <= prefactor * prefactor * spread)
    if ti.size:
        S = P_rr[ti] + Rz[dj]
        nu = diff[ti, dj]
        sign, logdet = np.linalg.slogdet(S)
        ok = (sign > 0.0) & np.isfinite(logdet)
        if not np.all(ok):
            ti, dj, S, nu, logdet = ti[ok], dj[ok], S[ok], nu[ok], logdet[ok]
        if ti.size:
            sol = np.linalg.solve(S, nu[..., None])[..., 0]
            d2[ti, dj] = np.einsum("ki,ki->k", nu, sol)
            ld[ti, dj] = logdet
    return Gating(d2=d2, log_det_s=ld, inside=d2 <= threshold)


def gnn(g: Gating, bonus: F64 | None = None) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Optimal one-to-one assignment inside the gate: (track rows, detection columns).

    ``bonus`` (T,) is subtracted from a track's costs (e.g. to prefer confirmed
    tracks over tentative ones for the same detection).
    """
    t, d = g.d2.shape
    if t == 0 or d == 0 or not g.inside.any():
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    rows = np.flatnonzero(g.inside.any(axis=1))
    cols = np.flatnonzero(g.inside.any(axis=0))
    sub_inside = g.inside[np.ix_(rows, cols)]
    cost = g.d2[np.ix_(rows, cols)] + g.log_det_s[np.ix_(rows, cols)]
    if bonus is not None:
        cost = cost - bonus[rows][:, None]
    cost = np.where(sub_inside, cost, _INF)
    r, c = linear_sum_assignment(cost)
    ok = sub_inside[r, c]
    return rows[r[ok]], cols[c[ok]]


def cheap_jpda(g: Gating, clutter_term: float) -> F64:
    """Approximate association probabilities β (T, D) (Fitzgerald's cheap JPDA)."""
    with np.errstate(over="ignore", invalid="ignore"):
        G = np.where(
            g.inside, np.exp(-0.5 * g.d2 - 0.5 * g.log_det_s - 1.5 * math.log(2 * math.pi)), 0.0
        )
    St = G.sum(axis=1, keepdims=True)
    Sr = G.sum(axis=0, keepdims=True)
    return np.where(G > 0.0, G / (St + Sr - G + clutter_term), 0.0)
