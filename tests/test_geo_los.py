"""trilink.geo.los: line of sight over the ellipsoid, refraction, radar horizon.

Oracles:
* the equator is a circle of radius a, so a path in the equatorial plane sees a
  "sphere" and the switch-over is known in closed form: straight tangents (k = 1),
  a circular ray of curvature κ = (1 - 1/k)/R tangent to the circle (k = 4/3), and
  the classic d = sqrt(2kRh1) + sqrt(2kRh2) with the equivalent effective radius;
* a brute-force minimum of the ray height sampled along each path (k = 1: the exact
  chord over the exact ellipsoid; k = 4/3: the same plus the sagitta of the model).
Tolerances are in metres, stated at each test.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from trilink.geo import (
    aer_to_ecef,
    geodesic_direct,
    geodetic_altitude_m,
    geodetic_to_ecef,
    horizon_elevation_rad,
    line_of_sight,
    radar_horizon_range_m,
)
from trilink.geo.constants import (
    EFFECTIVE_EARTH_RADIUS_FACTOR,
    WGS84_A_M,
    WGS84_MEAN_RADIUS_M,
)

K43 = EFFECTIVE_EARTH_RADIUS_FACTOR


def _kappa(k: float) -> float:
    """Ray curvature of the module's model, 1/m."""
    return (1.0 - 1.0 / k) / WGS84_MEAN_RADIUS_M


def _switch_over_chord_m(h_site_m: float, h_target_m: float, k: float) -> float:
    """Chord length at which an equatorial target at h_target sinks below the horizon.

    Bisection on the target's longitude (site at lat 0, lon 0) to 1e-15 rad.
    """
    site = geodetic_to_ecef(0.0, 0.0, h_site_m)
    lo, hi = 0.0, 1.3
    assert line_of_sight(site, geodetic_to_ecef(0.0, lo + 1e-6, h_target_m), k)
    assert not line_of_sight(site, geodetic_to_ecef(0.0, hi, h_target_m), k)
    while hi - lo > 1e-15:
        mid = 0.5 * (lo + hi)
        if line_of_sight(site, geodetic_to_ecef(0.0, mid, h_target_m), k):
            lo = mid
        else:
            hi = mid
    return float(np.linalg.norm(geodetic_to_ecef(0.0, lo, h_target_m) - site))


HEIGHT_PAIRS = [  # (site, target) heights, m
    (0.0, 10_000.0),
    (30.0, 3_000.0),
    (100.0, 10_000.0),
    (20.0, 300_000.0),
    (1_000.0, 1_000_000.0),
]


@pytest.mark.parametrize(("h1", "h2"), HEIGHT_PAIRS)
def test_straight_line_switch_over_on_the_equator_is_exact(h1, h2):
    """k = 1: the chord at switch-over is tangent to the equator circle, so its length is
    the sum of the tangent lengths sqrt((a + h)² - a²). Tolerance 1 mm (bisection and
    round-off are < 1e-5 m), except for a site exactly on the ellipsoid: there the
    chord grazes at the site itself, a target 1 cm beyond the horizon dips the chord
    by ~1e-9 m, the round-off of the height, so the switch moves by centimetres
    (tolerance 0.1 m)."""
    exact = math.sqrt((WGS84_A_M + h1) ** 2 - WGS84_A_M**2) + math.sqrt(
        (WGS84_A_M + h2) ** 2 - WGS84_A_M**2
    )
    tol = 0.1 if h1 == 0.0 else 1e-3
    assert _switch_over_chord_m(h1, h2, 1.0) == pytest.approx(exact, abs=tol)


def _circular_ray_chord_m(h1: float, h2: float, k: float) -> float:
    """Chord between the two points at heights h1, h2 of a circular ray of curvature κ
    that grazes the circle of radius a (the exact geometry the model approximates)."""
    rho = 1.0 / _kappa(k)
    c = WGS84_A_M - rho  # centre of the ray circle, on the grazing point's radius

    def psi(h):  # angle at the ray's centre from the grazing point to height h
        return math.acos(((WGS84_A_M + h) ** 2 - c * c - rho * rho) / (2 * c * rho))

    return 2.0 * rho * math.sin(0.5 * (psi(h1) + psi(h2)))


