"""North Korean launch sites (public, approximate coordinates).

Coordinates are the James Martin CNS "North Korea Missile Test Database"
geolocations as republished in the open dataset nagix/nk-missile-tests
(`data/facility.en.json`, Apache-2.0), collected in the project's
`shared/data/public_reference.md` §4. They are approximate (±~5 km).
Heights are set to 0 m above the WGS-84 ellipsoid (not published; the sites are
low-lying and a few tens of metres change nothing downstream).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class LaunchSite:
    """A named launch site."""

    key: str
    name: str
    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0
    used_for: str = ""

    @property
    def lat_rad(self) -> float:
        return math.radians(self.lat_deg)

    @property
    def lon_rad(self) -> float:
        return math.radians(self.lon_deg)


_SOURCE = "CNS via nagix/nk-missile-tests facility.en.json (public_reference.md §4)"

_ROWS: tuple[tuple[str, str, float, float, str], ...] = (
    (
        "sunan",
        "Pyongyang Intl Airport (Sunan)",
        39.200,
        125.673,
        "Hwasong-12 2017-08-29/09-15; ICBMs 2022-03-24, 2022-11-18",
    ),
    (
        "sunan-launch-area",
        "Sunan (launch area)",
        39.203,
        125.709,
        "2022-10-14 SRBM; 2022-11-03 ICBM",
    ),
    ("west-sunan", "West Sunan", 39.394, 125.677, "2022-10-01 SRBMs"),
    (
        "samsok",
        "Samsok missile test site",
        39.112,
        125.998,
        "Hwasong-18 2023-04-13 & 07-12; Hwasong-19 2024-10-31",
    ),
    ("samsok-2", "Samsok test site #2", 39.127, 125.965, "Hwasong-18 2023-12-18"),
    ("east-pyongyang", "East Pyongyang", 39.191, 125.957, "Hypersonic IRBM 2025-01-06"),
    ("pyongsong", "Pyongsong", 39.282, 125.869, "Hwasong-15 2017-11-29"),
    (
        "sohae",
        "Sohae Satellite Launching Station (Tongchang-ri)",
        39.660,
        124.706,
        "SLV launches; ER-Scud salvo 2017-03-06",
    ),
    (
        "tonghae",
        "Tonghae Satellite Launching Ground (Musudan-ri)",
        40.850,
        129.667,
        "historic Nodong/Taepodong tests",
    ),
    ("sinpo", "Sinpo shipyard", 40.037, 128.184, "SLBM 2021-10-19"),
    ("wonsan-kalma", "Wonsan Kalma Intl Airport", 39.168, 127.482, "SRBM / KN-25 tests"),
    ("south-wonsan", "South Wonsan", 39.149, 127.611, "2025-05-08 SRBM salvo"),
    ("hodo", "Hodo Peninsula (Wonsan)", 39.402, 127.537, "KN-23 2019-05-04, 2019-07-25"),
    (
        "mupyong-ri",
        "Mupyong-ri arms plant, Jagang",
        40.611,
        126.426,
        "Hwasong-14 2017-07-28; IRBM over Japan 2022-10-04",
    ),
    ("kusong", "Kusong testing ground", 40.013, 125.223, "Pukguksong-2 2017-02-12"),
    (
        "north-kusong",
        "North Kusong testing ground",
        40.066,
        125.210,
        "Hwasong-12 2017-05-14 (CNS placement)",
    ),
    (
        "panghyon",
        "Panghyon airbase (Kusong)",
        39.927,
        125.208,
        "Hwasong-14 2017-07-04; Hwasong-12 2017-05-14 (KCNA naming)",
    ),
    ("baegun", "Baegun (Kusong area)", 40.030, 125.227, "KN-23 2019-05-09"),
    ("jangyon", "Jangyon, S. Hwanghae", 38.275, 125.071, "KN-23 family 2023-03-14, 2024-07-01"),
    ("sukchon", "Sukchon", 39.420, 125.630, "2022-11-09, 2023-02-20 launches"),
    ("chunghwa", "Chunghwa", 38.875, 125.926, "KN-23 2023-03-27"),
    ("taechon", "Taechon reservoir", 39.986, 125.519, "2022-09-25 'reservoir silo' SRBM"),
    ("kaechon", "Kaechon airbase", 39.752, 125.900, "KN-25 2019"),
    ("uiju", "Uiju", 40.026, 124.578, "rail-mobile KN-23 2022-01-14"),
    ("yangdok", "Yangdok", 39.276, 126.805, "rail-mobile KN-23 2021-09-15"),
    ("sondok", "Sondok airbase (Hamju)", 39.744, 127.473, "improved KN-23 2021-03-25"),
    ("yonpo", "Yonpo airport", 39.789, 127.540, "KN-25 2019-11-28"),
    ("pukchang", "Pukchang airfield", 39.504, 125.964, "Hwasong-12 failure 2017-04-29"),
    ("lake-yonpung", "Lake Yonpung", 39.618, 125.804, "Pukguksong-2 2017-05-21"),
    ("kwail", "Kwail airbase", 38.422, 125.024, "KN-23 2019-08-06"),
    ("tongchon", "Tongchon", 38.954, 127.892, "KN-24 2019-08-16"),
    ("hungnam", "Hungnam", 39.812, 127.664, "KN-24 2019-08-10"),
    ("kanggye", "Kanggye", 40.968, 126.599, "2025-01-14 SRBMs"),
    ("koksan", "Koksan", 38.780, 126.670, "2022-11-03 evening SRBMs"),
    ("kittaeryong", "Kittaeryong missile base", 38.991, 127.624, "Scud variants 2017-08-26"),
)

SITES: dict[str, LaunchSite] = {
    key: LaunchSite(key=key, name=name, lat_deg=lat, lon_deg=lon, used_for=used)
    for key, name, lat, lon, used in _ROWS
}
"""Launch sites by command-line key. Source of every row: :data:`_SOURCE`."""

SOURCE = _SOURCE


def get_site(key: str) -> LaunchSite:
    """The site named ``key`` (case-insensitive), or a ``KeyError`` listing the known ones."""
    k = key.strip().lower()
    if k not in SITES:
        raise KeyError(f"unknown launch site {key!r}; known: {', '.join(sorted(SITES))}")
    return SITES[k]
