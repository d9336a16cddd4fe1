"""Simulate radar detections of flown missiles: coverage, Swerling 1, resolution, noise, clutter.

:func:`simulate_detections` scans every radar at its own revisit period and
phase over ``[t_start_s, t_end_s]`` and returns one time-ordered
:class:`~trilink.sensors.detection.DetectionBatch`. Per radar it is vectorised
over all (object, scan) pairs:

1. **States.** Each object's ECEF state at the scan times inside its life
   (:meth:`~trilink.threats.ObjectTrajectory.states_at` is NaN outside it, so a
   stage or a fragment is never seen before it separates: until then it is
   part of the warhead object, which *is* the stack until ``stack_until_s``).
   A rotating radar sees an object when its face passes the object's azimuth:
   the state is re-evaluated at that instant (one fixed-point step).
2. **Coverage** (:meth:`~trilink.sensors.radar.Radar.in_coverage`): range gate,
   elevation limits, faces, refracted line of sight over the WGS-84 ellipsoid.
3. **Signal.** Mean RCS from :mod:`trilink.sensors.rcs` (aspect from the
   object's velocity or tumble), mean SNR from the radar's operating point, and
   a Swerling 1 echo per object: a circular complex Gaussian amplitude of power
   SNR.
4. **Resolution.** Objects of the same scan closer than one range cell
   (``|ΔR| < range_resolution_m``) *and* one beamwidth in both angles
   (``|Δaz| cos(el) < beamwidth_az_rad`` and ``|Δel| < beamwidth_el_rad``) share
   a resolution cell; cells are linked transitively (single linkage). Their
   echoes add coherently with random phases, so the cell's power is still
   exponential, with mean ``1 + Σ SNR_i``: one detection if it exceeds the
   threshold, at the power-weighted centroid (weights: each object's own echo
   power this scan) of range, azimuth, elevation and range rate, attributed to
   every contributing object. As the objects drift apart they resolve.
5. **Measurement noise**, unbiased Gaussian with the σ of
   :meth:`~trilink.sensors.radar.Radar.sigmas` at the measured SNR. For a
   merged detection these σ describe the noise about the centroid, not the
   distance to any one of its objects (that offset is the resolution error a
   tracker must live with).
6. **False alarms**: Poisson, mean (searched cells × Pfa) per scan, uniform
   over the searched volume (range, and the faces' angles within the
   elevation limits), received power ``T + Exp(1)`` (noise above the threshold),
   range rate uniform in ±``FALSE_ALARM_RANGE_RATE_MPS``; attributed to no
   object and flagged ``is_false_alarm``.

Every random draw comes from the ``numpy.random.Generator`` passed in: a run is
reproducible from the flights, the sensors and the seed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from trilink.geo.frames import aer_to_ecef, ecef_to_geodetic
from trilink.sensors.detection import DetectionBatch
from trilink.sensors.radar import Face, Radar, RotatingFace
from trilink.sensors.rcs import DEFAULT_RCS, RcsKind, RcsModel
from trilink.threats.flight import Flight, ObjectKind, ObjectTrajectory

F64 = NDArray[np.float64]
_TWO_PI = 2.0 * math.pi

FALSE_ALARM_RANGE_RATE_MPS = 8_000.0
"""Half-width of the range-rate window a false alarm is drawn in, m/s (assumption: a
Doppler window covering ballistic-missile speeds)."""

_KIND_CODE = {ObjectKind.WARHEAD: 0, ObjectKind.STAGE: 1, ObjectKind.DEBRIS: 2}


# ----------------------------------------------------------------------------------
# Static per-object data
# ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Objects:
    trajs: tuple[ObjectTrajectory, ...]
    ids: tuple[str, ...]
    kind: NDArray[np.int64]  # _KIND_CODE
    t_birth: F64
    t_end: F64
    stack_until: F64
    length: F64
    diameter: F64
    tumble_phase: F64
    tumble_period: F64
    # For each warhead: stage separation times (ascending) and, per number of stages
    # already separated, the length and diameter of what is still attached.
    stack_births: tuple[F64, ...]
    stack_length: tuple[F64, ...]
    stack_diameter: tuple[F64, ...]
    burns: tuple[tuple[tuple[float, float], ...], ...]


def _prepare_objects(
    objects: Sequence[ObjectTrajectory], rng: np.random.Generator, model: RcsModel
) -> _Objects:
    trajs = tuple(objects)
    for o in trajs:
        if o.t_s.size < 2:
            raise ValueError(f"{o.object_id}: trajectory was not recorded (fly with record=True)")
    n = len(trajs)
    kind = np.array([_KIND_CODE[o.kind] for o in trajs], dtype=np.int64)
    length = np.array([o.length_m for o in trajs], dtype=float)
    diameter = np.array([o.diameter_m for o in trajs], dtype=float)
    lo, hi = model.tumble_period_s
    phase = rng.uniform(0.0, _TWO_PI, n)
    period = rng.uniform(lo, hi, n)
    births: list[F64] = []
    lengths: list[F64] = []
    diameters: list[F64] = []
    for o in trajs:
        if o.kind is not ObjectKind.WARHEAD:
            births.append(np.empty(0))
            lengths.append(np.empty(0))
            diameters.append(np.empty(0))
            continue
        stages = sorted(
            (s for s in trajs if s.kind is ObjectKind.STAGE and s.threat_id == o.threat_id),
            key=lambda s: s.t_s[0],
        )
        b = np.array([s.t_s[0] for s in stages], dtype=float)
        sl = np.array([s.length_m for s in stages], dtype=float)
        sd = np.array([s.diameter_m for s in stages], dtype=float)
        sl = np.where(np.isfinite(sl), sl, model.default_body_length_m)
        sd = np.where(np.isfinite(sd), sd, model.default_body_diameter_m)
        rv_l = o.length_m if math.isfinite(o.length_m) else 0.0
        rv_d = o.diameter_m if math.isfinite(o.diameter_m) else 0.0
        m = b.size
        # attached after k separations: stages k..m-1 plus the RV
        suffix_l = np.array([rv_l + sl[k:].sum() for k in range(m + 1)])
        suffix_d = np.array([max([rv_d, *sd[k:].tolist()]) for k in range(m + 1)])
        suffix_l = np.where(suffix_l > 0.0, suffix_l, model.default_body_length_m)
        suffix_d = np.where(suffix_d > 0.0, suffix_d, model.default_body_diameter_m)
        births.append(b)
        lengths.append(suffix_l)
        diameters.append(suffix_d)
    return _Objects(
        trajs=trajs,
        ids=tuple(o.object_id for o in trajs),
        kind=kind,
        t_birth=np.array([o.t_s[0] for o in trajs], dtype=float),
        t_end=np.array([o.t_s[-1] for o in trajs], dtype=float),
        stack_until=np.array([o.stack_until_s for o in trajs], dtype=float),
        length=length,
        diameter=diameter,
        tumble_phase=phase,
        tumble_period=period,
        stack_births=tuple(births),
        stack_length=tuple(lengths),
        stack_diameter=tuple(diameters),
        burns=tuple(o.burn_intervals_s for o in trajs),
    )


# ----------------------------------------------------------------------------------
# Profiling helper
# ----------------------------------------------------------------------------------
class _Clock:
    def __init__(self, profile: dict[str, float] | None) -> None:
        self.profile = profile
        self.t = time.perf_counter()

    def lap(self, name: str) -> None:
        if self.profile is None:
            return
        now = time.perf_counter()
        self.profile[name] = self.profile.get(name, 0.0) + (now - self.t)
        self.t = now


# ----------------------------------------------------------------------------------
# One radar
# ----------------------------------------------------------------------------------
@dataclass
class _Rows:
    """Raw detection columns of one radar (unsorted)."""

    time_s: F64
    range_m: F64
    az_rad: F64
    el_rad: F64
    range_rate_mps: F64
    snr: F64
    object_ids: list[str]
    is_false_alarm: NDArray[np.bool_]
    thrusting: NDArray[np.bool_]


def _wrap_pi(a: F64) -> F64:
    return np.mod(a + math.pi, _TWO_PI) - math.pi


def _object_states(
    objs: _Objects, scan_t: F64, radar: Radar
) -> tuple[NDArray[np.int64], NDArray[np.int64], F64, F64]:
    """(scan index, object index, time, state (N, 6)) of every object alive at a scan."""
    scans: list[NDArray[np.int64]] = []
    who: list[NDArray[np.int64]] = []
    times: list[F64] = []
    states: list[F64] = []
    lead = radar.revisit_s if radar.rotating else 0.0
    for j, o in enumerate(objs.trajs):
        a = int(np.searchsorted(scan_t, objs.t_birth[j] - lead, side="left"))
        b = int(np.searchsorted(scan_t, objs.t_end[j], side="right"))
        if b <= a:
            continue
        k = np.arange(a, b)
        t = scan_t[k]
        if isinstance(radar.faces, RotatingFace):
            # When does the face pass the object? Azimuth at the (clipped) scan start,
            # then the state at the passing instant.
            y0 = o.states_at(np.clip(t, objs.t_birth[j], objs.t_end[j]))
            az, _, _, _ = radar.aer(y0[:, :3])
            frac = np.mod(az - radar.faces.start_az_rad, _TWO_PI) / _TWO_PI
            t = t + frac * radar.revisit_s
        y = o.states_at(t)
        keep = np.isfinite(y[:, 0])
        scans.append(k[keep])
        who.append(np.full(int(keep.sum()), j, dtype=np.int64))
        times.append(t[keep])
        states.append(y[keep])
    if not scans:
        return (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty((0, 6)))
    return np.concatenate(scans), np.concatenate(who), np.concatenate(times), np.concatenate(states)


def _row_rcs(
    objs: _Objects,
    obj: NDArray[np.int64],
    t: F64,
    v_ecef: F64,
    u_ecef: F64,
    model: RcsModel,
) -> tuple[F64, NDArray[np.bool_]]:
    """Mean RCS (m²) and thrusting flag of each row."""
    kind = objs.kind[obj]
    warhead = kind == 0
    stack = warhead & (t < objs.stack_until[obj])
    rcs_kind = np.where(
        stack,
        RcsKind.STACK,
        np.where(warhead, RcsKind.RV, np.where(kind == 1, RcsKind.STAGE, RcsKind.DEBRIS)),
    )
    speed = np.linalg.norm(v_ecef, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_axis = -np.einsum("ij,ij->i", v_ecef, u_ecef) / speed  # nose towards the radar
    cos_axis = np.where(np.isfinite(cos_axis), cos_axis, 0.0)
    tumble = np.cos(
        objs.tumble_phase[obj] + _TWO_PI * (t - objs.t_birth[obj]) / objs.tumble_period[obj]
    )
    cos_aspect = np.where(kind == 1, tumble, cos_axis)
    length = objs.length[obj].copy()
    diameter = objs.diameter[obj].copy()
    thrusting = np.zeros(t.size, dtype=bool)
    for j in np.unique(obj[stack]).tolist():
        rows = np.flatnonzero(stack & (obj == j))
        n_sep = np.searchsorted(objs.stack_births[j], t[rows], side="right")
        length[rows] = objs.stack_length[j][n_sep]
        diameter[rows] = objs.stack_diameter[j][n_sep]
        for start, end in objs.burns[j]:
            thrusting[rows] |= (t[rows] >= start) & (t[rows] < end)
    return model.mean_rcs_m2(rcs_kind, cos_aspect, length, diameter), thrusting


def _unresolved_pairs(
    radar: Radar, scan: NDArray[np.int64], rng_m: F64, az: F64, el: F64
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Pairs (i, j) of rows (sorted by scan, then range) sharing a resolution cell."""
    n = scan.size
    pi: list[NDArray[np.int64]] = []
    pj: list[NDArray[np.int64]] = []
    d = 1
    while d < n:
        close = scan[d:] == scan[:-d]
        close &= (rng_m[d:] - rng_m[:-d]) < radar.range_resolution_m
        i = np.flatnonzero(close)
        if i.size == 0:  # rows are range-sorted within a scan: no pair further apart either
            break
        j = i + d
        cos_el = np.cos(0.5 * (el[i] + el[j]))
        ok = np.abs(_wrap_pi(az[j] - az[i])) * cos_el < radar.beamwidth_az_rad
        ok &= np.abs(el[j] - el[i]) < radar.beamwidth_el_rad
        pi.append(i[ok])
        pj.append(j[ok])
        d += 1
    if not pi:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(pi), np.concatenate(pj)


