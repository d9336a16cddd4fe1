"""Wire messages of the link: frozen, tagged, versioned msgspec Structs on MessagePack.

Every message is a :class:`Message` subclass carrying ``type`` (its tag, e.g.
``"track_report"``) and ``version`` (1). Compatibility rules (STYLE.md §14): new
fields are only ever appended with a default, so an older reader ignores them and a
newer reader fills them in; a field never changes its type, unit or frame. A change
that breaks that is a new ``version``, which this build rejects on decode
(:data:`WIRE_VERSION`).

Conventions: scenario time ``*_time_s`` / ``time_s`` is float seconds since the
scenario epoch, and every timed message also carries that epoch as ``epoch_utc``
(timezone-aware, UTC) so a partner can place it on the calendar. Positions are WGS-84
ECEF in m, velocities in m/s. Angles at this edge are degrees where a human reads
them (``lat_deg``) and radians where the tracker uses them (registration biases).
Every float is bounded (``|x| <= 1e12`` or tighter), which also rejects NaN and inf.

Decoding (:func:`decode_message`) takes any bytes and returns a message or raises
:class:`MessageError` naming the field and the problem; inputs longer than
:data:`MAX_MESSAGE_BYTES` are refused before any parsing. :func:`json_schema` gives
the JSON Schema of every message type for partners.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal, TypeAlias, Union

import msgspec
import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "BUNDLE_MAX_ITEMS",
    "KINDS",
    "MAX_MESSAGE_BYTES",
    "MESSAGE_TYPES",
    "WIRE_VERSION",
    "Alert",
    "AnyMessage",
    "Bundle",
    "BundleItem",
    "DetectionReport",
    "Heartbeat",
    "ImpactEstimate",
    "LaunchNotice",
    "LaunchPoint",
    "LinkStatus",
    "Message",
    "MessageError",
    "RegistrationCorrection",
    "SensorSite",
    "Signed",
    "SystemTrack",
    "TrackReport",
    "covariance_from_upper",
    "covariance_upper",
    "decode_message",
    "decode_signed",
    "encode_message",
    "encode_signed",
    "json_schema",
    "message_type_name",
]

WIRE_VERSION: Final = 1
"""The message version this build writes and the only one it reads."""

MAX_MESSAGE_BYTES: Final = 64 * 1024
"""Largest encoded message or signed envelope accepted, bytes (64 KiB). A track report
is ~450 bytes; the limit bounds memory and decode time for hostile input."""

KINDS: Final = ("warhead", "stage", "debris", "unknown")
"""Object kinds a track may carry (the tracker's ``KINDS``)."""


class MessageError(ValueError):
    """Bytes that are not a valid message: the text names the field and the problem."""


# ---------------------------------------------------------------------------------
# constrained field types
# ---------------------------------------------------------------------------------

_BIG = 1e12
Finite = Annotated[float, msgspec.Meta(ge=-_BIG, le=_BIG)]
"""Any finite float of sane magnitude (NaN and inf fail the bounds)."""
NonNegative = Annotated[float, msgspec.Meta(ge=0.0, le=_BIG)]
Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
LatDeg = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
LonDeg = Annotated[float, msgspec.Meta(ge=-180.0, le=360.0)]
Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
Participant = Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_]{0,15}$")]
"""A participant (account) name: ``HUB``, ``JP``, ``KR``, ``US``."""
Ident = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/-]+$")]
ShortText = Annotated[str, msgspec.Meta(max_length=256)]
LongText = Annotated[str, msgspec.Meta(max_length=4096)]
Vec3 = tuple[Finite, Finite, Finite]
Kind = Literal["warhead", "stage", "debris", "unknown"]
UtcDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
Cov21 = Annotated[tuple[Finite, ...], msgspec.Meta(min_length=21, max_length=21)]
"""Upper triangle of a symmetric 6x6 covariance, row by row (see :func:`covariance_upper`)."""

_UPPER_ROWS, _UPPER_COLS = np.triu_indices(6)
_UPPER_DIAGONAL = tuple(int(k) for k in np.flatnonzero(_UPPER_ROWS == _UPPER_COLS))


def covariance_upper(P: ArrayLike) -> tuple[float, ...]:
    """The 21 upper-triangle entries of a 6x6 covariance, row-major.

    For the state ``(x, y, z, vx, vy, vz)`` ECEF the units are m², m²/s and m²/s²:
    ``P[0,0], P[0,1], ..., P[0,5], P[1,1], ..., P[5,5]``.
    """
    arr = np.asarray(P, dtype=np.float64)
    if arr.shape != (6, 6):
        raise ValueError(f"covariance: expected shape (6, 6), got {arr.shape}")
    return tuple(float(v) for v in arr[_UPPER_ROWS, _UPPER_COLS])


