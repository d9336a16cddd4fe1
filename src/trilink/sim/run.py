"""Run a scenario end to end (so far: threats, truth, sensors and detections)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from trilink.scenario.build import Scenario, scenario_launches
from trilink.sensors.detection import (
    DETECTION_COLUMNS,
    SENSOR_COLUMNS,
    DetectionBatch,
    sensors_table,
)
from trilink.sensors.radar import Radar
from trilink.sensors.simulate import first_detections, simulate_detections
from trilink.tables import write_table
from trilink.threats.flight import Flight, fly_batch
from trilink.threats.truth import TRUTH_COLUMNS, truth_table


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """What a scenario run produced."""

    scenario: Scenario
    flights: tuple[Flight, ...]
    sensors: tuple[Radar, ...] = ()
    detections: DetectionBatch | None = None
    outputs: dict[str, Path] = field(default_factory=dict)

    def first_detections(self, by: Literal["sensor", "nation"] = "nation") -> dict[str, NDArray]:
        """First detection per nation (or sensor) and truth object."""
        if self.detections is None:
            raise ValueError("this run simulated no detections")
        return first_detections(self.detections, self.sensors, by=by)

    def first_detection_by_nation(self) -> dict[str, tuple[float, float, str, str]]:
        """Earliest detection of any object per nation: (time_s, alt_m, sensor_id, object)."""
        fd = self.first_detections("nation")
        out: dict[str, tuple[float, float, str, str]] = {}
        for k, o, t, a, s in zip(
            fd["key"], fd["object_id"], fd["time_s"], fd["alt_m"], fd["sensor_id"], strict=True
        ):
            if k not in out or t < out[k][0]:
                out[str(k)] = (float(t), float(a), str(s), str(o))
        return out


def run_scenario(
    scenario: Scenario,
    out_dir: str | Path | None = None,
    *,
    detect: bool = True,
    table_format: Literal["csv", "parquet"] = "csv",
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    """Fly every threat of ``scenario``, then let its sensors detect them.

    Writes ``truth``, ``sensors`` and ``detections`` tables (DESIGN.md contracts) to
    ``out_dir`` if given. Random draws: one ``numpy.random.Generator`` seeded from
    the scenario's seed, split into independent streams for debris and sensors.
    """
    say = progress or (lambda _msg: None)
    say("solving launch steering")
    launches = scenario_launches(scenario)
    debris_rng, sensor_rng = (
        np.random.default_rng(s)
        for s in np.random.SeedSequence(scenario.spec.scenario.seed).spawn(2)
    )
    say(f"flying {len(launches)} launch(es) with all objects")
    flights = fly_batch(launches, rng=debris_rng, record=True, objects=True)
    sensors: tuple[Radar, ...] = ()
    detections = None
    duration = scenario.spec.scenario.duration_s
    if detect:
        sensors = scenario.sensors()
        say(f"simulating {len(sensors)} sensors")
        detections = simulate_detections(sensors, flights, 0.0, duration, sensor_rng)
    outputs: dict[str, Path] = {}
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        say("writing tables")
        table = truth_table(flights, step_s=scenario.spec.scenario.truth_step_s, t_end_s=duration)
        ext = "." + table_format
        outputs["truth"] = write_table(out / f"truth{ext}", table, TRUTH_COLUMNS)
        if detections is not None:
            outputs["sensors"] = write_table(
                out / f"sensors{ext}", sensors_table(sensors), SENSOR_COLUMNS
            )
            outputs["detections"] = write_table(
                out / f"detections{ext}", detections.columns(), DETECTION_COLUMNS
            )
    return RunResult(
        scenario=scenario,
        flights=flights,
        sensors=sensors,
        detections=detections,
        outputs=outputs,
    )
