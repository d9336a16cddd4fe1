"""Sensor registration at the hub: each partner radar's range, azimuth and elevation bias.

A radar whose detections carry a constant bias b = (δρ, δα, δε) (m, rad, rad; the
measured value is the true one plus b) pulls the national track that follows it by,
to first order,

    Δr_ecef ≈ J(ρ, α, ε) b,      J = ∂r_ecef/∂(ρ, α, ε)

(:func:`trilink.tracking.measurement.polar_jacobian` at the target's polar
coordinates from that radar). The hub observes Δ as the difference between the
report of the node (attributed to that radar) and the fused picture of the *other*
nations for the same system track (:func:`leave_one_out_references`, fast CI), and
runs one Kalman filter per sensor on b:

* state b (3), prior ``N(0, diag(σ₀²))``; random-walk process noise ``q`` per second
  (biases drift slowly);
* measurement ``Δ = J b + e``, ``e ~ N(0, κ (P_report + P_reference) + F)`` with the
  position blocks of the two covariances, a floor F and a decorrelation factor κ ≥ 1:
  tracker errors are correlated from epoch to epoch over about a filter time
  constant, so κ (≈ the number of epochs per independent error sample) keeps the
  filter from treating each epoch as new information.

**Pairing before the bias is known.** A 0.2° azimuth bias moves a track ~3.5 km at
1,000 km, outside the hub's association gate, so the biased node's report and the
others' track of the same object often sit on different system tracks and
:func:`leave_one_out_references` finds nothing. :class:`Registration` therefore keeps,
for each nation that owns a registered sensor, a reference :class:`~trilink.fusion.Fuser`
fed only the *other* nations' reports, and pairs the nation's attributed reports with
that reference by :func:`pair_for_registration`: a χ² gate (6 dof) on the position and
velocity difference with the bias's own uncertainty in it,

    Δ = x_report − x_ref − [J b̂; 0],   S = P_report + P_ref + [J P_b Jᵀ, 0; 0, 0] + F,

then the optimal one-to-one assignment, and a pair is kept only if no other report or
reference is within ``ambiguity_margin`` of its d² (the bias is shared by every object
a radar sees, so a pair it cannot tell from another is not needed). The gate starts as
wide as the prior (1° → ~17 km at 1,000 km) and closes as the estimate converges.

The sensor sites are known to the hub under each bilateral arrangement
(:class:`trilink.tracking.measurement.SensorSites`); they and the estimates go back
only to the owning nation. The nation corrects its detections with
:func:`correct_detections` (``ρ − δρ, α − δα, ε − δε``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.stats import chi2

from trilink.fusion.fuser import Fuser, FuserConfig, SystemTracks
from trilink.fusion.predict import predict
from trilink.fusion.reports import TrackReports
from trilink.fusion.rules import covariance_intersection
from trilink.sensors.detection import DetectionBatch
from trilink.tracking.measurement import SensorSites, polar_jacobian

F64 = NDArray[np.float64]


def polar_from_ecef(r_site_ecef_m: F64, enu_rot: F64, r_ecef_m: F64) -> tuple[F64, F64, F64]:
    """Range m, azimuth rad (clockwise from north, in [0, 2π)) and elevation rad of
    points (N, 3) from sites (N, 3) with ENU rotations (N, 3, 3) (rows e, n, u)."""
    d_enu = np.einsum("nij,nj->ni", enu_rot, np.asarray(r_ecef_m, float) - r_site_ecef_m)
    rng = np.linalg.norm(d_enu, axis=1)
    az = np.mod(np.arctan2(d_enu[:, 0], d_enu[:, 1]), 2.0 * np.pi)
    el = np.arcsin(np.clip(d_enu[:, 2] / rng, -1.0, 1.0))
    return rng, az, el


def bias_jacobian(r_site_ecef_m: F64, enu_rot: F64, r_ecef_m: F64) -> F64:
    """∂r_ecef/∂(range, az, el) at points (N, 3) seen from sites: (N, 3, 3)."""
    rng, az, el = polar_from_ecef(r_site_ecef_m, enu_rot, r_ecef_m)
    return polar_jacobian(enu_rot, rng, az, el)


@dataclass(frozen=True, kw_only=True)
class SensorBias:
    """One sensor's bias estimate: (range m, azimuth rad, elevation rad) and 1σ."""

    sensor_id: str
    bias: tuple[float, float, float]
    sigma: tuple[float, float, float]
    n_updates: int

    @property
    def azimuth_deg(self) -> float:
        return math.degrees(self.bias[1])


