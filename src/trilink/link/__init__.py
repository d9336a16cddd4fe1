"""The link: wire messages, signing, the sharing policy, subjects and transports.

Public API (see each module): :mod:`~trilink.link.subjects` (NATS subject grammar),
:mod:`~trilink.link.messages` (msgspec wire structs), :mod:`~trilink.link.signing`
(ed25519 envelopes, replay/gap/forgery accounting), :mod:`~trilink.link.policy`
(permissions, releasability, broker accounts), :mod:`~trilink.link.bus` (the
``Transport`` protocol and the in-process discrete-event bus) and
:mod:`~trilink.link.latency` (per-hop delay model).
"""

from trilink.link.bus import BusStats, InProcessBus, LinkConfig, Transport, default_link
from trilink.link.latency import (
    CAMP_SMITH,
    ICHIGAYA,
    PARTICIPANT_SITES,
    YONGSAN,
    HopDelay,
    Site,
    hop_delay,
    one_way_delay_s,
    relay_comparison,
)
from trilink.link.messages import (
    MAX_MESSAGE_BYTES,
    MESSAGE_TYPES,
    WIRE_VERSION,
    Alert,
    DetectionReport,
    Heartbeat,
    ImpactEstimate,
    LaunchNotice,
    LaunchPoint,
    LinkStatus,
    Message,
    MessageError,
    RegistrationCorrection,
    SensorSite,
    Signed,
    SystemTrack,
    TrackReport,
    covariance_from_upper,
    covariance_upper,
    decode_message,
    encode_message,
    json_schema,
)
from trilink.link.policy import AccountSpec, Policy, PolicyError, ReleaseDecision
from trilink.link.signing import KeyPair, Signer, Verifier, VerifierStats
from trilink.link.subjects import (
    SubjectMatcher,
    is_subset,
    matches,
    overlaps,
    validate_pattern,
    validate_subject,
)

__all__ = [
    "CAMP_SMITH",
    "ICHIGAYA",
    "MAX_MESSAGE_BYTES",
    "MESSAGE_TYPES",
    "PARTICIPANT_SITES",
    "WIRE_VERSION",
    "YONGSAN",
    "AccountSpec",
    "Alert",
    "BusStats",
    "DetectionReport",
    "Heartbeat",
    "HopDelay",
    "ImpactEstimate",
    "InProcessBus",
    "KeyPair",
    "LaunchNotice",
    "LaunchPoint",
    "LinkConfig",
    "LinkStatus",
    "Message",
    "MessageError",
    "Policy",
    "PolicyError",
    "RegistrationCorrection",
    "ReleaseDecision",
    "SensorSite",
    "Signed",
    "Signer",
    "Site",
    "SubjectMatcher",
    "SystemTrack",
    "TrackReport",
    "Transport",
    "Verifier",
    "VerifierStats",
    "covariance_from_upper",
    "covariance_upper",
    "decode_message",
    "default_link",
    "encode_message",
    "hop_delay",
    "is_subset",
    "json_schema",
    "matches",
    "one_way_delay_s",
    "overlaps",
    "relay_comparison",
    "validate_pattern",
    "validate_subject",
]
