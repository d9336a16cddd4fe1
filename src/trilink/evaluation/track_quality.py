"""Track quality against truth for one node: purity, clutter tracks, continuity, errors.

The truth link is the detection log: every track update names the detection it
used, and every simulated detection names the truth objects in it (several for a
merged detection, none for a false alarm). A track's **object** is the one that
appears in most of its updates; its **purity** is the fraction of its updates whose
detection contains that object (a merged detection contains each of its objects).
A track whose updates are mostly false alarms is a **clutter track**.

An object is **detectable** while this node's radars detect it: the union of the
intervals between consecutive detections of it less than ``gap_s`` apart (plus one
revisit after the last). It is **tracked** at an epoch when a confirmed track whose
object it is exists at that epoch.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from trilink.sensors.detection import DetectionBatch
from trilink.threats.flight import Flight
from trilink.tracking.tracker import TrackOutput

F64 = NDArray[np.float64]
FALSE_ALARM = "false alarm"


@dataclass(frozen=True, kw_only=True)
class TrackSummary:
    track_id: int
    object_id: str
    purity: float
    n_updates: int
    first_s: float
    last_s: float
    """First and last epoch the track was reported (confirmed)."""


@dataclass(frozen=True, kw_only=True)
class ObjectSummary:
    object_id: str
    detectable_s: float
    tracked_s: float
    n_tracks: int

    @property
    def tracked_fraction(self) -> float:
        return self.tracked_s / self.detectable_s if self.detectable_s > 0 else float("nan")


@dataclass(frozen=True, kw_only=True)
class TrackQuality:
    tracks: tuple[TrackSummary, ...]
    objects: tuple[ObjectSummary, ...]

    @property
    def clutter_tracks(self) -> tuple[TrackSummary, ...]:
        return tuple(t for t in self.tracks if t.object_id == FALSE_ALARM)

    @property
    def worst_clutter_duration_s(self) -> float:
        c = self.clutter_tracks
        return max((t.last_s - t.first_s for t in c), default=0.0)

    def object(self, object_id: str) -> ObjectSummary:
        for o in self.objects:
            if o.object_id == object_id:
                return o
        raise KeyError(object_id)

    def track_of(self, object_id: str) -> TrackSummary | None:
        """The longest-lived confirmed track on an object."""
        mine = [t for t in self.tracks if t.object_id == object_id]
        return max(mine, key=lambda t: t.last_s - t.first_s) if mine else None


def _labels(s: str) -> list[str]:
    return s.split(";") if s else [FALSE_ALARM]


def detectable_spans(times_s: F64, gap_s: float, tail_s: float) -> list[tuple[float, float]]:
    """Union of [t_i, t_{i+1}] for consecutive detections less than ``gap_s`` apart,
    each span extended by ``tail_s`` after its last detection."""
    t = np.sort(np.asarray(times_s, dtype=float))
    if t.size == 0:
        return []
    spans = []
    start = prev = float(t[0])
    for x in t[1:].tolist():
        if x - prev > gap_s:
            spans.append((start, prev + tail_s))
            start = x
        prev = x
    spans.append((start, prev + tail_s))
    return spans


def track_quality(
    out: TrackOutput,
    detections: DetectionBatch,
    *,
    gap_s: float = 20.0,
    tail_s: float = 1.0,
    epoch_s: float = 1.0,
) -> TrackQuality:
    """Purity, clutter and continuity of a node's confirmed tracks (module docstring)."""
    cols = out.columns
    tid_rows = cols["track_id"]
    confirmed = set(np.unique(tid_rows).tolist())
    per: dict[int, Counter] = defaultdict(Counter)
    n_up: Counter = Counter()
    for tid, k in out.assignments.tolist():
        if tid not in confirmed:
            continue
        n_up[tid] += 1
        for o in _labels(detections.object_ids[k]):
            per[tid][o] += 1
    tracks = []
    for tid in sorted(confirmed):
        rows = np.flatnonzero(tid_rows == tid)
        if n_up[tid] == 0:
            continue
        obj, hits = per[tid].most_common(1)[0]
        tracks.append(
            TrackSummary(
                track_id=int(tid),
                object_id=obj,
                purity=hits / n_up[tid],
                n_updates=int(n_up[tid]),
                first_s=float(cols["time_s"][rows[0]]),
                last_s=float(cols["time_s"][rows[-1]]),
            )
        )
    # detectability per object
    det_times: dict[str, list[float]] = defaultdict(list)
    for t, s in zip(detections.time_s.tolist(), detections.object_ids, strict=True):
        if s:
            for o in s.split(";"):
                det_times[o].append(t)
    by_obj: dict[str, list[TrackSummary]] = defaultdict(list)
    for tr in tracks:
        by_obj[tr.object_id].append(tr)
    objects = []
    for o, ts in sorted(det_times.items()):
        spans = detectable_spans(np.array(ts), gap_s, tail_s)
        detectable = sum(b - a for a, b in spans)
        grid = (
            np.concatenate([np.arange(a, b, epoch_s) for a, b in spans]) if spans else np.empty(0)
        )
        covered = np.zeros(grid.size, dtype=bool)
        for tr in by_obj.get(o, []):
            rows = tid_rows == tr.track_id
            et = cols["time_s"][rows]
            # an epoch of the grid is tracked if the track reported within one epoch of it
            idx = np.searchsorted(et, grid)
            lo = np.clip(idx - 1, 0, max(et.size - 1, 0))
            hi = np.clip(idx, 0, max(et.size - 1, 0))
            if et.size:
                near = (np.abs(et[lo] - grid) <= epoch_s) | (np.abs(et[hi] - grid) <= epoch_s)
                covered |= near
        objects.append(
            ObjectSummary(
                object_id=o,
                detectable_s=float(detectable),
                tracked_s=float(covered.sum() * epoch_s),
                n_tracks=len(by_obj.get(o, [])),
            )
        )
    return TrackQuality(tracks=tuple(tracks), objects=tuple(objects))


def position_errors(
    out: TrackOutput, quality: TrackQuality, flights: tuple[Flight, ...], object_id: str
) -> tuple[F64, F64]:
    """(epochs, position error m) of the tracks on ``object_id`` at every epoch they report
    (if several tracks report one epoch, the longest-lived one)."""
    obj = next(o for f in flights for o in f.objects if o.object_id == object_id)
    mine = sorted(
        (t for t in quality.tracks if t.object_id == object_id),
        key=lambda t: -(t.last_s - t.first_s),
    )
    cols = out.columns
    seen: dict[float, float] = {}
    for tr in mine:
        rows = np.flatnonzero(cols["track_id"] == tr.track_id)
        t = cols["time_s"][rows]
        r = np.column_stack(
            [cols["x_ecef_m"][rows], cols["y_ecef_m"][rows], cols["z_ecef_m"][rows]]
        )
        truth = obj.states_at(t)[:, :3]
        err = np.linalg.norm(r - truth, axis=1)
        for a, e in zip(t.tolist(), err.tolist(), strict=True):
            if a not in seen and np.isfinite(e):
                seen[a] = e
    ts = np.array(sorted(seen))
    return ts, np.array([seen[a] for a in ts.tolist()])