def _targets(
    radar: Radar,
    objs: _Objects,
    scan_t: F64,
    rng: np.random.Generator,
    model: RcsModel,
    clock: _Clock,
) -> _Rows | None:
    scan, obj, t, y = _object_states(objs, scan_t, radar)
    clock.lap("states")
    if scan.size == 0:
        return None
    r = y[:, :3]
    geom = radar.aer(r)
    covered = np.flatnonzero(radar.in_coverage(r, geom))
    clock.lap("coverage")
    if covered.size == 0:
        return None
    az, el, rng_m, u_enu = (g[covered] for g in geom)
    scan, obj, t, y = scan[covered], obj[covered], t[covered], y[covered]
    u_ecef = u_enu @ radar.enu_rotation  # ENU -> ECEF rotation is the transpose
    v = y[:, 3:]
    rr = np.einsum("ij,ij->i", v, u_ecef)  # range rate of a target seen from a fixed site
    rcs, thrusting = _row_rcs(objs, obj, t, v, u_ecef, model)
    snr = radar.mean_snr(rcs, rng_m)
    amp = rng.standard_normal((snr.size, 2)) * np.sqrt(0.5 * snr)[:, None]
    clock.lap("signal")

    # -- resolution: group rows sharing a cell (within one scan) --------------------
    order = np.lexsort((rng_m, scan))
    scan, obj, t, rng_m, az, el, rr, amp, thrusting = (
        a[order] for a in (scan, obj, t, rng_m, az, el, rr, amp, thrusting)
    )
    n = scan.size
    pi, pj = _unresolved_pairs(radar, scan, rng_m, az, el)
    if pi.size:
        graph = coo_matrix((np.ones(pi.size), (pi, pj)), shape=(n, n))
        n_cells, labels = connected_components(graph, directed=False)
        _, first = np.unique(labels, return_index=True)
    else:
        n_cells, labels, first = n, np.arange(n), np.arange(n)
    clock.lap("resolution")

    power = amp[:, 0] ** 2 + amp[:, 1] ** 2 + 1e-300  # own echo power: centroid weights
    noise = rng.standard_normal((n_cells, 2)) * math.sqrt(0.5)
    sum_re = np.bincount(labels, amp[:, 0], n_cells) + noise[:, 0]
    sum_im = np.bincount(labels, amp[:, 1], n_cells) + noise[:, 1]
    received = sum_re * sum_re + sum_im * sum_im
    hit = np.flatnonzero(received > radar.threshold)
    if hit.size == 0:
        clock.lap("measurement")
        return None
    weight = np.bincount(labels, power, n_cells)

    def centroid(x: F64, wrap: bool = False) -> F64:
        # about the cell's first row, so that a lone object's value is returned exactly
        ref = x[first]
        dx = x - ref[labels]
        if wrap:
            dx = _wrap_pi(dx)
        return ref[hit] + (np.bincount(labels, power * dx, n_cells) / weight)[hit]

    true_az = np.mod(centroid(az, wrap=True), _TWO_PI)
    true_r, true_el, true_rr, det_t = centroid(rng_m), centroid(el), centroid(rr), centroid(t)
    thr = np.bincount(labels, thrusting.astype(float), n_cells)[hit] > 0.0

    # -- truth attribution -----------------------------------------------------------
    size = np.bincount(labels, minlength=n_cells)[hit]
    ids = objs.ids
    single_obj = obj[first[hit]]
    object_ids = [ids[j] for j in single_obj.tolist()]
    multi = np.flatnonzero(size > 1)
    if multi.size:
        by_cell = np.argsort(labels, kind="stable")
        starts = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=n_cells))])
        cache: dict[tuple[int, ...], str] = {}
        for m in multi.tolist():
            c = int(hit[m])
            members = tuple(sorted(obj[by_cell[starts[c] : starts[c + 1]]].tolist()))
            s = cache.get(members)
            if s is None:
                s = cache[members] = ";".join(ids[j] for j in members)
            object_ids[m] = s

    # -- measurement --------------------------------------------------------------
    snr_meas = received[hit] - 1.0
    sr, saz, sel, srr = radar.sigmas(snr_meas)
    e = rng.standard_normal((hit.size, 4))
    meas_r = true_r + sr * e[:, 0]
    meas_az = np.mod(true_az + saz * e[:, 1], _TWO_PI)
    meas_el = np.clip(true_el + sel * e[:, 2], -0.5 * math.pi, 0.5 * math.pi)
    meas_rr = true_rr + srr * e[:, 3]  # NaN without Doppler
    clock.lap("measurement")
    return _Rows(
        time_s=det_t,
        range_m=meas_r,
        az_rad=meas_az,
        el_rad=meas_el,
        range_rate_mps=meas_rr,
        snr=snr_meas,
        object_ids=object_ids,
        is_false_alarm=np.zeros(hit.size, dtype=bool),
        thrusting=thr,
    )


