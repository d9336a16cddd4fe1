"""Wire messages: round trips of every type, validation errors naming the field, limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import numpy as np
import pytest

from trilink.link import messages as m

EPOCH = datetime(2023, 4, 13, 22, 22, tzinfo=UTC)
COV = m.covariance_upper(np.diag([100.0, 100.0, 100.0, 4.0, 4.0, 4.0]))
LAUNCH = m.LaunchPoint(lat_deg=39.112, lon_deg=125.998, time_s=0.0)
IMPACT = m.ImpactEstimate(
    lat_deg=41.0,
    lon_deg=136.0,
    time_s=4400.0,
    semi_major_m=25_000.0,
    semi_minor_m=8_000.0,
    orientation_deg=75.0,
)


def _samples() -> list[m.Message]:
    return [
        m.TrackReport(
            origin="KR",
            track_id=17,
            seq=4,
            time_s=120.5,
            epoch_utc=EPOCH,
            sent_time_s=120.6,
            r_ecef_m=(-3.0e6, 3.5e6, 4.0e6),
            v_ecef_mps=(1000.0, 2000.0, 3000.0),
            covariance_upper=COV,
            kind="warhead",
            kind_confidence=0.8,
            n_updates=42,
            parent_track_id=3,
            launch=LAUNCH,
            impact=IMPACT,
            sensor_ids=("KR-GP-1", "KR-GP-2"),
        ),
        m.TrackReport(
            origin="JP",
            track_id=1,
            seq=1,
            time_s=0.0,
            epoch_utc=EPOCH,
            sent_time_s=0.0,
            r_ecef_m=(0.0, 0.0, 6.4e6),
            v_ecef_mps=(0.0, 0.0, 0.0),
            covariance_upper=COV,
        ),
        m.SystemTrack(
            origin="HUB",
            track_number=1001,
            seq=9,
            time_s=121.0,
            epoch_utc=EPOCH,
            sent_time_s=121.1,
            r_ecef_m=(-3.0e6, 3.5e6, 4.0e6),
            v_ecef_mps=(1000.0, 2000.0, 3000.0),
            covariance_upper=COV,
            contributing_nations=("JP", "KR"),
            kind="stage",
            kind_confidence=0.6,
            launch=LAUNCH,
            impact=IMPACT,
        ),
        m.LaunchNotice(
            origin="US",
            notice_id=5,
            time_s=60.0,
            epoch_utc=EPOCH,
            sent_time_s=61.0,
            launch=LAUNCH,
            sigma_north_m=1500.0,
            sigma_east_m=1200.0,
            sigma_time_s=2.0,
            azimuth_deg=80.0,
            sigma_azimuth_deg=5.0,
            n_detections=12,
            sensor_ids=("SBIRS-GEO-1",),
        ),
        m.Alert(
            origin="HUB",
            alert_id=1,
            region_id="JP-01",
            region_name="Hokkaido",
            level="take_cover",
            time_s=300.0,
            epoch_utc=EPOCH.astimezone(timezone(timedelta(hours=9))),
            sent_time_s=300.2,
            text="Missile may fall. Take cover.",
            track_number=1001,
        ),
        m.Heartbeat(origin="JP", time_s=10.0, sent_time_s=10.0),
        m.LinkStatus(
            origin="KR",
            peer="HUB",
            time_s=10.0,
            state="degraded",
            last_heard_time_s=8.0,
            round_trip_s=0.11,
            messages_dropped=3,
        ),
        m.RegistrationCorrection(
            origin="HUB",
            recipient="JP",
            sensor_id="JP-FPS5-1",
            time_s=500.0,
            range_bias_m=12.0,
            az_bias_rad=1e-4,
            el_bias_rad=-2e-4,
            sigma_range_m=3.0,
            sigma_az_rad=2e-5,
            sigma_el_rad=2e-5,
        ),
        m.SensorSite(
            origin="JP",
            sensor_id="JP-FPS5-1",
            lat_deg=31.72,
            lon_deg=129.75,
            alt_m=100.0,
            sigma_range_m=20.0,
            sigma_az_rad=1e-3,
            sigma_el_rad=1e-3,
        ),
        m.DetectionReport(
            origin="JP",
            sensor_id="JP-FPS5-1",
            time_s=101.0,
            range_m=800_000.0,
            az_rad=0.5,
            el_rad=0.2,
            range_rate_mps=-2000.0,
            snr_db=18.0,
        ),
    ]


SAMPLES = _samples()


def test_every_message_type_has_a_sample() -> None:
    assert {type(s).__name__ for s in SAMPLES} == set(m.MESSAGE_TYPES)


@pytest.mark.parametrize("message", SAMPLES, ids=lambda s: type(s).__name__)
def test_round_trip(message: m.Message) -> None:
    data = m.encode_message(message)
    back = m.decode_message(data)
    assert back == message
    assert type(back) is type(message)
    assert back.version == m.WIRE_VERSION == 1
    raw = msgspec.msgpack.decode(data)
    assert raw["type"] == type(message).__struct_config__.tag
    assert len(data) < 1024


def test_messages_are_frozen() -> None:
    with pytest.raises(AttributeError):
        SAMPLES[0].time_s = 3.0  # type: ignore[misc]


def test_covariance_round_trip() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 6))
    P = a @ a.T
    upper = m.covariance_upper(P)
    assert len(upper) == 21
    np.testing.assert_array_equal(m.covariance_from_upper(upper), P)
    with pytest.raises(ValueError, match="shape"):
        m.covariance_upper(np.eye(3))
    with pytest.raises(ValueError, match="21"):
        m.covariance_from_upper((1.0,) * 20)


def _raw(message: m.Message) -> dict:
    return msgspec.msgpack.decode(m.encode_message(message))


BAD_FIELDS = [
    ("time_s", float("nan"), "$.time_s"),
    ("time_s", float("inf"), "$.time_s"),
    ("time_s", "soon", "$.time_s"),
    ("origin", "jp", "$.origin"),
    ("kind", "missile", "$.kind"),
    ("kind_confidence", 1.5, "$.kind_confidence"),
    ("track_id", -1, "$.track_id"),
    ("r_ecef_m", [1.0, 2.0], "$.r_ecef_m"),
    ("covariance_upper", [1.0] * 20, "$.covariance_upper"),
    ("sensor_ids", ["bad id"], "$.sensor_ids[0]"),
    ("epoch_utc", "2023-04-13T22:22:00", "$.epoch_utc"),
    ("version", 2, "version"),
]


@pytest.mark.parametrize(("field", "value", "where"), BAD_FIELDS)
def test_invalid_field_is_named(field: str, value: object, where: str) -> None:
    raw = _raw(SAMPLES[0])
    raw[field] = value
    with pytest.raises(m.MessageError) as info:
        m.decode_message(msgspec.msgpack.encode(raw))
    assert where in str(info.value)


def test_negative_variance_is_named() -> None:
    raw = _raw(SAMPLES[0])
    raw["covariance_upper"] = [-1.0] + [0.0] * 20
    with pytest.raises(m.MessageError, match=r"covariance_upper\[0\].*negative"):
        m.decode_message(msgspec.msgpack.encode(raw))


def test_missing_field_and_unknown_type() -> None:
    raw = _raw(SAMPLES[0])
    del raw["seq"]
    with pytest.raises(m.MessageError, match="seq"):
        m.decode_message(msgspec.msgpack.encode(raw))
    raw = _raw(SAMPLES[0])
    raw["type"] = "foo"
    with pytest.raises(m.MessageError, match=r"\$\.type"):
        m.decode_message(msgspec.msgpack.encode(raw))


def test_unknown_extra_fields_are_ignored_for_forward_compatibility() -> None:
    raw = _raw(SAMPLES[5])
    raw["added_in_a_later_build"] = 3
    assert m.decode_message(msgspec.msgpack.encode(raw)) == SAMPLES[5]


@pytest.mark.parametrize("data", [b"", b"\xc1", b"\x93\x01\x02", b"\xff" * 10, b"hello"])
def test_garbage_is_a_message_error(data: bytes) -> None:
    with pytest.raises(m.MessageError):
        m.decode_message(data)


def test_non_bytes_is_a_message_error() -> None:
    with pytest.raises(m.MessageError, match="expected bytes"):
        m.decode_message("text")  # type: ignore[arg-type]


def test_oversized_is_rejected_before_decoding() -> None:
    data = b"\x00" * (m.MAX_MESSAGE_BYTES + 1)
    with pytest.raises(m.MessageError, match="MAX_MESSAGE_BYTES"):
        m.decode_message(data)
    big = m.Alert(
        origin="HUB",
        alert_id=1,
        region_id="r",
        region_name="n",
        level="l",
        time_s=0.0,
        epoch_utc=EPOCH,
        sent_time_s=0.0,
        text="x" * 4096,
    )
    assert len(m.encode_message(big)) < m.MAX_MESSAGE_BYTES
    many = msgspec.structs.replace(SAMPLES[0], sensor_ids=("s",) * 70_000)
    with pytest.raises(m.MessageError, match="exceeds"):
        m.encode_message(many)


def test_constructing_a_bad_message_fails_early() -> None:
    with pytest.raises(ValueError, match="version"):
        m.Heartbeat(origin="JP", time_s=0.0, sent_time_s=0.0, version=2)


def test_json_schema_covers_every_type() -> None:
    schema = m.json_schema()
    json.dumps(schema)  # plain JSON
    assert schema["discriminator"]["propertyName"] == "type"
    for name in (*m.MESSAGE_TYPES, "Signed", "LaunchPoint", "ImpactEstimate"):
        assert name in schema["$defs"], name
    props = schema["$defs"]["TrackReport"]["properties"]
    assert "sensor_ids" in props and "covariance_upper" in props
    assert props["covariance_upper"]["minItems"] == 21
