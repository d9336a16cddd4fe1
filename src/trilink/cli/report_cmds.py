"""CLI of the campaign report: ``trilink report DIR [--out FILE]``.

The lead registers :func:`report_command` in ``trilink.cli.main``
(``app.command("report")(report_command)``); until then
``python -m trilink.cli.report_cmds DIR`` runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

__all__ = ["report_command"]

console = Console()
err = Console(stderr=True)


def _fail(msg: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {msg}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def report_command(
    dir: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="Campaign folder (results.parquet, spec.toml, meta.json)."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="HTML file to write (default: DIR/report.html)."),
    ] = None,
) -> None:
    """Write one self-contained offline HTML report of a campaign, plus its PNG figures."""
    from trilink.evaluation.report import ReportError, write_report

    try:
        path = write_report(dir, out)
    except ReportError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.filename or dir}: {exc.strerror or exc}")
    n_fig = len(list((path.parent / "figures").glob("*.png")))
    console.print(
        f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and {n_fig} figures in "
        f"{path.parent / 'figures'}",
        highlight=False,
        soft_wrap=True,
    )


def _main() -> None:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(report_command)
    app()


if __name__ == "__main__":
    _main()
