"""Peer comparison: the same radar detections through Stone Soup and through trilink.

The seed scenario (Hwasong-18 from Samsok, 2023-04-13: the stack/warhead, three
stage bodies and 20 debris fragments) is run once (not timed); the detections of
one nation's radars (``--nation``, KR by default) are tracked

* by trilink: ``Tracker(sites).run(detections)`` (its own converted
  measurements, range rate, IMM, GNN, track management), and
* by Stone Soup (the peer, a dev dependency), configured as well as its
  built-in parts allow for a ballistic target:

  - frame: one local ENU Cartesian frame at the launch site (a fixed rotation
    and shift of ECEF, so no fictitious terms differ from tracking in ECEF; the
    small coordinates only help its numerics);
  - measurements: each detection converted to a Cartesian position with
    :func:`trilink.tracking.measurement.converted_measurements` (the same
    conversion and per-detection covariance ``J diag(σρ², σα², σε²) Jᵀ`` that
    trilink uses), rotated into the ENU frame, as a ``LinearGaussian``
    measurement (``mapping`` x, y, z) with that covariance: the exact linear
    model, so the Kalman filter is optimal for it. Stone Soup does not get the
    range rate (trilink does); its radar models could take it
    (``CartesianToElevationBearingRangeRate``) only through per-sensor Euler
    rotations into its bearing convention, with EKF linearisation of the angles;
  - motion: ``ConstantAcceleration`` on each axis
    (``CombinedLinearGaussianTransitionModel``), jerk noise ``q`` (``--ss-q``;
    default ``DEFAULT_Q`` = 10 m²/s⁵, tuned on the KR whole flight: mean OSPA
    2,793 / 2,471 / 2,564 / 2,393 / 2,409 / 2,541 / 2,567 / 2,666 m at
    q = 0.1 / 1 / 3 / 10 / 30 / 100 / 1,000 / 10,000);
  - ``KalmanPredictor`` / ``KalmanUpdater`` (linear: exact here), the update in
    Joseph form with forced symmetry (with the plain ``P − K S Kᵀ`` the covariance
    of young tracks lost positive definiteness to round-off and the Mahalanobis
    gate got NaNs);
  - ``DistanceHypothesiser`` with the ``Mahalanobis`` measure, missed distance
    sqrt(χ²₃(0.999)) (gate 99.9 %), ``GNNWith2DAssignment``;
  - ``MultiMeasurementInitiator`` (``min_points`` 3; prior: the detection's
    position and covariance, velocity σ ``PRIOR_SIGMA_V_MPS``, acceleration σ
    ``PRIOR_SIGMA_A_MPS2``; tentative tracks dropped after 5 s without update);
  - ``UpdateTimeDeleter`` 10 s; ``MultiTargetTracker`` fed one scan per
    (sensor, time) in time order by a small ``DetectionReader``.

Timing (one core, ``os.sched_setaffinity`` as bench_detections): each tracker
from the ``DetectionBatch`` to its finished tracks, excluding the scenario
simulation. Stone Soup's time includes the measurement conversion and building
its ``Detection`` objects (trilink's includes its own conversion and writing its
tracks table every 1 s); predicting Stone Soup's tracks to the 1-s epochs for the
metric is done afterwards, untimed.

Accuracy: Stone Soup's ``OSPAMetric(c=10 km, p=2)`` (Euclidean on ECEF
positions, m) at every 1-s epoch for both trackers against truth. Tracks: the
confirmed ones (trilink's tracks table holds only those; for Stone Soup, the
tracks its ``MultiTargetTracker`` holds after the last scan before the epoch,
each predicted to the epoch from its last state). Truth: the objects that exist
at the epoch AND were detected (a detection labelled with the object, merged
ones included) by this nation's radars within the last 20 s. Epochs where both
sets are empty are left out of the mean.

Targets (from the issue): trilink ≥ 50× faster than Stone Soup, and a lower mean
OSPA. Results: ``benchmarks/results/tracking_<nation>.json`` and ``.png``.

Window: Stone Soup takes ≈13 s (KR, 5.5 k detections), ≈32 s (US, 9.4 k) and
≈3.6 min (JP, 28.5 k) for the whole flight on this machine, well under the
10 min at which a shorter default window would be needed, so the default is the
whole flight (0-2,700 s) for every nation; ``--t-end`` cuts it.

Options: ``--nation=KR|JP|US`` (KR), ``--t-end=S`` (seconds of detections
tracked; default the whole flight), ``--ss-q=Q``, ``--quick`` (first 200 s),
``--all-cores``.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.stats import chi2
from stonesoup.base import Property
from stonesoup.buffered_generator import BufferedGenerator
from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
from stonesoup.deleter.time import UpdateTimeDeleter
from stonesoup.hypothesiser.distance import DistanceHypothesiser
from stonesoup.initiator.simple import MultiMeasurementInitiator
from stonesoup.measures import Euclidean, Mahalanobis
from stonesoup.metricgenerator.ospametric import OSPAMetric
from stonesoup.models.measurement.linear import LinearGaussian
from stonesoup.models.transition.linear import (
    CombinedLinearGaussianTransitionModel,
    ConstantAcceleration,
)
from stonesoup.predictor.kalman import KalmanPredictor
from stonesoup.reader.base import DetectionReader
from stonesoup.tracker.simple import MultiTargetTracker
from stonesoup.types.array import CovarianceMatrix, StateVector
from stonesoup.types.detection import Detection
from stonesoup.types.state import GaussianState, State
from stonesoup.updater.kalman import KalmanUpdater

from trilink.geo.frames import enu_rotation, geodetic_to_ecef
from trilink.scenario.build import get_scenario
from trilink.sensors.detection import DetectionBatch, sensors_table
from trilink.sim.run import run_scenario
from trilink.threats.truth import truth_table
from trilink.tracking.measurement import SensorSites, converted_measurements
from trilink.tracking.tracker import Tracker

F64 = NDArray[np.float64]

OSPA_C_M = 10_000.0
OSPA_P = 2.0
DETECTABLE_WINDOW_S = 20.0
SPEED_TARGET = 50.0
QUICK_T_END_S = 200.0
DEFAULT_Q = 10.0
"""Stone Soup ConstantAcceleration jerk noise q, m²/s⁵ (tuned: see the module docstring)."""
PRIOR_SIGMA_V_MPS = 3_500.0
PRIOR_SIGMA_A_MPS2 = 50.0
GATE_PROBABILITY = 0.999
SS_HOLD_DELETE_S = 5.0
SS_DELETE_S = 10.0
POS = (0, 3, 6)
"""Position rows of Stone Soup's state (x, vx, ax, y, vy, ay, z, vz, az)."""
EPOCH = datetime(2023, 4, 13, 0, 0, 0)
"""Stone Soup needs datetimes; scenario seconds are added to this (any fixed epoch)."""


