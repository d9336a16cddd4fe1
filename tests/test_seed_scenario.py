"""The seed scenario (Hwasong-18, 2023-04-13) reproduces the reported staging."""

from __future__ import annotations

import math

import pytest

from trilink.geo.geodesic import geodesic_inverse
from trilink.scenario.build import get_scenario
from trilink.sim.run import run_scenario


@pytest.fixture(scope="module")
def seed_run():
    return run_scenario(get_scenario("hwasong18-2023-04-13"))


@pytest.mark.parametrize("stage", [1, 2])
def test_stage_impacts_within_50_km_of_reported(seed_run, stage: int) -> None:
    # Reported points (KCNA via Kyodo/Kazinform 2023-04-14), stored in the scenario file.
    rep = seed_run.scenario.spec.reported[f"stage{stage}_impact"]
    (flight,) = seed_run.flights
    st = flight.stage_impacts[stage - 1]
    d = geodesic_inverse(
        st.impact_lat_rad,
        st.impact_lon_rad,
        math.radians(rep["lat_deg"]),
        math.radians(rep["lon_deg"]),
    )[0]
    assert d <= rep["tolerance_km"] * 1e3, (
        f"stage {stage} fell {d / 1e3:.1f} km from the reported point "
        f"(limit {rep['tolerance_km']:.0f} km)"
    )


def test_warhead_flies_about_1000_km_turning_north(seed_run) -> None:
    (flight,) = seed_run.flights
    # Japan MoD 2023-04-21: "about 1,000 km", turning left (north); rounded figure, ±5 %.
    assert flight.range_m == pytest.approx(1_000e3, rel=0.05)
    launch_az = flight.launch.azimuth_rad
    final_az = geodesic_inverse(
        flight.launch.lat_rad, flight.launch.lon_rad, flight.impact_lat_rad, flight.impact_lon_rad
    )[1]
    assert final_az < launch_az - math.radians(5.0), "the track must bend left (north)"
    # Apogee below the ROK military's reported "< 3,000 km".
    assert flight.apogee_m < 3_000e3


def test_seed_has_warhead_three_stages_and_20_debris(seed_run) -> None:
    (flight,) = seed_run.flights
    kinds = [o.kind.value for o in flight.objects]
    assert kinds.count("warhead") == 1
    assert kinds.count("stage") == 3
    assert kinds.count("debris") == 20
