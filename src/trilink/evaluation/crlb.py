"""Posterior Cramér–Rao lower bound (PCRLB) for tracking one object with a set of radars.

The bound. For a state sequence x_k with additive Gaussian process noise and
measurements z_k = h(x_k) + w_k, w_k ~ N(0, R_k), the Fisher information J_k of the
state at epoch k obeys (Tichavský, Muravchik & Nehorai, "Posterior Cramér–Rao bounds
for discrete-time nonlinear filtering", IEEE TSP 46(5), 1998, §III, the recursion for
additive Gaussian noise)::

    J_k = (Q_k + F_k J_{k-1}^{-1} F_kᵀ)^{-1} + Σ_s Pd_{k,s} H_{k,s}ᵀ R_{k,s}^{-1} H_{k,s}

and the mean-square error matrix of *any* estimator of x_k is ≥ J_k^{-1}. F_k is the
state transition matrix of the tracker's motion model from epoch k-1 to k evaluated
along the TRUE trajectory, Q_k the tracker's process noise over that step, and H/R the
measurement model of each sensor s that looks at the object at epoch k.

Detection probability < 1: the **information reduction factor** (IRF) bound. Each
look's measurement information is scaled by its detection probability Pd (Hernandez,
Ristic, Farina & Timmoneri, "A comparison of two Cramér–Rao bounds for nonlinear
filtering with Pd < 1", IEEE TSP 52(9), 2004; the factor is exactly Pd when there is no
clutter). **Assumptions**: no false alarms near the object (perfect association: the
filter knows which detection is the object's), detections independent from scan to
scan and between sensors, a missed detection carries no information about the state,
and the object is resolved (no merging with other objects). The IRF bound is a lower
bound of the enumeration bound (the average over detection sequences of the bound
given the sequence: Jensen's inequality), itself a lower bound of the MSE of a filter
that knows the detection sequence; for linear Gaussian models it is close to that
filter's MSE. With Pd = 1 and a linear Gaussian model the recursion *is* the Kalman
filter's Riccati recursion in information form.

Implementation. The recursion is run in covariance form, which avoids inverting an
ill-conditioned J inside the loop (positions in m, k_drag in m²/kg)::

    P_k⁻ = F_k P_{k-1} F_kᵀ + Q_k           (= (Q_k + F_k J_{k-1}^{-1} F_kᵀ))
    P_k  = (I + P_k⁻ I_k)^{-1} P_k⁻           (= ((P_k⁻)^{-1} + I_k)^{-1})

with I_k = Σ Pd Hᵀ R^{-1} H built vectorised over all looks; J_k = P_k^{-1} at the end.

Radar looks (:func:`pcrlb_for_object`). The tracker's state is the 10-component ECEF
state of :mod:`trilink.tracking.dynamics`. A radar's detection is a converted ECEF
position (:mod:`trilink.tracking.measurement`): H = [I₃ 0], R = J diag(σρ², σα², σε²) Jᵀ
with J = ∂r/∂(ρ, α, ε) at the true geometry, plus, for a radar that measures it, the
range rate (row :func:`~trilink.tracking.measurement.range_rate_jacobian`, variance σρ̇²),
its noise independent of the position's. The σ are those the radar reports
(:meth:`~trilink.sensors.radar.Radar.sigmas`) at the object's *mean* SNR, and Pd the
Swerling 1 single-scan probability at that SNR: the same scan times (revisit period and
phase; a rotating face's passing instant), coverage test, mean RCS (kind and aspect)
and radar equation as :func:`trilink.sensors.simulate_object_detections`, whose own
functions are called here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trilink.sensors.radar import Radar, swerling1_pd
from trilink.sensors.rcs import DEFAULT_RCS, RcsModel

# The simulation's own scan-timing and mean-RCS helpers (private there): reused so that the
# bound sees exactly the looks the simulation makes, without a second radar model.
from trilink.sensors.simulate import _object_states, _prepare_objects, _row_rcs
from trilink.threats.flight import ObjectKind, ObjectTrajectory
from trilink.tracking.dynamics import (
    BALLISTIC,
    BOOST,
    N_STATE,
    MotionModel,
    derivative,
    process_noise,
    propagate,
)
from trilink.tracking.measurement import polar_jacobian, range_rate_jacobian

F64 = NDArray[np.float64]

Look = tuple[ArrayLike, ArrayLike, float]
"""One sensor's look at one epoch: (H (m, n), R (m, m), Pd)."""

