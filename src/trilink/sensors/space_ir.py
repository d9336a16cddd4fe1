"""Space-based infrared early warning: a SBIRS-like geostationary plume sensor and launch notices.

What is public and what is assumed
----------------------------------
The US Space Based Infrared System (SBIRS) GEO satellites carry a *scanning*
sensor for wide-area surveillance and a separate, independently steerable
*staring* sensor for smaller areas at higher sensitivity (Air Force Magazine,
"SBIRS Satellite Opens Its Eyes", 2011; UPI, "US Air Force launches SBIRS",
2011-05-09, which also quotes "a reduction in area revisit times" over the
Defense Support Program). They detect boost-phase plumes; Japan relies on this
US data (``shared/data/public_reference.md`` §3, SBIRS row). Their line-of-sight
accuracy, revisit period and slots are **not public**. This module therefore
models a generic geostationary plume sensor and every number below is either a
derived physical constant or an explicitly labelled **assumption**:

==========================  ==========================  =================================
figure                      value                       status
==========================  ==========================  =================================
orbit radius                42,164.2 km                 derived: ``(GM/ω²)^(1/3)``, WGS-84
altitude above equator      35,786.0 km                 derived (radius - a); the usual
                                                        public figure is 35,786 km
sub-satellite longitudes    150° E and 90° E            **assumption** (not public): one
                                                        over the western Pacific, one over
                                                        the Indian Ocean, for stereo
line-of-sight σ (1σ/axis)   30 µrad                     **assumption** (tens of µrad;
                                                        ≈1.1 km across the line of sight
                                                        at the ≈37,500 km slant range to
                                                        Korea)
revisit (staring sensor)    2 s                         **assumption** (1-10 s)
minimum plume altitude      10 km                       **assumption**: above typical
                                                        cloud tops, where the plume
                                                        clears the absorbing lower
                                                        atmosphere
limb clearance              10 km                       **assumption**: a line of sight
                                                        must pass this far above the
                                                        ellipsoid (no Earth or lower-
                                                        atmosphere blockage)
detection probability       1 per frame                 **assumption** (bright plume)
==========================  ==========================  =================================

Sensor model
------------
A satellite fixed in ECEF at ``r_s = geodetic_to_ecef(0, λ_s, h_GEO)`` frames the
Earth at ``scan_offset_s + k·revisit_s``. At a frame time t (the reception
time at the satellite) an object is seen at its emission time
``t_e = t - |r(t) - r_s|/c`` (one fixed-point step; light time ≈ 0.13 s) when

1. it is thrusting at t_e (inside one of its ``burn_intervals_s``: only the
   missile stack is, never a spent stage, debris or the free RV),
2. its geodetic altitude is at least ``min_plume_alt_m``,
3. the straight ray (``k_factor = 1``: no refraction in the infrared at these
   heights) clears the ellipsoid by ``limb_clearance_m``
   (:func:`trilink.geo.line_of_sight`), and
4. a uniform draw is below ``p_detect``.

The reported line of sight is the true unit vector ``u`` rotated by two
independent Gaussian angle errors (α, β) ~ N(0, σ²) about the tangent basis
``e1 = ẑ×u/|ẑ×u|``, ``e2 = u×e1``::

    φ = sqrt(α² + β²),   u_meas = cos φ · u + sin φ · (α e1 + β e2)/φ

so the angular error is exactly Gaussian and unbiased, σ per axis.

Launch estimate
---------------
:func:`estimate_launch` fits one boost model to every line of sight of the
first ``window_s`` seconds (default 20 s) of detections from any number of
satellites: a bundle adjustment, so asynchronous frames need no pairing. In
the east-north-up frame of a reference point on the ellipsoid, with
τ = max(t_e - t0, 0) and t_e the emission time::

    h(τ) = A (τ/T)^p                                altitude: from rest on the ground
    E(τ) = E0 + QE (h/h_ref)^q                      ground track: a straight line
    N(τ) = N0 + QN (h/h_ref)^q                      (azimuth atan2(QE, QN)) that
    U(τ) = h - (E² + N²)/(2R)                       grows as h^q; tangent plane ->
                                                    ellipsoid (R: mean radius)

T = 60 s and h_ref = 20 km are scales only. Eight parameters
``(t0, E0, N0, A, p, QE, QN, q)``; the launch point is (E0, N0) on the
ellipsoid and t0 the launch time. The first plume is seen only above the
cloud tops (≈10 km, some 20-40 s after launch), so the climb from the pad
is extrapolated and the launch time rests on the climb's shape, which 20 s
of data barely constrain. Two Gaussian priors supply it (:class:`BoostPrior`,
**our estimates** from the trajectories of :data:`trilink.threats.MISSILES`
flown lofted, on minimum energy and depressed, over their first 20 s above
10 km): altitude exponent p = 2.15 ± 0.2 (range found 1.86-2.37) and
ground-track exponent q = 1.8 ± 0.15 (1.53-1.94). The model holds within one
stage's burn (the acceleration jumps at staging), hence the window.

Each detection contributes two residuals, the components of the predicted
unit vector along the tangent basis (e1, e2) of the measured one divided by
σ (the angular misfit in units of σ); each prior one more. Levenberg-
Marquardt (:func:`scipy.optimize.least_squares`) minimises their sum of
squares from a first guess (the first line of sight cut at 15 km altitude,
launch 30 s before the first detection); the frame is then moved to the
estimate and the fit repeated once. The covariance of (north, east, t0) is
the matching block of ``(JᵀJ)⁻¹`` (J: Jacobian of all normalised residuals,
priors included: the Laplace approximation of the posterior), optionally
scaled by ``max(1, χ²/dof)``.

With one satellite the position along the line of sight is only observable
through the model's shape: a third prior, the time from launch to 10 km
(``BoostPrior.time_to_10km_s``; catalogue 19-41 s), plays the role of an
assumed plume-altitude profile, and the fix degrades to ≈5-10 km (1σ 4-10 km
per axis, 13-14 s in time) on the seed scenario.

Achieved on the seed scenario (Hwasong-18, 2023-04-13: first plume above
10 km at 33 s, first-stage burnout at 56 s) with :data:`DEFAULT_SPACE_IR`,
over 200 noise draws: launch-point error median 0.9 km, 95th percentile
1.8 km (1σ ≈ 0.85 km north, 0.8 km east; 2-D 95 % ellipse covers the truth
in 97 % of draws); launch time +2.4 ± 2.6 s (1σ stated 4.8 s, the prior's
spread included, so the time interval is conservative). Checked in
``tests/test_sensors_space_ir.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

from trilink.geo import (
    ecef_to_geodetic,
    enu_to_ecef,
    geodetic_altitude_m,
    geodetic_to_ecef,
    line_of_sight,
)
from trilink.geo.constants import (
    SPEED_OF_LIGHT_MPS,
    WGS84_A_M,
    WGS84_B_M,
    WGS84_E2,
    WGS84_GM_M3PS2,
    WGS84_MEAN_RADIUS_M,
    WGS84_OMEGA_RADPS,
)
from trilink.threats.flight import Flight, ObjectTrajectory

__all__ = [
    "DEFAULT_SPACE_IR",
    "GEO_ALTITUDE_M",
    "GEO_RADIUS_M",
    "BoostPrior",
    "LaunchEstimate",
    "LosDetections",
    "SpaceIrSensor",
    "estimate_launch",
    "los_errors_rad",
    "simulate_ir_detections",
    "tangent_basis",
]

F64 = NDArray[np.float64]

GEO_RADIUS_M: float = (WGS84_GM_M3PS2 / WGS84_OMEGA_RADPS**2) ** (1.0 / 3.0)
"""Geostationary orbit radius ``(GM/ω²)^(1/3)`` from the WGS-84 GM and ω, m (42,164.2 km;
Kepler's third law for a circular orbit of one sidereal day)."""
GEO_ALTITUDE_M: float = GEO_RADIUS_M - WGS84_A_M
"""Geostationary altitude above the equator, m (35,786.0 km, the usual public figure)."""

_TWO_PI = 2.0 * math.pi
_SLACK_M = 1e-3  # round-off allowance of the altitude and limb tests, m


# ----------------------------------------------------------------------------------
# Sensor
# ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class SpaceIrSensor:
    """A geostationary infrared early-warning sensor that sees boost plumes.

    Also offers the duck-typed coverage interface of :mod:`trilink.sensors.coverage`
    (``sensor_id``, ``lat_rad``, ``lon_rad``, ``alt_m``, :meth:`covers`).
    """

    sensor_id: str
    nation: str = "US"
    lon_rad: float
    """Sub-satellite longitude, rad (the satellite is over the equator)."""
    alt_m: float = GEO_ALTITUDE_M
    """Height above the WGS-84 equator, m."""
    sigma_los_rad: float = 30e-6
    """Line-of-sight error, rad, 1σ per axis (assumption: module docstring)."""
    revisit_s: float = 2.0
    """Frame period of the sensor over the area, s (assumption)."""
    scan_offset_s: float = 0.0
    """Time of frame 0, s since the scenario epoch: frames at ``scan_offset_s + k·revisit_s``."""
    min_plume_alt_m: float = 10_000.0
    """Lowest altitude at which a plume is seen, m (assumption: above cloud tops)."""
    limb_clearance_m: float = 10_000.0
    """Height above the ellipsoid that a line of sight must clear, m (assumption)."""
    p_detect: float = 1.0
    """Probability of detecting a visible plume in one frame (assumption: 1)."""
    notes: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        def bad(name: str, problem: str) -> ValueError:
            return ValueError(
                f"SpaceIrSensor({self.sensor_id!r}).{name}: {problem}, got {getattr(self, name)!r}"
            )

        if not (isinstance(self.sensor_id, str) and self.sensor_id):
            raise bad("sensor_id", "must be a non-empty string")
        if not math.isfinite(self.lon_rad) or abs(self.lon_rad) > _TWO_PI:
            raise bad("lon_rad", "must be a finite longitude in radians (|λ| <= 2π)")
        if not (math.isfinite(self.alt_m) and self.alt_m > 0.0):
            raise bad("alt_m", "must be a positive height, m")
        if not (math.isfinite(self.sigma_los_rad) and self.sigma_los_rad > 0.0):
            raise bad("sigma_los_rad", "must be positive, rad")
        if not (math.isfinite(self.revisit_s) and self.revisit_s > 0.0):
            raise bad("revisit_s", "must be positive, s")
        if not math.isfinite(self.scan_offset_s):
            raise bad("scan_offset_s", "must be finite, s")
        if not (math.isfinite(self.min_plume_alt_m) and self.min_plume_alt_m >= 0.0):
            raise bad("min_plume_alt_m", "must be >= 0, m")
        if not (math.isfinite(self.limb_clearance_m) and self.limb_clearance_m >= 0.0):
            raise bad("limb_clearance_m", "must be >= 0, m")
        if not (0.0 < self.p_detect <= 1.0):
            raise bad("p_detect", "must be in (0, 1]")

    @property
    def lat_rad(self) -> float:
        """Sub-satellite latitude, rad: 0 (geostationary)."""
        return 0.0

    @property
    def r_ecef_m(self) -> F64:
        """Satellite position, ECEF, m, shape (3,)."""
        return geodetic_to_ecef(0.0, self.lon_rad, self.alt_m)

    def covers(self, r_ecef_m: ArrayLike) -> NDArray[np.bool_]:
        """True where points (N, 3) could be seen if they were plumes (geometry only).

        Altitude at least ``min_plume_alt_m`` and a straight line of sight that
        clears the ellipsoid by ``limb_clearance_m`` (both less 1 mm, so that a
        point exactly at a limit is not decided by round-off). NaN points give False.
        """
        r = np.asarray(r_ecef_m, dtype=float).reshape(-1, 3)
        with np.errstate(invalid="ignore"):
            ok = np.asarray(geodetic_altitude_m(r)) >= self.min_plume_alt_m - _SLACK_M
        rows = np.flatnonzero(ok)
        if rows.size:
            los = line_of_sight(
                self.r_ecef_m,
                r[rows],
                k_factor=1.0,
                clearance_m=self.limb_clearance_m - _SLACK_M,
            )
            ok[rows] = np.asarray(los, dtype=bool)
        return ok

    def frame_times(self, t_start_s: float, t_end_s: float) -> F64:
        """Frame times ``scan_offset_s + k·revisit_s`` within [t_start_s, t_end_s], s."""
        k0 = math.ceil((t_start_s - self.scan_offset_s) / self.revisit_s - 1e-12)
        k1 = math.floor((t_end_s - self.scan_offset_s) / self.revisit_s + 1e-12)
        if k1 < k0:
            return np.empty(0)
        return self.scan_offset_s + self.revisit_s * np.arange(k0, k1 + 1, dtype=float)


_ASSUMED = (
    "Sub-satellite longitude, LOS σ 30 µrad, revisit 2 s, 10 km plume floor: assumptions "
    "(SBIRS GEO figures are not public; see trilink.sensors.space_ir)."
)

DEFAULT_SPACE_IR: tuple[SpaceIrSensor, ...] = (
    SpaceIrSensor(sensor_id="US-SBIRS-GEO-WPAC", lon_rad=math.radians(150.0), notes=_ASSUMED),
    SpaceIrSensor(
        sensor_id="US-SBIRS-GEO-IO", lon_rad=math.radians(90.0), scan_offset_s=1.0, notes=_ASSUMED
    ),
)
"""A stereo pair of SBIRS-like GEO sensors: 150° E (western Pacific) and 90° E (Indian
Ocean); frames interleaved by 1 s. All figures are assumptions (module docstring)."""


# ----------------------------------------------------------------------------------
# Detections
# ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class LosDetections:
    """Line-of-sight detections, one row each, ordered by time.

    ``time_s`` is the frame (reception) time at the satellite; ``u_ecef`` the
    measured unit line of sight from the satellite, ECEF; ``r_sensor_ecef_m`` the
    satellite position; ``sigma_los_rad`` the 1σ angular error per axis.
    ``object_ids`` (truth, for evaluation only) names the object seen.
    """

    time_s: F64
    sensor_id: NDArray[np.str_]
    u_ecef: F64
    r_sensor_ecef_m: F64
    sigma_los_rad: F64
    object_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.object_ids)
        if not isinstance(self.object_ids, tuple):
            raise ValueError("LosDetections.object_ids must be a tuple of str")
        for name, shape in (
            ("time_s", (n,)),
            ("sensor_id", (n,)),
            ("u_ecef", (n, 3)),
            ("r_sensor_ecef_m", (n, 3)),
            ("sigma_los_rad", (n,)),
        ):
            a = getattr(self, name)
            if not isinstance(a, np.ndarray) or a.shape != shape:
                got = getattr(a, "shape", type(a).__name__)
                raise ValueError(f"LosDetections.{name} must have shape {shape}, got {got}")
        if n > 1 and np.any(np.diff(self.time_s) < 0.0):
            raise ValueError("LosDetections.time_s must be non-decreasing (time-ordered)")

    def __len__(self) -> int:
        return len(self.object_ids)

    @classmethod
    def from_arrays(
        cls,
        *,
        time_s: ArrayLike,
        sensor_id: ArrayLike,
        u_ecef: ArrayLike,
        r_sensor_ecef_m: ArrayLike,
        sigma_los_rad: ArrayLike,
        object_ids: Sequence[str],
    ) -> LosDetections:
        """Build from unordered columns, sorting rows by time (stable)."""
        t = np.asarray(time_s, dtype=float).reshape(-1)
        order = np.argsort(t, kind="stable")
        ids = tuple(object_ids)
        return cls(
            time_s=t[order],
            sensor_id=np.asarray(sensor_id, dtype=np.str_).reshape(-1)[order],
            u_ecef=np.asarray(u_ecef, dtype=float).reshape(-1, 3)[order],
            r_sensor_ecef_m=np.asarray(r_sensor_ecef_m, dtype=float).reshape(-1, 3)[order],
            sigma_los_rad=np.asarray(sigma_los_rad, dtype=float).reshape(-1)[order],
            object_ids=tuple(ids[i] for i in order.tolist()),
        )

    def select(self, rows: NDArray[np.bool_] | NDArray[np.intp]) -> LosDetections:
        """The rows picked by a boolean mask or (increasing) integer indices."""
        idx = np.asarray(rows)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return LosDetections(
            time_s=self.time_s[idx],
            sensor_id=self.sensor_id[idx],
            u_ecef=self.u_ecef[idx],
            r_sensor_ecef_m=self.r_sensor_ecef_m[idx],
            sigma_los_rad=self.sigma_los_rad[idx],
            object_ids=tuple(self.object_ids[i] for i in idx.tolist()),
        )

    def angles_rad(self) -> tuple[F64, F64]:
        """The line of sight as two ECEF angles: ``(atan2(u_y, u_x), asin(u_z))``, rad."""
        u = self.u_ecef
        return np.arctan2(u[:, 1], u[:, 0]), np.arcsin(np.clip(u[:, 2], -1.0, 1.0))


