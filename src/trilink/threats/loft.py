"""Steering solvers: the trajectory shapes, and the loft solver.

Every solver here searches the two guidance knobs of :class:`Steering` — the pitch
(``pitch_first_rad``, upper stages holding the same pitch) and the last stage's
burn fraction (energy management) — by flying *batches* of candidate flights
with :func:`trilink.threats.flight.fly_batch` (warhead only, no recording): a
whole grid of pitches costs about as much as one flight.

Shapes (full burn, no energy management):

* **minimum-energy**: the pitch that maximises ground range;
* **lofted**: steeper than minimum-energy, landing at ``min(1,000 km, 40 % of the
  maximum range)`` — the shape of North Korea's tests into the Sea of Japan;
* **depressed**: flatter than minimum-energy, with half the minimum-energy apogee.

The loft solver (:func:`solve_apogee_range`) finds pitch and burn fraction that
reproduce a published apogee *and* ground range (Newton iterations with a
finite-difference Jacobian flown as one batch of three flights).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
from scipy.optimize import least_squares

from trilink.threats.flight import Flight, Launch, Steering, fly_batch
from trilink.threats.vehicle import Missile

_PITCH_MIN = math.radians(3.0)
_PITCH_MAX = math.radians(89.5)


class TrajectoryShape(StrEnum):
    MINIMUM_ENERGY = "minimum-energy"
    LOFTED = "lofted"
    DEPRESSED = "depressed"


class SolverError(RuntimeError):
    """The requested trajectory is out of the missile's reach (or not found)."""


@dataclass(frozen=True, kw_only=True)
class LaunchGeometry:
    """Where a launch starts and which way it points (everything but steering)."""

    missile: Missile
    lat_rad: float
    lon_rad: float
    alt_m: float = 0.0
    azimuth_rad: float
    t_launch_s: float = 0.0

    def launch(self, steering: Steering, **extra: object) -> Launch:
        """The launch with this geometry and ``steering`` (extra fields passed on)."""
        return Launch(
            missile=self.missile,
            lat_rad=self.lat_rad,
            lon_rad=self.lon_rad,
            alt_m=self.alt_m,
            azimuth_rad=self.azimuth_rad,
            t_launch_s=self.t_launch_s,
            steering=steering,
            **extra,  # type: ignore[arg-type]
        )


SOLVER_RTOL = 1e-8
"""Integrator tolerance of the candidate flights (≈ metre-level apogee and range)."""


def _fly(geo: LaunchGeometry, steerings: list[Steering]) -> tuple[Flight, ...]:
    return fly_batch(
        [geo.launch(s) for s in steerings], record=False, objects=False, rtol=SOLVER_RTOL
    )


def _pitch_grid(geo: LaunchGeometry, fraction: float, n: int = 48) -> tuple[np.ndarray, ...]:
    pitches = np.linspace(_PITCH_MIN, _PITCH_MAX, n)
    flights = _fly(geo, [Steering(pitch_first_rad=p, burn_fraction_last=fraction) for p in pitches])
    rng = np.array([f.range_m if f.impacted else np.nan for f in flights])
    apo = np.array([f.apogee_m for f in flights])
    return pitches, rng, apo


def minimum_energy_steering(geo: LaunchGeometry, burn_fraction_last: float = 1.0) -> Steering:
    """The pitch that maximises ground range (grid, then golden-section refinement)."""
    pitches, rng, _ = _pitch_grid(geo, burn_fraction_last)
    if not np.isfinite(rng).any():
        raise SolverError(f"{geo.missile.key}: no pitch reaches the ground downrange")
    k = int(np.nanargmax(rng))
    lo = pitches[max(k - 1, 0)]
    hi = pitches[min(k + 1, pitches.size - 1)]
    # Golden-section in batches of 8 interior points, 4 rounds: bracket shrinks ~(2/9)^4.
    for _ in range(4):
        cand = np.linspace(lo, hi, 10)
        fl = _fly(
            geo, [Steering(pitch_first_rad=p, burn_fraction_last=burn_fraction_last) for p in cand]
        )
        r = np.array([f.range_m for f in fl])
        j = int(np.nanargmax(r))
        lo, hi = cand[max(j - 1, 0)], cand[min(j + 1, cand.size - 1)]
    return Steering(pitch_first_rad=float(0.5 * (lo + hi)), burn_fraction_last=burn_fraction_last)


