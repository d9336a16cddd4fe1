"""Metrics of a tracking picture against truth: set distances, SIAP, timeliness, consistency.

Inputs are the contract tables as column dicts of numpy arrays (DESIGN.md, "File
contracts"): the **truth table** (``time_s, object_id, x_ecef_m … vz_ecef_mps``) and a
**tracks table** (``time_s``, an id column, ``x_ecef_m … vz_ecef_mps``): a node's tracks
(``track_id``) or the hub's system tracks (``global_track_number``,
:meth:`trilink.fusion.SystemTracks.columns`). Positions are ECEF metres.

Alignment (shared by every table function here). A tracks row is compared with truth at
its own time. The truth of an object is its table rows interpolated to that time by the
cubic Hermite polynomial through the bracketing samples' positions and velocities (exact
at a sample); an object exists from its first to its last row (launch or separation to
impact). A row within ``TIME_TOL_S`` of an epoch is at that epoch.

Track-to-truth assignment (SIAP, timeliness, swaps, launch and impact errors): at each
epoch a tracks row is **on** the object nearest to it among those that exist, if that
distance is < ``gate_m``; otherwise it is on no object (spurious). Several rows may be
on one object (ambiguity); a row is on at most one object. This is Stone Soup's
``TrackToTruth`` associator with ``consec_pairs_confirm=1, consec_misses_end=1``.

Track purity from the detection log (which objects fed each update) is
:func:`trilink.evaluation.track_quality.track_quality`; this module's
:func:`track_swaps` is its position-based counterpart and also serves the hub's system
tracks, which have no detection log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from scipy.stats import chi2

from trilink.geo.frames import ecef_to_geodetic
from trilink.geo.geodesic import geodesic_inverse

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Columns = Mapping[str, ArrayLike]

TIME_TOL_S = 1e-6
"""Two times closer than this are the same epoch, s."""
_POS = ("x_ecef_m", "y_ecef_m", "z_ecef_m")
_VEL = ("vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps")


# ---------------------------------------------------------------- set distances


@dataclass(frozen=True, kw_only=True)
class GospaResult:
    """GOSPA of one pair of sets, with its decomposition (α = 2).

    ``distance ** p == localisation + missed + false``: the components are in the
    p-th power of metres, as in Stone Soup's ``GOSPAMetric``. ``missed`` is
    ``n_missed · c^p/α``, ``false`` is ``n_false · c^p/α``.
    """

    distance: float
    """m."""
    localisation: float
    """Σ d^p over assigned pairs closer than c, m^p."""
    missed: float
    """c^p/α per truth point left unassigned, m^p."""
    false: float
    """c^p/α per estimate left unassigned, m^p."""
    n_missed: int
    n_false: int


@dataclass(frozen=True, kw_only=True, eq=False)
class GospaSeries:
    """GOSPA per epoch (:func:`gospa_series`); each field is an array over the epochs."""

    time_s: F64
    distance: F64
    localisation: F64
    missed: F64
    false: F64
    n_missed: I64
    n_false: I64


def _points(a: ArrayLike, name: str) -> F64:
    x = np.asarray(a, dtype=float)
    if x.size == 0:
        return np.empty((0, 3))
    if x.ndim != 2 or x.shape[1] != 3:
        raise ValueError(f"{name}: expected points of shape (N, 3), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: points must be finite (found NaN or inf)")
    return x


def _check_cp(c_m: float, p: float) -> tuple[float, float]:
    c, q = float(c_m), float(p)
    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"c_m must be a positive finite cut-off in metres, got {c_m!r}")
    if not (np.isfinite(q) and q >= 1):
        raise ValueError(f"p must be a finite order >= 1, got {p!r}")
    return c, q


def _cut_cost(X: F64, Y: F64, c: float, p: float) -> tuple[F64, I64, I64]:
    """(min(d, c)^p matrix, optimal rows, cols) for non-empty X, Y."""
    C = np.minimum(cdist(X, Y), c) ** p
    r, k = linear_sum_assignment(C)
    return C, r, k


def _ospa_core(X: F64, Y: F64, c: float, p: float, by_distance: bool = False) -> float:
    m, n = X.shape[0], Y.shape[0]
    if m == 0 and n == 0:
        return 0.0
    if m == 0 or n == 0:
        return c
    if by_distance:
        D = np.minimum(cdist(X, Y), c)
        r, k = linear_sum_assignment(D)
        s = float(np.sum(D[r, k] ** p))
    else:
        C, r, k = _cut_cost(X, Y, c, p)
        s = float(C[r, k].sum())
    return ((s + c**p * abs(m - n)) / max(m, n)) ** (1.0 / p)


def ospa(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    c_m: float,
    p: float = 2.0,
    assignment: Literal["optimal", "sum_distance"] = "optimal",
) -> float:
    """OSPA distance between point sets X (m, 3) and Y (n, 3), m.

    Schuhmacher, Vo & Vo, "A consistent metric for performance evaluation of
    multi-object filters", IEEE TSP 56(8):3447-3457, 2008, eq. (3): for m ≤ n,

        d̄_p^(c)(X, Y) = ( (1/n) ( min_π Σ_{i≤m} d^(c)(x_i, y_π(i))^p + c^p (n − m) ) )^(1/p)

    with d^(c) = min(c, ‖x − y‖), and d̄ = 0 when both sets are empty (symmetric in X, Y).
    The minimum is one ``linear_sum_assignment`` on the m × n matrix of d^(c)^p.

    Args:
        X, Y: points, m (ECEF or any Cartesian frame; both in the same).
        c_m: cut-off c, m (> 0).
        p: order, 1 ≤ p < ∞.
        assignment: ``"optimal"`` (the definition above). ``"sum_distance"`` reproduces
            Stone Soup's ``OSPAMetric`` (1.9): its assignment minimises Σ d^(c) and then
            reports (Σ d^(c)^p / n)^(1/p) of that assignment, which equals the OSPA for
            p = 1 and is an upper bound of it otherwise.

    Returns:
        The distance, m, in [0, c].
    """
    c, q = _check_cp(c_m, p)
    if assignment not in ("optimal", "sum_distance"):
        raise ValueError(f"assignment must be 'optimal' or 'sum_distance', got {assignment!r}")
    return _ospa_core(_points(X, "X"), _points(Y, "Y"), c, q, assignment == "sum_distance")


def _gospa_core(X: F64, Y: F64, c: float, p: float, alpha: float) -> GospaResult:
    m, n = X.shape[0], Y.shape[0]
    unit = c**p / alpha
    loc = 0.0
    n_miss, n_false = m, n
    if m and n:
        C, r, k = _cut_cost(X, Y, c, p)
        cost = C[r, k]
        if alpha == 2.0:
            # a pair at the cut-off costs c^p = 2 c^p/2: count it as one missed + one false
            kept = cost < c**p
            loc = float(cost[kept].sum())
            n_miss, n_false = m - int(kept.sum()), n - int(kept.sum())
        else:
            loc = float(cost.sum())
            n_miss, n_false = m - r.size, n - r.size
    missed, false = unit * n_miss, unit * n_false
    return GospaResult(
        distance=(loc + missed + false) ** (1.0 / p),
        localisation=loc,
        missed=missed,
        false=false,
        n_missed=n_miss,
        n_false=n_false,
    )


def gospa(
    X: ArrayLike, Y: ArrayLike, *, c_m: float, p: float = 2.0, alpha: float = 2.0
) -> GospaResult:
    """GOSPA between a truth set X (m, 3) and an estimate set Y (n, 3), m.

    Rahmathullah, García-Fernández & Svensson, "Generalized optimal sub-pattern
    assignment metric", FUSION 2017 (arXiv:1601.05585), Definition 1: for m ≤ n,

        d_p^(c,α)(X, Y) = ( min_π Σ_{i≤m} d^(c)(x_i, y_π(i))^p + (c^p/α)(n − m) )^(1/p)

    (symmetric; not normalised by n), d^(c) = min(c, ‖x − y‖), 0 < α ≤ 2. For α = 2
    (eq. (2) there) this is Σ over assigned pairs of d^p plus c^p/2 per missed and per
    false point, where pairs at or beyond c are left unassigned; the decomposition in
    :class:`GospaResult` follows that form (as Stone Soup's ``GOSPAMetric`` does). For
    α < 2 the m pairs of the minimum are all counted in ``localisation`` (cut at c^p) and
    only the n − m surplus points are missed or false.

    Args:
        X: truth points, m. Y: estimated points, m.
        c_m: cut-off c, m. p: order, 1 ≤ p < ∞. alpha: 0 < α ≤ 2.
    """
    c, q = _check_cp(c_m, p)
    a = float(alpha)
    if not (0.0 < a <= 2.0):
        raise ValueError(f"alpha must be in (0, 2], got {alpha!r}")
    return _gospa_core(_points(X, "X"), _points(Y, "Y"), c, q, a)


# ---------------------------------------------------------------- table alignment


def _col(cols: Columns, name: str, table: str) -> NDArray:
    if name not in cols:
        raise ValueError(f"{table} table: missing column {name!r}")
    return np.asarray(cols[name])


def _xyz(cols: Columns, names: tuple[str, ...], table: str) -> F64:
    return np.column_stack([_col(cols, c, table).astype(float) for c in names]).reshape(-1, 3)


@dataclass(frozen=True, eq=False)
class _Truth:
    """Truth at a set of epochs, rows sorted by epoch index."""

    epoch: I64
    obj: I64
    r: F64
    v: F64
    names: NDArray[np.str_]
    first_s: F64
    """Per object: first and last truth time, s."""
    last_s: F64
    first_r: F64
    last_r: F64


def _truth_at(truth_cols: Columns, epochs: F64) -> _Truth:
    t = _col(truth_cols, "time_s", "truth").astype(float)
    ids = _col(truth_cols, "object_id", "truth").astype(str)
    r = _xyz(truth_cols, _POS, "truth")
    v = _xyz(truth_cols, _VEL, "truth")
    names, code = np.unique(ids, return_inverse=True)
    order = np.lexsort((t, code))
    t, code, r, v = t[order], code[order], r[order], v[order]
    starts = np.flatnonzero(np.r_[True, np.diff(code) != 0]) if t.size else np.empty(0, int)
    ends = np.r_[starts[1:], t.size].astype(int) if t.size else np.empty(0, int)
    ep, ob, rr, vv = [], [], [], []
    for g, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        tg, rg, vg = t[s:e], r[s:e], v[s:e]
        lo = np.searchsorted(epochs, tg[0] - TIME_TOL_S, "left")
        hi = np.searchsorted(epochs, tg[-1] + TIME_TOL_S, "right")
        E = epochs[lo:hi]
        if E.size == 0:
            continue
        if tg.size == 1:
            ri, vi = np.repeat(rg, E.size, 0), np.repeat(vg, E.size, 0)
        else:
            j = np.clip(np.searchsorted(tg, E, "right") - 1, 0, tg.size - 2)
            h = tg[j + 1] - tg[j]
            hs = np.where(h > 0, h, 1.0)
            s_ = np.clip((E - tg[j]) / hs, 0.0, 1.0)[:, None]
            h_ = hs[:, None]
            r0, r1, v0, v1 = rg[j], rg[j + 1], vg[j], vg[j + 1]
            s2, s3 = s_ * s_, s_ * s_ * s_
            ri = (
                (2 * s3 - 3 * s2 + 1) * r0
                + (s3 - 2 * s2 + s_) * h_ * v0
                + (-2 * s3 + 3 * s2) * r1
                + (s3 - s2) * h_ * v1
            )
            vi = (
                (6 * s2 - 6 * s_) * (r0 - r1) / h_
                + (3 * s2 - 4 * s_ + 1) * v0
                + (3 * s2 - 2 * s_) * v1
            )
            at0 = (np.abs(E - tg[j]) <= TIME_TOL_S)[:, None]
            at1 = (np.abs(E - tg[j + 1]) <= TIME_TOL_S)[:, None]
            ri = np.where(at0, r0, np.where(at1, r1, ri))
            vi = np.where(at0, v0, np.where(at1, v1, vi))
        ep.append(np.arange(lo, hi))
        ob.append(np.full(E.size, g))
        rr.append(ri)
        vv.append(vi)
    first = t[starts] if t.size else np.empty(0)
    last = t[ends - 1] if t.size else np.empty(0)
    fr = r[starts] if t.size else np.empty((0, 3))
    lr = r[ends - 1] if t.size else np.empty((0, 3))
    if not ep:
        z = np.empty(0, dtype=np.int64)
        return _Truth(z, z, np.empty((0, 3)), np.empty((0, 3)), names, first, last, fr, lr)
    epoch = np.concatenate(ep).astype(np.int64)
    o = np.argsort(epoch, kind="stable")
    return _Truth(
        epoch[o],
        np.concatenate(ob).astype(np.int64)[o],
        np.concatenate(rr)[o],
        np.concatenate(vv)[o],
        names,
        first,
        last,
        fr,
        lr,
    )


@dataclass(frozen=True, eq=False)
class _Tracks:
    """Tracks rows on epochs, sorted by epoch index (then input order)."""

    row: I64
    """Row in the input table."""
    epoch: I64
    r: F64
    v: F64
    tid: NDArray
    partner: I64


def _nearest_epoch(t: F64, epochs: F64) -> I64:
    """Index of the epoch within TIME_TOL_S of each time, or -1."""
    if epochs.size == 0:
        return np.full(t.size, -1, dtype=np.int64)
    i = np.clip(np.searchsorted(epochs, t), 1, max(epochs.size - 1, 1))
    i0 = np.clip(i - 1, 0, epochs.size - 1)
    i1 = np.clip(i, 0, epochs.size - 1)
    k = np.where(np.abs(epochs[i0] - t) <= np.abs(epochs[i1] - t), i0, i1)
    return np.where(np.abs(epochs[k] - t) <= TIME_TOL_S, k, -1).astype(np.int64)


def _tracks_at(
    track_cols: Columns, epochs: F64, id_col: str, partner_col: str | None = None
) -> _Tracks:
    t = _col(track_cols, "time_s", "tracks").astype(float)
    tid = _col(track_cols, id_col, "tracks")
    r = _xyz(track_cols, _POS, "tracks")
    v = _xyz(track_cols, _VEL, "tracks") if all(c in track_cols for c in _VEL) else np.zeros_like(r)
    if partner_col is None:
        partner = np.zeros(t.size, dtype=np.int64)
    else:
        partner = np.unique(
            _col(track_cols, partner_col, "tracks").astype(str), return_inverse=True
        )[1].astype(np.int64)
    k = _nearest_epoch(t, epochs)
    ok = (k >= 0) & np.all(np.isfinite(r), axis=1)
    rows = np.flatnonzero(ok)
    if t.size and rows.size == 0 and epochs.size:
        raise ValueError(
            f"tracks table: none of its {t.size} rows (times {t.min():g}..{t.max():g} s) falls "
            f"on an evaluation epoch ({epochs[0]:g}, {epochs[min(1, epochs.size - 1)]:g}, ... s); "
            "resample the table or choose every_s to match its clock"
        )
    # one row per (epoch, partner, id): the last one
    _, tcode = np.unique(tid[rows].astype(str), return_inverse=True)
    key = np.lexsort((rows, tcode, partner[rows], k[rows]))
    rows = rows[key]
    kk, pp, tc = k[rows], partner[rows], tcode[key]
    last = np.r_[(kk[1:] != kk[:-1]) | (pp[1:] != pp[:-1]) | (tc[1:] != tc[:-1]), True]
    last = last[: rows.size]
    rows = rows[last]
    return _Tracks(rows, k[rows], r[rows], v[rows], tid[rows], partner[rows])


def _bounds(epoch: I64, n: int) -> I64:
    return np.searchsorted(epoch, np.arange(n + 1)).astype(np.int64)


def _grid(truth_cols: Columns, track_cols: Columns, every_s: float) -> F64:
    if not (np.isfinite(every_s) and every_s > 0):
        raise ValueError(f"every_s must be positive, got {every_s!r}")
    t = np.concatenate(
        [
            np.asarray(truth_cols.get("time_s", np.empty(0)), dtype=float),
            np.asarray(track_cols.get("time_s", np.empty(0)), dtype=float),
        ]
    )
    t = t[np.isfinite(t)]
    if t.size == 0:
        return np.empty(0)
    k0 = np.ceil(t.min() / every_s - 1e-9)
    k1 = np.floor(t.max() / every_s + 1e-9)
    return np.arange(k0, k1 + 1) * every_s


def _union_epochs(*times: ArrayLike) -> F64:
    t = np.unique(np.concatenate([np.asarray(x, dtype=float).ravel() for x in times]))
    t = t[np.isfinite(t)]
    if t.size < 2:
        return t
    return t[np.r_[True, np.diff(t) > TIME_TOL_S]]


# ---------------------------------------------------------------- series


def ospa_series(
    truth_cols: Columns,
    track_cols: Columns,
    *,
    c_m: float,
    p: float = 2.0,
    every_s: float = 1.0,
    id_col: str = "track_id",
) -> tuple[F64, F64]:
    """OSPA (:func:`ospa`) at every epoch k·``every_s`` from the first to the last time of
    either table: the objects that exist (truth interpolated, module docstring) against
    the tracks reported at that epoch (one point per ``id_col`` value).

    Returns:
        ``(time_s, ospa_m)``.
    """
    c, q = _check_cp(c_m, p)
    epochs = _grid(truth_cols, track_cols, every_s)
    tr = _truth_at(truth_cols, epochs)
    tk = _tracks_at(track_cols, epochs, id_col)
    tb, kb = _bounds(tr.epoch, epochs.size), _bounds(tk.epoch, epochs.size)
    out = np.empty(epochs.size)
    for e in range(epochs.size):
        out[e] = _ospa_core(tr.r[tb[e] : tb[e + 1]], tk.r[kb[e] : kb[e + 1]], c, q)
    return epochs, out


def gospa_series(
    truth_cols: Columns,
    track_cols: Columns,
    *,
    c_m: float,
    p: float = 2.0,
    alpha: float = 2.0,
    every_s: float = 1.0,
    id_col: str = "track_id",
) -> GospaSeries:
    """GOSPA (:func:`gospa`, truth as X) at the epochs of :func:`ospa_series`."""
    c, q = _check_cp(c_m, p)
    a = float(alpha)
    if not (0.0 < a <= 2.0):
        raise ValueError(f"alpha must be in (0, 2], got {alpha!r}")
    epochs = _grid(truth_cols, track_cols, every_s)
    tr = _truth_at(truth_cols, epochs)
    tk = _tracks_at(track_cols, epochs, id_col)
    tb, kb = _bounds(tr.epoch, epochs.size), _bounds(tk.epoch, epochs.size)
    vals = np.empty((epochs.size, 4))
    counts = np.empty((epochs.size, 2), dtype=np.int64)
    for e in range(epochs.size):
        g = _gospa_core(tr.r[tb[e] : tb[e + 1]], tk.r[kb[e] : kb[e + 1]], c, q, a)
        vals[e] = (g.distance, g.localisation, g.missed, g.false)
        counts[e] = (g.n_missed, g.n_false)
    return GospaSeries(
        time_s=epochs,
        distance=vals[:, 0],
        localisation=vals[:, 1],
        missed=vals[:, 2],
        false=vals[:, 3],
        n_missed=counts[:, 0],
        n_false=counts[:, 1],
    )


# ---------------------------------------------------------------- assignment to truth


@dataclass(frozen=True, eq=False)
class _Assigned:
    epochs: F64
    truth: _Truth
    tracks: _Tracks
    label: I64
    """Per tracks row: object index (into truth.names) or -1."""
    truth_row: I64
    """Per tracks row: row of ``truth`` it is compared with, or -1."""
    dist_m: F64


def _assign(
    truth_cols: Columns,
    track_cols: Columns,
    gate_m: float,
    id_col: str,
    partner_col: str | None = None,
    epochs: F64 | None = None,
) -> _Assigned:
    g = float(gate_m)
    if not (g > 0):
        raise ValueError(f"gate_m must be positive, got {gate_m!r}")
    if epochs is None:
        epochs = _union_epochs(
            np.asarray(truth_cols.get("time_s", np.empty(0)), dtype=float),
            np.asarray(track_cols.get("time_s", np.empty(0)), dtype=float),
        )
    tr = _truth_at(truth_cols, epochs)
    tk = _tracks_at(track_cols, epochs, id_col, partner_col)
    tb, kb = _bounds(tr.epoch, epochs.size), _bounds(tk.epoch, epochs.size)
    n = tk.epoch.size
    label = np.full(n, -1, dtype=np.int64)
    trow = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    busy = np.flatnonzero((np.diff(tb) > 0) & (np.diff(kb) > 0))
    for e in busy.tolist():
        D = cdist(tk.r[kb[e] : kb[e + 1]], tr.r[tb[e] : tb[e + 1]])
        j = np.argmin(D, axis=1)
        d = D[np.arange(D.shape[0]), j]
        sl = slice(kb[e], kb[e + 1])
        dist[sl] = d
        hit = d < g
        trow[sl] = np.where(hit, tb[e] + j, -1)
        label[sl] = np.where(hit, tr.obj[tb[e] + j], -1)
    return _Assigned(epochs, tr, tk, label, trow, dist)


# ---------------------------------------------------------------- SIAP


@dataclass(frozen=True, kw_only=True)
class SiapResult:
    """SIAP attribute measures over a run (:func:`siap`). NaN where a ratio has no data."""

    completeness: float
    """Σ_t JT(t) / Σ_t J(t): fraction of object-epochs with at least one track on them."""
    ambiguity: float
    """Σ_t NA(t) / Σ_t JT(t): tracks per tracked object-epoch (target 1)."""
    spuriousness: float
    """Σ_t (N(t) − NA(t)) / Σ_t N(t): fraction of track-epochs on no object."""
    positional_accuracy_m: float
    """Mean distance of the track-epochs on an object to it, m."""
    velocity_accuracy_mps: float
    """Mean velocity error of the same, m/s."""
    track_number_changes_per_object: float
    """Σ_j (NU_j − 1) / (number of objects ever tracked)."""
    track_number_change_rate_per_s: float
    """Σ_j (NU_j − 1) / Σ_j TT_j (Stone Soup's R), 1/s."""
    longest_segment_fraction: float
    """Σ_j TL_j / Σ_j T_j (Stone Soup's LS)."""
    commonality: float
    """Fraction of eligible object-epochs whose track rows all carry one track number."""


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b != 0 else float("nan")


def _segments(a: _Assigned) -> tuple[I64, F64, F64]:
    """Association segments: maximal runs of a track's rows on one object (rows on no
    object end a run). Returns (object, start_s, end_s)."""
    tk = a.tracks
    if tk.epoch.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0), np.empty(0)
    _, tcode = np.unique(tk.tid.astype(str), return_inverse=True)
    t = a.epochs[tk.epoch]
    o = np.lexsort((t, tcode, tk.partner))
    tcode = tcode + (tcode.max() + 1 if tcode.size else 0) * tk.partner
    lab, tc, ts = a.label[o], tcode[o], t[o]
    new = np.r_[True, (tc[1:] != tc[:-1]) | (lab[1:] != lab[:-1])]
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], lab.size] - 1
    keep = lab[starts] >= 0
    return lab[starts][keep], ts[starts][keep], ts[ends][keep]


