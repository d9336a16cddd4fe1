"""Run a scenario end to end (what exists so far: threats and truth)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trilink.scenario.build import Scenario, scenario_launches
from trilink.tables import write_csv
from trilink.threats.flight import Flight, fly_batch
from trilink.threats.truth import TRUTH_COLUMNS, truth_table


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """What a scenario run produced."""

    scenario: Scenario
    flights: tuple[Flight, ...]
    outputs: dict[str, Path]


def run_scenario(
    scenario: Scenario,
    out_dir: str | Path | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    """Fly every threat of ``scenario``; write ``truth.csv`` to ``out_dir`` if given."""
    say = progress or (lambda _msg: None)
    say("solving launch steering")
    launches = scenario_launches(scenario)
    say(f"flying {len(launches)} launch(es) with all objects")
    rng = np.random.default_rng(scenario.spec.scenario.seed)
    flights = fly_batch(launches, rng=rng, record=True, objects=True)
    outputs: dict[str, Path] = {}
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        say("writing truth table")
        table = truth_table(
            flights,
            step_s=scenario.spec.scenario.truth_step_s,
            t_end_s=scenario.spec.scenario.duration_s,
        )
        outputs["truth"] = write_csv(out / "truth.csv", table, TRUTH_COLUMNS)
    return RunResult(scenario=scenario, flights=flights, outputs=outputs)
