"""DIS (IEEE 1278.1-2012, DIS version 7) Entity State PDUs of a run's fused picture.

One Entity State PDU (ESPDU) per kept system-track update (see
:mod:`trilink.export.thinning`; one update per track every
:data:`UPDATE_EVERY_S` s, plus each track's last), built with ``opendis`` and
sent over UDP, so DIS simulators and Wireshark see the hub's tracks.

Field choices (enumerations from SISO-REF-010, "Enumerations for Simulation
Interoperability"; record layouts from IEEE 1278.1-2012):

* Header: protocol version 7 (IEEE 1278.1-2012), exercise :data:`EXERCISE_ID`,
  PDU type 1 (Entity State), protocol family 1 (Entity Information/Interaction),
  length = the packed size (144 octets without variable parameters). opendis 1.0
  leaves the type, family and length at 0 on the instance, and its PDU-status
  and appearance defaults are not integers: all are set here.
* Timestamp (IEEE 1278.1-2012 §6.2.88): time past the hour in units of
  3600 s / 2^31 (≈ 1.68 µs) in bits 31..1; bit 0 = 0, *relative*: the clock is
  the scenario's UTC, not a receiver's wall clock synchronised to UTC, which an
  *absolute* (bit 0 = 1) stamp would claim.
* Entity ID: site :data:`SITE_ID`, application :data:`APPLICATION_ID`, entity =
  the hub's global track number (1..65534; 0 and 65535 are reserved: NO_ENTITY,
  ALL_ENTITIES).
* Force ID 2 = Opposing (SISO-REF-010 UID 6): every tracked object comes from a
  North Korean launch.
* Entity type (SISO-REF-010 UIDs 7, 8/14, 29): a warhead or an unclassified
  object (possibly a warhead) is kind 2 Munition, domain 10 Strategic (munition
  domain, UID 14), country 119 "Korea (Democratic People's Republic of)",
  category 1 Guided; a spent stage or debris is kind 0 Other, domain 0 Other,
  country 119.
* Location: DIS world coordinates are geocentric WGS-84 Cartesian, metres
  (IEEE 1278.1-2012 §6.2.97 / §1.3.2), i.e. our ECEF; velocity in the same axes.
* Orientation (psi, theta, phi): the Euler angles (z, y', x'') from the world
  axes to a body whose x axis points along the velocity: psi = atan2(vy, vx),
  theta = atan2(-vz, hypot(vx, vy)), phi = 0 (no roll is tracked).
* Dead reckoning: algorithm 5, DRM(F,V,W) (SISO-REF-010 UID 44: fixed
  orientation, constant linear acceleration, world coordinates): a coasting
  missile's acceleration is gravity, so the PDU carries the J2 gravity plus the
  Coriolis and centrifugal terms of the rotating world frame
  (:func:`trilink.geo.gravity.gravity_accel_mps2`,
  :func:`trilink.geo.gravity.apparent_accel_ecef_mps2`), and a receiver's
  extrapolation between updates follows the ballistic arc rather than its
  tangent. (During boost thrust is not modelled: the tracks carry no thrust.)
* Marking: character set 1 = ASCII, 11 characters, ``GTN<number> <kind code>``
  (``GTN12 WHD``), the space dropped when the number is long.
"""

from __future__ import annotations

import io
import socket
import struct
import time
from pathlib import Path

import numpy as np
from opendis.DataOutputStream import DataOutputStream
from opendis.dis7 import (
    DeadReckoningParameters,
    EntityID,
    EntityMarking,
    EntityStatePdu,
    EntityType,
    EulerAngles,
    Vector3Double,
    Vector3Float,
)

from trilink.export.runfolder import RunFolder
from trilink.export.thinning import system_tracks, thin_track_updates
from trilink.geo.gravity import apparent_accel_ecef_mps2, gravity_accel_mps2

__all__ = [
    "DEFAULT_PORT",
    "ESPDU_LENGTH",
    "entity_state_pdus",
    "send_dis",
    "write_dis",
]

