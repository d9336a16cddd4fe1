"""Sensor registration at the hub: report attribution, the loose pairing, the
:class:`Registration` loop, and the acceptance on the seed scenario (slow).

Acceptance (slow): with +0.2° injected into the azimuth of every detection of one
radar (false alarms too), the hub's estimate converges to within 0.02° and the fused
warhead accuracy after correcting that radar's detections is within 10 % of the
unbiased case. Two radars are tested: ``aegis-kr-gangneung`` (Korea's only radar on
the stage-2 body from ~720 s to ~1,120 s and on the warhead and stage 3 after ~2,090 s,
while the US and Japan track them) and ``tpy2-shariki`` (the US's only radar after
~500 s: stage 3, the warhead and ~20 debris bodies from ~1,760 s, which Japan also
tracks).

Fused warhead accuracy (documented metric): every system-track row whose nearest
truth object (truth from ``RunResult.flights``) within ``GATE_M`` is ``T1-warhead``
(the object of kind ``warhead``; before separation it is the whole stack) counts
with its 3-D position error; RMSE over all of them. A duplicate system track a bias
leaves on the warhead therefore counts too.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import chi2

from trilink.fusion import FuserConfig, TrackReports, fuse_run
from trilink.fusion.predict import predict
from trilink.fusion.registration import (
    PairingConfig,
    Registration,
    bias_jacobian,
    pair_for_registration,
    report_sensors,
    with_corrections,
)
from trilink.geo.frames import geodetic_to_ecef
from trilink.sensors.detection import DetectionBatch, sensors_table
from trilink.tracking.measurement import SensorSites
from trilink.tracking.tracker import Tracker

BIAS_RAD = math.radians(0.2)
TOL_RAD = math.radians(0.02)
GATE_M = 10_000.0


# -- fast: report attribution ---------------------------------------------------------
def _batch(times: list[float], sensors: list[str]) -> DetectionBatch:
    n = len(times)
    z = np.zeros(n)
    return DetectionBatch.from_arrays(
        object_ids=[""] * n,
        sensor_id=np.array(sensors, dtype=np.str_),
        is_false_alarm=np.zeros(n, bool),
        time_s=np.array(times, float),
        range_m=z + 1e6,
        az_rad=z,
        el_rad=z + 0.1,
        range_rate_mps=z,
        snr_db=z + 20.0,
        sigma_range_m=z + 10.0,
        sigma_az_rad=z + 1e-4,
        sigma_el_rad=z + 1e-4,
        sigma_range_rate_mps=z + 1.0,
    )


def test_report_sensors_on_a_hand_made_assignment_log() -> None:
    # track 1: radar a at 0..9 s, radar b at 10..19 s; track 3: a 9 times, b once
    # (share 0.9); track 2 has no updates
    times = [float(k) for k in range(20)] + [float(k) for k in range(10)]
    sensors = ["a"] * 10 + ["b"] * 10 + ["a"] * 9 + ["b"]
    det = _batch(times, sensors)
    order = np.argsort(np.array(times), kind="stable")  # from_arrays sorts rows by time
    row_of = np.empty(len(times), dtype=np.int64)
    row_of[order] = np.arange(len(times))
    tid = [1] * 20 + [3] * 10
    log = np.column_stack([tid, row_of]).astype(np.int64)
    # reports: (track, time) → expected sensor
    cases = [
        (1, 9.0, "a"),  # window (-1, 9]: a only
        (1, 19.0, "b"),  # (9, 19]: b only
        (1, 14.0, ""),  # (4, 14]: five a, five b: no single sensor
        (1, 17.5, "b"),  # (7.5, 17.5]: a at 8, 9 (2) and b at 10..17 (8): share 0.8
        (1, 40.0, ""),  # no update in the window
        (2, 5.0, ""),  # a track with no updates at all
        (3, 9.5, "a"),  # nine a, one b: share 0.9
        (1, -1.0, ""),  # before the first update
    ]
    got = report_sensors(np.array([c[0] for c in cases]), np.array([c[1] for c in cases]), log, det)
    assert got.tolist() == [c[2] for c in cases]
    strict = report_sensors(np.array([3]), np.array([9.5]), log, det, min_share=0.95)
    assert strict.tolist() == [""]


# -- fast: pairing -------------------------------------------------------------------------
def _site() -> SensorSites:
    return SensorSites.from_table(
        {
            "sensor_id": np.array(["r1"]),
            "nation": np.array(["KR"]),
            "lat_deg": np.array([37.9]),
            "lon_deg": np.array([129.3]),
            "alt_m": np.array([50.0]),
            "sigma_range_m": np.array([20.0]),
            "sigma_az_rad": np.array([2e-4]),
            "sigma_el_rad": np.array([2e-4]),
        }
    )


def _objects(n: int, spacing_m: float, t: np.ndarray) -> np.ndarray:
    """(T, n, 6) ballistic states ~900 km from the site, ``spacing_m`` apart."""
    r0 = np.asarray(
        geodetic_to_ecef(np.radians([40.0]), np.radians([139.0]), np.array([600e3]))
    ).reshape(3)
    x0 = np.zeros((n, 6))
    x0[:, :3] = r0 + np.arange(n)[:, None] * np.array([0.0, spacing_m, 0.0])
    x0[:, 3:] = [1500.0, -1000.0, 500.0]
    P0 = np.repeat(np.eye(6)[None], n, 0)
    return np.stack([predict(x0, P0, float(tk), q_m2ps3=0.0)[0] for tk in t])


def _jac(site: SensorSites, r: np.ndarray) -> np.ndarray:
    n = r.shape[0]
    return bias_jacobian(np.repeat(site.r_ecef_m, n, 0), np.repeat(site.enu_rot, n, 0), r)


def test_pairing_finds_biased_pairs_the_hub_gate_misses() -> None:
    site = _site()
    truth = _objects(3, 40e3, np.array([0.0]))[0]
    J = _jac(site, truth[:, :3])
    b = np.array([0.0, BIAS_RAD, 0.0])
    P = np.repeat(np.diag([100.0**2] * 3 + [5.0**2] * 3)[None], 3, 0)
    report = truth.copy()
    report[:, :3] += J @ b
    shift = np.linalg.norm(report[:, :3] - truth[:, :3], axis=1)
    assert np.all(shift > 2_500.0)  # 0.2° at ~900 km
    # the hub's association gate (FuserConfig defaults) rejects every true pair
    c = FuserConfig()
    S = 2 * P[0] + np.diag([c.floor_position_m**2] * 3 + [c.floor_velocity_mps**2] * 3)
    report_floor = getattr(c, "report_floor_position_m", 0.0)  # added to each report
    S[np.arange(3), np.arange(3)] += 2 * report_floor**2
    d = report - truth
    d2 = np.einsum("ni,ij,nj->n", d, np.linalg.inv(S), d)
    assert np.all(d2 > chi2.ppf(c.gate_probability, 6))
    # the registration pairing, with the prior bias uncertainty (1°), finds them
    order = np.array([2, 0, 1])
    i, k = pair_for_registration(
        report, P, J, truth[order], P[order], np.zeros(3), np.diag([1e-2, 1.7e-2**2, 1.7e-2**2])
    )
    assert sorted(zip(i.tolist(), order[k].tolist(), strict=True)) == [(0, 0), (1, 1), (2, 2)]


def test_pairing_drops_ambiguous_pairs_until_the_bias_is_known() -> None:
    site = _site()
    truth = _objects(2, 1_500.0, np.array([0.0]))[0]  # two bodies 1.5 km apart
    J = _jac(site, truth[:, :3])
    b = np.array([0.0, BIAS_RAD, 0.0])
    P = np.repeat(np.diag([50.0**2] * 3 + [2.0**2] * 3)[None], 2, 0)
    report = truth.copy()
    report[:, :3] += J @ b
    wide = np.diag([500.0**2, math.radians(1.0) ** 2, math.radians(1.0) ** 2])
    i, _ = pair_for_registration(report, P, J, truth, P, np.zeros(3), wide)
    assert i.size == 0  # the bias could explain either pairing
    known = np.diag([1.0, math.radians(0.002) ** 2, math.radians(0.002) ** 2])
    i, k = pair_for_registration(report, P, J, truth, P, b, known)
    assert i.tolist() == [0, 1] and k.tolist() == [0, 1]
    # and a reference with nothing near the report gives no pair at all
    far = truth.copy()
    far[:, :3] += 500e3
    i, _ = pair_for_registration(report, P, J, far, P, b, known)
    assert i.size == 0
    with pytest.raises(ValueError, match="ambiguity_margin"):
        PairingConfig(ambiguity_margin=-1.0)


def test_registration_loop_converges_on_a_purpose_built_geometry() -> None:
    """KR reports three bodies through a biased radar, JP the same bodies unbiased:
    the reference fuser, the pairing and the filter give 0.2° ± 0.02°."""
    rng = np.random.default_rng(21)
    site = _site()
    t = np.arange(0.0, 120.0)
    truth = _objects(3, 20e3, t)
    b = np.array([0.0, BIAS_RAD, 0.0])
    sig = 60.0
    P = np.diag([sig**2] * 3 + [3.0**2] * 3)
    reg = Registration(site)
    for k, tk in enumerate(t):
        J = _jac(site, truth[k, :, :3])
        kr = truth[k].copy()
        kr[:, :3] += J @ b + rng.normal(size=(3, 3)) * sig
        jp = truth[k] + rng.normal(size=(3, 6)) * np.sqrt(np.diag(P))
        reports = TrackReports.concatenate(
            [
                TrackReports.from_arrays(
                    nation="KR",
                    track_id=[1, 2, 3],
                    time_s=np.full(3, tk),
                    state=kr,
                    covariance=np.repeat(P[None], 3, 0),
                    sensor_id=["r1"] * 3,
                ),
                TrackReports.from_arrays(
                    nation="JP",
                    track_id=[7, 8, 9],
                    time_s=np.full(3, tk),
                    state=jp,
                    covariance=np.repeat(P[None], 3, 0),
                ),
            ]
        )
        reg.update(reports, float(tk))
    est = reg.estimate("r1")
    assert abs(est.bias[1] - BIAS_RAD) <= TOL_RAD, f"azimuth {est.azimuth_deg:.4f}°"
    assert abs(est.bias[1] - BIAS_RAD) <= 4.0 * est.sigma[1]
    assert est.n_updates >= 3 * (t.size - 5)
    assert reg.history[-1].n_pairs == 3


# -- slow: the seed scenario ---------------------------------------------------------------
def _sites(sensors, nation: str) -> SensorSites:
    return SensorSites.from_table(sensors_table([s for s in sensors if s.nation == nation]))


def _track(run, det: DetectionBatch, nation: str):
    ids = [s.sensor_id for s in run.sensors if s.nation == nation]
    mine = det.select(np.isin(det.sensor_id, ids))
    out = Tracker(_sites(run.sensors, nation)).run(
        mine, t_end_s=run.scenario.spec.scenario.duration_s
    )
    return mine, out


def _warhead_errors(run, tracks) -> tuple[np.ndarray, np.ndarray]:
    """(epoch s, position error m) of every fused row on the warhead (module docstring)."""
    out = fuse_run({n: o.columns for n, (_, o) in tracks.items()})
    t = np.concatenate([np.full(len(o), o.time_s) for o in out])
    x = np.concatenate([o.state[:, :3] for o in out])
    objs = [o for f in run.flights for o in f.objects]
    wi = next(i for i, o in enumerate(objs) if o.kind.value == "warhead")
    d = np.full((t.size, len(objs)), np.inf)
    for j, o in enumerate(objs):
        live = (t >= o.t_s[0]) & (t <= o.t_s[-1])
        if live.any():
            d[live, j] = np.linalg.norm(x[live] - o.states_at(t[live])[:, :3], axis=1)
    m = (d.argmin(axis=1) == wi) & (d.min(axis=1) < GATE_M)
    return t[m], d[m, wi]


def _rmse(e: np.ndarray) -> float:
    return float(np.sqrt(np.mean(e**2)))


@pytest.fixture(scope="module")
def seed():
    from trilink.scenario.build import get_scenario
    from trilink.sim.run import run_scenario

    run = run_scenario(get_scenario(None))
    unbiased = {n: _track(run, run.detections, n) for n in ("JP", "KR", "US")}
    return run, unbiased, _warhead_errors(run, unbiased)[1]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("nation", "radar"), [("KR", "aegis-kr-gangneung"), ("US", "tpy2-shariki")]
)
def test_registration_on_the_seed(seed, nation: str, radar: str) -> None:
    run, unbiased, e_unbiased = seed
    det = run.detections
    mine = det.sensor_id == radar
    biased_det = replace(
        det, az_rad=np.where(mine, np.mod(det.az_rad + BIAS_RAD, 2 * np.pi), det.az_rad)
    )
    biased = dict(unbiased)
    biased[nation] = _track(run, biased_det, nation)
    # the hub: each nation attributes its reports to a radar; registration pairs them
    parts = []
    for n, (d, o) in biased.items():
        c = o.columns
        sid = report_sensors(c["track_id"], c["time_s"], o.assignments, d)
        parts.append(TrackReports.from_columns(c, n, sensor_id=sid))
    reports = TrackReports.concatenate(parts)
    reg = Registration(_sites(run.sensors, nation))
    for t, rows in reports.epochs(1.0):
        reg.update(reports.select(rows), t)
    est = reg.estimate(radar)
    hist = [h for h in reg.history if h.estimate.sensor_id == radar]
    err = np.array([abs(h.estimate.bias[1] - BIAS_RAD) for h in hist])
    outside = np.flatnonzero(err > TOL_RAD)
    t_conv = hist[outside[-1] + 1].time_s if outside.size else hist[0].time_s
    corrected = dict(unbiased)
    corrected[nation] = _track(run, with_corrections(biased_det, radar, est), nation)
    rm_u = _rmse(e_unbiased)
    rm_b = _rmse(_warhead_errors(run, biased)[1])
    rm_c = _rmse(_warhead_errors(run, corrected)[1])
    print(
        f"\n{radar}: azimuth bias {est.azimuth_deg:.4f}° ± {math.degrees(est.sigma[1]):.4f}° "
        f"(range {est.bias[0]:.1f} ± {est.sigma[0]:.1f} m, elevation "
        f"{math.degrees(est.bias[2]):.4f}°) from {est.n_updates} pairs; first pair at "
        f"{hist[0].time_s:.0f} s, within 0.02° for good from {t_conv:.0f} s; fused warhead "
        f"RMSE unbiased {rm_u:.0f} m, biased {rm_b:.0f} m, corrected {rm_c:.0f} m "
        f"({rm_c / rm_u:.3f} of unbiased)"
    )
    assert abs(est.bias[1] - BIAS_RAD) <= TOL_RAD, f"azimuth {est.azimuth_deg:.4f}°"
    assert abs(est.bias[1] - BIAS_RAD) <= 4.0 * est.sigma[1] + math.radians(0.001)
    # the experiment needs a bias that hurts: since the hub keeps a missile and its
    # stage apart, the Aegis radar's bias costs the fused warhead 12 % (907 vs 812 m),
    # the TPY-2's 86 %; the correction must bring it back within 10 % (below)
    assert rm_b > 1.1 * rm_u, f"the bias should hurt: {rm_b:.0f} m vs {rm_u:.0f} m"
    assert rm_c <= 1.10 * rm_u, f"corrected {rm_c:.0f} m vs unbiased {rm_u:.0f} m"
    # the nation's unbiased radars are not given a bias
    for other in reg.estimator.estimates().values():
        if other.sensor_id != radar and other.n_updates >= 10:
            assert abs(other.bias[1]) <= TOL_RAD, f"{other.sensor_id}: {other.azimuth_deg:.4f}°"