_ACCEL_STEP_S = 0.05
"""Half step of the central difference that gives the truth's acceleration, s."""


def _frozen(a: NDArray) -> NDArray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, kw_only=True, eq=False)
class PcrlbResult:
    """The bound at each epoch (arrays are read-only).

    For a state laid out as [r (3), v (3), ...] (the tracker's 10-state, or a 3-D
    constant-velocity model) the convenience properties give RMSE bounds.
    """

    times_s: F64
    """Epochs, s since the scenario epoch, (K,)."""
    J: F64
    """Fisher information matrices, (K, n, n)."""
    bound_cov: F64
    """Their inverses: the bound on the error covariance, (K, n, n)."""
    n_looks: NDArray[np.int64]
    """Looks (sensor measurements with Pd > 0) that add information at each epoch, (K,)."""
    expected_detections: F64
    """Σ Pd over the looks at each epoch, (K,)."""

    @property
    def position_rmse_bound_m(self) -> F64:
        """sqrt(trace of the position block), m, (K,): a lower bound on the position RMSE."""
        return np.sqrt(np.trace(self.bound_cov[:, 0:3, 0:3], axis1=1, axis2=2))

    @property
    def velocity_rmse_bound_mps(self) -> F64:
        """sqrt(trace of the velocity block), m/s, (K,)."""
        return np.sqrt(np.trace(self.bound_cov[:, 3:6, 3:6], axis1=1, axis2=2))


# ----------------------------------------------------------------------------------
# The recursion
# ----------------------------------------------------------------------------------
def _check_prior(J0: ArrayLike, n: int) -> F64:
    J0 = np.asarray(J0, dtype=float)
    if J0.shape != (n, n):
        raise ValueError(f"J0 must have shape ({n}, {n}), got {J0.shape}")
    if not np.all(np.isfinite(J0)):
        raise ValueError("J0 must be finite")
    if not np.allclose(J0, J0.T, rtol=1e-9, atol=0.0):
        raise ValueError("J0 must be symmetric")
    try:
        np.linalg.cholesky(J0)
    except np.linalg.LinAlgError:
        raise ValueError(
            "J0 must be positive definite (give every state some prior information, "
            "e.g. the inverse of the tracker's initial covariance)"
        ) from None
    return J0


def _recursion(times_s: F64, F: F64, Q: F64, info: F64, J0: F64) -> tuple[F64, F64]:
    """(J, P) at every epoch; F, Q, info are (K, n, n) with F[0], Q[0] unused."""
    K, n = info.shape[0], info.shape[1]
    P_all = np.empty((K, n, n))
    eye = np.eye(n)
    has = np.any(info != 0.0, axis=(1, 2)).tolist()
    P = np.linalg.inv(J0)
    P = 0.5 * (P + P.T)
    if has[0]:
        P = np.linalg.solve(eye + P @ info[0], P)
        P = 0.5 * (P + P.T)
    P_all[0] = P
    solve = np.linalg.solve
    for k in range(1, K):
        Fk = F[k]
        P = Fk @ P @ Fk.T + Q[k]
        if has[k]:
            P = solve(eye + P @ info[k], P)
        P = 0.5 * (P + P.T)
        P_all[k] = P
    J = np.linalg.inv(P_all)
    J = 0.5 * (J + np.swapaxes(J, 1, 2))
    return J, P_all


def _check_times(times_s: ArrayLike) -> F64:
    t = np.asarray(times_s, dtype=float)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"times_s must be a non-empty 1-D array, got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("times_s must be finite")
    if np.any(np.diff(t) <= 0.0):
        raise ValueError("times_s must be strictly increasing")
    return t


