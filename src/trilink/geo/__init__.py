"""WGS-84 geodesy and Earth physics: frames, gravity, geodesics, line of sight, atmosphere.

All quantities are SI (m, s, rad) and every name carries its frame and unit.
Points are float64 arrays of shape (..., 3); functions are vectorised over
the leading dimensions and broadcast. Constants live in
:mod:`trilink.geo.constants`. "ECI" means this package's inertial frame,
defined in :mod:`trilink.geo.frames`.
"""

from trilink.geo.frames import (
    aer_to_ecef,
    aer_to_enu,
    earth_rotation_angle_rad,
    ecef_to_aer,
    ecef_to_eci,
    ecef_to_enu,
    ecef_to_geodetic,
    ecef_vector_to_enu,
    eci_to_ecef,
    enu_rotation,
    enu_to_aer,
    enu_to_ecef,
    enu_vector_to_ecef,
    geodetic_altitude_m,
    geodetic_to_ecef,
    julian_date_from_datetime,
)
from trilink.geo.geodesic import geodesic_direct, geodesic_inverse, great_circle_distance_m
from trilink.geo.gravity import (
    apparent_accel_ecef_mps2,
    gravitational_potential_m2ps2,
    gravity_accel_mps2,
)
from trilink.geo.los import horizon_elevation_rad, line_of_sight, radar_horizon_range_m

# isort: split
# The atmosphere (a separate module with its own owner) is re-exported last.
from trilink.geo.atmosphere import density_kgpm3, ussa1976

__all__ = [
    "aer_to_ecef",
    "aer_to_enu",
    "apparent_accel_ecef_mps2",
    "density_kgpm3",
    "earth_rotation_angle_rad",
    "ecef_to_aer",
    "ecef_to_eci",
    "ecef_to_enu",
    "ecef_to_geodetic",
    "ecef_vector_to_enu",
    "eci_to_ecef",
    "enu_rotation",
    "enu_to_aer",
    "enu_to_ecef",
    "enu_vector_to_ecef",
    "geodesic_direct",
    "geodesic_inverse",
    "geodetic_altitude_m",
    "geodetic_to_ecef",
    "gravitational_potential_m2ps2",
    "gravity_accel_mps2",
    "great_circle_distance_m",
    "horizon_elevation_rad",
    "julian_date_from_datetime",
    "line_of_sight",
    "radar_horizon_range_m",
    "ussa1976",
]