def _option(argv: list[str], name: str, default: str | None) -> str | None:
    for a in argv:
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
    return default


# ----------------------------------------------------------------------------------
# Stone Soup side
# ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class _EnuFrame:
    """A local ENU frame: ``r_enu = rot (r_ecef - origin)``."""

    origin_ecef_m: F64
    rot: F64

    def to_enu(self, r_ecef_m: F64) -> F64:
        return (r_ecef_m - self.origin_ecef_m) @ self.rot.T

    def to_ecef(self, r_enu_m: F64) -> F64:
        return r_enu_m @ self.rot + self.origin_ecef_m


class _ScanReader(DetectionReader):
    """Yields (time, set of Detection) per (sensor, scan time), in time order.

    Built lazily from arrays so that making Stone Soup's objects is timed with it.
    """

    z_enu: np.ndarray = Property(doc="(N, 3) converted positions, ENU, m")
    R_enu: np.ndarray = Property(doc="(N, 3, 3) their covariances, m²")
    time_s: np.ndarray = Property(doc="(N,) times, s")
    frames: list = Property(doc="row-index arrays, one per scan, in time order")

    @BufferedGenerator.generator_method
    def detections_gen(self) -> Iterator[tuple[datetime, set[Detection]]]:
        for rows in self.frames:
            when = EPOCH + timedelta(seconds=float(self.time_s[rows[0]]))
            dets = set()
            for k in rows.tolist():
                model = LinearGaussian(
                    ndim_state=9, mapping=POS, noise_covar=CovarianceMatrix(self.R_enu[k])
                )
                dets.add(
                    Detection(
                        StateVector(self.z_enu[k]),
                        timestamp=when,
                        measurement_model=model,
                        metadata={"row": k},
                    )
                )
            yield when, dets