def _solve_pitch_for(
    geo: LaunchGeometry,
    target: float,
    quantity: str,
    steep: bool,
    fraction: float = 1.0,
) -> Steering:
    """Pitch (on the steep or the flat side of minimum-energy) giving ``quantity == target``."""
    best = minimum_energy_steering(geo, fraction).pitch_first_rad
    lo, hi = (best, _PITCH_MAX) if steep else (_PITCH_MIN, best)
    for _ in range(5):
        cand = np.linspace(lo, hi, 12)
        fl = _fly(geo, [Steering(pitch_first_rad=p, burn_fraction_last=fraction) for p in cand])
        val = np.array([getattr(f, quantity) for f in fl]) - target
        sign = np.sign(val)
        change = np.flatnonzero(sign[:-1] * sign[1:] <= 0)
        if change.size == 0:
            raise SolverError(
                f"{geo.missile.key}: {quantity} {target / 1e3:.0f} km is out of reach on the "
                f"{'steep' if steep else 'flat'} side (reachable "
                f"{np.min(val + target) / 1e3:.0f}–{np.max(val + target) / 1e3:.0f} km)"
            )
        j = int(change[0])
        lo, hi = cand[j], cand[j + 1]
        if abs(hi - lo) < 1e-7:
            break
    # Final secant step inside the bracket.
    fl = _fly(geo, [Steering(pitch_first_rad=p, burn_fraction_last=fraction) for p in (lo, hi)])
    v_lo, v_hi = (getattr(f, quantity) - target for f in fl)
    p = lo if v_hi == v_lo else lo - v_lo * (hi - lo) / (v_hi - v_lo)
    return Steering(pitch_first_rad=float(np.clip(p, lo, hi)), burn_fraction_last=fraction)


def shape_steering(geo: LaunchGeometry, shape: TrajectoryShape | str) -> Steering:
    """Full-burn steering for a named trajectory shape (see the module docstring)."""
    shape = TrajectoryShape(shape)
    me = minimum_energy_steering(geo)
    if shape is TrajectoryShape.MINIMUM_ENERGY:
        return me
    me_flight = _fly(geo, [me])[0]
    if shape is TrajectoryShape.LOFTED:
        target = min(1_000e3, 0.4 * me_flight.range_m)
        return _solve_pitch_for(geo, target, "range_m", steep=True)
    return _solve_pitch_for(geo, 0.5 * me_flight.apogee_m, "apogee_m", steep=False)


def solve_range(geo: LaunchGeometry, range_m: float, shape: TrajectoryShape | str) -> Steering:
    """Steering that lands at ``range_m`` with the given shape.

    Lofted / depressed: full burn, pitch on the steep / flat side. Minimum-energy:
    the burn fraction whose maximum range is ``range_m`` (bisection), at its
    range-maximising pitch.
    """
    shape = TrajectoryShape(shape)
    if shape is not TrajectoryShape.MINIMUM_ENERGY:
        return _solve_pitch_for(geo, range_m, "range_m", steep=shape is TrajectoryShape.LOFTED)
    lo, hi = 0.05, 1.0
    best = minimum_energy_steering(geo, hi)
    if _fly(geo, [best])[0].range_m < range_m:
        raise SolverError(f"{geo.missile.key}: {range_m / 1e3:.0f} km exceeds the maximum range")
    for _ in range(20):
        mid = 0.5 * (lo + hi)
        st = minimum_energy_steering(geo, mid)
        if _fly(geo, [st])[0].range_m < range_m:
            lo = mid
        else:
            hi, best = mid, st
        if hi - lo < 1e-4:
            break
    return best


@dataclass(frozen=True, kw_only=True)
class LoftSolution:
    """Steering and payload that reproduce a published apogee and range."""

    steering: Steering
    rv_mass_kg: float
    """RV mass flown: the catalogue's nominal payload unless the published pair needs
    more energy than the missile has with it (then a lighter test payload)."""
    light_payload: bool
    """True when the fit needed a payload lighter than the catalogue's nominal one."""

    def launch(self, geo: LaunchGeometry, **extra: object) -> Launch:
        return geo.launch(self.steering, rv_mass_kg=self.rv_mass_kg, **extra)


def _energy_launches(geo: LaunchGeometry, xs: list[np.ndarray]) -> tuple[Flight, ...]:
    """Fly candidates ``x = (pitch_rad, e)``: energy ``e ≤ 1`` is the last stage's burn
    fraction with the nominal payload; ``e > 1`` is a full burn with payload
    ``nominal / e``. One continuous, monotone energy knob for the Newton solver."""
    nominal = geo.missile.rv.mass_kg
    launches = [
        geo.launch(
            Steering(pitch_first_rad=float(x[0]), burn_fraction_last=float(min(x[1], 1.0))),
            rv_mass_kg=nominal / max(float(x[1]), 1.0),
        )
        for x in xs
    ]
    return fly_batch(launches, record=False, objects=False, rtol=SOLVER_RTOL)


