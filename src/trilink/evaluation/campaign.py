"""Monte-Carlo campaigns: every configuration on identical draws, one tidy Parquet table.

:func:`run_campaign` samples ``runs`` draws from a spec
(:mod:`trilink.evaluation.campaign_spec`), simulates each draw **once** (flights,
detections, the space-IR notice, each nation's tracker on its own radars) and derives
every configuration from those tables (:mod:`trilink.evaluation.configurations`):
the nations alone use their own tracks; ``linked`` and ``direct`` fuse the national
tables with :func:`trilink.fusion.fuse_run` and add the link's latency analytically.

**Speed by design** (a campaign draw is not the seed scenario's full run): no debris
by default (``campaign.debris``), detections and tracking only from 10 s before the
first launch to ``campaign.window_s`` after it (the warning window: boost, the first
stable impact predictions), truth only where the metrics need it, fusion straight on
the tables (no link replay), no plots, no files but the shard. The flights of
``campaign.chunk_runs`` consecutive runs are integrated as one vectorised batch
(:func:`trilink.threats.fly_batch`, ~20x cheaper per flight than one at a time); the
chunks are fixed by the run index, so a run's numbers never depend on how many runs
were asked, which worker ran it or in which order the chunks finished.

**Output** (``out``): ``runs/run_000123.parquet`` per finished run (written atomically:
temp file + rename; a rerun skips them), ``results.parquet`` assembled from the shards
(one row per run x configuration x metric: ``run, configuration, metric, value, unit``
plus the draw parameters, sorted), ``spec.toml`` (the exact spec, its steering library
complete), ``meta.json`` (package version, git commit, runs, timing) and
``computed.log`` (one line per run computed by each invocation, for audits).

**Metrics** per run x configuration (times in s after the draw's first launch; NaN
when the event did not happen in the window; partner-facing times include the link
delay, :func:`trilink.evaluation.configurations.partner_delays_s`):
``first_detection_s``, ``first_track_s`` (a confirmed track on a warhead, at every
partner), ``first_track_at_jp_s`` / ``_kr_s`` (fused configurations),
``first_system_track_s`` (fused), ``launch_notice_s`` and ``launch_notice_error_m``
(US space IR: ``us`` and ``linked``), ``launch_point_error_m`` (first launch estimate
from tracks), ``first_impact_prediction_s``, ``warning_time_s`` (impact of the first
warhead minus the first impact prediction on it), ``impact_error_m_at_<T>s`` and
``impact_error_final_m``, ``ospa_mean_m``, ``gospa_mean_m``, ``siap_completeness``,
``siap_ambiguity``, ``siap_spuriousness``, ``siap_continuity`` (Stone Soup's longest
segment fraction), ``siap_positional_accuracy_m``, ``false_tracks`` (tracks never on
an object), ``classification_errors_at_80km`` and ``warhead_misclassified`` (NaN if no
warhead comes down through 80 km inside the window), ``track_purity_mean``,
``track_swaps``, ``nees_position_mean`` / ``_median`` / ``_in_95`` (consistency of the
rows on warheads, :func:`_consistency_rows`), and for fused configurations the link
figures ``relay_delay_to_<partner>_s`` (the modelled age of a fused epoch at the
partner) and ``reports_lost_to_link_cuts``. With ``campaign.warning``, the alert
metrics of :func:`_alert_rows`. Metric parameters are in the spec.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import chi2

from trilink.evaluation import metrics as mt
from trilink.evaluation.campaign_spec import (
    CampaignSpec,
    Draw,
    SteeringEntry,
    draw_run,
    get_spec,
    parse_spec,
    spec_to_toml,
)
from trilink.evaluation.configurations import (
    CONFIGURATION_DEFS,
    ConfigurationDef,
    apply_link_cuts,
    apply_outages,
    notice_delays_s,
    partner_delays_s,
)
from trilink.fusion import fuse_run, reporting_member
from trilink.fusion.reports import covariance_from_columns
from trilink.geo.frames import ecef_to_geodetic
from trilink.sensors.catalogue import all_sensors, get_sensor
from trilink.sensors.detection import DetectionBatch, sensors_table
from trilink.sensors.radar import Radar
from trilink.sensors.simulate import simulate_detections
from trilink.sensors.space_ir import (
    DEFAULT_SPACE_IR,
    LaunchNotice,
    launch_notices,
    simulate_ir_detections,
)
from trilink.threats import (
    Flight,
    Launch,
    LaunchGeometry,
    ObjectKind,
    SolverError,
    Steering,
    fly_batch,
    get_missile,
    get_site,
    shape_steering,
)
from trilink.tracking.measurement import SensorSites
from trilink.tracking.tracker import Tracker
from trilink.warning.compare import on_grid, score_alerts, true_threats
from trilink.warning.timeline import pictures_from_tracks, run_warning

__all__ = [
    "RESULT_COLUMNS",
    "CampaignError",
    "load_results",
    "run_campaign",
    "run_chunk",
    "simulate_draw",
    "solve_steering",
    "summary",
]

RESULT_COLUMNS = ("run", "configuration", "metric", "value", "unit")
PRE_LAUNCH_S = 10.0
"""Detections and tracking start this long before the draw's first launch, s."""
TRUTH_STEP_S = 2.0
"""Truth samples for the metrics (cubic Hermite in between: < 1 m over 2 s), s."""
ALT_80KM_M = 80_000.0
_POS = ("x_ecef_m", "y_ecef_m", "z_ecef_m")
_VEL = ("vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps")
_CHUNK_DEBRIS_KEY = 2**32


class CampaignError(RuntimeError):
    """A campaign cannot run (the message says why, in one line)."""


# ------------------------------------------------------------------ steering library


