"""Reconstruct the steering of the 2023-04-13 Hwasong-18 flight (the seed scenario).

Run: .venv/bin/python tools/reconstruct_seed.py

Finds launch azimuth, stage-1 pitch, upper-stage pitch, a yaw turn of the upper
stages and the last-stage burn fraction that best reproduce the published record:

* stage 1 fell ~10 km off the Hodo Peninsula, Kumya county (KCNA via Kyodo/Kazinform);
* stage 2 fell ~335 km east of Orang county, N. Hamgyong (same source);
* the warhead flew ~1,000 km while turning left/north (Japan MoD 2023-04-21);
* apogee: not published; ROK military reportedly "< 3,000 km" (Asia Economy):
  we take 2,800 km (an assumption, stated in the scenario).

The printed values are copied into src/trilink/scenario/builtin/hwasong18-2023-04-13.toml.
The test tests/test_seed_scenario.py checks the stage impacts of that frozen file.
"""

import math

import numpy as np
from scipy.optimize import least_squares

from trilink.geo.geodesic import geodesic_direct, geodesic_inverse
from trilink.threats import fly_batch, get_missile, get_site
from trilink.threats.flight import Launch, Steering

HODO_LAT, HODO_LON = 39.402, 127.537  # Hodo Peninsula (CNS, public_reference.md §4)
ORANG_LAT, ORANG_LON = 41.428, 129.647  # Orang (airport, coastal plain): our approximate geocoding
APOGEE_M = 2_800e3
RANGE_M = 1_000e3

site = get_site("samsok")
az_hodo = geodesic_inverse(
    site.lat_rad, site.lon_rad, math.radians(HODO_LAT), math.radians(HODO_LON)
)[1]
s1_lat, s1_lon, _ = geodesic_direct(math.radians(HODO_LAT), math.radians(HODO_LON), az_hodo, 10e3)
s2_lat, s2_lon, _ = geodesic_direct(
    math.radians(ORANG_LAT), math.radians(ORANG_LON), math.pi / 2, 335e3
)
print(f"reported stage 1: {math.degrees(s1_lat):.3f}, {math.degrees(s1_lon):.3f}")
print(f"reported stage 2: {math.degrees(s2_lat):.3f}, {math.degrees(s2_lon):.3f}")
missile = get_missile("hwasong-18")
t_stage2_end = sum(s.burn_time_s for s in missile.stages[:2])


def launch(x: np.ndarray) -> Launch:
    az, p1, p2, yaw, frac = x
    return Launch(
        missile=missile,
        lat_rad=site.lat_rad,
        lon_rad=site.lon_rad,
        azimuth_rad=math.radians(az),
        steering=Steering(
            pitch_first_rad=math.radians(p1),
            pitch_upper_rad=math.radians(p2),
            yaw_start_s=missile.stages[0].burn_time_s,
            yaw_end_s=missile.total_burn_time_s,
            yaw_delta_rad=math.radians(yaw),
            burn_fraction_last=frac,
        ),
    )


def residual(x: np.ndarray) -> np.ndarray:
    f = fly_batch([launch(x)], record=False, objects=True, rtol=1e-8)[0]
    s1, s2 = f.stage_impacts[0], f.stage_impacts[1]
    d1 = geodesic_inverse(s1.impact_lat_rad, s1.impact_lon_rad, s1_lat, s1_lon)[0]
    d2 = geodesic_inverse(s2.impact_lat_rad, s2.impact_lon_rad, s2_lat, s2_lon)[0]
    # Signed components: north and east offsets (km) of each stage impact.
    r = [
        (s1.impact_lat_rad - s1_lat) * 6371.0,
        (s1.impact_lon_rad - s1_lon) * 6371.0 * 0.77,
        (s2.impact_lat_rad - s2_lat) * 6371.0,
        (s2.impact_lon_rad - s2_lon) * 6371.0 * 0.75,
        (f.range_m - RANGE_M) / 1e3,
        (f.apogee_m - APOGEE_M) / 1e4,
    ]
    print(
        f"x={np.round(x, 3)} d1={d1 / 1e3:.1f} km d2={d2 / 1e3:.1f} km "
        f"range={f.range_m / 1e3:.0f} apogee={f.apogee_m / 1e3:.0f}"
    )
    return np.array(r)


x0 = np.array([70.0, 45.0, 70.0, -20.0, 1.0])
sol = least_squares(
    residual,
    x0,
    bounds=([30, 10, 20, -90, 0.2], [110, 89, 89.5, 30, 1.0]),
    x_scale=[5, 5, 5, 5, 0.1],
    diff_step=1e-3,
    max_nfev=200,
)
print(
    "solution (azimuth_deg, pitch_first_deg, pitch_upper_deg, yaw_delta_deg, burn_fraction_last):"
)
print(np.round(sol.x, 4).tolist())
