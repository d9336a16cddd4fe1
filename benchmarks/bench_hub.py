"""The hub through the real NATS leaf topology on loopback: throughput, added latency,
and the relay-via-Hawaii delay table.

Set-up (not timed): a :class:`~trilink.link.servers.Deployment` from the default
policy's accounts — the hub server, the JP and KR leaf servers over mutual TLS
(``verify_and_map``) — on 127.0.0.1. The **hub runs in its own process**
(:class:`~trilink.link.hub.Hub` over :class:`~trilink.link.nats_transport.NatsTransport`
with the HUB account's certificate); the three national nodes run in this process,
JP and KR on their leaf servers, US on the hub server, each with its own connection.

**Throughput.** Each nation reports ``--objects`` objects (default 100; 50 km apart,
its own noise) at every epoch, for ``--epochs`` epochs (default 60): 3 × 100 × 60 =
18,000 track reports. A node signs an epoch's reports in bundles and closes the epoch;
the hub verifies, fuses (:class:`trilink.fusion.Fuser`), applies the policy per
partner and releases signed bundles; each node verifies what it receives. Nodes send
as fast as the hub keeps up, at most ``WINDOW`` epochs ahead of the releases they
have received (flow control, so the figure is a sustained rate, not a queue filling).
Reported: reports/s from the first publication to the last release verified at all
three partners; loss checked end to end (reports fused = reports sent; system tracks
received by each partner = released to it).

**Latency.** One object per nation, one epoch every 20 ms, 300 epochs: the time from
the last heartbeat of an epoch being published to its release arriving (verified) at
JP, against a plain JP → hub → JP round trip over the same servers (a ping the hub
process echoes without processing). The difference is what the hub adds (verify,
fuse, policy, sign): p50 and p99 of both are printed.

Options: ``--objects=N`` (100), ``--epochs=N`` (60), ``--quick`` (30 objects, 20 epochs).
Results: ``benchmarks/results/hub.json``.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from trilink.link.latency import format_relay_table
from trilink.link.natsconf import topology_from_accounts
from trilink.link.node import NationalNode, Received
from trilink.link.policy import Policy
from trilink.link.servers import Deployment
from trilink.link.signing import KeyPair, Signer, Verifier, load_public_key, save_public_key

RESULTS = Path(__file__).parent / "results"
TARGET_REPORTS_PER_S = 10_000.0
NATIONS = ("JP", "KR", "US")
EPOCH = datetime(2023, 4, 12, 22, 22, tzinfo=UTC)
WINDOW = 4
WARMUP_EPOCHS = 20


def _opt(argv: list[str], name: str, default: float) -> float:
    for a in argv:
        if a.startswith(f"--{name}="):
            return float(a.split("=", 1)[1])
    return default


def _hub_worker(cfg: dict[str, Any], ready: Any, done: Any) -> None:
    """The hub process: Hub over NATS until told to stop; returns its counters."""
    from trilink.fusion import Fuser
    from trilink.link.hub import Hub
    from trilink.link.nats_transport import NatsTransport

    policy = Policy.default()
    t = NatsTransport(cfg["url"], cfg["tls"], name="hub")
    key = KeyPair.load(cfg["hub_key"])
    verifier = Verifier({n: load_public_key(cfg["pub"][n]) for n in NATIONS}, name="hub")
    t0 = time.perf_counter()
    hub = Hub(
        t,
        policy,
        Signer("HUB", key),
        verifier,
        Fuser(),
        nations=NATIONS,
        epoch_utc=EPOCH,
        clock=lambda: time.perf_counter() - t0,
    )
    # echo for the transport-only round trip (no verification, no fusion)
    t.subscribe("tl.JP.status", lambda s, d: t.publish("tl.release.JP.status", d), subscriber="HUB")
    t.flush()
    ready.set()
    done.wait()
    s = hub.stats
    cfg["queue"].put(
        {
            "reports": s.reports,
            "epochs": s.epochs_fused,
            "released": s.system_tracks_released,
            "dropped": s.dropped,
            "late": s.late_reports,
        }
    )
    t.close()


def _tables(n_obj: int, epochs: int, rng: np.random.Generator) -> dict[str, dict]:
    """Per nation, a tracks-table column dict: n_obj objects on straight lines."""
    from trilink.link.node import COV_COLUMNS

    t = np.repeat(np.arange(float(epochs)), n_obj)
    k = np.tile(np.arange(n_obj), epochs)
    r0 = np.column_stack([-3.0e6 + 50e3 * k, 4.0e6 + 0 * k, 4.2e6 + 0 * k])
    v = np.array([1_500.0, 800.0, -300.0])
    out = {}
    for nation, sig in (("JP", 100.0), ("KR", 300.0), ("US", 200.0)):
        r = r0 + t[:, None] * v + rng.normal(0.0, sig, (t.size, 3))
        cols: dict[str, Any] = {
            "time_s": t,
            "track_id": k + 1,
            "x_ecef_m": r[:, 0],
            "y_ecef_m": r[:, 1],
            "z_ecef_m": r[:, 2],
            "vx_ecef_mps": np.full(t.size, v[0]),
            "vy_ecef_mps": np.full(t.size, v[1]),
            "vz_ecef_mps": np.full(t.size, v[2]),
            "kind": np.full(t.size, "unknown"),
            "kind_confidence": np.zeros(t.size),
            "parent_track_id": np.full(t.size, -1),
            "n_updates": np.full(t.size, 10),
        }
        for c in COV_COLUMNS:
            a, b = c.split("_")[1:]
            diag = sig**2 if a in ("x", "y", "z") else 25.0
            cols[c] = np.full(t.size, diag if a == b else 0.0)
        out[nation] = cols
    return out


class _Partner:
    """A national node over NATS, recording when each epoch's release reached it."""

    def __init__(self, dep: Deployment, nation: str, keys: dict[str, KeyPair]) -> None:
        from trilink.link.nats_transport import NatsTransport

        self.t = NatsTransport(dep.client_url(nation), dep.credentials(nation), name=nation)
        self.lock = threading.Condition()
        self.arrivals: dict[float, float] = {}
        self.items = 0
        self.node = NationalNode(
            nation=nation,
            transport=self.t,
            signer=Signer(nation, keys[nation]),
            verifier=Verifier({"HUB": keys["HUB"].public_key}, name=nation, relays={"HUB"}),
            epoch_utc=EPOCH,
            clock=time.perf_counter,
            on_receive=self._got,
        )
        self.t.flush()

    def _got(self, r: Received) -> None:
        with self.lock:
            self.items += 1
            self.arrivals.setdefault(r.message.time_s, r.time_s)
            self.lock.notify_all()

    def wait_epoch(self, t_e: float, timeout_s: float = 30.0) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: t_e in self.arrivals, timeout=timeout_s)


