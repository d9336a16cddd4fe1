"""Per-track products (impact, apogee, launch point) against the seed scenario's truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trilink.geo.frames import ecef_to_geodetic, geodetic_to_ecef
from trilink.geo.geodesic import geodesic_direct, geodesic_inverse
from trilink.scenario.build import get_scenario
from trilink.sim.run import run_scenario
from trilink.threats.flight import Flight, ObjectTrajectory
from trilink.threats.truth import truth_table
from trilink.tracking import dynamics
from trilink.tracking.dynamics import BALLISTIC, height_m
from trilink.tracking.products import (
    CHI2_2DOF_95,
    ImpactPrediction,
    estimate_launch,
    predict_apogee,
    predict_impacts,
)

# Radar sites for the boost-phase views (positions from trilink.sensors.catalogue, where
# they are marked as assumptions): Green Pine Block B in South Chungcheong, ~290 km from
# the Samsok launch site, and a JMSDF Aegis station north-west of Noto, ~880 km.
SITE_KR = (math.radians(36.50), math.radians(126.80), 300.0)
SITE_JP = (math.radians(38.00), math.radians(136.00), 20.0)
SIGMA_RANGE_M = 50.0
SIGMA_ANGLE_RAD = 1.5e-3


@pytest.fixture(scope="module")
def seed_flight() -> Flight:
    return run_scenario(get_scenario(None), detect=False).flights[0]


@pytest.fixture(scope="module")
def warhead(seed_flight: Flight) -> ObjectTrajectory:
    return seed_flight.warhead


def _track_states(w: ObjectTrajectory, t_s: np.ndarray) -> np.ndarray:
    """10-states from truth: no thrust, k_drag = 1/β of the reentry vehicle."""
    x = np.zeros((t_s.size, 10))
    x[:, :6] = w.states_at(t_s)
    x[:, 9] = 1.0 / w.ballistic_coefficient_kgpm2
    return x


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(geodesic_inverse(lat1, lon1, lat2, lon2)[0])


# ----------------------------------------------------------------------------------
# Impact
# ----------------------------------------------------------------------------------


def test_impact_of_the_seed_warhead_from_truth_states(warhead: ObjectTrajectory) -> None:
    # The tracker's model is the truth's force model (J2 gravity, Earth rotation, USSA
    # 1976 drag) with one difference: the truth's drag has a Mach factor F(M), which is 1
    # above Mach 6, and this RV reaches the ground at ~2.2 km/s (Mach >= 6.4). So only
    # integration error remains (measured: < 0.1 m, < 0.001 s). The brief's requirement
    # is 2 km and 2 s; the tolerances below are tighter so that they catch a drag error:
    # without drag the impact moves 5 m and 1.7 s, with k_drag 20 % high 1.6 m and 0.48 s.
    t = np.array([400.0, 1200.0, 2000.0])
    x = _track_states(warhead, t)
    P = np.tile(np.diag([1.0] * 3 + [1e-4] * 3 + [0.0] * 3 + [1e-14]), (t.size, 1, 1))
    preds = predict_impacts(x, P, t)
    assert len(preds) == t.size
    for ti, p in zip(t, preds, strict=True):
        assert p is not None, f"t = {ti} s: no impact predicted"
        d = _distance_m(p.lat_rad, p.lon_rad, warhead.impact_lat_rad, warhead.impact_lon_rad)
        dt = p.time_s - warhead.t_impact_s
        assert d <= 2.0, f"t = {ti} s: impact point {d:.3f} m from the truth"
        assert abs(dt) <= 0.2, f"t = {ti} s: impact time off by {dt:.4f} s"
        assert p.ellipse_semi_major_m < 100.0  # a 1 m, 1 cm/s state gives a small ellipse


def _fly_samples_to_ground(x: np.ndarray) -> np.ndarray:
    """Independent oracle: fixed 1 s RK4 steps of dynamics.propagate, then bisection on
    the last step for height 0. Returns the impact points (N, 3), ECEF."""
    x = x.copy()
    out = np.full((x.shape[0], 3), np.nan)
    alive = np.ones(x.shape[0], dtype=bool)
    for _ in range(4000):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        nxt = dynamics.propagate(x[idx], 1.0, BALLISTIC, max_step_s=1.0)
        down = height_m(nxt[:, :3]) <= 0.0
        if down.any():
            prev = x[idx[down]]
            lo, hi = np.zeros(prev.shape[0]), np.ones(prev.shape[0])
            for _ in range(30):
                mid = 0.5 * (lo + hi)
                below = height_m(dynamics.propagate(prev, mid, BALLISTIC)[:, :3]) <= 0.0
                hi = np.where(below, mid, hi)
                lo = np.where(below, lo, mid)
            out[idx[down]] = dynamics.propagate(prev, 0.5 * (lo + hi), BALLISTIC)[:, :3]
            alive[idx[down]] = False
        x[idx[~down]] = nxt[~down]
    assert not alive.any(), "oracle: some samples did not come down"
    return out


def test_impact_ellipse_covers_95_percent_of_monte_carlo_impacts(
    warhead: ObjectTrajectory,
) -> None:
    t = np.array([1200.0])  # near apogee, ~980 s before impact
    x = _track_states(warhead, t)
    k = x[0, 9]
    P = np.zeros((1, 10, 10))
    P[0, [0, 1, 2], [0, 1, 2]] = 200.0**2
    P[0, [3, 4, 5], [3, 4, 5]] = 2.0**2
    P[0, 9, 9] = (0.1 * k) ** 2
    (pred,) = predict_impacts(x, P, t)
    assert pred is not None
    # The test is only meaningful if the dispersion is large: σ_v·t ~ 2 km.
    assert pred.ellipse_semi_major_m > 2_000.0, pred.ellipse_semi_major_m

    rng = np.random.default_rng(20230413)
    n = 200
    samples = np.repeat(x, n, axis=0)
    sub = [0, 1, 2, 3, 4, 5, 9]
    samples[:, sub] = rng.multivariate_normal(x[0, sub], P[0][np.ix_(sub, sub)], size=n)
    samples[:, 9] = np.maximum(samples[:, 9], 0.0)
    r_imp = _fly_samples_to_ground(samples)
    lat, lon, _ = ecef_to_geodetic(r_imp)

    d2 = pred.mahalanobis2(lat, lon)
    inside = float(np.mean(d2 <= CHI2_2DOF_95))
    # Binomial: 200 draws at p = 0.95 have σ = 1.5 %; 90-99 % is about ±3σ.
    assert 0.90 <= inside <= 0.99, f"{inside:.1%} of 200 Monte-Carlo impacts in the 95 % ellipse"
    assert inside == pytest.approx(
        np.mean([pred.contains(a, b) for a, b in zip(lat, lon, strict=True)])
    )

    # The sample mean's standard error is σ/√200 ≈ 0.07 σ ≈ 3 % of the semi-major axis
    # (2.45 σ) along the major axis: allow 8 %.
    lat_m, lon_m, _ = ecef_to_geodetic(r_imp.mean(axis=0))
    off = float(np.hypot(*pred.offsets_ne_m(lat_m, lon_m)))
    assert off <= 0.08 * pred.ellipse_semi_major_m, (
        f"Monte-Carlo mean impact {off:.0f} m from the predicted mean "
        f"(semi-major {pred.ellipse_semi_major_m:.0f} m)"
    )


def test_ellipse_axes_and_orientation_match_the_covariance(warhead: ObjectTrajectory) -> None:
    # Velocity uncertain along one ECEF axis only: a long, thin ellipse.
    t = np.array([1200.0])
    x = _track_states(warhead, t)
    P = np.zeros((1, 10, 10))
    P[0, [0, 1, 2], [0, 1, 2]] = 10.0**2
    P[0, 3, 3] = 3.0**2
    P[0, 4, 4] = P[0, 5, 5] = 0.1**2
    (p,) = predict_impacts(x, P, t)
    assert isinstance(p, ImpactPrediction)
    assert p.ellipse_semi_major_m > 3.0 * p.ellipse_semi_minor_m > 0.0
    eig = np.linalg.eigvalsh(p.cov_ne_m2)
    np.testing.assert_allclose(
        [p.ellipse_semi_minor_m, p.ellipse_semi_major_m], np.sqrt(CHI2_2DOF_95 * eig), rtol=1e-9
    )
    assert 0.0 <= p.ellipse_orientation_rad < math.pi
    # Points just inside / outside the ellipse ends, along the stated azimuths.
    for az, semi in (
        (p.ellipse_orientation_rad, p.ellipse_semi_major_m),
        (p.ellipse_orientation_rad + math.pi, p.ellipse_semi_major_m),
        (p.ellipse_orientation_rad + 0.5 * math.pi, p.ellipse_semi_minor_m),
    ):
        la_in, lo_in, _ = geodesic_direct(p.lat_rad, p.lon_rad, az, 0.98 * semi)
        la_out, lo_out, _ = geodesic_direct(p.lat_rad, p.lon_rad, az, 1.02 * semi)
        assert p.contains(float(la_in), float(lo_in))
        assert not p.contains(float(la_out), float(lo_out))
    assert p.contains(p.lat_rad, p.lon_rad, probability=0.01)
    with pytest.raises(ValueError, match="probability"):
        p.contains(p.lat_rad, p.lon_rad, probability=1.0)
    with pytest.raises(ValueError):
        p.cov_ne_m2[0, 0] = 1.0  # immutable result


def test_orbital_state_gives_none_and_does_not_spoil_the_batch(
    warhead: ObjectTrajectory,
) -> None:
    # 7.8 km/s eastward at 400 km over the equator: with the Earth's 465 m/s the inertial
    # speed is ~8.3 km/s, above circular speed (7.67 km/s) there: it never comes down.
    x = np.zeros((2, 10))
    x[0, :3] = geodetic_to_ecef(0.0, 0.0, 400e3)
    x[0, 3:6] = [0.0, 7_800.0, 0.0]
    x[0, 9] = 2e-4
    x[1] = _track_states(warhead, np.array([2000.0]))[0]
    P = np.tile(np.diag([1e-2] * 9 + [1e-14]), (2, 1, 1))
    preds = predict_impacts(x, P, np.array([0.0, 2000.0]), max_flight_s=4000.0)
    assert preds[0] is None
    assert preds[1] is not None
    d = _distance_m(
        preds[1].lat_rad, preds[1].lon_rad, warhead.impact_lat_rad, warhead.impact_lon_rad
    )
    assert d < 10.0


# ----------------------------------------------------------------------------------
# Apogee
# ----------------------------------------------------------------------------------


def test_apogee_of_the_seed_warhead(seed_flight: Flight, warhead: ObjectTrajectory) -> None:
    table = truth_table([seed_flight], step_s=1.0)
    rows = table["object_id"] == warhead.object_id
    r = np.stack([table[c][rows] for c in ("x_ecef_m", "y_ecef_m", "z_ecef_m")], axis=1)
    alt = ecef_to_geodetic(r)[2]
    i_max = int(np.argmax(alt))
    truth_h, truth_t = float(alt[i_max]), float(table["time_s"][rows][i_max])

    t = np.array([300.0, 1500.0])  # climbing; already descending
    x = _track_states(warhead, t)
    t_apo, h_apo, r_apo = predict_apogee(x, t)
    # Same force model as the truth; the 1 s table's maximum is within ~g·(0.5 s)²/2 of
    # the true one. 5 m would still catch a geocentric-for-geodetic height mix-up (~16 m
    # at 2,800 km and 43° N); the brief asks for 1 km.
    assert abs(h_apo[0] - truth_h) <= 5.0, f"apogee {h_apo[0] - truth_h:+.2f} m off the truth"
    assert abs(t_apo[0] - truth_t) <= 2.0, f"apogee time {t_apo[0] - truth_t:+.2f} s off"
    np.testing.assert_allclose(ecef_to_geodetic(r_apo[0])[2], h_apo[0], atol=1e-6, rtol=0)
    # Descending: the apogee is now.
    assert t_apo[1] == 1500.0
    np.testing.assert_allclose(r_apo[1], x[1, :3], atol=0.0, rtol=0)
    np.testing.assert_allclose(h_apo[1], ecef_to_geodetic(x[1, :3])[2], atol=1e-6, rtol=0)


# ----------------------------------------------------------------------------------
# Launch point
# ----------------------------------------------------------------------------------


def _radar_view(
    w: ObjectTrajectory, t: np.ndarray, site: tuple[float, float, float], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Truth positions seen by a radar: noise σ_range along the line of sight and
    range·σ_angle across it (converted detections: ECEF positions with covariance)."""
    z = w.states_at(t)[:, :3]
    los = z - geodetic_to_ecef(*site)
    rng_m = np.linalg.norm(los, axis=1)
    u = los / rng_m[:, None]
    uu = u[:, :, None] * u[:, None, :]
    Rz = SIGMA_RANGE_M**2 * uu + ((rng_m * SIGMA_ANGLE_RAD) ** 2)[:, None, None] * (np.eye(3) - uu)
    noise = np.einsum(
        "nij,nj->ni", np.linalg.cholesky(Rz), np.random.default_rng(seed).standard_normal(z.shape)
    )
    return z + noise, Rz