def _union_length(s: F64, e: F64) -> float:
    o = np.argsort(s)
    s, e = s[o], e[o]
    total, cur_s, cur_e = 0.0, float(s[0]), float(e[0])
    for a, b in zip(s[1:].tolist(), e[1:].tolist(), strict=True):
        if a > cur_e:
            total += cur_e - cur_s
            cur_s, cur_e = a, b
        else:
            cur_e = max(cur_e, b)
    return total + cur_e - cur_s


def _min_tracks_to_cover(s: F64, e: F64, epochs: F64) -> int:
    """NU: the fewest segments covering every epoch that some segment covers (greedy: at
    the first uncovered epoch take the segment containing it that ends last)."""
    count = 0
    t = float(s.min())
    while True:
        inside = (s <= t) & (e >= t)
        if not inside.any():
            later = s[s > t]
            if later.size == 0:
                return count
            t = float(later.min())
            continue
        reach = float(e[inside].max())
        count += 1
        k = int(np.searchsorted(epochs, reach + TIME_TOL_S, "right"))
        if k >= epochs.size:
            return count
        t = float(epochs[k])


def siap(
    truth_cols: Columns,
    track_cols: Columns,
    *,
    gate_m: float,
    id_col: str = "track_id",
    partner_col: str | None = None,
) -> SiapResult:
    """SIAP measures of a tracks table against truth.

    Votruba et al., "Single Integrated Air Picture (SIAP) metrics implementation",
    SIAP SE Task Force, 29 Oct 2001; the attribute definitions and their time-range
    forms follow Stone Soup's ``SIAPMetrics`` (stonesoup/metricgenerator/
    tracktotruthmetrics.py). Epochs are the union of both tables' times; at epoch t,
    J(t) objects exist, N(t) track rows are reported, NA(t) of them are on an object
    (module docstring, "Track-to-truth assignment") and JT(t) objects have one or more.
    A track's **segment** on object j is a maximal run of its rows on j (a row on another
    object or on none ends it), from its first to its last row's time. Per object j:
    NU_j is the fewest segments that cover all its segments' epochs (greedy; 0 if never
    tracked), TT_j the length of the union of its segments, TL_j the longest segment,
    T_j its lifetime. The measures are documented on :class:`SiapResult`.

    **Commonality** (the SIAP "common track number" measure). A row's track number is
    its ``id_col`` value. An object-epoch is *eligible* if the rows on it come from at
    least min(2, P) partners, P being the number of distinct ``partner_col`` values in
    the table (P = 1 when ``partner_col`` is None: a single picture); it is *common*
    if all those rows carry one number. For the linked configuration pass the partners'
    received pictures stacked, ``id_col="global_track_number"``, ``partner_col`` the
    receiving nation: commonality is then the fraction of objects seen by two or more
    partners on which they see the same global number. For one picture it is 1 where
    all the rows on an object carry one number (no duplicate tracks).

    Stone Soup's conventions that differ: it returns 0 (completeness, spuriousness,
    accuracies) or 1 (ambiguity) for an empty denominator, here NaN; its NU stops
    counting once a segment ends at the very epoch where its greedy cover restarts;
    and its associator cannot represent a one-epoch segment (TimeRange needs start <
    end), which here has length 0.

    Args:
        gate_m: association gate, m (a row farther from every object is spurious).
        id_col: track number column (``track_id``; ``global_track_number`` for the hub).
        partner_col: optional column naming whose picture a row belongs to; rows with
            the same (partner, number) are one track.
    """
    a = _assign(truth_cols, track_cols, gate_m, id_col, partner_col)
    tr, tk = a.truth, a.tracks
    on = a.label >= 0
    J = tr.epoch.size
    N = tk.epoch.size
    NA = int(on.sum())
    n_obj = tr.names.size
    # distinct (epoch, object) pairs held
    pair = tk.epoch[on] * max(n_obj, 1) + a.label[on]
    up, inv = np.unique(pair, return_inverse=True)
    JT = up.size
    pa = a.dist_m[on].sum()
    va = np.linalg.norm(tk.v[on] - tr.v[a.truth_row[on]], axis=1).sum() if NA else 0.0
    # commonality
    n_partners = int(np.unique(tk.partner).size) if N else 1
    need = min(2, n_partners)
    if JT:
        pk = np.unique(np.column_stack([inv, tk.partner[on]]), axis=0)
        partners_per = np.bincount(pk[:, 0], minlength=JT)
        _, tnum = np.unique(tk.tid[on].astype(str), return_inverse=True)
        ik = np.unique(np.column_stack([inv, tnum]), axis=0)
        ids_per = np.bincount(ik[:, 0], minlength=JT)
        eligible = partners_per >= need
        commonality = _ratio(float((eligible & (ids_per == 1)).sum()), float(eligible.sum()))
    else:
        commonality = float("nan")
    # continuity
    seg_obj, seg_s, seg_e = _segments(a)
    changes = 0
    tracked_objects = 0
    tt = 0.0
    tl = 0.0
    for j in np.unique(seg_obj).tolist():
        m = seg_obj == j
        nu = _min_tracks_to_cover(seg_s[m], seg_e[m], a.epochs)
        tracked_objects += 1
        changes += max(nu - 1, 0)
        tt += _union_length(seg_s[m], seg_e[m])
        tl += float((seg_e[m] - seg_s[m]).max())
    lifetime = float((tr.last_s - tr.first_s).sum()) if tr.first_s.size else 0.0
    return SiapResult(
        completeness=_ratio(JT, J),
        ambiguity=_ratio(NA, JT),
        spuriousness=_ratio(N - NA, N),
        positional_accuracy_m=_ratio(float(pa), NA),
        velocity_accuracy_mps=_ratio(float(va), NA),
        track_number_changes_per_object=_ratio(changes, tracked_objects),
        track_number_change_rate_per_s=_ratio(changes, tt),
        longest_segment_fraction=_ratio(tl, lifetime),
        commonality=commonality,
    )


