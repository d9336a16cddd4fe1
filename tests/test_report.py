"""trilink.evaluation.report: statistics against oracles, the report's content on a
synthetic campaign table, bad input, the CLI, and the HTML in headless Chromium.

The campaign runner's table is not in the repository yet: :func:`synthetic_results`
builds one with its documented shape (one row per run x configuration x metric;
``run, configuration, metric, value, unit`` plus draw parameters).

Browser test: Debian ``chromium`` headless with a fresh profile, every host name
resolving to nothing and every proxied request sent to a closed port, driven over
the Chrome DevTools Protocol (the small RFC 6455 client in ``tests/cdp.py``). A
positive control page proves that the harness sees
console errors, uncaught exceptions, failed loads and outgoing requests, and that
outgoing requests fail; then the report must load with none of them. Screenshots
go to ``tests/artifacts/``.
"""

from __future__ import annotations

import base64
import json
import math
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cdp import Chromium, summarize
from trilink.evaluation.report import (
    ReportError,
    _resampled_medians,
    bootstrap_median_ci,
    build_report,
    load_campaign,
    render_html,
    validate_results,
    wilson_interval,
    write_report,
)

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CONFIGS = ("jp", "kr", "us", "linked", "direct")


# ----------------------------------------------------------------------------------
# A synthetic campaign table with the runner's shape
# ----------------------------------------------------------------------------------
def synthetic_results(
    n_runs: int = 60,
    seed: int = 1,
    *,
    sites: bool = True,
    at_times_s: tuple[int, ...] = (60, 120, 180, 300, 420),
    configs: tuple[str, ...] = CONFIGS,
    prefectures: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per run x configuration x metric, with draw-parameter columns.

    Korea sees launches early, Japan late (and misses 20 %), the linked picture
    is at least as early as the best nation: the report must show that ordering.
    """
    rng = np.random.default_rng(seed)
    missiles = ("hwasong-18", "kn-23", "hwasong-12")
    site_keys = ("sunan", "sohae", "tonghae", "sinpo")
    base_s = {"jp": 95.0, "kr": 25.0, "us": 60.0, "linked": 22.0, "direct": 23.0}
    p_miss = {"jp": 0.2, "kr": 0.05, "us": 0.1, "linked": 0.0, "direct": 0.02}
    rows = []
    for run in range(n_runs):
        draw: dict[str, Any] = {
            "missile": missiles[run % 3],
            "shape": ("minimum-energy", "lofted")[run % 2],
            "azimuth_deg": float(rng.uniform(60.0, 120.0)),
            "salvo": 1 + run % 2,
        }
        if sites:
            draw["site"] = site_keys[run % 4]
        for c in configs:
            det = base_s.get(c, 50.0) + rng.gamma(4.0, 3.0)
            if rng.random() < p_miss.get(c, 0.1):
                det = math.nan
            trk = det + rng.gamma(3.0, 4.0)
            sys_trk = trk + (2.0 if c in ("linked", "direct") else 5.0)
            vals = {
                ("first_detection_s", "s"): det,
                ("first_track_s", "s"): trk,
                ("first_system_track_s", "s"): sys_trk,
                ("launch_notice_s", "s"): sys_trk + 10.0,
                ("launch_point_error_m", "m"): rng.gamma(2.0, 5000.0 if c == "jp" else 800.0),
                ("impact_error_final_m", "m"): rng.gamma(2.0, 2000.0),
                ("ospa_mean_m", "m"): rng.gamma(2.0, 1500.0),
                ("gospa_mean_m", "m"): rng.gamma(2.0, 2500.0),
                ("siap_completeness", ""): rng.uniform(0.6, 1.0),
                ("siap_spuriousness", ""): rng.uniform(0.0, 0.2),
                ("siap_continuity", ""): rng.uniform(0.5, 1.0),
                ("warhead_misclassified", ""): float(rng.random() < (0.15 if c == "jp" else 0.03)),
            }
            for t in at_times_s:
                vals[(f"impact_error_m_at_{t}s", "m")] = (
                    math.nan if not t >= det + 30.0 else 2e5 * math.exp(-(t - det) / 80.0) + 500.0
                )
            for (m, unit), v in vals.items():
                rows.append(
                    {
                        "run": run,
                        "configuration": c,
                        "metric": m,
                        "value": float(v),
                        "unit": unit,
                        **draw,
                    }
                )
            for pref in prefectures:
                rows.append(
                    {
                        "run": run,
                        "configuration": c,
                        "metric": "alert_lead_s",
                        "value": float(rng.uniform(200.0, 400.0)),
                        "unit": "s",
                        "prefecture": pref,
                        **draw,
                    }
                )
    df = pd.DataFrame(rows)
    if prefectures:
        df["prefecture"] = df["prefecture"].where(df["prefecture"].notna(), None)
    return df


def _campaign_dir(path: Path, df: pd.DataFrame) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path / "results.parquet")
    (path / "spec.toml").write_text(
        '[campaign]\nname = "synthetic"\n[metrics]\nospa_c_m = 10000.0\nospa_p = 2.0\n'
    )
    (path / "meta.json").write_text(json.dumps({"version": "0.1.0", "runs": 60}))
    return path


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    df = synthetic_results()
    d = _campaign_dir(tmp_path_factory.mktemp("campaign"), df)
    write_report(d)
    return d, df


# ----------------------------------------------------------------------------------
# Statistics
# ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [  # Newcombe 1998, Stat. Med. 17:857, Table I, method 3 (score interval), 4 d.p.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_published_values(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n)
    assert abs(lo - low) <= 5e-5 and abs(hi - high) <= 5e-5, (k, n, lo, hi)


def test_wilson_matches_scipy() -> None:
    from scipy.stats import binomtest

    for n in (1, 2, 5, 17, 100, 1000):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            ref = binomtest(k, n).proportion_ci(0.95, method="wilson")
            lo, hi = wilson_interval(k, n)
            assert abs(lo - ref.low) <= 1e-12 and abs(hi - ref.high) <= 1e-12, (k, n)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    with pytest.raises(ValueError, match="k <= n"):
        wilson_interval(3, 2)


@pytest.mark.parametrize("n", [1, 2, 7, 10, 41, 200])
def test_bootstrap_median_is_the_classical_bootstrap(n: int) -> None:
    """The O(B) order-statistic draw has the distribution of the classical bootstrap
    median (B x n resampled indices): Kolmogorov-Smirnov distance < 0.015 at B = 40,000
    (the 99.9 % KS critical value for two samples of 40,000 is 0.0138)."""
    b = 40_000
    x = np.arange(n, dtype=float) ** 1.3  # distinct values
    idx = np.random.default_rng(7).integers(0, n, size=(b, n))
    classic = np.sort(np.median(x[idx], axis=1))
    ours = np.sort(_resampled_medians(x, np.random.default_rng(8), b))
    grid = np.unique(np.concatenate([classic, ours]))
    ks = np.max(
        np.abs(
            np.searchsorted(classic, grid, side="right") / b
            - np.searchsorted(ours, grid, side="right") / b
        )
    )
    assert ks < 0.015, f"KS distance {ks:.4f} between our bootstrap medians and the classical"
    med, lo, hi = bootstrap_median_ci(x, rng=np.random.default_rng(0))
    assert med == np.median(x) and lo <= med <= hi


def test_bootstrap_interval_coverage() -> None:
    """Nominal 95 %: over 600 samples of 41 exponential draws the interval holds the true
    median ln 2 in 92-98 % of them (binomial sd 0.9 %; the percentile bootstrap of a
    median is slightly conservative for n this size)."""
    rng = np.random.default_rng(11)
    hits = 0
    trials = 600
    for _ in range(trials):
        x = rng.exponential(1.0, 41)
        _, lo, hi = bootstrap_median_ci(x, rng=rng)
        hits += lo <= math.log(2.0) <= hi
    assert 0.92 <= hits / trials <= 0.98, hits / trials


def test_bootstrap_censored_and_reproducible() -> None:
    x = np.array([10.0, 12.0, 11.0, np.inf, np.inf, np.inf, np.inf])
    med, lo, hi = bootstrap_median_ci(x, rng=np.random.default_rng(1))
    assert med == np.inf and hi == np.inf and not math.isnan(lo)
    a = bootstrap_median_ci(np.arange(9.0), rng=np.random.default_rng(3))
    b = bootstrap_median_ci(np.arange(9.0), rng=np.random.default_rng(3))
    assert a == b
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_median_ci([1.0, np.nan], rng=np.random.default_rng(0))
    assert all(math.isnan(v) for v in bootstrap_median_ci([], rng=np.random.default_rng(0)))


# ----------------------------------------------------------------------------------
# The report's content
# ----------------------------------------------------------------------------------
def test_headline_numbers_units_and_intervals() -> None:
    df = synthetic_results()
    rep = build_report(df, figures=False)
    h = rep.headline
    assert rep.n_runs == 60 and rep.configurations == CONFIGS
    cell = h[(h.metric == "first_detection_s") & (h.configuration == "kr")].iloc[0]
    kr = df[(df.metric == "first_detection_s") & (df.configuration == "kr")]["value"]
    # the median counts never-detected runs as +inf (censored), not as missing
    assert cell.estimate == np.median(kr.fillna(np.inf))
    assert cell.n == 60 and cell.n_reached == kr.notna().sum()
    assert cell.ci_low <= cell.estimate <= cell.ci_high
    assert cell.unit_shown == "s" and f"({cell.n_reached}/60 reached)" in cell.text
    # missed = runs without a confirmed track, Wilson interval, from the same table
    miss = h[(h.metric == "missed_track") & (h.configuration == "jp")].iloc[0]
    k = int(df[(df.metric == "first_track_s") & (df.configuration == "jp")]["value"].isna().sum())
    assert miss.n_reached == k and (miss.ci_low, miss.ci_high) == wilson_interval(k, 60)
    assert miss.text.endswith(f"({k}/60)") and miss.unit_shown == "% of runs"
    wide = rep.wide(h)
    assert list(wide.columns) == [
        "unit",
        "Japan alone",
        "Korea alone",
        "US alone",
        "Linked via hub",
        "Direct JP–KR",
    ]
    assert wide.loc["Time to first detection", "unit"] == "s"
    assert wide.loc["Final impact-point error", "unit"] == "m"
    # paired gain: linked is earlier than Japan in every run both reached
    g = rep.link_gain
    gj = g[(g.metric == "first_detection_s") & (g.configuration == "jp")].iloc[0]
    assert gj.estimate > 0 and gj.ci_low > 0 and gj.other_only == 0
    assert (
        gj.linked_only
        == kr.size
        - df[(df.metric == "first_detection_s") & (df.configuration == "jp")]["value"].notna().sum()
    )


def test_metrics_of_some_configurations_only() -> None:
    """The runner writes first_system_track_s only for fused pictures and the launch
    notice only where the US sensors are: other configurations get no cell, not 'never'."""
    df = synthetic_results(20)
    df = df[~((df.metric == "first_system_track_s") & df.configuration.isin(["jp", "kr", "us"]))]
    df = df[~((df.metric == "launch_notice_s") & df.configuration.isin(["jp", "kr", "direct"]))]
    rep = build_report(df)
    h = rep.headline
    row = h[h.metric == "first_system_track_s"].set_index("configuration")
    assert row.loc["jp", "text"] == "—" and row.loc["jp", "n"] == 0
    assert row.loc["linked", "n"] == 20 and row.loc["linked", "text"] != "—"
    g = rep.link_gain
    assert set(g[g.metric == "launch_notice_s"].configuration) == {"us"}
    t = rep.timeliness
    assert set(t[t.metric == "first_system_track_s"].configuration) == {"linked", "direct"}
    assert "first_system_track_s" not in rep.wide(h).to_string()  # labels, not names
    render_html(rep)


def test_kilometres_for_large_errors() -> None:
    df = synthetic_results(20)
    df.loc[df.metric == "impact_error_final_m", "value"] *= 100.0  # ~400 km
    rep = build_report(df, figures=False)
    row = rep.wide(rep.headline).loc["Final impact-point error"]
    assert row["unit"] == "km"
    est = rep.headline[rep.headline.metric == "impact_error_final_m"].estimate.iloc[0]
    assert f"{est / 1000:,.1f}" in row.iloc[1]


def test_write_report_is_self_contained(campaign: tuple[Path, pd.DataFrame]) -> None:
    d, _ = campaign
    text = (d / "report.html").read_text(encoding="utf-8")
    pngs = sorted(p.stem for p in (d / "figures").glob("*.png"))
    assert pngs == sorted(["cdf", "first_detection_map", "timeliness", "vs_time_impact_error_m"])
    assert "<script" not in text.lower()
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", text)
    assert refs, "no references at all?"
    bad = [r for r in refs if not (r.startswith(("data:", "#")))]
    assert not bad, f"non-inline references in the report: {bad[:5]}"
    assert not re.search(r"(?i)\b(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text), "a URL in the report"
    assert "@import" not in text and "url(" not in text
    # each figure is embedded, byte for byte the PNG written beside it
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(embedded) == len(pngs)
    assert sorted(base64.b64decode(b) for b in embedded) == sorted(
        (d / "figures" / f"{p}.png").read_bytes() for p in pngs
    )
    for must in (
        "Headline",
        "What the link buys",
        "95 %",
        "Wilson",
        "bootstrap",
        "spec.toml",
        "Metric parameters",
        "<td>ospa_c_m</td><td>10000.0</td>",
        "Impact-point error versus time",
    ):
        assert must in text, must
    assert "Per prefecture" not in text  # no such metrics: no invented table


def test_optional_parts_absent_or_present(tmp_path: Path) -> None:
    df = synthetic_results(12, sites=False, at_times_s=(), configs=("jp", "kr"))
    rep = build_report(df)
    assert set(rep.figures) == {"timeliness", "cdf"}
    assert rep.link_gain.empty and rep.per_prefecture is None
    joined = " ".join(rep.notes)
    assert "no map" in joined and "no versus-time" in joined and "no paired gain" in joined
    html_text = render_html(rep)
    assert "Not in this campaign" in html_text

    dfp = synthetic_results(12, prefectures=("Hokkaido", "Okinawa"))
    rep = build_report(dfp, figures=False)
    assert rep.per_prefecture is not None
    assert set(rep.per_prefecture["prefecture"]) == {"Hokkaido", "Okinawa"}
    # prefecture rows do not leak into the campaign-wide tables
    assert "alert_lead_s" not in set(rep.metrics["metric"])
    assert "Per prefecture" in render_html(rep, pngs={})


def test_build_report_is_reproducible() -> None:
    df = synthetic_results(30)
    a = build_report(df, figures=False).metrics
    b = build_report(df.sample(frac=1.0, random_state=3), figures=False).metrics
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.drop(columns=["unit"]), "missing column.*unit"),
        (lambda d: d.iloc[0:0], "no rows"),
        (lambda d: d.assign(run=d["run"] + 0.5), "'run' must hold integers"),
        (lambda d: d.assign(value="x"), "'value' must be numeric"),
        (lambda d: pd.concat([d, d.iloc[:1]]), "more than one row for run 0"),
        (
            lambda d: d.assign(unit=np.where(d.index == 0, "km", d["unit"])),
            "metric 'first_detection_s' has several units",
        ),
    ],
)
def test_bad_tables_are_named(mutate: Callable[[pd.DataFrame], pd.DataFrame], message: str) -> None:
    with pytest.raises(ReportError, match=message):
        validate_results(mutate(synthetic_results(3)))


def test_bad_folders_and_cli(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="not a directory"):
        load_campaign(tmp_path / "nope")
    with pytest.raises(ReportError, match=r"results\.parquet: not found"):
        load_campaign(tmp_path)
    (tmp_path / "results.parquet").write_text("not parquet")
    with pytest.raises(ReportError, match="cannot read as Parquet"):
        load_campaign(tmp_path)
    cmd = [sys.executable, "-m", "trilink.cli.report_cmds", str(tmp_path)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert "cannot read as Parquet" in res.stderr and "Traceback" not in res.stderr

    good = _campaign_dir(tmp_path / "good", synthetic_results(8))
    out = tmp_path / "elsewhere" / "r.html"
    cmd = [sys.executable, "-m", "trilink.cli.report_cmds", str(good), "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert out.is_file() and (out.parent / "figures" / "cdf.png").is_file()


# ----------------------------------------------------------------------------------
# Headless Chromium over the DevTools protocol
# ----------------------------------------------------------------------------------
def _load_in_chromium(url: str, profile: Path, screenshot: Path | None) -> dict[str, Any]:
    """Load ``url`` in a fresh headless Chromium; return console errors, warnings,
    requests, failed loads and page facts; save a viewport screenshot (1280 x 2000)
    and a full-page one beside it."""
    with Chromium(profile) as dt:
        dt.call("Page.navigate", url=url)
        loaded = dt.pump(60.0, until=lambda m: m["method"] == "Page.loadEventFired")
        dt.pump(1.5)  # late messages after load
        facts = dt.call(
            "Runtime.evaluate",
            expression=(
                "JSON.stringify({title: document.title, images: document.images.length,"
                " decoded: Array.from(document.images).filter(i => i.complete &&"
                " i.naturalWidth > 0).length, tables: document.querySelectorAll('table').length,"
                " height: document.documentElement.scrollHeight})"
            ),
            returnByValue=True,
        )
        if screenshot is not None:
            dt.screenshot(screenshot)
            metrics = dt.call("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            full = dt.call(
                "Page.captureScreenshot",
                format="png",
                captureBeyondViewport=True,
                clip={"x": 0, "y": 0, "width": 1280, "height": size["height"], "scale": 1},
            )
            screenshot.with_name(screenshot.stem + "_full.png").write_bytes(
                base64.b64decode(full["data"])
            )
    return {"loaded": loaded, **summarize(dt.events), "facts": json.loads(facts["result"]["value"])}


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack("!II", head[16:24])


def test_browser_harness_sees_errors_and_blocks_network(tmp_path: Path) -> None:
    """Positive control: a page with a console error, an uncaught exception, a missing
    file and two outside fetches (a name and an IP literal). The harness must report
    each, and the outside fetches must fail."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        "<title>control</title></head><body><p>control</p>"
        '<img src="missing.png"><img src="http://example.com/x.png">'
        '<img src="http://93.184.215.14/y.png">'
        '<script>console.error("boom-control"); undefinedFunction();</script></body></html>'
    )
    res = _load_in_chromium(page.as_uri(), tmp_path / "profile", None)
    assert res["loaded"]
    joined = "\n".join(res["errors"])
    assert "boom-control" in joined, res["errors"]
    assert "undefinedFunction" in joined, res["errors"]
    assert "missing.png" in joined, res["errors"]
    outside = [u for u in res["requests"] if u.startswith("http")]
    assert {"http://example.com/x.png", "http://93.184.215.14/y.png"} <= set(outside), outside
    assert len(res["failed"]) >= 3, res["failed"]  # missing file + both outside fetches
    assert all("ERR_" in f for f in res["failed"]), res["failed"]


def test_report_opens_in_headless_chromium(campaign: tuple[Path, pd.DataFrame]) -> None:
    """The acceptance line: the report opens offline with no console errors; screenshot
    saved to tests/artifacts/report_chromium.png (and _full.png)."""
    d, _ = campaign
    shot = ARTIFACTS / "report_chromium.png"
    res = _load_in_chromium((d / "report.html").as_uri(), d / "chromium-profile", shot)
    assert res["loaded"], "the report never fired its load event"
    assert res["errors"] == [], "console errors:\n" + "\n".join(res["errors"])
    assert res["failed"] == [], f"failed loads: {res['failed']}"
    assert all(u.startswith(("file:", "data:")) for u in res["requests"]), res["requests"]
    facts = res["facts"]
    n_fig = len(list((d / "figures").glob("*.png")))
    assert facts["title"] == "trilink campaign report"
    assert facts["images"] == n_fig == facts["decoded"], facts  # every PNG decoded
    assert facts["tables"] >= 4, facts
    assert _png_size(shot) == (1280, 2000)
    w, h = _png_size(shot.with_name("report_chromium_full.png"))
    assert w == 1280 and h >= facts["height"] - 1
    shutil.copy(d / "report.html", ARTIFACTS / "report_chromium.html")
