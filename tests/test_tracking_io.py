"""Readers of the sensors and detections tables (trilink.tracking.io).

Round trips go through the writer the rest of trilink uses
(:func:`trilink.tables.write_table`), in both formats; malformed files are
written by hand so that each one has exactly one known defect.
"""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trilink.sensors import NATIONS as SENSOR_NATIONS
from trilink.sensors import get_sensor, sensors_table
from trilink.sensors.detection import (
    DETECTION_COLUMNS,
    DETECTION_TRUTH_COLUMNS,
    SENSOR_COLUMNS,
    DetectionBatch,
)
from trilink.tables import write_table
from trilink.tracking.io import NATIONS, TableError, read_detections, read_sensors

SENSOR_KEYS = ("greenpine-b-chungbuk", "fps5-sado", "tpy2-shariki")
SIGMA_COLUMNS = ("sigma_range_m", "sigma_az_rad", "sigma_el_rad", "sigma_range_rate_mps")
FLOAT_FIELDS = (
    "time_s",
    "range_m",
    "az_rad",
    "el_rad",
    "range_rate_mps",
    "snr_db",
    *SIGMA_COLUMNS,
)
ALL_DETECTION_COLUMNS = (*DETECTION_COLUMNS, *SIGMA_COLUMNS, *DETECTION_TRUTH_COLUMNS)


def _sensors() -> dict[str, np.ndarray]:
    table = sensors_table([get_sensor(k) for k in SENSOR_KEYS])
    table["sigma_range_rate_mps"][1] = np.nan  # one radar without Doppler
    return table


def _batch() -> DetectionBatch:
    ids = [get_sensor(k).sensor_id for k in SENSOR_KEYS]
    return DetectionBatch.from_arrays(
        object_ids=["hs18-warhead", "", "hs18-stage1;hs18-warhead", "hs18-stage1", "x"],
        sensor_id=[ids[0], ids[1], ids[2], ids[0], ids[1]],
        is_false_alarm=np.array([False, True, False, False, False]),
        thrusting=np.array([True, False, False, True, False]),
        time_s=np.array([100.0, 101.5, 101.5, 102.0, 130.25]),
        range_m=np.array([350_123.456, 2.1e6, 987_654.321, 351_000.0, 1.2e6]),
        az_rad=np.array([0.1, 5.9, math.pi, 0.0, 6.283185307179586 - 1e-12]),
        el_rad=np.array([0.05, -0.01, 0.4, math.pi / 2, -math.pi / 2]),
        range_rate_mps=np.array([-1500.25, np.nan, 3000.0, -1499.0, 0.0]),
        snr_db=np.array([13.2, 9.0, 40.5, 13.0, -3.0]),
        sigma_range_m=np.array([25.4, np.nan, 4.5, 30.0, 23.9]),
        sigma_az_rad=np.array([0.0044, np.nan, 0.0016, 0.005, 0.0019]),
        sigma_el_rad=np.array([0.0089, np.nan, 0.0016, 0.01, 0.0019]),
        sigma_range_rate_mps=np.array([1.69, np.nan, 0.15, 2.0, np.nan]),
    )


def _all_columns(batch: DetectionBatch) -> dict[str, np.ndarray]:
    columns = batch.truth_columns()
    columns.update({k: getattr(batch, k) for k in SIGMA_COLUMNS})
    return columns


def _assert_batches_equal(got: DetectionBatch, want: DetectionBatch) -> None:
    assert len(got) == len(want)
    for name in FLOAT_FIELDS:  # exact: CSV floats are written with repr
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    assert got.sensor_id.tolist() == want.sensor_id.tolist()
    assert got.object_ids == want.object_ids
    np.testing.assert_array_equal(got.is_false_alarm, want.is_false_alarm)
    np.testing.assert_array_equal(got.thrusting, want.thrusting)


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_sensors_round_trip(tmp_path: Path, ext: str) -> None:
    table = _sensors()
    path = write_table(tmp_path / f"sensors.{ext}", table, SENSOR_COLUMNS)
    got = read_sensors(path)
    assert tuple(got) == SENSOR_COLUMNS
    for name in SENSOR_COLUMNS:
        np.testing.assert_array_equal(got[name], table[name], err_msg=name)
    assert got["sensor_id"].dtype.kind == "U"
    assert got["lat_deg"].dtype == np.float64
    assert math.isnan(got["sigma_range_rate_mps"][1])


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_detections_round_trip(tmp_path: Path, ext: str) -> None:
    batch = _batch()
    sensor_ids = _sensors()["sensor_id"]
    path = write_table(tmp_path / f"detections.{ext}", _all_columns(batch), ALL_DETECTION_COLUMNS)
    _assert_batches_equal(read_detections(path, sensor_ids), batch)


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_detections_contract_columns_only(tmp_path: Path, ext: str) -> None:
    """The columns DESIGN.md names, as :meth:`DetectionBatch.columns` gives them."""
    batch = _batch()
    path = write_table(tmp_path / f"detections.{ext}", batch.columns(), DETECTION_COLUMNS)
    got = read_detections(path, [get_sensor(k).sensor_id for k in SENSOR_KEYS])
    for name in DETECTION_COLUMNS:
        want = getattr(batch, name)
        np.testing.assert_array_equal(getattr(got, name), want, err_msg=name)
    for name in SIGMA_COLUMNS:
        assert np.isnan(getattr(got, name)).all()
    assert got.object_ids == ("",) * len(batch)
    assert not got.is_false_alarm.any()
    assert not got.thrusting.any()


