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


def write_table(path: str | Path, columns: Mapping[str, NDArray], order: tuple[str, ...]) -> Path:
    """Write a contract table as CSV or Parquet, chosen by the file extension."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return write_csv(p, columns, order)
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        p.parent.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for c in order:
            a = np.asarray(columns[c])
            arrays[c] = pa.array(a.astype(str) if a.dtype == object else a)
        pq.write_table(pa.table(arrays), p)
        return p
    raise ValueError(f"{p}: unknown table format {suffix!r} (use .csv or .parquet)")
