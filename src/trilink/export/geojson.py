"""GeoJSON (RFC 7946) of a run's picture: tracks, impact ellipses, alert areas, radars.

One ``FeatureCollection``; every feature's ``properties.layer`` says what it is:

* ``track``: a ``LineString`` (a ``Point`` for a one-sample track) of the thinned
  track (:mod:`trilink.export.picture`), positions ``[lon_deg, lat_deg, alt_m]``
  (height above the WGS-84 ellipsoid); ``properties``: ``source`` (``system`` or the
  nation), ``track_number``, ``name``, ``kind`` (last), ``kinds`` (``[start_utc,
  end_utc, kind]`` stretches), ``contributors``, ``time_s`` (seconds since the
  scenario epoch, one per position), ``start_utc``, ``end_utc``.
* ``impact_ellipse``: a ``Polygon``, the 95 % ellipse of one prediction, with
  ``valid_from_utc``/``valid_to_utc``, ``impact_time_utc``, ``impact_lat_deg``,
  ``impact_lon_deg``, ``semi_major_m``, ``semi_minor_m``, ``orientation_deg``
  (clockwise from north), ``probability`` (0.95).
* ``alert_area``: a ``Polygon``/``MultiPolygon``, a prefecture under take-cover from
  ``start_utc`` to ``end_utc``, with ``code``, ``name_en``, ``name_ja``.
* ``sensor_site``: a ``Point`` per radar, with ``sensor_id`` and ``nation``.

Exterior rings are counter-clockwise (RFC 7946 §3.1.6). Longitudes and latitudes
are written to 1e-7 degree (~1 cm), heights to 1 mm. The collection carries a
foreign member ``trilink`` with the scenario, epoch, thinning steps and partner.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from trilink.export.picture import (
    ELLIPSE_PROBABILITY,
    ELLIPSE_STEP_S,
    TRACK_STEP_S,
    Picture,
    build_picture,
    iso_utc,
    write_atomic,
)
from trilink.export.runfolder import RunFolder

__all__ = ["build_geojson", "geojson_from_picture", "write_geojson"]

LONLAT_DECIMALS = 7
ALT_DECIMALS = 3


def _positions(lat_rad: np.ndarray, lon_rad: np.ndarray, alt_m: np.ndarray | None) -> list:
    lon = np.round(np.degrees(lon_rad), LONLAT_DECIMALS)
    lat = np.round(np.degrees(lat_rad), LONLAT_DECIMALS)
    if alt_m is None:
        return np.column_stack([lon, lat]).tolist()
    return np.column_stack([lon, lat, np.round(alt_m, ALT_DECIMALS)]).tolist()


def geojson_from_picture(pic: Picture) -> dict[str, Any]:
    """The FeatureCollection of a :class:`Picture` (module docstring)."""
    utc = pic.utc
    feats: list[dict[str, Any]] = []
    for tr in pic.tracks:
        pos = _positions(tr.lat_rad, tr.lon_rad, tr.alt_m)
        geom = (
            {"type": "LineString", "coordinates": pos}
            if len(pos) >= 2
            else {"type": "Point", "coordinates": pos[0]}
        )
        feats.append(
            {
                "type": "Feature",
                "id": f"track/{tr.layer}/{tr.number}",
                "geometry": geom,
                "properties": {
                    "layer": "track",
                    "source": tr.layer,
                    "track_number": tr.number,
                    "name": tr.name,
                    "kind": tr.kind,
                    "kinds": [
                        [iso_utc(utc(k.start_s)), iso_utc(utc(k.end_s)), k.kind]
                        for k in tr.kind_runs
                    ],
                    "contributors": tr.contributors,
                    "time_s": [round(float(t), 3) for t in tr.time_s],
                    "start_utc": iso_utc(utc(tr.start_s)),
                    "end_utc": iso_utc(utc(tr.end_s)),
                    "samples_in_run": tr.rows,
                },
            }
        )
    for e in pic.ellipses:
        feats.append(
            {
                "type": "Feature",
                "id": f"impact/{e.layer}/{e.number}/{e.valid_from_s:g}",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [_positions(e.ring_lat_rad, e.ring_lon_rad, None)],
                },
                "properties": {
                    "layer": "impact_ellipse",
                    "source": e.layer,
                    "track_number": e.number,
                    "kind": e.kind,
                    "valid_from_utc": iso_utc(utc(e.valid_from_s)),
                    "valid_to_utc": iso_utc(utc(e.valid_to_s)),
                    "impact_time_utc": iso_utc(utc(e.impact_time_s)),
                    "impact_lat_deg": round(math.degrees(e.impact_lat_rad), LONLAT_DECIMALS),
                    "impact_lon_deg": round(math.degrees(e.impact_lon_rad), LONLAT_DECIMALS),
                    "semi_major_m": round(e.semi_major_m, 1),
                    "semi_minor_m": round(e.semi_minor_m, 1),
                    "orientation_deg": round(math.degrees(e.orientation_rad), 3),
                    "probability": ELLIPSE_PROBABILITY,
                },
            }
        )
    for a in pic.alert_areas:
        polys = [[np.round(r, LONLAT_DECIMALS).tolist()] for r in a.rings_lonlat_deg if len(r) >= 4]
        geom = (
            {"type": "Polygon", "coordinates": polys[0]}
            if len(polys) == 1
            else {"type": "MultiPolygon", "coordinates": polys}
        )
        feats.append(
            {
                "type": "Feature",
                "id": f"alert/{a.code}/{a.start_s:g}",
                "geometry": geom,
                "properties": {
                    "layer": "alert_area",
                    "code": a.code,
                    "name_en": a.name_en,
                    "name_ja": a.name_ja,
                    "start_utc": iso_utc(utc(a.start_s)),
                    "end_utc": iso_utc(utc(a.end_s)),
                },
            }
        )
    for s in pic.sensors:
        feats.append(
            {
                "type": "Feature",
                "id": f"sensor/{s.sensor_id}",
                "geometry": {
                    "type": "Point",
                    "coordinates": _positions(
                        np.array([s.lat_rad]), np.array([s.lon_rad]), np.array([s.alt_m])
                    )[0],
                },
                "properties": {
                    "layer": "sensor_site",
                    "sensor_id": s.sensor_id,
                    "nation": s.nation,
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "features": feats,
        "trilink": {
            "scenario": pic.scenario,
            "epoch_utc": iso_utc(pic.epoch_utc),
            "start_utc": iso_utc(utc(pic.start_s)),
            "end_utc": iso_utc(utc(pic.end_s)),
            "track_step_s": pic.track_step_s,
            "ellipse_step_s": pic.ellipse_step_s,
            "partner_view": pic.partner,
        },
    }


def build_geojson(
    run: RunFolder,
    *,
    track_step_s: float = TRACK_STEP_S,
    ellipse_step_s: float = ELLIPSE_STEP_S,
) -> dict[str, Any]:
    """The GeoJSON FeatureCollection of a run folder's picture."""
    pic = build_picture(run, track_step_s=track_step_s, ellipse_step_s=ellipse_step_s)
    return geojson_from_picture(pic)


def write_geojson(
    run: RunFolder,
    out: Path,
    *,
    track_step_s: float = TRACK_STEP_S,
    ellipse_step_s: float = ELLIPSE_STEP_S,
) -> Path:
    """Write :func:`build_geojson` to ``out`` (compact JSON, UTF-8)."""
    doc = build_geojson(run, track_step_s=track_step_s, ellipse_step_s=ellipse_step_s)
    text = json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return write_atomic(Path(out), text)
