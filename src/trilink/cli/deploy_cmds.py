"""CLI of the deployed mode: ``trilink deploy init|up|down|status|cut|restore``,
``trilink hub``, ``trilink node`` and ``trilink run --transport nats``.

The lead registers these in ``trilink.cli.main``; until then (and in the child
processes of a deployed run) ``python -m trilink.cli.deploy_cmds ...`` offers them all:
``deploy ...``, ``hub``, ``node`` and ``run``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["deploy_app", "hub_command", "node_command", "run_nats"]

console = Console()
err = Console(stderr=True)

deploy_app = typer.Typer(
    help="A NATS deployment: files for three sites (init) and a local bring-up (up/down).",
    no_args_is_help=True,
)


def _fail(msg: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {msg}")
    raise typer.Exit(1)


def _scenario(name: str | None) -> Any:
    from trilink.scenario.build import get_scenario
    from trilink.scenario.schema import ScenarioError

    try:
        return get_scenario(name)
    except ScenarioError as exc:
        _fail(str(exc))


DirArg = Annotated[Path, typer.Argument(help="Deployment directory.")]


@deploy_app.command("init")
def init_cmd(
    directory: DirArg,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Sharing policy TOML (default: built-in).")
    ] = None,
    host_hub: Annotated[str | None, typer.Option("--host-hub", help="Hub host name.")] = None,
    host_jp: Annotated[str | None, typer.Option("--host-jp", help="Tokyo server host.")] = None,
    host_kr: Annotated[str | None, typer.Option("--host-kr", help="Seoul server host.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing one.")] = False,
) -> None:
    """Write CA, certificates, server configs, signing keys and deployment.toml to DIR."""
    from trilink.link.deploy import DeployError, init_deployment
    from trilink.link.policy import PolicyError

    hosts = {k: v for k, v in (("hub", host_hub), ("jp", host_jp), ("kr", host_kr)) if v}
    try:
        man = init_deployment(directory, policy_path=policy, hosts=hosts, force=force)
    except (DeployError, PolicyError, OSError) as exc:
        _fail(str(exc))
    console.print(
        f"deployment written to {man.directory}: hub {man.hub}, partners "
        f"{', '.join(man.nations)} (leaf servers {', '.join(man.leaf_nations)}); "
        "see deployment.toml and the trilink.link.deploy docstring for what goes where"
    )


@deploy_app.command("up")
def up_cmd(
    directory: DirArg,
    processes: Annotated[
        bool, typer.Option("--processes", help="Also start the hub and node processes.")
    ] = False,
    scenario: Annotated[
        str | None, typer.Option(help="Scenario for --processes (default: seed).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder for --processes.")] = None,
) -> None:
    """Start the servers (127.0.0.1, free ports; state.json), streams, optionally processes."""
    from trilink.link.deploy import DeployError, LocalDeployment
    from trilink.link.servers import ServerStartError
    from trilink.sim.deployed import hub_cmd, node_cmd

    dep = LocalDeployment(directory)
    try:
        state = dep.up()
    except (DeployError, ServerStartError, OSError) as exc:
        _fail(str(exc))
    if processes:
        sc = scenario or _scenario(None).source.removeprefix("built-in:")
        o = (out or dep.directory / "run" / "out").resolve()
        logs = dep.directory / "run" / "logs"
        dep.spawn(hub_cmd(dep.directory, sc, o), logs / "hub-process.log", name="hub")
        for n in dep.manifest.nations:
            dep.spawn(node_cmd(dep.directory, n, sc, o), logs / f"node-{n}.log", name=f"node-{n}")
    console.print(f"up: hub {state['hub_url']}; ports in {dep.state_path}")
    _print_status(dep)


@deploy_app.command("down")
def down_cmd(directory: DirArg) -> None:
    """Stop everything `deploy up` (and `run --transport nats`) started in DIR."""
    from trilink.link.deploy import DeployError, LocalDeployment

    try:
        stopped = LocalDeployment(directory).down()
    except DeployError as exc:
        _fail(str(exc))
    console.print(f"stopped {len(stopped)}: {', '.join(stopped) or 'nothing was running'}")


def _print_status(dep: Any) -> None:
    t = Table(title=f"deployment {dep.directory}")
    for c in ("process", "pid", "state", "command"):
        t.add_column(c)
    for row in dep.status():
        t.add_row(
            row["name"],
            str(row["pid"]),
            "[green]running[/]" if row["running"] else "[red]stopped[/]",
            row["cmd"][-80:],
        )
    console.print(t)
    if any(r["running"] for r in dep.status()):
        console.print(f"leaf links up: {', '.join(dep.connected_leaf_accounts()) or 'none'}")


@deploy_app.command("status")
def status_cmd(directory: DirArg) -> None:
    """What runs in DIR's deployment."""
    from trilink.link.deploy import DeployError, LocalDeployment

    try:
        dep = LocalDeployment(directory)
        dep.manifest  # noqa: B018 - raises DeployError naming the directory if none
        _print_status(dep)
    except DeployError as exc:
        _fail(str(exc))


