"""Physical and geodetic constants: one place each, each with its source.

Everything is SI. Never retype these numbers elsewhere: import them.
"""

from __future__ import annotations

import math

# --- WGS-84 defining parameters -------------------------------------------------
# NIMA TR8350.2, "Department of Defense World Geodetic System 1984", 3rd ed.,
# amendment 1 (2000), table 3.1.
WGS84_A_M: float = 6_378_137.0
"""Semi-major axis (equatorial radius), m. NIMA TR8350.2 table 3.1."""
WGS84_INV_F: float = 298.257223563
"""Inverse flattening 1/f. NIMA TR8350.2 table 3.1."""
WGS84_GM_M3PS2: float = 3.986004418e14
"""Earth's gravitational constant GM (with atmosphere), m^3/s^2. NIMA TR8350.2 table 3.1."""
WGS84_OMEGA_RADPS: float = 7.292115e-5
"""Nominal mean angular velocity of the Earth, rad/s. NIMA TR8350.2 table 3.1."""

# --- WGS-84 derived parameters --------------------------------------------------
WGS84_F: float = 1.0 / WGS84_INV_F
"""Flattening f."""
WGS84_B_M: float = WGS84_A_M * (1.0 - WGS84_F)
"""Semi-minor axis, m (6,356,752.3142 m in NIMA TR8350.2 table 3.3)."""
WGS84_E2: float = WGS84_F * (2.0 - WGS84_F)
"""First eccentricity squared (0.00669437999014 in NIMA TR8350.2 table 3.3)."""
WGS84_EP2: float = WGS84_E2 / (1.0 - WGS84_E2)
"""Second eccentricity squared (0.00673949674228 in NIMA TR8350.2 table 3.3)."""
WGS84_MEAN_RADIUS_M: float = (2.0 * WGS84_A_M + WGS84_B_M) / 3.0
"""Mean radius R1 = (2a + b)/3, m (6,371,008.7714 m in NIMA TR8350.2 table 3.3)."""

# --- Gravity field --------------------------------------------------------------
# Normalised second-degree zonal harmonic of the Earth Gravitational Model 1996:
# C̄20 = -0.484165371736e-3 (Lemoine et al., "The Development of the Joint NASA GSFC and
# NIMA Geopotential Model EGM96", NASA/TP-1998-206861, coefficient file egm96; also
# NIMA TR8350.2 §5). (-0.484166774985e-3 is the WGS-84 *ellipsoid's* normal-field value.)
WGS84_C20_NORMALIZED: float = -0.484165371736e-3
WGS84_J2: float = -WGS84_C20_NORMALIZED * math.sqrt(5.0)
"""Unnormalised J2 = -√5·C̄20 ≈ 1.0826267e-3 (EGM96)."""

# --- Standard gravity and physics ----------------------------------------------
STANDARD_GRAVITY_MPS2: float = 9.80665
"""Standard acceleration of gravity g0, m/s^2 (CGPM 1901; BIPM SI Brochure, 9th ed.)."""
SPEED_OF_LIGHT_MPS: float = 299_792_458.0
"""Speed of light in vacuum, m/s (exact; SI definition)."""
BOLTZMANN_J_PER_K: float = 1.380649e-23
"""Boltzmann constant, J/K (exact; SI 2019 redefinition)."""

# --- Radio propagation ----------------------------------------------------------
EFFECTIVE_EARTH_RADIUS_FACTOR: float = 4.0 / 3.0
"""k-factor of the standard refractive atmosphere for radar line of sight
(ITU-R P.834-9 §4 / P.310: median k = 4/3 for a standard atmosphere)."""

# --- Time -----------------------------------------------------------------------
SECONDS_PER_DAY: float = 86_400.0
JULIAN_DATE_J2000: float = 2_451_545.0
"""Julian date of the epoch J2000.0 (2000-01-01 12:00), days: the origin from which
T_u of eq. 5.15 of the IERS Conventions (2010), IERS Technical Note 36, counts days."""
JULIAN_DATE_UNIX_EPOCH: float = 2_440_587.5
"""Julian date of 1970-01-01 00:00, days: the POSIX epoch (by the calendar-to-JD
algorithm of Meeus, Astronomical Algorithms, 2nd ed., 1998, ch. 7)."""

# --- Earth rotation angle -------------------------------------------------------
# IERS Conventions (2010), IERS Technical Note 36, eq. (5.15):
#   ERA(T_u) = 2π (0.7790572732640 + 1.00273781191135448 T_u),  T_u = JD(UT1) - 2451545.0
ERA_AT_J2000_REV: float = 0.7790572732640
"""Earth rotation angle at J2000.0 UT1, revolutions. IERS Conventions (2010) eq. 5.15."""
ERA_RATE_EXCESS_REV_PER_UT1_DAY: float = 0.00273781191135448
"""Rate of the Earth rotation angle minus one, revolutions per UT1 day: eq. 5.15 of the
IERS Conventions (2010) has 1.00273781191135448; the whole revolution per day is kept
out of this constant so that its fractional part keeps all its digits."""