def _false_alarms(radar: Radar, scan_t: F64, rng: np.random.Generator) -> _Rows | None:
    """Noise threshold crossings: Poisson over the searched volume, uniform in it."""
    k = scan_t.size
    n_range = radar.instrumented_range_m / radar.range_resolution_m
    faces: Iterable[Face | RotatingFace] = (
        (radar.faces,) if isinstance(radar.faces, RotatingFace) else radar.faces
    )
    times: list[F64] = []
    azs: list[F64] = []
    els: list[F64] = []
    for face in faces:
        if isinstance(face, RotatingFace):
            box = (_TWO_PI / radar.beamwidth_az_rad) * (2.0 * face.half_fov_el_rad)
        else:
            box = (2.0 * face.half_fov_az_rad / radar.beamwidth_az_rad) * (
                2.0 * face.half_fov_el_rad
            )
        box *= n_range / radar.beamwidth_el_rad
        count = int(rng.poisson(box * radar.pfa * k))
        scan = rng.integers(0, k, count)
        a = rng.uniform(-1.0, 1.0, count)
        b = rng.uniform(-1.0, 1.0, count)
        if isinstance(face, RotatingFace):
            az = np.mod(face.start_az_rad + math.pi * (a + 1.0), _TWO_PI)
            el = face.boresight_el_rad + face.half_fov_el_rad * b
            t = scan_t[scan] + 0.5 * (a + 1.0) * radar.revisit_s
        else:
            u = face.direction_enu(a * face.half_fov_az_rad, b * face.half_fov_el_rad)
            az = np.mod(np.arctan2(u[:, 0], u[:, 1]), _TWO_PI)
            el = np.arcsin(np.clip(u[:, 2], -1.0, 1.0))
            t = scan_t[scan]
        # cells outside the elevation limits are not searched (Poisson thinning)
        keep = (el >= radar.min_elevation_rad) & (el <= radar.max_elevation_rad)
        times.append(t[keep])
        azs.append(az[keep])
        els.append(el[keep])
    t = np.concatenate(times)
    n = t.size
    rng_m = rng.uniform(0.0, radar.instrumented_range_m, n)
    rr = rng.uniform(-FALSE_ALARM_RANGE_RATE_MPS, FALSE_ALARM_RANGE_RATE_MPS, n)
    snr = radar.threshold + rng.exponential(1.0, n) - 1.0
    if n == 0:
        return None
    if not radar.has_range_rate:
        rr = np.full(n, np.nan)
    return _Rows(
        time_s=t,
        range_m=rng_m,
        az_rad=np.concatenate(azs),
        el_rad=np.concatenate(els),
        range_rate_mps=rr,
        snr=snr,
        object_ids=[""] * n,
        is_false_alarm=np.ones(n, dtype=bool),
        thrusting=np.zeros(n, dtype=bool),
    )


