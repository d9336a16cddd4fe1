"""``trilink serve [SCENARIO | --replay DIR] [--as JP|KR|US]``: the live operator picture.

A local web server (Starlette + uvicorn on 127.0.0.1) with a CesiumJS globe page fed
over a WebSocket; see ``docs/web.md`` and :mod:`trilink.web`.
"""

from __future__ import annotations

import sys
import threading
import webbrowser
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

__all__ = ["serve_command"]

console = Console()
err = Console(stderr=True)


def _fail(msg: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {msg}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def serve_command(
    scenario: Annotated[
        str | None,
        typer.Argument(
            help="Built-in scenario name or TOML file to run and follow live (default: seed)."
        ),
    ] = None,
    replay: Annotated[
        Path | None,
        typer.Option("--replay", help="Replay a run folder (`trilink run --out DIR`)."),
    ] = None,
    view: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Show what one partner may see (JP, KR or US), fed by its release stream.",
        ),
    ] = None,
    speed: Annotated[
        str, typer.Option(help="Scenario seconds per wall second (×N), or 'max'.")
    ] = "1",
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port (0: any free port; the URL is printed).")] = 8765,
    cache: Annotated[
        Path | None,
        typer.Option(
            help="Run folder for a live scenario: reused if it holds this run, else filled."
        ),
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the page in a browser.")
    ] = False,
) -> None:
    """Serve the live picture: a 3-D globe with sensors, fused and national tracks,
    impact ellipses, threatened prefectures and the alert timeline."""
    from trilink.export.runfolder import RunFolderError, read_run
    from trilink.web.picture import PARTNERS, PictureError, build_picture
    from trilink.web.server import WebDistError, create_app, find_dist, parse_speed, serve

    if view is not None and view.upper() not in PARTNERS:
        _fail(f"--as: {view!r} is not one of {', '.join(PARTNERS)}")
    shown = view.upper() if view is not None else "HUB"
    try:
        pace = parse_speed(speed)
    except ValueError as exc:
        _fail(f"--speed: {exc}")
    if not 0 <= port <= 65535:
        _fail(f"--port: {port} is not in 0..65535")
    if replay is not None and scenario is not None:
        _fail("SCENARIO: give a scenario to run or --replay DIR, not both")
    if replay is not None and cache is not None:
        _fail("--cache: only for a live scenario, not with --replay")
    try:
        dist = find_dist()
    except WebDistError as exc:
        _fail(str(exc))

    if replay is not None:
        if not replay.is_dir():
            _fail(f"--replay: {replay}: not a folder (give the --out folder of `trilink run`)")
        folder, mode, source = replay, "replay", str(replay)
    else:
        folder, source = _live_run(scenario, cache), scenario or "seed"
        mode = "live"
    try:
        run = read_run(folder)
        picture = build_picture(run, shown)
    except RunFolderError as exc:
        _fail(f"{'--replay' if mode == 'replay' else '--cache'}: {exc}")
    except PictureError as exc:
        _fail(str(exc))
    if mode == "replay" and not (folder / "events.jsonl").exists():
        _fail(f"--replay: {folder / 'events.jsonl'}: missing (the run was made without the link)")

    def czml() -> str:
        """The CZML export of the same view (the policy's partner view for a partner)."""
        from trilink.export.czml import build_czml
        from trilink.export.partner import partner_view

        return build_czml(run if shown == "HUB" else partner_view(run, shown)).dumps()

    app = create_app(picture, dist, speed=pace, mode=mode, source=source, czml=czml)

    def ready(url: str) -> None:
        sys.stdout.write(
            f"trilink serve: {url} ({mode} of {picture.scenario}, view {shown}, ×{speed})\n"
        )
        sys.stdout.flush()
        if open_browser:
            threading.Timer(0.5, webbrowser.open, args=(url,)).start()

    try:
        serve(app, host=host, port=port, on_ready=ready)
    except OSError as exc:
        _fail(f"--port: cannot listen on {host}:{port} ({exc.strerror or exc})")
    except KeyboardInterrupt:
        pass


def _live_run(scenario: str | None, cache: Path | None) -> Path:
    """The scenario's run folder: cached, or computed now with a progress bar."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from trilink.scenario.build import get_scenario
    from trilink.scenario.schema import ScenarioError
    from trilink.web.live import CacheError, ensure_run

    try:
        sc = get_scenario(scenario)
    except ScenarioError as exc:
        _fail(f"SCENARIO: {exc}")
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(f"computing {sc.name}", total=None)

        def progress(msg: str, done: float | None, total: float | None) -> None:
            bar.update(task, description=msg, completed=done or 0, total=total)

        try:
            folder, computed = ensure_run(sc, cache, progress=progress)
        except CacheError as exc:
            _fail(f"--cache: {exc}")
        except ScenarioError as exc:
            _fail(f"SCENARIO: {exc}")
    err.print(
        f"{'computed' if computed else 'reusing'} the run of {sc.name} in {folder}",
        highlight=False,
        soft_wrap=True,
    )
    return folder