def track_swaps(
    track_cols: Columns,
    truth_cols: Columns,
    *,
    gate_m: float,
    id_col: str = "track_id",
) -> dict[object, int]:
    """Per track number: how many times the object it is on changes (module docstring,
    "Track-to-truth assignment"; epochs on no object are skipped, so A, –, A is no swap
    and A, B, A is two). Tracks never on an object are absent."""
    a = _assign(truth_cols, track_cols, gate_m, id_col)
    on = np.flatnonzero(a.label >= 0)
    if on.size == 0:
        return {}
    tid = a.tracks.tid[on]
    _, tcode = np.unique(tid.astype(str), return_inverse=True)
    o = np.lexsort((a.tracks.epoch[on], tcode))
    tc, lab, tid = tcode[o], a.label[on][o], tid[o]
    same = tc[1:] == tc[:-1]
    change = np.r_[0, (same & (lab[1:] != lab[:-1])).astype(np.int64)]
    counts = np.bincount(tc, weights=change).astype(np.int64)
    first = np.flatnonzero(np.r_[True, ~same])
    return {tid[i].item(): int(counts[tc[i]]) for i in first.tolist()}


# ---------------------------------------------------------------- timeliness


def first_time(
    track_cols: Columns, predicate: Callable[[Columns], ArrayLike] | None = None
) -> float:
    """Earliest ``time_s`` of the rows where ``predicate(track_cols)`` (a boolean array
    over the rows) is True; every row if ``predicate`` is None. NaN if there is none.

    Example: first hub track with two nations,
    ``first_time(hub, lambda c: c["n_contributors"] >= 2)``.
    """
    t = np.asarray(_col(track_cols, "time_s", "tracks"), dtype=float)
    mask = np.ones(t.size, dtype=bool) if predicate is None else np.asarray(predicate(track_cols))
    if mask.shape != t.shape or mask.dtype != bool:
        raise ValueError(
            f"predicate must return a boolean array of shape {t.shape}, got "
            f"{mask.dtype} {mask.shape}"
        )
    sel = t[mask & np.isfinite(t)]
    return float(sel.min()) if sel.size else float("nan")


