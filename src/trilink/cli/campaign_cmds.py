"""CLI of Monte-Carlo campaigns: ``trilink campaign [SPEC] --runs N --out DIR``.

The lead registers :func:`campaign_command` in ``trilink.cli.main``
(``app.command("campaign")(campaign_command)``); until then
``python -m trilink.cli.campaign_cmds [SPEC] --runs N --out DIR`` runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["campaign_command"]

console = Console()
err = Console(stderr=True)


def _fail(msg: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {msg}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def campaign_command(
    spec: Annotated[
        str | None,
        typer.Argument(
            metavar="[SPEC]",
            help="Campaign spec: a built-in name (seedlike) or a TOML file (default: seedlike).",
        ),
    ] = None,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Number of draws.")] = 100,
    out: Annotated[
        Path, typer.Option("--out", help="Output folder (results.parquet, spec.toml, meta.json).")
    ] = Path("campaign"),
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler", help="Dask scheduler address tcp://HOST:PORT (default: local pool)."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=0, help="Local worker processes (default: all cores; 0: in-process)."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    seed_timeline: Annotated[
        bool,
        typer.Option(
            "--seed-timeline/--no-seed-timeline",
            help="Also run the seed scenario once in every configuration for the report's "
            "timeline (about a minute; once per folder).",
        ),
    ] = True,
) -> None:
    """Run every configuration (jp, kr, us, linked, direct) on sampled launches and write
    one tidy Parquet table. Rerun the same command to finish an interrupted campaign."""
    from trilink.evaluation.campaign import CampaignError, run_campaign, summary
    from trilink.evaluation.campaign_spec import CampaignSpecError

    if scheduler is not None and workers is not None:
        _fail("--workers applies to the local pool; with --scheduler the cluster's workers run")
    try:
        df = run_campaign(spec, runs, out, scheduler, workers=workers, progress=not quiet)
    except (CampaignSpecError, CampaignError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.filename or out}: {exc.strerror or exc}")
    if seed_timeline:
        _seed_timeline(out, quiet)
    if not quiet:
        console.print(_headline(summary(df), runs, out))
    console.print(f"wrote {out / 'results.parquet'} ({len(df)} rows)", highlight=False)


def _seed_timeline(out: Path, quiet: bool) -> None:
    """``seed_timeline.json`` for the report, once per campaign folder."""
    from trilink.evaluation.seed_timeline import SEED_TIMELINE_FILE, write_seed_timeline

    if (out / SEED_TIMELINE_FILE).exists():
        return
    if quiet:
        write_seed_timeline(out)
        return
    with console.status("seed scenario in every configuration (for the report)") as st:
        write_seed_timeline(out, progress=lambda msg: st.update(f"seed scenario: {msg}"))
    console.print(f"wrote {out / SEED_TIMELINE_FILE}", highlight=False)


def _headline(s: object, runs: int, out: Path) -> Table:
    """Measures down, configurations across: the report's cells (median [95 % bootstrap
    interval], or share of runs [95 % Wilson interval] (k/n))."""
    import pandas as pd

    assert isinstance(s, pd.DataFrame)
    order = ("jp", "kr", "us", "linked", "direct")
    configs = [c for c in order if c in set(s["configuration"])]
    t = Table(title=f"{runs} runs ({out}); the full report: trilink report {out}")
    t.add_column("measure")
    t.add_column("unit")
    for c in configs:
        t.add_column(c, justify="right")
    for (measure, unit), g in s.groupby(["measure", "unit"], sort=False):
        by = dict(zip(g["configuration"], g["text"], strict=True))
        t.add_row(str(measure), str(unit), *(by.get(c, "—") for c in configs))
    return t


def _main() -> None:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(campaign_command)
    app()


if __name__ == "__main__":
    _main()