@pytest.mark.parametrize(("h1", "h2"), HEIGHT_PAIRS)
def test_refracted_switch_over_on_the_equator(h1, h2):
    d = _switch_over_chord_m(h1, h2, K43)
    # (1) against the exact circular ray: the model (parabolic sagitta added to the
    # chord's height) is exact to second order; measured 1e-8 to 3.5e-5 of d, the
    # largest for the 4,400 km path to a 1,000 km high target. Tolerance 5e-5 d.
    ray = _circular_ray_chord_m(h1, h2, K43)
    assert abs(d - ray) <= 5e-5 * d, f"{d - ray:.3f} m from the circular ray"
    # (2) against the classic formula with the equivalent effective radius
    # 1/R_eff = 1/a - κ (the equator's curvature is 1/a; κ uses the mean radius):
    # the formula drops the h² under the square roots and measures along tangents,
    # a relative error of ~h2/(4 R_eff): 1e-4 for 3 km up to 4e-2 for 1,000 km.
    r_eff = 1.0 / (1.0 / WGS84_A_M - _kappa(K43))
    classic = float(radar_horizon_range_m(h1, h2, r_eff / WGS84_A_M, WGS84_A_M))
    assert abs(d - classic) <= (5e-4 + h2 / (3.0 * r_eff)) * d, (d - classic) / d


def test_radar_horizon_rule_of_thumb():
    # Skolnik (Introduction to Radar Systems, 3rd ed., ch. 8): for k = 4/3,
    # d[km] ≈ 4.12 sqrt(h[m]) for one end at height h and the other on the surface.
    for h in (10.0, 100.0, 1_000.0):
        assert radar_horizon_range_m(h, 0.0) / 1e3 == pytest.approx(4.12 * math.sqrt(h), rel=1e-3)
    # k = 1 over the mean sphere: sqrt(2 R h)
    assert radar_horizon_range_m(100.0, 0.0, 1.0) == pytest.approx(
        math.sqrt(2 * WGS84_MEAN_RADIUS_M * 100.0), rel=1e-15
    )
    d = radar_horizon_range_m(np.array([0.0, 10.0, 100.0]), np.array([[0.0], [1e4]]))
    assert d.shape == (2, 3) and d[0, 0] == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(radar_horizon_range_m(-1.0, 0.0))


def test_horizon_elevation_agrees_with_line_of_sight():
    """From a site on the equator looking east (radius of curvature a), with k = 1 and
    R = a, a far target just above the predicted horizon elevation is visible and one
    just below is not."""
    for h_site in (10.0, 1_000.0, 30_000.0):
        el_h = float(horizon_elevation_rad(h_site, 1.0, WGS84_A_M))
        assert el_h == pytest.approx(-math.acos(WGS84_A_M / (WGS84_A_M + h_site)), abs=1e-12)
        for delta, expected in ((1e-6, True), (-1e-6, False)):
            target = aer_to_ecef(math.pi / 2, el_h + delta, 3e6, 0.0, 0.0, h_site)
            site = geodetic_to_ecef(0.0, 0.0, h_site)
            assert bool(line_of_sight(site, target, 1.0)) is expected
    assert horizon_elevation_rad(0.0) == 0.0
    assert np.all(horizon_elevation_rad(np.array([1.0, 10.0])) < 0)
    # refraction lowers the horizon less: |el(k=4/3)| < |el(k=1)|
    assert abs(horizon_elevation_rad(100.0)) < abs(horizon_elevation_rad(100.0, 1.0))


