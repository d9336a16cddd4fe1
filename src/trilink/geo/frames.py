"""Coordinate frames on the WGS-84 ellipsoid: geodetic, ECEF, ENU, AER and ECI.

Conventions (all SI, all angles in radians):

* **ECEF**: WGS-84 Earth-centred, Earth-fixed Cartesian frame; x towards
  (lat 0, lon 0), z along the WGS-84 spin axis, m.
* **Geodetic**: latitude ``lat_rad`` in [-π/2, π/2] (angle between the
  ellipsoid normal and the equatorial plane), longitude ``lon_rad`` in
  [-π, π] east of Greenwich, height ``alt_m`` above the ellipsoid along the
  normal (m).
* **ENU**: local east-north-up Cartesian frame at a reference point
  (lat0, lon0, alt0); "up" is the ellipsoid normal.
* **AER**: azimuth clockwise from true (geodetic) north in [0, 2π), elevation
  above the local geodetic horizontal plane in [-π/2, π/2], slant range (m).
* **ECI** (this package's inertial frame): the non-rotating frame that
  coincides with ECEF at t = 0 s (the scenario epoch), and relative to which
  ECEF rotates about the WGS-84 z axis at the constant rate
  ``WGS84_OMEGA_RADPS``. Precession, nutation and polar motion are
  neglected, so this is *not* GCRF/J2000: precession and nutation turn an
  inertial frame relative to this one by < 2e-6 rad per day, and the Earth
  really spins about the CIP, ~1.5e-6 rad (~10 m at the surface) from the
  WGS-84 z axis (polar motion). To tie its x axis to the celestial
  intermediate reference system (CIRS) at a UTC epoch, rotate by
  :func:`earth_rotation_angle_rad` of that epoch.

Points are float64 arrays of shape (..., 3); every function is vectorised
over the leading dimensions and broadcasts its arguments with numpy rules.
"""

from __future__ import annotations

import datetime as _dt
import math

import numpy as np
from numpy.typing import ArrayLike

from trilink.geo._arrays import (
    FloatArray,
    as_float,
    as_points,
    broadcast_shape,
    check_latitude,
    scalar_out,
)
from trilink.geo.constants import (
    ERA_AT_J2000_REV,
    ERA_RATE_EXCESS_REV_PER_UT1_DAY,
    JULIAN_DATE_J2000,
    JULIAN_DATE_UNIX_EPOCH,
    SECONDS_PER_DAY,
    WGS84_A_M,
    WGS84_B_M,
    WGS84_E2,
    WGS84_OMEGA_RADPS,
)

__all__ = [
    "aer_to_ecef",
    "aer_to_enu",
    "earth_rotation_angle_rad",
    "ecef_to_aer",
    "ecef_to_eci",
    "ecef_to_enu",
    "ecef_to_geodetic",
    "ecef_vector_to_enu",
    "eci_to_ecef",
    "enu_rotation",
    "enu_to_aer",
    "enu_to_ecef",
    "enu_vector_to_ecef",
    "geodetic_altitude_m",
    "geodetic_to_ecef",
    "julian_date_from_datetime",
]

_TWO_PI = 2.0 * math.pi

# Derived numbers used by Vermeille's method (see _vermeille_k); all from constants.py.
_E4 = WGS84_E2 * WGS84_E2
_INV_A2 = 1.0 / (WGS84_A_M * WGS84_A_M)
_Q_SCALE = (1.0 - WGS84_E2) * _INV_A2
_E4_OVER_4 = _E4 / 4.0
_HALF_E2 = WGS84_E2 / 2.0
_E2_OVER_A2 = WGS84_E2 * _INV_A2
_TINY = 1e-280  # p or q below this is flushed to 0 near the centre (see _interior_k)

#: Rows per block in the vectorised kernels. Temporaries of 8192 float64 (64 kB)
#: stay in cache and below glibc's mmap threshold; one pass over 1e5 rows is
#: ~3x slower than blocks of this size on the reference machine.
_BLOCK_ROWS = 8192


