"""Scenario files: valid ones load, bad ones give one-line errors naming the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trilink.scenario.build import builtin_names, get_scenario, scenario_launches
from trilink.scenario.schema import ScenarioError, parse_scenario

GOOD = """
[scenario]
name = "t"
epoch_utc = 2023-04-12T22:22:00Z
duration_s = 3000.0
seed = 1

[[threats]]
id = "T1"
missile = "hwasong-12"
site = "sunan"
azimuth_deg = 90.0
[threats.steering]
pitch_first_deg = 45.0
"""


def test_builtins_include_the_seed_and_the_aomori_irbm() -> None:
    names = builtin_names()
    assert "hwasong18-2023-04-13" in names and "irbm-2022-10-04" in names
    for n in names:
        assert get_scenario(n).name == n


def test_good_file_parses_and_builds() -> None:
    spec = parse_scenario(GOOD, "good.toml")
    assert spec.threats[0].missile == "hwasong-12"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (('missile = "hwasong-12"\n', ""), "threats[0].missile", "missing required field"),
        (("hwasong-12", "nodong-9"), "threats[0].missile", "unknown missile 'nodong-9'"),
        (('site = "sunan"', "lat_deg = 200.0\nlon_deg = 125.0"), "threats[0].lat_deg", "<= 90"),
        (('site = "sunan"', 'site = "atlantis"'), "threats[0].site", "unknown launch site"),
        (("duration_s = 3000.0", "duration_s = -5.0"), "scenario.duration_s", "> 0"),
        (("duration_s = 3000.0\n", ""), "scenario.duration_s", "missing required field"),
        (("azimuth_deg = 90.0", 'azimuth_deg = "east"'), "threats[0].azimuth_deg", "float"),
        (
            ("pitch_first_deg = 45.0", "pitch_first_deg = 95.0"),
            "threats[0].steering.pitch_first_deg",
            "<= 90",
        ),
        (("seed = 1", 'seed = 1\ncolour = "red"'), "scenario.colour", "unknown field"),
        (("2023-04-12T22:22:00Z", "2023-04-12T22:22:00"), "scenario.epoch_utc", "UTC offset"),
        (('id = "T1"', 'id = ""'), "threats[0].id", "length"),
        (
            ("[threats.steering]\npitch_first_deg = 45.0", "apogee_km = 100.0"),
            "threats[0].range_km",
            "apogee_km needs range_km",
        ),
    ],
)
def test_bad_file_error_names_the_field(change: tuple[str, str], field: str, words: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.toml")
    msg = str(info.value)
    assert "\n" not in msg, "one line"
    assert msg.startswith("bad.toml: "), msg
    assert info.value.field == field, msg
    assert words in msg, msg


def test_not_toml_at_all() -> None:
    with pytest.raises(ScenarioError, match=r"bad.toml: \(file\): not valid TOML"):
        parse_scenario("[scenario\nname=", "bad.toml")


def test_unreachable_trajectory_names_the_threat() -> None:
    text = GOOD.replace(
        "[threats.steering]\npitch_first_deg = 45.0",
        'trajectory = "lofted"\napogee_km = 9000.0\nrange_km = 9000.0',
    ).replace("hwasong-12", "kn-23")
    sc = get_scenario.__wrapped__ if hasattr(get_scenario, "__wrapped__") else None
    del sc
    from trilink.scenario.build import Scenario

    scenario = Scenario(spec=parse_scenario(text, "far.toml"), source="far.toml")
    with pytest.raises(ScenarioError, match=r"far.toml: threats\[0\]: kn-23: cannot reach"):
        scenario_launches(scenario)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("hwasong-12", "nodong-9"), "threats[0].missile"),
        (('site = "sunan"', "lat_deg = 200.0\nlon_deg = 125.0"), "threats[0].lat_deg"),
        (('missile = "hwasong-12"\n', ""), "threats[0].missile"),
    ],
)
def test_cli_prints_one_line_without_traceback(
    tmp_path: Path, change: tuple[str, str], field: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace(*change))
    proc = subprocess.run(
        [sys.executable, "-m", "trilink.cli.main", "run", str(bad), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "400", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert field in lines[0] and "Traceback" not in proc.stderr


# Property: whatever value lands in any field, parsing either succeeds or raises a
# ScenarioError naming a field, never another exception.

_FIELDS = [
    "duration_s",
    "seed",
    "azimuth_deg",
    "pitch_first_deg",
    "missile",
    "site",
    "id",
    "epoch_utc",
]
_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda x: (
            "nan"
            if x != x
            else ("inf" if x == float("inf") else ("-inf" if x == float("-inf") else repr(x)))
        )
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=12).map(lambda s: '"' + s.replace("\\", "").replace('"', "") + '"'),
    st.sampled_from(["true", "[]", "{}", "1979-05-27T07:32:00Z", '"hwasong-18"']),
)


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(_FIELDS), value=_VALUES)
def test_any_value_in_any_field_gives_a_scenario_error_or_parses(field: str, value: str) -> None:
    lines = []
    for line in GOOD.splitlines():
        if line.split("=")[0].strip() == field:
            line = f"{field} = {value}"
        lines.append(line)
    try:
        parse_scenario("\n".join(lines), "prop.toml")
    except ScenarioError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("prop.toml: ")


@pytest.mark.parametrize(
    ("sensor", "field", "words"),
    [
        ('name = "fps9-atlantis"', "sensors[0].name", "fps5-sado"),
        (
            'name = "tpy2-shariki"\ninstrumented_range_km = -5.0',
            "sensors[0].instrumented_range_km",
            "positive",
        ),
        (
            'name = "tpy2-shariki"\nmin_elevation_deg = 30.0\nmax_elevation_deg = 10.0',
            "sensors[0].",
            "elevation",
        ),
        ('name = "tpy2-shariki"\ncolour = "red"', "sensors[0].colour", "unknown field"),
    ],
)
def test_bad_sensor_in_scenario_names_the_field(sensor: str, field: str, words: str) -> None:
    text = GOOD + "\n[[sensors]]\n" + sensor + "\n"
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.toml")
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("bad.toml: " + field), msg
    assert words in msg, msg


def test_scenario_sensors_default_to_the_catalogue_and_can_be_listed() -> None:
    from trilink.scenario.build import Scenario
    from trilink.sensors import all_sensors

    sc = Scenario(spec=parse_scenario(GOOD, "g.toml"), source="g.toml")
    assert len(sc.sensors()) == len(all_sensors()) >= 12
    text = GOOD + '\n[[sensors]]\nname = "tpy2-shariki"\n[[sensors]]\nname = "fps5-sado"\n'
    sc2 = Scenario(spec=parse_scenario(text, "g.toml"), source="g.toml")
    assert [s.sensor_id for s in sc2.sensors()] == ["tpy2-shariki", "fps5-sado"]
