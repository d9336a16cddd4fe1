"""Tracker motion models in ECEF: ballistic (J2, Earth rotation, drag) and boost (thrust states).

State (10 components, SI, ECEF)::

    x = [r_ecef_m (3), v_ecef_mps (3), a_thrust_ecef_mps2 (3), k_drag_m2pkg]

``a_thrust`` is the non-gravitational acceleration of a thrusting object (thrust
minus the drag it also feels) and ``k_drag = Cd·A/m = 1/β`` the inverse ballistic
coefficient. The time derivative is

    ṙ = v
    v̇ = g_J2(r) − 2 ω×v − ω×(ω×r) + a_thrust − ½ ρ(h) k |v| v
    ȧ = 0 (boost: a random walk driven by jerk noise) or −a/τ (ballistic: thrust dies out)
    k̇ = 0 (random walk)

The air turns with the Earth, so the airspeed is ``v_ecef``; ρ is the US Standard
Atmosphere 1976 (:func:`trilink.geo.atmosphere.density_kgpm3`) at the height above the
ellipsoid measured along the geocentric radius (within ~10 m of the geodetic height
up to 1,000 km: ample for a density). Gravity is point mass + J2 with WGS-84/EGM96
constants (:mod:`trilink.geo.gravity`), the same model the truth flies.

:func:`jacobian` is the analytic ∂ẋ/∂x (tests check it against central differences).
The one part that is not closed form is dρ/dh, taken as a central difference of the
standard atmosphere over ±25 m (the standard is itself a piecewise model).
:func:`propagate` integrates with classical RK4 in sub-steps of at most ``max_step_s``
and, if asked, the state transition matrix Φ to second order per sub-step,
``Φ ← (I + F h + F² h² / 2) Φ`` with F at the sub-step's mid state.

Everything is vectorised over N states (``(N, 10)`` in, ``(N, 10)`` out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from trilink.geo.atmosphere import density_kgpm3
from trilink.geo.constants import (
    WGS84_A_M,
    WGS84_B_M,
    WGS84_GM_M3PS2,
    WGS84_J2,
    WGS84_OMEGA_RADPS,
)

F64 = NDArray[np.float64]

N_STATE = 10
R = slice(0, 3)
V = slice(3, 6)
A = slice(6, 9)
K = 9

_MU = WGS84_GM_M3PS2
_KJ2 = 1.5 * WGS84_J2 * WGS84_A_M**2  # (3/2) J2 a², m²
_W = WGS84_OMEGA_RADPS
_OMEGA_CROSS = np.array([[0.0, -_W, 0.0], [_W, 0.0, 0.0], [0.0, 0.0, 0.0]])
"""[ω]×: ω × u = _OMEGA_CROSS @ u for ω = (0, 0, Ω)."""
_CENTRIFUGAL = np.diag([_W * _W, _W * _W, 0.0])
"""∂(−ω×(ω×r))/∂r = diag(Ω², Ω², 0)."""
_DRAG_CEILING_M = 200_000.0
"""Above this height drag is zero (ρ < 3e-10 kg/m³: < 1e-5 m/s² on any RV)."""
_DRHO_STEP_M = 25.0


@dataclass(frozen=True, kw_only=True)
class MotionModel:
    """One motion model of the IMM: how thrust behaves and how much noise drives it.

    Noise densities are of continuous white noise: ``q_vel`` on the acceleration
    (m²/s³: unmodelled forces), ``q_jerk`` on the thrust acceleration's rate
    (m²/s⁵: throttle and steering changes), ``q_kdrag`` on k (m⁴/kg²/s).
    """

    name: str
    thrust_tau_s: float | None
    """None: thrust acceleration persists (boost); a number: it decays with this time
    constant, s (ballistic)."""
    q_vel_m2ps3: float
    q_jerk_m2ps5: float
    q_kdrag_m4pkg2ps: float

    def __post_init__(self) -> None:
        for name in ("q_vel_m2ps3", "q_jerk_m2ps5", "q_kdrag_m4pkg2ps"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0.0):
                raise ValueError(f"MotionModel.{name} must be finite and >= 0, got {v!r}")
        if self.thrust_tau_s is not None and not (self.thrust_tau_s > 0.0):
            raise ValueError(f"MotionModel.thrust_tau_s must be > 0, got {self.thrust_tau_s!r}")


BOOST = MotionModel(
    name="boost", thrust_tau_s=None, q_vel_m2ps3=10.0, q_jerk_m2ps5=100.0, q_kdrag_m4pkg2ps=0.0
)
"""Thrusting flight: thrust acceleration a random walk (σ of its change ≈ 2 m/s² in 1 s)."""
BALLISTIC = MotionModel(
    name="ballistic", thrust_tau_s=5.0, q_vel_m2ps3=0.5, q_jerk_m2ps5=1e-4, q_kdrag_m4pkg2ps=1e-8
)
"""Coasting flight: thrust states decay in 5 s; small unmodelled accelerations.