@deploy_app.command("cut")
def cut_cmd(directory: DirArg, nation: Annotated[str, typer.Argument()]) -> None:
    """Sever NATION's leaf link (both servers keep running)."""
    from trilink.link.deploy import DeployError, LocalDeployment

    try:
        LocalDeployment(directory).cut_link(nation)
    except DeployError as exc:
        _fail(str(exc))
    console.print(f"{nation} link cut")


@deploy_app.command("restore")
def restore_cmd(directory: DirArg, nation: Annotated[str, typer.Argument()]) -> None:
    """Restore NATION's leaf link and wait until the hub sees it."""
    from trilink.link.deploy import DeployError, LocalDeployment

    try:
        LocalDeployment(directory).restore_link(nation)
    except DeployError as exc:
        _fail(str(exc))
    console.print(f"{nation} link restored")


# ----------------------------------------------------------------------------------------------
# processes


def node_command(
    nation: Annotated[str, typer.Option("--nation", help="JP, KR or US.")],
    deploy: Annotated[Path, typer.Option("--deploy", help="Deployment directory (up).")],
    scenario: Annotated[
        str | None, typer.Option("--scenario", help="Built-in name or TOML (default: seed).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Where node_<N>.json(l) go.")] = None,
    window_s: Annotated[
        float, typer.Option("--window", help="Flow control: hub may lag this many s.")
    ] = 3.0,
    stall_s: Annotated[
        float | None, typer.Option("--stall", help="Go on after waiting this long (s).")
    ] = None,
    until_s: Annotated[
        float | None, typer.Option("--until", help="Last epoch, s (default: scenario end).")
    ] = None,
    pace_s: Annotated[
        float | None, typer.Option("--pace", help="At least this many wall s per epoch.")
    ] = None,
) -> None:
    """Run a national node: its tracker on the scenario, its epochs over NATS."""
    from trilink.sim.deployed import node_main, progress_writer

    sc = _scenario(scenario)
    o = out or Path(deploy) / "run" / "out"
    res = node_main(
        deploy,
        nation.upper(),
        sc,
        out=o,
        window_s=window_s,
        stall_s=stall_s,
        until_s=until_s,
        progress=progress_writer(o, nation.upper()),
        pace_s=pace_s,
    )
    console.print(
        f"{res.nation}: {res.epochs} epochs, {res.reports} reports sent, "
        f"{res.system_tracks_received} system tracks received, {res.stalls} stalls, "
        f"{res.wall_s:.1f} s (tracking {res.track_wall_s:.1f} s)"
    )


