"""trilink.geo.geodesic against pyproj.Geod (GeographicLib's algorithm in PROJ 9).

Acceptance: distance within 1 mm, azimuths within 1e-9 rad, except where the azimuth
is undefined (coincident points, both ends at one pole, exactly antipodal points,
where many geodesics tie). pyproj returns the *back* azimuth at point 2; ours is
the forward azimuth there, so az2 = back + π.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from trilink.geo import (
    geodesic_direct,
    geodesic_inverse,
    geodetic_to_ecef,
    great_circle_distance_m,
)
from trilink.geo.constants import WGS84_MEAN_RADIUS_M

GEOD = Geod(ellps="WGS84")
DIST_M = 1e-3
AZ_RAD = 1e-9


def _angle_error(a, b):
    return np.abs(np.remainder(np.asarray(a) - np.asarray(b) + math.pi, 2 * math.pi) - math.pi)


def _pyproj_inverse(lat1, lon1, lat2, lon2):
    """pyproj in degrees -> (s, az1, forward az2) in metres and radians."""
    az12, az21, s = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(s), np.radians(az12), np.radians(np.asarray(az21) + 180.0)


# (lat1, lon1, lat2, lon2) in degrees, and whether the azimuths are defined.
INVERSE_CASES = [
    pytest.param(0, 0, 0, 0, False, id="coincident"),
    pytest.param(0, -180, 0, 180, False, id="coincident-across-antimeridian"),
    pytest.param(90, 0, 90, 45, False, id="both-at-north-pole"),
    pytest.param(0, 0, 0, 180, False, id="antipodal-equator"),
    pytest.param(90, 0, -90, 0, False, id="pole-to-pole"),
    pytest.param(45, 0, -45, 180, False, id="antipodal-45"),
    pytest.param(0, 0, 0, 90, True, id="equatorial-quarter"),
    pytest.param(0, 0, 0, 179.5, True, id="equatorial-near-antipodal"),
    pytest.param(0, 0, 0.5, 179.7, True, id="near-antipodal"),
    pytest.param(30, 0, -30, 179.9, True, id="near-antipodal-30"),
    pytest.param(0, 179.9999, 0, -179.9999, True, id="across-antimeridian-equator"),
    pytest.param(10, 179.99, -10, -179.99, True, id="across-antimeridian-diagonal"),
    pytest.param(38.5, -180, 39.0, 180, True, id="lon-180-vs-plus-180"),
    pytest.param(90, 0, 45, 10, True, id="from-north-pole"),
    pytest.param(-90, 30, 10, -170, True, id="from-south-pole"),
    pytest.param(20, 50, 90, 0, True, id="to-north-pole"),
    pytest.param(80, 0, 80, 180, True, id="over-the-pole"),
    pytest.param(-30, 20, 60, 20, True, id="meridian"),
    pytest.param(0, 0, 1e-6, 1e-6, True, id="16-cm-line"),
    pytest.param(35, 127, 35, 127.0000001, True, id="9-mm-line"),
    pytest.param(39.0, 125.75, 43.06, 141.35, True, id="Pyongyang-Sapporo"),
    pytest.param(39.0, 125.75, 13.44, 144.79, True, id="Pyongyang-Guam"),
    pytest.param(35.68, 139.69, 21.31, -157.86, True, id="Tokyo-Honolulu"),
    pytest.param(37.57, 126.98, -33.87, 151.21, True, id="Seoul-Sydney"),
    pytest.param(89.9999999, 0, -89.9999999, 180, False, id="near-pole-antipodal"),
]


@pytest.mark.parametrize(("lat1", "lon1", "lat2", "lon2", "az_defined"), INVERSE_CASES)
def test_inverse_edge_cases_match_pyproj(lat1, lon1, lat2, lon2, az_defined):
    s, az1, az2 = geodesic_inverse(*np.radians([lat1, lon1, lat2, lon2]))
    s_ref, az1_ref, az2_ref = _pyproj_inverse(lat1, lon1, lat2, lon2)
    assert abs(s - s_ref) <= DIST_M, f"distance off by {s - s_ref:.3e} m"
    assert 0.0 <= az1 < 2 * math.pi and 0.0 <= az2 < 2 * math.pi
    if az_defined:
        assert _angle_error(az1, az1_ref) <= AZ_RAD, _angle_error(az1, az1_ref)
        assert _angle_error(az2, az2_ref) <= AZ_RAD, _angle_error(az2, az2_ref)


def test_inverse_random_and_near_antipodal_bulk():
    rng = np.random.default_rng(99)
    n = 20_000
    lat1 = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lat2 = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon1 = rng.uniform(-180, 180, n)
    lon2 = rng.uniform(-180, 180, n)
    # a quarter of the pairs within a few degrees of each other's antipode
    m = n // 4
    lat2[:m] = np.clip(-lat1[:m] + rng.uniform(-3, 3, m), -90, 90)
    lon2[:m] = lon1[:m] + 180 + rng.uniform(-6, 6, m)
    s, az1, az2 = geodesic_inverse(*np.radians([lat1, lon1, lat2, lon2]))
    s_ref, az1_ref, az2_ref = _pyproj_inverse(lat1, lon1, lat2, lon2)
    assert np.abs(s - s_ref).max() <= DIST_M, np.abs(s - s_ref).max()
    assert _angle_error(az1, az1_ref).max() <= AZ_RAD, _angle_error(az1, az1_ref).max()
    assert _angle_error(az2, az2_ref).max() <= AZ_RAD, _angle_error(az2, az2_ref).max()


DIRECT_CASES = [  # lat1, lon1 (deg), az1 (deg), distance (m)
    (0, 0, 90, 10_018_754.0),  # a quarter of the equator
    (0, 0, 0, 20_003_931.458),  # ~ half a meridian: to near the south pole
    (90, 0, 180, 1_000_000.0),  # from the north pole, along lon 0
    (-90, 45, 10, 2_000_000.0),
    (0, 179.5, 90, 200_000.0),  # across the antimeridian
    (10, -179.5, 270, 300_000.0),
    (39.0, 125.75, 100, 1_000_000.0),
    (39.0, 125.75, 45, 0.0),  # zero distance
    (39.0, 125.75, 45, -500_000.0),  # negative: backwards
    (35, 139, 300, 35_000_000.0),  # most of the way round
    (-33, 151, 45, 0.01),
]


@pytest.mark.parametrize(("lat1", "lon1", "az1", "dist"), DIRECT_CASES)
def test_direct_edge_cases_match_pyproj(lat1, lon1, az1, dist):
    lat2, lon2, az2 = geodesic_direct(
        math.radians(lat1), math.radians(lon1), math.radians(az1), dist
    )
    lon_r, lat_r, back = GEOD.fwd(lon1, lat1, az1, dist)
    miss = np.linalg.norm(
        geodetic_to_ecef(lat2, lon2, 0.0)
        - geodetic_to_ecef(math.radians(lat_r), math.radians(lon_r), 0.0)
    )
    assert miss <= DIST_M, f"end point {miss:.3e} m away"
    assert -math.pi <= lon2 < math.pi
    if abs(lat_r) < 89.99:  # az2 at a pole depends only on the longitude convention
        assert _angle_error(az2, math.radians(back + 180.0)) <= AZ_RAD


def test_direct_random_bulk():
    rng = np.random.default_rng(5)
    n = 20_000
    lat1 = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon1 = rng.uniform(-180, 180, n)
    az1 = rng.uniform(-180, 360, n)
    dist = rng.uniform(-2e7, 4e7, n)
    lat2, lon2, az2 = geodesic_direct(*np.radians([lat1, lon1, az1]), dist)
    lon_r, lat_r, back = GEOD.fwd(lon1, lat1, az1, dist)
    miss = np.linalg.norm(
        geodetic_to_ecef(lat2, lon2, 0.0)
        - geodetic_to_ecef(np.radians(lat_r), np.radians(lon_r), 0.0),
        axis=-1,
    )
    assert miss.max() <= DIST_M, miss.max()
    assert _angle_error(az2, np.radians(back + 180.0)).max() <= AZ_RAD


@settings(max_examples=200, deadline=None)
@given(
    lat1=st.floats(-math.pi / 2, math.pi / 2),
    lon1=st.floats(-math.pi, math.pi),
    lat2=st.floats(-math.pi / 2, math.pi / 2),
    lon2=st.floats(-math.pi, math.pi),
)
def test_property_direct_undoes_inverse(lat1, lon1, lat2, lon2):
    s, az1, _ = geodesic_inverse(lat1, lon1, lat2, lon2)
    lat3, lon3, _ = geodesic_direct(lat1, lon1, az1, s)
    miss = np.linalg.norm(geodetic_to_ecef(lat3, lon3, 0.0) - geodetic_to_ecef(lat2, lon2, 0.0))
    assert miss <= DIST_M
    # and the distance is symmetric
    s_back, _, _ = geodesic_inverse(lat2, lon2, lat1, lon1)
    assert abs(s_back - s) <= 1e-6


def test_great_circle_distance():
    r = WGS84_MEAN_RADIUS_M
    assert great_circle_distance_m(0.0, 0.0, math.pi / 2, 0.0) == pytest.approx(
        math.pi * r / 2, abs=1e-6
    )
    assert great_circle_distance_m(0.0, 0.0, 0.0, math.pi) == pytest.approx(math.pi * r, abs=1e-6)
    assert great_circle_distance_m(0.3, 2.0, 0.3, 2.0) == 0.0
    assert great_circle_distance_m(0.0, 0.0, 0.0, 1.0, radius_m=1.0) == pytest.approx(
        1.0, abs=1e-15
    )
    # within 0.6 % of the ellipsoidal geodesic anywhere (sphere vs flattening 1/298)
    rng = np.random.default_rng(8)
    pts = rng.uniform([-1.5, -3.1, -1.5, -3.1], [1.5, 3.1, 1.5, 3.1], (2_000, 4)).T
    gc = great_circle_distance_m(*pts)
    geo = geodesic_inverse(*pts)[0]
    assert np.all(np.abs(gc - geo) <= 6e-3 * geo + 1e-6)


def test_shapes_broadcast_and_nan():
    s, a1, a2 = geodesic_inverse(0.1, 0.2, 0.3, 0.4)
    assert np.ndim(s) == np.ndim(a1) == np.ndim(a2) == 0
    lat1 = np.array([0.1, 0.5, -0.7])[:, None]  # (3, 1)
    lon2 = np.linspace(-3, 3, 4)  # (4,)
    s, a1, a2 = geodesic_inverse(lat1, 0.0, 0.2, lon2)
    assert s.shape == a1.shape == a2.shape == (3, 4)
    assert s[2, 1] == geodesic_inverse(-0.7, 0.0, 0.2, lon2[1])[0]
    lat3, lon3, a3 = geodesic_direct(lat1, 0.0, lon2, 1e6)
    assert lat3.shape == lon3.shape == a3.shape == (3, 4)
    assert great_circle_distance_m(lat1, 0.0, 0.2, lon2).shape == (3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s, a1, _ = geodesic_inverse([0.1, np.nan], 0.0, 0.2, 0.3)
        lat3, _, _ = geodesic_direct([0.1, 0.2], 0.0, [0.3, np.nan], 1e5)
    assert np.isfinite(s[0]) and np.isnan(s[1]) and np.isnan(a1[1])
    assert np.isfinite(lat3[0]) and np.isnan(lat3[1])
    # long inputs run in blocks
    n = 20_000
    lats = np.linspace(-1.5, 1.5, n)
    s_many = geodesic_inverse(lats, 0.0, 0.3, 1.0)[0]
    assert s_many[15_000] == geodesic_inverse(lats[15_000], 0.0, 0.3, 1.0)[0]


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: geodesic_inverse(np.zeros(2), 0.0, np.zeros(3), 0.0), "lat2_rad"),
        (lambda: geodesic_inverse(45.0, 0.0, 0.0, 0.0), "lat1_rad"),  # degrees
        (lambda: geodesic_inverse(0.0, 0.0, -91.0, 0.0), "lat2_rad"),
        (lambda: geodesic_direct(0.0, 0.0, np.zeros(2), np.zeros(3)), "distance_m"),
        (lambda: geodesic_direct(100.0, 0.0, 0.0, 1.0), "lat1_rad"),
        (lambda: geodesic_direct(0.0, "east", 0.0, 1.0), "lon1_rad"),
        (lambda: great_circle_distance_m(np.zeros(2), np.zeros(3), 0.0, 0.0), "lon1_rad"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
