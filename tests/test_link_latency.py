"""Latency model: geodesic distances vs pyproj, the fibre delay, the relay table."""

from __future__ import annotations

import pytest
from pyproj import Geod

from trilink.link.latency import (
    CAMP_SMITH,
    FIBRE_SPEED_MPS,
    ICHIGAYA,
    PROCESSING_S_PER_HOP,
    ROUTE_FACTOR,
    YONGSAN,
    Site,
    format_relay_table,
    geodesic_distance_m,
    hop_delay,
    one_way_delay_s,
    participant_delay_s,
    relay_comparison,
)

GEOD = Geod(ellps="WGS84")


@pytest.mark.parametrize(
    ("a", "b"), [(ICHIGAYA, CAMP_SMITH), (CAMP_SMITH, YONGSAN), (ICHIGAYA, YONGSAN)]
)
def test_distance_matches_pyproj_to_1_m(a: Site, b: Site) -> None:
    _, _, expected_m = GEOD.inv(a.lon_deg, a.lat_deg, b.lon_deg, b.lat_deg)
    assert geodesic_distance_m(a, b) == pytest.approx(expected_m, abs=1.0, rel=0)


def test_tokyo_hawaii_distance_and_fibre_delay() -> None:
    d = geodesic_distance_m(ICHIGAYA, CAMP_SMITH)
    # ~6,200 km Tokyo-Honolulu (great-circle figures for the two cities are 6,200-6,210 km)
    assert 6.15e6 < d < 6.25e6
    # c / n_g with n_g ~ 1.47 for G.652 fibre: 2.04e8 m/s, rounded to 2.0e8 m/s
    assert 299_792_458.0 / 1.47 == pytest.approx(FIBRE_SPEED_MPS, rel=0.025)
    hop = hop_delay(ICHIGAYA, CAMP_SMITH)
    assert hop.propagation_s == pytest.approx(ROUTE_FACTOR * d / 2.0e8, rel=1e-15)
    assert hop.total_s == pytest.approx(hop.propagation_s + PROCESSING_S_PER_HOP, rel=1e-15)
    assert 0.045 < hop.total_s < 0.049  # ~47 ms one way
    # without the route factor and processing: pure fibre over the geodesic, ~31 ms
    bare = one_way_delay_s(ICHIGAYA, CAMP_SMITH, route_factor=1.0, processing_s=0.0)
    assert bare == pytest.approx(d / 2.0e8, rel=1e-15)


def test_relay_vs_direct() -> None:
    th, hs, relay, direct = relay_comparison()
    assert relay.hops == 2 and direct.hops == 1
    assert relay.total_s == pytest.approx(th.total_s + hs.total_s, rel=1e-15)
    assert relay.distance_m == pytest.approx(th.distance_m + hs.distance_m, rel=1e-15)
    assert 1.1e6 < direct.distance_m < 1.2e6  # Tokyo-Seoul ~1,160 km
    assert relay.total_s > 10 * direct.total_s
    table = format_relay_table()
    assert "relay via hub" in table and "direct, hypothetical" in table
    assert len(table.splitlines()) == 6


def test_participants_and_errors() -> None:
    assert participant_delay_s("HUB", "US") == pytest.approx(PROCESSING_S_PER_HOP)
    assert participant_delay_s("JP", "HUB") == pytest.approx(
        participant_delay_s("HUB", "JP"), rel=1e-12
    )
    with pytest.raises(KeyError, match="'CN'"):
        participant_delay_s("CN", "HUB")
    with pytest.raises(ValueError, match="route_factor"):
        hop_delay(ICHIGAYA, YONGSAN, route_factor=0.5)
    with pytest.raises(ValueError, match="lat_deg"):
        Site(name="x", lat_deg=91.0, lon_deg=0.0, source="")