UPDATE_EVERY_S = 5.0
"""One ESPDU per track every 5 s: the default Entity State heartbeat of
IEEE 1278.1-2012 (HBT_ESPDU_PDU = 5 s); dead reckoning fills the gaps."""

DEFAULT_PORT = 3000
"""The customary DIS UDP port (the one Wireshark decodes as DIS by default)."""

PROTOCOL_VERSION = 7  # IEEE 1278.1-2012 (SISO-REF-010 UID 3)
EXERCISE_ID = 1  # the exercise number the participants agree on (header, IEEE 1278.1-2012 §6.2.66)
PDU_TYPE_ENTITY_STATE = 1  # SISO-REF-010 UID 4
PROTOCOL_FAMILY_ENTITY_INFORMATION = 1  # SISO-REF-010 UID 5
SITE_ID = 1  # assigned per exercise (IEEE 1278.1-2012 §6.2.28): the US hub
APPLICATION_ID = 1  # trilink's hub fusion application at that site
FORCE_OPPOSING = 2  # SISO-REF-010 UID 6
KIND_OTHER = 0  # SISO-REF-010 UID 7
KIND_MUNITION = 2  # SISO-REF-010 UID 7
MUNITION_DOMAIN_STRATEGIC = 10  # SISO-REF-010 UID 14
MUNITION_CATEGORY_GUIDED = 1  # SISO-REF-010 munition category "Guided" (missiles)
COUNTRY_DPRK = 119  # SISO-REF-010 UID 29: Korea (Democratic People's Republic of)
DRM_FVW = 5  # SISO-REF-010 UID 44: DRM(F,V,W)
MARKING_ASCII = 1  # SISO-REF-010 UID 45
MARKING_LENGTH = 11  # IEEE 1278.1-2012 §6.2.29

ESPDU_LENGTH = 144
"""Octets of an ESPDU without variable parameters (IEEE 1278.1-2012 §7.2.2)."""

_TIME_UNITS_PER_HOUR = 2**31  # IEEE 1278.1-2012 §6.2.88
_MAX_ENTITY = 65534  # 65535 = ALL_ENTITIES, 0 = NO_ENTITY

_KIND_CODE = {"warhead": "WHD", "stage": "STG", "debris": "DEB", "unknown": "UNK"}


def entity_state_pdus(run: RunFolder) -> list[bytes]:
    """The run's fused picture as DIS 7 Entity State PDUs (network byte order)."""
    return [pdu for _, pdu in _timed_pdus(run)]


def write_dis(run: RunFolder, out: Path) -> Path:
    """Write the run's ESPDUs to ``out``.

    A ``.pcap`` path gets a libpcap capture (link type 101, raw IPv4; UDP from
    127.0.0.1 to 127.0.0.1:3000, one datagram per PDU, stamped with the
    scenario's UTC) that Wireshark and ``tshark -r`` decode as DIS directly.
    Any other path gets the PDUs concatenated (each header carries its
    length, so a reader splits them).
    """
    out = Path(out)
    timed = _timed_pdus(run)
    if out.suffix.lower() == ".pcap":
        epoch_s = run.epoch_utc.timestamp()
        out.write_bytes(_pcap([(epoch_s + t, pdu) for t, pdu in timed]))
    else:
        out.write_bytes(b"".join(pdu for _, pdu in timed))
    return out


def send_dis(
    run: RunFolder, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, speed: float | None = None
) -> int:
    """Send the run's ESPDUs as UDP datagrams to ``host:port``; return how many were sent.

    Args:
        run: the run folder.
        host: destination address (unicast or broadcast).
        port: destination UDP port (DIS customarily uses 3000).
        speed: time scale against the scenario clock (1.0 = real time, 10.0 =
            ten times faster); None sends as fast as possible.
    """
    if isinstance(port, bool) or not isinstance(port, int | np.integer) or not 0 < port < 65536:
        raise ValueError(f"port: expected an integer UDP port 1..65535, got {port!r}")
    if speed is not None and not speed > 0.0:
        raise ValueError(f"speed: expected > 0 (a time scale), got {speed!r}")
    try:
        addr = socket.getaddrinfo(host, int(port), socket.AF_INET, socket.SOCK_DGRAM)[0][4]
    except (socket.gaierror, UnicodeError) as exc:
        raise ValueError(f"host: cannot resolve {host!r} ({exc})") from None
    timed = _timed_pdus(run)
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        start_wall = time.monotonic()
        t_first = timed[0][0] if timed else 0.0
        for t, pdu in timed:
            if speed is not None:
                delay = (t - t_first) / speed - (time.monotonic() - start_wall)
                if delay > 0.0:
                    time.sleep(delay)
            sock.sendto(pdu, addr)
            sent += 1
    return sent


