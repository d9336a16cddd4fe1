"""Readers for the contract tables the tracker consumes: sensors and detections.

Both tables are CSV or Parquet, chosen by the file extension (``.csv`` /
``.parquet``); their columns are those of DESIGN.md, "File contracts".

**Sensors table** (:func:`read_sensors`): ``sensor_id, nation, lat_deg,
lon_deg, alt_m, sigma_range_m, sigma_az_rad, sigma_el_rad``, optional
``sigma_range_rate_mps`` (NaN or absent: the radar measures no Doppler).
Each row needs a non-empty, unique ``sensor_id``, ``nation`` one of
:data:`NATIONS`, latitude in [-90, 90] deg, longitude in [-180, 360) deg
(returned in (-180, 180]), altitude (above the WGS-84 ellipsoid) in
[-500, 100000] m and finite standard deviations > 0. The table must have rows.

**Detections table** (:func:`read_detections`): ``time_s, sensor_id,
range_m, az_rad, el_rad``, optional ``range_rate_mps`` (NaN: not measured),
``snr_db`` (finite when present), per-detection standard deviations
``sigma_range_m, sigma_az_rad, sigma_el_rad, sigma_range_rate_mps`` (NaN or
absent: use the sensors table's value) and the evaluation columns
``object_ids`` (';'-joined truth ids, '' for none), ``is_false_alarm`` and
``thrusting`` (absent: '', False, False). Each row needs a finite time >= 0 s,
a ``sensor_id`` of a known sensor, a finite slant range > 0 m, a finite
azimuth (clockwise from true north; returned wrapped into [0, 2π)) and a
finite elevation in [-π/2, π/2]. Rows may come in any order: the result is
sorted by time (stable). A table with a header and no rows is an empty batch.

In CSV files an empty cell is NaN in the columns where NaN is allowed
(``range_rate_mps``, every ``sigma_*`` that may be NaN) and an error elsewhere;
``nan``, ``inf`` and the usual decimal forms are read as numbers; booleans are
``True``/``False`` (or ``1``/``0``, any case). In Parquet files numeric
columns must be of an integer or floating type, booleans boolean and text
columns string (else the error names the column); a null is an empty cell. Columns not
named here are ignored.

Errors. Every problem raises :class:`TableError` (a ``ValueError``) whose
``str()`` is one line naming the file (its name, not its path), the 1-based
data row (the first row under the header is row 1) and the column where they
apply, then the problem::

    detections.csv row 17, column range_m: NaN is not allowed
    detections.csv: missing column 'el_rad'
    sensors.csv row 3, column nation: 'XX' is not one of JP, KR, US
    detections.parquet, column range_m: expected numbers, got string

Checks are vectorised over rows; when several rows are bad, the earliest is
reported (on one row, the first column in contract order).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from numpy.typing import NDArray

from trilink.sensors.detection import DETECTION_COLUMNS, SENSOR_COLUMNS, DetectionBatch

__all__ = ["NATIONS", "TableError", "read_detections", "read_sensors"]

F64 = NDArray[np.float64]

NATIONS: tuple[str, ...] = ("JP", "KR", "US")
"""Valid ``nation`` codes of the sensors table (the same as ``trilink.sensors.NATIONS``)."""

ALT_MIN_M = -500.0
"""Lowest accepted sensor altitude above the WGS-84 ellipsoid, m (below any land site)."""

ALT_MAX_M = 100_000.0
"""Highest accepted sensor altitude above the WGS-84 ellipsoid, m."""

_TWO_PI = 2.0 * math.pi
_HALF_PI = 0.5 * math.pi
_MAX_SHOWN_IDS = 5
"""How many known sensor ids an unknown-sensor error lists."""

_SENSOR_REQUIRED = SENSOR_COLUMNS[:8]
_DETECTION_REQUIRED: tuple[str, ...] = ("time_s", "sensor_id", "range_m", "az_rad", "el_rad")
_DETECTION_SIGMAS: tuple[str, ...] = (
    "sigma_range_m",
    "sigma_az_rad",
    "sigma_el_rad",
    "sigma_range_rate_mps",
)
_DETECTION_OPTIONAL: tuple[str, ...] = (
    *DETECTION_COLUMNS[len(_DETECTION_REQUIRED) :],
    *_DETECTION_SIGMAS,
    "object_ids",
    "is_false_alarm",
    "thrusting",
)
_TRUE_TEXT = ("true", "1")
_FALSE_TEXT = ("false", "0")


class TableError(ValueError):
    """A contract table that cannot be read: file, row, column and problem.

    Attributes: ``path`` (the file), ``row`` (1-based data row, the first row
    under the header being row 1; None when the problem is not one row's),
    ``column`` (None when the problem is not one column's) and ``problem``.
    ``str()`` is one line: ``"<file name> row R, column C: <problem>"``.
    """

    def __init__(
        self, path: str | Path, problem: str, *, row: int | None = None, column: str | None = None
    ) -> None:
        self.path = Path(path)
        self.row = row
        self.column = column
        self.problem = " ".join(str(problem).splitlines())
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path.name
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.problem}"

    def __reduce__(self) -> tuple[object, ...]:
        # keep row and column through pickling (process pools, Dask workers)
        state = {"row": self.row, "column": self.column}
        return (type(self), (self.path, self.problem), state)


# -- public readers ----------------------------------------------------------------------


def read_sensors(path: str | Path) -> dict[str, NDArray]:
    """Read and check a sensors table (CSV or Parquet by extension).

    Returns the columns of :data:`trilink.sensors.detection.SENSOR_COLUMNS`, in
    that order and in the file's row order: ``sensor_id`` and ``nation`` as
    ``numpy.str_`` arrays, the rest float64 (deg, m, rad, m/s as named), with
    ``lon_deg`` normalised to (-180, 180] and ``sigma_range_rate_mps`` NaN for
    a radar without Doppler (all NaN when the column is absent).
    Raises :class:`TableError` (module docstring) for any bad input.
    """
    p = Path(path)
    table = _read_table(p)
    _require_columns(p, table, _SENSOR_REQUIRED, ("sigma_range_rate_mps",))
    n = table.num_rows
    if n == 0:
        raise TableError(p, "no sensors: the table has a header but no rows")
    problems = _Problems(p)

    sensor_id = _text_column(p, table, "sensor_id")
    blank = np.char.str_len(np.char.strip(sensor_id)) == 0
    problems.flag("sensor_id", blank, lambda i: "sensor_id is empty")
    _, first, inverse = np.unique(sensor_id, return_index=True, return_inverse=True)
    first_of_row = first[inverse.reshape(-1)]
    problems.flag(
        "sensor_id",
        first_of_row != np.arange(n),
        lambda i: (
            f"duplicate sensor_id {_show(str(sensor_id[i]))} (first on row {first_of_row[i] + 1})"
        ),
    )

    nation = _text_column(p, table, "nation")
    problems.flag(
        "nation",
        ~np.isin(nation, NATIONS),
        lambda i: f"{_show(str(nation[i]))} is not one of {', '.join(NATIONS)}",
    )

    out: dict[str, NDArray] = {"sensor_id": sensor_id, "nation": nation}
    lat = out["lat_deg"] = _float_column(p, table, "lat_deg", problems)
    _check(problems, "lat_deg", lat, (lat >= -90.0) & (lat <= 90.0), "is not within [-90, 90] deg")
    lon = out["lon_deg"] = _float_column(p, table, "lon_deg", problems)
    _check(
        problems, "lon_deg", lon, (lon >= -180.0) & (lon < 360.0), "is not within [-180, 360) deg"
    )
    alt = out["alt_m"] = _float_column(p, table, "alt_m", problems)
    _check(
        problems,
        "alt_m",
        alt,
        (alt >= ALT_MIN_M) & (alt <= ALT_MAX_M),
        f"is not within [{ALT_MIN_M:g}, {ALT_MAX_M:g}] m",
    )
    for name in ("sigma_range_m", "sigma_az_rad", "sigma_el_rad"):
        s = out[name] = _float_column(p, table, name, problems)
        _check(problems, name, s, _finite_positive(s), "is not a finite number > 0")
    if "sigma_range_rate_mps" in table.column_names:
        s = _float_column(p, table, "sigma_range_rate_mps", problems, empty_is_nan=True)
        _check(
            problems,
            "sigma_range_rate_mps",
            s,
            _finite_positive(s),
            "is not NaN or a finite number > 0",
            nan_ok=True,
        )
    else:
        s = np.full(n, np.nan)
    out["sigma_range_rate_mps"] = s
    problems.raise_first()

    out["lon_deg"] = _normalise_lon_deg(lon)
    return {name: out[name] for name in SENSOR_COLUMNS}


def read_detections(path: str | Path, sensor_ids: Collection[str]) -> DetectionBatch:
    """Read and check a detections table (CSV or Parquet by extension).

    ``sensor_ids`` are the known sensors (e.g. ``read_sensors(...)["sensor_id"]``);
    a detection of any other sensor is an error. Returns a time-ordered
    :class:`DetectionBatch` (stable sort), azimuths wrapped into [0, 2π) rad;
    absent optional columns read as NaN (``range_rate_mps``, ``snr_db``,
    ``sigma_*``), '' (``object_ids``) and False (``is_false_alarm``,
    ``thrusting``). A header with no rows gives :meth:`DetectionBatch.empty`.
    Raises :class:`TableError` (module docstring) for any bad input.
    """
    p = Path(path)
    table = _read_table(p)
    _require_columns(p, table, _DETECTION_REQUIRED, _DETECTION_OPTIONAL)
    n = table.num_rows
    if n == 0:
        return DetectionBatch.empty()
    present = set(table.column_names)
    problems = _Problems(p)
    floats: dict[str, F64] = {}

    t = floats["time_s"] = _float_column(p, table, "time_s", problems)
    _check(problems, "time_s", t, (t >= 0.0) & (t < np.inf), "is not a finite time >= 0 s")

    sensor_id = _text_column(p, table, "sensor_id")
    known = sorted({str(s) for s in sensor_ids})
    problems.flag(
        "sensor_id",
        ~np.isin(sensor_id, np.asarray(known, dtype=np.str_)),
        lambda i: f"{_show(str(sensor_id[i]))} is not a known sensor ({_list_known(known)})",
    )

    r = floats["range_m"] = _float_column(p, table, "range_m", problems)
    _check(problems, "range_m", r, _finite_positive(r), "is not a finite range > 0 m")
    az = _float_column(p, table, "az_rad", problems)
    _check(problems, "az_rad", az, np.isfinite(az), "is not finite")
    el = floats["el_rad"] = _float_column(p, table, "el_rad", problems)
    _check(
        problems,
        "el_rad",
        el,
        (el >= -_HALF_PI) & (el <= _HALF_PI),
        "is not within [-pi/2, pi/2] rad",
    )

    if "range_rate_mps" in present:
        rr = _float_column(p, table, "range_rate_mps", problems, empty_is_nan=True)
        _check(problems, "range_rate_mps", rr, np.isfinite(rr), "is not finite", nan_ok=True)
    else:
        rr = np.full(n, np.nan)
    floats["range_rate_mps"] = rr
    if "snr_db" in present:
        snr = _float_column(p, table, "snr_db", problems)
        _check(problems, "snr_db", snr, np.isfinite(snr), "is not finite")
    else:
        snr = np.full(n, np.nan)
    floats["snr_db"] = snr
    for name in _DETECTION_SIGMAS:
        if name in present:
            s = _float_column(p, table, name, problems, empty_is_nan=True)
            _check(
                problems,
                name,
                s,
                _finite_positive(s),
                "is not NaN or a finite number > 0",
                nan_ok=True,
            )
        else:
            s = np.full(n, np.nan)
        floats[name] = s

    if "object_ids" in present:
        object_ids: list[str] = _text_column(p, table, "object_ids").tolist()
    else:
        object_ids = [""] * n
    flags = {
        name: (
            _bool_column(p, table, name, problems)
            if name in present
            else np.zeros(n, dtype=np.bool_)
        )
        for name in ("is_false_alarm", "thrusting")
    }
    problems.raise_first()

    floats["az_rad"] = _wrap_two_pi(az)
    return DetectionBatch.from_arrays(
        object_ids=object_ids,
        sensor_id=sensor_id,
        is_false_alarm=flags["is_false_alarm"],
        thrusting=flags["thrusting"],
        **floats,
    )


# -- error collection ---------------------------------------------------------------------


class _Problems:
    """The earliest bad row over every check (ties: the check registered first)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.first: tuple[int, str, str] | None = None

    def flag(self, column: str, bad: NDArray[np.bool_], describe: Callable[[int], str]) -> None:
        """Note the first row where ``bad`` holds; ``describe(i)`` words row ``i``'s problem."""
        rows = np.flatnonzero(bad)
        if rows.size == 0:
            return
        i = int(rows[0])
        if self.first is None or i < self.first[0]:
            self.first = (i, column, describe(i))

    def raise_first(self) -> None:
        """Raise the earliest problem noted, if any."""
        if self.first is not None:
            i, column, problem = self.first
            raise TableError(self.path, problem, row=i + 1, column=column)


def _check(
    problems: _Problems,
    column: str,
    values: F64,
    ok: NDArray[np.bool_],
    expected: str,
    *,
    nan_ok: bool = False,
) -> None:
    """Flag the rows where ``ok`` fails; NaN is "not allowed" unless ``nan_ok``."""
    bad = ~ok
    if nan_ok:
        bad &= ~np.isnan(values)

    def describe(i: int) -> str:
        v = float(values[i])
        return "NaN is not allowed" if math.isnan(v) else f"{v!r} {expected}"

    problems.flag(column, bad, describe)


def _finite_positive(values: F64) -> NDArray[np.bool_]:
    return (values > 0.0) & (values < np.inf)


def _show(text: str, limit: int = 40) -> str:
    """A cell's text quoted on one line, shortened past ``limit`` characters."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _list_known(known: Sequence[str]) -> str:
    if not known:
        return "no sensors are known"
    shown = ", ".join(known[:_MAX_SHOWN_IDS])
    more = len(known) - _MAX_SHOWN_IDS
    return f"known: {shown}" + (f", ... ({more} more)" if more > 0 else "")


# -- geometry of the returned values --------------------------------------------------------


def _wrap_two_pi(angle_rad: F64) -> F64:
    """Angles wrapped into [0, 2π) (np.mod can round a tiny negative angle up to 2π)."""
    wrapped = np.mod(angle_rad, _TWO_PI)
    wrapped[wrapped >= _TWO_PI] = 0.0
    return wrapped


def _normalise_lon_deg(lon_deg: F64) -> F64:
    """Longitudes in [-180, 360) deg mapped to (-180, 180] deg."""
    lon = np.where(lon_deg > 180.0, lon_deg - 360.0, lon_deg)
    lon[lon <= -180.0] = 180.0
    return lon


# -- reading the files ----------------------------------------------------------------------


def _read_table(path: Path) -> pa.Table:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".parquet":
        try:
            return pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            raise TableError(path, f"cannot read the Parquet file: {exc}") from None
    raise TableError(path, f"unknown table format {suffix!r} (use .csv or .parquet)")


def _read_csv(path: Path) -> pa.Table:
    """Every column as text (ids like '007' stay text); numbers are parsed per column later."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next((row for row in reader if row), None)
            header_lines = reader.line_num
    except OSError as exc:
        raise TableError(path, f"cannot read the file: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise TableError(path, f"cannot read the header: {exc}") from None
    if header is None:
        raise TableError(path, "the file is empty (no header row)")
    names = [name.strip() for name in header]
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=header_lines),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (OSError, pa.ArrowException) as exc:
        raise _csv_failure(path, len(names), header_lines, exc) from None


def _csv_failure(path: Path, n_columns: int, header_lines: int, exc: Exception) -> TableError:
    """Turn pyarrow's parse failure into a TableError, naming the row when one is ragged."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            while reader.line_num < header_lines:
                next(reader)
            row = 0
            for fields in reader:
                if not fields:
                    continue
                row += 1
                if len(fields) != n_columns:
                    return TableError(
                        path,
                        f"{len(fields)} fields, but the header has {n_columns} columns",
                        row=row,
                    )
    except UnicodeDecodeError:
        return TableError(path, "the file is not UTF-8 text")
    except (OSError, csv.Error, StopIteration):
        pass
    first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return TableError(path, f"cannot parse the CSV: {first_line}")


def _require_columns(
    path: Path, table: pa.Table, required: Sequence[str], optional: Sequence[str]
) -> None:
    names = table.column_names
    missing = [c for c in required if c not in names]
    if missing:
        s = "s" if len(missing) > 1 else ""
        raise TableError(path, f"missing column{s} " + ", ".join(repr(c) for c in missing))
    for c in (*required, *optional):
        if names.count(c) > 1:
            raise TableError(path, f"duplicate column {c!r}")


# -- typed columns --------------------------------------------------------------------------


def _decoded(table: pa.Table, name: str) -> pa.ChunkedArray:
    col = table.column(name)
    if pa.types.is_dictionary(col.type):
        col = pc.cast(col, col.type.value_type)
    return col


def _is_csv(path: Path) -> bool:
    """CSV cells are text to parse; a Parquet column must have the right type."""
    return path.suffix.lower() == ".csv"


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _float_column(
    path: Path, table: pa.Table, name: str, problems: _Problems, *, empty_is_nan: bool = False
) -> F64:
    """A column as float64; empty cells (and Parquet nulls) are NaN or flagged."""
    col = _decoded(table, name)
    t = col.type
    n = len(col)
    if pa.types.is_null(t):
        empty = np.ones(n, dtype=np.bool_)
        values = np.full(n, np.nan)
    elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        empty = np.asarray(col.is_null(), dtype=np.bool_)
        values = _writable_f64(pc.cast(col, pa.float64()).fill_null(math.nan))
    elif _is_text(t) and _is_csv(path):
        text = pc.utf8_trim_whitespace(col)
        empty_arrow = pc.fill_null(pc.equal(text, ""), True)
        empty = np.asarray(empty_arrow, dtype=np.bool_)
        text = pc.if_else(empty_arrow, "nan", text)
        try:
            values = _writable_f64(pc.cast(text, pa.float64()))
        except pa.ArrowInvalid:
            values = _parse_floats_slowly(name, text.to_pylist(), problems)
    else:
        raise TableError(path, f"expected numbers, got {t}", column=name)
    if not empty_is_nan:
        problems.flag(name, empty, lambda i: "empty cell")
    values[empty] = np.nan
    return values


def _writable_f64(col: pa.ChunkedArray) -> F64:
    """A float64 column as a numpy array of our own (Arrow's buffers are read-only)."""
    return np.asarray(col).astype(np.float64, copy=True)


def _parse_floats_slowly(name: str, texts: list[str], problems: _Problems) -> F64:
    """Python's float() per cell, only after the vectorised parse failed: finds the bad rows."""
    values = np.empty(len(texts))
    bad = np.zeros(len(texts), dtype=np.bool_)
    for i, s in enumerate(texts):
        try:
            if "_" in s:  # float() takes "1_000"; the vectorised parse does not
                raise ValueError(s)
            values[i] = float(s)
        except ValueError:
            values[i] = np.nan
            bad[i] = True
    problems.flag(name, bad, lambda i: f"{_show(texts[i])} is not a number")
    return values


def _text_column(path: Path, table: pa.Table, name: str) -> NDArray[np.str_]:
    """A column as a numpy str array; Parquet nulls read as ''."""
    col = _decoded(table, name)
    n = len(col)
    if pa.types.is_null(col.type):
        return np.full(n, "", dtype=np.str_)
    if not _is_text(col.type):
        raise TableError(path, f"expected text, got {col.type}", column=name)
    values = col.fill_null("").to_numpy()
    return np.asarray(values, dtype=np.str_) if n else np.empty(0, dtype=np.str_)


def _bool_column(path: Path, table: pa.Table, name: str, problems: _Problems) -> NDArray[np.bool_]:
    """A column of true/false; text 'True'/'False'/'1'/'0' (any case) in CSV."""
    col = _decoded(table, name)
    if pa.types.is_boolean(col.type):
        problems.flag(name, np.asarray(col.is_null(), dtype=np.bool_), lambda i: "empty cell")
        return np.asarray(col.fill_null(False), dtype=np.bool_)
    if not (_is_text(col.type) and _is_csv(path)):
        raise TableError(path, f"expected true/false, got {col.type}", column=name)
    raw = col.fill_null("")
    text = pc.utf8_lower(pc.utf8_trim_whitespace(raw))
    true = np.asarray(pc.is_in(text, pa.array(_TRUE_TEXT)), dtype=np.bool_)
    false = np.asarray(pc.is_in(text, pa.array(_FALSE_TEXT)), dtype=np.bool_)

    def describe(i: int) -> str:
        cell = raw[i].as_py()
        return "empty cell" if not cell.strip() else f"{_show(cell)} is not True or False"

    problems.flag(name, ~(true | false), describe)
    return true
