"""The warning timeline of a run: assessments over the picture sequence → alert decisions.

:func:`run_warning` takes the pictures (one column table per epoch: the hub's system
tracks for the linked configuration — :func:`pictures_from_link` — or one nation's
tracks table split by epoch — :func:`pictures_from_tracks`), assesses every
``assess_every_s`` (:func:`trilink.warning.assessment.assess`), runs the
:class:`~trilink.warning.policy.PolicyEngine` and returns an :class:`AlertTimeline`:
printable (time after launch, action, regions) and writable as ``alerts/*.xml`` (CAP 1.2)
and ``alerts.jsonl`` (the decisions with their evidence).

Thrust for tables without ``boost_probability`` (the hub's system tracks): the
non-gravitational acceleration between the track's state ``thrust_window_s`` earlier and
now (:func:`~trilink.warning.assessment.thrust_from_history`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from trilink.warning.assessment import (
    AssessmentConfig,
    EpochAssessment,
    assess,
    thrust_from_history,
    track_ids,
)
from trilink.warning.cap import CapConfig, write_cap
from trilink.warning.policy import AlertDecision, AlertPolicy, LaunchNoticeLike, PolicyEngine
from trilink.warning.regions import japan_prefectures

__all__ = [
    "AlertTimeline",
    "WarningConfig",
    "WarningRunner",
    "pictures_from_link",
    "pictures_from_tracks",
    "pictures_from_truth",
    "run_warning",
]

Picture = tuple[float, Mapping[str, NDArray]]
_STATE = ("x_ecef_m", "y_ecef_m", "z_ecef_m", "vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps")


@dataclass(frozen=True, kw_only=True)
class WarningConfig:
    """Cadence and the parts of the warning chain."""

    assess_every_s: float = 5.0
    """Assess the picture at most this often, s (each assessment takes ~0.05–0.3 s)."""
    thrust_window_s: float = 5.0
    assessment: AssessmentConfig = field(default_factory=AssessmentConfig)
    policy: AlertPolicy = field(default_factory=AlertPolicy)


def pictures_from_link(link: object) -> list[Picture]:
    """The hub's pictures of a :class:`trilink.sim.link_run.LinkResult` with the impact
    columns of the reporting nation."""
    pics = link.pictures  # type: ignore[attr-defined]
    imps = link.impacts or tuple({} for _ in pics)  # type: ignore[attr-defined]
    return [(float(p.time_s), p.columns() | dict(i)) for p, i in zip(pics, imps, strict=True)]


def pictures_from_tracks(columns: Mapping[str, NDArray]) -> list[Picture]:
    """One nation's tracks table split into epochs (rows sharing ``time_s``)."""
    t = np.asarray(columns["time_s"], dtype=float)
    order = np.argsort(t, kind="stable")
    ts = t[order]
    cuts = np.flatnonzero(np.diff(ts)) + 1
    out: list[Picture] = []
    for rows in np.split(order, cuts):
        if rows.size:
            out.append((float(t[rows[0]]), {k: np.asarray(v)[rows] for k, v in columns.items()}))
    return out


