"""Sensor definitions in scenario files: catalogue names, custom radars, one-line errors."""

from __future__ import annotations

import math
import tomllib

import pytest

from trilink.sensors import SENSORS, build_sensor, build_sensors, decode_sensor_specs, get_sensor
from trilink.sensors.radar import RotatingFace, snr_for_pd
from trilink.sensors.spec import CUSTOM_DEFAULTS, SensorSpec

CUSTOM = {
    "sensor_id": "gp-test",
    "nation": "KR",
    "lat_deg": 36.9,
    "lon_deg": 127.6,
    "alt_m": 300.0,
    "instrumented_range_km": 600.0,
    "faces": [{"boresight_az_deg": 330.0, "half_fov_az_deg": 60.0, "half_fov_el_deg": 90.0}],
}


def _error(raw: list[dict]) -> str:
    with pytest.raises(ValueError) as info:
        build_sensors(decode_sensor_specs(raw))
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_catalogue_name_gives_the_catalogue_radar():
    (r,) = build_sensors(decode_sensor_specs([{"name": "tpy2-shariki"}]))
    ref = get_sensor("tpy2-shariki")
    assert r.sensor_id == ref.sensor_id and r.nation == "US"
    assert r.lat_rad == pytest.approx(ref.lat_rad, abs=1e-15)
    assert r.instrumented_range_m == pytest.approx(ref.instrumented_range_m)
    assert r.snr_ref_db == pytest.approx(ref.snr_ref_db)
    assert r.faces[0].boresight_az_rad == pytest.approx(ref.faces[0].boresight_az_rad)
    assert r.range_rate_resolution_mps == ref.range_rate_resolution_mps


def test_every_catalogue_entry_round_trips():
    for key, entry in SENSORS.items():
        r = build_sensor(SensorSpec(name=key), "sensors[0]")
        assert r.revisit_s == entry.radar.revisit_s
        assert r.rotating == entry.radar.rotating
        assert r.pd(0.1, 500e3) == pytest.approx(float(entry.radar.pd(0.1, 500e3)), rel=1e-9)


def test_overrides_on_a_catalogue_radar():
    raw = [
        {"name": "fps5-sado", "nation": "US", "revisit_s": 2.0},
        {"name": "fps5-sado", "sensor_id": "fps5-sado-2", "pfa": 1e-6},
    ]
    a, b = build_sensors(decode_sensor_specs(raw))
    assert a.nation == "US" and a.revisit_s == 2.0 and a.sensor_id == "fps5-sado"
    # a new Pfa re-derives the operating point (Pd 0.5 at the reference)
    assert b.pfa == 1e-6
    assert b.snr_ref_db == pytest.approx(10 * math.log10(snr_for_pd(0.5, 1e-6)))


def test_custom_sensor_and_its_documented_defaults():
    (r,) = build_sensors(decode_sensor_specs([CUSTOM]))
    assert r.sensor_id == "gp-test" and r.nation == "KR"
    assert math.degrees(r.faces[0].boresight_az_rad) == pytest.approx(330.0)
    d = CUSTOM_DEFAULTS
    assert r.revisit_s == d["revisit_s"] == 1.0
    assert r.pfa == d["pfa"] == 1e-8
    assert r.rcs_ref_m2 == d["rcs_ref_m2"] == 0.1
    assert r.range_ref_m == r.instrumented_range_m == 600e3
    assert r.pd(0.1, 600e3) == pytest.approx(0.5)
    assert r.min_elevation_rad == 0.0 and math.degrees(r.max_elevation_rad) == pytest.approx(90)
    assert math.degrees(r.beamwidth_az_rad) == pytest.approx(d["beamwidth_az_deg"])
    assert r.range_resolution_m == d["range_resolution_m"] == 150.0
    assert not r.has_range_rate
    assert r.sigma_angle_floor_rad == pytest.approx(d["sigma_angle_floor_mrad"] * 1e-3)