def _frames(det: DetectionBatch, site: NDArray[np.intp]) -> list[NDArray[np.intp]]:
    """Row indices of each (sensor, time) scan, ordered by time (then sensor)."""
    order = np.lexsort((site, det.time_s))
    t, s = det.time_s[order], site[order]
    brk = np.flatnonzero((np.diff(t) != 0.0) | (np.diff(s) != 0)) + 1
    return np.split(order, brk) if order.size else []


def _converted(det: DetectionBatch, sites: SensorSites) -> tuple[F64, F64, NDArray[np.intp]]:
    site = sites.index(det.sensor_id)
    sr = np.where(np.isfinite(det.sigma_range_m), det.sigma_range_m, sites.sigma_range_m[site])
    sa = np.where(np.isfinite(det.sigma_az_rad), det.sigma_az_rad, sites.sigma_az_rad[site])
    se = np.where(np.isfinite(det.sigma_el_rad), det.sigma_el_rad, sites.sigma_el_rad[site])
    z, Rz = converted_measurements(
        sites.r_ecef_m[site], sites.enu_rot[site], det.range_m, det.az_rad, det.el_rad, sr, sa, se
    )
    return z, Rz, site


def _stonesoup_tracker(reader: _ScanReader, q: float) -> MultiTargetTracker:
    transition = CombinedLinearGaussianTransitionModel([ConstantAcceleration(q)] * 3)
    predictor = KalmanPredictor(transition)
    updater = KalmanUpdater(
        measurement_model=None, use_joseph_cov=True, force_symmetric_covariance=True
    )
    gate = math.sqrt(chi2.ppf(GATE_PROBABILITY, 3))

    def associator() -> GNNWith2DAssignment:
        hyp = DistanceHypothesiser(predictor, updater, measure=Mahalanobis(), missed_distance=gate)
        return GNNWith2DAssignment(hyp)

    prior_var = np.zeros(9)
    for ax in range(3):
        prior_var[3 * ax + 1] = PRIOR_SIGMA_V_MPS**2
        prior_var[3 * ax + 2] = PRIOR_SIGMA_A_MPS2**2
    prior = GaussianState(StateVector(np.zeros(9)), CovarianceMatrix(np.diag(prior_var)))
    initiator = MultiMeasurementInitiator(
        prior_state=prior,
        deleter=UpdateTimeDeleter(timedelta(seconds=SS_HOLD_DELETE_S)),
        data_associator=associator(),
        updater=updater,
        min_points=3,
    )
    return MultiTargetTracker(
        initiator=initiator,
        deleter=UpdateTimeDeleter(timedelta(seconds=SS_DELETE_S)),
        detector=reader,
        data_associator=associator(),
        updater=updater,
    )


@dataclass(frozen=True, kw_only=True)
class _SSRun:
    wall_s: float
    convert_s: float
    frames: int
    snapshots: list[tuple[float, list]]
    """(scan time, tracks held after that scan)."""
    tracks_ever: int
    predictor: KalmanPredictor


def run_stonesoup(det: DetectionBatch, sites: SensorSites, frame: _EnuFrame, q: float) -> _SSRun:
    """Track ``det`` with Stone Soup (timed from the batch to the finished tracks)."""
    t0 = time.perf_counter()
    z, Rz, site = _converted(det, sites)
    z_enu = frame.to_enu(z)
    R_enu = np.einsum("ij,njk,lk->nil", frame.rot, Rz, frame.rot)
    frames = _frames(det, site)
    reader = _ScanReader(z_enu=z_enu, R_enu=R_enu, time_s=det.time_s, frames=frames)
    tracker = _stonesoup_tracker(reader, q)
    t_conv = time.perf_counter() - t0
    snapshots: list[tuple[float, list]] = []
    ever: set[int] = set()
    for when, tracks in tracker:
        held = list(tracks)
        snapshots.append(((when - EPOCH).total_seconds(), held))
        ever.update(id(tr) for tr in held)
    wall = time.perf_counter() - t0
    predictor = KalmanPredictor(
        CombinedLinearGaussianTransitionModel([ConstantAcceleration(q)] * 3)
    )
    return _SSRun(
        wall_s=wall,
        convert_s=t_conv,
        frames=len(frames),
        snapshots=snapshots,
        tracks_ever=len(ever),
        predictor=predictor,
    )