def _timed_pdus(run: RunFolder) -> list[tuple[float, bytes]]:
    """(time_s, ESPDU) per kept update, in time order."""
    rows = thin_track_updates(system_tracks(run), UPDATE_EVERY_S)
    if rows.empty:
        return []
    numbers = rows["global_track_number"].to_numpy()
    bad = (numbers < 1) | (numbers > _MAX_ENTITY)
    if bad.any():
        raise ValueError(
            f"global_track_number {int(numbers[bad][0])} does not fit a DIS entity number "
            f"(1..{_MAX_ENTITY})"
        )
    r_ecef_m = rows[["x_ecef_m", "y_ecef_m", "z_ecef_m"]].to_numpy(dtype=float)
    v_ecef_mps = rows[["vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps"]].to_numpy(dtype=float)
    a_ecef_mps2 = gravity_accel_mps2(r_ecef_m) + apparent_accel_ecef_mps2(r_ecef_m, v_ecef_mps)
    psi, theta = _heading_pitch_rad(v_ecef_mps)
    t_s = rows["time_s"].to_numpy(dtype=float)
    stamps = dis_timestamps(run, t_s)
    kinds = (
        rows["kind"].astype(str).to_numpy()
        if "kind" in rows.columns
        else np.full(len(rows), "unknown")
    )
    out = []
    for i in range(len(rows)):
        pdu = _espdu(
            entity=int(numbers[i]),
            kind=str(kinds[i]),
            timestamp=int(stamps[i]),
            r_ecef_m=r_ecef_m[i],
            v_ecef_mps=v_ecef_mps[i],
            a_ecef_mps2=a_ecef_mps2[i],
            psi_rad=float(psi[i]),
            theta_rad=float(theta[i]),
        )
        out.append((float(t_s[i]), pdu))
    return out


def dis_timestamps(run: RunFolder, t_s: np.ndarray) -> np.ndarray:
    """IEEE 1278.1-2012 §6.2.88 relative timestamps of scenario times ``t_s`` (uint32).

    ``(round(s_past_hour / 3600 * 2^31) << 1) | 0`` with ``s_past_hour`` the
    scenario UTC's seconds past the hour (the last unit of the hour caps it).
    """
    e = run.epoch_utc
    epoch_past_hour_s = e.minute * 60.0 + e.second + e.microsecond * 1e-6
    past_hour_s = np.mod(epoch_past_hour_s + np.asarray(t_s, dtype=float), 3600.0)
    units = np.rint(past_hour_s / 3600.0 * _TIME_UNITS_PER_HOUR).astype(np.int64)
    units = np.minimum(units, _TIME_UNITS_PER_HOUR - 1)
    return (units << 1).astype(np.uint32)


