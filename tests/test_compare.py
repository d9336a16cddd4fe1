"""``trilink compare``: four warning configurations on one run's draws (issue 7, item 5).

Fast: the scoring rules (false / missed alerts, warning time) on hand-made timelines, the
truth's threatened prefectures on a hand-made flight, the CLI's errors.

Slow (one module fixture, both scenarios at once: the IRBM through the CLI module in a
subprocess with ``--json`` while the seed runs in-process):

* seed (Hwasong-18, 2023-04-13 geometry): linked has no take-cover and no false alert,
  its launch notice within 60 s; Japan alone gives the false take-cover for Hokkaido
  (measured: T+1890 s, withdrawn 15 s later), as Japan did on the day;
* IRBM over Aomori (2022-10-04): linked takes cover for Aomori (JP-02) only, ≥ 180 s
  before the overflight; the JSON contract (fields and types) of every configuration.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest
from rich.console import Console

from trilink.geo.frames import geodetic_to_ecef
from trilink.warning.compare import (
    CONFIGURATIONS,
    JSON_FIELDS,
    on_grid,
    score_alerts,
    true_threats,
)
from trilink.warning.policy import AlertDecision
from trilink.warning.timeline import AlertTimeline

SEED = "hwasong18-2023-04-13"
IRBM = "irbm-2022-10-04"
FIELDS = (  # the contract, spelled out here so that the module cannot drift
    "first_detection_s",
    "first_track_s",
    "launch_notice_s",
    "first_take_cover_s",
    "take_cover_regions",
    "false_alerts",
    "missed_alerts",
    "warning_time_s",
)
TIMES = ("first_detection_s", "first_track_s", "launch_notice_s", "first_take_cover_s")


def _cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trilink.cli.compare_cmds", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ | {"COLUMNS": "200"},
    )


# ------------------------------------------------------------------ fast: scoring rules


def _tl(*take_covers: tuple[float, tuple[str, ...]]) -> AlertTimeline:
    ds = tuple(
        AlertDecision(
            seq=i + 1,
            t_s=t,
            action="take_cover",
            msg_type="Alert" if i == 0 else "Update",
            regions=codes,
            active=codes,
            headline="",
            description="",
        )
        for i, (t, codes) in enumerate(take_covers)
    )
    return AlertTimeline(decisions=ds, assessments=(), launch_time_s=0.0)


def test_contract_fields():
    assert JSON_FIELDS == FIELDS
    assert CONFIGURATIONS == ("jp", "kr", "us", "linked")


@pytest.mark.parametrize(
    ("timeline", "threatened", "expected"),
    [
        # right prefecture in time, plus one the truth never touches
        (_tl((85.0, ("JP-02",)), (100.0, ("JP-01",))), {"JP-02": 350.0}, (1, 0, 265.0)),
        # too late: a miss, and the warning time is negative
        (_tl((400.0, ("JP-02",))), {"JP-02": 350.0}, (0, 1, -50.0)),
        # at the event is not before it
        (_tl((350.0, ("JP-02",))), {"JP-02": 350.0}, (0, 1, 0.0)),
        # nothing said: a miss, no warning time
        (_tl(), {"JP-02": 350.0}, (0, 1, None)),
        # two threatened prefectures: the least warning counts
        (
            _tl((100.0, ("JP-02", "JP-03")), (200.0, ("JP-05",))),
            {"JP-02": 350.0, "JP-05": 360.0, "JP-03": 340.0},
            (0, 0, 160.0),
        ),
        # nothing threatened (the seed): every take-cover is false
        (_tl((1890.0, ("JP-01",))), {}, (1, 0, None)),
    ],
)
def test_alert_scores(timeline, threatened, expected):
    assert score_alerts(timeline, threatened) == expected


def test_national_pictures_on_the_hub_grid():
    pics = [(2.0, {"time_s": np.array([2.0])}), (3.0, {"time_s": np.array([3.0])})]
    out = on_grid(pics, [0.0, 1.0, 2.0, 3.0, 4.0])
    assert [t for t, _ in out] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert [len(c) for _, c in out] == [0, 0, 1, 1, 0]


@dataclass(frozen=True)
class _Obj:
    """A stand-in truth object: a straight geodetic path from (lat0, lon0) to
    (lat1, lon1) at a constant height, impact at the end."""

    kind: str
    lat_deg: tuple[float, float]
    lon_deg: tuple[float, float]
    alt_m: float
    t_start_s: float = 0.0
    t_impact_s: float = 100.0

    @property
    def impact_lat_rad(self) -> float:
        return math.radians(self.lat_deg[1])

    @property
    def impact_lon_rad(self) -> float:
        return math.radians(self.lon_deg[1])

    def states_at(self, t_s):
        s = (np.asarray(t_s, dtype=float) - self.t_start_s) / (self.t_impact_s - self.t_start_s)
        lat = np.radians(self.lat_deg[0] + s * (self.lat_deg[1] - self.lat_deg[0]))
        lon = np.radians(self.lon_deg[0] + s * (self.lon_deg[1] - self.lon_deg[0]))
        r = geodetic_to_ecef(lat, lon, np.full(s.shape, self.alt_m))
        return np.column_stack([r, np.zeros_like(r)])


@dataclass(frozen=True)
class _Flight:
    objects: tuple[_Obj, ...]


def test_true_threats_overflight_above_100km_and_impacts():
    # a warhead across Aomori at 40.8° N, 200 km up, falling in the Pacific (sea)
    wh = _Obj("warhead", (40.8, 40.8), (139.0, 143.0), 200e3)
    # a low pass over Hokkaido (50 km: inside the atmosphere, not an overflight) ending
    # in the sea, and a stage coming down at Sapporo (a hit, at its impact time)
    low = _Obj("warhead", (43.0, 43.0), (140.0, 146.5), 50e3)
    stage = _Obj("stage", (43.06, 43.06), (141.35, 141.35), 0.0, 10.0, 80.0)
    got = true_threats([_Flight((wh, low, stage))])
    assert set(got) == {"JP-02", "JP-01"}, got
    # the first 1 s sample over Aomori: its Sea of Japan coast at 40.8° N is near
    # 140.3° E (Tsugaru coast), 0.04°/s from 139° E → about 32 s into the pass
    assert 28.0 <= got["JP-02"] <= 36.0, got
    assert got["JP-01"] == 80.0
    # over the Yellow Sea only: nothing threatened
    assert true_threats([_Flight((_Obj("warhead", (35.0, 35.0), (123.0, 125.0), 2e5),))]) == {}


# ------------------------------------------------------------------ fast: CLI errors


@pytest.mark.parametrize("args", [("no-such-scenario",), ("no-such-scenario", "--json")])
def test_bad_scenario_one_line_exit_2(args):
    r = _cli(*args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-scenario" in lines[0], r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_missing_file_one_line_exit_2(tmp_path):
    r = _cli(str(tmp_path / "absent.toml"), "--json")
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_help_lists_json():
    r = _cli("--help")
    assert r.returncode == 0 and "--json" in r.stdout and "SCENARIO" in r.stdout


# ------------------------------------------------------------------ slow: the scenarios


def _check_json(obj: object) -> None:
    """Fields and types of the ``--json`` object (issue 7, item 5)."""
    assert isinstance(obj, dict) and list(obj) == ["jp", "kr", "us", "linked"], obj
    for name, c in obj.items():
        assert isinstance(c, dict) and tuple(c) == FIELDS, (name, c)
        for k in (*TIMES, "warning_time_s"):
            v = c[k]
            assert v is None or (isinstance(v, float) and math.isfinite(v)), (name, k, v)
        for k in TIMES:
            assert c[k] is None or c[k] >= 0.0, (name, k, c[k])
        for k in ("false_alerts", "missed_alerts"):
            assert isinstance(c[k], int) and not isinstance(c[k], bool) and c[k] >= 0
        regs = c["take_cover_regions"]
        assert isinstance(regs, list) and regs == sorted(set(regs)), (name, regs)
        assert all(isinstance(x, str) and re.fullmatch(r"JP-\d\d", x) for x in regs), regs
        assert (c["first_take_cover_s"] is None) == (regs == []), (name, c)
        assert c["false_alerts"] <= len(regs)


@pytest.fixture(scope="module")
def runs():
    """(seed RunResult, seed Comparison, IRBM CLI process): each scenario runs once."""
    from trilink.scenario.build import get_scenario
    from trilink.sim.run import run_scenario
    from trilink.warning.compare import compare_run

    env = os.environ | {"COLUMNS": "200", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "trilink.cli.compare_cmds", IRBM, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        seed = run_scenario(get_scenario(SEED), track=True, link=True, warn=True)
        cmp = compare_run(seed)
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return seed, cmp, subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.slow
def test_seed_linked_quiet_japan_alone_false_hokkaido(runs):
    seed, cmp, _ = runs
    c = cmp.configurations
    table = Console(width=160, record=True)
    from trilink.cli.compare_cmds import _notes, _table

    table.print(_table(cmp))
    text = table.export_text()
    print(text, *_notes(cmp), sep="\n")
    for label in ("first detection", "false alerts", "missed alerts", "warning time", "linked"):
        assert label in text
    obj = json.loads(json.dumps(cmp.to_json(), allow_nan=False))
    _check_json(obj)
    assert cmp.threatened == {}, cmp.threatened  # the missile fell outside the EEZ
    linked, jp = obj["linked"], obj["jp"]
    assert linked["take_cover_regions"] == [] and linked["false_alerts"] == 0, linked
    assert linked["missed_alerts"] == 0 and linked["warning_time_s"] is None
    assert linked["launch_notice_s"] is not None and linked["launch_notice_s"] <= 60.0, linked
    # Japan alone (single-hypothesis tracker, no stage handling): measured a take-cover
    # for Hokkaido at T+1890 s, cancelled at T+1905 s, as on 2023-04-13 (T+33 min)
    assert "JP-01" in jp["take_cover_regions"] and jp["false_alerts"] >= 1, jp
    # the hub sees what its partners' radars see, as early as the earliest of them
    firsts = [obj[k]["first_detection_s"] for k in ("jp", "kr", "us")]
    assert linked["first_detection_s"] == min(f for f in firsts if f is not None)
    # the space-IR notice is the US's: us and linked only
    t0 = cmp.launch_time_s
    issued = min(n.issued_s for n in seed.launch_notices) - t0
    assert 0.0 <= obj["us"]["launch_notice_s"] - issued <= 1.0 + 1e-9, (obj["us"], issued)
    for k in ("jp", "kr"):
        ln = c[k].timeline.first("launch_notice")
        assert ln is None or "space-IR" not in ln.description, ln
    assert not c["jp"].has_space_ir and not c["kr"].has_space_ir
    assert c["us"].has_space_ir and c["linked"].has_space_ir
    # linked reuses the run's own alert timeline (one run, one decision record)
    assert c["linked"].timeline is seed.alerts


@pytest.mark.slow
def test_irbm_json_linked_aomori_3_min_ahead(runs):
    _, _, r = runs
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1, r.stdout[:2000]
    obj = json.loads(lines[0])
    _check_json(obj)
    print(json.dumps(obj, indent=1))
    linked, jp = obj["linked"], obj["jp"]
    assert linked["take_cover_regions"] == ["JP-02"], linked  # Aomori, nothing else
    assert linked["false_alerts"] == 0 and linked["missed_alerts"] == 0, linked
    assert linked["warning_time_s"] >= 180.0, linked
    assert linked["launch_notice_s"] <= linked["first_take_cover_s"], linked
    print(
        f"IRBM take-cover for Aomori: linked {linked['warning_time_s']:.0f} s before the "
        f"overflight, Japan alone {jp['warning_time_s']} s"
    )
