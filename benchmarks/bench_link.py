"""Link core speed: encode+sign, verify+decode per message, and InProcessBus deliveries/s.

Message: a full ``TrackReport`` (state, 21-term covariance, launch and impact
estimates, two sensor ids; ~600 bytes encoded, ~700 signed). Timed separately:

* encode + sign (``Signer.sign``) per message;
* verify + decode (``Verifier.verify``) per message, with each available backend
  (``cryptography``/OpenSSL always; ``pynacl``/libsodium if installed);
* the raw ed25519 verify alone (OpenSSL), to show what the floor is;
* InProcessBus: ``--messages`` publishes on ``tl.JP.tracks`` with two matching HUB
  subscriptions (so twice as many deliveries), then ``run_until``; deliveries/s over
  publish + delivery.

Best of ``--repeat`` runs. The process is pinned to one CPU unless ``--all-cores``.
Options: ``--messages=N`` (20000), ``--repeat=R`` (3), ``--all-cores``.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import numpy as np

from trilink.link import signing
from trilink.link.bus import InProcessBus
from trilink.link.messages import (
    ImpactEstimate,
    LaunchPoint,
    TrackReport,
    covariance_upper,
    decode_message,
    encode_message,
)
from trilink.link.policy import Policy
from trilink.link.signing import KeyPair, Signer, Verifier, signed_bytes


def _option(argv: list[str], name: str, default: float) -> float:
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return float(arg.split("=", 1)[1])
    return default


def _track(i: int) -> TrackReport:
    return TrackReport(
        origin="JP",
        track_id=i % 100,
        seq=i,
        time_s=100.0 + i * 0.01,
        epoch_utc=datetime(2023, 4, 13, 22, 22, tzinfo=UTC),
        sent_time_s=100.1 + i * 0.01,
        r_ecef_m=(-3.1e6, 3.9e6, 4.2e6),
        v_ecef_mps=(1500.0, 2500.0, 1200.0),
        covariance_upper=covariance_upper(np.diag([400.0, 400.0, 900.0, 25.0, 25.0, 36.0])),
        kind="warhead",
        kind_confidence=0.7,
        n_updates=40,
        parent_track_id=3,
        launch=LaunchPoint(lat_deg=39.112, lon_deg=125.998, time_s=0.0),
        impact=ImpactEstimate(
            lat_deg=41.5,
            lon_deg=136.2,
            time_s=4400.0,
            semi_major_m=25_000.0,
            semi_minor_m=9_000.0,
            orientation_deg=70.0,
        ),
        sensor_ids=("JP-FPS5-1", "JP-FPS7-2"),
    )


def _best(repeat: int, fn: object) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str]) -> None:
    n = int(_option(argv, "messages", 20_000))
    repeat = int(_option(argv, "repeat", 3))
    if "--all-cores" not in argv and hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        print(f"pinned to CPU {cpu}")

    messages = [_track(i) for i in range(1, n + 1)]
    key = KeyPair.generate()

    t = _best(repeat, lambda: [decode_message(encode_message(m)) for m in messages])
    print(f"encode+decode (msgspec, no signing):   {t / n * 1e6:8.2f} µs/message")

    signer = Signer("JP", key)
    blobs: list[bytes] = []

    def sign_all() -> None:
        blobs[:] = [signer.sign(m, sent_time_s=m.sent_time_s) for m in messages]

    t_sign = _best(repeat, sign_all)
    print(
        f"encode+sign:                           {t_sign / n * 1e6:8.2f} µs/message "
        f"({len(blobs[0])} bytes signed)"
    )

    payload = encode_message(messages[0])
    data = signed_bytes(origin="JP", key_id=key.key_id, seq=1, sent_time_s=0.0, payload=payload)
    sig = key.private_key.sign(data)
    pub = key.public_key
    m_raw = min(n, 5000)
    t_raw = _best(repeat, lambda: [pub.verify(sig, data) for _ in range(m_raw)])
    print(f"raw ed25519 verify (OpenSSL):          {t_raw / m_raw * 1e6:8.2f} µs/message")

    backends = ["cryptography"] + (["pynacl"] if signing.HAVE_PYNACL else [])
    for backend in backends:
        best = float("inf")
        for _ in range(repeat):
            v = Verifier({"JP": pub}, backend=backend)  # type: ignore[arg-type]
            t0 = time.perf_counter()
            out = [v.verify(b) for b in blobs]
            best = min(best, time.perf_counter() - t0)
            assert v.stats.accepted == n and out[-1] == messages[-1]
        per = best / n
        print(
            f"verify+decode ({backend:12s}):         {per * 1e6:8.2f} µs/message "
            f"({1 / per:,.0f} messages/s; sign+verify {(t_sign / n + per) * 1e6:.1f} µs)"
        )
    if not signing.HAVE_PYNACL:
        print("  (PyNaCl not installed: the libsodium verify backend was not measured)")

    bus_best = float("inf")
    for _ in range(repeat):
        bus = InProcessBus(Policy.default())
        count = [0]

        def handler(subject: str, data: bytes, count: list[int] = count) -> None:
            count[0] += 1

        bus.subscribe("tl.JP.>", handler, subscriber="HUB")
        bus.subscribe("tl.JP.tracks", handler, subscriber="HUB")
        blob = blobs[0]
        t0 = time.perf_counter()
        for i in range(n):
            bus.publish("tl.JP.tracks", blob, sender="JP")
            if i % 1000 == 999:
                bus.run_until(bus.now_s + 0.01)
        bus.run_until(bus.now_s + 1.0)
        bus_best = min(bus_best, time.perf_counter() - t0)
        assert count[0] == 2 * n
    print(
        f"InProcessBus publish+deliver:          {2 * n / bus_best:,.0f} deliveries/s "
        f"({n} publishes x 2 subscriptions)"
    )