def _heading_pitch_rad(v_ecef_mps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DIS psi and theta of a body whose x axis lies along the velocity (world axes)."""
    vx, vy, vz = v_ecef_mps[:, 0], v_ecef_mps[:, 1], v_ecef_mps[:, 2]
    return np.arctan2(vy, vx), np.arctan2(-vz, np.hypot(vx, vy))


def marking_text(entity: int, kind: str) -> str:
    """The 11-character ASCII marking of a track: ``GTN12 WHD``."""
    code = _KIND_CODE.get(kind, "UNK")
    text = f"GTN{entity} {code}"
    if len(text) > MARKING_LENGTH:
        text = f"GTN{entity}{code}"
    return text[:MARKING_LENGTH]


def entity_type(kind: str) -> EntityType:
    """SISO-REF-010 entity type of a tracked object of ``kind``."""
    if kind in ("warhead", "unknown"):
        return EntityType(
            entityKind=KIND_MUNITION,
            domain=MUNITION_DOMAIN_STRATEGIC,
            country=COUNTRY_DPRK,
            category=MUNITION_CATEGORY_GUIDED,
        )
    return EntityType(entityKind=KIND_OTHER, domain=0, country=COUNTRY_DPRK)


def _espdu(
    *,
    entity: int,
    kind: str,
    timestamp: int,
    r_ecef_m: np.ndarray,
    v_ecef_mps: np.ndarray,
    a_ecef_mps2: np.ndarray,
    psi_rad: float,
    theta_rad: float,
) -> bytes:
    marking = EntityMarking(characterSet=MARKING_ASCII)
    marking.setString(marking_text(entity, kind))
    pdu = EntityStatePdu(
        entityID=EntityID(siteID=SITE_ID, applicationID=APPLICATION_ID, entityID=entity),
        forceId=FORCE_OPPOSING,
        entityType=entity_type(kind),
        alternativeEntityType=entity_type(kind),
        entityLinearVelocity=Vector3Float(*(float(c) for c in v_ecef_mps)),
        entityLocation=Vector3Double(*(float(c) for c in r_ecef_m)),
        entityOrientation=EulerAngles(psi=psi_rad, theta=theta_rad, phi=0.0),
        entityAppearance=0,
        deadReckoningParameters=DeadReckoningParameters(
            deadReckoningAlgorithm=DRM_FVW,
            entityLinearAcceleration=Vector3Float(*(float(c) for c in a_ecef_mps2)),
        ),
        marking=marking,
        capabilities=0,
    )
    # opendis 1.0 sets these on the instance to 0 (or to non-integers) in the
    # PDU superclass constructor: set every header field explicitly.
    pdu.protocolVersion = PROTOCOL_VERSION
    pdu.exerciseID = EXERCISE_ID
    pdu.pduType = PDU_TYPE_ENTITY_STATE
    pdu.protocolFamily = PROTOCOL_FAMILY_ENTITY_INFORMATION
    pdu.timestamp = timestamp
    pdu.pduStatus = 0
    pdu.padding = 0
    data = _pack(pdu)
    pdu.length = len(data)
    return _pack(pdu)


def _pack(pdu: EntityStatePdu) -> bytes:
    buf = io.BytesIO()
    pdu.serialize(DataOutputStream(buf))
    return buf.getvalue()


_PCAP_LINKTYPE_RAW = 101  # tcpdump.org link-layer header types: raw IPv4/IPv6
_LOOPBACK = bytes([127, 0, 0, 1])


def _pcap(packets: list[tuple[float, bytes]], port: int = DEFAULT_PORT) -> bytes:
    """A libpcap file (https://www.tcpdump.org/manpages/pcap-savefile.5.html) of UDP
    datagrams 127.0.0.1 -> 127.0.0.1:``port`` (IPv4 per RFC 791, UDP per RFC 768
    with checksum 0 = none)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, _PCAP_LINKTYPE_RAW)]
    for ident, (t_unix_s, payload) in enumerate(packets):
        udp = struct.pack("!HHHH", port, port, 8 + len(payload), 0) + payload
        total = 20 + len(udp)
        header = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, total, ident & 0xFFFF, 0, 64, 17, 0, _LOOPBACK, _LOOPBACK
        )
        checksum = _ipv4_checksum(header)
        ip = header[:10] + struct.pack("!H", checksum) + header[12:] + udp
        sec = int(np.floor(t_unix_s))
        usec = min(round((t_unix_s - sec) * 1e6), 999_999)
        out.append(struct.pack("<IIII", sec, usec, len(ip), len(ip)) + ip)
    return b"".join(out)


def _ipv4_checksum(header: bytes) -> int:
    """RFC 791 header checksum: one's complement of the one's-complement sum of 16-bit words."""
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