@dataclass(frozen=True, kw_only=True)
class RegistrationConfig:
    """Noise model of the per-sensor bias filters (module docstring)."""

    prior_sigma_range_m: float = 500.0
    prior_sigma_angle_rad: float = math.radians(1.0)
    q_range_m2ps: float = 1e-4
    q_angle_rad2ps: float = 1e-14
    decorrelation: float = 10.0
    floor_position_m: float = 30.0
    max_residual_m: float = 20_000.0
    """Residuals larger than this are association errors, not bias: skipped."""


@dataclass
class _Filter:
    b: F64 = field(default_factory=lambda: np.zeros(3))
    P: F64 = field(default_factory=lambda: np.eye(3))
    t: float = -math.inf
    n: int = 0


class BiasEstimator:
    """Per-sensor Kalman filters on (δρ, δα, δε) (module docstring)."""

    def __init__(self, sites: SensorSites, config: RegistrationConfig | None = None) -> None:
        self.sites = sites
        self.cfg = config or RegistrationConfig()
        c = self.cfg
        self._P0 = np.diag(
            [c.prior_sigma_range_m**2, c.prior_sigma_angle_rad**2, c.prior_sigma_angle_rad**2]
        )
        self._q = np.array([c.q_range_m2ps, c.q_angle_rad2ps, c.q_angle_rad2ps])
        self._f: dict[str, _Filter] = {}

    def update(
        self,
        time_s: float,
        sensor_id: NDArray[np.str_],
        r_report_ecef_m: F64,
        P_report: F64,
        r_reference_ecef_m: F64,
        P_reference: F64,
    ) -> None:
        """Residual pairs (N rows, position blocks (N, 3, 3)) at one epoch; rows whose
        sensor is '' or not one of ``sites`` are ignored."""
        c = self.cfg
        sid = np.asarray(sensor_id, dtype=np.str_)
        known = np.isin(sid, np.array(self.sites.sensor_id, dtype=np.str_))
        dr = np.asarray(r_report_ecef_m, float) - np.asarray(r_reference_ecef_m, float)
        known &= np.linalg.norm(dr, axis=1) <= c.max_residual_m
        rows = np.flatnonzero(known)
        if rows.size == 0:
            return
        idx = self.sites.index(sid[rows])
        J = bias_jacobian(
            self.sites.r_ecef_m[idx], self.sites.enu_rot[idx], r_reference_ecef_m[rows]
        )
        R = c.decorrelation * (P_report[rows] + P_reference[rows])
        R = R + np.eye(3) * c.floor_position_m**2
        for s in np.unique(sid[rows]).tolist():
            k = np.flatnonzero(sid[rows] == s)
            f = self._f.setdefault(s, _Filter(P=self._P0.copy()))
            if math.isfinite(f.t) and time_s > f.t:
                f.P = f.P + np.diag(self._q * (time_s - f.t))
            f.t = time_s
            # stack this sensor's rows into one linear update: Δ = J b + e
            H = J[k].reshape(-1, 3)
            Rb = np.zeros((3 * k.size, 3 * k.size))
            for j in range(k.size):
                Rb[3 * j : 3 * j + 3, 3 * j : 3 * j + 3] = R[k[j]]
            z = dr[rows[k]].reshape(-1)
            S = H @ f.P @ H.T + Rb
            K = np.linalg.solve(S, H @ f.P).T
            f.b = f.b + K @ (z - H @ f.b)
            IKH = np.eye(3) - K @ H
            f.P = IKH @ f.P @ IKH.T + K @ Rb @ K.T
            f.n += k.size

    def estimate(self, sensor_id: str) -> SensorBias:
        """The current estimate (the prior if the sensor had no residuals)."""
        f = self._f.get(sensor_id, _Filter(P=self._P0.copy()))
        sd = np.sqrt(np.diag(f.P))
        return SensorBias(
            sensor_id=sensor_id,
            bias=(float(f.b[0]), float(f.b[1]), float(f.b[2])),
            sigma=(float(sd[0]), float(sd[1]), float(sd[2])),
            n_updates=f.n,
        )

    def state(self, sensor_id: str) -> tuple[F64, F64]:
        """Copies of the filter's mean (3,) and covariance (3, 3) (the prior if none)."""
        f = self._f.get(sensor_id)
        if f is None:
            return np.zeros(3), self._P0.copy()
        return f.b.copy(), f.P.copy()

    def estimates(self) -> dict[str, SensorBias]:
        return {s: self.estimate(s) for s in sorted(self._f)}


