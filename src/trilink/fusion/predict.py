"""Moving 6-state tracks (ECEF position and velocity) to another time, with covariance.

The state is extended to the tracker's 10-state ``[r, v, a_thrust, k_drag]``
(:mod:`trilink.tracking.dynamics`) with ``a_thrust`` the hub's estimate of any
non-ballistic acceleration (zero by default) and ``k_drag = 0``, and propagated with
the ``BALLISTIC`` model (J2 gravity, Earth rotation; the thrust estimate decays with
τ = 5 s). The covariance follows the 6×6 block of the state transition matrix,

    P(t + Δt) = Φ P Φᵀ + Q,

with Q the integrated white-acceleration noise of spectral density ``q`` (m²/s³) per
axis (``[[Δt³/3, Δt²/2], [Δt²/2, Δt]] q``), the same form as the tracker's
(:func:`trilink.tracking.dynamics.process_noise`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from trilink.tracking.dynamics import BALLISTIC, N_STATE, propagate

F64 = NDArray[np.float64]


def white_accel_noise(dt_s: F64, q_m2ps3: F64 | float) -> F64:
    """Q (N, 6, 6) of white acceleration noise over |Δt| (module docstring)."""
    dt = np.abs(np.asarray(dt_s, dtype=float)).reshape(-1)
    q = np.broadcast_to(np.asarray(q_m2ps3, dtype=float), dt.shape)
    Q = np.zeros((dt.size, 6, 6))
    pp, pv, vv = q * dt**3 / 3.0, q * dt**2 / 2.0, q * dt
    for a in range(3):
        Q[:, a, a] = pp
        Q[:, a, a + 3] = Q[:, a + 3, a] = pv
        Q[:, a + 3, a + 3] = vv
    return Q


def predict(
    state: F64,
    covariance: F64,
    dt_s: F64 | float,
    *,
    q_m2ps3: F64 | float = 1.0,
    accel_mps2: F64 | None = None,
) -> tuple[F64, F64]:
    """States (N, 6) and covariances (N, 6, 6) moved by ``dt_s`` (scalar or (N,)).

    Rows with Δt = 0 are returned unchanged (no kernel call when all are)."""
    x = np.asarray(state, dtype=float)
    P = np.asarray(covariance, dtype=float)
    n = x.shape[0]
    dt = np.broadcast_to(np.asarray(dt_s, dtype=float), (n,))
    moving = np.flatnonzero(dt != 0.0)
    if moving.size == 0:
        return x.copy(), P.copy()
    x10 = np.zeros((moving.size, N_STATE))
    x10[:, 0:6] = x[moving]
    if accel_mps2 is not None:
        x10[:, 6:9] = np.asarray(accel_mps2, dtype=float)[moving]
    xo, phi = propagate(x10, dt[moving], BALLISTIC, with_stm=True)
    F = phi[:, 0:6, 0:6]
    q = np.broadcast_to(np.asarray(q_m2ps3, dtype=float), (n,))[moving]
    Pm = F @ P[moving] @ np.swapaxes(F, 1, 2) + white_accel_noise(dt[moving], q)
    x_out, P_out = x.copy(), P.copy()
    x_out[moving] = xo[:, 0:6]
    P_out[moving] = 0.5 * (Pm + np.swapaxes(Pm, 1, 2))
    return x_out, P_out
