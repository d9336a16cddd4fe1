"""A run's picture as format-free layers: what the CZML, KML and GeoJSON writers draw.

:func:`build_picture` turns a :class:`~trilink.export.runfolder.RunFolder` into
immutable layers, computed once and rendered by every writer the same way:

* **tracks** (:class:`TrackLine`): the hub's fused system tracks (layer ``system``,
  numbered by global track number) and each nation's own tracks (layers ``JP``,
  ``KR``, ``US``, numbered by that nation's track id). Positions are the ECEF states
  of the tracks tables converted to WGS-84 geodetic (:func:`trilink.geo.frames.
  ecef_to_geodetic`), **thinned** to one sample per ``track_step_s`` (default
  :data:`TRACK_STEP_S`, 5 s) of each track's life, counted from its first sample;
  the first and last samples of every track and every sample where its ``kind``
  changes are always kept. The track's kind over time is kept in full as
  :class:`KindRun` intervals.
* **impact ellipses** (:class:`ImpactEllipse`): the 95 % impact ellipse predicted by
  the fused tracks whose kind is one of :data:`ELLIPSE_KINDS` (debris is left out:
  hundreds of fragments would hide the warhead), one snapshot per
  ``ellipse_step_s`` (default :data:`ELLIPSE_STEP_S`, 30 s) and the last of each
  stretch. A snapshot holds until the next one; the last one of a track until its
  predicted impact time. Semi-axes and orientation are the tracks table's
  ``impact_semi_major_m``, ``impact_semi_minor_m`` (95 %, see
  :class:`trilink.tracking.products.ImpactPrediction`) and ``impact_orientation_deg``
  (major axis, clockwise from true north). The ring is the ellipse drawn in the local
  tangent plane at the predicted impact point (:data:`ELLIPSE_VERTICES` vertices) and
  put back on the ellipsoid: for ellipses of hundreds of km it is an approximation.
* **alert areas** (:class:`AlertArea`): each prefecture while it is under a
  take-cover alert (the ``active`` list of the decisions in ``alerts.jsonl``: from
  the decision that adds it to the one that clears it, or the end of the run),
  with its polygon from :func:`trilink.warning.regions.japan_prefectures`.
* **sensor sites** (:class:`SensorSite`): the radars of ``sensors.csv``.

Angles are radians and lengths metres inside; the writers convert to degrees.
Prefecture outlines come from the regions module in (lon, lat) degrees and stay so
(``rings_lonlat_deg``).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from trilink.export.runfolder import RunFolder, RunFolderError
from trilink.geo.frames import ecef_to_geodetic, enu_to_ecef

__all__ = [
    "ELLIPSE_KINDS",
    "ELLIPSE_STEP_S",
    "ELLIPSE_VERTICES",
    "NATION_LAYERS",
    "SYSTEM_LAYER",
    "TRACK_STEP_S",
    "AlertArea",
    "ImpactEllipse",
    "KindRun",
    "Picture",
    "SensorSite",
    "TrackLine",
    "build_picture",
    "iso_utc",
    "thin_indices",
    "write_atomic",
]

F64 = NDArray[np.float64]

TRACK_STEP_S = 5.0
"""Default spacing of the samples kept of a track, s (module docstring)."""
ELLIPSE_STEP_S = 30.0
"""Default spacing of the impact-ellipse snapshots of a track, s."""
ELLIPSE_VERTICES = 48
"""Vertices of an impact-ellipse ring (the closing vertex not counted)."""
ELLIPSE_KINDS = ("warhead", "unknown", "stage")
"""Kinds of fused track whose impact ellipses are drawn."""
ELLIPSE_PROBABILITY = 0.95
SYSTEM_LAYER = "system"
NATION_LAYERS = ("JP", "KR", "US")


@dataclass(frozen=True, kw_only=True)
class KindRun:
    """A stretch of a track's life with one ``kind``: [start_s, end_s], scenario s."""

    start_s: float
    end_s: float
    kind: str


