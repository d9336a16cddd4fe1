"""The sensor catalogue against the public figures it cites, and the sensors/detections tables."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from trilink.geo import geodesic_inverse
from trilink.sensors import (
    SENSOR_COLUMNS,
    SENSORS,
    DetectionBatch,
    Radar,
    all_sensors,
    get_sensor,
    sensors_table,
)
from trilink.threats import get_site


def test_at_least_twelve_sensors_of_three_nations_with_sources():
    assert len(SENSORS) >= 12
    nations = {e.radar.nation for e in SENSORS.values()}
    assert nations == {"JP", "KR", "US"}
    for key, e in SENSORS.items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", key), key
        assert e.radar.sensor_id == key
        assert len(e.basis) > 40 and e.site, key
        assert e.radar.notes == e.basis
    for key in ("fps5-sado", "tpy2-shariki", "greenpine-c-busan"):
        assert key in SENSORS


# public_reference.md §3 coordinates (±~5 km): (lat, lon) in degrees
PUBLISHED_SITES = {
    "fps5-shimokoshiki": (31.72, 129.75),
    "fps5-sado": (38.07, 138.42),
    "fps5-ominato": (41.24, 141.13),
    "fps5-yozadake": (26.12, 127.73),
    "tpy2-shariki": (40.888, 140.338),  # KeepTrack
    "tpy2-kyogamisaki": (35.767, 135.195),  # KeepTrack
    "thaad-seongju": (36.05, 128.22),
}


@pytest.mark.parametrize("key", sorted(PUBLISHED_SITES))
def test_sites_match_the_public_reference(key):
    r = get_sensor(key)
    lat, lon = PUBLISHED_SITES[key]
    d, _, _ = geodesic_inverse(r.lat_rad, r.lon_rad, math.radians(lat), math.radians(lon))
    assert d < 100.0, f"{key} is {d:.0f} m from the published position"


def _sector_deg(r: Radar) -> tuple[float, float]:
    (f,) = r.faces
    c, h = math.degrees(f.boresight_az_rad), math.degrees(f.half_fov_az_rad)
    return (c - h) % 360.0, (c + h) % 360.0


def test_tpy2_and_thaad_figures():
    # KeepTrack: Shariki az 230-350°, Kyogamisaki 210-330°, both 2,000 km, el 0-90°
    assert _sector_deg(get_sensor("tpy2-shariki")) == pytest.approx((230.0, 350.0))
    assert _sector_deg(get_sensor("tpy2-kyogamisaki")) == pytest.approx((210.0, 330.0))
    for key in ("tpy2-shariki", "tpy2-kyogamisaki"):
        r = get_sensor(key)
        assert r.instrumented_range_m == 2_000e3
        assert r.min_elevation_rad == 0.0 and r.max_elevation_rad == pytest.approx(math.pi / 2)
    # THAAD: 600 km (Breitbart 2018), > 5° elevation (MND via Shephard 2016), 680 m ASL
    t = get_sensor("thaad-seongju")
    assert t.instrumented_range_m == 600e3
    assert math.degrees(t.min_elevation_rad) == pytest.approx(5.0)
    assert 680.0 <= t.alt_m <= 700.0
    # Green Pine: Block B "> 500 km" (Yonhap 2016), Block C "~800 km" (Yonhap 2022)
    assert get_sensor("greenpine-c-busan").instrumented_range_m == 800e3
    for key in ("greenpine-b-chungbuk", "greenpine-b-chungnam"):
        assert get_sensor(key).range_ref_m == 500e3


def test_operating_points_read_published_ranges_as_pd_one_half():
    for r in all_sensors():
        # σ_ref at range_ref: single-scan Pd 0.5 (the catalogue's stated rule)
        assert float(r.pd(r.rcs_ref_m2, r.range_ref_m)) == pytest.approx(0.5, abs=1e-12)
        if r.sensor_id != "thaad-seongju":  # FBM hardware sensitivity behind a 600 km gate
            assert r.range_ref_m <= r.instrumented_range_m
        # a fraction of a false alarm per scan
        assert 0.01 < r.expected_false_alarms_per_scan() < 1.0, r.sensor_id


def test_fixed_faces_point_at_north_korea():
    samsok = get_site("samsok")
    for r in all_sensors():
        if r.rotating or len(r.faces) > 1:
            continue
        (f,) = r.faces
        _, az, _ = geodesic_inverse(r.lat_rad, r.lon_rad, samsok.lat_rad, samsok.lon_rad)
        off = abs((float(az) - f.boresight_az_rad + math.pi) % (2 * math.pi) - math.pi)
        assert off < f.half_fov_az_rad, f"{r.sensor_id}: Samsok outside the face"


def test_scan_phases_differ():
    offsets = [r.scan_offset_s / r.revisit_s for r in all_sensors()]
    assert len(set(offsets)) == len(offsets)
    assert all(0.0 <= o < 1.0 for o in offsets)


def test_unknown_key_lists_known_ones():
    with pytest.raises(ValueError, match=r"unknown catalogue sensor 'fps5-mars'; known: fps5-"):
        get_sensor("fps5-mars")


def test_sensors_table_columns_and_values():
    radars = all_sensors()
    table = sensors_table(radars)
    assert tuple(table) == SENSOR_COLUMNS
    assert all(len(v) == len(radars) for v in table.values())
    sado = radars.index(get_sensor("fps5-sado"))
    assert table["lat_deg"][sado] == pytest.approx(38.07, abs=1e-9)
    assert table["nation"][sado] == "JP"
    # σ at the detection threshold: resolution / sqrt(2 (T - 1)), floors permitting
    r = radars[sado]
    s = r.threshold_snr
    assert table["sigma_range_m"][sado] == pytest.approx(r.range_resolution_m / math.sqrt(2 * s))
    assert table["sigma_az_rad"][sado] == pytest.approx(r.beamwidth_az_rad / math.sqrt(2 * s))
    no_rr = [i for i, r in enumerate(radars) if not r.has_range_rate]
    assert no_rr and np.all(np.isnan(table["sigma_range_rate_mps"][no_rr]))


def test_detection_batch_checks_and_operations():
    def make(t: list[float], sid: str) -> DetectionBatch:
        n = len(t)
        z = np.zeros(n)
        return DetectionBatch.from_arrays(
            object_ids=["A"] * n,
            sensor_id=[sid] * n,
            is_false_alarm=np.zeros(n, bool),
            time_s=np.array(t),
            range_m=z + 1.0,
            az_rad=z,
            el_rad=z,
            range_rate_mps=z,
            snr_db=z,
            sigma_range_m=z,
            sigma_az_rad=z,
            sigma_el_rad=z,
            sigma_range_rate_mps=z,
        )

    a = make([3.0, 1.0], "s-a")
    assert a.time_s.tolist() == [1.0, 3.0]  # sorted on construction
    b = DetectionBatch.concatenate([a, make([2.0], "longer-sensor-id")])
    assert b.time_s.tolist() == [1.0, 2.0, 3.0]
    assert b.sensor_id.tolist() == ["s-a", "longer-sensor-id", "s-a"]
    assert len(b.for_sensor("s-a")) == 2
    assert b.n_objects.tolist() == [1, 1, 1]
    assert list(b.truth_columns())[-3:] == ["object_ids", "is_false_alarm", "thrusting"]
    assert len(DetectionBatch.concatenate([])) == 0
    with pytest.raises(ValueError, match="time-ordered"):
        DetectionBatch(
            **{
                **{k: getattr(b, k) for k in b.__dataclass_fields__},
                "time_s": b.time_s[::-1].copy(),
            }
        )
    with pytest.raises(ValueError, match="range_m must be a 1-D array of length 3"):
        DetectionBatch(
            **{**{k: getattr(b, k) for k in b.__dataclass_fields__}, "range_m": np.zeros(2)}
        )


def test_tables_write_and_read_back_as_csv_and_parquet(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    from trilink.tables import write_table

    table = sensors_table(all_sensors())
    write_table(tmp_path / "sensors.csv", table, SENSOR_COLUMNS)
    write_table(tmp_path / "sensors.parquet", table, SENSOR_COLUMNS)
    header = (tmp_path / "sensors.csv").read_text().splitlines()[0]
    assert header == ",".join(SENSOR_COLUMNS)
    back = pq.read_table(tmp_path / "sensors.parquet").to_pydict()
    assert back["sensor_id"] == table["sensor_id"].tolist()
    assert back["lat_deg"] == table["lat_deg"].tolist()
    assert "38.07," in (tmp_path / "sensors.csv").read_text()
