"""Evaluation metrics: OSPA/GOSPA against Stone Soup, SIAP against Stone Soup and
hand-computed edge cases, timeliness, launch/impact errors, NEES, swaps."""

from __future__ import annotations

import datetime
import time

import numpy as np
import pytest
from pyproj import Geod
from scipy.stats import chi2
from stonesoup.dataassociator.tracktotrack import TrackToTruth
from stonesoup.measures import Euclidean
from stonesoup.metricgenerator.manager import MultiManager
from stonesoup.metricgenerator.ospametric import GOSPAMetric, OSPAMetric
from stonesoup.metricgenerator.tracktotruthmetrics import SIAPMetrics
from stonesoup.types.groundtruth import GroundTruthPath, GroundTruthState
from stonesoup.types.state import State
from stonesoup.types.track import Track

from trilink.evaluation.metrics import (
    first_time,
    gospa,
    gospa_series,
    impact_error_vs_time,
    launch_point_error_m,
    nees,
    nees_band,
    ospa,
    ospa_series,
    siap,
    time_to_first_confirmed_track,
    track_swaps,
)
from trilink.geo.frames import geodetic_to_ecef

T0 = datetime.datetime(2024, 1, 1)
POS = ("x_ecef_m", "y_ecef_m", "z_ecef_m")
VEL = ("vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps")


def _states(points, t_s: float = 0.0) -> list[State]:
    ts = T0 + datetime.timedelta(seconds=t_s)
    return [State(np.asarray(x, dtype=float).reshape(3, 1), timestamp=ts) for x in points]


def _close(a: float, b: float, rel: float = 1e-9) -> bool:
    """Agreement to 1e-9, relative to max(1, |b|) (values here are 1 m to 1e5 m)."""
    return abs(a - b) <= rel * max(1.0, abs(b))


def _random_pairs(n_pairs: int, seed: int):
    """Random set pairs: sizes 0..15 (some empty), spread larger than c so some points
    are beyond the cut-off, c from 1 m to 100 km, p in {1, 1.5, 2, 3}."""
    rng = np.random.default_rng(seed)
    for i in range(n_pairs):
        m, n = rng.integers(0, 16, 2)
        if i % 10 == 0:
            m = 0
        if i % 10 == 5:
            n = 0
        if m == 0 and n == 0:
            n = 3
        c = float(10 ** rng.uniform(0, 5))
        p = float(rng.choice([1.0, 1.5, 2.0, 3.0]))
        spread = c * rng.uniform(0.5, 4.0)
        X = rng.uniform(0, spread, (m, 3)) + 6.4e6 * (i % 3 == 0)  # some ECEF-sized
        Y = rng.uniform(0, spread, (n, 3)) + 6.4e6 * (i % 3 == 0)
        yield X, Y, c, p


# ---------------------------------------------------------------- OSPA / GOSPA vs Stone Soup


def test_ospa_agrees_with_stonesoup_on_random_sets():
    """Stone Soup's OSPAMetric (1.9) assigns by minimising Σ d^(c), then reports
    (Σ d^(c)^p / n)^(1/p): our ``assignment="sum_distance"`` reproduces it to 1e-9 on
    every pair; our optimal OSPA is equal for p = 1, never larger, and strictly smaller
    where the two assignments differ."""
    n_differ = 0
    n_pairs = 0
    for X, Y, c, p in _random_pairs(120, seed=1):
        so = OSPAMetric(c=c, p=p).compute_OSPA_distance(_states(Y), _states(X)).value
        ours_ss = ospa(X, Y, c_m=c, p=p, assignment="sum_distance")
        ours = ospa(X, Y, c_m=c, p=p)
        assert _close(ours_ss, so), f"m={len(X)} n={len(Y)} c={c} p={p}: {ours_ss} vs {so}"
        assert ours <= so * (1 + 1e-12) + 1e-12
        if p == 1.0:
            assert _close(ours, so)
        if not _close(ours, so):
            n_differ += 1
        assert _close(ospa(Y, X, c_m=c, p=p), ours)  # symmetric
        n_pairs += 1
    assert n_pairs >= 50
    assert n_differ >= 1, "the random draw should contain a case where the conventions differ"