def stonesoup_positions(run: _SSRun, epochs: F64, frame: _EnuFrame) -> list[F64]:
    """ECEF positions (n, 3) of Stone Soup's held tracks at each epoch (untimed)."""
    out: list[F64] = []
    scan_t = np.array([s[0] for s in run.snapshots])
    for e in epochs.tolist():
        i = int(np.searchsorted(scan_t, e + 1e-9, side="right")) - 1
        if i < 0:
            out.append(np.empty((0, 3)))
            continue
        when = EPOCH + timedelta(seconds=e)
        pts = []
        for tr in run.snapshots[i][1]:
            # last state at or before the epoch (a track keeps every state it had)
            j = len(tr.states) - 1
            while j > 0 and tr.states[j].timestamp > when:
                j -= 1
            st = tr.states[j]
            if st.timestamp < when:
                st = run.predictor.predict(st, timestamp=when)
            pts.append(np.asarray(st.state_vector, dtype=float)[list(POS), 0])
        out.append(frame.to_ecef(np.array(pts)) if pts else np.empty((0, 3)))
    return out


# ----------------------------------------------------------------------------------
# Truth and metric
# ----------------------------------------------------------------------------------
def truth_positions(
    flights: tuple, det: DetectionBatch, epochs: F64, t_end: float
) -> tuple[list[F64], int]:
    """ECEF positions (n, 3) of the detectable truth objects at each epoch."""
    truth = truth_table(flights, step_s=1.0, t_end_s=t_end)
    # detection times of each object (merged detections count for all their objects)
    seen: dict[str, list[float]] = {}
    for t, ids in zip(det.time_s.tolist(), det.object_ids, strict=True):
        for o in ids.split(";") if ids else ():
            seen.setdefault(o, []).append(t)
    seen_t = {o: np.sort(np.array(v)) for o, v in seen.items()}
    tt = truth["time_s"].astype(float)
    oid = truth["object_id"].astype(str)
    xyz = np.stack([truth[c].astype(float) for c in ("x_ecef_m", "y_ecef_m", "z_ecef_m")], 1)
    out: list[F64] = []
    for e in epochs.tolist():
        rows = np.flatnonzero(np.abs(tt - e) < 1e-6)
        keep = []
        for r in rows.tolist():
            ts = seen_t.get(oid[r])
            if ts is None:
                continue
            k = np.searchsorted(ts, e + 1e-9, side="right")
            if k > 0 and ts[k - 1] > e - DETECTABLE_WINDOW_S:
                keep.append(r)
        out.append(xyz[keep])
    return out, len(seen_t)


def ospa_series(metric: OSPAMetric, tracks: list[F64], truths: list[F64], epochs: F64) -> F64:
    """OSPA (m) per epoch with Stone Soup's metric; NaN where both sets are empty."""
    out = np.full(epochs.size, np.nan)
    for i, e in enumerate(epochs.tolist()):
        a, b = tracks[i], truths[i]
        if len(a) == 0 and len(b) == 0:
            continue
        when = EPOCH + timedelta(seconds=e)
        sa = [State(StateVector(p), timestamp=when) for p in a]
        sb = [State(StateVector(p), timestamp=when) for p in b]
        out[i] = float(metric.compute_OSPA_distance(sa, sb).value)
    return out


def trilink_positions(cols: dict[str, NDArray], epochs: F64) -> tuple[list[F64], int]:
    t = np.asarray(cols["time_s"], dtype=float)
    xyz = np.stack(
        [np.asarray(cols[c], dtype=float) for c in ("x_ecef_m", "y_ecef_m", "z_ecef_m")], 1
    )
    out = [xyz[np.abs(t - e) < 1e-6] for e in epochs.tolist()]
    return out, int(np.unique(np.asarray(cols["track_id"])).size)


