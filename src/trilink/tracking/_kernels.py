"""Compiled (numba) kernels for the tracker's hot loops: the motion model's derivative,
Jacobian, RK4 with transition matrix, and the fly-to-ground loop of impact prediction.

They compute exactly what :func:`trilink.tracking.dynamics.derivative` and
:func:`~trilink.tracking.dynamics.jacobian` compute (those numpy versions are the
readable reference; ``tests/test_tracking_core.py`` checks the kernels against them to
round-off), row by row in scalar code, so that a tracker frame with a handful of tracks
costs microseconds instead of the per-call overhead of dozens of numpy operations.
Compiled on first use and cached next to this file (``cache=True``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from trilink.geo.constants import (
    WGS84_A_M,
    WGS84_B_M,
    WGS84_GM_M3PS2,
    WGS84_J2,
    WGS84_OMEGA_RADPS,
)

_MU = WGS84_GM_M3PS2
_KJ2 = 1.5 * WGS84_J2 * WGS84_A_M**2
_W = WGS84_OMEGA_RADPS
_A = WGS84_A_M
_B = WGS84_B_M


@njit(cache=True, fastmath=False)
def _height(x0: float, x1: float, x2: float) -> float:
    r2 = x0 * x0 + x1 * x1 + x2 * x2
    r = math.sqrt(r2)
    s2 = x2 * x2 / r2
    re = _A * _B / math.sqrt(_B * _B * (1.0 - s2) + _A * _A * s2)
    return r - re


@njit(cache=True, fastmath=False)
def _rho(h: float, table: np.ndarray, step: float, ceiling: float) -> float:
    if h >= ceiling:
        return 0.0
    if h < 0.0:
        h = 0.0
    u = h / step
    i = int(u)
    if i >= table.size - 1:
        i = table.size - 2
    f = u - i
    return math.exp(table[i] + f * (table[i + 1] - table[i]))


@njit(cache=True, fastmath=False)
def deriv_rows(
    x: np.ndarray, inv_tau: np.ndarray, table: np.ndarray, step: float, ceiling: float
) -> np.ndarray:
    """ẋ of every row (N, 10); ``inv_tau`` (N,) is each row's thrust-decay rate."""
    n = x.shape[0]
    out = np.empty_like(x)
    for i in range(n):
        rx, ry, rz = x[i, 0], x[i, 1], x[i, 2]
        vx, vy, vz = x[i, 3], x[i, 4], x[i, 5]
        r2 = rx * rx + ry * ry + rz * rz
        inv_r2 = 1.0 / r2
        inv_r3 = inv_r2 / math.sqrt(r2)
        c = _KJ2 * inv_r2
        f5 = 5.0 * c * rz * rz * inv_r2
        common = -_MU * inv_r3 * (1.0 + c - f5)
        ax = common * rx + 2.0 * _W * vy + _W * _W * rx + x[i, 6]
        ay = common * ry - 2.0 * _W * vx + _W * _W * ry + x[i, 7]
        az = common * rz - _MU * inv_r3 * 2.0 * c * rz + x[i, 8]
        h = _height(rx, ry, rz)
        if h < ceiling:
            rho = _rho(h, table, step, ceiling)
            sp = math.sqrt(vx * vx + vy * vy + vz * vz)
            q = 0.5 * rho * x[i, 9] * sp
            ax -= q * vx
            ay -= q * vy
            az -= q * vz
        out[i, 0] = vx
        out[i, 1] = vy
        out[i, 2] = vz
        out[i, 3] = ax
        out[i, 4] = ay
        out[i, 5] = az
        out[i, 6] = -inv_tau[i] * x[i, 6]
        out[i, 7] = -inv_tau[i] * x[i, 7]
        out[i, 8] = -inv_tau[i] * x[i, 8]
        out[i, 9] = 0.0
    return out