def solve_steering(missile: str, shape: str, site: str, azimuth_deg: float) -> SteeringEntry:
    """Solve one steering-library entry at the reference geometry (spec docstring)."""
    s = get_site(site)
    geo = LaunchGeometry(
        missile=get_missile(missile),
        lat_rad=s.lat_rad,
        lon_rad=s.lon_rad,
        alt_m=s.alt_m,
        azimuth_rad=math.radians(azimuth_deg),
    )
    try:
        st = shape_steering(geo, shape)
    except SolverError as exc:
        return SteeringEntry(infeasible=str(exc))
    return SteeringEntry(
        pitch_first_deg=round(math.degrees(st.pitch_first_rad), 9),
        pitch_upper_deg=None
        if st.pitch_upper_rad is None
        else round(math.degrees(st.pitch_upper_rad), 9),
        burn_fraction_last=st.burn_fraction_last,
    )


def _steering(e: SteeringEntry) -> Steering:
    assert e.pitch_first_deg is not None
    return Steering(
        pitch_first_rad=math.radians(e.pitch_first_deg),
        pitch_upper_rad=None if e.pitch_upper_deg is None else math.radians(e.pitch_upper_deg),
        burn_fraction_last=e.burn_fraction_last,
    )


# ------------------------------------------------------------------ one draw


@dataclass(frozen=True, kw_only=True)
class DrawSimulation:
    """What a draw produced once, shared by every configuration."""

    draw: Draw
    flights: tuple[Flight, ...]
    t_end_s: float
    sensors: tuple[Radar, ...]
    detections: DetectionBatch
    tracks: dict[str, dict[str, NDArray]]
    notices: tuple[tuple[str, float, float], ...]
    """(threat id, issued s, launch-point error m) of the US space-IR launch notices."""
    launch_notices: tuple[LaunchNotice, ...] = ()
    """The same notices, whole (for the alert chain)."""
    timing_s: dict[str, float] = field(default_factory=dict)


def _launches(spec: CampaignSpec, draw: Draw) -> list[Launch]:
    out = []
    for la in draw.launches:
        site = get_site(la.site)
        geo = LaunchGeometry(
            missile=get_missile(la.missile),
            lat_rad=site.lat_rad,
            lon_rad=site.lon_rad,
            alt_m=site.alt_m,
            azimuth_rad=math.radians(la.azimuth_deg),
            t_launch_s=la.launch_time_s,
        )
        out.append(
            geo.launch(
                _steering(spec.steering[f"{la.missile}/{la.shape}"]),
                threat_id=la.threat_id,
                n_debris=spec.campaign.debris,
            )
        )
    return out


def _sensors(spec: CampaignSpec) -> tuple[Radar, ...]:
    names = spec.campaign.sensors
    return all_sensors() if names is None else tuple(get_sensor(n) for n in names)


def _notices(flights: Sequence[Flight], rng: np.random.Generator) -> tuple[LaunchNotice, ...]:
    ir = simulate_ir_detections(DEFAULT_SPACE_IR, flights, rng)
    return tuple(launch_notices(flights, ir))


def simulate_draw(spec: CampaignSpec, draw: Draw, flights: Sequence[Flight]) -> DrawSimulation:
    """Detections, the launch notice and each nation's tracks of one draw (flown)."""
    clock = time.process_time
    t0 = draw.t0_s
    t_end = t0 + spec.campaign.window_s
    timing: dict[str, float] = {}
    c = clock()
    sensors = _sensors(spec)
    det = simulate_detections(sensors, flights, max(0.0, t0 - PRE_LAUNCH_S), t_end, draw.rng(1))
    outages = [(o.sensor, t0 + o.start_s, t0 + o.end_s) for o in spec.outages]
    if outages:
        det = det.select(apply_outages(det.time_s, det.sensor_id, outages))
    timing["detections"] = clock() - c
    c = clock()
    whole = _notices(flights, draw.rng(2))
    notices = tuple((n.threat_id, n.issued_s, n.error_km * 1e3) for n in whole)
    timing["space_ir"] = clock() - c
    all_sites = SensorSites.from_table(sensors_table(sensors))
    every = spec.campaign.report_every_s
    tracks: dict[str, dict[str, NDArray]] = {}
    needed = sorted(
        {n for cfg in spec.campaign.configurations for n in CONFIGURATION_DEFS[cfg].nations}
    )
    for nation in needed:
        c = clock()
        if nation not in set(all_sites.nation):
            empty = det.select(np.zeros(len(det), dtype=bool))
            tracks[nation] = Tracker(all_sites).run(empty, every_s=every, t_end_s=t_end).columns
        else:
            sites = all_sites.select([nation])
            mine = det.select(np.isin(det.sensor_id, list(sites.sensor_id)))
            tracks[nation] = Tracker(sites).run(mine, every_s=every, t_end_s=t_end).columns
        timing[f"track_{nation}"] = clock() - c
    return DrawSimulation(
        draw=draw,
        flights=tuple(flights),
        t_end_s=t_end,
        sensors=sensors,
        detections=det,
        tracks=tracks,
        notices=notices,
        launch_notices=whole,
        timing_s=timing,
    )


# ------------------------------------------------------------------ truth


