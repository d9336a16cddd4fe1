"""The hub's Fuser on purpose-built ballistic geometries: association over time, global
track numbers, splits, hysteresis, merges, reporting responsibility, kinds, and the
bias estimator's convergence."""

from __future__ import annotations

import math

import numpy as np

from trilink.fusion import Fuser, FuserConfig, TrackReports
from trilink.fusion.fuser import ABSORBED, HELD, REJECTED
from trilink.fusion.predict import predict
from trilink.fusion.registration import BiasEstimator, bias_jacobian, leave_one_out_references
from trilink.geo.frames import enu_rotation, geodetic_to_ecef
from trilink.tracking.measurement import SensorSites


def _truth(n_obj: int, t: np.ndarray, spread_m: float = 50e3) -> np.ndarray:
    """(T, n_obj, 6) ballistic states, objects `spread_m` apart."""
    r0 = np.asarray(
        geodetic_to_ecef(np.radians([40.0]), np.radians([133.0]), np.array([800e3]))
    ).reshape(3)
    x0 = np.zeros((n_obj, 6))
    x0[:, :3] = r0 + np.arange(n_obj)[:, None] * np.array([spread_m, 0.0, 0.0])
    x0[:, 3:] = [1500.0, -1000.0, 500.0]
    out = np.empty((t.size, n_obj, 6))
    for k, tk in enumerate(t):
        out[k] = predict(x0, np.repeat(np.eye(6)[None], n_obj, 0), float(tk), q_m2ps3=0.0)[0]
    return out


def _reports(
    truth: np.ndarray, k: int, nation: str, ids, sig_m: float, rng, objs=None
) -> TrackReports:
    objs = list(range(truth.shape[1])) if objs is None else objs
    P = np.diag([sig_m**2] * 3 + [(sig_m / 50) ** 2] * 3)
    x = truth[k, objs] + rng.multivariate_normal(np.zeros(6), P, size=len(objs))
    return TrackReports.from_arrays(
        nation=nation,
        track_id=ids,
        time_s=np.full(len(objs), float(k)),
        state=x,
        covariance=np.repeat(P[None], len(objs), 0),
        kind=["warhead"] + ["debris"] * (len(objs) - 1),
        kind_confidence=np.full(len(objs), 0.8),
    )


def test_one_global_track_per_object_and_stable_numbers() -> None:
    rng = np.random.default_rng(7)
    t = np.arange(30.0)
    truth = _truth(3, t)
    f = Fuser()
    seen: dict[int, set[int]] = {}
    for k in range(t.size):
        jp_ids = [1, 2, 3] if k < 15 else [11, 2, 3]  # JP's track on object 0 is renumbered
        rep = TrackReports.concatenate(
            [
                _reports(truth, k, "JP", jp_ids, 200.0, rng),
                _reports(truth, k, "US", [7, 8, 9], 50.0, rng),
            ]
        )
        st = f.update(rep)
        assert len(st) == 3
        near = np.argmin(
            np.linalg.norm(st.state[:, None, :3] - truth[k][None, :, :3], axis=2), axis=1
        )
        for g, o in zip(st.global_track_number.tolist(), near.tolist(), strict=True):
            seen.setdefault(o, set()).add(g)
        assert set(st.contributors.tolist()) == {"JP;US"}
        assert set(st.reporting_nation.tolist()) == {"US"}  # the smaller covariance
    assert all(len(v) == 1 for v in seen.values()), seen
    assert sorted(g for v in seen.values() for g in v) == [1, 2, 3]


