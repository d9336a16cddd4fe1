"""Detections of the seed scenario (Hwasong-18, 2023-04-13) by the whole catalogue.

The acceptance check of issue 3: for every sensor and every object, the first
detection comes no earlier than the object's geometric first visibility and no
later than one revisit period after it. Visibility is computed here, written
out independently of the radar model: range gate, elevation limits, field of
view (azimuth/elevation boxes, or the rotating face's elevation band) from
positions in an ENU frame built from pyproj's site position; blockage by the
refracted Earth from :func:`trilink.geo.line_of_sight` (the shared, separately
tested geodesy component, not the model's coverage code).

Detection is random (Swerling 1), so that check runs on copies of the radars
whose operating point is raised to 200 dB: every object in coverage is then
detected with Pd = Pfa^(1/(1+SNR)) > 1 - 1e-12 per scan, and the first detection
is purely a matter of geometry and scan timing. The realistic catalogue is
used for the headline figure: Korean radars see the boost phase long before
Japanese ones.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from pyproj import Transformer

from trilink.geo import line_of_sight
from trilink.scenario.build import get_scenario
from trilink.sensors import (
    DETECTION_COLUMNS,
    Radar,
    RotatingFace,
    all_sensors,
    first_detections,
    geometric_first_visibility,
    simulate_detections,
)
from trilink.sim.run import run_scenario
from trilink.threats import Flight, ObjectTrajectory

SEED_SCENARIO = "hwasong18-2023-04-13"
_TO_ECEF = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
COARSE_S = 0.5
FINE_S = 0.01


@pytest.fixture(scope="module")
def flights() -> tuple[Flight, ...]:
    return run_scenario(get_scenario(SEED_SCENARIO)).flights


@pytest.fixture(scope="module")
def sure_radars() -> list[Radar]:
    """Catalogue radars that detect anything in coverage (Pd > 1 - 1e-12)."""
    return [replace(r, snr_ref_db=200.0) for r in all_sensors()]


@pytest.fixture(scope="module")
def sure_batch(flights, sure_radars):
    rng = np.random.default_rng(1)
    return simulate_detections(sure_radars, flights, 0.0, 2_700.0, rng, false_alarms=False)


@pytest.fixture(scope="module")
def real_batch(flights):
    return simulate_detections(all_sensors(), flights, 0.0, 2_700.0, np.random.default_rng(2))


def _visible(radar: Radar, r_ecef: np.ndarray) -> np.ndarray:
    """Independent coverage test (see the module docstring)."""
    lat, lon = math.degrees(radar.lat_rad), math.degrees(radar.lon_rad)
    site = np.array(_TO_ECEF.transform(lon, lat, radar.alt_m))
    p, lam = radar.lat_rad, radar.lon_rad
    east = np.array([-math.sin(lam), math.cos(lam), 0.0])
    north = np.array([-math.sin(p) * math.cos(lam), -math.sin(p) * math.sin(lam), math.cos(p)])
    up = np.array([math.cos(p) * math.cos(lam), math.cos(p) * math.sin(lam), math.sin(p)])
    d = r_ecef - site
    e, n, u = d @ east, d @ north, d @ up
    rng = np.sqrt(e * e + n * n + u * u)
    az = np.arctan2(e, n)
    el = np.arctan2(u, np.hypot(e, n))
    with np.errstate(invalid="ignore"):
        ok = (rng <= radar.instrumented_range_m) & (el >= radar.min_elevation_rad)
        ok &= el <= radar.max_elevation_rad
        if isinstance(radar.faces, RotatingFace):
            f = radar.faces
            ok &= np.abs(el - f.boresight_el_rad) <= f.half_fov_el_rad
        else:
            fov = np.zeros_like(ok)
            for f in radar.faces:
                assert f.boresight_el_rad == 0.0  # the catalogue uses az/el boxes
                daz = np.mod(az - f.boresight_az_rad + math.pi, 2 * math.pi) - math.pi
                fov |= (np.abs(daz) <= f.half_fov_az_rad) & (np.abs(el) <= f.half_fov_el_rad)
            ok &= fov
    ok &= np.isfinite(rng)
    rows = np.flatnonzero(ok)
    if rows.size:
        ok[rows] = line_of_sight(site, r_ecef[rows], k_factor=radar.k_factor)
    return ok


def _first_visible(radar: Radar, obj: ObjectTrajectory) -> float:
    t0, t1 = obj.t_s[0], obj.t_s[-1]
    grid = np.arange(t0, t1, COARSE_S)
    vis = _visible(radar, obj.states_at(grid)[:, :3])
    if not vis.any():
        return math.nan
    k = int(np.argmax(vis))
    if k == 0:
        return float(grid[0])
    fine = np.arange(grid[k - 1], grid[k] + FINE_S / 2, FINE_S)
    vis_f = _visible(radar, obj.states_at(fine)[:, :3])
    return float(fine[int(np.argmax(vis_f))])


def _stays_visible(radar: Radar, obj: ObjectTrajectory, t0: float, t1: float) -> bool:
    t = np.arange(t0, min(t1, obj.t_s[-1]) + 0.025, 0.05)
    return bool(_visible(radar, obj.states_at(t)[:, :3]).all()) and t1 <= obj.t_s[-1]


def test_first_detection_within_one_revisit_of_geometric_visibility(
    flights, sure_radars, sure_batch
):
    objects = [o for f in flights for o in f.objects]
    assert len(objects) == 24  # warhead + 3 stages + 20 debris
    assert len(sure_radars) >= 12
    fd = first_detections(sure_batch, sure_radars)
    first = {(k, o): t for k, o, t in zip(fd["key"], fd["object_id"], fd["time_s"], strict=True)}
    strict = checked = 0
    for radar in sure_radars:
        for obj in objects:
            t_vis = _first_visible(radar, obj)
            t_det = first.get((radar.sensor_id, obj.object_id))
            where = f"{radar.sensor_id} / {obj.object_id}"
            if math.isnan(t_vis):
                assert t_det is None, f"{where}: detected at {t_det:.2f} s but never visible"
                continue
            checked += 1
            if t_det is not None:
                assert t_det >= t_vis - FINE_S - 1e-9, (
                    f"{where}: detected at {t_det:.3f} s before first visibility {t_vis:.3f} s"
                )
                assert t_det >= obj.t_s[0]  # never before it exists (separates)
            if _stays_visible(radar, obj, t_vis, t_vis + radar.revisit_s + 0.05):
                strict += 1
                assert t_det is not None, f"{where}: visible from {t_vis:.2f} s, never detected"
                late = t_det - t_vis
                assert late <= radar.revisit_s + 0.05, (
                    f"{where}: first detection {t_det:.3f} s is {late:.3f} s after first "
                    f"visibility {t_vis:.3f} s (revisit {radar.revisit_s} s)"
                )
    # most sensor/object pairs with any visibility are seen continuously at first
    assert checked >= 200 and strict >= 0.9 * checked, (checked, strict)


def test_geometric_first_visibility_helper_agrees_with_the_independent_one(flights, sure_radars):
    warhead = flights[0].warhead
    for radar in sure_radars:
        mine = geometric_first_visibility(radar, warhead, step_s=0.05)
        theirs = _first_visible(radar, warhead)
        if math.isnan(theirs):
            assert math.isnan(mine), radar.sensor_id
        else:
            assert abs(mine - theirs) <= 0.06, (radar.sensor_id, mine, theirs)


def test_korean_radars_see_the_boost_long_before_japanese_ones(real_batch):
    fd = first_detections(real_batch, all_sensors(), by="nation")
    first = {
        (k, o): (t, a, s)
        for k, o, t, a, s in zip(
            fd["key"], fd["object_id"], fd["time_s"], fd["alt_m"], fd["sensor_id"], strict=True
        )
    }
    t_kr, alt_kr, s_kr = first[("KR", "T1-warhead")]
    t_jp, alt_jp, s_jp = first[("JP", "T1-warhead")]
    t_us, _, s_us = first[("US", "T1-warhead")]
    msg = (
        f"first KR {t_kr:.1f} s ({s_kr}, {alt_kr / 1e3:.1f} km), first JP {t_jp:.1f} s "
        f"({s_jp}, {alt_jp / 1e3:.1f} km), first US {t_us:.1f} s ({s_us})"
    )
    assert t_kr < 30.0 and alt_kr < 10e3, msg  # seconds after lift-off, a few km up
    assert t_jp - t_kr > 20.0, msg  # Japan waits for the missile to clear its horizon
    assert alt_jp > 15e3, msg


def test_stages_appear_only_at_separation_first_merged_with_the_stack(real_batch, flights):
    sep = {o.object_id: o.t_s[0] for o in flights[0].objects if o.kind.value == "stage"}
    for sid, t_sep in sep.items():
        rows = [i for i, s in enumerate(real_batch.object_ids) if sid in s.split(";")]
        assert rows, sid
        assert real_batch.time_s[rows].min() >= t_sep
    # right after stage-1 separation (1 m/s apart) the stage and the stack share a cell
    merged = [
        i
        for i, s in enumerate(real_batch.object_ids)
        if {"T1-stage1", "T1-warhead"} <= set(s.split(";"))
    ]
    assert merged, "stage 1 and the stack were never reported as one merged detection"
    assert real_batch.time_s[merged].min() < sep["T1-stage1"] + 10.0


def test_thrusting_flag_follows_the_burns(real_batch, flights):
    w = flights[0].warhead
    rows = np.array(["T1-warhead" in s.split(";") for s in real_batch.object_ids])
    t = real_batch.time_s[rows]
    thr = real_batch.thrusting[rows]
    burning = np.zeros(t.size, dtype=bool)
    for a, b in w.burn_intervals_s:
        burning |= (t >= a) & (t < b)
    assert thr.any()
    single = np.array([s == "T1-warhead" for s in real_batch.object_ids])[rows]
    np.testing.assert_array_equal(thr[single], burning[single])
    assert not real_batch.thrusting[real_batch.time_s > w.stack_until_s + 1.0].any()


def test_detection_table_contract_on_the_seed(real_batch):
    b = real_batch
    cols = b.columns()
    assert tuple(cols) == DETECTION_COLUMNS
    assert np.all(np.diff(cols["time_s"]) >= 0.0)
    assert np.all((cols["az_rad"] >= 0.0) & (cols["az_rad"] < 2 * math.pi))
    assert np.all(np.abs(cols["el_rad"]) <= math.pi / 2)
    assert np.all(cols["range_m"] > -100.0)
    keys = {r.sensor_id: r for r in all_sensors()}
    assert set(np.unique(cols["sensor_id"]).tolist()) <= set(keys)
    no_doppler = np.array([not keys[s].has_range_rate for s in cols["sensor_id"]])
    assert np.all(np.isnan(cols["range_rate_mps"][no_doppler]))
    assert np.all(np.isfinite(cols["range_rate_mps"][~no_doppler]))
    fa = b.is_false_alarm
    assert fa.any() and (~fa).any()
    assert all((s == "") == f for s, f in zip(b.object_ids, fa.tolist(), strict=True))
    assert np.all(b.snr_db[~fa] > 10 * np.log10([keys[s].threshold_snr for s in b.sensor_id[~fa]]))