def covariance_from_upper(upper: tuple[float, ...] | ArrayLike) -> NDArray[np.float64]:
    """The symmetric 6x6 covariance from its 21 upper-triangle entries (inverse of the above)."""
    flat = np.asarray(upper, dtype=np.float64)
    if flat.shape != (21,):
        raise ValueError(f"covariance_upper: expected 21 values, got shape {flat.shape}")
    out = np.zeros((6, 6))
    out[_UPPER_ROWS, _UPPER_COLS] = flat
    out[_UPPER_COLS, _UPPER_ROWS] = flat
    return out


def _check_covariance(name: str, upper: tuple[float, ...]) -> None:
    for k in _UPPER_DIAGONAL:
        if upper[k] < 0.0:
            raise ValueError(f"{name}[{k}]: variance {upper[k]!r} is negative")


# ---------------------------------------------------------------------------------
# nested value structs (untagged)
# ---------------------------------------------------------------------------------


class LaunchPoint(msgspec.Struct, frozen=True, kw_only=True):
    """An estimated launch point (WGS-84 geodetic) and launch time."""

    lat_deg: LatDeg
    lon_deg: LonDeg
    time_s: Finite
    """Launch time, scenario seconds."""


class ImpactEstimate(msgspec.Struct, frozen=True, kw_only=True):
    """A predicted impact point, time and 95 % error ellipse on the ground (semi-axes of
    the ellipse holding the impact point with probability 0.95, as the tracks table
    columns ``impact_semi_major_m`` ... that it is copied from)."""

    lat_deg: LatDeg
    lon_deg: LonDeg
    time_s: Finite
    """Impact time, scenario seconds."""
    semi_major_m: NonNegative
    semi_minor_m: NonNegative
    orientation_deg: Annotated[float, msgspec.Meta(ge=-360.0, le=360.0)]
    """Direction of the semi-major axis, clockwise from true north."""


# ---------------------------------------------------------------------------------
# messages
# ---------------------------------------------------------------------------------