def test_gospa_agrees_with_stonesoup_on_random_sets():
    """Stone Soup's GOSPAMetric (α = 2, unnormalised, components in m^p) to 1e-9 in all
    four components on every pair; distance^p = sum of the components."""
    for X, Y, c, p in _random_pairs(120, seed=2):
        so, _ = GOSPAMetric(c=c, p=p).compute_gospa_metric(_states(Y), _states(X))
        r = gospa(X, Y, c_m=c, p=p)
        for k in ("distance", "localisation", "missed", "false"):
            assert _close(getattr(r, k), so.value[k]), (k, len(X), len(Y), c, p)
        assert _close(r.distance**p, r.localisation + r.missed + r.false)
        assert r.missed == pytest.approx(r.n_missed * c**p / 2, rel=1e-12)
        assert r.false == pytest.approx(r.n_false * c**p / 2, rel=1e-12)


def test_set_distance_edge_cases():
    c, p = 10.0, 2.0
    empty = np.empty((0, 3))
    three = np.array([[0.0, 0, 0], [100, 0, 0], [0, 100, 0]])
    # (X, Y, expected OSPA, expected GOSPA): every edge case a row
    rows = [
        ("both empty", empty, empty, 0.0, 0.0),
        ("X empty", empty, three, c, (3 * c**p / 2) ** (1 / p)),
        ("Y empty", three, empty, c, (3 * c**p / 2) ** (1 / p)),
        ("identical", three, three, 0.0, 0.0),
        (
            "one beyond cut-off",
            three[:1],
            three[:1] + np.array([50.0, 0, 0]),
            c,
            c,
        ),  # GOSPA: miss + false
        ("one within", three[:1], three[:1] + np.array([3.0, 4, 0]), 5.0, 5.0),
        (
            "extra estimate",
            three[:1],
            np.vstack([three[:1], [[1e6, 0, 0]]]),
            (c**p / 2) ** (1 / p),
            (c**p / 2) ** (1 / p),
        ),
        ("exactly at c", three[:1], three[:1] + np.array([c, 0, 0]), c, c),
    ]
    for name, X, Y, want_ospa, want_gospa in rows:
        assert ospa(X, Y, c_m=c, p=p) == pytest.approx(want_ospa, abs=1e-12), name
        assert gospa(X, Y, c_m=c, p=p).distance == pytest.approx(want_gospa, abs=1e-12), name
    g = gospa(three[:1], three[:1] + np.array([50.0, 0, 0]), c_m=c)
    assert (g.n_missed, g.n_false, g.localisation) == (1, 1, 0.0)
    # alpha < 2: a far pair stays assigned at c^p
    g1 = gospa(three[:1], three[:1] + np.array([50.0, 0, 0]), c_m=c, alpha=1.0)
    assert (g1.n_missed, g1.n_false, g1.localisation, g1.distance) == (0, 0, c**p, c)
    with pytest.raises(ValueError, match="shape"):
        ospa(np.zeros((2, 2)), three, c_m=c)
    with pytest.raises(ValueError, match="c_m"):
        ospa(three, three, c_m=0.0)
    with pytest.raises(ValueError, match="p must"):
        gospa(three, three, c_m=c, p=0.5)
    with pytest.raises(ValueError, match="alpha"):
        gospa(three, three, c_m=c, alpha=3.0)


def test_set_distance_speed_100x100():
    rng = np.random.default_rng(3)
    X, Y = rng.normal(0, 1e3, (100, 3)), rng.normal(0, 1e3, (100, 3))
    for f in (lambda: ospa(X, Y, c_m=500.0), lambda: gospa(X, Y, c_m=500.0)):
        f()
        best = min(_timed(f) for _ in range(20))
        assert best < 1e-3, f"{best * 1e6:.0f} µs per 100×100 call"


def _timed(f) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


# ---------------------------------------------------------------- tables


