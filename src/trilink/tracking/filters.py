"""IMM filtering over ECEF missile states, vectorised over tracks: EKF and UKF variants.

Each track carries one state per motion model (``x`` (T, M, 10), ``P`` (T, M, 10, 10))
and model probabilities ``mu`` (T, M). The models (:mod:`trilink.tracking.dynamics`)
share the state layout, so the interacting-multiple-model recursion (Blom &
Bar-Shalom, IEEE TAC 33(8), 1988) is the textbook one:

1. *mixing* with the Markov chain over the step, ``Π(dt) = expm(Λ dt)`` for a
   continuous-time chain with switching rates Λ (boost → coast at burnout, coast →
   boost at an upper-stage ignition);
2. per-model prediction — EKF: RK4 mean and ``Φ P Φᵀ + Q`` with the analytic
   Jacobian's transition matrix; UKF: the unscented transform (Julier & Uhlmann,
   scaled, α = 1, β = 2, κ = 0: all weights positive for n = 10) of the RK4 flow;
3. per-model update with a converted position measurement (linear, ``H = [I₃ 0]``,
   Joseph form) and, where the radar measures it, a scalar range-rate EKF update;
4. model probabilities from the measurement likelihoods.

Both variants share the update (it is linear in position) and differ in how the
mean and covariance are carried through the nonlinear flow; :class:`FilterConfig`
selects one. Everything is plain numpy over the leading track axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import expm

from trilink.tracking.dynamics import (
    BALLISTIC,
    BOOST,
    MotionModel,
    inverse_tau,
    process_noise,
)
from trilink.tracking.dynamics import propagate as _propagate
from trilink.tracking.measurement import range_rate, range_rate_jacobian

F64 = NDArray[np.float64]
_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True, kw_only=True)
class FilterConfig:
    """Filter choice and IMM parameters."""

    kind: Literal["ekf", "ukf"] = "ekf"
    models: tuple[MotionModel, ...] = (BOOST, BALLISTIC)
    switch_rates_per_s: tuple[tuple[float, ...], ...] = ((0.0, 1.0 / 60.0), (1.0 / 400.0, 0.0))
    """Λ off-diagonal rates, s⁻¹: row = from, column = to (diagonal ignored)."""
    min_probability: float = 1e-4
    """Floor on a model probability (keeps a switch possible)."""
    max_step_s: float = 5.0
    _generator: F64 = field(init=False, repr=False, compare=False)
    _kernel_params: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in ("ekf", "ukf"):
            raise ValueError(f"FilterConfig.kind must be 'ekf' or 'ukf', got {self.kind!r}")
        m = len(self.models)
        rates = np.array(self.switch_rates_per_s, dtype=float)
        if rates.shape != (m, m) or np.any(rates < 0.0) or not np.all(np.isfinite(rates)):
            raise ValueError(
                f"FilterConfig.switch_rates_per_s must be a non-negative {m}x{m} table"
            )
        gen = rates.copy()
        np.fill_diagonal(gen, 0.0)
        np.fill_diagonal(gen, -gen.sum(axis=1))
        object.__setattr__(self, "_generator", gen)
        object.__setattr__(
            self,
            "_kernel_params",
            (
                np.array([inverse_tau(md) for md in self.models]),
                np.array([md.q_vel_m2ps3 for md in self.models]),
                np.array([md.q_jerk_m2ps5 for md in self.models]),
                np.array([md.q_kdrag_m4pkg2ps for md in self.models]),
            ),
        )

    def transition(self, dt_s: float) -> F64:
        """Π(dt): probability of being in model j after ``dt_s`` given model i now."""
        return expm(self._generator * abs(float(dt_s)))

    def transitions(self, dt_s: F64) -> F64:
        """Π for many steps at once, (T, M, M); closed form for two models."""
        dt = np.abs(np.asarray(dt_s, dtype=float))
        gen = self._generator
        if gen.shape == (2, 2):
            lam = -gen[0, 0] - gen[1, 1]
            if lam <= 0.0:
                return np.broadcast_to(np.eye(2), (dt.size, 2, 2)).copy()
            f = (1.0 - np.exp(-lam * dt)) / lam
            return np.eye(2)[None] + f[:, None, None] * gen[None]
        uniq, inv = np.unique(np.round(dt, 6), return_inverse=True)
        return np.stack([expm(gen * u) for u in uniq])[inv]


def combine(x: F64, P: F64, mu: F64) -> tuple[F64, F64]:
    """Moment-matched mean (T, 10) and covariance (T, 10, 10) of the model mixture."""
    xm = np.einsum("tm,tmi->ti", mu, x)
    d = x - xm[:, None, :]
    Pm = np.einsum("tm,tmij->tij", mu, P + d[..., :, None] * d[..., None, :])
    return xm, Pm


def _sym(P: F64) -> F64:
    return 0.5 * (P + np.swapaxes(P, -1, -2))


def _ukf_weights(n: int) -> tuple[float, F64, F64]:
    alpha, beta, kappa = 1.0, 2.0, 0.0
    lam = alpha * alpha * (n + kappa) - n
    wm = np.full(2 * n + 1, 0.5 / (n + lam))
    wc = wm.copy()
    wm[0] = lam / (n + lam)
    wc[0] = wm[0] + (1.0 - alpha * alpha + beta)
    return n + lam, wm, wc


def _chol(P: F64) -> F64:
    """Cholesky factors of (T, n, n), with a jitter retry for nearly singular ones."""
    try:
        return np.linalg.cholesky(P)
    except np.linalg.LinAlgError:
        n = P.shape[-1]
        scale = np.maximum(np.abs(np.diagonal(P, axis1=-2, axis2=-1)), 1e-12)
        jitter = 1e-9 * scale[..., :, None] * np.eye(n)
        return np.linalg.cholesky(_sym(P) + jitter)


def imm_predict(x: F64, P: F64, mu: F64, dt_s: F64, cfg: FilterConfig) -> tuple[F64, F64, F64]:
    """IMM prediction of T tracks over their own ``dt_s`` (T,): returns x, P, μ⁻.

    The EKF runs in the compiled kernel; :func:`imm_predict_reference` is the numpy
    reference (and the UKF path)."""
    t = mu.shape[0]
    if t == 0:
        return x.copy(), P.copy(), mu.copy()
    if cfg.kind == "ekf":
        from trilink.tracking import _kernels, dynamics

        inv_tau, qv, qj, qk = cfg._kernel_params
        xo, Po, c = _kernels.imm_predict_ekf(
            np.ascontiguousarray(x, dtype=float),
            np.ascontiguousarray(P, dtype=float),
            np.ascontiguousarray(mu, dtype=float),
            np.ascontiguousarray(dt_s, dtype=float),
            np.ascontiguousarray(cfg.transitions(dt_s)),
            inv_tau,
            qv,
            qj,
            qk,
            float(cfg.max_step_s),
            *dynamics.DENSITY_TABLE,
        )
        return xo, Po, c
    return imm_predict_reference(x, P, mu, dt_s, cfg)


def imm_predict_reference(
    x: F64, P: F64, mu: F64, dt_s: F64, cfg: FilterConfig
) -> tuple[F64, F64, F64]:
    """The numpy IMM prediction (EKF or UKF): mixing, per-model prediction, μ⁻."""
    t = mu.shape[0]
    if t == 0:
        return x.copy(), P.copy(), mu.copy()
    Pi = cfg.transitions(dt_s)
    c = np.einsum("ti,tij->tj", mu, Pi)
    w = mu[:, :, None] * Pi / np.maximum(c[:, None, :], 1e-300)
    x0 = np.einsum("tij,tik->tjk", w, x)
    d = x[:, :, None, :] - x0[:, None, :, :]
    P0 = np.einsum("tij,tikl->tjkl", w, P) + np.einsum("tij,tijk,tijl->tjkl", w, d, d)
    xo, Po = predict_models(x0, P0, dt_s, cfg)
    xo[..., 9] = np.maximum(xo[..., 9], 0.0)
    return xo, Po, c


def predict_models(x: F64, P: F64, dt_s: F64, cfg: FilterConfig) -> tuple[F64, F64]:
    """Every model's prediction (T, M, ...) in one vectorised propagation."""
    t, m, n = x.shape
    inv_tau = np.tile(np.array([inverse_tau(md) for md in cfg.models]), t)
    dt_rows = np.repeat(dt_s, m)
    Q = np.stack([process_noise(dt_s, md) for md in cfg.models], axis=1).reshape(t * m, n, n)
    xf, Pf = x.reshape(t * m, n), P.reshape(t * m, n, n)
    if cfg.kind == "ekf":
        xp, phi = _propagate(xf, dt_rows, inv_tau, max_step_s=cfg.max_step_s, with_stm=True)
        Pp = _sym(phi @ Pf @ np.swapaxes(phi, -1, -2) + Q)
        return xp.reshape(t, m, n), Pp.reshape(t, m, n, n)
    c, wm, wc = _ukf_weights(n)
    L = _chol(_sym(Pf)) * math.sqrt(c)
    rows = t * m
    sig = np.empty((rows, 2 * n + 1, n))
    sig[:, 0] = xf
    sig[:, 1 : n + 1] = xf[:, None, :] + np.swapaxes(L, -1, -2)
    sig[:, n + 1 :] = xf[:, None, :] - np.swapaxes(L, -1, -2)
    flat = _propagate(
        sig.reshape(-1, n),
        np.repeat(dt_rows, 2 * n + 1),
        np.repeat(inv_tau, 2 * n + 1),
        max_step_s=cfg.max_step_s,
    ).reshape(rows, 2 * n + 1, n)
    xp = np.einsum("s,tsi->ti", wm, flat)
    d = flat - xp[:, None, :]
    Pp = _sym(np.einsum("s,tsi,tsj->tij", wc, d, d) + Q)
    return xp.reshape(t, m, n), Pp.reshape(t, m, n, n)


