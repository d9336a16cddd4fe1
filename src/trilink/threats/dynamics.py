"""Equations of motion of missiles, stages and debris in the rotating ECEF frame.

For every object (one row of an ``(N, 6)`` state ``[r_ecef_m, v_ecef_mps]``)::

    a_ecef = g(r) + (T + D + L) / m  − 2 ω × v − ω × (ω × r)

* ``g`` — point mass + J2 gravitation (:func:`trilink.geo.gravity_accel_mps2`);
* ``− 2 ω × v − ω × (ω × r)`` — Coriolis and centrifugal terms of the frame
  rotating at WGS-84 ω about z (:func:`trilink.geo.apparent_accel_ecef_mps2`);
* ``T`` — thrust ``F_vac − p(h)·A_exit`` along the steering direction, with
  ``F_vac = ṁ g0 Isp_vac`` (Sutton & Biblarz, *Rocket Propulsion Elements*,
  eq. 3-21: thrust = momentum thrust + pressure thrust);
* ``D`` — drag ``−½ ρ |v| v · CdA · F(M)`` against the air-relative velocity
  (the atmosphere co-rotates with the Earth, so it is the ECEF velocity);
* ``L`` — lift of a manoeuvring reentry vehicle (KN-23 pull-up), in the vertical
  plane, perpendicular to ``v``: ``½ ρ |v|² · CdA · F(M) · (L/D) · k`` where ``k``
  in [0, 1] is the pull-up command (see :func:`pull_up_command`);
* ``m`` — mass, linear in time within a burn (constant mass flow).

All quantities are SI. All functions are vectorised over rows; the same code
integrates one object or ten thousand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from trilink.geo.atmosphere import density_kgpm3, ussa1976
from trilink.geo.constants import STANDARD_GRAVITY_MPS2
from trilink.geo.frames import ecef_to_geodetic
from trilink.geo.gravity import apparent_accel_ecef_mps2, gravity_accel_mps2
from trilink.threats.aero import drag_mach_factor

F64 = NDArray[np.float64]

# Pressure and speed of sound are interpolated from a table of the US Standard
# Atmosphere 1976 (trilink.geo.atmosphere) on a 100 m grid: thrust and Mach number
# need them only to ~1e-4, far below what the public vehicle figures support.
_ATM_ALT_M = np.arange(-5_000.0, 200_001.0, 100.0)
_ATM = ussa1976(_ATM_ALT_M)
_ATM_LOG_P = np.log(np.asarray(_ATM.pressure_pa, dtype=float))
_ATM_SOUND = np.asarray(_ATM.speed_of_sound_mps, dtype=float)


def pressure_pa(alt_m: F64) -> F64:
    """Static pressure (USSA-1976, log-linear on a 100 m grid; 0 above 200 km)."""
    p = np.exp(np.interp(alt_m, _ATM_ALT_M, _ATM_LOG_P))
    return np.where(alt_m > _ATM_ALT_M[-1], 0.0, p)


def speed_of_sound_mps(alt_m: F64) -> F64:
    """Speed of sound (USSA-1976, linear on a 100 m grid, held constant outside)."""
    return np.interp(alt_m, _ATM_ALT_M, _ATM_SOUND)


@dataclass(frozen=True, slots=True)
class ForceParams:
    """Per-row force-model parameters for the current flight segment of each row.

    Every field is an array with one entry per row (``plane_normal_ecef`` is
    ``(N, 3)``). Steering fields are ignored on rows with zero thrust.
    """

    thrust_vac_n: F64
    """Vacuum thrust, N (0 when not burning)."""
    exit_area_m2: F64
    """Nozzle exit area, m²: thrust falls by ``p(h)·A_exit`` in the atmosphere."""
    mass_start_kg: F64
    """Mass at the start of the segment, kg."""
    mdot_kgps: F64
    """Propellant mass flow, kg/s (0 when not burning)."""
    t_start_s: F64
    """Segment start time, s since the scenario epoch."""
    drag_area_m2: F64
    """Hypersonic drag area Cd·A, m²."""
    drag_shape: NDArray[np.int_]
    """:class:`trilink.threats.aero.DragShape` of each row."""
    lift_to_drag: F64
    """Lift-to-drag ratio available for a pull-up manoeuvre (0: none)."""
    pullup_alt_m: F64
    """Altitude below which a descending manoeuvring RV pulls up, m."""
    plane_normal_ecef: F64
    """(N, 3) unit normal of the launch great-circle plane (heading = n × up)."""
    t_launch_s: F64
    """Launch time, s."""
    t_vertical_s: F64
    """Duration of the vertical rise after launch, s."""
    t_pitch_end_s: F64
    """Time after launch at which the first pitch ramp ends (end of stage-1 burn), s."""
    pitch_first_rad: F64
    """Thrust elevation above the local horizontal at the end of the first ramp."""
    pitch_upper_rad: F64
    """Thrust elevation held by the upper stages (after ``t_pitch_end_s``)."""
    yaw_start_s: F64
    """Time after launch at which the yaw (heading) turn starts, s."""
    yaw_end_s: F64
    """Time after launch at which the yaw turn ends, s."""
    yaw_delta_rad: F64
    """Total heading change, clockwise positive (negative turns left / north)."""


def local_frame(lat_rad: F64, lon_rad: F64) -> tuple[F64, F64, F64]:
    """Unit east, north, up vectors (geodetic) in ECEF, each ``(N, 3)``."""
    sl, cl = np.sin(lat_rad), np.cos(lat_rad)
    so, co = np.sin(lon_rad), np.cos(lon_rad)
    zero = np.zeros_like(lat_rad)
    east = np.stack([-so, co, zero], axis=-1)
    north = np.stack([-sl * co, -sl * so, cl], axis=-1)
    up = np.stack([cl * co, cl * so, sl], axis=-1)
    return east, north, up


def pitch_program_rad(t_since_launch_s: F64, p: ForceParams) -> F64:
    """Thrust elevation above the local horizontal, rad.

    90° for the vertical rise, then linear in time down to ``pitch_first_rad`` at
    ``t_pitch_end_s``, then ``pitch_upper_rad``.
    """
    ramp = np.clip(
        (t_since_launch_s - p.t_vertical_s) / np.maximum(p.t_pitch_end_s - p.t_vertical_s, 1e-9),
        0.0,
        1.0,
    )
    first = 0.5 * np.pi + ramp * (p.pitch_first_rad - 0.5 * np.pi)
    return np.where(t_since_launch_s < p.t_pitch_end_s, first, p.pitch_upper_rad)


def yaw_program_rad(t_since_launch_s: F64, p: ForceParams) -> F64:
    """Heading change from the launch great circle, rad (clockwise positive)."""
    span = np.maximum(p.yaw_end_s - p.yaw_start_s, 1e-9)
    return p.yaw_delta_rad * np.clip((t_since_launch_s - p.yaw_start_s) / span, 0.0, 1.0)


def thrust_direction_ecef(t_s: F64, up: F64, p: ForceParams) -> F64:
    """Unit thrust direction ``cos θ·h + sin θ·u`` in ECEF, ``(N, 3)``.

    ``u`` is the geodetic up; ``h`` the horizontal heading: the launch great
    circle's direction ``n × u`` turned clockwise by the yaw program.
    """
    tl = t_s - p.t_launch_s
    theta = pitch_program_rad(tl, p)
    h0 = np.cross(p.plane_normal_ecef, up)
    h0 /= np.linalg.norm(h0, axis=-1, keepdims=True)
    dpsi = yaw_program_rad(tl, p)[..., None]
    # Rotating clockwise seen from above is a rotation about −up: u × h0 points left.
    h = np.cos(dpsi) * h0 - np.sin(dpsi) * np.cross(up, h0)
    return np.cos(theta)[..., None] * h + np.sin(theta)[..., None] * up


def pull_up_command(alt_m: F64, gamma_rad: F64, p: ForceParams) -> F64:
    """Pull-up command k in [0, 1] for a manoeuvring reentry vehicle.

    Proportional to the descent angle (full lift at 10° below the horizontal), faded
    in over the 5 km above ``pullup_alt_m`` so the force is continuous in time.
    """
    fade = np.clip((p.pullup_alt_m - alt_m) / 5_000.0 + 1.0, 0.0, 1.0)
    return np.clip(-gamma_rad / np.deg2rad(10.0), 0.0, 1.0) * fade


def derivative(t_s: F64, y: F64, p: ForceParams) -> F64:
    """Time derivative ``[v, a]`` of the ECEF states ``y`` (N, 6) at times ``t_s`` (N,)."""
    r = y[:, :3]
    v = y[:, 3:]
    lat, lon, alt = ecef_to_geodetic(r)
    a = gravity_accel_mps2(r) + apparent_accel_ecef_mps2(r, v)

    mass = p.mass_start_kg - p.mdot_kgps * (t_s - p.t_start_s)
    speed = np.linalg.norm(v, axis=-1)
    rho = density_kgpm3(alt)
    mach = speed / speed_of_sound_mps(alt)
    cda = p.drag_area_m2 * drag_mach_factor(mach, p.drag_shape)
    q_cda_over_m = 0.5 * rho * speed * cda / mass  # × v gives the drag acceleration
    a -= q_cda_over_m[:, None] * v

    burning = p.thrust_vac_n > 0.0
    manoeuvring = p.lift_to_drag > 0.0
    if burning.any() or manoeuvring.any():
        _, _, up = local_frame(lat, lon)
        if burning.any():
            thrust = np.maximum(p.thrust_vac_n - pressure_pa(alt) * p.exit_area_m2, 0.0)
            direction = thrust_direction_ecef(t_s, up, p)
            a += np.where(burning, thrust / mass, 0.0)[:, None] * direction
        if manoeuvring.any():
            v_up = np.einsum("ij,ij->i", v, up)
            safe_speed = np.maximum(speed, 1e-9)
            gamma = np.arcsin(np.clip(v_up / safe_speed, -1.0, 1.0))
            lift_dir = up - (v_up / safe_speed**2)[:, None] * v
            lift_dir /= np.maximum(np.linalg.norm(lift_dir, axis=-1, keepdims=True), 1e-12)
            k = pull_up_command(alt, gamma, p) * p.lift_to_drag
            a += (q_cda_over_m * safe_speed * k)[:, None] * lift_dir

    return np.concatenate([v, a], axis=-1)


def exit_area_m2(thrust_vac_n: float, isp_vac_s: float, isp_sl_s: float) -> float:
    """Nozzle exit area implied by vacuum and sea-level specific impulse, m².

    ``F_sl = F_vac − p0·A_exit`` and ``F = ṁ g0 Isp``, so
    ``A_exit = ṁ g0 (Isp_vac − Isp_sl) / p0`` (Sutton & Biblarz eq. 3-21).
    """
    p0 = 101_325.0  # USSA-1976 sea-level pressure, Pa (NOAA-S/T 76-1562, table 1)
    mdot = thrust_vac_n / (STANDARD_GRAVITY_MPS2 * isp_vac_s)
    return mdot * STANDARD_GRAVITY_MPS2 * (isp_vac_s - isp_sl_s) / p0
