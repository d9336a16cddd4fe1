"""Shared test fixtures: where the shared reference data live."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project (present on developer machines and in CI)."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.fail(f"shared data folder not found at {path}: CI and developers must have it")
    return path


SEED_RUN_CACHE = ROOT / "tests" / "artifacts" / "seed_run"


@pytest.fixture(scope="session")
def seed_run_dir() -> Path:
    """The seed scenario's run folder (``trilink run`` output, link and alerts
    included), made once per test session and shared by every xdist worker through
    a file lock (about 45 s of CPU the first time). Read it; never write into it."""
    import fcntl
    import json

    from trilink.scenario.build import get_scenario
    from trilink.sim.run import run_scenario

    SEED_RUN_CACHE.parent.mkdir(parents=True, exist_ok=True)
    done = SEED_RUN_CACHE / ".complete"
    with (SEED_RUN_CACHE.parent / ".seed_run.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            stamp = json.loads(done.read_text())
            if stamp.get("source_mtime") == _source_mtime():
                return SEED_RUN_CACHE
        import shutil

        shutil.rmtree(SEED_RUN_CACHE, ignore_errors=True)
        run_scenario(get_scenario(), SEED_RUN_CACHE, track=True)
        done.write_text(json.dumps({"source_mtime": _source_mtime()}))
    return SEED_RUN_CACHE


def _source_mtime() -> float:
    """Newest modification time of the package's sources: a changed trilink remakes
    the cached seed run."""
    return max(p.stat().st_mtime for p in (ROOT / "src" / "trilink").rglob("*.py"))
