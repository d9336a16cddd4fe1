"""The operator picture of one run, as one viewer may see it.

:func:`build_picture` turns a run folder (:func:`trilink.export.runfolder.read_run`)
into what the page draws: sensor sites with coverage fans, the hub's fused tracks
(global track number, kind, contributing nations, predicted impact ellipse), each
nation's own tracks, the simulation's truth, the public alerts and the outlines of
the prefectures they name. Every layer is a :class:`Layer`, a time-indexed table of
small JSON-ready dicts from which :meth:`Layer.state_at` gives the picture at any
scenario time.

Views
-----
``view="HUB"`` (the default of ``trilink serve``) is the hub's picture: the hub
receives every report unfiltered (the policy's first rule), so it shows every
nation's tracks and sensor sites, plus the simulation's truth (analysts only).

``view`` = a partner (``JP``, ``KR``, ``US``) is built from that partner's release
stream, never by filtering afterwards:

- fused tracks: only the (time of validity, global track number) pairs whose
  ``relay`` event in ``events.jsonl`` says the hub *released* that SystemTrack to
  the partner; each is rebuilt as a :class:`~trilink.link.messages.SystemTrack` and
  passed through :meth:`Policy.release`, so the partner gets the policy's filtered
  copy (stripped and coarsened fields);
- national tracks and sensor sites: the partner's own (they never leave its node),
  and another nation's only if the policy releases a ``TrackReport`` /
  ``SensorSite`` of that origin to the partner (the default policy never does);
- alerts: if the policy releases the hub's ``Alert`` messages to the partner;
- truth: never (no message carries it).

What the policy withheld is listed (type, origin, reason) so the page can say so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
import numpy as np
import pandas as pd

from trilink.export.runfolder import RunFolder
from trilink.geo import geodesic_direct
from trilink.link.messages import (
    Alert,
    ImpactEstimate,
    Message,
    SensorSite,
    SystemTrack,
    TrackReport,
)
from trilink.link.policy import Policy

__all__ = ["PARTNERS", "VIEWS", "Layer", "Picture", "PictureError", "build_picture"]

PARTNERS: Final = ("JP", "KR", "US")
VIEWS: Final = ("HUB", *PARTNERS)
HOLD_S: Final = 3.0
"""A track not reported for this long (scenario s) leaves the picture."""
FAN_POINTS: Final = 24
ELLIPSE_POINTS: Final = 24
_COV = (
    "cov_x_x cov_x_y cov_x_z cov_x_vx cov_x_vy cov_x_vz cov_y_y cov_y_z cov_y_vx cov_y_vy "
    "cov_y_vz cov_z_z cov_z_vx cov_z_vy cov_z_vz cov_vx_vx cov_vx_vy cov_vx_vz cov_vy_vy "
    "cov_vy_vz cov_vz_vz"
).split()
_IMPACT = (
    "impact_lat_deg",
    "impact_lon_deg",
    "impact_time_s",
    "impact_semi_major_m",
    "impact_semi_minor_m",
    "impact_orientation_deg",
)


class PictureError(ValueError):
    """A run folder that cannot be shown (names the file or field)."""


@dataclass(frozen=True, kw_only=True)
class Layer:
    """One time-indexed layer: ``items[k]`` holds the dicts valid at ``times_s[k]``
    (sorted, unique). Each dict has an ``id``; the newest sample of an id within
    ``hold_s`` before t is its state at t."""

    name: str
    times_s: np.ndarray
    items: tuple[tuple[dict[str, Any], ...], ...]
    hold_s: float = HOLD_S

    def state_at(self, t_s: float) -> list[dict[str, Any]]:
        """The layer at scenario time ``t_s``: the newest sample of every id seen in
        ``(t_s - hold_s, t_s]``."""
        hi = int(np.searchsorted(self.times_s, t_s, side="right"))
        lo = int(np.searchsorted(self.times_s, t_s - self.hold_s, side="right"))
        latest: dict[Any, dict[str, Any]] = {}
        for k in range(lo, hi):
            for it in self.items[k]:
                latest[it["id"]] = it
        return list(latest.values())

    @property
    def first_time_s(self) -> float:
        return float(self.times_s[0]) if len(self.times_s) else math.inf

    def __len__(self) -> int:
        return sum(len(i) for i in self.items)


@dataclass(frozen=True, kw_only=True)
class Picture:
    """Everything the page draws for one run and one view."""

    view: str
    scenario: str
    epoch_utc: str
    t_start_s: float
    t_end_s: float
    launch_time_s: float
    sensors: tuple[dict[str, Any], ...]
    system: Layer
    national: dict[str, Layer]
    truth: Layer | None
    alerts: tuple[dict[str, Any], ...]
    regions: dict[str, dict[str, Any]]
    withheld: tuple[dict[str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())

    def hello(self) -> dict[str, Any]:
        """The session's first message: what the run and the view are."""
        return {
            "type": "hello",
            "view": self.view,
            "scenario": self.scenario,
            "epoch_utc": self.epoch_utc,
            "t_start_s": self.t_start_s,
            "t_end_s": self.t_end_s,
            "launch_time_s": self.launch_time_s,
            "nations": sorted(self.national),
            "truth": self.truth is not None,
            "withheld": list(self.withheld),
            "notes": list(self.notes),
        }

    def frame(self, t_s: float, t_prev_s: float) -> dict[str, Any]:
        """The picture at ``t_s``; alerts issued in ``(t_prev_s, t_s]`` and the
        outlines of the regions they name first."""
        new = [a for a in self.alerts if t_prev_s < a["t_s"] <= t_s]
        return {
            "type": "frame",
            "t_s": round(t_s, 3),
            "system": self.system.state_at(t_s),
            "national": {n: layer.state_at(t_s) for n, layer in self.national.items()},
            "truth": self.truth.state_at(t_s) if self.truth is not None else [],
            "alerts": new,
            "regions": self._regions_for(new),
        }

    def _regions_for(self, alerts: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        codes = {c for a in alerts for c in (*a["regions"], *a["active"])}
        return {c: self.regions[c] for c in sorted(codes) if c in self.regions}


# ----------------------------------------------------------------------------------
# building
# ----------------------------------------------------------------------------------
def build_picture(
    run: RunFolder,
    view: str = "HUB",
    *,
    policy: Policy | None = None,
    radars: dict[str, Any] | None = None,
) -> Picture:
    """The picture of ``run`` as ``view`` (``HUB``, ``JP``, ``KR`` or ``US``) may see it.

    ``radars``: sensor id -> radar model (anything with ``faces``,
    ``instrumented_range_m``) for the coverage fans; by default the run's scenario's
    sensors, else the catalogue's; a site with no model gets no fan.
    """
    if view not in VIEWS:
        raise PictureError(f"view {view!r} is not one of {', '.join(VIEWS)}")
    pol = policy or Policy.default()
    epoch = run.epoch_utc
    withheld: list[dict[str, str]] = []
    notes: list[str] = []

    def decide(probe: Message, origin: str, what: str) -> bool:
        """Own data stays visible; anything else only if the policy releases it."""
        if origin == view:
            return True
        d = pol.release_decision(probe, view)
        if not d.allowed:
            withheld.append(
                {"type": type(probe).__name__, "origin": origin, "what": what, "reason": d.reason}
            )
        return d.allowed

    # sensor sites
    models = radars if radars is not None else _scenario_radars(run)
    sensors = []
    for row in run.sensors.itertuples(index=False):
        site = SensorSite(
            origin=str(row.nation),
            sensor_id=str(row.sensor_id),
            lat_deg=float(row.lat_deg),
            lon_deg=float(row.lon_deg),
            alt_m=float(row.alt_m),
            sigma_range_m=_nz(getattr(row, "sigma_range_m", 0.0)),
            sigma_az_rad=_nz(getattr(row, "sigma_az_rad", 0.0)),
            sigma_el_rad=_nz(getattr(row, "sigma_el_rad", 0.0)),
        )
        if site.origin != view:
            released = pol.release(site, view)
            if released is None:
                continue
            site = released  # type: ignore[assignment]
        sensors.append(_sensor_json(site, models.get(site.sensor_id)))
    for nation in sorted(set(run.sensors["nation"].astype(str)) - {view}):
        if not any(s["nation"] == nation for s in sensors):
            probe = SensorSite(
                origin=nation,
                sensor_id="probe",
                lat_deg=0.0,
                lon_deg=0.0,
                alt_m=0.0,
                sigma_range_m=0.0,
                sigma_az_rad=0.0,
                sigma_el_rad=0.0,
            )
            decide(probe, nation, f"{nation} sensor sites")

    # fused tracks: the hub's, as released to the view
    system = _system_layer(run, view, pol, epoch)

    # national tracks
    national: dict[str, Layer] = {}
    for nation, table in sorted(run.national_tracks.items()):
        if table.empty:
            continue
        probe = next(_track_reports(table.iloc[:1], nation, epoch))
        if not decide(probe, nation, f"{nation} national tracks"):
            continue  # never built, never sent
        rows = list(_track_reports(table, nation, epoch))
        if nation != view:
            rows = [m for m in (pol.release(r, view) for r in rows) if m is not None]  # type: ignore[misc]
        national[nation] = _layer(
            f"national:{nation}", ((m.time_s, _national_json(m)) for m in rows)
        )

    # truth: the simulation's, for the hub's (analyst's) view only
    truth = None
    if view == "HUB" and run.truth is not None and not run.truth.empty:
        step = float(np.median(np.diff(np.unique(run.truth["time_s"].to_numpy()))[:100]))
        truth = _layer("truth", _truth_items(run.truth), hold_s=max(2.0 * step, 1.5))
    elif view != "HUB":
        notes.append("truth is the simulation's: no partner receives it")

    # public alerts
    alerts: tuple[dict[str, Any], ...] = ()
    probe_alert = Alert(
        origin="HUB",
        alert_id=1,
        region_id="JP",
        region_name="Japan",
        level="probe",
        time_s=0.0,
        epoch_utc=epoch,
        sent_time_s=0.0,
    )
    if view == "HUB" or decide(probe_alert, "HUB", "public alerts"):
        alerts = tuple(sorted((_alert_json(a) for a in run.alerts), key=lambda a: a["t_s"]))

    t_end = float(run.manifest.get("duration_s") or 0.0)
    for layer in (system, *national.values(), *([truth] if truth else [])):
        if len(layer.times_s):
            t_end = max(t_end, float(layer.times_s[-1]))
    launches = run.manifest.get("launches") or []
    t_launch = min((float(x.get("t_launch_s", 0.0)) for x in launches), default=0.0)
    return Picture(
        view=view,
        scenario=run.scenario,
        epoch_utc=epoch.isoformat(),
        t_start_s=0.0,
        t_end_s=t_end,
        launch_time_s=t_launch,
        sensors=tuple(sensors),
        system=system,
        national=national,
        truth=truth,
        alerts=alerts,
        regions=_region_outlines({c for a in alerts for c in (*a["regions"], *a["active"])}),
        withheld=tuple(withheld),
        notes=tuple(notes),
    )


def _nz(v: object) -> float:
    x = float(v)  # type: ignore[arg-type]
    return x if math.isfinite(x) and x >= 0.0 else 0.0


def _layer(
    name: str, samples: Iterable[tuple[float, dict[str, Any]]], hold_s: float = HOLD_S
) -> Layer:
    by_t: dict[float, list[dict[str, Any]]] = {}
    for t, item in samples:
        by_t.setdefault(float(t), []).append(item)
    times = sorted(by_t)
    return Layer(
        name=name,
        times_s=np.asarray(times, dtype=float),
        items=tuple(tuple(by_t[t]) for t in times),
        hold_s=hold_s,
    )


def _r(v: Iterable[float]) -> list[int]:
    return [round(float(x)) for x in v]


# -- fused tracks ---------------------------------------------------------------------
def _released_system_tracks(run: RunFolder, view: str) -> set[tuple[float, int]]:
    """(time of validity, global track number) of every SystemTrack the hub released to
    ``view``, from the relay decisions in ``events.jsonl``."""
    tov: dict[tuple[float, int], float] = {}
    out: set[tuple[float, int]] = set()
    for e in run.events():
        kind = e.get("event")
        if kind == "system_track":
            tov[(float(e["t_s"]), int(e["global_track_number"]))] = float(e["time_of_validity_s"])
        elif (
            kind == "relay"
            and e.get("type") == "SystemTrack"
            and e.get("to") == view
            and e.get("decision") == "released"
            and e.get("global_track_number") is not None
        ):
            key = (float(e["t_s"]), int(e["global_track_number"]))
            if key in tov:
                out.add((tov[key], key[1]))
    return out


def _system_layer(run: RunFolder, view: str, pol: Policy, epoch: Any) -> Layer:
    st = run.system_tracks
    if st is None or st.empty:
        return _layer("system", ())
    keep = None if view == "HUB" else _released_system_tracks(run, view)
    items: list[tuple[float, dict[str, Any]]] = []
    cols = {c: st[c].to_numpy() for c in st.columns}
    n = len(st)
    has_cov = all(c in cols for c in _COV)
    has_impact = all(c in cols for c in _IMPACT)
    for i in range(n):
        t = float(cols["time_s"][i])
        gtn = int(cols["global_track_number"][i])
        if keep is not None and (t, gtn) not in keep:
            continue
        impact = None
        if has_impact and all(np.isfinite(float(cols[c][i])) for c in _IMPACT):
            impact = ImpactEstimate(
                lat_deg=float(cols["impact_lat_deg"][i]),
                lon_deg=float(cols["impact_lon_deg"][i]),
                time_s=float(cols["impact_time_s"][i]),
                semi_major_m=float(cols["impact_semi_major_m"][i]),
                semi_minor_m=float(cols["impact_semi_minor_m"][i]),
                orientation_deg=float(cols["impact_orientation_deg"][i]),
            )
        contributors = str(cols["contributors"][i]) if "contributors" in cols else ""
        kind = str(cols["kind"][i]) if "kind" in cols else "unknown"
        msg = SystemTrack(
            origin="HUB",
            track_number=gtn,
            seq=0,
            time_s=t,
            epoch_utc=epoch,
            sent_time_s=t,
            r_ecef_m=_xyz(cols, _POS_COLS, i),
            v_ecef_mps=_xyz(cols, _VEL_COLS, i),
            covariance_upper=tuple(float(cols[c][i]) for c in _COV) if has_cov else (0.0,) * 21,
            contributing_nations=tuple(x for x in contributors.split(";") if x and x != "nan"),
            kind=kind if kind in ("warhead", "stage", "debris") else "unknown",  # type: ignore[arg-type]
            impact=impact,
        )
        released = pol.release(msg, view)
        if released is None:  # the relay log said released: the policy must agree
            continue
        assert isinstance(released, SystemTrack)
        items.append((t, _system_json(released)))
    _add_outlines([it for _, it in items if "impact" in it])
    return _layer("system", items)


def _add_outlines(items: list[dict[str, Any]]) -> None:
    """Every impact's ellipse outline, in one vectorised call (see
    :func:`ellipse_outline`)."""
    if not items:
        return
    imp = [it["impact"] for it in items]
    lat, lon, a, b, ori = (
        np.array([d.pop(k) if k.startswith("_") else d[k] for d in imp], dtype=float)
        for k in ("lat", "lon", "a_m", "b_m", "_orientation_deg")
    )
    rings = _ellipse_rings(lat, lon, a, b, ori)
    for d, ring in zip(imp, rings, strict=True):
        d["outline"] = [float(v) for v in ring.ravel()]


def _ellipse_rings(
    lat_deg: np.ndarray, lon_deg: np.ndarray, a_m: np.ndarray, b_m: np.ndarray, ori_deg: np.ndarray
) -> np.ndarray:
    """(N, ELLIPSE_POINTS, 2) rings of [lon, lat] deg: points at parametric angle θ
    placed by geodesic distance sqrt((a cosθ)² + (b sinθ)²) along azimuth
    ``orientation + atan2(b sinθ, a cosθ)`` (clockwise from north)."""
    theta = np.linspace(0.0, 2.0 * math.pi, ELLIPSE_POINTS, endpoint=False)
    x = np.maximum(a_m, 1.0)[:, None] * np.cos(theta)
    y = np.maximum(b_m, 1.0)[:, None] * np.sin(theta)
    az = np.radians(ori_deg)[:, None] + np.arctan2(y, x)
    lat, lon, _ = geodesic_direct(
        np.radians(lat_deg)[:, None], np.radians(lon_deg)[:, None], az, np.hypot(x, y)
    )
    return np.stack([np.degrees(lon), np.degrees(lat)], axis=-1).round(4)


def _system_json(m: SystemTrack) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": m.track_number,
        "kind": m.kind,
        "nations": list(m.contributing_nations),
        "r": _r(m.r_ecef_m),
    }
    if m.impact is not None:
        imp = m.impact
        out["impact"] = {
            "lat": round(imp.lat_deg, 4),
            "lon": round(imp.lon_deg, 4),
            "t_s": round(imp.time_s, 1),
            "a_m": round(imp.semi_major_m),
            "b_m": round(imp.semi_minor_m),
            "_orientation_deg": imp.orientation_deg,  # replaced by "outline" (_add_outlines)
        }
    return out


