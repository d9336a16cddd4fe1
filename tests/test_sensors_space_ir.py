"""trilink.sensors.space_ir: geostationary IR plume detections and the launch estimate.

Oracles and thresholds:
* truth: the seed scenario's flown trajectory (``hwasong18-2023-04-13``); every
  detection is checked against the truth state at its emission time;
* line-of-sight noise: a χ² test with 2N degrees of freedom and a z-test on the
  mean of each axis, both two-sided at 1 %;
* geometry: the GEO radius from Kepler's third law against the public figure
  (35,786 km above the equator), the Earth limb from the tangent-ray formula;
* launch estimate: bounds in km and s on the seed scenario, and the coverage of
  the stated covariance over 100 noise draws (binomial limits stated per test).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from trilink.geo import geodetic_altitude_m, geodetic_to_ecef
from trilink.geo.constants import SPEED_OF_LIGHT_MPS, WGS84_A_M
from trilink.scenario.build import get_scenario
from trilink.sensors.coverage import coverage_footprint
from trilink.sensors.space_ir import (
    DEFAULT_SPACE_IR,
    GEO_ALTITUDE_M,
    GEO_RADIUS_M,
    BoostPrior,
    LosDetections,
    SpaceIrSensor,
    estimate_launch,
    los_errors_rad,
    simulate_ir_detections,
    tangent_basis,
)
from trilink.sim.run import run_scenario

SEED_SCENARIO = "hwasong18-2023-04-13"


@pytest.fixture(scope="module")
def flights():
    return run_scenario(get_scenario(SEED_SCENARIO)).flights


@pytest.fixture(scope="module")
def stack(flights):
    """The warhead object: the whole missile stack while it burns."""
    return next(o for o in flights[0].objects if o.kind == "warhead")


def _truth_at_emission(obj, sensor: SpaceIrSensor, t_frame: np.ndarray):
    """True emission times and positions for frame times (same light-time step as the model)."""
    r_s = sensor.r_ecef_m
    r = obj.states_at(t_frame)[:, :3]
    t_e = t_frame - np.linalg.norm(r - r_s, axis=1) / SPEED_OF_LIGHT_MPS
    return t_e, obj.states_at(t_e)[:, :3]


def _burning(obj, t: np.ndarray) -> np.ndarray:
    on = np.zeros(t.shape, dtype=bool)
    for a, b in obj.burn_intervals_s:
        on |= (t >= a) & (t <= b)
    return on


# ----------------------------------------------------------------------------------
# Sensor geometry
# ----------------------------------------------------------------------------------
def test_geo_altitude_matches_public_figure():
    # Geostationary altitude 35,786 km above the equator, radius 42,164 km (the usual
    # public figures, e.g. Wikipedia "Geostationary orbit"); ours comes from GM and ω.
    assert GEO_ALTITUDE_M == pytest.approx(35_786e3, abs=1e3)
    assert GEO_RADIUS_M == pytest.approx(42_164e3, abs=1e3)
    sat = DEFAULT_SPACE_IR[0]
    assert np.linalg.norm(sat.r_ecef_m) == pytest.approx(GEO_RADIUS_M, abs=1e-3)
    assert sat.lat_rad == 0.0


def test_frame_times_follow_offset_and_revisit():
    s = SpaceIrSensor(sensor_id="X", lon_rad=0.0, revisit_s=2.0, scan_offset_s=0.5)
    np.testing.assert_allclose(s.frame_times(0.0, 7.0), [0.5, 2.5, 4.5, 6.5], rtol=0, atol=1e-12)
    assert s.frame_times(3.0, 4.0).size == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sigma_los_rad", 0.0),
        ("revisit_s", -1.0),
        ("min_plume_alt_m", math.nan),
        ("p_detect", 1.5),
        ("lon_rad", 400.0),
        ("sensor_id", ""),
    ],
)
def test_bad_sensor_fields_name_the_field(field, value):
    kwargs = {"sensor_id": "X", "lon_rad": 2.6, field: value}
    with pytest.raises(ValueError, match=field):
        SpaceIrSensor(**kwargs)


def test_earth_limb_blocks_a_satellite_over_the_atlantic(flights):
    atlantic = SpaceIrSensor(sensor_id="GEO-ATL", lon_rad=math.radians(-30.0))
    det = simulate_ir_detections(atlantic, flights, np.random.default_rng(1))
    assert len(det) == 0
    above_korea = geodetic_to_ecef(math.radians(39.1), math.radians(126.0), 100e3)
    assert not atlantic.covers(above_korea)[0]
    assert DEFAULT_SPACE_IR[0].covers(above_korea)[0]
    assert DEFAULT_SPACE_IR[1].covers(above_korea)[0]


def test_earth_limb_distance_matches_tangent_ray():
    # A target at height H is seen from GEO up to the central angle where the ray
    # grazes the sphere of radius a + H (clearance H): cos θ = (a + H)/r_GEO. On the
    # equator (radius a) the ground distance is a θ; along meridians the ellipsoid is
    # flatter, so compare the east-west rays (azimuth 90° and 270°), 0.1 % tolerance.
    sat = DEFAULT_SPACE_IR[0]
    h = 10e3
    fp = coverage_footprint(sat, h, n_azimuth=72, n_range=200)
    theta = math.acos((WGS84_A_M + h) / GEO_RADIUS_M)
    expected_m = WGS84_A_M * theta
    east_west = np.isin(np.round(np.degrees(fp.azimuth_rad)), [90.0, 270.0])
    np.testing.assert_allclose(fp.outer_range_m[east_west], expected_m, rtol=1e-3)
    assert fp.max_range_m == pytest.approx(expected_m, rel=5e-3)


# ----------------------------------------------------------------------------------
# Detections
# ----------------------------------------------------------------------------------
def test_detections_only_of_the_burning_stack_above_the_floor(flights, stack):
    det = simulate_ir_detections(DEFAULT_SPACE_IR, flights, np.random.default_rng(7))
    assert len(det) > 50
    assert set(det.object_ids) == {stack.object_id}
    assert set(det.sensor_id.tolist()) == {s.sensor_id for s in DEFAULT_SPACE_IR}
    assert np.all(np.diff(det.time_s) >= 0.0)
    burn_end = max(b for _, b in stack.burn_intervals_s)
    for sensor in DEFAULT_SPACE_IR:
        mine = det.select(det.sensor_id == sensor.sensor_id)
        t_e, r_e = _truth_at_emission(stack, sensor, mine.time_s)
        assert np.all(_burning(stack, t_e)), "a detection outside the burn"
        alt = geodetic_altitude_m(r_e)
        assert np.all(alt >= sensor.min_plume_alt_m - 1e-3), f"lowest plume {alt.min():.0f} m"
        assert mine.time_s.max() <= burn_end + 1.0
        # Completeness (p_detect = 1): every frame with the stack burning above the
        # floor and in view is a detection.
        frames = sensor.frame_times(0.0, burn_end + 5.0)
        t_all, r_all = _truth_at_emission(stack, sensor, frames)
        ok = _burning(stack, t_all) & np.all(np.isfinite(r_all), axis=1)
        ok[ok] = sensor.covers(r_all[ok])
        np.testing.assert_array_equal(mine.time_s, frames[ok])
        # The first detection is within one revisit of the stack crossing the floor.
        t_fine = np.arange(0.0, 80.0, 0.01)
        h = geodetic_altitude_m(stack.states_at(t_fine)[:, :3])
        t_floor = t_fine[np.argmax(h >= sensor.min_plume_alt_m)]
        assert t_floor <= mine.time_s[0] <= t_floor + sensor.revisit_s + 0.2


def test_a_higher_floor_delays_the_first_detection(flights, stack):
    high = SpaceIrSensor(sensor_id="HIGH", lon_rad=math.radians(150.0), min_plume_alt_m=50e3)
    det = simulate_ir_detections(high, flights, np.random.default_rng(0))
    _, r_e = _truth_at_emission(stack, high, det.time_s)
    assert geodetic_altitude_m(r_e).min() >= 50e3 - 1e-3
    assert det.time_s[0] > 60.0  # the stack passes 50 km at ≈ 62 s


def test_detections_are_reproducible_from_the_seed(flights):
    a = simulate_ir_detections(DEFAULT_SPACE_IR, flights, np.random.default_rng(3))
    b = simulate_ir_detections(DEFAULT_SPACE_IR, flights, np.random.default_rng(3))
    c = simulate_ir_detections(DEFAULT_SPACE_IR, flights, np.random.default_rng(4))
    np.testing.assert_array_equal(a.u_ecef, b.u_ecef)
    assert not np.array_equal(a.u_ecef, c.u_ecef)


def test_los_noise_is_unbiased_with_the_stated_sigma(flights, stack):
    # Dense frames (0.1 s) give ≈ 2 x 1,370 detections; errors against the true line of
    # sight at the emission time. χ²(2N) and the per-axis mean, both at 1 % two-sided.
    sensors = [
        SpaceIrSensor(sensor_id="A", lon_rad=math.radians(150.0), revisit_s=0.1),
        SpaceIrSensor(
            sensor_id="B", lon_rad=math.radians(90.0), revisit_s=0.1, sigma_los_rad=50e-6
        ),
    ]
    det = simulate_ir_detections(sensors, flights, np.random.default_rng(2023))
    chi2_total, n_total = 0.0, 0
    for sensor in sensors:
        mine = det.select(det.sensor_id == sensor.sensor_id)
        _, r_e = _truth_at_emission(stack, sensor, mine.time_s)
        d = r_e - sensor.r_ecef_m
        u_true = d / np.linalg.norm(d, axis=1, keepdims=True)
        err = los_errors_rad(mine.u_ecef, u_true) / sensor.sigma_los_rad
        n = err.shape[0]
        assert n > 1000
        z = err.mean(axis=0) * math.sqrt(n)
        assert np.all(np.abs(z) < stats.norm.ppf(0.995)), f"biased axes, z = {z}"
        chi2 = float(np.sum(err**2))
        lo, hi = stats.chi2.ppf([0.005, 0.995], 2 * n)
        assert lo < chi2 < hi, f"{sensor.sensor_id}: χ² {chi2:.0f} outside [{lo:.0f}, {hi:.0f}]"
        np.testing.assert_allclose(np.linalg.norm(mine.u_ecef, axis=1), 1.0, rtol=0, atol=1e-12)
        chi2_total += chi2
        n_total += n
    assert chi2_total / (2 * n_total) == pytest.approx(1.0, abs=0.1)


def test_tangent_basis_and_los_errors_invert_a_known_rotation():
    rng = np.random.default_rng(5)
    u = rng.normal(size=(50, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    u[0] = (0.0, 0.0, 1.0)  # the polar fallback
    e1, e2 = tangent_basis(u)
    for a, b in ((u, e1), (u, e2), (e1, e2)):
        np.testing.assert_allclose(np.einsum("ij,ij->i", a, b), 0.0, rtol=0, atol=1e-12)
    ab = rng.normal(scale=1e-4, size=(50, 2))
    phi = np.hypot(ab[:, 0], ab[:, 1])[:, None]
    m = np.cos(phi) * u + np.sin(phi) / phi * (ab[:, :1] * e1 + ab[:, 1:] * e2)
    np.testing.assert_allclose(los_errors_rad(m, u), ab, rtol=0, atol=1e-15)


def test_detection_table_checks_shapes():
    with pytest.raises(ValueError, match="u_ecef"):
        LosDetections(
            time_s=np.zeros(2),
            sensor_id=np.array(["A", "A"]),
            u_ecef=np.zeros((2, 2)),
            r_sensor_ecef_m=np.zeros((2, 3)),
            sigma_los_rad=np.ones(2),
            object_ids=("x", "x"),
        )


# ----------------------------------------------------------------------------------
# Launch estimate
# ----------------------------------------------------------------------------------
def test_launch_estimate_on_the_seed_scenario(flights):
    launch = flights[0].launch
    det = simulate_ir_detections(DEFAULT_SPACE_IR, flights, np.random.default_rng(20230413))
    est = estimate_launch(det)
    dn, de = est.error_m(launch.lat_rad, launch.lon_rad)
    err_km = math.hypot(dn, de) / 1e3
    dt = est.time_s - launch.t_launch_s
    assert err_km <= 3.0, f"launch point off by {err_km:.2f} km"
    assert abs(dt) <= 8.0, f"launch time off by {dt:+.1f} s"
    # Stated uncertainty (documented in the module): ≈0.8 km per axis, ≈5 s.
    assert 300.0 < est.sigma_north_m < 2_000.0
    assert 300.0 < est.sigma_east_m < 2_000.0
    assert 2.0 < est.sigma_time_s < 8.0
    assert est.sensor_ids == tuple(sorted(s.sensor_id for s in DEFAULT_SPACE_IR))
    assert est.n_detections >= 15
    assert est.chi2 / est.dof == pytest.approx(1.0, abs=0.5)
    # Heading of the ground track: the launch azimuth (71.4°) within 3σ.
    daz = (est.azimuth_rad - launch.azimuth_rad + math.pi) % (2 * math.pi) - math.pi
    assert abs(daz) <= 3.0 * est.sigma_azimuth_rad, f"azimuth off by {math.degrees(daz):.1f}°"


def test_launch_estimate_covariance_covers_the_truth(flights):
    # 100 noise draws. Launch point: the 2-D 95 % ellipse should hold the truth in
    # 95 % of draws; with 100 draws the binomial 3σ band is 88.5-100 %, and the model
    # bias must stay below half a σ. Launch time: its σ includes the climb-shape prior
    # (a spread over missiles, fixed in this test), so coverage is conservative: >= 90 %.
    launch = flights[0].launch
    errs, nees_pos, z_time = [], [], []
    for seed in range(100):
        det = simulate_ir_detections(DEFAULT_SPACE_IR, flights, np.random.default_rng(seed))
        est = estimate_launch(det)
        dn, de = est.error_m(launch.lat_rad, launch.lon_rad)
        x = np.array([dn, de])
        errs.append((dn, de, est.time_s - launch.t_launch_s))
        nees_pos.append(float(x @ np.linalg.solve(est.covariance[:2, :2], x)))
        z_time.append((est.time_s - launch.t_launch_s) / est.sigma_time_s)
    errs = np.array(errs)
    nees_pos = np.array(nees_pos)
    cover95 = float(np.mean(nees_pos <= stats.chi2.ppf(0.95, 2)))
    cover39 = float(np.mean(nees_pos <= stats.chi2.ppf(0.3935, 2)))  # the 1σ ellipse
    assert 0.885 <= cover95 <= 1.0, f"2-D 95 % coverage {cover95:.2f}"
    assert 0.25 <= cover39 <= 0.55, f"2-D 1σ-ellipse coverage {cover39:.2f} (nominal 0.39)"
    sig = np.sqrt(np.diag(est.covariance))
    assert np.all(np.abs(errs[:, :2].mean(axis=0)) <= 0.5 * sig[:2]), errs[:, :2].mean(axis=0)
    horiz_km = np.hypot(errs[:, 0], errs[:, 1]) / 1e3
    assert np.median(horiz_km) <= 1.5 and np.percentile(horiz_km, 95) <= 2.5, (
        f"median {np.median(horiz_km):.2f} km, 95th pct {np.percentile(horiz_km, 95):.2f} km"
    )
    assert float(np.mean(np.abs(z_time) <= 1.96)) >= 0.90
    assert abs(float(np.mean(errs[:, 2]))) <= 4.0, f"mean time error {errs[:, 2].mean():+.1f} s"


def test_single_satellite_needs_a_climb_prior(flights):
    launch = flights[0].launch
    det = simulate_ir_detections(DEFAULT_SPACE_IR[0], flights, np.random.default_rng(11))
    with pytest.raises(ValueError, match="one satellite"):
        estimate_launch(det)
    est = estimate_launch(det, prior=BoostPrior(time_to_10km_s=30.0, time_to_10km_sigma_s=7.0))
    dn, de = est.error_m(launch.lat_rad, launch.lon_rad)
    # Degraded mode (module docstring: ≈5-10 km, σ 4-10 km per axis).
    assert math.hypot(dn, de) <= 25e3
    assert est.sigma_north_m > 2e3 and est.sigma_time_s > 5.0


def test_estimate_rejects_too_few_detections(flights):
    det = simulate_ir_detections(DEFAULT_SPACE_IR, flights, np.random.default_rng(0))
    with pytest.raises(ValueError, match="need >= 5"):
        estimate_launch(det.select(np.arange(3)))
    with pytest.raises(ValueError, match="window_s"):
        estimate_launch(det, window_s=0.0)
