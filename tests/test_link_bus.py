"""InProcessBus: scenario-time delivery, NATS subjects, policy enforcement, latency, loss."""

from __future__ import annotations

import numpy as np
import pytest

from trilink.link.bus import InProcessBus, LinkConfig, Transport, default_link
from trilink.link.latency import participant_delay_s
from trilink.link.policy import Policy

POLICY = Policy.default()


class Inbox:
    def __init__(self, bus: InProcessBus) -> None:
        self.bus = bus
        self.got: list[tuple[float, str, bytes]] = []

    def __call__(self, subject: str, data: bytes) -> None:
        self.got.append((self.bus.now_s, subject, data))


def _bus(**kw: object) -> InProcessBus:
    return InProcessBus(POLICY, **kw)  # type: ignore[arg-type]


def test_is_a_transport() -> None:
    assert isinstance(_bus(), Transport)


def test_delivery_at_publish_time_plus_latency_in_order() -> None:
    bus = _bus(links={("JP", "HUB"): LinkConfig(latency_s=0.05)})
    hub = Inbox(bus)
    bus.subscribe("tl.JP.>", hub, subscriber="HUB")
    bus.publish("tl.JP.tracks", b"a", sender="JP")
    bus.publish("tl.JP.heartbeat", b"b", sender="JP")
    bus.run_until(1.0)
    bus.publish("tl.JP.tracks", b"c", sender="JP")
    assert bus.run_until(1.04) == 0 and bus.now_s == 1.04
    assert bus.run_until(2.0) == 1
    assert hub.got == [
        (0.05, "tl.JP.tracks", b"a"),
        (0.05, "tl.JP.heartbeat", b"b"),
        (1.05, "tl.JP.tracks", b"c"),
    ]
    s = bus.stats
    assert (s.published, s.delivered, s.pending, s.lost) == (3, 3, 0, 0)


def test_relay_through_the_hub_takes_two_hops() -> None:
    bus = _bus()
    kr = Inbox(bus)

    def relay(subject: str, data: bytes) -> None:  # the hub re-publishes to KR
        bus.publish("tl.release.KR.system_tracks", data, sender="HUB")

    bus.subscribe("tl.JP.tracks", relay, subscriber="HUB")
    bus.subscribe("tl.release.KR.>", kr, subscriber="KR")
    bus.publish("tl.JP.tracks", b"x", sender="JP")
    bus.run()
    expected = participant_delay_s("JP", "HUB") + participant_delay_s("HUB", "KR")
    assert kr.got[0][0] == pytest.approx(expected, abs=1e-12)
    assert 0.09 < expected < 0.12  # ~100 ms via Hawaii


def test_default_links_follow_the_latency_model() -> None:
    assert default_link("JP", "HUB").latency_s == pytest.approx(
        participant_delay_s("JP", "HUB"), rel=1e-12
    )
    assert default_link("HUB", "US").latency_s == pytest.approx(0.5e-3)
    assert default_link("HUB", "XX").latency_s == pytest.approx(0.5e-3)


@pytest.mark.parametrize(
    "pattern", ["tl.KR.>", "tl.release.KR.>", ">", "tl.release.>", "tl.*.tracks"]
)
def test_jp_may_not_subscribe(pattern: str) -> None:
    bus = _bus()
    with pytest.raises(PermissionError, match=rf"JP may not subscribe to '{pattern}'") as info:
        bus.subscribe(pattern, Inbox(bus), subscriber="JP")
    assert "JP" in str(info.value)
    assert bus.stats.refused_subscribe == 1


@pytest.mark.parametrize(
    "subject",
    ["tl.KR.tracks", "tl.release.JP.system_tracks", "tl.release.KR.alerts", "tl.hub.x"],
)
def test_jp_may_not_publish(subject: str) -> None:
    bus = _bus()
    hub = Inbox(bus)
    bus.subscribe("tl.KR.>", hub, subscriber="HUB")
    with pytest.raises(PermissionError, match=rf"JP may not publish on '{subject}'"):
        bus.publish(subject, b"spoof", sender="JP")
    bus.run_until(10.0)
    assert hub.got == []
    assert bus.stats.refused_publish == 1 and bus.stats.published == 0


