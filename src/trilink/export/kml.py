"""KML 2.2 of a run's picture (Google Earth and other KML viewers), written with
``fastkml``.

One ``Document`` with shared ``Style`` s and a ``Folder`` per layer:

* ``Fused tracks (hub)``, ``JP tracks``, ``KR tracks``, ``US tracks``: a
  ``Placemark`` per track with a ``gx:Track`` (one ``when`` and one ``gx:coord`` —
  lon, lat in degrees, height above the ellipsoid in m, ``altitudeMode`` absolute —
  per thinned sample, see :mod:`trilink.export.picture`) and a ``TimeSpan`` over
  the track's life; the name is ``GTN <n> (<kind>)`` or ``<NATION> <id> (<kind>)``
  (kind at the end of the track), the description lists its kinds over time;
* ``Radar sites``: a ``Point`` per radar;
* ``Predicted impact (95 % ellipses)``: a ``Polygon`` per ellipse snapshot with its
  ``TimeSpan``;
* ``Take-cover alert areas``: the prefecture's polygon(s) with the alert's
  ``TimeSpan``.

Times are UTC. The output validates against the OGC KML 2.2 schema bundled with
fastkml (``fastkml/schema/ogckml22.xsd``, which imports the ``gx`` extension
schema) with lxml (tests).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pygeoif.geometry as geo
from fastkml import (
    KML,
    Document,
    Folder,
    IconStyle,
    KmlDateTime,
    LabelStyle,
    LineStyle,
    Placemark,
    PolyStyle,
    Style,
    StyleUrl,
    TimeSpan,
)
from fastkml.enums import AltitudeMode
from fastkml.geometry import MultiGeometry, Point, Polygon
from fastkml.gx import Track, TrackItem

from trilink.export.czml import COLOURS, LAYER_NAMES
from trilink.export.picture import (
    ELLIPSE_STEP_S,
    TRACK_STEP_S,
    Picture,
    build_picture,
    iso_utc,
    write_atomic,
)
from trilink.export.runfolder import RunFolder

__all__ = ["build_kml", "kml_from_picture", "write_kml"]

_LONLAT_DECIMALS = 7
_ALT_DECIMALS = 1
_IMPACT = (255, 140, 0)
_ALERT = (220, 20, 60)


def _abgr(rgb: tuple[int, int, int], alpha: int = 255) -> str:
    """KML colour ``aabbggrr``."""
    r, g, b = rgb
    return f"{alpha:02x}{b:02x}{g:02x}{r:02x}"


def _styles() -> list[Style]:
    out = []
    for layer, rgb in COLOURS.items():
        out.append(
            Style(
                id=f"track-{layer}",
                # the schema fixes the order: Icon, Label, Line, Poly
                styles=[
                    IconStyle(color=_abgr(rgb), scale=0.6),
                    LabelStyle(color=_abgr(rgb), scale=0.8),
                    LineStyle(color=_abgr(rgb), width=2.0),
                ],
            )
        )
        out.append(
            Style(
                id=f"sensor-{layer}",
                styles=[IconStyle(color=_abgr(rgb), scale=1.0), LabelStyle(scale=0.7)],
            )
        )
    out.append(
        Style(
            id="impact",
            styles=[
                LineStyle(color=_abgr(_IMPACT), width=1.5),
                PolyStyle(color=_abgr(_IMPACT, 70)),
            ],
        )
    )
    out.append(
        Style(
            id="alert",
            styles=[LineStyle(color=_abgr(_ALERT), width=2.0), PolyStyle(color=_abgr(_ALERT, 110))],
        )
    )
    return out


def _when(t: dt.datetime) -> KmlDateTime:
    return KmlDateTime(t)


def _span(pic: Picture, t0: float, t1: float) -> TimeSpan:
    return TimeSpan(begin=_when(pic.utc(t0)), end=_when(pic.utc(max(t1, t0))))


def _ring(lon_deg: np.ndarray, lat_deg: np.ndarray) -> list[tuple[float, float]]:
    lon = np.round(lon_deg, _LONLAT_DECIMALS)
    lat = np.round(lat_deg, _LONLAT_DECIMALS)
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


def _track_placemarks(pic: Picture, layer: str) -> list[Placemark]:
    out = []
    for tr in pic.tracks:
        if tr.layer != layer:
            continue
        lon = np.round(np.degrees(tr.lon_rad), _LONLAT_DECIMALS).tolist()
        lat = np.round(np.degrees(tr.lat_rad), _LONLAT_DECIMALS).tolist()
        alt = np.round(tr.alt_m, _ALT_DECIMALS).tolist()
        items = [
            TrackItem(when=_when(pic.utc(t)), coord=geo.Point(x, y, z))
            for t, x, y, z in zip(tr.time_s.tolist(), lon, lat, alt, strict=True)
        ]
        kinds = "; ".join(
            f"{k.kind} {iso_utc(pic.utc(k.start_s))} to {iso_utc(pic.utc(k.end_s))}"
            for k in tr.kind_runs
        )
        desc = (
            f"{tr.name} ({LAYER_NAMES.get(tr.layer, tr.layer)}). Kinds: {kinds}. "
            + (f"Contributors: {tr.contributors.replace(';', ', ')}. " if tr.contributors else "")
            + f"{len(tr.time_s)} of {tr.rows} samples (one per {pic.track_step_s:g} s)."
        )
        out.append(
            Placemark(
                id=f"track-{tr.layer}-{tr.number}",
                name=f"{tr.name} ({tr.kind})",
                description=desc,
                times=_span(pic, tr.start_s, tr.end_s),
                style_url=StyleUrl(url=f"#track-{tr.layer}"),
                kml_geometry=Track(altitude_mode=AltitudeMode.absolute, track_items=items),
            )
        )
    return out


def kml_from_picture(pic: Picture) -> KML:
    """The KML document of a :class:`Picture` (module docstring)."""
    folders: list[Folder] = []
    for layer in pic.layers:
        name = LAYER_NAMES.get(layer, layer) if layer == "system" else f"{layer} tracks"
        folders.append(Folder(name=name, features=_track_placemarks(pic, layer)))
    folders.append(
        Folder(
            name="Radar sites",
            features=[
                Placemark(
                    id=f"sensor-{s.sensor_id}",
                    name=s.sensor_id,
                    description=f"{s.nation} radar",
                    style_url=StyleUrl(url=f"#sensor-{s.nation}"),
                    kml_geometry=Point(
                        geometry=geo.Point(
                            round(math.degrees(s.lon_rad), _LONLAT_DECIMALS),
                            round(math.degrees(s.lat_rad), _LONLAT_DECIMALS),
                            round(s.alt_m, _ALT_DECIMALS),
                        ),
                        altitude_mode=AltitudeMode.absolute,
                    ),
                )
                for s in pic.sensors
            ],
        )
    )
    folders.append(
        Folder(
            name="Predicted impact (95 % ellipses)",
            features=[
                Placemark(
                    name=f"GTN {e.number} impact ({e.kind})"
                    if e.layer == "system"
                    else f"{e.layer} {e.number} impact ({e.kind})",
                    description=(
                        f"95 % ellipse {e.semi_major_m / 1e3:.1f} × {e.semi_minor_m / 1e3:.1f} "
                        f"km, major axis {math.degrees(e.orientation_rad):.0f}° from north; "
                        f"impact at {iso_utc(pic.utc(e.impact_time_s))}"
                    ),
                    times=_span(pic, e.valid_from_s, e.valid_to_s),
                    style_url=StyleUrl(url="#impact"),
                    kml_geometry=Polygon(
                        geometry=geo.Polygon(
                            _ring(np.degrees(e.ring_lon_rad), np.degrees(e.ring_lat_rad))
                        )
                    ),
                )
                for e in pic.ellipses
            ],
        )
    )
    alert_marks = []
    for a in pic.alert_areas:
        polys = [
            Polygon(geometry=geo.Polygon(_ring(r[:, 0], r[:, 1])))
            for r in a.rings_lonlat_deg
            if len(r) >= 4
        ]
        geom = polys[0] if len(polys) == 1 else MultiGeometry(kml_geometries=polys)
        alert_marks.append(
            Placemark(
                name=f"{a.name_en} ({a.name_ja}): take cover",
                description=f"{a.code}: take-cover alert from {iso_utc(pic.utc(a.start_s))} "
                f"to {iso_utc(pic.utc(a.end_s))}",
                times=_span(pic, a.start_s, a.end_s),
                style_url=StyleUrl(url="#alert"),
                kml_geometry=geom,
            )
        )
    folders.append(Folder(name="Take-cover alert areas", features=alert_marks))
    title = f"trilink: {pic.scenario}" + (f" (as seen by {pic.partner})" if pic.partner else "")
    doc = Document(
        name=title,
        description=(
            f"Scenario {pic.scenario}, epoch {iso_utc(pic.epoch_utc)}; tracks thinned to one "
            f"sample per {pic.track_step_s:g} s, impact ellipses one per "
            f"{pic.ellipse_step_s:g} s."
        ),
        styles=_styles(),
        features=folders,
    )
    return KML(features=[doc])


def build_kml(
    run: RunFolder,
    *,
    track_step_s: float = TRACK_STEP_S,
    ellipse_step_s: float = ELLIPSE_STEP_S,
) -> KML:
    """The KML of a run folder's picture."""
    pic = build_picture(run, track_step_s=track_step_s, ellipse_step_s=ellipse_step_s)
    return kml_from_picture(pic)


def write_kml(
    run: RunFolder,
    out: Path,
    *,
    track_step_s: float = TRACK_STEP_S,
    ellipse_step_s: float = ELLIPSE_STEP_S,
) -> Path:
    """Write :func:`build_kml` to ``out`` (UTF-8 XML with declaration)."""
    k = build_kml(run, track_step_s=track_step_s, ellipse_step_s=ellipse_step_s)
    body = k.to_string(prettyprint=False)
    return write_atomic(Path(out), '<?xml version="1.0" encoding="UTF-8"?>\n' + body)