def _object_index(a: _Assigned, object_id: str) -> int:
    hit = np.flatnonzero(a.truth.names == str(object_id))
    if hit.size == 0:
        raise ValueError(
            f"object_id {object_id!r} is not in the truth table (known: "
            f"{', '.join(a.truth.names.tolist()[:10])})"
        )
    return int(hit[0])


def time_to_first_confirmed_track(
    track_cols: Columns,
    truth_cols: Columns,
    *,
    gate_m: float,
    object_ids: Sequence[str] | None = None,
    id_col: str = "track_id",
) -> dict[str, float]:
    """Per object: seconds from its first truth row (launch for the warhead, which is
    the whole stack until it separates; separation for a stage or debris) to the first
    tracks row on it (module docstring); NaN if never tracked. A tracks table holds
    confirmed tracks only, so this is the time to the first confirmed track.

    Args:
        object_ids: the objects to report (default: every object in the truth table).
    """
    t_tracks = np.asarray(_col(track_cols, "time_s", "tracks"), dtype=float)
    a = _assign(truth_cols, track_cols, gate_m, id_col, epochs=_union_epochs(t_tracks))
    names = a.truth.names
    wanted = names.tolist() if object_ids is None else [str(o) for o in object_ids]
    first = np.full(names.size, np.inf)
    on = a.label >= 0
    np.minimum.at(first, a.label[on], a.epochs[a.tracks.epoch[on]])
    out: dict[str, float] = {}
    for o in wanted:
        j = _object_index(a, o)
        out[o] = float(first[j] - a.truth.first_s[j]) if np.isfinite(first[j]) else float("nan")
    return out