def _table(times, ids, r, v=None, id_name="object_id", **extra):
    r = np.asarray(r, dtype=float).reshape(-1, 3)
    v = np.zeros_like(r) if v is None else np.asarray(v, dtype=float).reshape(-1, 3)
    out = {"time_s": np.asarray(times, dtype=float), id_name: np.asarray(ids)}
    for j, c in enumerate(POS):
        out[c] = r[:, j]
    for j, c in enumerate(VEL):
        out[c] = v[:, j]
    out.update({k: np.asarray(x) for k, x in extra.items()})
    return out


def _line_truth(objects: dict[str, tuple], t: np.ndarray):
    """Objects moving on straight lines: name -> (r0, v, t_first, t_last)."""
    rows = []
    for name, (r0, v, a, b) in objects.items():
        tt = t[(t >= a) & (t <= b)]
        for x in tt:
            rows.append((x, name, np.asarray(r0) + np.asarray(v) * x, v))
    rows.sort(key=lambda q: (q[0], q[1]))
    return _table(
        [q[0] for q in rows], [q[1] for q in rows], [q[2] for q in rows], [q[3] for q in rows]
    )


def _scene():
    """Two objects 2 km apart over 0..19 s (B from 2 s); tracks with 20 m noise: 1 on A
    all along, 2 on B 2..9 s and 3 on B 8..19 s (a number change with overlap), 4
    spurious (5 km off A) 2..6 s, 5 a duplicate on A 3..12 s, and 6 on B 2..5 s then on A
    7..11 s (a swap)."""
    t = np.arange(20.0)
    objs = {
        "A": ((0.0, 0.0, 0.0), (100.0, 0.0, 0.0), 0.0, 19.0),
        "B": ((0.0, 2000.0, 0.0), (100.0, 0.0, 0.0), 2.0, 19.0),
    }
    truth = _line_truth(objs, t)
    rng = np.random.default_rng(7)

    def on(name, a, b, tid, off=(0.0, 0.0, 0.0)):
        r0, v, _, _ = objs[name]
        tt = np.arange(float(a), float(b) + 1)
        r = np.asarray(r0) + np.outer(tt, v) + np.asarray(off) + rng.normal(0, 20, (tt.size, 3))
        vv = np.tile(v, (tt.size, 1)) + rng.normal(0, 3, (tt.size, 3))
        return tt, np.full(tt.size, tid), r, vv

    parts = [
        on("A", 0, 19, 1),
        on("B", 2, 9, 2),
        on("B", 8, 19, 3),
        on("A", 2, 6, 4, off=(0.0, -5000.0, 0.0)),
        on("A", 3, 12, 5),
        on("B", 2, 5, 6),
        on("A", 7, 11, 6),
    ]
    tt = np.concatenate([p[0] for p in parts])
    tracks = _table(
        tt,
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]),
        id_name="track_id",
    )
    return truth, tracks


def _stonesoup_paths(truth, tracks):
    ts = [T0 + datetime.timedelta(seconds=float(x)) for x in truth["time_s"]]
    paths = {}
    for i, o in enumerate(truth["object_id"].tolist()):
        sv = np.array([truth[c][i] for c in (*POS, *VEL)]).reshape(6, 1)
        paths.setdefault(o, GroundTruthPath(id=o)).append(GroundTruthState(sv, timestamp=ts[i]))
    trk = {}
    for i, k in enumerate(tracks["track_id"].tolist()):
        sv = np.array([tracks[c][i] for c in (*POS, *VEL)]).reshape(6, 1)
        t = T0 + datetime.timedelta(seconds=float(tracks["time_s"][i]))
        trk.setdefault(k, Track(id=str(k))).append(State(sv, timestamp=t))
    return list(paths.values()), list(trk.values())


