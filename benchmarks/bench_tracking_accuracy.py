"""Tracking accuracy on the seed scenario, node by node, against the posterior CRLB.

For ``--runs`` Monte-Carlo draws of the seed scenario (seeds 1, 2, …: new radar noise,
detections and debris), each nation's node tracks its own radars' detections. Printed
per nation:

* warhead position RMSE over the runs at each epoch, against the posterior Cramér–Rao
  lower bound for the same radars (:mod:`trilink.evaluation.crlb`, Pd < 1 by the
  information-reduction factor); the ratio after convergence (epochs at least 30 s after
  the node's first warhead detection, with the warhead tracked in every run);
* track quality (:mod:`trilink.evaluation.track_quality`): purity, clutter tracks,
  the fraction of its detectable time each object is tracked;
* launch-point error of the first launch estimate, and impact-point error of the
  warhead track's prediction versus time since launch, with the 95 % ellipse's hit rate;
* the warhead's kind at the epoch the true warhead passes 80 km on the way down.

A PNG per nation (RMSE and bound versus time) goes to ``benchmarks/results/``.
Options: ``--runs=N`` (default 3), ``--nations=KR,JP,US``, ``--t-end=S``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import msgspec
import numpy as np

from trilink.evaluation.crlb import pcrlb_for_object, prior_information
from trilink.evaluation.track_quality import position_errors, track_quality
from trilink.geo.frames import ecef_to_geodetic
from trilink.geo.geodesic import geodesic_inverse
from trilink.scenario.build import Scenario, get_scenario
from trilink.sensors.detection import sensors_table
from trilink.sim.run import run_scenario
from trilink.tracking.measurement import SensorSites
from trilink.tracking.products import ImpactPrediction
from trilink.tracking.tracker import Tracker

RESULTS = Path(__file__).parent / "results"


def _opt(argv: list[str], name: str, default: str) -> str:
    for a in argv:
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
    return default


def _with_seed(sc: Scenario, seed: int) -> Scenario:
    spec = msgspec.structs.replace(
        sc.spec, scenario=msgspec.structs.replace(sc.spec.scenario, seed=seed)
    )
    return Scenario(spec=spec, source=sc.source)


def _down_through(obj, alt_m: float) -> float:
    t = np.arange(obj.t_start_s, obj.t_impact_s, 0.5)
    _, _, h = ecef_to_geodetic(obj.states_at(t)[:, :3])
    i = np.flatnonzero((h[:-1] >= alt_m) & (h[1:] < alt_m))
    return float(t[i[-1] + 1]) if i.size else math.nan


def main(argv: list[str]) -> None:
    runs = int(_opt(argv, "runs", "3"))
    nations = _opt(argv, "nations", "KR,JP,US").split(",")
    base = get_scenario(None)
    t_end = float(_opt(argv, "t-end", str(base.spec.scenario.duration_s)))
    err: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {n: [] for n in nations}
    lines: dict[str, list[str]] = {n: [] for n in nations}
    impact_hits: dict[str, list[tuple[float, float, bool]]] = {n: [] for n in nations}
    kinds: dict[str, list[str]] = {n: [] for n in nations}
    wall: dict[str, float] = dict.fromkeys(nations, 0.0)
    n_det: dict[str, int] = dict.fromkeys(nations, 0)
    flights = radars_all = None
    for run in range(runs):
        res = run_scenario(_with_seed(base, 1 + run))
        flights, radars_all = res.flights, res.sensors
        warhead = next(o for f in flights for o in f.objects if o.object_id == "T1-warhead")
        t80 = _down_through(warhead, 80_000.0)
        for nation in nations:
            radars = [r for r in res.sensors if r.nation == nation]
            det = res.detections
            det = det.select(
                np.isin(det.sensor_id, [r.sensor_id for r in radars]) & (det.time_s <= t_end)
            )
            t0 = time.perf_counter()
            out = Tracker(SensorSites.from_table(sensors_table(radars))).run(det, t_end_s=t_end)
            wall[nation] += time.perf_counter() - t0
            n_det[nation] += len(det)
            q = track_quality(out, det)
            err[nation].append(position_errors(out, q, flights, "T1-warhead"))
            clutter = q.worst_clutter_duration_s
            pure = sum(t.purity >= 0.95 for t in q.tracks)
            frac = {o.object_id: o.tracked_fraction for o in q.objects}
            main_objs = [k for k in frac if not k.split("-")[-1].startswith("debris")]
            debris = [frac[k] for k in frac if k.split("-")[-1].startswith("debris")]
            c = out.columns
            wt = q.track_of("T1-warhead")
            launch = ""
            if wt is not None:
                rows = np.flatnonzero(np.isfinite(c["launch_lat_deg"]))
                if rows.size:
                    k = rows[0]
                    f0 = flights[0].launch
                    dist_m = float(
                        geodesic_inverse(
                            math.radians(c["launch_lat_deg"][k]),
                            math.radians(c["launch_lon_deg"][k]),
                            f0.lat_rad,
                            f0.lon_rad,
                        )[0]
                    )
                    launch = (
                        f"launch point {dist_m / 1e3:.2f} km / "
                        f"{c['launch_time_s'][k] - f0.t_launch_s:+.1f} s at {c['time_s'][k]:.0f} s"
                    )
                ids = [t.track_id for t in q.tracks if t.object_id == "T1-warhead"]
                sel = np.flatnonzero(np.isin(c["track_id"], ids) & np.isfinite(c["impact_lat_deg"]))
                for k in sel[::5].tolist():
                    p = ImpactPrediction.from_tracks_row(c, k)
                    off = p.offsets_ne_m(warhead.impact_lat_rad, warhead.impact_lon_rad)
                    impact_hits[nation].append(
                        (
                            float(c["time_s"][k]),
                            float(np.hypot(*off)),
                            bool(p.contains(warhead.impact_lat_rad, warhead.impact_lon_rad)),
                        )
                    )
                at80 = np.flatnonzero(
                    np.isin(c["track_id"], ids) & (np.abs(c["time_s"] - t80) <= 0.5)
                )
                kinds[nation].append(str(c["kind"][at80[0]]) if at80.size else "not tracked")
            else:
                kinds[nation].append("not tracked")
            lines[nation].append(
                f"  run {run + 1}: {len(q.tracks)} confirmed tracks, {pure} with purity ≥ 95 %, "
                f"longest clutter track {clutter:.0f} s; tracked fraction "
                + ", ".join(f"{k.split('-')[-1]} {frac[k]:.0%}" for k in sorted(main_objs))
                + (f", debris median {np.median(debris):.0%}" if debris else "")
                + (f"; {launch}" if launch else "")
            )
    RESULTS.mkdir(exist_ok=True)
    assert flights is not None and radars_all is not None
    warhead = next(o for f in flights for o in f.objects if o.object_id == "T1-warhead")
    for nation in nations:
        print(f"--- {nation} node ({runs} runs) ---")
        print(
            f"  tracker wall {wall[nation] / runs:.1f} s per run for {n_det[nation] / runs:.0f} "
            f"detections ({n_det[nation] / max(wall[nation], 1e-9):,.0f} detections/s)"
        )
        for ln in lines[nation]:
            print(ln)
        # RMSE on the epochs every run reports
        common = None
        for ts, _ in err[nation]:
            common = set(ts.tolist()) if common is None else common & set(ts.tolist())
        if not common:
            print("  warhead not tracked in every run at any common epoch")
            continue
        grid = np.array(sorted(common))
        sq = np.zeros(grid.size)
        for ts, e in err[nation]:
            sq += np.interp(grid, ts, e) ** 2
        rmse = np.sqrt(sq / runs)
        radars = [r for r in radars_all if r.nation == nation]
        J0 = prior_information(
            sigma_position_m=1_000.0,
            sigma_velocity_mps=100.0,
            sigma_thrust_mps2=20.0,
            sigma_kdrag_m2pkg=1e-3,
        )
        b = pcrlb_for_object(
            warhead,
            radars,
            t_start_s=float(grid[0]),
            t_end_s=float(grid[-1]),
            J0=J0,
            flight_objects=flights[0].objects,
        )
        bound = np.interp(grid, b.times_s, b.position_rmse_bound_m)
        conv = grid >= grid[0] + 30.0
        ratio = rmse[conv] / bound[conv]
        if ratio.size:
            print(
                f"  warhead RMSE / PCRLB after convergence: median {np.median(ratio):.2f}, "
                f"90th pct {np.percentile(ratio, 90):.2f}; ≤ 1.5 at {np.mean(ratio <= 1.5):.0%} "
                f"of {ratio.size} epochs (target: ≤ 1.5)"
            )
        hits = impact_hits[nation]
        if hits:
            h = np.array([x[2] for x in hits])
            print(
                f"  impact prediction: {len(hits)} samples, truth inside the 95 % ellipse in "
                f"{h.mean():.0%}; error median {np.median([x[1] for x in hits]) / 1e3:.1f} km"
            )
            for lo, hi in ((0, 300), (300, 1000), (1000, 2000), (2000, 3000)):
                e = [x[1] for x in hits if lo <= x[0] < hi]
                if e:
                    print(
                        f"    {lo:4d}–{hi:4d} s after launch: median impact error "
                        f"{np.median(e) / 1e3:.1f} km ({len(e)} samples)"
                    )
        print(f"  warhead kind at 80 km descending: {kinds[nation]}")
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 4))
        ax.semilogy(grid, rmse, ".", ms=2, label=f"trilink RMSE ({runs} runs)")
        ax.semilogy(grid, bound, "-", lw=1, label="posterior CRLB")
        ax.set_xlabel("time since launch, s")
        ax.set_ylabel("warhead position error, m")
        ax.set_title(f"{nation} node: warhead position RMSE vs posterior CRLB")
        ax.legend()
        fig.tight_layout()
        path = RESULTS / f"tracking_crlb_{nation}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        print(f"  plot: {path}")
