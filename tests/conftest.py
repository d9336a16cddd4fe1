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
