"""The deployed mode: deployment files, local bring-up, and runs with the hub and every
national node as separate processes over real nats-servers (127.0.0.1, free ports).

Every process started here is stopped at the end, also on failure (fixtures and
``finally``); the slow tests run the IRBM scenario (the shorter built-in) end to end.
"""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from trilink.link.deploy import (
    INPUT_STREAM,
    MANIFEST,
    DeployError,
    LocalDeployment,
    init_deployment,
)
from trilink.link.natsconf import UserKind, release_stream_name
from trilink.link.servers import nats_server_binary

SCENARIO = "irbm-2022-10-04"


@pytest.fixture
def dep_dir(tmp_path: Path):
    d = tmp_path / "deploy"
    init_deployment(d, hosts={"hub": "nats.hub.example", "kr": "nats.kr.example"})
    yield d
    LocalDeployment(d).down()


@pytest.fixture
def up(dep_dir: Path):
    dep = LocalDeployment(dep_dir)
    try:
        dep.up()
        yield dep
    finally:
        dep.down()
        assert not dep.running()


def test_init_writes_every_file_and_refuses_to_overwrite(dep_dir: Path) -> None:
    import tomllib

    doc = tomllib.loads((dep_dir / MANIFEST).read_text())
    assert doc["nations"] == ["JP", "KR", "US"] and doc["leaf_nations"] == ["JP", "KR"]
    assert doc["servers"]["kr"]["hub_url"] == "tls://nats.hub.example:7422"
    for p in ("HUB", "JP", "KR", "US"):
        key = dep_dir / "keys" / f"{p}.key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
        assert (dep_dir / "keys" / f"{p}.pub").is_file()
    for u in doc["users"]:
        assert stat.S_IMODE((dep_dir / u["key"]).stat().st_mode) == 0o600, u
    assert {s["name"] for s in doc["streams"]} == {
        INPUT_STREAM,
        *(release_stream_name(n) for n in ("JP", "KR", "US")),
    }
    for conf in ("hub", "jp", "kr"):  # the site configurations parse
        res = subprocess.run(
            [str(nats_server_binary()), "-c", str(dep_dir / "conf" / f"{conf}.conf"), "-t"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert res.returncode == 0, f"{conf}: {res.stdout}{res.stderr}"
    before = (dep_dir / "keys" / "HUB.pub").read_bytes()
    with pytest.raises(DeployError, match="--force"):
        init_deployment(dep_dir)
    assert (dep_dir / "keys" / "HUB.pub").read_bytes() == before  # untouched
    init_deployment(dep_dir, force=True)
    assert (dep_dir / "keys" / "HUB.pub").read_bytes() != before


def test_up_status_down_streams_and_release_dedupe(up: LocalDeployment) -> None:
    """Servers and link relays run (state.json), the input stream captures national
    reports, a release re-published with the same Nats-Msg-Id is stored once, the link
    can be cut and restored, and down leaves nothing running."""
    from trilink.link.nats_transport import AsyncNatsTransport

    rows = up.status()
    assert {r["name"] for r in rows} == {
        "hub",
        "leaves:JP",
        "leaves:KR",
        "proxies:JP",
        "proxies:KR",
    }
    assert all(r["running"] for r in rows)
    assert sorted(up.connected_leaf_accounts()) == ["JP", "KR"]

    async def main() -> tuple[int, int]:
        hub = await AsyncNatsTransport.connect(up.hub_url, up.credentials("HUB"))
        jp = await AsyncNatsTransport.connect(up.client_url("JP"), up.credentials("JP"))
        for _ in range(2):  # the restarted hub re-publishing: stored once
            await hub.publish("tl.release.KR.system_tracks", b"x", headers={"Nats-Msg-Id": "HUB.1"})
        await hub.publish("tl.release.KR.system_tracks", b"y", headers={"Nats-Msg-Id": "HUB.2"})
        deadline = time.monotonic() + 10
        n_in = 0
        while n_in < 1 and time.monotonic() < deadline:  # leaf interest propagates
            await jp.publish("tl.JP.heartbeat", b"beat")
            await jp.flush()
            await asyncio.sleep(0.1)
            ops = await AsyncNatsTransport.connect(
                up.hub_url, up.credentials("HUB", kind=UserKind.OPS)
            )
            n_in = (await ops.jetstream(domain=None).stream_info(INPUT_STREAM)).state.messages
            await ops.close()
        await hub.flush()
        ops = await AsyncNatsTransport.connect(up.hub_url, up.credentials("KR", kind=UserKind.OPS))
        n_rel = (await ops.jetstream(domain=None).stream_info("RELEASE_KR")).state.messages
        for c in (hub, jp, ops):
            await c.close()
        return n_in, n_rel

    n_in, n_rel = asyncio.run(main())
    assert n_in >= 1
    assert n_rel == 2
    up.cut_link("KR")
    assert up.connected_leaf_accounts() == ["JP"]
    up.restore_link("KR")
    assert sorted(up.connected_leaf_accounts()) == ["JP", "KR"]
    with pytest.raises(DeployError, match="already up"):
        up.up()


def test_cli_module(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from trilink.cli.deploy_cmds import _main

    r = CliRunner().invoke(_main, ["deploy", "init", str(tmp_path / "d")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(_main, ["deploy", "init", str(tmp_path / "d")])
    assert r.exit_code == 1 and "--force" in r.output
    r = CliRunner().invoke(_main, ["deploy", "status", str(tmp_path / "d")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(_main, ["deploy", "status", str(tmp_path / "none")])
    assert r.exit_code == 1 and "deploy init" in r.output


# ----------------------------------------------------------------------------------------------
# end to end (slow): the IRBM scenario with the hub and three nodes as processes


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    import pyarrow.csv as pc

    t = pc.read_csv(path)
    return {c: t[c].to_numpy(zero_copy_only=False) for c in t.column_names}


def _assert_same_table(embedded: dict, deployed: dict) -> None:
    assert set(embedded) == set(deployed)
    ke = list(
        zip(embedded["time_s"].tolist(), embedded["global_track_number"].tolist(), strict=True)
    )
    kd = list(
        zip(deployed["time_s"].tolist(), deployed["global_track_number"].tolist(), strict=True)
    )
    assert kd == ke, (
        f"rows differ: only deployed {sorted(set(kd) - set(ke))[:10]}, "
        f"only embedded {sorted(set(ke) - set(kd))[:10]}"
    )
    for k, a in embedded.items():
        a = np.asarray(a)
        b = np.asarray(deployed[k])
        if a.dtype.kind == "f":
            b = b.astype(float)
            assert np.array_equal(np.isnan(a), np.isnan(b)), k
            m = ~np.isnan(a)
            np.testing.assert_allclose(b[m], a[m], rtol=1e-9, atol=0, err_msg=k)
        elif a.dtype.kind in "iub":
            np.testing.assert_array_equal(b.astype(a.dtype), a, err_msg=k)
        else:
            b = np.where(b == None, "", b)  # noqa: E711 - pyarrow's empty strings
            np.testing.assert_array_equal(b.astype(str), a.astype(str), err_msg=k)


@pytest.fixture(scope="module")
def embedded() -> dict:
    from trilink.scenario.build import get_scenario
    from trilink.sim.run import run_scenario

    t0 = time.monotonic()
    res = run_scenario(get_scenario(SCENARIO), track=True, link=True, warn=True)
    assert res.link is not None and res.alerts is not None
    table = res.link.system_tracks_table()
    print(f"\nembedded run of {SCENARIO}: {time.monotonic() - t0:.1f} s")
    return {"system": table, "alerts": [d.to_json() | {"t_s": d.t_s} for d in res.alerts.decisions]}


@pytest.mark.slow
def test_nats_run_equals_embedded(tmp_path: Path, embedded: dict) -> None:
    from trilink.sim.deployed import run_deployed

    res = run_deployed(SCENARIO, tmp_path / "out", timeout_s=900)
    print(f"\nNATS run of {SCENARIO}: {res['wall_s']:.1f} s; " + json.dumps(res["nodes"]))
    _assert_same_table(embedded["system"], _read_csv(tmp_path / "out" / "system_tracks.csv"))
    # issue 7: the same alerts, decided by the hub process from the same pictures
    alerts = [json.loads(x) for x in (tmp_path / "out" / "alerts.jsonl").open()]
    for a in alerts:
        a.pop("event")
    assert embedded["alerts"], "the IRBM over Aomori must raise alerts"
    assert any(a["action"] == "take_cover" for a in embedded["alerts"])
    assert _rounded(alerts) == _rounded(json.loads(json.dumps(embedded["alerts"]))), (
        [(a["t_s"], a["action"], a["regions"]) for a in alerts],
        [(a["t_s"], a["action"], a["regions"]) for a in embedded["alerts"]],
    )
    n_xml = len(list((tmp_path / "out" / "alerts").glob("*.xml")))
    assert n_xml == len(alerts)
    # every node received, in order, exactly what the hub released to it
    released = [json.loads(x) for x in (tmp_path / "out" / "released.jsonl").open()]
    for n in ("JP", "KR", "US"):
        got = [json.loads(x) for x in (tmp_path / "out" / f"node_{n}.jsonl").open()]
        key = ("type", "track_number", "seq", "time_s")
        assert [tuple(r[k] for k in key) for r in got] == [
            tuple(r[k] for k in key) for r in released if r["to"] == n
        ], n
    assert not LocalDeployment(res["deploy_dir"]).running()


def _rounded(x: object) -> object:
    """Floats to 9 significant digits (the fused tables agree to 1e-9 relative, not
    bit for bit), everything else as is."""
    if isinstance(x, float):
        return float(f"{x:.9g}")
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_rounded(v) for v in x]
    return x


def _wait_fused(out: Path, t_s: float, procs: dict, dep: LocalDeployment, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for k, e in procs.items():
            rc = dep.returncode(e)
            assert rc in (None, 0), f"{k} exited with {rc}:\n{Path(e['log']).read_text()[-3000:]}"
        try:
            fused = json.loads((out / "progress_hub.json").read_text())["args"][0]
        except (OSError, ValueError, KeyError, IndexError):
            fused = None
        if fused is not None and fused >= t_s:
            return
        time.sleep(0.1)
    raise TimeoutError(f"hub did not fuse {t_s} s within {timeout_s} s")


def _wait_all(procs: dict, dep: LocalDeployment, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        codes = {k: dep.returncode(e) for k, e in procs.items()}
        bad = {k: c for k, c in codes.items() if c not in (None, 0)}
        assert not bad, {k: Path(procs[k]["log"]).read_text()[-3000:] for k in bad}
        if all(c == 0 for c in codes.values()):
            return
        time.sleep(0.2)
    raise TimeoutError(f"processes not done after {timeout_s} s: {codes}")


def _start(dep: LocalDeployment, out: Path, *, node_extra=(), hub_extra=()) -> dict:
    from trilink.sim.deployed import hub_cmd, node_cmd

    logs = dep.directory / "run" / "logs"
    procs = {
        "hub": dep.spawn(
            hub_cmd(dep.directory, SCENARIO, out, *hub_extra), logs / "hub-1.log", name="hub"
        )
    }
    for n in ("JP", "KR", "US"):
        procs[n] = dep.spawn(
            node_cmd(dep.directory, n, SCENARIO, out, *node_extra),
            logs / f"node-{n}.log",
            name=f"node-{n}",
        )
    return procs


@pytest.mark.slow
def test_kr_link_cut_30s_nothing_released_is_lost(up: LocalDeployment, tmp_path: Path) -> None:
    """Cut KR's leaf link for 30 s mid-scenario. KR's node gets every release made
    meanwhile (same messages, same order as the hub released them); the hub keeps
    fusing JP and US (KR silent), and fuses KR's reports again after the link is back."""
    out = tmp_path / "out"
    procs = _start(
        up,
        out,
        # paced so the run goes on after the 30 s cut (KR tracks until ~304 s)
        node_extra=("--stall", "0.3", "--pace", "0.2", "--until", "400"),
        hub_extra=("--until", "400"),
    )
    _wait_fused(out, 60.0, procs, up, timeout_s=240)
    up.cut_link("KR")
    t_cut = json.loads((out / "progress_hub.json").read_text())["args"][0]
    time.sleep(30.0)
    t_restore = json.loads((out / "progress_hub.json").read_text())["args"][0]
    up.restore_link("KR")
    _wait_all(procs, up, timeout_s=600)
    released = [json.loads(x) for x in (out / "released.jsonl").open()]
    to_kr = [
        (r["track_number"], r["seq"], r["time_s"])
        for r in released
        if r["to"] == "KR" and r["type"] == "SystemTrack"
    ]
    got = [json.loads(x) for x in (out / "node_KR.jsonl").open()]
    kr = [(r["track_number"], r["seq"], r["time_s"]) for r in got if r["type"] == "SystemTrack"]
    during = [x for x in to_kr if t_cut < x[2] < t_restore]
    print(
        f"\ncut from {t_cut} to {t_restore} s (scenario): {len(during)} system tracks released "
        f"to KR meanwhile; KR received {len(kr)} of {len(to_kr)}"
    )
    assert during, "nothing was released to KR during the cut"
    assert kr == to_kr
    events = [json.loads(x) for x in (out / "events.jsonl").open()]
    st = [e for e in events if e["event"] == "system_track"]
    with_kr = sorted(e["time_of_validity_s"] for e in st if "KR" in e["contributors"])
    fused_during = [e for e in st if t_cut + 10 < e["time_of_validity_s"] < t_restore - 1]
    assert fused_during, "the hub stopped fusing while KR was cut"
    assert not any("KR" in e["contributors"] for e in fused_during)
    assert any(t > t_restore for t in with_kr), "KR's reports are not fused after the restore"


@pytest.mark.slow
def test_hub_killed_and_restarted_resumes_from_jetstream(
    up: LocalDeployment, tmp_path: Path, embedded: dict
) -> None:
    """SIGKILL the hub process mid-run and start a new one: it replays the national
    reports from the input stream through a fresh Fuser; the final picture (global track
    numbers included) equals the uninterrupted embedded run, and no partner sees a
    duplicate or a gap."""
    from trilink.sim.deployed import hub_cmd

    out = tmp_path / "out"
    procs = _start(up, out)
    _wait_fused(out, 200.0, procs, up, timeout_s=300)
    up.stop_process("hub", kill=True)
    time.sleep(2.0)
    procs["hub"] = up.spawn(
        hub_cmd(up.directory, SCENARIO, out),
        up.directory / "run" / "logs" / "hub-2.log",
        name="hub",
    )
    _wait_all(procs, up, timeout_s=600)
    _assert_same_table(embedded["system"], _read_csv(out / "system_tracks.csv"))
    released = [json.loads(x) for x in (out / "released.jsonl").open()]
    for n in ("JP", "KR", "US"):
        got = [json.loads(x) for x in (out / f"node_{n}.jsonl").open()]
        key = ("type", "track_number", "seq", "time_s")
        assert [tuple(r[k] for k in key) for r in got] == [
            tuple(r[k] for k in key) for r in released if r["to"] == n
        ], n
