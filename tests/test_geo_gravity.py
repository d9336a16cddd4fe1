"""trilink.geo.gravity: point mass + J2 against published normal gravity and invariants.

References next to each number. Tolerances are absolute, in m/s² (or m²/s²), rtol = 0.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from trilink.geo import (
    apparent_accel_ecef_mps2,
    ecef_to_eci,
    eci_to_ecef,
    geodetic_to_ecef,
    gravitational_potential_m2ps2,
    gravity_accel_mps2,
)
from trilink.geo.constants import (
    WGS84_A_M,
    WGS84_B_M,
    WGS84_GM_M3PS2,
    WGS84_J2,
    WGS84_OMEGA_RADPS,
)

# NIMA TR8350.2 (3rd ed., amendment 1, 2000), ch. 3, derived physical constants:
# WGS-84 normal gravity (gravitation of the level ellipsoid plus the centrifugal
# term) on the ellipsoid at the equator and at the poles.
GAMMA_EQUATOR_MPS2 = 9.7803253359
GAMMA_POLE_MPS2 = 9.8321849378
# Normalised fourth-degree zonal of the WGS-84 ellipsoid's normal field,
# C̄4,0 = 0.790303733511e-6 (NIMA TR8350.2 ch. 5 and NGA.STND.0036: the even zonals
# of the normal field that are removed from EGM96 to form the disturbing
# potential); J4 = -√9 C̄4,0 = -3 C̄4,0.
WGS84_NORMAL_J4 = -3.0 * 0.790303733511e-6

OMEGA = np.array([0.0, 0.0, WGS84_OMEGA_RADPS])


def _points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lat = np.arcsin(rng.uniform(-1, 1, n))
    lon = rng.uniform(-np.pi, np.pi, n)
    alt = np.concatenate([rng.uniform(-1e3, 2e6, n - n // 4), 10 ** rng.uniform(6.5, 8, n // 4)])
    return geodetic_to_ecef(lat, lon, alt)


def _j4_radial_mps2(r_m: float, p4: float) -> float:
    """Radial (outward) acceleration of the J4 term of U = -μ/r [... - J4 (a/r)⁴ P4]."""
    return 5.0 * WGS84_GM_M3PS2 * WGS84_NORMAL_J4 * WGS84_A_M**4 * p4 / r_m**6


def test_normal_gravity_at_equator_and_pole():
    """J2 gravitation + centrifugal vs WGS-84 normal gravity γe, γp on the ellipsoid.

    The normal field of the level ellipsoid has all even zonals; J2 truncation leaves
    the J4 term, (15/8) μ/a² J4 ≈ -4.4e-5 m/s² at the equator and 5 μ a⁴ J4 / b⁶ ≈
    -1.2e-4 m/s² at the pole (outward). Hence the 2e-4 m/s² tolerance, far below
    what a wrong J2 (1.6e-2), a missing centrifugal term (3.4e-2) or a sign error
    would give. The second check adds the J4 term back and must then agree to the
    J6 level (~5e-7 m/s²).
    """
    r_eq = np.array([WGS84_A_M, 0.0, 0.0])
    g_eq = gravity_accel_mps2(r_eq) + apparent_accel_ecef_mps2(r_eq, np.zeros(3))
    r_np = np.array([0.0, 0.0, WGS84_B_M])
    g_np = gravity_accel_mps2(r_np) + apparent_accel_ecef_mps2(r_np, np.zeros(3))
    # normal gravity is along the ellipsoid normal: radial at these two points
    assert abs(g_eq[1]) + abs(g_eq[2]) < 1e-15 and abs(g_np[0]) + abs(g_np[1]) < 1e-15
    mag_eq, mag_np = float(np.linalg.norm(g_eq)), float(np.linalg.norm(g_np))
    assert abs(mag_eq - GAMMA_EQUATOR_MPS2) < 2e-4, mag_eq - GAMMA_EQUATOR_MPS2
    assert abs(mag_np - GAMMA_POLE_MPS2) < 2e-4, mag_np - GAMMA_POLE_MPS2
    # P4(0) = 3/8 at the equator, P4(1) = 1 at the pole; radial outward -> subtract
    with_j4_eq = mag_eq - _j4_radial_mps2(WGS84_A_M, 3.0 / 8.0)
    with_j4_np = mag_np - _j4_radial_mps2(WGS84_B_M, 1.0)
    assert abs(with_j4_eq - GAMMA_EQUATOR_MPS2) < 1e-6, with_j4_eq - GAMMA_EQUATOR_MPS2
    assert abs(with_j4_np - GAMMA_POLE_MPS2) < 1e-6, with_j4_np - GAMMA_POLE_MPS2


def test_hand_derived_values_on_the_axes():
    """Vallado eq. 8-30 evaluated by hand on the x and z axes."""
    mu, j2, a = WGS84_GM_M3PS2, WGS84_J2, WGS84_A_M
    for r in (a, 2 * a, 7 * a):
        g = gravity_accel_mps2([r, 0.0, 0.0])
        assert g[0] == pytest.approx(-mu / r**2 * (1 + 1.5 * j2 * (a / r) ** 2), abs=1e-14)
        g = gravity_accel_mps2([0.0, 0.0, -r])
        assert g[2] == pytest.approx(mu / r**2 * (1 - 3 * j2 * (a / r) ** 2), abs=1e-14)
        assert g[0] == 0.0 and g[1] == 0.0


def test_accel_is_minus_gradient_of_potential():
    """Central differences, step 1 m: truncation ~|U'''| h²/6 ≈ 2e-12 m/s², round-off
    ~ε|U|/h ≈ 1e-8 m/s²; tolerance 5e-8 m/s² (the J2 part alone is ~1e-2)."""
    r = _points(200, seed=11)
    r = np.concatenate([r, [[0.0, 0.0, WGS84_B_M + 100.0], [0.0, 0.0, -1e8]]])
    h = 1.0
    grad = np.empty_like(r)
    for i in range(3):
        step = np.zeros(3)
        step[i] = h
        grad[:, i] = (
            gravitational_potential_m2ps2(r + step) - gravitational_potential_m2ps2(r - step)
        ) / (2 * h)
    np.testing.assert_allclose(gravity_accel_mps2(r), -grad, rtol=0, atol=5e-8)


def test_potential_sign_convention_and_far_field():
    """U < 0, U -> -μ/r far away; a -> -μ r/r³. At |r| = 3.7e11 m the J2 part is
    J2 (a/r)² ≈ 3e-13 of the total, below the 1e-12 tolerance."""
    r = np.array([1e11, 2e11, -3e11])
    d = float(np.linalg.norm(r))
    assert gravitational_potential_m2ps2(r) < 0
    assert gravitational_potential_m2ps2(r) == pytest.approx(-WGS84_GM_M3PS2 / d, rel=1e-12)
    np.testing.assert_allclose(
        gravity_accel_mps2(r), -WGS84_GM_M3PS2 * r / d**3, rtol=0, atol=1e-12 * 3e-9
    )
    # on the ellipsoid U ≈ -6.26e7 m²/s² (W0 = 62,636,851.7146 m²/s² includes rotation)
    assert -6.3e7 < gravitational_potential_m2ps2([WGS84_A_M, 0, 0]) < -6.2e7


@settings(max_examples=100, deadline=None)
@given(
    angle=st.floats(-math.pi, math.pi),
    xyz=st.tuples(st.floats(-4e7, 4e7), st.floats(-4e7, 4e7), st.floats(-4e7, 4e7)),
)
def test_property_axisymmetry_makes_it_valid_in_ecef_and_eci(angle, xyz):
    """g(R3 r) = R3 g(r) for any rotation about z: the same function serves ECEF and ECI;
    and mirror symmetry in the equatorial plane."""
    r = np.array(xyz)
    if np.linalg.norm(r) < 6e6:
        r = r + np.array([6.4e6, 0.0, 0.0])
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    g = gravity_accel_mps2(r)
    scale = float(np.linalg.norm(g))
    np.testing.assert_allclose(gravity_accel_mps2(rot @ r), rot @ g, rtol=0, atol=1e-13 * scale)
    mirror = np.array([1.0, 1.0, -1.0])
    np.testing.assert_allclose(gravity_accel_mps2(r * mirror), g * mirror, rtol=0, atol=1e-15)


def test_apparent_acceleration_matches_cross_products():
    rng = np.random.default_rng(2)
    r = rng.normal(0, 7e6, (50, 3))
    v = rng.normal(0, 5e3, (50, 3))
    expected = -2 * np.cross(OMEGA, v) - np.cross(OMEGA, np.cross(OMEGA, r))
    np.testing.assert_allclose(apparent_accel_ecef_mps2(r, v), expected, rtol=0, atol=1e-15)
    # centrifugal at the equator: ω² a = 0.03391 m/s² outward
    a_c = apparent_accel_ecef_mps2([WGS84_A_M, 0, 0], [0, 0, 0])
    assert a_c[0] == pytest.approx(WGS84_OMEGA_RADPS**2 * WGS84_A_M, abs=1e-15)
    assert a_c[0] == pytest.approx(0.0339, abs=1e-4)


def test_integration_in_ecef_matches_integration_in_eci():
    """A 15-min ballistic arc integrated in rotating ECEF (gravity + Coriolis +
    centrifugal) and in ECI (gravity only) ends at the same place (< 1 mm): checks
    the apparent forces, the ECI transform and the axisymmetry claim together."""
    r0 = geodetic_to_ecef(math.radians(39.0), math.radians(125.7), 1e3)
    v0 = np.array([-1_500.0, 2_500.0, 3_500.0])
    t_end = 900.0

    def f_ecef(_t, y):
        return np.concatenate(
            [y[3:], gravity_accel_mps2(y[:3]) + apparent_accel_ecef_mps2(y[:3], y[3:])]
        )

    def f_eci(_t, y):
        return np.concatenate([y[3:], gravity_accel_mps2(y[:3])])

    opts = {"method": "DOP853", "rtol": 1e-12, "atol": 1e-9}
    y_ecef = solve_ivp(f_ecef, (0, t_end), np.concatenate([r0, v0]), **opts).y[:, -1]
    r0_i, v0_i = ecef_to_eci(r0, v0, 0.0)
    y_eci = solve_ivp(f_eci, (0, t_end), np.concatenate([r0_i, v0_i]), **opts).y[:, -1]
    r_end, v_end = eci_to_ecef(y_eci[:3], y_eci[3:], t_end)
    np.testing.assert_allclose(y_ecef[:3], r_end, rtol=0, atol=1e-3)
    np.testing.assert_allclose(y_ecef[3:], v_end, rtol=0, atol=1e-6)


def test_shapes_and_broadcast():
    assert gravity_accel_mps2([7e6, 0, 0]).shape == (3,)
    assert np.ndim(gravitational_potential_m2ps2([7e6, 0, 0])) == 0
    r = _points(12, seed=3).reshape(3, 4, 3)
    assert gravity_accel_mps2(r).shape == (3, 4, 3)
    assert gravitational_potential_m2ps2(r).shape == (3, 4)
    big = _points(20_000, seed=4)  # runs in blocks
    np.testing.assert_array_equal(gravity_accel_mps2(big)[12_345], gravity_accel_mps2(big[12_345]))
    assert gravity_accel_mps2(np.zeros((0, 3))).shape == (0, 3)
    # (N, 1, 3) positions against (M, 3) velocities
    assert apparent_accel_ecef_mps2(r[0][:, None, :], np.ones((5, 3))).shape == (4, 5, 3)


def test_nan_and_origin_do_not_raise():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = gravity_accel_mps2([[np.nan, 0, 0], [0, 0, 0], [7e6, 0, 0]])
        u = gravitational_potential_m2ps2([[np.nan, 0, 0], [7e6, 0, 0]])
    assert np.isnan(g[0]).all() and not np.isfinite(g[1]).all() and np.isfinite(g[2]).all()
    assert np.isnan(u[0]) and np.isfinite(u[1])


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: gravity_accel_mps2(np.zeros((3, 2))), "r_m"),
        (lambda: gravitational_potential_m2ps2(7e6), "r_m"),
        (lambda: apparent_accel_ecef_mps2(np.zeros(3), np.zeros(2)), "v_ecef_mps"),
        (lambda: apparent_accel_ecef_mps2(np.zeros((2, 3)), np.zeros((3, 3))), "r_ecef_m"),
    ],
)
def test_bad_shapes_raise_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
