"""Radar measurements as the tracker uses them: converted to ECEF with their covariance.

A detection (range ρ, azimuth α clockwise from north, elevation ε above the local
geodetic horizontal, optional range rate ρ̇) from a site at ``r_site`` with ENU axes
``E = [e; n; u]`` (rows, in ECEF) is the ECEF point

    r = r_site + ρ (sin α cos ε · e + cos α cos ε · n + sin ε · u)

and, to first order, its covariance is ``J diag(σρ², σα², σε²) Jᵀ`` with
``J = ∂r/∂(ρ, α, ε)`` (:func:`polar_jacobian`). The conversion bias (the mean of a
rotated noisy angle falls inside the arc) is ``ρ σ²/2``: < 1 m for the 1,000 km /
1 mrad worst case of our radars, so it is not corrected. Converted measurements make
the position update linear (``H = [I₃ 0]``), so gating, association and the EKF and
UKF updates are the same linear algebra vectorised over tracks × detections. The range
rate, where a radar has one, is a separate scalar update with the analytic row
:func:`range_rate_jacobian`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from trilink.geo.frames import enu_rotation, geodetic_to_ecef

F64 = NDArray[np.float64]


@dataclass(frozen=True, kw_only=True, eq=False)
class SensorSites:
    """The sensors a node owns (the sensors-table contract), as arrays indexed by sensor.

    ``enu_rot[i]`` has rows e, n, u of sensor i's local frame in ECEF.
    """

    sensor_id: tuple[str, ...]
    nation: tuple[str, ...]
    r_ecef_m: F64
    enu_rot: F64
    sigma_range_m: F64
    sigma_az_rad: F64
    sigma_el_rad: F64
    sigma_range_rate_mps: F64

    def index(self, ids: NDArray[np.str_] | Sequence[str]) -> NDArray[np.intp]:
        """Row index of each id (KeyError naming the first unknown one)."""
        lookup = {s: i for i, s in enumerate(self.sensor_id)}
        out = np.empty(len(ids), dtype=np.intp)
        uniq, inv = np.unique(np.asarray(ids, dtype=np.str_), return_inverse=True)
        for j, s in enumerate(uniq.tolist()):
            if s not in lookup:
                raise KeyError(f"unknown sensor_id {s!r}")
            out[inv == j] = lookup[s]
        return out

    def __len__(self) -> int:
        return len(self.sensor_id)

    @classmethod
    def from_table(cls, cols: Mapping[str, NDArray]) -> SensorSites:
        """From sensors-table columns (:func:`trilink.sensors.sensors_table` or a file)."""
        lat = np.radians(np.asarray(cols["lat_deg"], dtype=float))
        lon = np.radians(np.asarray(cols["lon_deg"], dtype=float))
        alt = np.asarray(cols["alt_m"], dtype=float)
        n = lat.size
        rr = cols.get("sigma_range_rate_mps")
        return cls(
            sensor_id=tuple(str(s) for s in cols["sensor_id"]),
            nation=tuple(str(s) for s in cols["nation"]),
            r_ecef_m=np.asarray(geodetic_to_ecef(lat, lon, alt), dtype=float).reshape(n, 3),
            enu_rot=np.asarray(enu_rotation(lat, lon), dtype=float).reshape(n, 3, 3),
            sigma_range_m=np.asarray(cols["sigma_range_m"], dtype=float),
            sigma_az_rad=np.asarray(cols["sigma_az_rad"], dtype=float),
            sigma_el_rad=np.asarray(cols["sigma_el_rad"], dtype=float),
            sigma_range_rate_mps=(
                np.full(n, np.nan) if rr is None else np.asarray(rr, dtype=float)
            ),
        )

    def select(self, nations: Sequence[str]) -> SensorSites:
        """The sensors of some nations only."""
        rows = np.array([i for i, s in enumerate(self.nation) if s in nations], dtype=np.intp)
        return SensorSites(
            sensor_id=tuple(self.sensor_id[i] for i in rows),
            nation=tuple(self.nation[i] for i in rows),
            r_ecef_m=self.r_ecef_m[rows],
            enu_rot=self.enu_rot[rows],
            sigma_range_m=self.sigma_range_m[rows],
            sigma_az_rad=self.sigma_az_rad[rows],
            sigma_el_rad=self.sigma_el_rad[rows],
            sigma_range_rate_mps=self.sigma_range_rate_mps[rows],
        )


def _los_enu(az: F64, el: F64) -> F64:
    ce = np.cos(el)
    return np.stack([np.sin(az) * ce, np.cos(az) * ce, np.sin(el)], axis=-1)


def polar_to_ecef(r_site_ecef_m: F64, enu_rot: F64, range_m: F64, az_rad: F64, el_rad: F64) -> F64:
    """ECEF points (N, 3) of detections; ``enu_rot`` (N, 3, 3) rows e, n, u."""
    u_enu = _los_enu(az_rad, el_rad) * np.asarray(range_m, dtype=float)[:, None]
    return r_site_ecef_m + np.einsum("nij,ni->nj", enu_rot, u_enu)


def polar_jacobian(enu_rot: F64, range_m: F64, az_rad: F64, el_rad: F64) -> F64:
    """∂r_ecef/∂(range, az, el), (N, 3, 3); columns are the three partials."""
    sa, ca = np.sin(az_rad), np.cos(az_rad)
    se, ce = np.sin(el_rad), np.cos(el_rad)
    rg = np.asarray(range_m, dtype=float)
    d_enu = np.empty((sa.size, 3, 3))
    d_enu[:, :, 0] = np.stack([sa * ce, ca * ce, se], axis=-1)
    d_enu[:, :, 1] = np.stack([rg * ca * ce, -rg * sa * ce, np.zeros_like(rg)], axis=-1)
    d_enu[:, :, 2] = np.stack([-rg * sa * se, -rg * ca * se, rg * ce], axis=-1)
    # ECEF = Eᵀ · enu  →  J_ecef = Eᵀ J_enu
    return np.einsum("nki,nkj->nij", enu_rot, d_enu)


def converted_measurements(
    r_site_ecef_m: F64,
    enu_rot: F64,
    range_m: F64,
    az_rad: F64,
    el_rad: F64,
    sigma_range_m: F64,
    sigma_az_rad: F64,
    sigma_el_rad: F64,
) -> tuple[F64, F64]:
    """ECEF positions (N, 3) and their covariances (N, 3, 3) of polar detections."""
    z = polar_to_ecef(r_site_ecef_m, enu_rot, range_m, az_rad, el_rad)
    J = polar_jacobian(enu_rot, range_m, az_rad, el_rad)
    var = np.stack([sigma_range_m**2, sigma_az_rad**2, sigma_el_rad**2], axis=-1)
    Rz = np.einsum("nij,nj,nkj->nik", J, var, J)
    return z, Rz


def range_rate(x: F64, r_site_ecef_m: F64) -> F64:
    """Range rate of states (N, ≥6) seen from sites (N, 3), m/s (ECEF: the sites are fixed)."""
    d = x[:, 0:3] - r_site_ecef_m
    return np.einsum("ni,ni->n", d, x[:, 3:6]) / np.linalg.norm(d, axis=1)


def range_rate_jacobian(x: F64, r_site_ecef_m: F64, n_state: int) -> F64:
    """∂ρ̇/∂x, (N, n_state): ∂/∂r = (v − ρ̇ û)/ρ, ∂/∂v = û."""
    d = x[:, 0:3] - r_site_ecef_m
    rho = np.linalg.norm(d, axis=1)
    u = d / rho[:, None]
    rr = np.einsum("ni,ni->n", u, x[:, 3:6])
    H = np.zeros((x.shape[0], n_state))
    H[:, 0:3] = (x[:, 3:6] - rr[:, None] * u) / rho[:, None]
    H[:, 3:6] = u
    return H


def chi2_gate(dof: int, probability: float) -> float:
    """χ² quantile: the gate that keeps ``probability`` of correct detections."""
    from scipy.stats import chi2

    if not (0.0 < probability < 1.0):
        raise ValueError(f"gate probability must be in (0, 1), got {probability!r}")
    return float(chi2.ppf(probability, dof))
