"""Signing: valid envelopes verify; forged, replayed, malformed and oversized ones are
dropped and counted, never raised; keys round-trip through files with mode 0600."""

from __future__ import annotations

import logging
import os
import stat
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trilink.link import signing
from trilink.link.messages import (
    MAX_MESSAGE_BYTES,
    Heartbeat,
    Signed,
    TrackReport,
    decode_signed,
)
from trilink.link.signing import KeyPair, Signer, Verifier, VerifierStats

JP_KEY = KeyPair.generate()
KR_KEY = KeyPair.generate()
EPOCH = datetime(2023, 4, 13, tzinfo=UTC)


def _beat(i: int, origin: str = "JP") -> Heartbeat:
    return Heartbeat(origin=origin, time_s=float(i), sent_time_s=float(i))


def _verifier(**kw: object) -> Verifier:
    return Verifier({"JP": JP_KEY.public_key, "KR": KR_KEY.public_key}, **kw)  # type: ignore[arg-type]


def test_sign_and_verify_round_trip_with_increasing_sequence() -> None:
    signer = Signer("JP", JP_KEY)
    v = _verifier()
    track = TrackReport(
        origin="JP",
        track_id=1,
        seq=1,
        time_s=1.0,
        epoch_utc=EPOCH,
        sent_time_s=1.0,
        r_ecef_m=(1.0, 2.0, 3.0),
        v_ecef_mps=(0.0, 0.0, 0.0),
        covariance_upper=(1.0,) * 21,
        sensor_ids=("JP-1",),
    )
    blobs = [signer.sign(track, sent_time_s=1.0), signer.sign(_beat(2), sent_time_s=2.0)]
    envs = [msgspec.msgpack.decode(b, type=Signed) for b in blobs]
    assert [e.seq for e in envs] == [1, 2]
    assert envs[0].origin == "JP" and envs[0].key_id == JP_KEY.key_id
    assert v.verify(blobs[0]) == track
    assert v.verify(blobs[1]) == _beat(2)
    assert v.stats == VerifierStats(accepted=2)
    assert signer.next_seq == 3


def test_replay_and_duplicate_are_dropped() -> None:
    signer = Signer("JP", JP_KEY)
    v = _verifier()
    a, b = signer.sign(_beat(1), sent_time_s=1.0), signer.sign(_beat(2), sent_time_s=2.0)
    assert v.verify(a) is not None
    assert v.verify(a) is None  # duplicate
    assert v.last_reason == "replayed"
    assert v.verify(b) is not None
    assert v.verify(a) is None  # replay of an older one
    assert v.stats.replayed == 2 and v.stats.accepted == 2


def test_modest_reordering_is_accepted_once_and_gaps_counted() -> None:
    signer = Signer("JP", JP_KEY)
    v = _verifier(window=8)
    blobs = [signer.sign(_beat(i), sent_time_s=float(i)) for i in range(1, 13)]  # seq 1..12
    order = [1, 3, 2, 5, 4, 4, 12]  # 4 twice; 6..11 never arrive
    results = [v.verify(blobs[s - 1]) for s in order]
    assert [r is not None for r in results] == [True, True, True, True, True, False, True]
    st_ = v.stats
    assert st_.accepted == 6
    assert st_.replayed == 1
    assert st_.late_accepted == 2  # 2 and 4
    assert st_.gap == 1 + 1 + 6  # 2 skipped, 4 skipped, 6..11 skipped
    assert st_.gap - st_.late_accepted == 6  # still missing: 6..11
    # 3 is now 9 below the newest (12): outside the window of 8 -> replay
    assert v.verify(blobs[2]) is None and v.last_reason == "replayed"


def test_oversized_is_rejected_before_parsing() -> None:
    v = _verifier()
    assert v.verify(b"\x00" * (MAX_MESSAGE_BYTES + 1)) is None
    assert v.stats.oversized == 1 and v.stats.dropped == 1


def test_unknown_origin_and_key_are_forged() -> None:
    v = Verifier({"JP": JP_KEY.public_key})
    assert v.verify(Signer("KR", KR_KEY).sign(_beat(1, "KR"), sent_time_s=0.0)) is None
    # a JP envelope signed with KR's key: key id unknown for JP
    assert v.verify(Signer("JP", KR_KEY).sign(_beat(1), sent_time_s=0.0)) is None
    assert v.stats.forged == 2