def test_split_child_gets_a_new_number_and_hysteresis_holds_one_bad_epoch() -> None:
    rng = np.random.default_rng(8)
    t = np.arange(20.0)
    truth = _truth(2, t)
    f = Fuser()
    first = None
    for k in range(t.size):
        objs = [0] if k < 8 else [0, 1]  # object 1 splits off at 8 s: the child's new local id
        ids = [1] if k < 8 else [1, 5]
        rep = _reports(truth, k, "KR", ids, 100.0, rng, objs)
        if k == 12:  # one bad epoch: KR's track 1 jumps 30 km
            s = rep.state.copy()
            s[0, 0] += 30e3
            rep = TrackReports.from_arrays(**{**vars(rep), "state": s})
        st = f.update(rep)
        g1 = f.last_association.global_track_number[0]
        if first is None:
            first = g1
        assert g1 == first  # local track 1 keeps its number, through the bad epoch too
        if k == 12:
            assert f.last_association.role[0] == HELD
        if k >= 8:
            assert len(set(f.last_association.global_track_number.tolist())) == 2
            assert len(st) == (1 if k == 12 else 2)


def test_two_system_tracks_on_one_object_merge_and_keep_the_older_number() -> None:
    rng = np.random.default_rng(9)
    t = np.arange(20.0)
    truth = _truth(1, t)
    cfg = FuserConfig(floor_position_m=10.0, floor_velocity_mps=0.1)
    f = Fuser(cfg)
    for k in range(t.size):
        parts = [_reports(truth, k, "JP", [1], 30.0, rng)]
        if k >= 3:
            # US starts 3 s later 2 km off (a second system track); from 6 s its
            # covariance grows to cover the offset, so the two tracks converge
            rep = _reports(truth, k, "US", [4], 30.0 if k < 6 else 3000.0, rng)
            s = rep.state.copy()
            s[0, 0] += 2000.0
            parts.append(TrackReports.from_arrays(**{**vars(rep), "state": s}))
        st = f.update(TrackReports.concatenate(parts))
    assert f.merges and f.merges[0].kept == 1
    assert st.global_track_number.tolist() == [1]


def test_invalid_reports_are_rejected_and_kinds_vote() -> None:
    rng = np.random.default_rng(10)
    truth = _truth(1, np.arange(2.0))
    a = _reports(truth, 0, "JP", [1], 100.0, rng)
    b = _reports(truth, 0, "US", [2], 100.0, rng)
    b = TrackReports.from_arrays(
        **{**vars(b), "kind": np.array(["unknown"]), "kind_confidence": np.array([0.0])}
    )
    bad = TrackReports.from_arrays(
        **{**vars(b), "track_id": np.array([3]), "covariance": np.full((1, 6, 6), 1e40)}
    )
    f = Fuser()
    st = f.update(TrackReports.concatenate([a, b, bad]))
    assert f.last_association.role.tolist()[2] == REJECTED
    assert len(st) == 1 and st.kind[0] == "warhead" and st.possible_warhead[0]


def test_bias_estimator_converges_on_a_purpose_built_geometry() -> None:
    """One radar with a 0.2° azimuth bias sees an object that a second nation tracks
    without bias: the residual is J b (plus track noise); the estimate converges."""
    rng = np.random.default_rng(11)
    lat, lon = np.radians(37.9), np.radians(129.3)
    cols = {
        "sensor_id": np.array(["r1"]),
        "nation": np.array(["KR"]),
        "lat_deg": np.array([37.9]),
        "lon_deg": np.array([129.3]),
        "alt_m": np.array([50.0]),
        "sigma_range_m": np.array([20.0]),
        "sigma_az_rad": np.array([1e-3]),
        "sigma_el_rad": np.array([1e-3]),
    }
    sites = SensorSites.from_table(cols)
    assert np.allclose(sites.enu_rot[0], np.asarray(enu_rotation(lat, lon)).reshape(3, 3))
    t = np.arange(200.0)
    truth = _truth(1, t)[:, 0]
    b_true = np.array([0.0, math.radians(0.2), 0.0])
    est = BiasEstimator(sites)
    J = bias_jacobian(
        np.repeat(sites.r_ecef_m, t.size, 0), np.repeat(sites.enu_rot, t.size, 0), truth[:, :3]
    )
    P = np.diag([150.0**2] * 3)
    for k in range(t.size):
        # tracks with smooth (AR(1)) errors: what tracker output looks like
        e1, e2 = rng.normal(size=3) * 150.0, rng.normal(size=3) * 150.0
        r_kr = truth[k, :3] + J[k] @ b_true + e1
        r_jp = truth[k, :3] + e2
        est.update(float(k), np.array(["r1"]), r_kr[None], P[None], r_jp[None], P[None])
    b = est.estimate("r1")
    assert abs(b.azimuth_deg - 0.2) <= 0.02, (
        f"azimuth bias {b.azimuth_deg:.4f}° (σ {math.degrees(b.sigma[1]):.4f}°)"
    )
    assert b.n_updates == t.size


