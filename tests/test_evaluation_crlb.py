"""Posterior Cramér–Rao lower bound (trilink.evaluation.crlb).

Oracles: the Kalman filter's Riccati recursion written out here (for a linear Gaussian
model with Pd = 1 the PCRLB *is* the KF covariance: Tichavský, Muravchik & Nehorai,
IEEE TSP 46(5), 1998, §IV), the closed-form fixed point of the scalar information
recursion, and Monte-Carlo runs of a Kalman filter that knows which scans detected
(the information-reduction-factor bound is a lower bound of its error: Hernandez,
Ristic, Farina & Timmoneri, IEEE TSP 52(9), 2004).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from trilink.evaluation.crlb import (
    PcrlbResult,
    pcrlb,
    pcrlb_for_object,
    pcrlb_linear,
    prior_information,
    true_tracker_states,
)
from trilink.scenario.build import get_scenario
from trilink.sim.run import run_scenario
from trilink.threats import Flight


# ----------------------------------------------------------------------------------
# Helpers: an independent Kalman filter
# ----------------------------------------------------------------------------------
def cv_model(dt: float, q: float, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Constant velocity in ``dim`` axes, state [r (dim), v (dim)], white acceleration q."""
    eye = np.eye(dim)
    F = np.block([[eye, dt * eye], [np.zeros((dim, dim)), eye]])
    Q = q * np.block([[dt**3 / 3 * eye, dt**2 / 2 * eye], [dt**2 / 2 * eye, dt * eye]])
    return F, Q


def kalman_covariances(F, Q, looks, P0):
    """Riccati recursion, Joseph form, sequential updates: P after each epoch's looks."""
    out = []
    P = P0.copy()
    n = P.shape[0]
    for k, epoch in enumerate(looks):
        if k > 0:
            P = F @ P @ F.T + Q
        for H, R, _pd in epoch:
            S = H @ P @ H.T + R
            G = P @ H.T @ np.linalg.inv(S)
            A = np.eye(n) - G @ H
            P = A @ P @ A.T + G @ R @ G.T
        out.append(P)
    return np.array(out)


