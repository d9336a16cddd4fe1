"""Run a scenario end to end (so far: threats, truth, sensors and detections)."""

from __future__ import annotations

import importlib.metadata
import json
import math
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
from trilink.sensors.space_ir import (
    DEFAULT_SPACE_IR,
    LaunchNotice,
    LosDetections,
    launch_notices,
    simulate_ir_detections,
)
from trilink.sim.link_run import EventLog, LinkResult, run_link
from trilink.tables import write_table
from trilink.threats.flight import Flight, fly_batch
from trilink.threats.truth import TRUTH_COLUMNS, truth_table
from trilink.tracking.measurement import SensorSites
from trilink.tracking.plot import plot_tracks
from trilink.tracking.tracker import TRACK_COLUMNS, Tracker, TrackOutput
from trilink.warning.timeline import AlertTimeline, pictures_from_link, run_warning


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """What a scenario run produced."""

    scenario: Scenario
    flights: tuple[Flight, ...]
    sensors: tuple[Radar, ...] = ()
    detections: DetectionBatch | None = None
    outputs: dict[str, Path] = field(default_factory=dict)
    ir_detections: LosDetections | None = None
    launch_notices: tuple[LaunchNotice, ...] = ()
    tracks: dict[str, TrackOutput] = field(default_factory=dict)
    """Each nation's tracker output on its own radars' detections."""
    link: LinkResult | None = None
    """The link stage: the hub's fused picture, relays, counters."""
    alerts: AlertTimeline | None = None
    """The public alerts decided on the hub's picture."""

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


RUN_MANIFEST_VERSION = 1
"""Version of ``run.json``'s layout; readers (exports, replay) check it."""


def write_run_manifest(path: Path, scenario: Scenario, flights: tuple[Flight, ...]) -> Path:
    """``run.json``: what a run folder is (scenario, UTC epoch, seed, launches).

    Every time in the folder's tables is seconds since ``epoch_utc``; exports and the
    replay read the epoch from here and the scenario from ``scenario_toml``.
    """
    spec = scenario.spec.scenario
    manifest = {
        "manifest_version": RUN_MANIFEST_VERSION,
        "trilink_version": _version(),
        "scenario": scenario.name,
        "source": scenario.source,
        "epoch_utc": spec.epoch_utc.isoformat(),
        "seed": spec.seed,
        "duration_s": spec.duration_s,
        "launches": [
            {
                "threat_id": f.launch.threat_id,
                "missile": f.launch.missile.key,
                "t_launch_s": f.launch.t_launch_s,
                "lat_deg": math.degrees(f.launch.lat_rad),
                "lon_deg": math.degrees(f.launch.lon_rad),
                "azimuth_deg": math.degrees(f.launch.azimuth_rad),
                "apogee_km": f.apogee_m / 1e3,
                "impact_lat_deg": math.degrees(f.impact_lat_rad),
                "impact_lon_deg": math.degrees(f.impact_lon_rad),
                "impact_time_s": f.impact_time_s,
            }
            for f in flights
        ],
    }
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def _version() -> str:
    try:
        return importlib.metadata.version("trilink")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source tree
        return "unknown"


def _streams(scenario: Scenario) -> tuple[np.random.Generator, ...]:
    """The run's random streams: debris, radar, space IR. Streams 0 and 1 existed before
    the space IR; the third is appended so that existing draws are unchanged by it."""
    return tuple(
        np.random.default_rng(s)
        for s in np.random.SeedSequence(scenario.spec.scenario.seed).spawn(3)
    )


def scenario_launch_notices(scenario: Scenario) -> tuple[LaunchNotice, ...]:
    """The space-IR launch notices of a scenario, exactly as :func:`run_scenario` draws
    them (same flights, same streams): what the deployed hub, which runs no sensors,
    gives its warning chain."""
    debris_rng, _sensor_rng, ir_rng = _streams(scenario)
    flights = fly_batch(scenario_launches(scenario), rng=debris_rng, record=True, objects=True)
    return tuple(launch_notices(flights, simulate_ir_detections(DEFAULT_SPACE_IR, flights, ir_rng)))