@dataclass(frozen=True, kw_only=True, eq=False)
class TrackLine:
    """One track, thinned: samples in time order (arrays are read-only, shape (N,))."""

    layer: str
    """``system`` (the hub's fused tracks) or the nation whose own track it is."""
    number: int
    """Global track number (system) or the nation's track id."""
    time_s: F64
    lat_rad: F64
    lon_rad: F64
    alt_m: F64
    """Height above the WGS-84 ellipsoid."""
    r_ecef_m: F64
    """The kept samples' ECEF positions, shape (N, 3)."""
    kind_runs: tuple[KindRun, ...]
    contributors: str = ""
    """Nations whose reports went into the fused track (last sample), ``;``-separated."""
    rows: int = 0
    """Samples of the track before thinning."""

    @property
    def name(self) -> str:
        return f"GTN {self.number}" if self.layer == SYSTEM_LAYER else f"{self.layer} {self.number}"

    @property
    def kind(self) -> str:
        """The kind at the track's last sample."""
        return self.kind_runs[-1].kind if self.kind_runs else "unknown"

    @property
    def start_s(self) -> float:
        return float(self.time_s[0])

    @property
    def end_s(self) -> float:
        return float(self.time_s[-1])


@dataclass(frozen=True, kw_only=True, eq=False)
class ImpactEllipse:
    """A fused track's predicted impact point and 95 % ellipse, valid [valid_from_s,
    valid_to_s]."""

    layer: str
    number: int
    kind: str
    valid_from_s: float
    valid_to_s: float
    impact_time_s: float
    impact_lat_rad: float
    impact_lon_rad: float
    semi_major_m: float
    semi_minor_m: float
    orientation_rad: float
    """Major axis azimuth, clockwise from true north."""
    ring_lat_rad: F64
    ring_lon_rad: F64
    """Closed ring (first vertex repeated last), counter-clockwise seen from above."""


@dataclass(frozen=True, kw_only=True, eq=False)
class AlertArea:
    """A prefecture under a take-cover alert during [start_s, end_s]."""

    code: str
    """ISO 3166-2 code, e.g. ``JP-01``."""
    name_en: str
    name_ja: str
    start_s: float
    end_s: float
    rings_lonlat_deg: tuple[F64, ...]
    """Exterior rings of the prefecture's polygon parts, each (M, 2) lon/lat degrees,
    closed and counter-clockwise."""


@dataclass(frozen=True, kw_only=True)
class SensorSite:
    sensor_id: str
    nation: str
    lat_rad: float
    lon_rad: float
    alt_m: float


@dataclass(frozen=True, kw_only=True, eq=False)
class Picture:
    """Everything the writers draw, from one run folder (module docstring)."""

    scenario: str
    epoch_utc: dt.datetime
    start_s: float
    end_s: float
    tracks: tuple[TrackLine, ...]
    ellipses: tuple[ImpactEllipse, ...]
    alert_areas: tuple[AlertArea, ...]
    sensors: tuple[SensorSite, ...]
    track_step_s: float
    ellipse_step_s: float
    partner: str | None = None
    """The nation whose view this is (``--as``), or None for the full picture."""

    def utc(self, time_s: float) -> dt.datetime:
        return self.epoch_utc + dt.timedelta(seconds=float(time_s))

    @property
    def layers(self) -> tuple[str, ...]:
        """Track layers present, system first."""
        present = {t.layer for t in self.tracks}
        return tuple(x for x in (SYSTEM_LAYER, *NATION_LAYERS) if x in present) + tuple(
            sorted(present - {SYSTEM_LAYER, *NATION_LAYERS})
        )