def test_leave_one_out_reference_is_the_other_nations_fusion() -> None:
    rng = np.random.default_rng(12)
    truth = _truth(1, np.arange(1.0))
    rep = TrackReports.concatenate(
        [_reports(truth, 0, n, [1], 100.0, rng) for n in ("JP", "KR", "US")]
    )
    rows, x, _P = leave_one_out_references(rep, np.array([5, 5, 5]), np.ones(3, bool))
    assert rows.tolist() == [0, 1, 2]
    from trilink.fusion.rules import covariance_intersection

    xe, _ = covariance_intersection(rep.state[None, 1:], rep.covariance[None, 1:])
    np.testing.assert_allclose(x[0], xe[0])


def test_close_objects_of_one_nation_stay_apart_and_its_duplicates_merge() -> None:
    """Two objects 3 km apart, each tracked by JP (σ 50 m) and US: one system track
    each, for every epoch (no absorption of JP's second track into the first). Then
    JP starts a duplicate track on object 0 at 10 s: its new system track stays in
    the merge gate of the older one and is merged after ``merge_epochs`` epochs,
    keeping the older number; JP's duplicate report is then absorbed."""
    rng = np.random.default_rng(13)
    t = np.arange(25.0)
    truth = _truth(2, t, spread_m=3000.0)
    cfg = FuserConfig()
    f = Fuser(cfg)
    for k in range(t.size):
        parts = [
            _reports(truth, k, "JP", [1, 2], 50.0, rng),
            _reports(truth, k, "US", [7, 8], 50.0, rng),
        ]
        if k >= 10:
            parts.append(_reports(truth, k, "JP", [3], 50.0, rng, [0]))
        st = f.update(TrackReports.concatenate(parts))
        if k < 10 or k >= 10 + cfg.merge_epochs:
            assert st.global_track_number.tolist() == [1, 2], (k, st.global_track_number)
            assert set(st.contributors.tolist()) == {"JP;US"}
    assert [(m.kept, m.dropped) for m in f.merges] == [(1, 3)]
    assert f.last_association.role.tolist()[-1] == ABSORBED


def test_missile_and_its_stage_of_one_nation_are_never_merged() -> None:
    """A warhead and its spent stage 150 m apart (as for minutes after separation),
    each tracked by KR (σ 100 m, kinds stable: 'warhead' and 'stage') and seen by the
    US as one body: their system tracks gate with each other every epoch. With the
    veto (``resolved_epochs``) they stay two global tracks; without it they merge."""

    def run(resolved_epochs: int) -> tuple[list[int], int]:
        rng = np.random.default_rng(5)
        t = np.arange(20.0)
        truth = _truth(2, t, spread_m=150.0)
        f = Fuser(FuserConfig(resolved_epochs=resolved_epochs))
        for k in range(t.size):
            kr = _reports(truth, k, "KR", [4, 5], 100.0, rng)
            kr = TrackReports.from_arrays(
                nation="KR",
                track_id=[4, 5],
                time_s=kr.time_s,
                state=kr.state,
                covariance=kr.covariance,
                kind=["warhead", "stage"],
                kind_confidence=np.full(2, 0.8),
            )
            st = f.update(
                TrackReports.concatenate([kr, _reports(truth, k, "US", [9], 300.0, rng, [0])])
            )
        return st.global_track_number.tolist(), len(f.merges)

    kept, merges = run(2)
    assert len(kept) == 2 and merges == 0, (kept, merges)
    merged, merges = run(0)
    assert len(merged) == 1 and merges == 1, (merged, merges)


