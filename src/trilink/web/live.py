"""A scenario's run folder for the live picture, computed once and cached.

The embedded simulation (:func:`trilink.sim.run.run_scenario`) runs stage by stage
(fly every object, then every sensor, then each nation's tracker over the whole
run, then the link and hub, then the warning chain), so nothing of the hub's
picture exists until nearly all of it has been computed. ``trilink serve SCENARIO``
therefore computes the run first (faster than real time: the seed takes ~45-80 s
of CPU for 2,700 s of scenario) and then streams it paced by the scenario clock,
exactly as a replay: the live and replay paths are one code path.

Cache: ``$TRILINK_CACHE`` or ``$XDG_CACHE_HOME/trilink`` or ``~/.cache/trilink``,
under ``serve/<scenario>-<seed>-<trilink version>-<hash of the parsed scenario>-<hash
of the package's sources>``.
A run is computed into a temporary folder beside it and renamed into place, so a
cache folder is always complete. ``--cache DIR`` names the folder instead: a run
folder already there is reused if its ``run.json`` has the scenario's name, source,
seed, epoch, duration and this trilink's version; an empty or absent DIR is filled.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import msgspec

from trilink.scenario.build import Scenario

__all__ = ["CacheError", "cache_root", "default_cache_dir", "ensure_run", "matches"]

_TICK = re.compile(r"(\d+(?:\.\d+)?) of (\d+(?:\.\d+)?) s")


class CacheError(ValueError):
    """A cache folder that cannot be used (names it and why)."""


def cache_root() -> Path:
    if os.environ.get("TRILINK_CACHE"):
        return Path(os.environ["TRILINK_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "trilink"


def _version() -> str:
    """This trilink's version, as ``run.json`` records it."""
    try:
        return importlib.metadata.version("trilink")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source tree
        return "unknown"


def scenario_hash(scenario: Scenario) -> str:
    """First 12 hex digits of the SHA-256 of the parsed scenario (JSON)."""
    return hashlib.sha256(msgspec.json.encode(scenario.spec)).hexdigest()[:12]


def code_hash() -> str:
    """First 12 hex digits of the SHA-256 of the package's Python sources: a changed
    trilink (same version number, other code) computes its runs again."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def default_cache_dir(scenario: Scenario) -> Path:
    spec = scenario.spec.scenario
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", scenario.name)
    name = f"{safe}-{spec.seed}-{_version()}-{scenario_hash(scenario)}-{code_hash()}"
    return cache_root() / "serve" / name


def matches(folder: Path, scenario: Scenario) -> bool:
    """True if ``folder`` holds a complete run of ``scenario`` by this trilink."""
    try:
        m = json.loads((folder / "run.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    spec = scenario.spec.scenario
    want = {
        "scenario": scenario.name,
        "source": scenario.source,
        "seed": spec.seed,
        "trilink_version": _version(),
        "epoch_utc": spec.epoch_utc.isoformat(),
        "duration_s": spec.duration_s,
    }
    if any(m.get(k) != v for k, v in want.items()):
        return False
    need = ("events.jsonl", "sensors", "system_tracks", "truth")
    names = {p.name for p in folder.iterdir()}
    return all(n in names or f"{n}.csv" in names or f"{n}.parquet" in names for n in need)


def ensure_run(
    scenario: Scenario,
    cache: Path | None = None,
    *,
    progress: Callable[[str, float | None, float | None], None] | None = None,
) -> tuple[Path, bool]:
    """The run folder of ``scenario``: ``(folder, computed)``; computed is False when
    a cached run was reused. ``progress(message, done, total)`` follows the run."""
    from trilink.sim.run import run_scenario

    folder = cache if cache is not None else default_cache_dir(scenario)
    if folder.is_dir() and matches(folder, scenario):
        return folder, False
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise CacheError(
            f"{folder}: holds something else than a run of {scenario.name!r} (seed "
            f"{scenario.spec.scenario.seed}, trilink {_version()}); give an empty or new folder"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))

    def say(msg: str) -> None:
        if progress is None:
            return
        m = _TICK.search(msg)
        progress(msg, float(m.group(1)) if m else None, float(m.group(2)) if m else None)

    try:
        run_scenario(scenario, tmp, track=True, progress=say)
        if folder.exists():
            folder.rmdir()  # empty (checked above)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder, True