# ----------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------
def simulate_object_detections(
    sensors: Sequence[Radar],
    objects: Sequence[ObjectTrajectory],
    t_start_s: float,
    t_end_s: float,
    rng: np.random.Generator,
    *,
    rcs_model: RcsModel = DEFAULT_RCS,
    false_alarms: bool = True,
    random_phase: bool = False,
    profile: dict[str, float] | None = None,
) -> DetectionBatch:
    """Detections of ``objects`` by ``sensors`` over ``[t_start_s, t_end_s]`` (see the module).

    Args:
        sensors: the radars (sensor ids must be unique).
        objects: truth trajectories (a stack's stages are found by ``threat_id``).
        t_start_s, t_end_s: simulated interval, s since the scenario epoch.
        rng: the only source of randomness.
        rcs_model: mean RCS parameters.
        false_alarms: draw noise false alarms (True) or not.
        random_phase: draw each radar's scan phase uniformly in one revisit
            period from ``rng`` instead of using its ``scan_offset_s``.
        profile: if given, seconds spent per phase are added to it (keys
            ``states``, ``coverage``, ``signal``, ``resolution``, ``measurement``,
            ``false_alarms``, ``assemble``).

    Returns:
        A time-ordered :class:`DetectionBatch`.
    """
    if not (math.isfinite(t_start_s) and math.isfinite(t_end_s) and t_end_s >= t_start_s):
        raise ValueError(f"need finite t_start_s <= t_end_s, got {t_start_s}, {t_end_s}")
    seen: set[str] = set()
    for s in sensors:
        if s.sensor_id in seen:
            raise ValueError(f"duplicate sensor_id {s.sensor_id!r}")
        seen.add(s.sensor_id)
    clock = _Clock(profile)
    objs = _prepare_objects(objects, rng, rcs_model)
    parts: list[tuple[str, _Rows]] = []
    for radar in sensors:
        offset = float(rng.uniform(0.0, radar.revisit_s)) if random_phase else radar.scan_offset_s
        scan_t = radar.scan_times(t_start_s, t_end_s, offset)
        clock.lap("assemble")
        if scan_t.size == 0:
            continue
        rows = _targets(radar, objs, scan_t, rng, rcs_model, clock) if objs.trajs else None
        if rows is not None:
            parts.append((radar.sensor_id, rows))
        if false_alarms:
            fa = _false_alarms(radar, scan_t, rng)
            if fa is not None:
                parts.append((radar.sensor_id, fa))
            clock.lap("false_alarms")
    by_id = {r.sensor_id: r for r in sensors}
    if not parts:
        clock.lap("assemble")
        return DetectionBatch.empty()
    ids: list[str] = []
    for _, p in parts:
        ids.extend(p.object_ids)
    sigmas = [by_id[sid].sigmas(p.snr) for sid, p in parts]
    batch = DetectionBatch.from_arrays(
        object_ids=ids,
        sensor_id=np.concatenate([np.array([sid]).repeat(p.time_s.size) for sid, p in parts]),
        is_false_alarm=np.concatenate([p.is_false_alarm for _, p in parts]),
        thrusting=np.concatenate([p.thrusting for _, p in parts]),
        time_s=np.concatenate([p.time_s for _, p in parts]),
        range_m=np.concatenate([p.range_m for _, p in parts]),
        az_rad=np.concatenate([p.az_rad for _, p in parts]),
        el_rad=np.concatenate([p.el_rad for _, p in parts]),
        range_rate_mps=np.concatenate([p.range_rate_mps for _, p in parts]),
        snr_db=10.0 * np.log10(np.concatenate([p.snr for _, p in parts])),
        sigma_range_m=np.concatenate([s[0] for s in sigmas]),
        sigma_az_rad=np.concatenate([s[1] for s in sigmas]),
        sigma_el_rad=np.concatenate([s[2] for s in sigmas]),
        sigma_range_rate_mps=np.concatenate([s[3] for s in sigmas]),
    )
    clock.lap("assemble")
    return batch