def test_siap_agrees_with_stonesoup_on_a_hand_made_scene():
    truth, tracks = _scene()
    gate = 500.0
    paths, trks = _stonesoup_paths(truth, tracks)
    gen = SIAPMetrics(
        position_measure=Euclidean(mapping=(0, 1, 2)),
        velocity_measure=Euclidean(mapping=(3, 4, 5)),
    )
    mm = MultiManager(
        generators=[gen],
        associator=TrackToTruth(
            association_threshold=gate, consec_pairs_confirm=1, consec_misses_end=1
        ),
    )
    mm.add_data({"tracks": trks, "groundtruth_paths": paths})
    so = {k: m.value for k, m in mm.generate_metrics()["siap_generator"].items()}
    r = siap(truth, tracks, gate_m=gate)
    pairs = [
        ("completeness", "SIAP Completeness"),
        ("ambiguity", "SIAP Ambiguity"),
        ("spuriousness", "SIAP Spuriousness"),
        ("positional_accuracy_m", "SIAP Position Accuracy"),
        ("velocity_accuracy_mps", "SIAP Velocity Accuracy"),
        ("track_number_change_rate_per_s", "SIAP Rate of Track Number Change"),
        ("longest_segment_fraction", "SIAP Longest Track Segment"),
    ]
    for ours, theirs in pairs:
        assert getattr(r, ours) == pytest.approx(so[theirs], rel=1e-12, abs=1e-12), ours
    # by hand: A needs tracks 1 (0..19) only; B: 6 (2..5), 2 (2..9) then 3 → NU_B = 2
    assert r.track_number_changes_per_object == pytest.approx(0.5)
    assert r.commonality < 1.0  # A carries tracks 1 and 5 (and 6) at once
    assert 0 < r.track_number_change_rate_per_s and 0 < r.spuriousness and r.ambiguity > 1
    assert track_swaps(tracks, truth, gate_m=gate) == {1: 0, 2: 0, 3: 0, 5: 0, 6: 1}


def _siap_case(truth_rows, track_rows, **kw):
    truth = _table(*zip(*truth_rows, strict=True)) if truth_rows else _table([], [], [])
    tracks = (
        _table(*zip(*track_rows, strict=True), id_name="track_id")
        if track_rows
        else _table([], [], [], id_name="track_id")
    )
    return siap(truth, tracks, gate_m=100.0, **kw)


NAN = float("nan")
O = (0.0, 0.0, 0.0)
FAR = (1e4, 0.0, 0.0)
NEAR = (30.0, 40.0, 0.0)  # 50 m off


@pytest.mark.parametrize(
    ("name", "truth_rows", "track_rows", "want"),
    [
        # every edge case a row: want = (completeness, ambiguity, spuriousness, PA m,
        # changes per object, commonality)
        ("no truth, no tracks", [], [], (NAN, NAN, NAN, NAN, NAN, NAN)),
        ("truth, no tracks", [(0, "A", O), (1, "A", O)], [], (0.0, NAN, NAN, NAN, NAN, NAN)),
        ("no truth, one track", [], [(0, 1, O)], (NAN, NAN, 1.0, NAN, NAN, NAN)),
        (
            "perfect",
            [(0, "A", O), (1, "A", O)],
            [(0, 1, O), (1, 1, O)],
            (1.0, 1.0, 0.0, 0.0, 0.0, 1.0),
        ),
        (
            "track outside the gate",
            [(0, "A", O), (1, "A", O)],
            [(0, 1, FAR), (1, 1, FAR)],
            (0.0, NAN, 1.0, NAN, NAN, NAN),
        ),
        (
            "half the time, 50 m off",
            [(0, "A", O), (1, "A", O)],
            [(1, 1, NEAR)],
            (0.5, 1.0, 0.0, 50.0, 0.0, 1.0),
        ),
        (
            "duplicate track",
            [(0, "A", O)],
            [(0, 1, O), (0, 2, NEAR)],
            (1.0, 2.0, 0.0, 25.0, 0.0, 0.0),
        ),
        (
            "number change",
            [(0, "A", O), (1, "A", O), (2, "A", O), (3, "A", O)],
            [(0, 1, O), (1, 1, O), (2, 2, O), (3, 2, O)],
            (1.0, 1.0, 0.0, 0.0, 1.0, 1.0),
        ),
        (
            "spurious plus good",
            [(0, "A", O)],
            [(0, 1, O), (0, 2, FAR)],
            (1.0, 1.0, 0.5, 0.0, 0.0, 1.0),
        ),
        (
            "track before the object exists",
            [(1, "A", O)],
            [(0, 1, O), (1, 1, O)],
            (1.0, 1.0, 0.5, 0.0, 0.0, 1.0),
        ),
    ],
)
def test_siap_edge_cases(name, truth_rows, track_rows, want):
    r = _siap_case(truth_rows, track_rows)
    got = (
        r.completeness,
        r.ambiguity,
        r.spuriousness,
        r.positional_accuracy_m,
        r.track_number_changes_per_object,
        r.commonality,
    )
    np.testing.assert_allclose(got, want, atol=1e-9, err_msg=name)


