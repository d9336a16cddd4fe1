"""Which of a run's system-track updates the live exports (CoT, DIS) send.

The hub writes every system track about once a second; a TAK map or a DIS
simulator needs far fewer. :func:`thin_track_updates` applies the picture's
thinning rule (:func:`trilink.export.picture.thin_indices`: per track, its first
update, the first update of each further ``every_s`` bin counted from that
first one, and its last update, so a receiver sees where a track ended) to the
fused picture and returns the kept rows in time order, ties by track number.
"""

from __future__ import annotations

import pandas as pd

from trilink.export.picture import thin_indices
from trilink.export.runfolder import RunFolder, RunFolderError

TRACK_NUMBER_COLUMN = "global_track_number"


def system_tracks(run: RunFolder) -> pd.DataFrame:
    """The run's fused picture, or a clear error when the run has none."""
    if run.system_tracks is None:
        raise RunFolderError(
            run.path / "system_tracks.csv",
            "missing: the run has no fused picture (made without the link?)",
        )
    return run.system_tracks


def thin_track_updates(
    tracks: pd.DataFrame, every_s: float, *, track_column: str = TRACK_NUMBER_COLUMN
) -> pd.DataFrame:
    """Rows of a tracks table kept when sending one update per track every ``every_s`` s.

    Args:
        tracks: a tracks table with ``time_s`` and ``track_column``.
        every_s: the interval, s (> 0).
        track_column: the column naming the track.

    Returns:
        The kept rows (all columns), sorted by ``time_s`` then track, index reset.
    """
    if not every_s > 0.0:
        raise ValueError(f"every_s must be > 0 s, got {every_s!r}")
    df = tracks.sort_values([track_column, "time_s"], kind="stable").reset_index(drop=True)
    keep = thin_indices(
        df[track_column].to_numpy(), df["time_s"].to_numpy(dtype=float), float(every_s)
    )
    kept = df.iloc[keep]
    return kept.sort_values(["time_s", track_column], kind="stable").reset_index(drop=True)