@njit(cache=True, fastmath=False)
def rk4_rows(
    x: np.ndarray,
    h: np.ndarray,
    inv_tau: np.ndarray,
    table: np.ndarray,
    step: float,
    ceiling: float,
) -> np.ndarray:
    """One classical RK4 step of every row with its own step ``h`` (N,)."""
    n, m = x.shape
    k1 = deriv_rows(x, inv_tau, table, step, ceiling)
    t = np.empty_like(x)
    for i in range(n):
        for j in range(m):
            t[i, j] = x[i, j] + 0.5 * h[i] * k1[i, j]
    k2 = deriv_rows(t, inv_tau, table, step, ceiling)
    for i in range(n):
        for j in range(m):
            t[i, j] = x[i, j] + 0.5 * h[i] * k2[i, j]
    k3 = deriv_rows(t, inv_tau, table, step, ceiling)
    for i in range(n):
        for j in range(m):
            t[i, j] = x[i, j] + h[i] * k3[i, j]
    k4 = deriv_rows(t, inv_tau, table, step, ceiling)
    out = np.empty_like(x)
    for i in range(n):
        for j in range(m):
            out[i, j] = x[i, j] + h[i] / 6.0 * (
                k1[i, j] + 2.0 * k2[i, j] + 2.0 * k3[i, j] + k4[i, j]
            )
    return out


@njit(cache=True, fastmath=False)
def _height_rate(x: np.ndarray, i: int) -> float:
    rx, ry, rz = x[i, 0], x[i, 1], x[i, 2]
    vx, vy, vz = x[i, 3], x[i, 4], x[i, 5]
    rn2 = rx * rx + ry * ry + rz * rz
    rn = math.sqrt(rn2)
    rdot = (rx * vx + ry * vy + rz * vz) / rn
    s2 = rz * rz / rn2
    s2dot = 2.0 * rz * vz / rn2 - 2.0 * rz * rz * rdot / (rn2 * rn)
    den = _B * _B * (1.0 - s2) + _A * _A * s2
    dre_ds2 = -0.5 * _A * _B * (_A * _A - _B * _B) * den**-1.5
    return rdot - dre_ds2 * s2dot