# ---------------------------------------------------------------------------------
# Geodetic <-> ECEF
# ---------------------------------------------------------------------------------
def geodetic_to_ecef(lat_rad: ArrayLike, lon_rad: ArrayLike, alt_m: ArrayLike) -> FloatArray:
    """WGS-84 geodetic coordinates to ECEF position, m.

    Equation (NIMA TR8350.2, 3rd ed., 2000, ch. 4; Hofmann-Wellenhof,
    Lichtenegger & Wasle, *GNSS*, Springer, 2008, ch. 5)::

        N = a / sqrt(1 - e² sin²φ)
        x = (N + h) cos φ cos λ
        y = (N + h) cos φ sin λ
        z = (N (1 - e²) + h) sin φ

    Args:
        lat_rad: geodetic latitude φ, rad, in [-π/2, π/2].
        lon_rad: longitude λ, rad (any value; periodic).
        alt_m: height h above the WGS-84 ellipsoid, m.

    The three arguments broadcast together; the result has shape
    ``broadcast(...) + (3,)``. NaN in any argument gives NaN in that row.

    Returns:
        ``r_ecef_m``, shape (..., 3), m.

    Raises:
        ValueError: if the shapes do not broadcast or a latitude exceeds π/2
        in magnitude (usually degrees passed as radians).
    """
    lat = as_float(lat_rad, "lat_rad")
    lon = as_float(lon_rad, "lon_rad")
    alt = as_float(alt_m, "alt_m")
    shape = broadcast_shape(lat_rad=lat.shape, lon_rad=lon.shape, alt_m=alt.shape)
    check_latitude(lat, "lat_rad")
    out = np.empty((*shape, 3))
    size = out.size // 3
    if size <= _BLOCK_ROWS:
        _geodetic_to_ecef_block(lat, lon, alt, out)
        return out
    flat = out.reshape(-1, 3)
    lat, lon, alt = (np.broadcast_to(v, shape).reshape(-1) for v in (lat, lon, alt))
    for i in range(0, size, _BLOCK_ROWS):
        rows = slice(i, i + _BLOCK_ROWS)
        _geodetic_to_ecef_block(lat[rows], lon[rows], alt[rows], flat[rows])
    return out


def _geodetic_to_ecef_block(
    lat: FloatArray, lon: FloatArray, alt: FloatArray, out: FloatArray
) -> None:
    """:func:`geodetic_to_ecef` into ``out`` (shape broadcast(lat, lon, alt) + (3,))."""
    sin_lat = np.sin(lat)
    cos_lat = np.cos(lat)
    n_m = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    rho_m = (n_m + alt) * cos_lat
    out[..., 0] = rho_m * np.cos(lon)
    out[..., 1] = rho_m * np.sin(lon)
    # + 0·λ: z does not depend on λ, but a NaN longitude must still give a NaN row.
    out[..., 2] = (n_m * (1.0 - WGS84_E2) + alt) * sin_lat + 0.0 * lon


def _vermeille_k(rho2: FloatArray, zz: FloatArray) -> tuple[FloatArray, FloatArray | None]:
    """Solve the geodetic quartic for k = 1 - e² + h/N (1-d inputs).

    With p = ρ²/a² and q = (1 - e²) z²/a² (ρ² = x² + y²), the geodetic height h
    and the prime-vertical radius N satisfy ``p/(k + e²)² + q/k² = 1`` with
    ``k = 1 - e² + h/N > 0``. Vermeille's closed form (H. Vermeille, "Direct
    transformation from geocentric coordinates to geodetic coordinates",
    J. Geodesy 76:451-454, 2002) solves it via the positive root u
    of the resolvent cubic ``u²(u - 3r) = e⁴pq/2``, r = (p + q - e⁴)/6::

        s = e⁴ p q / (4 r³);  t = ∛(1 + s + sqrt(s (2 + s)));  u = r (1 + t + 1/t)
        v = sqrt(u² + e⁴ q);  w = e² (u + v - q)/(2 v);  k = sqrt(u + v + w²) - w

    That is valid for r > 0, i.e. everywhere except within ~43 km of the
    Earth's centre. Rows with r <= 0 are redone in :func:`_interior_k`.

    Call under ``np.errstate(invalid="ignore", divide="ignore")``: interior
    rows pass through invalid intermediate values before being redone.

    Returns:
        (k, degenerate): ``degenerate`` is None, or a boolean mask of rows
        on the equatorial plane inside the evolute (including the origin),
        where k = 0 and the caller must use the limit formulas.
    """
    p = rho2 * _INV_A2
    q = zz * _Q_SCALE
    r = p + q
    r -= _E4
    r *= 1.0 / 6.0
    s = p * q
    s *= _E4_OVER_4
    s /= r * r * r
    t = s + 2.0
    t *= s
    np.sqrt(t, out=t)
    t += s
    t += 1.0
    np.cbrt(t, out=t)
    u = 1.0 / t
    u += t
    u += 1.0
    u *= r
    v = u * u
    v += _E4 * q
    np.sqrt(v, out=v)
    uv = u + v
    w = uv - q
    w *= _HALF_E2
    w /= v
    k = w * w
    k += uv
    np.sqrt(k, out=k)
    k -= w
    degenerate = None
    # NaN rows fail the comparison and stay NaN; fmin ignores NaN.
    if r.size and np.fmin.reduce(r) <= 0.0:
        interior = r <= 0.0
        k_in, degenerate_in = _interior_k(p[interior], q[interior], r[interior])
        k[interior] = k_in
        if degenerate_in.any():
            degenerate = np.zeros(k.shape, dtype=bool)
            degenerate[interior] = degenerate_in
    return k, degenerate


