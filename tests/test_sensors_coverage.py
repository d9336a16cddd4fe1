"""trilink.sensors.coverage: footprints of a radar's coverage, and the coverage map.

Oracle: a stand-in radar (full circle, slant-range limit R, geometric minimum
elevation e, refracted line of sight with k = 4/3) whose footprint edge at
target height H has a closed form on the sphere that osculates the WGS-84
ellipsoid at the site in the ray's azimuth (Euler: 1/R_α = cos²α/M + sin²α/N),
with r1 = R_α + h_site and r2 = R_α + H:

* range:     cos θ = (r1² + r2² - R²) / (2 r1 r2)
* elevation: θ = acos(r1 cos e / r2) - e
* horizon:   θ = acos(Re/(Re + h_site)) + acos(Re/(Re + H)) on the effective sphere
  Re = 1/(1/R_α - κ), κ = (1 - 1/k)/R_mean (the ray curvature of trilink.geo.los);

ground distance R_α θ (Re θ for the horizon). The footprint is bisected to
1 m; what remains is the ellipsoid's curvature changing along a path of up to
~1,400 km, < 0.07 % here, so the tolerance is 0.1 % of the radius (1.4 km at
1,400 km; a k = 1 horizon would be 13 % short, a slant-for-ground mix-up ≥ 0.4 %).
The classic sqrt(2kR h1) + sqrt(2kR h2) (Skolnik 2001, ch. 8) is checked to 1 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from matplotlib.collections import LineCollection

from trilink.geo import (
    ecef_to_aer,
    geodesic_direct,
    geodetic_to_ecef,
    line_of_sight,
    radar_horizon_range_m,
)
from trilink.geo.constants import WGS84_A_M, WGS84_E2, WGS84_MEAN_RADIUS_M
from trilink.sensors.coverage import (
    COASTLINE_GID,
    coastline_segments,
    coverage_figure,
    coverage_footprint,
    plot_coverage,
)

K43 = 4.0 / 3.0
SEONGJU = (math.radians(36.05), math.radians(128.22), 680.0)  # public_reference.md §3 (THAAD)


@dataclass(frozen=True)
class StandInRadar:
    """Full-circle radar: slant range <= R, elevation >= e, refracted line of sight."""

    sensor_id: str
    lat_rad: float
    lon_rad: float
    alt_m: float
    max_range_m: float
    min_elevation_rad: float
    az_limits_rad: tuple[float, float] | None = None  # clockwise sector (start, end)
    max_elevation_rad: float = math.pi / 2

    def covers(self, r_ecef_m: np.ndarray) -> np.ndarray:
        r = np.asarray(r_ecef_m, dtype=float).reshape(-1, 3)
        az, el, rng = ecef_to_aer(r, self.lat_rad, self.lon_rad, self.alt_m)
        site = geodetic_to_ecef(self.lat_rad, self.lon_rad, self.alt_m)
        ok = (rng <= self.max_range_m) & (el >= self.min_elevation_rad)
        ok &= el <= self.max_elevation_rad
        if self.az_limits_rad is not None:
            a0, a1 = self.az_limits_rad
            ok &= np.mod(az - a0, 2 * math.pi) <= np.mod(a1 - a0, 2 * math.pi)
        return ok & np.asarray(line_of_sight(site, r, k_factor=K43), dtype=bool)


def _radar(max_range_m: float, min_el_deg: float, **kw) -> StandInRadar:
    lat, lon, alt = SEONGJU
    return StandInRadar(
        sensor_id="STAND-IN",
        lat_rad=lat,
        lon_rad=lon,
        alt_m=alt,
        max_range_m=max_range_m,
        min_elevation_rad=math.radians(min_el_deg),
        **kw,
    )


def _analytic_radius_m(radar: StandInRadar, h_m: float, az: np.ndarray) -> np.ndarray:
    s2 = math.sin(radar.lat_rad) ** 2
    m = WGS84_A_M * (1 - WGS84_E2) / (1 - WGS84_E2 * s2) ** 1.5
    n = WGS84_A_M / math.sqrt(1 - WGS84_E2 * s2)
    r_a = 1.0 / (np.cos(az) ** 2 / m + np.sin(az) ** 2 / n)
    r1, r2 = r_a + radar.alt_m, r_a + h_m
    cos_r = (r1**2 + r2**2 - radar.max_range_m**2) / (2 * r1 * r2)
    d_range = r_a * np.arccos(np.clip(cos_r, -1.0, 1.0))
    e = radar.min_elevation_rad
    d_elev = r_a * (np.arccos(r1 * math.cos(e) / r2) - e)
    r_e = 1.0 / (1.0 / r_a - (1.0 - 1.0 / K43) / WGS84_MEAN_RADIUS_M)
    d_horizon = r_e * (np.arccos(r_e / (r_e + radar.alt_m)) + np.arccos(r_e / (r_e + h_m)))
    return np.minimum(np.minimum(d_range, d_elev), d_horizon)


@pytest.mark.parametrize(
    ("max_range_km", "min_el_deg", "h_km", "limit"),
    [
        (5000.0, -10.0, 10.0, "horizon"),
        (5000.0, -10.0, 30.0, "horizon"),
        (5000.0, -10.0, 100.0, "horizon"),
        (800.0, 0.0, 300.0, "range"),
        (3000.0, 0.0, 1000.0, "range"),
        (5000.0, 5.0, 100.0, "elevation"),
    ],
)
def test_footprint_matches_the_analytic_circle(max_range_km, min_el_deg, h_km, limit):
    radar = _radar(max_range_km * 1e3, min_el_deg)
    fp = coverage_footprint(radar, h_km * 1e3, n_azimuth=72, n_range=200)
    expected = _analytic_radius_m(radar, h_km * 1e3, fp.azimuth_rad)
    err = fp.outer_range_m - expected
    worst = float(np.max(np.abs(err) / expected))
    assert worst <= 1e-3, f"{limit}-limited: worst {worst:.2e} ({np.max(np.abs(err)):.0f} m)"
    # One closed ring around the site (no hole: the zenith is covered).
    assert len(fp.rings) == 1
    np.testing.assert_array_equal(fp.rings[0][0], fp.rings[0][-1])
    if limit == "horizon":
        classic = float(radar_horizon_range_m(radar.alt_m, h_km * 1e3))
        np.testing.assert_allclose(fp.outer_range_m, classic, rtol=1e-2)


def test_a_maximum_elevation_leaves_a_hole_over_the_site():
    # Elevation <= 60°: an annulus. Inner edge: θ = acos(r1 cos e / r2) - e with
    # e = 60° (same osculating sphere and 0.1 % tolerance as above).
    radar = _radar(1500e3, 0.0, max_elevation_rad=math.radians(60.0))
    h = 200e3
    fp = coverage_footprint(radar, h, n_azimuth=72, n_range=200)
    assert len(fp.rings) == 2
    inner = min(fp.ring_ranges_m(), key=lambda ad: float(np.mean(ad[1])))
    s2 = math.sin(radar.lat_rad) ** 2
    m = WGS84_A_M * (1 - WGS84_E2) / (1 - WGS84_E2 * s2) ** 1.5
    n = WGS84_A_M / math.sqrt(1 - WGS84_E2 * s2)
    r_a = 1.0 / (np.cos(inner[0]) ** 2 / m + np.sin(inner[0]) ** 2 / n)
    e = math.radians(60.0)
    expected = r_a * (np.arccos((r_a + radar.alt_m) * math.cos(e) / (r_a + h)) - e)
    np.testing.assert_allclose(inner[1], expected, rtol=1e-3)
    np.testing.assert_allclose(
        fp.outer_range_m, _analytic_radius_m(radar, h, fp.azimuth_rad), rtol=1e-3
    )
    assert not fp.covered[:, 0].any()  # not over the site itself


def test_ring_vertices_sit_on_the_coverage_edge():
    # Every boundary vertex: 50 m towards the site is covered, 50 m beyond is not.
    radar = _radar(5000e3, -10.0)
    h = 30e3
    fp = coverage_footprint(radar, h, n_azimuth=90, n_range=150)
    (az, dist) = fp.ring_ranges_m()[0]
    lat_in, lon_in, _ = geodesic_direct(radar.lat_rad, radar.lon_rad, az, dist - 50.0)
    lat_out, lon_out, _ = geodesic_direct(radar.lat_rad, radar.lon_rad, az, dist + 50.0)
    assert np.all(radar.covers(geodetic_to_ecef(lat_in, lon_in, h)))
    assert not np.any(radar.covers(geodetic_to_ecef(lat_out, lon_out, h)))


def test_sector_radar_footprint_stays_in_its_sector():
    # A 30°-120° sector: the ring runs out along the sector edges and back through
    # the site; every vertex away from the site lies inside the sector (to 0.01°).
    a0, a1 = math.radians(30.0), math.radians(120.0)
    radar = _radar(1500e3, 0.0, az_limits_rad=(a0, a1))
    fp = coverage_footprint(radar, 200e3, n_azimuth=180, n_range=150)
    assert len(fp.rings) == 1
    az, dist = fp.ring_ranges_m()[0]
    away = dist > 1e3
    az_deg = np.degrees(az[away]) % 360.0
    assert np.all((az_deg >= 30.0 - 0.01) & (az_deg <= 120.0 + 0.01))
    assert np.min(dist) < 10e3  # passes (next to) the site
    outside = (np.degrees(fp.azimuth_rad) < 29.0) | (np.degrees(fp.azimuth_rad) > 121.0)
    assert np.all(np.isnan(fp.outer_range_m[outside]))


def test_objects_with_in_coverage_only_are_accepted():
    @dataclass(frozen=True)
    class OldStyle:
        inner: StandInRadar

        @property
        def sensor_id(self) -> str:
            return "OLD"

        lat_rad = property(lambda self: self.inner.lat_rad)
        lon_rad = property(lambda self: self.inner.lon_rad)
        alt_m = property(lambda self: self.inner.alt_m)

        def in_coverage(self, r):
            return self.inner.covers(r)

    radar = _radar(600e3, 5.0)
    a = coverage_footprint(radar, 100e3, n_azimuth=36, n_range=100)
    b = coverage_footprint(OldStyle(radar), 100e3, n_azimuth=36, n_range=100)
    np.testing.assert_array_equal(a.outer_range_m, b.outer_range_m)


def test_bad_arguments():
    with pytest.raises(TypeError, match="covers"):
        coverage_footprint(object(), 1e4)
    with pytest.raises(ValueError, match="altitude_m"):
        coverage_footprint(_radar(600e3, 5.0), math.nan)
    with pytest.raises(ValueError, match="n_azimuth"):
        coverage_footprint(_radar(600e3, 5.0), 1e4, n_azimuth=4)


def test_coastlines_are_gshhg_around_korea():
    segs = coastline_segments((124.0, 131.0), (33.0, 39.0), "l")
    assert len(segs) > 20
    pts = np.concatenate(segs)
    # Busan's coast (35.1° N, 129.0° E) is within 5 km (0.05°) of a shoreline vertex.
    d = np.hypot(pts[:, 0] - 129.04, pts[:, 1] - 35.10)
    assert d.min() < 0.05


def test_plot_coverage_writes_a_map_with_coastlines(tmp_path):
    radar = _radar(600e3, 5.0)
    fp = coverage_footprint(radar, 100e3, n_azimuth=90, n_range=120)
    fig = coverage_figure(radar, 100e3, footprints=[fp])
    ax = fig.axes[0]
    coast = [c for c in ax.collections if c.get_gid() == COASTLINE_GID]
    assert len(coast) == 1 and isinstance(coast[0], LineCollection)
    segs = coast[0].get_segments()
    assert len(segs) > 20
    lo, hi = ax.get_xlim()
    assert any(np.any((s[:, 0] > lo) & (s[:, 0] < hi)) for s in segs)
    assert "STAND-IN" in ax.get_title() and "100 km" in ax.get_title()
    assert "Longitude" in ax.get_xlabel() and "Latitude" in ax.get_ylabel()
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert "DPRK launch sites" in labels and "STAND-IN coverage" in labels

    png = plot_coverage(radar, 100e3, tmp_path / "coverage.png", footprints=[fp], dpi=60)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000
