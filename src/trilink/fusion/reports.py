"""Track reports as the hub's fusion takes them: one row per national track at one time.

:class:`TrackReports` is a struct of arrays (N rows): the originating nation, the
nation's local track id, the report time, the ECEF position/velocity state (N, 6) and
its covariance (N, 6, 6), the nation's kind and its confidence, and optionally the
sensor the nation attributes the report to (for registration). It does not depend on
the link package: the hub converts messages to this type.

:meth:`TrackReports.from_columns` reads a tracks table (DESIGN.md "Tracks table":
``time_s, track_id, x/y/z_ecef_m, vx/vy/vz_ecef_mps`` plus the 21 upper-triangle
covariance columns :data:`trilink.tracking.tracker.COV_COLUMNS` and ``kind``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from trilink.tracking.tracker import COV_COLUMNS

F64 = NDArray[np.float64]

STATE_COLUMNS = ("x_ecef_m", "y_ecef_m", "z_ecef_m", "vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps")
_IU = np.triu_indices(6)


def covariance_from_columns(cols: Mapping[str, NDArray]) -> F64:
    """(N, 6, 6) symmetric covariances from the 21 upper-triangle columns."""
    upper = np.column_stack([np.asarray(cols[c], dtype=float) for c in COV_COLUMNS])
    P = np.zeros((upper.shape[0], 6, 6))
    P[:, _IU[0], _IU[1]] = upper
    P[:, _IU[1], _IU[0]] = upper
    return P


def covariance_to_columns(P: F64) -> dict[str, F64]:
    """The 21 upper-triangle covariance columns of (N, 6, 6) covariances."""
    upper = np.asarray(P, dtype=float)[:, _IU[0], _IU[1]]
    return {c: upper[:, k] for k, c in enumerate(COV_COLUMNS)}


@dataclass(frozen=True, kw_only=True, eq=False)
class TrackReports:
    """N national track reports (struct of arrays; module docstring).

    ``state`` is ``[r_ecef_m, v_ecef_mps]`` (N, 6); ``covariance`` (N, 6, 6) in m², m²/s,
    m²/s². ``sensor_id`` is '' where the nation names no single sensor.
    """

    nation: NDArray[np.str_]
    track_id: NDArray[np.int64]
    time_s: F64
    state: F64
    covariance: F64
    kind: NDArray[np.str_]
    kind_confidence: F64
    sensor_id: NDArray[np.str_]

    def __post_init__(self) -> None:
        n = self.time_s.shape[0] if isinstance(self.time_s, np.ndarray) else -1
        for name, shape in (
            ("nation", (n,)),
            ("track_id", (n,)),
            ("time_s", (n,)),
            ("state", (n, 6)),
            ("covariance", (n, 6, 6)),
            ("kind", (n,)),
            ("kind_confidence", (n,)),
            ("sensor_id", (n,)),
        ):
            a = getattr(self, name)
            if not isinstance(a, np.ndarray) or a.shape != shape:
                got = getattr(a, "shape", type(a).__name__)
                raise ValueError(f"TrackReports.{name} must have shape {shape}, got {got}")

    # -- construction ---------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        *,
        nation: Sequence[str] | NDArray[np.str_] | str,
        track_id: NDArray | Sequence[int],
        time_s: NDArray | Sequence[float],
        state: NDArray,
        covariance: NDArray,
        kind: Sequence[str] | NDArray[np.str_] | None = None,
        kind_confidence: NDArray | None = None,
        sensor_id: Sequence[str] | NDArray[np.str_] | None = None,
    ) -> TrackReports:
        """Build from arrays; a scalar ``nation`` applies to every row."""
        t = np.array(time_s, dtype=float).reshape(-1)
        n = t.size
        nat = np.full(n, nation) if isinstance(nation, str) else nation
        return cls(
            nation=np.array(nat, dtype=np.str_).reshape(-1),
            track_id=np.array(track_id, dtype=np.int64).reshape(-1),
            time_s=t,
            state=np.array(state, dtype=float).reshape(n, 6),
            covariance=np.array(covariance, dtype=float).reshape(n, 6, 6),
            kind=(
                np.full(n, "unknown") if kind is None else np.array(kind, dtype=np.str_).reshape(-1)
            ),
            kind_confidence=(
                np.zeros(n)
                if kind_confidence is None
                else np.array(kind_confidence, dtype=float).reshape(-1)
            ),
            sensor_id=(
                np.full(n, "", dtype=np.str_)
                if sensor_id is None
                else np.array(sensor_id, dtype=np.str_).reshape(-1)
            ),
        )

    @classmethod
    def from_columns(
        cls,
        cols: Mapping[str, NDArray],
        nation: str,
        *,
        sensor_id: Sequence[str] | NDArray[np.str_] | None = None,
    ) -> TrackReports:
        """From a tracks table's columns (module docstring) of one nation.

        ``kind`` and ``kind_confidence`` are optional columns ('unknown', 0)."""
        missing = [c for c in ("time_s", "track_id", *STATE_COLUMNS, *COV_COLUMNS) if c not in cols]
        if missing:
            raise ValueError(f"tracks table of {nation}: missing columns {missing}")
        t = np.asarray(cols["time_s"], dtype=float)
        return cls.from_arrays(
            nation=nation,
            track_id=np.asarray(cols["track_id"]).astype(np.int64),
            time_s=t,
            state=np.column_stack([np.asarray(cols[c], dtype=float) for c in STATE_COLUMNS]),
            covariance=covariance_from_columns(cols),
            kind=cols.get("kind"),
            kind_confidence=cols.get("kind_confidence"),
            sensor_id=sensor_id,
        )

    @classmethod
    def concatenate(cls, parts: Sequence[TrackReports]) -> TrackReports:
        """Rows of several report sets, in the given order."""
        parts = list(parts)
        if not parts:
            return cls.empty()
        return cls(
            **{
                f: np.concatenate([getattr(p, f) for p in parts])
                for f in (
                    "nation",
                    "track_id",
                    "time_s",
                    "state",
                    "covariance",
                    "kind",
                    "kind_confidence",
                    "sensor_id",
                )
            }
        )

    @classmethod
    def empty(cls) -> TrackReports:
        return cls.from_arrays(
            nation=np.empty(0, dtype=np.str_),
            track_id=np.empty(0, dtype=np.int64),
            time_s=np.empty(0),
            state=np.empty((0, 6)),
            covariance=np.empty((0, 6, 6)),
        )

    # -- access ---------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    def select(self, rows: NDArray[np.bool_] | NDArray[np.intp]) -> TrackReports:
        """The rows picked by a boolean mask or integer indices."""
        idx = np.asarray(rows)
        return TrackReports(
            nation=self.nation[idx],
            track_id=self.track_id[idx],
            time_s=self.time_s[idx],
            state=self.state[idx],
            covariance=self.covariance[idx],
            kind=self.kind[idx],
            kind_confidence=self.kind_confidence[idx],
            sensor_id=self.sensor_id[idx],
        )

    def epochs(self, every_s: float = 1.0) -> list[tuple[float, NDArray[np.intp]]]:
        """Rows grouped by report time rounded to ``every_s``: [(epoch_s, rows), ...]."""
        if len(self) == 0:
            return []
        k = np.round(self.time_s / every_s).astype(np.int64)
        order = np.argsort(k, kind="stable")
        ks = k[order]
        cut = np.flatnonzero(np.diff(ks)) + 1
        return [
            (float(g[0]) * every_s, rows)
            for g, rows in zip(np.split(ks, cut), np.split(order, cut), strict=True)
        ]
