"""Threat assessment of every tracked object: where it may fall, what it may fly over, when.

:func:`assess` takes one epoch of a picture — a column table of tracks (a national
tracks table's rows at one time, or the hub's system tracks with the reporting nation's
impact columns) — and returns a :class:`TrackAssessment` per track:

Impact probability per region
    The predicted impact point is a 2-D Gaussian in the local north/east plane at its
    mean (the tracks table's ``impact_*`` columns: mean, 95 % ellipse → covariance by
    :meth:`ImpactPrediction.from_tracks_row`; where they are missing, the track state is
    flown to the ground by :func:`trilink.tracking.products.predict_impacts` with
    ``k_drag`` = :attr:`AssessmentConfig.k_drag_m2pkg`). ``P(impact in R)`` is
    estimated with ``n_impact_samples`` fixed quasi-random draws ``z ~ N(0, I₂)``
    (the same for every track and epoch: a pure function of the input), mapped by the
    Cholesky factor of the covariance to N/E offsets, placed on the ellipsoid through
    the tangent plane, and located in the prefectures, the territorial sea and the EEZ
    (:mod:`trilink.warning.regions`). Standard error ≤ 0.5/√n (0.016 for n = 1,000).

Overflight probability per region
    ``n_state_samples`` draws of the 6-state from its covariance (fixed antithetic
    normal draws, as above) fly ballistically (no thrust, drag ``k_drag_m2pkg``) under
    :func:`trilink.tracking.dynamics.propagate` in fixed steps of ``step_s`` until every
    draw is below ``atmosphere_top_m`` and descending (or ``horizon_s``). The ground
    track of each draw while it is above ``atmosphere_top_m`` (geodetic positions at
    the steps, linearly interpolated ``substeps`` times between them) is located in the
    prefectures; ``P(overflight of R)`` is the fraction of draws with a point over R,
    and the overflight time the median over those draws of the first such point.
    Above 100 km drag changes the path by metres: the ballistic arc is what matters.

Kinds
    Every object is assessed. ``possible_warhead`` is true for ``warhead`` and
    ``unknown`` (and where the hub says a contributor reports a warhead); ``stage`` and
    ``debris`` are assessed as falling hazards but the policy never calls them "the
    missile".

Thrust
    A track still thrusting has a ballistic prediction that moves with every second of
    burn (the instantaneous impact point sweeps downrange). ``thrusting`` is the
    tracker's ``boost_probability`` ≥ 0.5 where the table has it, else the
    non-gravitational acceleration estimated from the previous epoch's state of the
    same track (:func:`thrust_from_history`) above ``thrust_accel_mps2``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from trilink.fusion.reports import covariance_from_columns
from trilink.geo.frames import ecef_to_geodetic, enu_rotation, geodetic_to_ecef
from trilink.geo.gravity import apparent_accel_ecef_mps2, gravity_accel_mps2
from trilink.tracking.dynamics import N_STATE, height_m, height_rate_mps, propagate
from trilink.tracking.products import ImpactPrediction, predict_impacts
from trilink.warning.regions import (
    RegionSet,
    japan_eez,
    japan_prefectures,
    japan_territorial_sea,
)

F64 = NDArray[np.float64]

__all__ = [
    "AssessmentConfig",
    "EpochAssessment",
    "TrackAssessment",
    "assess",
    "thrust_from_history",
    "track_ids",
]

_STATE_COLUMNS = ("x_ecef_m", "y_ecef_m", "z_ecef_m", "vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps")
_IMPACT_COLUMNS = (
    "impact_lat_deg",
    "impact_lon_deg",
    "impact_time_s",
    "impact_semi_major_m",
    "impact_semi_minor_m",
    "impact_orientation_deg",
)
_JAPAN_BOX_DEG = (120.0, 160.0, 18.0, 48.0)
"""(west, east, south, north): ground-track points outside cannot be over a prefecture."""


@dataclass(frozen=True, kw_only=True)
class AssessmentConfig:
    """Assessment parameters (module docstring); defaults documented and tested."""

    atmosphere_top_m: float = 100_000.0
    """Top of the sensible atmosphere (the Kármán line): overflight counts above it."""
    step_s: float = 10.0
    """Fixed propagation step for the ground track, s (≤ 40 km of ground at 4 km/s)."""
    substeps: int = 5
    """Linear interpolation points per step on the ground track (≤ 8 km apart)."""
    horizon_s: float = 900.0
    """Longest flight propagated for the ground track, s. Overflights further ahead than
    the policy's ``max_lead_s`` (600 s) cannot raise a take-cover, so 900 s is enough
    (3,000 s cost 7× more on the seed and gave the same alerts)."""
    n_state_samples: int = 48
    """State draws for the overflight probability (even: antithetic pairs)."""
    n_impact_samples: int = 1_000
    """Impact-point draws for the impact probabilities."""
    seed: int = 7
    """Seed of the fixed draws (the same draws for every track and epoch)."""
    k_drag_m2pkg: float = 0.0
    """Drag parameter Cd·A/m for state-based predictions (tables carry no k_drag)."""
    thrust_accel_mps2: float = 5.0
    """Non-gravitational acceleration above which a track without ``boost_probability``
    counts as thrusting, m/s²."""
    min_probability: float = 1e-3
    """Probabilities below this are left out of the result maps."""

    def __post_init__(self) -> None:
        if not (self.step_s > 0 and self.substeps >= 1 and self.horizon_s > 0):
            raise ValueError("AssessmentConfig: step_s, substeps, horizon_s must be positive")
        if self.n_state_samples < 2 or self.n_state_samples % 2:
            raise ValueError("AssessmentConfig.n_state_samples must be even and ≥ 2")
        if self.n_impact_samples < 1:
            raise ValueError("AssessmentConfig.n_impact_samples must be ≥ 1")


@dataclass(frozen=True, kw_only=True)
class TrackAssessment:
    """The assessment of one track at one epoch (probabilities in [0, 1], times in
    scenario seconds)."""

    track_id: int
    kind: str
    possible_warhead: bool
    thrusting: bool
    t_s: float
    alt_m: float
    contributors: str
    impact: ImpactPrediction | None
    p_impact: Mapping[str, float] = field(default_factory=dict)
    """Region code → P(impact there), prefectures only."""
    p_land: float = 0.0
    p_territorial_sea: float = 0.0
    p_eez: float = 0.0
    """P(impact in the EEZ, territorial sea included, land excluded)."""
    p_overflight: Mapping[str, float] = field(default_factory=dict)
    overflight_time_s: Mapping[str, float] = field(default_factory=dict)

    @property
    def time_to_impact_s(self) -> float:
        return self.impact.time_s - self.t_s if self.impact is not None else math.nan

    def evidence(self) -> dict[str, object]:
        """A JSON-ready summary (for the decision log)."""
        imp = self.impact
        return {
            "track_id": self.track_id,
            "kind": self.kind,
            "possible_warhead": self.possible_warhead,
            "thrusting": self.thrusting,
            "alt_km": round(self.alt_m / 1e3, 1),
            "contributors": self.contributors,
            "impact_lat_deg": None if imp is None else round(math.degrees(imp.lat_rad), 3),
            "impact_lon_deg": None if imp is None else round(math.degrees(imp.lon_rad), 3),
            "impact_time_s": None if imp is None else round(imp.time_s, 1),
            "impact_semi_major_km": None
            if imp is None
            else round(imp.ellipse_semi_major_m / 1e3, 1),
            "p_impact": {k: round(v, 3) for k, v in self.p_impact.items()},
            "p_land": round(self.p_land, 3),
            "p_eez": round(self.p_eez, 3),
            "p_overflight": {k: round(v, 3) for k, v in self.p_overflight.items()},
            "overflight_time_s": {k: round(v, 1) for k, v in self.overflight_time_s.items()},
        }


@dataclass(frozen=True, kw_only=True)
class EpochAssessment:
    """All tracks' assessments at one epoch."""

    t_s: float
    tracks: tuple[TrackAssessment, ...]


