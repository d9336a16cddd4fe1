"""``trilink export``: default names, partner views, and one-line errors naming the field.

Also the partner view itself (:func:`trilink.export.partner.partner_view`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from picture_run import KR_RELEASED_FROM_S, make_run
from trilink.cli.main import app
from trilink.export.partner import partner_view
from trilink.export.runfolder import read_run


def _run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, ["export", *args])
    return r.exit_code, r.output


def _one_line_error(code: int, out: str, field: str) -> None:
    assert code == 2, out
    lines = [x for x in out.splitlines() if x.strip()]
    assert len(lines) == 1, out
    assert lines[0].startswith("error:") and field in lines[0], out
    assert "Traceback" not in out


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path / "run")


def test_missing_run_json_names_the_file(tmp_path: Path) -> None:
    code, out = _run(str(tmp_path), "--format", "czml")
    _one_line_error(code, out, "run.json")


def test_missing_folder(tmp_path: Path) -> None:
    code, out = _run(str(tmp_path / "nope"), "--format", "czml")
    _one_line_error(code, out, "DIR")


def test_unknown_format(run_dir: Path) -> None:
    code, out = _run(str(run_dir), "--format", "shapefile")
    _one_line_error(code, out, "--format")


@pytest.mark.parametrize(
    ("fmt", "url"),
    [
        ("cot", "http://localhost:8087"),
        ("cot", "tcp://localhost"),
        ("cot", "tcp://:8087"),
        ("cot", "tcp://localhost:99999"),
        ("dis", "tcp://localhost:3000"),
        ("czml", "tcp://localhost:8087"),
    ],
)
def test_bad_to_url(run_dir: Path, fmt: str, url: str) -> None:
    code, out = _run(str(run_dir), "--format", fmt, "--to", url)
    _one_line_error(code, out, "--to")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--as", "FR"], "--as"),
        (["--speed", "2"], "--speed"),
        (["--step-s", "-1"], "--step-s"),
        (["--out", "/no/such/folder/p.czml"], "--out"),
    ],
)
def test_other_bad_options(run_dir: Path, args: list[str], field: str) -> None:
    code, out = _run(str(run_dir), "--format", "czml", *args)
    _one_line_error(code, out, field)


def test_corrupt_table_is_one_line(run_dir: Path) -> None:
    (run_dir / "system_tracks.csv").write_text("time_s,global_track_number\n1,2\n")
    code, out = _run(str(run_dir), "--format", "geojson")
    _one_line_error(code, out, "system_tracks.csv")


def test_default_names_in_dir(run_dir: Path) -> None:
    for fmt, name in (
        ("czml", "picture.czml"),
        ("kml", "picture.kml"),
        ("geojson", "picture.geojson"),
    ):
        code, out = _run(str(run_dir), "--format", fmt)
        assert code == 0, out
        assert (run_dir / name).stat().st_size > 1000
        assert "wrote" in out and name in out
    code, out = _run(str(run_dir), "--format", "GeoJSON", "--as", "kr")
    assert code == 0, out
    doc = json.loads((run_dir / "picture_KR.geojson").read_text())
    assert doc["trilink"]["partner_view"] == "KR"
    assert not list(run_dir.glob(".*.tmp")), "temporary files left behind"


def test_out_file(run_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.czml"
    code, out = _run(str(run_dir), "--format", "czml", "--out", str(target))
    assert code == 0, out
    assert json.loads(target.read_text())[0]["id"] == "document"


def test_partner_view_selects_released_rows_and_own_data(run_dir: Path) -> None:
    run = read_run(run_dir)
    kr = partner_view(run, "KR")
    sys2 = kr.system_tracks[kr.system_tracks.global_track_number == 2]
    assert sys2.time_s.min() == KR_RELEASED_FROM_S  # refused before
    full2 = run.system_tracks[run.system_tracks.global_track_number == 2]
    assert len(sys2) == (full2.time_s >= KR_RELEASED_FROM_S).sum()
    assert len(kr.system_tracks[kr.system_tracks.global_track_number == 1]) == 21
    assert "members" not in kr.system_tracks.columns
    assert list(kr.national_tracks) == ["KR"]
    assert kr.sensors.nation.tolist() == ["KR"]
    assert kr.truth is None and kr.manifest["partner_view"] == "KR"
    assert run.manifest.get("partner_view") is None, "the original is unchanged"
    jp = partner_view(run, "JP")
    assert len(jp.system_tracks) == len(run.system_tracks)
    with pytest.raises(ValueError, match="HUB"):
        partner_view(run, "HUB")


def test_partner_view_needs_the_event_log(tmp_path: Path) -> None:
    run = read_run(make_run(tmp_path / "r", events=False))
    with pytest.raises(ValueError, match=r"events\.jsonl"):
        partner_view(run, "JP")


def test_seed_as_jp_shows_nothing_of_korea(seed_run_dir: Path, tmp_path: Path) -> None:
    """``--as JP`` on the seed: no KR national track and no KR radar site anywhere in
    the CZML; the full export has both (control)."""
    run = read_run(seed_run_dir)
    kr_sites = run.sensors[run.sensors.nation == "KR"].sensor_id.tolist()
    assert kr_sites and "KR" in run.national_tracks
    full = tmp_path / "full.czml"
    code, out = _run(str(seed_run_dir), "--format", "czml", "--out", str(full))
    assert code == 0, out
    text = full.read_text()
    assert "track/KR/" in text and all(s in text for s in kr_sites)
    jp = tmp_path / "jp.czml"
    code, out = _run(str(seed_run_dir), "--format", "czml", "--as", "JP", "--out", str(jp))
    assert code == 0, out
    packets = json.loads(jp.read_text())
    text = jp.read_text()
    assert not any(p["id"].startswith("track/KR/") for p in packets)
    assert not any(s in text for s in kr_sites)
    assert "KR:" not in text, "national track ids of KR (members) must not leak"
    assert any(p["id"].startswith("track/JP/") for p in packets)
    assert any(p["id"].startswith("track/system/") for p in packets)
    sensors = [p["id"] for p in packets if p["id"].startswith("sensor/")]
    assert sensors and all(
        run.sensors.set_index("sensor_id").nation[s.removeprefix("sensor/")] == "JP"
        for s in sensors
    )


def test_partner_view_refuses_the_whole_event_log(tmp_path: Path) -> None:
    """A partner's copy never hands out the run's full events.jsonl."""
    from trilink.export.runfolder import RunFolderError

    run = read_run(make_run(tmp_path / "run"))
    assert next(iter(run.events()), None) is not None
    view = partner_view(run, "JP")
    assert view.partner == "JP"
    with pytest.raises(RunFolderError, match="JP's view"):
        next(iter(view.events()))