def tangent_basis(u: F64) -> tuple[F64, F64]:
    """Orthonormal vectors ``e1 = ẑ×u/|ẑ×u|``, ``e2 = u×e1`` perpendicular to unit vectors (N, 3).

    Where u is within 1e-9 of ±ẑ, x̂ replaces ẑ.
    """
    axis = np.zeros_like(u)
    axis[:, 2] = 1.0
    polar = np.hypot(u[:, 0], u[:, 1]) < 1e-9
    axis[polar] = (1.0, 0.0, 0.0)
    e1 = np.cross(axis, u)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = np.cross(u, e1)
    return e1, e2


def los_errors_rad(u_meas: ArrayLike, u_true: ArrayLike) -> F64:
    """Angle errors (α, β) (N, 2), rad, that rotate ``u_true`` into ``u_meas``.

    The inverse of the noise model (module docstring): ``φ = atan2(|u×m|, u·m)``
    and (α, β) = φ times the direction of m's tangential part on (e1, e2) of u.
    """
    u = np.asarray(u_true, dtype=float).reshape(-1, 3)
    m = np.asarray(u_meas, dtype=float).reshape(-1, 3)
    e1, e2 = tangent_basis(u)
    a = np.einsum("ij,ij->i", m, e1)
    b = np.einsum("ij,ij->i", m, e2)
    s = np.hypot(a, b)
    phi = np.arctan2(s, np.einsum("ij,ij->i", m, u))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(s > 0.0, phi / s, 1.0)
    return np.stack([a * scale, b * scale], axis=1)


