"""trilink.sensors radar model on synthetic straight-line targets.

Oracles, all computed in this file independently of the model:
* site position from pyproj (EPSG:4979 -> EPSG:4978), ENU axes written out here;
* Swerling 1 Pd: the closed form is checked against the steady-target Pd
  (Marcum Q via scipy's non-central χ²) averaged over an exponential RCS, and
  the simulation against the closed form within 4 binomial standard errors;
* measurement errors: NEES against χ² bounds (scipy.stats) at 1 %;
* resolution: the scan at which two separating objects split, from the cell
  sizes and the objects' geometry;
* radar horizon: the classic d = sqrt(2 k R h) (Skolnik 2001, ch. 8), i.e.
  d[km] ≈ 4.12 sqrt(h[m]) for k = 4/3.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from pyproj import Transformer
from scipy import integrate, stats

from trilink.geo import geodesic_direct, geodetic_to_ecef
from trilink.sensors import (
    DetectionBatch,
    Face,
    Radar,
    RotatingFace,
    simulate_object_detections,
    snr_for_pd,
    swerling1_pd,
)
from trilink.sensors.rcs import DEFAULT_RCS, RcsKind
from trilink.threats import ObjectKind, ObjectTrajectory

LAT0, LON0, ALT0 = 36.0, 128.0, 0.0
_TO_ECEF = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)


def _site_ecef() -> np.ndarray:
    return np.array(_TO_ECEF.transform(LON0, LAT0, ALT0))


def _enu_axes(lat_deg: float, lon_deg: float) -> np.ndarray:
    """Rows: east, north, up unit vectors in ECEF (written out, not from trilink)."""
    p, lam = math.radians(lat_deg), math.radians(lon_deg)
    return np.array(
        [
            [-math.sin(lam), math.cos(lam), 0.0],
            [-math.sin(p) * math.cos(lam), -math.sin(p) * math.sin(lam), math.cos(p)],
            [math.cos(p) * math.cos(lam), math.cos(p) * math.sin(lam), math.sin(p)],
        ]
    )


AXES = _enu_axes(LAT0, LON0)


def _enu_to_ecef(p_enu: np.ndarray) -> np.ndarray:
    return _site_ecef() + np.asarray(p_enu) @ AXES


def _truth_aer(r_ecef: np.ndarray, v_ecef: np.ndarray) -> tuple[np.ndarray, ...]:
    d = (r_ecef - _site_ecef()) @ AXES.T
    rng = np.linalg.norm(d, axis=-1)
    az = np.mod(np.arctan2(d[..., 0], d[..., 1]), 2 * math.pi)
    el = np.arcsin(d[..., 2] / rng)
    rr = np.einsum("...i,...i->...", v_ecef, (r_ecef - _site_ecef())) / rng
    return rng, az, el, rr


def line_object(
    object_id: str,
    p0_enu_m: np.ndarray,
    v_enu_mps: np.ndarray,
    t0: float = 0.0,
    t1: float = 100.0,
    kind: ObjectKind = ObjectKind.DEBRIS,
) -> ObjectTrajectory:
    """A straight-line ECEF trajectory (cubic Hermite interpolation is exact for it)."""
    t = np.linspace(t0, t1, max(2, int(t1 - t0) + 1))
    r0 = _enu_to_ecef(p0_enu_m)
    v = np.asarray(v_enu_mps, dtype=float) @ AXES
    r = r0 + np.outer(t - t0, v)
    y = np.hstack([r, np.broadcast_to(v, r.shape)])
    dy = np.hstack([np.broadcast_to(v, r.shape), np.zeros_like(r)])
    return ObjectTrajectory(
        object_id=object_id,
        kind=kind,
        threat_id="X",
        parent_id=None,
        t_start_s=t0,
        t_impact_s=t1,
        impact_lat_rad=0.0,
        impact_lon_rad=0.0,
        mass_kg=1.0,
        ballistic_coefficient_kgpm2=1.0,
        t_s=t,
        y=y,
        dy=dy,
    )


def make_radar(**kw: object) -> Radar:
    base: dict[str, object] = {
        "sensor_id": "test",
        "nation": "KR",
        "lat_rad": math.radians(LAT0),
        "lon_rad": math.radians(LON0),
        "alt_m": ALT0,
        "faces": (
            Face(
                boresight_az_rad=0.0,
                half_fov_az_rad=math.radians(60),
                half_fov_el_rad=math.radians(90),
            ),
        ),
        "instrumented_range_m": 1_000e3,
        "min_elevation_rad": 0.0,
        "revisit_s": 1.0,
        "snr_ref_db": 150.0,
        "rcs_ref_m2": DEFAULT_RCS.debris_m2,
        "range_ref_m": 500e3,
        "pfa": 1e-6,
        "beamwidth_az_rad": math.radians(1.0),
        "beamwidth_el_rad": math.radians(1.0),
        "range_resolution_m": 150.0,
        "range_rate_resolution_mps": 10.0,
        "sigma_range_floor_m": 0.0,
        "sigma_angle_floor_rad": 0.0,
        "sigma_range_rate_floor_mps": 0.0,
    }
    base.update(kw)
    return Radar(**base)  # type: ignore[arg-type]


def _run(radar: Radar, objects: list[ObjectTrajectory], t1: float, seed: int) -> DetectionBatch:
    rng = np.random.default_rng(seed)
    return simulate_object_detections([radar], objects, 0.0, t1, rng, false_alarms=False)


# ----------------------------------------------------------------------------------
# Swerling 1
# ----------------------------------------------------------------------------------
@pytest.mark.parametrize("pfa", [1e-4, 1e-6, 1e-8])
@pytest.mark.parametrize("snr_db", [0.0, 7.0, 13.0, 20.0])
def test_swerling1_closed_form_equals_steady_pd_averaged_over_exponential_rcs(pfa, snr_db):
    # Steady target, square-law detector: Pd = Q1(sqrt(2s), sqrt(2T)) = ncx2.sf(2T, 2, 2s);
    # Swerling 1: average over s ~ Exp(mean S) (Skolnik 2001 §2.8).
    s_mean = 10.0 ** (snr_db / 10.0)
    thr = -math.log(pfa)

    def integrand(s: float) -> float:
        return stats.ncx2.sf(2 * thr, 2, 2 * s) * math.exp(-s / s_mean) / s_mean

    pd_ref, _ = integrate.quad(integrand, 0.0, 60.0 * s_mean, limit=400)
    assert abs(float(swerling1_pd(s_mean, pfa)) - pd_ref) < 1e-6


def test_fluctuation_loss_at_pd_09_matches_published_figure():
    # Pfa 1e-6, Pd 0.9: a steady target needs 13.2 dB (Skolnik 2001 §2.5, fig. 2.7;
    # Albersheim: 13.1 dB); a Swerling 1 target needs about 8 dB more (Skolnik 2001
    # fig. 2.23, "additional signal-to-noise ratio required ... Swerling case 1").
    swerling_db = 10 * math.log10(snr_for_pd(0.9, 1e-6))
    steady_db = 13.2
    assert abs(swerling_db - steady_db - 8.0) < 0.5, swerling_db


@pytest.mark.parametrize("snr_db", [0.0, 5.0, 10.0, 15.0, 20.0])
def test_simulated_detection_probability_matches_swerling1(snr_db):
    pfa = 1e-4
    obj = line_object("D", np.array([0.0, 200e3, 100e3]), np.zeros(3), t1=120.0)
    rng_m = float(_truth_aer(obj.y[0, :3], obj.y[0, 3:])[0])
    radar = make_radar(
        pfa=pfa, snr_ref_db=snr_db, range_ref_m=rng_m, revisit_s=0.01, rcs_ref_m2=0.02
    )
    batch = _run(radar, [obj], 120.0, seed=int(snr_db * 10) + 1)
    n_scans = radar.scan_times(0.0, 120.0).size
    assert n_scans >= 10_000
    p_hat = len(batch) / n_scans
    p = float(swerling1_pd(10 ** (snr_db / 10), pfa))
    se = math.sqrt(p * (1 - p) / n_scans)
    assert abs(p_hat - p) < 4 * se, f"SNR {snr_db} dB: simulated {p_hat:.4f} vs {p:.4f} ± {se:.4f}"


# ----------------------------------------------------------------------------------
# Measurement noise: unbiased, stated covariance (NEES)
# ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("snr_db", "floors"),
    [(18.0, False), (18.0, True), (60.0, True)],
    ids=["snr-limited", "mixed", "floor-limited"],
)
def test_measurement_errors_are_unbiased_with_stated_covariance(snr_db, floors):
    obj = line_object(
        "D", np.array([30e3, 300e3, 80e3]), np.array([-200.0, 1_500.0, 300.0]), t1=200.0
    )
    kw = {}
    if floors:
        kw = {
            "sigma_range_floor_m": 2.0,
            "sigma_angle_floor_rad": 2e-4,
            "sigma_range_rate_floor_mps": 0.5,
        }
    radar = make_radar(
        snr_ref_db=snr_db, range_ref_m=400e3, rcs_ref_m2=0.02, revisit_s=0.02, pfa=1e-6, **kw
    )
    b = _run(radar, [obj], 200.0, seed=7 + int(snr_db))
    assert len(b) > 5_000 and not b.is_false_alarm.any()
    states = obj.states_at(b.time_s)
    rng, az, el, rr = _truth_aer(states[:, :3], states[:, 3:])
    daz = np.mod(b.az_rad - az + math.pi, 2 * math.pi) - math.pi
    z = np.stack(
        [
            (b.range_m - rng) / b.sigma_range_m,
            daz / b.sigma_az_rad,
            (b.el_rad - el) / b.sigma_el_rad,
            (b.range_rate_mps - rr) / b.sigma_range_rate_mps,
        ],
        axis=1,
    )
    n = z.shape[0]
    nees = float(np.sum(z * z))
    lo, hi = stats.chi2.ppf([0.005, 0.995], 4 * n)
    assert lo < nees < hi, f"NEES {nees:.0f} outside [{lo:.0f}, {hi:.0f}] for {n} detections"
    # each coordinate: unbiased (two-sided 1 % z-test on the mean) and its own χ²
    bound = stats.norm.ppf(0.995) / math.sqrt(n)
    lo1, hi1 = stats.chi2.ppf([0.005, 0.995], n)
    for k, name in enumerate(("range", "az", "el", "range rate")):
        assert abs(z[:, k].mean()) < bound, f"{name}: mean normalised error {z[:, k].mean():.4f}"
        assert lo1 < np.sum(z[:, k] ** 2) < hi1, name
    if snr_db == 60.0:  # floors bind at high SNR (bar the deepest Swerling fades)
        assert np.mean(b.sigma_range_m == 2.0) > 0.99
    # the stated σ follows the documented formula of the measured SNR
    snr = 10 ** (b.snr_db / 10)
    expect = np.maximum(radar.range_resolution_m / np.sqrt(2 * snr), radar.sigma_range_floor_m)
    np.testing.assert_allclose(b.sigma_range_m, expect, rtol=1e-12, atol=0)
    # the sensors-table σ bounds every detection's σ
    worst = radar.worst_sigmas()
    assert b.sigma_range_m.max() <= worst[0] * (1 + 1e-12)
    assert b.sigma_az_rad.max() <= worst[1] * (1 + 1e-12)


# ----------------------------------------------------------------------------------
# Resolution: merged detections of separating objects
# ----------------------------------------------------------------------------------
def test_radially_separating_objects_split_when_a_range_cell_apart():
    # Two objects start together 300 km north, 50 km up, and separate along the line of
    # sight at 5 m/s relative (±2.5 m/s): one range cell is 150 m -> they resolve when
    # their range difference reaches 150 m, 30 s after the start.
    p0 = np.array([0.0, 300e3, 50e3])
    u = p0 / np.linalg.norm(p0)
    a = line_object("A", p0, -2.5 * u, t1=80.0)
    b = line_object("B", p0, +2.5 * u, t1=80.0)
    radar = make_radar(range_resolution_m=150.0)
    batch = _run(radar, [a, b], 80.0, seed=3)
    t_switch = radar.range_resolution_m / 5.0  # from the cell size: 30 s
    for t in np.unique(batch.time_s):
        rows = np.flatnonzero(batch.time_s == t)
        ra = _truth_aer(a.states_at(t)[:, :3], a.states_at(t)[:, 3:])[0][0]
        rb = _truth_aer(b.states_at(t)[:, :3], b.states_at(t)[:, 3:])[0][0]
        dr = abs(rb - ra)
        if abs(dr - radar.range_resolution_m) < 1.0:
            continue  # on the cell boundary to round-off
        ids = sorted(batch.object_ids[i] for i in rows)
        if t < t_switch:
            assert dr < 150.0
            assert ids == ["A;B"], f"t={t}: expected one merged detection, got {ids}"
            # power-weighted centroid: between the two truths (noise σ ≤ 150/sqrt(2 SNR))
            assert min(ra, rb) - 1.0 <= batch.range_m[rows[0]] <= max(ra, rb) + 1.0
        else:
            assert ids == ["A", "B"], f"t={t}: expected two resolved detections, got {ids}"
    merged_t = batch.time_s[np.array([s == "A;B" for s in batch.object_ids])]
    split_t = batch.time_s[np.array([s == "A" for s in batch.object_ids])]
    # the switch happens within one revisit of the predicted time (30 s is on the boundary)
    assert t_switch - radar.revisit_s <= merged_t.max() <= t_switch
    assert t_switch <= split_t.min() <= t_switch + radar.revisit_s


def test_cross_range_separating_objects_split_when_a_beamwidth_apart():
    # Two objects 40 km north at 2 km height separate east-west at 5 m/s relative; the
    # azimuth cell is 0.5° (×cos el). From the geometry: Δaz(t) = 2 atan(2.5 t / N),
    # split when Δaz cos(el) reaches the beamwidth.
    n_m, up_m = 40e3, 2e3
    a = line_object("A", np.array([0.0, n_m, up_m]), np.array([-2.5, 0, 0]), t1=150.0)
    b = line_object("B", np.array([0.0, n_m, up_m]), np.array([+2.5, 0, 0]), t1=150.0)
    bw = math.radians(0.5)
    radar = make_radar(beamwidth_az_rad=bw, beamwidth_el_rad=bw, range_resolution_m=150.0)
    batch = _run(radar, [a, b], 150.0, seed=4)
    t = np.linspace(0.0, 150.0, 150_001)
    half = 2.5 * t
    daz = 2.0 * np.arctan2(half, n_m)
    el = np.arctan2(up_m, np.hypot(half, n_m))
    t_pred = t[np.argmax(daz * np.cos(el) >= bw)]
    assert 60.0 < t_pred < 80.0  # ≈ N·bw/5
    merged_t = batch.time_s[np.array([s == "A;B" for s in batch.object_ids])]
    split_t = batch.time_s[np.array([s == "A" for s in batch.object_ids])]
    assert merged_t.size and split_t.size
    assert merged_t.max() < t_pred <= split_t.min()
    assert split_t.min() - t_pred <= radar.revisit_s
    assert t_pred - merged_t.max() <= radar.revisit_s


def test_merging_needs_all_three_cells():
    # Same range, same elevation but two beamwidths apart in azimuth: never merged.
    bw = math.radians(1.0)
    a = line_object("A", np.array([-2_000.0, 50e3, 5e3]), np.zeros(3), t1=10.0)
    b = line_object("B", np.array([+2_000.0, 50e3, 5e3]), np.zeros(3), t1=10.0)
    batch = _run(make_radar(beamwidth_az_rad=bw), [a, b], 10.0, seed=5)
    assert set(batch.object_ids) == {"A", "B"}


# ----------------------------------------------------------------------------------
# Coverage
# ----------------------------------------------------------------------------------
def test_radar_horizon_blocks_low_targets_and_not_high_ones():
    # Site at sea level, target 300 km away: the 4/3-Earth horizon (d[km] ≈ 4.12 √h[m],
    # Skolnik 2001 ch. 8) is at h ≈ 5.3 km. Visible at 5.6 km, blocked at 5.0 km
    # (margins cover ellipsoid vs sphere).
    radar = make_radar(min_elevation_rad=math.radians(-2.0))  # the Earth decides, not the limit
    lat, lon, _ = geodesic_direct(radar.lat_rad, radar.lon_rad, 0.0, 300e3)
    h_horizon = (300.0 / 4.12) ** 2
    assert 5_200 < h_horizon < 5_400
    pts = geodetic_to_ecef(lat, lon, np.array([5_000.0, 5_600.0, 20e3]))
    np.testing.assert_array_equal(radar.in_coverage(pts), [False, True, True])


def test_range_gate_elevation_limits_and_faces():
    radar = make_radar(min_elevation_rad=math.radians(5.0), instrumented_range_m=600e3)
    pts_enu = np.array(
        [
            [0.0, 300e3, 60e3],  # north, el ≈ 11°: in
            [0.0, 700e3, 300e3],  # north, beyond 600 km: out
            [0.0, 300e3, 10e3],  # el ≈ 0.5° (after curvature < 5°): out
            [300e3, -300e3, 200e3],  # az 135°: outside ±60° of north: out
            [250e3, 200e3, 200e3],  # az ≈ 51°: in
        ]
    )
    np.testing.assert_array_equal(
        radar.in_coverage(_enu_to_ecef(pts_enu)), [True, False, False, False, True]
    )


def test_tilted_face_off_boresight_angles():
    # Boresight at az 90°, tilted 30° up, ±10° in its own elevation: el 25° east is in,
    # el 45° or 15° east is out; at zero tilt the box is plain az/el.
    face = Face(
        boresight_az_rad=math.radians(90),
        boresight_el_rad=math.radians(30),
        half_fov_az_rad=math.radians(20),
        half_fov_el_rad=math.radians(10),
    )
    el = np.radians([25.0, 45.0, 15.0])
    u = np.stack([np.cos(el), np.zeros(3), np.sin(el)], axis=1)  # due east
    np.testing.assert_array_equal(face.contains(u), [True, False, False])
    alpha, eps = face.off_boresight_rad(u)
    np.testing.assert_allclose(eps, np.radians([-5.0, 15.0, -15.0]), atol=1e-12)
    np.testing.assert_allclose(alpha, 0.0, atol=1e-12)
    back = face.direction_enu(alpha, eps)
    np.testing.assert_allclose(back, u, atol=1e-12)


def test_rotating_face_sees_every_azimuth_when_the_beam_passes():
    radar = make_radar(
        faces=RotatingFace(half_fov_el_rad=math.radians(30), start_az_rad=0.0), revisit_s=10.0
    )
    objs = [
        line_object(f"O{i}", 200e3 * np.array([math.sin(a), math.cos(a), 0.1]), np.zeros(3), t1=60)
        for i, a in enumerate(np.radians([10.0, 100.0, 190.0, 280.0]))
    ]
    batch = _run(radar, objs, 60.0, seed=6)
    for i, a_deg in enumerate([10.0, 100.0, 190.0, 280.0]):
        t = batch.time_s[np.array([s == f"O{i}" for s in batch.object_ids])]
        assert t.size == 6  # one per turn
        np.testing.assert_allclose(np.mod(t, 10.0), a_deg / 36.0, atol=0.01)


def test_objects_are_not_seen_outside_their_life():
    a = line_object("A", np.array([0.0, 100e3, 30e3]), np.zeros(3), t0=20.0, t1=40.0)
    batch = _run(make_radar(), [a], 60.0, seed=8)
    assert batch.time_s.min() >= 20.0 and batch.time_s.max() <= 40.0
    assert len(batch) == 21


# ----------------------------------------------------------------------------------
# False alarms
# ----------------------------------------------------------------------------------
def test_false_alarms_poisson_rate_and_uniform_in_searched_volume():
    radar = make_radar(
        pfa=2e-5,
        instrumented_range_m=100e3,
        range_resolution_m=500.0,
        min_elevation_rad=math.radians(2.0),
        max_elevation_rad=math.radians(40.0),
        revisit_s=0.5,
    )
    rng = np.random.default_rng(11)
    b = simulate_object_detections([radar], [], 0.0, 999.5, rng, false_alarms=True)
    n_scans = radar.scan_times(0.0, 999.5).size
    lam = radar.expected_false_alarms_per_scan()
    # cells: (120/1)(38/1)(100e3/500) = 912,000; × 2e-5 = 18.24 per scan
    assert lam == pytest.approx(120 * 38 * 200 * 2e-5, rel=1e-9)
    expected = lam * n_scans
    assert abs(len(b) - expected) < 4 * math.sqrt(expected)
    assert b.is_false_alarm.all() and set(b.object_ids) == {""}
    daz = np.abs(np.mod(b.az_rad + math.pi, 2 * math.pi) - math.pi)
    assert daz.max() <= math.radians(60) + 1e-12
    assert b.el_rad.min() >= math.radians(2.0) and b.el_rad.max() <= math.radians(40.0)
    assert stats.kstest(b.range_m / 100e3, "uniform").pvalue > 0.01
    assert stats.kstest((b.el_rad - math.radians(2)) / math.radians(38), "uniform").pvalue > 0.01
    # noise that crossed the threshold: measured SNR = T - 1 + Exp(1)
    excess = 10 ** (b.snr_db / 10) - radar.threshold_snr
    assert stats.kstest(excess, "expon").pvalue > 0.01


# ----------------------------------------------------------------------------------
# RCS model
# ----------------------------------------------------------------------------------
def test_rcs_aspect_dependence_and_kinds():
    m = DEFAULT_RCS
    kinds = np.array([RcsKind.RV, RcsKind.RV, RcsKind.RV, RcsKind.STAGE, RcsKind.DEBRIS])
    cos = np.array([1.0, 0.0, -1.0, 0.0, 0.3])
    sigma = m.mean_rcs_m2(kinds, cos, [2.0, 2.0, 2.0, 11.0, np.nan], [1.2, 1.2, 1.2, 2.0, np.nan])
    assert sigma[0] == m.rv_nose_m2 < sigma[2] == m.rv_tail_m2 < sigma[1] == m.rv_broadside_m2
    assert sigma[3] == pytest.approx(m.body_broadside_per_area * 22.0)
    assert sigma[4] == m.debris_m2
    # a spent stage broadside is a LARGE object (> 1 m², Space-Track RCS_SIZE class)
    assert sigma[3] > 1.0
    # the whole stack at launch (22 m x 2 m) is far larger than the RV broadside
    stack = m.mean_rcs_m2(np.array([RcsKind.STACK]), np.array([0.0]), [22.0], [2.0])
    assert stack[0] > 10.0 > 0.1 > m.rv_nose_m2


def test_same_seed_same_detections_and_radar_validation():
    a = line_object("A", np.array([0.0, 100e3, 30e3]), np.array([0.0, 100.0, 50.0]), t1=30)
    r = make_radar(snr_ref_db=10.0, range_ref_m=100e3)
    b1 = simulate_object_detections([r], [a], 0.0, 30.0, np.random.default_rng(1))
    b2 = simulate_object_detections([r], [a], 0.0, 30.0, np.random.default_rng(1))
    np.testing.assert_array_equal(b1.range_m, b2.range_m)
    assert b1.object_ids == b2.object_ids
    with pytest.raises(ValueError, match="max_elevation_rad"):
        replace(r, min_elevation_rad=0.5, max_elevation_rad=0.1)
    with pytest.raises(ValueError, match="instrumented_range_m: must be positive"):
        replace(r, instrumented_range_m=-1.0)
    with pytest.raises(ValueError, match="duplicate sensor_id"):
        simulate_object_detections([r, r], [a], 0.0, 1.0, np.random.default_rng(1))
