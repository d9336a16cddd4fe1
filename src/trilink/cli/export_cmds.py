"""``trilink export``: placeholder while the exports are built (issue 8)."""

from __future__ import annotations


def export_command() -> None:
    """Export a run folder (being built)."""
    raise SystemExit("trilink export: not built yet")