def run_scenario(
    scenario: Scenario,
    out_dir: str | Path | None = None,
    *,
    detect: bool = True,
    track: bool = False,
    link: bool = True,
    warn: bool = True,
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
    debris_rng, sensor_rng, ir_rng = _streams(scenario)
    say(f"flying {len(launches)} launch(es) with all objects")
    flights = fly_batch(launches, rng=debris_rng, record=True, objects=True)
    sensors: tuple[Radar, ...] = ()
    detections = None
    ir_detections = None
    notices: tuple[LaunchNotice, ...] = ()
    duration = scenario.spec.scenario.duration_s
    if detect:
        sensors = scenario.sensors()
        say(f"simulating {len(sensors)} sensors")
        detections = simulate_detections(sensors, flights, 0.0, duration, sensor_rng)
        say("space IR launch detection")
        ir_detections = simulate_ir_detections(DEFAULT_SPACE_IR, flights, ir_rng)
        notices = launch_notices(flights, ir_detections)
    tracks: dict[str, TrackOutput] = {}
    consumed: dict[str, DetectionBatch] = {}
    if track and detections is not None:
        table = sensors_table(sensors)
        all_sites = SensorSites.from_table(table)
        for nation in sorted(set(all_sites.nation)):
            sites = all_sites.select([nation])
            mine = detections.select(np.isin(detections.sensor_id, list(sites.sensor_id)))

            def tick(t: float, nation: str = nation) -> None:
                say(f"tracking {nation}: {t:.0f} of {duration:.0f} s")

            say(f"tracking {nation}")
            tracks[nation] = Tracker(sites).run(mine, t_end_s=duration, progress=tick)
            consumed[nation] = mine
    link_result: LinkResult | None = None
    alerts: AlertTimeline | None = None
    events: EventLog | None = None
    if link and tracks:
        events = EventLog(Path(out_dir) / "events.jsonl" if out_dir is not None else None)

        def hop(t: float, t_end: float) -> None:
            say(f"link and hub: {t:.0f} of {t_end:.0f} s")

        say("link: national nodes -> hub -> partners")
        try:
            link_result = run_link(
                tracks,
                epoch_utc=scenario.spec.scenario.epoch_utc,
                detections=consumed,
                sink=events,
                progress=hop,
                sites=SensorSites.from_table(sensors_table(sensors)),
                epochs=np.arange(0.0, duration + 1e-9, 1.0),  # the trackers' output grid
            )
            if warn:
                say("warning: assessing the hub's picture")
                alerts = run_warning(
                    pictures_from_link(link_result),
                    notices,
                    launch_time_s=min(f.launch.t_launch_s for f in flights),
                    label="linked through the hub",
                )
                for d in alerts.decisions:
                    events({"t_s": d.t_s, "event": "alert"} | d.to_json())
        finally:
            events.close()
        if events.path is not None:
            events.sort_by_time()
    outputs: dict[str, Path] = {}
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        say("writing tables")
        outputs["run"] = write_run_manifest(out / "run.json", scenario, flights)
        table = truth_table(flights, step_s=scenario.spec.scenario.truth_step_s, t_end_s=duration)
        ext = "." + table_format
        outputs["truth"] = write_table(out / f"truth{ext}", table, TRUTH_COLUMNS)
        if detections is not None:
            outputs["sensors"] = write_table(
                out / f"sensors{ext}", sensors_table(sensors), SENSOR_COLUMNS
            )
            sig = ("sigma_range_m", "sigma_az_rad", "sigma_el_rad", "sigma_range_rate_mps")
            cols = detections.columns() | {k: getattr(detections, k) for k in sig}
            outputs["detections"] = write_table(
                out / f"detections{ext}", cols, (*DETECTION_COLUMNS, *sig)
            )
        if events is not None and events.path is not None:
            outputs["events"] = events.path
        if alerts is not None:
            written = alerts.write(out, epoch_utc=scenario.spec.scenario.epoch_utc)
            outputs["alerts (CAP 1.2)"] = out / "alerts"
            outputs["alert decisions"] = written[-1]
        if link_result is not None:
            fused = link_result.system_tracks_table()
            if fused:
                outputs["system tracks"] = write_table(
                    out / f"system_tracks{ext}", fused, tuple(fused)
                )
                say("drawing the hub's picture")
                outputs["system tracks plot"] = plot_tracks(
                    fused | {"track_id": fused["global_track_number"]},
                    out / "system_tracks.png",
                    truth=table,
                    title=f"{scenario.name}: the hub's fused picture (global track numbers)",
                )
        for nation, tr in tracks.items():
            outputs[f"tracks {nation}"] = write_table(
                out / f"tracks_{nation}{ext}", tr.columns, TRACK_COLUMNS
            )
            say(f"drawing {nation} tracks")
            outputs[f"tracks {nation} plot"] = plot_tracks(
                tr.columns,
                out / f"tracks_{nation}.png",
                truth=table,
                title=f"{scenario.name}: {nation} node's confirmed tracks",
            )
    return RunResult(
        scenario=scenario,
        flights=flights,
        sensors=sensors,
        detections=detections,
        outputs=outputs,
        ir_detections=ir_detections,
        launch_notices=notices,
        tracks=tracks,
        link=link_result,
        alerts=alerts,
    )