def test_nations_agree_with_sensor_model() -> None:
    assert NATIONS == SENSOR_NATIONS


# -- malformed files ---------------------------------------------------------------------------

DETECTION_HEADER = ("time_s", "sensor_id", "range_m", "az_rad", "el_rad", "range_rate_mps")
DETECTION_ROWS = (
    ("10.0", "fps5-sado", "900000.0", "4.5", "0.2", "-1200.0"),
    ("11.0", "tpy2-shariki", "800000.0", "4.6", "0.3", ""),
    ("12.0", "fps5-sado", "905000.0", "4.5", "0.21", "nan"),
    ("13.0", "greenpine-b-chungbuk", "300000.0", "0.3", "0.1", "-900.5"),
)
KNOWN_IDS = ("fps5-sado", "greenpine-b-chungbuk", "tpy2-shariki")

SENSOR_HEADER = SENSOR_COLUMNS[:8]
SENSOR_ROWS = (
    ("greenpine-b-chungbuk", "KR", "36.8", "127.5", "250.0", "25.0", "0.0044", "0.0089"),
    ("fps5-sado", "JP", "38.07", "138.4", "150.0", "24.0", "0.0019", "0.0019"),
    ("tpy2-shariki", "US", "40.9", "140.3", "30.0", "4.5", "0.0016", "0.0016"),
)


