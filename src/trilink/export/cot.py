"""Cursor-on-Target (CoT 2.0) events of a run's fused picture, for TAK clients and servers.

One CoT ``<event>`` per kept system-track update (see
:mod:`trilink.export.thinning`: one update per track every
:data:`UPDATE_EVERY_S` s, plus each track's last), built and serialised with
``pytak``'s CoT helpers. :func:`stream_cot` sends them over TCP to a TAK server
or client (``trilink export --to tcp://HOST:PORT``).

Field choices (CoT event schema 2.0: MITRE, *Cursor-on-Target Message Router
User's Guide*, MP 09-4937, 2009; type tree: MITRE ``CoTtypes.xml``, from
MIL-STD-2525B):

* ``uid``: ``trilink-HUB-GTN-<n>``, stable per hub global track number, so a
  TAK map moves one marker per track.
* ``type``: affiliation ``h`` (hostile: every tracked object comes from a
  North Korean launch), dimension ``A`` (air track), and by kind:
  warhead -> ``a-h-A-W-M-S-S`` ("Air/Weapon/Missile/Surface To Surface (SSM)");
  unknown (not yet classified, possibly a warhead) -> ``a-h-A-W-M``
  ("Air/Weapon/Missile In Flight"); stage and debris -> ``a-h-A`` ("Air Track":
  hostile-origin objects that are not weapons). MIL-STD-2525B has no ballistic
  re-entry vehicle symbol in the air dimension; SSM is its nearest.
* ``how``: ``m-f`` (machine, fused).
* ``time`` = ``start``: the update's instant in the scenario's UTC
  (``RunFolder.utc``); ``stale`` = time + :data:`STALE_S` (three update
  intervals, so one lost update does not blank a track).
* ``point``: WGS-84 geodetic lat/lon (degrees, 8 decimals ≈ 1 mm) and ``hae``
  (height above the ellipsoid, m). ``ce`` is "circular 1-sigma" (MITRE): here
  the semi-major axis of the 1-sigma horizontal error ellipse (largest
  eigenvalue of the east/north block of the position covariance, rotated into
  local ENU), so the circle covers the ellipse; ``le`` the 1-sigma vertical
  (up) error, m.
* ``detail``: ``<track course speed slope>`` (course in degrees clockwise from
  true north of the horizontal velocity, speed the 3-D speed in m/s, slope the
  velocity's elevation above the local horizontal in degrees), ``<contact
  callsign>``, ``<remarks>``, and ``<trilink>`` with the track number, kind,
  kind confidence, contributing nations, reporting nation and, when the hub has
  one, the predicted impact point and time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytak

from trilink.export.runfolder import RunFolder
from trilink.export.thinning import system_tracks, thin_track_updates
from trilink.geo.frames import ecef_to_geodetic, enu_rotation

__all__ = ["cot_events", "cot_type", "stream_cot", "write_cot"]

UPDATE_EVERY_S = 5.0
"""One event per track every 5 s of scenario time (plus each track's last update)."""

STALE_S = 3 * UPDATE_EVERY_S
"""An event is stale 15 s after its time (three update intervals)."""

HOW_FUSED = "m-f"  # CoT "how": machine, fused (MITRE CoT schema)
LATLON_DECIMALS = 8  # 1e-8 deg ≈ 1.1 mm at the equator
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # ISO 8601 / W3C XML Schema dateTime, UTC

_COT_TYPE = {
    "warhead": "a-h-A-W-M-S-S",  # CoTtypes.xml: Air/Weapon/Missile/Surface To Surface (SSM)
    "unknown": "a-h-A-W-M",  # CoTtypes.xml: Air/Weapon/Missile In Flight
    "stage": "a-h-A",  # CoTtypes.xml: Air/Air Track
    "debris": "a-h-A",
}


def cot_type(kind: str) -> str:
    """The CoT type of a tracked object of ``kind`` (an unknown kind maps as ``unknown``)."""
    return _COT_TYPE.get(kind, _COT_TYPE["unknown"])


def track_uid(track_number: int) -> str:
    """The stable CoT uid of a hub system track."""
    return f"trilink-HUB-GTN-{int(track_number)}"


def cot_events(run: RunFolder) -> list[bytes]:
    """The run's fused picture as CoT 2.0 XML events (UTF-8, one ``<event>`` each)."""
    return [event for _, event in _timed_events(run)]


def write_cot(run: RunFolder, out: Path) -> Path:
    """Write the events to ``out``: one XML declaration, then the events one per line
    inside an ``<events>`` root, so the file is one well-formed XML document."""
    out = Path(out)
    with out.open("wb") as fh:
        fh.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<events>\n')
        for _, event in _timed_events(run):
            fh.write(_strip_declaration(event) + b"\n")
        fh.write(b"</events>\n")
    return out


def stream_cot(run: RunFolder, url: str, *, speed: float | None = None) -> int:
    """Stream the events over TCP to ``url`` (``tcp://HOST:PORT``); return how many were sent.

    Args:
        run: the run folder.
        url: the destination, ``tcp://HOST:PORT`` (a TAK server's plain CoT
            port, or a TAK client listening for TCP).
        speed: time scale against the scenario clock (1.0 = real time, 10.0 =
            ten times faster); None sends as fast as possible.
    """
    host, port = parse_tcp_url(url)
    if speed is not None and not speed > 0.0:
        raise ValueError(f"speed: expected > 0 (a time scale), got {speed!r}")
    timed = _timed_events(run)
    return asyncio.run(_send_all(host, port, timed, speed, url))


def parse_tcp_url(url: str) -> tuple[str, int]:
    """``tcp://HOST:PORT`` -> (host, port), or a ValueError naming ``--to``."""
    expected = "expected tcp://HOST:PORT"
    try:
        parts = urlsplit(str(url))
        port = parts.port
    except ValueError:
        raise ValueError(f"--to (url) {url!r}: {expected} with a port 0..65535") from None
    if parts.scheme != "tcp":
        raise ValueError(f"--to (url) {url!r}: {expected} (scheme must be tcp)")
    if not parts.hostname:
        raise ValueError(f"--to (url) {url!r}: {expected} (no host)")
    if port is None or not 0 < port < 65536:
        raise ValueError(f"--to (url) {url!r}: {expected} (port 1..65535 required)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"--to (url) {url!r}: {expected} (no path or query)")
    return parts.hostname, port


async def _send_all(
    host: str, port: int, timed: list[tuple[float, bytes]], speed: float | None, url: str
) -> int:
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        raise ConnectionError(f"--to {url}: cannot connect ({exc.strerror or exc})") from None
    sent = 0
    try:
        start_wall = time.monotonic()
        t_first = timed[0][0] if timed else 0.0
        for t, event in timed:
            if speed is not None:
                delay = (t - t_first) / speed - (time.monotonic() - start_wall)
                if delay > 0.0:
                    await asyncio.sleep(delay)
            writer.write(event)
            await writer.drain()
            sent += 1
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
    return sent


def _timed_events(run: RunFolder) -> list[tuple[float, bytes]]:
    rows = thin_track_updates(system_tracks(run), UPDATE_EVERY_S)
    if rows.empty:
        return []
    r_ecef_m = rows[["x_ecef_m", "y_ecef_m", "z_ecef_m"]].to_numpy(dtype=float)
    v_ecef_mps = rows[["vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps"]].to_numpy(dtype=float)
    lat_rad, lon_rad, hae_m = ecef_to_geodetic(r_ecef_m)
    r_enu = enu_rotation(lat_rad, lon_rad)  # (N, 3, 3), ECEF -> ENU
    v_enu_mps = np.einsum("nij,nj->ni", r_enu, v_ecef_mps)
    ce_m, le_m = _errors_m(rows, r_enu)
    course_deg = np.mod(np.degrees(np.arctan2(v_enu_mps[:, 0], v_enu_mps[:, 1])), 360.0)
    speed_mps = np.linalg.norm(v_enu_mps, axis=1)
    slope_deg = np.degrees(np.arctan2(v_enu_mps[:, 2], np.hypot(v_enu_mps[:, 0], v_enu_mps[:, 1])))
    lat_deg, lon_deg = np.degrees(lat_rad), np.degrees(lon_rad)
    out = []
    for i, row in enumerate(rows.itertuples(index=False)):
        t_s = float(row.time_s)
        event = _event(
            run,
            row,
            t_s=t_s,
            lat_deg=float(lat_deg[i]),
            lon_deg=float(lon_deg[i]),
            hae_m=float(hae_m[i]),
            ce_m=float(ce_m[i]),
            le_m=float(le_m[i]),
            course_deg=float(course_deg[i]),
            speed_mps=float(speed_mps[i]),
            slope_deg=float(slope_deg[i]),
        )
        out.append((t_s, pytak.serialize_cot(event)))
    return out


def _errors_m(rows: pd.DataFrame, r_enu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CoT ``ce`` and ``le`` (m): the 1-sigma horizontal ellipse's semi-major axis and
    the 1-sigma vertical error, from the ECEF position covariance rotated to ENU.
    Tables without covariance columns get CoT's "unknown" value 9999999."""
    names = ("x", "y", "z")
    cols = [f"cov_{names[min(i, j)]}_{names[max(i, j)]}" for i in range(3) for j in range(3)]
    n = len(rows)
    if not all(c in rows.columns for c in cols):
        unknown = np.full(n, 9_999_999.0)
        return unknown, unknown
    p_ecef = rows[cols].to_numpy(dtype=float).reshape(n, 3, 3)
    p_enu = r_enu @ p_ecef @ np.swapaxes(r_enu, -1, -2)
    horizontal = p_enu[:, :2, :2]
    eig = np.linalg.eigvalsh(0.5 * (horizontal + np.swapaxes(horizontal, -1, -2)))
    ce = np.sqrt(np.clip(eig[:, -1], 0.0, None))
    le = np.sqrt(np.clip(p_enu[:, 2, 2], 0.0, None))
    return ce, le


def _event(
    run: RunFolder,
    row: object,
    *,
    t_s: float,
    lat_deg: float,
    lon_deg: float,
    hae_m: float,
    ce_m: float,
    le_m: float,
    course_deg: float,
    speed_mps: float,
    slope_deg: float,
) -> ET.Element:
    number = int(row.global_track_number)  # type: ignore[attr-defined]
    kind = str(getattr(row, "kind", "unknown"))
    contributors = _text(getattr(row, "contributors", ""))
    reporting = _text(getattr(row, "reporting_nation", ""))
    callsign = f"GTN-{number} {kind}"

    track = ET.Element("track")
    track.set("course", f"{course_deg:.2f}")
    track.set("speed", f"{speed_mps:.2f}")
    track.set("slope", f"{slope_deg:.2f}")

    ours = ET.Element("trilink")
    ours.set("track_number", str(number))
    ours.set("kind", kind)
    confidence = getattr(row, "kind_confidence", float("nan"))
    if _finite(confidence):
        ours.set("kind_confidence", f"{float(confidence):.3f}")
    ours.set("contributors", contributors)
    ours.set("reporting_nation", reporting)
    ours.set("scenario", run.scenario)
    ours.set("time_s", f"{t_s:.3f}")
    impact_lat = getattr(row, "impact_lat_deg", float("nan"))
    impact_lon = getattr(row, "impact_lon_deg", float("nan"))
    impact_t = getattr(row, "impact_time_s", float("nan"))
    if _finite(impact_lat) and _finite(impact_lon) and _finite(impact_t):
        ours.set("impact_lat_deg", f"{float(impact_lat):.6f}")
        ours.set("impact_lon_deg", f"{float(impact_lon):.6f}")
        ours.set("impact_time", _iso(run.utc(float(impact_t))))

    detail = pytak.cot_detail(track, ours, flow_tag=False)
    pytak.add_remarks(
        detail,
        [f"trilink hub track {number}", kind, f"seen by {contributors}" if contributors else None],
        separator="; ",
    )
    point = pytak.cot_point(
        lat=repr(lat_deg),
        lon=repr(lon_deg),
        hae=f"{hae_m:.2f}",
        ce=f"{ce_m:.1f}",
        le=f"{le_m:.1f}",
        precision=LATLON_DECIMALS,
    )
    when = run.utc(t_s)
    return pytak.cot_event(
        uid=track_uid(number),
        cot_type=cot_type(kind),
        how=HOW_FUSED,
        point=point,
        detail=detail,
        callsign=callsign,
        # pytak stamps events with the wall clock; the picture's clock is the scenario's.
        extra_attrs={
            "time": _iso(when),
            "start": _iso(when),
            "stale": _iso(when + dt.timedelta(seconds=STALE_S)),
        },
    )


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime(_TIME_FORMAT)


def _finite(x: object) -> bool:
    try:
        return math.isfinite(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _text(x: object) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return str(x)


def _strip_declaration(event: bytes) -> bytes:
    if event.startswith(b"<?xml"):
        return event.split(b"?>", 1)[1].lstrip()
    return event