def ellipse_outline(
    lat_deg: float, lon_deg: float, a_m: float, b_m: float, orientation_deg: float
) -> list[float]:
    """One impact ellipse (its semi-axes as given: the tables' are 95 %) as a flat
    ``[lon, lat, lon, lat, ...]`` ring (deg)."""
    ring = _ellipse_rings(
        *(np.array([v], dtype=float) for v in (lat_deg, lon_deg, a_m, b_m, orientation_deg))
    )[0]
    return [float(v) for v in ring.ravel()]


# -- national tracks and truth -------------------------------------------------------------
def _track_reports(table: pd.DataFrame, nation: str, epoch: Any) -> Iterator[TrackReport]:
    cols = {c: table[c].to_numpy() for c in table.columns}
    has_cov = all(c in cols for c in _COV)
    for i in range(len(table)):
        t = float(cols["time_s"][i])
        kind = str(cols["kind"][i]) if "kind" in cols else "unknown"
        yield TrackReport(
            origin=nation,
            track_id=int(cols["track_id"][i]),
            seq=0,
            time_s=t,
            epoch_utc=epoch,
            sent_time_s=t,
            r_ecef_m=_xyz(cols, _POS_COLS, i),
            v_ecef_mps=_xyz(cols, _VEL_COLS, i),
            covariance_upper=tuple(_finite_or_zero(cols[c][i]) for c in _COV)
            if has_cov
            else (0.0,) * 21,
            kind=kind if kind in ("warhead", "stage", "debris") else "unknown",  # type: ignore[arg-type]
        )