class Message(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every wire message: ``type`` tag (set by each subclass) and ``version``."""

    version: int = WIRE_VERSION

    def __post_init__(self) -> None:
        if self.version != WIRE_VERSION:
            raise ValueError(
                f"version: unsupported message version {self.version!r} "
                f"(this build reads {WIRE_VERSION})"
            )


class TrackReport(Message, tag="track_report"):
    """A national node's local track, sent to the hub (subject ``tl.<NATION>.tracks``).

    Carries a row of the tracks table (``trilink.tracking.tracker.TRACK_COLUMNS``):
    state in ECEF, covariance, kind, quality, parent, and the launch/impact estimates
    where known, plus the node's contributing ``sensor_ids`` (never released to
    partners; the policy strips them).
    """

    origin: Participant
    """Nation whose node produced the track."""
    track_id: Count
    """The node's local track number."""
    seq: Count
    """Report number of this track, +1 per report (the hub keeps only the newest)."""
    time_s: Finite
    """Time of validity of the state, scenario seconds."""
    epoch_utc: UtcDatetime
    """The scenario epoch (time_s = 0)."""
    sent_time_s: Finite
    """When the node sent the report, scenario seconds."""
    r_ecef_m: Vec3
    v_ecef_mps: Vec3
    covariance_upper: Cov21
    """6x6 state covariance over (r_ecef_m, v_ecef_mps), upper triangle row-major."""
    kind: Kind = "unknown"
    kind_confidence: Probability = 0.0
    n_updates: Count = 0
    parent_track_id: Count | None = None
    launch: LaunchPoint | None = None
    impact: ImpactEstimate | None = None
    sensor_ids: tuple[Ident, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_covariance("covariance_upper", self.covariance_upper)


class SystemTrack(Message, tag="system_track"):
    """A hub-fused track with its global track number (released to partners)."""

    origin: Participant
    """Who fused it (``HUB``, or a national node releasing its own fused picture)."""
    track_number: Count
    """Global track number, unique across the link for the life of the object."""
    seq: Count
    time_s: Finite
    epoch_utc: UtcDatetime
    sent_time_s: Finite
    r_ecef_m: Vec3
    v_ecef_mps: Vec3
    covariance_upper: Cov21
    contributing_nations: tuple[Participant, ...] = ()
    kind: Kind = "unknown"
    kind_confidence: Probability = 0.0
    launch: LaunchPoint | None = None
    impact: ImpactEstimate | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_covariance("covariance_upper", self.covariance_upper)


class LaunchNotice(Message, tag="launch_notice"):
    """A detected launch: estimated launch point and time with 1σ uncertainties.

    Mirrors ``trilink.sensors.space_ir.LaunchEstimate`` at the edge (degrees, 1σ in m
    north/east and s) plus the early heading where resolved.
    """

    origin: Participant
    notice_id: Count
    time_s: Finite
    """When the estimate was made, scenario seconds."""
    epoch_utc: UtcDatetime
    sent_time_s: Finite
    launch: LaunchPoint
    sigma_north_m: NonNegative
    sigma_east_m: NonNegative
    sigma_time_s: NonNegative
    azimuth_deg: Annotated[float, msgspec.Meta(ge=0.0, le=360.0)] | None = None
    """Heading of the early ground track, clockwise from north (None if unresolved)."""
    sigma_azimuth_deg: NonNegative | None = None
    n_detections: Count = 0
    sensor_ids: tuple[Ident, ...] = ()


class Alert(Message, tag="alert"):
    """A warning for a region (generic placeholder; the warning package defines levels)."""

    origin: Participant
    alert_id: Count
    region_id: Ident
    region_name: ShortText
    level: Ident
    time_s: Finite
    epoch_utc: UtcDatetime
    sent_time_s: Finite
    text: LongText = ""
    track_number: Count | None = None
    """System track the alert is about, if any."""


class Heartbeat(Message, tag="heartbeat"):
    """A node's periodic liveness message."""

    origin: Participant
    time_s: Finite
    sent_time_s: Finite


class LinkStatus(Message, tag="link_status"):
    """A node's view of one of its links."""

    origin: Participant
    peer: Participant
    time_s: Finite
    state: Literal["up", "degraded", "down"]
    last_heard_time_s: Finite | None = None
    round_trip_s: NonNegative | None = None
    messages_dropped: Count = 0


class RegistrationCorrection(Message, tag="registration_correction"):
    """Hub → nation: estimated measurement biases of one of the nation's sensors.

    The nation subtracts the biases from its measurements (``range_m - range_bias_m``
    etc.). Released only to the nation named in ``recipient``.
    """

    origin: Participant
    recipient: Participant
    sensor_id: Ident
    time_s: Finite
    range_bias_m: Finite
    az_bias_rad: Finite
    el_bias_rad: Finite
    sigma_range_m: NonNegative
    sigma_az_rad: NonNegative
    sigma_el_rad: NonNegative


class SensorSite(Message, tag="sensor_site"):
    """Nation → hub: a sensor's site and accuracy (a row of the sensors table).

    National sensor sites are never released to partners (the policy's ``never_release``).
    """

    origin: Participant
    sensor_id: Ident
    lat_deg: LatDeg
    lon_deg: LonDeg
    alt_m: Finite
    sigma_range_m: NonNegative
    sigma_az_rad: NonNegative
    sigma_el_rad: NonNegative
    sigma_range_rate_mps: NonNegative | None = None


class DetectionReport(Message, tag="detection_report"):
    """Nation → hub: one raw detection (a row of the detections table), for registration.

    Raw detections are never released to partners (the policy's ``never_release``).
    """

    origin: Participant
    sensor_id: Ident
    time_s: Finite
    range_m: NonNegative
    az_rad: Finite
    el_rad: Finite
    range_rate_mps: Finite | None = None
    snr_db: Finite | None = None


BundleItem: TypeAlias = Union[  # noqa: UP007 (a runtime union for msgspec)
    TrackReport,
    SystemTrack,
    LaunchNotice,
    Alert,
    Heartbeat,
    LinkStatus,
    RegistrationCorrection,
]


class Bundle(Message, tag="bundle"):
    """Several messages of one origin under one signature: a node's track reports of
    one epoch, or the hub's releases to one partner at one epoch. One signature per
    bundle instead of one per message is what lets the link carry ~10⁴ reports/s.

    Every item must have the bundle's ``origin`` (the verifier checks; a relaying hub
    may bundle what it re-signs). Bundles do not nest, and the policy releases a bundle
    item by item. Keep a bundle under :data:`MAX_MESSAGE_BYTES` (a track report is
    ~0.7 kB: :data:`BUNDLE_MAX_ITEMS` at most).
    """

    origin: Participant
    time_s: Finite
    """The epoch the items belong to, scenario seconds."""
    items: tuple[BundleItem, ...]


BUNDLE_MAX_ITEMS: Final = 64
"""Most items a sender puts in one bundle (64 track reports ≈ 45 kB < 64 KiB)."""


AnyMessage: TypeAlias = Union[  # noqa: UP007 (a runtime union for msgspec)
    Bundle,
    TrackReport,
    SystemTrack,
    LaunchNotice,
    Alert,
    Heartbeat,
    LinkStatus,
    RegistrationCorrection,
    SensorSite,
    DetectionReport,
]

MESSAGE_TYPES: Final[dict[str, type[Message]]] = {
    cls.__name__: cls
    for cls in (
        TrackReport,
        SystemTrack,
        LaunchNotice,
        Alert,
        Heartbeat,
        LinkStatus,
        RegistrationCorrection,
        SensorSite,
        DetectionReport,
    )
}
"""Every message type by class name (the names the policy file uses)."""


def message_type_name(message: Message) -> str:
    """The class name of a message (``"TrackReport"``), as the policy names types."""
    return type(message).__name__


# ---------------------------------------------------------------------------------
# the signed envelope
# ---------------------------------------------------------------------------------


class Signed(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """A signed envelope around one encoded message (see :mod:`trilink.link.signing`).

    ``signature`` is ed25519 over :func:`trilink.link.signing.signed_bytes` of every
    other field (version, origin, key id, sequence number, sent time and payload), so
    no field can be altered without detection. Encoded as a MessagePack array.
    """

    version: int
    origin: Participant
    key_id: Ident
    seq: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
    """Per-origin sequence number, strictly increasing from 1 (replay/gap detection)."""
    sent_time_s: Finite
    payload: Annotated[bytes, msgspec.Meta(max_length=MAX_MESSAGE_BYTES)]
    signature: Annotated[bytes, msgspec.Meta(min_length=64, max_length=64)]


# ---------------------------------------------------------------------------------
# codecs
# ---------------------------------------------------------------------------------

_ENCODER: Final = msgspec.msgpack.Encoder()
_DECODER: Final = msgspec.msgpack.Decoder(AnyMessage)
_SIGNED_DECODER: Final = msgspec.msgpack.Decoder(Signed)


def encode_message(message: Message) -> bytes:
    """MessagePack bytes of a message (raises ``MessageError`` if over the size limit)."""
    data = _ENCODER.encode(message)
    if len(data) > MAX_MESSAGE_BYTES:
        raise MessageError(
            f"{message_type_name(message)}: encoded size {len(data)} bytes exceeds "
            f"MAX_MESSAGE_BYTES={MAX_MESSAGE_BYTES}"
        )
    return data


def _decode(decoder: msgspec.msgpack.Decoder[Any], data: object, what: str) -> Any:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MessageError(f"{what}: expected bytes, got {type(data).__name__}")
    if len(data) > MAX_MESSAGE_BYTES:
        raise MessageError(
            f"{what}: {len(data)} bytes exceeds MAX_MESSAGE_BYTES={MAX_MESSAGE_BYTES}"
        )
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise MessageError(f"{what}: invalid: {exc}") from None
    except msgspec.DecodeError as exc:
        raise MessageError(f"{what}: not MessagePack: {exc}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # defensive: never leak others
        raise MessageError(f"{what}: undecodable: {exc}") from None


def decode_message(data: bytes) -> AnyMessage:
    """Decode one message from MessagePack, or raise :class:`MessageError`.

    The error text names the field as a path (``$.covariance_upper[3]``) and the
    problem, e.g. ``message: invalid: Expected `float` >= -1e12 - at `$.time_s```.
    """
    return _decode(_DECODER, data, "message")  # type: ignore[no-any-return]


def encode_signed(envelope: Signed) -> bytes:
    return _ENCODER.encode(envelope)


def decode_signed(data: bytes) -> Signed:
    """Decode a signed envelope (signature not checked here), or raise :class:`MessageError`."""
    envelope: Signed = _decode(_SIGNED_DECODER, data, "envelope")
    if envelope.version != WIRE_VERSION:
        raise MessageError(
            f"envelope: version: unsupported envelope version {envelope.version!r} "
            f"(this build reads {WIRE_VERSION})"
        )
    return envelope


def json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of every message type and the signed envelope, for partners.

    The top-level schema is the tagged union of messages (discriminator ``type``);
    ``$defs`` holds each struct. MessagePack is the wire format; the schema describes
    the same structure (bytes fields appear as base64 strings in JSON).
    """
    (schemas,), components = msgspec.json.schema_components([AnyMessage])
    schemas = dict(schemas)
    _, env_components = msgspec.json.schema_components([Signed])
    components.update(env_components)
    schemas["$defs"] = components
    schemas["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schemas["title"] = f"trilink link messages, version {WIRE_VERSION}"
    return schemas
