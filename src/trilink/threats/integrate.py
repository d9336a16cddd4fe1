"""Batch integration of many objects at once, each with its own clock and events.

:func:`integrate_batch` advances ``N`` rows with the Dormand–Prince 5(4) embedded
Runge–Kutta pair (Dormand & Prince, *J. Comput. Appl. Math.* 6 (1980) 19–26,
table 2; the same pair as ``scipy.integrate.RK45``), with a step size controlled
per row. Every numpy operation works on all active rows together, so a thousand
flights cost little more than one in Python overhead.

Each row follows a sequence of *segments* (burns, coasts, the ballistic fall)
during which its force model is smooth. A step never crosses a segment end: the
row lands on it exactly, its state there is recorded (a staging event), and it
continues with the next segment's parameters. A row stops at the end of its last
segment or when it reaches the WGS-84 ellipsoid (impact; located to ≪ 1 mm by
Newton iteration on re-integrated steps).

:func:`integrate_reference` integrates one row with
``scipy.integrate.solve_ivp`` (DOP853) through the same segments: the oracle the
tests and benchmarks compare against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import solve_ivp

from trilink.geo.frames import ecef_to_geodetic
from trilink.threats.dynamics import ForceParams, derivative, local_frame

F64 = NDArray[np.float64]

# Dormand–Prince 5(4) coefficients (Dormand & Prince 1980, table 2).
_C = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0])
_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_B5 = np.array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0])
_B4 = np.array([5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40])
_E = _B5 - _B4


@dataclass(frozen=True)
class SegmentedModel:
    """Force-model parameters of ``N`` rows over ``S`` segments.

    Every field of :class:`ForceParams` is held here with one more axis: ``(N, S)``
    for scalars per segment (``plane_normal_ecef`` is ``(N, 3)``, constant over a
    flight; steering fields are ``(N,)``). ``segment_end_s`` is ``(N, S)``: the
    absolute end time of each segment (``inf`` for an open-ended fall).
    """

    segment_end_s: F64
    per_segment: dict[str, NDArray]
    per_row: dict[str, NDArray]

    @property
    def n_rows(self) -> int:
        return int(self.segment_end_s.shape[0])

    @property
    def n_segments(self) -> int:
        return int(self.segment_end_s.shape[1])

    def params(self, rows: NDArray[np.int_], seg: NDArray[np.int_]) -> ForceParams:
        """The force parameters of ``rows`` in their segments ``seg``."""
        kw = {k: v[rows, seg] for k, v in self.per_segment.items()}
        kw.update({k: v[rows] for k, v in self.per_row.items()})
        return ForceParams(**kw)

    def take(self, rows: NDArray[np.int_]) -> SegmentedModel:
        """A model of the given rows only."""
        return SegmentedModel(
            segment_end_s=self.segment_end_s[rows],
            per_segment={k: v[rows] for k, v in self.per_segment.items()},
            per_row={k: v[rows] for k, v in self.per_row.items()},
        )


FORCE_FIELDS_PER_ROW = (
    "plane_normal_ecef",
    "t_launch_s",
    "t_vertical_s",
    "t_pitch_end_s",
    "pitch_first_rad",
    "pitch_upper_rad",
    "yaw_start_s",
    "yaw_end_s",
    "yaw_delta_rad",
)
FORCE_FIELDS_PER_SEGMENT = tuple(
    f.name for f in fields(ForceParams) if f.name not in FORCE_FIELDS_PER_ROW
)


@dataclass(frozen=True)
class StepRecord:
    """Accepted steps of every row: enough for cubic Hermite interpolation.

    ``row[k]``, ``t_s[k]``, ``y[k]`` (6,) and ``dy[k]`` (6,) for every accepted step
    end (and each row's start), in the order they were taken.
    """

    row: NDArray[np.int_]
    t_s: F64
    y: F64
    dy: F64

    def for_row(self, i: int) -> tuple[F64, F64, F64]:
        """Times, states and derivatives of row ``i``, in time order, duplicates dropped."""
        sel = np.flatnonzero(self.row == i)
        t = self.t_s[sel]
        order = np.argsort(t, kind="stable")
        t = t[order]
        keep = np.concatenate([np.diff(t) > 0, [True]])  # segment ends repeat a time
        sel = sel[order][keep]
        return self.t_s[sel], self.y[sel], self.dy[sel]


@dataclass(frozen=True)
class BatchResult:
    """Final states and events of a batch integration (immutable)."""

    t_s: F64
    """(N,) time at which each row stopped, s."""
    y: F64
    """(N, 6) state at that time."""
    impacted: NDArray[np.bool_]
    """(N,) True where the row reached the ellipsoid."""
    segment_end_y: F64
    """(N, S, 6) state at the end of each segment (NaN where not reached)."""
    apogee_alt_m: F64
    """(N,) highest geodetic altitude reached, m."""
    apogee_t_s: F64
    """(N,) time of that apogee, s."""
    n_steps: int
    """Accepted steps over all rows."""
    n_rejected: int
    """Rejected steps over all rows."""
    record: StepRecord | None


def _altitude(y: F64) -> F64:
    return ecef_to_geodetic(y[:, :3])[2]


def _vertical_speed(y: F64) -> F64:
    lat, lon, _ = ecef_to_geodetic(y[:, :3])
    _, _, up = local_frame(lat, lon)
    return np.einsum("ij,ij->i", y[:, 3:], up)


def _dp5_step(t: F64, y: F64, k1: F64, h: F64, p: ForceParams) -> tuple[F64, F64, F64]:
    """One Dormand–Prince step for each row: (y_new, k7 = f(t+h, y_new), error estimate)."""
    ks = [k1]
    hh = h[:, None]
    for i in range(1, 7):
        yi = y.copy()
        for j, a in enumerate(_A[i]):
            if a != 0.0:
                yi += hh * (a * ks[j])
        ks.append(derivative(t + _C[i] * h, yi, p))
    y_new = yi  # stage 7 is evaluated at the 5th-order solution (FSAL)
    err = hh * sum(e * k for e, k in zip(_E, ks, strict=True) if e != 0.0)
    return y_new, ks[6], err


def _hermite(y0: F64, f0: F64, y1: F64, f1: F64, h: F64, s: F64) -> F64:
    """Cubic Hermite interpolation at fraction(s) ``s`` of a step, rowwise."""
    s = s[:, None]
    h = h[:, None]
    h00 = 2 * s**3 - 3 * s**2 + 1
    h10 = s**3 - 2 * s**2 + s
    h01 = -2 * s**3 + 3 * s**2
    h11 = s**3 - s**2
    return h00 * y0 + h10 * h * f0 + h01 * y1 + h11 * h * f1


def integrate_batch(
    model: SegmentedModel,
    t0_s: F64,
    y0: F64,
    *,
    rtol: float = 1e-9,
    atol_m: float = 1e-4,
    atol_mps: float = 1e-7,
    stop_at_ground: bool = True,
    record: bool = False,
    max_iterations: int = 200_000,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Integrate every row of ``model`` from ``(t0_s, y0)`` through its segments.

    Parameters
    ----------
    model
        Per-row, per-segment force parameters and segment end times.
    t0_s, y0
        ``(N,)`` start times and ``(N, 6)`` ECEF states ``[r_m, v_mps]``.
    rtol, atol_m, atol_mps
        Error tolerance per step: ``|err_i| ≤ atol_i + rtol·|y_i|`` (max norm).
    stop_at_ground
        Stop a row where its geodetic altitude reaches 0 (impact on the ellipsoid).
    record
        Keep every accepted step (for trajectories sampled later).
    progress
        Called as ``progress(done_rows, total_rows)`` after each iteration.
    """
    n = model.n_rows
    s_count = model.n_segments
    t = np.array(t0_s, dtype=float).reshape(n).copy()
    y = np.array(y0, dtype=float).reshape(n, 6).copy()
    seg = np.zeros(n, dtype=int)
    # Skip segments that end before the row starts (objects spawned mid-timeline).
    while True:
        behind = (seg < s_count - 1) & (model.segment_end_s[np.arange(n), seg] <= t)
        if not behind.any():
            break
        seg[behind] += 1
    done = np.zeros(n, dtype=bool)
    impacted = np.zeros(n, dtype=bool)
    seg_end_y = np.full((n, s_count, 6), np.nan)
    atol = np.array([atol_m] * 3 + [atol_mps] * 3)
    alt0 = _altitude(y)
    apo_alt = alt0.copy()
    apo_t = t.copy()

    rows_all = np.arange(n)
    k1 = derivative(t, y, model.params(rows_all, seg))
    h = np.minimum(1.0, model.segment_end_s[rows_all, seg] - t)
    h = np.where(h > 0, h, 1.0)
    rec: list[tuple[NDArray, ...]] = []
    if record:
        rec.append((rows_all.copy(), t.copy(), y.copy(), k1.copy()))
    n_steps = 0
    n_rej = 0

    for _ in range(max_iterations):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        sa = seg[act]
        p = model.params(act, sa)
        ta, ya, ka = t[act], y[act], k1[act]
        seg_end = model.segment_end_s[act, sa]
        to_end = seg_end - ta
        ha = np.minimum(h[act], to_end)
        lands_on_end = ha >= to_end * (1.0 - 1e-12)
        ha = np.where(lands_on_end, to_end, ha)

        y_new, k_new, err = _dp5_step(ta, ya, ka, ha, p)
        scale = atol + rtol * np.maximum(np.abs(ya), np.abs(y_new))
        err_norm = np.max(np.abs(err) / scale, axis=1)
        ok = err_norm <= 1.0
        factor = np.where(err_norm == 0.0, 5.0, np.clip(0.9 * err_norm ** (-0.2), 0.2, 5.0))
        factor = np.where(ok, factor, np.minimum(factor, 1.0))
        h[act] = ha * factor
        n_rej += int((~ok).sum())
        if not ok.any():
            continue

        acc = act[ok]
        t_new = ta[ok] + ha[ok]
        y_acc = y_new[ok]
        k_acc = k_new[ok]
        end_hit = lands_on_end[ok]
        t_new = np.where(end_hit, seg_end[ok], t_new)

        alt_new = _altitude(y_acc)
        if stop_at_ground:
            below = alt_new < 0.0
            if below.any():
                b = np.flatnonzero(below)
                y_imp, k_imp, t_imp = _locate_ground(
                    model,
                    acc[b],
                    seg[acc[b]],
                    ta[ok][b],
                    ya[ok][b],
                    ka[ok][b],
                    ha[ok][b],
                    y_acc[b],
                    k_acc[b],
                )
                y_acc[b], k_acc[b], t_new[b] = y_imp, k_imp, t_imp
                alt_new[b] = 0.0
                end_hit[b] = False
                done[acc[b]] = True
                impacted[acc[b]] = True

        # Apogee: geocentric radial speed changes sign inside the step.
        y_old = ya[ok]
        rv_old = np.einsum("ij,ij->i", y_old[:, :3], y_old[:, 3:])
        rv_new = np.einsum("ij,ij->i", y_acc[:, :3], y_acc[:, 3:])
        higher = alt_new > apo_alt[acc]
        apo_alt[acc] = np.where(higher, alt_new, apo_alt[acc])
        apo_t[acc] = np.where(higher, t_new, apo_t[acc])
        turn = (rv_old > 0.0) & (rv_new <= 0.0)
        if turn.any():
            tb = np.flatnonzero(turn)
            fr = np.linspace(0.0, 1.0, 33)
            hb = t_new[tb] - ta[ok][tb]
            best_alt = np.full(tb.size, -np.inf)
            best_t = np.zeros(tb.size)
            for s in fr:
                ys = _hermite(y_old[tb], ka[ok][tb], y_acc[tb], k_acc[tb], hb, np.full(tb.size, s))
                a_s = _altitude(ys)
                better = a_s > best_alt
                best_alt = np.where(better, a_s, best_alt)
                best_t = np.where(better, ta[ok][tb] + s * hb, best_t)
            rows_b = acc[tb]
            better = best_alt > apo_alt[rows_b]
            apo_alt[rows_b] = np.where(better, best_alt, apo_alt[rows_b])
            apo_t[rows_b] = np.where(better, best_t, apo_t[rows_b])

        t[acc] = t_new
        y[acc] = y_acc
        k1[acc] = k_acc
        n_steps += int(acc.size)
        if record:
            rec.append((acc.copy(), t_new.copy(), y_acc.copy(), k_acc.copy()))

        # Segment ends: record the state, move on, refresh the derivative.
        e = acc[end_hit & ~done[acc]]
        if e.size:
            seg_end_y[e, seg[e]] = y[e]
            last = seg[e] >= s_count - 1
            done[e[last]] = True
            nxt = e[~last]
            if nxt.size:
                seg[nxt] += 1
                # Skip zero-length (padding) segments.
                while True:
                    zero = (seg[nxt] < s_count - 1) & (model.segment_end_s[nxt, seg[nxt]] <= t[nxt])
                    if not zero.any():
                        break
                    z = nxt[zero]
                    seg_end_y[z, seg[z]] = y[z]
                    seg[z] += 1
                final_zero = model.segment_end_s[nxt, seg[nxt]] <= t[nxt]
                if final_zero.any():
                    z = nxt[final_zero]
                    seg_end_y[z, seg[z]] = y[z]
                    done[z] = True
                    nxt = nxt[~final_zero]
                if nxt.size:
                    k1[nxt] = derivative(t[nxt], y[nxt], model.params(nxt, seg[nxt]))
                    h[nxt] = np.minimum(h[nxt], 0.5)
                    if record:
                        rec.append((nxt.copy(), t[nxt].copy(), y[nxt].copy(), k1[nxt].copy()))
        if progress is not None:
            progress(int(done.sum()), n)
    else:
        raise RuntimeError(f"integration did not finish in {max_iterations} iterations")

    record_out = None
    if record:
        record_out = StepRecord(
            row=np.concatenate([r[0] for r in rec]),
            t_s=np.concatenate([r[1] for r in rec]),
            y=np.concatenate([r[2] for r in rec]),
            dy=np.concatenate([r[3] for r in rec]),
        )
    return BatchResult(
        t_s=t,
        y=y,
        impacted=impacted,
        segment_end_y=seg_end_y,
        apogee_alt_m=apo_alt,
        apogee_t_s=apo_t,
        n_steps=n_steps,
        n_rejected=n_rej,
        record=record_out,
    )


def _locate_ground(
    model: SegmentedModel,
    rows: NDArray[np.int_],
    seg: NDArray[np.int_],
    t0: F64,
    y0: F64,
    k0: F64,
    h: F64,
    y1: F64,
    k1: F64,
) -> tuple[F64, F64, F64]:
    """Find where each row's step crosses altitude 0; return (y, f, t) there.

    A first guess from the cubic Hermite interpolant (secant iterations), then
    Newton iterations ``Δt = −h/ḣ`` each re-integrating the step from its start
    with one Dormand–Prince step of the corrected length.
    """
    p = model.params(rows, seg)
    alt0 = _altitude(y0)
    alt1 = _altitude(y1)
    lo = np.zeros_like(h)
    hi = np.ones_like(h)
    a_lo, a_hi = alt0, alt1
    s = np.clip(a_lo / np.maximum(a_lo - a_hi, 1e-12), 0.0, 1.0)
    for _ in range(30):
        a_s = _altitude(_hermite(y0, k0, y1, k1, h, s))
        pos = a_s > 0
        lo = np.where(pos, s, lo)
        a_lo = np.where(pos, a_s, a_lo)
        hi = np.where(pos, hi, s)
        a_hi = np.where(pos, a_hi, a_s)
        s_new = lo + (hi - lo) * np.clip(a_lo / np.maximum(a_lo - a_hi, 1e-12), 0.05, 0.95)
        if np.all(np.abs(a_s) < 1e-4):
            break
        s = s_new
    dt = s * h
    for _ in range(4):
        y_s, k_s, _err = _dp5_step(t0, y0, k0, dt, p)
        a_s = _altitude(y_s)
        vz = _vertical_speed(y_s)
        if np.all(np.abs(a_s) < 1e-6):
            break
        dt = dt - a_s / np.minimum(vz, -1e-3)
    return y_s, k_s, t0 + dt


@dataclass(frozen=True)
class ReferenceResult:
    """Result of :func:`integrate_reference` for one row."""

    t_s: float
    y: F64
    impacted: bool
    segment_end_y: F64
    """(S, 6) state at each segment end (NaN where not reached)."""
    n_rhs: int
    """Right-hand-side evaluations used."""


def integrate_reference(
    model: SegmentedModel,
    row: int,
    t0_s: float,
    y0: F64,
    *,
    rtol: float = 1e-10,
    atol: float = 1e-9,
    stop_at_ground: bool = True,
) -> ReferenceResult:
    """Integrate one row with ``scipy.integrate.solve_ivp`` (DOP853), segment by segment.

    Impact is a terminal event at geodetic altitude 0, located by SciPy's event
    root-finding on DOP853's dense output. ``atol`` applies to every component (m
    and m/s). This is the oracle the batch integrator is checked against.
    """
    one = model.take(np.array([row]))
    t = float(t0_s)
    y = np.asarray(y0, dtype=float).reshape(6).copy()
    rows = np.array([0])
    seg_end = np.full((one.n_segments, 6), np.nan)
    n_rhs = 0

    def ground(_t: float, yy: F64) -> float:
        return float(_altitude(yy[None, :])[0])

    ground.terminal = True  # type: ignore[attr-defined]
    ground.direction = -1  # type: ignore[attr-defined]

    for s in range(one.n_segments):
        t_end = float(one.segment_end_s[0, s])
        if t_end <= t:
            seg_end[s] = y
            continue
        p = one.params(rows, np.array([s]))

        def f(tt: float, yy: F64, p: ForceParams = p) -> F64:
            return derivative(np.array([tt]), yy[None, :], p)[0]

        with np.errstate(over="ignore", invalid="ignore"):  # trial steps may overshoot
            sol = solve_ivp(
                f,
                (t, t_end),
                y,
                method="DOP853",
                rtol=rtol,
                atol=atol,
                events=ground if stop_at_ground else None,
            )
        n_rhs += int(sol.nfev)
        if sol.status == 1 and sol.t_events[0].size:
            return ReferenceResult(
                float(sol.t_events[0][0]), sol.y_events[0][0], True, seg_end, n_rhs
            )
        if sol.status != 0:
            raise RuntimeError(f"solve_ivp failed on segment {s}: {sol.message}")
        t = float(sol.t[-1])
        y = sol.y[:, -1].copy()
        seg_end[s] = y
    return ReferenceResult(t, y, False, seg_end, n_rhs)