def leave_one_out_references(
    reports: TrackReports, global_track_number: NDArray[np.int64], fused: NDArray[np.bool_]
) -> tuple[NDArray[np.intp], F64, F64]:
    """For each fused report whose system track has fused reports of other nations:
    (rows, reference states (K, 6), covariances (K, 6, 6)) — the fast-CI fusion of the
    *other* nations' reports on the same system track at this epoch."""
    rows = np.flatnonzero(fused & (global_track_number >= 0))
    if rows.size < 2:
        return np.empty(0, dtype=np.intp), np.empty((0, 6)), np.empty((0, 6, 6))
    g = global_track_number[rows]
    same = (g[:, None] == g[None, :]) & (
        reports.nation[rows][:, None] != reports.nation[rows][None, :]
    )
    has = same.any(axis=1)
    if not np.any(has):
        return np.empty(0, dtype=np.intp), np.empty((0, 6)), np.empty((0, 6, 6))
    sel = np.flatnonzero(has)
    X = np.broadcast_to(reports.state[rows][None], (sel.size, rows.size, 6))
    PP = np.broadcast_to(reports.covariance[rows][None], (sel.size, rows.size, 6, 6))
    x, P = covariance_intersection(X, PP, same[sel])
    return rows[sel], x, P


def report_sensors(
    track_id: NDArray[np.int64],
    time_s: F64,
    assignments: NDArray[np.int64],
    detections: DetectionBatch,
    *,
    window_s: float = 10.0,
    min_share: float = 0.8,
) -> NDArray[np.str_]:
    """The sensor a national node attributes each of its track reports to: the radar
    that gave at least ``min_share`` of the track's updates in the ``window_s`` before
    the report ('' if none did). ``assignments`` is the tracker's (track_id, detection
    row) log (:class:`trilink.tracking.tracker.TrackOutput`)."""
    tid = np.asarray(track_id, dtype=np.int64)
    t = np.asarray(time_s, dtype=float)
    out = np.full(tid.size, "", dtype=object)
    a_tid, a_row = assignments[:, 0], assignments[:, 1]
    a_t = detections.time_s[a_row]
    a_sid = detections.sensor_id[a_row]
    for k in np.unique(tid).tolist():
        mine = np.flatnonzero(a_tid == k)
        rep = np.flatnonzero(tid == k)
        if mine.size == 0:
            continue
        order = mine[np.argsort(a_t[mine], kind="stable")]
        at, asid = a_t[order], a_sid[order]
        lo = np.searchsorted(at, t[rep] - window_s, side="right")
        hi = np.searchsorted(at, t[rep], side="right")
        sensors, code = np.unique(asid, return_inverse=True)
        cum = np.zeros((at.size + 1, sensors.size))
        cum[1:] = np.cumsum(np.eye(sensors.size)[code], axis=0)
        counts = cum[hi] - cum[lo]
        tot = counts.sum(axis=1)
        best = np.argmax(counts, axis=1)
        ok = (tot > 0) & (counts[np.arange(rep.size), best] >= min_share * np.maximum(tot, 1))
        out[rep[ok]] = sensors[best[ok]]
    return out.astype(np.str_)