@dataclass(frozen=True, kw_only=True)
class AlertTimeline:
    """The alert decisions of one run, with the assessments behind them."""

    decisions: tuple[AlertDecision, ...]
    assessments: tuple[EpochAssessment, ...] = field(repr=False)
    launch_time_s: float
    """Reference for "time after launch" (truth if given, else the first notice)."""
    label: str = ""

    def first(self, action: str) -> AlertDecision | None:
        return next((d for d in self.decisions if d.action == action), None)

    def take_cover_regions(self) -> tuple[str, ...]:
        """Every prefecture ever under take-cover."""
        out: set[str] = set()
        for d in self.decisions:
            if d.action == "take_cover":
                out |= set(d.regions)
        return tuple(sorted(out))

    def take_cover_time_s(self, code: str) -> float:
        """Scenario time of the first take-cover naming ``code`` (nan if none)."""
        for d in self.decisions:
            if d.action == "take_cover" and code in d.regions:
                return d.t_s
        return math.nan

    def format(self) -> str:
        """One line per decision: time after launch, action, regions, headline."""
        prefs = japan_prefectures()
        lines = [f"alert timeline{f' ({self.label})' if self.label else ''}:"]
        if not self.decisions:
            lines.append("  (no alerts)")
        for d in self.decisions:
            names = ", ".join(prefs[c].name_en for c in d.regions) or "all of Japan"
            if d.action == "impact_notice":
                names = d.impact.get("where", "")
            lines.append(
                f"  T+{d.t_s - self.launch_time_s:7.1f} s  {d.action:<14} {d.msg_type:<6} "
                f"{names}: {d.description}"
            )
        return "\n".join(lines)

    def write(
        self,
        out_dir: str | Path,
        *,
        epoch_utc: datetime,
        cap: CapConfig | None = None,
    ) -> list[Path]:
        """``alerts/NNNN-action.xml`` (CAP 1.2) per decision and ``alerts.jsonl``."""
        out = Path(out_dir)
        adir = out / "alerts"
        adir.mkdir(parents=True, exist_ok=True)
        paths = []
        for d in self.decisions:
            paths.append(
                write_cap(adir / f"{d.seq:04d}-{d.action}.xml", d, self.decisions, epoch_utc, cap)
            )
        jl = out / "alerts.jsonl"
        with jl.open("w", encoding="utf-8") as fh:
            for d in self.decisions:
                fh.write(
                    json.dumps(
                        {"t_s": d.t_s, "event": "alert"} | d.to_json(),
                        separators=(",", ":"),
                        allow_nan=False,
                        ensure_ascii=False,
                    )
                    + "\n"
                )
        paths.append(jl)
        return paths


class WarningRunner:
    """The warning chain fed one picture at a time, as a hub fuses them.

    :func:`run_warning` is this runner over a whole sequence; the deployed hub feeds it
    each epoch as it is fused, so both modes decide the same alerts from the same
    pictures (nothing here reads a clock).
    """

    def __init__(
        self,
        launch_notices: Sequence[LaunchNoticeLike] = (),
        *,
        config: WarningConfig | None = None,
    ) -> None:
        self.config = config or WarningConfig()
        self.launch_notices = tuple(launch_notices)
        self.engine = PolicyEngine(self.config.policy)
        self._history: dict[int, list[tuple[float, NDArray]]] = {}
        self.assessments: list[EpochAssessment] = []
        self._next_t = -math.inf
        self.first_t_s: float | None = None

    @property
    def decisions(self) -> tuple[AlertDecision, ...]:
        return tuple(self.engine.decisions)

    def step(self, t_s: float, cols: Mapping[str, NDArray]) -> list[AlertDecision]:
        """Feed the picture of epoch ``t_s`` (increasing); returns the decisions it made."""
        cfg = self.config
        if self.first_t_s is None:
            self.first_t_s = float(t_s)
        n_before = len(self.engine.decisions)
        ids = track_ids(cols) if len(cols) else np.empty(0, dtype=np.int64)
        if ids.size:
            x6 = np.column_stack([np.asarray(cols[c], dtype=float) for c in _STATE])
            for k, i in enumerate(ids.tolist()):
                h = self._history.setdefault(i, [])
                h.append((t_s, x6[k]))
                while len(h) > 1 and t_s - h[1][0] >= cfg.thrust_window_s:
                    h.pop(0)
        due = t_s >= self._next_t - 1e-9
        notices_due = any(n.issued_s <= t_s for n in self.launch_notices) and not any(
            d.action == "launch_notice" for d in self.engine.decisions
        )
        if not (due or notices_due):
            return []
        self._next_t = t_s + cfg.assess_every_s
        thrusting = None
        if ids.size and "boost_probability" not in cols:
            prev = np.array([self._history[i][0][1] for i in ids.tolist()])
            dt = np.array([t_s - self._history[i][0][0] for i in ids.tolist()])
            ok = dt > 0.5
            a_ng = np.zeros(ids.size)
            if np.any(ok):
                a_ng[ok] = thrust_from_history(x6[ok], prev[ok], dt[ok])
            thrusting = a_ng >= cfg.assessment.thrust_accel_mps2
        a = (
            assess(cols, t_s, config=cfg.assessment, thrusting=thrusting)
            if ids.size
            else EpochAssessment(t_s=t_s, tracks=())
        )
        self.assessments.append(a)
        self.engine.step(a, self.launch_notices)
        return list(self.engine.decisions[n_before:])

    def timeline(self, *, launch_time_s: float | None = None, label: str = "") -> AlertTimeline:
        """The decisions so far as an :class:`AlertTimeline` (``launch_time_s`` default:
        the earliest notice's estimated launch time, else the first picture's time)."""
        if launch_time_s is None:
            ests = [
                float(n.estimate.time_s)  # type: ignore[attr-defined]
                for n in self.launch_notices
                if hasattr(n, "estimate")
            ]
            launch_time_s = min(ests) if ests else (self.first_t_s or 0.0)
        return AlertTimeline(
            decisions=tuple(self.engine.decisions),
            assessments=tuple(self.assessments),
            launch_time_s=float(launch_time_s),
            label=label,
        )