def test_commonality_across_partners():
    truth = _table([0, 1], ["A", "A"], [O, O])
    # both partners see global number 7 at t=0; at t=1 JP sees 7, KR sees 9
    same_then_split = _table(
        [0, 0, 1, 1],
        [7, 7, 7, 9],
        [O, NEAR, O, NEAR],
        id_name="global_track_number",
        nation=["JP", "KR", "JP", "KR"],
    )
    r = siap(
        truth, same_then_split, gate_m=100.0, id_col="global_track_number", partner_col="nation"
    )
    assert r.commonality == pytest.approx(0.5)
    # only JP sees the object at t=1: not eligible (fewer than two partners)
    one_side = _table(
        [0, 0, 1], [7, 7, 7], [O, NEAR, O], id_name="global_track_number", nation=["JP", "KR", "JP"]
    )
    r = siap(truth, one_side, gate_m=100.0, id_col="global_track_number", partner_col="nation")
    assert r.commonality == 1.0
    # the same number seen by two partners is one track per partner, not an ambiguity
    assert r.ambiguity == pytest.approx(3 / 2)


def test_track_swaps_edge_cases():
    truth = _table(
        [0, 0, 1, 1, 2, 2, 3, 3], ["A", "B"] * 4, [O, FAR] * 4
    )  # A at origin, B 10 km away
    tracks = _table(
        [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2],
        [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3],
        [O, O, O, O, O, FAR, O, FAR, O, (5e3, 0, 0), O],
        id_name="track_id",
    )
    got = track_swaps(tracks, truth, gate_m=100.0)
    # 1: A A A A → 0; 2: A B A B → 3; 3: A – A → 0 (an epoch on nothing is no swap)
    assert got == {1: 0, 2: 3, 3: 0}


def test_series_agree_with_stonesoup_and_with_the_point_functions():
    truth, tracks = _scene()
    c, p = 300.0, 2.0
    t, o = ospa_series(truth, tracks, c_m=c, p=p)
    g = gospa_series(truth, tracks, c_m=c, p=p)
    np.testing.assert_array_equal(t, np.arange(20.0))
    np.testing.assert_array_equal(g.time_s, t)
    paths, trks = _stonesoup_paths(truth, tracks)
    so_truth = [
        State(s.state_vector[:3], timestamp=s.timestamp) for path in paths for s in path.states
    ]
    so_trk = [State(s.state_vector[:3], timestamp=s.timestamp) for tr in trks for s in tr.states]
    ids_truth = list(range(len(so_truth)))
    ids_trk = list(range(len(so_trk)))
    so_g = GOSPAMetric(c=c, p=p).compute_over_time(so_trk, ids_trk, so_truth, ids_truth)
    so_d = np.array([m.value["distance"] for m in so_g.value])
    np.testing.assert_allclose(g.distance, so_d, rtol=1e-12, atol=1e-9)
    so_o = OSPAMetric(c=c, p=p).compute_over_time(so_trk, ids_trk, so_truth, ids_truth)
    so_ov = np.array([m.value for m in so_o.value])
    for k in range(t.size):
        X = np.column_stack([truth[n][truth["time_s"] == t[k]] for n in POS])
        Y = np.column_stack([tracks[n][tracks["time_s"] == t[k]] for n in POS])
        assert o[k] == pytest.approx(ospa(X, Y, c_m=c, p=p), abs=1e-12)
        assert so_ov[k] == pytest.approx(ospa(X, Y, c_m=c, p=p, assignment="sum_distance"))