def simulate_detections(
    sensors: Sequence[Radar],
    flights: Sequence[Flight],
    t_start_s: float,
    t_end_s: float,
    rng: np.random.Generator,
    *,
    rcs_model: RcsModel = DEFAULT_RCS,
    false_alarms: bool = True,
    random_phase: bool = False,
    profile: dict[str, float] | None = None,
) -> DetectionBatch:
    """Detections of every object of ``flights`` (see :func:`simulate_object_detections`)."""
    objects = [o for f in flights for o in f.objects]
    return simulate_object_detections(
        sensors,
        objects,
        t_start_s,
        t_end_s,
        rng,
        rcs_model=rcs_model,
        false_alarms=false_alarms,
        random_phase=random_phase,
        profile=profile,
    )


def geometric_first_visibility(
    sensor: Radar,
    trajectory: ObjectTrajectory,
    t_start_s: float | None = None,
    t_end_s: float | None = None,
    step_s: float = 0.1,
) -> float:
    """First time (s) on a ``step_s`` grid at which the object is in the radar's coverage.

    Coverage only (range, elevation, faces, line of sight): no SNR. NaN if never
    in coverage within ``[t_start_s, t_end_s]`` (default: the object's life).
    """
    t0 = trajectory.t_s[0] if t_start_s is None else max(t_start_s, trajectory.t_s[0])
    t1 = trajectory.t_s[-1] if t_end_s is None else min(t_end_s, trajectory.t_s[-1])
    if t1 < t0:
        return math.nan
    t = np.append(np.arange(t0, t1, step_s), t1)
    y = trajectory.states_at(t)
    seen = np.flatnonzero(sensor.in_coverage(y[:, :3]))
    return float(t[seen[0]]) if seen.size else math.nan


