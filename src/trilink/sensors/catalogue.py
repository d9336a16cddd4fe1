"""The sensor catalogue: Japanese, Korean and US radars watching North Korea, from public sources.

Every entry names its sources; what is not published is an **assumption** and
says so. Site coordinates are approximate (±~5 km where a source gives them,
more where we placed them ourselves); ship positions are patrol stations we
chose. Sources are those of ``shared/data/public_reference.md`` §3 (cited by
their short names there) and:

* IMIDAS (Shueisha) keyword "ガメラレーダー": J/FPS-5 "detection range reaches
  several thousand km", antenna up to ~18 m, ~30 m tall
  (imidas.jp/hotkeyword/detail/C-00-404-09-04-H016.html).
* Lewis & Postol, "Radar range calculations for the AN/TPY-2 X-band and NAS
  proposed GBX radars", mostlymissiledefense.com, 2012-09-21: NAS (2012)
  fig. 5-8 shows ≈1,500 km for TPY-2 (they argue it is smaller).
* Army Radio via Dawn (2008-11-22) and Israelnetz (2008): TPY-2 (FBM)
  "more than 2,000 km" / "about 1,900 km".

Operating points. Public figures are single "ranges" with no target size or
detection probability. We read a published range R_pub as the range at which
a stated reference target (``rcs_ref_m2``: 0.1 m², i.e. warhead class, unless
noted) is detected on a single scan with probability 0.5 (Swerling 1 at the
radar's Pfa): ``snr_ref = ln(Pfa)/ln(0.5) - 1`` at ``range_ref = R_pub``
(**assumption**, the same rule for every radar). The instrumented range (range
gate) is the published range unless noted.

Beamwidths, resolutions, Pfa and noise floors are **estimates**: beamwidth
≈ λ/D from the published band and aperture where known; Pfa chosen so that each
radar raises a fraction of a false alarm per scan; range resolution of a
search waveform. Revisit periods are assumptions (1 s: a track-while-scan
update for the phased arrays; 10 s: one turn of a rotating antenna).

Pointing. Fixed faces are modelled as azimuth/elevation boxes (zero tilt), as
KeepTrack's public sensor list does; faces of radars whose sector is not
published point at the Pyongyang area (bearing rounded to 1°; **assumption**).
Minimum elevations of hill and mountain sites are set at or below the horizon
dip (-1°), so that the Earth and refraction, not the limit, decide when a low
target is seen.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from trilink.sensors.radar import Face, Nation, Radar, RotatingFace, rad, snr_for_pd

__all__ = ["SENSORS", "SensorEntry", "all_sensors", "get_sensor", "sensor_keys"]

_PD_AT_PUBLISHED_RANGE = 0.5
"""Single-scan detection probability read into a published range (module docstring)."""


@dataclass(frozen=True, kw_only=True)
class SensorEntry:
    """One catalogue radar with the description of its site and the basis of its values."""

    radar: Radar
    site: str
    basis: str
    """Sources and assumptions, one paragraph."""

    @property
    def key(self) -> str:
        return self.radar.sensor_id


def _op(range_km: float, pfa: float, rcs_m2: float = 0.1) -> dict[str, float]:
    """Operating point: ``rcs_m2`` detected with Pd 0.5 per scan at ``range_km``."""
    snr = snr_for_pd(_PD_AT_PUBLISHED_RANGE, pfa)
    return {
        "snr_ref_db": 10.0 * math.log10(snr),
        "rcs_ref_m2": rcs_m2,
        "range_ref_m": range_km * 1e3,
        "pfa": pfa,
    }


def _box(center_az_deg: float, half_az_deg: float = 60.0) -> tuple[Face, ...]:
    """One zero-tilt face: azimuth ``center ± half``, elevations -90..90 (limits clip it)."""
    return (
        Face(
            boresight_az_rad=rad(center_az_deg),
            boresight_el_rad=0.0,
            half_fov_az_rad=rad(half_az_deg),
            half_fov_el_rad=rad(90.0),
        ),
    )


def _radar(
    key: str, nation: Nation, lat_deg: float, lon_deg: float, alt_m: float, **kw: object
) -> Radar:
    return Radar(
        sensor_id=key,
        nation=nation,
        lat_rad=rad(lat_deg),
        lon_rad=rad(lon_deg),
        alt_m=alt_m,
        **kw,  # type: ignore[arg-type]
    )


# ----------------------------------------------------------------------------------
# Radar types (hardware), then sites
# ----------------------------------------------------------------------------------
# J/FPS-5: main BMD face ~18 m (IMIDAS; Minami-Nippon via public_reference §3); band not
# published (L-band speculated, unverified): λ ≈ 0.23 m / 18 m -> ~0.7° beam (estimate).
# "Several thousand km" (IMIDAS) -> 3,000 km for a 1 m² target (assumption: a popular
# figure is more likely quoted for a large object than for a warhead).
_FPS5 = {
    "instrumented_range_m": 3_000e3,
    "min_elevation_rad": rad(-1.0),
    "revisit_s": 1.0,
    **_op(3_000.0, pfa=1e-9, rcs_m2=1.0),
    "beamwidth_az_rad": rad(0.7),
    "beamwidth_el_rad": rad(0.7),
    "range_resolution_m": 150.0,
    "range_rate_resolution_mps": 10.0,
    "sigma_range_floor_m": 5.0,
    "sigma_angle_floor_rad": 1e-4,
    "sigma_range_rate_floor_mps": 1.0,
}
_FPS5_BASIS = (
    "J/FPS-5 site: Asahi 2012, tabi-mag; coordinates from an open-source radar seed list "
    "(public_reference §3, ±~5 km); antenna height = approximate summit height (assumption). "
    "Range: IMIDAS 'several thousand km' -> 3,000 km for 1 m² (assumption). Band not "
    "published: beam 0.7° from ~18 m face at L-band (estimate). Main face pointed at the "
    "Pyongyang area, ±60° (assumption; the building can slew its faces)."
)

# J/FPS-3 upgraded (FPS-3 kai): site list from DefenseNews 2017 (public_reference §3);
# performance not published: an air-surveillance radar given BMD tracking. Modelled as one
# rotating face (assumption), 800 km for 1 m² (assumption), no Doppler output.
_FPS3 = {
    "faces": RotatingFace(boresight_el_rad=rad(20.0), half_fov_el_rad=rad(25.0)),
    "instrumented_range_m": 800e3,
    "min_elevation_rad": rad(-1.0),
    "revisit_s": 10.0,
    **_op(800.0, pfa=1e-8, rcs_m2=1.0),
    "beamwidth_az_rad": rad(1.5),
    "beamwidth_el_rad": rad(1.5),
    "range_resolution_m": 150.0,
    "range_rate_resolution_mps": None,
    "sigma_range_floor_m": 10.0,
    "sigma_angle_floor_rad": 3e-4,
}
_FPS3_BASIS = (
    "J/FPS-3 (upgraded) site named by DefenseNews 2017 (public_reference §3); position and "
    "height placed by us (approximate, ±10 km). Performance not published: rotating face, "
    "elevations -5..45°, 800 km for 1 m², 10 s per turn, no range rate (all assumptions)."
)

# AN/TPY-2: X-band (λ ≈ 0.03 m); beam ~0.6° (estimate: λ over a ~3 m aperture). FBM
# sector and 2,000 km from KeepTrack; NAS 2012 fig. 5-8 ≈1,500 km read as the 0.1 m²
# Pd-0.5 range (assumption; Lewis & Postol 2012 argue for less).
_TPY2 = {
    "instrumented_range_m": 2_000e3,
    "min_elevation_rad": 0.0,
    "revisit_s": 1.0,
    **_op(1_500.0, pfa=1e-10),
    "beamwidth_az_rad": rad(0.6),
    "beamwidth_el_rad": rad(0.6),
    "range_resolution_m": 30.0,
    "range_rate_resolution_mps": 1.0,
    "sigma_range_floor_m": 1.0,
    "sigma_angle_floor_rad": 5e-5,
    "sigma_range_rate_floor_mps": 0.1,
}

# EL/M-2080 Green Pine: band not stated in the sources found (widely described as L-band:
# our assumption); beam 1.5° x 3° (estimate for a ~9 m x 4 m L-band array).
_GREEN_PINE = {
    "min_elevation_rad": rad(-1.0),
    "revisit_s": 1.0,
    "beamwidth_az_rad": rad(1.5),
    "beamwidth_el_rad": rad(3.0),
    "range_resolution_m": 150.0,
    "range_rate_resolution_mps": 10.0,
    "sigma_range_floor_m": 5.0,
    "sigma_angle_floor_rad": 2e-4,
    "sigma_range_rate_floor_mps": 1.0,
}

# AN/SPY-1 (Aegis destroyers of both navies): S-band, four fixed faces of ~3.7 m (beam
# ~1.7°, estimate). BMD range not published: 1,000 km range gate, 0.1 m² at 600 km
# (assumptions). Antenna ~20 m above the sea; patrol stations are assumptions.
_SPY1_FACES = tuple(
    Face(
        boresight_az_rad=rad(az),
        boresight_el_rad=0.0,
        half_fov_az_rad=rad(45.0),
        half_fov_el_rad=rad(90.0),
    )
    for az in (45.0, 135.0, 225.0, 315.0)
)
_SPY1 = {
    "faces": _SPY1_FACES,
    "instrumented_range_m": 1_000e3,
    "min_elevation_rad": rad(-0.5),
    "revisit_s": 1.0,
    **_op(600.0, pfa=1e-9),
    "beamwidth_az_rad": rad(1.7),
    "beamwidth_el_rad": rad(1.7),
    "range_resolution_m": 30.0,
    "range_rate_resolution_mps": 3.0,
    "sigma_range_floor_m": 2.0,
    "sigma_angle_floor_rad": 2e-4,
    "sigma_range_rate_floor_mps": 0.3,
}
_SPY1_BASIS = (
    "Aegis destroyer (SPY-1) named as a BMD/KAMD sensor (public_reference §3). Patrol "
    "station chosen by us (assumption; stations are not published). Four faces, S-band "
    "beam 1.7° (estimate); 1,000 km gate and 0.1 m² at 600 km (assumptions)."
)


def _entries() -> dict[str, SensorEntry]:
    e: list[SensorEntry] = []

    def add(radar: Radar, site: str, basis: str) -> None:
        e.append(SensorEntry(radar=replace(radar, notes=basis), site=site, basis=basis))

    # --- Japan: J/FPS-5 (4 sites; public_reference §3 coordinates) -------------------
    for key, site, lat, lon, alt, az in (
        ("fps5-shimokoshiki", "ASDF Shimo-Koshiki Sub-Base, Kagoshima", 31.72, 129.75, 400.0, 337),
        ("fps5-sado", "ASDF Sado Sub-Base (Mt. Myoken), Niigata", 38.07, 138.42, 1_000.0, 279),
        ("fps5-ominato", "ASDF Ominato Sub-Base (Mt. Kamafuse), Aomori", 41.24, 141.13, 850.0, 264),
        ("fps5-yozadake", "ASDF Yozadake Sub-Base, Itoman, Okinawa", 26.12, 127.73, 170.0, 353),
    ):
        add(_radar(key, "JP", lat, lon, alt, faces=_box(az), **_FPS5), site, _FPS5_BASIS)

    # --- Japan: J/FPS-3 upgraded (DefenseNews 2017 sites; positions approximate) -------
    for key, site, lat, lon, alt in (
        (
            "fps3-kamo",
            "ASDF Kamo Sub-Base, Oga Peninsula, Akita (approximate)",
            39.95,
            139.72,
            200.0,
        ),
        ("fps3-unishima", "ASDF Unishima Sub-Base, Tsushima (approximate)", 34.66, 129.46, 250.0),
        ("fps3-fukue", "ASDF Fukuejima Sub-Base, Goto Islands (approximate)", 32.70, 128.70, 300.0),
    ):
        add(_radar(key, "JP", lat, lon, alt, **_FPS3), site, _FPS3_BASIS)

    # --- US: AN/TPY-2 forward-based (KeepTrack sectors and positions) -----------------
    add(
        _radar("tpy2-shariki", "US", 40.888, 140.338, 30.0, faces=_box(290.0), **_TPY2),
        "Shariki Communication Site, Tsugaru, Aomori",
        "AN/TPY-2 FBM: position, azimuth 230-350°, elevation 0-90° and 2,000 km from KeepTrack "
        "(public_reference §3; another list gives 40.988, 140.321: unresolved). 0.1 m² at "
        "1,500 km (NAS 2012 fig. 5-8 via Lewis & Postol 2012; assumption on the target). "
        "Antenna height 30 m (assumption).",
    )
    add(
        _radar("tpy2-kyogamisaki", "US", 35.767, 135.195, 100.0, faces=_box(270.0), **_TPY2),
        "Kyogamisaki Communication Site, Kyotango, Kyoto",
        "AN/TPY-2 FBM: position, azimuth 210-330° and 2,000 km from KeepTrack "
        "(public_reference §3; other list 35.770, 135.255). Sensitivity as tpy2-shariki. "
        "Antenna height 100 m (assumption).",
    )
    # THAAD's TPY-2 in terminal mode: the same hardware; the widely cited 600 km is its
    # range gate, and it operates above 5° elevation (MND via Shephard 2016).
    add(
        _radar(
            "thaad-seongju",
            "US",
            36.05,
            128.22,
            690.0,
            faces=_box(330.0),
            **{**_TPY2, "instrumented_range_m": 600e3, "min_elevation_rad": rad(5.0)},
        ),
        "THAAD battery, Soseong-ri, Seongju, N. Gyeongsang (ROK)",
        "THAAD AN/TPY-2 (terminal mode): site from DPRK-TV imagery via Sputnik Mundo 2017, "
        "680 m ASL (Yonhap 2017) + 10 m antenna; 'effective radar range 600 km' (Breitbart "
        "2018) as range gate; > 5° elevation (MND via Shephard 2016); launchers point north "
        "(NPR 2022): face at 330° ±60° (assumption). Sensitivity as the FBM TPY-2.",
    )

    # --- Korea: Green Pine (sites not published: assumptions) ---------------------------
    gp_b = {**_GREEN_PINE, "instrumented_range_m": 600e3, **_op(500.0, pfa=1e-8)}
    add(
        _radar("greenpine-b-chungbuk", "KR", 36.90, 127.60, 300.0, faces=_box(326.0), **gp_b),
        "North Chungcheong province (position is our assumption)",
        "EL/M-2080 Green Pine Block B: province from public_reference §3 (exact site not "
        "public: position and 300 m height assumed). '> 500 km' (Yonhap 2016) read as 0.1 m² "
        "at 500 km; range gate 600 km ('other reports ~600 km'). Pointed at the Pyongyang "
        "area ±60° (assumption).",
    )
    add(
        _radar("greenpine-b-chungnam", "KR", 36.50, 126.80, 300.0, faces=_box(342.0), **gp_b),
        "South Chungcheong province (position is our assumption)",
        "EL/M-2080 Green Pine Block B: as greenpine-b-chungbuk, in South Chungcheong "
        "(position and height assumed).",
    )
    gp_c = {**_GREEN_PINE, "instrumented_range_m": 800e3, **_op(800.0, pfa=1e-8)}
    add(
        _radar("greenpine-c-busan", "KR", 35.20, 129.08, 400.0, faces=_box(326.0), **gp_c),
        "Busan (position is our assumption)",
        "EL/M-2080 Green Pine Block C, full operation Oct 2022, '~800 km' (Yonhap "
        "2022-10-19) read as 0.1 m² at 800 km and the range gate. Site in Busan not "
        "published: position and 400 m height assumed. Pointed at the Pyongyang area ±60°.",
    )

    # --- Aegis destroyers (patrol stations: assumptions) -----------------------------
    add(
        _radar("aegis-jp-akita", "JP", 40.00, 138.50, 20.0, **_SPY1),
        "JMSDF Aegis destroyer, Sea of Japan off Akita (assumed station)",
        _SPY1_BASIS + " JMSDF: 'Sea of Japan' stations from Maizuru (VOV/Japan Times 2012).",
    )
    add(
        _radar("aegis-jp-noto", "JP", 38.00, 136.00, 20.0, **_SPY1),
        "JMSDF Aegis destroyer, Sea of Japan north-west of the Noto Peninsula (assumed)",
        _SPY1_BASIS + " JMSDF: 'Sea of Japan' stations from Maizuru (VOV/Japan Times 2012).",
    )
    add(
        _radar("aegis-kr-gangneung", "KR", 37.90, 129.30, 20.0, **_SPY1),
        "ROKN Aegis destroyer, East Sea off Gangneung (assumed station)",
        _SPY1_BASIS + " ROKN: named with Green Pine as KAMD sensors (Yonhap 2022).",
    )

    # Each radar its own scan phase: spread over the revisit period in catalogue order.
    out: dict[str, SensorEntry] = {}
    for i, entry in enumerate(e):
        r = entry.radar
        offset = r.revisit_s * ((i * 0.618034) % 1.0)  # golden-ratio spread
        out[r.sensor_id] = replace(entry, radar=replace(r, scan_offset_s=round(offset, 3)))
    return out


SENSORS: Mapping[str, SensorEntry] = MappingProxyType(_entries())
"""The catalogue: key -> :class:`SensorEntry` (keys are the radars' sensor ids)."""


def sensor_keys() -> tuple[str, ...]:
    """Catalogue keys, in catalogue order."""
    return tuple(SENSORS)


def get_sensor(key: str) -> Radar:
    """The catalogue radar ``key``; ValueError listing the known keys otherwise."""
    try:
        return SENSORS[key].radar
    except KeyError:
        raise ValueError(f"unknown catalogue sensor {key!r}; known: {', '.join(SENSORS)}") from None


def all_sensors() -> tuple[Radar, ...]:
    """Every catalogue radar, in catalogue order."""
    return tuple(e.radar for e in SENSORS.values())