def _random_paths(n: int, seed: int, k: float):
    """Sites in north-east Asia at 0-3 km; targets 0.7-1.3 radar horizons away at 0-1,500 km,
    so that many paths are close to the horizon."""
    rng = np.random.default_rng(seed)
    lat = np.radians(rng.uniform(20, 60, n))
    lon = np.radians(rng.uniform(110, 150, n))
    h_site = rng.uniform(0, 3e3, n)
    h_site[: n // 5] = 0.0  # sites on the ellipsoid
    h_tgt = 10 ** rng.uniform(2, math.log10(1.5e6), n)
    rng_m = radar_horizon_range_m(h_site, h_tgt, k) * rng.uniform(0.7, 1.3, n)
    lat2, lon2, _ = geodesic_direct(lat, lon, rng.uniform(0, 2 * np.pi, n), rng_m)
    return geodetic_to_ecef(lat, lon, h_site), geodetic_to_ecef(lat2, lon2, h_tgt)


def _sampled_margin_m(a: np.ndarray, b: np.ndarray, k: float, clearance: np.ndarray):
    """Brute-force oracle: (margin, ambiguous) per path.

    The ray height g(t) = h(a + t (b - a)) + κ d² t (1 - t)/2 is sampled at 2,001
    points of t in [0, 1]. If its minimum is at an end, the ray rises from that end
    and nothing between the endpoints blocks it (margin +inf). Otherwise the minimum
    is refined on 201 points around the best sample (resolution 2.5e-6 of the path,
    ~1e-5 m error in g for 4,000 km paths) and margin = min g - clearance. Ambiguous
    (endpoint grazing): an interior minimum within 1e-4 of an end, or a minimum at an
    end that is itself within 1 cm of the clearance (a site on the ellipsoid whose
    chord may dip by nanometres between two samples).
    """
    d = np.linalg.norm(b - a, axis=-1)
    kappa = _kappa(k)

    def g(t):  # t: (n, m)
        p = a[:, None, :] + t[..., None] * (b - a)[:, None, :]
        return geodetic_altitude_m(p) + 0.5 * kappa * (d[:, None] ** 2) * t * (1 - t)

    t = np.broadcast_to(np.linspace(0, 1, 2001), (len(a), 2001))
    i = np.argmin(g(t), axis=1)
    at_end = (i == 0) | (i == 2000)
    centre = t[np.arange(len(a)), i]
    fine = np.clip(centre[:, None] + np.linspace(-5e-4, 5e-4, 201), 0.0, 1.0)
    gf = g(fine)
    j = np.argmin(gf, axis=1)
    t_min = fine[np.arange(len(a)), j]
    g_min = gf[np.arange(len(a)), j]
    margin = np.where(at_end, np.inf, g_min - clearance)
    ambiguous = np.where(
        at_end, np.abs(g_min - clearance) < 0.01, (t_min < 1e-4) | (t_min > 1 - 1e-4)
    )
    return margin, ambiguous


@pytest.mark.parametrize("k", [1.0, K43])
def test_agrees_with_brute_force_sampled_path(k):
    """k = 1: exact ellipsoid and chord, so only cases within 1 cm of the clearance
    (well above the sampling error, 1e-5 m) are excluded. k = 4/3: the placement of
    t* adds a second-order error, measured below 2 mm; cases within 1 cm are
    excluded too. Ambiguous endpoint-grazing
    cases are excluded too. At least 90 % of the cases must remain, and some must lie
    within 200 m of the boundary (20 or more)."""
    a, b = _random_paths(400, seed=17 if k == 1.0 else 18, k=k)
    clearance = np.where(np.arange(len(a)) % 2 == 0, 0.0, 500.0)
    margin, ambiguous = _sampled_margin_m(a, b, k, clearance)
    band = 0.01
    decided = (np.abs(margin) > band) & ~ambiguous
    assert decided.mean() > 0.9
    assert np.sum(decided & (np.abs(margin) < 200.0)) >= 20
    ours = line_of_sight(a, b, k, clearance)
    expected = margin > 0
    wrong = decided & (ours != expected)
    assert not wrong.any(), f"disagree at margins {margin[wrong]} m"
    # both visible and blocked cases are exercised
    assert 0.2 < expected.mean() < 0.8


def test_straight_line_exact_when_grazing_at_a_given_clearance():
    """Two points at 100 km on the equator whose chord grazes the circle a + 10 km:
    clearance 9,999 m -> visible, 10,001 m -> blocked (k = 1)."""
    half = math.acos((WGS84_A_M + 10e3) / (WGS84_A_M + 100e3))
    a = geodetic_to_ecef(0.0, -half, 100e3)
    b = geodetic_to_ecef(0.0, half, 100e3)
    assert line_of_sight(a, b, 1.0, 9_999.0)
    assert not line_of_sight(a, b, 1.0, 10_001.0)
    assert line_of_sight(a, b, 1.0, np.array([9_999.0, 10_001.0])).tolist() == [True, False]


def test_endpoint_semantics_nan_and_coincident_points():
    site = geodetic_to_ecef(0.6, 2.2, 0.0)
    below = geodetic_to_ecef(0.6, 2.2, -1e-9)  # round-off below the surface
    overhead = geodetic_to_ecef(0.6, 2.2, 50e3)
    beyond = geodetic_to_ecef(0.6, 2.5, 1e3)  # ~1,700 km away, low: below the horizon
    assert line_of_sight(site, overhead)
    assert line_of_sight(below, overhead)
    assert not line_of_sight(site, beyond)
    assert line_of_sight(site, site)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = line_of_sight(site, np.array([[np.nan, 0, 0], overhead, [0, np.inf, 0]]))
    assert out.tolist() == [False, True, False]


def test_paths_through_the_earth_are_blocked_for_any_k():
    """Robustness of the minimum search: sites on one side, targets roughly opposite
    (chords through the Earth's interior) are never visible, whatever k."""
    rng = np.random.default_rng(21)
    n = 20_000
    a = geodetic_to_ecef(
        np.arcsin(rng.uniform(-1, 1, n)), rng.uniform(-np.pi, np.pi, n), rng.uniform(0, 3e4, n)
    )
    b = -a * rng.uniform(0.9, 1.5, (n, 1)) + rng.normal(0, 5e5, (n, 3))
    for k in (0.5, 0.8, 1.0, K43, 2.0, 4.0, 10.0):
        assert not line_of_sight(a, b, k).any(), k


def test_more_refraction_never_hides_a_target():
    """g(t) grows with k at every t, so visibility is monotone in k."""
    a, b = _random_paths(2_000, seed=9, k=K43)
    v1, v43, v2 = (line_of_sight(a, b, k) for k in (1.0, K43, 2.0))
    assert np.all(v43 >= v1) and np.all(v2 >= v43)
    assert v43.sum() > v1.sum()  # and it does reveal some


def test_symmetric_in_its_endpoints():
    a, b = _random_paths(300, seed=4, k=K43)
    for k in (1.0, K43):
        np.testing.assert_array_equal(line_of_sight(a, b, k), line_of_sight(b, a, k))


def test_shapes_and_broadcast():
    site = geodetic_to_ecef(0.65, 2.2, 50.0)
    a, b = _random_paths(30, seed=5, k=K43)
    out = line_of_sight(site, b)
    assert out.shape == (30,) and out.dtype == bool
    assert isinstance(line_of_sight(site, b[0]), np.bool_)
    pair = line_of_sight(a[:6, None, :], b[None, :5, :])
    assert pair.shape == (6, 5)
    for i in range(6):
        for j in range(5):
            assert pair[i, j] == line_of_sight(a[i], b[j])
    # clearance broadcasting against the targets
    assert line_of_sight(site, b[:4], K43, np.array([0.0, 1e3, 1e4, 1e5])).shape == (4,)
    # long inputs run in blocks: same answers as short ones
    many = np.tile(b, (400, 1))  # 12,000 rows
    np.testing.assert_array_equal(line_of_sight(site, many), np.tile(out, 400))


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: line_of_sight(np.zeros(2), np.zeros(3)), "r_a_ecef_m"),
        (lambda: line_of_sight(np.zeros(3), np.zeros((4, 2))), "r_b_ecef_m"),
        (lambda: line_of_sight(np.zeros((2, 3)), np.zeros((3, 3))), "r_b_ecef_m"),
        (lambda: line_of_sight(np.zeros(3), np.zeros((4, 3)), K43, np.zeros(3)), "clearance_m"),
        (lambda: line_of_sight(np.zeros(3), np.ones(3), 0.0), "k_factor"),
        (lambda: line_of_sight(np.zeros(3), np.ones(3), -4 / 3), "k_factor"),
        (lambda: line_of_sight(np.zeros(3), np.ones(3), math.inf), "k_factor"),
        (lambda: line_of_sight(np.zeros(3), np.ones(3), "4/3"), "k_factor"),
        (lambda: radar_horizon_range_m(np.zeros(2), np.zeros(3)), "h_target_m"),
        (lambda: horizon_elevation_rad(10.0, math.nan), "k_factor"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
