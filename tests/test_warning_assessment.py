"""Assessment: impact and overflight probabilities of synthetic tracks."""

import math

import numpy as np
import pytest

from trilink.fusion.reports import covariance_to_columns
from trilink.geo.frames import enu_vector_to_ecef, geodetic_to_ecef
from trilink.warning.assessment import AssessmentConfig, assess, thrust_from_history

STATE = ("x_ecef_m", "y_ecef_m", "z_ecef_m", "vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps")


def _table(states, sigmas_m, kinds, impacts=None):
    x6 = np.asarray(states, dtype=float)
    n = len(x6)
    cols = {"time_s": np.zeros(n), "track_id": np.arange(1, n + 1)}
    for j, c in enumerate(STATE):
        cols[c] = x6[:, j]
    P = np.stack([np.diag([s**2] * 3 + [(s / 100) ** 2] * 3) for s in sigmas_m])
    cols |= covariance_to_columns(P)
    cols["kind"] = np.array(kinds)
    if impacts is not None:
        for k, v in impacts.items():
            cols[k] = np.asarray(v, dtype=float)
    return cols


def _state(lat_deg, lon_deg, alt_m, v_enu):
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    r = geodetic_to_ecef(lat, lon, alt_m)
    v = enu_vector_to_ecef(np.asarray(v_enu, dtype=float), lat, lon)
    return np.r_[r, v]


def test_overflight_of_aomori_from_the_sea_of_japan():
    # 700 km up over the Sea of Japan at 40.8 N, heading east at 3.5 km/s
    x = _state(40.8, 138.0, 700e3, [3500.0, 0.0, 0.0])
    a = assess(_table([x], [100.0], ["warhead"]), 0.0)
    (tr,) = a.tracks
    assert tr.p_overflight.get("JP-02", 0.0) == 1.0, tr.p_overflight
    assert set(tr.p_overflight) <= {"JP-02", "JP-01", "JP-03", "JP-05"}
    # ~200 km of ground to the Aomori coast at ~3.2 km/s of ground speed: ~60 s
    assert 30.0 < tr.overflight_time_s["JP-02"] < 120.0
    assert tr.possible_warhead and not tr.thrusting
    assert tr.impact is not None and tr.time_to_impact_s > 300.0


def test_impact_probabilities_from_the_ellipse_columns():
    x = _state(35.7, 139.7, 50e3, [0.0, 0.0, -2000.0])
    imp = {
        "impact_lat_deg": [35.69, 38.0],
        "impact_lon_deg": [139.69, 150.0],
        "impact_time_s": [30.0, 30.0],
        "impact_semi_major_m": [5_000.0, 20_000.0],
        "impact_semi_minor_m": [3_000.0, 10_000.0],
        "impact_orientation_deg": [30.0, 0.0],
    }
    a = assess(_table([x, x], [100.0, 100.0], ["unknown", "debris"], imp), 0.0)
    tokyo, sea = a.tracks
    assert tokyo.p_impact["JP-13"] > 0.9 and tokyo.p_land > 0.9
    assert tokyo.possible_warhead  # unknown counts as a possible warhead
    assert sea.p_land == 0.0 and sea.p_eez == 0.0 and not sea.possible_warhead
    assert sea.kind == "debris"


def test_wide_ellipse_spreads_probability_and_sums_to_one():
    x = _state(40.0, 140.0, 50e3, [0.0, 0.0, -2000.0])
    imp = {
        "impact_lat_deg": [40.5],
        "impact_lon_deg": [140.8],
        "impact_time_s": [30.0],
        "impact_semi_major_m": [150_000.0],
        "impact_semi_minor_m": [150_000.0],
        "impact_orientation_deg": [0.0],
    }
    (tr,) = assess(_table([x], [100.0], ["warhead"], imp), 0.0).tracks
    assert len(tr.p_impact) >= 3
    assert tr.p_land == pytest.approx(sum(tr.p_impact.values()), abs=0.01)
    assert 0.0 < tr.p_land < 1.0 and tr.p_land + tr.p_eez <= 1.0 + 1e-12


def test_same_input_same_assessment():
    x = _state(40.8, 138.0, 700e3, [3500.0, 0.0, 0.0])
    cols = _table([x], [20_000.0], ["warhead"])
    a1, a2 = assess(cols, 0.0), assess(cols, 0.0)
    assert a1.tracks[0].evidence() == a2.tracks[0].evidence()


def test_state_uncertainty_lowers_overflight_probability():
    # aimed at the northern edge of Aomori with a 100 km position spread
    x = _state(41.4, 138.0, 700e3, [3500.0, 0.0, 0.0])
    (tight,) = assess(_table([x], [100.0], ["warhead"]), 0.0).tracks
    (loose,) = assess(_table([x], [100_000.0], ["warhead"]), 0.0).tracks
    assert tight.p_overflight.get("JP-02", 0) == 1.0
    assert 0.0 < loose.p_overflight.get("JP-02", 0) < 1.0


def test_thrust_from_history_is_zero_for_ballistic_motion():
    from trilink.tracking.dynamics import propagate

    x = np.zeros((1, 10))
    x[0, :6] = _state(40.0, 135.0, 300e3, [3000.0, 500.0, 1000.0])
    y = propagate(x, 5.0, np.zeros(1), max_step_s=1.0)
    a = thrust_from_history(y[:, :6], x[:, :6], np.array([5.0]))
    assert a[0] < 0.05, a
    y2 = y.copy()
    y2[0, 3:6] += 5.0 * 30.0 * x[0, 3:6] / np.linalg.norm(x[0, 3:6])  # 30 m/s² along v
    assert thrust_from_history(y2[:, :6], x[:, :6], np.array([5.0]))[0] == pytest.approx(
        30.0, abs=0.1
    )


def test_config_defaults_documented():
    c = AssessmentConfig()
    assert (c.atmosphere_top_m, c.step_s, c.n_state_samples, c.n_impact_samples) == (
        100_000.0,
        10.0,
        48,
        1_000,
    )
    with pytest.raises(ValueError, match="even"):
        AssessmentConfig(n_state_samples=3)