def track_ids(cols: Mapping[str, NDArray]) -> NDArray[np.int64]:
    """The track identifier column: ``global_track_number`` (hub) or ``track_id``."""
    key = "global_track_number" if "global_track_number" in cols else "track_id"
    return np.asarray(cols[key], dtype=np.int64)


@lru_cache(maxsize=8)
def _normal_draws(n: int, dim: int, seed: int) -> F64:
    """Fixed antithetic standard-normal draws (n, dim) (n even)."""
    z = np.random.default_rng(seed).standard_normal((n // 2, dim))
    out = np.concatenate([z, -z]) if n > 1 else z
    out.setflags(write=False)
    return out


def thrust_from_history(x_now: F64, x_prev: F64, dt_s: F64) -> F64:
    """Magnitude of the non-gravitational acceleration (N,), m/s², from two 6-states of
    the same tracks ``dt_s`` apart: |Δv/Δt − a_apparent(mid)| with the J2 gravity,
    Coriolis and centrifugal acceleration at the mean state."""
    dt = np.asarray(dt_s, dtype=float)
    mid = 0.5 * (x_now + x_prev)
    a = gravity_accel_mps2(mid[:, 0:3]) + apparent_accel_ecef_mps2(mid[:, 0:3], mid[:, 3:6])
    dv = (x_now[:, 3:6] - x_prev[:, 3:6]) / dt[:, None]
    return np.linalg.norm(dv - a, axis=1)


def _impacts(
    cols: Mapping[str, NDArray], x6: F64, P6: F64, t_s: float, cfg: AssessmentConfig
) -> list[ImpactPrediction | None]:
    n = x6.shape[0]
    out: list[ImpactPrediction | None] = [None] * n
    have = np.zeros(n, dtype=bool)
    if all(c in cols for c in _IMPACT_COLUMNS):
        vals = np.column_stack([np.asarray(cols[c], dtype=float) for c in _IMPACT_COLUMNS])
        have = np.all(np.isfinite(vals), axis=1)
        for k in np.flatnonzero(have):
            out[k] = ImpactPrediction.from_tracks_row(cols, int(k))
    need = np.flatnonzero(~have & (height_m(x6[:, 0:3]) > 0.0))
    if need.size:
        x = np.zeros((need.size, N_STATE))
        x[:, 0:6] = x6[need]
        x[:, 9] = cfg.k_drag_m2pkg
        P = np.zeros((need.size, N_STATE, N_STATE))
        P[:, 0:6, 0:6] = P6[need]
        try:
            preds = predict_impacts(x, P, np.full(need.size, t_s))
        except ValueError:
            preds = [None] * need.size
        for k, p in zip(need, preds, strict=True):
            out[k] = p
    return out


def _impact_probabilities(
    imp: ImpactPrediction, cfg: AssessmentConfig, prefs: RegionSet
) -> tuple[dict[str, float], float, float, float]:
    z = _normal_draws(cfg.n_impact_samples + cfg.n_impact_samples % 2, 2, cfg.seed + 1)
    cov = np.asarray(imp.cov_ne_m2) + np.eye(2) * 1.0
    L = np.linalg.cholesky(0.5 * (cov + cov.T))
    ne = z @ L.T
    rot = enu_rotation(imp.lat_rad, imp.lon_rad)  # rows e, n, u
    d_enu = np.column_stack([ne[:, 1], ne[:, 0], np.zeros(len(ne))])
    r = geodetic_to_ecef(imp.lat_rad, imp.lon_rad, 0.0) + d_enu @ rot
    lat, lon, _ = ecef_to_geodetic(r)
    lon_d, lat_d = np.degrees(lon), np.degrees(lat)
    idx = prefs.locate(lon_d, lat_d)
    n = len(idx)
    counts = np.bincount(idx[idx >= 0], minlength=len(prefs))
    p = {
        prefs.regions[i].code: float(counts[i] / n)
        for i in np.flatnonzero(counts)
        if counts[i] / n >= cfg.min_probability
    }
    p_land = float(np.count_nonzero(idx >= 0) / n)
    p_ts = float(np.mean(japan_territorial_sea().contains(lon_d, lat_d)))
    p_eez = float(np.mean(japan_eez().contains(lon_d, lat_d)))
    return p, p_land, p_ts, p_eez


def _overflight(
    x6: F64, P6: F64, t_s: float, cfg: AssessmentConfig, prefs: RegionSet
) -> list[tuple[dict[str, float], dict[str, float]]]:
    """Per track: (P(overflight) per region, median first-overflight time per region)."""
    T = x6.shape[0]
    S = cfg.n_state_samples
    z = _normal_draws(S, 6, cfg.seed)
    sym = 0.5 * (P6 + np.swapaxes(P6, 1, 2))
    w, vec = np.linalg.eigh(sym)
    root = vec * np.sqrt(np.clip(w, 0.0, None))[:, None, :]  # P = root rootᵀ
    samples = x6[:, None, :] + np.einsum("tij,sj->tsi", root, z)  # (T, S, 6)
    x = np.zeros((T * S, N_STATE))
    x[:, 0:6] = samples.reshape(-1, 6)
    x[:, 9] = cfg.k_drag_m2pkg
    no_thrust_decay = np.zeros(T * S)
    top = cfg.atmosphere_top_m
    lats: list[F64] = []
    lons: list[F64] = []
    hs: list[F64] = []
    n_steps = math.ceil(cfg.horizon_s / cfg.step_s)
    for k in range(n_steps + 1):
        h = height_m(x[:, 0:3])
        lat, lon, _ = ecef_to_geodetic(x[:, 0:3])
        lats.append(np.degrees(lat))
        lons.append(np.degrees(lon))
        hs.append(h)
        done = (h < top) & (height_rate_mps(x) < 0.0)
        if np.all(done | (h < 0.0)) or k == n_steps:
            break
        x = propagate(x, cfg.step_s, no_thrust_decay, max_step_s=cfg.step_s)
    lat_a = np.stack(lats, axis=1)  # (T·S, K)
    lon_a = np.stack(lons, axis=1)
    h_a = np.stack(hs, axis=1)
    K = lat_a.shape[1]
    out: list[tuple[dict[str, float], dict[str, float]]] = [({}, {}) for _ in range(T)]
    if K < 2:
        return out
    m = cfg.substeps
    f = (np.arange(m) / m)[None, None, :]
    lon_u = np.unwrap(lon_a, period=360.0, axis=1)

    def interp(a: F64) -> F64:
        return (a[:, :-1, None] * (1.0 - f) + a[:, 1:, None] * f).reshape(a.shape[0], -1)

    lat_i, lon_i, h_i = interp(lat_a), interp(lon_u), interp(h_a)
    t_i = t_s + cfg.step_s * (np.arange((K - 1) * m) / m)
    w_, e_, s_, n_ = _JAPAN_BOX_DEG
    lon_w = (lon_i + 180.0) % 360.0 - 180.0
    sel = (h_i >= top) & (lon_w >= w_) & (lon_w <= e_) & (lat_i >= s_) & (lat_i <= n_)
    rows, cols_ = np.nonzero(sel)
    if rows.size == 0:
        return out
    reg = prefs.locate(lon_w[rows, cols_], lat_i[rows, cols_])
    hit = reg >= 0
    rows, cols_, reg = rows[hit], cols_[hit], reg[hit]
    if rows.size == 0:
        return out
    track = rows // S
    # first time each (sample, region) is overflown
    key = rows * len(prefs) + reg
    order = np.lexsort((cols_, key))
    key_s, first = np.unique(key[order], return_index=True)
    first_col = cols_[order][first]
    sample_of = key_s // len(prefs)
    reg_of = key_s % len(prefs)
    for t in np.unique(track):
        mine = (sample_of // S) == t
        for r in np.unique(reg_of[mine]):
            sel_r = mine & (reg_of == r)
            p = float(np.count_nonzero(sel_r) / S)
            if p < cfg.min_probability:
                continue
            code = prefs.regions[int(r)].code
            out[int(t)][0][code] = p
            out[int(t)][1][code] = float(np.median(t_i[first_col[sel_r]]))
    return out


def assess(
    tracks_at_epoch: Mapping[str, NDArray],
    t_s: float,
    *,
    config: AssessmentConfig | None = None,
    thrusting: NDArray[np.bool_] | None = None,
    regions: RegionSet | None = None,
) -> EpochAssessment:
    """Assess every track of one epoch (module docstring).

    Args:
        tracks_at_epoch: column table: ``track_id`` or ``global_track_number``, the six
            ECEF state columns, the 21 ``cov_*`` columns, ``kind``; optional
            ``impact_*`` columns, ``boost_probability``, ``possible_warhead``,
            ``contributors``.
        t_s: the epoch (scenario seconds); the states are taken as valid at it.
        config: :class:`AssessmentConfig` (defaults documented there).
        thrusting: per row, whether the track is thrusting (overrides the table's
            ``boost_probability``); see :func:`thrust_from_history`.
        regions: the prefectures (default :func:`japan_prefectures`).
    """
    cfg = config or AssessmentConfig()
    prefs = regions or japan_prefectures()
    cols = tracks_at_epoch
    ids = track_ids(cols)
    n = ids.shape[0]
    if n == 0:
        return EpochAssessment(t_s=float(t_s), tracks=())
    x6 = np.column_stack([np.asarray(cols[c], dtype=float) for c in _STATE_COLUMNS])
    P6 = covariance_from_columns(cols)
    if not (np.all(np.isfinite(x6)) and np.all(np.isfinite(P6))):
        bad = ~(np.all(np.isfinite(x6), axis=1) & np.all(np.isfinite(P6), axis=(1, 2)))
        raise ValueError(
            f"tracks at t={t_s}: non-finite state or covariance in rows {np.flatnonzero(bad)}"
        )
    kind = np.asarray(cols.get("kind", np.full(n, "unknown")), dtype=str)
    pw = np.isin(kind, ("warhead", "unknown"))
    if "possible_warhead" in cols:
        pw |= np.asarray(cols["possible_warhead"], dtype=bool) & ~np.isin(kind, ("stage", "debris"))
    if thrusting is None:
        if "boost_probability" in cols:
            thrusting = np.asarray(cols["boost_probability"], dtype=float) >= 0.5
        else:
            thrusting = np.zeros(n, dtype=bool)
    contrib = (
        np.asarray(cols["contributors"], dtype=str)
        if "contributors" in cols
        else np.asarray(cols.get("nation", np.full(n, "")), dtype=str)
    )
    alt = height_m(x6[:, 0:3])
    impacts = _impacts(cols, x6, P6, float(t_s), cfg)
    over = _overflight(x6, P6, float(t_s), cfg, prefs)
    out = []
    for k in range(n):
        imp = impacts[k]
        p_imp: dict[str, float] = {}
        p_land = p_ts = p_eez = 0.0
        if imp is not None:
            p_imp, p_land, p_ts, p_eez = _impact_probabilities(imp, cfg, prefs)
        out.append(
            TrackAssessment(
                track_id=int(ids[k]),
                kind=str(kind[k]),
                possible_warhead=bool(pw[k]),
                thrusting=bool(thrusting[k]),
                t_s=float(t_s),
                alt_m=float(alt[k]),
                contributors=str(contrib[k]),
                impact=imp,
                p_impact=p_imp,
                p_land=p_land,
                p_territorial_sea=p_ts,
                p_eez=p_eez,
                p_overflight=over[k][0],
                overflight_time_s=over[k][1],
            )
        )
    return EpochAssessment(t_s=float(t_s), tracks=tuple(out))
