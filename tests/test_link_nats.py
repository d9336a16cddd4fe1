"""The real NATS deployment: hub + JP and KR leaf servers over mTLS with verify_and_map.

Every test runs real nats-server processes on 127.0.0.1 (random ports) and
stops them at the end, also on failure (``Deployment`` is a context manager).
"""

from __future__ import annotations

import asyncio
import os
import stat
import statistics
import threading
import time
from pathlib import Path

import pytest

from trilink.link import pki
from trilink.link.nats_transport import (
    AsyncNatsTransport,
    NatsTransport,
    ReleasedMessage,
    ReleaseReader,
)
from trilink.link.natsconf import (
    UserKind,
    default_topology,
    hub_config,
    leaf_config,
    release_stream_name,
)
from trilink.link.servers import Deployment, nats_server_binary

# Length of the leaf-link cut in the replay test. The acceptance scenario is 30 s
# (the slow variant); the default variant keeps the suite quick.
CUT_S = float(os.environ.get("TRILINK_CUT_S", "4"))
ACCEPTANCE_CUT_S = 30.0

WAIT_S = 10.0  # generous: loaded CI machines


@pytest.fixture(scope="module")
def dep(tmp_path_factory: pytest.TempPathFactory):
    with Deployment(default_topology(), tmp_path_factory.mktemp("nats")) as d:
        yield d


async def _client(d: Deployment, account: str, **kw) -> AsyncNatsTransport:
    return await AsyncNatsTransport.connect(
        d.client_url(account), d.credentials(account), reconnect=False, **kw
    )