def test_jp_may_not_publish_to_any_release_subject() -> None:
    bus = _bus()
    for nation in ("JP", "KR", "US"):
        for leaf in ("system_tracks", "notices", "alerts", "registration", "status"):
            with pytest.raises(PermissionError):
                bus.publish(f"tl.release.{nation}.{leaf}", b"", sender="JP")
    assert bus.stats.refused_publish == 15


def test_invalid_subjects_are_value_errors() -> None:
    bus = _bus()
    with pytest.raises(ValueError, match="wildcard"):
        bus.publish("tl.JP.*", b"", sender="JP")
    with pytest.raises(ValueError, match="empty token"):
        bus.subscribe("tl..>", Inbox(bus), subscriber="HUB")


def test_partners_only_hear_their_own_releases() -> None:
    bus = _bus()
    jp, kr = Inbox(bus), Inbox(bus)
    bus.subscribe("tl.release.JP.>", jp, subscriber="JP")
    bus.subscribe("tl.release.KR.*", kr, subscriber="KR")
    bus.publish("tl.release.JP.alerts", b"j", sender="HUB")
    bus.publish("tl.release.KR.alerts", b"k", sender="HUB")
    bus.publish("tl.JP.tracks", b"t", sender="JP")
    bus.run_until(1.0)
    assert [g[2] for g in jp.got] == [b"j"]
    assert [g[2] for g in kr.got] == [b"k"]


def test_unsubscribe_stops_delivery_even_of_queued_messages() -> None:
    bus = _bus()
    hub = Inbox(bus)
    sub = bus.subscribe("tl.JP.>", hub, subscriber="HUB")
    bus.publish("tl.JP.tracks", b"a", sender="JP")
    sub.unsubscribe()
    bus.publish("tl.JP.tracks", b"b", sender="JP")
    bus.run_until(1.0)
    assert hub.got == []


def test_loss_is_drawn_from_the_generator_and_reproducible() -> None:
    def run(seed: int) -> list[bytes]:
        bus = _bus(
            links={("JP", "HUB"): LinkConfig(latency_s=0.01, loss_probability=0.3)},
            rng=np.random.default_rng(seed),
        )
        hub = Inbox(bus)
        bus.subscribe("tl.JP.>", hub, subscriber="HUB")
        for i in range(2000):
            bus.publish("tl.JP.tracks", i.to_bytes(2, "big"), sender="JP")
        bus.run_until(1.0)
        assert bus.stats.lost + bus.stats.delivered == 2000
        return [g[2] for g in hub.got]

    a, b, c = run(1), run(1), run(2)
    assert a == b and a != c
    assert 0.25 < 1 - len(a) / 2000 < 0.35


def test_loss_without_a_generator_is_refused() -> None:
    with pytest.raises(ValueError, match="rng"):
        _bus(links={("JP", "HUB"): LinkConfig(latency_s=0.01, loss_probability=0.1)})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"latency_s": -1.0}, "latency_s"), ({"latency_s": 0.0, "loss_probability": 2.0}, "loss")],
)
def test_bad_link_config(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LinkConfig(**kwargs)


def test_clock_cannot_go_back_and_closed_bus_refuses() -> None:
    bus = _bus()
    bus.run_until(5.0)
    with pytest.raises(ValueError, match="before the bus clock"):
        bus.run_until(4.0)
    with pytest.raises(ValueError, match="before the bus clock"):
        bus.publish("tl.JP.tracks", b"", sender="JP", at_s=1.0)
    bus.close()
    with pytest.raises(RuntimeError, match="closed"):
        bus.publish("tl.JP.tracks", b"", sender="JP")


def test_every_delivery_of_a_burst_arrives_once() -> None:
    """30,000 messages to two overlapping subscriptions: 60,000 deliveries, none lost
    or doubled. (The rate is measured in `python -m benchmarks link`, not here: a
    timed assertion fails on a loaded machine.)"""
    bus = _bus()
    count = [0]

    def handler(subject: str, data: bytes) -> None:
        count[0] += 1

    bus.subscribe("tl.JP.>", handler, subscriber="HUB")
    bus.subscribe("tl.JP.tracks", handler, subscriber="HUB")
    n = 30_000
    for _ in range(n):
        bus.publish("tl.JP.tracks", b"x", sender="JP")
    bus.run_until(10.0)
    assert count[0] == 2 * n