def _ping_round_trip(p: _Partner, n: int) -> np.ndarray:
    # the pongs (unsigned) also reach the node's own subscription, which drops them
    logging.getLogger("trilink.link.signing").setLevel(logging.CRITICAL)
    got = threading.Event()
    sub = p.t.subscribe("tl.release.JP.status", lambda s, d: got.set(), subscriber="JP")
    p.t.flush()
    # interest made on a leaf takes a moment to reach the hub: ping until the route is up
    deadline = time.perf_counter() + 20.0
    while not got.is_set():
        if time.perf_counter() > deadline:
            raise RuntimeError("no pong from the hub process within 20 s")
        p.t.publish("tl.JP.status", b"ping", sender="JP")
        got.wait(0.2)
    time.sleep(0.3)
    out = []
    for _ in range(n):
        got.clear()
        t0 = time.perf_counter()
        p.t.publish("tl.JP.status", b"ping", sender="JP")
        if not got.wait(5.0):
            raise RuntimeError("ping lost")
        out.append(time.perf_counter() - t0)
    sub.unsubscribe()
    time.sleep(0.3)
    logging.getLogger("trilink.link.signing").setLevel(logging.NOTSET)
    return np.array(out)


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    n_obj = int(_opt(argv, "objects", 30 if quick else 100))
    epochs = int(_opt(argv, "epochs", 20 if quick else 60))
    print(format_relay_table())
    policy = Policy.default()
    topo = topology_from_accounts(policy.accounts())
    with (
        tempfile.TemporaryDirectory(prefix="trilink-bench-hub-") as tmp,
        Deployment(topo, Path(tmp) / "nats") as dep,
    ):
        dep.provision_streams()
        keys = {p: KeyPair.generate() for p in ("HUB", *NATIONS)}
        pub = {}
        for n in NATIONS:
            pub[n] = str(save_public_key(keys[n].public_key, Path(tmp) / f"{n}.pub"))
        hub_key = str(keys["HUB"].save(Path(tmp) / "hub.pem"))
        ctx = mp.get_context("spawn")
        q, ready, done = ctx.Queue(), ctx.Event(), ctx.Event()
        cfg = {"url": dep.hub_url, "tls": dep.credentials("HUB"), "hub_key": hub_key, "pub": pub}
        cfg["queue"] = q
        proc = ctx.Process(target=_hub_worker, args=(cfg, ready, done), daemon=True)
        proc.start()
        try:
            if not ready.wait(60.0):
                raise RuntimeError("hub process did not start")
            partners = {n: _Partner(dep, n, keys) for n in NATIONS}
            _run(partners, n_obj, epochs, quick)
            done.set()
            stats = q.get(timeout=60.0)
        finally:
            done.set()
            proc.join(10.0)
            if proc.is_alive():
                proc.kill()
            for p in locals().get("partners", {}).values():
                p.t.close()
    print(f"hub process counters: {stats}")


