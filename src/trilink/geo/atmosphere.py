"""U.S. Standard Atmosphere 1976, vectorised over any array shape of altitude.

Reference: COESA, *U.S. Standard Atmosphere, 1976*, NOAA-S/T 76-1562 (NOAA, NASA,
USAF; U.S. Government Printing Office, Washington, D.C., October 1976), also issued
as NASA-TM-X-74335. Equation and table numbers below are the standard's.

Input
    ``alt_m``: geometric altitude above mean sea level, m, any shape. In trilink we pass
    geodetic altitude above the WGS-84 ellipsoid; the geoid-ellipsoid separation
    (|N| < 110 m) is ignored, which changes density by at most ~1.3 % near the ground
    and is far below the day-to-day variability of the real atmosphere.

Output
    Arrays of the input's shape (a scalar input gives 0-d ``ndarray`` fields; call
    ``float()`` on them if needed), float64, SI units. NaN in gives NaN out.

Model, -5 km to 86 km (exact; Part 1 §1.2 of the standard)
    Geopotential altitude ``H = r0·Z/(r0 + Z)`` (eq. 18, r0 = 6,356,766 m). Seven
    layers of linear molecular-scale temperature ``T_M = T_b + L_b·(H - H_b)``
    (Table 4). Pressure (eqs. 33a/33b), with β = g0'·M0/R*::

        P = P_b · (T_b / T_M) ** (β / L_b)          L_b ≠ 0
        P = P_b · exp(-β·(H - H_b) / T_b)            L_b = 0

    Density ``ρ = P·M0/(R*·T_M)`` (eq. 42); speed of sound
    ``C_s = sqrt(γ·R*·T_M/M0)`` (eq. 50, γ = 1.40). The kinetic temperature is
    ``T = T_M·(M/M0)`` (the definition of T_M) with M/M0 = 1 below 80 km and the Table 8 ratios
    (linearly interpolated in Z) from 80 to 86 km; pressure and density do not depend
    on that ratio. The first layer, which the standard defines down to H = -5 km', is
    used for every altitude below 11 km'; below -5 km it is continued, finite and
    smooth but outside the standard (so an integrator that overshoots the ground
    keeps working).

Model, 86 km and above (a documented extension, not the standard's own method)
    The standard computes the thermosphere by integrating diffusion equations for six
    species. We instead use:

    * temperature: the standard's defining kinetic-temperature profile (§1.2.5,
      eqs. 25-32): isothermal T7 = 186.8673 K to 91 km, an ellipse to 110 km, a
      12 K/km gradient to 120 km, then ``T = T∞ - (T∞ - T10)·exp(-λ·ξ)`` with
      ``ξ = (Z - 120 km)(r0 + 120 km)/(r0 + Z)``, T∞ = 1000 K, λ = 0.01875 km⁻¹. This is
      exact, not fitted, and continues unchanged above 1000 km;
    * density: a not-a-knot cubic spline in ``ln ρ`` versus geopotential altitude H
      through 31 density values of the standard's Table I (86 km to 1000 km, below);
      above 1000 km ``ln ρ`` continues linearly in H with the spline's end slope, i.e.
      an isothermal atmosphere with the 1000 km scale height (176 km' in H, 234 km in
      Z at 1000 km). Density is positive everywhere and decreases monotonically;
    * mean molecular weight: a not-a-knot cubic spline in ``ln M`` through
      ``M = ρ·R*·T/P`` of 16 printed (T, P, ρ) rows of Table I (90-1000 km) and the
      lower model's M at 86 km, held constant above 1000 km; pressure
      ``P = ρ·R*·T/M`` (eq. 42 with the local M);
    * speed of sound ``sqrt(γ·R*·T/M)`` with γ = 1.40. The standard does not define
      it above 86 km (§1.3.10); this value is nominal, for Mach-number look-ups. (A
      monatomic gas would have γ = 5/3, 9 % more.)

    At 86 km the extension is anchored to the lower model (the spline's first density
    node and M/M0 there are the lower model's own values at Z = 86 km), so T, P, ρ and
    C_s are continuous to rounding across 86 km.

Accuracy against the standard's printed Table I (tests/test_geo_atmosphere.py)
    * -5 km to 86 km: exact equations. The printed values (5-6 significant figures)
      are matched to within one unit of their last figure: at most 7e-5 relative in P
      and ρ, 0.0005 K in T below 80 km. From 80 to 86 km Table I prints T_M where we
      return the kinetic T = T_M·M/M0, up to 0.058 K (3e-4) lower at 85 km.
    * 86 km to 1000 km: temperature within 0.005 K (printed to 0.01 K); density within
      0.15 % of all 101 printed values checked (4 significant figures; rms 0.04 %; 70
      of them are not spline nodes), which we state as 0.2 %; pressure within 0.12 % of
      the 21 printed rows checked (4 of them not nodes), stated as 0.2 %.
    * above 1000 km there is no standard; the extension only guarantees a continuous,
      positive, decreasing density. Real thermospheric density varies by a factor of
      ~10 with solar activity above 300 km, so these are nominal values.

Cost: ``density_kgpm3`` of 1,000 altitudes takes about 22 µs on a 2-core CI machine
(one ``searchsorted`` over a precomputed table of 38 segments, one gather, one
``log1p``, one ``exp``; no Python loop), and about 15 µs for a scalar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trilink.geo.constants import STANDARD_GRAVITY_MPS2

__all__ = [
    "USSA76_GAMMA",
    "USSA76_M0_KGPKMOL",
    "USSA76_P0_PA",
    "USSA76_R0_M",
    "USSA76_RSTAR_JPKMOLK",
    "USSA76_T0_K",
    "Atmosphere",
    "density_kgpm3",
    "ussa1976",
]

# =====================================================================================
# U.S. Standard Atmosphere 1976 (NOAA-S/T 76-1562 = NASA-TM-X-74335): defining values.
# g0' = 9.80665 m²/(s²·m') is STANDARD_GRAVITY_MPS2 from trilink.geo.constants.
# =====================================================================================
USSA76_R0_M: float = 6_356_766.0
"""Effective Earth radius r0 for geopotential altitude, m (eq. 18)."""
USSA76_RSTAR_JPKMOLK: float = 8_314.32
"""Universal gas constant R* = 8.31432e3 N·m/(kmol·K) (Table 2)."""
USSA76_M0_KGPKMOL: float = 28.9644
"""Sea-level mean molecular weight M0, kg/kmol (§1.2.4)."""
USSA76_P0_PA: float = 101_325.0
"""Sea-level pressure P0, Pa (Table 2)."""
USSA76_T0_K: float = 288.15
"""Sea-level temperature T0, K (Table 2)."""
USSA76_GAMMA: float = 1.40
"""Ratio of specific heats of air γ (Table 2; eq. 50)."""

# Table 4: base geopotential altitude H_b (m') and molecular-scale temperature
# gradient L_M,b (K/m') of the seven layers b = 0..6; layer 6 ends at Z = 86 km.
_TABLE4_HB_M = (0.0, 11_000.0, 20_000.0, 32_000.0, 47_000.0, 51_000.0, 71_000.0)
_TABLE4_LB_KPM = (-6.5e-3, 0.0, 1.0e-3, 2.8e-3, 0.0, -2.8e-3, -2.0e-3)

# Table 8: M/M0 at geometric altitudes 80.0, 80.5, ..., 86.0 km (linear in between).
# The printed 86 km entry, 0.999579, rounds both Appendix A's M7/M0 = 0.99957908 and
# T7/T_M(86 km) = 0.99957953; we use the latter (computed below) so that the kinetic
# temperature meets T7 at 86 km exactly. The two differ by 4.5e-7.
_TABLE8_Z_M = tuple(80_000.0 + 500.0 * i for i in range(13))
_TABLE8_RATIO_80_TO_85_5 = (
    1.000000,
    0.999996,
    0.999989,
    0.999971,
    0.999941,
    0.999909,
    0.999870,
    0.999829,
    0.999786,
    0.999741,
    0.999694,
    0.999641,
)

# §1.2.5 (eqs. 25-32): the defining kinetic-temperature profile above 86 km.
_Z7_M = 86_000.0  # top of the lower model, m
_T7_K = 186.8673  # T at 86-91 km
_Z8_M = 91_000.0
_Z9_M = 110_000.0
_T9_K = 240.0
_LK9_KPM = 12.0e-3  # dT/dZ on 110-120 km, K/m
_Z10_M = 120_000.0
_T10_K = 360.0
_TINF_K = 1000.0  # exospheric temperature T∞
_LAMBDA_PM = _LK9_KPM / (_TINF_K - _T10_K)  # λ = 0.01875 km⁻¹ (eq. 31)

# Table I (geometric altitude, metric units): printed rows used as extension nodes.
# Density (kg/m³) at 31 altitudes, pp. 68-73 (86-148 km p. 68; 150-225 km p. 69;
# 230-310 km p. 70; 320-460 km p. 71; 480-825 km p. 72; 850-1000 km p. 73). The
# 86 km entry is replaced at import by the lower model's own value (6.95788e-6).
_TABLE1_DENSITY_NODES = (
    # (Z km, ρ kg/m³)
    (86.0, 6.958e-6),
    (90.0, 3.416e-6),
    (95.0, 1.393e-6),
    (98.0, 8.071e-7),
    (100.0, 5.604e-7),
    (102.0, 3.935e-7),
    (104.0, 2.769e-7),
    (106.0, 1.954e-7),
    (108.0, 1.381e-7),
    (110.0, 9.708e-8),
    (112.0, 6.838e-8),
    (114.0, 4.975e-8),
    (116.0, 3.720e-8),
    (118.0, 2.847e-8),
    (120.0, 2.222e-8),
    (130.0, 8.152e-9),
    (140.0, 3.831e-9),
    (150.0, 2.076e-9),
    (175.0, 6.339e-10),
    (200.0, 2.541e-10),
    (225.0, 1.184e-10),
    (250.0, 6.073e-11),
    (300.0, 1.916e-11),
    (340.0, 8.503e-12),
    (400.0, 2.803e-12),
    (500.0, 5.215e-13),
    (600.0, 1.137e-13),
    (700.0, 3.070e-14),
    (800.0, 1.136e-14),
    (900.0, 5.759e-15),
    (1000.0, 3.561e-15),
)
# Table I rows (T K, P Pa, ρ kg/m³) from which the molecular-weight nodes
# M = ρ·R*·T/P are formed (same pages as above; P printed in mb, here ×100).
_TABLE1_TPRHO_NODES = (
    # (Z km, T K, P Pa, ρ kg/m³)
    (90.0, 186.87, 1.8359e-1, 3.416e-6),
    (95.0, 188.42, 7.5966e-2, 1.393e-6),
    (100.0, 195.08, 3.2011e-2, 5.604e-7),
    (110.0, 240.00, 7.1042e-3, 9.708e-8),
    (120.0, 360.00, 2.5382e-3, 2.222e-8),
    (130.0, 469.27, 1.2505e-3, 8.152e-9),
    (150.0, 634.39, 4.5422e-4, 2.076e-9),
    (200.0, 854.56, 8.4736e-5, 2.541e-10),
    (300.0, 976.01, 8.7704e-6, 1.916e-11),
    (400.0, 995.83, 1.4518e-6, 2.803e-12),
    (500.0, 999.24, 3.0236e-7, 5.215e-13),
    (600.0, 999.85, 8.2130e-8, 1.137e-13),
    (700.0, 999.97, 3.1908e-8, 3.070e-14),
    (800.0, 999.99, 1.7036e-8, 1.136e-14),
    (900.0, 1000.00, 1.0873e-8, 5.759e-15),
    (1000.0, 1000.00, 7.5138e-9, 3.561e-15),
)
# =====================================================================================

_BETA_KPM = STANDARD_GRAVITY_MPS2 * USSA76_M0_KGPKMOL / USSA76_RSTAR_JPKMOLK
"""β = g0'·M0/R*, K per geopotential metre (the hydrostatic constant of eq. 33)."""
_R0_SQ = USSA76_R0_M * USSA76_R0_M


