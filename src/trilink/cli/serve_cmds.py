"""``trilink serve``: placeholder while the web picture is built (issue 8)."""

from __future__ import annotations


def serve_command() -> None:
    """Serve the live picture (being built)."""
    raise SystemExit("trilink serve: not built yet")