def test_launch_point_from_a_korean_view_of_the_boost(seed_flight: Flight) -> None:
    la = seed_flight.launch
    t = np.arange(18.0, 41.0, 1.0)  # altitudes 3-16 km, ~290 km from the radar
    z, Rz = _radar_view(seed_flight.warhead, t, SITE_KR, seed=1)
    est = estimate_launch(t, z, Rz)
    assert est is not None
    d = _distance_m(est.lat_rad, est.lon_rad, la.lat_rad, la.lon_rad)
    dt = est.time_s - la.t_launch_s
    assert d <= 5_000.0, f"launch point {d / 1e3:.2f} km from the truth"
    assert abs(dt) <= 5.0, f"launch time off by {dt:+.2f} s"
    assert est.n_used == t.size
    # The reported covariance is consistent with the error (χ²(3) at 0.999 = 16.27).
    _, az, _ = geodesic_inverse(est.lat_rad, est.lon_rad, la.lat_rad, la.lon_rad)
    # truth − estimate in (north, east, time)
    err = np.array([d * math.cos(float(az)), d * math.sin(float(az)), -dt])
    d2 = float(err @ np.linalg.solve(est.cov, err))
    assert d2 <= 16.27, f"error (N, E, t) = {err.round(1)} is {math.sqrt(d2):.1f} σ"


