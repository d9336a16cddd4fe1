"""Tracker throughput: 100 simultaneous ballistic objects and 10 false alarms per scan.

Scene (built once, not timed):

* **100 missiles** (Hwasong-12/-14/-15/-17/-18 in turn) from ten DPRK launch
  sites, launched within 60 s of each other, heading 60-130° (east, over the
  Sea of Japan), steep first-stage pitch 60-80° (lofted), flown with
  :func:`trilink.threats.flight.fly_batch` (warhead objects only: each is the
  whole stack until its last separation, then the RV). Every burn has ended by
  ~390 s, so the tracked interval (from ``T_START_S`` = 400 s) is midcourse: 100
  ballistic RVs at 1,000-2,500 km altitude, none impacting before ~1,960 s.
* **One notional radar** on a ship in the Sea of Japan (38° N, 132° E), four
  fixed faces (boresights 0/90/180/270°, ±45° in azimuth, 0-90° in elevation):
  the whole sky to 5,000 km, 1 s revisit, 1° beams, 15 m range cells, range
  rate. Its sensitivity is notional (30 dB on a 0.01 m² target at 3,000 km), so
  that it sees all 100 RVs nose-on every scan; its per-cell Pfa is set so the
  mean false-alarm count would be 10 per scan, which fixes the detection
  threshold. Detections of the objects: :func:`trilink.sensors.simulate_detections`
  (coverage, Swerling 1 Pd, resolution/merging, SNR-dependent noise) with its
  own Poisson false alarms off; then **exactly 10 false alarms are added per
  scan**, uniform over the searched volume as the simulator draws them (range
  uniform to the instrumented range, direction uniform in a face's angles within
  the elevation limits, received power threshold + Exp(1), range rate uniform in
  ±``FALSE_ALARM_RANGE_RATE_MPS``, σ from the radar's noise model at that SNR).

Timing: the process is pinned to one CPU (``os.sched_setaffinity``) unless
``--all-cores``; a warm-up run on the first 5 s of scans with its own tracker
is not timed; then a fresh ``Tracker(sites).run(detections)`` over the whole
interval (default 180 s of scans: tracks confirm within ~5 s, leaving > 170 s of
steady state) is timed. Reported: detections/s and frames (scans)/s over the
whole run and over the steady state (after ``STEADY_AFTER_S`` of scans, from the
tracker's progress callback), the confirmed tracks at the last epoch vs the 100
objects (matched to truth within 1 km), and PASS/FAIL against 20,000
detections/s. Results go to ``benchmarks/results/throughput.json``.

Options: ``--duration=S`` (180), ``--seed=S`` (1), ``--quick`` (40 s of scans),
``--all-cores``.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from trilink.sensors import simulate_detections
from trilink.sensors.detection import DetectionBatch, sensors_table
from trilink.sensors.radar import Face, Radar
from trilink.sensors.simulate import FALSE_ALARM_RANGE_RATE_MPS
from trilink.threats.catalogue import get_missile
from trilink.threats.flight import Flight, Launch, Steering, fly_batch
from trilink.threats.sites import get_site
from trilink.tracking.measurement import SensorSites
from trilink.tracking.tracker import Tracker, TrackerConfig

F64 = NDArray[np.float64]

TARGET_DET_PER_S = 20_000.0
N_OBJECTS = 100
FALSE_ALARMS_PER_SCAN = 10
T_START_S = 400.0
DURATION_S = 180.0
QUICK_DURATION_S = 40.0
WARMUP_S = 5.0
STEADY_AFTER_S = 20.0
MATCH_M = 1_000.0
MISSILES = ("hwasong-12", "hwasong-14", "hwasong-15", "hwasong-17", "hwasong-18")
SITES = (
    "sunan",
    "samsok",
    "pyongsong",
    "kusong",
    "sinpo",
    "wonsan-kalma",
    "hodo",
    "kaechon",
    "sukchon",
    "tongchon",
)


def _option(argv: list[str], name: str, default: float) -> float:
    for a in argv:
        if a.startswith(f"--{name}="):
            return float(a.split("=", 1)[1])
    return default


def launches(rng: np.random.Generator) -> list[Launch]:
    """The 100 launches (missile, site, heading, pitch and time drawn from ``rng``)."""
    out = []
    for i in range(N_OBJECTS):
        site = get_site(SITES[i % len(SITES)])
        out.append(
            Launch(
                missile=get_missile(MISSILES[i % len(MISSILES)]),
                lat_rad=site.lat_rad,
                lon_rad=site.lon_rad,
                alt_m=site.alt_m,
                azimuth_rad=math.radians(rng.uniform(60.0, 130.0)),
                steering=Steering(pitch_first_rad=math.radians(rng.uniform(60.0, 80.0))),
                t_launch_s=float(rng.uniform(0.0, 60.0)),
                threat_id=f"T{i + 1:03d}",
            )
        )
    return out


def radar() -> Radar:
    """The notional whole-sky radar (see the module docstring)."""
    faces = tuple(
        Face(
            boresight_az_rad=math.radians(az),
            half_fov_az_rad=math.radians(45.0),
            half_fov_el_rad=math.radians(90.0),
        )
        for az in (0.0, 90.0, 180.0, 270.0)
    )
    r = Radar(
        sensor_id="bench-wholesky",
        nation="US",
        lat_rad=math.radians(38.0),
        lon_rad=math.radians(132.0),
        alt_m=20.0,
        faces=faces,
        instrumented_range_m=5_000e3,
        min_elevation_rad=0.0,
        revisit_s=1.0,
        snr_ref_db=30.0,
        rcs_ref_m2=0.01,
        range_ref_m=3_000e3,
        pfa=1e-9,
        beamwidth_az_rad=math.radians(1.0),
        beamwidth_el_rad=math.radians(1.0),
        range_resolution_m=15.0,
        range_rate_resolution_mps=5.0,
        sigma_range_floor_m=2.0,
        sigma_angle_floor_rad=2e-4,
        sigma_range_rate_floor_mps=0.5,
    )
    # Pfa per cell such that the mean false-alarm count is FALSE_ALARMS_PER_SCAN
    return replace(r, pfa=FALSE_ALARMS_PER_SCAN / float(np.sum(r.face_cells())))


def exact_false_alarms(rdr: Radar, scan_t: F64, rng: np.random.Generator) -> DetectionBatch:
    """Exactly ``FALSE_ALARMS_PER_SCAN`` noise detections per scan, uniform in the volume."""
    assert isinstance(rdr.faces, tuple)
    cells = rdr.face_cells()
    n = scan_t.size * FALSE_ALARMS_PER_SCAN
    t = np.repeat(scan_t, FALSE_ALARMS_PER_SCAN)
    az = np.empty(n)
    el = np.empty(n)
    todo = np.arange(n)
    while todo.size:  # rejection: cells outside the elevation limits are not searched
        face_i = rng.choice(len(rdr.faces), size=todo.size, p=cells / cells.sum())
        a = rng.uniform(-1.0, 1.0, todo.size)
        b = rng.uniform(-1.0, 1.0, todo.size)
        u = np.empty((todo.size, 3))
        for k, face in enumerate(rdr.faces):
            m = face_i == k
            u[m] = face.direction_enu(a[m] * face.half_fov_az_rad, b[m] * face.half_fov_el_rad)
        e = np.arcsin(np.clip(u[:, 2], -1.0, 1.0))
        ok = (e >= rdr.min_elevation_rad) & (e <= rdr.max_elevation_rad)
        az[todo[ok]] = np.mod(np.arctan2(u[ok, 0], u[ok, 1]), 2.0 * math.pi)
        el[todo[ok]] = e[ok]
        todo = todo[~ok]
    snr = rdr.threshold + rng.exponential(1.0, n) - 1.0
    sr, saz, sel, srr = rdr.sigmas(snr)
    return DetectionBatch.from_arrays(
        object_ids=[""] * n,
        sensor_id=np.full(n, rdr.sensor_id),
        is_false_alarm=np.ones(n, dtype=bool),
        time_s=t,
        range_m=rng.uniform(0.0, rdr.instrumented_range_m, n),
        az_rad=az,
        el_rad=el,
        range_rate_mps=rng.uniform(-FALSE_ALARM_RANGE_RATE_MPS, FALSE_ALARM_RANGE_RATE_MPS, n),
        snr_db=10.0 * np.log10(snr),
        sigma_range_m=sr,
        sigma_az_rad=saz,
        sigma_el_rad=sel,
        sigma_range_rate_mps=srr,
    )


def matched_tracks(cols: dict[str, NDArray], flights: tuple[Flight, ...]) -> tuple[int, int, float]:
    """(confirmed tracks at the last epoch, of them within MATCH_M of a distinct object, epoch)."""
    t = np.asarray(cols["time_s"], dtype=float)
    if t.size == 0:
        return 0, 0, math.nan
    last = float(t.max())
    rows = np.flatnonzero(t == last)
    xyz = ("x_ecef_m", "y_ecef_m", "z_ecef_m")
    trk = np.stack([np.asarray(cols[c], dtype=float)[rows] for c in xyz], 1)
    tru = np.array([o.states_at(np.array([last]))[0, :3] for f in flights for o in f.objects])
    tru = tru[np.all(np.isfinite(tru), axis=1)]
    d = np.linalg.norm(trk[:, None, :] - tru[None, :, :], axis=2)
    r, c = linear_sum_assignment(d)
    return rows.size, int(np.sum(d[r, c] < MATCH_M)), last


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    duration = _option(argv, "duration", QUICK_DURATION_S if quick else DURATION_S)
    seed = int(_option(argv, "seed", 1))
    if "--all-cores" not in argv and hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        print(f"pinned to CPU {cpu}")

    # -- scene (not timed) ------------------------------------------------------------
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    flights = fly_batch(launches(rng), record=True, objects=False)
    t_fly = time.perf_counter() - t0
    rdr = radar()
    t_end = T_START_S + duration
    t1 = time.perf_counter()
    obj = simulate_detections([rdr], flights, T_START_S, t_end, rng, false_alarms=False)
    scan_t = rdr.scan_times(T_START_S, t_end)
    det = DetectionBatch.concatenate([obj, exact_false_alarms(rdr, scan_t, rng)])
    t_det = time.perf_counter() - t1
    n = len(det)
    n_fa = int(det.is_false_alarm.sum())
    n_obj = det.n_objects
    ids = np.asarray(det.object_ids, dtype=object)
    per_scan_objects = np.array(
        [len({o for s in ids[det.time_s == ts] if s for o in s.split(";")}) for ts in scan_t]
    )
    burn_end = max(
        o.burn_intervals_s[-1][1] for f in flights for o in f.objects if o.burn_intervals_s
    )
    print(
        f"scene: {N_OBJECTS} missiles flown in {t_fly:.1f} s, last burn ends {burn_end:.0f} s; "
        f"radar scans {T_START_S:g}-{t_end:g} s ({scan_t.size} scans, 1 s revisit), "
        f"simulated in {t_det:.1f} s (not timed)"
    )
    print(
        f"detections: {n:,} ({n - n_fa:,} of objects, {int(np.sum(n_obj > 1)):,} merged; "
        f"{n_fa:,} false alarms = {n_fa / scan_t.size:g} per scan); objects detected per scan: "
        f"mean {per_scan_objects.mean():.1f}, min {per_scan_objects.min()} of {N_OBJECTS}"
    )

    sites = SensorSites.from_table(sensors_table([rdr]))
    # -- warm-up (not timed) ---------------------------------------------------------------
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        tw = time.perf_counter()
        warm = det.select(det.time_s < T_START_S + WARMUP_S)
        error = None
        try:
            Tracker(sites).run(warm, every_s=1.0)
        except Exception as exc:  # the tracker is under active development
            error = f"{type(exc).__name__}: {exc}"
        t_warm = time.perf_counter() - tw
        print(f"warm-up: {len(warm):,} detections in {t_warm:.2f} s (not timed)")

        # -- timed run ----------------------------------------------------------------
        marks: list[tuple[float, float]] = []
        out = None
        tr0 = time.perf_counter()
        if error is None:
            try:
                out = Tracker(sites).run(
                    det,
                    every_s=1.0,
                    t_end_s=t_end,
                    progress=lambda t_sim: marks.append((t_sim, time.perf_counter())),
                )
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
        wall = time.perf_counter() - tr0
        tr1 = time.perf_counter()
    if caught:
        w = caught[0]
        print(
            f"{len(caught)} distinct warning site(s) from the tracker, first: "
            f"{w.category.__name__}: {w.message}"
        )
    if error:
        print(f"tracker FAILED: {error}")
    rate = n / wall
    fps = scan_t.size / wall
    print(
        f"WALL {wall:.2f} s for {n:,} detections in {scan_t.size} frames -> "
        f"{rate:,.0f} detections/s, {fps:,.2f} frames/s (one core)"
    )
    steady = None
    after = [(ts, tw_) for ts, tw_ in marks if ts >= T_START_S + STEADY_AFTER_S]
    if after and out is not None:
        ts, tw_ = after[0]
        # detections processed after the mark: those older than ts - oos window are done
        n_after = int(np.sum(det.time_s > ts - TrackerConfig().oos_window_s))
        steady = n_after / max(tr1 - tw_, 1e-9)
        print(
            f"steady state (after {ts - T_START_S:.0f} s of scans): {n_after:,} detections in "
            f"{tr1 - tw_:.2f} s -> {steady:,.0f} detections/s"
        )
    n_conf = n_match = 0
    last = math.nan
    if out is not None:
        n_conf, n_match, last = matched_tracks(out.columns, flights)
        n_ids = int(np.unique(np.asarray(out.columns["track_id"])).size)
        print(
            f"confirmed tracks at t = {last:.0f} s: {n_conf} ({n_match} within "
            f"{MATCH_M / 1e3:g} km of a distinct object) for {N_OBJECTS} objects; "
            f"{n_ids} track ids ever confirmed"
        )
    ok = error is None and rate >= TARGET_DET_PER_S
    print(
        f"{'PASS' if ok else 'FAIL'}: {rate:,.0f} detections/s vs target "
        f">= {TARGET_DET_PER_S:,.0f} ({rate / TARGET_DET_PER_S:.2%} of target)"
    )

    res = Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    (res / ("throughput_quick.json" if quick else "throughput.json")).write_text(
        json.dumps(
            {
                "objects": N_OBJECTS,
                "false_alarms_per_scan": FALSE_ALARMS_PER_SCAN,
                "scan_interval_s": [T_START_S, t_end],
                "frames": int(scan_t.size),
                "detections": n,
                "false_alarms": n_fa,
                "wall_s": wall,
                "detections_per_s": rate,
                "frames_per_s": fps,
                "steady_detections_per_s": steady,
                "confirmed_tracks_last_epoch": n_conf,
                "matched_tracks_last_epoch": n_match,
                "target_detections_per_s": TARGET_DET_PER_S,
                "pass": ok,
                "error": error,
            },
            indent=2,
        )
    )
