"""The ``trilink`` command."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from trilink import __version__

app = typer.Typer(
    name="trilink",
    help="A shared missile-warning picture through a hub: physics, sensors, tracking, warning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _fail(message: str) -> None:
    """Print a one-line error (no traceback) and exit with status 2."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _version(value: bool) -> None:
    if value:
        console.print(f"trilink {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """trilink command-line interface."""


@app.command()
def fly(
    missile: Annotated[str, typer.Option(help="Catalogue name, e.g. hwasong-18, kn-23.")],
    site: Annotated[str, typer.Option(help="Launch site name (see `trilink sites`).")] = "sunan",
    azimuth_deg: Annotated[float, typer.Option(help="Launch azimuth, degrees from north.")] = 90.0,
    trajectory: Annotated[
        str | None,
        typer.Option(help="minimum-energy | lofted | depressed (default: minimum-energy)."),
    ] = None,
    apogee_km: Annotated[
        float | None, typer.Option(help="Target apogee (needs --range-km).")
    ] = None,
    range_km: Annotated[float | None, typer.Option(help="Target ground range.")] = None,
    debris: Annotated[int, typer.Option(help="Debris fragments at RV separation.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed for the debris draws.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    truth: Annotated[
        Path | None, typer.Option(help="Write the truth table (CSV) of every object here.")
    ] = None,
    truth_step_s: Annotated[float, typer.Option(help="Truth table sample step, s.")] = 1.0,
) -> None:
    """Fly one missile from a site and print its apogee, range, flight time and staging."""
    import numpy as np

    from trilink.tables import write_csv
    from trilink.threats import get_missile, get_site
    from trilink.threats.flight import fly as fly_one
    from trilink.threats.loft import (
        LaunchGeometry,
        SolverError,
        TrajectoryShape,
        shape_steering,
        solve_apogee_range,
        solve_range,
    )
    from trilink.threats.truth import TRUTH_COLUMNS, truth_table

    try:
        m = get_missile(missile)
    except KeyError as exc:
        _fail(f"--missile: {exc.args[0]}")
    try:
        s = get_site(site)
    except KeyError as exc:
        _fail(f"--site: {exc.args[0]}")
    if not math.isfinite(azimuth_deg):
        _fail("--azimuth-deg: must be a finite number of degrees")
    if trajectory is not None and trajectory not in {t.value for t in TrajectoryShape}:
        _fail(f"--trajectory: {trajectory!r} is not one of minimum-energy, lofted, depressed")
    if apogee_km is not None and range_km is None:
        _fail("--apogee-km: needs --range-km too")
    for name, v in (("--apogee-km", apogee_km), ("--range-km", range_km)):
        if v is not None and not (v > 0 and math.isfinite(v)):
            _fail(f"{name}: must be a positive number of km, got {v}")
    if debris < 0:
        _fail(f"--debris: must be ≥ 0, got {debris}")
    geo = LaunchGeometry(
        missile=m,
        lat_rad=s.lat_rad,
        lon_rad=s.lon_rad,
        alt_m=s.alt_m,
        azimuth_rad=math.radians(azimuth_deg),
    )
    rv_mass = None
    light = False
    with console.status("solving steering…", spinner="dots") if not as_json else _Null():
        try:
            if apogee_km is not None and range_km is not None:
                sol = solve_apogee_range(geo, apogee_km * 1e3, range_km * 1e3)
                steering, rv_mass, light = sol.steering, sol.rv_mass_kg, sol.light_payload
            elif range_km is not None:
                steering = solve_range(geo, range_km * 1e3, trajectory or "minimum-energy")
            else:
                steering = shape_steering(geo, trajectory or "minimum-energy")
        except SolverError as exc:
            _fail(str(exc))
    launch = geo.launch(steering, rv_mass_kg=rv_mass, n_debris=debris)
    flight = fly_one(launch, rng=np.random.default_rng(seed))
    result = _flight_summary(flight, light)
    if truth is not None:
        write_csv(truth, truth_table([flight], truth_step_s), TRUTH_COLUMNS)
        result["truth_file"] = str(truth)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    _print_flight(result)


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _flight_summary(flight: object, light_payload: bool = False) -> dict[str, object]:
    from trilink.threats.flight import Flight

    assert isinstance(flight, Flight)
    la = flight.launch
    st = la.steering

    def deg(x: float) -> float:
        return round(math.degrees(x), 5)

    return {
        "missile": la.missile.key,
        "site_lat_deg": deg(la.lat_rad),
        "site_lon_deg": deg(la.lon_rad),
        "azimuth_deg": deg(la.azimuth_rad),
        "apogee_km": round(flight.apogee_m / 1e3, 3),
        "apogee_time_s": round(flight.apogee_time_s - la.t_launch_s, 2),
        "range_km": round(flight.range_m / 1e3, 3),
        "flight_time_s": round(flight.flight_time_s, 2),
        "impact_lat_deg": deg(flight.impact_lat_rad),
        "impact_lon_deg": deg(flight.impact_lon_rad),
        "burnout_time_s": round(flight.burnout_time_s - la.t_launch_s, 2),
        "burnout_speed_mps": round(flight.burnout_speed_mps, 2),
        "burnout_speed_inertial_mps": round(flight.burnout_speed_inertial_mps, 2),
        "pitch_first_deg": deg(st.pitch_first_rad),
        "burn_fraction_last": round(st.burn_fraction_last, 5),
        "rv_mass_kg": round(la.payload_kg, 1),
        "light_test_payload": light_payload,
        "stages": [
            {
                "stage": s.stage,
                "separation_time_s": round(s.separation_time_s - la.t_launch_s, 2),
                "impact_time_s": round(s.impact_time_s - la.t_launch_s, 2),
                "impact_lat_deg": deg(s.impact_lat_rad),
                "impact_lon_deg": deg(s.impact_lon_rad),
            }
            for s in flight.stage_impacts
        ],
        "objects": len(flight.objects),
    }


def _print_flight(r: dict[str, object]) -> None:
    t = Table(title=f"{r['missile']} flight", show_header=False)
    for key, label in (
        ("apogee_km", "apogee, km"),
        ("range_km", "ground range, km"),
        ("flight_time_s", "flight time, s"),
        ("impact_lat_deg", "impact latitude, °"),
        ("impact_lon_deg", "impact longitude, °"),
        ("burnout_time_s", "burnout, s after launch"),
        ("burnout_speed_mps", "burnout speed (Earth-relative), m/s"),
        ("pitch_first_deg", "pitch at stage-1 burnout, °"),
        ("burn_fraction_last", "last-stage burn fraction"),
        ("rv_mass_kg", "RV mass flown, kg"),
    ):
        t.add_row(label, f"{r[key]}")
    console.print(t)
    stages = r["stages"]
    assert isinstance(stages, list)
    if stages:
        st = Table(title="spent stages")
        for c in ("stage", "separation, s", "impact, s", "lat, °", "lon, °"):
            st.add_column(c, justify="right")
        for s in stages:
            st.add_row(
                str(s["stage"]),
                f"{s['separation_time_s']:.1f}",
                f"{s['impact_time_s']:.1f}",
                f"{s['impact_lat_deg']:.3f}",
                f"{s['impact_lon_deg']:.3f}",
            )
        console.print(st)


@app.command()
def scenarios() -> None:
    """List the built-in scenarios."""
    from trilink.scenario.build import DEFAULT_SCENARIO, builtin_names, get_scenario

    t = Table(title="built-in scenarios")
    t.add_column("name")
    t.add_column("threats", justify="right")
    t.add_column("description")
    for name in builtin_names():
        sc = get_scenario(name)
        mark = " (default)" if name == DEFAULT_SCENARIO else ""
        t.add_row(name + mark, str(len(sc.spec.threats)), sc.spec.scenario.description)
    console.print(t)


@app.command()
def sites() -> None:
    """List the launch sites of the catalogue."""
    from trilink.threats.sites import SITES, SOURCE

    t = Table(title="launch sites", caption=f"source: {SOURCE}")
    for c in ("name", "lat, °", "lon, °", "description", "used for"):
        t.add_column(c)
    for s in SITES.values():
        t.add_row(s.key, f"{s.lat_deg:.3f}", f"{s.lon_deg:.3f}", s.name, s.used_for)
    console.print(t)


@app.command()
def missiles() -> None:
    """List the missile catalogue."""
    from trilink.threats.catalogue import MISSILES

    t = Table(title="missile catalogue (our estimates from public figures; see docs)")
    for c in ("name", "stages", "propellant", "launch mass, t", "RV, kg", "burn, s"):
        t.add_column(c)
    for m in MISSILES.values():
        t.add_row(
            m.key,
            str(len(m.stages)),
            m.propellant,
            f"{m.launch_mass_kg / 1e3:.1f}",
            f"{m.rv.mass_kg:.0f}",
            " + ".join(f"{s.burn_time_s:.0f}" for s in m.stages),
        )
    console.print(t)


def _run_and_report(
    scenario: str | None, out: Path, table_format: str, detect: bool = True, track: bool = False
) -> None:
    from trilink.scenario.build import get_scenario
    from trilink.scenario.schema import ScenarioError
    from trilink.sim.run import run_scenario

    if table_format not in ("csv", "parquet"):
        _fail(f"--format: {table_format!r} is not csv or parquet")
    try:
        sc = get_scenario(scenario)
        with console.status("running…", spinner="dots") as status:
            result = run_scenario(
                sc,
                out,
                detect=detect,
                track=track,
                table_format=table_format,  # type: ignore[arg-type]
                progress=lambda m: status.update(m + "…"),
            )
    except ScenarioError as exc:
        _fail(str(exc))
    console.print(f"[bold]{sc.name}[/] — {sc.spec.scenario.description}")
    for f in result.flights:
        r = _flight_summary(f)
        console.print(
            f"{f.launch.threat_id}: {r['missile']} apogee {r['apogee_km']:.0f} km, range "
            f"{r['range_km']:.0f} km, flight {r['flight_time_s']:.0f} s, impact "
            f"({r['impact_lat_deg']:.2f}°, {r['impact_lon_deg']:.2f}°)"
        )
        for s in r["stages"]:  # type: ignore[union-attr]
            console.print(
                f"   stage {s['stage']} separates at {s['separation_time_s']:.0f} s, falls at "
                f"({s['impact_lat_deg']:.2f}°, {s['impact_lon_deg']:.2f}°) at "
                f"{s['impact_time_s']:.0f} s"
            )
    if result.detections is not None:
        _print_first_detections(result)
    for n in result.launch_notices:
        e = n.estimate
        console.print(
            f"US space-IR launch notice for {n.threat_id} at {n.issued_s:.1f} s: launch point "
            f"({math.degrees(e.lat_rad):.3f}°, {math.degrees(e.lon_rad):.3f}°) ± "
            f"{1.96 * max(e.sigma_north_m, e.sigma_east_m) / 1e3:.1f} km (95 %), launch time "
            f"{e.time_s:.1f} ± {1.96 * e.sigma_time_s:.1f} s; truth is {n.error_km:.2f} km and "
            f"{-n.time_error_s:+.1f} s away"
        )
    for nation, tr in result.tracks.items():
        _print_tracks(nation, tr.columns)
    if result.link is not None:
        lk, hs, vs = result.link, result.link.hub, result.link.hub_verifier
        gtn = lk.system_tracks_table().get("global_track_number")
        n_gtn = len(set(gtn.tolist())) if gtn is not None else 0
        console.print(
            f"hub: {hs.reports:,} national track reports verified "
            f"({vs.dropped} dropped), {hs.epochs_fused:,} epochs fused into {n_gtn} global "
            f"tracks; {hs.system_tracks_released:,} system tracks released "
            f"({hs.refused_releases} releases refused by the policy); received: "
            + ", ".join(f"{k} {v:,}" for k, v in lk.received.items())
        )
    if result.alerts is not None:
        console.print(result.alerts.format(), markup=False, highlight=False)
    for name, path in result.outputs.items():
        console.print(f"wrote {name}: {path}")


def _print_tracks(nation: str, cols: dict) -> None:
    """One line per confirmed track of a nation: life, kind, last impact prediction."""
    import numpy as np

    tids = cols["track_id"]
    t = Table(title=f"{nation} node: confirmed tracks (kind and prediction at their last epoch)")
    for c in (
        "track",
        "parent",
        "from, s",
        "to, s",
        "kind",
        "impact (lat°, lon°)",
        "at, s",
        "95 % ellipse, km",
    ):
        t.add_column(c, justify="right" if c not in ("kind", "impact (lat°, lon°)") else "left")
    uniq = np.unique(tids)
    shown = 0
    for tid in uniq.tolist():
        rows = np.flatnonzero(tids == tid)
        last = rows[-1]
        if len(rows) < 10 or str(cols["kind"][last]) == "debris":
            continue  # short-lived tracks and debris fragments stay in the file
        imp = ""
        at = ""
        ell = ""
        with_imp = rows[np.isfinite(cols["impact_lat_deg"][rows])]
        if with_imp.size:
            k = with_imp[-1]
            imp = f"({cols['impact_lat_deg'][k]:.2f}, {cols['impact_lon_deg'][k]:.2f})"
            at = f"{cols['impact_time_s'][k]:.0f}"
            ell = (
                f"{cols['impact_semi_major_m'][k] / 1e3:.1f} × "
                f"{cols['impact_semi_minor_m'][k] / 1e3:.1f}"
            )
        parent = int(cols["parent_track_id"][last])
        t.add_row(
            str(tid),
            "" if parent < 0 else str(parent),
            f"{cols['time_s'][rows[0]]:.0f}",
            f"{cols['time_s'][last]:.0f}",
            str(cols["kind"][last]),
            imp,
            at,
            ell,
        )
        shown += 1
    console.print(t)
    console.print(
        f"{nation}: {uniq.size} confirmed tracks; {shown} shown (not debris, ≥ 10 epochs)"
    )


def _print_first_detections(result: object) -> None:
    from trilink.sim.run import RunResult

    assert isinstance(result, RunResult)
    fd = result.first_detections("nation")
    t = Table(title="first detection per nation and object (s after the epoch; altitude km)")
    for c in ("nation", "object", "time, s", "altitude, km", "sensor"):
        t.add_column(c, justify="right" if c in ("time, s", "altitude, km") else "left")
    for k, o, tt, a, sid in zip(
        fd["key"], fd["object_id"], fd["time_s"], fd["alt_m"], fd["sensor_id"], strict=True
    ):
        if str(o).split("-")[-1].startswith("debris"):
            continue  # one line per debris fragment would drown the table
        t.add_row(str(k), str(o), f"{tt:.1f}", f"{a / 1e3:.1f}", str(sid))
    console.print(t)
    first = result.first_detection_by_nation()
    if "KR" in first and "JP" in first:
        gap = first["JP"][0] - first["KR"][0]
        console.print(
            f"first Korean detection {first['KR'][0]:.1f} s ({first['KR'][2]}), first Japanese "
            f"{first['JP'][0]:.1f} s ({first['JP'][2]}): [bold]Japan sees it {gap:.1f} s later[/]"
        )
    console.print(
        f"{len(result.detections)} detections "  # type: ignore[arg-type]
        f"({int(result.detections.is_false_alarm.sum())} false alarms) "  # type: ignore[union-attr]
        f"from {len(result.sensors)} sensors"
    )


@app.command()
def run(
    scenario: Annotated[
        str | None, typer.Argument(help="Built-in scenario name or TOML file (default: seed).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out/run"),
    table_format: Annotated[
        str, typer.Option("--format", help="Table format: csv or parquet.")
    ] = "csv",
    track: Annotated[
        bool,
        typer.Option(
            "--track/--no-track",
            help="Run each nation's tracker and the link through the hub (about 30 s for "
            "the seed).",
        ),
    ] = True,
    transport: Annotated[
        str,
        typer.Option(
            help="inprocess (one process, deterministic bus) or nats (a real NATS "
            "deployment on 127.0.0.1, each node and the hub a separate process)."
        ),
    ] = "inprocess",
) -> None:
    """Run a scenario end to end and write its outputs to --out."""
    if transport == "nats":
        if table_format != "csv" or not track:
            _fail("--transport nats: writes CSV and always tracks (drop --format/--no-track)")
        from trilink.cli.deploy_cmds import run_nats

        run_nats(scenario, out)
        return
    if transport != "inprocess":
        _fail(f"--transport: {transport!r} is not inprocess or nats")
    _run_and_report(scenario, out, table_format, track=track)


@app.command()
def detect(
    scenario: Annotated[
        str | None, typer.Argument(help="Built-in scenario name or TOML file (default: seed).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out/detect"),
    table_format: Annotated[
        str, typer.Option("--format", help="Table format: csv or parquet.")
    ] = "csv",
) -> None:
    """Fly a scenario and write sensors, detections and truth tables to --out."""
    _run_and_report(scenario, out, table_format)


@app.command()
def coverage(
    sensors: Annotated[
        list[str], typer.Argument(help="Catalogue sensor names (see `trilink sensors`).")
    ],
    altitude_km: Annotated[
        float, typer.Option("--altitude-km", help="Target altitude above the ellipsoid, km.")
    ] = 100.0,
    png: Annotated[Path, typer.Option(help="PNG file to write.")] = Path("coverage.png"),
) -> None:
    """Map the ground footprint of sensors' coverage for targets at one altitude."""
    from trilink.sensors import get_sensor
    from trilink.sensors.coverage import coverage_footprint, plot_coverage

    if not (math.isfinite(altitude_km) and -1.0 <= altitude_km <= 40_000.0):
        _fail(f"--altitude-km: {altitude_km!r} is outside [-1, 40000] km")
    chosen = []
    for name in sensors:
        try:
            chosen.append(get_sensor(name))
        except ValueError as exc:
            _fail(f"SENSORS: {exc}")
    with console.status("computing footprints…", spinner="dots"):
        fps = [coverage_footprint(s, altitude_km * 1e3) for s in chosen]
        path = plot_coverage(chosen, altitude_km * 1e3, png, footprints=fps)
    for s, fp in zip(chosen, fps, strict=True):
        console.print(
            f"{s.sensor_id}: targets at {altitude_km:g} km seen out to "
            f"{fp.max_range_m / 1e3:.0f} km ground range"
        )
    console.print(f"wrote {path}")


@app.command("sensors")
def sensors_cmd() -> None:
    """List the sensor catalogue (public sites and figures; assumptions marked)."""
    from trilink.sensors import SENSORS

    t = Table(title="sensor catalogue")
    for c in ("name", "nation", "lat °", "lon °", "site"):
        t.add_column(c)
    for key, entry in SENSORS.items():
        r = entry.radar
        t.add_row(
            key,
            r.nation,
            f"{math.degrees(r.lat_rad):.3f}",
            f"{math.degrees(r.lon_rad):.3f}",
            entry.site,
        )
    console.print(t)


@app.command()
def track(
    detections: Annotated[Path, typer.Option(help="Detections table (.csv or .parquet).")],
    sensors: Annotated[Path, typer.Option(help="Sensors table (.csv or .parquet).")],
    out: Annotated[Path, typer.Option(help="Tracks table to write (.csv or .parquet).")],
    every: Annotated[float, typer.Option(help="Output epoch spacing, s.")] = 1.0,
    filter_kind: Annotated[str, typer.Option("--filter", help="ekf or ukf.")] = "ekf",
    association: Annotated[str, typer.Option(help="gnn or jpda.")] = "gnn",
    plot: Annotated[Path | None, typer.Option(help="Also draw the tracks to this PNG.")] = None,
) -> None:
    """Track detections from files: one node over all sensors in the sensors table."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from trilink.tables import write_table
    from trilink.tracking.filters import FilterConfig
    from trilink.tracking.io import TableError, read_detections, read_sensors
    from trilink.tracking.measurement import SensorSites
    from trilink.tracking.tracker import TRACK_COLUMNS, Tracker, TrackerConfig

    if not (math.isfinite(every) and every > 0.0):
        _fail(f"--every: {every!r} is not a positive number of seconds")
    if filter_kind not in ("ekf", "ukf"):
        _fail(f"--filter: {filter_kind!r} is not ekf or ukf")
    if association not in ("gnn", "jpda"):
        _fail(f"--association: {association!r} is not gnn or jpda")
    if out.suffix.lower() not in (".csv", ".parquet"):
        _fail(f"--out: {out.name!r} must end in .csv or .parquet")
    try:
        sens = read_sensors(sensors)
        det = read_detections(detections, set(sens["sensor_id"].tolist()))
    except (TableError, OSError) as exc:
        _fail(str(exc))
    cfg = TrackerConfig(filter=FilterConfig(kind=filter_kind), association=association)  # type: ignore[arg-type]
    t_end = float(det.time_s.max()) if len(det) else 0.0
    with Progress(
        TextColumn("tracking"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("track", total=max(t_end, 1.0))
        result = Tracker(SensorSites.from_table(sens), cfg).run(
            det, every_s=every, progress=lambda t: bar.update(task, completed=t)
        )
    path = write_table(out, result.columns, TRACK_COLUMNS)
    n = len(set(result.columns["track_id"].tolist()))
    console.print(
        f"{len(det)} detections from {len(sens['sensor_id'])} sensors → {n} confirmed tracks, "
        f"{len(result.columns['time_s'])} rows; wrote {path}"
    )
    if plot is not None:
        from trilink.tracking.plot import plot_tracks

        console.print(f"wrote {plot_tracks(result.columns, plot, title=str(detections.name))}")
    if result.late_dropped:
        console.print(f"{result.late_dropped} detections arrived too late and were not used")
    _print_tracks("node", result.columns)


def _register_deployed() -> None:
    """Commands living in their own modules: the deployed mode
    (``trilink.cli.deploy_cmds``) and the campaign report (``report_cmds``)."""
    from trilink.cli.deploy_cmds import deploy_app, hub_command, node_command

    app.add_typer(deploy_app, name="deploy")
    app.command("node")(node_command)
    app.command("hub")(hub_command)
    from trilink.cli.campaign_cmds import campaign_command
    from trilink.cli.compare_cmds import compare_command
    from trilink.cli.report_cmds import report_command

    app.command("campaign")(campaign_command)
    app.command("compare")(compare_command)
    app.command("report")(report_command)
    from trilink.cli.export_cmds import export_command
    from trilink.cli.serve_cmds import serve_command

    app.command("export")(export_command)
    app.command("serve")(serve_command)


_register_deployed()


def entry() -> None:
    """Console entry point: any unexpected error is one line, not a traceback
    (set ``TRILINK_DEBUG=1`` to see the traceback)."""
    import os

    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise SystemExit(130) from None
    except Exception as exc:
        if os.environ.get("TRILINK_DEBUG"):
            raise
        err_console.print(
            f"[bold red]error:[/] {type(exc).__name__}: {exc} "
            "(TRILINK_DEBUG=1 shows the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        raise SystemExit(1) from None


if __name__ == "__main__":  # pragma: no cover
    entry()
