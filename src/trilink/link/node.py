"""A national C2 node's side of the link: its tracks out to the hub, releases in.

A :class:`NationalNode` turns rows of its tracker's tracks table (the DESIGN.md
contract, read by column name only: the link never looks inside the tracker) into
:class:`~trilink.link.messages.TrackReport` messages, sent on ``tl.<NATION>.tracks``
in signed :class:`~trilink.link.messages.Bundle` s (one signature per up to
:data:`~trilink.link.messages.BUNDLE_MAX_ITEMS` reports),
closes every output epoch with a :class:`~trilink.link.messages.Heartbeat` on
``tl.<NATION>.heartbeat`` (the hub fuses an epoch once every nation has closed it), and
keeps what the hub releases to it on ``tl.release.<NATION>.>`` after verifying the
hub's signature.

Works over any :class:`~trilink.link.bus.Transport`: the in-process bus or NATS.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trilink.link.bus import Transport
from trilink.link.messages import (
    BUNDLE_MAX_ITEMS,
    AnyMessage,
    Bundle,
    Heartbeat,
    ImpactEstimate,
    LaunchPoint,
    Message,
    TrackReport,
)
from trilink.link.signing import Signer, Verifier

__all__ = ["NationalNode", "Received", "reports_from_columns", "rows_by_epoch"]

logger = logging.getLogger("trilink.link.node")

EventSink = Callable[[dict[str, Any]], None]

_COMPONENTS = ("x", "y", "z", "vx", "vy", "vz")
COV_COLUMNS = tuple(f"cov_{_COMPONENTS[i]}_{_COMPONENTS[j]}" for i in range(6) for j in range(i, 6))
"""The tracks table's 21 covariance columns (upper triangle, row-major over
x, y, z, vx, vy, vz): the DESIGN.md contract, in the wire format's order
(:func:`~trilink.link.messages.covariance_upper`)."""

_KINDS = frozenset({"warhead", "stage", "debris", "unknown"})


def _finite(v: float) -> bool:
    return isinstance(v, float) and math.isfinite(v)


def reports_from_columns(
    cols: Mapping[str, NDArray],
    rows: NDArray[np.intp] | list[int],
    *,
    nation: str,
    epoch_utc: datetime,
    sent_time_s: float,
    seq_of: Callable[[int], int],
    sensor_ids: Mapping[int, tuple[str, ...]] | None = None,
) -> list[TrackReport]:
    """Track reports for the given rows of a tracks table (column dict).

    ``seq_of(track_id)`` gives each track's next report number. Launch and impact
    estimates go along where the row has them. ``sensor_ids`` (track id → the node's
    sensors that contributed) are for the hub only; the policy strips them from
    anything released.
    """
    out: list[TrackReport] = []
    get = {k: np.asarray(v) for k, v in cols.items()}
    idx = np.asarray(rows, dtype=np.intp)
    upper = np.stack([get[c][idx] for c in COV_COLUMNS], axis=1).tolist() if idx.size else []
    for n, i in enumerate(idx.tolist()):
        tid = int(get["track_id"][i])
        kind = str(get["kind"][i]) if "kind" in get else "unknown"
        parent = int(get["parent_track_id"][i]) if "parent_track_id" in get else -1
        launch = impact = None
        if "launch_lat_deg" in get and _finite(float(get["launch_lat_deg"][i])):
            launch = LaunchPoint(
                lat_deg=float(get["launch_lat_deg"][i]),
                lon_deg=float(get["launch_lon_deg"][i]),
                time_s=float(get["launch_time_s"][i]),
            )
        if "impact_lat_deg" in get and _finite(float(get["impact_lat_deg"][i])):
            impact = ImpactEstimate(
                lat_deg=float(get["impact_lat_deg"][i]),
                lon_deg=float(get["impact_lon_deg"][i]),
                time_s=float(get["impact_time_s"][i]),
                semi_major_m=float(get["impact_semi_major_m"][i]),
                semi_minor_m=float(get["impact_semi_minor_m"][i]),
                orientation_deg=float(get["impact_orientation_deg"][i]),
            )
        conf = float(get["kind_confidence"][i]) if "kind_confidence" in get else 0.0
        out.append(
            TrackReport(
                origin=nation,
                track_id=tid,
                seq=seq_of(tid),
                time_s=float(get["time_s"][i]),
                epoch_utc=epoch_utc,
                sent_time_s=float(sent_time_s),
                r_ecef_m=(
                    float(get["x_ecef_m"][i]),
                    float(get["y_ecef_m"][i]),
                    float(get["z_ecef_m"][i]),
                ),
                v_ecef_mps=(
                    float(get["vx_ecef_mps"][i]),
                    float(get["vy_ecef_mps"][i]),
                    float(get["vz_ecef_mps"][i]),
                ),
                covariance_upper=tuple(upper[n]),
                kind=kind if kind in _KINDS else "unknown",  # type: ignore[arg-type]
                kind_confidence=min(max(conf, 0.0), 1.0) if math.isfinite(conf) else 0.0,
                n_updates=int(get["n_updates"][i]) if "n_updates" in get else 0,
                parent_track_id=parent if parent >= 0 else None,
                launch=launch,
                impact=impact,
                sensor_ids=(sensor_ids or {}).get(tid, ()),
            )
        )
    return out


def rows_by_epoch(time_s: NDArray[np.float64]) -> dict[float, NDArray[np.intp]]:
    """The rows of a tracks table at each output epoch: ``{time_s: row indices}``."""
    t = np.asarray(time_s, dtype=float)
    order = np.argsort(t, kind="stable")
    uniq, start = np.unique(t[order], return_index=True)
    ends = [*start[1:].tolist(), t.size]
    return {
        float(u): order[a:b] for u, a, b in zip(uniq.tolist(), start.tolist(), ends, strict=True)
    }


@dataclass(frozen=True, slots=True)
class Received:
    """A verified message a node received, with the subject and its arrival time."""

    time_s: float
    subject: str
    message: AnyMessage


@dataclass
class NationalNode:
    """One nation's end of the link (see the module docstring).

    Args:
        nation: the participant name (``JP``, ``KR``, ``US``).
        transport: the link (in-process bus or NATS).
        signer: the node's signer (origin ``nation``).
        verifier: trusts the hub (and whoever else may reach this node).
        epoch_utc: the scenario epoch, carried in every report.
        clock: scenario time now (for ``sent_time_s`` and arrival stamps).
        sink: optional event sink (one dict per event, for ``events.jsonl``).
    """

    nation: str
    transport: Transport
    signer: Signer
    verifier: Verifier
    epoch_utc: datetime
    clock: Callable[[], float]
    sink: EventSink | None = None
    on_receive: Callable[[Received], None] | None = None
    """Called (on the transport's thread) for every verified message received."""
    received: list[Received] = field(default_factory=list)
    _seq: dict[int, int] = field(default_factory=dict)
    _subscription: Any = None

    def __post_init__(self) -> None:
        self._subscription = self.transport.subscribe(
            f"tl.release.{self.nation}.>", self._on_release, subscriber=self.nation
        )

    def _next_seq(self, track_id: int) -> int:
        s = self._seq.get(track_id, 0) + 1
        self._seq[track_id] = s
        return s

    def publish_epoch(
        self,
        t_s: float,
        cols: Mapping[str, NDArray],
        rows: NDArray[np.intp] | list[int],
        *,
        sensor_ids: Mapping[int, tuple[str, ...]] | None = None,
        attributed: NDArray[np.str_] | None = None,
    ) -> int:
        """Send the reports of one output epoch (rows of the tracks table valid at
        ``t_s``) and close the epoch with a heartbeat. Returns the number of reports.

        The sensors behind each report: ``sensor_ids`` (track id → sensor ids), or
        ``attributed`` (per row of the table: the one radar the report is attributed
        to, '' for none; e.g. :func:`trilink.fusion.registration.report_sensors`)."""
        if attributed is not None and sensor_ids is None:
            tids = np.asarray(cols["track_id"])[rows].tolist()
            sensor_ids = {
                int(k): ((str(a),) if a else ())
                for k, a in zip(tids, np.asarray(attributed)[rows].tolist(), strict=True)
            }
        now = self.clock()
        reports = reports_from_columns(
            cols,
            rows,
            nation=self.nation,
            epoch_utc=self.epoch_utc,
            sent_time_s=now,
            seq_of=self._next_seq,
            sensor_ids=sensor_ids,
        )
        subject = f"tl.{self.nation}.tracks"
        for k in range(0, len(reports), BUNDLE_MAX_ITEMS):
            items = tuple(reports[k : k + BUNDLE_MAX_ITEMS])
            msg = Bundle(origin=self.nation, time_s=float(t_s), items=items)
            self.transport.publish(
                subject, self.signer.sign(msg, sent_time_s=now), sender=self.nation
            )
        for r in reports:
            if self.sink is not None:
                self.sink(
                    {
                        "t_s": now,
                        "event": "track_report",
                        "nation": self.nation,
                        "track_id": r.track_id,
                        "seq": r.seq,
                        "time_of_validity_s": r.time_s,
                        "kind": r.kind,
                        "r_ecef_m": list(r.r_ecef_m),
                    }
                )
        self.close_epoch(t_s)
        return len(reports)

    def close_epoch(self, t_s: float) -> None:
        """Tell the hub this node has sent everything valid at ``t_s``."""
        now = self.clock()
        beat = Heartbeat(origin=self.nation, time_s=float(t_s), sent_time_s=now)
        self.transport.publish(
            f"tl.{self.nation}.heartbeat",
            self.signer.sign(beat, sent_time_s=now),
            sender=self.nation,
        )

    def publish(self, kind: str, message: Message) -> None:
        """Send another message of this node's own (e.g. ``notices``, ``status``)."""
        now = self.clock()
        self.transport.publish(
            f"tl.{self.nation}.{kind}",
            self.signer.sign(message, sent_time_s=now),
            sender=self.nation,
        )

    def _on_release(self, subject: str, data: bytes) -> None:
        msg = self.verifier.verify(data)
        if msg is None:
            if self.sink is not None:
                self.sink(
                    {
                        "t_s": self.clock(),
                        "event": "dropped",
                        "at": self.nation,
                        "subject": subject,
                        "reason": self.verifier.last_reason,
                    }
                )
            return
        now = self.clock()
        got = [
            Received(now, subject, m) for m in (msg.items if isinstance(msg, Bundle) else (msg,))
        ]
        self.received.extend(got)
        if self.on_receive is not None:
            for r in got:
                self.on_receive(r)

    def close(self) -> None:
        if self._subscription is not None:
            self._subscription.unsubscribe()
            self._subscription = None
