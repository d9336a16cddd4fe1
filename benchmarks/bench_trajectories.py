"""Batch trajectory propagation vs one-by-one ``solve_ivp`` (DOP853, rtol 1e-10).

1,000 lofted Hwasong-18 flights with staging (launch site jittered by ~±5 km,
azimuth 40–110°, stage-1 pitch 60–85°, last-stage burn fraction 0.7–1), every
object (warhead, three stage bodies) propagated to impact:

* **batch**: all 1,000 flights (4,000 objects) in one call of
  :func:`trilink.threats.fly_batch` (Dormand–Prince 5(4) vectorised over rows);
* **reference**: the same flights, object by object, with
  ``scipy.integrate.solve_ivp(method="DOP853", rtol=1e-10)`` through the same
  force model and segments (:func:`trilink.threats.flight.fly_reference`).

The reference costs ~3 s per flight, so by default it runs on a random sample of
the flights (``--reference-flights``, default 40) and its total is extrapolated
per flight; ``--reference-flights 1000`` runs all of them (≈ 50 min). The worst
error is the largest distance between batch and reference impact points over
every object of the sampled flights.

Options: ``--flights N`` (1000), ``--reference-flights K`` (40), ``--rtol R`` (1e-7),
``--seed S`` (1).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from trilink.geo.frames import geodetic_to_ecef
from trilink.threats import fly_batch, get_missile, get_site
from trilink.threats.flight import Launch, Steering, fly_reference


def _option(argv: list[str], name: str, default: float) -> float:
    for a in argv:
        if a.startswith(f"--{name}="):
            return float(a.split("=", 1)[1])
    return default


def make_launches(n: int, seed: int) -> list[Launch]:
    """``n`` lofted Hwasong-18 launches from around Samsok with varied parameters."""
    rng = np.random.default_rng(seed)
    missile = get_missile("hwasong-18")
    site = get_site("samsok")
    out = []
    for i in range(n):
        out.append(
            Launch(
                missile=missile,
                lat_rad=site.lat_rad + rng.uniform(-5e3, 5e3) / 6.371e6,
                lon_rad=site.lon_rad + rng.uniform(-5e3, 5e3) / (6.371e6 * math.cos(site.lat_rad)),
                azimuth_rad=math.radians(rng.uniform(40.0, 110.0)),
                steering=Steering(
                    pitch_first_rad=math.radians(rng.uniform(60.0, 85.0)),
                    burn_fraction_last=float(rng.uniform(0.7, 1.0)),
                ),
                threat_id=f"F{i:04d}",
            )
        )
    return out


def main(argv: list[str]) -> None:
    n = int(_option(argv, "flights", 1000))
    k = int(_option(argv, "reference-flights", 40))
    rtol = _option(argv, "rtol", 1e-7)
    seed = int(_option(argv, "seed", 1))
    launches = make_launches(n, seed)

    fly_batch(launches[:2], record=False, objects=True, rtol=rtol)  # warm-up (imports, caches)
    t0 = time.perf_counter()
    flights = fly_batch(launches, record=False, objects=True, rtol=rtol)
    t_batch = time.perf_counter() - t0
    n_objects = sum(len(f.objects) for f in flights)
    print(
        f"batch: {n} flights, {n_objects} objects to impact in {t_batch:.2f} s "
        f"({n / t_batch:.0f} flights/s, rtol {rtol:g})",
        flush=True,
    )

    sample = np.sort(np.random.default_rng(seed + 1).choice(n, size=min(k, n), replace=False))
    worst_m = 0.0
    worst_dt = 0.0
    worst_id = ""
    t_ref = 0.0
    n_rhs = 0
    with Progress(
        TextColumn("reference (solve_ivp DOP853, rtol 1e-10)"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ) as bar:
        task = bar.add_task("ref", total=sample.size)
        for i in sample:
            t1 = time.perf_counter()
            ref = fly_reference(launches[i])
            t_ref += time.perf_counter() - t1
            by_id = {o.object_id: o for o in flights[i].objects}
            for r in ref:
                o = by_id[r.object_id]
                r_b = geodetic_to_ecef(o.impact_lat_rad, o.impact_lon_rad, 0.0)
                err = float(np.linalg.norm(r_b - r.r_impact_ecef_m))
                n_rhs += r.n_rhs
                if err > worst_m:
                    worst_m, worst_id = err, r.object_id
                worst_dt = max(worst_dt, abs(o.t_impact_s - r.t_impact_s))
            bar.advance(task)

    per_flight = t_ref / sample.size
    t_one_by_one = per_flight * n
    ratio = t_one_by_one / t_batch
    extrapolated = sample.size < n
    print(
        f"reference: {sample.size} flights in {t_ref:.1f} s = {per_flight:.2f} s/flight "
        f"({n_rhs / sample.size:.0f} RHS evaluations per flight)"
    )
    print(
        f"one-by-one for all {n} flights: {t_one_by_one:.0f} s"
        + (f" (extrapolated from {sample.size} sampled flights)" if extrapolated else "")
    )
    print(f"RATIO one-by-one / batch: {ratio:.0f}x  (target >= 50x)")
    print(
        f"WORST impact position error vs reference: {worst_m:.3f} m ({worst_id}); "
        f"worst impact time error {worst_dt * 1e3:.2f} ms  (target <= 100 m)"
    )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "trajectories.json").write_text(
        json.dumps(
            {
                "flights": n,
                "objects": n_objects,
                "batch_s": t_batch,
                "reference_flights": int(sample.size),
                "reference_s": t_ref,
                "one_by_one_s": t_one_by_one,
                "extrapolated": extrapolated,
                "ratio": ratio,
                "worst_impact_error_m": worst_m,
                "worst_impact_time_error_s": worst_dt,
                "rtol": rtol,
            },
            indent=2,
        )
    )
