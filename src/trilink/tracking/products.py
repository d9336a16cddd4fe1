"""Per-track products of the missile tracker: impact point, apogee and launch point.

All three work on the tracker's 10-state ECEF estimate (see
:mod:`trilink.tracking.dynamics`)::

    x = [r_ecef_m (3), v_ecef_mps (3), a_thrust_ecef_mps2 (3), k_drag_m2pkg]

and are vectorised over tracks (``x`` is (T, 10), ``P`` is (T, 10, 10)). Everything is
SI; times are seconds on the caller's time base (the scenario clock).

Impact prediction (:func:`predict_impacts`)
    Sigma-point (unscented) propagation of the 7-dimensional sub-state
    ``[r, v, k_drag]`` (Julier, "The scaled unscented transformation", Proc. ACC 2002,
    with α = 1, β = 2, κ = 0: the 2n points ``x̄ ± sqrt(n) · columns of sqrt(P)``
    weigh 1/(2n) each; the centre point weighs 0 in the mean and β = 2 in the
    covariance, which adds the curvature-induced bias for a Gaussian prior). The thrust
    acceleration is set to zero (the prediction is for an object after burnout) and
    ``k_drag`` is clipped at 0. All T·(2·7 + 1) points fly together, one batch, under
    :data:`~trilink.tracking.dynamics.BALLISTIC` (J2 gravity, Earth rotation, US
    Standard Atmosphere 1976 drag with a constant ``k_drag``) with classical RK4 through
    :func:`~trilink.tracking.dynamics.derivative` and a step per point: up to
    :data:`BIG_STEP_S` while the point is above :data:`DRAG_REGION_M` (descending
    points shorten the step so as to arrive near 100 km), at most 1 s below it (and
    at most ``1/(ρ k |v|)``, the drag time constant, for light objects). The crossing
    of the ellipsoid (height 0) is found by Newton steps on the height (RK4 steps of
    ``-h/ḣ``, backwards after an overshoot) to better than :data:`HEIGHT_TOL_M`.
    A point that has not come down within ``max_flight_s`` (orbital) makes its
    track's result ``None``.

    From the sigma points' impact points (ECEF) and times: the weighted mean point,
    projected along the ellipsoid normal to latitude and longitude; the 2×2 covariance
    of the impact points in the local north/east tangent plane at that mean; the 95 %
    ellipse from its eigen-decomposition (semi-axes ``sqrt(χ²₂(0.95) λ)``,
    χ²₂(0.95) = −2 ln 0.05 = 5.991, exact for two degrees of freedom); the mean and σ
    of the impact time.

    Assumptions: the impact-point distribution is close to Gaussian in the tangent
    plane (true while the dispersion is small against the Earth's radius and the
    trajectory is not grazing); a constant ``k_drag`` (a real body's drag also varies
    with Mach number: the difference is small for a reentry vehicle that stays
    hypersonic to the ground, not for slow debris); no lift (a manoeuvring RV's
    pull-up is not predicted); no thrust after the estimate's time.

Apogee (:func:`predict_apogee`)
    The state coasts under ``BALLISTIC`` with no thrust; the apogee is where the
    geodetic height rate ``ḣ = n̂·v`` (n̂ the ellipsoid normal) vanishes, found by
    Newton steps ``Δt = -ḣ/ḧ`` with ``ḧ ≈ n̂·a + (|v|² − ḣ²)/|r|`` (steps capped at
    :data:`APOGEE_MAX_STEP_S`). A track already descending has its apogee "now".

Launch point (:func:`estimate_launch`)
    A parametric boost profile from a launch point on the ellipsoid, fitted by
    :func:`scipy.optimize.least_squares` to early boost-phase position measurements
    (see the function for the model). The covariance of (north, east, time) comes from
    the Jacobian at the solution, ``(JᵀJ)⁺`` (whitened residuals, so unit variance).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

from trilink.geo.constants import WGS84_A_M, WGS84_E2
from trilink.geo.frames import ecef_to_geodetic, enu_rotation, geodetic_to_ecef
from trilink.tracking import dynamics
from trilink.tracking.dynamics import BALLISTIC, N_STATE

F64 = NDArray[np.float64]

__all__ = [
    "CHI2_2DOF_95",
    "ImpactPrediction",
    "LaunchEstimate",
    "estimate_launch",
    "predict_apogee",
    "predict_impacts",
]

CHI2_2DOF_95: float = -2.0 * math.log(1.0 - 0.95)
"""χ² quantile of 2 degrees of freedom at 0.95 (= 5.991): ``-2 ln(1 − p)`` exactly."""

BIG_STEP_S = 30.0
"""Largest RK4 step above :data:`DRAG_REGION_M`, s (vacuum arc: the RK4 error of a
30 s step is millimetres)."""
SMALL_STEP_S = 2.0
"""Largest RK4 step below :data:`DRAG_REGION_M`, s (the drag-rate limit λh ≤ 1 takes
over lower down). Against 1 s steps, 71 seed-scenario states (every object, three
points of each arc) land within 2.0 m and 0.11 s; 3 s steps would move them 26 m."""
DRAG_REGION_M = 120_000.0
"""Height below which drag matters and steps are small, m."""
_APPROACH_M = 100_000.0
"""A descending point above :data:`DRAG_REGION_M` aims its step at this height, m."""
HEIGHT_TOL_M = 0.1
"""The impact point is where |height| < this, m."""
APOGEE_MAX_STEP_S = 60.0
"""Largest coasting step of :func:`predict_apogee`, s."""

_SUB = np.array([0, 1, 2, 3, 4, 5, 9])
"""Indices of the impact sub-state [r, v, k_drag] in the 10-state."""
_N_SUB = _SUB.size
_UT_BETA = 2.0
_MAX_STEPS = 20_000
_RHO0_KGPM3 = 1.225
_SCALE_HEIGHT_M = 7_000.0
"""Exponential density bound used only to size steps (the dynamics use USSA 1976)."""


def _readonly(a: F64) -> F64:
    a = np.array(a, dtype=float, copy=True)
    a.setflags(write=False)
    return a


# ----------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ImpactPrediction:
    """Predicted impact point of one track on the WGS-84 ellipsoid, with its uncertainty.

    ``cov_ne_m2`` is the covariance of the impact point in the local tangent plane at
    (``lat_rad``, ``lon_rad``), rows/columns (north, east), m². The 95 % ellipse has
    semi-axes ``ellipse_semi_major_m`` ≥ ``ellipse_semi_minor_m`` and its major axis at
    azimuth ``ellipse_orientation_rad`` (clockwise from north, in [0, π)).
    """

    lat_rad: float
    lon_rad: float
    time_s: float
    cov_ne_m2: F64 = field(repr=False)
    sigma_time_s: float
    ellipse_semi_major_m: float
    ellipse_semi_minor_m: float
    ellipse_orientation_rad: float

    def __post_init__(self) -> None:
        cov = np.asarray(self.cov_ne_m2, dtype=float)
        if cov.shape != (2, 2):
            raise ValueError(f"ImpactPrediction.cov_ne_m2 must be (2, 2), got {cov.shape}")
        object.__setattr__(self, "cov_ne_m2", _readonly(cov))

    def offsets_ne_m(self, lat_rad: ArrayLike, lon_rad: ArrayLike) -> F64:
        """(north, east) of surface points from the mean impact point in its tangent plane,
        m, shape (..., 2)."""
        r = geodetic_to_ecef(lat_rad, lon_rad, 0.0)
        r0 = geodetic_to_ecef(self.lat_rad, self.lon_rad, 0.0)
        rot = enu_rotation(self.lat_rad, self.lon_rad)
        d = (np.asarray(r) - r0) @ rot.T
        return np.stack([d[..., 1], d[..., 0]], axis=-1)

    def mahalanobis2(self, lat_rad: ArrayLike, lon_rad: ArrayLike) -> F64:
        """Squared Mahalanobis distance of surface points from the mean in the N/E plane."""
        ne = self.offsets_ne_m(lat_rad, lon_rad)
        # A floor of 1 mm² keeps a (near-)singular covariance invertible.
        cov = self.cov_ne_m2 + np.eye(2) * 1e-6
        sol = np.linalg.solve(cov, ne[..., None])[..., 0]
        return np.sum(ne * sol, axis=-1)

    @classmethod
    def from_tracks_row(cls, cols: Mapping[str, NDArray], k: int) -> ImpactPrediction:
        """The prediction written in row ``k`` of a tracks table (the ``impact_*``
        columns: the 95 % ellipse's axes and orientation give the N/E covariance back)."""
        a = float(cols["impact_semi_major_m"][k])
        b = float(cols["impact_semi_minor_m"][k])
        th = math.radians(float(cols["impact_orientation_deg"][k]))
        u = np.array([math.cos(th), math.sin(th)])  # (north, east) of the major axis
        v = np.array([-u[1], u[0]])
        cov = (a * a / CHI2_2DOF_95) * np.outer(u, u) + (b * b / CHI2_2DOF_95) * np.outer(v, v)
        return cls(
            lat_rad=math.radians(float(cols["impact_lat_deg"][k])),
            lon_rad=math.radians(float(cols["impact_lon_deg"][k])),
            time_s=float(cols["impact_time_s"][k]),
            cov_ne_m2=cov,
            sigma_time_s=math.nan,
            ellipse_semi_major_m=a,
            ellipse_semi_minor_m=b,
            ellipse_orientation_rad=th,
        )

    def contains(self, lat_rad: float, lon_rad: float, probability: float = 0.95) -> bool:
        """True if the point lies inside the ``probability`` ellipse (χ² test, 2 dof)."""
        if not (0.0 < probability < 1.0):
            raise ValueError(f"probability must be in (0, 1), got {probability!r}")
        d2 = float(self.mahalanobis2(lat_rad, lon_rad))
        return d2 <= -2.0 * math.log(1.0 - probability)


@dataclass(frozen=True, kw_only=True)
class LaunchEstimate:
    """Estimated launch point (on the ellipsoid) and launch time of one track.

    ``cov`` is the 3×3 covariance of (north_m, east_m, time_s) of the launch point in
    its local tangent plane (m², m·s, s²). ``n_used`` is how many measurements the fit
    used.
    """

    lat_rad: float
    lon_rad: float
    time_s: float
    cov: F64 = field(repr=False)
    n_used: int

    def __post_init__(self) -> None:
        cov = np.asarray(self.cov, dtype=float)
        if cov.shape != (3, 3):
            raise ValueError(f"LaunchEstimate.cov must be (3, 3), got {cov.shape}")
        object.__setattr__(self, "cov", _readonly(cov))


# ----------------------------------------------------------------------------------
# Input checks
# ----------------------------------------------------------------------------------


def _as_array(value: ArrayLike, name: str, shape: tuple[int | None, ...]) -> F64:
    """``value`` as float64 of ``shape`` (None: any length, shared by the Nones)."""
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of real numbers: {exc}") from exc
    want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
    if a.ndim != len(shape) or any(
        s is not None and s != d for s, d in zip(shape, a.shape, strict=True)
    ):
        raise ValueError(f"{name} must have shape {want}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    return a


def _check_tracks(x: ArrayLike, t_s: ArrayLike) -> tuple[F64, F64]:
    xa = _as_array(x, "x", (None, N_STATE))
    ta = _as_array(t_s, "t_s", (None,))
    if ta.shape[0] != xa.shape[0]:
        raise ValueError(
            f"t_s must have one time per track: x has {xa.shape[0]} rows, t_s has {ta.shape[0]}"
        )
    return xa, ta


# ----------------------------------------------------------------------------------
# Impact
# ----------------------------------------------------------------------------------


def _fly_to_ground(x: F64, max_flight_s: float) -> tuple[F64, F64, NDArray[np.bool_]]:
    """Fly ballistic states (M, 10) to height 0: (r_impact (M, 3), flight time (M,), ok).

    Step rule: up to ``BIG_STEP_S`` (aimed at ``_APPROACH_M`` above the drag region)
    while above ``DRAG_REGION_M``; at most ``SMALL_STEP_S`` and the drag time constant
    below; a last step (Newton on the height, backing up after an overshoot) lands
    within ``HEIGHT_TOL_M``. Runs the compiled loop of :mod:`trilink.tracking._kernels`.
    """
    from trilink.tracking import _kernels

    return _kernels.fly_to_ground(
        np.ascontiguousarray(x, dtype=float),
        float(max_flight_s),
        dynamics.inverse_tau(BALLISTIC),
        *dynamics.DENSITY_TABLE,
        float(DRAG_REGION_M),
        float(_APPROACH_M),
        float(BIG_STEP_S),
        float(SMALL_STEP_S),
        float(HEIGHT_TOL_M),
        float(_RHO0_KGPM3),
        float(_SCALE_HEIGHT_M),
        int(_MAX_STEPS),
    )


def _sigma_points(x7: F64, P7: F64) -> tuple[F64, F64, F64]:
    """Scaled-UT sigma points (T, 2n+1, n) and weights (mean, covariance), α=1, κ=0."""
    t, n = x7.shape
    sym = 0.5 * (P7 + np.swapaxes(P7, 1, 2))
    w, vec = np.linalg.eigh(sym)
    root = vec * np.sqrt(np.clip(w, 0.0, None) * n)[:, None, :]  # columns: √n √λ_j u_j
    cols = np.swapaxes(root, 1, 2)  # (T, n, n): row j is the j-th column
    pts = np.empty((t, 2 * n + 1, n))
    pts[:, 0] = x7
    pts[:, 1 : n + 1] = x7[:, None, :] + cols
    pts[:, n + 1 :] = x7[:, None, :] - cols
    wm = np.full(2 * n + 1, 1.0 / (2 * n))
    wm[0] = 0.0
    wc = wm.copy()
    wc[0] = _UT_BETA
    return pts, wm, wc


def predict_impacts(
    x: ArrayLike, P: ArrayLike, t_s: ArrayLike, *, max_flight_s: float = 4000.0
) -> list[ImpactPrediction | None]:
    """Impact point on the WGS-84 ellipsoid of each track, with its uncertainty.

    Sigma-point propagation of ``[r, v, k_drag]`` with drag (module docstring).

    Args:
        x: track states (T, 10), ECEF, SI (the thrust states are ignored: zero thrust).
        P: their covariances (T, 10, 10).
        t_s: the time of each state (T,), s.
        max_flight_s: a sigma point still flying after this long makes its track's
            result None (an orbit, not a ballistic missile), s.

    Returns:
        One :class:`ImpactPrediction` per track (``time_s`` on the time base of
        ``t_s``), or None where some sigma point did not come down.

    Raises:
        ValueError: wrong shapes, non-finite values or ``max_flight_s`` <= 0.
    """
    xa, ta = _check_tracks(x, t_s)
    T = xa.shape[0]
    Pa = _as_array(P, "P", (T, N_STATE, N_STATE))
    if not (math.isfinite(max_flight_s) and max_flight_s > 0.0):
        raise ValueError(f"max_flight_s must be finite and > 0, got {max_flight_s!r}")
    if T == 0:
        return []
    pts, wm, wc = _sigma_points(xa[:, _SUB], Pa[:, _SUB][:, :, _SUB])
    n_pts = pts.shape[1]
    flat = np.zeros((T * n_pts, N_STATE))
    flat[:, _SUB] = pts.reshape(-1, _N_SUB)
    flat[:, 9] = np.maximum(flat[:, 9], 0.0)
    r_imp, t_fly, ok = _fly_to_ground(flat, max_flight_s)
    r_imp = r_imp.reshape(T, n_pts, 3)
    t_imp = ta[:, None] + t_fly.reshape(T, n_pts)
    good = ok.reshape(T, n_pts).all(axis=1)

    r_mean = np.einsum("k,tkj->tj", wm, r_imp)
    lat, lon, _ = ecef_to_geodetic(r_mean)
    lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
    foot = geodetic_to_ecef(lat, lon, 0.0)
    rot = enu_rotation(lat, lon)  # (T, 3, 3), rows e, n, u
    d_enu = np.einsum("tij,tkj->tki", rot, r_imp - foot[:, None, :])
    ne = d_enu[..., [1, 0]]
    ne_mean = np.einsum("k,tki->ti", wm, ne)
    dev = ne - ne_mean[:, None, :]
    cov = np.einsum("k,tki,tkj->tij", wc, dev, dev)
    t_mean = np.einsum("k,tk->t", wm, t_imp)
    var_t = np.einsum("k,tk->t", wc, (t_imp - t_mean[:, None]) ** 2)
    eigval, eigvec = np.linalg.eigh(cov)  # ascending
    semi = np.sqrt(CHI2_2DOF_95 * np.clip(eigval, 0.0, None))
    major = eigvec[:, :, 1]  # (north, east) of the major axis
    orient = np.mod(np.arctan2(major[:, 1], major[:, 0]), math.pi)

    out: list[ImpactPrediction | None] = []
    for i in range(T):
        if not good[i]:
            out.append(None)
            continue
        out.append(
            ImpactPrediction(
                lat_rad=float(lat[i]),
                lon_rad=float(lon[i]),
                time_s=float(t_mean[i]),
                cov_ne_m2=cov[i],
                sigma_time_s=float(math.sqrt(max(var_t[i], 0.0))),
                ellipse_semi_major_m=float(semi[i, 1]),
                ellipse_semi_minor_m=float(semi[i, 0]),
                ellipse_orientation_rad=float(orient[i]),
            )
        )
    return out


# ----------------------------------------------------------------------------------
# Apogee
# ----------------------------------------------------------------------------------


def _up_ecef(r: F64) -> F64:
    lat, lon, _ = ecef_to_geodetic(r)
    return enu_rotation(np.atleast_1d(lat), np.atleast_1d(lon))[:, 2, :]


def predict_apogee(
    x: ArrayLike, t_s: ArrayLike, *, max_coast_s: float = 4.0 * 3600.0
) -> tuple[F64, F64, F64]:
    """Time, geodetic height and ECEF position of each track's apogee (no more thrust).

    Coasts each state under ``BALLISTIC`` with zero thrust to the maximum of the height
    above the ellipsoid (Newton on ḣ, module docstring). A track already descending
    (ḣ <= 0) has its apogee now. A track that has not turned over within
    ``max_coast_s`` (escape) gets NaN.

    Args:
        x: track states (T, 10), ECEF, SI.
        t_s: their times (T,), s.

    Returns:
        ``(apogee_time_s (T,), apogee_height_m (T,), r_apogee_ecef_m (T, 3))``.
    """
    xa, ta = _check_tracks(x, t_s)
    T = xa.shape[0]
    if T == 0:
        return np.empty(0), np.empty(0), np.empty((0, 3))
    xs = xa.copy()
    xs[:, 6:9] = 0.0
    xs[:, 9] = np.maximum(xs[:, 9], 0.0)
    elapsed = np.zeros(T)
    active = np.einsum("ij,ij->i", _up_ecef(xs[:, 0:3]), xs[:, 3:6]) > 0.0
    failed = np.zeros(T, dtype=bool)
    for _ in range(1000):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        xa_ = xs[idx]
        r, v = xa_[:, 0:3], xa_[:, 3:6]
        up = _up_ecef(r)
        hdot = np.einsum("ij,ij->i", up, v)
        acc = dynamics.derivative(xa_, BALLISTIC)[:, 3:6]
        hddot = np.einsum("ij,ij->i", up, acc) + (
            np.einsum("ij,ij->i", v, v) - hdot**2
        ) / np.linalg.norm(r, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(hddot < 0.0, -hdot / hddot, APOGEE_MAX_STEP_S)
        step = np.clip(step, -APOGEE_MAX_STEP_S, APOGEE_MAX_STEP_S)
        conv = np.abs(step) < 1e-4
        over = elapsed[idx] > max_coast_s
        failed[idx[over]] = True
        active[idx[conv | over]] = False
        move = ~(conv | over)
        if not move.any():
            break
        idx, step = idx[move], step[move]
        xs[idx] = dynamics.propagate(xs[idx], step, BALLISTIC, max_step_s=20.0)
        elapsed[idx] += step
    failed |= active  # did not converge
    r_apo = xs[:, 0:3].copy()
    _, _, h_apo = ecef_to_geodetic(r_apo)
    h_apo = np.atleast_1d(np.asarray(h_apo, dtype=float)).copy()
    t_apo = ta + elapsed
    t_apo[failed] = np.nan
    h_apo[failed] = np.nan
    r_apo[failed] = np.nan
    return t_apo, h_apo, r_apo


# ----------------------------------------------------------------------------------
# Launch point
# ----------------------------------------------------------------------------------

_P_BOUNDS = (1.5, 3.0)
"""Hard bounds on the height exponent p."""
_P_PRIOR = (2.2, 0.15)
"""Soft Gaussian prior on p (mean, σ). A rocket rising from rest under a thrust F
while its mass falls at ṁ has h ≈ ½ a₀ τ² (1 + c τ) with c ≈ ṁ/(3 m₀) (the
acceleration grows as the mass falls), whose local exponent d ln h / d ln τ =
2 + cτ/(1 + cτ) is 2.1–2.4 over the first minute of a first stage (c ≈ 0.005–0.01 /s,
burn times 60–120 s). Without this prior, p and t0 trade off against each other
(measurement noise is largest in height for a low-elevation radar view)."""
_Q_BOUNDS = (1.0, 5.0)
"""Hard bounds on the ground-distance exponent q. 1 (constant ground speed) is allowed:
seen late (after a staging, when an upper stage flies at a fixed pitch) the local
exponent of s(τ) drops below 2, and a bound at 2 then drags t0 early by tens of
seconds (measured on the seed scenario's 50–80 s window: -20 s vs -0.2 s)."""
_Q_PRIOR = (3.5, 1.0)
"""Soft prior on q (mean, σ): after the vertical rise the pitch-over makes the
horizontal motion start slowly (q ≈ 3–4 in the first stage's burn)."""
_RISE_BOUNDS = (0.0, 20.0)
"""Hard bounds on the vertical-rise time (ground distance 0 until then), s."""
_RISE_PRIOR = (6.0, 4.0)
"""Soft prior on the vertical rise (mean, σ), s: 4–8 s for the catalogue's missiles."""
_MIN_SPAN_S = 5.0


def _radii(lat: float) -> tuple[float, float]:
    """Meridian (M) and prime-vertical (N) radii of curvature at ``lat``, m."""
    w2 = 1.0 - WGS84_E2 * math.sin(lat) ** 2
    n = WGS84_A_M / math.sqrt(w2)
    return n * (1.0 - WGS84_E2) / w2, n


@dataclass(frozen=True)
class _BoostModel:
    """The boost-profile model of :func:`estimate_launch` about a reference point."""

    lat_ref: float
    lon_ref: float
    t_ref: float
    times: F64

    def launch_point(self, theta: F64) -> tuple[float, float]:
        m, n = _radii(self.lat_ref)
        lat = self.lat_ref + theta[1] / m
        lon = self.lon_ref + theta[2] / (n * math.cos(self.lat_ref))
        return lat, lon

    def positions(self, theta: F64) -> F64:
        t0, _, _, h_ref, p, az, s_ref, q, t_rise = theta
        lat, lon = self.launch_point(theta)
        r_l = geodetic_to_ecef(lat, lon, 0.0)
        rot = enu_rotation(lat, lon)
        east, north, up = rot[0], rot[1], rot[2]
        head = math.sin(az) * east + math.cos(az) * north
        m, n = _radii(lat)
        r_az = 1.0 / (math.cos(az) ** 2 / m + math.sin(az) ** 2 / n)
        tau_ref = self.t_ref - t0
        u = np.maximum(self.times - t0, 0.0) / tau_ref
        h = h_ref * u**p
        w = np.maximum(self.times - t0 - t_rise, 0.0) / max(tau_ref - t_rise, 1e-3)
        ang = s_ref * w**q / r_az
        centre = r_l - r_az * up
        return centre + (r_az + h)[:, None] * (
            np.cos(ang)[:, None] * up + np.sin(ang)[:, None] * head
        )


def _initial_guess(t: F64, z: F64) -> tuple[float, float, float, float, float]:
    """(t0, lat0, lon0, az, ground distance at the last point) from the first points.

    A straight line through the first few points (≥ 4, those within 8 s of the first)
    gives the velocity. The ground point is where that line, followed back, meets
    height 0; the launch time assumes a climb from rest at constant acceleration,
    ``t0 = t1 − 2 h1/ḣ1``; the azimuth is the direction of the horizontal velocity.
    """
    k = max(4, int(np.sum(t <= t[0] + 8.0)))
    tt, zz = t[:k], z[:k]
    tc = tt - tt.mean()
    vel = (tc[:, None] * (zz - zz.mean(axis=0))).sum(axis=0) / np.sum(tc * tc)
    r1 = zz.mean(axis=0) + vel * (t[0] - tt.mean())
    lat1, lon1, h1 = (float(v) for v in ecef_to_geodetic(r1))
    rot = enu_rotation(lat1, lon1)
    v_enu = rot @ vel
    h1 = max(h1, 0.0)
    if v_enu[2] > 1.0:
        back = h1 / v_enu[2]
        t0 = t[0] - 2.0 * back
        ground = r1 - vel * back
        lat0, lon0, _ = (float(v) for v in ecef_to_geodetic(ground))
    else:  # no climb seen: the point below the first measurement, 2 g from rest
        t0 = t[0] - math.sqrt(2.0 * h1 / 20.0) - 1.0
        lat0, lon0 = lat1, lon1
    az = math.atan2(v_enu[0], v_enu[1]) if math.hypot(v_enu[0], v_enu[1]) > 0.0 else 0.0
    t0 = min(t0, t[0] - 1.0)
    r_l = geodetic_to_ecef(lat0, lon0, 0.0)
    s_last = float(np.linalg.norm((enu_rotation(lat0, lon0) @ (z[-1] - r_l))[:2]))
    return t0, lat0, lon0, az, max(s_last, 1.0)


def estimate_launch(
    times_s: ArrayLike, z_ecef_m: ArrayLike, Rz: ArrayLike
) -> LaunchEstimate | None:
    """Launch point and time of a track from its early boost-phase position measurements.

    Model (a parametric boost profile about a launch point L on the WGS-84 ellipsoid
    at (lat0, lon0), τ = t − t0 > 0): the height along the local vertical is a power
    law of the time since launch, and the ground distance along a fixed azimuth
    ``az`` a power law of the time since the end of a vertical rise of ``τ_v``:

        h(τ) = H (τ/τ_r)^p,      s(τ) = S ((τ − τ_v)⁺/(τ_r − τ_v))^q,      τ_r = t_last − t0

    (``H`` and ``S`` are the height and ground distance at the last measurement: the
    usual ``A τ^p``, ``B τ^q`` with better-scaled parameters; ``τ_v`` is the one
    added shape parameter). The point moves on the sphere that osculates the ellipsoid
    at L in the direction ``az`` (Euler radius ``R = 1/(cos² az/M + sin² az/N)``)::

        r = C + (R + h) (cos(s/R) û + sin(s/R) ĥ),      C = L − R û

    with û the ellipsoid normal at L and ĥ the horizontal unit vector of azimuth az.
    Bounds: p ∈ [1.5, 3], q ∈ [1, 5], τ_v ∈ [0, 20] s, H > 0, S >= 0, t0 < t_first;
    soft Gaussian priors p ~ 2.2 ± 0.15, q ~ 3.5 ± 1, τ_v ~ 6 ± 4 s keep a poorly
    determined shape physical (see ``_P_PRIOR`` and ``_Q_BOUNDS`` for why).

    Limits: the profile describes one stage's climb at a fixed heading. Measurements
    that span a staging, a pitch change or a yaw program (the seed scenario turns left
    from 56 s) fit it less well, and the error grows with how far back the fit must
    extrapolate: on the seed scenario ~0.15 km and ~1 s from 18–40 s data (altitudes
    3–16 km), ~13 km from 50–80 s data (25–73 km, across the stage-1 separation and
    into the turn).

    The 9 parameters (t0, north and east offsets of L from the initial guess, H, p,
    az, S, q, τ_v) are fitted by :func:`scipy.optimize.least_squares` (trust region
    reflective with the bounds above) to the residuals ``L_i⁻¹ (z_i − r(t_i))``
    whitened by the Cholesky factor ``Rz_i = L_i L_iᵀ``, plus the prior residuals.
    The covariance of (north, east, t0) is the matching block of ``(JᵀJ)⁺`` at the
    solution: a linearised, model-error-free figure (it does not know when the
    profile is wrong). The initial guess follows the first points' velocity down to
    height 0 (:func:`_initial_guess`).

    Args:
        times_s: measurement times (N,), s, N >= 4, spanning at least 5 s.
        z_ecef_m: measured positions (N, 3), ECEF, m.
        Rz: their covariances (N, 3, 3), m², positive definite.

    Returns:
        The estimate, or None if the fit failed.

    Raises:
        ValueError: fewer than 4 measurements, wrong shapes, non-finite values, a
            covariance that is not positive definite, or a span shorter than 5 s.
    """
    t = _as_array(times_s, "times_s", (None,))
    n_meas = t.shape[0]
    if n_meas < 4:
        raise ValueError(f"estimate_launch needs at least 4 measurements, got {n_meas}")
    z = _as_array(z_ecef_m, "z_ecef_m", (n_meas, 3))
    R = _as_array(Rz, "Rz", (n_meas, 3, 3))
    span = float(t.max() - t.min())
    if span < _MIN_SPAN_S:
        raise ValueError(
            f"times_s must span at least {_MIN_SPAN_S} s of the boost, got {span:.3g} s"
        )
    order = np.argsort(t, kind="stable")
    t, z, R = t[order], z[order], R[order]
    try:
        chol = np.linalg.cholesky(0.5 * (R + np.swapaxes(R, 1, 2)))
    except np.linalg.LinAlgError:
        raise ValueError("Rz must be positive definite (Cholesky failed)") from None
    whiten = np.linalg.inv(chol)

    t0g, lat0, lon0, azg, s_last = _initial_guess(t, z)
    model = _BoostModel(lat_ref=lat0, lon_ref=lon0, t_ref=float(t[-1]), times=t)
    _, _, h_last = ecef_to_geodetic(z[-1])
    theta0 = np.array(
        [
            t0g,
            0.0,
            0.0,
            max(float(h_last), 10.0),
            _P_PRIOR[0],
            azg,
            s_last,
            _Q_PRIOR[0],
            _RISE_PRIOR[0],
        ]
    )
    lo = np.array(
        [
            t[0] - 600.0,
            -np.inf,
            -np.inf,
            1.0,
            _P_BOUNDS[0],
            -np.inf,
            0.0,
            _Q_BOUNDS[0],
            _RISE_BOUNDS[0],
        ]
    )
    hi = np.array(
        [
            t[0] - 0.05,
            np.inf,
            np.inf,
            np.inf,
            _P_BOUNDS[1],
            np.inf,
            np.inf,
            _Q_BOUNDS[1],
            _RISE_BOUNDS[1],
        ]
    )
    theta0 = np.minimum(np.maximum(theta0, lo), hi)
    theta0[0] = min(max(theta0[0], lo[0] + 1.0), hi[0] - 0.01)

    def residuals(theta: F64) -> F64:
        dz = z - model.positions(theta)
        res = np.einsum("nij,nj->ni", whiten, dz).ravel()
        prior = np.array(
            [
                (theta[4] - _P_PRIOR[0]) / _P_PRIOR[1],
                (theta[7] - _Q_PRIOR[0]) / _Q_PRIOR[1],
                (theta[8] - _RISE_PRIOR[0]) / _RISE_PRIOR[1],
            ]
        )
        return np.concatenate([res, prior])

    try:
        sol = least_squares(
            residuals, theta0, bounds=(lo, hi), method="trf", x_scale="jac", max_nfev=400
        )
    except (ValueError, np.linalg.LinAlgError):
        return None
    if sol.status <= 0 or not np.all(np.isfinite(sol.x)):
        return None
    J = sol.jac
    cov_theta = np.linalg.pinv(J.T @ J)
    sel = [1, 2, 0]  # north, east, time
    cov = cov_theta[np.ix_(sel, sel)]
    if not np.all(np.isfinite(cov)):
        return None
    lat, lon = model.launch_point(sol.x)
    return LaunchEstimate(
        lat_rad=float(lat),
        lon_rad=float(lon),
        time_s=float(sol.x[0]),
        cov=cov,
        n_used=int(n_meas),
    )