def iso_utc(t: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` (UTC)."""
    t = t.astimezone(dt.UTC)
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        s += f".{t.microsecond:06d}".rstrip("0")
    return s + "Z"


def write_atomic(out: Path, data: str | bytes) -> Path:
    """Write ``out`` through a temporary file beside it and a rename, so a reader
    (the web page) never sees half a file."""
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    if isinstance(data, str):
        tmp.write_text(data, encoding="utf-8")
    else:
        tmp.write_bytes(data)
    tmp.replace(out)
    return out


# ----------------------------------------------------------------------------------
# thinning
# ----------------------------------------------------------------------------------


def thin_indices(ids: NDArray, time_s: F64, step_s: float) -> NDArray[np.intp]:
    """Rows to keep of a table sorted by (id, time): the first row of each ``step_s``
    bin of each id's life (bins counted from the id's first time), and each id's last
    row. ``step_s`` ≤ 0 keeps every row."""
    n = len(time_s)
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    if not (step_s > 0):
        return np.arange(n)
    first = np.r_[True, ids[1:] != ids[:-1]]
    last = np.r_[ids[1:] != ids[:-1], True]
    starts = np.flatnonzero(first)
    t0 = np.repeat(time_s[starts], np.diff(np.r_[starts, n]))
    bins = np.floor((time_s - t0) / step_s)
    new_bin = np.r_[True, bins[1:] != bins[:-1]]
    return np.flatnonzero(first | last | new_bin)


# ----------------------------------------------------------------------------------
# building
# ----------------------------------------------------------------------------------


def build_picture(
    run: RunFolder,
    *,
    track_step_s: float = TRACK_STEP_S,
    ellipse_step_s: float = ELLIPSE_STEP_S,
) -> Picture:
    """The layers of a run's picture (module docstring)."""
    for name, v in (("track_step_s", track_step_s), ("ellipse_step_s", ellipse_step_s)):
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite number of seconds ≥ 0, got {v!r}")
    tracks: list[TrackLine] = []
    ellipses: list[ImpactEllipse] = []
    if run.system_tracks is not None and len(run.system_tracks):
        tracks += _track_lines(run.system_tracks, "global_track_number", SYSTEM_LAYER, track_step_s)
        ellipses += _ellipses(
            run.system_tracks, "global_track_number", SYSTEM_LAYER, ellipse_step_s
        )
    for nation in sorted(run.national_tracks):
        df = run.national_tracks[nation]
        if len(df):
            tracks += _track_lines(df, "track_id", nation, track_step_s)
    # the run ends with its duration or its last track sample; the picture may go on
    # to the last predicted impact
    run_end_s = max([float(run.manifest.get("duration_s") or 0.0), *(t.end_s for t in tracks)])
    alerts = _alert_areas(run, run_end_s)
    end_s = max([run_end_s, *(e.valid_to_s for e in ellipses), *(a.end_s for a in alerts)])
    start_s = min([0.0, *(t.start_s for t in tracks)])
    partner = run.manifest.get("partner_view")
    return Picture(
        scenario=run.scenario,
        epoch_utc=run.epoch_utc,
        start_s=start_s,
        end_s=end_s,
        tracks=tuple(tracks),
        ellipses=tuple(ellipses),
        alert_areas=alerts,
        sensors=_sensors(run),
        track_step_s=float(track_step_s),
        ellipse_step_s=float(ellipse_step_s),
        partner=str(partner) if partner else None,
    )


def _readonly(a: NDArray) -> NDArray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def _sorted_columns(df: pd.DataFrame, id_col: str) -> tuple[NDArray, F64, NDArray[np.intp]]:
    ids = df[id_col].to_numpy(dtype=np.int64)
    t = df["time_s"].to_numpy(dtype=float)
    order = np.lexsort((t, ids))
    return ids[order], t[order], order


def _kinds(df: pd.DataFrame, order: NDArray[np.intp]) -> NDArray[np.str_]:
    if "kind" not in df.columns:
        return np.full(len(order), "unknown")
    return np.asarray(df["kind"].fillna("unknown").astype(str).to_numpy(), dtype=str)[order]


def _track_lines(df: pd.DataFrame, id_col: str, layer: str, step_s: float) -> list[TrackLine]:
    ids, t, order = _sorted_columns(df, id_col)
    if not np.all(np.isfinite(t)):
        raise ValueError(f"{layer} tracks: time_s has non-finite values")
    kind = _kinds(df, order)
    n = len(t)
    first = np.r_[True, ids[1:] != ids[:-1]]
    kind_change = first | np.r_[True, kind[1:] != kind[:-1]]
    keep = np.union1d(thin_indices(ids, t, step_s), np.flatnonzero(kind_change))
    r = df[["x_ecef_m", "y_ecef_m", "z_ecef_m"]].to_numpy(dtype=float)[order[keep]]
    lat, lon, alt = ecef_to_geodetic(r)
    contributors = (
        df["contributors"].fillna("").astype(str).to_numpy()[order]
        if "contributors" in df.columns
        else None
    )
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], n]
    kstarts = np.searchsorted(keep, starts)
    kends = np.searchsorted(keep, ends)
    out = []
    for a, b, ka, kb in zip(starts, ends, kstarts, kends, strict=True):
        changes = np.flatnonzero(kind_change[a:b]) + a
        run_ends = np.r_[changes[1:], b - 1]
        runs = tuple(
            KindRun(start_s=float(t[c0]), end_s=float(t[c1]), kind=str(kind[c0]))
            for c0, c1 in zip(changes, run_ends, strict=True)
        )
        out.append(
            TrackLine(
                layer=layer,
                number=int(ids[a]),
                time_s=_readonly(t[keep[ka:kb]]),
                lat_rad=_readonly(lat[ka:kb]),
                lon_rad=_readonly(lon[ka:kb]),
                alt_m=_readonly(alt[ka:kb]),
                r_ecef_m=_readonly(r[ka:kb]),
                kind_runs=runs,
                contributors=str(contributors[b - 1]) if contributors is not None else "",
                rows=int(b - a),
            )
        )
    return out


def ellipse_rings(
    lat_rad: F64,
    lon_rad: F64,
    semi_major_m: F64,
    semi_minor_m: F64,
    orientation_rad: F64,
    vertices: int = ELLIPSE_VERTICES,
) -> tuple[F64, F64]:
    """Closed rings (S, vertices + 1) of ellipses drawn in the local tangent plane at
    each centre (on the ellipsoid) and put back on the ellipsoid; counter-clockwise
    seen from above. Orientation: the major axis' azimuth, clockwise from north."""
    phi = -2.0 * np.pi * np.arange(vertices + 1) / vertices  # negative: counter-clockwise
    phi[-1] = 0.0
    th = np.asarray(orientation_rad, dtype=float)[:, None]
    a = np.asarray(semi_major_m, dtype=float)[:, None]
    b = np.asarray(semi_minor_m, dtype=float)[:, None]
    # (north, east) = a cos φ û + b sin φ v̂, û = (cos θ, sin θ), v̂ = (−sin θ, cos θ)
    north = a * np.cos(phi) * np.cos(th) - b * np.sin(phi) * np.sin(th)
    east = a * np.cos(phi) * np.sin(th) + b * np.sin(phi) * np.cos(th)
    r_enu_m = np.stack([east, north, np.zeros_like(east)], axis=-1)
    lat0 = np.asarray(lat_rad, dtype=float)[:, None]
    lon0 = np.asarray(lon_rad, dtype=float)[:, None]
    r_ecef_m = enu_to_ecef(r_enu_m, lat0, lon0, 0.0)
    lat, lon, _ = ecef_to_geodetic(r_ecef_m)
    return lat, lon


def _ellipses(df: pd.DataFrame, id_col: str, layer: str, step_s: float) -> list[ImpactEllipse]:
    cols = (
        "impact_lat_deg",
        "impact_lon_deg",
        "impact_time_s",
        "impact_semi_major_m",
        "impact_semi_minor_m",
        "impact_orientation_deg",
    )
    if any(c not in df.columns for c in cols):
        return []
    ids, t, order = _sorted_columns(df, id_col)
    kind = _kinds(df, order)
    v = {c: df[c].to_numpy(dtype=float)[order] for c in cols}
    ok = np.isin(kind, ELLIPSE_KINDS) & (v["impact_semi_major_m"] > 0)
    for c in cols:
        ok &= np.isfinite(v[c])
    last_of_track = np.r_[ids[1:] != ids[:-1], True]
    # stretches of consecutive eligible rows of one track
    seg_start = ok & (np.r_[True, ids[1:] != ids[:-1]] | np.r_[True, ~ok[:-1]])
    seg = np.cumsum(seg_start)
    rows = np.flatnonzero(ok)
    if rows.size == 0:
        return []
    seg_rows = seg[rows]
    kept = rows[thin_indices(seg_rows, t[rows], step_s)]
    seg_kept = seg[kept]
    # a snapshot holds until the next one of its stretch; the last one of a stretch
    # until the stretch ends, or (the track's last stretch) until the predicted impact
    seg_end_row = np.zeros(seg.max() + 1, dtype=np.intp)
    seg_end_row[seg_rows] = rows  # rows ascend: the last write is the stretch's end
    nxt_same = np.r_[seg_kept[1:] == seg_kept[:-1], False]
    valid_to = np.empty(kept.size)
    valid_to[nxt_same] = t[kept[1:]][nxt_same[:-1]]
    ends = seg_end_row[seg_kept[~nxt_same]]
    end_t = t[ends]
    final = last_of_track[ends]
    end_t = np.where(final, np.maximum(end_t, v["impact_time_s"][ends]), end_t)
    valid_to[~nxt_same] = end_t
    lat0 = np.radians(v["impact_lat_deg"][kept])
    lon0 = np.radians(v["impact_lon_deg"][kept])
    a = v["impact_semi_major_m"][kept]
    b = np.maximum(v["impact_semi_minor_m"][kept], 0.0)
    th = np.radians(v["impact_orientation_deg"][kept])
    ring_lat, ring_lon = ellipse_rings(lat0, lon0, a, b, th)
    return [
        ImpactEllipse(
            layer=layer,
            number=int(ids[k]),
            kind=str(kind[k]),
            valid_from_s=float(t[k]),
            valid_to_s=float(valid_to[i]),
            impact_time_s=float(v["impact_time_s"][k]),
            impact_lat_rad=float(lat0[i]),
            impact_lon_rad=float(lon0[i]),
            semi_major_m=float(a[i]),
            semi_minor_m=float(b[i]),
            orientation_rad=float(th[i]),
            ring_lat_rad=_readonly(ring_lat[i]),
            ring_lon_rad=_readonly(ring_lon[i]),
        )
        for i, k in enumerate(kept)
    ]


def alert_intervals(
    alerts: Sequence[dict], end_s: float, source: Path | str = "alerts.jsonl"
) -> dict[str, list[tuple[float, float]]]:
    """Per prefecture code, the [start_s, end_s] stretches under take-cover, from the
    decisions' ``active`` lists (after each decision), or, where a decision has no
    ``active``, from its ``regions`` (take_cover adds, all_clear removes)."""
    active: dict[str, float] = {}
    out: dict[str, list[tuple[float, float]]] = {}
    for n, d in enumerate(sorted(alerts, key=lambda d: float(d["t_s"])), 1):
        t = float(d["t_s"])
        if "active" in d and d["active"] is not None:
            now = set(_codes(d["active"], source, n, "active"))
        else:
            now = set(active)
            regions = _codes(d.get("regions") or [], source, n, "regions")
            if d.get("action") in ("take_cover", "update"):
                now |= set(regions)
            elif d.get("action") == "all_clear":
                now -= set(regions)
        for code in now - set(active):
            active[code] = t
        for code in set(active) - now:
            out.setdefault(code, []).append((active.pop(code), t))
    for code, t0 in active.items():
        out.setdefault(code, []).append((t0, max(end_s, t0)))
    return {c: sorted(v) for c, v in sorted(out.items())}


def _codes(values: object, source: Path | str, n: int, name: str) -> list[str]:
    from trilink.warning.regions import japan_prefectures

    prefs = japan_prefectures()
    if not isinstance(values, list | tuple):
        raise RunFolderError(Path(source), f"decision {n}: field {name!r} must be a list")
    by_name = {r.name_en.lower(): r.code for r in prefs.regions}
    by_name.update({r.name_ja: r.code for r in prefs.regions})
    out = []
    for v in values:
        s = str(v)
        if s in prefs.index:
            out.append(s)
        elif s.lower() in by_name or s in by_name:
            out.append(by_name.get(s.lower(), by_name.get(s, s)))
        else:
            raise RunFolderError(
                Path(source), f"decision {n}: field {name!r} has unknown prefecture {s!r}"
            )
    return out


def _alert_areas(run: RunFolder, end_s: float) -> tuple[AlertArea, ...]:
    if not run.alerts:
        return ()
    intervals = alert_intervals(run.alerts, end_s, run.path / "alerts.jsonl")
    if not intervals:
        return ()
    import shapely
    from shapely.geometry.polygon import orient

    from trilink.warning.regions import japan_prefectures

    prefs = japan_prefectures()
    out = []
    for code, spans in intervals.items():
        region = prefs[code]
        rings = tuple(
            _readonly(np.asarray(orient(p, sign=1.0).exterior.coords, dtype=float)[:, :2])
            for p in shapely.get_parts(region.geometry)
            if p.geom_type == "Polygon" and not p.is_empty
        )
        for t0, t1 in spans:
            out.append(
                AlertArea(
                    code=code,
                    name_en=region.name_en,
                    name_ja=region.name_ja,
                    start_s=t0,
                    end_s=t1,
                    rings_lonlat_deg=rings,
                )
            )
    return tuple(out)


def _sensors(run: RunFolder) -> tuple[SensorSite, ...]:
    s = run.sensors
    return tuple(
        SensorSite(
            sensor_id=str(row.sensor_id),
            nation=str(row.nation),
            lat_rad=math.radians(float(row.lat_deg)),
            lon_rad=math.radians(float(row.lon_deg)),
            alt_m=float(row.alt_m),
        )
        for row in s.itertuples(index=False)
    )
