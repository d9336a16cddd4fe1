"""Every public launch with apogee, range and flight time: fit, then check the flight time.

For each row of ``shared/data/launches_public.csv`` with all three figures, the loft
solver finds the steering (and, where the missile lacks the energy with its nominal
payload, a lighter test payload) that reproduces the published apogee and ground
range; the test then compares the modelled flight time — which was *not* fitted —
with the published one. Tolerance: 7 %.

The published figures are rounded ("about 1,000 km", "about 74 minutes", times to
the minute), and for several rows the apogee is only a lower bound (MoD: "exceeding
6,000 km"); the CSV holds the bound. A ballistic arc's duration is set mostly by its
apogee, so a lower-bound apogee gives a flight time that is too short. Two rows fail
for that reason (L22, L25; marked xfail with the physics in the reason); with the
apogee the other agencies published for the same shot (public_reference.md §1.2,
KCNA figures, which tracked MoD/JCS within a few percent) they agree within 1 %.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from trilink.threats import fly, get_missile
from trilink.threats.loft import LaunchGeometry, solve_apogee_range

# Which catalogue missile flew each launch, and its launch azimuth (not published:
# the geodesic bearing from the site towards the published impact area).
FLOWN = {
    "L01": ("hwasong-12", 95.0),  # ~400 km E of the peninsula, Sea of Japan
    "L04": ("hwasong-12", 72.0),  # over Oshima Peninsula / Cape Erimo
    "L05": ("hwasong-12", 75.0),  # over Oshima Peninsula / Cape Erimo
    "L06": ("hwasong-15", 95.0),  # ~250 km W of Aomori
    "L12": ("hwasong-15", 90.0),  # ROK/US assessment: a Hwasong-15 (Yonhap 2022-03-27)
    "L14": ("hwasong-12", 84.2),  # over Aomori (MoD: possibly Hwasong-12)
    "L17": ("hwasong-17", 90.0),  # ~200 km W of Oshima-Oshima
    "L22": ("hwasong-18", 80.0),  # ~250 km W of Okushiri
    "L25": ("hwasong-19", 80.0),  # ~200 km W of Okushiri
}

# Apogee given only as a lower bound in the source column ("> X" / ">~X").
LOWER_BOUND_APOGEE = {"L01", "L12", "L22", "L25"}

# KCNA apogee / range for the same shots (public_reference.md §1.2).
OTHER_AGENCY = {"L22": (6_648.4, 1_001.2), "L25": (7_687.5, 1_001.2)}

TOLERANCE = 0.07


def _rows(shared: Path) -> list[dict[str, str]]:
    with (shared / "launches_public.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    return [r for r in rows if r["apogee_km"] and r["range_km"] and r["flight_time_s"]]


def _shared_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def _ids() -> list[str]:
    return [r["id"] for r in _rows(_shared_dir())]


def _fly_fitted(row: dict[str, str], apogee_km: float, range_km: float) -> float:
    key, az = FLOWN[row["id"]]
    geo = LaunchGeometry(
        missile=get_missile(key),
        lat_rad=math.radians(float(row["site_lat"])),
        lon_rad=math.radians(float(row["site_lon"])),
        azimuth_rad=math.radians(az),
    )
    sol = solve_apogee_range(geo, apogee_km * 1e3, range_km * 1e3)
    f = fly(sol.launch(geo), record=False, objects=False)
    assert abs(f.apogee_m / (apogee_km * 1e3) - 1) < 1e-3, "solver did not reach the apogee"
    assert abs(f.range_m / (range_km * 1e3) - 1) < 1e-3, "solver did not reach the range"
    return f.flight_time_s


def test_every_complete_row_is_covered(shared_data: Path) -> None:
    assert sorted(_ids()) == sorted(FLOWN), "a launch with all three figures lacks a mapping"


@pytest.mark.slow
@pytest.mark.parametrize(
    "launch_id",
    [
        pytest.param(
            i,
            marks=pytest.mark.xfail(
                strict=True,
                reason="MoD apogee is a lower bound; the flight time of an arc to exactly "
                "that apogee is > 7 % short (see module docstring and the other-agency test)",
            ),
        )
        if i in OTHER_AGENCY
        else i
        for i in FLOWN
    ],
)
def test_flight_time_matches_published(launch_id: str, shared_data: Path) -> None:
    row = next(r for r in _rows(shared_data) if r["id"] == launch_id)
    published = float(row["flight_time_s"])
    modelled = _fly_fitted(row, float(row["apogee_km"]), float(row["range_km"]))
    err = modelled / published - 1.0
    bound = " (apogee is a lower bound)" if launch_id in LOWER_BOUND_APOGEE else ""
    assert abs(err) <= TOLERANCE, (
        f"{launch_id} {row['missile']}: modelled flight time {modelled:.0f} s vs published "
        f"{published:.0f} s: error {err:+.1%} exceeds ±{TOLERANCE:.0%}{bound}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("launch_id", sorted(OTHER_AGENCY))
def test_flight_time_with_other_agency_apogee(launch_id: str, shared_data: Path) -> None:
    row = next(r for r in _rows(shared_data) if r["id"] == launch_id)
    apogee_km, range_km = OTHER_AGENCY[launch_id]
    published = float(row["flight_time_s"])
    modelled = _fly_fitted(row, apogee_km, range_km)
    err = modelled / published - 1.0
    assert abs(err) <= 0.02, (
        f"{launch_id}: with the KCNA apogee {apogee_km} km the modelled flight time "
        f"{modelled:.0f} s differs from MoD's {published:.0f} s by {err:+.1%}"
    )