@dataclass(frozen=True, slots=True, kw_only=True)
class Atmosphere:
    """State of the U.S. Standard Atmosphere 1976 at the requested altitudes.

    Every field has the shape of the altitude input (0-d for a scalar), float64.
    """

    temperature_k: NDArray[np.float64]
    """Kinetic temperature T, K."""
    pressure_pa: NDArray[np.float64]
    """Pressure P, Pa."""
    density_kgpm3: NDArray[np.float64]
    """Mass density ρ, kg/m³ (identical to :func:`density_kgpm3`)."""
    speed_of_sound_mps: NDArray[np.float64]
    """Speed of sound, m/s (eq. 50 below 86 km; nominal above, see module docstring)."""
    geopotential_alt_m: NDArray[np.float64]
    """Geopotential altitude H = r0·Z/(r0 + Z), geopotential metres (eq. 18)."""


def _geopotential_m(z_m: NDArray[np.float64]) -> NDArray[np.float64]:
    """H = r0·Z/(r0 + Z), written r0 - r0²/(r0 + Z) so that Z = +inf gives H = r0."""
    h = _R0_SQ / (USSA76_R0_M + z_m)
    np.subtract(USSA76_R0_M, h, out=h)
    return h


def _not_a_knot_coefficients(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cubic-spline coefficients (c0, c1, c2, c3) per interval, not-a-knot ends.

    On [x_i, x_i+1], ``y = c0 + c1·t + c2·t² + c3·t³`` with ``t = x - x_i``. The same
    spline as ``scipy.interpolate.CubicSpline(x, y)`` (tested), without importing scipy.
    """
    n = x.size
    dx = np.diff(x)
    slope = np.diff(y) / dx
    a = np.zeros((n, n))
    b = np.zeros(n)
    for i in range(1, n - 1):
        a[i, i - 1] = dx[i]
        a[i, i] = 2.0 * (dx[i - 1] + dx[i])
        a[i, i + 1] = dx[i - 1]
        b[i] = 3.0 * (dx[i] * slope[i - 1] + dx[i - 1] * slope[i])
    d = x[2] - x[0]
    a[0, 0], a[0, 1] = dx[1], d
    b[0] = ((dx[0] + 2.0 * d) * dx[1] * slope[0] + dx[0] ** 2 * slope[1]) / d
    d = x[-1] - x[-3]
    a[-1, -2], a[-1, -1] = d, dx[-2]
    b[-1] = (dx[-1] ** 2 * slope[-2] + (2.0 * d + dx[-1]) * dx[-2] * slope[-1]) / d
    m = np.linalg.solve(a, b)
    c2 = (3.0 * slope - 2.0 * m[:-1] - m[1:]) / dx
    c3 = (m[:-1] + m[1:] - 2.0 * slope) / dx**2
    return np.stack([y[:-1], m[:-1], c2, c3])


def _lower_layer_bases() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Base temperature T_b (K) and density ρ_b (kg/m³) of the seven layers (eq. 33)."""
    t_b = [USSA76_T0_K]
    p_b = [USSA76_P0_PA]
    for b in range(6):
        dh = _TABLE4_HB_M[b + 1] - _TABLE4_HB_M[b]
        lapse = _TABLE4_LB_KPM[b]
        if lapse == 0.0:
            t_next = t_b[b]
            p_next = p_b[b] * math.exp(-_BETA_KPM * dh / t_b[b])
        else:
            t_next = t_b[b] + lapse * dh
            p_next = p_b[b] * (t_b[b] / t_next) ** (_BETA_KPM / lapse)
        t_b.append(t_next)
        p_b.append(p_next)
    t_arr = np.array(t_b)
    rho_arr = np.array(p_b) * USSA76_M0_KGPKMOL / (USSA76_RSTAR_JPKMOLK * t_arr)
    return t_arr, rho_arr


def _build_tables() -> dict[str, NDArray[np.float64]]:
    """Precompute every table the evaluators use (runs once, at import)."""
    hb = np.array(_TABLE4_HB_M)
    lb = np.array(_TABLE4_LB_KPM)
    tb, rhob = _lower_layer_bases()

    # Lower model at exactly Z = 86 km: the anchor of the extension.
    h86 = float(_geopotential_m(np.array([_Z7_M]))[0])
    tm86 = tb[6] + lb[6] * (h86 - hb[6])
    rho86 = rhob[6] * (tb[6] / tm86) ** (1.0 + _BETA_KPM / lb[6])
    ratio86 = _T7_K / tm86

    # Density spline in H through Table I, first node anchored to the lower model.
    z_nodes = np.array([z for z, _ in _TABLE1_DENSITY_NODES]) * 1e3
    h_nodes = _geopotential_m(z_nodes)
    ln_rho = np.log([rho for _, rho in _TABLE1_DENSITY_NODES])
    ln_rho[0] = math.log(rho86)
    spline = _not_a_knot_coefficients(h_nodes, ln_rho)
    dh_last = h_nodes[-1] - h_nodes[-2]
    end_slope = spline[1, -1] + 2.0 * spline[2, -1] * dh_last + 3.0 * spline[3, -1] * dh_last**2

    # Segment table for density: 7 lower layers, 30 spline intervals, 1 tail.
    # Row order: base H, c0, c1, c2, c3, c4, c5 with
    #   ln ρ = c0 + t·(c1 + t·(c2 + t·c3)) + c4·log1p(c5·t),  t = H - base.
    n_seg = 7 + spline.shape[1] + 1
    coef = np.zeros((7, n_seg))
    for b in range(7):
        coef[0, b] = hb[b]
        coef[1, b] = math.log(rhob[b])
        if lb[b] == 0.0:
            coef[2, b] = -_BETA_KPM / tb[b]
        else:
            coef[5, b] = -(1.0 + _BETA_KPM / lb[b])
            coef[6, b] = lb[b] / tb[b]
    coef[0, 7:-1] = h_nodes[:-1]
    coef[1:5, 7:-1] = spline
    coef[0, -1] = h_nodes[-1]
    coef[1, -1] = ln_rho[-1]
    coef[2, -1] = end_slope
    breaks = np.concatenate([hb[1:], h_nodes])  # searchsorted(..., side="right") -> segment

    # Molecular-weight spline in H (anchored at 86 km), constant above 1000 km.
    rows = np.array(_TABLE1_TPRHO_NODES)
    z_m_nodes = np.concatenate([[_Z7_M], rows[:, 0] * 1e3])
    ln_m = np.log(
        np.concatenate(
            [
                [USSA76_M0_KGPKMOL * ratio86],
                rows[:, 3] * USSA76_RSTAR_JPKMOLK * rows[:, 1] / rows[:, 2],
            ]
        )
    )
    h_m_nodes = _geopotential_m(z_m_nodes)
    m_spline = _not_a_knot_coefficients(h_m_nodes, ln_m)
    m_coef = np.zeros((5, m_spline.shape[1] + 1))
    m_coef[0, :-1] = h_m_nodes[:-1]
    m_coef[1:, :-1] = m_spline
    m_coef[0, -1] = h_m_nodes[-1]
    m_coef[1, -1] = ln_m[-1]

    # Ellipse 91-110 km from its defining conditions (Appendix B): T(91) = T7,
    # dT/dZ(91) = 0, T(110) = T9, dT/dZ(110) = L_K,9. Rounded to 4 decimals these are
    # the printed Tc = 263.1905 K, A = -76.3232 K, a = -19.9429 km.
    d = _Z9_M - _Z8_M
    s = (_T9_K - _T7_K) / (_LK9_KPM * d - (_T9_K - _T7_K))
    ellipse_a_k = (_T9_K - _T7_K) / (s - 1.0)
    ellipse_axis_m = -d / math.sqrt(1.0 - s * s)
    ellipse_tc_k = _T7_K - ellipse_a_k

    return {
        "density_breaks": breaks,
        "density_coef": np.ascontiguousarray(coef),
        "lower_hb": hb,
        "lower_tb": tb,
        "lower_lb": lb,
        "table8_z": np.array(_TABLE8_Z_M),
        "table8_ratio": np.array([*_TABLE8_RATIO_80_TO_85_5, ratio86]),
        "m_breaks": h_m_nodes[1:],
        "m_coef": m_coef,
        "ellipse": np.array([ellipse_tc_k, ellipse_a_k, ellipse_axis_m]),
    }


_TABLES = _build_tables()
_DENSITY_BREAKS = _TABLES["density_breaks"]
_DENSITY_COEF = _TABLES["density_coef"]


def _density_from_h(h_m: NDArray[np.float64]) -> NDArray[np.float64]:
    """ρ(H) for a 1-D float64 array of geopotential altitude (hot path; H is consumed)."""
    seg = np.searchsorted(_DENSITY_BREAKS, h_m, side="right")
    base, c0, c1, c2, c3, c4, c5 = _DENSITY_COEF.take(seg, axis=1)
    t = np.subtract(h_m, base, out=h_m)
    y = np.multiply(c3, t, out=c3)
    y += c2
    y *= t
    y += c1
    y *= t
    y += c0
    w = np.multiply(c5, t, out=c5)
    np.log1p(w, out=w)
    w *= c4
    y += w
    return np.exp(y, out=y)


def density_kgpm3(alt_m: ArrayLike) -> NDArray[np.float64]:
    """Mass density of the U.S. Standard Atmosphere 1976, kg/m³.

    Args:
        alt_m: geometric altitude above mean sea level, m, any shape (we pass geodetic
            altitude above WGS-84). NaN gives NaN.

    Returns:
        ρ with the shape of ``alt_m`` (0-d ``ndarray`` for a scalar), float64; the same
        values, bit for bit, as ``ussa1976(alt_m).density_kgpm3``. Exact USSA-1976 below
        86 km (eqs. 18, 33, 42); the Table I spline extension above (within 0.2 % of the
        printed table to 1000 km); see the module docstring.
    """
    z = np.asarray(alt_m, dtype=np.float64)
    return _density_from_h(_geopotential_m(z.ravel())).reshape(z.shape)


def _eval_piecewise(
    x: NDArray[np.float64], breaks: NDArray[np.float64], coef: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Piecewise cubic with rows (base, c0, c1, c2, c3), segment = searchsorted(breaks, x)."""
    seg = np.searchsorted(breaks, x, side="right")
    base, c0, c1, c2, c3 = coef.take(seg, axis=1)
    t = x - base
    return c0 + t * (c1 + t * (c2 + t * c3))


def _upper_temperature_k(z_m: NDArray[np.float64]) -> NDArray[np.float64]:
    """Kinetic temperature for Z >= 86 km, K (eqs. 25-32); continues above 1000 km."""
    tc_k, a_k, axis_m = _TABLES["ellipse"]
    t = np.full(z_m.shape, _T7_K)
    sel = (z_m >= _Z8_M) & (z_m <= _Z9_M)
    t[sel] = tc_k + a_k * np.sqrt(1.0 - ((z_m[sel] - _Z8_M) / axis_m) ** 2)
    sel = (z_m > _Z9_M) & (z_m <= _Z10_M)
    t[sel] = _T9_K + _LK9_KPM * (z_m[sel] - _Z9_M)
    sel = z_m > _Z10_M
    r0_plus_z10 = USSA76_R0_M + _Z10_M
    xi_m = (z_m[sel] - _Z10_M) * r0_plus_z10 / (USSA76_R0_M + z_m[sel])
    t[sel] = _TINF_K - (_TINF_K - _T10_K) * np.exp(-_LAMBDA_PM * xi_m)
    return t


def ussa1976(alt_m: ArrayLike) -> Atmosphere:
    """U.S. Standard Atmosphere 1976 at geometric altitude ``alt_m`` (m, any shape).

    Exact to 86 km (eqs. 18, 33a/b, 42, 50; Tables 4 and 8), a documented
    extension above it to 1000 km and beyond; see the module docstring for equations,
    sources and accuracy. We pass geodetic altitude above WGS-84 as ``alt_m``.

    Returns:
        :class:`Atmosphere` whose fields have the shape of ``alt_m`` (0-d arrays for a
        scalar), float64. NaN altitudes give NaN in every field.
    """
    z_in = np.asarray(alt_m, dtype=np.float64)
    z = z_in.ravel()
    h = _geopotential_m(z)
    rho = _density_from_h(h.copy())

    temperature = np.full(z.shape, np.nan)
    molecular_weight = np.full(z.shape, np.nan)

    low = z < _Z7_M
    if low.any():
        h_low = h[low]
        b = np.searchsorted(_TABLES["lower_hb"][1:], h_low, side="right")
        t_m = _TABLES["lower_tb"][b] + _TABLES["lower_lb"][b] * (h_low - _TABLES["lower_hb"][b])
        ratio = np.interp(z[low], _TABLES["table8_z"], _TABLES["table8_ratio"])
        temperature[low] = t_m * ratio
        molecular_weight[low] = USSA76_M0_KGPKMOL * ratio

    high = z >= _Z7_M
    if high.any():
        temperature[high] = _upper_temperature_k(z[high])
        molecular_weight[high] = np.exp(
            _eval_piecewise(h[high], _TABLES["m_breaks"], _TABLES["m_coef"])
        )

    rt_over_m = USSA76_RSTAR_JPKMOLK * temperature / molecular_weight
    shape = z_in.shape
    return Atmosphere(
        temperature_k=temperature.reshape(shape),
        pressure_pa=(rho * rt_over_m).reshape(shape),
        density_kgpm3=rho.reshape(shape),
        speed_of_sound_mps=np.sqrt(USSA76_GAMMA * rt_over_m).reshape(shape),
        geopotential_alt_m=h.reshape(shape),
    )