def _thrusting(obj: ObjectTrajectory, t_s: F64) -> NDArray[np.bool_]:
    on = np.zeros(t_s.shape, dtype=bool)
    for start, end in obj.burn_intervals_s:
        on |= (t_s >= start) & (t_s <= end)
    return on


def simulate_ir_detections(
    sensors: SpaceIrSensor | Sequence[SpaceIrSensor],
    flights: Iterable[Flight],
    rng: np.random.Generator,
    *,
    t_start_s: float | None = None,
    t_end_s: float | None = None,
) -> LosDetections:
    """Line-of-sight detections of every thrusting object by space IR sensors.

    See the module docstring for the model. Frames run from ``t_start_s``
    (default: the earliest burn start) to ``t_end_s`` (default: the latest
    burn end plus one revisit). Random draws (detection, then the two angle
    errors of every detection) come from ``rng`` only, sensor by sensor, object
    by object, so a run is reproducible.

    Returns:
        A time-ordered :class:`LosDetections` (ties keep sensor order).
    """
    sensor_list = [sensors] if isinstance(sensors, SpaceIrSensor) else list(sensors)
    burning = [o for f in flights for o in f.objects if o.burn_intervals_s]
    cols: dict[str, list] = {k: [] for k in ("t", "sid", "u", "rs", "sig", "ids")}
    if burning and sensor_list:
        starts = [s for o in burning for s, _ in o.burn_intervals_s]
        ends = [e for o in burning for _, e in o.burn_intervals_s]
        t0 = min(starts) if t_start_s is None else float(t_start_s)
        t1 = max(ends) + max(s.revisit_s for s in sensor_list) if t_end_s is None else t_end_s
        for sensor in sensor_list:
            r_s = sensor.r_ecef_m
            t_frames = sensor.frame_times(t0, float(t1))
            for obj in burning:
                _detect_object(sensor, r_s, obj, t_frames, rng, cols)
    if not cols["t"]:
        return LosDetections.from_arrays(
            time_s=np.empty(0),
            sensor_id=np.empty(0, dtype=np.str_),
            u_ecef=np.empty((0, 3)),
            r_sensor_ecef_m=np.empty((0, 3)),
            sigma_los_rad=np.empty(0),
            object_ids=(),
        )
    ids: list[str] = []
    for chunk in cols["ids"]:
        ids.extend(chunk)
    return LosDetections.from_arrays(
        time_s=np.concatenate(cols["t"]),
        sensor_id=np.concatenate(cols["sid"]),
        u_ecef=np.concatenate(cols["u"]),
        r_sensor_ecef_m=np.concatenate(cols["rs"]),
        sigma_los_rad=np.concatenate(cols["sig"]),
        object_ids=ids,
    )