def _write_csv_text(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> Path:
    lines = [",".join(header), *(",".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _edited(
    header: tuple[str, ...], rows: tuple[tuple[str, ...], ...], edits: dict[tuple[int, str], str]
) -> list[list[str]]:
    """``rows`` with cell (1-based row, column) replaced by each edit."""
    out = [list(r) for r in rows]
    for (row, column), value in edits.items():
        out[row - 1][header.index(column)] = value
    return out


# (table, edits, expected row, expected column, text the problem must contain)
MALFORMED = {
    "nan-range": ("detections", {(2, "range_m"): "nan"}, 2, "range_m", "NaN is not allowed"),
    "empty-el": ("detections", {(3, "el_rad"): ""}, 3, "el_rad", "empty cell"),
    "blank-el": ("detections", {(3, "el_rad"): "  "}, 3, "el_rad", "empty cell"),
    "text-az": ("detections", {(1, "az_rad"): "north"}, 1, "az_rad", "'north' is not a number"),
    "comma-decimal": ("detections", {(4, "time_s"): '"1,5"'}, 4, "time_s", "'1,5' is not a number"),
    "unknown-sensor": (
        "detections",
        {(2, "sensor_id"): "aegis-xx"},
        2,
        "sensor_id",
        "'aegis-xx' is not a known sensor (known: fps5-sado, greenpine-b-chungbuk, tpy2-shariki)",
    ),
    "negative-range": ("detections", {(3, "range_m"): "-5.0"}, 3, "range_m", "-5.0 is not"),
    "zero-range": ("detections", {(1, "range_m"): "0"}, 1, "range_m", "0.0 is not"),
    "elevation-2": ("detections", {(2, "el_rad"): "2.0"}, 2, "el_rad", "2.0 is not within"),
    "negative-time": ("detections", {(4, "time_s"): "-1.0"}, 4, "time_s", "-1.0 is not"),
    "inf-time": ("detections", {(1, "time_s"): "inf"}, 1, "time_s", "inf is not"),
    "inf-range-rate": (
        "detections",
        {(3, "range_rate_mps"): "-inf"},
        3,
        "range_rate_mps",
        "-inf is not finite",
    ),
    "earliest-row-wins": (
        "detections",
        {(4, "range_m"): "x", (3, "el_rad"): "9", (2, "range_rate_mps"): "inf"},
        2,
        "range_rate_mps",
        "inf is not finite",
    ),
    "first-column-wins-on-a-row": (
        "detections",
        {(3, "el_rad"): "9", (3, "range_m"): "-1"},
        3,
        "range_m",
        "-1.0 is not",
    ),
    "nation-xx": ("sensors", {(3, "nation"): "XX"}, 3, "nation", "'XX' is not one of JP, KR, US"),
    "duplicate-id": (
        "sensors",
        {(3, "sensor_id"): "greenpine-b-chungbuk"},
        3,
        "sensor_id",
        "duplicate sensor_id 'greenpine-b-chungbuk' (first on row 1)",
    ),
    "empty-id": ("sensors", {(2, "sensor_id"): ""}, 2, "sensor_id", "sensor_id is empty"),
    "lat-200": ("sensors", {(1, "lat_deg"): "200"}, 1, "lat_deg", "200.0 is not within"),
    "lon-360": ("sensors", {(2, "lon_deg"): "360"}, 2, "lon_deg", "360.0 is not within"),
    "alt-too-high": ("sensors", {(1, "alt_m"): "1e6"}, 1, "alt_m", "1000000.0 is not within"),
    "sigma-0": ("sensors", {(2, "sigma_az_rad"): "0"}, 2, "sigma_az_rad", "0.0 is not"),
    "sigma-nan": ("sensors", {(3, "sigma_range_m"): "NaN"}, 3, "sigma_range_m", "NaN is not"),
}


@pytest.mark.parametrize(
    ("table", "edits", "row", "column", "problem"), MALFORMED.values(), ids=MALFORMED.keys()
)
def test_malformed_cell(
    tmp_path: Path,
    table: str,
    edits: dict[tuple[int, str], str],
    row: int,
    column: str,
    problem: str,
) -> None:
    if table == "detections":
        rows = _edited(DETECTION_HEADER, DETECTION_ROWS, edits)
        path = _write_csv_text(tmp_path / "detections.csv", DETECTION_HEADER, rows)
        with pytest.raises(TableError) as info:
            read_detections(path, KNOWN_IDS)
    else:
        rows = _edited(SENSOR_HEADER, SENSOR_ROWS, edits)
        path = _write_csv_text(tmp_path / "sensors.csv", SENSOR_HEADER, rows)
        with pytest.raises(TableError) as info:
            read_sensors(path)
    err = info.value
    message = str(err)
    assert "\n" not in message
    assert (err.row, err.column) == (row, column)
    assert message.startswith(f"{table}.csv row {row}, column {column}: "), message
    assert problem in err.problem, message
    assert isinstance(err, ValueError)


def test_valid_hand_written_files_read(tmp_path: Path) -> None:
    """The unedited files of the table above are valid (so each case has one defect)."""
    sensors = read_sensors(
        _write_csv_text(tmp_path / "sensors.csv", SENSOR_HEADER, [list(r) for r in SENSOR_ROWS])
    )
    batch = read_detections(
        _write_csv_text(
            tmp_path / "detections.csv", DETECTION_HEADER, [list(r) for r in DETECTION_ROWS]
        ),
        sensors["sensor_id"],
    )
    assert len(batch) == len(DETECTION_ROWS)


@pytest.mark.parametrize(
    ("reader", "header", "missing"),
    [
        ("detections", DETECTION_HEADER, ("el_rad",)),
        ("detections", DETECTION_HEADER, ("time_s", "az_rad")),
        ("sensors", SENSOR_HEADER, ("sigma_el_rad",)),
    ],
)
def test_missing_columns(
    tmp_path: Path, reader: str, header: tuple[str, ...], missing: tuple[str, ...]
) -> None:
    rows = DETECTION_ROWS if reader == "detections" else SENSOR_ROWS
    keep = [i for i, c in enumerate(header) if c not in missing]
    path = _write_csv_text(
        tmp_path / f"{reader}.csv",
        tuple(header[i] for i in keep),
        [[r[i] for i in keep] for r in rows],
    )
    with pytest.raises(TableError) as info:
        if reader == "detections":
            read_detections(path, KNOWN_IDS)
        else:
            read_sensors(path)
    names = ", ".join(repr(c) for c in missing)
    s = "s" if len(missing) > 1 else ""
    assert str(info.value) == f"{reader}.csv: missing column{s} {names}"
    assert info.value.row is None


def test_unknown_sensor_lists_at_most_five_ids(tmp_path: Path) -> None:
    rows = _edited(DETECTION_HEADER, DETECTION_ROWS, {(1, "sensor_id"): "nobody"})
    path = _write_csv_text(tmp_path / "detections.csv", DETECTION_HEADER, rows)
    known = [f"s{i}" for i in range(8)] + list(KNOWN_IDS)
    with pytest.raises(TableError) as info:
        read_detections(path, known)
    message = str(info.value)
    assert "known: fps5-sado, greenpine-b-chungbuk, s0, s1, s2, ... (6 more)" in message
    assert "s3" not in message


def test_ragged_row_names_the_row(tmp_path: Path) -> None:
    rows = [list(r) for r in DETECTION_ROWS]
    rows[2] = rows[2][:4]
    path = _write_csv_text(tmp_path / "detections.csv", DETECTION_HEADER, rows)
    with pytest.raises(TableError) as info:
        read_detections(path, KNOWN_IDS)
    assert info.value.row == 3
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("detections.csv row 3: ")


def test_parquet_column_of_wrong_type(tmp_path: Path) -> None:
    columns = {c: [r[i] for r in DETECTION_ROWS] for i, c in enumerate(DETECTION_HEADER)}
    for c in ("time_s", "az_rad", "el_rad", "range_rate_mps"):
        columns[c] = [float(v) if v else None for v in columns[c]]
    path = tmp_path / "detections.parquet"
    pq.write_table(pa.table(columns), path)  # range_m left as text
    with pytest.raises(TableError) as info:
        read_detections(path, KNOWN_IDS)
    assert info.value.column == "range_m"
    assert str(info.value) == "detections.parquet, column range_m: expected numbers, got string"


def test_parquet_null_in_required_column(tmp_path: Path) -> None:
    columns = {c: [r[i] for r in DETECTION_ROWS] for i, c in enumerate(DETECTION_HEADER)}
    for c in ("time_s", "range_m", "az_rad", "el_rad", "range_rate_mps"):
        columns[c] = [float(v) if v else None for v in columns[c]]
    columns["az_rad"][2] = None
    path = tmp_path / "detections.parquet"
    pq.write_table(pa.table(columns), path)
    with pytest.raises(TableError) as info:
        read_detections(path, KNOWN_IDS)
    assert str(info.value) == "detections.parquet row 3, column az_rad: empty cell"


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TableError, match=r"^detections\.txt: unknown table format '\.txt'"):
        read_detections(tmp_path / "detections.txt", KNOWN_IDS)
    with pytest.raises(TableError, match=r"^sensors\.csv: cannot read the file"):
        read_sensors(tmp_path / "sensors.csv")


def test_error_survives_pickling(tmp_path: Path) -> None:
    err = TableError(tmp_path / "detections.csv", "NaN is not allowed", row=17, column="range_m")
    assert str(err) == "detections.csv row 17, column range_m: NaN is not allowed"
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.row, copy.column, copy.problem, str(copy)) == (
        17,
        "range_m",
        "NaN is not allowed",
        str(err),
    )


# -- behaviour on valid files -------------------------------------------------------------------


def test_unordered_rows_come_back_sorted(tmp_path: Path) -> None:
    rows = [
        ["30.0", "fps5-sado", "1000.0", "0.3", "0.1", "1.0"],
        ["10.0", "fps5-sado", "1001.0", "0.1", "0.1", "2.0"],
        ["20.0", "tpy2-shariki", "1002.0", "0.2", "0.1", "3.0"],
        ["10.0", "tpy2-shariki", "1003.0", "0.4", "0.1", "4.0"],
    ]
    path = _write_csv_text(tmp_path / "detections.csv", DETECTION_HEADER, rows)
    batch = read_detections(path, KNOWN_IDS)
    np.testing.assert_array_equal(batch.time_s, [10.0, 10.0, 20.0, 30.0])
    # stable: the two detections at 10 s keep their file order
    np.testing.assert_array_equal(batch.range_m, [1001.0, 1003.0, 1002.0, 1000.0])
    np.testing.assert_array_equal(batch.range_rate_mps, [2.0, 4.0, 3.0, 1.0])
    assert batch.sensor_id.tolist() == ["fps5-sado", "tpy2-shariki", "tpy2-shariki", "fps5-sado"]


def test_azimuth_wraps_into_zero_two_pi(tmp_path: Path) -> None:
    two_pi = 2.0 * math.pi
    az = [-0.1, 7.0, two_pi, -1e-300, 0.0, -3.0 * two_pi - 0.5]
    want = [two_pi - 0.1, 7.0 - two_pi, 0.0, 0.0, 0.0, two_pi - 0.5]
    rows = [[f"{i}.0", "fps5-sado", "1000.0", repr(a), "0.1", ""] for i, a in enumerate(az)]
    path = _write_csv_text(tmp_path / "detections.csv", DETECTION_HEADER, rows)
    batch = read_detections(path, KNOWN_IDS)
    assert ((batch.az_rad >= 0.0) & (batch.az_rad < two_pi)).all()
    np.testing.assert_allclose(batch.az_rad, want, rtol=0.0, atol=1e-12)


def test_longitude_normalised(tmp_path: Path) -> None:
    rows = _edited(
        SENSOR_HEADER,
        SENSOR_ROWS,
        {(1, "lon_deg"): "190.0", (2, "lon_deg"): "-180", (3, "lon_deg"): "180"},
    )
    path = _write_csv_text(tmp_path / "sensors.csv", SENSOR_HEADER, rows)
    np.testing.assert_array_equal(read_sensors(path)["lon_deg"], [-170.0, 180.0, 180.0])


def test_optional_columns_defaulted(tmp_path: Path) -> None:
    header = DETECTION_HEADER[:5]
    rows = [list(r[:5]) for r in DETECTION_ROWS]
    batch = read_detections(_write_csv_text(tmp_path / "detections.csv", header, rows), KNOWN_IDS)
    assert len(batch) == len(rows)
    for name in ("range_rate_mps", "snr_db", *SIGMA_COLUMNS):
        assert np.isnan(getattr(batch, name)).all(), name
    assert batch.object_ids == ("",) * len(rows)
    assert batch.is_false_alarm.dtype == np.bool_
    assert not batch.is_false_alarm.any()
    assert not batch.thrusting.any()

    sensors = read_sensors(
        _write_csv_text(tmp_path / "sensors.csv", SENSOR_HEADER, [list(r) for r in SENSOR_ROWS])
    )
    assert tuple(sensors) == SENSOR_COLUMNS
    assert np.isnan(sensors["sigma_range_rate_mps"]).all()


def test_empty_range_rate_cell_is_not_measured(tmp_path: Path) -> None:
    path = _write_csv_text(
        tmp_path / "detections.csv", DETECTION_HEADER, [list(r) for r in DETECTION_ROWS]
    )
    batch = read_detections(path, KNOWN_IDS)
    np.testing.assert_array_equal(batch.range_rate_mps, [-1200.0, np.nan, np.nan, -900.5])


def test_extra_columns_ignored_and_bool_text(tmp_path: Path) -> None:
    header = (*DETECTION_HEADER, "comment", "is_false_alarm", "thrusting")
    flags = [("x", "true", "0"), ("y", "FALSE", "1"), ("", "1", "False"), ("z", "0", "TRUE")]
    rows = [[*r, *f] for r, f in zip(DETECTION_ROWS, flags, strict=True)]
    batch = read_detections(_write_csv_text(tmp_path / "detections.csv", header, rows), KNOWN_IDS)
    np.testing.assert_array_equal(batch.is_false_alarm, [True, False, True, False])
    np.testing.assert_array_equal(batch.thrusting, [False, True, False, True])


def test_bad_bool_names_row_and_column(tmp_path: Path) -> None:
    header = (*DETECTION_HEADER, "thrusting")
    rows = [[*r, "False"] for r in DETECTION_ROWS]
    rows[1][-1] = "maybe"
    path = _write_csv_text(tmp_path / "detections.csv", header, rows)
    with pytest.raises(TableError) as info:
        read_detections(path, KNOWN_IDS)
    assert str(info.value) == "detections.csv row 2, column thrusting: 'maybe' is not True or False"


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_header_only(tmp_path: Path, ext: str) -> None:
    empty = DetectionBatch.empty()
    path = write_table(tmp_path / f"detections.{ext}", _all_columns(empty), ALL_DETECTION_COLUMNS)
    batch = read_detections(path, KNOWN_IDS)
    assert len(batch) == 0
    assert batch.sensor_id.shape == (0,)

    no_sensors = {c: np.asarray(v)[:0] for c, v in _sensors().items()}
    path = write_table(tmp_path / f"sensors.{ext}", no_sensors, SENSOR_COLUMNS)
    with pytest.raises(TableError, match=rf"^sensors\.{ext}: no sensors"):
        read_sensors(path)
