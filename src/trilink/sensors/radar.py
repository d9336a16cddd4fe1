"""Radar model: site, faces, coverage, detection statistics and measurement noise.

A :class:`Radar` is a frozen, keyword-only description of one ground or ship
radar; nothing is computed in its constructor beyond checking the values.
Everything here is SI (m, s, rad) and vectorised over rows of targets.

Geometry (DESIGN.md, "Detections table"): azimuth clockwise from true north,
elevation above the site's local geodetic horizontal (no refraction), range the
straight-line (slant) distance from the site's WGS-84 position.

Coverage: a target is *in coverage* of a radar when all of these hold

* 0 < range <= ``instrumented_range_m``;
* ``min_elevation_rad`` <= elevation <= ``max_elevation_rad`` (geometric);
* it is inside the field of view of at least one :class:`Face` (or within the
  elevation band of the :class:`RotatingFace`, which covers all azimuths);
* the refracted ray from the site clears the WGS-84 ellipsoid
  (:func:`trilink.geo.line_of_sight`, effective-Earth factor ``k_factor``,
  4/3 by default: ITU-R P.834). Terrain is not modelled.

Detection (per scan, per resolution cell). The mean signal-to-noise ratio of a
target of mean radar cross section σ at range R follows the radar equation
referenced to a stated operating point (Skolnik, *Introduction to Radar
Systems*, 3rd ed., 2001, §2.1, eq. 2.1 with everything but σ and R fixed)::

    SNR = SNR_ref · (σ / σ_ref) · (R_ref / R)^4

The echo fluctuates from scan to scan as Swerling case 1 (exponential RCS;
Swerling 1960; Skolnik 2001 §2.8). A square-law detector with threshold
``T = -ln(Pfa)`` (noise power normalised to 1) then detects with::

    Pd = exp(-T / (1 + SNR)) = Pfa^(1 / (1 + SNR))

(Skolnik 2001 §2.8, single-pulse Swerling 1). It is simulated exactly: the
echo of each object is a circular complex Gaussian amplitude of power SNR, the
receiver noise one of power 1, and the cell is declared a detection when the
received power ``y = |Σ s_i + n|²`` exceeds T. ``y - 1`` is the measured SNR.

Measurement noise (unbiased, Gaussian, independent per coordinate), with the
measured SNR ``S = y - 1`` (Barton & Leonov, *Radar Technology Encyclopedia*,
1997, "accuracy"; Skolnik 2001 §4.2 and §6.1; the monopulse slope k_m is taken
as 1, i.e. conservative)::

    σ_R     = max(ΔR / sqrt(2 S), σ_R,floor)          ΔR: range resolution
    σ_az    = max(θ_az / sqrt(2 S), σ_θ,floor)        θ: 3-dB beamwidths
    σ_el    = max(θ_el / sqrt(2 S), σ_θ,floor)
    σ_Rdot  = max(ΔṘ / sqrt(2 S), σ_Ṙ,floor)          ΔṘ: range-rate resolution

The azimuth error is modelled in the azimuth coordinate itself (its growth as
1/cos(el) at high elevation is not modelled), and a face's gain and beamwidth
are taken as constant over its field of view (no scan loss): simplifications.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trilink.geo.constants import EFFECTIVE_EARTH_RADIUS_FACTOR
from trilink.geo.frames import enu_rotation, geodetic_to_ecef
from trilink.geo.los import line_of_sight

F64 = NDArray[np.float64]
Nation = Literal["JP", "KR", "US"]
NATIONS: tuple[str, ...] = ("JP", "KR", "US")
"""Nations a sensor can belong to (Japan, Republic of Korea, United States)."""

_TWO_PI = 2.0 * math.pi
_HALF_PI = 0.5 * math.pi


def _finite(x: float) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


# ----------------------------------------------------------------------------------
# Detection statistics
# ----------------------------------------------------------------------------------
def detection_threshold(pfa: float) -> float:
    """Square-law threshold T = -ln(Pfa) on received power (noise power = 1)."""
    return -math.log(pfa)


def swerling1_pd(snr: ArrayLike, pfa: float) -> F64:
    """Single-scan detection probability of a Swerling 1 target: ``Pfa^(1/(1+SNR))``.

    Skolnik, *Introduction to Radar Systems*, 3rd ed., 2001, §2.8 (square-law
    detector, one pulse or one coherently integrated dwell).

    Args:
        snr: mean signal-to-noise ratio, linear (not dB); any shape.
        pfa: false-alarm probability per resolution cell, in (0, 1).

    Returns:
        Pd, same shape as ``snr``.
    """
    s = np.asarray(snr, dtype=np.float64)
    return np.exp(-detection_threshold(pfa) / (1.0 + s))


def snr_for_pd(pd: float, pfa: float) -> float:
    """Mean SNR (linear) at which a Swerling 1 target is detected with probability ``pd``.

    Inverse of :func:`swerling1_pd`: ``SNR = ln(Pfa)/ln(Pd) - 1``.
    """
    if not (0.0 < pd < 1.0 and 0.0 < pfa < pd):
        raise ValueError(f"need 0 < pfa < pd < 1, got pd={pd!r}, pfa={pfa!r}")
    return math.log(pfa) / math.log(pd) - 1.0


# ----------------------------------------------------------------------------------
# Faces
# ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Face:
    """One fixed array face: boresight and half field of view in the face's own frame.

    The face frame has x along the boresight (azimuth ``boresight_az_rad``,
    elevation ``boresight_el_rad``, i.e. the tilt of the array normal above the
    horizontal), y horizontal and to the right of it, z = y × x ("up" in the
    face). For a line-of-sight unit vector u the off-boresight angles are::

        α = atan2(u·y, u·x)     (in the face's horizontal; = az - az0 for zero tilt)
        ε = asin(u·z)           (= el for zero tilt)

    and the target is in the field of view iff |α| <= ``half_fov_az_rad`` and
    |ε| <= ``half_fov_el_rad``. With zero tilt the field of view is exactly the
    azimuth/elevation box az0 ± half_fov_az, ±half_fov_el (the sector form used
    by public sensor lists such as KeepTrack's).
    """

    boresight_az_rad: float
    boresight_el_rad: float = 0.0
    half_fov_az_rad: float
    half_fov_el_rad: float

    def __post_init__(self) -> None:
        if not _finite(self.boresight_az_rad):
            raise ValueError(f"Face.boresight_az_rad must be finite, got {self.boresight_az_rad}")
        if not (_finite(self.boresight_el_rad) and abs(self.boresight_el_rad) <= _HALF_PI):
            raise ValueError(
                f"Face.boresight_el_rad must be in [-π/2, π/2], got {self.boresight_el_rad}"
            )
        if not (_finite(self.half_fov_az_rad) and 0.0 < self.half_fov_az_rad <= math.pi):
            raise ValueError(f"Face.half_fov_az_rad must be in (0, π], got {self.half_fov_az_rad}")
        if not (_finite(self.half_fov_el_rad) and 0.0 < self.half_fov_el_rad <= _HALF_PI):
            raise ValueError(
                f"Face.half_fov_el_rad must be in (0, π/2], got {self.half_fov_el_rad}"
            )

    @cached_property
    def axes_enu(self) -> F64:
        """Rows x (boresight), y (right), z (face up), as ENU unit vectors, shape (3, 3)."""
        a, e = self.boresight_az_rad, self.boresight_el_rad
        x = np.array([math.cos(e) * math.sin(a), math.cos(e) * math.cos(a), math.sin(e)])
        y = np.array([math.cos(a), -math.sin(a), 0.0])
        z = np.cross(y, x)
        return np.stack([x, y, z])

    def off_boresight_rad(self, u_enu: F64) -> tuple[F64, F64]:
        """Off-boresight angles (α, ε) of line-of-sight unit vectors ``u_enu`` (N, 3)."""
        c = u_enu @ self.axes_enu.T
        return np.arctan2(c[:, 1], c[:, 0]), np.arcsin(np.clip(c[:, 2], -1.0, 1.0))

    def contains(self, u_enu: F64) -> NDArray[np.bool_]:
        """True where the unit vectors ``u_enu`` (N, 3) are inside the field of view."""
        alpha, eps = self.off_boresight_rad(u_enu)
        return (np.abs(alpha) <= self.half_fov_az_rad) & (np.abs(eps) <= self.half_fov_el_rad)

    def direction_enu(self, alpha_rad: F64, eps_rad: F64) -> F64:
        """ENU unit vectors (N, 3) at off-boresight angles (α, ε) (inverse of the above)."""
        ca, sa = np.cos(alpha_rad), np.sin(alpha_rad)
        ce, se = np.cos(eps_rad), np.sin(eps_rad)
        local = np.stack([ce * ca, ce * sa, se], axis=-1)
        return local @ self.axes_enu


@dataclass(frozen=True, kw_only=True)
class RotatingFace:
    """A mechanically rotating face: all azimuths, one turn per revisit period.

    The face covers elevations ``boresight_el_rad ± half_fov_el_rad``. It points
    at azimuth ``start_az_rad`` at the start of each scan (scan times
    ``scan_offset_s + k·revisit_s``) and turns clockwise at 2π per revisit period,
    so a target at azimuth a is seen ``((a - start_az) mod 2π)/(2π)`` of a period
    after the scan starts.
    """

    boresight_el_rad: float = 0.0
    half_fov_el_rad: float
    start_az_rad: float = 0.0

    def __post_init__(self) -> None:
        if not (_finite(self.boresight_el_rad) and abs(self.boresight_el_rad) <= _HALF_PI):
            raise ValueError(
                f"RotatingFace.boresight_el_rad must be in [-π/2, π/2], got {self.boresight_el_rad}"
            )
        if not (_finite(self.half_fov_el_rad) and 0.0 < self.half_fov_el_rad <= _HALF_PI):
            raise ValueError(
                f"RotatingFace.half_fov_el_rad must be in (0, π/2], got {self.half_fov_el_rad}"
            )
        if not _finite(self.start_az_rad):
            raise ValueError(f"RotatingFace.start_az_rad must be finite, got {self.start_az_rad}")


# ----------------------------------------------------------------------------------
# Radar
# ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Radar:
    """One radar: where it is, what it covers, how sensitive and how accurate it is.

    Operating point: a target of mean RCS ``rcs_ref_m2`` at slant range
    ``range_ref_m`` gives mean SNR ``snr_ref_db`` (see the module docstring). The
    catalogue (:mod:`trilink.sensors.catalogue`) states where each operating
    point comes from.
    """

    sensor_id: str
    nation: Nation
    lat_rad: float
    lon_rad: float
    alt_m: float
    """Antenna height above the WGS-84 ellipsoid, m."""
    faces: tuple[Face, ...] | RotatingFace
    instrumented_range_m: float
    min_elevation_rad: float = 0.0
    max_elevation_rad: float = _HALF_PI
    revisit_s: float
    """Scan period (the rotation period of a rotating face), s."""
    scan_offset_s: float = 0.0
    """Start of scan 0, s since the scenario epoch: scans at ``scan_offset_s + k·revisit_s``."""
    snr_ref_db: float
    rcs_ref_m2: float
    range_ref_m: float
    pfa: float
    """False-alarm probability per resolution cell per scan."""
    beamwidth_az_rad: float
    beamwidth_el_rad: float
    range_resolution_m: float
    range_rate_resolution_mps: float | None = None
    """Doppler (range-rate) resolution, m/s; None: the radar reports no range rate."""
    sigma_range_floor_m: float = 0.0
    sigma_angle_floor_rad: float = 0.0
    sigma_range_rate_floor_mps: float = 0.0
    k_factor: float = EFFECTIVE_EARTH_RADIUS_FACTOR
    """Effective-Earth-radius factor for line of sight (4/3: standard atmosphere)."""
    notes: str = field(default="", compare=False)
    """Where the values come from (free text; the catalogue fills it in)."""

    def __post_init__(self) -> None:
        name = f"Radar({self.sensor_id!r})"

        def bad(field_name: str, problem: str, value: object) -> ValueError:
            return ValueError(f"{name}.{field_name}: {problem}, got {value!r}")

        if not isinstance(self.sensor_id, str) or not self.sensor_id:
            raise bad("sensor_id", "must be a non-empty string", self.sensor_id)
        if self.nation not in NATIONS:
            raise bad("nation", f"must be one of {', '.join(NATIONS)}", self.nation)
        if not (_finite(self.lat_rad) and abs(self.lat_rad) <= _HALF_PI):
            raise bad("lat_rad", "must be in [-π/2, π/2]", self.lat_rad)
        if not _finite(self.lon_rad):
            raise bad("lon_rad", "must be finite", self.lon_rad)
        if not _finite(self.alt_m):
            raise bad("alt_m", "must be finite", self.alt_m)
        if isinstance(self.faces, tuple):
            if not self.faces or not all(isinstance(f, Face) for f in self.faces):
                raise bad(
                    "faces", "must be a non-empty tuple of Face or a RotatingFace", self.faces
                )
        elif not isinstance(self.faces, RotatingFace):
            raise bad("faces", "must be a non-empty tuple of Face or a RotatingFace", self.faces)
        for f in ("instrumented_range_m", "revisit_s", "rcs_ref_m2", "range_ref_m"):
            v = getattr(self, f)
            if not (_finite(v) and v > 0.0):
                raise bad(f, "must be positive", v)
        for f in ("beamwidth_az_rad", "beamwidth_el_rad"):
            v = getattr(self, f)
            if not (_finite(v) and 0.0 < v < _HALF_PI):
                raise bad(f, "must be in (0, π/2)", v)
        if not (_finite(self.range_resolution_m) and self.range_resolution_m > 0.0):
            raise bad("range_resolution_m", "must be positive", self.range_resolution_m)
        rr = self.range_rate_resolution_mps
        if rr is not None and not (_finite(rr) and rr > 0.0):
            raise bad("range_rate_resolution_mps", "must be positive or None", rr)
        for f in ("min_elevation_rad", "max_elevation_rad"):
            v = getattr(self, f)
            if not (_finite(v) and abs(v) <= _HALF_PI):
                raise bad(f, "must be in [-π/2, π/2]", v)
        if not self.max_elevation_rad > self.min_elevation_rad:
            raise bad(
                "max_elevation_rad",
                f"must be greater than min_elevation_rad ({self.min_elevation_rad!r})",
                self.max_elevation_rad,
            )
        if not _finite(self.scan_offset_s):
            raise bad("scan_offset_s", "must be finite", self.scan_offset_s)
        if not _finite(self.snr_ref_db):
            raise bad("snr_ref_db", "must be finite", self.snr_ref_db)
        if not (_finite(self.pfa) and 0.0 < self.pfa < 1.0):
            raise bad("pfa", "must be in (0, 1)", self.pfa)
        for f in ("sigma_range_floor_m", "sigma_angle_floor_rad", "sigma_range_rate_floor_mps"):
            v = getattr(self, f)
            if not (_finite(v) and v >= 0.0):
                raise bad(f, "must be >= 0", v)
        if not (_finite(self.k_factor) and self.k_factor > 0.0):
            raise bad("k_factor", "must be positive", self.k_factor)

    # -- derived values ---------------------------------------------------------------
    @property
    def rotating(self) -> bool:
        """True for a mechanically rotating face (360° in azimuth)."""
        return isinstance(self.faces, RotatingFace)

    @property
    def has_range_rate(self) -> bool:
        """True if the radar measures range rate (Doppler)."""
        return self.range_rate_resolution_mps is not None

    @cached_property
    def site_ecef_m(self) -> F64:
        """Antenna position, ECEF, m, shape (3,)."""
        return np.asarray(geodetic_to_ecef(self.lat_rad, self.lon_rad, self.alt_m), dtype=float)

    @cached_property
    def enu_rotation(self) -> F64:
        """ECEF -> local ENU rotation at the site, shape (3, 3) (rows: e, n, u)."""
        return np.asarray(enu_rotation(self.lat_rad, self.lon_rad), dtype=float)

    @property
    def threshold(self) -> float:
        """Square-law detection threshold on received power (noise power 1)."""
        return detection_threshold(self.pfa)

    @property
    def snr_ref(self) -> float:
        """Operating-point SNR, linear."""
        return 10.0 ** (self.snr_ref_db / 10.0)

    def mean_snr(self, rcs_m2: ArrayLike, range_m: ArrayLike) -> F64:
        """Mean SNR (linear): ``SNR_ref (σ/σ_ref) (R_ref/R)^4``."""
        sigma = np.asarray(rcs_m2, dtype=float)
        r = np.asarray(range_m, dtype=float)
        q = self.range_ref_m / r
        q2 = q * q
        return (self.snr_ref / self.rcs_ref_m2) * sigma * (q2 * q2)

    def pd(self, rcs_m2: ArrayLike, range_m: ArrayLike) -> F64:
        """Single-scan Swerling 1 detection probability of a lone target."""
        return swerling1_pd(self.mean_snr(rcs_m2, range_m), self.pfa)

    def sigmas(self, snr: ArrayLike) -> tuple[F64, F64, F64, F64]:
        """Measurement standard deviations at measured SNR ``snr`` (linear).

        Returns ``(sigma_range_m, sigma_az_rad, sigma_el_rad, sigma_range_rate_mps)``
        (the last is NaN if the radar has no range rate). See the module docstring.
        """
        s = np.asarray(snr, dtype=float)
        inv = 1.0 / np.sqrt(2.0 * np.maximum(s, 1e-300))
        sr = np.maximum(self.range_resolution_m * inv, self.sigma_range_floor_m)
        saz = np.maximum(self.beamwidth_az_rad * inv, self.sigma_angle_floor_rad)
        sel = np.maximum(self.beamwidth_el_rad * inv, self.sigma_angle_floor_rad)
        if self.range_rate_resolution_mps is None:
            srr = np.full_like(sr, np.nan)
        else:
            srr = np.maximum(self.range_rate_resolution_mps * inv, self.sigma_range_rate_floor_mps)
        return sr, saz, sel, srr

    @property
    def threshold_snr(self) -> float:
        """Smallest measured SNR a detection can have: ``T - 1`` (linear)."""
        return self.threshold - 1.0

    def worst_sigmas(self) -> tuple[float, float, float, float]:
        """Measurement σ at the detection threshold: the largest any detection can have.

        These are the sensors-table values (:func:`trilink.sensors.detection.sensors_table`).
        """
        sr, saz, sel, srr = self.sigmas(self.threshold_snr)
        return float(sr), float(saz), float(sel), float(srr)

    # -- coverage ------------------------------------------------------------------
    def aer(self, r_ecef_m: F64) -> tuple[F64, F64, F64, F64]:
        """Azimuth, elevation, range and ENU unit line of sight of ECEF points (N, 3).

        Returns ``(az_rad in [0, 2π), el_rad, range_m, u_enu (N, 3))``.
        """
        d = np.asarray(r_ecef_m, dtype=float) - self.site_ecef_m
        enu = d @ self.enu_rotation.T
        e, n, u = enu[:, 0], enu[:, 1], enu[:, 2]
        horiz = np.hypot(e, n)
        rng = np.hypot(horiz, u)
        az = np.mod(np.arctan2(e, n), _TWO_PI)
        el = np.arctan2(u, horiz)
        with np.errstate(invalid="ignore", divide="ignore"):
            u_enu = enu / rng[:, None]
        return az, el, rng, u_enu

    def in_field_of_view(self, u_enu: F64, el_rad: F64) -> NDArray[np.bool_]:
        """True where a line of sight is inside a face (any azimuth for a rotating face)."""
        if isinstance(self.faces, RotatingFace):
            f = self.faces
            return np.abs(el_rad - f.boresight_el_rad) <= f.half_fov_el_rad
        inside = np.zeros(u_enu.shape[0], dtype=bool)
        for face in self.faces:
            inside |= face.contains(u_enu)
        return inside

    def in_coverage(
        self,
        r_ecef_m: F64,
        geometry: tuple[F64, F64, F64, F64] | None = None,
    ) -> NDArray[np.bool_]:
        """True where ECEF points (N, 3) are in coverage (range, elevation, faces, line of sight).

        ``geometry`` may pass the result of :meth:`aer` for the same points.
        NaN points are never in coverage.
        """
        r = np.asarray(r_ecef_m, dtype=float).reshape(-1, 3)
        _az, el, rng, u_enu = self.aer(r) if geometry is None else geometry
        with np.errstate(invalid="ignore"):
            ok = (rng > 0.0) & (rng <= self.instrumented_range_m)
            ok &= (el >= self.min_elevation_rad) & (el <= self.max_elevation_rad)
        rows = np.flatnonzero(ok)
        if rows.size:
            fov = self.in_field_of_view(u_enu[rows], el[rows])
            rows = rows[fov]
        mask = np.zeros(r.shape[0], dtype=bool)
        if rows.size:
            los = np.asarray(line_of_sight(self.site_ecef_m, r[rows], k_factor=self.k_factor))
            mask[rows[los]] = True
        return mask

    def covers(self, r_ecef_m: F64) -> NDArray[np.bool_]:
        """Geometric coverage of ECEF points (N, 3): :meth:`in_coverage` (no SNR)."""
        return self.in_coverage(r_ecef_m)

    # -- scans and false alarms ---------------------------------------------------------
    def scan_times(self, t_start_s: float, t_end_s: float, offset_s: float | None = None) -> F64:
        """Scan start times ``offset + k·revisit`` within [t_start_s, t_end_s], s."""
        off = self.scan_offset_s if offset_s is None else offset_s
        k0 = math.ceil((t_start_s - off) / self.revisit_s - 1e-12)
        k1 = math.floor((t_end_s - off) / self.revisit_s + 1e-12)
        if k1 < k0:
            return np.empty(0)
        return off + np.arange(k0, k1 + 1, dtype=float) * self.revisit_s

    def _elevation_band(self, lo: float, hi: float) -> float:
        return max(0.0, min(hi, self.max_elevation_rad) - max(lo, self.min_elevation_rad))

    def face_cells(self) -> F64:
        """Resolution cells searched per scan by each face (one entry for a rotating face).

        ``(angular extent / beamwidth) × (elevation extent / beamwidth) ×
        (instrumented range / range resolution)`` over the face's field of view
        intersected with the elevation limits. For a tilted face the elevation
        limits are applied by a 64 × 64 quadrature of its field of view.
        """
        n_range = self.instrumented_range_m / self.range_resolution_m
        if isinstance(self.faces, RotatingFace):
            f = self.faces
            band = self._elevation_band(
                f.boresight_el_rad - f.half_fov_el_rad, f.boresight_el_rad + f.half_fov_el_rad
            )
            return np.array(
                [(_TWO_PI / self.beamwidth_az_rad) * (band / self.beamwidth_el_rad) * n_range]
            )
        out = []
        for face in self.faces:
            box = (2.0 * face.half_fov_az_rad / self.beamwidth_az_rad) * (
                2.0 * face.half_fov_el_rad / self.beamwidth_el_rad
            )
            out.append(box * self._searched_fraction(face) * n_range)
        return np.array(out)

    def _searched_fraction(self, face: Face) -> float:
        if face.boresight_el_rad == 0.0:
            band = self._elevation_band(-face.half_fov_el_rad, face.half_fov_el_rad)
            return band / (2.0 * face.half_fov_el_rad)
        g = (np.arange(64) + 0.5) / 64.0 * 2.0 - 1.0
        alpha, eps = np.meshgrid(g * face.half_fov_az_rad, g * face.half_fov_el_rad)
        u = face.direction_enu(alpha.ravel(), eps.ravel())
        el = np.arcsin(np.clip(u[:, 2], -1.0, 1.0))
        ok = (el >= self.min_elevation_rad) & (el <= self.max_elevation_rad)
        return float(np.mean(ok))

    def expected_false_alarms_per_scan(self) -> float:
        """Mean number of false alarms per scan: searched cells × Pfa."""
        return float(np.sum(self.face_cells()) * self.pfa)


def rad(deg: float) -> float:
    """Degrees to radians (for readable tables of published values)."""
    return math.radians(deg)
