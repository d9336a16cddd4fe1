"""Evaluation metrics: trilink's OSPA/GOSPA against Stone Soup's, µs per call.

Point sets: 100 × 100 points, N(0, 1 km) per axis, cut-off c = 500 m (and 10 km,
no pair cut), p = 2 (best of
``--repeat`` calls). Series: 2,700 epochs × 30 objects (tracks = truth + 100 m noise),
trilink's :func:`~trilink.evaluation.metrics.ospa_series` and ``gospa_series`` over
the tables against Stone Soup's ``GOSPAMetric.compute_over_time`` on the first
``--so-epochs`` epochs (its per-pair Python loop makes the full series take minutes),
scaled per epoch.

Options: ``--repeat=N`` (20), ``--so-epochs=N`` (100).
"""

from __future__ import annotations

import datetime
import time

import numpy as np

from trilink.evaluation.metrics import gospa, gospa_series, ospa, ospa_series


def _best_us(f, repeat: int) -> float:
    f()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best * 1e6


def main(argv: list[str]) -> None:
    from stonesoup.metricgenerator.ospametric import GOSPAMetric, OSPAMetric
    from stonesoup.types.state import State

    repeat, so_epochs = 20, 100
    for a in argv:
        if a.startswith("--repeat="):
            repeat = int(a.split("=", 1)[1])
        elif a.startswith("--so-epochs="):
            so_epochs = int(a.split("=", 1)[1])
    rng = np.random.default_rng(0)
    X, Y = rng.normal(0, 1e3, (100, 3)), rng.normal(0, 1e3, (100, 3))
    c, p = 500.0, 2.0
    t0 = datetime.datetime(2024, 1, 1)
    sx = [State(x.reshape(3, 1), timestamp=t0) for x in X]
    sy = [State(y.reshape(3, 1), timestamp=t0) for y in Y]
    om, gm = OSPAMetric(c=c, p=p), GOSPAMetric(c=c, p=p)
    rows = [
        (
            "OSPA 100×100",
            _best_us(lambda: ospa(X, Y, c_m=c, p=p), repeat),
            _best_us(lambda: om.compute_OSPA_distance(sy, sx), max(3, repeat // 5)),
        ),
        (
            "GOSPA 100×100",
            _best_us(lambda: gospa(X, Y, c_m=c, p=p), repeat),
            _best_us(lambda: gm.compute_gospa_metric(sy, sx), max(3, repeat // 5)),
        ),
    ]
    big = 1e4  # every pair inside the cut-off: the assignment problem is fully dense
    rows.append(
        (
            "OSPA 100×100, c = 10 km",
            _best_us(lambda: ospa(X, Y, c_m=big, p=p), repeat),
            _best_us(
                lambda: OSPAMetric(c=big, p=p).compute_OSPA_distance(sy, sx), max(3, repeat // 5)
            ),
        )
    )
    # series
    n_ep, n_obj = 2700, 30
    t = np.arange(float(n_ep))
    base = rng.uniform(-1e6, 1e6, (n_obj, 3))
    vel = rng.normal(0, 3e3, (n_obj, 3))
    r = (base[None] + t[:, None, None] * vel[None]).reshape(-1, 3)
    times = np.repeat(t, n_obj)
    est = r + rng.normal(0, 100.0, r.shape)
    names = ("x_ecef_m", "y_ecef_m", "z_ecef_m")
    truth = {"time_s": times, "object_id": np.tile([f"o{i}" for i in range(n_obj)], n_ep)}
    tracks = {"time_s": times, "track_id": np.tile(np.arange(n_obj), n_ep)}
    for j, nm in enumerate(names):
        truth[nm], tracks[nm] = r[:, j], est[:, j]
    for nm in ("vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps"):
        truth[nm] = np.zeros(times.size)
    so_rows = times < so_epochs
    so_truth = [
        State(x.reshape(3, 1), timestamp=t0 + datetime.timedelta(seconds=float(s)))
        for x, s in zip(r[so_rows], times[so_rows], strict=True)
    ]
    so_est = [
        State(x.reshape(3, 1), timestamp=t0 + datetime.timedelta(seconds=float(s)))
        for x, s in zip(est[so_rows], times[so_rows], strict=True)
    ]
    ids = list(range(len(so_truth)))
    so_us = _best_us(lambda: gm.compute_over_time(so_est, ids, so_truth, ids), 1) / so_epochs
    os_us = _best_us(lambda: ospa_series(truth, tracks, c_m=c, p=p), 3) / n_ep
    gs_us = _best_us(lambda: gospa_series(truth, tracks, c_m=c, p=p), 3) / n_ep
    rows.append((f"OSPA series, per epoch ({n_obj} obj)", os_us, float("nan")))
    rows.append((f"GOSPA series, per epoch ({n_obj} obj)", gs_us, so_us))
    print(f"{'metric':34s} {'trilink µs':>12s} {'Stone Soup µs':>14s} {'ratio':>7s}")
    for name, ours, theirs in rows:
        ratio = theirs / ours if np.isfinite(theirs) else float("nan")
        print(f"{name:34s} {ours:12.1f} {theirs:14.1f} {ratio:7.1f}")
    print(
        f"whole series {n_ep} epochs × {n_obj} objects: OSPA {os_us * n_ep / 1e6:.3f} s, "
        f"GOSPA {gs_us * n_ep / 1e6:.3f} s (target: well under 1 s)"
    )