τ must stay ≥ the integration step (``max_step_s``): RK4 and the second-order
transition matrix are stable for h/τ ≤ 1 (at h/τ = 10 both blow up)."""


def height_m(r_ecef_m: F64) -> F64:
    """Height above the WGS-84 ellipsoid along the geocentric radius, m, (N, 3) → (N,)."""
    r = np.sqrt(np.einsum("...i,...i->...", r_ecef_m, r_ecef_m))
    s2 = r_ecef_m[..., 2] ** 2 / np.maximum(r * r, 1e-300)
    # ellipsoid radius at geocentric latitude φ': ab / sqrt(b² cos² + a² sin²)
    re = WGS84_A_M * WGS84_B_M / np.sqrt(WGS84_B_M**2 * (1.0 - s2) + WGS84_A_M**2 * s2)
    return r - re


_TABLE_STEP_M = 25.0
_TABLE_H_M = np.arange(0.0, _DRAG_CEILING_M + 2 * _TABLE_STEP_M, _TABLE_STEP_M)
_TABLE_LOG_RHO = np.log(density_kgpm3(_TABLE_H_M))


DENSITY_TABLE = (_TABLE_LOG_RHO, _TABLE_STEP_M, _DRAG_CEILING_M)
"""(log ρ table, its step in m, drag ceiling in m): what the compiled kernels of
:mod:`trilink.tracking._kernels` take to evaluate the density."""


def fast_density_kgpm3(h_m: F64) -> F64:
    """USSA-1976 density by log-linear interpolation in a 25 m table: within 2e-4
    relative of :func:`trilink.geo.atmosphere.density_kgpm3` (largest at the standard's
    layer boundaries), about 10× faster on the small arrays of a tracker."""
    return np.exp(np.interp(h_m, _TABLE_H_M, _TABLE_LOG_RHO))


def _density_and_gradient(h_m: F64) -> tuple[F64, F64]:
    """ρ(h) and dρ/dh, zero above the drag ceiling."""
    rho = np.zeros_like(h_m)
    drho = np.zeros_like(h_m)
    low = h_m < _DRAG_CEILING_M
    if np.any(low):
        h = np.maximum(h_m[low], 0.0)
        rho[low] = density_kgpm3(h)
        drho[low] = (
            density_kgpm3(h + _DRHO_STEP_M) - density_kgpm3(np.maximum(h - _DRHO_STEP_M, 0.0))
        ) / (h + _DRHO_STEP_M - np.maximum(h - _DRHO_STEP_M, 0.0))
    return rho, drho


def _gravity_rotation(r: F64, v: F64) -> F64:
    """J2 gravity + Coriolis + centrifugal acceleration, inlined for small batches."""
    x, y, z = r[:, 0], r[:, 1], r[:, 2]
    r2 = x * x + y * y + z * z
    inv_r2 = 1.0 / r2
    inv_r3 = inv_r2 / np.sqrt(r2)
    c = _KJ2 * inv_r2
    f5 = 5.0 * c * z * z * inv_r2
    common = -_MU * inv_r3 * (1.0 + c - f5)
    acc = np.empty_like(r)
    acc[:, 0] = common * x + 2.0 * _W * v[:, 1] + _W * _W * x
    acc[:, 1] = common * y - 2.0 * _W * v[:, 0] + _W * _W * y
    acc[:, 2] = common * z - _MU * inv_r3 * 2.0 * c * z
    return acc


def inverse_tau(model: MotionModel) -> float:
    """1/τ of the model's thrust decay (0 for a boost model)."""
    return 0.0 if model.thrust_tau_s is None else 1.0 / model.thrust_tau_s