def test_series_interpolates_truth_between_samples():
    """Truth sampled every 2 s on a cubic path (exact for the Hermite interpolant); a
    track exactly on the path every second has zero error at every epoch."""
    a = np.array([3.0, -2.0, 1.0])
    j = np.array([0.01, 0.02, -0.03])

    def r(t):
        return np.outer(t, [7e3, 0, 0]) + 0.5 * np.outer(t**2, a) + np.outer(t**3, j) / 6

    def v(t):
        return np.tile([7e3, 0, 0], (t.size, 1)) + np.outer(t, a) + 0.5 * np.outer(t**2, j)

    ts = np.arange(0.0, 21.0, 2.0)
    ts = np.append(ts, 20.7)  # impact row off the grid
    truth = _table(ts, ["W"] * ts.size, r(ts), v(ts))
    tt = np.arange(0.0, 21.0)
    tracks = _table(tt, [1] * tt.size, r(tt), v(tt), id_name="track_id")
    _, o = ospa_series(truth, tracks, c_m=1e3, p=2)
    assert np.max(o) < 1e-6
    s = siap(truth, tracks, gate_m=10.0)
    assert s.positional_accuracy_m < 1e-6 and s.velocity_accuracy_mps < 1e-6
    assert s.completeness == pytest.approx(21 / 22)  # the impact epoch 20.7 s has no track
    off_clock = _table(tt + 0.5, [1] * tt.size, r(tt), id_name="track_id")
    with pytest.raises(ValueError, match="evaluation epoch"):
        ospa_series(truth, off_clock, c_m=1e3, p=2)


def test_series_speed_2700_epochs_30_objects():
    rng = np.random.default_rng(5)
    t = np.arange(2700.0)
    n = 30
    base = rng.uniform(-1e6, 1e6, (n, 3)) + np.array([6.4e6, 0, 0])
    vel = rng.normal(0, 3e3, (n, 3))
    r = base[None, :, :] + t[:, None, None] * vel[None, :, :]
    times = np.repeat(t, n)
    truth = _table(times, np.tile([f"o{i}" for i in range(n)], t.size), r.reshape(-1, 3))
    tracks = _table(
        times,
        np.tile(np.arange(n), t.size),
        r.reshape(-1, 3) + rng.normal(0, 100, (times.size, 3)),
        id_name="track_id",
    )
    t0 = time.perf_counter()
    _, o = ospa_series(truth, tracks, c_m=1e3, p=2)
    dt = time.perf_counter() - t0
    assert o.size == 2700
    assert dt < 1.0, f"OSPA series 2700 epochs × 30 objects took {dt:.2f} s"


# ---------------------------------------------------------------- timeliness


def test_first_time_and_time_to_first_track():
    truth = _table([10, 11, 12, 13, 12, 13], ["W", "W", "W", "W", "S", "S"], [O] * 4 + [FAR] * 2)
    tracks = _table(
        [11, 12, 13, 13],
        [1, 1, 1, 2],
        [NEAR, O, O, FAR],
        id_name="track_id",
        n_updates=[3, 4, 5, 3],
    )
    assert first_time(tracks) == 11.0
    assert first_time(tracks, lambda c: np.asarray(c["n_updates"]) >= 5) == 13.0
    assert np.isnan(first_time(tracks, lambda c: np.asarray(c["n_updates"]) > 9))
    with pytest.raises(ValueError, match="boolean array"):
        first_time(tracks, lambda c: np.asarray(c["n_updates"]))
    got = time_to_first_confirmed_track(tracks, truth, gate_m=100.0)
    assert got == {"S": 1.0, "W": 1.0}
    got = time_to_first_confirmed_track(tracks, truth, gate_m=10.0, object_ids=["W"])
    assert got == {"W": 2.0}  # 50 m off at 11 s: outside a 10 m gate
    with pytest.raises(ValueError, match="not in the truth table"):
        time_to_first_confirmed_track(tracks, truth, gate_m=10.0, object_ids=["X"])