def _truth_tables(
    flights: Sequence[Flight], t_start_s: float, t_end_s: float
) -> tuple[dict[str, NDArray], dict[str, NDArray]]:
    """Truth in the window (for set distances and SIAP) and the same plus every object's
    impact row (for impact errors)."""
    win: list[tuple[str, NDArray, NDArray]] = []
    imp: list[tuple[str, NDArray, NDArray]] = []
    for f in flights:
        for o in f.objects:
            a, b = max(o.t_start_s, t_start_s), min(o.t_impact_s, t_end_s)
            if b < a:
                continue
            t = np.unique(
                np.r_[
                    a,
                    np.arange(math.ceil(a / TRUTH_STEP_S), math.floor(b / TRUTH_STEP_S) + 1)
                    * TRUTH_STEP_S,
                    b,
                ]
            )
            t = t[(t >= a) & (t <= b)]
            if o.t_start_s >= t_start_s:  # keep the birth row exact (launch, separation)
                t = np.unique(np.r_[o.t_start_s, t])
            y = o.states_at(t)
            ok = np.isfinite(y).all(axis=1)
            win.append((o.object_id, t[ok], y[ok]))
            ti = np.r_[t[ok], o.t_impact_s]
            imp.append((o.object_id, ti, np.vstack([y[ok], o.states_at(np.array([o.t_impact_s]))])))

    def table(parts: list[tuple[str, NDArray, NDArray]]) -> dict[str, NDArray]:
        if not parts:
            return {"time_s": np.empty(0), "object_id": np.empty(0, dtype=np.str_)} | {
                k: np.empty(0) for k in (*_POS, *_VEL)
            }
        y = np.vstack([p[2] for p in parts])
        out = {
            "time_s": np.concatenate([p[1] for p in parts]),
            "object_id": np.concatenate([np.full(p[1].size, p[0]) for p in parts]),
        }
        for j, k in enumerate((*_POS, *_VEL)):
            out[k] = y[:, j]
        return out

    return table(win), table(imp)


def _warheads(flights: Sequence[Flight]) -> list[tuple[str, float, float, float]]:
    """(object id, launch s, impact s, time through 80 km descending or NaN) per warhead."""
    out = []
    for f in flights:
        w = f.warhead
        t = np.arange(max(f.apogee_time_s, w.t_start_s), w.t_impact_s, 0.5)
        h = ecef_to_geodetic(w.states_at(t)[:, :3])[2] if t.size else np.empty(0)
        i = np.flatnonzero((h[:-1] >= ALT_80KM_M) & (h[1:] < ALT_80KM_M))
        t80 = float(t[i[0] + 1]) if i.size else math.nan
        out.append((w.object_id, f.launch.t_launch_s, w.t_impact_s, t80))
    return out


# ------------------------------------------------------------------ pictures


_PRODUCTS = (
    "impact_lat_deg",
    "impact_lon_deg",
    "impact_time_s",
    "impact_semi_major_m",
    "impact_semi_minor_m",
    "impact_orientation_deg",
    "launch_lat_deg",
    "launch_lon_deg",
    "launch_time_s",
)


def _empty_picture(id_col: str) -> dict[str, NDArray]:
    """A picture without a single track (every metric accepts it)."""
    out: dict[str, NDArray] = {k: np.empty(0) for k in ("time_s", *_POS, *_VEL, *_PRODUCTS)}
    out[id_col] = np.empty(0, dtype=np.int64)
    out["kind"] = np.empty(0, dtype=np.str_)
    return out