@dataclass(frozen=True, kw_only=True, eq=False)
class UpdateResult:
    """Posterior of updated tracks and the log-likelihood of the detection under them."""

    x: F64
    P: F64
    mu: F64
    log_likelihood: F64


def imm_update(
    x: F64,
    P: F64,
    mu: F64,
    z_ecef_m: F64,
    Rz: F64,
    rr_mps: F64,
    sigma_rr_mps: F64,
    r_site_ecef_m: F64,
    cfg: FilterConfig,
) -> UpdateResult:
    """Update T predicted tracks, each with one detection (row-aligned); ``rr_mps`` NaN
    means no range rate. Compiled kernel; :func:`imm_update_reference` is the numpy
    reference."""
    from trilink.tracking import _kernels

    xo, Po, mu_new, ll = _kernels.imm_update_kernel(
        np.ascontiguousarray(x, dtype=float),
        np.ascontiguousarray(P, dtype=float),
        np.ascontiguousarray(mu, dtype=float),
        np.ascontiguousarray(z_ecef_m, dtype=float),
        np.ascontiguousarray(Rz, dtype=float),
        np.ascontiguousarray(rr_mps, dtype=float),
        np.ascontiguousarray(sigma_rr_mps, dtype=float),
        np.ascontiguousarray(r_site_ecef_m, dtype=float),
        float(cfg.min_probability),
    )
    return UpdateResult(x=xo, P=Po, mu=mu_new, log_likelihood=ll)