def _information(looks: Sequence[Sequence[Look]], K: int, n: int) -> tuple[F64, NDArray, F64]:
    """Σ Pd Hᵀ R⁻¹ H per epoch (K, n, n), the number of looks and Σ Pd."""
    if len(looks) != K:
        raise ValueError(
            f"looks must have one (possibly empty) list per epoch: {K}, got {len(looks)}"
        )
    info = np.zeros((K, n, n))
    count = np.zeros(K, dtype=np.int64)
    sum_pd = np.zeros(K)
    for k, epoch in enumerate(looks):
        for j, (H, R, pd) in enumerate(epoch):
            H = np.atleast_2d(np.asarray(H, dtype=float))
            R = np.atleast_2d(np.asarray(R, dtype=float))
            pd = float(pd)
            where = f"looks[{k}][{j}]"
            if H.ndim != 2 or H.shape[1] != n:
                raise ValueError(f"{where}: H must have shape (m, {n}), got {H.shape}")
            if R.shape != (H.shape[0], H.shape[0]):
                raise ValueError(f"{where}: R must have shape {(H.shape[0],) * 2}, got {R.shape}")
            if not (0.0 <= pd <= 1.0):
                raise ValueError(f"{where}: pd must be in [0, 1], got {pd!r}")
            if pd == 0.0:
                continue
            info[k] += pd * (H.T @ np.linalg.solve(R, H))
            count[k] += 1
            sum_pd[k] += pd
    return info, count, sum_pd


def _result(t: F64, F: F64, Q: F64, info: F64, J0: F64, count: NDArray, sum_pd: F64) -> PcrlbResult:
    J, P = _recursion(t, F, Q, info, J0)
    return PcrlbResult(
        times_s=_frozen(t.copy()),
        J=_frozen(J),
        bound_cov=_frozen(P),
        n_looks=_frozen(count),
        expected_detections=_frozen(sum_pd),
    )


def pcrlb_linear(
    times_s: ArrayLike,
    F: ArrayLike,
    Q: ArrayLike,
    looks: Sequence[Sequence[Look]],
    J0: ArrayLike,
) -> PcrlbResult:
    """The PCRLB recursion with given transition matrices and process noise (any n).

    Args:
        times_s: epochs (K,), strictly increasing.
        F: transition matrix from epoch k-1 to epoch k, (K, n, n) or one (n, n) for all
            (``F[0]`` is not used).
        Q: process-noise covariance of the same steps, (K, n, n) or (n, n).
        looks: per epoch, a list of (H (m, n), R (m, m), Pd) of the sensors looking at
            the object then (Pd in [0, 1]; measurement information is scaled by Pd).
        J0: prior information at ``times_s[0]`` before the looks of epoch 0, (n, n),
            symmetric positive definite.

    Returns:
        The bound at each epoch (after that epoch's looks).
    """
    t = _check_times(times_s)
    K = t.size
    J0a = np.asarray(J0, dtype=float)
    if J0a.ndim != 2 or J0a.shape[0] != J0a.shape[1]:
        raise ValueError(f"J0 must be a square (n, n) matrix, got shape {J0a.shape}")
    n = J0a.shape[0]
    J0a = _check_prior(J0a, n)
    mats = []
    for name, M in (("F", F), ("Q", Q)):
        M = np.asarray(M, dtype=float)
        if M.shape not in ((n, n), (K, n, n)):
            raise ValueError(f"{name} must have shape ({n}, {n}) or ({K}, {n}, {n}), got {M.shape}")
        mats.append(np.broadcast_to(M, (K, n, n)))
    Fa, Qa = mats
    info, count, sum_pd = _information(looks, K, n)
    return _result(t, Fa, Qa, info, J0a, count, sum_pd)


