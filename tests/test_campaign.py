"""Campaigns: specs and their errors, draws, configurations, and the acceptance tests
(local pool vs a real Dask cluster give identical tables; a killed campaign resumes
with only the missing runs)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trilink.evaluation.campaign import (
    RESULT_COLUMNS,
    load_results,
    run_campaign,
    shard_path,
    summary,
)
from trilink.evaluation.campaign_spec import (
    CampaignSpecError,
    draw_run,
    get_spec,
    parse_spec,
    spec_to_toml,
)
from trilink.evaluation.configurations import (
    CONFIGURATION_DEFS,
    apply_link_cuts,
    apply_outages,
    notice_delays_s,
    partner_delays_s,
)

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")
BIN = ROOT / ".venv" / "bin"

# A campaign cheap enough for tests (~0.5 CPU-s a run): short-range missiles, a 60 s
# window, four radars (one per nation plus a Korean Aegis), fixed steering.
TINY = """
[campaign]
name = "tiny"
seed = 7
window_s = 60.0
chunk_runs = 5
impact_times_s = [30.0, 60.0]
sensors = ["greenpine-b-chungbuk", "fps5-shimokoshiki", "tpy2-kyogamisaki", "aegis-kr-gangneung"]

[sampling]
sites = ["samsok", "sunan", "hodo"]
azimuth_deg = [70.0, 100.0]
launch_time_s = [0.0, 10.0]
salvo = [1, 2]
salvo_spacing_s = [2.0, 10.0]

[sampling.missiles]
"kn-23" = 1.0

[sampling.trajectories]
minimum-energy = 1.0

