"""One national node's multi-sensor, multi-target missile tracker.

The node fuses all of its own radars' detections centrally, in time order
(:class:`Tracker`). Detections may arrive late: they wait in a reorder buffer and
are processed once the newest arrival is ``oos_window_s`` past them, so any
detection up to that late is used exactly as if it had come in order; later ones
are counted (``late_dropped``) and not used.

Per frame (one radar's detections at one time) the tracker

1. predicts the tracks that could be in range of a detection (IMM, EKF or UKF:
   :mod:`trilink.tracking.filters`),
2. gates in χ²(3) on the converted position plus, where measured, the range rate,
   and assigns by GNN (or weights by cheap JPDA) — :mod:`trilink.tracking.association`,
3. updates the assigned tracks,
4. turns what is left into tracks: a detection in the gate of a confirmed track that
   took another detection of the same scan is a *resolved* object — a **child
   track** starts on it from its parent's state, with ``parent_track_id`` (this is
   how separating stages, the RV and debris get their own tracks); other detections
   pair with an earlier unassigned one into a tentative track (two-point velocity,
   corrected for gravity over the gap, capped at the fastest missile speed).

Tentative tracks are confirmed after ``confirm_hits`` updates within
``confirm_window_s``; tracks die after coasting too long (shorter for young tracks,
which bounds how long clutter can hold a confirmed track).

**Kind** of each confirmed track (see ``Tracker._classify``): a thrusting track is the
missile (it carries the warhead); a child born while its parent thrusts is a spent
stage; after the burns, within a cluster of nearby tracks, bodies whose mean RCS
(SNR·R⁴ compared radar by radar) stands ``stage_rcs_margin_db`` above the smallest are
stages, and of the rest the one moving most like the last stage body (the RV leaves it
at ~1 m/s, debris at ~15 m/s) is the warhead, the others debris; without such evidence
they are ``unknown``. At a boost-phase separation the track number stays on the
thrusting stack (states are handed over if the child took the stack).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from trilink.geo.gravity import gravity_accel_mps2
from trilink.sensors.detection import DetectionBatch
from trilink.tracking import products
from trilink.tracking.association import Gating, cheap_jpda, gate, gnn
from trilink.tracking.dynamics import BALLISTIC, N_STATE, height_m, propagate
from trilink.tracking.filters import FilterConfig, combine, imm_predict, imm_update
from trilink.tracking.measurement import (
    SensorSites,
    chi2_gate,
    converted_measurements,
    range_rate,
    range_rate_jacobian,
)

F64 = NDArray[np.float64]

KINDS = ("warhead", "stage", "debris", "unknown")


@dataclass(frozen=True, kw_only=True)
class TrackerConfig:
    """Tracker parameters (defaults tuned on the built-in scenarios; documented in README)."""

    filter: FilterConfig = field(default_factory=FilterConfig)
    association: Literal["gnn", "jpda"] = "gnn"
    gate_probability: float = 0.9995
    oos_window_s: float = 2.0
    max_speed_mps: float = 8_000.0
    init_max_gap_s: float = 12.0
    init_min_gap_s: float = 0.8
    """Two-point initiation pairs detections at least this far apart in time (the
    velocity error is about σ_position·√2 / gap)."""
    confirm_hits: int = 4
    confirm_window_s: float = 25.0
    tentative_coast_s: float = 12.0
    young_coast_s: float = 9.0
    mature_updates: int = 20
    mature_coast_s: float = 20.0
    lock_ballistic_after_s: float = 30.0
    """A track coasting (boost probability < 0.1) this long is locked to the ballistic
    model: the threats of the catalogue do not re-ignite after a coast this long."""
    resume_tracks: bool = False
    """Resume dormant (coasted-out) ballistic tracks when a new track continues one.
    Off by default: on the seed's debris cloud it merged identities (US node: 79 → 59
    confirmed tracks) but cost the Japanese node a warhead classification (docs)."""
    resume_min_gap_s: float = 60.0
    """Shorter drop-outs are not coverage gaps: no resumption across them."""
    resume_max_gap_s: float = 3_000.0
    resume_gate_probability: float = 0.999
    boost_coast_s: float = 10.0
    """Longest coast of a track that is thrusting (its extrapolation diverges fastest)."""
    init_accel_sigma_mps2: float = 40.0
    init_k_drag_m2pkg: float = 1e-3
    init_k_drag_sigma_m2pkg: float = 3e-3
    child_velocity_sigma_mps: float = 20.0
    merge_radius_m: float = 3_000.0
    """Confirmed tracks this close to a track that got a detection share it when they got
    none (unresolved objects); 0 disables."""
    merge_variance: bool = False
    """Widen a detection's covariance by (s/2)² when another tracked object lies in its
    resolution cell at separation s. Off by default: on the seed scenario it raised the
    Korean node's impact-ellipse coverage but lowered warhead-track purity (README)."""
    cell_sigmas: float = 6.0
    """A radar's resolution cell taken as this many sensors-table σ (range and angle)."""
    spawn_radius_m: float = 20_000.0
    """An unassigned detection this close to a confirmed track starts its child."""
    spawn_dv_mps: float = 80.0
    """…if its range rate is within this of the parent's (×5 while the parent thrusts)."""
    parent_radius_m: float = 30_000.0
    """A new track born this close to a confirmed one is its child (separation)."""
    parent_dv_mps: float = 2_500.0
    confirmed_bonus: float = 4.0
    jpda_clutter_density: float = 1e-12
    jpda_new_track_below: float = 0.1
    """JPDA: a detection whose association probabilities sum below this starts a track."""
    stage_rcs_margin_db: float = 14.0
    """RCS excess over the smallest body in view that makes a stage: spent stages are
    > 1 m² (SATCAT rocket bodies are LARGE), debris ~0.02 m², an RV 0.01–0.3 m²
    (sensors.rcs): 0.3 m² over 0.02 m² is 11.8 dB, 1 m² over 0.02 m² is 17 dB."""
    rv_dv_scale_mps: float = 5.0
    rv_excess_db: float = 8.0
    rv_excess_scale_db: float = 4.0
    cluster_radius_m: float = 150_000.0
    warhead_memory_s: float = 20.0
    freeze_below_m: float = 100_000.0
    impact_every_s: float = 10.0
    impact_max_every_s: float = 60.0

    def __post_init__(self) -> None:
        if self.association not in ("gnn", "jpda"):
            raise ValueError(f"TrackerConfig.association: {self.association!r} is not gnn or jpda")
        if not (0.0 < self.gate_probability < 1.0):
            raise ValueError("TrackerConfig.gate_probability must be in (0, 1)")
        if not (self.oos_window_s >= 0.0):
            raise ValueError("TrackerConfig.oos_window_s must be >= 0")
        if self.confirm_hits < 2:
            raise ValueError("TrackerConfig.confirm_hits must be >= 2")


@dataclass
class _Info:
    """Per-track bookkeeping that is not filter state."""

    track_id: int
    parent_id: int
    created_s: float
    confirmed_s: float = math.nan
    spawned_in_boost: bool = False
    last_boost_s: float = -math.inf
    rcs: dict[str, list[float]] = field(default_factory=dict)
    """sensor_id → [Σ rcs_db, n]: relative RCS, dB (SNR + 40 log R per radar)."""
    early: list[tuple[float, F64, F64]] = field(default_factory=list)
    """(time, z, Rz) of the first detections while boosting (launch-point fit)."""
    burnout_s: float = math.nan
    burnout_x: F64 | None = None
    impact: object | None = None
    impact_at_s: float = -math.inf
    launch: object | None = None
    kind: str = "unknown"
    kind_confidence: float = 0.0
    root_id: int = -1
    ballistic_since_s: float = math.nan
    warhead_score: float = 0.0
    """Smoothed evidence that this post-boost track is the warhead, 0..1."""
    locked: bool = False
    """Coasted long enough after its last burn: ballistic model only from now on."""


@dataclass(frozen=True, kw_only=True, eq=False)
class TrackOutput:
    """What a tracker run produced: the tracks-table rows and the association log."""

    columns: dict[str, NDArray]
    """The tracks table (DESIGN.md contract plus the product columns)."""
    assignments: NDArray[np.int64]
    """(K, 2): (track_id, detection row in the input batch) for every update."""
    late_dropped: int


