"""``trilink export DIR --format czml|kml|cot|dis|geojson``: a run's picture for other
systems (issue 8).

Reads the output folder of ``trilink run --out DIR`` and writes the export into it
(``picture.czml``, ``picture.kml``, ``picture.geojson``, ``picture.cot.xml``,
``picture.dis``; with ``--as NATION`` ``picture_<NATION>.<ext>``) or to ``--out
FILE``. ``--to tcp://HOST:PORT`` streams Cursor-on-Target events live (``cot``),
``--to udp://HOST:PORT`` DIS Entity State PDUs (``dis``), ``--speed X`` times the
stream against the scenario clock (default: as fast as possible). ``--as JP|KR|US``
exports only what the sharing policy released to that partner
(:func:`trilink.export.partner.partner_view`). Formats: ``docs/export.md``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, NoReturn
from urllib.parse import urlsplit

import typer
from rich.console import Console

__all__ = ["DEFAULT_NAMES", "FORMATS", "export_command"]

FORMATS = ("czml", "kml", "cot", "dis", "geojson")
DEFAULT_NAMES = {
    "czml": "picture.czml",
    "kml": "picture.kml",
    "geojson": "picture.geojson",
    "cot": "picture.cot.xml",
    "dis": "picture.dis",
}
"""File written into DIR when no ``--out`` is given."""
_STREAM_SCHEME = {"cot": "tcp", "dis": "udp"}

console = Console()
err = Console(stderr=True)


def _fail(msg: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {msg}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def default_name(fmt: str, nation: str | None) -> str:
    """``picture.<ext>``, or ``picture_<NATION>.<ext>`` for a partner view."""
    name = DEFAULT_NAMES[fmt]
    if nation is None:
        return name
    stem, _, ext = name.partition(".")
    return f"{stem}_{nation}.{ext}"


def parse_stream_url(url: str, fmt: str) -> tuple[str, int]:
    """``tcp://HOST:PORT`` (cot) or ``udp://HOST:PORT`` (dis) → (host, port);
    ValueError naming ``--to`` otherwise."""
    scheme = _STREAM_SCHEME.get(fmt)
    if scheme is None:
        raise ValueError(f"--to: only for --format cot (tcp://) or dis (udp://), not {fmt}")
    expected = f"expected {scheme}://HOST:PORT"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError(f"--to: {url!r}: {expected} with a port 1..65535") from None
    if parts.scheme != scheme:
        raise ValueError(f"--to: {url!r}: {expected} (--format {fmt} streams over {scheme})")
    if not parts.hostname:
        raise ValueError(f"--to: {url!r}: {expected} (no host)")
    if port is None or not 0 < port < 65536:
        raise ValueError(f"--to: {url!r}: {expected} (port 1..65535 required)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"--to: {url!r}: {expected} (no path or query)")
    return parts.hostname, port


def _human_size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def export_command(
    run_dir: Annotated[
        Path,
        typer.Argument(metavar="DIR", help="A run's output folder (`trilink run --out DIR`)."),
    ],
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="czml | kml | cot | dis | geojson."),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write here instead of DIR/picture.<ext>."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="Stream live instead: tcp://HOST:PORT (cot) or udp://HOST:PORT (dis)."
        ),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(
            "--speed",
            help="With --to: times the scenario clock (1 = real time); default as fast as "
            "possible.",
        ),
    ] = None,
    as_nation: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="JP | KR | US: only what the sharing policy released to that partner.",
        ),
    ] = None,
    step_s: Annotated[
        float,
        typer.Option(
            "--step-s",
            help="czml, kml, geojson: keep one track sample per this many seconds (0: all).",
        ),
    ] = 5.0,
) -> None:
    """Export a run's picture: CZML (Cesium), KML (Google Earth), GeoJSON, Cursor-on-Target
    (TAK) or DIS Entity State PDUs; to a file in DIR, to --out, or live with --to."""
    from trilink.export.partner import PARTNERS

    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        _fail(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    nation = None
    if as_nation is not None:
        nation = as_nation.strip().upper()
        if nation not in PARTNERS:
            _fail(f"--as: {as_nation!r} is not one of {', '.join(PARTNERS)}")
    stream: tuple[str, int] | None = None
    if to is not None:
        if out is not None:
            _fail("--to: give either --out (a file) or --to (a live stream), not both")
        try:
            stream = parse_stream_url(to, fmt)
        except ValueError as exc:
            _fail(str(exc))
    if speed is not None:
        if to is None:
            _fail("--speed: only with --to (a live stream)")
        if not (math.isfinite(speed) and speed > 0):
            _fail(f"--speed: must be a positive time scale, got {speed}")
    if not (math.isfinite(step_s) and step_s >= 0):
        _fail(f"--step-s: must be a number of seconds ≥ 0, got {step_s}")
    if out is not None and not out.parent.is_dir():
        _fail(f"--out: folder {out.parent} does not exist")
    if out is not None and out.is_dir():
        _fail(f"--out: {out} is a folder; give a file name")
    if not run_dir.is_dir():
        _fail(f"DIR: {run_dir} is not a folder (give the --out folder of `trilink run`)")

    from trilink.export.runfolder import RunFolderError, read_run

    target = out if out is not None else run_dir / default_name(fmt, nation)
    with err.status(f"reading {run_dir}…", spinner="dots") as status:
        try:
            run = read_run(run_dir)
            if nation is not None:
                status.update(f"selecting what the policy released to {nation}…")
                from trilink.export.partner import partner_view

                run = partner_view(run, nation)
            if stream is not None:
                status.update(f"streaming {fmt} to {to}…")
                n = _stream(run, fmt, to or "", stream, speed)
                done = f"sent {n:,} {'CoT events' if fmt == 'cot' else 'DIS PDUs'} to {to}"
            else:
                status.update(f"writing {target}…")
                path = _write(run, fmt, target, step_s)
                done = f"wrote {path} ({_human_size(path.stat().st_size)})"
        except RunFolderError as exc:
            _fail(str(exc))
        except ModuleNotFoundError as exc:
            _fail(f"--format {fmt}: its writer is not available ({exc.name} not found)")
        except (ValueError, ConnectionError) as exc:
            _fail(str(exc))
        except OSError as exc:
            _fail(f"{exc.filename or target}: {exc.strerror or exc}")
    view = f" (as seen by {nation})" if nation else ""
    console.print(done + view, highlight=False, soft_wrap=True)


def _write(run: object, fmt: str, target: Path, step_s: float) -> Path:
    from trilink.export.runfolder import RunFolder

    assert isinstance(run, RunFolder)
    if fmt == "czml":
        from trilink.export.czml import write_czml

        return write_czml(run, target, track_step_s=step_s)
    if fmt == "kml":
        from trilink.export.kml import write_kml

        return write_kml(run, target, track_step_s=step_s)
    if fmt == "geojson":
        from trilink.export.geojson import write_geojson

        return write_geojson(run, target, track_step_s=step_s)
    if fmt == "cot":
        from trilink.export.cot import write_cot

        return Path(write_cot(run, target))
    from trilink.export.dis import write_dis

    return Path(write_dis(run, target))


def _stream(
    run: object, fmt: str, url: str, host_port: tuple[str, int], speed: float | None
) -> int:
    from trilink.export.runfolder import RunFolder

    assert isinstance(run, RunFolder)
    if fmt == "cot":
        from trilink.export.cot import stream_cot

        return int(stream_cot(run, url, speed=speed))
    from trilink.export.dis import send_dis

    host, port = host_port
    return int(send_dis(run, host, port, speed=speed))