def correct_detections(
    detections: DetectionBatch, sensor_id: str, bias: SensorBias | tuple[float, float, float]
) -> tuple[F64, F64, F64]:
    """Range m, azimuth rad and elevation rad of every detection with the bias of
    ``sensor_id`` removed from that sensor's rows (other rows unchanged):
    ``ρ − δρ``, ``(α − δα) mod 2π``, ``ε − δε``."""
    b = bias.bias if isinstance(bias, SensorBias) else tuple(float(v) for v in bias)
    mine = detections.sensor_id == sensor_id
    rng = np.where(mine, detections.range_m - b[0], detections.range_m)
    az = np.where(mine, np.mod(detections.az_rad - b[1], 2.0 * np.pi), detections.az_rad)
    el = np.where(mine, detections.el_rad - b[2], detections.el_rad)
    return rng, az, el


def with_corrections(
    detections: DetectionBatch, sensor_id: str, bias: SensorBias | tuple[float, float, float]
) -> DetectionBatch:
    """A new batch with :func:`correct_detections` applied (everything else unchanged)."""
    rng, az, el = correct_detections(detections, sensor_id, bias)
    return replace(detections, range_m=rng, az_rad=az, el_rad=el)


@dataclass(frozen=True, kw_only=True)
class PairingConfig:
    """The loose report-to-reference pairing of :func:`pair_for_registration`."""

    gate_probability: float = 0.9999
    """χ²(6) gate on the bias-compensated 6-state difference."""
    floor_position_m: float = 300.0
    floor_velocity_mps: float = 30.0
    """σ per axis added to S: model errors, and the velocity the bias rotates
    (δα |v| ≈ 10 m/s for 0.2° at 3 km/s), which the position-only J leaves out."""
    ambiguity_margin: float = 16.0
    """A pair is kept only if every other candidate of its report and of its reference
    is at least this much farther in d² (4σ)."""

    def __post_init__(self) -> None:
        if not (0.0 < self.gate_probability < 1.0):
            raise ValueError(
                f"PairingConfig.gate_probability must be in (0, 1), got {self.gate_probability!r}"
            )
        if self.ambiguity_margin < 0.0:
            raise ValueError(
                f"PairingConfig.ambiguity_margin must be >= 0, got {self.ambiguity_margin!r}"
            )


