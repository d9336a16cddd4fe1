"""Campaign throughput on the built-in seed-like spec: runs per second with 1 and 2
local workers, the CPU cost of a run by stage, and the projected time of the
acceptance campaign (issue 6: 1,000 runs x 5 configurations in <= 15 min on 2 cores).

Each measurement is a fresh campaign folder (nothing resumed). The stage breakdown is
CPU seconds per run summed over the workers (``meta.json``); a chunk's batched flight
is shared out evenly over its runs. Options: ``--runs=N`` (default 40, a multiple of
the spec's ``chunk_runs`` keeps the workers evenly loaded), ``--spec=NAME|FILE``,
``--workers=1,2``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from trilink.evaluation.campaign import run_campaign
from trilink.evaluation.campaign_spec import get_spec

BUDGET_S = 15 * 60.0
TARGET_RUNS = 1_000


def _opt(argv: list[str], name: str, default: str) -> str:
    for a in argv:
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
    return default


def main(argv: list[str]) -> None:
    runs = int(_opt(argv, "runs", "40"))
    spec_name = _opt(argv, "spec", "seedlike")
    workers = [int(w) for w in _opt(argv, "workers", "1,2").split(",")]
    spec = get_spec(spec_name)
    print(
        f"spec {spec.campaign.name}: window {spec.campaign.window_s:.0f} s, "
        f"{len(spec.campaign.configurations)} configurations, chunks of "
        f"{spec.campaign.chunk_runs} runs, debris {spec.campaign.debris}; "
        f"{runs} runs per measurement on {os.cpu_count()} cores"
    )
    rate: dict[int, float] = {}
    for w in workers:
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            run_campaign(spec, runs, Path(d) / "c", workers=w)
            wall = time.perf_counter() - t
            meta = json.loads((Path(d) / "c" / "meta.json").read_text())
        rate[w] = runs / wall
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"  (load average after: {load}; other processes on the cores skew the rate)")
        stages = meta["cpu_s_per_run_by_stage"]
        total = sum(stages.values())
        print(f"--- {w} worker(s): {wall:.1f} s wall, {rate[w]:.3f} runs/s")
        print(
            f"  CPU per run {total:.2f} s: " + ", ".join(f"{k} {v:.3f}" for k, v in stages.items())
        )
    best = max(rate, key=lambda k: rate[k])
    if 1 in rate and len(rate) > 1:
        for w in rate:
            if w != 1:
                print(f"scaling 1 -> {w} workers: x{rate[w] / rate[1]:.2f} (ideal x{w})")
    proj = TARGET_RUNS / rate[best]
    verdict = "meets" if proj <= BUDGET_S else "MISSES"
    print(
        f"projected {TARGET_RUNS} runs with {best} worker(s): {proj / 60:.1f} min "
        f"({verdict} the {BUDGET_S / 60:.0f} min budget; "
        f"needs {TARGET_RUNS / BUDGET_S:.2f} runs/s)"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