def _interior_k(p: FloatArray, q: FloatArray, r: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Solve the quartic of :func:`_vermeille_k` where r <= 0 (near the Earth's centre).

    Same equations, but the positive root u of the resolvent cubic
    ``u³ - 3 r u² - c = 0`` (c = e⁴pq/2 >= 0) is found with u = w' + r, which
    depresses it to ``w'³ - 3 r² w' - (2 r³ + c) = 0``:

    * c >= 4|r|³ (one real root): Cardano, choosing the cube root of larger
      magnitude to avoid cancellation;
    * c < 4|r|³ (inside the evolute, three real roots): trigonometric form
      w' = 2|r| cos θ, cos 3θ = c/(2|r|³) - 1, θ in [0, π/3], which gives
      the positive root u = |r| (2 cos θ - 1) (H. Vermeille, "An analytical
      method to transform geocentric into geodetic coordinates", J. Geodesy
      85:105-117, 2011, also treats this region in closed form).

    k is then formed without cancellation when w > 0. Rows with q = 0 and
    p < e⁴ (the equatorial plane within a e² of the centre, and the origin)
    have k = 0 exactly: they are flagged as degenerate.
    """
    # Coordinates below ~1e-139 m make p or q subnormal (a few significant bits);
    # such a point is on the axis or the equatorial plane to far below round-off.
    p = np.where(p < _TINY, 0.0, p)
    q = np.where(q < _TINY, 0.0, q)
    c = p * q * (_E4 / 2.0)
    ar = -r
    ar3 = ar * ar * ar
    one_root = c >= 4.0 * ar3
    u = np.empty_like(p)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Cardano branch.
        m = c - 2.0 * ar3
        big = 0.5 * (m + np.copysign(np.sqrt(c * (c - 4.0 * ar3)), m))
        a_root = np.cbrt(big)
        b_root = np.where(a_root != 0.0, r * r / a_root, 0.0)
        u_cardano = a_root + b_root + r
        # Trigonometric branch, written with δ = π/3 - θ = atan2(sin 3θ, 1 - x)/3 and
        # 2 cos θ - 1 = 4 sin(π/3 - δ/2) sin(δ/2), free of cancellation as c -> 0.
        x = np.where(ar3 > 0.0, c / (2.0 * ar3), 0.0)
        delta = np.arctan2(np.sqrt(np.maximum((2.0 - x) * x, 0.0)), 1.0 - x) / 3.0
        u_trig = 4.0 * ar * np.sin(math.pi / 3.0 - 0.5 * delta) * np.sin(0.5 * delta)
    u[:] = np.where(one_root, u_cardano, u_trig)
    np.maximum(u, 0.0, out=u)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.sqrt(u * u + _E4 * q)
        uv = u + v
        w = _HALF_E2 * (uv - q) / v
        root = np.sqrt(uv + w * w)
        k = np.where(w > 0.0, uv / (root + w), root - w)
    degenerate = v == 0.0
    k[degenerate] = 0.0
    return k, degenerate


def _geodetic_block(
    flat: FloatArray, want_angles: bool
) -> tuple[FloatArray, FloatArray | None, FloatArray | None]:
    """:func:`ecef_to_geodetic` on an (n, 3) block: (alt, lat, lon), or (alt, None, None)."""
    x = flat[:, 0]
    y = flat[:, 1]
    z = flat[:, 2]
    rho2 = x * x
    rho2 += y * y
    zz = z * z
    with np.errstate(invalid="ignore", divide="ignore"):
        k, degenerate = _vermeille_k(rho2, zz)
        # N = sqrt(a² + e² z²/k²), from the quartic; h = (k + e² - 1) N.
        n_over_a = zz / (k * k)
        n_over_a *= _E2_OVER_A2
        n_over_a += 1.0
        np.sqrt(n_over_a, out=n_over_a)
        alt = k + (WGS84_E2 - 1.0)
        alt *= n_over_a
        alt *= WGS84_A_M
        lat = lon = None
        if want_angles:
            lat = np.arctan2(z * (k + WGS84_E2), k * np.sqrt(rho2))
            lon = np.arctan2(y, x + 0.0)  # + 0.0 turns x = -0.0 into +0.0: λ = 0 at the poles
    if degenerate is not None:
        lat_d, alt_d = _equatorial_interior(rho2[degenerate])
        alt[degenerate] = alt_d
        if lat is not None:
            lat[degenerate] = lat_d
    return alt, lat, lon


def ecef_to_geodetic(r_ecef_m: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ECEF position to WGS-84 geodetic latitude, longitude and height.

    Exact closed form of Vermeille (2002) (see :func:`_vermeille_k`): with k
    from the quartic ``p/(k + e²)² + q/k² = 1``::

        φ = atan2(z (k + e²), k ρ)                 (tan φ = z / D, D = k ρ/(k + e²))
        h = (k + e² - 1) N,   N = sqrt(a² + e² z²/k²)
        λ = atan2(y, x)

    (Vermeille writes h = (k + e² - 1)/k · sqrt(D² + z²); the form used here
    is equivalent and cheaper.) Accuracy is round-off: measured against
    pyproj's (exact) forward transform, < 1e-8 m in height and horizontal
    position up to 10,000 km altitude, 3e-8 m at 40,000 km, 2e-7 m at 4e8 m
    (lunar distance), and ~3e-9 m from the surface down to the centre.

    Special points:

    * Exact pole (x = y = 0): λ = 0, φ = ±π/2, h = |z| - b.
    * Within ~43 km of the centre (inside the evolute of the meridian
      ellipse) the normal through a point is not unique; the nearest point of
      the ellipsoid is used. On the equatorial plane within a·e² ≈ 42.7 km of
      the centre both ±φ are nearest; the northern one is returned. The
      origin gives (π/2, 0, -b).
    * NaN in a row gives NaN in all three outputs of that row; no exception.
    * λ is in [-π, π]; on the antimeridian its sign follows the sign of y
      (including a signed zero), as ``atan2`` does.

    Args:
        r_ecef_m: ECEF position, shape (..., 3), m.

    Returns:
        ``(lat_rad, lon_rad, alt_m)``, each of shape (...).

    Raises:
        ValueError: if ``r_ecef_m`` does not have shape (..., 3).
    """
    r = as_points(r_ecef_m, "r_ecef_m")
    shape = r.shape[:-1]
    flat = r.reshape(-1, 3)
    n = flat.shape[0]
    if n <= _BLOCK_ROWS:
        alt, lat, lon = _geodetic_block(flat, want_angles=True)
    else:
        alt, lat, lon = np.empty(n), np.empty(n), np.empty(n)
        for i in range(0, n, _BLOCK_ROWS):
            rows = slice(i, i + _BLOCK_ROWS)
            alt[rows], lat[rows], lon[rows] = _geodetic_block(flat[rows], want_angles=True)
    return (
        scalar_out(lat.reshape(shape)),
        scalar_out(lon.reshape(shape)),
        scalar_out(alt.reshape(shape)),
    )


def _equatorial_interior(rho2: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Nearest-point latitude and height for z = 0, ρ < a e² (limit z -> +0 of the quartic).

    With k -> 0 the quartic gives q/k² -> 1 - p/e⁴ and then
    ``tan φ = sqrt(e⁴ - p) / sqrt(p (1 - e²))`` and ``h = -(1 - e²) N = -b sqrt(1 - p/e²)``.
    """
    p = rho2 * _INV_A2
    lat = np.arctan2(np.sqrt(np.maximum(_E4 - p, 0.0)), np.sqrt(p * (1.0 - WGS84_E2)))
    alt = -WGS84_B_M * np.sqrt(1.0 - p / WGS84_E2)
    return lat, alt


def _altitude_rows_m(flat_ecef_m: FloatArray) -> FloatArray:
    """:func:`geodetic_altitude_m` for an already-checked (n, 3) float64 array (internal)."""
    n = flat_ecef_m.shape[0]
    if n <= _BLOCK_ROWS:
        return _geodetic_block(flat_ecef_m, want_angles=False)[0]
    alt = np.empty(n)
    for i in range(0, n, _BLOCK_ROWS):
        rows = slice(i, i + _BLOCK_ROWS)
        alt[rows] = _geodetic_block(flat_ecef_m[rows], want_angles=False)[0]
    return alt


def geodetic_altitude_m(r_ecef_m: ArrayLike) -> FloatArray:
    """Height above the WGS-84 ellipsoid of ECEF points, m (no latitude or longitude).

    Same exact method and special cases as :func:`ecef_to_geodetic`
    (``h = (k + e² - 1) sqrt(a² + e² z²/k²)``, Vermeille 2002), without the two
    ``atan2`` calls, for hot paths that need only the altitude.

    Args:
        r_ecef_m: ECEF position, shape (..., 3), m.

    Returns:
        ``alt_m``, shape (...), m. NaN rows give NaN.

    Raises:
        ValueError: if ``r_ecef_m`` does not have shape (..., 3).
    """
    r = as_points(r_ecef_m, "r_ecef_m")
    alt = _altitude_rows_m(r.reshape(-1, 3))
    return scalar_out(alt.reshape(r.shape[:-1]))


# ---------------------------------------------------------------------------------
# ENU and AER
# ---------------------------------------------------------------------------------
def enu_rotation(lat_rad: ArrayLike, lon_rad: ArrayLike) -> FloatArray:
    """Rotation matrix from ECEF to local ENU at geodetic (lat, lon).

    Rows are the east, north and up unit vectors expressed in ECEF
    (Hofmann-Wellenhof et al., *GNSS*, Springer, 2008, ch. 5)::

        e = (-sin λ,        cos λ,       0    )
        n = (-sin φ cos λ, -sin φ sin λ, cos φ)
        u = ( cos φ cos λ,  cos φ sin λ, sin φ)

    so ``v_enu = R @ v_ecef`` and ``v_ecef = R.T @ v_enu``.

    Args:
        lat_rad: geodetic latitude, rad; lon_rad: longitude, rad (broadcast).

    Returns:
        ``R``, shape (..., 3, 3).
    """
    lat = as_float(lat_rad, "lat_rad")
    lon = as_float(lon_rad, "lon_rad")
    shape = broadcast_shape(lat_rad=lat.shape, lon_rad=lon.shape)
    check_latitude(lat, "lat_rad")
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    out = np.empty((*shape, 3, 3))
    out[..., 0, 0] = -so
    out[..., 0, 1] = co
    out[..., 0, 2] = 0.0
    out[..., 1, 0] = -sl * co
    out[..., 1, 1] = -sl * so
    out[..., 1, 2] = cl
    out[..., 2, 0] = cl * co
    out[..., 2, 1] = cl * so
    out[..., 2, 2] = sl
    return out


def _trig(lat0: FloatArray, lon0: FloatArray) -> tuple[FloatArray, ...]:
    return np.sin(lat0), np.cos(lat0), np.sin(lon0), np.cos(lon0)


def _rotate_to_enu(
    dx: FloatArray, dy: FloatArray, dz: FloatArray, trig: tuple[FloatArray, ...]
) -> FloatArray:
    sl, cl, so, co = trig
    t = co * dx + so * dy
    east = co * dy - so * dx
    north = cl * dz - sl * t
    up = cl * t + sl * dz
    return np.stack(np.broadcast_arrays(east, north, up), axis=-1)


def _rotate_from_enu(
    e: FloatArray, n: FloatArray, u: FloatArray, trig: tuple[FloatArray, ...]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    sl, cl, so, co = trig
    t = cl * u - sl * n
    return co * t - so * e, so * t + co * e, cl * n + sl * u


def ecef_vector_to_enu(v_ecef: ArrayLike, lat0_rad: ArrayLike, lon0_rad: ArrayLike) -> FloatArray:
    """Rotate a free vector (velocity, acceleration, offset) from ECEF to ENU axes.

    ``v_enu = R(φ0, λ0) v_ecef`` with R from :func:`enu_rotation`; no
    translation. Units are those of ``v_ecef``.

    Args:
        v_ecef: vector in ECEF axes, shape (..., 3).
        lat0_rad, lon0_rad: geodetic latitude and longitude of the ENU origin, rad.

    Returns:
        ``v_enu``, shape ``broadcast(v_ecef[..., 0], lat0, lon0) + (3,)``.
    """
    v = as_points(v_ecef, "v_ecef")
    lat0 = as_float(lat0_rad, "lat0_rad")
    lon0 = as_float(lon0_rad, "lon0_rad")
    broadcast_shape(v_ecef=v.shape[:-1], lat0_rad=lat0.shape, lon0_rad=lon0.shape)
    check_latitude(lat0, "lat0_rad")
    return _rotate_to_enu(v[..., 0], v[..., 1], v[..., 2], _trig(lat0, lon0))


def enu_vector_to_ecef(v_enu: ArrayLike, lat0_rad: ArrayLike, lon0_rad: ArrayLike) -> FloatArray:
    """Rotate a free vector from ENU axes at (lat0, lon0) to ECEF axes.

    ``v_ecef = R(φ0, λ0)ᵀ v_enu`` with R from :func:`enu_rotation`.

    Args:
        v_enu: vector in ENU axes, shape (..., 3).
        lat0_rad, lon0_rad: geodetic latitude and longitude of the ENU origin, rad.

    Returns:
        ``v_ecef``, shape ``broadcast(v_enu[..., 0], lat0, lon0) + (3,)``.
    """
    v = as_points(v_enu, "v_enu")
    lat0 = as_float(lat0_rad, "lat0_rad")
    lon0 = as_float(lon0_rad, "lon0_rad")
    broadcast_shape(v_enu=v.shape[:-1], lat0_rad=lat0.shape, lon0_rad=lon0.shape)
    check_latitude(lat0, "lat0_rad")
    x, y, z = _rotate_from_enu(v[..., 0], v[..., 1], v[..., 2], _trig(lat0, lon0))
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def ecef_to_enu(
    r_ecef_m: ArrayLike, lat0_rad: ArrayLike, lon0_rad: ArrayLike, alt0_m: ArrayLike
) -> FloatArray:
    """ECEF position to local ENU coordinates about a geodetic origin, m.

    ``r_enu = R(φ0, λ0) (r_ecef - r0_ecef)``, with r0 from
    :func:`geodetic_to_ecef` and R from :func:`enu_rotation`.

    Args:
        r_ecef_m: ECEF position, shape (..., 3), m.
        lat0_rad, lon0_rad, alt0_m: geodetic origin of the ENU frame (broadcast
            against ``r_ecef_m[..., 0]``; e.g. (M,) origins with (N, 1, 3)
            points give (N, M, 3)).

    Returns:
        ``r_enu_m``, shape (..., 3), m.
    """
    r = as_points(r_ecef_m, "r_ecef_m")
    lat0 = as_float(lat0_rad, "lat0_rad")
    lon0 = as_float(lon0_rad, "lon0_rad")
    alt0 = as_float(alt0_m, "alt0_m")
    broadcast_shape(
        r_ecef_m=r.shape[:-1], lat0_rad=lat0.shape, lon0_rad=lon0.shape, alt0_m=alt0.shape
    )
    check_latitude(lat0, "lat0_rad")
    r0 = geodetic_to_ecef(lat0, lon0, alt0)
    return _rotate_to_enu(
        r[..., 0] - r0[..., 0], r[..., 1] - r0[..., 1], r[..., 2] - r0[..., 2], _trig(lat0, lon0)
    )


def enu_to_ecef(
    r_enu_m: ArrayLike, lat0_rad: ArrayLike, lon0_rad: ArrayLike, alt0_m: ArrayLike
) -> FloatArray:
    """Local ENU coordinates about a geodetic origin to ECEF position, m.

    ``r_ecef = r0_ecef + R(φ0, λ0)ᵀ r_enu`` (inverse of :func:`ecef_to_enu`).

    Args:
        r_enu_m: ENU position, shape (..., 3), m.
        lat0_rad, lon0_rad, alt0_m: geodetic origin of the ENU frame (broadcast).

    Returns:
        ``r_ecef_m``, shape (..., 3), m.
    """
    r = as_points(r_enu_m, "r_enu_m")
    lat0 = as_float(lat0_rad, "lat0_rad")
    lon0 = as_float(lon0_rad, "lon0_rad")
    alt0 = as_float(alt0_m, "alt0_m")
    broadcast_shape(
        r_enu_m=r.shape[:-1], lat0_rad=lat0.shape, lon0_rad=lon0.shape, alt0_m=alt0.shape
    )
    check_latitude(lat0, "lat0_rad")
    r0 = geodetic_to_ecef(lat0, lon0, alt0)
    x, y, z = _rotate_from_enu(r[..., 0], r[..., 1], r[..., 2], _trig(lat0, lon0))
    return np.stack(np.broadcast_arrays(x + r0[..., 0], y + r0[..., 1], z + r0[..., 2]), axis=-1)


def enu_to_aer(r_enu_m: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Local ENU position to azimuth, elevation and slant range.

    Equations (spherical coordinates in the ENU frame)::

        az = atan2(e, n)  wrapped to [0, 2π)   (clockwise from true north)
        el = atan2(u, sqrt(e² + n²))           (above the geodetic horizontal)
        range = sqrt(e² + n² + u²)

    At the zenith/nadir and at the origin the azimuth is undefined and 0 is
    returned (and el = 0 at the origin).

    Args:
        r_enu_m: ENU position, shape (..., 3), m.

    Returns:
        ``(az_rad, el_rad, range_m)``, each shape (...).
    """
    r = as_points(r_enu_m, "r_enu_m")
    e, n, u = r[..., 0], r[..., 1], r[..., 2]
    horiz2 = e * e + n * n
    az = np.arctan2(e, n)
    az = np.where(az < 0.0, az + _TWO_PI, az + 0.0)  # + 0.0 makes -0.0 into 0.0
    az = np.where(az >= _TWO_PI, 0.0, az)  # -1e-300 + 2π rounds to 2π
    el = np.arctan2(u, np.sqrt(horiz2))
    rng = np.sqrt(horiz2 + u * u)
    return scalar_out(az), scalar_out(el), scalar_out(rng)


def aer_to_enu(az_rad: ArrayLike, el_rad: ArrayLike, range_m: ArrayLike) -> FloatArray:
    """Azimuth, elevation and slant range to local ENU position, m.

    ``e = ρ cos el sin az, n = ρ cos el cos az, u = ρ sin el`` (inverse of
    :func:`enu_to_aer`; az clockwise from north, el above the horizontal).

    Args:
        az_rad, el_rad: rad; range_m: m (broadcast together).

    Returns:
        ``r_enu_m``, shape ``broadcast(...) + (3,)``.
    """
    az = as_float(az_rad, "az_rad")
    el = as_float(el_rad, "el_rad")
    rng = as_float(range_m, "range_m")
    shape = broadcast_shape(az_rad=az.shape, el_rad=el.shape, range_m=rng.shape)
    horiz = rng * np.cos(el)
    out = np.empty((*shape, 3))
    out[..., 0] = horiz * np.sin(az)
    out[..., 1] = horiz * np.cos(az)
    out[..., 2] = rng * np.sin(el)
    return out


def ecef_to_aer(
    r_ecef_m: ArrayLike, lat0_rad: ArrayLike, lon0_rad: ArrayLike, alt0_m: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ECEF position to azimuth, elevation and range seen from a geodetic site.

    Composition of :func:`ecef_to_enu` and :func:`enu_to_aer`: the azimuth is
    clockwise from true north, the elevation above the site's geodetic
    horizontal plane (no refraction), the range is the straight-line distance
    from the site (the detections-table convention of DESIGN.md).

    Returns:
        ``(az_rad, el_rad, range_m)``, each of the broadcast shape.
    """
    return enu_to_aer(ecef_to_enu(r_ecef_m, lat0_rad, lon0_rad, alt0_m))


def aer_to_ecef(
    az_rad: ArrayLike,
    el_rad: ArrayLike,
    range_m: ArrayLike,
    lat0_rad: ArrayLike,
    lon0_rad: ArrayLike,
    alt0_m: ArrayLike,
) -> FloatArray:
    """Azimuth, elevation and range from a geodetic site to ECEF position, m.

    Composition of :func:`aer_to_enu` and :func:`enu_to_ecef`.

    Returns:
        ``r_ecef_m``, shape (..., 3).
    """
    return enu_to_ecef(aer_to_enu(az_rad, el_rad, range_m), lat0_rad, lon0_rad, alt0_m)


# ---------------------------------------------------------------------------------
# ECI (this package's inertial frame) <-> ECEF
# ---------------------------------------------------------------------------------
def _inertial_inputs(
    r: ArrayLike, v: ArrayLike, t_s: ArrayLike, r_name: str, v_name: str
) -> tuple[FloatArray, FloatArray, FloatArray]:
    rr = as_points(r, r_name)
    vv = as_points(v, v_name)
    tt = as_float(t_s, "t_s")
    broadcast_shape(**{r_name: rr.shape[:-1], v_name: vv.shape[:-1], "t_s": tt.shape})
    return rr, vv, tt


def ecef_to_eci(
    r_ecef_m: ArrayLike, v_ecef_mps: ArrayLike, t_s: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """ECEF state to this package's ECI frame at time ``t_s`` after the scenario epoch.

    ECI coincides with ECEF at t = 0 and ECEF rotates about z at ω =
    ``WGS84_OMEGA_RADPS`` (precession, nutation, polar motion neglected), so
    with θ = ω t and ω = (0, 0, ω) (kinematics of a rotating frame: Goldstein,
    Poole & Safko, *Classical Mechanics*, 3rd ed., 2002, ch. 4; Vallado,
    *Fundamentals of Astrodynamics and Applications*, 4th ed., 2013, ch. 3,
    with precession, nutation and polar motion set to the identity)::

        r_eci = R3(-θ) r_ecef
        v_eci = R3(-θ) (v_ecef + ω × r_ecef)

    where R3(-θ) rotates by +θ about z:
    (x, y) -> (x cos θ - y sin θ, x sin θ + y cos θ).

    Args:
        r_ecef_m: position, shape (..., 3), m.
        v_ecef_mps: velocity relative to ECEF, shape (..., 3), m/s.
        t_s: time since the scenario epoch, s; broadcasts with the leading
            dimensions (one time for all points, or one per point).

    Returns:
        ``(r_eci_m, v_eci_mps)``, each shape (..., 3).
    """
    r, v, t = _inertial_inputs(r_ecef_m, v_ecef_mps, t_s, "r_ecef_m", "v_ecef_mps")
    theta = WGS84_OMEGA_RADPS * t
    c, s = np.cos(theta), np.sin(theta)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    vx = v[..., 0] - WGS84_OMEGA_RADPS * y
    vy = v[..., 1] + WGS84_OMEGA_RADPS * x
    r_eci = np.stack(np.broadcast_arrays(c * x - s * y, s * x + c * y, z), axis=-1)
    v_eci = np.stack(np.broadcast_arrays(c * vx - s * vy, s * vx + c * vy, v[..., 2]), axis=-1)
    return r_eci, v_eci


def eci_to_ecef(
    r_eci_m: ArrayLike, v_eci_mps: ArrayLike, t_s: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """This package's ECI state at time ``t_s`` to ECEF (inverse of :func:`ecef_to_eci`).

    ::

        r_ecef = R3(θ) r_eci,   v_ecef = R3(θ) v_eci - ω × r_ecef,   θ = ω t

    Args:
        r_eci_m: position, shape (..., 3), m.
        v_eci_mps: inertial velocity, shape (..., 3), m/s.
        t_s: time since the scenario epoch, s (broadcasts).

    Returns:
        ``(r_ecef_m, v_ecef_mps)``, each shape (..., 3).
    """
    r, v, t = _inertial_inputs(r_eci_m, v_eci_mps, t_s, "r_eci_m", "v_eci_mps")
    theta = WGS84_OMEGA_RADPS * t
    c, s = np.cos(theta), np.sin(theta)
    x = c * r[..., 0] + s * r[..., 1]
    y = c * r[..., 1] - s * r[..., 0]
    vx = c * v[..., 0] + s * v[..., 1] + WGS84_OMEGA_RADPS * y
    vy = c * v[..., 1] - s * v[..., 0] - WGS84_OMEGA_RADPS * x
    r_ecef = np.stack(np.broadcast_arrays(x, y, r[..., 2]), axis=-1)
    v_ecef = np.stack(np.broadcast_arrays(vx, vy, v[..., 2]), axis=-1)
    return r_ecef, v_ecef


def earth_rotation_angle_rad(ut1_julian_date: ArrayLike) -> FloatArray:
    """Earth rotation angle (ERA) at a UT1 Julian date, rad in [0, 2π).

    IERS Conventions (2010), IERS Technical Note 36, eq. 5.15::

        ERA(T_u) = 2π (0.7790572732640 + 1.00273781191135448 T_u),  T_u = JD(UT1) - 2451545.0

    evaluated as 2π (frac(T_u) + 0.7790572732640 + 0.00273781191135448 T_u)
    to keep the whole revolutions out of the rounding. ERA is the angle from
    the CIO to the TIO: rotating this package's ECI about z by ERA(epoch)
    aligns its x axis with CIRS's (within the neglected polar motion and the
    0.2 µrad/day difference between ``WGS84_OMEGA_RADPS`` and the ERA rate).

    UT1 is taken as UTC (|UT1 - UTC| < 0.9 s, i.e. up to 6.6e-5 rad of ERA,
    ~420 m on the equator): pass a UT1 date if you have DUT1. A single
    float64 Julian date resolves ~40 µs (3e-9 rad), far below that.

    Args:
        ut1_julian_date: Julian date in UT1 (or UTC), days; any shape.

    Returns:
        ERA, rad, same shape.
    """
    jd = as_float(ut1_julian_date, "ut1_julian_date")
    t_u = jd - JULIAN_DATE_J2000
    frac = np.mod(t_u, 1.0)
    rev = frac + ERA_AT_J2000_REV + ERA_RATE_EXCESS_REV_PER_UT1_DAY * t_u
    era = _TWO_PI * np.mod(rev, 1.0)
    return scalar_out(np.where(era >= _TWO_PI, 0.0, era))


def julian_date_from_datetime(dt: _dt.datetime) -> float:
    """Julian date of a timezone-aware datetime, in its UTC time scale, days.

    ``JD = 2440587.5 + (days since 1970-01-01) + (seconds of the UTC day)/86400``
    (the Julian date of the POSIX epoch, Meeus, *Astronomical Algorithms*,
    ch. 7). A leap second (23:59:60) cannot be represented by ``datetime``;
    the day is taken as 86,400 s. Float64 resolution is ~40 µs.

    Args:
        dt: timezone-aware ``datetime.datetime`` (converted to UTC).

    Returns:
        Julian date, days.

    Raises:
        ValueError: if ``dt`` is not a datetime or is naive (no tzinfo):
        a naive time is ambiguous and would silently be read as local time.
    """
    if not isinstance(dt, _dt.datetime):
        raise ValueError(f"dt must be a timezone-aware datetime.datetime; got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(
            f"dt must be timezone-aware (e.g. tzinfo=datetime.UTC); got naive {dt.isoformat()}"
        )
    utc = dt.astimezone(_dt.UTC)
    days = utc.toordinal() - _dt.date(1970, 1, 1).toordinal()
    seconds = utc.hour * 3600.0 + utc.minute * 60.0 + utc.second + utc.microsecond * 1e-6
    return (JULIAN_DATE_UNIX_EPOCH + days) + seconds / SECONDS_PER_DAY