def imm_update_reference(
    x: F64,
    P: F64,
    mu: F64,
    z_ecef_m: F64,
    Rz: F64,
    rr_mps: F64,
    sigma_rr_mps: F64,
    r_site_ecef_m: F64,
    cfg: FilterConfig,
) -> UpdateResult:
    """Update T predicted tracks, each with one detection (row-aligned).

    ``rr_mps`` NaN means no range rate for that detection.
    """
    t, m, n = x.shape
    xo = x.copy()
    Po = P.copy()
    loglik = np.zeros((t, m))
    eye = np.eye(n)
    for j in range(m):
        xj, Pj = xo[:, j], Po[:, j]
        S = Pj[:, :3, :3] + Rz
        Sinv = np.linalg.inv(S)
        nu = z_ecef_m - xj[:, :3]
        K = Pj[:, :, :3] @ Sinv
        xj = xj + np.einsum("tij,tj->ti", K, nu)
        IKH = np.broadcast_to(eye, (t, n, n)).copy()
        IKH[:, :, :3] -= K
        Pj = IKH @ Pj @ np.swapaxes(IKH, -1, -2) + K @ Rz @ np.swapaxes(K, -1, -2)
        d2 = np.einsum("ti,tij,tj->t", nu, Sinv, nu)
        loglik[:, j] = -0.5 * (d2 + np.linalg.slogdet(S)[1] + 3.0 * _LOG_2PI)
        has_rr = np.isfinite(rr_mps)
        if np.any(has_rr):
            k = np.flatnonzero(has_rr)
            xs, Ps = xj[k], Pj[k]
            h = range_rate(xs, r_site_ecef_m[k])
            H = range_rate_jacobian(xs, r_site_ecef_m[k], n)
            s = np.einsum("ti,tij,tj->t", H, Ps, H) + sigma_rr_mps[k] ** 2
            G = np.einsum("tij,tj->ti", Ps, H) / s[:, None]
            nu_rr = rr_mps[k] - h
            xj[k] = xs + G * nu_rr[:, None]
            Ps = Ps - s[:, None, None] * G[:, :, None] * G[:, None, :]
            Pj[k] = Ps
            loglik[k, j] += -0.5 * (nu_rr**2 / s + np.log(s) + _LOG_2PI)
        xj[:, 9] = np.maximum(xj[:, 9], 0.0)
        xo[:, j], Po[:, j] = xj, _sym(Pj)
    a = loglik + np.log(np.maximum(mu, 1e-300))
    amax = a.max(axis=1, keepdims=True)
    w = np.exp(a - amax)
    total = w.sum(axis=1, keepdims=True)
    mu_new = np.maximum(w / total, cfg.min_probability)
    mu_new /= mu_new.sum(axis=1, keepdims=True)
    ll = (amax + np.log(total))[:, 0]
    return UpdateResult(x=xo, P=Po, mu=mu_new, log_likelihood=ll)


__all__ = [
    "FilterConfig",
    "UpdateResult",
    "combine",
    "imm_predict",
    "imm_update",
]