def test_wrong_key_with_the_right_key_id_is_forged() -> None:
    v = _verifier()
    signer = Signer("JP", KeyPair(private_key=KR_KEY.private_key, key_id=JP_KEY.key_id))
    assert v.verify(signer.sign(_beat(1), sent_time_s=0.0)) is None
    assert v.stats.forged == 1 and v.last_reason == "forged"


def test_origin_mismatch_is_dropped() -> None:
    v = _verifier()
    blob = Signer("JP", JP_KEY).sign(_beat(1, origin="KR"), sent_time_s=0.0)
    assert v.verify(blob) is None
    assert v.stats.origin_mismatch == 1


def test_validly_signed_garbage_payload_is_malformed() -> None:
    v = _verifier()
    assert v.verify(Signer("JP", JP_KEY).sign_payload(b"\x01\x02", sent_time_s=0.0)) is None
    assert v.stats.malformed == 1


def test_non_bytes_never_raise() -> None:
    v = _verifier()
    assert v.verify(None) is None  # type: ignore[arg-type]
    assert v.verify(12) is None  # type: ignore[arg-type]
    assert v.stats.malformed == 2


def test_each_drop_is_logged_with_its_reason(caplog: pytest.LogCaptureFixture) -> None:
    v = _verifier(name="hub-verifier")
    with caplog.at_level(logging.WARNING, logger="trilink.link.signing"):
        v.verify(b"junk")
        v.verify(b"\x00" * (MAX_MESSAGE_BYTES + 1))
    text = caplog.text
    assert "hub-verifier" in text and "malformed" in text and "oversized" in text


def test_key_rotation() -> None:
    new = KeyPair.generate()
    v = _verifier()
    blob = Signer("JP", new).sign(_beat(1), sent_time_s=0.0)
    assert v.verify(blob) is None
    v.trust("JP", new.public_key)
    blob = Signer("JP", new, next_seq=2).sign(_beat(2), sent_time_s=0.0)
    assert v.verify(blob) == _beat(2)