def hub_command(
    deploy: Annotated[Path, typer.Option("--deploy", help="Deployment directory (up).")],
    scenario: Annotated[
        str | None, typer.Option("--scenario", help="Built-in name or TOML (default: seed).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("out/run-nats"),
    until_s: Annotated[
        float | None, typer.Option("--until", help="Last epoch, s (default: scenario end).")
    ] = None,
    idle_timeout_s: Annotated[
        float | None, typer.Option("--idle-timeout", help="Give up after this long idle (s).")
    ] = None,
) -> None:
    """Run the hub: fuse the nations' reports from NATS, release per policy, write OUT."""
    from trilink.sim.deployed import hub_main, progress_writer

    sc = _scenario(scenario)
    res = hub_main(
        deploy,
        sc,
        out,
        until_s=until_s,
        idle_timeout_s=idle_timeout_s,
        progress=progress_writer(out, "hub"),
    )
    console.print(
        f"hub: {res.input_messages:,} input messages, {res.reports:,} reports, "
        f"{res.epochs_fused:,} epochs fused into {res.global_tracks} global tracks, "
        f"{res.released:,} system tracks released, {res.wall_s:.1f} s"
    )


def run_nats(
    scenario: str | None = None,
    out: Path = Path("out/run-nats"),
    *,
    deploy_dir: Path | None = None,
    until_s: float | None = None,
) -> dict[str, Any]:
    """``trilink run --transport nats``: the scenario through a real NATS deployment, each
    national node and the hub a separate process; progress shown; everything stopped at
    the end (also on Ctrl-C or failure)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from trilink.sim.deployed import run_deployed

    sc = _scenario(scenario)
    name = sc.source.removeprefix("built-in:")
    extra = ("--until", str(until_s)) if until_s is not None else ()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
        console=console,
    ) as bars:
        tasks: dict[str, Any] = {}

        def tick(_dep: Any, prog: dict[str, Any]) -> None:
            for who, p in sorted(prog.items()):
                args = p.get("args") or []
                if who not in tasks:
                    tasks[who] = bars.add_task(who, total=100.0, state="")
                if who == "hub" and len(args) == 2 and args[1]:
                    done = max(args[0] or 0.0, 0.0)
                    bars.update(
                        tasks[who],
                        completed=100.0 * done / args[1],
                        state=f"fused to {done:.0f} of {args[1]:.0f} s",
                    )
                elif len(args) == 2:
                    bars.update(tasks[who], state=f"{args[0]} {args[1] or 0:.0f} s")

        try:
            res = run_deployed(
                name,
                out,
                deploy_dir=deploy_dir,
                node_args=extra,
                hub_args=extra,
                on_tick=tick,
            )
        except KeyboardInterrupt:
            err.print("interrupted: every process of the deployment was stopped")
            raise typer.Exit(130) from None
        except (RuntimeError, TimeoutError, OSError) as exc:
            _fail(str(exc))
    h = res["hub"]
    console.print(
        f"[bold]{sc.name}[/] over NATS in {res['wall_s']:.1f} s (servers up in "
        f"{res['up_s']:.1f} s): {h['input_messages']:,} messages in, {h['reports']:,} "
        f"reports, {h['epochs_fused']:,} epochs fused into {h['global_tracks']} global "
        f"tracks, {h['released']:,} system tracks released"
    )
    for n, s in res["nodes"].items():
        console.print(
            f"  {n}: {s['reports']:,} reports sent, {s['system_tracks_received']:,} system "
            f"tracks received, tracking {s['track_wall_s']:.1f} s, {s['stalls']} stalls"
        )
    for k, v in h["outputs"].items():
        console.print(f"wrote {k}: {v}")
    return res


# ----------------------------------------------------------------------------------------------
# python -m trilink.cli.deploy_cmds

_main = typer.Typer(no_args_is_help=True, help="trilink deployed mode (until wired in main).")
_main.add_typer(deploy_app, name="deploy")
_main.command("node")(node_command)
_main.command("hub")(hub_command)


@_main.command("run")
def _run_cmd(
    scenario: Annotated[str | None, typer.Argument(help="Scenario (default: seed).")] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out/run-nats"),
    until_s: Annotated[float | None, typer.Option("--until", help="Last epoch, s.")] = None,
) -> None:
    """The scenario through a real NATS deployment (trilink run --transport nats)."""
    t0 = time.monotonic()
    res = run_nats(scenario, out, until_s=until_s)
    (Path(out) / "run_nats.json").write_text(json.dumps(res, indent=1, default=str))
    console.print(f"total {time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    _main()