def derivative(x: F64, model: MotionModel | F64) -> F64:
    """ẋ for states ``x`` (N, 10) under ``model`` (or per-row 1/τ values, (N,))."""
    r, v, a, k = x[:, R], x[:, V], x[:, A], x[:, K]
    out = np.empty_like(x)
    out[:, R] = v
    acc = _gravity_rotation(r, v)
    acc += a
    h = height_m(r)
    low = np.flatnonzero(h < _DRAG_CEILING_M)
    if low.size:
        rho = fast_density_kgpm3(np.maximum(h[low], 0.0))
        vl = v[low]
        speed = np.sqrt(np.einsum("ij,ij->i", vl, vl))
        acc[low] -= (0.5 * rho * k[low] * speed)[:, None] * vl
    out[:, V] = acc
    if isinstance(model, MotionModel):
        out[:, A] = a * (-inverse_tau(model))
    else:
        out[:, A] = a * (-model[:, None])
    out[:, K] = 0.0
    return out


def gravity_gradient(r_ecef_m: F64) -> F64:
    """∂g/∂r of point mass + J2 gravity, (N, 3) → (N, 3, 3), s⁻².

    With K = (3/2) J2 a², g = −μ r/r³ − μK r/r⁵ + 5μK z² r/r⁷ − 2μK z e_z/r⁵, so
    ∂g/∂r = −μ/r³ (I − 3 r̂r̂ᵀ) − μK (I/r⁵ − 5 r rᵀ/r⁷)
            + 5μK (z² I/r⁷ + 2z r e_zᵀ/r⁷ − 7 z² r rᵀ/r⁹) − 2μK (e_z e_zᵀ/r⁵ − 5 z e_z rᵀ/r⁷).
    """
    r = np.asarray(r_ecef_m, dtype=float)
    rn = np.linalg.norm(r, axis=1)
    z = r[:, 2]
    eye = np.eye(3)[None]
    rr = r[:, :, None] * r[:, None, :]
    ez = np.zeros_like(r)
    ez[:, 2] = 1.0
    r3, r5, r7, r9 = rn**3, rn**5, rn**7, rn**9
    mk = _MU * _KJ2
    g = -_MU * (eye / r3[:, None, None] - 3.0 * rr / r5[:, None, None])
    g -= mk * (eye / r5[:, None, None] - 5.0 * rr / r7[:, None, None])
    g += (
        5.0
        * mk
        * (
            (z * z / r7)[:, None, None] * eye
            + 2.0 * (z / r7)[:, None, None] * (r[:, :, None] * ez[:, None, :])
            - 7.0 * (z * z / r9)[:, None, None] * rr
        )
    )
    zz = np.zeros((r.shape[0], 3, 3))
    zz[:, 2, 2] = 1.0
    g -= (
        2.0
        * mk
        * (
            zz / r5[:, None, None]
            - 5.0 * (z / r7)[:, None, None] * (ez[:, :, None] * r[:, None, :])
        )
    )
    return g


def jacobian(x: F64, model: MotionModel | F64) -> F64:
    """Analytic ∂ẋ/∂x, (N, 10) → (N, 10, 10) (``model`` as in :func:`derivative`)."""
    n = x.shape[0]
    r, v, k = x[:, R], x[:, V], x[:, K]
    F = np.zeros((n, N_STATE, N_STATE))
    F[:, 0, 3] = F[:, 1, 4] = F[:, 2, 5] = 1.0
    rn = np.linalg.norm(r, axis=1)
    rho, drho = _density_and_gradient(height_m(r))
    speed = np.linalg.norm(v, axis=1)
    # ∂h/∂r = r̂ − (d r_e/d s²) ∂s²/∂r, s² = z²/r², r_e = ab (b²(1 − s²) + a² s²)^(−1/2)
    rhat = r / rn[:, None]
    s2 = r[:, 2] ** 2 / (rn * rn)
    den = WGS84_B_M**2 * (1.0 - s2) + WGS84_A_M**2 * s2
    dre_ds2 = -0.5 * WGS84_A_M * WGS84_B_M * (WGS84_A_M**2 - WGS84_B_M**2) * den**-1.5
    ds2_dr = (2.0 * r[:, 2] / (rn * rn))[:, None] * (
        np.array([0.0, 0.0, 1.0])[None] - (r[:, 2] / rn)[:, None] * rhat
    )
    dh_dr = rhat - dre_ds2[:, None] * ds2_dr
    half_k = 0.5 * k
    dv_dr = gravity_gradient(r) + _CENTRIFUGAL[None]
    dv_dr -= (half_k * speed * drho)[:, None, None] * (v[:, :, None] * dh_dr[:, None, :])
    F[:, V, R] = dv_dr
    with np.errstate(invalid="ignore", divide="ignore"):
        vhat_outer = np.where(
            speed[:, None, None] > 0.0,
            v[:, :, None] * v[:, None, :] / np.maximum(speed, 1e-300)[:, None, None],
            0.0,
        )
    dv_dv = -2.0 * _OMEGA_CROSS[None] - (half_k * rho)[:, None, None] * (
        speed[:, None, None] * np.eye(3)[None] + vhat_outer
    )
    F[:, V, V] = dv_dv
    F[:, 3, 6] = F[:, 4, 7] = F[:, 5, 8] = 1.0
    F[:, V, K] = -(0.5 * rho * speed)[:, None] * v
    d = -(inverse_tau(model) if isinstance(model, MotionModel) else model)
    F[:, 6, 6] = F[:, 7, 7] = F[:, 8, 8] = d
    return F