_POS_COLS = ("x_ecef_m", "y_ecef_m", "z_ecef_m")
_VEL_COLS = ("vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps")


def _xyz(cols: dict[str, Any], names: tuple[str, str, str], i: int) -> tuple[float, float, float]:
    """Row ``i`` of three state columns as a float triple (a message's vector)."""
    return (float(cols[names[0]][i]), float(cols[names[1]][i]), float(cols[names[2]][i]))


def _finite_or_zero(v: object) -> float:
    x = float(v)  # type: ignore[arg-type]
    return x if math.isfinite(x) else 0.0


def _national_json(m: TrackReport) -> dict[str, Any]:
    return {"id": m.track_id, "nation": m.origin, "kind": m.kind, "r": _r(m.r_ecef_m)}


def _truth_items(truth: pd.DataFrame) -> Iterator[tuple[float, dict[str, Any]]]:
    t = truth["time_s"].to_numpy(dtype=float)
    ids = truth["object_id"].astype(str).to_numpy()
    kinds = truth["kind"].astype(str).to_numpy() if "kind" in truth else np.full(len(t), "")
    xyz = truth[["x_ecef_m", "y_ecef_m", "z_ecef_m"]].to_numpy(dtype=float).round()
    for i in range(len(t)):
        yield float(t[i]), {"id": ids[i], "kind": kinds[i], "r": [int(v) for v in xyz[i]]}


