"""CZML of a run's picture, for CesiumJS (the web page loads it), written with ``czml3``.

Packets (ids in brackets), all timed against the scenario's UTC epoch:

* the document (``document``) with a clock over the run, 10x real time;
* one parent packet per layer (``layer/system``, ``layer/JP`` ... ``layer/sensors``,
  ``layer/impact``, ``layer/alerts``) so a viewer can toggle layers;
* a track (``track/system/<gtn>``, ``track/<NATION>/<id>``) per fused or national
  track: ``position`` as time-tagged ``cartographicDegrees`` samples (seconds since
  the scenario epoch; lon, lat in degrees, height above the ellipsoid in m; thinned,
  see :mod:`trilink.export.picture`) interpolated linearly, ``availability`` over the
  track's life, a ``point`` and a trailing ``path`` in its layer's colour
  (:data:`COLOURS`: fused tracks gold, Japan red, Korea blue, US green) and a
  ``label`` — fused tracks ``GTN <n> <kind>``, national ones ``<NATION> <id>
  <kind>`` — whose text follows the track's kind over time;
* a radar site (``sensor/<sensor_id>``) as a point in its nation's colour;
* a predicted impact ellipse (``impact/<gtn>``) per fused track with predictions: a
  ``polygon`` whose ``positions`` change at each snapshot (95 % ellipse drawn as a
  ring; the same rings as the KML and GeoJSON exports);
* a threatened prefecture (``alert/<code>/<part>``) as a red polygon, available only
  while its take-cover alert is on.

The output validates against the official CZML JSON Schema (tests).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from czml3 import Document, Packet
from czml3.enums import (
    ClockRanges,
    ClockSteps,
    HorizontalOrigins,
    InterpolationAlgorithms,
    LabelStyles,
)
from czml3.properties import (
    Clock,
    Color,
    Label,
    Material,
    Point,
    Polygon,
    PolylineMaterial,
    Position,
    PositionList,
    SolidColorMaterial,
)
from czml3.properties import (
    Path as CzPath,
)
from czml3.types import (
    Cartesian2Value,
    IntervalValue,
    TimeInterval,
    TimeIntervalCollection,
)

from trilink.export.picture import (
    ELLIPSE_STEP_S,
    SYSTEM_LAYER,
    TRACK_STEP_S,
    AlertArea,
    ImpactEllipse,
    Picture,
    SensorSite,
    TrackLine,
    build_picture,
    iso_utc,
    write_atomic,
)
from trilink.export.runfolder import RunFolder

__all__ = ["COLOURS", "build_czml", "czml_from_picture", "write_czml"]

COLOURS: dict[str, tuple[int, int, int]] = {
    SYSTEM_LAYER: (255, 200, 0),
    "JP": (230, 57, 70),
    "KR": (52, 120, 246),
    "US": (46, 204, 113),
}
"""RGB per track layer (and nation, for radar sites)."""
_OTHER = (200, 200, 200)
_IMPACT = (255, 140, 0)
_ALERT = (220, 20, 60)
LAYER_NAMES = {
    SYSTEM_LAYER: "Fused tracks (hub)",
    "JP": "Japan's own tracks",
    "KR": "Korea's own tracks",
    "US": "US own tracks",
}
CLOCK_MULTIPLIER = 10.0
_LONLAT_DECIMALS = 7
_ALT_DECIMALS = 1


def _rgba(rgb: tuple[int, int, int], alpha: int = 255) -> Color:
    return Color(rgba=[*rgb, alpha])


def _solid(rgb: tuple[int, int, int], alpha: int = 255) -> SolidColorMaterial:
    return SolidColorMaterial(color=_rgba(rgb, alpha))


def _interval(pic: Picture, t0: float, t1: float) -> TimeInterval:
    return TimeInterval(start=iso_utc(pic.utc(t0)), end=iso_utc(pic.utc(t1)))


def _deg(x: np.ndarray | float, decimals: int = _LONLAT_DECIMALS) -> np.ndarray:
    return np.round(np.degrees(x), decimals)


def _track_packet(pic: Picture, tr: TrackLine) -> Packet:
    rgb = COLOURS.get(tr.layer, _OTHER)
    t_rel = tr.time_s - pic.start_s
    samples = np.column_stack(
        [np.round(t_rel, 3), _deg(tr.lon_rad), _deg(tr.lat_rad), np.round(tr.alt_m, _ALT_DECIMALS)]
    ).ravel()
    t_end = tr.end_s if tr.end_s > tr.start_s else tr.start_s + pic.track_step_s
    debris = tr.kind == "debris"
    label_text = TimeIntervalCollection(
        values=[
            IntervalValue(
                start=iso_utc(pic.utc(k.start_s)),
                end=iso_utc(pic.utc(k.end_s if k.end_s > k.start_s else t_end)),
                value=f"{tr.name} {k.kind}",
            )
            for k in tr.kind_runs
        ]
    )
    description = (
        f"<p><b>{tr.name}</b> ({LAYER_NAMES.get(tr.layer, tr.layer)})</p>"
        f"<p>kind: {' → '.join(dict.fromkeys(k.kind for k in tr.kind_runs))}<br/>"
        f"from {iso_utc(pic.utc(tr.start_s))} to {iso_utc(pic.utc(tr.end_s))}<br/>"
        + (f"contributors: {tr.contributors.replace(';', ', ')}<br/>" if tr.contributors else "")
        + f"{len(tr.time_s)} of {tr.rows} samples shown (one per {pic.track_step_s:g} s)</p>"
    )
    return Packet(
        id=f"track/{tr.layer}/{tr.number}",
        name=tr.name,
        parent=f"layer/{tr.layer}",
        description=description,
        availability=_interval(pic, tr.start_s, t_end),
        position=Position(
            epoch=iso_utc(pic.utc(pic.start_s)),
            cartographicDegrees=samples.tolist(),
            interpolationAlgorithm=InterpolationAlgorithms.LINEAR,
        ),
        point=Point(
            pixelSize=4.0 if debris else 7.0,
            color=_rgba(rgb),
            outlineColor=_rgba((0, 0, 0)),
            outlineWidth=1.0,
        ),
        path=CzPath(
            material=PolylineMaterial(solidColor=_solid(rgb, 160 if debris else 230)),
            width=1.0 if debris else 2.0,
            leadTime=0.0,
            trailTime=max(pic.end_s - pic.start_s, 1.0),
            resolution=max(pic.track_step_s, 1.0),
        ),
        label=Label(
            text=label_text,
            font="12px sans-serif",
            style=LabelStyles.FILL_AND_OUTLINE,
            outlineWidth=2.0,
            fillColor=_rgba(rgb),
            horizontalOrigin=HorizontalOrigins.LEFT,
            pixelOffset=Cartesian2Value(values=[10.0, 0.0]),
            show=not debris,
        ),
    )


def _sensor_packet(s: SensorSite) -> Packet:
    rgb = COLOURS.get(s.nation, _OTHER)
    return Packet(
        id=f"sensor/{s.sensor_id}",
        name=s.sensor_id,
        parent="layer/sensors",
        description=f"<p><b>{s.sensor_id}</b> ({s.nation} radar)<br/>"
        f"{math.degrees(s.lat_rad):.3f}°, {math.degrees(s.lon_rad):.3f}°, {s.alt_m:.0f} m</p>",
        position=Position(
            cartographicDegrees=[
                float(_deg(s.lon_rad)),
                float(_deg(s.lat_rad)),
                round(s.alt_m, _ALT_DECIMALS),
            ]
        ),
        point=Point(
            pixelSize=9.0, color=_rgba(rgb), outlineColor=_rgba((255, 255, 255)), outlineWidth=2.0
        ),
        label=Label(
            text=s.sensor_id,
            font="11px sans-serif",
            fillColor=_rgba(rgb),
            style=LabelStyles.FILL_AND_OUTLINE,
            outlineWidth=2.0,
            horizontalOrigin=HorizontalOrigins.LEFT,
            pixelOffset=Cartesian2Value(values=[8.0, 0.0]),
        ),
    )


def _ring_degrees(lon_deg: np.ndarray, lat_deg: np.ndarray) -> list[float]:
    """[lon, lat, 0, ...] of a closed ring, without the repeated closing vertex."""
    lon = np.round(lon_deg[:-1], _LONLAT_DECIMALS)
    lat = np.round(lat_deg[:-1], _LONLAT_DECIMALS)
    return np.column_stack([lon, lat, np.zeros_like(lon)]).ravel().tolist()


def _impact_packets(pic: Picture, ellipses: tuple[ImpactEllipse, ...]) -> list[Packet]:
    by_track: dict[tuple[str, int], list[ImpactEllipse]] = {}
    for e in ellipses:
        by_track.setdefault((e.layer, e.number), []).append(e)
    out = []
    for (layer, number), es in by_track.items():
        es = [e for e in es if e.valid_to_s > e.valid_from_s]
        if not es:
            continue
        name = f"GTN {number}" if layer == SYSTEM_LAYER else f"{layer} {number}"
        positions = TimeIntervalCollection(
            values=[
                IntervalValue(
                    start=iso_utc(pic.utc(e.valid_from_s)),
                    end=iso_utc(pic.utc(e.valid_to_s)),
                    value=PositionList(
                        cartographicDegrees=_ring_degrees(
                            np.degrees(e.ring_lon_rad), np.degrees(e.ring_lat_rad)
                        )
                    ),
                )
                for e in es
            ]
        )
        last = es[-1]
        out.append(
            Packet(
                id=f"impact/{layer}/{number}",
                name=f"{name} impact ellipse (95 %)",
                parent="layer/impact",
                description=(
                    f"<p>Predicted impact of <b>{name}</b>, 95 % ellipse; "
                    f"{len(es)} snapshots (one per {pic.ellipse_step_s:g} s).<br/>Last: "
                    f"{math.degrees(last.impact_lat_rad):.3f}°, "
                    f"{math.degrees(last.impact_lon_rad):.3f}° at "
                    f"{iso_utc(pic.utc(last.impact_time_s))}, "
                    f"{last.semi_major_m / 1e3:.1f} × {last.semi_minor_m / 1e3:.1f} km</p>"
                ),
                availability=TimeIntervalCollection(
                    values=[_interval(pic, e.valid_from_s, e.valid_to_s) for e in es]
                ),
                polygon=Polygon(
                    positions=positions,
                    material=Material(solidColor=_solid(_IMPACT, 70)),
                    outline=True,
                    outlineColor=_rgba(_IMPACT),
                    height=0.0,
                ),
            )
        )
    return out


def _alert_packets(pic: Picture, areas: tuple[AlertArea, ...]) -> list[Packet]:
    by_code: dict[str, list[AlertArea]] = {}
    for a in areas:
        by_code.setdefault(a.code, []).append(a)
    out = []
    for code, spans in by_code.items():
        first = spans[0]
        availability = TimeIntervalCollection(
            values=[_interval(pic, a.start_s, max(a.end_s, a.start_s)) for a in spans]
        )
        out.append(
            Packet(
                id=f"alert/{code}",
                name=f"{first.name_en} ({first.name_ja}): take cover",
                parent="layer/alerts",
                availability=availability,
            )
        )
        for i, ring in enumerate(first.rings_lonlat_deg):
            out.append(
                Packet(
                    id=f"alert/{code}/{i}",
                    name=f"{first.name_en} ({first.name_ja}): take cover",
                    parent=f"alert/{code}",
                    description="<p>Take-cover alert: "
                    + "; ".join(
                        f"{iso_utc(pic.utc(a.start_s))} to {iso_utc(pic.utc(a.end_s))}"
                        for a in spans
                    )
                    + "</p>",
                    availability=availability,
                    polygon=Polygon(
                        positions=PositionList(
                            cartographicDegrees=_ring_degrees(ring[:, 0], ring[:, 1])
                        ),
                        material=Material(solidColor=_solid(_ALERT, 110)),
                        outline=True,
                        outlineColor=_rgba(_ALERT),
                        height=0.0,
                    ),
                )
            )
    return out


def czml_from_picture(pic: Picture) -> Document:
    """The CZML document of a :class:`Picture` (module docstring)."""
    title = f"trilink: {pic.scenario}" + (f" (as seen by {pic.partner})" if pic.partner else "")
    packets = [
        Packet(
            id="document",
            name=title,
            version="1.0",
            clock=Clock(
                interval=_interval(pic, pic.start_s, pic.end_s),
                currentTime=iso_utc(pic.utc(pic.start_s)),
                multiplier=CLOCK_MULTIPLIER,
                range=ClockRanges.LOOP_STOP,
                step=ClockSteps.SYSTEM_CLOCK_MULTIPLIER,
            ),
        )
    ]
    for layer in pic.layers:
        packets.append(Packet(id=f"layer/{layer}", name=LAYER_NAMES.get(layer, layer)))
    if pic.sensors:
        packets.append(Packet(id="layer/sensors", name="Radar sites"))
    if pic.ellipses:
        packets.append(Packet(id="layer/impact", name="Predicted impact (95 % ellipses)"))
    if pic.alert_areas:
        packets.append(Packet(id="layer/alerts", name="Take-cover alert areas"))
    packets += [_sensor_packet(s) for s in pic.sensors]
    packets += _alert_packets(pic, pic.alert_areas)
    packets += _impact_packets(pic, pic.ellipses)
    packets += [_track_packet(pic, tr) for tr in pic.tracks]
    return Document(packets=packets)


def build_czml(
    run: RunFolder,
    *,
    track_step_s: float = TRACK_STEP_S,
    ellipse_step_s: float = ELLIPSE_STEP_S,
) -> Document:
    """The CZML document of a run folder's picture."""
    pic = build_picture(run, track_step_s=track_step_s, ellipse_step_s=ellipse_step_s)
    return czml_from_picture(pic)


def write_czml(
    run: RunFolder,
    out: Path,
    *,
    track_step_s: float = TRACK_STEP_S,
    ellipse_step_s: float = ELLIPSE_STEP_S,
) -> Path:
    """Write :func:`build_czml` to ``out`` (compact JSON array of packets)."""
    doc = build_czml(run, track_step_s=track_step_s, ellipse_step_s=ellipse_step_s)
    return write_atomic(Path(out), doc.dumps())