@dataclass(frozen=True, kw_only=True, eq=False)
class PointErrorSeries:
    """A track product's error against truth versus time (one row per epoch)."""

    time_s: F64
    since_launch_s: F64
    """time_s minus the object's first truth time, s."""
    error_m: F64
    """Geodesic distance on the WGS-84 ellipsoid between estimate and truth, m."""
    time_error_s: F64
    """Estimated minus true event time, s."""
    track_id: NDArray


def _point_error(
    track_cols: Columns,
    truth_cols: Columns,
    object_id: str,
    gate_m: float,
    id_col: str,
    prefix: str,
    at_end: bool,
) -> PointErrorSeries:
    lat_e = np.radians(np.asarray(_col(track_cols, f"{prefix}_lat_deg", "tracks"), dtype=float))
    lon_e = np.radians(np.asarray(_col(track_cols, f"{prefix}_lon_deg", "tracks"), dtype=float))
    t_e = np.asarray(_col(track_cols, f"{prefix}_time_s", "tracks"), dtype=float)
    t_tracks = np.asarray(_col(track_cols, "time_s", "tracks"), dtype=float)
    a = _assign(truth_cols, track_cols, gate_m, id_col, epochs=_union_epochs(t_tracks))
    j = _object_index(a, object_id)
    rows = a.tracks.row
    sel = np.flatnonzero((a.label == j) & np.isfinite(lat_e[rows]) & np.isfinite(lon_e[rows]))
    # one row per epoch: the track nearest to the object
    sel = sel[np.lexsort((a.dist_m[sel], a.tracks.epoch[sel]))]
    sel = sel[np.r_[True, a.tracks.epoch[sel][1:] != a.tracks.epoch[sel][:-1]]] if sel.size else sel
    r_true = a.truth.last_r[j] if at_end else a.truth.first_r[j]
    t_true = a.truth.last_s[j] if at_end else a.truth.first_s[j]
    lat_t, lon_t, _ = ecef_to_geodetic(r_true)
    d = np.atleast_1d(geodesic_inverse(lat_e[rows[sel]], lon_e[rows[sel]], lat_t, lon_t)[0])
    t = a.epochs[a.tracks.epoch[sel]]
    return PointErrorSeries(
        time_s=t,
        since_launch_s=t - a.truth.first_s[j],
        error_m=np.asarray(d, dtype=float).reshape(-1),
        time_error_s=t_e[rows[sel]] - t_true,
        track_id=a.tracks.tid[sel],
    )