def _detect_object(
    sensor: SpaceIrSensor,
    r_s: F64,
    obj: ObjectTrajectory,
    t_frames: F64,
    rng: np.random.Generator,
    cols: dict[str, list],
) -> None:
    """Append the detections of one object by one sensor to ``cols`` (see the module model)."""
    if t_frames.size == 0:
        return
    r = obj.states_at(t_frames)[:, :3]
    t_emit = t_frames - np.linalg.norm(r - r_s, axis=1) / SPEED_OF_LIGHT_MPS
    r = obj.states_at(t_emit)[:, :3]  # NaN outside the object's life
    seen = _thrusting(obj, t_emit) & np.all(np.isfinite(r), axis=1)
    rows = np.flatnonzero(seen)
    if rows.size:
        seen[rows] = sensor.covers(r[rows])
    draw = rng.random(t_frames.size)
    seen &= draw < sensor.p_detect
    rows = np.flatnonzero(seen)
    if rows.size == 0:
        return
    d = r[rows] - r_s
    u = d / np.linalg.norm(d, axis=1, keepdims=True)
    err = rng.standard_normal((rows.size, 2)) * sensor.sigma_los_rad
    e1, e2 = tangent_basis(u)
    phi = np.hypot(err[:, 0], err[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        sinc = np.where(phi > 0.0, np.sin(phi) / phi, 1.0)
    u_meas = np.cos(phi)[:, None] * u + sinc[:, None] * (err[:, :1] * e1 + err[:, 1:] * e2)
    u_meas /= np.linalg.norm(u_meas, axis=1, keepdims=True)
    n = rows.size
    cols["t"].append(t_frames[rows])
    cols["sid"].append(np.full(n, sensor.sensor_id))
    cols["u"].append(u_meas)
    cols["rs"].append(np.broadcast_to(r_s, (n, 3)).copy())
    cols["sig"].append(np.full(n, sensor.sigma_los_rad))
    cols["ids"].append([obj.object_id] * n)


# ----------------------------------------------------------------------------------
# Launch estimate
# ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class LaunchEstimate:
    """An estimated launch point and time with its uncertainty.

    ``covariance`` is 3x3 over ``(north_m, east_m, time_s)``: the north and east
    errors of the launch point on the ellipsoid (m) and the launch-time error (s).
    """

    lat_rad: float
    lon_rad: float
    time_s: float
    covariance: F64
    azimuth_rad: float
    """Heading of the early ground track, clockwise from north, rad; NaN when the
    data do not resolve it (1σ above 45°)."""
    sigma_azimuth_rad: float
    n_detections: int
    sensor_ids: tuple[str, ...]
    chi2: float
    """Sum of squared normalised residuals (measurements and priors) at the solution."""
    dof: int
    """Degrees of freedom: residuals - parameters."""

    @property
    def sigma_north_m(self) -> float:
        return float(math.sqrt(self.covariance[0, 0]))

    @property
    def sigma_east_m(self) -> float:
        return float(math.sqrt(self.covariance[1, 1]))

    @property
    def sigma_time_s(self) -> float:
        return float(math.sqrt(self.covariance[2, 2]))

    def error_m(self, lat_rad: float, lon_rad: float) -> tuple[float, float]:
        """North and east offset (m) of this estimate from a point, in local radii of curvature."""
        dn = (self.lat_rad - lat_rad) * _meridian_radius_m(lat_rad)
        dlon = (self.lon_rad - lon_rad + math.pi) % _TWO_PI - math.pi
        de = dlon * _prime_vertical_radius_m(lat_rad) * math.cos(lat_rad)
        return dn, de


@dataclass(frozen=True, kw_only=True)
class BoostPrior:
    """Gaussian priors on the shape of the climb (see the module docstring, "Launch estimate").

    Defaults are **our estimates** from the boost phases of the missile catalogue
    (:data:`trilink.threats.MISSILES`, themselves public-figure estimates) flown
    on lofted, minimum-energy and depressed trajectories, over the first 20 s
    above 10 km: the altitude exponent p ranged 1.86-2.37 and the ground-track
    exponent q 1.53-1.94; the time to reach 10 km 19-41 s.
    """

    climb_exponent: float = 2.15
    climb_exponent_sigma: float = 0.2
    track_exponent: float = 1.8
    track_exponent_sigma: float = 0.15
    time_to_10km_s: float | None = None
    """Prior time from launch to 10 km altitude, s; None: no prior (stereo). Needed with
    one satellite (catalogue: 19-41 s; e.g. 30 ± 7 s)."""
    time_to_10km_sigma_s: float = 7.0

    def __post_init__(self) -> None:
        for name in ("climb_exponent_sigma", "track_exponent_sigma", "time_to_10km_sigma_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0.0):
                raise ValueError(f"BoostPrior.{name}: must be positive, got {v!r}")
        if not (1.0 <= self.climb_exponent <= 4.0):
            raise ValueError(
                f"BoostPrior.climb_exponent: must be in [1, 4], got {self.climb_exponent!r}"
            )
        if not (1.0 <= self.track_exponent <= 4.0):
            raise ValueError(
                f"BoostPrior.track_exponent: must be in [1, 4], got {self.track_exponent!r}"
            )
        if self.time_to_10km_s is not None and not (self.time_to_10km_s > 0.0):
            raise ValueError(
                f"BoostPrior.time_to_10km_s: must be positive, got {self.time_to_10km_s!r}"
            )


_T_SCALE_S = 60.0  # time scale of the climb law, s (the amplitude A is the altitude at τ = T)
_H_REF_M = 20_000.0  # altitude scale of the ground-track law, m
_H_10KM_M = 10_000.0
_N_PARAMS = 8  # t0 s, E0 km, N0 km, A km, p, QE km, QN km, q
_GUESS_ALT_M = 15_000.0  # altitude at which the first line of sight is cut for the initial guess


def _meridian_radius_m(lat: float) -> float:
    return WGS84_A_M * (1.0 - WGS84_E2) / (1.0 - WGS84_E2 * math.sin(lat) ** 2) ** 1.5


def _prime_vertical_radius_m(lat: float) -> float:
    return WGS84_A_M / math.sqrt(1.0 - WGS84_E2 * math.sin(lat) ** 2)


def _signed_power(x: F64, e: float) -> F64:
    return np.sign(x) * np.abs(x) ** e


class _BoostModel:
    """The boost model of :func:`estimate_launch` in the ENU frame of a reference point."""

    def __init__(self, lat0: float, lon0: float, prior: BoostPrior) -> None:
        self.lat0 = lat0
        self.lon0 = lon0
        self.prior = prior

    @staticmethod
    def altitude_m(p: F64, t_s: F64) -> F64:
        z = np.maximum(t_s - p[0], 0.0) / _T_SCALE_S
        return 1000.0 * p[3] * z ** max(p[4], 0.1)

    def enu_m(self, p: F64, t_s: F64) -> F64:
        h = self.altitude_m(p, t_s)
        g = _signed_power(h / _H_REF_M, p[7])
        e = 1000.0 * (p[1] + p[5] * g)
        n = 1000.0 * (p[2] + p[6] * g)
        u = h - (e * e + n * n) / (2.0 * WGS84_MEAN_RADIUS_M)
        return np.stack([e, n, u], axis=1)

    def ecef_m(self, p: F64, t_s: F64) -> F64:
        return enu_to_ecef(self.enu_m(p, t_s), self.lat0, self.lon0, 0.0)

    def residuals(self, p: F64, t_s: F64, r_s: F64, e1: F64, e2: F64, inv_sigma: F64) -> F64:
        r = self.ecef_m(p, t_s)
        t_emit = t_s - np.linalg.norm(r - r_s, axis=1) / SPEED_OF_LIGHT_MPS
        d = self.ecef_m(p, t_emit) - r_s
        u = d / np.linalg.norm(d, axis=1, keepdims=True)
        pr = self.prior
        extra = [
            (p[4] - pr.climb_exponent) / pr.climb_exponent_sigma,
            (p[7] - pr.track_exponent) / pr.track_exponent_sigma,
        ]
        if pr.time_to_10km_s is not None:
            amp = max(abs(p[3]), 1e-3)
            tau10 = _T_SCALE_S * (_H_10KM_M / 1000.0 / amp) ** (1.0 / max(p[4], 0.1))
            extra.append((tau10 - pr.time_to_10km_s) / pr.time_to_10km_sigma_s)
        return np.concatenate(
            [
                np.einsum("ij,ij->i", u, e1) * inv_sigma,
                np.einsum("ij,ij->i", u, e2) * inv_sigma,
                np.asarray(extra),
            ]
        )


def _intersect_ellipsoid(r_s: F64, u: F64, alt_m: float) -> F64 | None:
    """First point where the ray r_s + ρu meets the ellipsoid grown by alt_m (approximate)."""
    w = np.array([1.0 / (WGS84_A_M + alt_m), 1.0 / (WGS84_A_M + alt_m), 1.0 / (WGS84_B_M + alt_m)])
    p = r_s * w
    q = u * w
    qq = float(q @ q)
    pq = float(p @ q)
    disc = pq * pq - qq * (float(p @ p) - 1.0)
    if disc < 0.0:
        return None
    return r_s + ((-pq - math.sqrt(disc)) / qq) * u


def estimate_launch(
    detections: LosDetections,
    *,
    window_s: float = 20.0,
    prior: BoostPrior | None = None,
    scale_by_residuals: bool = False,
) -> LaunchEstimate:
    """Launch point and time of one missile from its space IR line-of-sight detections.

    Fits the boost model of the module docstring to the detections of the
    first ``window_s`` seconds (from the first detection), all taken to be of
    one missile; keep the window within the first stage's burn.

    Args:
        detections: line-of-sight detections of one missile (any number of
            satellites; two or more give a stereo fix).
        window_s: length of the fitted data span, s.
        prior: priors on the climb shape (default :class:`BoostPrior`); with a
            single satellite it must set ``time_to_10km_s``.
        scale_by_residuals: multiply the covariance by ``max(1, χ²/dof)``.

    Returns:
        A :class:`LaunchEstimate`.

    Raises:
        ValueError: fewer than 5 detections in the window, a single satellite
            without a climb-time prior, or no convergence.
    """
    prior = BoostPrior() if prior is None else prior
    if len(detections) == 0:
        raise ValueError("estimate_launch: no detections")
    if not (math.isfinite(window_s) and window_s > 0.0):
        raise ValueError(f"estimate_launch: window_s must be positive, got {window_s!r}")
    t_first = float(detections.time_s[0])
    det = detections.select(detections.time_s <= t_first + window_s)
    sensor_ids = tuple(sorted(set(det.sensor_id.tolist())))
    n = len(det)
    if len(sensor_ids) < 2 and prior.time_to_10km_s is None:
        raise ValueError(
            "estimate_launch: detections from one satellite only: the range along the line "
            "of sight is not observable without BoostPrior.time_to_10km_s"
        )
    if n < 5:
        raise ValueError(
            f"estimate_launch: {n} detections within window_s={window_s} s of the first; need >= 5"
        )
    guess = _intersect_ellipsoid(det.r_sensor_ecef_m[0], det.u_ecef[0], _GUESS_ALT_M)
    if guess is None:
        raise ValueError("estimate_launch: the first line of sight misses the Earth")
    lat0, lon0, _ = (float(v) for v in ecef_to_geodetic(guess))
    tau_guess = 30.0 if prior.time_to_10km_s is None else prior.time_to_10km_s
    amp_guess = _GUESS_ALT_M / 1000.0 * (_T_SCALE_S / tau_guess) ** prior.climb_exponent
    p = np.array(
        [
            t_first - tau_guess,
            0.0,
            0.0,
            amp_guess,
            prior.climb_exponent,
            0.0,
            0.0,
            prior.track_exponent,
        ]
    )
    e1, e2 = tangent_basis(det.u_ecef)
    args = (det.time_s, det.r_sensor_ecef_m, e1, e2, 1.0 / det.sigma_los_rad)
    for _ in range(2):  # fit; re-centre the frame on the estimate; fit again
        model = _BoostModel(lat0, lon0, prior)
        sol = least_squares(model.residuals, p, args=args, method="lm", x_scale="jac")
        if sol.status <= 0 or not np.all(np.isfinite(sol.x)):
            raise ValueError(f"estimate_launch: the fit did not converge ({sol.message})")
        e0, n0 = 1000.0 * sol.x[1], 1000.0 * sol.x[2]
        r0 = enu_to_ecef(
            [e0, n0, -(e0 * e0 + n0 * n0) / (2.0 * WGS84_MEAN_RADIUS_M)], lat0, lon0, 0.0
        )
        lat0, lon0, _ = (float(v) for v in ecef_to_geodetic(r0))
        p = sol.x.copy()
        p[1:3] = 0.0
    cov_p = np.linalg.pinv(sol.jac.T @ sol.jac)
    chi2 = float(sol.fun @ sol.fun)
    dof = int(sol.fun.size - _N_PARAMS)
    if scale_by_residuals and dof > 0:
        cov_p *= max(1.0, chi2 / dof)
    sel = np.zeros((3, _N_PARAMS))  # (t0 s, E0 km, N0 km) -> (north m, east m, time s)
    sel[0, 2] = 1000.0
    sel[1, 1] = 1000.0
    sel[2, 0] = 1.0
    cov = sel @ cov_p @ sel.T
    qe, qn = float(sol.x[5]), float(sol.x[6])
    q2 = qe * qe + qn * qn
    az, sig_az = math.nan, math.inf
    if q2 > 0.0:
        grad = np.zeros(_N_PARAMS)
        grad[5], grad[6] = qn / q2, -qe / q2
        sig_az = float(math.sqrt(max(float(grad @ cov_p @ grad), 0.0)))
        if sig_az < 0.25 * math.pi:
            az = math.atan2(qe, qn) % _TWO_PI
    return LaunchEstimate(
        lat_rad=lat0,
        lon_rad=lon0,
        time_s=float(sol.x[0]),
        covariance=cov,
        azimuth_rad=az,
        sigma_azimuth_rad=sig_az,
        n_detections=n,
        sensor_ids=sensor_ids,
        chi2=chi2,
        dof=dof,
    )


IR_NOTICE_WINDOW_S = 20.0
"""Seconds of space-IR data fitted before the launch notice goes out."""


@dataclass(frozen=True, kw_only=True)
class LaunchNotice:
    """The US space-IR launch notice for one threat: estimated launch point and time.

    ``issued_s`` is the time the fit had its data (the end of the fitted window);
    ``error_km`` the distance to the true launch point in the local tangent plane.
    """

    threat_id: str
    issued_s: float
    estimate: LaunchEstimate
    error_km: float
    time_error_s: float


def launch_notices(
    flights: Sequence[Flight], ir: LosDetections, *, window_s: float = IR_NOTICE_WINDOW_S
) -> tuple[LaunchNotice, ...]:
    """One launch notice per threat whose boost the space IR saw (≥ 5 looks in the window).

    Detections are grouped by threat from the truth labels: this stands for the
    ground processing that clusters looks into launch events (not modelled).
    """
    notices = []
    owner = {o.object_id: i for i, f in enumerate(flights) for o in f.objects}
    ids = np.array([owner.get(o, -1) for o in ir.object_ids], dtype=int)
    for i, f in enumerate(flights):
        la = f.launch
        rows = np.flatnonzero(ids == i)
        if rows.size < 5:
            continue
        try:
            est = estimate_launch(ir.select(rows), window_s=window_s)
        except ValueError:
            continue
        dn, de = est.error_m(la.lat_rad, la.lon_rad)
        notices.append(
            LaunchNotice(
                threat_id=la.threat_id,
                issued_s=float(ir.time_s[rows[0]]) + window_s,
                estimate=est,
                error_km=float(np.hypot(dn, de)) / 1e3,
                time_error_s=est.time_s - la.t_launch_s,
            )
        )
    return tuple(notices)