def _fused_picture(
    tables: Mapping[str, Mapping[str, NDArray]], every_s: float
) -> dict[str, NDArray]:
    """The hub's picture (all epochs) from national tables, with the reporting nation's
    impact and launch products attached to each system track (as the hub releases them)."""
    pics = fuse_run(tables, every_s)
    blocks = [p.columns() for p in pics if len(p)]
    if not blocks:
        return _empty_picture("global_track_number")
    cols = {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
    prod = _PRODUCTS
    index: dict[tuple[str, float, int], int] = {}
    for n, tb in tables.items():
        for k, (t, tid) in enumerate(
            zip(tb["time_s"].tolist(), tb["track_id"].tolist(), strict=True)
        ):
            index[(n, round(t, 6), tid)] = k
    m = cols["time_s"].size
    for p in prod:
        cols[p] = np.full(m, np.nan)
    for r, (t, rep, mem) in enumerate(
        zip(
            cols["time_s"].tolist(),
            cols["reporting_nation"].tolist(),
            cols["members"].tolist(),
            strict=True,
        )
    ):

        def position_of(n: str, tid: int, t: float = t) -> NDArray | None:
            k = index.get((n, round(t, 6), tid))
            if k is None:
                return None
            tb = tables[n]
            return np.array([tb["x_ecef_m"][k], tb["y_ecef_m"][k], tb["z_ecef_m"][k]])

        fused_r = np.array([cols["x_ecef_m"][r], cols["y_ecef_m"][r], cols["z_ecef_m"][r]])

        def has_impact(n: str, tid: int, t: float = t) -> bool:
            k = index.get((n, round(t, 6), tid))
            return k is not None and bool(np.isfinite(tables[n]["impact_lat_deg"][k]))

        speaker = reporting_member(mem, rep, fused_r, position_of, has_impact)
        if speaker is not None:
            k = index[(speaker[0], round(t, 6), speaker[1])]
            for p in prod:
                cols[p][r] = tables[speaker[0]][p][k]
    return cols


def _first_on(
    picture: Mapping[str, NDArray],
    truth: Mapping[str, NDArray],
    ids: Sequence[str],
    gate: float,
    id_col: str,
) -> float:
    """Absolute time of the first row on any of ``ids`` (NaN if none)."""
    if not picture or picture["time_s"].size == 0:
        return math.nan
    first = mt.time_to_first_confirmed_track(
        picture, truth, gate_m=gate, object_ids=ids, id_col=id_col
    )
    starts = {o: float(truth["time_s"][truth["object_id"] == o].min()) for o in ids}
    vals = [v + starts[o] for o, v in first.items() if math.isfinite(v)]
    return min(vals) if vals else math.nan


def _truth_positions(
    flights: Sequence[Flight], epochs: NDArray
) -> tuple[NDArray, list[str], list[str]]:
    """(E, O, 3) positions of every object at the epochs (NaN outside its life)."""
    objs = [o for f in flights for o in f.objects]
    r = np.full((epochs.size, len(objs), 3), np.nan)
    for j, o in enumerate(objs):
        r[:, j] = o.states_at(epochs)[:, :3]
    return r, [o.object_id for o in objs], [o.kind.value for o in objs]


def _nearest_objects(
    picture: Mapping[str, NDArray], flights: Sequence[Flight], gate: float
) -> tuple[NDArray, NDArray]:
    """Per row: index of the nearest existing object and its distance (-1 / inf if none
    within the gate)."""
    t = np.asarray(picture["time_s"], dtype=float)
    ep, inv = np.unique(t, return_inverse=True)
    R, _, _ = _truth_positions(flights, ep)
    x = np.stack([picture[k] for k in _POS], axis=1)
    d = np.linalg.norm(R[inv] - x[:, None, :], axis=2)
    d = np.where(np.isfinite(d), d, np.inf)
    j = np.argmin(d, axis=1) if d.shape[1] else np.full(t.size, -1)
    dist = d[np.arange(t.size), j] if d.shape[1] else np.full(t.size, np.inf)
    j = np.where(dist < gate, j, -1)
    return j, dist


# ------------------------------------------------------------------ metrics


def _metric_rows(
    spec: CampaignSpec, sim: DrawSimulation, cfg: ConfigurationDef, cache: dict[str, Any]
) -> list[tuple[str, float, str]]:
    """(metric, value, unit) of one configuration of one draw (module docstring)."""
    mc = spec.metrics
    gate = mc.gate_m
    t0 = sim.draw.t0_s
    truth_win, truth_imp = cache["truth"]
    warheads = cache["warheads"]
    wh_ids = [w[0] for w in warheads]
    first_wh = min(warheads, key=lambda w: w[1])
    rows: list[tuple[str, float, str]] = []
    add = rows.append

    # picture of the configuration
    if cfg.fused:
        cut = [(c.nation, t0 + c.start_s, t0 + c.end_s) for c in spec.link_cuts]
        tables = apply_link_cuts({n: sim.tracks[n] for n in cfg.nations}, cut)
        c = time.process_time()
        picture = _fused_picture(tables, spec.campaign.report_every_s)
        cache["fusion_s"] = cache.get("fusion_s", 0.0) + time.process_time() - c
        id_col = "global_track_number"
    else:
        picture = sim.tracks[cfg.nations[0]]
        id_col = "track_id"
    delays = partner_delays_s(cfg)

    # timeliness
    det = sim.detections
    mine = np.isin(det.sensor_id, [r.sensor_id for r in sim.sensors if r.nation in cfg.nations])
    real = mine & ~det.is_false_alarm
    add(("first_detection_s", float(det.time_s[real].min()) - t0 if real.any() else math.nan, "s"))
    own = {
        n: cache.setdefault(
            f"first_{n}", _first_on(sim.tracks[n], truth_win, wh_ids, gate, "track_id")
        )
        for n in cfg.nations
    }
    if cfg.fused:
        sys_first = _first_on(picture, truth_win, wh_ids, gate, id_col)
        at = {}
        for p in cfg.partners:
            cand = [own[p], sys_first + delays[p]]
            at[p] = min((v for v in cand if math.isfinite(v)), default=math.nan)
            add((f"first_track_at_{p.lower()}_s", at[p] - t0, "s"))
        first_track = max(at.values()) if all(math.isfinite(v) for v in at.values()) else math.nan
        add(("first_system_track_s", sys_first + max(delays.values()) - t0, "s"))
    else:
        first_track = own[cfg.nations[0]]
    add(("first_track_s", first_track - t0, "s"))
    nd = notice_delays_s(cfg)
    if nd is not None:
        if sim.notices:
            issued = min(n[1] for n in sim.notices)
            err = next(n[2] for n in sim.notices if n[1] == issued)
            add(("launch_notice_s", issued + max(nd.values()) - t0, "s"))
            add(("launch_notice_error_m", err, "m"))
        else:
            add(("launch_notice_s", math.nan, "s"))
            add(("launch_notice_error_m", math.nan, "m"))

    # launch point and impact point of the first launch's warhead
    lp = mt.launch_point_error_m(
        picture, truth_win, object_id=first_wh[0], gate_m=gate, id_col=id_col
    )
    add(("launch_point_error_m", float(lp.error_m[0]) if lp.error_m.size else math.nan, "m"))
    ie = mt.impact_error_vs_time(
        picture, truth_imp, object_id=first_wh[0], gate_m=gate, id_col=id_col
    )
    d_max = max(delays.values())
    if ie.time_s.size:
        t_pred = float(ie.time_s[0]) + d_max
        add(("first_impact_prediction_s", t_pred - t0, "s"))
        add(("warning_time_s", first_wh[2] - t_pred, "s"))
    else:
        add(("first_impact_prediction_s", math.nan, "s"))
        add(("warning_time_s", math.nan, "s"))
    for T in spec.campaign.impact_times_s:
        v = math.nan
        if ie.time_s.size:
            k = np.flatnonzero(ie.since_launch_s <= T + 1e-6)
            if k.size and T - ie.since_launch_s[k[-1]] <= 5.0:
                v = float(ie.error_m[k[-1]])
        add((f"impact_error_m_at_{T:g}s", v, "m"))
    add(
        (
            "impact_error_final_m",
            float(ie.error_m[-1]) if ie.error_m.size else math.nan,
            "m",
        )
    )

    # set distances and SIAP over the window
    step = mc.eval_step_s
    # the series' epochs are multiples of the step: rows off that grid are not used
    on = np.abs(picture["time_s"] / step - np.round(picture["time_s"] / step)) < 1e-6
    grid = {k: np.asarray(v)[on] for k, v in picture.items()}
    _, os_ = mt.ospa_series(
        truth_win, grid, c_m=mc.ospa_c_m, p=mc.ospa_p, every_s=step, id_col=id_col
    )
    gs = mt.gospa_series(
        truth_win,
        grid,
        c_m=mc.ospa_c_m,
        p=mc.ospa_p,
        alpha=mc.gospa_alpha,
        every_s=step,
        id_col=id_col,
    )
    sel = (gs.time_s >= t0) & (gs.time_s <= sim.t_end_s)
    add(("ospa_mean_m", float(np.nanmean(os_[sel])) if sel.any() else math.nan, "m"))
    add(("gospa_mean_m", float(np.nanmean(gs.distance[sel])) if sel.any() else math.nan, "m"))
    s = mt.siap(truth_win, picture, gate_m=gate, id_col=id_col)
    add(("siap_completeness", s.completeness, "1"))
    add(("siap_ambiguity", s.ambiguity, "1"))
    add(("siap_spuriousness", s.spuriousness, "1"))
    add(("siap_continuity", s.longest_segment_fraction, "1"))
    add(("siap_positional_accuracy_m", s.positional_accuracy_m, "m"))
    lab, _ = _nearest_objects(picture, sim.flights, gate)
    ids = np.asarray(picture[id_col])
    on_any = pd.Series(lab >= 0).groupby(ids).any()
    add(("false_tracks", float((~on_any).sum()), "count"))
    rows.extend(_consistency_rows(picture, sim, lab, ids, truth_win, gate, id_col))

    # link figures: the modelled delay from a fused epoch to each partner, and the
    # national reports a link cut kept from the hub
    if cfg.fused:
        for p, d in delays.items():
            add((f"relay_delay_to_{p.lower()}_s", d, "s"))
        n_in = sum(np.asarray(sim.tracks[n]["time_s"]).size for n in cfg.nations)
        n_kept = sum(np.asarray(tables[n]["time_s"]).size for n in cfg.nations)
        add(("reports_lost_to_link_cuts", float(n_in - n_kept), "count"))

    # classification at 80 km on the way down
    due = [w for w in warheads if math.isfinite(w[3]) and w[3] <= sim.t_end_s]
    if not due:
        add(("classification_errors_at_80km", math.nan, "count"))
        add(("warhead_misclassified", math.nan, "1"))
    else:
        errors = 0
        for oid, _, _, t80 in due:
            epochs = np.unique(picture["time_s"])
            near = epochs[np.argmin(np.abs(epochs - t80))] if epochs.size else math.nan
            at = np.flatnonzero((picture["time_s"] == near) & (abs(near - t80) <= 5.0))
            sub = {k: np.asarray(v)[at] for k, v in picture.items()}
            lab, _ = (
                _nearest_objects(sub, sim.flights, gate) if at.size else (np.empty(0, int), None)
            )
            _, names, kinds = _truth_positions(sim.flights, np.array([t80]))
            on_w = [i for i, j in enumerate(lab.tolist()) if j >= 0 and names[j] == oid]
            if not on_w or not any(str(sub["kind"][i]) == "warhead" for i in on_w):
                errors += 1
            errors += sum(
                1
                for i, j in enumerate(lab.tolist())
                if j >= 0
                and kinds[j] != ObjectKind.WARHEAD.value
                and str(sub["kind"][i]) == "warhead"
            )
        add(("classification_errors_at_80km", float(errors), "count"))
        add(("warhead_misclassified", float(errors > 0), "1"))

    if cfg.name in spec.campaign.warning:
        c = time.process_time()
        rows.extend(_alert_rows(spec, sim, cfg, picture, cache))
        cache["warning_s"] = cache.get("warning_s", 0.0) + time.process_time() - c
    return rows


def _consistency_rows(
    picture: Mapping[str, NDArray],
    sim: DrawSimulation,
    lab: NDArray,
    ids: NDArray,
    truth_win: Mapping[str, NDArray],
    gate: float,
    id_col: str,
) -> list[tuple[str, float, str]]:
    """Track purity, swaps and the position NEES of the rows on the warheads.

    ``track_purity_mean``: over the tracks that are ever on an object (nearest within
    the gate), the mean share of their on-object rows on their most frequent object
    (1 = no track ever follows two objects). ``track_swaps``: object changes summed
    over the tracks, counted as :func:`trilink.evaluation.metrics.track_swaps` counts them
    but on the nearest-object labels already computed for ``false_tracks``.
    ``nees_position_mean`` / ``_median``: ε = eᵀP⁻¹e of the position (3 degrees of
    freedom: 3 for a consistent filter) over the rows whose nearest object is a
    warhead; ``nees_position_in_95``: the share of those rows inside the two-sided
    95 % interval of χ²(3) (0.95 for a consistent filter)."""
    out: list[tuple[str, float, str]] = []
    on = lab >= 0
    if on.any():
        per = pd.DataFrame({"t": ids[on].astype(str), "o": lab[on]})
        top = per.groupby("t")["o"].agg(lambda x: x.value_counts().iloc[0] / x.size)
        out.append(("track_purity_mean", float(top.mean()), "1"))
    else:
        out.append(("track_purity_mean", math.nan, "1"))
    t = np.asarray(picture["time_s"], dtype=float)
    if on.any():  # object changes along each track's on-object rows, in time order
        k = np.flatnonzero(on)
        code = np.unique(ids[k].astype(str), return_inverse=True)[1]
        o = np.lexsort((t[k], code))
        same = code[o][1:] == code[o][:-1]
        swaps = int(np.count_nonzero(same & (lab[k][o][1:] != lab[k][o][:-1])))
    else:
        swaps = 0
    out.append(("track_swaps", float(swaps), "count"))
    ep, inv = np.unique(t, return_inverse=True)
    R, _, kinds = _truth_positions(sim.flights, ep)
    wh = on & np.isin(lab, [j for j, k in enumerate(kinds) if k == ObjectKind.WARHEAD.value])
    if wh.any():
        k = np.flatnonzero(wh)
        x = np.stack([np.asarray(picture[c], dtype=float)[k] for c in _POS], axis=1)
        err = x - R[inv[k], lab[k]]
        P = covariance_from_columns({c: np.asarray(v)[k] for c, v in picture.items()})[:, :3, :3]
        eps = mt.nees(err, P)
        lo, hi = chi2.ppf([0.025, 0.975], 3)
        out.append(("nees_position_mean", float(np.mean(eps)), "1"))
        out.append(("nees_position_median", float(np.median(eps)), "1"))
        out.append(("nees_position_in_95", float(np.mean((eps >= lo) & (eps <= hi))), "1"))
    else:
        out += [
            ("nees_position_mean", math.nan, "1"),
            ("nees_position_median", math.nan, "1"),
            ("nees_position_in_95", math.nan, "1"),
        ]
    return out


def _alert_rows(
    spec: CampaignSpec,
    sim: DrawSimulation,
    cfg: ConfigurationDef,
    picture: Mapping[str, NDArray],
    cache: dict[str, Any],
) -> list[tuple[str, float, str]]:
    """The public-alert chain on one configuration's picture (issue 7), scored against the
    truth of the whole flight (:func:`trilink.warning.compare.true_threats`).

    Rows: ``alert_launch_notice_s``, ``alert_first_take_cover_s``, ``alert_false``
    (prefectures told to take cover that the truth neither overflies nor hits, at any
    time of the flight), ``alert_missed`` (prefectures threatened inside the window
    without a take-cover before their event), ``alert_warning_time_s`` (the least lead
    over the warned threatened prefectures, the event's true time minus the
    take-cover's), ``alert_threatened`` (prefectures threatened inside the window), and
    per prefecture ``threat_s:<code>`` (its first true event, inside the window),
    ``late_threat_s:<code>`` (its first true event, after the window: a take-cover for
    it is right, a missing one cannot be judged) and ``take_cover_s:<code>`` (its first
    take-cover), all in s after the draw's first launch. Alerts reach Japan after the
    configuration's delay to Japan (0 for ``jp``)."""
    t0 = sim.draw.t0_s
    if "threats" not in cache:
        cache["threats"] = true_threats(sim.flights)
    every_threat: dict[str, float] = cache["threats"]
    threatened = {c: t for c, t in every_threat.items() if t <= sim.t_end_s}
    late = {c: t for c, t in every_threat.items() if t > sim.t_end_s}
    every = spec.campaign.report_every_s
    grid = (
        np.arange(
            math.ceil(max(0.0, t0 - PRE_LAUNCH_S) / every), math.floor(sim.t_end_s / every) + 1
        )
        * every
    )
    pics = on_grid(pictures_from_tracks(picture) if picture["time_s"].size else [], grid)
    nd = notice_delays_s(cfg)
    notices = (
        tuple(replace(n, issued_s=n.issued_s + max(nd.values())) for n in sim.launch_notices)
        if nd is not None
        else ()
    )
    tl = run_warning(pics, notices, launch_time_s=t0)
    delay = partner_delays_s(cfg).get("JP", max(partner_delays_s(cfg).values()))
    shifted = tuple(replace(d, t_s=d.t_s + delay) for d in tl.decisions)
    tl = replace(tl, decisions=shifted)
    _, missed, _ = score_alerts(tl, threatened)
    false, _, lead = score_alerts(tl, every_threat)
    ln, tc = tl.first("launch_notice"), tl.first("take_cover")
    rows: list[tuple[str, float, str]] = [
        ("alert_launch_notice_s", math.nan if ln is None else ln.t_s - t0, "s"),
        ("alert_first_take_cover_s", math.nan if tc is None else tc.t_s - t0, "s"),
        ("alert_false", float(false), "count"),
        ("alert_missed", float(missed), "count"),
        ("alert_warning_time_s", math.nan if lead is None else lead, "s"),
        ("alert_threatened", float(len(threatened)), "count"),
    ]
    for code, t in threatened.items():
        rows.append((f"threat_s:{code}", t - t0, "s"))
    for code, t in late.items():
        rows.append((f"late_threat_s:{code}", t - t0, "s"))
    for code in tl.take_cover_regions():
        rows.append((f"take_cover_s:{code}", tl.take_cover_time_s(code) - t0, "s"))
    return rows


def evaluate_draw(
    spec: CampaignSpec, sim: DrawSimulation, timing: dict[str, float] | None = None
) -> pd.DataFrame:
    """The tidy rows of one draw: every configuration x metric, with the draw's parameters
    (``timing``, if given, receives the CPU seconds of the fusion)."""
    t0 = sim.draw.t0_s
    cache: dict[str, Any] = {
        "truth": _truth_tables(sim.flights, max(0.0, t0 - PRE_LAUNCH_S), sim.t_end_s),
        "warheads": _warheads(sim.flights),
    }
    recs = []
    for name in spec.campaign.configurations:
        cfg = CONFIGURATION_DEFS[name]
        for metric, value, unit in _metric_rows(spec, sim, cfg, cache):
            recs.append((sim.draw.run, name, metric, float(value), unit))
    if timing is not None:
        timing["fusion"] = cache.get("fusion_s", 0.0)
        timing["warning"] = cache.get("warning_s", 0.0)
    df = pd.DataFrame.from_records(recs, columns=list(RESULT_COLUMNS))
    for k, v in sim.draw.parameters().items():
        df[k] = v
    return _sorted(df)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    df = df.astype({"run": "int64", "value": "float64"})
    return df.sort_values(["run", "configuration", "metric"], kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------ chunks (the unit of work)


@functools.lru_cache(maxsize=4)
def _parsed(spec_toml: str) -> CampaignSpec:
    return parse_spec(spec_toml, "campaign spec")


def chunk_of(spec: CampaignSpec, run: int) -> int:
    return run // spec.campaign.chunk_runs


def run_chunk(
    spec_toml: str, chunk: int, runs: Sequence[int]
) -> list[tuple[int, pd.DataFrame, dict[str, float]]]:
    """Fly every draw of ``chunk`` as one batch; simulate and evaluate ``runs`` of it.

    Returns ``(run, rows, CPU seconds by stage)`` per run. Pure: the result depends only
    on (spec, chunk, run), never on the worker or the other runs asked for."""
    spec = _parsed(spec_toml)
    k = spec.campaign.chunk_runs
    members = list(range(chunk * k, (chunk + 1) * k))
    c = time.process_time()
    draws = [draw_run(spec, r) for r in members]
    launches = [_launches(spec, d) for d in draws]
    flat = [la for ls in launches for la in ls]
    rng = np.random.default_rng(
        np.random.SeedSequence(spec.campaign.seed, spawn_key=(_CHUNK_DEBRIS_KEY + chunk,))
    )
    flown = fly_batch(flat, rng=rng, record=True, objects=True)
    fly_s = (time.process_time() - c) / len(members)
    out = []
    at = 0
    by_run: dict[int, tuple[Draw, tuple[Flight, ...]]] = {}
    for d, ls in zip(draws, launches, strict=True):
        by_run[d.run] = (d, flown[at : at + len(ls)])
        at += len(ls)
    for r in runs:
        d, fl = by_run[r]
        sim = simulate_draw(spec, d, fl)
        c = time.process_time()
        fused: dict[str, float] = {}
        df = evaluate_draw(spec, sim, fused)
        total = time.process_time() - c
        timing = {
            "fly": fly_s,
            **sim.timing_s,
            **fused,
            "metrics": total - fused["fusion"] - fused["warning"],
        }
        out.append((r, df, timing))
    return out


def _solve_task(args: tuple[str, str, str, float]) -> tuple[str, SteeringEntry]:
    m, s, site, az = args
    return f"{m}/{s}", solve_steering(m, s, site, az)


# ------------------------------------------------------------------ backends


class _Backend:
    def submit_all(self, fn: Callable[..., Any], argss: Sequence[tuple]) -> Iterator[Any]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _Serial(_Backend):
    def submit_all(self, fn: Callable[..., Any], argss: Sequence[tuple]) -> Iterator[Any]:
        for a in argss:
            yield fn(*a)


class _Pool(_Backend):
    def __init__(self, workers: int) -> None:
        import multiprocessing as mp

        self.ex = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("forkserver"))

    def submit_all(self, fn: Callable[..., Any], argss: Sequence[tuple]) -> Iterator[Any]:
        futs = [self.ex.submit(fn, *a) for a in argss]
        try:
            for f in as_completed(futs):
                yield f.result()
        finally:
            for f in futs:
                f.cancel()

    def close(self) -> None:
        self.ex.shutdown(wait=True, cancel_futures=True)


class _Dask(_Backend):
    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - a dependency
            raise CampaignError(f"--scheduler needs the 'distributed' package: {exc}") from None
        try:
            self.client = Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise CampaignError(f"cannot reach the Dask scheduler at {address}: {exc}") from None

    def submit_all(self, fn: Callable[..., Any], argss: Sequence[tuple]) -> Iterator[Any]:
        from distributed import as_completed as das_completed

        futs = [self.client.submit(fn, *a, pure=False) for a in argss]
        try:
            for f in das_completed(futs):
                yield f.result()
        finally:
            self.client.cancel(futs)

    def close(self) -> None:
        self.client.close()


def _backend(scheduler: str | None, workers: int | None) -> _Backend:
    if scheduler:
        return _Dask(scheduler)
    n = workers if workers is not None else (os.cpu_count() or 1)
    return _Serial() if n <= 0 else _Pool(n)


# ------------------------------------------------------------------ the campaign


def shard_path(out: Path, run: int) -> Path:
    return out / "runs" / f"run_{run:06d}.parquet"


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    _write_atomic(path, lambda p: df.to_parquet(p, index=False))


def _git_commit() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        r = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        return r.stdout.strip() or None if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("trilink")
    except PackageNotFoundError:
        return "unknown"


def complete_steering(spec: CampaignSpec, backend: _Backend) -> CampaignSpec:
    """Solve the steering library entries the spec lacks (in parallel on ``backend``)."""
    todo = spec.missing_steering()
    if not todo:
        return spec
    args = [(*k.split("/"), spec.reference_site, spec.reference_azimuth_deg) for k in todo]
    solved = dict(backend.submit_all(_solve_task, [(a,) for a in args]))
    return spec.with_steering(solved)


@contextlib.contextmanager
def _progress(enabled: bool, total: int, done: int) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda n: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    cols = (
        TextColumn("[bold]campaign"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]} runs/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*cols) as bar:
        task = bar.add_task("runs", total=total, completed=done, rate="-")
        t_start = time.perf_counter()
        count = [0]

        def advance(n: int) -> None:
            count[0] += n
            rate = count[0] / max(time.perf_counter() - t_start, 1e-9)
            bar.update(task, advance=n, rate=f"{rate:.2f}")

        yield advance