TRACK_STATE_COLUMNS = (
    "time_s",
    "track_id",
    "x_ecef_m",
    "y_ecef_m",
    "z_ecef_m",
    "vx_ecef_mps",
    "vy_ecef_mps",
    "vz_ecef_mps",
)
_COMP = ("x", "y", "z", "vx", "vy", "vz")
COV_COLUMNS = tuple(f"cov_{_COMP[i]}_{_COMP[j]}" for i in range(6) for j in range(i, 6))
"""Upper triangle of the 6×6 position/velocity covariance, m², m²/s, m²/s²."""
TRACK_COLUMNS = (
    *TRACK_STATE_COLUMNS,
    *COV_COLUMNS,
    "kind",
    "kind_confidence",
    "parent_track_id",
    "boost_probability",
    "n_updates",
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
"""Column order of the tracks table written by ``trilink track``."""


class Tracker:
    """A national node's tracker over its own radars (see the module docstring)."""

    def __init__(self, sites: SensorSites, config: TrackerConfig | None = None) -> None:
        self.sites = sites
        self.cfg = config or TrackerConfig()
        self._m = len(self.cfg.filter.models)
        self._boost = next(
            (i for i, m in enumerate(self.cfg.filter.models) if m.thrust_tau_s is None), 0
        )
        self._gate3 = chi2_gate(3, self.cfg.gate_probability)
        self._gate4 = chi2_gate(4, self.cfg.gate_probability)
        cap = 64
        m = self._m
        self.x = np.zeros((cap, m, N_STATE))
        self.P = np.zeros((cap, m, N_STATE, N_STATE))
        self.mu = np.zeros((cap, m))
        self.t = np.zeros(cap)
        self.alive = np.zeros(cap, dtype=bool)
        self.confirmed = np.zeros(cap, dtype=bool)
        self.hits = np.zeros(cap, dtype=np.int64)
        self.last_s = np.zeros(cap)
        self.info: list[_Info | None] = [None] * cap
        self._next_id = 1
        # one-point initiators
        self._init_rows = np.empty(0, dtype=np.intp)  # single detections awaiting a pair
        # detections
        self._det: DetectionBatch | None = None
        self._z: F64 | None = None
        self._Rz: F64 | None = None
        self._site: NDArray[np.intp] | None = None
        self._srr: F64 | None = None
        self._rcs_db: F64 | None = None
        self._log: list[tuple[int, int]] = []
        self.late_dropped = 0
        self._processed_to = -math.inf
        self._rows: list[dict[str, NDArray]] = []
        self._dup: dict[tuple[int, int], int] = {}
        self._dormant: list[tuple[float, F64, F64, _Info]] = []
        self._alias: dict[int, int] = {}
        self._parent_of: dict[int, int] = {}

    # -- storage -----------------------------------------------------------------------
    def _grow(self) -> None:
        cap = self.x.shape[0] * 2

        def g(a: NDArray) -> NDArray:
            out = np.zeros((cap, *a.shape[1:]), dtype=a.dtype)
            out[: a.shape[0]] = a
            return out

        self.x, self.P, self.mu, self.t = g(self.x), g(self.P), g(self.mu), g(self.t)
        self.alive, self.confirmed = g(self.alive), g(self.confirmed)
        self.hits, self.last_s = g(self.hits), g(self.last_s)
        self.info.extend([None] * (cap - len(self.info)))

    def _new_slot(self) -> int:
        free = np.flatnonzero(~self.alive)
        free = (
            free[[self.info[i] is None or not self.alive[i] for i in free]] if free.size else free
        )
        if free.size == 0:
            self._grow()
            free = np.flatnonzero(~self.alive)
        return int(free[0])

    def _add_track(
        self, x: F64, P: F64, mu: F64, t: float, parent: int, hits: int, **info: object
    ) -> int:
        s = self._new_slot()
        self.x[s], self.P[s], self.mu[s] = x, P, mu
        self.t[s] = self.last_s[s] = t
        self.alive[s], self.confirmed[s] = True, False
        self.hits[s] = hits
        tid = self._next_id
        self._next_id += 1
        inf = _Info(track_id=tid, parent_id=parent, created_s=t, **info)  # type: ignore[arg-type]
        self._parent_of[tid] = parent
        if parent >= 0:
            ps = self._slot_of(parent)
            inf.root_id = self.info[ps].root_id if ps is not None else parent  # type: ignore[union-attr]
        else:
            inf.root_id = tid
        self.info[s] = inf
        return s

    def _slot_of(self, track_id: int) -> int | None:
        for i in np.flatnonzero(self.alive):
            if self.info[i].track_id == track_id:  # type: ignore[union-attr]
                return int(i)
        return None

    # -- input -------------------------------------------------------------------------
    def run(
        self,
        detections: DetectionBatch,
        *,
        every_s: float = 1.0,
        t_end_s: float | None = None,
        arrival_s: F64 | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> TrackOutput:
        """Track a whole batch; output rows every ``every_s`` seconds.

        ``arrival_s`` (optional, per detection) is when each detection reaches the
        node; detections are ingested in arrival order through the reorder buffer
        (default: arrival = measurement time).
        """
        if not (every_s > 0.0 and math.isfinite(every_s)):
            raise ValueError(f"every_s must be positive, got {every_s!r}")
        self._prepare(detections)
        n = len(detections)
        arr = detections.time_s if arrival_s is None else np.asarray(arrival_s, dtype=float)
        order = np.argsort(arr, kind="stable")
        t_end = float(detections.time_s.max()) if (t_end_s is None and n) else float(t_end_s or 0.0)
        epochs = np.arange(0.0, t_end + 1e-9, every_s)
        self._epochs = list(epochs)
        self._epoch_i = 0
        buffer: list[tuple[float, int]] = []
        newest = -math.inf
        last_report = -math.inf
        arr_l, t_l = arr.tolist(), detections.time_s.tolist()
        window = self.cfg.oos_window_s
        for k in order.tolist():
            newest = max(newest, arr_l[k])
            t_k = t_l[k]
            if t_k < self._processed_to:
                self.late_dropped += 1
                continue
            heapq.heappush(buffer, (t_k, k))
            if buffer[0][0] <= newest - window:
                self._drain(buffer, newest - window)
            if progress is not None and newest - last_report >= 10.0:
                progress(newest)
                last_report = newest
        self._drain(buffer, math.inf)
        self._emit_until(t_end + 1e-9)
        cols = _rows_to_columns(self._rows)
        log = np.array(self._log, dtype=np.int64).reshape(-1, 2)
        for a, b in self._alias.items():  # resumed tracks: their early updates too
            log[log[:, 0] == a, 0] = b
        return TrackOutput(columns=cols, assignments=log, late_dropped=self.late_dropped)

    def _prepare(self, det: DetectionBatch) -> None:
        self._det = det
        site = self.sites.index(det.sensor_id) if len(det) else np.empty(0, dtype=np.intp)
        s = self.sites
        sr = np.where(np.isfinite(det.sigma_range_m), det.sigma_range_m, s.sigma_range_m[site])
        sa = np.where(np.isfinite(det.sigma_az_rad), det.sigma_az_rad, s.sigma_az_rad[site])
        se = np.where(np.isfinite(det.sigma_el_rad), det.sigma_el_rad, s.sigma_el_rad[site])
        srr = np.where(
            np.isfinite(det.sigma_range_rate_mps),
            det.sigma_range_rate_mps,
            s.sigma_range_rate_mps[site],
        )
        self._z, self._Rz = converted_measurements(
            s.r_ecef_m[site], s.enu_rot[site], det.range_m, det.az_rad, det.el_rad, sr, sa, se
        )
        self._site = site
        self._srr = srr
        self._rr = np.where(np.isfinite(srr), det.range_rate_mps, np.nan)
        self._rcs_db = det.snr_db + 40.0 * np.log10(det.range_m)
        self._sid_list = det.sensor_id.tolist()  # per-detection Python values for the
        self._rcs_list = self._rcs_db.tolist()  # bookkeeping loops

    def _drain(self, buffer: list[tuple[float, int]], until_s: float) -> None:
        """Process buffered detections with time <= until_s, frame by frame."""
        sids = self._sid_list
        while buffer and buffer[0][0] <= until_s:
            t0, k0 = heapq.heappop(buffer)
            frame = [k0]
            sid = sids[k0]
            keep: list[tuple[float, int]] = []
            while buffer and buffer[0][0] == t0:
                tk, k = heapq.heappop(buffer)
                if sids[k] == sid:
                    frame.append(k)
                else:
                    keep.append((tk, k))
            for item in keep:
                heapq.heappush(buffer, item)
            self._emit_until(t0)
            self._frame(t0, np.array(sorted(frame), dtype=np.intp))
            self._processed_to = t0

    # -- one frame -----------------------------------------------------------------------
    def _frame(self, t_f: float, rows: NDArray[np.intp]) -> None:
        cfg = self.cfg
        z, Rz = self._z[rows], self._Rz[rows]  # type: ignore[index]
        rr, srr = self._rr[rows], self._srr[rows]  # type: ignore[index]
        site_r = self.sites.r_ecef_m[self._site[rows]]  # type: ignore[index]
        alive = np.flatnonzero(self.alive)
        assigned_det = np.zeros(rows.size, dtype=bool)
        took = np.full(rows.size, -1, dtype=np.intp)  # slot that took each detection
        gate_slots = np.empty(0, dtype=np.intp)
        inside = np.zeros((0, rows.size), dtype=bool)
        if alive.size:
            cand = self._pregate(alive, t_f, z, Rz)
            if cand.size:
                dt = t_f - self.t[cand]
                xp, Pp, mup = imm_predict(self.x[cand], self.P[cand], self.mu[cand], dt, cfg.filter)
                xc, Pc = combine(xp, Pp, mup)
                g = gate(xc[:, :3], Pc[:, :3, :3], z, Rz, self._gate3)
                d2, ld = g.d2.copy(), g.log_det_s.copy()
                ti, dj = np.nonzero(np.isfinite(d2))
                has = np.isfinite(rr[dj])
                thr = np.full(d2.shape, self._gate3)
                if np.any(has):
                    a, b = ti[has], dj[has]
                    h = range_rate(xc[a], site_r[b])
                    H = range_rate_jacobian(xc[a], site_r[b], N_STATE)
                    s = np.einsum("ki,kij,kj->k", H, Pc[a], H) + srr[b] ** 2
                    d2[a, b] += (rr[b] - h) ** 2 / s
                    ld[a, b] += np.log(s)
                    thr[a, b] = self._gate4
                inside = d2 <= thr
                g2 = Gating(d2=d2, log_det_s=ld, inside=inside)
                gate_slots = cand
                if cfg.association == "gnn":
                    bonus = np.where(self.confirmed[cand], cfg.confirmed_bonus, 0.0)
                    ri, cj = gnn(g2, bonus)
                    if ri.size:
                        extra = (
                            self._merge_variance(cand, xc, ri, rows[cj])
                            if cfg.merge_variance
                            else None
                        )
                        self._update(
                            cand[ri], xp[ri], Pp[ri], mup[ri], rows[cj], t_f, extra_var=extra
                        )
                        assigned_det[cj] = True
                        took[cj] = cand[ri]
                        self._share_unresolved(cand, xp, Pp, mup, xc, ri, cj, rows, t_f)
                else:
                    beta = cheap_jpda(g2, cfg.jpda_clutter_density)
                    self._jpda_update(cand, xp, Pp, mup, beta, rows, t_f)
                    best = beta.argmax(axis=0)
                    got = beta.max(axis=0) if beta.size else np.zeros(0)
                    # a detection mostly explained by existing tracks starts no new one
                    used = beta.sum(axis=0) if beta.size else np.zeros(0)
                    assigned_det = used > cfg.jpda_new_track_below
                    took = np.where(got > 0.5, cand[best], -1)
        # leftovers: children of confirmed tracks or new initiators
        # (confirmed tracks that took a detection of this scan: a second detection in
        # their gate is a resolved object)
        left = np.flatnonzero(~assigned_det)
        if left.size == 0:
            self._maintain(t_f)
            return
        took_mask = np.zeros(self.alive.size, dtype=bool)
        took_mask[took[took >= 0]] = True
        parents_ok = self.confirmed[gate_slots] & took_mask[gate_slots]
        spawn = self._spawn_parents(rows[left], t_f)
        self._pairing(rows[left], t_f)
        for j, sp in zip(left.tolist(), spawn.tolist(), strict=True):
            parent = -1
            if inside.shape[0]:
                col = inside[:, j] & parents_ok
                if np.any(col):
                    parent = int(gate_slots[np.flatnonzero(col)[0]])
            if parent < 0:
                parent = sp
            if parent >= 0:
                self._spawn_child(parent, int(rows[j]), t_f)
            else:
                self._initiate(int(rows[j]), t_f)
        self._maintain(t_f)

    def _merge_variance(
        self, cand: NDArray[np.intp], xc: F64, ri: NDArray[np.intp], det_rows: NDArray[np.intp]
    ) -> F64:
        """Extra variance per axis, m², for detections that may be the merged return of
        their track's object and another tracked object inside the same resolution cell
        (s²/4 for the nearest such neighbour at separation s; 0 if none)."""
        cfg = self.cfg
        out = np.zeros(ri.size)
        conf = np.flatnonzero(self.confirmed[cand])
        if conf.size < 2 or cfg.merge_radius_m <= 0.0:
            return out
        delta = xc[ri, None, 0:3] - xc[None, conf, 0:3]  # (A, C, 3)
        sep = np.linalg.norm(delta, axis=2)
        site_idx = self._site[det_rows]  # type: ignore[index]
        los = self._z[det_rows] - self.sites.r_ecef_m[site_idx]  # type: ignore[index]
        rng_m = np.linalg.norm(los, axis=1)
        u = los / rng_m[:, None]
        along = np.abs(np.einsum("ack,ak->ac", delta, u))
        cross = np.sqrt(np.maximum(sep**2 - along**2, 0.0))
        cell_r = cfg.cell_sigmas * self.sites.sigma_range_m[site_idx]
        cell_x = (
            cfg.cell_sigmas
            * rng_m
            * np.maximum(self.sites.sigma_az_rad[site_idx], self.sites.sigma_el_rad[site_idx])
        )
        near = (
            (sep > 0.0)
            & (sep <= cfg.merge_radius_m)
            & (along <= cell_r[:, None])
            & (cross <= cell_x[:, None])
        )
        near &= cand[conf][None, :] != cand[ri][:, None]
        smin = np.where(near, sep, np.inf).min(axis=1)
        return np.where(np.isfinite(smin), 0.25 * smin**2, 0.0)

    def _share_unresolved(
        self,
        cand: NDArray[np.intp],
        xp: F64,
        Pp: F64,
        mup: F64,
        xc: F64,
        ri: NDArray[np.intp],
        cj: NDArray[np.intp],
        rows: NDArray[np.intp],
        t_f: float,
    ) -> None:
        """Unresolved objects: a confirmed track that got no detection of this scan, within
        ``merge_radius_m`` of a track that did, takes that detection too — it may be the
        merged return of both — with the measurement covariance widened by (s/2)² per
        axis, s their separation (a merged centroid lies between the objects)."""
        cfg = self.cfg
        if cfg.merge_radius_m <= 0.0:
            return
        got = np.zeros(cand.size, dtype=bool)
        got[ri] = True
        idle = np.flatnonzero(~got & self.confirmed[cand])
        if idle.size == 0:
            return
        delta = xc[idle, None, 0:3] - xc[None, ri, 0:3]  # (I, A, 3)
        sep = np.linalg.norm(delta, axis=2)
        # could the two be one radar return? within a resolution cell of this sensor:
        # ≈ cell_sigmas × the sensors-table σ (σ at threshold = cell / √(2 SNR_T))
        site_idx = self._site[rows[cj]]  # type: ignore[index]
        los = self._z[rows[cj]] - self.sites.r_ecef_m[site_idx]  # type: ignore[index]
        rng_m = np.linalg.norm(los, axis=1)
        u = los / rng_m[:, None]
        along = np.abs(np.einsum("iak,ak->ia", delta, u))
        cross = np.sqrt(np.maximum(sep**2 - along**2, 0.0))
        cell_r = cfg.cell_sigmas * self.sites.sigma_range_m[site_idx]
        cell_x = (
            cfg.cell_sigmas
            * rng_m
            * np.maximum(self.sites.sigma_az_rad[site_idx], self.sites.sigma_el_rad[site_idx])
        )
        near = (sep <= cfg.merge_radius_m) & (along <= cell_r[None]) & (cross <= cell_x[None])
        if not near.any():
            return
        which = np.where(near, sep, np.inf).argmin(axis=1)
        has = near.any(axis=1)
        i_sel = idle[has]
        a_sel = which[has]
        det_rows = rows[cj[a_sel]]
        s_sel = sep[has, a_sel]
        Rz = self._Rz[det_rows] + (0.25 * s_sel**2 + 1.0)[:, None, None] * np.eye(3)  # type: ignore[index]
        z = self._z[det_rows]  # type: ignore[index]
        Pr = np.einsum("tm,tmij->tij", mup[i_sel], Pp[i_sel, :, 0:3, 0:3])
        nu = z - xc[i_sel, 0:3]
        d2 = np.einsum("ti,tij,tj->t", nu, np.linalg.inv(Pr + Rz), nu)
        ok = d2 <= self._gate3
        if not ok.any():
            return
        i_sel, det_rows, Rz, z = i_sel[ok], det_rows[ok], Rz[ok], z[ok]
        site_r = self.sites.r_ecef_m[self._site[det_rows]]  # type: ignore[index]
        nan = np.full(i_sel.size, np.nan)
        res = imm_update(xp[i_sel], Pp[i_sel], mup[i_sel], z, Rz, nan, nan, site_r, self.cfg.filter)
        slots = cand[i_sel]
        self.x[slots], self.P[slots], self.mu[slots] = res.x, res.P, res.mu
        self.t[slots] = t_f
        self.last_s[slots] = t_f
        self._apply_locks(slots)
        for s_, k in zip(slots.tolist(), det_rows.tolist(), strict=True):
            self._log.append((self.info[s_].track_id, k))  # type: ignore[union-attr]

    def _crude(self, slots: NDArray[np.intp], t_f: float) -> tuple[F64, F64, F64]:
        """Model-mixed states of ``slots`` and their positions extrapolated to ``t_f`` at
        constant acceleration (no filter prediction: for cheap neighbourhood tests).
        Returns (x (T, 10), r (T, 3), dt (T, 1))."""
        xc = np.einsum("tm,tmi->ti", self.mu[slots], self.x[slots])
        dt = (t_f - self.t[slots])[:, None]
        return xc, xc[:, 0:3] + xc[:, 3:6] * dt + 0.5 * xc[:, 6:9] * dt * dt, dt

    def _pregate(self, alive: NDArray[np.intp], t_f: float, z: F64, Rz: F64) -> NDArray[np.intp]:
        """Tracks whose crude extrapolation comes near any detection of the frame."""
        _, r, dt = self._crude(alive, t_f)
        P = np.einsum("tm,tmij->tij", self.mu[alive], self.P[alive])
        spread = (
            np.trace(P[:, 0:3, 0:3], axis1=1, axis2=2)
            + np.trace(P[:, 3:6, 3:6], axis1=1, axis2=2) * dt[:, 0] ** 2
            + (60.0 * dt[:, 0] ** 2) ** 2
        )
        spread_d = np.trace(Rz, axis1=1, axis2=2)
        d2 = np.einsum("tdi,tdi->td", z[None] - r[:, None], z[None] - r[:, None])
        near = d2 <= 49.0 * (spread[:, None] + spread_d[None, :]) + 4e6
        return alive[near.any(axis=1)]

    def _update(
        self,
        slots: NDArray[np.intp],
        xp: F64,
        Pp: F64,
        mup: F64,
        det_rows: NDArray[np.intp],
        t_f: float,
        extra_var: F64 | None = None,
    ) -> None:
        site_r = self.sites.r_ecef_m[self._site[det_rows]]  # type: ignore[index]
        Rz = self._Rz[det_rows]  # type: ignore[index]
        rr = self._rr[det_rows]
        if extra_var is not None and np.any(extra_var > 0.0):
            Rz = Rz + extra_var[:, None, None] * np.eye(3)
            rr = np.where(extra_var > 0.0, np.nan, rr)  # a merged return's Doppler is mixed
        res = imm_update(
            xp,
            Pp,
            mup,
            self._z[det_rows],  # type: ignore[index]
            Rz,
            rr,
            self._srr[det_rows],  # type: ignore[index]
            site_r,
            self.cfg.filter,
        )
        self.x[slots], self.P[slots], self.mu[slots] = res.x, res.P, res.mu
        self.t[slots] = t_f
        self.last_s[slots] = t_f
        self.hits[slots] += 1
        self._apply_locks(slots)
        sids, rcs_db, log = self._sid_list, self._rcs_list, self._log
        pbs = self.mu[slots, self._boost].tolist()
        for s, k, pb in zip(slots.tolist(), det_rows.tolist(), pbs, strict=True):
            inf = self.info[s]
            assert inf is not None
            log.append((inf.track_id, k))
            v = rcs_db[k]
            if math.isfinite(v):
                acc = inf.rcs.get(sids[k])
                if acc is None:
                    acc = inf.rcs[sids[k]] = [0.0, 0.0]
                acc[0] += v
                acc[1] += 1.0
            if pb < 0.1:
                if not math.isfinite(inf.ballistic_since_s):
                    inf.ballistic_since_s = t_f
                elif t_f - inf.ballistic_since_s >= self.cfg.lock_ballistic_after_s:
                    inf.locked = True
            elif pb > 0.5:
                inf.ballistic_since_s = math.nan
            if pb > 0.5:
                inf.last_boost_s = t_f
                if inf.parent_id < 0 and len(inf.early) < 40:
                    inf.early.append((t_f, self._z[k].copy(), self._Rz[k].copy()))  # type: ignore[index]
            elif math.isfinite(inf.last_boost_s) and t_f - inf.last_boost_s > 15.0:
                if inf.burnout_x is None or inf.burnout_s < inf.last_boost_s:
                    xc, _ = combine(self.x[s : s + 1], self.P[s : s + 1], self.mu[s : s + 1])
                    inf.burnout_s = t_f
                    inf.burnout_x = xc[0].copy()

    def _apply_locks(self, slots: NDArray[np.intp]) -> None:
        """Locked tracks: the boost model is pinned to the ballistic one at a floor weight."""
        if self._m != 2:
            return
        b, c = self._boost, 1 - self._boost
        for s in slots.tolist():
            inf = self.info[s]
            if inf is not None and inf.locked:
                self.x[s, b] = self.x[s, c]
                self.P[s, b] = self.P[s, c]
                self.mu[s, b] = self.cfg.filter.min_probability
                self.mu[s, c] = 1.0 - self.cfg.filter.min_probability

    def _jpda_update(
        self,
        cand: NDArray[np.intp],
        xp: F64,
        Pp: F64,
        mup: F64,
        beta: F64,
        rows: NDArray[np.intp],
        t_f: float,
    ) -> None:
        """Cheap-JPDA: each gated track updated with its β-weighted mixture (PDA form,
        approximated by updating with the β-weighted mean detection and inflating R by
        the spread of the gated detections)."""
        w = beta.sum(axis=1)
        upd = np.flatnonzero(w > 1e-3)
        if upd.size == 0:
            return
        z, Rz = self._z[rows], self._Rz[rows]  # type: ignore[index]
        b = beta[upd] / w[upd, None]
        zbar = b @ z
        dz = z[None] - zbar[:, None]
        spread = np.einsum("td,tdi,tdj->tij", b, dz, dz)
        Rbar = np.einsum("td,dij->tij", b, Rz) + spread
        best = rows[beta[upd].argmax(axis=1)]
        # treat as one detection each: the β-weighted mean with its inflated covariance
        site_r = self.sites.r_ecef_m[self._site[best]]  # type: ignore[index]
        res = imm_update(
            xp[upd],
            Pp[upd],
            mup[upd],
            zbar,
            Rbar / np.maximum(w[upd], 1e-3)[:, None, None],
            np.full(upd.size, np.nan),
            np.full(upd.size, np.nan),
            site_r,
            self.cfg.filter,
        )
        s = cand[upd]
        self.x[s], self.P[s], self.mu[s], self.t[s] = res.x, res.P, res.mu, t_f
        self.last_s[s] = t_f
        self.hits[s] += 1
        for sl, k in zip(s.tolist(), best.tolist(), strict=True):
            self._log.append((self.info[sl].track_id, k))  # type: ignore[union-attr]

    # -- track birth ---------------------------------------------------------------------
    def _spawn_parents(self, ks: NDArray[np.intp], t_f: float) -> NDArray[np.intp]:
        """For each unassigned detection, the confirmed track it most likely separated
        from, or -1.

        Candidates lie within ``spawn_radius_m`` (crude extrapolation) and, where the
        detection has a range rate, within ``spawn_dv_mps`` of the parent's range rate
        (five times that while the parent thrusts: a spent stage drops behind fast).
        """
        cfg = self.cfg
        out = np.full(ks.size, -1, dtype=np.intp)
        slots = np.flatnonzero(self.alive & self.confirmed)
        if slots.size == 0:
            return out
        xc, r, _ = self._crude(slots, t_f)  # (C, 3) positions
        z = self._z[ks]  # type: ignore[index]
        dr = np.linalg.norm(z[:, None, :] - r[None, :, :], axis=2)  # (L, C)
        ok = dr <= cfg.spawn_radius_m
        if not np.any(ok):
            return out
        boosting = self.mu[slots, self._boost] > 0.5
        rr = self._rr[ks]
        has = np.isfinite(rr)
        if np.any(has):
            site = self.sites.r_ecef_m[self._site[ks]]  # type: ignore[index]
            u = r[None, :, :] - site[:, None, :]
            u /= np.linalg.norm(u, axis=2, keepdims=True)
            rr_p = np.einsum("lti,ti->lt", u, xc[:, 3:6])
            lim = np.where(boosting, 5.0 * cfg.spawn_dv_mps, cfg.spawn_dv_mps)
            ok &= ~has[:, None] | (np.abs(rr_p - rr[:, None]) <= lim[None, :])
        best = np.where(ok, dr, np.inf).argmin(axis=1)
        found = ok.any(axis=1)
        out[found] = slots[best[found]]
        return out

    def _spawn_child(self, parent_slot: int, k: int, t_f: float) -> None:
        """A new track on detection ``k`` started from its parent's state: the parent's
        velocity and thrust-free dynamics as the prior (position and velocity widened
        by the separation), then updated with the detection, range rate included."""
        cfg = self.cfg
        dt = np.array([t_f - self.t[parent_slot]])
        xp, Pp, _ = imm_predict(
            self.x[parent_slot : parent_slot + 1],
            self.P[parent_slot : parent_slot + 1],
            self.mu[parent_slot : parent_slot + 1],
            dt,
            cfg.filter,
        )
        x = xp[0].copy()
        P = Pp[0].copy()
        z = self._z[k]  # type: ignore[index]
        off = float(np.linalg.norm(x[0, 0:3] - z))
        boosting = float(self.mu[parent_slot, self._boost]) > 0.5
        sv = cfg.child_velocity_sigma_mps * (10.0 if boosting else 1.0)
        x[:, 0:3] = z
        P[:, 0:3, :] = 0.0
        P[:, :, 0:3] = 0.0
        P[:, 0:3, 0:3] = np.eye(3) * (off * off + 1e4)
        P[:, 3:6, 3:6] += np.eye(3) * sv**2
        # a child is coasting: its own thrust states start at zero
        x[:, 6:9] = 0.0
        P[:, 6:9, :] = 0.0
        P[:, :, 6:9] = 0.0
        P[:, 6:9, 6:9] = np.eye(3) * 4.0
        x[:, 9] = cfg.init_k_drag_m2pkg
        P[:, 9, :] = 0.0
        P[:, :, 9] = 0.0
        P[:, 9, 9] = cfg.init_k_drag_sigma_m2pkg**2
        mu = np.full(self._m, 0.02 / max(self._m - 1, 1))
        mu[1 - self._boost if self._m == 2 else 0] = 0.98
        site_r = self.sites.r_ecef_m[self._site[[k]]]  # type: ignore[index]
        res = imm_update(
            x[None],
            P[None],
            mu[None],
            z[None],
            self._Rz[[k]],  # type: ignore[index]
            self._rr[[k]],
            self._srr[[k]],
            site_r,
            cfg.filter,  # type: ignore[index]
        )
        x, P, mu = res.x[0], res.P[0], res.mu[0]
        parent = self.info[parent_slot]
        assert parent is not None
        in_boost = float(self.mu[parent_slot, self._boost]) > 0.5 or (
            t_f - parent.last_boost_s < 10.0
        )
        s = self._add_track(x, P, mu, t_f, parent.track_id, 1, spawned_in_boost=in_boost)
        if parent.locked:
            self.info[s].locked = True  # type: ignore[union-attr]
            self._apply_locks(np.array([s]))
        self._log.append((self.info[s].track_id, k))  # type: ignore[union-attr]

    def _pairing(self, ks: NDArray[np.intp], t_f: float) -> None:
        """Two-point initiation, for all of a frame's unassigned detections at once:
        which waiting single detections each could pair with (their implied speed under
        ``max_speed_mps``, their implied range rate consistent with the measured one) and
        how well. :meth:`_initiate` then takes each detection's best unused pair."""
        cfg = self.cfg
        z, Rz = self._z, self._Rz
        det = self._det
        assert z is not None and Rz is not None and det is not None
        t_rows = det.time_s[self._init_rows]
        if t_rows.size and t_f - t_rows.min() > cfg.init_max_gap_s:
            keep = t_f - t_rows <= cfg.init_max_gap_s
            self._init_rows, t_rows = self._init_rows[keep], t_rows[keep]
        cands = self._init_rows[t_rows <= t_f - cfg.init_min_gap_s]
        self._pair_row = {int(k): i for i, k in enumerate(ks.tolist())}
        self._pair_cands = cands
        self._pair_used = np.zeros(cands.size, dtype=bool)
        if cands.size == 0 or ks.size == 0:
            self._pair_score = np.full((ks.size, cands.size), np.inf)
            return
        gap = t_f - det.time_s[cands]  # (C,)
        d = z[ks][:, None, :] - z[cands][None, :, :]  # (L, C, 3)
        dist = np.linalg.norm(d, axis=2)
        spread = np.sqrt(
            np.trace(Rz[cands], axis1=1, axis2=2)[None, :]
            + np.trace(Rz[ks], axis1=1, axis2=2)[:, None]
        )
        tol = 4.0 * spread + 0.5 * 80.0 * gap**2
        reach = cfg.max_speed_mps * gap + tol
        ok = dist <= reach
        score = dist / reach
        rr = self._rr[ks]
        has = np.isfinite(rr)
        if np.any(has):
            u = z[ks] - self.sites.r_ecef_m[self._site[ks]]  # type: ignore[index]
            u /= np.linalg.norm(u, axis=1, keepdims=True)
            vr = np.einsum("lci,li->lc", d, u) / gap[None, :]
            rr_tol = 4.0 * (spread / gap[None, :] + self._srr[ks][:, None]) + 80.0 * gap  # type: ignore[index]
            miss = np.abs(vr - rr[:, None])
            ok = np.where(has[:, None], ok & (miss <= rr_tol), ok)
            score = np.where(has[:, None], miss / rr_tol, score)
        self._pair_score = np.where(ok, score, np.inf)

    def _initiate(self, k: int, t_f: float) -> None:
        cfg = self.cfg
        z, Rz = self._z, self._Rz
        det = self._det
        assert z is not None and Rz is not None and det is not None
        best = -1
        row = self._pair_score[self._pair_row[k]]
        if row.size:
            i = int(np.argmin(np.where(self._pair_used, np.inf, row)))
            if math.isfinite(row[i]) and not self._pair_used[i]:
                best = int(self._pair_cands[i])
                self._pair_used[i] = True
        if best < 0:
            self._init_rows = np.append(self._init_rows, k)
            return
        self._init_rows = self._init_rows[self._init_rows != best]
        gap = float(t_f - det.time_s[best])
        g = gravity_accel_mps2(z[k][None])[0]
        v = (z[k] - z[best]) / gap + 0.5 * g * gap
        speed = float(np.linalg.norm(v))
        if speed > cfg.max_speed_mps:
            v *= cfg.max_speed_mps / speed
        x = np.zeros(N_STATE)
        x[0:3], x[3:6], x[9] = z[k], v, cfg.init_k_drag_m2pkg
        P = np.zeros((N_STATE, N_STATE))
        P[0:3, 0:3] = Rz[k]
        P[0:3, 3:6] = Rz[k] / gap
        P[3:6, 0:3] = Rz[k] / gap
        P[3:6, 3:6] = (Rz[k] + Rz[best]) / gap**2 + np.eye(3) * (
            0.5 * cfg.init_accel_sigma_mps2 * gap
        ) ** 2
        P[6:9, 6:9] = np.eye(3) * cfg.init_accel_sigma_mps2**2
        P[9, 9] = cfg.init_k_drag_sigma_m2pkg**2
        xs = np.broadcast_to(x, (self._m, N_STATE)).copy()
        Ps = np.broadcast_to(P, (self._m, N_STATE, N_STATE)).copy()
        for j, model in enumerate(self.cfg.filter.models):
            if model.thrust_tau_s is not None:
                Ps[j, 6:9, 6:9] = np.eye(3) * 1.0
        mu = np.full(self._m, 1.0 / self._m)
        parent, in_boost = self._nearby_parent(x, t_f)
        s = self._add_track(xs, Ps, mu, t_f, parent, 2, spawned_in_boost=in_boost)
        tid = self.info[s].track_id  # type: ignore[union-attr]
        self._log.append((tid, best))
        self._log.append((tid, k))

    def _nearby_parent(self, x: F64, t_f: float) -> tuple[int, bool]:
        """The confirmed track a newborn object most likely came from: within
        ``parent_radius_m`` and ``parent_dv_mps`` of its state (crude extrapolation).
        Returns (track id or -1, whether that parent was thrusting)."""
        cfg = self.cfg
        slots = np.flatnonzero(self.alive & self.confirmed)
        if slots.size == 0:
            return -1, False
        xc, r, _ = self._crude(slots, t_f)
        dr = np.linalg.norm(r - x[0:3], axis=1)
        dv = np.linalg.norm(xc[:, 3:6] - x[3:6], axis=1)
        ok = (dr <= cfg.parent_radius_m) & (dv <= cfg.parent_dv_mps)
        if not np.any(ok):
            return -1, False
        i = np.flatnonzero(ok)[np.argmin(dr[ok])]
        s = int(slots[i])
        inf = self.info[s]
        assert inf is not None
        boosting = float(self.mu[s, self._boost]) > 0.5 or (t_f - inf.last_boost_s < 10.0)
        return inf.track_id, boosting

    # -- upkeep --------------------------------------------------------------------------
    def _maintain(self, t_f: float) -> None:
        cfg = self.cfg
        alive = np.flatnonzero(self.alive)
        if alive.size == 0:
            return
        coast = t_f - self.last_s[alive]
        conf = self.confirmed[alive]
        limit = np.where(
            conf,
            np.where(self.hits[alive] >= cfg.mature_updates, cfg.mature_coast_s, cfg.young_coast_s),
            cfg.tentative_coast_s,
        )
        # a thrusting object unseen for long is lost: its extrapolation runs away fast
        limit = np.where(
            self.mu[alive, self._boost] > 0.5, np.minimum(limit, cfg.boost_coast_s), limit
        )
        dead = coast > limit
        # divergence guard: non-finite states, lost position (σ > 30 km), below ground;
        # only states changed in this frame (the others passed it when they changed)
        bad = np.zeros(alive.size, dtype=bool)
        now = np.flatnonzero(self.t[alive] == t_f)
        if now.size:
            xs, Ps = self.x[alive[now]], self.P[alive[now]]
            b = ~np.all(np.isfinite(xs), axis=(1, 2)) | ~np.all(np.isfinite(Ps), axis=(1, 2, 3))
            tr = np.einsum("tmii->tm", Ps[:, :, 0:3, 0:3]).max(axis=1)
            b |= tr > (10_000.0**2)
            r2 = np.einsum("tmi,tmi->tm", xs[:, :, 0:3], xs[:, :, 0:3])
            b |= (r2.min(axis=1) < 6_340_000.0**2) | (r2.max(axis=1) > 12_000_000.0**2)
            v2 = np.einsum("tmi,tmi->tm", xs[:, :, 3:6], xs[:, :, 3:6])
            b |= v2.max(axis=1) > (1.5 * cfg.max_speed_mps) ** 2
            bad[now] = b
        dead |= bad
        for s in alive[dead & ~bad & conf].tolist():
            self._go_dormant(s)
        for s in alive[dead].tolist():
            self.alive[s] = False
        new = alive[~conf & ~dead & (self.hits[alive] >= cfg.confirm_hits)]
        for s in new.tolist():
            inf = self.info[s]
            assert inf is not None
            if t_f - inf.created_s <= cfg.confirm_window_s:
                self.confirmed[s] = True
                inf.confirmed_s = t_f
                if cfg.resume_tracks:
                    self._resume(s, t_f)
            else:
                self.alive[s] = False

    def _go_dormant(self, s: int) -> None:
        """Keep a confirmed track that coasted out of coverage, to resume it later."""
        xc, Pc = combine(self.x[s : s + 1], self.P[s : s + 1], self.mu[s : s + 1])
        inf = self.info[s]
        assert inf is not None
        if not inf.locked:
            return  # only coasting (ballistic) objects are predictable across a gap
        self._dormant.append((float(self.t[s]), xc[0].copy(), Pc[0].copy(), inf))
        if len(self._dormant) > 500:
            self._dormant = self._dormant[-500:]

    def _resume(self, s: int, t_f: float) -> None:
        """Track resumption: a newly confirmed track that continues a dormant one (its
        ballistic prediction across the gap, with the covariance carried by the
        transition matrix, within χ²(6) at ``resume_gate_probability`` in position and
        velocity, after a gap of ``resume_min_gap_s`` or more, and the only dormant track
        that fits) takes over that track's number and lineage (its kind is derived anew)."""
        cfg = self.cfg
        cands = [d for d in self._dormant if 0.0 < t_f - d[0] <= cfg.resume_max_gap_s]
        if not cands:
            return
        x0 = np.array([d[1] for d in cands])
        P0 = np.array([d[2] for d in cands])
        dt = np.array([t_f - d[0] for d in cands])
        xp, phi = propagate(x0, dt, BALLISTIC, max_step_s=30.0, with_stm=True)
        Pp = phi @ P0 @ np.swapaxes(phi, -1, -2)
        xn, Pn = combine(self.x[s : s + 1], self.P[s : s + 1], self.mu[s : s + 1])
        d = xn[0, :6] - xp[:, :6]
        S = Pp[:, :6, :6] + Pn[0, :6, :6]
        try:
            d2 = np.einsum("ki,ki->k", d, np.linalg.solve(S, d[..., None])[..., 0])
        except np.linalg.LinAlgError:
            return
        ok = d2 <= chi2_gate(6, cfg.resume_gate_probability)
        if np.count_nonzero(ok) != 1:
            return  # nothing continues, or ambiguous (a cloud): start a new identity
        best = int(np.flatnonzero(ok)[0])
        old = cands[best][3]
        inf = self.info[s]
        assert inf is not None
        self._alias[inf.track_id] = old.track_id
        inf.track_id = old.track_id
        inf.parent_id = old.parent_id
        inf.root_id = old.root_id
        # the kind is re-derived from the new evidence: a wrong resumption in a cloud
        # must not freeze a wrong kind onto the warhead
        inf.burnout_x, inf.burnout_s = old.burnout_x, old.burnout_s
        inf.locked = True
        self._dormant = [d for d in self._dormant if d[3] is not old]

    # -- output ----------------------------------------------------------------------------
    def _emit_until(self, t_s: float) -> None:
        while self._epoch_i < len(self._epochs) and self._epochs[self._epoch_i] < t_s:
            self._emit(float(self._epochs[self._epoch_i]))
            self._epoch_i += 1

    def _emit(self, t_e: float) -> None:
        slots = np.flatnonzero(self.alive & self.confirmed)
        if slots.size == 0:
            return
        dt = t_e - self.t[slots]
        xp, Pp, mup = imm_predict(self.x[slots], self.P[slots], self.mu[slots], dt, self.cfg.filter)
        xc, Pc = combine(xp, Pp, mup)
        # a prediction that left the physical envelope is a lost track: never emit it
        r2 = np.einsum("ti,ti->t", xc[:, 0:3], xc[:, 0:3])
        lost = ~(np.isfinite(xc).all(axis=1) & np.isfinite(Pc).all(axis=(1, 2)))
        lost |= (r2 < 6_340_000.0**2) | (r2 > 12_000_000.0**2)
        lost |= np.einsum("tii->t", Pc[:, 0:3, 0:3]) > 10_000.0**2  # as _maintain's guard
        if np.any(lost):
            self.alive[slots[lost]] = False
        self._deduplicate(slots, xc, Pc)
        keep = self.alive[slots]
        slots, xp, Pp, mup, xc, Pc = (a[keep] for a in (slots, xp, Pp, mup, xc, Pc))
        if slots.size == 0:
            return
        if self._handover(slots, mup, t_e):
            xp, Pp, mup = imm_predict(
                self.x[slots], self.P[slots], self.mu[slots], t_e - self.t[slots], self.cfg.filter
            )
            xc, Pc = combine(xp, Pp, mup)
        self._classify(slots, xc, mup, t_e)
        self._products(slots, xc, Pc, mup, t_e)
        iu = np.triu_indices(6)
        infos = [self.info[s] for s in slots.tolist()]
        n = slots.size
        block: dict[str, NDArray] = {
            "time_s": np.full(n, t_e),
            "track_id": np.array([f.track_id for f in infos], dtype=np.int64),  # type: ignore[union-attr]
            "x_ecef_m": xc[:, 0],
            "y_ecef_m": xc[:, 1],
            "z_ecef_m": xc[:, 2],
            "vx_ecef_mps": xc[:, 3],
            "vy_ecef_mps": xc[:, 4],
            "vz_ecef_mps": xc[:, 5],
        }
        cov = Pc[:, iu[0], iu[1]]
        for j, name in enumerate(COV_COLUMNS):
            block[name] = cov[:, j]
        per = [_output_fields(f) for f in infos]  # type: ignore[arg-type]
        cols = list(zip(*per, strict=True))
        block["kind"] = np.array(cols[0], dtype=np.str_)
        block["kind_confidence"] = np.array(cols[1], dtype=float)
        block["parent_track_id"] = np.array(cols[2], dtype=np.int64)
        block["boost_probability"] = mup[:, self._boost].copy()
        block["n_updates"] = self.hits[slots].astype(np.int64)
        block["impact_lat_deg"] = np.degrees(np.array(cols[3], dtype=float))
        block["impact_lon_deg"] = np.degrees(np.array(cols[4], dtype=float))
        block["impact_time_s"] = np.array(cols[5], dtype=float)
        block["impact_semi_major_m"] = np.array(cols[6], dtype=float)
        block["impact_semi_minor_m"] = np.array(cols[7], dtype=float)
        block["impact_orientation_deg"] = np.degrees(np.array(cols[8], dtype=float))
        block["launch_lat_deg"] = np.degrees(np.array(cols[9], dtype=float))
        block["launch_lon_deg"] = np.degrees(np.array(cols[10], dtype=float))
        block["launch_time_s"] = np.array(cols[11], dtype=float)
        self._rows.append(block)

    def _products(self, slots: NDArray[np.intp], xc: F64, Pc: F64, mup: F64, t_e: float) -> None:
        for i, s in enumerate(slots.tolist()):
            if mup[i, self._boost] >= 0.5:  # thrusting: no ballistic impact point yet
                self.info[s].impact = None  # type: ignore[union-attr]
                self.info[s].impact_at_s = -math.inf  # type: ignore[union-attr]
        due = [
            i
            for i, s in enumerate(slots.tolist())
            if mup[i, self._boost] < 0.5
            and t_e - self.info[s].impact_at_s >= self._impact_period(self.info[s], t_e)  # type: ignore[arg-type]
        ]
        if due:
            idx = np.array(due, dtype=np.intp)
            preds = products.predict_impacts(xc[idx], Pc[idx], np.full(idx.size, t_e))
            for i, p in zip(idx.tolist(), preds, strict=True):
                inf = self.info[slots[i]]
                inf.impact = p  # type: ignore[union-attr]
                inf.impact_at_s = t_e  # type: ignore[union-attr]
        for s in slots.tolist():
            inf = self.info[s]
            assert inf is not None
            if inf.launch is None and inf.parent_id < 0 and len(inf.early) >= 6:
                ts = np.array([e[0] for e in inf.early])
                if ts[-1] - ts[0] >= 8.0:
                    zs = np.array([e[1] for e in inf.early])
                    Rs = np.array([e[2] for e in inf.early])
                    try:
                        inf.launch = products.estimate_launch(ts, zs, Rs)
                    except ValueError:
                        inf.launch = None
                    if inf.launch is None:
                        inf.early = inf.early[-20:]

    def _handover(self, slots: NDArray[np.intp], mup: F64, t_e: float) -> bool:
        """Keep a track number on the thrusting stack through a stage separation.

        A child born in boost that keeps thrusting while its parent coasts is the
        stack, and the parent is the spent stage: swap their states. If the parent
        has died meanwhile, the child takes over the parent's number.
        """
        pos = {int(s): i for i, s in enumerate(slots.tolist())}
        swapped = False
        for s in slots.tolist():
            inf = self.info[s]
            assert inf is not None
            if not inf.spawned_in_boost or t_e - inf.created_s > 40.0:
                continue
            if float(mup[pos[s], self._boost]) < 0.8:
                continue
            ps = self._slot_of(inf.parent_id)
            if ps is None:
                inf.track_id, inf.parent_id = inf.parent_id, self._parent_of.get(inf.parent_id, -1)
                inf.spawned_in_boost = False
                continue
            if ps in pos and float(mup[pos[ps], self._boost]) < 0.2 and self.confirmed[ps]:
                self._swap(ps, s)
                mup[[pos[ps], pos[s]]] = mup[[pos[s], pos[ps]]]
                swapped = True
        return swapped

    def _deduplicate(self, slots: NDArray[np.intp], xc: F64, Pc: F64) -> None:
        """Two confirmed tracks statistically on one object for 3 epochs: the younger dies.

        "On one object": position and velocity within χ²(6) at 99 % of each other under
        their summed covariances (only pairs closer than 5 km are tested).
        """
        n = slots.size
        if n < 2:
            self._dup = {}
            return
        iu, ju = np.triu_indices(n, 1)
        close = np.einsum("ki,ki->k", xc[iu, 0:3] - xc[ju, 0:3], xc[iu, 0:3] - xc[ju, 0:3])
        keep = close < 5_000.0**2
        iu, ju = iu[keep], ju[keep]
        if iu.size == 0:
            self._dup = {}
            return
        d = xc[iu, :6] - xc[ju, :6]
        S = Pc[iu, :6, :6] + Pc[ju, :6, :6]
        try:
            sol = np.linalg.solve(S, d[..., None])[..., 0]
        except np.linalg.LinAlgError:
            return
        same = np.einsum("ki,ki->k", d, sol) < 16.8  # χ²(6) at 99 %
        counts: dict[tuple[int, int], int] = {}
        for a, b in zip(iu[same].tolist(), ju[same].tolist(), strict=True):
            ia, ib = self.info[slots[a]], self.info[slots[b]]
            assert ia is not None and ib is not None
            key = (min(ia.track_id, ib.track_id), max(ia.track_id, ib.track_id))
            counts[key] = self._dup.get(key, 0) + 1
            if counts[key] >= 3:
                young = slots[b] if ib.created_s >= ia.created_s else slots[a]
                self.alive[young] = False
        self._dup = counts

    def _impact_period(self, inf: _Info, t_e: float) -> float:
        """Seconds between impact predictions: ``impact_every_s``, stretched to 5 % of the
        time left to impact (at most ``impact_max_every_s``) while impact is far off."""
        imp = inf.impact
        if imp is None:
            return self.cfg.impact_every_s
        left = float(imp.time_s) - t_e  # type: ignore[attr-defined]
        return min(max(0.05 * left, self.cfg.impact_every_s), self.cfg.impact_max_every_s)

    def _classify(self, slots: NDArray[np.intp], xc: F64, mup: F64, t_e: float) -> None:
        """Kind and confidence of each emitted track (module docstring).

        Boost phase: a thrusting track is the missile (it carries the warhead); a track
        born off a thrusting parent is a spent stage. After the burns, tracks within
        ``cluster_radius_m`` of one another form a cluster: members whose mean RCS
        (radar by radar) stands ``stage_rcs_margin_db`` above the cluster's smallest are
        stages; of the rest, the one moving most like the last stage body (the RV leaves
        it at ~1 m/s, debris at ~15 m/s) — or, with no stage in view, like the family's
        burnout trajectory — is the warhead. That choice is smoothed over
        ``warhead_memory_s`` and frozen below ``freeze_below_m``, where drag separates
        all velocities; the others are debris. With no reference motion in view the
        choice rests on RCS alone, and only when the candidates' RCS differ by ≥ 3 dB;
        otherwise the non-stage members are ``unknown``.
        """
        cfg = self.cfg
        h = height_m(xc[:, 0:3])
        post: list[int] = []
        pbs = mup[:, self._boost].tolist()
        low_climb = ((np.einsum("ti,ti->t", xc[:, 3:6], xc[:, 0:3]) > 0.0) & (h < 150e3)).tolist()
        for i, s in enumerate(slots.tolist()):
            inf = self.info[s]
            assert inf is not None
            pb = pbs[i]
            young_launch = inf.parent_id < 0 and inf.created_s > t_e - 60.0 and low_climb[i]
            if not inf.spawned_in_boost and (
                pb > 0.5 or t_e - inf.last_boost_s < 30.0 or young_launch
            ):
                # thrusting, or between two burns: the missile itself
                inf.kind, inf.kind_confidence = "warhead", max(pb, 0.8)
                inf.warhead_score = 1.0
            elif inf.spawned_in_boost:
                inf.kind, inf.kind_confidence = "stage", 0.9
            else:
                post.append(i)
        if not post:
            return
        pidx = np.array(post)
        d = np.linalg.norm(xc[pidx, None, 0:3] - xc[None, pidx, 0:3], axis=2)
        label = _components(d <= cfg.cluster_radius_m)
        dt_c = t_e - getattr(self, "_last_classify_s", t_e - 1.0)
        alpha = 1.0 - math.exp(-max(dt_c, 0.0) / cfg.warhead_memory_s)
        size = np.bincount(label)
        # a lone body (the common case): no RCS to compare, no neighbour to move with; it
        # is the warhead if it descends from a launch whose burnout the node saw
        for j in np.flatnonzero(size[label] == 1).tolist():
            i = post[j]
            f = self.info[slots[i]]
            assert f is not None
            if h[i] > cfg.freeze_below_m:
                target = 1.0 if f.burnout_x is not None else 0.0
                f.warhead_score += alpha * (target - f.warhead_score)
            if f.warhead_score > 0.3:
                f.kind, f.kind_confidence = "warhead", float(f.warhead_score)
            else:
                f.kind, f.kind_confidence = "unknown", 0.0
        for lab in np.flatnonzero(size > 1).tolist():
            members = [post[j] for j in np.flatnonzero(label == lab).tolist()]
            infos = [self.info[slots[i]] for i in members]
            excess = _rcs_excess([f.rcs for f in infos])  # type: ignore[union-attr]
            is_stage = excess >= cfg.stage_rcs_margin_db
            cand = np.flatnonzero(~is_stage)
            if cand.size == 0:
                for n_, f in enumerate(infos):
                    f.kind, f.kind_confidence = "stage", float(min(0.99, 0.5 + excess[n_] / 20))  # type: ignore[union-attr]
                continue
            v = xc[members, 3:6]
            high = bool(np.min(h[members]) > cfg.freeze_below_m)
            if high:
                stages = np.flatnonzero(is_stage)
                if stages.size:
                    dv = np.min(
                        np.linalg.norm(v[cand, None, :] - v[None, stages, :], axis=2), axis=1
                    )
                else:
                    roots = [f for f in infos if f.burnout_x is not None]  # type: ignore[union-attr]
                    if roots:
                        r0 = roots[0]
                        ref = propagate(r0.burnout_x[None], t_e - r0.burnout_s, BALLISTIC)  # type: ignore[union-attr,index]
                        dv = np.linalg.norm(v[cand] - ref[0, 3:6], axis=1)
                    else:
                        dv = np.full(cand.size, np.nan)  # no reference motion in view
                # evidence of being the RV: it moves with the stage body (1 m/s vs debris'
                # 15 m/s) and returns more than the fragments (RV 0.01-0.3 m², debris
                # 0.02 m²: ≈ rv_excess_db above the smallest body in view)
                has_ref = bool(np.all(np.isfinite(dv)))
                dv_term = (dv / cfg.rv_dv_scale_mps) ** 2 if has_ref else 0.0
                score = -dv_term - ((excess[cand] - cfg.rv_excess_db) / cfg.rv_excess_scale_db) ** 2
                # a choice needs something to tell the candidates apart: a reference
                # motion (stage body or burnout trajectory), or RCS spread among several
                rcs_spread = cand.size >= 2 and float(np.ptp(excess[cand])) >= 3.0
                informative = (
                    has_ref and (cand.size == 1 or np.ptp(dv) > 0.0 or rcs_spread)
                ) or rcs_spread
                pick = int(cand[np.argmax(score)]) if informative else -1
                for n_ in cand.tolist():
                    f = infos[n_]
                    target = 1.0 if n_ == pick else 0.0
                    f.warhead_score += alpha * (target - f.warhead_score)  # type: ignore[union-attr]
            scores = np.array([infos[n_].warhead_score for n_ in cand.tolist()])  # type: ignore[union-attr]
            best = int(cand[np.argmax(scores)]) if scores.max() > 0.3 else -1
            for n_, f in enumerate(infos):
                if is_stage[n_]:
                    f.kind, f.kind_confidence = "stage", float(min(0.99, 0.5 + excess[n_] / 20))  # type: ignore[union-attr]
                elif n_ == best:
                    f.kind, f.kind_confidence = "warhead", float(f.warhead_score)  # type: ignore[union-attr]
                elif best >= 0:
                    f.kind, f.kind_confidence = "debris", float(1.0 - f.warhead_score)  # type: ignore[union-attr]
                else:
                    # no evidence which one is the warhead: say so (a warning system must
                    # treat "unknown" as a possible warhead, never as debris)
                    f.kind, f.kind_confidence = "unknown", 0.0  # type: ignore[union-attr]
        self._last_classify_s = t_e

    def _swap(self, a: int, b: int) -> None:
        """Exchange the filter states (and measurement history) of two tracks."""
        for arr in (self.x, self.P, self.mu, self.t, self.hits, self.last_s):
            arr[[a, b]] = arr[[b, a]]
        ia, ib = self.info[a], self.info[b]
        assert ia is not None and ib is not None
        ia.rcs, ib.rcs = ib.rcs, ia.rcs
        ia.kind, ib.kind = ib.kind, ia.kind
        ia.kind_confidence, ib.kind_confidence = ib.kind_confidence, ia.kind_confidence
        ia.impact, ib.impact = ib.impact, ia.impact
        ia.impact_at_s = ib.impact_at_s = -math.inf
        ia.last_boost_s, ib.last_boost_s = ib.last_boost_s, ia.last_boost_s
        ia.warhead_score, ib.warhead_score = ib.warhead_score, ia.warhead_score


_NO_IMPACT = (math.nan,) * 6
_NO_LAUNCH = (math.nan,) * 3


def _output_fields(f: _Info) -> tuple:
    """A track's non-state output fields, in the order :meth:`Tracker._emit` reads them."""
    p, la = f.impact, f.launch
    imp = (
        (
            p.lat_rad,
            p.lon_rad,
            p.time_s,
            p.ellipse_semi_major_m,
            p.ellipse_semi_minor_m,
            p.ellipse_orientation_rad,
        )
        if p is not None
        else _NO_IMPACT
    )
    lau = (la.lat_rad, la.lon_rad, la.time_s) if la is not None else _NO_LAUNCH
    return (f.kind, f.kind_confidence, f.parent_id, *imp, *lau)


def _components(adj: NDArray[np.bool_]) -> NDArray[np.intp]:
    """Connected components of a symmetric adjacency matrix with a true diagonal: each
    node's label is the smallest node index of its component (label propagation; as
    many passes as the components' diameter, which is small for track clusters)."""
    n = adj.shape[0]
    label = np.arange(n)
    while True:
        new = np.where(adj, label[None, :], n).min(axis=1)
        if np.array_equal(new, label):
            return label
        label = new


def _rcs_excess(rcs: list[dict[str, list[float]]], min_samples: int = 5) -> F64:
    """Each body's mean relative RCS above the smallest body's, dB: for every pair the
    mean difference over the radars that measured both (≥ ``min_samples`` each), then
    the largest over the others (0 with no common radar)."""
    keys = sorted({k for d in rcs for k, v in d.items() if v[1] >= min_samples})
    n = len(rcs)
    if not keys or n < 2:
        return np.zeros(n)
    M = np.full((n, len(keys)), np.nan)
    for i, d in enumerate(rcs):
        for j, k in enumerate(keys):
            v = d.get(k)
            if v is not None and v[1] >= min_samples:
                M[i, j] = v[0] / v[1]
    D = M[:, None, :] - M[None, :, :]
    ok = np.isfinite(D)
    cnt = ok.sum(axis=2)
    mean = np.where(cnt > 0, np.where(ok, D, 0.0).sum(axis=2) / np.maximum(cnt, 1), -np.inf)
    np.fill_diagonal(mean, -np.inf)
    best = mean.max(axis=1)
    return np.where(np.isfinite(best), best, 0.0)


def _rows_to_columns(blocks: Sequence[dict[str, NDArray]]) -> dict[str, NDArray]:
    """Concatenate the per-epoch column blocks into the tracks table."""
    out: dict[str, NDArray] = {}
    for c in TRACK_COLUMNS:
        if blocks:
            out[c] = np.concatenate([b[c] for b in blocks])
        elif c == "kind":
            out[c] = np.empty(0, dtype=np.str_)
        elif c in ("track_id", "parent_track_id", "n_updates"):
            out[c] = np.empty(0, dtype=np.int64)
        else:
            out[c] = np.empty(0)
    return out


def track_detections(
    detections: DetectionBatch,
    sites: SensorSites,
    *,
    config: TrackerConfig | None = None,
    every_s: float = 1.0,
    t_end_s: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> TrackOutput:
    """Run one node's tracker over its detections (the detections' sensors must be in
    ``sites``)."""
    return Tracker(sites, config).run(
        detections, every_s=every_s, t_end_s=t_end_s, progress=progress
    )