# -- sensors ---------------------------------------------------------------------------
def _scenario_radars(run: RunFolder) -> dict[str, Any]:
    """The run's radar models by sensor id: its scenario's, else the catalogue's."""
    from trilink.sensors.catalogue import all_sensors

    models = {r.sensor_id: r for r in all_sensors()}
    source = str(run.manifest.get("source") or run.scenario)
    try:
        from trilink.scenario.build import get_scenario

        sc = get_scenario(source.removeprefix("built-in:"))
        models |= {r.sensor_id: r for r in sc.sensors()}
    except Exception:  # a moved scenario file: the catalogue's models only
        pass
    return models


def _sensor_json(site: SensorSite, radar: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": site.sensor_id,
        "nation": site.origin,
        "lat": round(site.lat_deg, 4),
        "lon": round(site.lon_deg, 4),
        "alt_m": round(site.alt_m, 1),
        "fans": coverage_fans(site.lat_deg, site.lon_deg, radar) if radar is not None else [],
    }
    return out


def coverage_fans(lat_deg: float, lon_deg: float, radar: Any) -> list[list[float]]:
    """Each face's fan on the ground as a flat ``[lon, lat, ...]`` ring (deg): the site,
    then the arc boresight ± half-width at the instrumented range (a full circle for a
    rotating radar or a face wider than 360°). Simple: ignores the horizon and
    elevation limits (``trilink.sensors.coverage`` has the exact footprint)."""
    rng = float(radar.instrumented_range_m)
    faces = radar.faces
    arcs: list[tuple[float, float]] = []
    if not isinstance(faces, tuple):
        arcs.append((0.0, math.pi))
    else:
        arcs += [(float(f.boresight_az_rad), float(f.half_fov_az_rad)) for f in faces]
    out = []
    for center, half in arcs:
        full = half >= math.pi - 1e-9
        n = FAN_POINTS * (3 if full else 1)
        az = np.linspace(center - half, center + half, n, endpoint=not full)
        lat, lon, _ = geodesic_direct(math.radians(lat_deg), math.radians(lon_deg), az, rng)
        ring = np.stack([np.degrees(lon), np.degrees(lat)], axis=1).round(3).ravel().tolist()
        if not full:
            ring = [round(lon_deg, 4), round(lat_deg, 4), *ring]
        out.append([float(v) for v in ring])
    return out


