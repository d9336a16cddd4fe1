"""Detections (struct of arrays) and the sensors table: the sensors' file contracts.

:class:`DetectionBatch` holds one row per detection, time-ordered, with the
columns of DESIGN.md's **Detections table**::

    time_s, sensor_id, range_m, az_rad, el_rad, range_rate_mps, snr_db

(azimuth clockwise from true north, elevation above the local geodetic
horizontal, range the slant range from the sensor's WGS-84 position;
``range_rate_mps`` is NaN for a radar without Doppler), plus, for evaluation
only, the truth attribution (``object_ids``: the ';'-joined ids of every truth
object that contributed to the detection, '' for a false alarm;
``is_false_alarm``; ``thrusting``) and each detection's measurement standard
deviations (``sigma_*``; see :meth:`trilink.sensors.radar.Radar.sigmas`).

:func:`sensors_table` gives DESIGN.md's **Sensors table** for a list of radars.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from trilink.sensors.radar import Radar

F64 = NDArray[np.float64]

DETECTION_COLUMNS: tuple[str, ...] = (
    "time_s",
    "sensor_id",
    "range_m",
    "az_rad",
    "el_rad",
    "range_rate_mps",
    "snr_db",
)
"""Column order of the detections table (DESIGN.md, "File contracts")."""

DETECTION_TRUTH_COLUMNS: tuple[str, ...] = ("object_ids", "is_false_alarm", "thrusting")
"""Truth-attribution columns (evaluation only; not part of the detections contract)."""

SENSOR_COLUMNS: tuple[str, ...] = (
    "sensor_id",
    "nation",
    "lat_deg",
    "lon_deg",
    "alt_m",
    "sigma_range_m",
    "sigma_az_rad",
    "sigma_el_rad",
    "sigma_range_rate_mps",
)
"""Column order of the sensors table (DESIGN.md, "File contracts")."""

_FLOAT_FIELDS = (
    "time_s",
    "range_m",
    "az_rad",
    "el_rad",
    "range_rate_mps",
    "snr_db",
    "sigma_range_m",
    "sigma_az_rad",
    "sigma_el_rad",
    "sigma_range_rate_mps",
)


@dataclass(frozen=True, kw_only=True, eq=False)
class DetectionBatch:
    """Detections from any number of sensors, one row each, ordered by time.

    Every array is 1-D of the same length N; ``object_ids`` is a tuple of N
    strings. Build one with :meth:`from_arrays` (which sorts by time) or
    :meth:`empty`; the constructor checks shapes and order.
    """

    time_s: F64
    sensor_id: NDArray[np.str_]
    range_m: F64
    az_rad: F64
    el_rad: F64
    range_rate_mps: F64
    snr_db: F64
    sigma_range_m: F64
    sigma_az_rad: F64
    sigma_el_rad: F64
    sigma_range_rate_mps: F64
    object_ids: tuple[str, ...]
    is_false_alarm: NDArray[np.bool_]
    thrusting: NDArray[np.bool_]

    def __post_init__(self) -> None:
        n = len(self.object_ids)
        if not isinstance(self.object_ids, tuple):
            raise ValueError("DetectionBatch.object_ids must be a tuple of str")
        for f in fields(self):
            if f.name == "object_ids":
                continue
            a = getattr(self, f.name)
            if not isinstance(a, np.ndarray) or a.ndim != 1 or a.shape[0] != n:
                shape = getattr(a, "shape", None)
                raise ValueError(
                    f"DetectionBatch.{f.name} must be a 1-D array of length {n}, got shape {shape}"
                )
        if n > 1 and np.any(np.diff(self.time_s) < 0.0):
            raise ValueError("DetectionBatch.time_s must be non-decreasing (time-ordered)")

    # -- construction ---------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        *,
        object_ids: Sequence[str],
        sensor_id: NDArray[np.str_] | Sequence[str],
        is_false_alarm: NDArray[np.bool_],
        thrusting: NDArray[np.bool_] | None = None,
        **columns: F64,
    ) -> DetectionBatch:
        """Build a batch from unordered columns, sorting rows by time (stable)."""
        missing = [f for f in _FLOAT_FIELDS if f not in columns]
        extra = [f for f in columns if f not in _FLOAT_FIELDS]
        if missing or extra:
            raise ValueError(f"DetectionBatch.from_arrays: missing {missing}, unexpected {extra}")
        t = np.asarray(columns["time_s"], dtype=float)
        order = np.argsort(t, kind="stable")
        ids = tuple(object_ids)
        fa = np.asarray(is_false_alarm, dtype=bool)
        th = np.zeros(t.size, dtype=bool) if thrusting is None else np.asarray(thrusting, bool)
        return cls(
            object_ids=tuple(ids[i] for i in order.tolist()),
            sensor_id=np.asarray(sensor_id, dtype=np.str_)[order],
            is_false_alarm=fa[order],
            thrusting=th[order],
            **{k: np.asarray(columns[k], dtype=float)[order] for k in _FLOAT_FIELDS},
        )

    @classmethod
    def empty(cls) -> DetectionBatch:
        """A batch with no rows."""
        z = np.empty(0)
        return cls(
            object_ids=(),
            sensor_id=np.empty(0, dtype=np.str_),
            is_false_alarm=np.empty(0, dtype=bool),
            thrusting=np.empty(0, dtype=bool),
            **{k: z for k in _FLOAT_FIELDS},
        )

    @classmethod
    def concatenate(cls, batches: Sequence[DetectionBatch]) -> DetectionBatch:
        """Merge batches into one time-ordered batch (ties keep the input order)."""
        batches = [b for b in batches if len(b)]
        if not batches:
            return cls.empty()
        if len(batches) == 1:
            return batches[0]
        ids: list[str] = []
        for b in batches:
            ids.extend(b.object_ids)
        return cls.from_arrays(
            object_ids=ids,
            sensor_id=np.concatenate([b.sensor_id for b in batches]),
            is_false_alarm=np.concatenate([b.is_false_alarm for b in batches]),
            thrusting=np.concatenate([b.thrusting for b in batches]),
            **{k: np.concatenate([getattr(b, k) for b in batches]) for k in _FLOAT_FIELDS},
        )

    # -- access ---------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.object_ids)

    def select(self, rows: NDArray[np.bool_] | NDArray[np.intp]) -> DetectionBatch:
        """The rows picked by a boolean mask or (increasing) integer indices."""
        idx = np.asarray(rows)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        ids = self.object_ids
        return DetectionBatch(
            object_ids=tuple(ids[i] for i in idx.tolist()),
            sensor_id=self.sensor_id[idx],
            is_false_alarm=self.is_false_alarm[idx],
            thrusting=self.thrusting[idx],
            **{k: getattr(self, k)[idx] for k in _FLOAT_FIELDS},
        )

    def for_sensor(self, sensor_id: str) -> DetectionBatch:
        """The detections of one sensor."""
        return self.select(self.sensor_id == sensor_id)

    @property
    def n_objects(self) -> NDArray[np.int64]:
        """Number of truth objects in each detection (0 for a false alarm; > 1: merged)."""
        return np.array([0 if not s else s.count(";") + 1 for s in self.object_ids], dtype=np.int64)

    def columns(self) -> dict[str, NDArray]:
        """The detections-table columns, in :data:`DETECTION_COLUMNS` order."""
        return {k: getattr(self, k) for k in DETECTION_COLUMNS}

    def truth_columns(self) -> dict[str, NDArray]:
        """The contract columns followed by the truth attribution (for evaluation files)."""
        out = self.columns()
        out["object_ids"] = np.asarray(self.object_ids, dtype=np.str_)
        out["is_false_alarm"] = self.is_false_alarm
        out["thrusting"] = self.thrusting
        return out


def sensors_table(radars: Sequence[Radar]) -> dict[str, NDArray]:
    """The sensors-table columns (:data:`SENSOR_COLUMNS`) for ``radars``.

    The σ columns are each radar's measurement standard deviations at its
    detection threshold (:meth:`Radar.worst_sigmas`): an upper bound for
    every detection it makes; a detection's own σ shrinks with its SNR as
    ``max(σ_table · sqrt(SNR_threshold / SNR), floor)``.
    ``sigma_range_rate_mps`` is NaN for a radar without Doppler.
    """
    sig = np.array([r.worst_sigmas() for r in radars], dtype=float).reshape(-1, 4)
    return {
        "sensor_id": np.array([r.sensor_id for r in radars], dtype=np.str_),
        "nation": np.array([r.nation for r in radars], dtype=np.str_),
        # rounded to 1e-9° (0.1 mm) so that 38.07 is written as 38.07, not 38.069999999999997
        "lat_deg": np.array([round(math.degrees(r.lat_rad), 9) for r in radars], dtype=float),
        "lon_deg": np.array([round(math.degrees(r.lon_rad), 9) for r in radars], dtype=float),
        "alt_m": np.array([r.alt_m for r in radars], dtype=float),
        "sigma_range_m": sig[:, 0],
        "sigma_az_rad": sig[:, 1],
        "sigma_el_rad": sig[:, 2],
        "sigma_range_rate_mps": sig[:, 3],
    }