# ----------------------------------------------------------------------------------
# Tracker motion models along the truth
# ----------------------------------------------------------------------------------
def _transitions(
    times_s: F64, x_true: F64, models: Sequence[MotionModel], max_step_s: float
) -> tuple[F64, F64]:
    """F_k = Φ(t_{k-1} → t_k) from x_true[k-1] under models[k], and Q_k; F[0] = Q[0] = 0."""
    K = times_s.size
    F = np.zeros((K, N_STATE, N_STATE))
    Q = np.zeros((K, N_STATE, N_STATE))
    if K < 2:
        return F, Q
    dt = np.diff(times_s)
    steps = np.maximum(1, np.ceil(dt / max_step_s)).astype(np.int64)
    # propagate() sub-steps every state by the longest step: group steps of like length
    model_ids = np.array([id(m) for m in models[1:]], dtype=np.int64)
    by_id = {id(m): m for m in models[1:]}
    for mid in np.unique(model_ids).tolist():
        model = by_id[mid]
        for s in np.unique(steps[model_ids == mid]).tolist():
            sel = np.flatnonzero((model_ids == mid) & (steps == s))
            _, phi = propagate(x_true[sel], dt[sel], model, max_step_s=max_step_s, with_stm=True)
            F[sel + 1] = phi
            Q[sel + 1] = process_noise(dt[sel], model)
    return F, Q


def pcrlb(
    times_s: ArrayLike,
    x_true: ArrayLike,
    looks: Sequence[Sequence[Look]],
    J0: ArrayLike,
    models: Sequence[MotionModel],
    *,
    max_step_s: float = 2.0,
) -> PcrlbResult:
    """PCRLB of the tracker's 10-state along a true trajectory.

    Args:
        times_s: epochs (K,), s, strictly increasing.
        x_true: true 10-states at the epochs, (K, 10) (ECEF r, v, a_thrust, k_drag; see
            :func:`true_tracker_states`).
        looks: per epoch, a list of (H (m, 10), R (m, m), Pd).
        J0: prior information at ``times_s[0]`` before epoch 0's looks, (10, 10).
        models: (K,) motion models; ``models[k]`` is the one of the step from epoch k-1 to
            epoch k (``models[0]`` is not used). F_k is its state transition matrix
            (:func:`~trilink.tracking.dynamics.propagate` from ``x_true[k-1]``) and Q_k its
            :func:`~trilink.tracking.dynamics.process_noise`.
        max_step_s: the integrator's longest sub-step.

    Returns:
        The bound at each epoch (after that epoch's looks).
    """
    t = _check_times(times_s)
    K = t.size
    x = np.asarray(x_true, dtype=float)
    if x.shape != (K, N_STATE):
        raise ValueError(f"x_true must have shape ({K}, {N_STATE}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x_true must be finite")
    if len(models) != K or not all(isinstance(m, MotionModel) for m in models):
        raise ValueError(f"models must be {K} MotionModel (one per epoch)")
    J0a = _check_prior(J0, N_STATE)
    F, Q = _transitions(t, x, models, max_step_s)
    info, count, sum_pd = _information(looks, K, N_STATE)
    return _result(t, F, Q, info, J0a, count, sum_pd)


def true_tracker_states(
    obj: ObjectTrajectory, times_s: ArrayLike
) -> tuple[F64, tuple[MotionModel, ...]]:
    """The truth in the tracker's state and the motion model of each step.

    ``r, v`` are the truth's; ``k_drag = 1/β`` (the object's ballistic coefficient);
    ``a_thrust`` is zero when coasting and, while the truth burns, the part of its
    acceleration (central difference of its velocity) the ballistic terms (gravity,
    Earth rotation, drag with that k) do not explain. ``models[k]`` is BOOST if the
    middle of the step (t_{k-1}, t_k) lies in one of the truth's burn intervals,
    BALLISTIC otherwise (``models[0]`` follows epoch 0 itself).

    Returns:
        ``x_true`` (K, 10) and ``models`` (K,).
    """
    t = np.atleast_1d(np.asarray(times_s, dtype=float))
    y = obj.states_at(t)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{obj.object_id}: times outside its life [{obj.t_s[0]}, {obj.t_s[-1]}] s")
    beta = obj.ballistic_coefficient_kgpm2
    k_drag = 1.0 / beta if math.isfinite(beta) and beta > 0.0 else 0.0
    x = np.zeros((t.size, N_STATE))
    x[:, 0:6] = y
    x[:, 9] = k_drag
    mid = np.concatenate([t[:1], 0.5 * (t[1:] + t[:-1])])

    def burning(tt: F64) -> NDArray[np.bool_]:
        out = np.zeros(tt.size, dtype=bool)
        for start, end in obj.burn_intervals_s:
            out |= (tt >= start) & (tt < end)
        return out

    burn = burning(t)
    if np.any(burn):
        tb = t[burn]
        lo = np.maximum(tb - _ACCEL_STEP_S, obj.t_s[0])
        hi = np.minimum(tb + _ACCEL_STEP_S, obj.t_s[-1])
        acc = (obj.states_at(hi)[:, 3:6] - obj.states_at(lo)[:, 3:6]) / (hi - lo)[:, None]
        ballistic = derivative(x[burn], BALLISTIC)[:, 3:6]  # a_thrust is still 0 here
        x[burn, 6:9] = acc - ballistic
    models = tuple(BOOST if b else BALLISTIC for b in burning(mid).tolist())
    return x, models