# -- alerts and regions ----------------------------------------------------------------
def _alert_json(a: dict[str, Any]) -> dict[str, Any]:
    """The public part of an alert decision (the hub's evidence stays out)."""
    return {
        "seq": a.get("seq"),
        "t_s": float(a["t_s"]),
        "action": str(a["action"]),
        "regions": [str(c) for c in a.get("regions") or []],
        "active": [str(c) for c in a.get("active") or []],
        "headline": str(a.get("headline", "")),
        "description": str(a.get("description", "")),
        "impact": a.get("impact") or {},
    }


def _region_outlines(codes: set[str]) -> dict[str, dict[str, Any]]:
    """Simplified outlines (flat [lon, lat, ...] rings, ~1 km) of the named prefectures."""
    if not codes:
        return {}
    from trilink.warning.regions import japan_prefectures

    prefs = japan_prefectures()
    out: dict[str, dict[str, Any]] = {}
    for code in sorted(codes):
        try:
            region = prefs[code]
        except KeyError:
            continue
        geom = region.geometry.simplify(0.01, preserve_topology=True)
        polys = list(getattr(geom, "geoms", [geom]))
        rings = [
            [round(float(v), 3) for xy in p.exterior.coords for v in xy]
            for p in polys
            if not p.is_empty and p.area > 1e-4
        ]
        out[code] = {"name": region.name_en, "name_ja": region.name_ja, "rings": rings}
    return out


def encode(message: dict[str, Any]) -> str:
    """One WebSocket text message (compact JSON)."""
    return msgspec.json.encode(message).decode()
