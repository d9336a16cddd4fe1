"""Fusion rules, prediction, reports and registration geometry against independent
computations (brute-force ω search, the closed-form two-track information sum, finite
differences of the geo transforms)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trilink.fusion.predict import predict, white_accel_noise
from trilink.fusion.registration import bias_jacobian, correct_detections, polar_from_ecef
from trilink.fusion.reports import TrackReports, covariance_from_columns, covariance_to_columns
from trilink.fusion.rules import (
    ci_pair,
    covariance_intersection,
    fast_ci_weights,
    independent_fusion,
    optimal_ci_weight_pair,
)
from trilink.geo.frames import enu_rotation, geodetic_to_ecef
from trilink.sensors.detection import DetectionBatch
from trilink.tracking.dynamics import BALLISTIC, N_STATE, propagate


def _spd(rng: np.random.Generator, n: int, d: int = 6, scale: float = 100.0) -> np.ndarray:
    A = rng.normal(size=(n, d, d)) * scale
    return A @ np.swapaxes(A, 1, 2) + np.eye(d) * scale


def test_fast_ci_weight_is_niehsens_trace_ratio() -> None:
    """Niehsen 2002: ω₁ = tr P₂ / (tr P₁ + tr P₂) for two tracks; N tracks ∝ 1/tr P_i."""
    rng = np.random.default_rng(1)
    P = _spd(rng, 6).reshape(2, 3, 6, 6)
    w = fast_ci_weights(P[:, :2])
    tr = np.trace(P[:, :2], axis1=2, axis2=3)
    np.testing.assert_allclose(w[:, 0], tr[:, 1] / (tr[:, 0] + tr[:, 1]), rtol=1e-14)
    w3 = fast_ci_weights(P, np.array([[True, True, True], [True, False, True]]))
    np.testing.assert_allclose(w3.sum(axis=1), 1.0, rtol=1e-14)
    assert w3[1, 1] == 0.0
    tr3 = np.trace(P, axis1=2, axis2=3)
    np.testing.assert_allclose(w3[0], (1 / tr3[0]) / np.sum(1 / tr3[0]), rtol=1e-14)


@pytest.mark.parametrize("criterion", ["trace", "det"])
def test_optimal_ci_weight_matches_brute_force(criterion: str) -> None:
    rng = np.random.default_rng(2)
    P1, P2 = _spd(rng, 4), _spd(rng, 4)
    om = optimal_ci_weight_pair(P1, P2, criterion)
    grid = np.linspace(0.0, 1.0, 20001)
    for k in range(4):
        Pc = ci_pair(
            np.repeat(P1[k][None], grid.size, 0), np.repeat(P2[k][None], grid.size, 0), grid
        )
        f = np.trace(Pc, axis1=1, axis2=2) if criterion == "trace" else np.linalg.slogdet(Pc)[1]
        assert abs(om[k] - grid[np.argmin(f)]) <= 1e-4, (om[k], grid[np.argmin(f)])
        # fast CI is never better than the optimum, and within a factor 2 here
        wf = fast_ci_weights(np.stack([P1[k], P2[k]])[None])[0, 0]
        Pf = ci_pair(P1[k][None], P2[k][None], np.array([wf]))[0]
        ff = np.trace(Pf) if criterion == "trace" else np.linalg.slogdet(Pf)[1]
        assert ff >= f.min() - 1e-9 * abs(f.min())


def test_ci_is_consistent_for_any_correlation() -> None:
    """CI's P bounds the true error covariance of the fused estimate for every
    cross-correlation (Julier & Uhlmann 1997): P_CI − P_true ⪰ 0."""
    rng = np.random.default_rng(3)
    P1, P2 = _spd(rng, 1, 3)[0], _spd(rng, 1, 3)[0]
    L1, L2 = np.linalg.cholesky(P1), np.linalg.cholesky(P2)
    _x, P = covariance_intersection(np.zeros((1, 2, 3)), np.stack([P1, P2])[None])
    w = fast_ci_weights(np.stack([P1, P2])[None])[0]
    K1 = P[0] @ (w[0] * np.linalg.inv(P1))
    K2 = P[0] @ (w[1] * np.linalg.inv(P2))
    for _ in range(200):
        Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        rho = rng.uniform(-1, 1)
        P12 = rho * L1 @ Q @ L2.T  # any admissible cross-covariance
        true = K1 @ P1 @ K1.T + K2 @ P2 @ K2.T + K1 @ P12 @ K2.T + K2 @ P12.T @ K1.T
        assert np.linalg.eigvalsh(P[0] - true).min() >= -1e-9 * np.trace(P[0])


def test_independent_fusion_is_the_two_track_closed_form() -> None:
    """x = P₂(P₁+P₂)⁻¹x₁ + P₁(P₁+P₂)⁻¹x₂, P = P₁(P₁+P₂)⁻¹P₂ (Bar-Shalom, Willett, Tian,
    *Tracking and Data Fusion*, 2011, the independent-errors fuser)."""
    rng = np.random.default_rng(4)
    P1, P2 = _spd(rng, 5), _spd(rng, 5)
    x1, x2 = rng.normal(size=(5, 6)) * 50, rng.normal(size=(5, 6)) * 50
    x, P = independent_fusion(np.stack([x1, x2], 1), np.stack([P1, P2], 1))
    S = np.linalg.inv(P1 + P2)
    np.testing.assert_allclose(P, P1 @ S @ P2, rtol=1e-9, atol=1e-9)
    xe = np.einsum("nij,nj->ni", P2 @ S, x1) + np.einsum("nij,nj->ni", P1 @ S, x2)
    np.testing.assert_allclose(x, xe, rtol=0, atol=1e-8)
    # a missing slot is ignored; a group of one returns its estimate
    xm, Pm = independent_fusion(
        np.stack([x1, x2], 1), np.stack([P1, P2], 1), np.array([[True, False]] * 5)
    )
    np.testing.assert_allclose(xm, x1, atol=1e-9)
    np.testing.assert_allclose(Pm, P1, rtol=1e-9)
    with pytest.raises(ValueError, match="fusion"):
        independent_fusion(x1, P1)


def test_prediction_matches_the_tracker_propagation_and_noise_form() -> None:
    r = np.asarray(geodetic_to_ecef(np.radians([40.0]), np.radians([135.0]), np.array([600e3])))
    x = np.zeros((1, 6))
    x[0, :3] = r.reshape(3)
    x[0, 3:] = [1000.0, -2000.0, 3000.0]
    P = np.diag([100.0**2] * 3 + [5.0**2] * 3)[None]
    xp, Pp = predict(x, P, 10.0, q_m2ps3=0.0)
    x10 = np.zeros((1, N_STATE))
    x10[0, :6] = x[0]
    xo, phi = propagate(x10, 10.0, BALLISTIC, with_stm=True)
    np.testing.assert_allclose(xp, xo[:, :6], rtol=0, atol=1e-6)
    F = phi[0, :6, :6]
    np.testing.assert_allclose(Pp[0], F @ P[0] @ F.T, rtol=1e-10)
    Q = white_accel_noise(np.array([2.0]), 3.0)[0]
    assert Q[0, 0] == pytest.approx(3.0 * 8 / 3) and Q[0, 3] == pytest.approx(3.0 * 2.0)
    assert Q[3, 3] == pytest.approx(6.0)
    x0, _P0 = predict(x, P, 0.0)
    np.testing.assert_array_equal(x0, x)


def test_reports_from_columns_round_trip_and_errors() -> None:
    rng = np.random.default_rng(5)
    P = _spd(rng, 4)
    cols = {"time_s": np.arange(4.0), "track_id": np.array([1, 2, 3, 4])}
    for j, c in enumerate(
        ("x_ecef_m", "y_ecef_m", "z_ecef_m", "vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps")
    ):
        cols[c] = np.full(4, float(j))
    cols |= covariance_to_columns(P)
    rep = TrackReports.from_columns(cols, "JP")
    np.testing.assert_allclose(rep.covariance, P)
    np.testing.assert_allclose(covariance_from_columns(cols), P)
    assert rep.nation.tolist() == ["JP"] * 4 and rep.kind.tolist() == ["unknown"] * 4
    assert len(TrackReports.concatenate([rep, rep.select(np.array([0]))])) == 5
    assert [t for t, _ in rep.epochs(2.0)] == [0.0, 2.0, 4.0]
    del cols["cov_x_x"]
    with pytest.raises(ValueError, match="cov_x_x"):
        TrackReports.from_columns(cols, "JP")
    with pytest.raises(ValueError, match="state"):
        TrackReports.from_arrays(
            nation="JP",
            track_id=[1],
            time_s=[0.0],
            state=np.zeros((1, 6)),
            covariance=np.zeros((1, 6, 6)),
        ).__class__(**{**vars(rep), "state": np.zeros((4, 5))})


def test_bias_jacobian_is_the_finite_difference_of_the_geo_transforms() -> None:
    """J = ∂r/∂(ρ, α, ε) against central differences of the polar → ECEF conversion
    built from trilink.geo (geodetic_to_ecef, enu_rotation) directly."""
    lat, lon = np.radians(36.05), np.radians(128.22)
    site = np.asarray(
        geodetic_to_ecef(np.array([lat]), np.array([lon]), np.array([100.0]))
    ).reshape(1, 3)
    E = np.asarray(enu_rotation(np.array([lat]), np.array([lon]))).reshape(1, 3, 3)
    tgt = np.asarray(
        geodetic_to_ecef(
            np.radians([40.0, 38.0]), np.radians([131.0, 127.0]), np.array([900e3, 50e3])
        )
    ).reshape(2, 3)
    sites, Es = np.repeat(site, 2, 0), np.repeat(E, 2, 0)
    rng_, az, el = polar_from_ecef(sites, Es, tgt)

    def to_ecef(p: np.ndarray) -> np.ndarray:
        u = np.stack(
            [np.sin(p[:, 1]) * np.cos(p[:, 2]), np.cos(p[:, 1]) * np.cos(p[:, 2]), np.sin(p[:, 2])],
            1,
        )
        return sites + np.einsum("nji,nj->ni", Es, u * p[:, :1])

    p0 = np.stack([rng_, az, el], 1)
    np.testing.assert_allclose(to_ecef(p0), tgt, rtol=0, atol=1e-6)
    J = bias_jacobian(sites, Es, tgt)
    for j, h in enumerate((1.0, 1e-7, 1e-7)):
        dp = np.zeros(3)
        dp[j] = h
        fd = (to_ecef(p0 + dp) - to_ecef(p0 - dp)) / (2 * h)
        np.testing.assert_allclose(J[:, :, j], fd, rtol=1e-6, atol=1e-6)


def test_correct_detections_removes_the_bias_of_one_sensor_only() -> None:
    n = 4
    det = DetectionBatch.from_arrays(
        object_ids=[""] * n,
        sensor_id=np.array(["a", "b", "a", "b"]),
        is_false_alarm=np.zeros(n, bool),
        time_s=np.arange(n, dtype=float),
        range_m=np.full(n, 1e6),
        az_rad=np.array([0.001, 1.0, 2.0, 3.0]),
        el_rad=np.full(n, 0.2),
        range_rate_mps=np.zeros(n),
        snr_db=np.zeros(n),
        sigma_range_m=np.ones(n),
        sigma_az_rad=np.ones(n),
        sigma_el_rad=np.ones(n),
        sigma_range_rate_mps=np.ones(n),
    )
    b = (10.0, math.radians(0.2), -0.001)
    rng_, az, el = correct_detections(det, "a", b)
    np.testing.assert_allclose(rng_, [1e6 - 10, 1e6, 1e6 - 10, 1e6])
    np.testing.assert_allclose(
        az, [np.mod(0.001 - b[1], 2 * np.pi), 1.0, 2.0 - b[1], 3.0], atol=1e-15
    )
    np.testing.assert_allclose(el, [0.201, 0.2, 0.201, 0.2])


def test_disagreement_chi2_is_the_pair_innovation_and_has_nu_dof() -> None:
    """For two estimates the disagreement about the information-sum mean equals
    Δᵀ(P₁+P₂)⁻¹Δ (an independent closed form); for K consistent independent
    estimates its mean is ν = 3 (K − 1) (Monte Carlo, 4000 draws, 3σ of the mean)."""
    from trilink.fusion.rules import disagreement_chi2, scaled_fusion

    rng = np.random.default_rng(21)
    P1, P2 = _spd(rng, 6), _spd(rng, 6)
    x1, x2 = rng.normal(size=(6, 6)) * 300, rng.normal(size=(6, 6)) * 300
    X, PP = np.stack([x1, x2], 1), np.stack([P1, P2], 1)
    xf, _ = independent_fusion(X, PP)
    q = disagreement_chi2(X, PP, np.ones((6, 2), bool), xf)
    d = (x1 - x2)[:, :3]
    qe = np.einsum("ni,ni->n", d, np.linalg.solve((P1 + P2)[:, :3, :3], d[..., None])[..., 0])
    # the closed form is exact for the position marginal only when the fused mean's
    # position is the marginal fusion: compare on position-only estimates
    Xp, Pp = X[..., :3], PP[..., :3, :3]
    xp, _ = independent_fusion(Xp, Pp)
    qp = disagreement_chi2(Xp, Pp, np.ones((6, 2), bool), xp)
    np.testing.assert_allclose(qp, qe, rtol=1e-9)
    assert q.shape == (6,)
    # scale factor: S² = max(1, χ²/3) on two estimates, covariance scaled by it
    x_s, P_s, s2 = scaled_fusion(Xp, Pp)
    np.testing.assert_allclose(s2, np.maximum(qe / 3.0, 1.0), rtol=1e-9)
    np.testing.assert_allclose(P_s, independent_fusion(Xp, Pp)[1] * s2[:, None, None], rtol=1e-12)
    np.testing.assert_allclose(x_s, xp, rtol=0, atol=1e-9)
    # consistent, independent estimates: E[χ²] = 3 (K − 1)
    n, K = 4000, 3
    Pk = _spd(rng, K, 3)
    L = np.linalg.cholesky(Pk)
    truth = rng.normal(size=(n, 3)) * 1e3
    Xk = truth[:, None, :] + np.einsum("kij,nkj->nki", L, rng.normal(size=(n, K, 3)))
    Pn = np.broadcast_to(Pk, (n, K, 3, 3))
    xk, _ = independent_fusion(Xk, Pn)
    qk = disagreement_chi2(Xk, Pn, np.ones((n, K), bool), xk)
    nu = 3 * (K - 1)
    assert abs(qk.mean() - nu) <= 3.0 * math.sqrt(2 * nu / n), qk.mean()
    # a single estimate is returned unchanged with S² = 1
    x1s, P1s, s1 = scaled_fusion(Xp[:, :1], Pp[:, :1])
    np.testing.assert_allclose(P1s, Pp[:, 0])
    np.testing.assert_array_equal(s1, 1.0)
    np.testing.assert_allclose(x1s, Xp[:, 0])
