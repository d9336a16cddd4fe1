"""Calibrate each catalogue missile's payload to its published maximum-range statement.

Run: .venv/bin/python tools/calibrate_catalogue.py
Prints, per missile, the RV mass that makes the minimum-energy range from Sunan on
azimuth 45° equal the target below (published figures: see catalogue.py). The
catalogue is then edited by hand with the printed masses (rounded).
"""

from __future__ import annotations

import dataclasses
import math

from trilink.threats import get_missile, get_site
from trilink.threats.flight import fly
from trilink.threats.loft import LaunchGeometry, minimum_energy_steering

TARGETS_KM = {
    "kn-23": 800.0,  # "up to 800 km" (press)
    "hwasong-12": 4_900.0,  # ~4,500 km (Wright, CSIS), >= 5,000 km (ROK); flew 4,600 km
    "hwasong-14": 10_000.0,  # 9,000-10,000 km (38 North), >= 10,400 km (Wright)
    "hwasong-15": 13_500.0,  # > 13,000 km (ROK MND), ~14,000 km (Japan MoD 2023)
    "hwasong-17": 15_500.0,  # > 15,000 km (Japan MoD)
    "hwasong-18": 15_000.0,  # ~15,000 km (press)
    "hwasong-19": 15_500.0,  # > 15,000 km (press)
}


def max_range_km(missile) -> float:
    s = get_site("sunan")
    geo = LaunchGeometry(
        missile=missile, lat_rad=s.lat_rad, lon_rad=s.lon_rad, azimuth_rad=math.radians(45.0)
    )
    f = fly(geo.launch(minimum_energy_steering(geo)), record=False, objects=False)
    return f.range_m / 1e3


def main() -> None:
    for key, target in TARGETS_KM.items():
        m = get_missile(key)
        lo, hi = 100.0, 5_000.0
        for _ in range(14):
            mid = 0.5 * (lo + hi)
            trial = dataclasses.replace(m, rv=dataclasses.replace(m.rv, mass_kg=mid))
            r = max_range_km(trial)
            if math.isnan(r) or r > target:
                lo = mid
            else:
                hi = mid
        print(f"{key}: rv mass {0.5 * (lo + hi):.0f} kg -> {r:.0f} km (target {target:.0f})")


if __name__ == "__main__":
    main()