def run_warning(
    pictures: Sequence[Picture],
    launch_notices: Sequence[LaunchNoticeLike] = (),
    *,
    config: WarningConfig | None = None,
    launch_time_s: float | None = None,
    label: str = "",
) -> AlertTimeline:
    """Assess the picture sequence and decide the alerts (module docstring).

    ``pictures``: (t_s, column table) in increasing time. ``launch_notices``: the space-IR
    notices available to this configuration (``issued_s``, ``threat_id``).
    ``launch_time_s``: the reference of "time after launch" (default: the earliest
    notice's estimated launch time, else the first picture's time).
    """
    runner = WarningRunner(launch_notices, config=config)
    for t_s, cols in pictures:
        runner.step(t_s, cols)
    return runner.timeline(launch_time_s=launch_time_s, label=label)


def pictures_from_truth(
    flights: Sequence[object],
    times_s: Sequence[float] | NDArray[np.float64],
    *,
    sigma_position_m: float = 10.0,
    sigma_velocity_mps: float = 0.1,
) -> list[Picture]:
    """Pictures of the true objects (the truth as a perfect tracker would report it):
    each flying object at each time with a small diagonal covariance, its true kind, no
    impact columns (the assessment flies the state), and ``boost_probability`` 1 while
    it burns. Used for the earliest time at which the true trajectory allowed a
    decision."""
    objs = [o for f in flights for o in f.objects]  # type: ignore[attr-defined]
    out: list[Picture] = []
    var = [sigma_position_m**2] * 3 + [sigma_velocity_mps**2] * 3
    from trilink.fusion.reports import covariance_to_columns

    for t in np.asarray(times_s, dtype=float):
        rows = []
        for k, o in enumerate(objs):
            if not (o.t_start_s <= t < o.t_impact_s):
                continue
            x = np.asarray(o.states_at(np.array([t])), dtype=float).reshape(-1)[:6]
            burning = any(a <= t < b for a, b in getattr(o, "burn_intervals_s", ()))
            rows.append((k, x, str(o.kind), burning))
        if not rows:
            out.append((float(t), {}))
            continue
        x6 = np.array([r[1] for r in rows])
        cols: dict[str, NDArray] = {
            "time_s": np.full(len(rows), t),
            "track_id": np.array([r[0] for r in rows], dtype=np.int64),
        }
        for j, c in enumerate(_STATE):
            cols[c] = x6[:, j]
        cols |= covariance_to_columns(np.repeat(np.diag(var)[None], len(rows), axis=0))
        cols["kind"] = np.array([r[2] for r in rows])
        cols["boost_probability"] = np.array([1.0 if r[3] else 0.0 for r in rows])
        out.append((float(t), cols))
    return out
