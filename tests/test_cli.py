"""The `trilink` command, end to end in a subprocess."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trilink.geo.frames import ecef_to_geodetic


def _trilink(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trilink.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.slow
def test_fly_json_with_apogee_and_range(tmp_path: Path) -> None:
    truth = tmp_path / "truth.csv"
    p = _trilink(
        "fly",
        "--missile",
        "hwasong-18",
        "--site",
        "samsok",
        "--azimuth-deg",
        "80",
        "--apogee-km",
        "6000",
        "--range-km",
        "1000",
        "--json",
        "--truth",
        str(truth),
    )
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    for key in (
        "apogee_km",
        "range_km",
        "flight_time_s",
        "impact_lat_deg",
        "impact_lon_deg",
        "burnout_time_s",
        "burnout_speed_mps",
        "stages",
    ):
        assert key in r, key
    assert r["apogee_km"] == pytest.approx(6000, rel=1e-3)
    assert r["range_km"] == pytest.approx(1000, rel=1e-3)
    assert len(r["stages"]) == 3
    for s in r["stages"]:
        assert set(s) >= {"separation_time_s", "impact_lat_deg", "impact_lon_deg", "impact_time_s"}
    # The truth file follows the contract and ends at the reported impact.
    with truth.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "time_s",
        "object_id",
        "x_ecef_m",
        "y_ecef_m",
        "z_ecef_m",
        "vx_ecef_mps",
        "vy_ecef_mps",
        "vz_ecef_mps",
        "kind",
    ]
    last = [row for row in rows if row["object_id"].endswith("warhead")][-1]
    lat, _lon, alt = ecef_to_geodetic(
        np.array([float(last[c]) for c in ("x_ecef_m", "y_ecef_m", "z_ecef_m")])
    )
    assert abs(alt) < 0.01
    assert math.degrees(lat) == pytest.approx(r["impact_lat_deg"], abs=1e-4)
    assert float(last["time_s"]) == pytest.approx(r["flight_time_s"], abs=0.01)


def test_fly_defaults_and_shape() -> None:
    p = _trilink("fly", "--missile", "kn-23", "--trajectory", "depressed", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["site_lat_deg"] == pytest.approx(39.2) and r["azimuth_deg"] == pytest.approx(90.0)
    assert r["stages"] == []  # the KN-23 body reenters with its warhead


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--missile", "nodong-9"), "--missile: unknown missile 'nodong-9'"),
        (("--missile", "kn-23", "--site", "atlantis"), "--site: unknown launch site"),
        (("--missile", "kn-23", "--trajectory", "sideways"), "--trajectory"),
        (("--missile", "kn-23", "--apogee-km", "50"), "--apogee-km: needs --range-km"),
    ],
)
def test_fly_bad_arguments_one_line(args: tuple[str, ...], words: str) -> None:
    p = _trilink("fly", *args)
    assert p.returncode == 2
    assert words in p.stderr and "Traceback" not in p.stderr
    assert len([ln for ln in p.stderr.splitlines() if ln.strip()]) == 1


def test_scenarios_lists_builtins() -> None:
    p = _trilink("scenarios")
    assert p.returncode == 0
    assert "hwasong18-2023-04-13" in p.stdout and "irbm-2022-10-04" in p.stdout


def test_run_default_writes_truth(tmp_path: Path) -> None:
    p = _trilink("run", "--no-track", "--out", str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert "hwasong18-2023-04-13" in p.stdout
    with (tmp_path / "truth.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    kinds = {r["kind"] for r in rows}
    assert kinds == {"warhead", "stage", "debris"}
    times = np.array([float(r["time_s"]) for r in rows])
    assert np.all(np.diff(times) >= 0), "time-ordered"


def test_detect_writes_parquet_contract_tables(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    p = _trilink("detect", "--format", "parquet", "--out", str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert "Japan sees it" in p.stdout
    expect = {
        "sensors": [
            "sensor_id",
            "nation",
            "lat_deg",
            "lon_deg",
            "alt_m",
            "sigma_range_m",
            "sigma_az_rad",
            "sigma_el_rad",
        ],
        "detections": ["time_s", "sensor_id", "range_m", "az_rad", "el_rad"],
        "truth": [
            "time_s",
            "object_id",
            "x_ecef_m",
            "y_ecef_m",
            "z_ecef_m",
            "vx_ecef_mps",
            "vy_ecef_mps",
            "vz_ecef_mps",
            "kind",
        ],
    }
    for name, cols in expect.items():
        table = pq.read_table(tmp_path / f"{name}.parquet")
        assert table.column_names[: len(cols)] == cols, name
        assert table.num_rows > 0
    det = pq.read_table(tmp_path / "detections.parquet").to_pydict()
    sens = set(pq.read_table(tmp_path / "sensors.parquet").to_pydict()["sensor_id"])
    assert set(det["sensor_id"]) <= sens, "every detection's sensor is in the sensors table"


def test_run_reports_space_ir_launch_notice(tmp_path: Path) -> None:
    """The US notice names a launch point; the truth must sit inside its stated 95 % radius."""
    p = _trilink("run", "--no-track", "--out", str(tmp_path))
    assert p.returncode == 0, p.stderr
    line = " ".join(p.stdout.split())
    assert "US space-IR launch notice for T1" in line
    import re

    m = re.search(r"± ([\d.]+) km \(95 %\).*truth is ([\d.]+) km", line)
    assert m, line
    radius_km, error_km = float(m.group(1)), float(m.group(2))
    assert 0.0 < error_km <= radius_km


def test_coverage_writes_png_and_ranges(tmp_path: Path) -> None:
    png = tmp_path / "cov.png"
    p = _trilink("coverage", "greenpine-b-chungbuk", "--altitude-km", "100", "--png", str(png))
    assert p.returncode == 0, p.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    m = [ln for ln in p.stdout.splitlines() if ln.startswith("greenpine-b-chungbuk")]
    ground_km = float(m[0].split("out to ")[1].split()[0])
    # Independent bound: a 100 km target is over the 4/3-Earth radar horizon of a
    # ground site at sqrt(2 k R h) ≈ 1,306 km; the instrumented range cuts it shorter.
    assert 300.0 < ground_km < 1306.0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("coverage", "no-such-radar"), "SENSORS"),
        (("coverage", "fps5-sado", "--altitude-km", "-50"), "--altitude-km"),
    ],
)
def test_coverage_bad_arguments_one_line(args: tuple[str, ...], words: str) -> None:
    p = _trilink(*args)
    assert p.returncode != 0
    err = p.stderr.strip()
    assert "\n" not in err and words in err, err


@pytest.mark.slow
def test_run_with_tracking_writes_each_nations_tracks(tmp_path: Path) -> None:
    p = _trilink("run", "--out", str(tmp_path), timeout=900)  # tracking is the default
    assert p.returncode == 0, p.stderr
    for nation in ("JP", "KR", "US"):
        with (tmp_path / f"tracks_{nation}.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        assert rows, nation
        assert {"warhead", "stage"} <= {r["kind"] for r in rows}, nation
        assert (tmp_path / f"tracks_{nation}.png").read_bytes()[:4] == b"\x89PNG"
        assert f"{nation} node: confirmed tracks" in " ".join(p.stdout.split())