def rel_err(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-epoch ‖a − b‖ / ‖b‖ (Frobenius)."""
    return np.linalg.norm(a - b, axis=(1, 2)) / np.linalg.norm(b, axis=(1, 2))


# ----------------------------------------------------------------------------------
# 1. Linear Gaussian, Pd = 1: the bound is the Kalman filter's covariance
# ----------------------------------------------------------------------------------
def test_linear_gaussian_bound_equals_kalman_riccati_3d() -> None:
    dt, K = 1.0, 120
    F, Q = cv_model(dt, q=0.3, dim=3)
    H = np.hstack([np.eye(3), np.zeros((3, 3))])
    # two sensors with correlated (converted-measurement-like) noise
    A = np.array([[30.0, 0.0, 0.0], [5.0, 200.0, 0.0], [-3.0, 40.0, 150.0]])
    R1 = A @ A.T
    R2 = np.diag([400.0, 25.0, 900.0])
    looks = []
    for k in range(K):
        epoch = []
        if k % 3 != 2:  # a gap every third epoch
            epoch.append((H, R1, 1.0))
        if k % 5 == 0:
            epoch.append((H, R2, 1.0))
        looks.append(epoch)
    P0 = np.diag([1e6] * 3 + [1e4] * 3)
    P0[0, 3] = P0[3, 0] = 5e4
    times = np.arange(K) * dt
    res = pcrlb_linear(times, F, Q, looks, np.linalg.inv(P0))
    P_kf = kalman_covariances(F, Q, looks, P0)
    err = rel_err(res.bound_cov, P_kf)
    assert err.max() < 1e-9, f"bound vs KF covariance: worst relative error {err.max():.3e}"
    errJ = rel_err(res.J, np.linalg.inv(P_kf))
    assert errJ.max() < 1e-9, f"J vs inverse KF covariance: worst relative error {errJ.max():.3e}"
    assert isinstance(res, PcrlbResult)
    np.testing.assert_allclose(
        res.position_rmse_bound_m,
        np.sqrt(np.trace(P_kf[:, :3, :3], axis1=1, axis2=2)),
        rtol=1e-9,
        atol=0.0,
    )
    np.testing.assert_allclose(
        res.velocity_rmse_bound_mps,
        np.sqrt(np.trace(P_kf[:, 3:, 3:], axis1=1, axis2=2)),
        rtol=1e-9,
        atol=0.0,
    )
    assert res.n_looks.tolist() == [len(e) for e in looks]
    with pytest.raises(ValueError):
        res.bound_cov[0, 0, 0] = 1.0  # results are immutable


def test_linear_gaussian_bound_equals_kalman_riccati_1d_cv_varying_steps() -> None:
    rng = np.random.default_rng(3)
    times = np.cumsum(rng.uniform(0.2, 3.0, 80))
    Fs, Qs = zip(
        *(cv_model(dt, q=2.0, dim=1) for dt in np.diff(times, prepend=times[0])), strict=True
    )
    H = np.array([[1.0, 0.0]])
    looks = [[(H, np.array([[25.0]]), 1.0)] for _ in times]
    P0 = np.diag([1e4, 1e2])
    res = pcrlb_linear(times, np.array(Fs), np.array(Qs), looks, np.linalg.inv(P0))
    P = P0.copy()
    ref = []
    for k in range(times.size):
        if k > 0:
            P = Fs[k] @ P @ Fs[k].T + Qs[k]
        S = H @ P @ H.T + 25.0
        G = P @ H.T / S
        P = (np.eye(2) - G @ H) @ P @ (np.eye(2) - G @ H).T + 25.0 * G @ G.T
        ref.append(P)
    err = rel_err(res.bound_cov, np.array(ref))
    assert err.max() < 1e-9, f"worst relative error {err.max():.3e}"


# ----------------------------------------------------------------------------------
# 2. Pd < 1: between the Pd = 1 and the no-measurement bounds; scalar fixed point
# ----------------------------------------------------------------------------------
def test_pd_half_between_full_and_no_measurement_and_scalar_fixed_point() -> None:
    q, r, pd, K = 0.4, 2.0, 0.5, 400
    times = np.arange(K, dtype=float)
    J0 = np.array([[1e-2]])

    def run(p: float | None) -> np.ndarray:
        looks = [[] if p is None else [(np.array([[1.0]]), np.array([[r]]), p)] for _ in times]
        return pcrlb_linear(times, np.eye(1), np.array([[q]]), looks, J0).bound_cov[:, 0, 0]

    full, half, none = run(1.0), run(pd), run(None)
    assert np.all(full < half), "Pd = 0.5 bound must exceed the Pd = 1 bound"
    assert np.all(half < none), "Pd = 0.5 bound must be below the no-measurement bound"
    # the no-measurement bound is the prior variance plus the accumulated q
    np.testing.assert_allclose(none, 1.0 / J0[0, 0] + q * times, rtol=1e-12, atol=0.0)
    # J = (q + 1/J)^(-1) + c, c = Pd/r  ⇔  q J² − c q J − c = 0
    c = pd / r
    j_star = (c * q + math.sqrt((c * q) ** 2 + 4.0 * q * c)) / (2.0 * q)
    j_ss = 1.0 / half[-1]
    assert abs(j_ss - j_star) / j_star < 1e-9, f"J = {j_ss!r}, fixed point {j_star!r}"
    # and Pd = 0.5 is not the same as Pd = 1 (the factor is really applied)
    c1 = 1.0 / r
    j1 = (c1 * q + math.sqrt((c1 * q) ** 2 + 4.0 * q * c1)) / (2.0 * q)
    assert abs(1.0 / full[-1] - j1) / j1 < 1e-9
    assert abs(j1 - j_star) / j_star > 0.1


# ----------------------------------------------------------------------------------
# 3. Monte Carlo: a KF that knows which scans detected does no better than the bound
# ----------------------------------------------------------------------------------
def test_monte_carlo_kf_with_missed_detections_respects_bound() -> None:
    # Scalar random walk observed directly. IRF is close to the KF error when one
    # detection carries little information relative to the process noise of a scan
    # (r >> q here); with r << q it is a loose (still valid) bound.
    q, r, pd, K, N = 1.0, 10.0, 0.5, 300, 4000
    rng = np.random.default_rng(20040901)
    P0 = 20.0
    times = np.arange(K, dtype=float)
    looks = [[(np.array([[1.0]]), np.array([[r]]), pd)] for _ in times]
    bound = pcrlb_linear(times, np.eye(1), np.array([[q]]), looks, np.array([[1.0 / P0]]))
    b = bound.bound_cov[:, 0, 0]

    x = rng.standard_normal(N) * math.sqrt(P0)
    xh = np.zeros(N)
    P = np.full(N, P0)
    mse = np.empty(K)
    mean_p = np.empty(K)
    for k in range(K):
        if k > 0:
            x = x + rng.standard_normal(N) * math.sqrt(q)
            P = P + q
        hit = rng.random(N) < pd
        z = x + rng.standard_normal(N) * math.sqrt(r)
        gain = P / (P + r)
        xh = np.where(hit, xh + gain * (z - xh), xh)
        P = np.where(hit, (1.0 - gain) * P, P)
        mse[k] = np.mean((xh - x) ** 2)
        mean_p[k] = np.mean(P)
    tol = 4.0 * math.sqrt(2.0 / N)  # 4σ of a sample mean square
    worst = np.min(mse / b)
    assert worst >= 1.0 - tol, f"MC MSE below the bound: min MSE/bound = {worst:.4f}"
    # the KF's own covariance averaged over detection sequences (the enumeration
    # bound) is ≥ the IRF bound at every epoch
    worst_p = np.min(mean_p / b)
    assert worst_p >= 0.99, f"E[P] below the IRF bound: min E[P]/bound = {worst_p:.4f}"
    ss = slice(100, K)
    ratio = np.mean(mse[ss]) / b[-1]
    assert 1.0 <= ratio <= 1.25, f"steady-state MSE / bound = {ratio:.4f}"


def test_monte_carlo_3d_cv_with_missed_detections_respects_bound() -> None:
    dt, q, K, N, pd = 1.0, 1.0, 120, 3000, 0.6
    F, Q = cv_model(dt, q=q, dim=3)
    H = np.hstack([np.eye(3), np.zeros((3, 3))])
    R = np.diag([400.0, 900.0, 100.0])
    P0 = np.diag([1e3] * 3 + [50.0] * 3)
    times = np.arange(K) * dt
    bound = pcrlb_linear(times, F, Q, [[(H, R, pd)] for _ in times], np.linalg.inv(P0))
    rng = np.random.default_rng(98)
    Lq = np.linalg.cholesky(Q)
    Lr = np.linalg.cholesky(R)
    x = rng.standard_normal((N, 6)) @ np.linalg.cholesky(P0).T
    xh = np.zeros((N, 6))
    P = np.broadcast_to(P0, (N, 6, 6)).copy()
    err_cov = np.empty((K, 6, 6))
    for k in range(K):
        if k > 0:
            x = x @ F.T + rng.standard_normal((N, 6)) @ Lq.T
            xh = xh @ F.T
            P = F @ P @ F.T + Q
        hit = rng.random(N) < pd
        z = x[:, :3] + rng.standard_normal((N, 3)) @ Lr.T
        S = P[:, :3, :3] + R
        G = P[:, :, :3] @ np.linalg.inv(S)
        innov = z - xh[:, :3]
        xh = np.where(hit[:, None], xh + np.einsum("nij,nj->ni", G, innov), xh)
        P = np.where(hit[:, None, None], P - G @ P[:, :3, :], P)
        e = xh - x
        err_cov[k] = e.T @ e / N
    pos_mse = np.trace(err_cov[:, :3, :3], axis1=1, axis2=2)
    pos_b = bound.position_rmse_bound_m**2
    tol = 4.0 * math.sqrt(2.0 / (3 * N))
    worst = np.min(pos_mse / pos_b)
    assert worst >= 1.0 - tol, f"min position MSE / bound = {worst:.4f}"
    vel_mse = np.trace(err_cov[:, 3:, 3:], axis1=1, axis2=2)
    worst_v = np.min(vel_mse / bound.velocity_rmse_bound_mps**2)
    assert worst_v >= 1.0 - tol, f"min velocity MSE / bound = {worst_v:.4f}"


# ----------------------------------------------------------------------------------
# 4. The seed warhead with the Korean radars over the coast phase
# ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seed() -> tuple[Flight, tuple]:
    sc = get_scenario(None)
    return run_scenario(sc, detect=False).flights[0], sc.sensors()


DIFFUSE_J0 = prior_information(
    sigma_position_m=1_000.0,
    sigma_velocity_mps=100.0,
    sigma_thrust_mps2=1.0,
    sigma_kdrag_m2pkg=1e-3,
)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of the maximal runs of True in ``mask``."""
    m = np.concatenate([[False], mask, [False]]).astype(int)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def test_seed_warhead_korean_radars_coast_phase(seed) -> None:
    flight, radars = seed
    w = flight.warhead
    kr = [r for r in radars if r.nation == "KR"]
    t0, t1 = flight.burnout_time_s, w.t_s[-1]
    res = pcrlb_for_object(
        w, kr, t_start_s=t0, t_end_s=t1, J0=DIFFUSE_J0, flight_objects=flight.objects
    )
    p = res.position_rmse_bound_m
    t = res.times_s
    looked = res.n_looks > 0
    assert t[0] == t0 and t[-1] <= t1
    assert looked.sum() > 100, f"only {looked.sum()} epochs with looks"
    assert np.all(np.isfinite(res.bound_cov)) and np.all(np.isfinite(p))
    assert np.all(np.linalg.eigvalsh(res.bound_cov)[:, 0] > 0.0), "bound not positive definite"
    assert np.all(p > 0.0)
    assert np.all(res.expected_detections[looked] > 0.0)
    assert np.all(res.expected_detections <= res.n_looks)

    # observing lowers it: below the bound with no looks at all, strictly after a look
    x_true, models = true_tracker_states(w, t)
    blind = pcrlb(t, x_true, [[] for _ in t], DIFFUSE_J0, models).position_rmse_bound_m
    assert np.all(p <= blind * (1.0 + 1e-9))
    first = int(np.argmax(looked))
    assert np.all(p[first:] < blind[first:])
    # ... and from the diffuse prior it falls while the radars look: sampled at the
    # end of each second of the first observed stretch, strictly decreasing
    for s in range(12):  # (the radars do look in every second of it)
        assert looked[(t > t[first] + s) & (t <= t[first] + s + 1)].any()
    ends = [int(np.searchsorted(t, t[first] + s, side="right") - 1) for s in range(0, 13)]
    assert np.all(np.diff(p[ends]) < 0.0), f"not decreasing: {p[ends]}"
    assert p[ends[-1]] < 0.05 * p[0], f"{p[0]:.1f} m → {p[ends[-1]]:.1f} m"

    # it grows through every gap without looks (longer than 10 s)
    gaps = [(a, b) for a, b in _runs(~looked) if t[b - 1] - t[max(a - 1, 0)] > 10.0]
    assert any(t[b - 1] - t[a] > 600.0 for a, b in gaps), "expected a long midcourse gap"
    for a, b in gaps:
        seg = p[max(a - 1, 0) : b]
        assert np.all(np.diff(seg) > 0.0), f"bound fell in the gap {t[a]:.1f}-{t[b - 1]:.1f} s"

    # more sensors never hurt: every radar ≤ the Korean ones at every Korean epoch
    allr = pcrlb_for_object(
        w, radars, t_start_s=t0, t_end_s=t1, J0=DIFFUSE_J0, flight_objects=flight.objects
    )
    idx = np.searchsorted(allr.times_s, t)
    assert np.array_equal(allr.times_s[idx], t), "Korean epochs must be among all epochs"
    ratio = allr.position_rmse_bound_m[idx] / p
    assert ratio.max() <= 1.0 + 1e-6, f"all radars worse than KR by {ratio.max() - 1:.2e}"
    # in the matrix sense too (up to the splitting of Q over finer steps)
    gap = np.linalg.eigvalsh(res.bound_cov - allr.bound_cov[idx])[:, 0]
    scale = np.linalg.eigvalsh(res.bound_cov)[:, -1]
    assert np.min(gap / scale) > -1e-6
    # and in the midcourse gap of the Korean radars the others help a lot
    a, b = max(gaps, key=lambda g: t[g[1] - 1] - t[g[0]])
    mid = (a + b) // 2
    assert ratio[mid] < 0.5, f"all/KR at {t[mid]:.0f} s = {ratio[mid]:.3f}"


def test_bad_inputs_are_named() -> None:
    times = np.arange(3.0)
    looks = [[], [], []]
    with pytest.raises(ValueError, match="positive definite"):
        pcrlb_linear(times, np.eye(2), np.eye(2), looks, np.diag([1.0, 0.0]))
    with pytest.raises(ValueError, match="strictly increasing"):
        pcrlb_linear(np.array([0.0, 2.0, 1.0]), np.eye(2), np.eye(2), looks, np.eye(2))
    with pytest.raises(ValueError, match=r"looks\[1\]\[0\]: pd"):
        pcrlb_linear(
            times, np.eye(1), np.eye(1), [[], [(np.eye(1), np.eye(1), 1.5)], []], np.eye(1)
        )
    with pytest.raises(ValueError, match=r"one .* per epoch"):
        pcrlb_linear(times, np.eye(1), np.eye(1), [[]], np.eye(1))
