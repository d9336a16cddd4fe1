"""The hub over a real NATS deployment: bad envelopes from the network.

One :class:`~trilink.link.servers.Deployment` (hub server + JP and KR leaf servers,
mutual TLS) for the module; the :class:`~trilink.link.hub.Hub` runs on a
:class:`~trilink.link.nats_transport.NatsTransport` with the HUB account's
certificate, a JP client on the JP leaf server sends. Hypothesis draws 1,000 mixes of
forged, replayed, truncated, bit-flipped, random and oversized envelopes interleaved
with a valid bundle of track reports and the heartbeat that closes its epoch: every
bad one is counted and dropped, the hub keeps running, and every valid report is
fused (none lost).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envelope_fuzz import BAD, bad_blobs
from trilink.fusion import Fuser
from trilink.link.hub import Hub
from trilink.link.messages import Bundle, Heartbeat, TrackReport
from trilink.link.nats_transport import NatsTransport
from trilink.link.natsconf import topology_from_accounts
from trilink.link.policy import Policy
from trilink.link.servers import Deployment
from trilink.link.signing import KeyPair, Signer, Verifier

EPOCH = datetime(2023, 4, 12, 22, 22, tzinfo=UTC)
KEYS = {p: KeyPair.generate() for p in ("HUB", "JP")}
ROGUE = KeyPair.generate()


class _World:
    def __init__(self, dep: Deployment) -> None:
        policy = Policy.default()
        self.hub_t = NatsTransport(dep.hub_url, dep.credentials("HUB"), name="hub")
        self.lock = threading.Lock()
        self.hub = Hub(
            self.hub_t,
            policy,
            Signer("HUB", KEYS["HUB"]),
            Verifier({"JP": KEYS["JP"].public_key}, name="hub"),
            Fuser(),
            nations=("JP",),
            epoch_utc=EPOCH,
            clock=time.monotonic,
            max_silence_s=3600.0,
        )
        self.jp = NatsTransport(dep.client_url("JP"), dep.credentials("JP"), name="jp")
        self.signer = Signer("JP", KEYS["JP"])
        self.rogue = Signer("JP", ROGUE)  # right name, wrong key
        self.epoch = 0.0
        self.last_good: bytes | None = None
        # the leaf propagates interest to the hub after a moment: wait until it flows
        self.send_epoch([])
        deadline = time.monotonic() + 20.0
        while self.hub.stats.epochs_fused == 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the hub never heard JP")
            self.send_epoch([])
            time.sleep(0.1)

    def report(self, k: int) -> TrackReport:
        return TrackReport(
            origin="JP",
            track_id=k + 1,
            seq=int(self.epoch) + 1,
            time_s=self.epoch,
            epoch_utc=EPOCH,
            sent_time_s=self.epoch,
            r_ecef_m=(-3.0e6 + 50e3 * k, 4.0e6, 4.2e6),
            v_ecef_mps=(1500.0, 800.0, -300.0),
            covariance_upper=(
                1e4,
                0,
                0,
                0,
                0,
                0,
                1e4,
                0,
                0,
                0,
                0,
                1e4,
                0,
                0,
                0,
                25.0,
                0,
                0,
                25.0,
                0,
                25.0,
            ),
        )

    def good(self) -> bytes:
        items = (self.report(0), self.report(1))
        return self.signer.sign(
            Bundle(origin="JP", time_s=self.epoch, items=items), sent_time_s=0.0
        )

    def send_epoch(self, blobs: list[bytes], where: int = 0) -> bytes:
        self.epoch += 1.0
        good = self.good()
        for data in [*blobs[:where], good, *blobs[where:]]:
            self.jp.publish("tl.JP.tracks", data, sender="JP")
        beat = Heartbeat(origin="JP", time_s=self.epoch, sent_time_s=0.0)
        self.jp.publish("tl.JP.heartbeat", self.signer.sign(beat, sent_time_s=0.0), sender="JP")
        self.jp.flush()
        self.last_good = good
        return good

    def close(self) -> None:
        self.jp.close()
        self.hub_t.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    topo = topology_from_accounts(Policy.default().accounts())
    with Deployment(topo, tmp_path_factory.mktemp("nats-hub")) as dep:
        w = _World(dep)
        try:
            yield w
        finally:
            w.close()


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(bad=st.lists(BAD, min_size=1, max_size=4), where=st.integers(0, 4))
def test_bad_envelopes_over_nats_dropped_no_valid_report_lost(world: _World, bad, where) -> None:
    before = world.hub.stats
    template = world.good()  # the same epoch's shape, for the truncations and flips
    blobs = bad_blobs(
        bad,
        template,
        world.last_good,
        lambda: world.rogue.sign(
            Bundle(origin="JP", time_s=world.epoch + 1.0, items=(world.report(0),)),
            sent_time_s=0.0,
        ),
    )
    # the template was signed with a sequence number of its own: it is a valid
    # envelope nobody sent; flips and truncations of it must all fail, the template not
    logging.getLogger("trilink.link.signing").disabled = True
    try:
        world.send_epoch([x for x in blobs if x != template], where)
        deadline = time.monotonic() + 10.0
        while world.hub.stats.epochs_fused < before.epochs_fused + 1:
            assert time.monotonic() < deadline, "the hub stopped fusing"
            time.sleep(0.002)
    finally:
        logging.getLogger("trilink.link.signing").disabled = False
    after = world.hub.stats
    assert after.reports - before.reports == 2  # the valid bundle's reports, both fused
    n_bad = sum(1 for x in blobs if x != template)
    assert after.dropped - before.dropped == n_bad  # each bad envelope counted
    assert np.isfinite(world.hub.pictures[-1].state).all()