def test_report_floor_and_disagreement_scale_the_fused_covariance() -> None:
    """Default rule: two reports (σ 10 m) 2 km apart on one body fuse to the information
    sum of (P + floor²) scaled by S² = Δᵀ(P₁+P₂)⁻¹Δ / 3 (position, module rules)."""
    truth = _truth(1, np.arange(1.0))[0, 0]
    P = np.diag([10.0**2] * 3 + [1.0] * 3)
    xa, xb = truth.copy(), truth.copy()
    xb[0] += 2000.0
    rep = TrackReports.from_arrays(
        nation=["JP", "US"],
        track_id=[1, 1],
        time_s=[0.0, 0.0],
        state=np.stack([xa, xb]),
        covariance=np.stack([P, P]),
    )
    cfg = FuserConfig()
    st = Fuser(cfg).update(rep)
    assert len(st) == 1 and st.n_contributors[0] == 2
    Pf = P.copy()
    Pf[np.arange(3), np.arange(3)] += cfg.report_floor_position_m**2
    s2 = max(1.0, 2000.0**2 / (2 * Pf[0, 0]) / 3.0)
    np.testing.assert_allclose(st.covariance[0, :3, :3], Pf[:3, :3] / 2 * s2, rtol=1e-9)
    np.testing.assert_allclose(st.state[0, :3], (xa[:3] + xb[:3]) / 2, rtol=0, atol=1e-6)


def test_reporting_member_is_the_nearest_report_of_the_reporting_nation() -> None:
    """Two JP tracks on one system track (missile and an unresolved stage): the one nearest
    the fused position speaks for it; other nations' members never do."""
    from trilink.fusion import reporting_member

    pos = {
        ("JP", 3): np.array([0.0, 0.0, 5_000.0]),  # the stage, 5 km off
        ("JP", 7): np.array([0.0, 0.0, 40.0]),  # the missile
        ("KR", 1): np.array([0.0, 0.0, 1.0]),  # nearer still, but not the reporting nation
    }
    fused = np.zeros(3)
    got = reporting_member("JP:3;JP:7;KR:1", "JP", fused, lambda n, t: pos.get((n, t)))
    assert got == ("JP", 7)
    assert reporting_member("KR:1", "JP", fused, lambda n, t: pos.get((n, t))) is None
    assert reporting_member("JP:9", "JP", fused, lambda n, t: None) is None


def test_reporting_member_prefers_a_report_with_an_impact_prediction() -> None:
    """A young reporting-nation track without a prediction must not hide a partner's:
    the reporting nation's nearest member with a prediction, else the nearest of any
    nation with one, else the plain rule."""
    from trilink.fusion import reporting_member

    pos = {
        ("JP", 3): np.array([0.0, 0.0, 5_000.0]),
        ("JP", 7): np.array([0.0, 0.0, 40.0]),
        ("KR", 1): np.array([0.0, 0.0, 1.0]),
        ("US", 2): np.array([0.0, 0.0, 3.0]),
    }

    def at(n: str, t: int) -> np.ndarray | None:
        return pos.get((n, t))

    fused = np.zeros(3)
    mem = "JP:3;JP:7;KR:1;US:2"

    def rm(with_impact: set[tuple[str, int]]) -> tuple[str, int] | None:
        return reporting_member(mem, "JP", fused, at, lambda n, t: (n, t) in with_impact)

    assert rm({("JP", 7), ("KR", 1)}) == ("JP", 7)  # the reporting nation's, nearest
    assert rm({("JP", 3), ("KR", 1)}) == ("JP", 3)  # the reporting nation's with one
    assert rm({("KR", 1), ("US", 2)}) == ("KR", 1)  # JP has none: the nearest partner's
    assert rm({("US", 2)}) == ("US", 2)
    assert rm(set()) == ("JP", 7)  # nobody has one: the plain rule