def test_launch_point_from_a_later_japanese_view(seed_flight: Flight) -> None:
    # From 50-80 s (altitudes 25-73 km) the fit extrapolates across the stage-1
    # separation (56 s) and into the yaw turn that the fixed-azimuth profile does not
    # model: only a loose bound (measured ~13 km, ~0 s).
    la = seed_flight.launch
    t = np.arange(50.0, 81.0, 1.0)
    z, Rz = _radar_view(seed_flight.warhead, t, SITE_JP, seed=2)
    est = estimate_launch(t, z, Rz)
    assert est is not None
    d = _distance_m(est.lat_rad, est.lon_rad, la.lat_rad, la.lon_rad)
    dt = est.time_s - la.t_launch_s
    assert d <= 30_000.0, f"launch point {d / 1e3:.2f} km from the truth (dt {dt:+.2f} s)"


def test_launch_estimate_is_independent_of_measurement_order(seed_flight: Flight) -> None:
    t = np.arange(18.0, 41.0, 1.0)
    z, Rz = _radar_view(seed_flight.warhead, t, SITE_KR, seed=3)
    a = estimate_launch(t, z, Rz)
    perm = np.random.default_rng(0).permutation(t.size)
    b = estimate_launch(t[perm], z[perm], Rz[perm])
    assert a is not None and b is not None
    assert _distance_m(a.lat_rad, a.lon_rad, b.lat_rad, b.lon_rad) < 1.0
    assert abs(a.time_s - b.time_s) < 1e-3