[steering]
"kn-23/minimum-energy" = { pitch_first_deg = 40.0 }
"""
N_RUNS = 50


@pytest.fixture(scope="module")
def tiny_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("spec") / "tiny.toml"
    p.write_text(TINY)
    return p


# ---------------------------------------------------------------- specs


def test_builtin_spec_is_valid_and_its_steering_library_complete() -> None:
    spec = get_spec(None)
    assert spec.campaign.name == "seedlike"
    assert spec.missing_steering() == []
    assert set(spec.campaign.configurations) == {"jp", "kr", "us", "linked", "direct"}
    assert spec.campaign.debris == 0


def test_spec_round_trips_through_toml(tiny_spec: Path) -> None:
    for spec in (get_spec(None), get_spec(tiny_spec)):
        assert parse_spec(spec_to_toml(spec)) == spec


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (("window_s = 60.0", "window_s = -1.0"), "campaign.window_s"),
        (('"kn-23" = 1.0', '"kn-99" = 1.0'), "sampling.missiles.kn-99"),
        (('sites = ["samsok"', 'sites = ["atlantis"'), "sampling.sites[0]"),
        (("minimum-energy = 1.0", "corkscrew = 1.0"), "sampling.trajectories.corkscrew"),
        (("salvo = [1, 2]", "salvo = [3, 2]"), "sampling.salvo"),
        (("chunk_runs = 5", "chunk_runs = 5\nrunz = 3"), "campaign.runz"),
        (("seed = 7\n", ""), "campaign.seed"),
        (("azimuth_deg = [70.0, 100.0]", "azimuth_deg = [100.0, 70.0]"), "sampling.azimuth_deg"),
        (
            ('sensors = ["greenpine-b-chungbuk"', 'sensors = ["radar-x"'),
            "campaign.sensors[0]",
        ),
        (
            (
                "[sampling]",
                '[[outages]]\nsensor = "fps5-sado"\nstart_s = 0.0\nend_s = 9.0\n[sampling]',
            ),
            "outages[0].sensor",
        ),
        (
            ("[sampling]", '[[link_cuts]]\nnation = "KR"\nstart_s = 9.0\nend_s = 1.0\n[sampling]'),
            "link_cuts[0].end_s",
        ),
        (
            ("pitch_first_deg = 40.0", "pitch_first_deg = 95.0"),
            "steering.kn-23/minimum-energy.pitch_first_deg",
        ),
        (
            ("pitch_first_deg = 40.0", "infeasible = 'x', pitch_first_deg = 4"),
            "steering.kn-23/minimum-energy",
        ),
        (('"kn-23" = 1.0', '"kn-23" = -1.0'), "sampling.missiles.kn-23"),
        (("[campaign]", "[campaign\n"), "(file)"),
    ],
)
def test_bad_spec_gives_one_line_naming_the_field(edit: tuple[str, str], field: str) -> None:
    text = TINY.replace(*edit)
    assert text != TINY
    with pytest.raises(CampaignSpecError) as ei:
        parse_spec(text, "bad.toml")
    msg = str(ei.value)
    assert "\n" not in msg, msg
    assert ei.value.field == field, msg
    assert msg.startswith(f"bad.toml: {field}: "), msg


def test_cli_bad_spec_is_one_line_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY.replace("window_s = 60.0", "window_s = -1.0"))
    r = subprocess.run(
        [
            PY,
            "-m",
            "trilink.cli.campaign_cmds",
            str(bad),
            "--runs",
            "2",
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"COLUMNS": "300"},
    )
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert "campaign.window_s" in lines[0] and "Traceback" not in r.stderr


# ---------------------------------------------------------------- draws and configurations


def test_draws_are_reproducible_and_within_the_spec(tiny_spec: Path) -> None:
    spec = get_spec(tiny_spec)
    a = [draw_run(spec, r) for r in range(40)]
    b = [draw_run(spec, r) for r in reversed(range(40))][::-1]
    assert [d.launches for d in a] == [d.launches for d in b]
    assert len({d.launches for d in a}) == 40
    for d in a:
        assert 1 <= len(d.launches) <= 2
        assert len({la.site for la in d.launches}) == 1  # salvo_same_site
        for la in d.launches:
            assert 70.0 <= la.azimuth_deg <= 100.0
            assert la.site in ("samsok", "sunan", "hodo")
        assert 0.0 <= d.t0_s <= 10.0
    # the sensor streams differ between runs and are fixed per run
    assert a[0].rng(1).random() == draw_run(spec, 0).rng(1).random() != a[1].rng(1).random()


def test_relay_via_hawaii_is_slower_than_a_direct_link() -> None:
    linked = partner_delays_s(CONFIGURATION_DEFS["linked"])
    direct = partner_delays_s(CONFIGURATION_DEFS["direct"])
    assert set(linked) == set(direct) == {"JP", "KR"}
    # Tokyo/Seoul -> Hawaii -> Tokyo/Seoul is ~2 x 7,000 km of fibre at 1.5x: > 60 ms
    assert min(linked.values()) > 0.06
    assert max(direct.values()) < 0.02
    assert partner_delays_s(CONFIGURATION_DEFS["jp"]) == {"JP": 0.0}
    assert notice_delays_s(CONFIGURATION_DEFS["kr"]) is None
    assert notice_delays_s(CONFIGURATION_DEFS["us"]) == {"US": 0.0}


def test_outages_and_link_cuts_drop_only_their_window() -> None:
    t = np.array([0.0, 5.0, 10.0, 15.0, 20.0])
    sid = np.array(["a", "a", "b", "a", "a"])
    keep = apply_outages(t, sid, [("a", 5.0, 20.0)])
    assert keep.tolist() == [True, False, True, False, True]
    tables = {"KR": {"time_s": t, "track_id": np.arange(5)}, "JP": {"time_s": t}}
    cut = apply_link_cuts(tables, [("KR", 10.0, 15.0)])
    assert cut["KR"]["track_id"].tolist() == [0, 1, 3, 4]
    assert cut["JP"]["time_s"].size == 5


def test_summary_censors_never_reached_times() -> None:
    df = pd.DataFrame(
        {
            "run": [0, 1, 2, 0, 1, 2],
            "configuration": ["jp"] * 3 + ["linked"] * 3,
            "metric": ["first_track_s"] * 6,
            "value": [10.0, math.nan, math.nan, 5.0, 6.0, 7.0],
            "unit": ["s"] * 6,
        }
    )
    s = summary(df).set_index(["configuration", "metric"])
    assert s.loc[("jp", "first_track_s"), "estimate"] == math.inf  # 2 of 3 never
    assert s.loc[("linked", "first_track_s"), "estimate"] == 6.0
    assert s.loc[("jp", "missed_track"), "estimate"] == pytest.approx(2 / 3)
    lo, hi = s.loc[("jp", "missed_track"), ["low", "high"]]
    assert 0.0 < lo < 2 / 3 < hi < 1.0


# ---------------------------------------------------------------- acceptance


@pytest.fixture(scope="module")
def local_run(
    tiny_spec: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("local")
    df = run_campaign(tiny_spec, N_RUNS, out, workers=2)
    return out, df


@pytest.mark.slow
def test_local_campaign_table_is_tidy_and_complete(local_run: tuple[Path, pd.DataFrame]) -> None:
    out, df = local_run
    assert list(df.columns[: len(RESULT_COLUMNS)]) == list(RESULT_COLUMNS)
    assert {"salvo", "missile", "shape", "site", "azimuth_deg"} <= set(df.columns)
    assert sorted(df["run"].unique()) == list(range(N_RUNS))
    assert set(df["configuration"]) == {"jp", "kr", "us", "linked", "direct"}
    assert not df.duplicated(["run", "configuration", "metric"]).any()
    for m in (
        "first_detection_s",
        "first_track_s",
        "launch_point_error_m",
        "impact_error_final_m",
        "impact_error_m_at_60s",
        "ospa_mean_m",
        "gospa_mean_m",
        "siap_completeness",
        "siap_spuriousness",
        "siap_continuity",
        "classification_errors_at_80km",
    ):
        assert (df["metric"] == m).groupby(df["configuration"]).sum().min() == N_RUNS, m
    sys_rows = df[df["metric"] == "first_system_track_s"]
    assert set(sys_rows["configuration"]) == {"linked", "direct"}
    notice = df[df["metric"] == "launch_notice_s"]
    assert set(notice["configuration"]) == {"us", "linked"}
    # the notice reaches the partners through Hawaii after the US node has it
    piv = notice.pivot(index="run", columns="configuration", values="value").dropna()
    assert len(piv) > 0 and (piv["linked"] > piv["us"]).all()
    # linked is never later than a nation alone to give every partner a track
    ft = df[df["metric"] == "first_track_s"].pivot(
        index="run", columns="configuration", values="value"
    )
    both = ft[["linked", "jp"]].dropna()
    assert (both["linked"] <= both["jp"] + 0.5).all()
    assert (out / "spec.toml").exists() and (out / "meta.json").exists()
    assert get_spec(out / "spec.toml") == get_spec(out / "spec.toml")
    pd.testing.assert_frame_equal(load_results(out), df)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_dask_cluster_gives_the_same_table_as_the_local_pool(
    local_run: tuple[Path, pd.DataFrame], tiny_spec: Path, tmp_path: Path
) -> None:
    """A real scheduler and two single-threaded workers, separate processes on 127.0.0.1."""
    _, local = local_run
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ)
    procs: list[subprocess.Popen[bytes]] = []
    logs = [open(tmp_path / f"dask{i}.log", "wb") for i in range(3)]
    try:
        procs.append(
            subprocess.Popen(
                [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                 "--no-dashboard"],
                stdout=logs[0], stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
            )
        )  # fmt: skip
        for i in (1, 2):
            procs.append(
                subprocess.Popen(
                    [str(BIN / "dask"), "worker", address, "--host", "127.0.0.1",
                     "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                     "--name", f"w{i}", "--local-directory", str(tmp_path / f"w{i}")],
                    stdout=logs[i], stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
                )
            )  # fmt: skip
        from distributed import Client

        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout="5s") as c:
                    c.wait_for_workers(2, timeout=30)
                    assert len(c.scheduler_info()["workers"]) == 2
                    break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        out = tmp_path / "dask"
        df = run_campaign(tiny_spec, N_RUNS, out, scheduler=address)
        pd.testing.assert_frame_equal(df, local, check_exact=True)
        assert "dask" in (out / "meta.json").read_text()
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in logs:
            f.close()


@pytest.mark.slow
def test_killed_campaign_resumes_with_only_the_missing_runs(
    local_run: tuple[Path, pd.DataFrame], tiny_spec: Path, tmp_path: Path
) -> None:
    _, reference = local_run
    out = tmp_path / "killed"
    cmd = [PY, "-m", "trilink.cli.campaign_cmds", str(tiny_spec), "--runs", str(N_RUNS),
           "--out", str(out), "--workers", "1", "--quiet", "--no-seed-timeline"]  # fmt: skip
    p = subprocess.Popen(
        cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while len(list((out / "runs").glob("run_*.parquet"))) < 10:
            assert p.poll() is None, p.stderr.read().decode() if p.stderr else ""
            assert time.monotonic() < deadline, "no shards after 120 s"
            time.sleep(0.05)
    finally:
        os.killpg(p.pid, signal.SIGKILL)  # the CLI and its pool worker
        p.wait()
    done = {
        int(s.stem.split("_")[1]): s.stat().st_mtime_ns
        for s in (out / "runs").glob("run_*.parquet")
    }
    assert 10 <= len(done) < N_RUNS, "killed too late to test a resume"
    assert not (out / "results.parquet").exists()
    log_before = (out / "computed.log").read_text().split()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    computed_now = [int(x) for x in (out / "computed.log").read_text().split()[len(log_before) :]]
    assert sorted(computed_now) == sorted(set(range(N_RUNS)) - set(done))
    for run, mtime in done.items():
        assert shard_path(out, run).stat().st_mtime_ns == mtime  # not redone
    pd.testing.assert_frame_equal(load_results(out), reference, check_exact=True)


def test_outages_and_link_cuts_change_what_they_should(tmp_path: Path) -> None:
    """Korea's radars off for the whole window: Korea alone never detects; Korea's link
    cut for the whole window: the linked picture reaches Japan no earlier than without
    Korea. Everything else is unchanged (same draws)."""
    base = parse_spec(TINY)
    runs = 3
    ref = run_campaign(base, runs, tmp_path / "ref", workers=0)
    off = TINY.replace(
        "[sampling]",
        "\n".join(
            f'[[outages]]\nsensor = "{s}"\nstart_s = -20.0\nend_s = 100.0'
            for s in ("greenpine-b-chungbuk", "aegis-kr-gangneung")
        )
        + '\n[[link_cuts]]\nnation = "KR"\nstart_s = -20.0\nend_s = 100.0\n[sampling]',
    )
    cut = run_campaign(parse_spec(off), runs, tmp_path / "cut", workers=0)

    def val(df: pd.DataFrame, cfg: str, metric: str) -> np.ndarray:
        sel = df[(df["configuration"] == cfg) & (df["metric"] == metric)]
        return sel.sort_values("run")["value"].to_numpy()

    assert np.isfinite(val(ref, "kr", "first_detection_s")).all()
    assert np.isnan(val(cut, "kr", "first_detection_s")).all()
    np.testing.assert_array_equal(val(cut, "jp", "first_track_s"), val(ref, "jp", "first_track_s"))
    a, b = val(cut, "linked", "first_track_at_jp_s"), val(ref, "linked", "first_track_at_jp_s")
    assert (np.nan_to_num(a, nan=np.inf) >= b).all()
    assert (
        np.isnan(val(cut, "direct", "first_track_at_kr_s")).all()
        or (
            np.nan_to_num(val(cut, "direct", "first_track_at_kr_s"), nan=np.inf)
            >= val(ref, "direct", "first_track_at_kr_s")
        ).all()
    )


def test_consistency_and_link_figures(tmp_path: Path) -> None:
    """The purity, swap, NEES and link rows: defined, in range, and the link figures
    follow the configuration (the modelled delays; reports lost only to a cut)."""
    from trilink.evaluation.configurations import CONFIGURATION_DEFS, partner_delays_s

    ref = run_campaign(parse_spec(TINY), 2, tmp_path / "ref", workers=0)
    cut_text = TINY.replace(
        "[sampling]", '[[link_cuts]]\nnation = "KR"\nstart_s = 0.0\nend_s = 30.0\n[sampling]'
    )
    cut = run_campaign(parse_spec(cut_text), 2, tmp_path / "cut", workers=0)

    def val(df: pd.DataFrame, cfg: str, metric: str) -> np.ndarray:
        sel = df[(df["configuration"] == cfg) & (df["metric"] == metric)]
        return sel.sort_values("run")["value"].to_numpy()

    for cfg in ("jp", "kr", "linked"):
        pur = val(ref, cfg, "track_purity_mean")
        assert ((pur > 0.0) & (pur <= 1.0)).all(), (cfg, pur)
        assert (val(ref, cfg, "track_swaps") >= 0).all()
        inside = val(ref, cfg, "nees_position_in_95")
        assert ((inside >= 0.0) & (inside <= 1.0)).all(), (cfg, inside)
        assert (val(ref, cfg, "nees_position_mean") > 0.0).all()
    assert "relay_delay_to_jp_s" not in set(ref[ref["configuration"] == "jp"]["metric"])
    d = partner_delays_s(CONFIGURATION_DEFS["linked"])
    assert val(ref, "linked", "relay_delay_to_jp_s") == pytest.approx([d["JP"]] * 2)
    assert val(ref, "linked", "relay_delay_to_kr_s") == pytest.approx([d["KR"]] * 2)
    assert (val(ref, "linked", "reports_lost_to_link_cuts") == 0).all()
    assert (val(cut, "linked", "reports_lost_to_link_cuts") > 0).all()
    # the cut is Korea's: the direct link loses the same Korean reports
    np.testing.assert_array_equal(
        val(cut, "direct", "reports_lost_to_link_cuts"),
        val(cut, "linked", "reports_lost_to_link_cuts"),
    )
