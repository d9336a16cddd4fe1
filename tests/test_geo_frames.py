"""trilink.geo.frames: geodetic/ECEF/ENU/AER/ECI against pyproj (PROJ 9) and invariants.

Oracles:
* Geodetic -> ECEF: pyproj EPSG:4979 -> EPSG:4978 (closed form in PROJ, exact to
  round-off).
* ECEF -> geodetic: (1) the exact inverse of pyproj's forward transform: geodetic
  coordinates are pushed through pyproj's forward and must come back from ours;
  (2) pyproj's own inverse, but only up to 100 km: PROJ's ``cart`` inverse is one
  Bowring step whose error grows with height (measured with PROJ 9.5: 0.1 mm at
  100 km, 8 mm at 1,000 km, 0.3 m at 40,000 km), so above that it is not a 1 mm
  oracle; (3) brute-force nearest point of the ellipse near the Earth's centre.
* ENU: PROJ's ``topocentric`` conversion; AER: hand-derived cases.
* ECI: finite differences and the closed form of a rotation; ERA: the SOFA/ERFA
  test value.

Tolerances are absolute, in metres (or radians), rtol = 0: 1e-6 m where both sides
are exact closed forms (errors are round-off, ~1e-8 m), 1 mm (the acceptance
criterion) against pyproj's approximate inverse.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from trilink.geo import (
    aer_to_ecef,
    aer_to_enu,
    earth_rotation_angle_rad,
    ecef_to_aer,
    ecef_to_eci,
    ecef_to_enu,
    ecef_to_geodetic,
    ecef_vector_to_enu,
    eci_to_ecef,
    enu_rotation,
    enu_to_aer,
    enu_to_ecef,
    enu_vector_to_ecef,
    geodetic_altitude_m,
    geodetic_to_ecef,
    julian_date_from_datetime,
)
from trilink.geo.constants import (
    WGS84_A_M,
    WGS84_B_M,
    WGS84_E2,
    WGS84_OMEGA_RADPS,
)

TO_ECEF = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
TO_GEODETIC = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)

EXACT_M = 1e-6  # both sides closed form: round-off is ~1e-8 m even at 40,000 km
ACCEPT_M = 1e-3  # acceptance bound against pyproj's own (approximate) inverse


def _pyproj_ecef(lat_deg, lon_deg, alt_m) -> np.ndarray:
    x, y, z = TO_ECEF.transform(
        np.asarray(lon_deg, float), np.asarray(lat_deg, float), np.asarray(alt_m, float)
    )
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def _horizontal_error_m(lat_rad, lon_rad, lat_ref_rad, lon_ref_rad, alt_m) -> np.ndarray:
    """Horizontal position error of a geodetic result, m (metric: M and N at the point)."""
    s = np.sin(lat_ref_rad)
    w = np.sqrt(1.0 - WGS84_E2 * s * s)
    n_m = WGS84_A_M / w
    m_m = WGS84_A_M * (1.0 - WGS84_E2) / w**3
    dlon = np.angle(np.exp(1j * (lon_rad - lon_ref_rad)))
    north = (lat_rad - lat_ref_rad) * (m_m + alt_m)
    east = dlon * (n_m + alt_m) * np.cos(lat_ref_rad)
    return np.hypot(north, east)


# --- Geodetic <-> ECEF edge cases (pymap3d-style table) ------------------------------
# (lat_deg, lon_deg, alt_m): poles, equator, antimeridian from both sides, just off the
# poles, below the ellipsoid, LEO, GEO and 40,000 km.
EDGE_CASES = [
    (0.0, 0.0, 0.0),
    (0.0, 0.0, -1_000.0),
    (0.0, 90.0, 0.0),
    (0.0, -90.0, 1_000.0),
    (0.0, 180.0, 0.0),
    (0.0, -180.0, 0.0),
    (0.0, 179.999_999_999, 500.0),
    (0.0, -179.999_999_999, 500.0),
    (1e-9, 45.0, 10.0),
    (-1e-9, 45.0, 10.0),
    (90.0, 0.0, 0.0),
    (-90.0, 0.0, 0.0),
    (90.0, 127.0, 1_000.0),
    (-90.0, -45.0, -1_000.0),
    (89.999_999_9, 10.0, 0.0),
    (-89.999_999_9, -170.0, 40_000_000.0),
    (39.0, 125.75, 38.0),  # Pyongyang
    (35.7, 139.7, 0.0),  # Tokyo
    (37.5, 127.0, -1_000.0),
    (21.3, -157.9, 5.0),  # Honolulu
    (45.0, 45.0, 100_000.0),
    (-33.0, 151.0, 400_000.0),
    (60.0, -30.0, 1_000_000.0),
    (10.0, 100.0, 20_200_000.0),  # GNSS orbit
    (0.0, 75.0, 35_786_000.0),  # GEO
    (-45.0, -120.0, 40_000_000.0),
    (89.0, 180.0, 40_000_000.0),
    (-0.5, -180.0, 40_000_000.0),
]


@pytest.mark.parametrize(("lat_deg", "lon_deg", "alt_m"), EDGE_CASES)
def test_geodetic_to_ecef_matches_pyproj(lat_deg, lon_deg, alt_m):
    ours = geodetic_to_ecef(math.radians(lat_deg), math.radians(lon_deg), alt_m)
    ref = _pyproj_ecef(lat_deg, lon_deg, alt_m)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=EXACT_M)


@pytest.mark.parametrize(("lat_deg", "lon_deg", "alt_m"), EDGE_CASES)
def test_ecef_to_geodetic_inverts_pyproj_forward(lat_deg, lon_deg, alt_m):
    r = _pyproj_ecef(lat_deg, lon_deg, alt_m)
    lat, lon, alt = ecef_to_geodetic(r)
    lat0, lon0 = math.radians(lat_deg), math.radians(lon_deg)
    assert abs(alt - alt_m) <= EXACT_M, f"height error {alt - alt_m:.3e} m"
    err = _horizontal_error_m(lat, lon, lat0, lon0, alt_m)
    assert err <= EXACT_M, f"horizontal error {err:.3e} m"
    # and the result maps back onto the same point
    np.testing.assert_allclose(geodetic_to_ecef(lat, lon, alt), r, rtol=0, atol=EXACT_M)


@pytest.mark.parametrize(("lat_deg", "lon_deg", "alt_m"), [c for c in EDGE_CASES if c[2] <= 1e5])
def test_ecef_to_geodetic_matches_pyproj_inverse_up_to_100km(lat_deg, lon_deg, alt_m):
    r = _pyproj_ecef(lat_deg, lon_deg, alt_m)
    lon_p, lat_p, alt_p = TO_GEODETIC.transform(*r)
    lat, lon, alt = ecef_to_geodetic(r)
    assert abs(alt - alt_p) <= ACCEPT_M
    err = _horizontal_error_m(lat, lon, math.radians(lat_p), math.radians(lon_p), alt)
    assert err <= ACCEPT_M


def test_ecef_to_geodetic_grid_against_pyproj():
    """Every combination of edge latitudes, longitudes and heights, vectorised."""
    lats = np.array([-90, -89.9999999, -60, -1e-9, 0, 1e-9, 35, 89.9999999, 90.0])
    lons = np.array([-180, -179.9999999, -90, 0, 0.5, 127, 179.9999999, 180.0])
    alts = np.array([-1_000.0, 0, 1, 100, 1e4, 1e5, 1e6, 1e7, 3.6e7, 4e7])
    la, lo, al = np.meshgrid(lats, lons, alts, indexing="ij")
    r = _pyproj_ecef(la, lo, al)
    np.testing.assert_allclose(
        geodetic_to_ecef(np.radians(la), np.radians(lo), al), r, rtol=0, atol=EXACT_M
    )
    lat, lon, alt = ecef_to_geodetic(r)
    assert lat.shape == la.shape
    h_err = np.abs(alt - al).max()
    xy_err = _horizontal_error_m(lat, lon, np.radians(la), np.radians(lo), al).max()
    assert h_err <= EXACT_M, f"max height error {h_err:.3e} m"
    assert xy_err <= EXACT_M, f"max horizontal error {xy_err:.3e} m"
    near = al <= 1e5
    lon_p, lat_p, alt_p = TO_GEODETIC.transform(r[..., 0], r[..., 1], r[..., 2])
    assert np.abs(alt - alt_p)[near].max() <= ACCEPT_M
    xy_p = _horizontal_error_m(lat, lon, np.radians(lat_p), np.radians(lon_p), al)
    assert xy_p[near].max() <= ACCEPT_M


def test_ecef_to_geodetic_random_bulk_far_and_deep():
    """2e4 random points from 6,000 km below the surface to 4e8 m (lunar distance)."""
    rng = np.random.default_rng(20240413)
    n = 20_000
    lat_deg = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon_deg = rng.uniform(-180, 180, n)
    alt = np.concatenate([rng.uniform(-6.0e6, 1e5, n // 2), 10 ** rng.uniform(2, 8.6, n // 2)])
    r = _pyproj_ecef(lat_deg, lon_deg, alt)
    lat, lon, h = ecef_to_geodetic(r)
    # round-off grows with the distance from the centre: ~3e-16 x |r|
    tol = EXACT_M + 1e-15 * np.linalg.norm(r, axis=-1)
    assert np.all(np.abs(h - alt) <= tol), np.abs(h - alt).max()
    err = _horizontal_error_m(lat, lon, np.radians(lat_deg), np.radians(lon_deg), alt)
    assert np.all(err <= tol), err.max()
    np.testing.assert_allclose(geodetic_altitude_m(r), h, rtol=0, atol=1e-9)


def test_pole_exactly_on_axis():
    for sign in (1.0, -1.0):
        for z_extra in (0.0, -1_000.0, 4e7):
            z = sign * (WGS84_B_M + z_extra)
            for x0 in (0.0, -0.0):
                lat, lon, alt = ecef_to_geodetic([x0, 0.0, z])
                assert lat == sign * math.pi / 2
                assert lon == 0.0
                assert abs(alt - z_extra) <= EXACT_M


def test_origin_and_equatorial_plane_inside_the_evolute():
    """Documented choices: nearest ellipsoid point, northern one on a tie."""
    lat, lon, alt = ecef_to_geodetic([0.0, 0.0, 0.0])
    assert (lat, lon, alt) == (math.pi / 2, 0.0, -WGS84_B_M)
    # z = 0, rho < a e²: two nearest points at ±lat; the result is continuous with z -> +0
    for rho in (1.0, 1e3, 2e4, 42e3):
        lat0, _, alt0 = ecef_to_geodetic([rho, 0.0, 0.0])
        lat1, _, alt1 = ecef_to_geodetic([rho, 0.0, 1e-6])
        assert lat0 > 0.0
        assert abs(lat0 - lat1) < 1e-9
        assert abs(alt0 - alt1) < 1e-6


def _nearest_distance_to_ellipse_m(rho_m: np.ndarray, z_m: np.ndarray) -> np.ndarray:
    t = np.linspace(-np.pi / 2, np.pi / 2, 400_001)
    ex, ez = WGS84_A_M * np.cos(t), WGS84_B_M * np.sin(t)
    return np.array([np.hypot(r - ex, z - ez).min() for r, z in zip(rho_m, z_m, strict=True)])


def test_deep_interior_height_is_minus_distance_to_nearest_surface_point():
    """Within 60 km of the centre (incl. inside the evolute): brute-force oracle."""
    rng = np.random.default_rng(7)
    pts = rng.uniform(-60e3, 60e3, (40, 3))
    pts[:4, 2] = 0.0  # on the equatorial plane
    pts[4:6, :2] = 0.0  # on the polar axis
    lat, lon, alt = ecef_to_geodetic(pts)
    rho = np.hypot(pts[:, 0], pts[:, 1])
    # sampling the ellipse every 2.5e-6 rad (16 m) bounds the brute force to ~1e-5 m
    expected = -_nearest_distance_to_ellipse_m(rho, pts[:, 2])
    np.testing.assert_allclose(alt, expected, rtol=0, atol=1e-4)
    np.testing.assert_allclose(geodetic_to_ecef(lat, lon, alt), pts, rtol=0, atol=EXACT_M)


def test_nan_in_nan_out_no_warning():
    r = np.array([[WGS84_A_M, 0.0, 0.0], [np.nan, 0.0, 0.0], [0.0, np.nan, 1e6], [1, 2, np.inf]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lat, lon, alt = ecef_to_geodetic(r[:3])
        h = geodetic_altitude_m(r[:3])
        back = geodetic_to_ecef([0.0, np.nan], [np.nan, 0.0], [0.0, 0.0])
    assert (lat[0], lon[0], alt[0]) == (0.0, 0.0, 0.0)
    assert np.isnan(lat[1:]).all() and np.isnan(lon[1:]).all() and np.isnan(alt[1:]).all()
    assert np.isnan(h[1:]).all() and h[0] == 0.0
    assert np.isnan(back).all()


@settings(max_examples=300, deadline=None)
@given(
    lat=st.floats(-math.pi / 2, math.pi / 2),
    lon=st.floats(-math.pi, math.pi),
    alt=st.floats(-6.0e6, 4.0e8),
)
def test_property_geodetic_round_trip(lat, lon, alt):
    """geodetic -> ECEF -> geodetic is the identity above the evolute (h > -6,335 km)."""
    r = geodetic_to_ecef(lat, lon, alt)
    lat2, lon2, alt2 = ecef_to_geodetic(r)
    tol = EXACT_M + 1e-15 * float(np.linalg.norm(r))
    assert abs(alt2 - alt) <= tol
    assert _horizontal_error_m(lat2, lon2, lat, lon, alt) <= tol


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(-5e7, 5e7), min_size=3, max_size=3))
def test_property_ecef_round_trip_everywhere(xyz):
    """ECEF -> geodetic -> ECEF is the identity everywhere, including near the centre."""
    r = np.array(xyz)
    back = geodetic_to_ecef(*ecef_to_geodetic(r))
    np.testing.assert_allclose(back, r, rtol=0, atol=EXACT_M + 1e-15 * np.linalg.norm(r))


def test_shapes_scalar_nd_broadcast():
    r1 = geodetic_to_ecef(0.5, 1.0, 100.0)
    assert r1.shape == (3,)
    lat, lon, alt = ecef_to_geodetic(r1)
    assert np.ndim(lat) == 0 and np.ndim(lon) == 0 and np.ndim(alt) == 0
    assert np.ndim(geodetic_altitude_m(r1)) == 0
    lats = np.linspace(-1.5, 1.5, 4)[:, None]  # (4, 1)
    lons = np.linspace(-3, 3, 5)  # (5,)
    grid = geodetic_to_ecef(lats, lons, 10.0)
    assert grid.shape == (4, 5, 3)
    lat, lon, alt = ecef_to_geodetic(grid)
    assert lat.shape == lon.shape == alt.shape == (4, 5)
    np.testing.assert_allclose(lat, np.broadcast_to(lats, (4, 5)), rtol=0, atol=1e-14)
    np.testing.assert_allclose(alt, 10.0, rtol=0, atol=EXACT_M)
    assert ecef_to_geodetic(np.zeros((0, 3)))[0].shape == (0,)
    # a long input runs in blocks; results equal the one-by-one results
    big = geodetic_to_ecef(np.linspace(-1.5, 1.5, 20_001), np.linspace(-3, 3, 20_001), 5.0)
    lat_b, _, alt_b = ecef_to_geodetic(big)
    assert np.all(np.abs(alt_b - 5.0) <= EXACT_M)
    assert ecef_to_geodetic(big[12_345])[0] == lat_b[12_345]
    wide = geodetic_to_ecef(np.linspace(-1.5, 1.5, 200)[:, None], np.linspace(-3, 3, 100), 7.0)
    assert wide.shape == (200, 100, 3)
    np.testing.assert_array_equal(
        wide[150, 60],
        geodetic_to_ecef(np.linspace(-1.5, 1.5, 200)[150], np.linspace(-3, 3, 100)[60], 7.0),
    )


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: ecef_to_geodetic(np.zeros((4, 2))), "r_ecef_m"),
        (lambda: ecef_to_geodetic(1.0), "r_ecef_m"),
        (lambda: geodetic_altitude_m([1.0, 2.0]), "r_ecef_m"),
        (lambda: geodetic_to_ecef(np.zeros(3), np.zeros(4), 0.0), "lon_rad"),
        (lambda: geodetic_to_ecef(35.0, 139.0, 0.0), "lat_rad"),  # degrees
        (lambda: geodetic_to_ecef("north", 0.0, 0.0), "lat_rad"),
        (lambda: ecef_to_enu(np.zeros((3, 3)), np.zeros(2), 0.0, 0.0), "lat0_rad"),
        (lambda: enu_to_ecef(np.zeros(4), 0.0, 0.0, 0.0), "r_enu_m"),
        (lambda: ecef_to_aer(np.zeros(3), 35.0, 139.0, 0.0), "lat0_rad"),  # degrees
        (lambda: aer_to_ecef(0.0, 0.0, 1.0, -91.0, 0.0, 0.0), "lat0_rad"),
        (lambda: ecef_vector_to_enu(np.zeros((2, 2)), 0.0, 0.0), "v_ecef"),
        (lambda: enu_vector_to_ecef(np.zeros((2, 3)), np.zeros(3), 0.0), "lat0_rad"),
        (lambda: enu_to_aer(np.zeros((5, 4))), "r_enu_m"),
        (lambda: aer_to_enu(np.zeros(2), np.zeros(3), 1.0), "el_rad"),
        (lambda: enu_rotation(np.zeros(2), np.zeros(3)), "lon_rad"),
        (lambda: ecef_to_eci(np.zeros((2, 3)), np.zeros((3, 3)), 0.0), "v_ecef_mps"),
        (lambda: eci_to_ecef(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(5)), "t_s"),
        (lambda: earth_rotation_angle_rad("tomorrow"), "ut1_julian_date"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --- ENU / AER -----------------------------------------------------------------------
SITES = [  # lat_deg, lon_deg, alt_m
    (0.0, 0.0, 0.0),
    (35.0, 139.0, 100.0),
    (-45.0, -179.9999, 2_000.0),
    (89.999, 45.0, 0.0),
    (-90.0, 0.0, -500.0),
    (38.5, 180.0, 30.0),
]


@pytest.mark.parametrize(("lat_deg", "lon_deg", "alt_m"), SITES)
def test_ecef_to_enu_matches_pyproj_topocentric(lat_deg, lon_deg, alt_m):
    topo = Transformer.from_pipeline(
        f"+proj=topocentric +ellps=WGS84 +lat_0={lat_deg} +lon_0={lon_deg} +h_0={alt_m}"
    )
    rng = np.random.default_rng(1)
    pts = _pyproj_ecef(
        rng.uniform(-90, 90, 50), rng.uniform(-180, 180, 50), rng.uniform(-1e3, 4e7, 50)
    )
    ref = np.stack(topo.transform(pts[:, 0], pts[:, 1], pts[:, 2]), axis=-1)
    lat0, lon0 = math.radians(lat_deg), math.radians(lon_deg)
    enu = ecef_to_enu(pts, lat0, lon0, alt_m)
    np.testing.assert_allclose(enu, ref, rtol=0, atol=EXACT_M)
    np.testing.assert_allclose(enu_to_ecef(enu, lat0, lon0, alt_m), pts, rtol=0, atol=EXACT_M)


@pytest.mark.parametrize(("lat_deg", "lon_deg", "alt_m"), SITES)
def test_enu_rotation_is_a_rotation_with_up_along_the_ellipsoid_normal(lat_deg, lon_deg, alt_m):
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    rot = enu_rotation(lat, lon)
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), rtol=0, atol=1e-15)
    assert np.linalg.det(rot) == pytest.approx(1.0, abs=1e-15)
    # up: unit vector between two points on the same normal (independent of R's formula)
    up = geodetic_to_ecef(lat, lon, 1_000.0) - geodetic_to_ecef(lat, lon, 0.0)
    np.testing.assert_allclose(rot[2], up / 1_000.0, rtol=0, atol=1e-12)
    # east: direction of increasing longitude (finite difference), unless at a pole
    if abs(lat_deg) < 89.0:
        d = geodetic_to_ecef(lat, lon + 1e-7, 0.0) - geodetic_to_ecef(lat, lon - 1e-7, 0.0)
        np.testing.assert_allclose(rot[0], d / np.linalg.norm(d), rtol=0, atol=1e-8)
    v = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(ecef_vector_to_enu(v, lat, lon), rot @ v, rtol=0, atol=1e-15)
    np.testing.assert_allclose(enu_vector_to_ecef(v, lat, lon), rot.T @ v, rtol=0, atol=1e-15)


# (e, n, u) -> (az_deg, el_deg): hand-derived
AER_CASES = [
    ((0.0, 1.0, 0.0), 0.0, 0.0),
    ((1.0, 0.0, 0.0), 90.0, 0.0),
    ((0.0, -1.0, 0.0), 180.0, 0.0),
    ((-1.0, 0.0, 0.0), 270.0, 0.0),
    ((-1e-300, 1.0, 0.0), 0.0, 0.0),  # wraps to 0, not 2π
    ((-0.0, 1.0, 0.0), 0.0, 0.0),
    ((-1.0, 1.0, 0.0), 315.0, 0.0),
    ((1.0, 1.0, math.sqrt(2.0)), 45.0, 45.0),
    ((0.0, 0.0, 5.0), 0.0, 90.0),  # zenith: azimuth undefined, 0 returned
    ((0.0, 0.0, -5.0), 0.0, -90.0),
    ((0.0, 0.0, 0.0), 0.0, 0.0),  # origin: az and el undefined, 0 returned
]


@pytest.mark.parametrize(("enu", "az_deg", "el_deg"), AER_CASES)
def test_enu_to_aer_hand_cases(enu, az_deg, el_deg):
    az, el, rng = enu_to_aer(enu)
    assert 0.0 <= az < 2.0 * math.pi
    assert az == pytest.approx(math.radians(az_deg), abs=1e-15)
    assert el == pytest.approx(math.radians(el_deg), abs=1e-15)
    assert rng == pytest.approx(math.hypot(*enu), abs=1e-15)


@settings(max_examples=200, deadline=None)
@given(
    az=st.floats(0.0, 2.0 * math.pi, exclude_max=True),
    el=st.floats(-1.5, 1.5),
    rng=st.floats(1.0, 5e7),
    lat0=st.floats(-math.pi / 2, math.pi / 2),
    lon0=st.floats(-math.pi, math.pi),
)
def test_property_aer_round_trips(az, el, rng, lat0, lon0):
    enu = aer_to_enu(az, el, rng)
    az2, el2, rng2 = enu_to_aer(enu)
    assert abs(rng2 - rng) <= 1e-15 * rng + 1e-9
    assert abs(el2 - el) <= 1e-12
    assert abs(math.remainder(az2 - az, 2 * math.pi)) * math.cos(el) <= 1e-12
    r = aer_to_ecef(az, el, rng, lat0, lon0, 50.0)
    az3, el3, rng3 = ecef_to_aer(r, lat0, lon0, 50.0)
    # position error of the round trip, m
    err = np.linalg.norm(aer_to_enu(az3, el3, rng3) - enu)
    assert err <= EXACT_M + 1e-15 * rng


def test_ecef_to_aer_known_geometry():
    """A point 1 km straight above the site: el = 90°; 1 km north on the tangent plane: az 0."""
    lat0, lon0, h0 = math.radians(35.0), math.radians(139.0), 100.0
    above = geodetic_to_ecef(lat0, lon0, h0 + 1_000.0)
    _, el, rng = ecef_to_aer(above, lat0, lon0, h0)
    assert el == pytest.approx(math.pi / 2, abs=1e-12)
    assert rng == pytest.approx(1_000.0, abs=EXACT_M)
    north = aer_to_ecef(0.0, 0.0, 1_000.0, lat0, lon0, h0)
    az, el, _ = ecef_to_aer(north, lat0, lon0, h0)
    assert az == pytest.approx(0.0, abs=1e-12) and el == pytest.approx(0.0, abs=1e-12)
    # the tangent point 1 km away has risen above the ellipsoid by ~d²/(2R) = 7.9 cm
    h_north = geodetic_altitude_m(north) - h0
    assert 0.07 < h_north < 0.09


def test_enu_broadcast_sites_against_points():
    """(N, 1, 3) points against (M,) sites gives (N, M, 3), equal to the pairwise loop."""
    rng = np.random.default_rng(3)
    pts = geodetic_to_ecef(rng.uniform(-1, 1, 6), rng.uniform(-3, 3, 6), rng.uniform(0, 1e6, 6))
    lat0 = rng.uniform(-1.5, 1.5, 4)
    lon0 = rng.uniform(-3, 3, 4)
    alt0 = rng.uniform(0, 1e3, 4)
    enu = ecef_to_enu(pts[:, None, :], lat0, lon0, alt0)
    assert enu.shape == (6, 4, 3)
    az, el, rg = ecef_to_aer(pts[:, None, :], lat0, lon0, alt0)
    assert el.shape == rg.shape == (6, 4)
    assert az.shape == (6, 4)
    for i in range(6):
        for j in range(4):
            one = ecef_to_enu(pts[i], lat0[j], lon0[j], alt0[j])
            np.testing.assert_allclose(enu[i, j], one, rtol=0, atol=1e-9)
    back = enu_to_ecef(enu, lat0, lon0, alt0)
    np.testing.assert_allclose(back, np.broadcast_to(pts[:, None, :], (6, 4, 3)), atol=EXACT_M)
    assert enu_rotation(lat0, lon0).shape == (4, 3, 3)
    assert ecef_vector_to_enu(np.ones((6, 1, 3)), lat0, lon0).shape == (6, 4, 3)


# --- ECI -----------------------------------------------------------------------------
def test_eci_equals_ecef_at_epoch_and_after_one_sidereal_turn():
    rng = np.random.default_rng(5)
    r = rng.normal(0, 7e6, (10, 3))
    v = rng.normal(0, 3e3, (10, 3))
    r_i, v_i = ecef_to_eci(r, v, 0.0)
    np.testing.assert_array_equal(r_i, r)
    np.testing.assert_allclose(v_i - v, np.cross([0, 0, WGS84_OMEGA_RADPS], r), atol=1e-12)
    turn = 2.0 * math.pi / WGS84_OMEGA_RADPS
    r_t, _ = ecef_to_eci(r, v, turn)
    np.testing.assert_allclose(r_t, r, rtol=0, atol=1e-6)
    # after a quarter turn ECEF +x points along ECI +y
    r_q, _ = ecef_to_eci([WGS84_A_M, 0.0, 0.0], [0.0, 0.0, 0.0], turn / 4)
    np.testing.assert_allclose(r_q, [0.0, WGS84_A_M, 0.0], rtol=0, atol=1e-6)


def test_eci_velocity_is_the_time_derivative_of_eci_position():
    """Finite-difference oracle: a point moving in ECEF, seen from ECI."""
    r0 = np.array([-3.1e6, 4.2e6, 3.9e6])
    v0 = np.array([1_200.0, -300.0, 2_500.0])
    t0, dt_s = 1_234.5, 0.01

    def r_eci(t):
        return ecef_to_eci(r0 + v0 * (t - t0), v0, t)[0]

    fd = (r_eci(t0 + dt_s) - r_eci(t0 - dt_s)) / (2 * dt_s)
    _, v_eci = ecef_to_eci(r0, v0, t0)
    np.testing.assert_allclose(v_eci, fd, rtol=0, atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(t=st.floats(-1e6, 1e6), seed=st.integers(0, 2**32 - 1))
def test_property_eci_round_trip(t, seed):
    rng = np.random.default_rng(seed)
    r = rng.normal(0, 7e6, 3)
    v = rng.normal(0, 7e3, 3)
    r2, v2 = eci_to_ecef(*ecef_to_eci(r, v, t), t)
    np.testing.assert_allclose(r2, r, rtol=0, atol=1e-8)
    np.testing.assert_allclose(v2, v, rtol=0, atol=1e-11)


def test_eci_vectorised_over_time():
    r = np.array([WGS84_A_M, 0.0, 1e5])
    t = np.linspace(0.0, 3_600.0, 7)
    r_i, v_i = ecef_to_eci(r, np.zeros(3), t)
    assert r_i.shape == v_i.shape == (7, 3)
    theta = WGS84_OMEGA_RADPS * t
    np.testing.assert_allclose(r_i[:, 0], WGS84_A_M * np.cos(theta), rtol=0, atol=1e-8)
    np.testing.assert_allclose(r_i[:, 1], WGS84_A_M * np.sin(theta), rtol=0, atol=1e-8)
    np.testing.assert_allclose(np.linalg.norm(v_i, axis=1), WGS84_OMEGA_RADPS * WGS84_A_M)
    r_e, _ = eci_to_ecef(r_i, v_i, t)
    np.testing.assert_allclose(r_e, np.broadcast_to(r, (7, 3)), rtol=0, atol=1e-8)
    # one time per point and (N, 1) times against (M, 3) points
    assert ecef_to_eci(np.ones((4, 3)), np.ones((4, 3)), np.arange(4.0))[0].shape == (4, 3)
    assert ecef_to_eci(np.ones((5, 3)), np.zeros(3), np.zeros((2, 1)))[0].shape == (2, 5, 3)


# --- Time ----------------------------------------------------------------------------
def test_earth_rotation_angle_matches_sofa_test_value():
    # SOFA/ERFA test suite (t_sofa_c.c, t_era00): iauEra00(2400000.5, 54388.0)
    # = 0.4022837240028158102 rad, tolerance 1e-12 there too.
    assert earth_rotation_angle_rad(2_400_000.5 + 54_388.0) == pytest.approx(
        0.4022837240028158102, abs=1e-12
    )
    # at J2000.0 UT1 the angle is 2π x 0.7790572732640 (IERS Conventions 2010 eq. 5.15)
    assert earth_rotation_angle_rad(2_451_545.0) == pytest.approx(
        2 * math.pi * 0.7790572732640, abs=1e-15
    )
    eras = earth_rotation_angle_rad(np.array([2_451_545.0, 2_460_000.25]))
    assert eras.shape == (2,) and np.all((eras >= 0) & (eras < 2 * math.pi))


def test_earth_rotation_angle_advances_one_sidereal_day_per_ut1_day():
    # Julian dates exactly representable in float64, one UT1 day apart: the angle
    # advances by 2π x 1.00273781191135448, i.e. 2π x 0.00273781191135448 mod 2π.
    jd = 2_460_000.5
    d_era = earth_rotation_angle_rad(jd + 1.0) - earth_rotation_angle_rad(jd)
    assert math.remainder(d_era, 2 * math.pi) == pytest.approx(
        2 * math.pi * 0.00273781191135448, abs=1e-13
    )
    # WGS-84's nominal ω differs from the ERA rate by only 1.5e-12 rad/s
    rate = 2 * math.pi * 1.00273781191135448 / 86_400.0
    assert abs(rate - WGS84_OMEGA_RADPS) < 2e-12


@pytest.mark.parametrize(
    ("when", "jd"),
    [
        (dt.datetime(2000, 1, 1, 12, 0, tzinfo=dt.UTC), 2_451_545.0),
        (dt.datetime(1970, 1, 1, tzinfo=dt.UTC), 2_440_587.5),
        (dt.datetime(2007, 10, 15, tzinfo=dt.UTC), 2_454_388.5),  # MJD 54388
        (dt.datetime(2023, 4, 13, 7, 22, 0, tzinfo=dt.UTC), 2_460_047.806_944_444),
        # 09:00 in Tokyo (UTC+9) is 00:00 UTC
        (dt.datetime(2007, 10, 15, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9))), 2_454_388.5),
    ],
)
def test_julian_date_from_datetime(when, jd):
    assert julian_date_from_datetime(when) == pytest.approx(jd, abs=1e-9)


def test_julian_date_rejects_naive_datetime():
    with pytest.raises(ValueError, match="dt"):
        julian_date_from_datetime(dt.datetime(2023, 4, 13, 7, 22))
    with pytest.raises(ValueError, match="dt"):
        julian_date_from_datetime("2023-04-13")  # type: ignore[arg-type]
