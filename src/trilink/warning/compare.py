"""What the link buys: one scenario run, four warning configurations, one table.

:func:`compare_run` takes one :class:`trilink.sim.run.RunResult` (run once with
``track=True, link=True, warn=True``) and evaluates, on the *same* draws (the same
detections, the same national tracks), four configurations:

==========  ==========================================================================
``jp``      Japan alone: its radars' tracks table → :func:`pictures_from_tracks`
            (on the hub's epoch grid: empty pictures where it has no track) →
            :func:`run_warning`, without the space-IR launch notice
``kr``      Korea alone, likewise
``us``      US forces alone: their radars' tracks, **and** the US space-IR launch notice
``linked``  the hub's fused picture (:func:`pictures_from_link`) with the space-IR
            launch notice: the run's own ``alerts`` timeline
==========  ==========================================================================

The space-IR launch notice belongs to the US (its satellites) and so to ``us`` and
``linked`` only; ``jp`` and ``kr`` confirm a launch from their own thrusting tracks.

Measures (times in seconds after the scenario's first launch; ``None``/null where the
event never happened):

``first_detection_s``
    first real (not false-alarm) radar detection of any truth object by the
    configuration's radars (``linked``: any partner's). The space IR is not a radar:
    it shows in ``launch_notice_s``.
``first_track_s``
    first confirmed track on a warhead (the whole stack from launch until its
    separation), by :func:`trilink.evaluation.metrics.time_to_first_confirmed_track`
    with a ``gate_m`` (default 10 km) track-to-truth gate; ``linked``: the hub's system
    tracks (global track numbers).
``launch_point_error_m``
    (table only) the first launch-point estimate of a track on the first launch's
    warhead against the true launch point
    (:func:`trilink.evaluation.metrics.launch_point_error_m`); where the configuration
    has no track-based estimate (the hub's picture carries none), the space-IR notice's
    error if it has the notice.
``launch_notice_s``
    the public launch notice of the configuration's alert timeline.
``first_take_cover_s``
    the first take-cover message (any prefecture, right or wrong).
``take_cover_regions``
    every prefecture ever under take-cover (ISO 3166-2 codes, sorted).
``false_alerts``
    the number of prefectures given a take-cover that the truth neither overflies
    nor hits. *Overflies*: a warhead (the stack until separation, then the RV) is above
    ``ALTITUDE_OVERFLIGHT_M`` (100 km, the Kármán line, as the assessment's
    ``atmosphere_top_m``) over the prefecture, sampled every ``TRUTH_STEP_S`` (1 s).
    *Hits*: any object of the launch (warhead, spent stage, debris) comes down inside
    the prefecture.
``missed_alerts``
    the number of prefectures the truth overflies or hits (as above) with no
    take-cover for them strictly before their event (the first overflight sample or the
    impact, whichever is first).
``warning_time_s``
    for each threatened prefecture that got a take-cover, its event time minus the
    first take-cover naming it (negative if the take-cover came late); the minimum over
    those prefectures. ``None`` if no prefecture is threatened or none got a
    take-cover (``missed_alerts`` then says so).

All configurations use the same :class:`~trilink.warning.timeline.WarningConfig`
(default: the documented alert policy); nothing here draws random numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trilink.evaluation import metrics as mt
from trilink.geo.frames import ecef_to_geodetic
from trilink.threats.truth import truth_table
from trilink.warning.regions import RegionSet, japan_prefectures
from trilink.warning.timeline import (
    AlertTimeline,
    Picture,
    WarningConfig,
    pictures_from_link,
    pictures_from_tracks,
    run_warning,
)

__all__ = [
    "ALTITUDE_OVERFLIGHT_M",
    "CONFIGURATIONS",
    "JSON_FIELDS",
    "Comparison",
    "ConfigurationResult",
    "compare_run",
    "on_grid",
    "score_alerts",
    "true_threats",
]

CONFIGURATIONS: tuple[str, ...] = ("jp", "kr", "us", "linked")
"""The configurations, in table order."""
_NATION = {"jp": "JP", "kr": "KR", "us": "US"}
_LABEL = {
    "jp": "Japan alone",
    "kr": "Korea alone",
    "us": "US alone (with space IR)",
    "linked": "linked through the hub",
}
JSON_FIELDS: tuple[str, ...] = (
    "first_detection_s",
    "first_track_s",
    "launch_notice_s",
    "first_take_cover_s",
    "take_cover_regions",
    "false_alerts",
    "missed_alerts",
    "warning_time_s",
)
"""The fields of each configuration in ``trilink compare --json`` (issue 7, item 5)."""
ALTITUDE_OVERFLIGHT_M = 100_000.0
"""An overflight counts above this height (the Kármán line, as the assessment's
``AssessmentConfig.atmosphere_top_m``), m."""
TRUTH_STEP_S = 1.0
"""Sampling of the true ground track for overflights, s (≤ 7 km of ground)."""
DEFAULT_GATE_M = 10_000.0
"""Track-to-truth gate for the first track and the launch-point error, m (the campaign
spec's default ``gate_m``)."""


@dataclass(frozen=True, kw_only=True)
class ConfigurationResult:
    """The measures of one configuration (module docstring); times in s after launch."""

    name: str
    first_detection_s: float | None
    first_track_s: float | None
    launch_point_error_m: float | None
    launch_point_source: str
    """``tracks`` or ``space IR`` (where :attr:`launch_point_error_m` comes from) or ``""``."""
    launch_notice_s: float | None
    has_space_ir: bool
    first_take_cover_s: float | None
    take_cover_regions: tuple[str, ...]
    false_alerts: int
    missed_alerts: int
    warning_time_s: float | None
    timeline: AlertTimeline = field(repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """Exactly :data:`JSON_FIELDS` (times rounded to 0.01 s; ``None`` not reached)."""

        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 2)

        return {
            "first_detection_s": r(self.first_detection_s),
            "first_track_s": r(self.first_track_s),
            "launch_notice_s": r(self.launch_notice_s),
            "first_take_cover_s": r(self.first_take_cover_s),
            "take_cover_regions": list(self.take_cover_regions),
            "false_alerts": int(self.false_alerts),
            "missed_alerts": int(self.missed_alerts),
            "warning_time_s": r(self.warning_time_s),
        }


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """Four configurations of one run (module docstring)."""

    scenario: str
    launch_time_s: float
    """The first launch, scenario s: the zero of every "after launch" time."""
    threatened: Mapping[str, float]
    """Prefecture code → first true event (overflight above 100 km or impact), scenario s."""
    configurations: Mapping[str, ConfigurationResult]

    def to_json(self) -> dict[str, dict[str, Any]]:
        """One object keyed by configuration (``jp``, ``kr``, ``us``, ``linked``)."""
        return {k: self.configurations[k].to_json() for k in CONFIGURATIONS}


def _opt(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def true_threats(flights: Sequence[Any], regions: RegionSet | None = None) -> dict[str, float]:
    """Prefecture code → scenario time of the first true event over it: a warhead above
    :data:`ALTITUDE_OVERFLIGHT_M` over it (sampled every :data:`TRUTH_STEP_S`, as the
    acceptance tests do) or any object's impact in it (module docstring)."""
    ps = regions or japan_prefectures()
    out: dict[str, float] = {}

    def note(code: str, t: float) -> None:
        out[code] = min(out.get(code, math.inf), t)

    for f in flights:
        for o in f.objects:
            if str(getattr(o.kind, "value", o.kind)) == "warhead":
                t = np.arange(o.t_start_s, o.t_impact_s, TRUTH_STEP_S)
                if t.size:
                    lat, lon, h = ecef_to_geodetic(o.states_at(t)[:, :3])
                    idx = ps.locate(np.degrees(lon), np.degrees(lat))
                    high = (idx >= 0) & (h > ALTITUDE_OVERFLIGHT_M)
                    for i in np.unique(idx[high]).tolist():
                        note(ps.regions[i].code, float(t[high & (idx == i)][0]))
            if math.isfinite(o.t_impact_s):
                i = int(
                    ps.locate(
                        np.array([math.degrees(o.impact_lon_rad)]),
                        np.array([math.degrees(o.impact_lat_rad)]),
                    )[0]
                )
                if i >= 0:
                    note(ps.regions[i].code, float(o.t_impact_s))
    return dict(sorted(out.items()))


def on_grid(pictures: list[Picture], grid_s: Sequence[float]) -> list[Picture]:
    """A nation's pictures with an empty picture at every epoch of ``grid_s`` where it
    has no track, so that its warning runs on the same clock as the hub's (a launch
    notice can go out before the nation's first track)."""
    have = {round(t, 6) for t, _ in pictures}
    pad: list[Picture] = [(t, {}) for t in grid_s if round(t, 6) not in have]
    return sorted([*pictures, *pad], key=lambda p: p[0])


def score_alerts(
    tl: AlertTimeline, threatened: Mapping[str, float]
) -> tuple[int, int, float | None]:
    """(false alerts, missed alerts, warning time) of a timeline against the truth."""
    given = tl.take_cover_regions()
    false = sum(1 for c in given if c not in threatened)
    missed = 0
    leads = []
    for code, t_event in threatened.items():
        t_tc = tl.take_cover_time_s(code)
        if not (t_tc < t_event):  # nan (never) or not before the event
            missed += 1
        if math.isfinite(t_tc):
            leads.append(t_event - t_tc)
    return false, missed, (min(leads) if leads else None)


def _first_track_s(
    cols: Mapping[str, Any] | None,
    truth: Mapping[str, Any],
    warheads: Sequence[tuple[str, float]],
    gate_m: float,
    id_col: str,
) -> float:
    """Scenario time of the first confirmed track on any warhead (nan if none)."""
    if not cols or np.asarray(cols["time_s"]).size == 0:
        return math.nan
    first = mt.time_to_first_confirmed_track(
        cols, truth, gate_m=gate_m, object_ids=[w for w, _ in warheads], id_col=id_col
    )
    vals = [first[w] + t0 for w, t0 in warheads if math.isfinite(first[w])]
    return min(vals) if vals else math.nan


def _launch_point_error(
    cols: Mapping[str, Any] | None,
    truth: Mapping[str, Any],
    warhead: str,
    gate_m: float,
    id_col: str,
) -> float:
    """First track-based launch-point error on the warhead, m (nan if none)."""
    if not cols or "launch_lat_deg" not in cols or np.asarray(cols["time_s"]).size == 0:
        return math.nan
    lp = mt.launch_point_error_m(cols, truth, object_id=warhead, gate_m=gate_m, id_col=id_col)
    return float(lp.error_m[0]) if lp.error_m.size else math.nan


def compare_run(
    result: Any,
    *,
    gate_m: float = DEFAULT_GATE_M,
    config: WarningConfig | None = None,
) -> Comparison:
    """The four configurations of one run (module docstring).

    ``result``: a :class:`trilink.sim.run.RunResult` with ``tracks`` and ``link``
    (``run_scenario(..., track=True, link=True)``); its ``alerts`` (the hub's timeline)
    are reused for ``linked`` when present and ``config`` is not given.
    """
    if not result.tracks or result.link is None:
        raise ValueError("compare_run needs a run with track=True and link=True")
    flights = result.flights
    t0 = min(f.launch.t_launch_s for f in flights)
    threatened = true_threats(flights)
    duration = result.scenario.spec.scenario.duration_s
    truth = truth_table(flights, step_s=TRUTH_STEP_S, t_end_s=duration)
    warheads = [(f.warhead.object_id, f.warhead.t_start_s) for f in flights]
    first_wh = min(flights, key=lambda f: f.launch.t_launch_s).warhead.object_id
    first_det = result.first_detection_by_nation() if result.detections is not None else {}
    notices = tuple(result.launch_notices)
    ir_err_m = min((n.error_km * 1e3 for n in notices), default=math.nan)
    system = result.link.system_tracks_table()
    grid = [float(p.time_s) for p in result.link.pictures]

    out: dict[str, ConfigurationResult] = {}
    for name in CONFIGURATIONS:
        if name == "linked":
            nations = sorted(result.tracks)
            cols, id_col = system, "global_track_number"
            with_ir = True
            if result.alerts is not None and config is None:
                tl = result.alerts
            else:
                tl = run_warning(
                    pictures_from_link(result.link),
                    notices,
                    config=config,
                    launch_time_s=t0,
                    label=_LABEL[name],
                )
        else:
            nation = _NATION[name]
            nations = [nation]
            tr = result.tracks.get(nation)
            cols, id_col = (tr.columns if tr is not None else None), "track_id"
            with_ir = name == "us"
            tl = run_warning(
                on_grid(pictures_from_tracks(cols) if cols else [], grid),
                notices if with_ir else (),
                config=config,
                launch_time_s=t0,
                label=_LABEL[name],
            )
        dets = [first_det[n][0] for n in nations if n in first_det]
        lp_m = _launch_point_error(cols, truth, first_wh, gate_m, id_col)
        lp_src = "tracks" if math.isfinite(lp_m) else ""
        if not lp_src and with_ir and math.isfinite(ir_err_m):
            lp_m, lp_src = ir_err_m, "space IR"
        ln = tl.first("launch_notice")
        tc = tl.first("take_cover")
        false, missed, lead = score_alerts(tl, threatened)
        out[name] = ConfigurationResult(
            name=name,
            first_detection_s=_opt(min(dets) - t0) if dets else None,
            first_track_s=_opt(_first_track_s(cols, truth, warheads, gate_m, id_col) - t0),
            launch_point_error_m=_opt(lp_m),
            launch_point_source=lp_src,
            launch_notice_s=None if ln is None else ln.t_s - t0,
            has_space_ir=with_ir,
            first_take_cover_s=None if tc is None else tc.t_s - t0,
            take_cover_regions=tl.take_cover_regions(),
            false_alerts=false,
            missed_alerts=missed,
            warning_time_s=lead,
            timeline=tl,
        )
    return Comparison(
        scenario=str(result.scenario.name),
        launch_time_s=float(t0),
        threatened=threatened,
        configurations=out,
    )