def first_detections(
    batch: DetectionBatch,
    sensors: Sequence[Radar],
    by: Literal["sensor", "nation"] = "sensor",
) -> dict[str, NDArray]:
    """First detection of every truth object per sensor (or per nation).

    Merged detections count for every contributing object; false alarms are
    ignored. ``alt_m`` is the geodetic height of the *measured* position of
    that detection (range, azimuth, elevation from the sensor's site).

    Returns:
        Columns ``key`` (sensor id or nation), ``object_id``, ``time_s``,
        ``alt_m``, ``sensor_id`` (which sensor made it), sorted by key, then time.
    """
    if by not in ("sensor", "nation"):
        raise ValueError(f"by must be 'sensor' or 'nation', got {by!r}")
    radars = {r.sensor_id: r for r in sensors}
    missing = set(np.unique(batch.sensor_id).tolist()) - set(radars)
    if missing:
        raise ValueError(f"detections from sensors not given: {sorted(missing)}")
    real = np.flatnonzero(~batch.is_false_alarm)
    best: dict[tuple[str, str], int] = {}  # (key, object id) -> detection row
    ids = np.asarray([batch.object_ids[i] for i in real.tolist()], dtype=np.str_)
    for sid in np.unique(batch.sensor_id[real]).tolist():
        rows = real[batch.sensor_id[real] == sid]
        strings, first = np.unique(ids[batch.sensor_id[real] == sid], return_index=True)
        key = sid if by == "sensor" else radars[sid].nation
        for s, i in zip(strings.tolist(), rows[first].tolist(), strict=True):
            for oid in s.split(";"):
                old = best.get((key, oid))
                if old is None or batch.time_s[i] < batch.time_s[old]:
                    best[(key, oid)] = i
    items = sorted(best.items(), key=lambda kv: (kv[0][0], batch.time_s[kv[1]], kv[0][1]))
    rows_out = np.array([i for _, i in items], dtype=np.int64)
    alt = np.empty(rows_out.size)
    for sid in set(batch.sensor_id[rows_out].tolist()):
        sel = np.flatnonzero(batch.sensor_id[rows_out] == sid)
        r = radars[sid]
        i = rows_out[sel]
        p = aer_to_ecef(
            batch.az_rad[i], batch.el_rad[i], batch.range_m[i], r.lat_rad, r.lon_rad, r.alt_m
        )
        alt[sel] = ecef_to_geodetic(p)[2]
    return {
        "key": np.array([k for (k, _), _ in items], dtype=np.str_),
        "object_id": np.array([o for (_, o), _ in items], dtype=np.str_),
        "time_s": batch.time_s[rows_out],
        "alt_m": alt,
        "sensor_id": batch.sensor_id[rows_out],
    }