# ----------------------------------------------------------------------------------
def _plot(
    path: Path,
    epochs: F64,
    o_tl: F64,
    o_ss: F64,
    n_truth: list[int],
    n_tl: list[int],
    n_ss: list[int],
    means_m: tuple[float, float],
    title: str,
) -> None:
    mean_tl, mean_ss = means_m
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    ax1.plot(epochs, o_ss / 1e3, label=f"Stone Soup (mean {mean_ss / 1e3:.2f} km)", lw=1)
    ax1.plot(epochs, o_tl / 1e3, label=f"trilink (mean {mean_tl / 1e3:.2f} km)", lw=1)
    ax1.set_ylabel("OSPA, km (c = 10 km, p = 2)")
    ax1.set_ylim(0, OSPA_C_M / 1e3 * 1.05)
    ax1.legend(loc="upper right")
    ax1.set_title(title)
    ax2.step(epochs, n_truth, where="post", label="detectable truth objects", color="k", lw=1)
    ax2.step(epochs, n_ss, where="post", label="Stone Soup tracks", lw=1)
    ax2.step(epochs, n_tl, where="post", label="trilink confirmed tracks", lw=1)
    ax2.set_xlabel("time since launch, s")
    ax2.set_ylabel("count")
    ax2.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str]) -> None:
    nation = (_option(argv, "nation", "KR") or "KR").upper()
    quick = "--quick" in argv
    q = float(_option(argv, "ss-q", str(DEFAULT_Q)) or DEFAULT_Q)
    if "--all-cores" not in argv and hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        print(f"pinned to CPU {cpu}")

    t0 = time.perf_counter()
    run = run_scenario(get_scenario(None))
    t_sim = time.perf_counter() - t0
    radars = [r for r in run.sensors if r.nation == nation]
    if not radars:
        print(f"no radars of nation {nation!r} in the seed scenario")
        return
    t_end_opt = _option(argv, "t-end", None)
    duration = run.scenario.spec.scenario.duration_s
    if t_end_opt is not None:
        t_end, why = float(t_end_opt), "--t-end"
    elif quick:
        t_end, why = QUICK_T_END_S, "--quick"
    else:
        t_end, why = duration, "whole flight"
    assert run.detections is not None
    d_all = run.detections
    det = d_all.select(
        np.isin(d_all.sensor_id, [r.sensor_id for r in radars]) & (d_all.time_s <= t_end)
    )
    sites = SensorSites.from_table(sensors_table(radars))
    n_fa = int(det.is_false_alarm.sum())
    frames = len(_frames(det, sites.index(det.sensor_id)))
    print(
        f"seed scenario simulated in {t_sim:.1f} s (not timed); nation {nation}: "
        f"{len(radars)} radars ({', '.join(r.sensor_id for r in radars)})"
    )
    print(
        f"window 0-{t_end:g} s ({why}); detections {len(det):,} ({n_fa:,} false alarms) "
        f"in {frames:,} frames (sensor scans with >= 1 detection)"
    )

    # -- trilink --------------------------------------------------------------------
    tl_error = None
    n_warn = 0
    first_warn = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        t1 = time.perf_counter()
        try:
            out = Tracker(sites).run(det, every_s=1.0, t_end_s=t_end)
        except Exception as exc:  # the tracker is under active development
            out, tl_error = None, f"{type(exc).__name__}: {exc}"
        wall_tl = time.perf_counter() - t1
    n_warn = len(caught)
    if caught:
        first_warn = f"{caught[0].category.__name__}: {caught[0].message}"
    print(
        f"trilink    wall {wall_tl:8.2f} s  ({len(det) / wall_tl:,.0f} det/s, "
        f"{frames / wall_tl:,.0f} frames/s)"
    )
    if n_warn:
        print(f"           {n_warn} distinct warning site(s) from trilink, first: {first_warn}")
    if tl_error:
        print(f"           trilink tracker FAILED: {tl_error}")

    # -- Stone Soup -----------------------------------------------------------------
    site0 = run.flights[0].launch
    origin = np.asarray(geodetic_to_ecef(site0.lat_rad, site0.lon_rad, 0.0), dtype=float)
    enu = _EnuFrame(
        origin_ecef_m=origin,
        rot=np.asarray(enu_rotation(site0.lat_rad, site0.lon_rad), dtype=float),
    )
    ss = run_stonesoup(det, sites, enu, q)
    print(
        f"Stone Soup wall {ss.wall_s:8.2f} s  ({len(det) / ss.wall_s:,.0f} det/s, "
        f"{ss.frames / ss.wall_s:,.0f} frames/s; of which conversion + setup {ss.convert_s:.2f} s)"
    )

    # -- OSPA -----------------------------------------------------------------------
    t2 = time.perf_counter()
    epochs = np.arange(0.0, math.floor(t_end) + 1e-9, 1.0)
    truths, n_seen = truth_positions(run.flights, det, epochs, t_end)
    ss_pos = stonesoup_positions(ss, epochs, enu)
    metric = OSPAMetric(c=OSPA_C_M, p=OSPA_P, measure=Euclidean())
    o_ss = ospa_series(metric, ss_pos, truths, epochs)
    if out is not None:
        tl_pos, n_tl_tracks = trilink_positions(out.columns, epochs)
    else:
        tl_pos, n_tl_tracks = [np.empty((0, 3)) for _ in epochs], 0
    o_tl = ospa_series(metric, tl_pos, truths, epochs)
    t_metric = time.perf_counter() - t2
    used = ~(np.isnan(o_tl) & np.isnan(o_ss))
    n_truth = [len(x) for x in truths]
    print(
        f"OSPA (Stone Soup OSPAMetric, c = {OSPA_C_M / 1e3:g} km, p = {OSPA_P:g}, ECEF positions) "
        f"every 1 s over {int(used.sum())} epochs; truth = objects that exist at the epoch and "
        f"were detected by {nation} radars in the last {DETECTABLE_WINDOW_S:g} s "
        f"({n_seen} objects ever, max {max(n_truth, default=0)} at once); tracks = confirmed "
        f"ones; epochs with no truth and no track left out (metric took {t_metric:.1f} s)"
    )
    mean_tl = float(np.nanmean(np.where(used, np.nan_to_num(o_tl, nan=0.0), np.nan)))
    mean_ss = float(np.nanmean(np.where(used, np.nan_to_num(o_ss, nan=0.0), np.nan)))
    ratio = ss.wall_s / wall_tl
    print(f"{'':22s}{'trilink':>12s}{'Stone Soup':>14s}")
    print(f"{'wall time, s':22s}{wall_tl:12.2f}{ss.wall_s:14.2f}")
    print(f"{'mean OSPA, m':22s}{mean_tl:12.0f}{mean_ss:14.0f}")
    print(f"{'confirmed tracks, ever':22s}{n_tl_tracks:12d}{ss.tracks_ever:14d}")
    print(f"speed ratio Stone Soup / trilink = {ratio:.2f}x")
    speed_ok = ratio >= SPEED_TARGET and tl_error is None
    ospa_ok = mean_tl < mean_ss and tl_error is None
    print(
        f"{'PASS' if speed_ok else 'FAIL'}: trilink >= {SPEED_TARGET:g}x faster (got {ratio:.2f}x)"
    )
    print(
        f"{'PASS' if ospa_ok else 'FAIL'}: trilink mean OSPA lower "
        f"({mean_tl:.0f} m vs Stone Soup {mean_ss:.0f} m)"
    )

    res = Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    stem = f"tracking_{nation}" + ("_quick" if quick else "")
    n_tl = [len(x) for x in tl_pos]
    n_ss = [len(x) for x in ss_pos]
    _plot(
        res / f"{stem}.png",
        epochs,
        o_tl,
        o_ss,
        n_truth,
        n_tl,
        n_ss,
        (mean_tl, mean_ss),
        f"seed scenario, {nation} radars, 0-{t_end:g} s: OSPA vs detectable truth",
    )
    (res / f"{stem}.json").write_text(
        json.dumps(
            {
                "nation": nation,
                "t_end_s": t_end,
                "window": why,
                "detections": len(det),
                "false_alarms": n_fa,
                "frames": frames,
                "trilink": {
                    "wall_s": wall_tl,
                    "mean_ospa_m": mean_tl,
                    "confirmed_tracks": n_tl_tracks,
                    "error": tl_error,
                },
                "stonesoup": {
                    "wall_s": ss.wall_s,
                    "convert_s": ss.convert_s,
                    "mean_ospa_m": mean_ss,
                    "confirmed_tracks": ss.tracks_ever,
                    "q_m2ps5": q,
                },
                "speed_ratio": ratio,
                "speed_target": SPEED_TARGET,
                "pass_speed": speed_ok,
                "pass_ospa": ospa_ok,
                "ospa": {"c_m": OSPA_C_M, "p": OSPA_P, "epochs": int(used.sum())},
            },
            indent=2,
        )
    )
    print(f"wrote {res / (stem + '.png')} and .json")
