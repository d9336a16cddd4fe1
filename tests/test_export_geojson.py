"""GeoJSON export (RFC 7946): structure, coordinates against pyproj, ellipse geometry
against pyproj's geodesics, alert areas over their alert, thinning."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest
from pyproj import Geod

from picture_run import ELLIPSE, IMPACT, TO_GEODETIC, make_run
from trilink.export.geojson import write_geojson
from trilink.export.picture import alert_intervals, thin_indices
from trilink.export.runfolder import read_run

GEOD = Geod(ellps="WGS84")
LAYERS = {"track", "impact_ellipse", "alert_area", "sensor_site"}


@pytest.fixture
def synthetic(tmp_path: Path) -> dict:
    run = read_run(make_run(tmp_path / "run"))
    return json.loads(write_geojson(run, tmp_path / "p.geojson").read_text())


def _signed_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def _check_structure(doc: dict) -> None:
    assert doc["type"] == "FeatureCollection"
    for f in doc["features"]:
        assert f["type"] == "Feature" and set(f) >= {"geometry", "properties"}
        assert f["properties"]["layer"] in LAYERS
        g = f["geometry"]
        if g["type"] == "LineString":
            c = np.asarray(g["coordinates"], dtype=float)
            assert c.ndim == 2 and c.shape[0] >= 2 and c.shape[1] == 3
            assert len(f["properties"]["time_s"]) == c.shape[0]
            assert np.all(np.diff(f["properties"]["time_s"]) > 0)
        elif g["type"] in ("Polygon", "MultiPolygon"):
            polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
            for poly in polys:
                ring = np.asarray(poly[0], dtype=float)
                assert len(ring) >= 4 and np.array_equal(ring[0], ring[-1]), "closed ring"
                assert _signed_area(ring) > 0, "exterior rings counter-clockwise (RFC 7946)"
        else:
            assert g["type"] == "Point" and len(g["coordinates"]) in (2, 3)
        coords = np.asarray(_flatten(g["coordinates"]), dtype=float).reshape(-1)
        assert np.all(np.isfinite(coords))


def _flatten(c: list) -> list:
    return [x for y in c for x in _flatten(y)] if isinstance(c, list) else [c]


def test_synthetic_structure(synthetic: dict) -> None:
    _check_structure(synthetic)
    by_layer: dict[str, list] = {}
    for f in synthetic["features"]:
        by_layer.setdefault(f["properties"]["layer"], []).append(f)
    assert {f["properties"]["name"] for f in by_layer["track"]} == {
        "GTN 1",
        "GTN 2",
        "JP 5",
        "KR 9",
        "US 3",
    }
    assert len(by_layer["sensor_site"]) == 3 and len(by_layer["impact_ellipse"]) == 4
    meta = synthetic["trilink"]
    assert meta["epoch_utc"] == "2023-04-12T22:22:00Z" and meta["track_step_s"] == 5.0


def test_track_point_round_trips_against_pyproj(synthetic: dict, tmp_path: Path) -> None:
    """A written [lon, lat, alt] equals pyproj's ECEF → geodetic of the table's row to
    1e-6 deg and 1 mm."""
    f = next(f for f in synthetic["features"] if f["properties"].get("name") == "JP 5")
    coords = np.asarray(f["geometry"]["coordinates"], dtype=float)
    times = f["properties"]["time_s"]
    assert times == [3.0, 8.0, 13.0, 14.0]  # one per 5 s and the last sample
    k = 2
    row = read_run(tmp_path / "run").national_tracks["JP"].set_index("time_s").loc[times[k]]
    lon, lat, h = TO_GEODETIC.transform(row.x_ecef_m, row.y_ecef_m, row.z_ecef_m)
    assert abs(coords[k, 0] - lon) < 1e-6
    assert abs(coords[k, 1] - lat) < 1e-6
    assert abs(coords[k, 2] - h) < 1e-3
    t0 = dt.datetime.fromisoformat(f["properties"]["start_utc"].replace("Z", "+00:00"))
    assert t0 == dt.datetime(2023, 4, 12, 22, 22, 3, tzinfo=dt.UTC)


def test_impact_ellipse_axes_against_pyproj_geodesics(synthetic: dict) -> None:
    """Vertex 0 is the major-axis tip (azimuth = orientation), vertex N/4 a minor-axis
    tip; distances from the predicted impact point equal the semi-axes to 1 m."""
    f = next(f for f in synthetic["features"] if f["properties"]["layer"] == "impact_ellipse")
    p = f["properties"]
    assert p["probability"] == 0.95
    assert (p["impact_lat_deg"], p["impact_lon_deg"]) == (IMPACT["lat_deg"], IMPACT["lon_deg"])
    ring = np.asarray(f["geometry"]["coordinates"][0], dtype=float)
    n = len(ring) - 1
    az, _, dist = GEOD.inv(
        np.full(n, IMPACT["lon_deg"]), np.full(n, IMPACT["lat_deg"]), ring[:-1, 0], ring[:-1, 1]
    )
    assert abs(dist[0] - ELLIPSE["semi_major_m"]) < 1.0
    assert abs(az[0] - ELLIPSE["orientation_deg"]) < 1e-3
    q = n // 4
    assert abs(dist[q] - ELLIPSE["semi_minor_m"]) < 1.0
    # counter-clockwise seen from above: the minor-axis tip after the major one is to its left
    assert abs(((az[q] - az[0]) % 360.0) - 270.0) < 1e-3
    assert dist.max() <= ELLIPSE["semi_major_m"] + 1.0
    assert dist.min() >= ELLIPSE["semi_minor_m"] - 1.0


def test_alert_areas_over_their_alert(synthetic: dict) -> None:
    import shapely

    alerts = [f for f in synthetic["features"] if f["properties"]["layer"] == "alert_area"]
    spans = {
        f["properties"]["code"]: (f["properties"]["start_utc"], f["properties"]["end_utc"])
        for f in alerts
    }
    assert spans == {
        "JP-01": ("2023-04-12T22:22:10Z", "2023-04-12T22:22:40Z"),
        "JP-02": ("2023-04-12T22:22:20Z", "2023-04-12T22:23:00Z"),
    }
    hok = next(f for f in alerts if f["properties"]["code"] == "JP-01")
    assert hok["properties"]["name_en"] == "Hokkaido"
    geom = shapely.geometry.shape(hok["geometry"])
    assert geom.contains(shapely.Point(141.35, 43.06))  # Sapporo
    assert not geom.contains(shapely.Point(140.74, 40.82))  # Aomori city


def test_alert_intervals_from_regions_when_active_is_absent() -> None:
    decisions = [
        {"t_s": 5.0, "action": "take_cover", "regions": ["JP-13"]},
        {"t_s": 7.0, "action": "take_cover", "regions": ["Okinawa"]},
        {"t_s": 9.0, "action": "all_clear", "regions": ["JP-13"]},
    ]
    assert alert_intervals(decisions, 30.0) == {"JP-13": [(5.0, 9.0)], "JP-47": [(7.0, 30.0)]}
    with pytest.raises(ValueError, match="unknown prefecture 'Atlantis'"):
        alert_intervals([{"t_s": 1.0, "action": "take_cover", "regions": ["Atlantis"]}], 2.0)


def test_thinning_keeps_first_last_and_one_per_step() -> None:
    ids = np.array([1, 1, 1, 1, 1, 1, 2, 2])
    t = np.array([0.0, 1.0, 4.9, 5.0, 7.5, 11.0, 3.0, 3.5])
    assert thin_indices(ids, t, 5.0).tolist() == [0, 3, 5, 6, 7]
    assert thin_indices(ids, t, 0.0).tolist() == list(range(8))


def test_seed_geojson(seed_run_dir: Path, tmp_path: Path) -> None:
    run = read_run(seed_run_dir)
    out = write_geojson(run, tmp_path / "seed.geojson")
    doc = json.loads(out.read_text())
    _check_structure(doc)
    tracks = [f for f in doc["features"] if f["properties"]["layer"] == "track"]
    n = run.system_tracks.global_track_number.nunique() + sum(
        t.track_id.nunique() for t in run.national_tracks.values()
    )
    assert len(tracks) == n
    kept = sum(len(f["properties"]["time_s"]) for f in tracks)
    rows = len(run.system_tracks) + sum(len(t) for t in run.national_tracks.values())
    assert kept < rows / 3, f"thinning kept {kept} of {rows} samples"
    assert out.stat().st_size < 5e6
    assert math.isfinite(doc["trilink"]["ellipse_step_s"])
