"""The hub's fusion throughput: national track reports through association + fusion.

The seed scenario is run once with the three national trackers (not timed); the
three nations' tracks tables (≈30 k reports) are replayed epoch by epoch through
:func:`trilink.fusion.fuse_run` (``--repeat`` times, best wall time reported) on one
core (``os.sched_setaffinity``) unless ``--all-cores``. Target ≥ 10,000 reports/s.

Options: ``--repeat=N`` (3), ``--fusion=scaled|independent|ci`` (the
:class:`~trilink.fusion.FuserConfig` default, scaled), ``--all-cores``.
"""

from __future__ import annotations

import os
import time

from trilink.fusion import FuserConfig, fuse_run
from trilink.scenario.build import get_scenario
from trilink.sim.run import run_scenario

TARGET_PER_S = 10_000.0


def main(argv: list[str]) -> None:
    repeat = 3
    fusion = FuserConfig().fusion
    for a in argv:
        if a.startswith("--repeat="):
            repeat = int(a.split("=", 1)[1])
        elif a.startswith("--fusion="):
            fusion = a.split("=", 1)[1]
    if "--all-cores" not in argv and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print("running the seed scenario with the national trackers (not timed) ...", flush=True)
    run = run_scenario(get_scenario(None), track=True, link=False)
    cols = {n: tr.columns for n, tr in run.tracks.items()}
    n_reports = sum(len(c["time_s"]) for c in cols.values())
    cfg = FuserConfig(fusion=fusion)  # type: ignore[arg-type]
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fuse_run(cols, config=cfg)
        best = min(best, time.perf_counter() - t0)
    rate = n_reports / best
    print(
        f"{n_reports} reports, {len(out)} epochs, fusion={fusion}: best {best:.2f} s, "
        f"{rate:,.0f} fused reports/s (target {TARGET_PER_S:,.0f}: "
        f"{'met' if rate >= TARGET_PER_S else 'NOT met'})"
    )
