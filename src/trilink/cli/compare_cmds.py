"""CLI of the configuration comparison: ``trilink compare [SCENARIO] [--json]``.

The lead registers :func:`compare_command` in ``trilink.cli.main``
(``app.command("compare")(compare_command)``); until then
``python -m trilink.cli.compare_cmds [SCENARIO] [--json]`` runs it. Definitions of every
row: :mod:`trilink.warning.compare`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from trilink.warning.compare import Comparison, ConfigurationResult

__all__ = ["compare_command"]

console = Console()
err = Console(stderr=True)


def _fail(msg: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {msg}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def compare_command(
    scenario: Annotated[
        str | None,
        typer.Argument(
            metavar="[SCENARIO]",
            help="Built-in scenario name or TOML file (default: the seed).",
        ),
    ] = None,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json", help="Print one JSON object keyed by configuration (jp, kr, us, linked)."
        ),
    ] = False,
) -> None:
    """Run a scenario once and compare Japan-only, Korea-only, US-only and linked warning
    on the same draws: detection, tracking, launch notice, take-cover, false and missed
    alerts, warning time."""
    from trilink.scenario.build import get_scenario
    from trilink.scenario.schema import ScenarioError
    from trilink.sim.run import run_scenario
    from trilink.warning.compare import compare_run

    try:
        sc = get_scenario(scenario)
    except ScenarioError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.filename or scenario}: {exc.strerror or exc}")
    with err.status(f"running {sc.name}…", spinner="dots") as status:

        def say(msg: str) -> None:
            status.update(f"{sc.name}: {msg}")

        try:
            result = run_scenario(sc, track=True, link=True, warn=True, progress=say)
            say("warning per configuration")
            cmp = compare_run(result)
        except ScenarioError as exc:
            _fail(str(exc))
        except ValueError as exc:
            _fail(f"{sc.source}: {exc}")
    if json_out:
        sys.stdout.write(json.dumps(cmp.to_json(), allow_nan=False) + "\n")
        return
    console.print(_table(cmp))
    for line in _notes(cmp):
        console.print(line, highlight=False)


def _t(x: float | None) -> str:
    return "—" if x is None else f"T+{x:.0f} s"


def _table(cmp: Comparison) -> Table:
    from trilink.warning.compare import CONFIGURATIONS
    from trilink.warning.regions import japan_prefectures

    names = japan_prefectures()
    cfgs = [cmp.configurations[c] for c in CONFIGURATIONS]
    t = Table(title=f"{cmp.scenario}: what each configuration would have done (same draws)")
    t.add_column("", no_wrap=True)
    for c in CONFIGURATIONS:
        t.add_column(c, justify="right")

    def lp(r: ConfigurationResult) -> str:
        if r.launch_point_error_m is None:
            return "—"
        v = r.launch_point_error_m
        via = " (IR)" if r.launch_point_source == "space IR" else ""
        return (f"{v / 1e3:.1f} km" if v >= 1e3 else f"{v:.0f} m") + via

    def regions(r: ConfigurationResult) -> str:
        return ", ".join(names[c].name_en for c in r.take_cover_regions) or "none"

    def lead(r: ConfigurationResult) -> str:
        return "—" if r.warning_time_s is None else f"{r.warning_time_s:.0f} s"

    rows: tuple[tuple[str, Callable[[ConfigurationResult], str]], ...] = (
        ("first detection (radar)", lambda r: _t(r.first_detection_s)),
        ("first confirmed track (warhead)", lambda r: _t(r.first_track_s)),
        ("launch-point error (first estimate)", lp),
        ("launch notice (space IR: us, linked)", lambda r: _t(r.launch_notice_s)),
        ("first take-cover", lambda r: _t(r.first_take_cover_s)),
        ("take-cover regions", regions),
        ("false alerts", lambda r: str(r.false_alerts)),
        ("missed alerts", lambda r: str(r.missed_alerts)),
        ("warning time before impact/overflight", lead),
    )
    for label, fn in rows:
        t.add_row(label, *(fn(r) for r in cfgs))
    return t


def _notes(cmp: Comparison) -> list[str]:
    from trilink.warning.regions import japan_prefectures

    names = japan_prefectures()
    truth = (
        ", ".join(
            f"{names[c].name_en} ({c}) T+{t - cmp.launch_time_s:.0f} s"
            for c, t in cmp.threatened.items()
        )
        or "none"
    )
    return [
        f"truth: prefectures overflown above 100 km or hit: {truth}",
        "The US space-IR launch notice belongs to the us and linked configurations only; "
        "jp and kr confirm a launch from their own thrusting tracks. Launch-point error "
        "(IR): the hub's picture carries no launch estimate; the space-IR notice's error.",
        "Times after the first launch. False alert: take-cover for a prefecture the truth "
        "neither overflies nor hits; missed: a threatened prefecture without take-cover "
        "before its event; warning time: event minus take-cover, the least over threatened "
        "prefectures (definitions: trilink.warning.compare).",
    ]


def _main() -> None:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(compare_command)
    app()


if __name__ == "__main__":
    _main()