def test_launch_and_impact_errors_match_pyproj():
    geod = Geod(ellps="WGS84")
    lat0, lon0 = 39.0, 125.5  # launch
    lat1, lon1 = 40.5, 135.0  # impact
    r0 = geodetic_to_ecef(np.radians(lat0), np.radians(lon0), 0.0)
    r1 = geodetic_to_ecef(np.radians(lat1), np.radians(lon1), 0.0)
    ts = np.array([0.0, 100.0, 200.0, 300.0, 400.0])
    w = np.linspace(0, 1, ts.size)[:, None]
    rt = (1 - w) * r0 + w * r1
    truth = _table(ts, ["W"] * ts.size, rt)
    est_launch_lat = np.array([np.nan, 39.1, 39.05, 39.01, 39.0])
    est_impact_lon = np.array([np.nan, 136.0, 135.5, 135.1, 135.0])
    tracks = _table(
        np.r_[ts[1:], 200.0],
        [1, 1, 1, 1, 2],
        np.vstack([rt[1:], rt[2] + 5e4]),  # track 2 is far (not on W)
        id_name="track_id",
        launch_lat_deg=np.r_[est_launch_lat[1:], 0.0],
        launch_lon_deg=np.full(5, lon0),
        launch_time_s=np.array([3.0, 2.0, 1.0, 0.0, 0.0]),
        impact_lat_deg=np.full(5, lat1),
        impact_lon_deg=np.r_[est_impact_lon[1:], 0.0],
        impact_time_s=np.array([410.0, 405.0, 401.0, 400.0, 0.0]),
    )
    le = launch_point_error_m(tracks, truth, object_id="W", gate_m=1e3)
    np.testing.assert_array_equal(le.time_s, ts[1:])
    np.testing.assert_array_equal(le.since_launch_s, ts[1:])
    want = geod.inv(np.full(4, lon0), est_launch_lat[1:], np.full(4, lon0), np.full(4, lat0))[2]
    np.testing.assert_allclose(le.error_m, want, rtol=0, atol=1e-3)
    np.testing.assert_allclose(le.time_error_s, [3.0, 2.0, 1.0, 0.0])
    ie = impact_error_vs_time(tracks, truth, object_id="W", gate_m=1e3)
    want = geod.inv(est_impact_lon[1:], np.full(4, lat1), np.full(4, lon1), np.full(4, lat1))[2]
    np.testing.assert_allclose(ie.error_m, want, rtol=0, atol=1e-3)
    np.testing.assert_allclose(ie.time_error_s, [10.0, 5.0, 1.0, 0.0])
    assert set(ie.track_id.tolist()) == {1}


# ---------------------------------------------------------------- NEES


def test_nees_values_shapes_and_band():
    P = np.diag([4.0, 9.0, 16.0])
    assert nees([2.0, 3.0, 4.0], P) == pytest.approx(3.0)
    rng = np.random.default_rng(11)
    L = rng.normal(size=(200, 6, 6))
    Ps = L @ np.swapaxes(L, -1, -2) + 6 * np.eye(6)
    e = (np.linalg.cholesky(Ps) @ rng.normal(size=(200, 6, 1)))[..., 0]
    eps = nees(e, Ps)
    assert eps.shape == (200,)
    lo, hi = nees_band(6, 200)
    assert lo < eps.mean() < hi
    assert nees(e[None], Ps[None]).shape == (1, 200)  # N-d
    assert nees(e[:3], np.eye(6)).shape == (3,)  # broadcast covariance
    # documented formula: χ²⁻¹(0.025, 150)/50 and χ²⁻¹(0.975, 150)/50 for dof 3, n 50
    assert nees_band(3, 50) == pytest.approx((chi2.ppf(0.025, 150) / 50, chi2.ppf(0.975, 150) / 50))
    # Bar-Shalom et al. (2001) §5.4.2 quote [1.5, 2.6] for n_x = 2, N = 50 runs (rounded)
    lo, hi = nees_band(2, 50)
    assert lo == pytest.approx(1.5, abs=0.02) and hi == pytest.approx(2.6, abs=0.02)
    with pytest.raises(ValueError):
        nees([1.0, 2.0], P)
    with pytest.raises(ValueError):
        nees_band(0, 10)
