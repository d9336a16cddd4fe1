"""The catalogue against the published range statements and basic physics."""

from __future__ import annotations

import math

import pytest

from trilink.geo.constants import STANDARD_GRAVITY_MPS2
from trilink.threats import MISSILES, fly, get_missile, get_site, minimum_energy_steering
from trilink.threats.loft import LaunchGeometry

# Minimum-energy maximum range from Sunan towards North America (azimuth 45°).
# Bands from public statements (shared/data/public_reference.md §1.2, §5;
# docs/sources/missiles.md):
PUBLISHED_MAX_RANGE_KM = {
    # ROK MND (2017): "more than 13,000 km"; Japan MoD (2023-02-18): "about 14,000 km"
    # if flown on a normal trajectory. Upper edge: MoD's 14,000 km + 5 % for its rounding.
    "hwasong-15": (13_000.0, 14_700.0),
    # Japan MoD (2022-11-18, Hamada): "exceeding 15,000 km depending on the warhead".
    # No upper figure is published; 17,000 km is our sanity bound.
    "hwasong-17": (15_000.0, 17_000.0),
}


def _max_range_km(key: str) -> float:
    s = get_site("sunan")
    geo = LaunchGeometry(
        missile=get_missile(key),
        lat_rad=s.lat_rad,
        lon_rad=s.lon_rad,
        azimuth_rad=math.radians(45.0),
    )
    f = fly(geo.launch(minimum_energy_steering(geo)), record=False, objects=False)
    return f.range_m / 1e3


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(PUBLISHED_MAX_RANGE_KM))
def test_minimum_energy_range_inside_published_estimates(key: str) -> None:
    lo, hi = PUBLISHED_MAX_RANGE_KM[key]
    r = _max_range_km(key)
    assert lo <= r <= hi, f"{key}: minimum-energy range {r:,.0f} km outside [{lo:,.0f}, {hi:,.0f}]"


@pytest.mark.slow
def test_hwasong12_reaches_its_longest_flight() -> None:
    # It flew ~4,600 km on 2022-10-04 (Japan MoD): the maximum must exceed that.
    assert _max_range_km("hwasong-12") > 4_600.0


def test_required_missiles_are_in_the_catalogue() -> None:
    for key in (
        "kn-23",
        "hwasong-12",
        "hwasong-14",
        "hwasong-15",
        "hwasong-17",
        "hwasong-18",
        "hwasong-19",
    ):
        m = get_missile(key)
        assert m.key == key and m.sources and m.estimates, f"{key} lacks sources/estimates"


def test_stage_counts_and_propellant_match_the_public_record() -> None:
    # Stage counts / propellant: ROK MND, JCS, Japan MoD, KCNA (public_reference.md §5).
    expected = {
        "kn-23": (1, "solid"),
        "hwasong-12": (1, "liquid"),
        "hwasong-14": (2, "liquid"),
        "hwasong-15": (2, "liquid"),
        "hwasong-17": (2, "liquid"),
        "hwasong-18": (3, "solid"),
    }
    for key, (stages, prop) in expected.items():
        m = get_missile(key)
        assert (len(m.stages), m.propellant) == (stages, prop), key


def test_hwasong17_launch_mass_within_38north_estimate() -> None:
    # 38 North (via Reuters/ABC): 80–110 t fuelled.
    assert 80_000.0 <= get_missile("hwasong-17").launch_mass_kg <= 110_000.0


def test_thrust_follows_from_isp_and_mass_flow() -> None:
    # F = ṁ g0 Isp (Sutton & Biblarz eq. 2-5 / 3-21): independent arithmetic.
    s = get_missile("hwasong-12").stages[0]
    mdot = s.propellant_mass_kg / s.burn_time_s
    assert s.thrust_vac_n == pytest.approx(mdot * STANDARD_GRAVITY_MPS2 * s.isp_vac_s, rel=1e-12)
    # The claimed 80 tf at sea level (KCNA 2016) is what the catalogue encodes.
    assert s.thrust_sl_n == pytest.approx(80_000.0 * STANDARD_GRAVITY_MPS2, rel=1e-12)


def test_lookup_is_case_insensitive_and_errors_list_known_names() -> None:
    assert get_missile("Hwasong-18") is MISSILES["hwasong-18"]
    with pytest.raises(KeyError, match=r"known: .*hwasong-12"):
        get_missile("nodong-9")


def test_every_missile_flies_a_minimum_energy_trajectory_to_impact() -> None:
    s = get_site("sunan")
    for key in MISSILES:
        geo = LaunchGeometry(
            missile=get_missile(key),
            lat_rad=s.lat_rad,
            lon_rad=s.lon_rad,
            azimuth_rad=math.radians(90.0),
        )
        from trilink.threats import Steering

        f = fly(
            geo.launch(Steering(pitch_first_rad=math.radians(45.0))), objects=False, record=False
        )
        assert f.impacted and f.range_m > 100e3, key
