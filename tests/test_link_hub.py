"""The link stage in one process: nodes → InProcessBus → hub → partners.

Synthetic national tracks tables (two ballistic-looking objects, each nation seeing
them with its own noise) go through :func:`trilink.sim.link_run.run_link`; checks:
what each partner receives (only hub-fused SystemTracks, no foreign reports, no
sensor ids), global track numbers, the event log, and the hub's robustness to bad
envelopes interleaved with good ones (none of the good ones lost).
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envelope_fuzz import BAD, bad_blobs
from trilink.fusion import Fuser
from trilink.link.bus import InProcessBus
from trilink.link.hub import Hub
from trilink.link.messages import (
    Bundle,
    Heartbeat,
    SystemTrack,
    TrackReport,
)
from trilink.link.node import COV_COLUMNS, NationalNode, reports_from_columns
from trilink.link.policy import Policy
from trilink.link.signing import KeyPair, Signer, Verifier
from trilink.sim.link_run import EventLog, run_link
from trilink.tracking.tracker import COV_COLUMNS as TRACKER_COV_COLUMNS
from trilink.tracking.tracker import TRACK_COLUMNS, TrackOutput

EPOCH = datetime(2023, 4, 12, 22, 22, tzinfo=UTC)
KEYS = {p: KeyPair.generate() for p in ("HUB", "JP", "KR", "US")}


def _table(nation: str, t: np.ndarray, rng: np.random.Generator, sigma_m: float) -> dict:
    """Two objects on straight lines 50 km apart, reported with position noise σ."""
    rows = []
    for tid, off in ((1, 0.0), (2, 50_000.0)):
        r0 = np.array([-3.0e6 + off, 4.0e6, 4.2e6])
        v = np.array([1_500.0, 800.0, -300.0])
        for ti in t:
            r = r0 + v * ti + rng.normal(0.0, sigma_m, 3)
            rows.append((ti, tid + (10 if nation == "KR" else 0), r, v))
    n = len(rows)
    cols: dict = {c: np.full(n, np.nan) for c in TRACK_COLUMNS}
    cols["time_s"] = np.array([r[0] for r in rows])
    cols["track_id"] = np.array([r[1] for r in rows], dtype=np.int64)
    for j, c in enumerate(("x_ecef_m", "y_ecef_m", "z_ecef_m")):
        cols[c] = np.array([r[2][j] for r in rows])
    for j, c in enumerate(("vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps")):
        cols[c] = np.array([r[3][j] for r in rows])
    for c in COV_COLUMNS:
        a, b = c.split("_")[1:]
        cols[c] = np.full(n, (sigma_m**2 if a in "xyz" else 25.0) if a == b else 0.0)
    cols["kind"] = np.array(["unknown"] * n)
    cols["kind_confidence"] = np.zeros(n)
    cols["parent_track_id"] = np.full(n, -1, dtype=np.int64)
    cols["n_updates"] = np.full(n, 10, dtype=np.int64)
    return cols


def _tracks(seconds: int = 20) -> dict[str, TrackOutput]:
    rng = np.random.default_rng(3)
    t = np.arange(0.0, float(seconds))
    return {
        n: TrackOutput(
            columns=_table(n, t, rng, s), assignments=np.empty((0, 2), np.int64), late_dropped=0
        )
        for n, s in (("JP", 100.0), ("KR", 300.0), ("US", 200.0))
    }


def test_node_covariance_columns_are_the_tracker_contract() -> None:
    assert COV_COLUMNS == TRACKER_COV_COLUMNS


def test_partners_receive_only_hub_system_tracks_with_stable_numbers() -> None:
    log = EventLog()
    res = run_link(_tracks(), epoch_utc=EPOCH, sink=log)
    assert res.hub.reports == 3 * 2 * 20 and res.hub.dropped == 0
    assert res.hub.epochs_fused == 20
    tab = res.system_tracks_table()
    # two objects, two global numbers, each seen by all three nations after start-up
    assert len(np.unique(tab["global_track_number"])) == 2
    late = tab["time_s"] >= 5.0
    assert set(tab["contributors"][late].tolist()) == {"JP;KR;US"}
    # every partner got every system track (2 per epoch), released as SystemTrack
    assert res.received == {"JP": 40, "KR": 40, "US": 40}
    kinds = {e["event"] for e in log.events}
    assert {"track_report", "system_track", "relay"} <= kinds
    relays = [e for e in log.events if e["event"] == "relay"]
    assert len(relays) == 3 * 40 and all(e["decision"] == "released" for e in relays)
    for e in log.events:  # the event log is JSON, time-stamped
        json.dumps(e, allow_nan=False)
        assert math.isfinite(e["t_s"])


def _wire(seconds: int = 6):
    """A bus, a hub and three nodes sharing keys (for the robustness tests)."""
    policy = Policy.default()
    bus = InProcessBus(policy)
    clock = lambda: bus.now_s  # noqa: E731
    hub = Hub(
        bus,
        policy,
        Signer("HUB", KEYS["HUB"]),
        Verifier({n: KEYS[n].public_key for n in ("JP", "KR", "US")}, name="hub"),
        Fuser(),
        nations=("JP", "KR", "US"),
        epoch_utc=EPOCH,
        clock=clock,
    )
    nodes = {
        n: NationalNode(
            nation=n,
            transport=bus,
            signer=Signer(n, KEYS[n]),
            verifier=Verifier({"HUB": KEYS["HUB"].public_key}, name=n, relays={"HUB"}),
            epoch_utc=EPOCH,
            clock=clock,
        )
        for n in ("JP", "KR", "US")
    }
    return policy, bus, hub, nodes


def test_jp_sees_no_korean_report_and_no_sensor_ids() -> None:
    policy, bus, _hub, nodes = _wire()
    tracks = _tracks(6)
    for t in range(6):
        bus.run_until(float(t))
        for n, node in nodes.items():
            cols = tracks[n].columns
            rows = np.flatnonzero(cols["time_s"] == t)
            node.publish_epoch(float(t), cols, rows, sensor_ids={1: ("radar-a",), 11: ("x",)})
    bus.run()
    got = [r.message for r in nodes["JP"].received]
    assert got and all(isinstance(m, SystemTrack) and m.origin == "HUB" for m in got)
    assert not any(isinstance(m, TrackReport) for m in got)
    assert not any(hasattr(m, "sensor_ids") and m.sensor_ids for m in got)
    # the hub did get the sensor ids (it needs them for registration)
    report = reports_from_columns(
        tracks["KR"].columns,
        [0],
        nation="KR",
        epoch_utc=EPOCH,
        sent_time_s=0.0,
        seq_of=lambda _t: 1,
        sensor_ids={11: ("x",)},
    )[0]
    assert report.sensor_ids == ("x",)
    assert policy.release(report, "JP") is None  # a KR report never goes to JP as is
    bundle = Bundle(origin="KR", time_s=0.0, items=(report,))
    assert policy.release(bundle, "JP") is None  # nor inside a bundle


def test_reports_arriving_in_another_order_give_the_same_picture() -> None:
    """The hub fuses an epoch's reports in (nation, track id) order."""
    pictures = []
    for order in (("JP", "KR", "US"), ("US", "KR", "JP")):
        _, bus, hub, nodes = _wire()
        tracks = _tracks(6)
        for t in range(6):
            bus.run_until(float(t))
            for n in order:
                cols = tracks[n].columns
                rows = np.flatnonzero(cols["time_s"] == t)[::-1]
                nodes[n].publish_epoch(float(t), cols, rows)
        bus.run()
        pictures.append(hub.pictures)
    for a, b in zip(*pictures, strict=True):
        np.testing.assert_array_equal(a.global_track_number, b.global_track_number)
        np.testing.assert_array_equal(a.state, b.state)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad=st.lists(BAD, min_size=1, max_size=4), where=st.integers(0, 2))