# ----------------------------------------------------------------------------------
# Bad inputs
# ----------------------------------------------------------------------------------


def test_estimate_launch_rejects_bad_inputs() -> None:
    t = np.arange(6.0)
    z = np.tile([3e6, 4e6, 4e6], (6, 1))
    Rz = np.tile(np.eye(3), (6, 1, 1))
    with pytest.raises(ValueError, match="at least 4 measurements"):
        estimate_launch(t[:3], z[:3], Rz[:3])
    with pytest.raises(ValueError, match=r"z_ecef_m must have shape \(6, 3\)"):
        estimate_launch(t, z[:, :2], Rz)
    with pytest.raises(ValueError, match=r"Rz must have shape \(6, 3, 3\)"):
        estimate_launch(t, z, Rz[:5])
    with pytest.raises(ValueError, match=r"times_s must have shape \(N\)"):
        estimate_launch(t[:, None], z, Rz)
    with pytest.raises(ValueError, match="finite"):
        estimate_launch(np.r_[t[:5], np.nan], z, Rz)
    with pytest.raises(ValueError, match="positive definite"):
        estimate_launch(t, z, -Rz)
    with pytest.raises(ValueError, match="span at least"):
        estimate_launch(t * 0.5, z, Rz)


def test_predict_impacts_and_apogee_reject_bad_shapes() -> None:
    x = np.zeros((2, 10))
    x[:, 0] = 7e6
    P = np.tile(np.eye(10), (2, 1, 1))
    t = np.zeros(2)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 10\)"):
        predict_impacts(x[:, :9], P, t)
    with pytest.raises(ValueError, match=r"P must have shape \(2, 10, 10\)"):
        predict_impacts(x, P[:1], t)
    with pytest.raises(ValueError, match="one time per track"):
        predict_impacts(x, P, np.zeros(3))
    with pytest.raises(ValueError, match="max_flight_s"):
        predict_impacts(x, P, t, max_flight_s=-1.0)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 10\)"):
        predict_apogee(x[0], t[:1])
    with pytest.raises(ValueError, match="finite"):
        predict_apogee(np.full((1, 10), np.nan), t[:1])
    assert predict_impacts(np.zeros((0, 10)), np.zeros((0, 10, 10)), np.zeros(0)) == []


