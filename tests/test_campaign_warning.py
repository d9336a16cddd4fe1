"""Campaigns with the public-alert chain (issue 7's Monte Carlo): the spec option, the
per-prefecture rates against hand counts, the built-in warning spec, and one real
draw scored against the truth (`trilink.warning.compare.true_threats`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from trilink.evaluation.campaign import run_campaign
from trilink.evaluation.campaign_spec import CampaignSpecError, get_spec, parse_spec
from trilink.evaluation.report import build_report, prefecture_alert_rates, wilson_interval

WARN = """
[campaign]
name = "warn-tiny"
seed = 11
window_s = 700.0
chunk_runs = 2
configurations = ["jp", "linked"]
warning = ["jp", "linked"]

[sampling]
sites = ["sinpo"]
azimuth_deg = [75.0, 85.0]
launch_time_s = [0.0, 0.0]
salvo = [1, 1]
salvo_spacing_s = [5.0, 10.0]

[sampling.missiles]
"hwasong-12" = 1.0

[sampling.trajectories]
minimum-energy = 1.0

[steering]
"hwasong-12/minimum-energy" = { pitch_first_deg = 14.866410803 }
"""


def test_warning_must_name_a_compared_configuration() -> None:
    bad = WARN.replace('warning = ["jp", "linked"]', 'warning = ["jp", "us"]')
    with pytest.raises(CampaignSpecError) as ei:
        parse_spec(bad.encode(), "w.toml")
    assert "campaign.warning[1]" in str(ei.value) and "'us'" in str(ei.value)


def test_builtin_warning_spec_is_valid_and_solved() -> None:
    spec = get_spec("warning")
    assert spec.missing_steering() == []
    assert spec.campaign.warning == ["jp", "linked"]
    # aimed at and over Japan: the window holds an IRBM's overflight and an SRBM's impact
    assert spec.campaign.window_s >= 1200.0


def _rows(recs: list[tuple[int, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(r, c, m, v, "s" if m.endswith("_s") or ":" in m else "count") for r, c, m, v in recs],
        columns=["run", "configuration", "metric", "value", "unit"],
    )


def test_prefecture_rates_match_hand_counts() -> None:
    recs: list[tuple[int, str, str, float]] = []
    for r in range(5):
        for c in ("jp", "linked"):
            recs.append((r, c, "alert_false", 0.0))
    # Aomori (JP-02) threatened in runs 0, 1, 2 at 300 s
    for r in (0, 1, 2):
        for c in ("jp", "linked"):
            recs.append((r, c, "threat_s:JP-02", 300.0))
    # jp: warned in run 0 in time (100 s), in run 1 too late (310 s), not in run 2,
    #     and told to take cover in run 3 (not threatened): 2 missed of 3, 1 false of 1
    #     (run 4, below, is threatened after the window: not counted either way)
    recs += [
        (0, "jp", "take_cover_s:JP-02", 100.0),
        (1, "jp", "take_cover_s:JP-02", 310.0),
        (3, "jp", "take_cover_s:JP-02", 50.0),
    ]
    # linked: warned in time in all three, nothing else: 0 missed, 0 false
    recs += [(r, "linked", "take_cover_s:JP-02", 120.0 + r) for r in (0, 1, 2)]
    # run 4: Aomori threatened after the window; jp warns (right, not false), linked
    # does not (cannot be judged): run 4 is neither threatened nor unthreatened
    recs += [(4, c, "late_threat_s:JP-02", 2000.0) for c in ("jp", "linked")]
    recs += [(4, "jp", "take_cover_s:JP-02", 1400.0)]
    rates = prefecture_alert_rates(_rows(recs)).set_index(["prefecture", "configuration"])
    jp, lk = rates.loc[("JP-02", "jp")], rates.loc[("JP-02", "linked")]
    assert (jp.threatened_runs, jp.missed, jp.unthreatened_runs, jp.false) == (3, 2, 1, 1)
    assert (lk.threatened_runs, lk.missed, lk.unthreatened_runs, lk.false) == (3, 0, 1, 0)
    assert (jp.missed_ci_low, jp.missed_ci_high) == wilson_interval(2, 3)
    assert (jp.false_ci_low, jp.false_ci_high) == wilson_interval(1, 1)
    assert jp["name"] == "Aomori"
    # leads of the runs with a take-cover: 200 s and -10 s (late) -> median 95 s
    assert jp.median_lead_s == pytest.approx(95.0)
    assert lk.median_lead_s == pytest.approx(300.0 - 121.0)
    # the report keeps these rows out of its per-metric tables, and draws the leads
    recs += [(r, c, "alert_warning_time_s", 200.0 - r) for r in (0, 1) for c in ("jp", "linked")]
    rep = build_report(_rows(recs), figures=True)
    assert not rep.metrics["metric"].astype(str).str.contains(":").any()
    assert rep.alert_rates is not None and len(rep.alert_rates) == 2
    assert "alert_lead" in rep.figures


@pytest.mark.slow
def test_warning_campaign_scores_a_real_overflight(tmp_path) -> None:
    from trilink.evaluation.campaign import _launches, draw_run
    from trilink.threats.flight import fly_batch
    from trilink.warning.compare import true_threats

    spec = parse_spec(WARN.encode(), "warn-tiny.toml")
    df = run_campaign(spec, 2, tmp_path / "c", workers=0)
    for run in (0, 1):
        sub = df[df["run"] == run]
        flights = fly_batch(_launches(spec, draw_run(spec, run)), record=True)
        t0 = min(f.launch.t_launch_s for f in flights)
        every = {k: v - t0 for k, v in true_threats(flights).items()}
        truth = {k: v for k, v in every.items() if v <= 700.0}
        assert truth, "a Hwasong-12 at azimuth 75-85° from Sinpo overflies northern Japan"
        for c in ("jp", "linked"):
            mine = sub[sub["configuration"] == c].set_index("metric")["value"]
            threat = {m.split(":")[1]: v for m, v in mine.items() if m.startswith("threat_s:")}
            assert threat == pytest.approx(truth)
            late = {m.split(":")[1]: v for m, v in mine.items() if m.startswith("late_threat_s:")}
            assert late == pytest.approx({k: v for k, v in every.items() if v > 700.0})
            tc = {m.split(":")[1]: v for m, v in mine.items() if m.startswith("take_cover_s:")}
            missed = sum(1 for k, t in truth.items() if not (tc.get(k, math.inf) < t))
            false = sum(1 for k in tc if k not in every)
            assert mine["alert_missed"] == missed and mine["alert_false"] == false
            assert mine["alert_threatened"] == len(truth)
        # the hub's picture carries the US space-IR notice: its public launch notice
        # is never later than Japan's own
        ln = sub[sub["metric"] == "alert_launch_notice_s"].set_index("configuration")["value"]
        assert np.isfinite(ln["linked"])
        assert not (ln["linked"] > ln["jp"])


def _story() -> dict:
    dec = [
        {"t_s": 30.0, "action": "launch_notice", "regions": []},
        {"t_s": 1890.0, "action": "take_cover", "regions": ["JP-01"]},
        {"t_s": 1905.0, "action": "all_clear", "regions": ["JP-01"]},
    ]
    conf = {
        "first_detection_s": 12.0,
        "first_track_s": 21.0,
        "launch_notice_s": 30.0,
        "first_take_cover_s": None,
        "take_cover_regions": [],
        "false_alerts": 0,
        "missed_alerts": 0,
        "warning_time_s": None,
        "launch_point_error_m": 40.0,
    }
    return {
        "scenario": "hwasong18-2023-04-13",
        "truth": {
            "burnout_s": 181.0,
            "apogee_s": 1100.0,
            "impact_s": 2178.0,
            "stage_impacts_s": [400.0, 900.0],
            "separations_s": [56.0, 126.0],
            "threatened": {},
        },
        "configurations": {
            "jp": conf | {"first_detection_s": None, "decisions": dec},
            "linked": conf | {"decisions": dec[:1]},
        },
    }


def test_report_shows_the_seed_timeline(tmp_path) -> None:
    import json

    from trilink.evaluation.report import write_report
    from trilink.evaluation.seed_timeline import SEED_TIMELINE_FILE

    recs = [(r, c, "first_track_s", 20.0 + r) for r in range(4) for c in ("jp", "linked")]
    df = _rows(recs)
    df.to_parquet(tmp_path / "results.parquet")
    html_path = write_report(tmp_path)
    assert "fig-seed_timeline" not in html_path.read_text()
    assert "no seed-scenario timeline" in html_path.read_text()
    (tmp_path / SEED_TIMELINE_FILE).write_text(json.dumps(_story()))
    text = write_report(tmp_path).read_text()
    assert 'id="fig-seed_timeline"' in text
    assert (tmp_path / "figures" / "seed_timeline.png").stat().st_size > 10_000
    # a broken file is one clear error naming it
    (tmp_path / SEED_TIMELINE_FILE).write_text('{"scenario": "x"}')
    from trilink.evaluation.report import ReportError

    with pytest.raises(ReportError, match=r"seed_timeline\.json: field 'truth' missing"):
        write_report(tmp_path)