def test_hub_drops_bad_envelopes_and_loses_no_valid_report(bad, where) -> None:
    """Bad envelopes interleaved with a nation's valid ones, on the hub's input subject:
    each is dropped (counted by the verifier, logged), the hub keeps running, and every
    valid report is fused."""
    policy = Policy.default()
    bus = InProcessBus(policy)
    hub = Hub(
        bus,
        policy,
        Signer("HUB", KEYS["HUB"]),
        Verifier({n: KEYS[n].public_key for n in ("JP", "KR", "US")}, name="hub"),
        Fuser(),
        nations=("JP",),
        epoch_utc=EPOCH,
        clock=lambda: bus.now_s,
    )
    cols = _tracks(3)["JP"].columns
    signer = Signer("JP", KEYS["JP"])
    rogue = Signer("JP", KeyPair.generate())  # right name, wrong key
    sent: list[bytes] = []
    logging.getLogger("trilink.link.signing").disabled = True
    try:
        for t in range(3):
            rows = np.flatnonzero(cols["time_s"] == t)
            reps = reports_from_columns(
                cols,
                rows,
                nation="JP",
                epoch_utc=EPOCH,
                sent_time_s=float(t),
                seq_of=lambda _tid, t=t: t + 1,
            )
            good = signer.sign(
                Bundle(origin="JP", time_s=float(t), items=tuple(reps)), sent_time_s=float(t)
            )
            blobs = bad_blobs(
                bad,
                good,
                sent[-1] if sent else None,
                lambda reps=reps, t=t: rogue.sign(
                    Bundle(origin="JP", time_s=float(t), items=tuple(reps)), sent_time_s=float(t)
                ),
            )
            seq = [*blobs[:where], good, *blobs[where:]]
            for data in seq:
                bus.publish("tl.JP.tracks", data, sender="JP")
            sent.append(good)
            bus.publish(
                "tl.JP.heartbeat",
                signer.sign(
                    Heartbeat(origin="JP", time_s=float(t), sent_time_s=float(t)),
                    sent_time_s=float(t),
                ),
                sender="JP",
            )
            bus.run()
    finally:
        logging.getLogger("trilink.link.signing").disabled = False
    s = hub.stats
    assert s.epochs_fused == 3
    assert s.reports == 3 * 2  # every valid report fused, none lost
    assert s.dropped == 3 * len(bad)  # every bad envelope dropped and counted
    v = hub.verifier.stats
    assert v.dropped == s.dropped


@pytest.mark.parametrize("nation", ["JP", "KR"])
def test_a_node_cannot_pose_as_another_on_the_bus(nation: str) -> None:
    _, bus, _, _ = _wire()
    other = "KR" if nation == "JP" else "JP"
    with pytest.raises(PermissionError):
        bus.publish(f"tl.{other}.tracks", b"x", sender=nation)
    with pytest.raises(PermissionError):
        bus.subscribe(f"tl.release.{other}.>", lambda s, d: None, subscriber=nation)