def _run(partners: dict[str, _Partner], n_obj: int, epochs: int, quick: bool) -> None:
    rng = np.random.default_rng(5)
    jp = partners["JP"]
    # -- latency: transport only, then through the hub ------------------------------
    rt = _ping_round_trip(jp, 200 if quick else 1000)
    light = _tables(1, 300 if not quick else 100, rng)
    sent: dict[float, float] = {}
    for e in range(len(np.unique(light["JP"]["time_s"]))):
        t_e = float(e) + 100_000.0  # far past the throughput epochs' numbering
        for n in NATIONS:
            cols = dict(light[n])
            cols["time_s"] = light[n]["time_s"] + 100_000.0
            rows = np.flatnonzero(cols["time_s"] == t_e)
            partners[n].node.publish_epoch(t_e, cols, rows)
        sent[t_e] = time.perf_counter()
        time.sleep(0.02)
    for t_e in sent:
        jp.wait_epoch(t_e, 10.0)
    warm = sorted(sent)[:WARMUP_EPOCHS]  # first fusions compile kernels: not counted
    lat = np.array([jp.arrivals[t] - sent[t] for t in sent if t in jp.arrivals and t not in warm])
    print(
        f"JP -> hub -> JP over the leaf topology, transport only: "
        f"p50 {np.median(rt) * 1e3:.2f} ms, p99 {np.percentile(rt, 99) * 1e3:.2f} ms "
        f"({rt.size} pings)"
    )
    print(
        f"epoch closed -> its release verified at JP (verify, fuse, policy, sign, relay): p50 "
        f"{np.median(lat) * 1e3:.2f} ms, p99 {np.percentile(lat, 99) * 1e3:.2f} ms "
        f"({lat.size} of {len(sent)} epochs)"
    )
    added50 = np.median(lat) - np.median(rt)
    added99 = np.percentile(lat, 99) - np.percentile(rt, 99)
    print(f"hub-added latency: p50 {added50 * 1e3:.2f} ms, p99 {added99 * 1e3:.2f} ms")
    # -- throughput ------------------------------------------------------------------
    tables = _tables(n_obj, epochs, rng)
    T0 = 200_000.0  # after the latency epochs: the hub fuses epochs in time order
    for tab in tables.values():
        tab["time_s"] = tab["time_s"] + T0
    items0 = {n: p.items for n, p in partners.items()}
    n_reports = sum(len(t["time_s"]) for t in tables.values())
    t0 = time.perf_counter()
    for e in range(epochs):
        if e >= WINDOW:
            for p in partners.values():
                if not p.wait_epoch(T0 + e - WINDOW, 60.0):
                    raise RuntimeError(f"epoch {e - WINDOW} never released")
        for n in NATIONS:
            rows = np.flatnonzero(tables[n]["time_s"] == T0 + e)
            partners[n].node.publish_epoch(T0 + e, tables[n], rows)
    want = {n: items0[n] + n_obj * epochs for n in partners}
    for n, p in partners.items():  # every item of the last epoch (it may span bundles)
        with p.lock:
            p.lock.wait_for(lambda p=p, n=n: p.items >= want[n], timeout=60.0)
    wall = time.perf_counter() - t0
    time.sleep(0.5)  # anything more (a duplicate) would show up in the count
    # releases are per system track: n_obj per epoch to each partner
    got = {n: p.items - items0[n] for n, p in partners.items()}
    rate = n_reports / wall
    lossless = all(v == n_obj * epochs for v in got.values())
    print(
        f"throughput: {n_reports:,} track reports ({len(NATIONS)} nations × {n_obj} objects × "
        f"{epochs} epochs) signed, sent, verified, fused, released and verified by the partners "
        f"in {wall:.2f} s -> {rate:,.0f} reports/s "
        f"({'PASS' if rate >= TARGET_REPORTS_PER_S else 'FAIL'} vs >= {TARGET_REPORTS_PER_S:,.0f})"
    )
    print(
        "system tracks verified per partner: "
        + ", ".join(f"{n} {v:,}" for n, v in got.items())
        + f" (expected {n_obj * epochs:,} each: {'no loss' if lossless else 'LOSS'})"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "hub.json").write_text(
        json.dumps(
            {
                "round_trip_ms": {
                    "p50": float(np.median(rt) * 1e3),
                    "p99": float(np.percentile(rt, 99) * 1e3),
                },
                "hub_path_ms": {
                    "p50": float(np.median(lat) * 1e3),
                    "p99": float(np.percentile(lat, 99) * 1e3),
                },
                "hub_added_ms": {"p50": float(added50 * 1e3), "p99": float(added99 * 1e3)},
                "throughput_reports_per_s": rate,
                "reports": n_reports,
                "per_partner_system_tracks": got,
            },
            indent=1,
        )
    )