def test_custom_rotating_sensor_from_toml():
    text = """
    [[sensors]]
    sensor_id = "rot"
    nation = "JP"
    lat_deg = 35.0
    lon_deg = 135.0
    instrumented_range_km = 400.0
    rotating = { boresight_el_deg = 20.0, half_fov_el_deg = 25.0 }
    range_rate_resolution_mps = 5.0
    """
    (r,) = build_sensors(decode_sensor_specs(tomllib.loads(text)["sensors"]))
    assert isinstance(r.faces, RotatingFace)
    assert math.degrees(r.faces.half_fov_el_rad) == pytest.approx(25.0)
    assert r.has_range_rate


# ----------------------------------------------------------------------------------
# Bad definitions: one line naming the field
# ----------------------------------------------------------------------------------
def test_unknown_catalogue_name():
    msg = _error([CUSTOM, CUSTOM | {"sensor_id": "b"}, {"name": "fps5-moon"}])
    assert msg.startswith("sensors[2].name: unknown catalogue sensor 'fps5-moon'; known: ")
    assert "fps5-sado" in msg and "tpy2-shariki" in msg


def test_negative_range():
    msg = _error([CUSTOM, CUSTOM | {"sensor_id": "b"}, CUSTOM | {"instrumented_range_km": -5}])
    assert msg == "sensors[2].instrumented_range_km: must be positive, got -5"


def test_negative_range_on_a_catalogue_override():
    msg = _error([{"name": "thaad-seongju", "instrumented_range_km": -600.0}])
    assert msg == "sensors[0].instrumented_range_km: must be positive, got -600"


def test_elevation_limits_reversed():
    msg = _error([CUSTOM | {"min_elevation_deg": 30.0, "max_elevation_deg": 5.0}])
    assert msg.startswith("sensors[0].max_elevation_deg: must be greater than min_elevation_deg")
    assert msg.endswith("got 5")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"nation": "CN"}, "sensors[0].nation: must be one of JP, KR, US, got 'CN'"),
        ({"lat_deg": 95.0}, "sensors[0].lat_deg: must be in [-90, 90], got 95"),
        ({"revisit_s": 0.0}, "sensors[0].revisit_s: must be positive, got 0"),
        ({"pfa": 0.5}, "sensors[0].pfa: must be in (0, 0.01], got 0.5"),
        (
            {"faces": [{"boresight_az_deg": 0.0, "half_fov_az_deg": 0.0, "half_fov_el_deg": 9}]},
            "sensors[0].faces[0].half_fov_az_deg: must be in (0, 180], got 0",
        ),
        (
            {"faces": []},
            "sensors[0].faces: a custom sensor needs at least one face (or rotating)",
        ),
    ],
)
def test_other_bad_values(change, expected):
    assert _error([CUSTOM | change]) == expected


def test_missing_required_field_of_a_custom_sensor():
    raw = {k: v for k, v in CUSTOM.items() if k != "lat_deg"}
    assert _error([raw]) == ("sensors[0].lat_deg: required for a custom sensor (no catalogue name)")


def test_decode_errors_name_the_field():
    assert (
        _error([CUSTOM | {"lat_deg": "north"}])
        == "sensors[0].lat_deg: Expected `float | null`, got `str`"
    )
    assert _error([CUSTOM, CUSTOM | {"range_km": 3.0}]) == "sensors[1].range_km: unknown field"


def test_duplicate_sensor_ids():
    msg = _error([{"name": "fps5-sado"}, {"name": "fps5-sado"}])
    assert msg.startswith("sensors[1].sensor_id: duplicate 'fps5-sado' (also sensors[0])")


def test_prefix_is_the_callers():
    with pytest.raises(ValueError, match=r"^scenario\.sensors\[0\]\.name: unknown"):
        build_sensors(decode_sensor_specs([{"name": "x"}]), prefix="scenario.sensors")
