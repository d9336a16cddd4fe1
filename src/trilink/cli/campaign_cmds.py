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
    if not quiet:
        console.print(_headline(summary(df), runs, out))
    console.print(f"wrote {out / 'results.parquet'} ({len(df)} rows)", highlight=False)


def _cell(est: float, lo: float, hi: float, unit: str, statistic: str) -> str:
    if statistic != "median":
        return f"{est:.0%} [{lo:.0%}, {hi:.0%}]" if est == est else "-"

    def f(x: float) -> str:
        if x != x:
            return "-"
        if abs(x) == float("inf"):
            return "never" if x > 0 else "none"
        return f"{x / 1e3:.1f}" if unit == "m" else f"{x:.1f}"

    u = " km" if unit == "m" else (" s" if unit == "s" else "")
    return f"{f(est)}{u} [{f(lo)}, {f(hi)}]"


def _headline(s: object, runs: int, out: Path) -> Table:
    """Metrics down, configurations across: estimate [95 % interval]."""
    import pandas as pd

    assert isinstance(s, pd.DataFrame)
    configs = [c for c in ("jp", "kr", "us", "linked", "direct") if c in set(s["configuration"])]
    t = Table(title=f"{runs} runs: median [95 % CI] or share of runs [95 % CI] ({out})")
    t.add_column("metric")
    for c in configs:
        t.add_column(c, justify="right")
    for metric, g in s.groupby("metric", sort=False):
        by = {r.configuration: r for r in g.itertuples()}
        cells = [
            _cell(by[c].estimate, by[c].low, by[c].high, by[c].unit, by[c].statistic)
            if c in by
            else ""
            for c in configs
        ]
        t.add_row(str(metric), *cells)
    return t


def _main() -> None:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(campaign_command)
    app()


if __name__ == "__main__":
    _main()