def launch_point_error_m(
    track_cols: Columns,
    truth_cols: Columns,
    *,
    object_id: str,
    gate_m: float,
    id_col: str = "track_id",
) -> PointErrorSeries:
    """Launch-point estimate (tracks columns ``launch_lat_deg, launch_lon_deg,
    launch_time_s``) of the tracks on ``object_id`` against its first truth row (pass
    the warhead, which is the whole stack from launch), versus time. Distance by
    :func:`trilink.geo.geodesic.geodesic_inverse`; rows without an estimate are skipped."""
    return _point_error(track_cols, truth_cols, object_id, gate_m, id_col, "launch", False)


def impact_error_vs_time(
    track_cols: Columns,
    truth_cols: Columns,
    *,
    object_id: str,
    gate_m: float,
    id_col: str = "track_id",
) -> PointErrorSeries:
    """Impact-point prediction (``impact_lat_deg, impact_lon_deg, impact_time_s``) of the
    tracks on ``object_id`` against its last truth row (the impact), versus time."""
    return _point_error(track_cols, truth_cols, object_id, gate_m, id_col, "impact", True)


# ---------------------------------------------------------------- consistency


def nees(err: ArrayLike, P: ArrayLike) -> F64:
    """Normalised estimation error squared ε = eᵀ P⁻¹ e (Bar-Shalom, Li & Kirubarajan,
    *Estimation with Applications to Tracking and Navigation*, Wiley 2001, §5.4.2).

    Args:
        err: estimate minus truth, shape (..., d).
        P: the estimate's covariance, shape (..., d, d) (broadcast with ``err``).

    Returns:
        ε, shape (...); χ²(d) distributed for a consistent estimator.
    """
    e = np.asarray(err, dtype=float)
    S = np.asarray(P, dtype=float)
    if e.ndim < 1 or S.ndim < 2 or S.shape[-1] != S.shape[-2] or S.shape[-1] != e.shape[-1]:
        raise ValueError(f"nees: err (..., d) and P (..., d, d) expected, got {e.shape}, {S.shape}")
    x = np.linalg.solve(S, e[..., None])[..., 0]
    return np.sum(e * x, axis=-1)


def nees_band(dof: int, n: int, prob: float = 0.95) -> tuple[float, float]:
    """Two-sided ``prob`` acceptance band of the mean of n independent NEES samples of a
    consistent estimator with ``dof`` degrees of freedom: n·mean ~ χ²(n·dof), so the band
    is χ²⁻¹((1 ∓ prob)/2; n·dof) / n (Bar-Shalom et al. 2001, §5.4.2)."""
    if dof < 1 or n < 1 or not (0.0 < prob < 1.0):
        raise ValueError(f"nees_band: need dof >= 1, n >= 1, 0 < prob < 1; got {dof}, {n}, {prob}")
    lo, hi = chi2.ppf([(1 - prob) / 2, (1 + prob) / 2], dof * n) / n
    return float(lo), float(hi)