# ----------------------------------------------------------------------------------
# Radar looks at an object
# ----------------------------------------------------------------------------------
def prior_information(
    *,
    sigma_position_m: float,
    sigma_velocity_mps: float,
    sigma_thrust_mps2: float,
    sigma_kdrag_m2pkg: float,
) -> F64:
    """A diagonal J0 (10, 10): the inverse of a diagonal prior covariance with these σ."""
    sig = np.array(
        [sigma_position_m] * 3
        + [sigma_velocity_mps] * 3
        + [sigma_thrust_mps2] * 3
        + [sigma_kdrag_m2pkg],
        dtype=float,
    )
    if not np.all(np.isfinite(sig) & (sig > 0.0)):
        raise ValueError(f"prior σ must be finite and positive, got {sig.tolist()}")
    return np.diag(1.0 / sig**2)


def pcrlb_for_object(
    obj: ObjectTrajectory,
    radars: Sequence[Radar],
    *,
    t_start_s: float,
    t_end_s: float,
    J0: ArrayLike,
    flight_objects: Sequence[ObjectTrajectory] = (),
    rcs_model: RcsModel = DEFAULT_RCS,
    rng: np.random.Generator | None = None,
    max_step_s: float = 2.0,
) -> PcrlbResult:
    """PCRLB of tracking ``obj`` with ``radars`` from ``t_start_s`` to ``t_end_s``.

    Epochs are ``t_start_s`` and every look time of every radar in
    (``t_start_s``, ``t_end_s``] while the object exists (scan times at each radar's
    revisit period and phase; for a rotating face the instant it passes the object),
    whether or not the object is in coverage then: the bound grows through epochs
    with no looks. A look adds information when the object is in the radar's
    coverage (range, elevation limits, faces, line of sight), with Pd the Swerling 1
    single-scan probability at the mean SNR of the object's mean RCS (its kind and
    aspect) and the σ the radar reports at that SNR (module docstring).

    Runs with more radars have more epochs (finer steps): ``process_noise`` is the exact
    discretisation of the kinematic chain only, so bounds on different epoch grids
    agree to ~1e-6 relative in coast (~1e-4 in boost), not to rounding.

    Choosing J0: it is the information about the state at ``t_start_s``, looks at
    that instant excluded. The natural choice is the inverse of the covariance the
    tracker starts a track with, with ``t_start_s`` the time of the detection that
    started it (the converted-measurement covariance for the position, the
    initiator's priors for velocity, thrust acceleration and k_drag); or, for the
    bound from a diffuse start, large prior σ (:func:`prior_information`). It must be
    positive definite.

    Args:
        obj: the object's truth (recorded trajectory).
        radars: the sensors (e.g. ``[r for r in scenario.sensors() if r.nation == "KR"]``).
        t_start_s: first epoch, s, inside the object's life.
        t_end_s: last epoch, s (clipped to the object's impact).
        J0: prior information (10, 10) at ``t_start_s``.
        flight_objects: the other objects of the flight (its stages), which set the
            size (hence the RCS) of a warhead while it is still the whole stack.
        rcs_model: mean RCS parameters (as in the simulation).
        rng: draws a spent stage's tumble phase and period (nothing else is random);
            default a fixed seed, so the bound is deterministic.
        max_step_s: the integrator's longest sub-step.

    Returns:
        The bound at each epoch; ``n_looks`` and ``expected_detections`` say where the
        radars looked.
    """
    t0 = float(t_start_s)
    life0, life1 = float(obj.t_s[0]), float(obj.t_s[-1])
    if not (math.isfinite(t0) and life0 <= t0 <= life1):
        raise ValueError(
            f"t_start_s must be inside {obj.object_id}'s life [{life0}, {life1}], got {t_start_s!r}"
        )
    if not (math.isfinite(t_end_s) and t_end_s >= t0):
        raise ValueError(f"t_end_s must be finite and >= t_start_s ({t0}), got {t_end_s!r}")
    t1 = min(float(t_end_s), life1)
    J0a = _check_prior(J0, N_STATE)
    # the stages of its own threat: all the simulation's RCS model needs of the others
    others = [
        o
        for o in flight_objects
        if o.kind is ObjectKind.STAGE and o.threat_id == obj.threat_id and o is not obj
    ]
    objs = _prepare_objects(
        [obj, *others], np.random.default_rng(0) if rng is None else rng, rcs_model
    )

    times: list[F64] = [np.array([t0])]
    rows: list[tuple[F64, F64, F64, F64]] = []  # (time, info (N,10,10), pd)
    for radar in radars:
        lead = radar.revisit_s if radar.rotating else 0.0
        scan_t = radar.scan_times(t0 - lead, t1)
        if scan_t.size == 0:
            continue
        _, who, t, y = _object_states(objs, scan_t, radar)
        keep = (who == 0) & (t > t0) & (t <= t1)
        t, y = t[keep], y[keep]
        if t.size == 0:
            continue
        times.append(t)
        geom = radar.aer(y[:, :3])
        cov = np.flatnonzero(radar.in_coverage(y[:, :3], geom))
        if cov.size == 0:
            continue
        az, el, rng_m, u_enu = (g[cov] for g in geom)
        t, y = t[cov], y[cov]
        u_ecef = u_enu @ radar.enu_rotation
        rcs, _ = _row_rcs(objs, np.zeros(cov.size, np.int64), t, y[:, 3:], u_ecef, rcs_model)
        snr = radar.mean_snr(rcs, rng_m)
        pd = swerling1_pd(snr, radar.pfa)
        s_r, s_az, s_el, s_rr = radar.sigmas(snr)
        Jp = polar_jacobian(np.broadcast_to(radar.enu_rotation, (cov.size, 3, 3)), rng_m, az, el)
        var = np.stack([s_r**2, s_az**2, s_el**2], axis=-1)
        R = np.einsum("nij,nj,nkj->nik", Jp, var, Jp)
        info = np.zeros((cov.size, N_STATE, N_STATE))
        info[:, 0:3, 0:3] = np.linalg.inv(R)
        if radar.has_range_rate:
            x10 = np.zeros((cov.size, N_STATE))
            x10[:, 0:6] = y
            h = range_rate_jacobian(x10, np.broadcast_to(radar.site_ecef_m, (cov.size, 3)), N_STATE)
            info += (h[:, :, None] * h[:, None, :]) / (s_rr**2)[:, None, None]
        info *= pd[:, None, None]
        rows.append((t, info, pd))

    epochs = np.unique(np.concatenate(times))
    K = epochs.size
    info_k = np.zeros((K, N_STATE, N_STATE))
    count = np.zeros(K, dtype=np.int64)
    sum_pd = np.zeros(K)
    for t, info, pd in rows:
        idx = np.searchsorted(epochs, t)
        use = pd > 0.0
        np.add.at(info_k, idx[use], info[use])
        np.add.at(count, idx[use], 1)
        np.add.at(sum_pd, idx[use], pd[use])
    x_true, models = true_tracker_states(obj, epochs)
    F, Q = _transitions(epochs, x_true, models, max_step_s)
    return _result(epochs, F, Q, info_k, J0a, count, sum_pd)


__all__ = [
    "Look",
    "PcrlbResult",
    "pcrlb",
    "pcrlb_for_object",
    "pcrlb_linear",
    "prior_information",
    "true_tracker_states",
]
