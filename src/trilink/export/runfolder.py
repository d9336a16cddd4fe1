"""A run's output folder, read back: what every export and the replay start from.

``trilink run --out DIR`` writes (see ``trilink.sim.run``): ``run.json`` (scenario,
UTC epoch, seed, launches), ``sensors.csv``, ``truth.csv``, ``system_tracks.csv``
(the hub's fused picture), ``tracks_{JP,KR,US}.csv`` (each nation's own tracks),
``alerts.jsonl`` (alert decisions), ``alerts/*.xml`` (CAP 1.2) and ``events.jsonl``.
Times in the tables are seconds since ``epoch_utc``. Tables may also be Parquet.

:func:`read_run` checks what it needs and names the file and the field when
something is missing or malformed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trilink.sim.run import RUN_MANIFEST_VERSION

STATE_COLUMNS = (
    "time_s",
    "x_ecef_m",
    "y_ecef_m",
    "z_ecef_m",
    "vx_ecef_mps",
    "vy_ecef_mps",
    "vz_ecef_mps",
)
SENSOR_COLUMNS = ("sensor_id", "nation", "lat_deg", "lon_deg", "alt_m")


class RunFolderError(ValueError):
    """A run folder that cannot be read: names the file and the field."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True, kw_only=True)
class RunFolder:
    """A run's outputs. Tables are pandas frames; absent optional tables are None."""

    path: Path
    manifest: dict[str, Any]
    epoch_utc: dt.datetime
    sensors: pd.DataFrame
    system_tracks: pd.DataFrame | None
    """The hub's fused picture: ``global_track_number``, state, covariance, ``kind``,
    ``contributors``, impact columns (``impact_lat_deg`` ... ``impact_orientation_deg``)."""
    national_tracks: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Each nation's own confirmed tracks (``track_id``, state, covariance, ``kind``)."""
    truth: pd.DataFrame | None = None
    alerts: tuple[dict[str, Any], ...] = ()
    """Alert decisions from ``alerts.jsonl`` (``t_s``, ``action``, ``regions`` ...)."""
    partner: str | None = None
    """Set on a partner's view (:func:`trilink.export.partner.partner_view`): the tables
    hold only what that nation may see, and :meth:`events` (the whole run's log) is
    refused."""

    @property
    def scenario(self) -> str:
        return str(self.manifest["scenario"])

    def utc(self, time_s: float) -> dt.datetime:
        """The UTC instant of a time in seconds since the scenario epoch."""
        return self.epoch_utc + dt.timedelta(seconds=float(time_s))

    def events(self) -> Iterator[dict[str, Any]]:
        """``events.jsonl``, one dict per line, in time order (as written). Refused on a
        partner's view: the log is the whole run's, not what the partner saw."""
        p = self.path / "events.jsonl"
        if self.partner is not None:
            raise RunFolderError(
                p, f"not readable from {self.partner}'s view (it holds the whole run's events)"
            )
        if not p.exists():
            raise RunFolderError(p, "missing (the run was made without the link)")
        with p.open() as fh:
            for n, line in enumerate(fh, 1):
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise RunFolderError(p, f"line {n}: not JSON ({exc.msg})") from None


def read_run(path: str | Path) -> RunFolder:
    """Read a run folder written by ``trilink run --out``."""
    root = Path(path)
    if not root.is_dir():
        raise RunFolderError(root, "not a folder (give the --out folder of `trilink run`)")
    manifest = _manifest(root / "run.json")
    sensors = _table(root, "sensors", SENSOR_COLUMNS, required=True)
    assert sensors is not None
    system = _table(root, "system_tracks", (*STATE_COLUMNS, "global_track_number"))
    national: dict[str, pd.DataFrame] = {}
    for nation in sorted(set(sensors["nation"].astype(str))):
        t = _table(root, f"tracks_{nation}", (*STATE_COLUMNS, "track_id"))
        if t is not None:
            national[nation] = t
    truth = _table(root, "truth", (*STATE_COLUMNS, "object_id"))
    return RunFolder(
        path=root,
        manifest=manifest,
        epoch_utc=_epoch(root / "run.json", manifest),
        sensors=sensors,
        system_tracks=system,
        national_tracks=national,
        truth=truth,
        alerts=_alerts(root / "alerts.jsonl"),
    )


def _manifest(p: Path) -> dict[str, Any]:
    if not p.exists():
        raise RunFolderError(p, "missing: not a run folder (made by `trilink run --out`)")
    try:
        m = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise RunFolderError(p, f"not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(m, dict):
        raise RunFolderError(p, "must be a JSON object")
    for key in ("manifest_version", "scenario", "epoch_utc"):
        if key not in m:
            raise RunFolderError(p, f"field {key!r} missing")
    if m["manifest_version"] != RUN_MANIFEST_VERSION:
        raise RunFolderError(
            p,
            f"field 'manifest_version' is {m['manifest_version']!r}; this trilink reads "
            f"{RUN_MANIFEST_VERSION}",
        )
    return m


def _epoch(p: Path, m: dict[str, Any]) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(str(m["epoch_utc"]))
    except ValueError:
        raise RunFolderError(
            p, f"field 'epoch_utc' is not an ISO time: {m['epoch_utc']!r}"
        ) from None
    if t.tzinfo is None:
        raise RunFolderError(p, "field 'epoch_utc' needs a UTC offset")
    return t.astimezone(dt.UTC)


def _table(
    root: Path, stem: str, columns: tuple[str, ...], *, required: bool = False
) -> pd.DataFrame | None:
    for ext in (".csv", ".parquet"):
        p = root / f"{stem}{ext}"
        if p.exists():
            break
    else:
        if required:
            raise RunFolderError(root / f"{stem}.csv", "missing")
        return None
    try:
        df = pd.read_csv(p) if p.suffix == ".csv" else pd.read_parquet(p)
    except Exception as exc:  # pandas raises many types; one clear line instead
        raise RunFolderError(p, f"unreadable ({type(exc).__name__}: {exc})") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise RunFolderError(p, f"column(s) {', '.join(missing)} missing")
    return df


def _alerts(p: Path) -> tuple[dict[str, Any], ...]:
    if not p.exists():
        return ()
    out = []
    for n, line in enumerate(p.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RunFolderError(p, f"line {n}: not JSON ({exc.msg})") from None
        for key in ("t_s", "action"):
            if key not in d:
                raise RunFolderError(p, f"line {n}: field {key!r} missing")
        out.append(d)
    return tuple(out)
