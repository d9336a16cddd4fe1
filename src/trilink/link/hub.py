"""The hub (INDOPACOM): verify what the nations send, fuse it, release what policy allows.

The :class:`Hub` subscribes, as the policy's hub participant, to every nation's
``tl.<NATION>.>`` (one subscription per nation, so a nation's messages are handled in
the order it sent them) and handles ``tracks``, ``heartbeat`` and ``notices``. Each
envelope is verified (:class:`~trilink.link.signing.Verifier`: forged, replayed,
malformed and oversized envelopes are counted, logged and dropped; the hub never
raises on input) and must come from the nation its subject names.

**Epochs.** A node sends its reports valid at an output epoch, then a heartbeat for
that epoch. The hub fuses epoch *e* (:class:`trilink.fusion.Fuser`) once every
expected nation has closed *e*; a nation silent for ``max_silence_s`` (on the hub's
clock: scenario time in process, wall time over NATS) is not waited for, so a cut-off
partner does not stall the picture, and its late reports are counted, not fused.
Reports inside an epoch are fused in (nation, track id) order, whatever order the
network delivered them in, so the fused picture is the same in one process and over
NATS.

**Release.** Each system track becomes a :class:`~trilink.link.messages.SystemTrack`
(origin = hub, the global track number); for every partner,
:meth:`~trilink.link.policy.Policy.release_decision` says whether and in what form it
may go; released messages are signed by the hub and published on
``tl.release.<NATION>.system_tracks``. Launch notices are relayed the same way on
``tl.release.<NATION>.notices``. Every decision goes to the event sink.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from trilink.fusion import Fuser, SystemTracks, TrackReports, reporting_member
from trilink.fusion.registration import Registration
from trilink.link.bus import Transport
from trilink.link.messages import (
    BUNDLE_MAX_ITEMS,
    Bundle,
    Heartbeat,
    LaunchNotice,
    Message,
    RegistrationCorrection,
    SystemTrack,
    TrackReport,
    covariance_from_upper,
    covariance_upper,
)
from trilink.link.policy import Policy, ReleaseDecision
from trilink.link.signing import Signer, Verifier

__all__ = ["Hub", "HubStats"]

logger = logging.getLogger("trilink.link.hub")

EventSink = Callable[[dict[str, Any]], None]

_RELEASE_SUBJECT = {
    "SystemTrack": "system_tracks",
    "LaunchNotice": "notices",
    "Alert": "alerts",
    "RegistrationCorrection": "registration",
    "LinkStatus": "status",
    "Heartbeat": "status",
}


@dataclass(frozen=True, slots=True)
class HubStats:
    """Counters of a hub (a snapshot)."""

    reports: int
    """Verified track reports received."""
    epochs_fused: int
    system_tracks_released: int
    """SystemTrack messages published (all partners)."""
    refused_releases: int
    """Release decisions the policy said no to."""
    dropped: int
    """Envelopes the verifier dropped, plus messages on the wrong subject."""
    late_reports: int
    """Reports for an epoch already fused (not used)."""


class Hub:
    """The fusing and relaying hub (see the module docstring).

    Args:
        transport: the link.
        policy: the sharing policy (its ``hub`` is this participant).
        signer: the hub's signer (origin ``policy.hub``).
        verifier: trusts every nation's key.
        fuser: the track-to-track fusion engine.
        nations: the partners whose epochs the hub waits for, and to whom it releases.
        epoch_utc: the scenario epoch.
        clock: scenario time now.
        sink: optional event sink.
        max_silence_s: a nation not heard from for this long (on ``clock``; since the
            hub heard its first message, for one never heard) is not waited for.
        on_fused: called with each epoch's time once it is fused and released.
        registration: optional sensor registration (:class:`trilink.fusion.registration.
            Registration`, over the partners' sensor sites, which the hub holds under the
            bilateral arrangements and never releases); fed every fused epoch with the
            reports' attributed sensors (``TrackReport.sensor_ids``, one sensor).
        registration_every_s: how often the current estimates go back to the sensors'
            nations as :class:`~trilink.link.messages.RegistrationCorrection` (only
            estimates with at least one paired update).
    """

    def __init__(
        self,
        transport: Transport,
        policy: Policy,
        signer: Signer,
        verifier: Verifier,
        fuser: Fuser,
        *,
        nations: Sequence[str],
        epoch_utc: datetime,
        clock: Callable[[], float],
        sink: EventSink | None = None,
        max_silence_s: float = 5.0,
        registration: Registration | None = None,
        registration_every_s: float = 30.0,
        on_fused: Callable[[float], None] | None = None,
    ) -> None:
        self.transport, self.policy, self.signer = transport, policy, signer
        self.verifier, self.fuser = verifier, fuser
        self.nations = tuple(nations)
        self.epoch_utc, self.clock, self.sink = epoch_utc, clock, sink
        if not max_silence_s > 0.0:
            raise ValueError(f"max_silence_s: must be > 0, got {max_silence_s!r}")
        self.max_silence_s = float(max_silence_s)
        self.on_fused = on_fused
        self.registration = registration
        self.registration_every_s = float(registration_every_s)
        self._last_correction_s = -math.inf
        self.corrections: list[RegistrationCorrection] = []
        """Every registration correction the hub sent, in order."""
        self._started_s = math.nan  # the silence clock starts with the first message heard
        self._heard: dict[str, float] = dict.fromkeys(self.nations, -math.inf)
        self.me = policy.hub
        self._pending: dict[float, list[TrackReport]] = defaultdict(list)
        self._closed: dict[str, float] = dict.fromkeys(self.nations, -math.inf)
        self._fused_to = -math.inf
        self._track_seq: dict[int, int] = {}
        self.pictures: list[SystemTracks] = []
        """The fused picture of every epoch, in order."""
        self.impacts: list[dict[str, np.ndarray]] = []
        """Per picture, the impact columns of the tracks table (the reporting nation's
        prediction for each system track; NaN where it has none)."""
        self._n = {"reports": 0, "epochs": 0, "released": 0, "refused": 0, "dropped": 0}
        self._n["late"] = 0
        # one subscription per nation: a transport keeps a publisher's order within a
        # subscription (nats-py runs each subscription's callbacks separately, so a
        # heartbeat on its own subscription could overtake the reports it closes)
        self._handlers = {
            "tracks": self._on_track,
            "heartbeat": self._on_heartbeat,
            "notices": self._on_notice,
        }
        self._subs = [
            transport.subscribe(f"tl.{nation}.>", self._dispatch, subscriber=self.me)
            for nation in self.nations
        ]

    @property
    def stats(self) -> HubStats:
        n = self._n
        return HubStats(
            reports=n["reports"],
            epochs_fused=n["epochs"],
            system_tracks_released=n["released"],
            refused_releases=n["refused"],
            dropped=n["dropped"],
            late_reports=n["late"],
        )

    def _emit(self, event: dict[str, Any]) -> None:
        if self.sink is not None:
            self.sink(event)

    # -- input ---------------------------------------------------------------------
    def _dispatch(self, subject: str, data: bytes) -> None:
        handler = self._handlers.get(subject.rsplit(".", 1)[-1])
        if handler is not None:
            handler(subject, data)

    def _verified(self, subject: str, data: bytes) -> Message | None:
        msg = self.verifier.verify(data)
        if msg is None:
            self._n["dropped"] += 1
            self._emit(
                {
                    "t_s": self.clock(),
                    "event": "dropped",
                    "at": self.me,
                    "subject": subject,
                    "reason": self.verifier.last_reason,
                }
            )
            return None
        nation = subject.split(".")[1]
        if nation in self._heard:
            now = self.clock()
            self._heard[nation] = now
            if math.isnan(self._started_s):
                self._started_s = now
        if getattr(msg, "origin", None) != nation:
            self._n["dropped"] += 1
            logger.warning("%s from %s on %s: wrong subject", type(msg).__name__, msg, subject)
            self._emit(
                {
                    "t_s": self.clock(),
                    "event": "dropped",
                    "at": self.me,
                    "subject": subject,
                    "reason": "subject_mismatch",
                }
            )
            return None
        return msg

    def _on_track(self, subject: str, data: bytes) -> None:
        msg = self._verified(subject, data)
        items = msg.items if isinstance(msg, Bundle) else (msg,)
        for r in items:
            if not isinstance(r, TrackReport):
                continue
            if r.time_s <= self._fused_to:
                self._n["late"] += 1
                continue
            self._n["reports"] += 1
            self._pending[r.time_s].append(r)

    def _on_heartbeat(self, subject: str, data: bytes) -> None:
        msg = self._verified(subject, data)
        if not isinstance(msg, Heartbeat) or msg.origin not in self._closed:
            return
        self._closed[msg.origin] = max(self._closed[msg.origin], msg.time_s)
        self._advance()

    def _on_notice(self, subject: str, data: bytes) -> None:
        msg = self._verified(subject, data)
        if isinstance(msg, LaunchNotice):
            self._release(msg)

    # -- fusion ----------------------------------------------------------------------
    def _advance(self) -> None:
        """Fuse, in order, every epoch that all live nations have closed (a nation silent
        for ``max_silence_s`` is not waited for)."""
        now = self.clock()
        live = [
            n
            for n in self.nations
            if now - max(self._heard[n], self._started_s) <= self.max_silence_s
        ]
        if not live:
            return
        ready = min(self._closed[n] for n in live)
        epochs = sorted({t for t in self._closed.values() if math.isfinite(t)} | set(self._pending))
        for e in epochs:
            if e <= self._fused_to or e > ready:
                continue
            self._fuse(e)

    def flush(self) -> None:
        """Fuse everything still pending (end of a run)."""
        for e in sorted(self._pending):
            if e > self._fused_to:
                self._fuse(e)

    def _fuse(self, t_e: float) -> None:
        reps = sorted(self._pending.pop(t_e, []), key=lambda r: (r.origin, r.track_id))
        for e in [e for e in self._pending if e < t_e]:  # stragglers of skipped epochs
            self._n["late"] += len(self._pending.pop(e))
        self._fused_to = t_e
        n = len(reps)
        tr = TrackReports.from_arrays(
            nation=[r.origin for r in reps],
            track_id=[r.track_id for r in reps],
            time_s=[r.time_s for r in reps],
            state=np.array([(*r.r_ecef_m, *r.v_ecef_mps) for r in reps]).reshape(n, 6),
            covariance=np.array([covariance_from_upper(r.covariance_upper) for r in reps]).reshape(
                n, 6, 6
            ),
            kind=[r.kind for r in reps],
            kind_confidence=np.array([r.kind_confidence for r in reps]),
            sensor_id=[r.sensor_ids[0] if len(r.sensor_ids) == 1 else "" for r in reps],
        )
        pic = self.fuser.update(tr, t_e)
        if self.registration is not None:
            self.registration.update(tr, t_e)
            if t_e - self._last_correction_s >= self.registration_every_s:
                self._last_correction_s = t_e
                self._send_corrections(t_e)
        self.pictures.append(pic)
        self._n["epochs"] += 1
        now = self.clock()
        by_key = {(r.origin, r.track_id): r for r in reps}

        def position_of(nation: str, tid: int) -> np.ndarray | None:
            r = by_key.get((nation, tid))
            return None if r is None else np.asarray(r.r_ecef_m)

        def has_impact(nation: str, tid: int) -> bool:
            r = by_key.get((nation, tid))
            return r is not None and r.impact is not None

        imp_cols = {
            k: np.full(len(pic), np.nan)
            for k in (
                "impact_lat_deg",
                "impact_lon_deg",
                "impact_time_s",
                "impact_semi_major_m",
                "impact_semi_minor_m",
                "impact_orientation_deg",
            )
        }
        self.impacts.append(imp_cols)
        released: list[SystemTrack] = []
        for m in range(len(pic)):
            gtn = int(pic.global_track_number[m])
            seq = self._track_seq.get(gtn, 0) + 1
            self._track_seq[gtn] = seq
            contributors = tuple(c for c in str(pic.contributors[m]).split(";") if c)
            # the reporting nation's report nearest the fused state speaks for the track
            speaker = reporting_member(
                str(pic.members[m]),
                str(pic.reporting_nation[m]),
                pic.state[m, 0:3],
                position_of,
                has_product=has_impact,
            )
            impact = by_key[speaker].impact if speaker is not None else None
            if impact is not None:
                imp_cols["impact_lat_deg"][m] = impact.lat_deg
                imp_cols["impact_lon_deg"][m] = impact.lon_deg
                imp_cols["impact_time_s"][m] = impact.time_s
                imp_cols["impact_semi_major_m"][m] = impact.semi_major_m
                imp_cols["impact_semi_minor_m"][m] = impact.semi_minor_m
                imp_cols["impact_orientation_deg"][m] = impact.orientation_deg
            kind = str(pic.kind[m])
            st = SystemTrack(
                origin=self.me,
                track_number=gtn,
                seq=seq,
                time_s=t_e,
                epoch_utc=self.epoch_utc,
                sent_time_s=now,
                r_ecef_m=tuple(float(v) for v in pic.state[m, 0:3]),  # type: ignore[arg-type]
                v_ecef_mps=tuple(float(v) for v in pic.state[m, 3:6]),  # type: ignore[arg-type]
                covariance_upper=covariance_upper(pic.covariance[m]),
                contributing_nations=contributors,
                kind=kind if kind in ("warhead", "stage", "debris") else "unknown",  # type: ignore[arg-type]
                kind_confidence=float(min(max(pic.kind_confidence[m], 0.0), 1.0)),
                impact=impact,
            )
            self._emit(
                {
                    "t_s": now,
                    "event": "system_track",
                    "global_track_number": gtn,
                    "time_of_validity_s": t_e,
                    "kind": st.kind,
                    "contributors": list(contributors),
                    "reporting_nation": str(pic.reporting_nation[m]),
                    "r_ecef_m": list(st.r_ecef_m),
                    "v_ecef_mps": list(st.v_ecef_mps),
                }
            )
            released.append(st)
        self._release_bundled(released, t_e)
        if self.on_fused is not None:
            self.on_fused(t_e)

    def _release_bundled(self, messages: list[SystemTrack], t_e: float) -> None:
        """Release an epoch's system tracks: per partner, the policy decides item by
        item (each decision logged) and the releasable ones go in signed bundles."""
        now = self.clock()
        for nation in self.nations:
            out: list[Message] = []
            for m in messages:
                d = self.policy.release_decision(m, nation)
                self._emit_relay(now, m, d)
                if d.allowed and d.message is not None:
                    out.append(d.message)
                else:
                    self._n["refused"] += 1
            for k in range(0, len(out), BUNDLE_MAX_ITEMS):
                b = Bundle(origin=self.me, time_s=t_e, items=tuple(out[k : k + BUNDLE_MAX_ITEMS]))  # type: ignore[arg-type]
                self.transport.publish(
                    f"tl.release.{nation}.system_tracks",
                    self.signer.sign(b, sent_time_s=now),
                    sender=self.me,
                )
            self._n["released"] += len(out)

    def _send_corrections(self, t_e: float) -> None:
        """Each registered sensor's current bias estimate, to its own nation only."""
        reg = self.registration
        assert reg is not None
        now = self.clock()
        for sid, nation in zip(reg.sites.sensor_id, reg.sites.nation, strict=True):
            est = reg.estimate(str(sid))
            if est.n_updates == 0 or nation not in self.nations:
                continue
            msg = RegistrationCorrection(
                origin=self.me,
                recipient=str(nation),
                sensor_id=str(sid),
                time_s=t_e,
                range_bias_m=float(est.bias[0]),
                az_bias_rad=float(est.bias[1]),
                el_bias_rad=float(est.bias[2]),
                sigma_range_m=float(est.sigma[0]),
                sigma_az_rad=float(est.sigma[1]),
                sigma_el_rad=float(est.sigma[2]),
            )
            self.corrections.append(msg)
            self._emit(
                {
                    "t_s": now,
                    "event": "registration",
                    "nation": str(nation),
                    "sensor_id": str(sid),
                    "az_bias_deg": math.degrees(est.bias[1]),
                    "el_bias_deg": math.degrees(est.bias[2]),
                    "range_bias_m": float(est.bias[0]),
                    "sigma_az_deg": math.degrees(est.sigma[1]),
                    "n_updates": int(est.n_updates),
                }
            )
            self._release(msg)

    def _emit_relay(self, now: float, message: Message, d: ReleaseDecision) -> None:
        """The event log's record of one release decision."""
        self._emit(
            {
                "t_s": now,
                "event": "relay",
                "from": getattr(message, "origin", self.me),
                "to": d.recipient,
                "type": d.message_type,
                "global_track_number": getattr(message, "track_number", None),
                "decision": "released" if d.allowed else "refused",
                "reason": d.reason,
            }
        )

    def _release(self, message: Message) -> None:
        """Pass ``message`` to every partner the policy allows, signed by the hub."""
        tname = type(message).__name__
        leaf = _RELEASE_SUBJECT.get(tname)
        now = self.clock()
        for nation in self.nations:
            d = self.policy.release_decision(message, nation)
            self._emit_relay(now, message, d)
            if not d.allowed or d.message is None or leaf is None:
                self._n["refused"] += 1
                continue
            self.transport.publish(
                f"tl.release.{nation}.{leaf}",
                self.signer.sign(d.message, sent_time_s=now),
                sender=self.me,
            )
            if tname == "SystemTrack":
                self._n["released"] += 1

    def close(self) -> None:
        for s in self._subs:
            s.unsubscribe()
        self._subs = []