async def _until(cond, timeout_s: float = WAIT_S, step_s: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        await asyncio.sleep(step_s)
    return cond()


async def _await_route(publish, subject: str, store: list, timeout_s: float = WAIT_S) -> None:
    """Publish probes on ``subject`` until one lands in ``store``; then drop the probes.

    A subscription made on a leaf server reaches the hub a few milliseconds
    later (interest propagates asynchronously across the leaf connection).
    """
    deadline = time.monotonic() + timeout_s
    while not any(data == b"probe" for _, data in store):
        assert time.monotonic() < deadline, f"no route for {subject} after {timeout_s} s"
        await publish(subject, b"probe")
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    store[:] = [(s, d) for s, d in store if d != b"probe"]


def _collector(store: list):
    def handler(subject: str, data: bytes) -> None:
        store.append((subject, data))

    return handler


# ----------------------------------------------------------------------------------------------
# Offline checks: files and configuration


def test_binary_and_config_files_are_valid(tmp_path: Path) -> None:
    """Generated configs pass ``nats-server -t``; keys are 0600; subjects map to users."""
    import subprocess

    ca = pki.create_ca(tmp_path)
    hub_tls = pki.issue_server_cert(ca, tmp_path, "hub", hostnames=("nats.hub.example",))
    leaf_tls = pki.issue_client_cert(ca, tmp_path, "jp-leaf", account="JP")
    for key in (ca.key_path, hub_tls.key_path, leaf_tls.key_path):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    assert pki.subject_dn("jp-leaf", "JP") == "CN=jp-leaf,OU=JP,O=trilink"
    topo = default_topology(store_dir=tmp_path / "js")
    confs = {
        "hub": hub_config(topo, tls=hub_tls),
        "jp": leaf_config(topo, "jp", server_tls=hub_tls, leaf_tls=leaf_tls),
    }
    assert "verify_and_map: true" in confs["hub"]
    assert 'domain: "hub"' in confs["hub"]
    # the JP leaf dials only the hub, binds only its own account
    assert confs["jp"].count("urls:") == 1 and 'account: "JP"' in confs["jp"]
    assert "KR" not in confs["jp"]
    for name, text in confs.items():
        path = tmp_path / f"{name}.conf"
        path.write_text(text)
        res = subprocess.run(
            [str(nats_server_binary()), "-c", str(path), "-t"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert res.returncode == 0, f"{name}: {res.stdout}{res.stderr}"


# ----------------------------------------------------------------------------------------------
# (a) JP's credentials cannot touch KR's subjects nor act as the hub


def test_a_jp_credentials_cannot_reach_kr_or_impersonate(dep: Deployment) -> None:
    async def main() -> None:
        jp = await _client(dep, "JP")
        kr = await _client(dep, "KR")
        hub = await _client(dep, "HUB")
        kr_got: list = []
        hub_got: list = []
        jp_got: list = []
        await kr.subscribe("tl.release.KR.>", _collector(kr_got))
        await hub.subscribe("tl.KR.>", _collector(hub_got))
        await hub.subscribe("tl.hub.>", _collector(hub_got))
        await _await_route(hub.publish, "tl.release.KR.status", kr_got)
        await _await_route(kr.publish, "tl.KR.status", hub_got)

        forbidden_subs = ["tl.KR.>", "tl.release.KR.>", "tl.KR.tracks", "tl.hub.>", ">"]
        for s in forbidden_subs:
            await jp.subscribe(s, _collector(jp_got))
        forbidden_pubs = [
            "tl.KR.tracks",
            "tl.release.KR.system_tracks",
            "tl.release.JP.alerts",
            "tl.hub.fused",
            "$JS.hub.API.STREAM.INFO.RELEASE_KR",
            "$JS.hub.API.STREAM.PURGE.RELEASE_JP",
        ]
        for s in forbidden_pubs:
            await jp.publish(s, b"from-jp", sender="JP")
        await jp.flush()
        expected = [f'permissions violation for subscription to "{s}"' for s in forbidden_subs]
        expected += [f'permissions violation for publish to "{s}"' for s in forbidden_pubs]

        def all_reported() -> bool:
            got = [e.lower() for e in jp.permission_errors]
            return all(any(x.lower() in g for g in got) for x in expected)

        assert await _until(all_reported), (
            f"missing permission errors; server reported {jp.permission_errors}"
        )
        # KR traffic happens meanwhile: none of it may reach JP
        await kr.publish("tl.KR.tracks", b"kr-secret", sender="KR")
        await hub.publish("tl.release.KR.system_tracks", b"kr-release", sender="HUB")
        await kr.flush()
        await hub.flush()
        await asyncio.sleep(0.5)
        assert jp_got == [], jp_got
        assert all(data != b"from-jp" for _, data in kr_got), kr_got
        assert all(data != b"from-jp" for _, data in hub_got), hub_got
        assert (("tl.release.KR.system_tracks", b"kr-release")) in kr_got
        assert ("tl.KR.tracks", b"kr-secret") in hub_got
        for c in (jp, kr, hub):
            await c.close()

    asyncio.run(main())


def test_a_certificates_are_bound_to_server_and_connection_type(dep: Deployment) -> None:
    """JP's C2 certificate is unknown to KR's server; a leaf certificate cannot be a client."""

    async def refused(url: str, tls) -> str:
        try:
            t = await AsyncNatsTransport.connect(url, tls, reconnect=False, connect_timeout_s=5)
        except Exception as exc:
            return repr(exc)
        await t.close()
        pytest.fail(f"connection to {url} with {tls.cert_path.name} was accepted")

    async def main() -> None:
        err = await refused(dep.client_url("KR"), dep.credentials("JP"))
        assert "Authorization" in err or "authorization" in err, err
        err = await refused(dep.hub_url, dep.credentials("JP", kind=UserKind.LEAF))
        assert "uthorization" in err, err
        err = await refused(dep.hub_url, dep.credentials("JP"))  # JP's C2 lives on JP's leaf
        assert "uthorization" in err, err

    asyncio.run(main())


# ----------------------------------------------------------------------------------------------
# (b) leaf servers with unknown or missing certificates are refused by the hub


def test_b_unmapped_or_missing_leaf_certificates_are_refused(
    dep: Deployment, tmp_path: Path
) -> None:
    other_ca = pki.create_ca(tmp_path / "other-ca")
    foreign = pki.issue_client_cert(other_ca, tmp_path / "other-ca", "kr-leaf", account="KR")
    # the right subject, signed by another CA (the leaf itself trusts the real CA)
    impostor = pki.TlsFiles(
        cert_path=foreign.cert_path, key_path=foreign.key_path, ca_path=dep.ca.cert_path
    )
    cases = {
        # signed by the deployment's CA, but no user has this subject
        "rogue-unknown": dep.issue_client_cert("kr-leaf-2", account="KR"),
        # a real user's certificate, but of a client (STANDARD) user, not a leaf user
        "rogue-client-cert": dep.credentials("KR"),
        # the right subject, signed by another CA
        "rogue-other-ca": impostor,
        # no client certificate at all
        "rogue-nocert": None,
    }
    procs = {
        name: dep.spawn_leaf(name, "KR", leaf_tls=tls, local_auth=True)
        for name, tls in cases.items()
    }
    # a leaf retries every second: give each several attempts
    time.sleep(3.5)
    leafz = dep.leafz()
    names = [leaf.get("name") for leaf in leafz.get("leafs") or []]
    assert sorted(names) == ["jp", "kr"], leafz
    hub_log = dep.hub.log_text()
    # why each was refused, from the hub's and the leaf's logs
    assert "TLS leafnode handshake error: tls: client didn't provide a certificate" in hub_log
    assert "x509: certificate signed by unknown authority" in hub_log
    assert "Leafnode connection closed: Authentication Failure" in hub_log
    for name in ("rogue-unknown", "rogue-client-cert"):
        assert "Leafnode Error 'Authorization Violation'" in procs[name].log_text(), name
    for name, proc in procs.items():
        assert proc.running, f"{name} should keep running (and retrying), log:\n{proc.log_tail()}"
        assert proc.monitor("leafz")["leafnodes"] == 0, (name, proc.monitor("leafz"))
        proc.stop()


# ----------------------------------------------------------------------------------------------
# (c) a compromised JP server without any local permission still cannot reach KR


def test_c_stripped_jp_leaf_is_contained_by_the_hub(dep: Deployment) -> None:
    leaf_tls = dep.credentials("JP", kind=UserKind.LEAF)
    rogue = dep.spawn_leaf("jp-stripped", "JP", leaf_tls=leaf_tls, local_auth=False)
    deadline = time.monotonic() + WAIT_S
    while dep.connected_leaf_accounts().count("JP") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dep.connected_leaf_accounts().count("JP") == 2, dep.leafz()

    async def main() -> None:
        import nats

        bad = await nats.connect(f"nats://127.0.0.1:{rogue.client_port}", allow_reconnect=False)
        kr = await _client(dep, "KR")
        hub = await _client(dep, "HUB")
        ops_kr = await AsyncNatsTransport.connect(
            dep.hub_url, dep.credentials("KR", kind=UserKind.OPS), reconnect=False
        )
        bad_got: list = []
        kr_got: list = []
        hub_got: list = []

        async def bad_cb(msg) -> None:
            bad_got.append((msg.subject, msg.data))

        await bad.subscribe(">", cb=bad_cb)
        await kr.subscribe("tl.release.KR.>", _collector(kr_got))
        await hub.subscribe("tl.KR.>", _collector(hub_got))
        await hub.subscribe("tl.JP.>", _collector(hub_got))
        await hub.subscribe("tl.hub.>", _collector(hub_got))
        await bad.flush()

        async def bad_pub(subject: str, data: bytes) -> None:
            await bad.publish(subject, data)

        await _await_route(hub.publish, "tl.release.KR.status", kr_got)
        await _await_route(hub.publish, "tl.release.JP.status", bad_got)
        await _await_route(bad_pub, "tl.JP.status", hub_got)

        js_ops = ops_kr.jetstream(domain=None)
        before = (await js_ops.stream_info(release_stream_name("KR"))).state.messages

        # the compromised server's client tries everything
        for s in (
            "tl.KR.tracks",
            "tl.release.KR.system_tracks",
            "tl.release.KR.alerts",
            "tl.hub.fused",
            "tl.US.tracks",
        ):
            await bad.publish(s, b"bad")
        for s in ("$JS.hub.API.STREAM.PURGE.RELEASE_KR", "$JS.hub.API.STREAM.INFO.RELEASE_KR"):
            with pytest.raises((nats.errors.NoRespondersError, nats.errors.TimeoutError)):
                await bad.request(s, b"", timeout=1.0)
        # legitimate traffic
        await kr.publish("tl.KR.tracks", b"legit-kr", sender="KR")
        await hub.publish("tl.release.KR.system_tracks", b"legit-release-kr", sender="HUB")
        await hub.publish("tl.hub.fused", b"legit-hub", sender="HUB")
        # positive controls: the stripped server *is* linked, within JP's account
        await hub.publish("tl.release.JP.system_tracks", b"legit-release-jp", sender="HUB")
        await bad.publish("tl.JP.tracks", b"bad-but-jp")
        await bad.flush()
        await kr.flush()
        await hub.flush()

        assert await _until(lambda: ("tl.release.JP.system_tracks", b"legit-release-jp") in bad_got)
        assert await _until(lambda: ("tl.JP.tracks", b"bad-but-jp") in hub_got)
        assert await _until(lambda: ("tl.release.KR.system_tracks", b"legit-release-kr") in kr_got)
        await asyncio.sleep(0.5)

        leaked = [(s, d) for s, d in bad_got if d.startswith(b"legit") and "JP" not in s]
        assert leaked == [], f"KR / hub data reached the compromised JP server: {leaked}"
        assert all(d != b"bad" for _, d in kr_got), kr_got
        assert all(d != b"bad" for _, d in hub_got), hub_got
        after = (await js_ops.stream_info(release_stream_name("KR"))).state.messages
        assert after == before + 1, (before, after)  # only the hub's legit release
        for c in (kr, hub, ops_kr):
            await c.close()
        await bad.close()

    try:
        asyncio.run(main())
    finally:
        rogue.stop()


# ----------------------------------------------------------------------------------------------
# (d) happy path and latency


def test_d_happy_path_and_round_trip_latency(dep: Deployment) -> None:
    # the hub's fusion process echoes JP's reports back as releases to JP (own loop thread)
    hub = NatsTransport(dep.hub_url, dep.credentials("HUB"), name="hub-fusion")
    hub_got: list = []

    async def echo(subject: str, data: bytes) -> None:
        hub_got.append(data)
        await hub.core.publish("tl.release.JP.system_tracks", data, sender="HUB")

    hub.subscribe("tl.JP.tracks", echo, subscriber="HUB")
    hub.flush()

    async def main() -> tuple[list[float], list]:
        jp = await _client(dep, "JP")
        kr = await _client(dep, "KR")
        kr_got: list = []
        await kr.subscribe("tl.release.KR.>", _collector(kr_got))
        hub_kr = await AsyncNatsTransport.connect(dep.hub_url, dep.credentials("HUB"))
        await _await_route(hub_kr.publish, "tl.release.KR.status", kr_got)
        await hub_kr.publish("tl.release.KR.system_tracks", b"st-1", sender="HUB")
        await hub_kr.flush()
        assert await _until(lambda: ("tl.release.KR.system_tracks", b"st-1") in kr_got)

        got: asyncio.Queue = asyncio.Queue()
        await jp.subscribe("tl.release.JP.system_tracks", lambda s, d: got.put_nowait(d))
        for _ in range(500):  # until JP's interest has reached the hub
            await jp.publish("tl.JP.tracks", b"warm", sender="JP")
            try:
                await asyncio.wait_for(got.get(), 0.05)
                break
            except TimeoutError:
                continue
        await asyncio.sleep(0.2)
        while not got.empty():
            got.get_nowait()
        rtts = []
        for i in range(1050):
            payload = i.to_bytes(4, "big")
            t0 = time.perf_counter()
            await jp.publish("tl.JP.tracks", payload, sender="JP")
            echoed = await asyncio.wait_for(got.get(), WAIT_S)
            rtts.append(time.perf_counter() - t0)
            assert echoed == payload
        for c in (jp, kr, hub_kr):
            await c.close()
        return rtts[50:], kr_got

    try:
        rtts, _ = asyncio.run(main())
    finally:
        hub.close()
    assert len(hub_got) >= 1000
    p50 = statistics.median(rtts) * 1e3
    p99 = statistics.quantiles(rtts, n=100)[98] * 1e3
    print(
        f"\nJP->hub->JP round trip over leaf+mTLS on loopback: p50 {p50:.3f} ms, p99 {p99:.3f} ms"
    )
    assert p50 < 20.0, p50


# ----------------------------------------------------------------------------------------------
# (e) replay after a cut of the KR leaf link


def _cut_and_replay(tmp_path: Path, cut_s: float, n: int) -> None:
    with Deployment(default_topology(), tmp_path) as d:
        hub = NatsTransport(d.hub_url, d.credentials("HUB"), name="hub-fusion")
        received: list[ReleasedMessage] = []
        stop = threading.Event()
        errors: list[BaseException] = []

        async def kr_node() -> ReleaseReader:
            kr = await _client(d, "KR")
            reader = ReleaseReader(kr.jetstream(), nation="KR", durable="kr-c2", ack_wait_s=3.0)
            await reader.start()
            while not stop.is_set():
                await reader.poll(received.append, timeout_s=0.5)
            await reader.stop()
            await kr.close()
            return reader

        box: dict = {}

        def run_kr() -> None:
            try:
                box["reader"] = asyncio.run(kr_node())
            except BaseException as exc:
                errors.append(exc)

        t = threading.Thread(target=run_kr, daemon=True)
        t.start()
        try:
            before = 10
            for i in range(before):
                hub.publish(f"tl.release.KR.{'system_tracks' if i % 2 else 'alerts'}", b"%d" % i)
            hub.flush()
            deadline = time.monotonic() + WAIT_S
            while len(received) < before and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(received) == before, [m.data for m in received]

            d.cut_leaf("KR")
            t_cut = time.monotonic()
            for i in range(before, before + n):
                hub.publish("tl.release.KR.system_tracks", b"%d" % i, sender="HUB")
                time.sleep(cut_s * 0.8 / n)
            hub.flush()
            time.sleep(max(0.0, cut_s - (time.monotonic() - t_cut)))
            assert len(received) == before, "messages crossed a cut link"
            assert "KR" not in d.connected_leaf_accounts()
            d.restore_leaf("KR")

            deadline = time.monotonic() + 30.0
            while len(received) < before + n and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            t.join(30.0)
            hub.close()
        assert not errors, errors
        got = [int(m.data) for m in received]
        assert got == list(range(before + n)), (
            f"{len(got)} received; first wrong at "
            f"{next((k for k, v in enumerate(got) if v != k), None)}"
        )
        seqs = [m.stream_seq for m in received]
        assert seqs == sorted(set(seqs))
        reader = box["reader"]
        print(
            f"\ncut {cut_s:.0f} s: {n} releases replayed in order; duplicates dropped "
            f"{reader.duplicates_dropped}, gaps filled {reader.gaps_filled}"
        )


@pytest.mark.parametrize(
    "cut_s",
    [CUT_S, pytest.param(ACCEPTANCE_CUT_S, marks=pytest.mark.slow, id="acceptance-30s")],
)
def test_e_kr_receives_everything_released_during_a_cut(tmp_path: Path, cut_s: float) -> None:
    _cut_and_replay(tmp_path, cut_s, n=200)


# ----------------------------------------------------------------------------------------------
# (f) hub restart keeps JetStream state


def test_f_hub_restart_keeps_streams_and_consumers(tmp_path: Path) -> None:
    with Deployment(default_topology(), tmp_path) as d:

        async def phase1() -> None:
            hub = await AsyncNatsTransport.connect(d.hub_url, d.credentials("HUB"))
            for i in range(50):
                await hub.publish("tl.release.KR.system_tracks", b"%d" % i, sender="HUB")
            await hub.flush()
            kr = await _client(d, "KR")
            reader = ReleaseReader(kr.jetstream(), nation="KR", durable="kr-c2")
            got: list[ReleasedMessage] = []
            while len(got) < 20:
                got += await reader.fetch(max_msgs=20 - len(got), timeout_s=1.0)
            assert [int(m.data) for m in got] == list(range(20))
            await reader.stop()
            for c in (hub, kr):
                await c.close()

        asyncio.run(phase1())

        async def count() -> int:
            ops = await AsyncNatsTransport.connect(
                d.hub_url, d.credentials("KR", kind=UserKind.OPS), reconnect=False
            )
            info = await ops.jetstream(domain=None).stream_info(release_stream_name("KR"))
            await ops.close()
            return info.state.messages

        assert asyncio.run(count()) == 50
        d.restart_hub()
        assert asyncio.run(count()) == 50

        async def phase2() -> list[int]:
            kr = await _client(d, "KR")
            reader = ReleaseReader(kr.jetstream(), nation="KR", durable="kr-c2")
            got: list[ReleasedMessage] = []
            deadline = time.monotonic() + 20
            while len(got) < 30 and time.monotonic() < deadline:
                got += await reader.fetch(max_msgs=30, timeout_s=1.0)
            await reader.stop()
            await kr.close()
            return [int(m.data) for m in got]

        # the durable consumer resumes where it was acknowledged before the restart
        assert asyncio.run(phase2()) == list(range(20, 50))


# ----------------------------------------------------------------------------------------------
# The reader's ordering guarantees when a delivery is lost in transit


def test_release_reader_fills_gaps_and_drops_redeliveries(dep: Deployment) -> None:
    """A message handed out but lost (never acked) is read from the stream at once, in order,
    and its later redelivery by the consumer is dropped. US connects directly to the hub."""

    async def main() -> None:
        hub = await _client(dep, "HUB")
        us = await _client(dep, "US")
        for i in range(5):
            await hub.publish("tl.release.US.alerts", b"%d" % i, sender="HUB")
        await hub.flush()
        js = us.jetstream()
        reader = ReleaseReader(js, nation="US", durable="us-gap", ack_wait_s=1.0)
        await reader.start()
        # a delivery lost with a link: fetched from the consumer, never seen nor acked
        thief = await js.pull_subscribe_bind(durable="us-gap", stream=release_stream_name("US"))
        lost = await thief.fetch(1, timeout=WAIT_S)
        assert [m.data for m in lost] == [b"0"]
        got: list[ReleasedMessage] = []
        deadline = time.monotonic() + WAIT_S
        while len(got) < 5 and time.monotonic() < deadline:
            got += await reader.fetch(timeout_s=0.5)
        assert [m.data for m in got] == [b"%d" % i for i in range(5)]
        assert reader.gaps_filled == 1
        await asyncio.sleep(1.5)  # ack_wait expires: the consumer redelivers message 0
        deadline = time.monotonic() + WAIT_S
        while reader.duplicates_dropped < 1 and time.monotonic() < deadline:
            assert await reader.fetch(timeout_s=0.5) == []
        assert reader.duplicates_dropped == 1
        await thief.unsubscribe()
        await reader.stop()
        for c in (hub, us):
            await c.close()

    asyncio.run(main())


# ----------------------------------------------------------------------------------------------
# The policy's accounts give the same layout; the sync transport checks locally too


def test_topology_from_policy_accounts_is_valid(tmp_path: Path) -> None:
    import subprocess

    policy = pytest.importorskip("trilink.link.policy")
    from trilink.link.natsconf import nation_client_permissions, topology_from_accounts

    topo = topology_from_accounts(policy.Policy.default().accounts())
    ref = default_topology()
    assert [a.name for a in topo.accounts] == [a.name for a in ref.accounts]
    jp = topo.account("JP")
    assert {u.name: u.kind for u in jp.users} == {u.name: u.kind for u in ref.account("JP").users}
    assert [s.name for s in jp.streams] == ["RELEASE_JP"]
    # the policy is at least as narrow as the reference layout
    ref_pub = nation_client_permissions("JP").publish
    for subject in jp.users[0].permissions.publish:
        assert subject in ref_pub or subject.startswith("tl.JP."), subject
    ca = pki.create_ca(tmp_path)
    tls = pki.issue_server_cert(ca, tmp_path, "hub")
    path = tmp_path / "hub.conf"
    path.write_text(hub_config(topo, tls=tls, store_dir=tmp_path / "js"))
    res = subprocess.run(
        [str(nats_server_binary()), "-c", str(path), "-t"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_sync_transport_checks_identity_and_permissions_locally(dep: Deployment) -> None:
    from trilink.link.natsconf import nation_client_permissions

    jp = NatsTransport(
        dep.client_url("JP"),
        dep.credentials("JP"),
        identity="JP",
        permissions=nation_client_permissions("JP"),
    )
    try:
        with pytest.raises(PermissionError):
            jp.publish("tl.KR.tracks", b"x", sender="JP")
        with pytest.raises(PermissionError):
            jp.publish("tl.JP.tracks", b"x", sender="KR")
        with pytest.raises(PermissionError):
            jp.subscribe("tl.release.>", lambda s, d: None, subscriber="JP")
        sub = jp.subscribe("tl.release.JP.alerts", lambda s, d: None, subscriber="JP")
        jp.publish("tl.JP.tracks", b"x", sender="JP")
        jp.flush()
        sub.unsubscribe()
        assert jp.permission_errors == []
    finally:
        jp.close()
    with pytest.raises(RuntimeError):
        jp.publish("tl.JP.tracks", b"x", sender="JP")
