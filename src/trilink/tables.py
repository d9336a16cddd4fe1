"""Reading and writing the contract tables (DESIGN.md, "File contracts").

Tables are column dicts of numpy arrays. CSV is written with full float
precision (``repr`` round-trips exactly); the format follows the file extension.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from numpy.typing import NDArray


def write_csv(path: str | Path, columns: Mapping[str, NDArray], order: tuple[str, ...]) -> Path:
    """Write ``columns`` to ``path`` as CSV with the header ``order``; return the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    missing = [c for c in order if c not in columns]
    if missing:
        raise ValueError(f"{p}: missing columns {missing}")
    n = len(columns[order[0]])
    cols = []
    for c in order:
        a = np.asarray(columns[c])
        if len(a) != n:
            raise ValueError(f"{p}: column {c!r} has {len(a)} rows, expected {n}")
        if a.dtype.kind == "f":
            cols.append([repr(float(x)) for x in a])
        else:
            cols.append([str(x) for x in a])
    with p.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(order)
        w.writerows(zip(*cols, strict=True))
    return p
