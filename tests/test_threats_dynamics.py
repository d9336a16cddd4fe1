"""Integrator and force model: energy conservation, the DOP853 oracle, invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trilink.geo.frames import ecef_to_eci, geodetic_to_ecef
from trilink.geo.gravity import gravitational_potential_m2ps2
from trilink.threats import Steering, fly, get_missile, get_site
from trilink.threats.flight import Launch, fly_reference
from trilink.threats.integrate import (
    FORCE_FIELDS_PER_ROW,
    FORCE_FIELDS_PER_SEGMENT,
    SegmentedModel,
    integrate_batch,
)


def _coast_model(n: int, t_end_s: float) -> SegmentedModel:
    """Thrust off, drag off: gravity (point mass + J2) and the frame terms only."""
    per_segment = {k: np.zeros((n, 1)) for k in FORCE_FIELDS_PER_SEGMENT}
    per_segment["mass_start_kg"][:] = 1_000.0
    per_segment["drag_shape"] = np.zeros((n, 1), dtype=int)
    per_row = {k: np.zeros(n) for k in FORCE_FIELDS_PER_ROW}
    per_row["plane_normal_ecef"] = np.tile([0.0, 0.0, 1.0], (n, 1))
    return SegmentedModel(np.full((n, 1), t_end_s), per_segment, per_row)


def _inertial_energy(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    r_eci, v_eci = ecef_to_eci(y[:, :3], y[:, 3:], t)
    # J2 is axisymmetric about the spin axis, so the potential is the same function of
    # the inertial position: E = ½|v_eci|² + U(r) is conserved without drag and thrust.
    return 0.5 * np.sum(v_eci**2, axis=1) + gravitational_potential_m2ps2(r_eci)


def test_energy_conserved_to_1e9_over_90_minutes() -> None:
    # Three inclined, eccentric arcs above the atmosphere (never reaching the ground).
    r0 = geodetic_to_ecef(
        np.radians([39.0, -10.0, 70.0]),
        np.radians([125.0, 30.0, -60.0]),
        [1_000e3, 2_000e3, 3_000e3],
    )
    east = np.stack(
        [
            -np.sin(np.radians([125.0, 30.0, -60.0])),
            np.cos(np.radians([125.0, 30.0, -60.0])),
            np.zeros(3),
        ],
        axis=1,
    )
    up = r0 / np.linalg.norm(r0, axis=1, keepdims=True)
    v0 = 6_900.0 * east + 300.0 * up  # near-orbital, Earth-relative
    y0 = np.hstack([r0, v0])
    res = integrate_batch(
        _coast_model(3, 5_400.0),
        np.zeros(3),
        y0,
        rtol=1e-13,
        atol_m=1e-7,
        atol_mps=1e-10,
        stop_at_ground=False,
        record=True,
    )
    assert not res.impacted.any()
    assert np.allclose(res.t_s, 5_400.0, rtol=0, atol=1e-9)
    for i in range(3):
        t, y, _ = res.record.for_row(i)
        e = _inertial_energy(t, y)
        drift = np.max(np.abs(e / e[0] - 1.0))
        assert drift <= 1e-9, f"row {i}: relative energy drift {drift:.2e} > 1e-9"


def test_energy_test_would_catch_a_missing_coriolis_term(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same check must fail when the model is wrong (here: the frame terms removed).
    import trilink.threats.dynamics as dyn

    monkeypatch.setattr(dyn, "apparent_accel_ecef_mps2", lambda r, v: np.zeros_like(r))
    r0 = geodetic_to_ecef(np.radians([39.0]), np.radians([125.0]), [1_000e3])
    y0 = np.hstack([r0, [[0.0, 6_900.0, 300.0]]])
    res = integrate_batch(
        _coast_model(1, 5_400.0), np.zeros(1), y0, rtol=1e-12, stop_at_ground=False, record=True
    )
    t, y, _ = res.record.for_row(0)
    e = _inertial_energy(t, y)
    assert np.max(np.abs(e / e[0] - 1.0)) > 1e-6


@pytest.mark.parametrize(
    ("key", "pitch_deg", "frac"),
    [("hwasong-18", 75.0, 0.9), ("hwasong-12", 30.0, 1.0), ("kn-23", 25.0, 1.0)],
)
def test_batch_matches_dop853_reference_at_impact(key: str, pitch_deg: float, frac: float) -> None:
    # Oracle: scipy's DOP853 at rtol 1e-10 through the same segments, object by object.
    s = get_site("sunan")
    la = Launch(
        missile=get_missile(key),
        lat_rad=s.lat_rad,
        lon_rad=s.lon_rad,
        azimuth_rad=math.radians(80.0),
        steering=Steering(pitch_first_rad=math.radians(pitch_deg), burn_fraction_last=frac),
    )
    batch = {o.object_id: o for o in fly(la, record=False).objects}
    for r in fly_reference(la):
        o = batch[r.object_id]
        err = np.linalg.norm(
            geodetic_to_ecef(o.impact_lat_rad, o.impact_lon_rad, 0.0) - r.r_impact_ecef_m
        )
        assert err < 5.0, f"{r.object_id}: impact differs from DOP853 by {err:.2f} m"
        assert abs(o.t_impact_s - r.t_impact_s) < 0.01


def test_velocity_is_the_derivative_of_position_along_recorded_trajectories() -> None:
    s = get_site("samsok")
    f = fly(
        Launch(
            missile=get_missile("hwasong-18"),
            lat_rad=s.lat_rad,
            lon_rad=s.lon_rad,
            azimuth_rad=math.radians(70.0),
            steering=Steering(pitch_first_rad=math.radians(70.0)),
        )
    )
    for o in f.objects:
        t = np.linspace(o.t_s[0] + 1.0, o.t_s[-1] - 1.0, 200)
        h = 1e-3
        fd = (o.states_at(t + h)[:, :3] - o.states_at(t - h)[:, :3]) / (2 * h)
        v = o.states_at(t)[:, 3:]
        # Cubic Hermite: position error O(h⁴), velocity from the same interpolant;
        # 0.5 m/s bound against speeds of km/s (a wrong velocity frame is ~300 m/s off).
        assert np.max(np.linalg.norm(fd - v, axis=1)) < 0.5, o.object_id


def test_spent_stages_are_separate_objects_on_their_own_paths() -> None:
    s = get_site("samsok")
    f = fly(
        Launch(
            missile=get_missile("hwasong-18"),
            lat_rad=s.lat_rad,
            lon_rad=s.lon_rad,
            azimuth_rad=math.radians(70.0),
            steering=Steering(pitch_first_rad=math.radians(70.0)),
            n_debris=4,
        ),
        rng=np.random.default_rng(3),
    )
    kinds = sorted(o.kind.value for o in f.objects)
    assert kinds == ["debris"] * 4 + ["stage"] * 3 + ["warhead"]
    times = [st.impact_time_s for st in f.stage_impacts]
    assert times == sorted(times), "lower stages separate first and fall first"
    # Spent stages are light and draggy: they fall short of the warhead.
    assert all(st.impact_time_s < f.impact_time_s for st in f.stage_impacts[:2])
    assert len({(o.impact_lat_rad, o.impact_lon_rad) for o in f.objects}) == len(f.objects)


def test_kn23_pull_up_extends_a_depressed_flight() -> None:
    s = get_site("hodo")
    m = get_missile("kn-23")
    import dataclasses

    no_lift = dataclasses.replace(m, rv=dataclasses.replace(m.rv, lift_to_drag=0.0))
    st = Steering(pitch_first_rad=math.radians(20.0))
    kw = {
        "lat_rad": s.lat_rad,
        "lon_rad": s.lon_rad,
        "azimuth_rad": math.radians(90.0),
        "steering": st,
    }
    with_lift = fly(Launch(missile=m, **kw), record=False)
    ballistic = fly(Launch(missile=no_lift, **kw), record=False)
    assert with_lift.apogee_m < 80e3, "depressed: apogee below 80 km"
    assert with_lift.range_m > ballistic.range_m + 50e3
