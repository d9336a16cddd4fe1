"""Alert policy: when to issue a launch notice, take cover, update, all clear and impact notice.

The policy is a deterministic state machine over the sequence of epoch assessments
(:class:`~trilink.warning.assessment.EpochAssessment`) and the launch notices: the same
inputs give the same decisions, whatever the wall clock (no time is read anywhere).

Rules (thresholds in :class:`AlertPolicy`, defaults documented there):

* **launch notice** — the first epoch at which a space-IR launch notice has been issued
  (``issued_s ≤ t``), or a confirmed possible-warhead track is thrusting for
  ``launch_confirm_assessments`` consecutive assessments (whichever comes first). Area:
  all of Japan (the launch is confirmed; where it goes is not known yet).
* **take cover** — a prefecture is *threatened* at an epoch when a qualifying track
  predicts, with the event still ahead (time left > ``min_time_left_s``),
  ``P(impact in it) ≥ take_cover_p_impact`` (possible warheads: ``warhead``/``unknown``)
  or ``P(overflight above the sensible atmosphere) ≥ take_cover_p_overflight``
  (warheads, unknowns and stages: an overflying stage flies with the missile). A
  stage's or debris' own predicted *land impact* threatens with
  ``P ≥ hazard_p_impact`` and is announced as a falling object, never as the missile.
  Thrusting tracks do not qualify (their ballistic prediction sweeps downrange with
  every second of burn). A prefecture must be threatened ``confirm_assessments``
  assessments in a row; the first take-cover is a CAP ``Alert``, later additions an
  ``Update``.
* **update** — the active set is unchanged but the leading prediction moved by more
  than ``update_move_m`` or its event time by more than ``update_time_s`` since the last
  message.
* **all clear / correction** — an active prefecture no longer threatened for
  ``clear_assessments`` assessments in a row (its probabilities below
  ``clear_factor`` × the thresholds) is released: a correction (``Cancel`` if nothing
  remains active) before its event time, a "passed" all clear after the overflight.
* **impact notice** — once the predicted impact time of the missile (the best
  possible-warhead track: ``warhead`` before ``unknown``, then the longest assessed) has
  passed: where it fell, on land / in the territorial sea / in the EEZ / outside.

Every decision carries its evidence: the tracks (ids, kinds, probabilities, contributing
partners) behind it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from trilink.warning.assessment import EpochAssessment, TrackAssessment

__all__ = ["AlertDecision", "AlertPolicy", "LaunchNoticeLike", "PolicyEngine"]

Action = Literal["launch_notice", "take_cover", "update", "all_clear", "impact_notice"]


class LaunchNoticeLike(Protocol):
    """What the policy needs of a launch notice (:class:`trilink.sim.run.LaunchNotice`)."""

    threat_id: str
    issued_s: float


@dataclass(frozen=True, kw_only=True)
class AlertPolicy:
    """Thresholds of the alert policy (module docstring). Defaults chosen on the built-in
    scenarios (README figures) and tested so that they cannot drift."""

    take_cover_p_impact: float = 0.05
    """P(impact in a prefecture) of a possible warhead that threatens it: a land impact
    is grave, so 1 in 20 suffices."""
    take_cover_p_overflight: float = 0.5
    """P(overflight) that threatens a prefecture (the object is in space; the hazard is a
    failure dropping parts): more likely than not."""
    hazard_p_impact: float = 0.2
    """P(land impact in a prefecture) of a stage or debris that threatens it."""
    clear_factor: float = 0.5
    """A threat ends below this fraction of its threshold (hysteresis)."""
    confirm_assessments: int = 2
    """Consecutive threatened assessments before take-cover."""
    clear_assessments: int = 2
    """Consecutive clear assessments before all-clear."""
    min_time_left_s: float = 0.0
    """A threat whose event is not more than this ahead is not a reason to take cover."""
    max_lead_s: float = 600.0
    """A threat further ahead than this does not start a take-cover yet: the launch
    notice is out, and the prediction of a track seen for a short while improves a lot in
    the minutes before its event (on the seed scenario a Korean-only warhead track 35 min
    before impact gave Hokkaido P = 0.07 from a 600 km ellipse). J-Alert's own take-cover
    messages came 0–5 min before the event (public_reference.md §2)."""
    update_move_m: float = 50_000.0
    update_time_s: float = 30.0
    launch_confirm_assessments: int = 2
    overflight_kinds: tuple[str, ...] = ("warhead", "unknown", "stage")
    """Kinds whose predicted overflight threatens a prefecture."""
    impact_notice_after_s: float = 0.0
    """Impact notice this long after the predicted impact time."""

    def __post_init__(self) -> None:
        for name in ("take_cover_p_impact", "take_cover_p_overflight", "hazard_p_impact"):
            v = getattr(self, name)
            if not (0.0 < v <= 1.0):
                raise ValueError(f"AlertPolicy.{name} must be in (0, 1], got {v!r}")
        if not (0.0 < self.clear_factor <= 1.0):
            raise ValueError("AlertPolicy.clear_factor must be in (0, 1]")
        if self.confirm_assessments < 1 or self.clear_assessments < 1:
            raise ValueError("AlertPolicy: confirm/clear_assessments must be ≥ 1")


@dataclass(frozen=True, kw_only=True)
class AlertDecision:
    """One alert message decided by the policy."""

    seq: int
    t_s: float
    action: Action
    msg_type: Literal["Alert", "Update", "Cancel"]
    regions: tuple[str, ...]
    """Prefecture codes the message is for (empty: all of Japan)."""
    active: tuple[str, ...]
    """Prefectures under take-cover after this decision."""
    headline: str
    description: str
    references: tuple[int, ...] = ()
    """``seq`` of earlier messages this one updates or cancels."""
    evidence: tuple[dict[str, Any], ...] = ()
    event_time_s: float = math.nan
    """Predicted impact/overflight time behind the decision (scenario s), if any."""
    impact: dict[str, Any] = field(default_factory=dict)
    """For impact notices: lat_deg, lon_deg, time_s, where (land/territorial_sea/eez/
    outside), the prefecture if on land."""

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "t_s": self.t_s,
            "action": self.action,
            "msg_type": self.msg_type,
            "regions": list(self.regions),
            "active": list(self.active),
            "headline": self.headline,
            "description": self.description,
            "references": list(self.references),
            "event_time_s": None if math.isnan(self.event_time_s) else self.event_time_s,
            "impact": self.impact,
            "evidence": list(self.evidence),
        }


@dataclass
class _RegionState:
    streak: int = 0
    clear_streak: int = 0
    active: bool = False
    event_s: float = math.nan
    cause: str = ""


def _threats(
    a: EpochAssessment, pol: AlertPolicy, factor: float, max_lead_s: float = math.inf
) -> dict[str, tuple[float, str, list[TrackAssessment]]]:
    """Prefecture → (event time, cause, tracks) for every threatened prefecture, with
    thresholds scaled by ``factor`` (1 to start, ``clear_factor`` to keep)."""
    out: dict[str, tuple[float, str, list[TrackAssessment]]] = {}
    t = a.t_s

    def add(code: str, when: float, cause: str, tr: TrackAssessment) -> None:
        if code in out:
            w0, c0, trs = out[code]
            out[code] = (min(w0, when), c0 if c0 == "missile impact" else cause, [*trs, tr])
        else:
            out[code] = (when, cause, [tr])

    for tr in a.tracks:
        if tr.thrusting:
            continue
        imp_time = tr.impact.time_s if tr.impact is not None else math.nan
        if tr.possible_warhead:
            thr, cause = pol.take_cover_p_impact, "missile impact"
        else:
            thr, cause = pol.hazard_p_impact, f"falling {tr.kind}"
        if pol.min_time_left_s < imp_time - t <= max_lead_s:
            for code, p in tr.p_impact.items():
                if p >= thr * factor:
                    add(code, imp_time, cause, tr)
        if tr.kind in pol.overflight_kinds:
            for code, p in tr.p_overflight.items():
                when = tr.overflight_time_s.get(code, math.nan)
                ahead = pol.min_time_left_s < when - t <= max_lead_s
                if p >= pol.take_cover_p_overflight * factor and ahead:
                    add(code, when, "overflight", tr)
    return out


class PolicyEngine:
    """Runs :class:`AlertPolicy` over epoch assessments in time order (module docstring)."""

    def __init__(self, policy: AlertPolicy | None = None) -> None:
        self.policy = policy or AlertPolicy()
        self.decisions: list[AlertDecision] = []
        self._regions: dict[str, _RegionState] = {}
        self._launch_sent = False
        self._boost_streak = 0
        self._last_alert_seq: int | None = None
        self._last_lead: tuple[float, float, float, int] | None = None
        self._missile: dict[int, TrackAssessment] = {}
        self._n_seen: dict[int, int] = {}
        self._impact_sent = False
        self._t_last = -math.inf

    # -- helpers -------------------------------------------------------------------
    def _emit(self, **kw: Any) -> AlertDecision:
        d = AlertDecision(seq=len(self.decisions) + 1, **kw)
        self.decisions.append(d)
        if d.action != "launch_notice":
            self._last_alert_seq = d.seq
        return d

    def _active(self) -> tuple[str, ...]:
        return tuple(sorted(c for c, s in self._regions.items() if s.active))

    # -- one epoch -----------------------------------------------------------------
    def step(
        self, a: EpochAssessment, launch_notices: Sequence[LaunchNoticeLike] = ()
    ) -> list[AlertDecision]:
        """Decisions at epoch ``a.t_s`` (epochs must come in increasing time order)."""
        if a.t_s <= self._t_last:
            raise ValueError(f"assessments must be in time order: {a.t_s} after {self._t_last}")
        self._t_last = a.t_s
        pol = self.policy
        t = a.t_s
        new: list[AlertDecision] = []
        for tr in a.tracks:
            if tr.possible_warhead and tr.impact is not None and not tr.thrusting:
                self._missile[tr.track_id] = tr
                self._n_seen[tr.track_id] = self._n_seen.get(tr.track_id, 0) + 1
            elif not tr.possible_warhead:  # now known as a stage or debris
                self._missile.pop(tr.track_id, None)
        # launch notice
        if not self._launch_sent:
            ir = [n for n in launch_notices if n.issued_s <= t]
            boosting = [tr for tr in a.tracks if tr.thrusting and tr.possible_warhead]
            self._boost_streak = self._boost_streak + 1 if boosting else 0
            if ir or self._boost_streak >= pol.launch_confirm_assessments:
                src = (
                    f"space-IR launch notice ({', '.join(sorted({n.threat_id for n in ir}))})"
                    if ir
                    else f"thrusting track(s) {', '.join(str(b.track_id) for b in boosting)}"
                )
                self._launch_sent = True
                new.append(
                    self._emit(
                        t_s=t,
                        action="launch_notice",
                        msg_type="Alert",
                        regions=(),
                        active=self._active(),
                        headline="Ballistic missile launch detected",
                        description=f"A ballistic missile launch has been confirmed ({src}). "
                        "Await further information.",
                        evidence=tuple(b.evidence() for b in boosting),
                    )
                )
        # take cover / all clear
        start = _threats(a, pol, 1.0, pol.max_lead_s)
        keep = _threats(a, pol, pol.clear_factor)
        added: list[str] = []
        cleared: list[str] = []
        for code in sorted(set(start) | set(self._regions)):
            st = self._regions.setdefault(code, _RegionState())
            if code in start:
                st.streak += 1
                st.event_s, st.cause = start[code][0], start[code][1]
            else:
                st.streak = 0
            if code in keep:
                st.clear_streak = 0
            else:
                st.clear_streak += 1
            if not st.active and st.streak >= pol.confirm_assessments:
                st.active = True
                added.append(code)
            elif st.active and st.clear_streak >= pol.clear_assessments:
                st.active = False
                cleared.append(code)
        evidence = {id(tr): tr for c in start for tr in start[c][2]}
        ev = tuple(tr.evidence() for tr in evidence.values())
        if added:
            causes = sorted({self._regions[c].cause for c in added})
            when = min(self._regions[c].event_s for c in added)
            first = self._last_alert_seq is None or not any(
                d.action in ("take_cover", "update") for d in self.decisions
            )
            missile = any(c in ("missile impact", "overflight") for c in causes)
            what = "the missile" if missile else "a falling object from the launch"
            verb = "may pass over" if causes == ["overflight"] else "may fall in or near"
            new.append(
                self._emit(
                    t_s=t,
                    action="take_cover",
                    msg_type="Alert" if first else "Update",
                    regions=tuple(added),
                    active=self._active(),
                    headline="Take cover: ballistic missile",
                    description=f"{what.capitalize()} {verb} the area in about "
                    f"{max(when - t, 0.0):.0f} s ({', '.join(causes)}). "
                    "Evacuate into a sturdy building or underground immediately.",
                    references=() if first else (self._last_alert_seq or 0,),
                    evidence=ev,
                    event_time_s=when,
                )
            )
            self._last_lead = self._lead(start)
        if cleared:
            passed = [c for c in cleared if t >= self._regions[c].event_s]
            corr = [c for c in cleared if c not in passed]
            for group, kind in ((passed, "passed"), (corr, "correction")):
                if not group:
                    continue
                remaining = self._active()
                desc = (
                    "The missile has passed; no further threat to the area."
                    if kind == "passed"
                    else "Correction: the area is no longer predicted to be threatened."
                )
                new.append(
                    self._emit(
                        t_s=t,
                        action="all_clear",
                        msg_type="Update" if remaining else "Cancel",
                        regions=tuple(group),
                        active=remaining,
                        headline=f"All clear ({kind})",
                        description=desc,
                        references=(self._last_alert_seq,) if self._last_alert_seq else (),
                        evidence=ev,
                    )
                )
        if not added and not cleared and self._active() and self._last_lead is not None:
            lead = self._lead(keep)
            if lead is not None and lead[3] != self._last_lead[3]:
                self._last_lead = lead  # another track leads now: re-anchor, no message
            elif lead is not None:
                moved = _distance_m(lead, self._last_lead)
                dt = abs(lead[2] - self._last_lead[2])
                if moved > pol.update_move_m or dt > pol.update_time_s:
                    self._last_lead = lead
                    new.append(
                        self._emit(
                            t_s=t,
                            action="update",
                            msg_type="Update",
                            regions=self._active(),
                            active=self._active(),
                            headline="Update: ballistic missile",
                            description=f"The prediction moved ({moved / 1e3:.0f} km, "
                            f"{dt:.0f} s). Stay under cover.",
                            references=(self._last_alert_seq,) if self._last_alert_seq else (),
                            evidence=ev,
                            event_time_s=lead[2],
                        )
                    )
        # impact notice
        if not self._impact_sent and self._missile:
            best = self._best_missile()
            if best is not None and best.impact is not None:
                when = best.impact.time_s + pol.impact_notice_after_s
                if t >= when:
                    self._impact_sent = True
                    new.append(self._impact_notice(t, best))
        return new

    def _lead(
        self, threats: dict[str, tuple[float, str, list[TrackAssessment]]]
    ) -> tuple[float, float, float, int] | None:
        trs = [tr for c in threats for tr in threats[c][2] if tr.impact is not None]
        if not trs:
            return None
        tr = max(trs, key=lambda x: (x.possible_warhead, x.p_land, -x.track_id))
        assert tr.impact is not None
        when = min(threats[c][0] for c in threats)
        return (tr.impact.lat_rad, tr.impact.lon_rad, when, tr.track_id)

    def _best_missile(self) -> TrackAssessment | None:
        cands = list(self._missile.values())
        if not cands:
            return None
        return max(
            cands,
            key=lambda x: (x.kind == "warhead", self._n_seen.get(x.track_id, 0), -x.track_id),
        )

    def _impact_notice(self, t: float, tr: TrackAssessment) -> AlertDecision:
        imp = tr.impact
        assert imp is not None
        if tr.p_land >= 0.5:
            where = "land"
        elif tr.p_territorial_sea >= 0.5:
            where = "territorial_sea"
        elif tr.p_eez + tr.p_land >= 0.5:
            where = "eez"
        else:
            where = "outside"
        pref = max(tr.p_impact, key=lambda k: tr.p_impact[k]) if tr.p_impact else ""
        lat, lon = math.degrees(imp.lat_rad), math.degrees(imp.lon_rad)
        text = {
            "land": f"on Japanese territory ({pref})",
            "territorial_sea": "in Japan's territorial sea",
            "eez": "inside Japan's exclusive economic zone",
            "outside": "outside Japan's exclusive economic zone",
        }[where]
        return self._emit(
            t_s=t,
            action="impact_notice",
            msg_type="Update" if self._last_alert_seq else "Alert",
            regions=(pref,) if where == "land" and pref else (),
            active=self._active(),
            headline="Missile impact",
            description=f"The missile is estimated to have fallen {text}, at "
            f"{lat:.2f}° N, {lon:.2f}° E (track {tr.track_id}, {tr.kind}).",
            references=(self._last_alert_seq,) if self._last_alert_seq else (),
            evidence=(tr.evidence(),),
            event_time_s=imp.time_s,
            impact={
                "lat_deg": round(lat, 4),
                "lon_deg": round(lon, 4),
                "time_s": round(imp.time_s, 1),
                "where": where,
                "prefecture": pref if where == "land" else "",
                "p_land": round(tr.p_land, 3),
                "p_eez": round(tr.p_eez, 3),
                "track_id": tr.track_id,
            },
        )


def _distance_m(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Great-circle distance between two (lat_rad, lon_rad, ·) on the mean sphere, m."""
    d = (
        math.sin((a[0] - b[0]) / 2) ** 2
        + math.cos(a[0]) * math.cos(b[0]) * math.sin((a[1] - b[1]) / 2) ** 2
    )
    return 2.0 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(d)))