def pair_for_registration(
    x_report: F64,
    P_report: F64,
    jacobian: F64,
    x_reference: F64,
    P_reference: F64,
    bias: F64,
    P_bias: F64,
    config: PairingConfig | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Unambiguous one-to-one pairs (report rows, reference rows) of N reports (6-states
    (N, 6), covariances (N, 6, 6), bias Jacobians (N, 3, 3) at the reports) of one
    sensor and M reference tracks ((M, 6), (M, 6, 6)), given the current bias estimate
    ``bias`` (3,) with covariance ``P_bias`` (3, 3) (module docstring)."""
    c = config or PairingConfig()
    xr = np.asarray(x_report, dtype=float).reshape(-1, 6)
    xf = np.asarray(x_reference, dtype=float).reshape(-1, 6)
    n, m = xr.shape[0], xf.shape[0]
    none = np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    if n == 0 or m == 0:
        return none
    J = np.asarray(jacobian, dtype=float).reshape(n, 3, 3)
    b = np.asarray(bias, dtype=float).reshape(3)
    Pb = np.asarray(P_bias, dtype=float).reshape(3, 3)
    shifted = xr.copy()
    shifted[:, 0:3] -= J @ b  # the report with the current bias estimate removed
    S_rep = np.asarray(P_report, dtype=float).reshape(n, 6, 6).copy()
    S_rep[:, 0:3, 0:3] += J @ Pb @ np.swapaxes(J, 1, 2)
    floor = np.array([c.floor_position_m**2] * 3 + [c.floor_velocity_mps**2] * 3)
    S = S_rep[:, None] + np.asarray(P_reference, dtype=float).reshape(m, 6, 6)[None]
    S[..., np.arange(6), np.arange(6)] += floor
    dx = shifted[:, None, :] - xf[None, :, :]
    d2 = np.einsum("nmi,nmi->nm", dx, np.linalg.solve(S, dx[..., None])[..., 0])
    gate = float(chi2.ppf(c.gate_probability, 6))
    inside = d2 <= gate
    if not inside.any():
        return none
    big = 1e18
    a, k = linear_sum_assignment(np.where(inside, d2, big))
    ok = inside[a, k]
    a, k = a[ok], k[ok]
    keep = np.ones(a.size, dtype=bool)
    for j, (i, r) in enumerate(zip(a.tolist(), k.tolist(), strict=True)):
        others = np.concatenate([np.delete(d2[i], r), np.delete(d2[:, r], i)])
        keep[j] = others.size == 0 or float(others.min()) >= d2[i, r] + c.ambiguity_margin
    return a[keep].astype(np.intp), k[keep].astype(np.intp)


@dataclass(frozen=True, kw_only=True)
class RegistrationStep:
    """One epoch's bias-filter update of one sensor (for convergence plots)."""

    time_s: float
    estimate: SensorBias
    n_pairs: int


class Registration:
    """The hub's registration over time (module docstring, "Pairing before the bias is
    known"): leave-one-nation-out reference fusers, :func:`pair_for_registration`, and a
    :class:`BiasEstimator` per sensor of ``sites``. Feed every epoch's reports (all
    nations, ``sensor_id`` filled by the nations, :func:`report_sensors`)."""

    def __init__(
        self,
        sites: SensorSites,
        *,
        config: RegistrationConfig | None = None,
        pairing: PairingConfig | None = None,
        fuser_config: FuserConfig | None = None,
    ) -> None:
        self.sites = sites
        self.estimator = BiasEstimator(sites, config)
        self.pairing = pairing or PairingConfig()
        # per nation owning a sensor of ``sites``: a fuser of the other nations only
        self._reference = {n: Fuser(fuser_config) for n in sorted(set(sites.nation))}
        self.history: list[RegistrationStep] = []
        self.last_reference: dict[str, SystemTracks] = {}

    def update(self, reports: TrackReports, time_s: float) -> None:
        """One epoch: feed the reference fusers, pair, update the bias filters."""
        t = float(time_s)
        for nation, fuser in self._reference.items():
            others = reports.select(reports.nation != nation)
            ref = fuser.update(others, time_s=t)
            self.last_reference[nation] = ref
            mine = np.flatnonzero(
                (reports.nation == nation)
                & np.isin(reports.sensor_id, np.array(self.sites.sensor_id, dtype=np.str_))
            )
            if mine.size == 0 or len(ref) == 0:
                continue
            rep = reports.select(mine)
            x, P = rep.state, rep.covariance
            if np.any(rep.time_s != t):
                x, P = predict(x, P, t - rep.time_s, q_m2ps3=fuser.cfg.q_m2ps3)
            for sensor in np.unique(rep.sensor_id).tolist():
                rows = np.flatnonzero(rep.sensor_id == sensor)
                idx = self.sites.index([sensor] * rows.size)
                J = bias_jacobian(self.sites.r_ecef_m[idx], self.sites.enu_rot[idx], x[rows, 0:3])
                b, Pb = self.estimator.state(sensor)
                i, k = pair_for_registration(
                    x[rows], P[rows], J, ref.state, ref.covariance, b, Pb, self.pairing
                )
                if i.size == 0:
                    continue
                r = rows[i]
                self.estimator.update(
                    t,
                    np.array([sensor] * r.size, dtype=np.str_),
                    x[r, 0:3],
                    P[r, 0:3, 0:3],
                    ref.state[k, 0:3],
                    ref.covariance[k, 0:3, 0:3],
                )
                self.history.append(
                    RegistrationStep(
                        time_s=t, estimate=self.estimator.estimate(sensor), n_pairs=int(r.size)
                    )
                )

    def estimate(self, sensor_id: str) -> SensorBias:
        """The current estimate of one sensor (the prior if it had no pairs)."""
        return self.estimator.estimate(sensor_id)