def run_campaign(
    spec: str | Path | CampaignSpec | None = None,
    runs: int = 100,
    out: str | Path = "campaign",
    scheduler: str | None = None,
    *,
    workers: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Run (or finish) a campaign and return its results table (module docstring).

    ``spec``: a built-in spec name, a spec file, or a :class:`CampaignSpec` (default: the
    built-in seed-like spec; an ``out`` that already holds ``spec.toml`` must hold the
    same spec). ``scheduler``: ``tcp://HOST:PORT`` of a Dask distributed scheduler
    (default: a local process pool of ``workers`` processes, all cores by default;
    ``workers=0`` runs in this process)."""
    if runs < 1:
        raise CampaignError(f"runs: must be >= 1, got {runs}")
    sp = get_spec(spec)
    outp = Path(out)
    (outp / "runs").mkdir(parents=True, exist_ok=True)
    for stale in (outp / "runs").glob(".run_*.tmp-*"):  # left by a killed campaign
        stale.unlink(missing_ok=True)
    t_wall = time.perf_counter()
    backend = _backend(scheduler, workers)
    try:
        existing = outp / "spec.toml"
        if existing.exists():
            prev = parse_spec(existing.read_bytes(), str(existing))
            if msgspec.structs.replace(prev, steering={}) != msgspec.structs.replace(
                sp, steering={}
            ):
                raise CampaignError(
                    f"{outp}: holds a campaign of another spec (spec.toml differs); "
                    "use a new --out directory"
                )
            sp = sp.with_steering(dict(prev.steering))
        sp = complete_steering(sp, backend)
        for m, w in sp.sampling.missiles.items():
            feasible = [
                k
                for k in sp.combos()
                if k.startswith(f"{m.lower()}/") and sp.steering[k].infeasible is None
            ]
            if w > 0 and not feasible:
                why = "; ".join(
                    f"{k}: {sp.steering[k].infeasible}"
                    for k in sp.combos()
                    if k.startswith(f"{m.lower()}/")
                )
                raise CampaignError(
                    f"sampling.missiles.{m}: no trajectory shape is feasible ({why})"
                )
        text = spec_to_toml(sp)
        _write_atomic(existing, lambda p: p.write_text(text, encoding="utf-8"))
        todo = [r for r in range(runs) if not shard_path(outp, r).exists()]
        chunks: dict[int, list[int]] = {}
        for r in todo:
            chunks.setdefault(chunk_of(sp, r), []).append(r)
        tasks = [(text, c, rs) for c, rs in sorted(chunks.items())]
        timing: dict[str, float] = {}
        log = (outp / "computed.log").open("a", encoding="utf-8")
        try:
            with _progress(progress, runs, runs - len(todo)) as advance:
                for result in backend.submit_all(run_chunk, tasks):
                    for r, df, tm in result:
                        _write_parquet(df, shard_path(outp, r))
                        log.write(f"{r}\n")
                        for k, v in tm.items():
                            timing[k] = timing.get(k, 0.0) + v
                    log.flush()
                    advance(len(result))
        finally:
            log.close()
    finally:
        backend.close()
    df = _assemble(outp, runs)
    _write_parquet(df, outp / "results.parquet")
    meta = {
        "package": "trilink",
        "version": _version(),
        "git_commit": _git_commit(),
        "spec": sp.campaign.name,
        "runs": runs,
        "computed_this_call": len(todo),
        "backend": f"dask {scheduler}"
        if scheduler
        else ("in-process" if workers == 0 else f"local pool x{workers or os.cpu_count()}"),
        "wall_s_this_call": round(time.perf_counter() - t_wall, 3),
        "cpu_s_per_run_by_stage": {k: v / len(todo) for k, v in sorted(timing.items())}
        if todo
        else {},
    }
    _write_atomic(outp / "meta.json", lambda p: p.write_text(json.dumps(meta, indent=2)))
    return df


def _assemble(out: Path, runs: int) -> pd.DataFrame:
    parts = [pd.read_parquet(shard_path(out, r)) for r in range(runs)]
    return _sorted(pd.concat(parts, ignore_index=True))


def load_results(out: str | Path) -> pd.DataFrame:
    """The results table of a campaign folder (assembled from its shards if the table is
    missing: a campaign that was interrupted)."""
    d = Path(out)
    p = d / "results.parquet"
    if p.exists():
        return pd.read_parquet(p)
    shards = sorted((d / "runs").glob("run_*.parquet"))
    if not shards:
        raise CampaignError(f"{d}: no results.parquet and no finished runs")
    return _sorted(pd.concat([pd.read_parquet(s) for s in shards], ignore_index=True))


# ------------------------------------------------------------------ summary


def summary(df: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """Headline table, computed by the report's statistics
    (:func:`trilink.evaluation.report.build_report`): per configuration x headline
    metric the median (times censored at "never" = +inf, lead times at -inf) with a 95 %
    percentile-bootstrap interval, or the share of runs (Wilson 95 % interval).

    Columns: configuration, metric, measure, unit (of the text: s, km, % of runs), n
    (runs), reached, estimate, low, high (in the metric's own SI unit), statistic, text
    (the formatted cell, as the HTML report shows it)."""
    from trilink.evaluation.report import build_report, metric_info

    h = build_report(df, seed=seed, figures=False).headline
    if h.empty:
        return pd.DataFrame(
            columns=[
                "configuration",
                "metric",
                "measure",
                "unit",
                "n",
                "reached",
                "estimate",
                "low",
                "high",
                "statistic",
                "text",
            ]
        )
    kinds = {m: metric_info(m).kind for m in h["metric"].unique()}
    stat = {"event_time": "median", "lead_time": "median", "value": "median"}
    return pd.DataFrame(
        {
            "configuration": h["configuration"],
            "metric": h["metric"],
            "measure": h["measure"],
            "unit": h["unit_shown"],
            "n": h["n"],
            "reached": h["n_reached"],
            "estimate": h["estimate"],
            "low": h["ci_low"],
            "high": h["ci_high"],
            "statistic": [stat.get(kinds[m], "share of runs") for m in h["metric"]],
            "text": h["text"],
        }
    ).reset_index(drop=True)