def test_impact_prediction_round_trips_through_a_tracks_table_row() -> None:
    """The tracks table stores the 95 % ellipse; the covariance comes back from it."""
    from trilink.tracking.products import ImpactPrediction

    cov = np.array([[9.0e6, -2.5e6], [-2.5e6, 4.0e6]])
    w, vec = np.linalg.eigh(cov)
    major = vec[:, 1]  # (north, east)
    th = math.atan2(major[1], major[0]) % math.pi
    p0 = ImpactPrediction(
        lat_rad=0.7,
        lon_rad=2.4,
        time_s=2000.0,
        cov_ne_m2=cov,
        sigma_time_s=1.0,
        ellipse_semi_major_m=math.sqrt(5.991464547107979 * w[1]),
        ellipse_semi_minor_m=math.sqrt(5.991464547107979 * w[0]),
        ellipse_orientation_rad=th,
    )
    row = {
        "impact_lat_deg": np.array([math.degrees(p0.lat_rad)]),
        "impact_lon_deg": np.array([math.degrees(p0.lon_rad)]),
        "impact_time_s": np.array([p0.time_s]),
        "impact_semi_major_m": np.array([p0.ellipse_semi_major_m]),
        "impact_semi_minor_m": np.array([p0.ellipse_semi_minor_m]),
        "impact_orientation_deg": np.array([math.degrees(th)]),
    }
    p1 = ImpactPrediction.from_tracks_row(row, 0)
    np.testing.assert_allclose(p1.cov_ne_m2, cov, rtol=1e-9, atol=1e-3)
    assert abs(p1.lat_rad - p0.lat_rad) < 1e-12 and abs(p1.lon_rad - p0.lon_rad) < 1e-12