def solve_apogee_range(
    geo: LaunchGeometry,
    apogee_m: float,
    range_m: float,
    *,
    tol: float = 1e-4,
    max_iter: int = 40,
    max_payload_reduction: float = 10.0,
) -> LoftSolution:
    """Pitch and energy that reproduce ``apogee_m`` and ``range_m``.

    Energy is managed by cutting the last stage's burn short (thrust termination)
    when the missile has more than enough; when it has too little with its nominal
    payload, by flying a lighter test payload (down to nominal /
    ``max_payload_reduction``) — as analysts concluded for the lofted ICBM tests
    (e.g. Wright, UCS, 2017: the Hwasong-15 test "likely" carried a very light mock
    warhead). Damped Newton iterations on ``apogee/apogee* − 1`` and
    ``range/range* − 1`` with a finite-difference Jacobian flown as one batch,
    from a start on the right side of minimum-energy (steep when the apogee is above
    a third of the range). Raises :class:`SolverError` if the pair stays out of reach.
    """
    if apogee_m <= 0 or range_m <= 0:
        raise ValueError("apogee_m and range_m must be positive")
    steep = apogee_m > range_m / 3.0
    try:
        start = _solve_pitch_for(geo, apogee_m, "apogee_m", steep=steep).pitch_first_rad
    except SolverError:
        start = math.radians(85.0) if steep else minimum_energy_steering(geo).pitch_first_rad
    x = np.array([start, 1.0])
    d = np.array([1e-4, 1e-4])
    lo_b = np.array([_PITCH_MIN, 0.02])
    hi_b = np.array([_PITCH_MAX, max_payload_reduction])

    def residual(f: Flight) -> np.ndarray:
        if not f.impacted:
            return np.array([np.nan, np.nan])
        return np.array([f.apogee_m / apogee_m - 1.0, f.range_m / range_m - 1.0])

    cache: dict[tuple[float, float], np.ndarray] = {}

    def fun(xx: np.ndarray) -> np.ndarray:
        key = (float(xx[0]), float(xx[1]))
        if key not in cache:
            cache[key] = residual(_energy_launches(geo, [xx])[0])
        r = cache[key]
        return np.where(np.isfinite(r), r, 10.0)

    def jac(xx: np.ndarray) -> np.ndarray:
        r = fun(xx)
        hs = [
            d[0] if xx[0] + d[0] <= hi_b[0] else -d[0],
            d[1] if xx[1] + d[1] <= hi_b[1] else -d[1],
        ]
        fl = _energy_launches(geo, [xx + np.array([hs[0], 0.0]), xx + np.array([0.0, hs[1]])])
        cols = [
            (np.where(np.isfinite(q := residual(f)), q, 10.0) - r) / h
            for f, h in zip(fl, hs, strict=True)
        ]
        return np.column_stack(cols)

    sol = least_squares(
        fun,
        x,
        jac=jac,
        bounds=(lo_b, hi_b),
        method="trf",
        x_scale=np.array([math.radians(5.0), 0.1]),
        xtol=1e-10,
        ftol=1e-12,
        gtol=1e-12,
        max_nfev=max_iter,
    )
    r0 = fun(sol.x)
    if np.max(np.abs(r0)) < tol:
        e = float(sol.x[1])
        return LoftSolution(
            steering=Steering(pitch_first_rad=float(sol.x[0]), burn_fraction_last=min(e, 1.0)),
            rv_mass_kg=geo.missile.rv.mass_kg / max(e, 1.0),
            light_payload=e > 1.0,
        )
    raise SolverError(
        f"{geo.missile.key}: cannot reach apogee {apogee_m / 1e3:.0f} km with range "
        f"{range_m / 1e3:.0f} km (last residuals: apogee {r0[0]:+.1%}, range {r0[1]:+.1%}; "
        f"payload down to 1/{max_payload_reduction:g} of nominal allowed)"
    )


def with_upper_pitch(steering: Steering, pitch_upper_rad: float) -> Steering:
    """A copy of ``steering`` whose upper stages hold ``pitch_upper_rad``."""
    return replace(steering, pitch_upper_rad=pitch_upper_rad)