def test_key_files(tmp_path: os.PathLike[str]) -> None:
    from pathlib import Path

    d = Path(tmp_path)
    path = JP_KEY.save(d / "jp.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = KeyPair.load(path)
    assert loaded.key_id == JP_KEY.key_id
    blob = Signer("JP", loaded).sign(_beat(1), sent_time_s=0.0)
    assert _verifier().verify(blob) == _beat(1)
    # an existing wider-mode file is tightened on save
    wide = d / "wide.key"
    wide.write_bytes(b"")
    wide.chmod(0o644)
    JP_KEY.save(wide)
    assert stat.S_IMODE(wide.stat().st_mode) == 0o600
    wide.chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        KeyPair.load(wide)
    bad = d / "bad.key"
    bad.write_bytes(b"not a key")
    bad.chmod(0o600)
    with pytest.raises(ValueError, match=r"bad\.key"):
        KeyPair.load(bad)
    pub = signing.save_public_key(JP_KEY.public_key, d / "jp.pub")
    assert signing.key_id_of(signing.load_public_key(pub)) == JP_KEY.key_id
    from cryptography.hazmat.primitives import serialization

    raw = d / "raw.key"
    raw.write_bytes(
        JP_KEY.private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    )
    raw.chmod(0o600)
    assert KeyPair.load(raw).key_id == JP_KEY.key_id


def test_signature_covers_every_envelope_field() -> None:
    signer = Signer("JP", JP_KEY)
    env = msgspec.msgpack.decode(signer.sign(_beat(1), sent_time_s=5.0), type=Signed)
    for change in ({"sent_time_s": 6.0}, {"seq": 7}, {"payload": env.payload + b"\x00"}):
        v = _verifier()
        forged = msgspec.msgpack.encode(msgspec.structs.replace(env, **change))
        assert v.verify(forged) is None
        assert v.stats.forged + v.stats.malformed == 1


@pytest.mark.skipif(not signing.HAVE_PYNACL, reason="PyNaCl not installed")
def test_backends_agree() -> None:  # pragma: no cover - environment dependent
    signer = Signer("JP", JP_KEY)
    blobs = [signer.sign(_beat(i), sent_time_s=0.0) for i in range(1, 4)]
    bad = bytearray(blobs[2])
    bad[-1] ^= 1
    for backend in ("cryptography", "pynacl"):
        v = _verifier(backend=backend)
        assert [v.verify(b) is not None for b in (*blobs[:2], bytes(bad))] == [True, True, False]
        assert v.stats.forged == 1


def test_bad_backend_name() -> None:
    with pytest.raises(ValueError, match="backend"):
        _verifier(backend="openssl")


_OPS = st.one_of(
    st.just(("valid", 0)),
    st.tuples(st.just("truncate"), st.integers(min_value=0, max_value=10_000)),
    st.tuples(st.just("flip"), st.integers(min_value=0, max_value=1_000_000)),
    st.tuples(st.just("random"), st.binary(max_size=300)),
    st.just(("oversized", 0)),
)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(_OPS, min_size=1, max_size=8))
def test_fuzz_bad_envelopes_dropped_valid_ones_delivered(ops: list[tuple[str, object]]) -> None:
    signer = Signer("JP", JP_KEY)
    v = _verifier()
    valid_seqs: list[int] = []
    n_bad = n_oversized = 0
    logging.getLogger("trilink.link.signing").disabled = True
    try:
        for i, (kind, arg) in enumerate(ops):
            if kind == "valid":
                valid_seqs.append(signer.next_seq)
                message = _beat(i)
                assert v.verify(signer.sign(message, sent_time_s=float(i))) == message
                continue
            if kind == "truncate":
                blob = signer.sign(_beat(i), sent_time_s=0.0)
                data = blob[: int(arg) % len(blob)]  # type: ignore[call-overload]
            elif kind == "flip":
                blob = bytearray(signer.sign(_beat(i), sent_time_s=0.0))
                bit = int(arg) % (8 * len(blob))  # type: ignore[call-overload]
                blob[bit // 8] ^= 1 << (bit % 8)
                data = bytes(blob)
            elif kind == "random":
                data = arg  # type: ignore[assignment]
            else:
                data = b"\x01" * (MAX_MESSAGE_BYTES + 1)
                n_oversized += 1
            n_bad += 1
            assert v.verify(data) is None
            assert v.last_reason in ("malformed", "forged", "oversized")
    finally:
        logging.getLogger("trilink.link.signing").disabled = False
    s = v.stats
    assert s.accepted == len(valid_seqs)
    assert s.dropped == n_bad
    assert s.oversized == n_oversized
    assert s.malformed + s.forged == n_bad - n_oversized
    assert s.replayed == 0 and s.origin_mismatch == 0 and s.late_accepted == 0
    expected_gap = (valid_seqs[-1] - valid_seqs[0] + 1 - len(valid_seqs)) if valid_seqs else 0
    assert s.gap == expected_gap


def test_verification_is_fast_enough() -> None:
    """Generous bound (CI noise): the benchmark reports the real figure."""
    import time

    signer = Signer("JP", JP_KEY)
    v = _verifier()
    blobs = [signer.sign(_beat(i), sent_time_s=0.0) for i in range(300)]
    t0 = time.perf_counter()
    for b in blobs:
        v.verify(b)
    per_message_s = (time.perf_counter() - t0) / len(blobs)
    assert v.stats.accepted == 300
    assert per_message_s < 1e-3, f"verify took {per_message_s * 1e6:.0f} µs per message"


def test_non_canonical_envelope_encoding_dropped() -> None:
    """MessagePack can spell one value several ways (1 as fixint 0x01 or uint8 0xcc 0x01).
    The signature covers values, so a re-spelled envelope would verify: it must not."""
    signer = Signer("JP", JP_KEY)
    v = _verifier()
    blob = signer.sign(_beat(0), sent_time_s=0.0)
    assert blob[0] == 0x97 and blob[1] == 0x01  # array of 7, version 1 as a fixint
    respelled = blob[:1] + b"\xcc\x01" + blob[2:]
    assert decode_signed(respelled) == decode_signed(blob)  # the same values
    logging.getLogger("trilink.link.signing").disabled = True
    try:
        assert v.verify(respelled) is None
    finally:
        logging.getLogger("trilink.link.signing").disabled = False
    assert v.last_reason == "malformed"
    assert v.verify(blob) == _beat(0)  # the canonical one still passes
