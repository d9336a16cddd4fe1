"""Fly missiles: powered flight with staging, then every object to impact.

:func:`fly_batch` is the engine. It flies any number of launches together in two
waves of :func:`trilink.threats.integrate.integrate_batch`:

1. **Powered flight.** Each launch is one row (the *stack*) through its segments:
   stage burns, coasts with a spent stage attached (``separation_delay_s``),
   coasts before ignition (``ignition_delay_s``). The state at each separation is
   recorded.
2. **Ballistic flight.** Every object born at a separation becomes its own row
   with its own mass and drag: each spent stage (tumbling), the reentry vehicle
   (the *warhead*), the last stage body, and optional debris fragments with a
   random Δv. All fall together to the WGS-84 ellipsoid.

The results are immutable :class:`Flight` objects holding an
:class:`ObjectTrajectory` per object (interpolated with the integrator's own
steps) and the summary figures (apogee, range, flight time, burnout, stage
impacts).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from trilink.geo.frames import ecef_to_eci, ecef_to_geodetic, geodetic_to_ecef
from trilink.geo.geodesic import geodesic_inverse
from trilink.threats.aero import DragShape
from trilink.threats.dynamics import exit_area_m2, local_frame
from trilink.threats.integrate import (
    FORCE_FIELDS_PER_ROW,
    FORCE_FIELDS_PER_SEGMENT,
    BatchResult,
    SegmentedModel,
    integrate_batch,
    integrate_reference,
)
from trilink.threats.vehicle import Missile

F64 = NDArray[np.float64]

DEFAULT_RTOL = 1e-9
"""Default relative tolerance of the batch integrator (impact error ≪ 1 m vs DOP853 at 1e-10)."""

MAX_BALLISTIC_FLIGHT_S = 4.0 * 3600.0
"""Longest ballistic flight followed before an object is declared not to impact (an
object with that much energy is in orbit: not a ballistic missile trajectory)."""

SEPARATION_DV_MPS = 1.0
"""Separation impulse between a spent stage and the stack, m/s (our assumption: springs
or retro-motors push the pieces apart at ~1 m/s)."""


class ObjectKind(StrEnum):
    """What an object is (the truth table's ``kind`` column)."""

    WARHEAD = "warhead"
    STAGE = "stage"
    DEBRIS = "debris"


@dataclass(frozen=True, kw_only=True)
class Steering:
    """Open-loop guidance: a pitch program, an optional yaw turn, energy management.

    Thrust elevation above the local horizontal: 90° for the vertical rise, then
    linear in time down to ``pitch_first_rad`` at the end of the first stage's
    burn, then ``pitch_upper_rad`` (defaults to ``pitch_first_rad``) for the upper
    stages. A lofted shot pitches steeply, a depressed one flat. ``yaw_delta_rad``
    turns the heading clockwise (negative: left) linearly between
    ``yaw_start_s`` and ``yaw_end_s`` after launch. ``burn_fraction_last`` cuts the
    last stage's burn short (thrust termination or energy management), which is how
    a missile flies a range shorter than the one its pitch would give at full burn.
    """

    pitch_first_rad: float
    pitch_upper_rad: float | None = None
    yaw_start_s: float = 0.0
    yaw_end_s: float = 0.0
    yaw_delta_rad: float = 0.0
    burn_fraction_last: float = 1.0

    def __post_init__(self) -> None:
        if not (0.0 < self.pitch_first_rad <= 0.5 * math.pi):
            raise ValueError(
                f"Steering.pitch_first_rad must be in (0, π/2], got {self.pitch_first_rad!r}"
            )
        if self.pitch_upper_rad is not None and not (
            -0.5 * math.pi < self.pitch_upper_rad <= 0.5 * math.pi
        ):
            raise ValueError(f"Steering.pitch_upper_rad out of range: {self.pitch_upper_rad!r}")
        if not (0.0 < self.burn_fraction_last <= 1.0):
            raise ValueError(
                f"Steering.burn_fraction_last must be in (0, 1], got {self.burn_fraction_last!r}"
            )
        if self.yaw_end_s < self.yaw_start_s:
            raise ValueError("Steering.yaw_end_s must not be before yaw_start_s")


@dataclass(frozen=True, kw_only=True)
class Launch:
    """One missile launch: what, where, when, which way, how steered."""

    missile: Missile
    lat_rad: float
    lon_rad: float
    alt_m: float = 0.0
    azimuth_rad: float
    steering: Steering
    t_launch_s: float = 0.0
    threat_id: str = "T1"
    n_debris: int = 0
    """Debris fragments released at RV separation (0 by default)."""
    debris_dv_sigma_mps: float = 15.0
    """Standard deviation of each debris fragment's Δv per axis, m/s."""
    rv_mass_kg: float | None = None
    """Reentry-vehicle mass flown, kg (None: the catalogue's nominal payload). Test
    flights often carry a lighter payload than the operational one."""

    @property
    def payload_kg(self) -> float:
        """The RV mass actually flown, kg."""
        return self.missile.rv.mass_kg if self.rv_mass_kg is None else self.rv_mass_kg

    def __post_init__(self) -> None:
        if self.rv_mass_kg is not None and not (self.rv_mass_kg > 0.0):
            raise ValueError(f"Launch.rv_mass_kg must be positive, got {self.rv_mass_kg!r}")
        if not (-0.5 * math.pi <= self.lat_rad <= 0.5 * math.pi):
            raise ValueError(f"Launch.lat_rad out of [-π/2, π/2]: {self.lat_rad!r}")
        if not math.isfinite(self.lon_rad) or not math.isfinite(self.azimuth_rad):
            raise ValueError("Launch.lon_rad and azimuth_rad must be finite")
        if self.n_debris < 0:
            raise ValueError(f"Launch.n_debris must be ≥ 0, got {self.n_debris}")


@dataclass(frozen=True, kw_only=True)
class ObjectTrajectory:
    """The path of one object from its birth (launch or separation) to impact.

    ``t_s`` (K,), ``y`` (K, 6) ECEF states and ``dy`` (K, 6) derivatives at the
    integrator's accepted steps; :meth:`states_at` interpolates them with cubic
    Hermite polynomials (the accuracy of the steps themselves: ~1e-9 relative).
    """

    object_id: str
    kind: ObjectKind
    threat_id: str
    parent_id: str | None
    t_start_s: float
    t_impact_s: float
    impact_lat_rad: float
    impact_lon_rad: float
    mass_kg: float
    """Mass after birth (ballistic phase), kg."""
    ballistic_coefficient_kgpm2: float
    """Hypersonic β = m/(Cd·A) in the ballistic phase, kg/m²."""
    stack_until_s: float = math.nan
    """For the warhead: until this time (its separation) it *is* the whole missile
    stack (launch to final separation): a large, burning body. NaN for others."""
    burn_intervals_s: tuple[tuple[float, float], ...] = ()
    """Intervals (start, end), s, during which this object is thrusting (the stack's
    burns; empty for stages, debris and the free-flying RV)."""
    length_m: float = math.nan
    """Length of the object (RV, stage body; NaN for debris), m: for radar RCS models."""
    diameter_m: float = math.nan
    """Diameter of the object (NaN for debris), m."""
    t_s: F64 = field(repr=False)
    y: F64 = field(repr=False)
    dy: F64 = field(repr=False)

    def states_at(self, t_s: F64) -> F64:
        """ECEF states ``(M, 6)`` at times ``t_s`` (NaN outside the object's life)."""
        t_q = np.atleast_1d(np.asarray(t_s, dtype=float))
        out = np.full((t_q.size, 6), np.nan)
        inside = (t_q >= self.t_s[0]) & (t_q <= self.t_s[-1])
        if not inside.any() or self.t_s.size < 2:
            return out
        tq = t_q[inside]
        k = np.clip(np.searchsorted(self.t_s, tq, side="right") - 1, 0, self.t_s.size - 2)
        h = self.t_s[k + 1] - self.t_s[k]
        s = ((tq - self.t_s[k]) / h)[:, None]
        hh = h[:, None]
        out[inside] = (
            (2 * s**3 - 3 * s**2 + 1) * self.y[k]
            + (s**3 - 2 * s**2 + s) * hh * self.dy[k]
            + (-2 * s**3 + 3 * s**2) * self.y[k + 1]
            + (s**3 - s**2) * hh * self.dy[k + 1]
        )
        return out


@dataclass(frozen=True, kw_only=True)
class StageImpact:
    """Where and when a spent stage fell."""

    stage: int
    """1-based stage number."""
    separation_time_s: float
    impact_time_s: float
    impact_lat_rad: float
    impact_lon_rad: float


@dataclass(frozen=True, kw_only=True)
class Flight:
    """One flown launch: summary figures and every object's trajectory."""

    launch: Launch
    apogee_m: float
    apogee_time_s: float
    range_m: float
    """Geodesic ground range from the launch point to the warhead's impact, m."""
    flight_time_s: float
    impact_lat_rad: float
    impact_lon_rad: float
    impact_time_s: float
    burnout_time_s: float
    """End of the last burn, s since the scenario epoch."""
    burnout_state_ecef: F64 = field(repr=False)
    stage_impacts: tuple[StageImpact, ...]
    objects: tuple[ObjectTrajectory, ...] = field(repr=False)
    impacted: bool = True
    """False if the warhead had not reached the ground when integration stopped."""

    @property
    def burnout_speed_mps(self) -> float:
        """Earth-relative (ECEF) speed at burnout, m/s."""
        return float(np.linalg.norm(self.burnout_state_ecef[3:]))

    @property
    def burnout_speed_inertial_mps(self) -> float:
        """Speed at burnout in the inertial frame of :mod:`trilink.geo.frames`, m/s."""
        _, v = ecef_to_eci(
            self.burnout_state_ecef[:3], self.burnout_state_ecef[3:], self.burnout_time_s
        )
        return float(np.linalg.norm(v))

    @property
    def warhead(self) -> ObjectTrajectory:
        return next(o for o in self.objects if o.kind is ObjectKind.WARHEAD)


# ----------------------------------------------------------------------------------
# Building the powered-flight segments
# ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Segment:
    end_s: float
    thrust_vac_n: float
    exit_area_m2: float
    mass_start_kg: float
    mdot_kgps: float
    t_start_s: float
    drag_area_m2: float
    separates_stage: int | None  # 0-based stage index that separates at the segment end


def _powered_segments(launch: Launch) -> list[_Segment]:
    m = launch.missile
    st = launch.steering
    t = launch.t_launch_s
    mass = m.launch_mass_kg - m.rv.mass_kg + launch.payload_kg
    segs: list[_Segment] = []
    n = len(m.stages)
    for i, stage in enumerate(m.stages):
        cd_a = stage.drag_coefficient * stage.cross_section_m2
        if stage.ignition_delay_s > 0.0:
            segs.append(_Segment(t + stage.ignition_delay_s, 0.0, 0.0, mass, 0.0, t, cd_a, None))
            t += stage.ignition_delay_s
        burn = stage.burn_time_s * (st.burn_fraction_last if i == n - 1 else 1.0)
        a_exit = exit_area_m2(stage.thrust_vac_n, stage.isp_vac_s, stage.isp_sl_s)
        last_burn = i == n - 1 and stage.separation_delay_s == 0.0
        sep_now = i if (stage.separation_delay_s == 0.0) else None
        if last_burn and not m.rv_separates:
            sep_now = None
        segs.append(
            _Segment(
                t + burn, stage.thrust_vac_n, a_exit, mass, stage.mass_flow_kgps, t, cd_a, sep_now
            )
        )
        t += burn
        mass -= stage.mass_flow_kgps * burn
        if stage.separation_delay_s > 0.0:
            sep = i if (i < n - 1 or m.rv_separates) else None
            segs.append(_Segment(t + stage.separation_delay_s, 0.0, 0.0, mass, 0.0, t, cd_a, sep))
            t += stage.separation_delay_s
        # The spent stage (with any unburned propellant) leaves the stack.
        mass -= stage.dry_mass_kg + stage.propellant_mass_kg - stage.mass_flow_kgps * burn
    return segs


def _steering_row(launch: Launch) -> dict[str, NDArray]:
    m = launch.missile
    st = launch.steering
    r0 = geodetic_to_ecef(launch.lat_rad, launch.lon_rad, launch.alt_m)
    east, north, _up = local_frame(np.array([launch.lat_rad]), np.array([launch.lon_rad]))
    heading = math.sin(launch.azimuth_rad) * east[0] + math.cos(launch.azimuth_rad) * north[0]
    normal = np.cross(r0 / np.linalg.norm(r0), heading)
    normal /= np.linalg.norm(normal)
    first_burn_end = m.stages[0].ignition_delay_s + m.stages[0].burn_time_s
    if len(m.stages) == 1:
        first_burn_end *= st.burn_fraction_last
    if m.pitch_ramp_end_s is not None:
        first_burn_end = min(first_burn_end, m.pitch_ramp_end_s)
    pitch_upper = st.pitch_first_rad if st.pitch_upper_rad is None else st.pitch_upper_rad
    return {
        "plane_normal_ecef": normal[None, :],
        "t_launch_s": np.array([launch.t_launch_s]),
        "t_vertical_s": np.array([m.vertical_rise_s]),
        "t_pitch_end_s": np.array([first_burn_end]),
        "pitch_first_rad": np.array([st.pitch_first_rad]),
        "pitch_upper_rad": np.array([pitch_upper]),
        "yaw_start_s": np.array([st.yaw_start_s]),
        "yaw_end_s": np.array([st.yaw_end_s]),
        "yaw_delta_rad": np.array([st.yaw_delta_rad]),
    }


def _model_from_rows(
    segments: list[list[dict[str, float]]], steering: list[dict[str, NDArray]]
) -> SegmentedModel:
    """Stack per-row segment lists (padded to a common length) into a model."""
    n = len(segments)
    s_max = max(len(s) for s in segments)
    ends = np.empty((n, s_max))
    per_segment = {k: np.empty((n, s_max)) for k in FORCE_FIELDS_PER_SEGMENT}
    per_segment["drag_shape"] = np.empty((n, s_max), dtype=int)
    for i, segs in enumerate(segments):
        padded = segs + [segs[-1]] * (s_max - len(segs))
        for j, sg in enumerate(padded):
            ends[i, j] = sg["end_s"]
            for k in FORCE_FIELDS_PER_SEGMENT:
                per_segment[k][i, j] = sg[k]
    per_row = {k: np.concatenate([s[k] for s in steering]) for k in FORCE_FIELDS_PER_ROW}
    return SegmentedModel(ends, per_segment, per_row)


def _seg_dict(sg: _Segment) -> dict[str, float]:
    return {
        "end_s": sg.end_s,
        "thrust_vac_n": sg.thrust_vac_n,
        "exit_area_m2": sg.exit_area_m2,
        "mass_start_kg": sg.mass_start_kg,
        "mdot_kgps": sg.mdot_kgps,
        "t_start_s": sg.t_start_s,
        "drag_area_m2": sg.drag_area_m2,
        "drag_shape": int(DragShape.SLENDER),
        "lift_to_drag": 0.0,
        "pullup_alt_m": 0.0,
    }


# ----------------------------------------------------------------------------------
# Flying
# ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Birth:
    launch_index: int
    object_id: str
    kind: ObjectKind
    parent_id: str | None
    stage_index: int | None
    t_s: float
    y: F64
    mass_kg: float
    drag_area_m2: float
    drag_shape: DragShape
    lift_to_drag: float
    pullup_alt_m: float


def fly_batch(
    launches: Sequence[Launch],
    *,
    rng: np.random.Generator | None = None,
    record: bool = True,
    objects: bool = True,
    rtol: float = DEFAULT_RTOL,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Flight, ...]:
    """Fly every launch, as one vectorised batch, to the impact of all its objects.

    Parameters
    ----------
    launches
        The launches; any mix of missiles, sites, times and steering.
    rng
        Source of the debris fragments' random Δv and drag (needed only when a
        launch asks for debris).
    record
        Keep every object's trajectory (for truth tables and sampling). Off, only
        the summary figures and impact points are kept (faster, less memory).
    objects
        Fly the spent stages, stage bodies and debris too. Off, only the warhead
        (enough for apogee / range / flight-time solvers).
    rtol
        Relative tolerance of the integrator.
    """
    if not launches:
        return ()
    if any(la.n_debris for la in launches) and rng is None and objects:
        raise ValueError("fly_batch: launches with debris need an rng (numpy Generator)")
    seg_lists = [_powered_segments(la) for la in launches]
    steering = [_steering_row(la) for la in launches]
    model = _model_from_rows([[_seg_dict(s) for s in segs] for segs in seg_lists], steering)
    y0 = np.zeros((len(launches), 6))
    for i, la in enumerate(launches):
        y0[i, :3] = geodetic_to_ecef(la.lat_rad, la.lon_rad, la.alt_m)
    t0 = np.array([la.t_launch_s for la in launches])
    powered = integrate_batch(model, t0, y0, rtol=rtol, record=record, progress=None)

    births: list[_Birth] = []
    for i, (la, segs) in enumerate(zip(launches, seg_lists, strict=True)):
        births.extend(_births(i, la, segs, powered, objects=objects, rng=rng))
    b_model = _ballistic_model(births, [steering[b.launch_index] for b in births])
    b_t0 = np.array([b.t_s for b in births])
    b_y0 = np.stack([b.y for b in births])
    ballistic = integrate_batch(b_model, b_t0, b_y0, rtol=rtol, record=record, progress=progress)
    return tuple(
        _assemble(i, la, segs, powered, births, ballistic, record)
        for i, (la, segs) in enumerate(zip(launches, seg_lists, strict=True))
    )


def fly(launch: Launch, *, rng: np.random.Generator | None = None, **kwargs: object) -> Flight:
    """Fly one launch (see :func:`fly_batch`)."""
    return fly_batch([launch], rng=rng, **kwargs)[0]  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class ReferenceImpact:
    """Impact of one object flown by :func:`fly_reference`."""

    object_id: str
    kind: ObjectKind
    t_impact_s: float
    r_impact_ecef_m: F64
    n_rhs: int


def fly_reference(
    launch: Launch,
    *,
    rng: np.random.Generator | None = None,
    rtol: float = 1e-10,
    atol: float = 1e-9,
) -> tuple[ReferenceImpact, ...]:
    """Fly one launch object by object with ``scipy.integrate.solve_ivp`` (DOP853).

    The same force model, segments and staging as :func:`fly_batch`, integrated
    independently (its own separation states): the oracle for the batch
    integrator's accuracy and the one-by-one baseline for its speed.
    """
    segs = _powered_segments(launch)
    steering = _steering_row(launch)
    model = _model_from_rows([[_seg_dict(sg) for sg in segs]], [steering])
    y0 = np.zeros(6)
    y0[:3] = geodetic_to_ecef(launch.lat_rad, launch.lon_rad, launch.alt_m)
    ref = integrate_reference(model, 0, launch.t_launch_s, y0, rtol=rtol, atol=atol)
    shim = BatchResult(
        t_s=np.array([ref.t_s]),
        y=ref.y[None, :],
        impacted=np.array([ref.impacted]),
        segment_end_y=ref.segment_end_y[None, :, :],
        apogee_alt_m=np.array([np.nan]),
        apogee_t_s=np.array([np.nan]),
        n_steps=0,
        n_rejected=0,
        record=None,
    )
    births = _births(0, launch, segs, shim, objects=True, rng=rng)
    b_model = _ballistic_model(births, [steering] * len(births))
    out = []
    for j, b in enumerate(births):
        r = integrate_reference(b_model, j, b.t_s, b.y, rtol=rtol, atol=atol)
        out.append(
            ReferenceImpact(
                object_id=b.object_id,
                kind=b.kind,
                t_impact_s=r.t_s if r.impacted else math.nan,
                r_impact_ecef_m=r.y[:3].copy(),
                n_rhs=r.n_rhs + (ref.n_rhs if b.kind is ObjectKind.WARHEAD else 0),
            )
        )
    return tuple(out)


def _births(
    i: int,
    la: Launch,
    segs: list[_Segment],
    powered: BatchResult,
    *,
    objects: bool,
    rng: np.random.Generator | None,
) -> list[_Birth]:
    m = la.missile
    out: list[_Birth] = []
    tid = la.threat_id
    warhead_id = f"{tid}-warhead"
    end_y = powered.segment_end_y[i]
    n_stages = len(m.stages)
    for j, sg in enumerate(segs):
        if sg.separates_stage is None:
            continue
        k = sg.separates_stage
        y_sep = end_y[j].copy()
        v_hat = y_sep[3:] / max(np.linalg.norm(y_sep[3:]), 1e-9)
        stage = m.stages[k]
        burn = stage.burn_time_s * (la.steering.burn_fraction_last if k == n_stages - 1 else 1.0)
        leftover = stage.propellant_mass_kg - stage.mass_flow_kgps * burn
        if objects:
            y_stage = y_sep.copy()
            y_stage[3:] -= 0.5 * SEPARATION_DV_MPS * v_hat
            out.append(
                _Birth(
                    i,
                    f"{tid}-stage{k + 1}",
                    ObjectKind.STAGE,
                    warhead_id,
                    k,
                    sg.end_s,
                    y_stage,
                    stage.dry_mass_kg + leftover,
                    stage.tumbling_drag_area_m2,
                    DragShape.TUMBLING,
                    0.0,
                    0.0,
                )
            )
    # The warhead starts its ballistic life at the end of powered flight.
    y_end = powered.y[i].copy()
    t_end = float(powered.t_s[i])
    rv = m.rv
    if m.rv_separates:
        v_hat = y_end[3:] / max(np.linalg.norm(y_end[3:]), 1e-9)
        y_end[3:] += 0.5 * SEPARATION_DV_MPS * v_hat
        mass = la.payload_kg
    else:
        last = m.stages[-1]
        burn = last.burn_time_s * la.steering.burn_fraction_last
        mass = (
            la.payload_kg + last.dry_mass_kg + last.propellant_mass_kg - last.mass_flow_kgps * burn
        )
    out.append(
        _Birth(
            i,
            warhead_id,
            ObjectKind.WARHEAD,
            None,
            None,
            t_end,
            y_end,
            mass,
            m.reentry_drag_area_m2,
            DragShape.SLENDER,
            rv.lift_to_drag,
            rv.pullup_alt_m,
        )
    )
    if objects and la.n_debris:
        assert rng is not None
        y_rel = powered.y[i]
        for d in range(la.n_debris):
            dv = rng.normal(0.0, la.debris_dv_sigma_mps, 3)
            # Fragments: 2–50 kg, β from 100 to 2,000 kg/m² (log-uniform; our assumption).
            frag_mass = float(np.exp(rng.uniform(np.log(2.0), np.log(50.0))))
            beta = float(np.exp(rng.uniform(np.log(100.0), np.log(2000.0))))
            y_d = y_rel.copy()
            y_d[3:] += dv
            out.append(
                _Birth(
                    i,
                    f"{tid}-debris{d + 1:02d}",
                    ObjectKind.DEBRIS,
                    warhead_id,
                    None,
                    t_end,
                    y_d,
                    frag_mass,
                    frag_mass / beta,
                    DragShape.TUMBLING,
                    0.0,
                    0.0,
                )
            )
    return out


def _ballistic_model(births: list[_Birth], steering: list[dict[str, NDArray]]) -> SegmentedModel:
    rows = []
    for b in births:
        rows.append(
            [
                {
                    "end_s": b.t_s + MAX_BALLISTIC_FLIGHT_S,
                    "thrust_vac_n": 0.0,
                    "exit_area_m2": 0.0,
                    "mass_start_kg": b.mass_kg,
                    "mdot_kgps": 0.0,
                    "t_start_s": b.t_s,
                    "drag_area_m2": b.drag_area_m2,
                    "drag_shape": int(b.drag_shape),
                    "lift_to_drag": b.lift_to_drag,
                    "pullup_alt_m": b.pullup_alt_m,
                }
            ]
        )
    return _model_from_rows(rows, steering)


def _object_size_m(la: Launch, b: _Birth) -> tuple[float, float]:
    """(length, diameter) of an object, m (NaN for debris fragments)."""
    if b.kind is ObjectKind.STAGE and b.stage_index is not None:
        stage = la.missile.stages[b.stage_index]
        return stage.length_m, stage.diameter_m
    if b.kind is ObjectKind.WARHEAD:
        return la.missile.rv.length_m, la.missile.rv.base_diameter_m
    return math.nan, math.nan


def _assemble(
    i: int,
    la: Launch,
    segs: list[_Segment],
    powered: BatchResult,
    births: list[_Birth],
    ballistic: BatchResult,
    record: bool,
) -> Flight:
    mine = [(j, b) for j, b in enumerate(births) if b.launch_index == i]
    burns = tuple((sg.t_start_s, sg.end_s) for sg in segs if sg.thrust_vac_n > 0.0)
    trajs: list[ObjectTrajectory] = []
    stage_impacts: list[StageImpact] = []
    warhead_row = next(j for j, b in mine if b.kind is ObjectKind.WARHEAD)
    for j, b in mine:
        y_imp = ballistic.y[j]
        lat, lon, _ = ecef_to_geodetic(y_imp[:3])
        t_imp = float(ballistic.t_s[j]) if ballistic.impacted[j] else math.nan
        if record:
            assert ballistic.record is not None and powered.record is not None
            t_b, y_b, dy_b = ballistic.record.for_row(j)
            if b.kind is ObjectKind.WARHEAD:
                t_p, y_p, dy_p = powered.record.for_row(i)
                keep = t_p < t_b[0]
                t_b = np.concatenate([t_p[keep], t_b])
                y_b = np.concatenate([y_p[keep], y_b])
                dy_b = np.concatenate([dy_p[keep], dy_b])
        else:
            t_b = y_b = dy_b = np.empty((0,))
        trajs.append(
            ObjectTrajectory(
                object_id=b.object_id,
                kind=b.kind,
                threat_id=la.threat_id,
                parent_id=b.parent_id,
                t_start_s=la.t_launch_s if b.kind is ObjectKind.WARHEAD else b.t_s,
                t_impact_s=t_imp,
                impact_lat_rad=float(lat),
                impact_lon_rad=float(lon),
                mass_kg=b.mass_kg,
                ballistic_coefficient_kgpm2=b.mass_kg / b.drag_area_m2,
                stack_until_s=b.t_s if b.kind is ObjectKind.WARHEAD else math.nan,
                burn_intervals_s=burns if b.kind is ObjectKind.WARHEAD else (),
                length_m=_object_size_m(la, b)[0],
                diameter_m=_object_size_m(la, b)[1],
                t_s=t_b,
                y=y_b,
                dy=dy_b,
            )
        )
        if b.kind is ObjectKind.STAGE and b.stage_index is not None:
            stage_impacts.append(
                StageImpact(
                    stage=b.stage_index + 1,
                    separation_time_s=b.t_s,
                    impact_time_s=t_imp,
                    impact_lat_rad=float(lat),
                    impact_lon_rad=float(lon),
                )
            )
    w = trajs[[j for j, _ in mine].index(warhead_row)]
    impacted = bool(ballistic.impacted[warhead_row])
    range_m = (
        float(geodesic_inverse(la.lat_rad, la.lon_rad, w.impact_lat_rad, w.impact_lon_rad)[0])
        if impacted
        else math.nan
    )
    apo_p = float(powered.apogee_alt_m[i])
    apo_b = float(ballistic.apogee_alt_m[warhead_row])
    if apo_b >= apo_p:
        apogee, apogee_t = apo_b, float(ballistic.apogee_t_s[warhead_row])
    else:
        apogee, apogee_t = apo_p, float(powered.apogee_t_s[i])
    last_burn = max(j for j, s in enumerate(segs) if s.thrust_vac_n > 0.0)
    burnout_t = segs[last_burn].end_s
    burnout_y = powered.segment_end_y[i, last_burn].copy()
    return Flight(
        launch=la,
        apogee_m=apogee,
        apogee_time_s=apogee_t,
        range_m=range_m,
        flight_time_s=w.t_impact_s - la.t_launch_s,
        impact_lat_rad=w.impact_lat_rad,
        impact_lon_rad=w.impact_lon_rad,
        impact_time_s=w.t_impact_s,
        burnout_time_s=burnout_t,
        burnout_state_ecef=burnout_y,
        stage_impacts=tuple(sorted(stage_impacts, key=lambda s: s.stage)),
        objects=tuple(trajs),
        impacted=impacted,
    )
