"""Earth gravity: point mass + J2, and the apparent forces of the rotating ECEF frame.

The J2 field is axisymmetric about the spin axis, so :func:`gravity_accel_mps2`
and :func:`gravitational_potential_m2ps2` hold in any Earth-centred frame whose
z axis is the WGS-84 spin axis: ECEF, and this package's ECI (see
:mod:`trilink.geo.frames`), whose z axis is the same. Neither includes the
centrifugal term: in ECEF add :func:`apparent_accel_ecef_mps2`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from trilink.geo._arrays import FloatArray, as_points, broadcast_shape, scalar_out
from trilink.geo.constants import WGS84_A_M, WGS84_GM_M3PS2, WGS84_J2, WGS84_OMEGA_RADPS

__all__ = [
    "apparent_accel_ecef_mps2",
    "gravitational_potential_m2ps2",
    "gravity_accel_mps2",
]

_MU = WGS84_GM_M3PS2
_J2_TERM = 1.5 * WGS84_J2 * WGS84_A_M * WGS84_A_M  # (3/2) J2 R², m²
_OMEGA2 = WGS84_OMEGA_RADPS * WGS84_OMEGA_RADPS
_BLOCK_ROWS = 8192  # rows per numpy block (temporaries stay in cache; see frames.py)


def gravity_accel_mps2(r_m: ArrayLike) -> FloatArray:
    """Gravitational acceleration (point mass + J2) at an Earth-centred position, m/s².

    Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed. (2013),
    eq. 8-30, with r = |r|, R = WGS84_A_M, μ = WGS84_GM_M3PS2, J2 = WGS84_J2::

        a_x = -μ x / r³ [1 - (3/2) J2 (R/r)² (5 z²/r² - 1)]
        a_y = -μ y / r³ [1 - (3/2) J2 (R/r)² (5 z²/r² - 1)]
        a_z = -μ z / r³ [1 - (3/2) J2 (R/r)² (5 z²/r² - 3)]

    This is ``-∇U`` of :func:`gravitational_potential_m2ps2`. Valid in ECEF
    and in this package's ECI (z = spin axis in both); gravitation only, no
    centrifugal term. The J2-only truncation differs from the full EGM96/2008
    field by ~1e-4 m/s² near the surface (J4 and tesserals). Singular at the
    origin (returns NaN/inf there, no exception); NaN rows give NaN.

    Args:
        r_m: position from the Earth's centre, shape (..., 3), m.

    Returns:
        Acceleration, shape (..., 3), m/s².
    """
    r = as_points(r_m, "r_m")
    out = np.empty(r.shape)
    flat_r = r.reshape(-1, 3)
    flat_out = out.reshape(-1, 3)
    for i in range(0, max(flat_r.shape[0], 1), _BLOCK_ROWS):
        rows = slice(i, i + _BLOCK_ROWS)
        _gravity_block(flat_r[rows], flat_out[rows])
    return out


def _gravity_block(r: FloatArray, out: FloatArray) -> None:
    """:func:`gravity_accel_mps2` of (n, 3) rows into ``out``."""
    x, y, z = r[:, 0], r[:, 1], r[:, 2]
    zz = z * z
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_r2 = 1.0 / (x * x + y * y + zz)
        inv_r = np.sqrt(inv_r2)
        mu_over_r3 = _MU * inv_r2 * inv_r
        j2 = _J2_TERM * inv_r2
        fz2 = 5.0 * zz * inv_r2
        common = -mu_over_r3 * (1.0 - j2 * (fz2 - 1.0))
        out[:, 0] = common * x
        out[:, 1] = common * y
        out[:, 2] = -mu_over_r3 * (1.0 - j2 * (fz2 - 3.0)) * z


def gravitational_potential_m2ps2(r_m: ArrayLike) -> FloatArray:
    """Specific gravitational potential energy U (point mass + J2), J/kg = m²/s².

    Sign convention: U is the potential *energy* per unit mass, negative and
    rising to 0 at infinity, so that ``a = -∇U`` equals
    :func:`gravity_accel_mps2`. With the geocentric latitude sin φ' = z/r
    (the zonal-harmonic expansion of Vallado 2013, ch. 8, truncated at J2,
    with the opposite sign to Vallado's potential; P2(s) = (3 s² - 1)/2)::

        U = -μ/r [1 - J2 (R/r)² P2(z/r)]

    Valid in ECEF and in this package's ECI; no centrifugal part.

    Args:
        r_m: position from the Earth's centre, shape (..., 3), m.

    Returns:
        U, shape (...), m²/s².
    """
    r = as_points(r_m, "r_m")
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    zz = z * z
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_r2 = 1.0 / (x * x + y * y + zz)
        p2 = 1.5 * zz * inv_r2 - 0.5
        u = -_MU * np.sqrt(inv_r2) * (1.0 - WGS84_J2 * WGS84_A_M * WGS84_A_M * inv_r2 * p2)
    return scalar_out(u)


def apparent_accel_ecef_mps2(r_ecef_m: ArrayLike, v_ecef_mps: ArrayLike) -> FloatArray:
    """Coriolis + centrifugal acceleration in the rotating ECEF frame, m/s².

    For ω = (0, 0, ω), ω = WGS84_OMEGA_RADPS (Goldstein, Poole & Safko,
    *Classical Mechanics*, 3rd ed., 2002, ch. 4, the Coriolis effect)::

        a = -2 ω × v - ω × (ω × r) = (2ω v_y + ω² x,  -2ω v_x + ω² y,  0)

    Add it to :func:`gravity_accel_mps2` (and other forces) to integrate the
    equations of motion directly in ECEF.

    Args:
        r_ecef_m: position, shape (..., 3), m.
        v_ecef_mps: velocity relative to ECEF, shape (..., 3), m/s (broadcasts).

    Returns:
        Acceleration, shape (..., 3), m/s².
    """
    r = as_points(r_ecef_m, "r_ecef_m")
    v = as_points(v_ecef_mps, "v_ecef_mps")
    shape = broadcast_shape(r_ecef_m=r.shape[:-1], v_ecef_mps=v.shape[:-1])
    out = np.empty((*shape, 3))
    out[..., 0] = (2.0 * WGS84_OMEGA_RADPS) * v[..., 1] + _OMEGA2 * r[..., 0]
    out[..., 1] = (-2.0 * WGS84_OMEGA_RADPS) * v[..., 0] + _OMEGA2 * r[..., 1]
    out[..., 2] = 0.0
    return out