@njit(cache=True, fastmath=False)
def fly_to_ground(
    x0: np.ndarray,
    max_flight_s: float,
    inv_tau: float,
    table: np.ndarray,
    step: float,
    ceiling: float,
    drag_region_m: float,
    approach_m: float,
    big_step_s: float,
    small_step_s: float,
    height_tol_m: float,
    rho0: float,
    scale_height_m: float,
    max_steps: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fly each row (M, 10) ballistically to height 0 (see products' module docstring
    for the step rule): (r_impact (M, 3), flight time (M,), ok (M,))."""
    m = x0.shape[0]
    r_out = np.empty((m, 3))
    t_out = np.zeros(m)
    ok = np.zeros(m, dtype=np.bool_)
    one = np.empty((1, x0.shape[1]))
    hstep = np.empty(1)
    tau = np.full(1, inv_tau)
    for i in range(m):
        for j in range(x0.shape[1]):
            one[0, j] = x0[i, j]
        elapsed = 0.0
        for _ in range(max_steps):
            hgt = _height(one[0, 0], one[0, 1], one[0, 2])
            hdot = _height_rate(one, 0)
            if abs(hgt) < height_tol_m and hdot <= 0.0:
                ok[i] = True
                break
            if elapsed > max_flight_s:
                break
            descending = hdot < 0.0
            to_ground = -hgt / hdot if descending else np.inf
            to_approach = (hgt - approach_m) / -hdot if descending else np.inf
            sp = math.sqrt(one[0, 3] ** 2 + one[0, 4] ** 2 + one[0, 5] ** 2)
            lam = rho0 * math.exp(-max(hgt, 0.0) / scale_height_m) * max(one[0, 9], 0.0) * sp
            stiff = 1.0 / lam if lam > 0.0 else np.inf
            if hgt > drag_region_m:
                h = min(max(to_approach, small_step_s), big_step_s)
            else:
                h = min(small_step_s, stiff)
            if descending and to_ground < h:
                h = to_ground
            hstep[0] = h
            one = rk4_rows(one, hstep, tau, table, step, ceiling)
            elapsed += h
        r_out[i, 0] = one[0, 0]
        r_out[i, 1] = one[0, 1]
        r_out[i, 2] = one[0, 2]
        t_out[i] = elapsed
    return r_out, t_out, ok


@njit(cache=True, fastmath=False)
def _jac_row(
    x: np.ndarray,
    i: int,
    inv_tau: float,
    table: np.ndarray,
    step: float,
    ceiling: float,
    F: np.ndarray,
) -> None:
    """Analytic ∂ẋ/∂x of row i into F (10, 10) — the same expressions as
    :func:`trilink.tracking.dynamics.jacobian`."""
    for a in range(10):
        for b in range(10):
            F[a, b] = 0.0
    rx, ry, rz = x[i, 0], x[i, 1], x[i, 2]
    v = (x[i, 3], x[i, 4], x[i, 5])
    r = (rx, ry, rz)
    k = x[i, 9]
    F[0, 3] = 1.0
    F[1, 4] = 1.0
    F[2, 5] = 1.0
    rn2 = rx * rx + ry * ry + rz * rz
    rn = math.sqrt(rn2)
    z = rz
    r3 = rn**3
    r5 = rn**5
    r7 = rn**7
    r9 = rn**9
    mk = _MU * _KJ2
    for a in range(3):
        for b in range(3):
            eye = 1.0 if a == b else 0.0
            rr = r[a] * r[b]
            g = -_MU * (eye / r3 - 3.0 * rr / r5)
            g -= mk * (eye / r5 - 5.0 * rr / r7)
            ezb = 1.0 if b == 2 else 0.0
            eza = 1.0 if a == 2 else 0.0
            g += 5.0 * mk * (z * z / r7 * eye + 2.0 * z / r7 * r[a] * ezb - 7.0 * z * z / r9 * rr)
            g -= 2.0 * mk * (eza * ezb / r5 - 5.0 * z / r7 * eza * r[b])
            F[3 + a, b] = g
    F[3, 0] += _W * _W
    F[4, 1] += _W * _W
    h = _height(rx, ry, rz)
    rho = 0.0
    drho = 0.0
    if h < ceiling:
        hc = max(h, 0.0)
        rho = _rho(hc, table, step, ceiling)
        lo = max(hc - 25.0, 0.0)
        hi = hc + 25.0
        drho = (_rho(hi, table, step, ceiling) - _rho(lo, table, step, ceiling)) / (hi - lo)
    speed = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    s2 = rz * rz / rn2
    den = _B * _B * (1.0 - s2) + _A * _A * s2
    dre_ds2 = -0.5 * _A * _B * (_A * _A - _B * _B) * den**-1.5
    dhdr = np.empty(3)
    for b in range(3):
        rhat = r[b] / rn
        ezb = 1.0 if b == 2 else 0.0
        ds2 = 2.0 * rz / rn2 * (ezb - rz / rn * rhat)
        dhdr[b] = rhat - dre_ds2 * ds2
    half_k = 0.5 * k
    for a in range(3):
        for b in range(3):
            F[3 + a, b] -= half_k * speed * drho * v[a] * dhdr[b]
    # ∂v̇/∂v: −2[ω]× − ½ρk(|v| I + v vᵀ/|v|)
    F[3, 4] += 2.0 * _W
    F[4, 3] -= 2.0 * _W
    for a in range(3):
        for b in range(3):
            outer = v[a] * v[b] / speed if speed > 0.0 else 0.0
            eye = speed if a == b else 0.0
            F[3 + a, 3 + b] -= half_k * rho * (eye + outer)
        F[3 + a, 6 + a] = 1.0
        F[3 + a, 9] = -0.5 * rho * speed * v[a]
        F[6 + a, 6 + a] = -inv_tau


@njit(cache=True, fastmath=False)
def jacobian_rows(
    x: np.ndarray, inv_tau: np.ndarray, table: np.ndarray, step: float, ceiling: float
) -> np.ndarray:
    n = x.shape[0]
    out = np.empty((n, 10, 10))
    F = np.empty((10, 10))
    for i in range(n):
        _jac_row(x, i, inv_tau[i], table, step, ceiling, F)
        out[i] = F
    return out


MAX_SUBSTEPS = 20_000


@njit(cache=True, fastmath=False)
def _drag_step_limit(
    x: np.ndarray, i: int, dt: float, table: np.ndarray, step: float, ceiling: float
) -> float:
    """Longest RK4 sub-step for row ``i`` that keeps λh ≤ 1, λ = ρ k |v| the drag's
    rate (the eigenvalue of ∂a/∂v), with ρ taken at the lowest height the row can reach
    in ``dt`` descending at its present rate (a dense, stiff reentry otherwise makes
    RK4 diverge: its stability ends at λh ≈ 2.8)."""
    hgt = _height(x[i, 0], x[i, 1], x[i, 2])
    hdot = _height_rate(x, i)
    low = hgt + min(hdot, 0.0) * abs(dt)
    if low >= ceiling:
        return np.inf
    sp = math.sqrt(x[i, 3] ** 2 + x[i, 4] ** 2 + x[i, 5] ** 2)
    lam = _rho(max(low, 0.0), table, step, ceiling) * max(x[i, 9], 0.0) * sp
    return 1.0 / lam if lam > 0.0 else np.inf


@njit(cache=True, fastmath=False)
def propagate_rows(
    x: np.ndarray,
    dt: np.ndarray,
    inv_tau: np.ndarray,
    max_step_s: float,
    with_stm: bool,
    table: np.ndarray,
    step: float,
    ceiling: float,
) -> tuple[np.ndarray, np.ndarray]:
    """RK4 of every row over its own ``dt`` in equal sub-steps of at most ``max_step_s``
    (all rows take the same number of sub-steps), and Φ to second order per sub-step
    with the Jacobian at the RK4 mid state (as :func:`dynamics.propagate`)."""
    n = x.shape[0]
    steps = 1
    for i in range(n):
        lim = min(max_step_s, _drag_step_limit(x, i, dt[i], table, step, ceiling))
        steps = max(steps, math.ceil(abs(dt[i]) / lim))
    steps = min(steps, MAX_SUBSTEPS)
    h = dt / steps
    phi = np.zeros((n, 10, 10))
    for i in range(n):
        for a in range(10):
            phi[i, a, a] = 1.0
    F = np.empty((10, 10))
    M = np.empty((10, 10))
    tmp = np.empty((10, 10))
    for _ in range(steps):
        if with_stm:
            k1 = deriv_rows(x, inv_tau, table, step, ceiling)
            xm = np.empty_like(x)
            for i in range(n):
                for j in range(10):
                    xm[i, j] = x[i, j] + 0.5 * h[i] * k1[i, j]
            for i in range(n):
                _jac_row(xm, i, inv_tau[i], table, step, ceiling, F)
                # M = I + F h + (F h)² / 2
                for a in range(10):
                    for b in range(10):
                        F[a, b] *= h[i]
                for a in range(10):
                    for b in range(10):
                        s = 0.0
                        for c in range(10):
                            s += F[a, c] * F[c, b]
                        M[a, b] = F[a, b] + 0.5 * s + (1.0 if a == b else 0.0)
                for a in range(10):
                    for b in range(10):
                        s = 0.0
                        for c in range(10):
                            s += M[a, c] * phi[i, c, b]
                        tmp[a, b] = s
                phi[i] = tmp
        x = rk4_rows(x, h, inv_tau, table, step, ceiling)
    return x, phi


@njit(cache=True, fastmath=False)
def _process_noise_into(dt: float, qv: float, qj: float, qk: float, Q: np.ndarray) -> None:
    """Q (10, 10) of :func:`trilink.tracking.dynamics.process_noise` for one step."""
    d = abs(dt)
    t2, t3, t4, t5 = d * d, d**3, d**4, d**5
    for a in range(10):
        for b in range(10):
            Q[a, b] = 0.0
    vals = (
        (0, 0, qv * t3 / 3.0 + qj * t5 / 20.0),
        (0, 1, qv * t2 / 2.0 + qj * t4 / 8.0),
        (1, 1, qv * d + qj * t3 / 3.0),
        (0, 2, qj * t3 / 6.0),
        (1, 2, qj * t2 / 2.0),
        (2, 2, qj * d),
    )
    for axis in range(3):
        for blk in vals:
            a = 3 * blk[0] + axis
            b = 3 * blk[1] + axis
            Q[a, b] = blk[2]
            Q[b, a] = blk[2]
    Q[9, 9] = qk * d


@njit(cache=True, fastmath=False)
def imm_predict_ekf(
    x: np.ndarray,
    P: np.ndarray,
    mu: np.ndarray,
    dt: np.ndarray,
    Pi: np.ndarray,
    inv_tau: np.ndarray,
    qv: np.ndarray,
    qj: np.ndarray,
    qk: np.ndarray,
    max_step_s: float,
    table: np.ndarray,
    step: float,
    ceiling: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IMM mixing and per-model EKF prediction of T tracks (the numpy path of
    :func:`trilink.tracking.filters.imm_predict` with ``kind="ekf"``)."""
    t, m, n = x.shape
    xo = np.empty_like(x)
    Po = np.empty_like(P)
    c = np.zeros((t, m))
    row = np.empty((1, n))
    dtr = np.empty(1)
    tau = np.empty(1)
    Q = np.empty((n, n))
    tmp = np.empty((n, n))
    for i in range(t):
        if dt[i] == 0.0:
            # no time passes: Π = I, Φ = I, Q = 0 (exactly what the general path gives)
            for j in range(m):
                c[i, j] = mu[i, j]
                for a in range(n):
                    xo[i, j, a] = x[i, j, a]
                    for b in range(n):
                        Po[i, j, a, b] = 0.5 * (P[i, j, a, b] + P[i, j, b, a])
                if xo[i, j, 9] < 0.0:
                    xo[i, j, 9] = 0.0
            continue
        for j in range(m):
            s = 0.0
            for k in range(m):
                s += Pi[i, k, j] * mu[i, k]
            c[i, j] = s
        for j in range(m):
            cj = max(c[i, j], 1e-300)
            # mixed mean
            for a in range(n):
                s = 0.0
                for k in range(m):
                    s += Pi[i, k, j] * mu[i, k] / cj * x[i, k, a]
                row[0, a] = s
            # mixed covariance
            for a in range(n):
                for b in range(n):
                    s = 0.0
                    for k in range(m):
                        w = Pi[i, k, j] * mu[i, k] / cj
                        s += w * (
                            P[i, k, a, b] + (x[i, k, a] - row[0, a]) * (x[i, k, b] - row[0, b])
                        )
                    tmp[a, b] = s
            dtr[0] = dt[i]
            tau[0] = inv_tau[j]
            ms = max_step_s
            if inv_tau[j] > 0.0:
                ms = min(ms, 1.0 / inv_tau[j])
            xp, phi = propagate_rows(row, dtr, tau, ms, True, table, step, ceiling)
            _process_noise_into(dt[i], qv[j], qj[j], qk[j], Q)
            F = phi[0]
            FP = np.empty((n, n))
            for a in range(n):
                for b in range(n):
                    s = 0.0
                    for k in range(n):
                        s += F[a, k] * tmp[k, b]
                    FP[a, b] = s
            for a in range(n):
                for b in range(n):
                    s = 0.0
                    for k in range(n):
                        s += FP[a, k] * F[b, k]
                    Po[i, j, a, b] = s + Q[a, b]
            for a in range(n):
                for b in range(a + 1, n):
                    v = 0.5 * (Po[i, j, a, b] + Po[i, j, b, a])
                    Po[i, j, a, b] = v
                    Po[i, j, b, a] = v
                xo[i, j, a] = xp[0, a]
            if xo[i, j, 9] < 0.0:
                xo[i, j, 9] = 0.0
    return xo, Po, c


@njit(cache=True, fastmath=False)
def imm_update_kernel(
    x: np.ndarray,
    P: np.ndarray,
    mu: np.ndarray,
    z: np.ndarray,
    Rz: np.ndarray,
    rr: np.ndarray,
    srr: np.ndarray,
    site: np.ndarray,
    min_probability: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The per-model Kalman update with a converted position (Joseph form) and, where
    ``rr`` is finite, a scalar range-rate EKF update; then the model probabilities.
    The numpy path of :func:`trilink.tracking.filters.imm_update`."""
    t, m, n = x.shape
    xo = x.copy()
    Po = P.copy()
    mu_new = np.empty((t, m))
    ll = np.empty(t)
    log2pi = math.log(2.0 * math.pi)
    S = np.empty((3, 3))
    Si = np.empty((3, 3))
    K = np.empty((n, 3))
    IKH = np.empty((n, n))
    A = np.empty((n, n))
    B = np.empty((n, n))
    G = np.empty(n)
    H = np.empty(n)
    for i in range(t):
        lg = np.empty(m)
        for j in range(m):
            for a in range(3):
                for b in range(3):
                    S[a, b] = Po[i, j, a, b] + Rz[i, a, b]
            det = (
                S[0, 0] * (S[1, 1] * S[2, 2] - S[1, 2] * S[2, 1])
                - S[0, 1] * (S[1, 0] * S[2, 2] - S[1, 2] * S[2, 0])
                + S[0, 2] * (S[1, 0] * S[2, 1] - S[1, 1] * S[2, 0])
            )
            Si[0, 0] = (S[1, 1] * S[2, 2] - S[1, 2] * S[2, 1]) / det
            Si[0, 1] = (S[0, 2] * S[2, 1] - S[0, 1] * S[2, 2]) / det
            Si[0, 2] = (S[0, 1] * S[1, 2] - S[0, 2] * S[1, 1]) / det
            Si[1, 0] = (S[1, 2] * S[2, 0] - S[1, 0] * S[2, 2]) / det
            Si[1, 1] = (S[0, 0] * S[2, 2] - S[0, 2] * S[2, 0]) / det
            Si[1, 2] = (S[0, 2] * S[1, 0] - S[0, 0] * S[1, 2]) / det
            Si[2, 0] = (S[1, 0] * S[2, 1] - S[1, 1] * S[2, 0]) / det
            Si[2, 1] = (S[0, 1] * S[2, 0] - S[0, 0] * S[2, 1]) / det
            Si[2, 2] = (S[0, 0] * S[1, 1] - S[0, 1] * S[1, 0]) / det
            nu0 = z[i, 0] - xo[i, j, 0]
            nu1 = z[i, 1] - xo[i, j, 1]
            nu2 = z[i, 2] - xo[i, j, 2]
            for a in range(n):
                for b in range(3):
                    K[a, b] = (
                        Po[i, j, a, 0] * Si[0, b]
                        + Po[i, j, a, 1] * Si[1, b]
                        + Po[i, j, a, 2] * Si[2, b]
                    )
            for a in range(n):
                xo[i, j, a] += K[a, 0] * nu0 + K[a, 1] * nu1 + K[a, 2] * nu2
            for a in range(n):
                for b in range(n):
                    IKH[a, b] = 1.0 if a == b else 0.0
                for b in range(3):
                    IKH[a, b] -= K[a, b]
            # A = IKH P
            for a in range(n):
                for b in range(n):
                    s = 0.0
                    for k in range(n):
                        s += IKH[a, k] * Po[i, j, k, b]
                    A[a, b] = s
            # B = A IKHᵀ + K R Kᵀ
            for a in range(n):
                for b in range(n):
                    s = 0.0
                    for k in range(n):
                        s += A[a, k] * IKH[b, k]
                    kr = 0.0
                    for p_ in range(3):
                        for q_ in range(3):
                            kr += K[a, p_] * Rz[i, p_, q_] * K[b, q_]
                    B[a, b] = s + kr
            for a in range(n):
                for b in range(n):
                    Po[i, j, a, b] = 0.5 * (B[a, b] + B[b, a])
            d2 = (
                nu0 * (Si[0, 0] * nu0 + Si[0, 1] * nu1 + Si[0, 2] * nu2)
                + nu1 * (Si[1, 0] * nu0 + Si[1, 1] * nu1 + Si[1, 2] * nu2)
                + nu2 * (Si[2, 0] * nu0 + Si[2, 1] * nu1 + Si[2, 2] * nu2)
            )
            lg[j] = -0.5 * (d2 + math.log(det) + 3.0 * log2pi)
            if math.isfinite(rr[i]):
                dx = xo[i, j, 0] - site[i, 0]
                dy = xo[i, j, 1] - site[i, 1]
                dz = xo[i, j, 2] - site[i, 2]
                rho = math.sqrt(dx * dx + dy * dy + dz * dz)
                ux, uy, uz = dx / rho, dy / rho, dz / rho
                h = ux * xo[i, j, 3] + uy * xo[i, j, 4] + uz * xo[i, j, 5]
                for a in range(n):
                    H[a] = 0.0
                H[0] = (xo[i, j, 3] - h * ux) / rho
                H[1] = (xo[i, j, 4] - h * uy) / rho
                H[2] = (xo[i, j, 5] - h * uz) / rho
                H[3], H[4], H[5] = ux, uy, uz
                sv = srr[i] * srr[i]
                for a in range(n):
                    g = 0.0
                    for b in range(6):
                        g += Po[i, j, a, b] * H[b]
                    G[a] = g
                for a in range(6):
                    sv += H[a] * G[a]
                nur = rr[i] - h
                for a in range(n):
                    xo[i, j, a] += G[a] / sv * nur
                for a in range(n):
                    for b in range(n):
                        Po[i, j, a, b] -= G[a] * G[b] / sv
                lg[j] += -0.5 * (nur * nur / sv + math.log(sv) + log2pi)
            if xo[i, j, 9] < 0.0:
                xo[i, j, 9] = 0.0
        amax = -np.inf
        for j in range(m):
            v = lg[j] + math.log(max(mu[i, j], 1e-300))
            lg[j] = v
            amax = max(amax, v)
        tot = 0.0
        for j in range(m):
            tot += math.exp(lg[j] - amax)
        s2 = 0.0
        for j in range(m):
            w = max(math.exp(lg[j] - amax) / tot, min_probability)
            mu_new[i, j] = w
            s2 += w
        for j in range(m):
            mu_new[i, j] /= s2
        ll[i] = amax + math.log(tot)
    return xo, Po, mu_new, ll