def _rk4(x: F64, h: F64, model: MotionModel | F64) -> F64:
    hh = h[:, None]
    k1 = derivative(x, model)
    k2 = derivative(x + 0.5 * hh * k1, model)
    k3 = derivative(x + 0.5 * hh * k2, model)
    k4 = derivative(x + hh * k3, model)
    return x + (hh / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def propagate(
    x: F64,
    dt_s: F64 | float,
    model: MotionModel | F64,
    *,
    max_step_s: float = 2.0,
    with_stm: bool = False,
) -> F64 | tuple[F64, F64]:
    """States ``x`` (N, 10) moved by ``dt_s`` (scalar or (N,), may be negative).

    ``model`` is one model for all rows or per-row 1/τ values (N,) (several models
    propagated in one call). RK4 in equal sub-steps of at most ``max_step_s`` (and at
    most τ), Φ to second order per sub-step (module docstring). Runs the compiled
    kernel of :mod:`trilink.tracking._kernels`; :func:`propagate_reference` is the
    same in numpy. Returns the new states, and with ``with_stm`` also Φ (N, 10, 10).
    """
    from trilink.tracking import _kernels

    xa = np.ascontiguousarray(x, dtype=float)
    n = xa.shape[0]
    dt = np.ascontiguousarray(np.broadcast_to(np.asarray(dt_s, dtype=float), (n,)))
    if isinstance(model, MotionModel):
        inv = np.full(n, inverse_tau(model))
    else:
        inv = np.ascontiguousarray(np.broadcast_to(np.asarray(model, dtype=float), (n,)))
    top = float(np.max(inv, initial=0.0))
    if top > 0.0:
        max_step_s = min(max_step_s, 1.0 / top)
    xo, phi = _kernels.propagate_rows(
        xa,
        dt,
        inv,
        float(max_step_s),
        bool(with_stm),
        *DENSITY_TABLE,
    )
    return (xo, phi) if with_stm else xo


MAX_SUBSTEPS = 20_000
"""Most RK4 sub-steps one propagation takes (a guard; the drag rule needs far fewer)."""


def height_rate_mps(x: F64) -> F64:
    """d(height)/dt of states (N, ≥6), the height of :func:`height_m`, m/s."""
    r, v = x[:, 0:3], x[:, 3:6]
    rn2 = np.einsum("ni,ni->n", r, r)
    rn = np.sqrt(rn2)
    rdot = np.einsum("ni,ni->n", r, v) / rn
    s2 = r[:, 2] ** 2 / rn2
    s2dot = 2.0 * r[:, 2] * v[:, 2] / rn2 - 2.0 * r[:, 2] ** 2 * rdot / (rn2 * rn)
    a, b = WGS84_A_M, WGS84_B_M
    den = b * b * (1.0 - s2) + a * a * s2
    dre_ds2 = -0.5 * a * b * (a * a - b * b) * den**-1.5
    return rdot - dre_ds2 * s2dot


def drag_step_limit_s(x: F64, dt_s: F64) -> F64:
    """Longest RK4 sub-step per row (N,) that keeps λh ≤ 1 over ``dt_s``: λ = ρ k |v| is
    the drag's rate (the eigenvalue of ∂a/∂v), with ρ at the lowest height the row can
    reach in |dt| descending at its present rate. RK4's stability ends at λh ≈ 2.8, so a
    dense reentry stepped at the usual few seconds diverges without this rule."""
    low = height_m(x[:, 0:3]) + np.minimum(height_rate_mps(x), 0.0) * np.abs(dt_s)
    sp = np.linalg.norm(x[:, 3:6], axis=1)
    rho = np.where(low < _DRAG_CEILING_M, fast_density_kgpm3(np.maximum(low, 0.0)), 0.0)
    lam = rho * np.maximum(x[:, 9], 0.0) * sp
    with np.errstate(divide="ignore"):
        return np.where(lam > 0.0, 1.0 / lam, np.inf)


def propagate_reference(
    x: F64,
    dt_s: F64 | float,
    model: MotionModel | F64,
    *,
    max_step_s: float = 2.0,
    with_stm: bool = False,
) -> F64 | tuple[F64, F64]:
    """The numpy reference of :func:`propagate` (same algorithm, no compiled kernel).

    States ``x`` (N, 10) moved by ``dt_s`` (scalar or (N,), may be negative).

    ``model`` is one model for all rows or per-row 1/τ values (N,) (several models
    propagated in one call). Returns the new states, and with ``with_stm`` also Φ (N, 10, 10).
    """
    x = np.array(x, dtype=float, copy=True)
    n = x.shape[0]
    dt = np.broadcast_to(np.asarray(dt_s, dtype=float), (n,))
    inv = inverse_tau(model) if isinstance(model, MotionModel) else float(np.max(model, initial=0))
    if inv > 0.0:
        max_step_s = min(max_step_s, 1.0 / inv)  # keep h/τ <= 1 (stability)
    lim = np.minimum(max_step_s, drag_step_limit_s(x, dt))
    steps = int(max(1, math.ceil(float(np.max(np.abs(dt) / lim, initial=0.0)))))
    steps = min(steps, MAX_SUBSTEPS)
    h = dt / steps
    phi = None
    if with_stm:
        phi = np.broadcast_to(np.eye(N_STATE), (n, N_STATE, N_STATE)).copy()
    hh = h[:, None]
    for _ in range(steps):
        k1 = derivative(x, model)
        xm = x + 0.5 * hh * k1
        k2 = derivative(xm, model)
        if with_stm:
            Fh = jacobian(xm, model) * h[:, None, None]
            step = np.eye(N_STATE)[None] + Fh + 0.5 * (Fh @ Fh)
            phi = step @ phi
        k3 = derivative(x + 0.5 * hh * k2, model)
        k4 = derivative(x + hh * k3, model)
        x = x + (hh / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return (x, phi) if with_stm else x


def process_noise(dt_s: F64 | float, model: MotionModel, n: int | None = None) -> F64:
    """Discrete process noise Q (N, 10, 10) over ``dt_s`` (the usual integrated white
    noise: jerk noise on the thrust states, acceleration noise on the velocity, a random
    walk on k). Uses |dt|, so it serves backward steps too."""
    dt = np.abs(np.asarray(dt_s, dtype=float)).reshape(-1)
    if n is not None:
        dt = np.broadcast_to(dt, (n,))
    m = dt.shape[0]
    Q = np.zeros((m, N_STATE, N_STATE))
    t2, t3, t4, t5 = dt**2, dt**3, dt**4, dt**5
    qv, qj = model.q_vel_m2ps3, model.q_jerk_m2ps5
    blocks = (
        (0, 0, qv * t3 / 3.0 + qj * t5 / 20.0),
        (0, 1, qv * t2 / 2.0 + qj * t4 / 8.0),
        (1, 1, qv * dt + qj * t3 / 3.0),
        (0, 2, qj * t3 / 6.0),
        (1, 2, qj * t2 / 2.0),
        (2, 2, qj * dt),
    )
    for axis in range(3):
        for i, j, val in blocks:
            a, b = 3 * i + axis, 3 * j + axis
            Q[:, a, b] = val
            Q[:, b, a] = val
    Q[:, K, K] = model.q_kdrag_m4pkg2ps * dt
    return Q
