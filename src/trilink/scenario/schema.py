"""Scenario files: the TOML schema, strict decoding, and errors that name the field.

A scenario is a TOML file::

    [scenario]
    name = "hwasong18-2023-04-13"
    epoch_utc = 2023-04-12T22:22:00Z     # TOML datetime, must carry an offset
    duration_s = 4800.0
    seed = 20230413

    [[threats]]
    id = "T1"
    missile = "hwasong-18"                # catalogue key (`trilink fly --help`)
    site = "samsok"                       # or lat_deg / lon_deg (/ alt_m)
    launch_time_s = 0.0                   # after the epoch
    azimuth_deg = 76.0
    trajectory = "lofted"                 # minimum-energy | lofted | depressed
    apogee_km = 2800.0                    # optional: with range_km, solved for
    range_km = 1000.0
    debris = 20                           # fragments at RV separation
    [threats.steering]                    # optional: explicit guidance instead
    pitch_first_deg = 60.0

    [[sensors]]                           # optional; absent: the whole catalogue
    name = "tpy2-shariki"                 # catalogue key, or a custom radar

Every error is one line naming the file, the field and the problem (see
:class:`ScenarioError`).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from trilink.sensors.spec import SensorSpec, build_sensors
from trilink.threats.catalogue import MISSILES
from trilink.threats.sites import SITES


class ScenarioError(ValueError):
    """A scenario file is invalid. ``str(err)`` is one line: ``source: field: problem``."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        super().__init__(f"{source}: {field}: {problem}")


class SteeringSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Explicit open-loop guidance (see :class:`trilink.threats.Steering`)."""

    pitch_first_deg: Annotated[float, Meta(gt=0.0, le=90.0)]
    pitch_upper_deg: Annotated[float, Meta(gt=-90.0, le=90.0)] | None = None
    yaw_start_s: Annotated[float, Meta(ge=0.0, le=86_400.0)] = 0.0
    yaw_end_s: Annotated[float, Meta(ge=0.0, le=86_400.0)] = 0.0
    yaw_delta_deg: Annotated[float, Meta(ge=-180.0, le=180.0)] = 0.0
    burn_fraction_last: Annotated[float, Meta(gt=0.0, le=1.0)] = 1.0


class ThreatSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """One launch in a scenario."""

    id: Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
    missile: str
    azimuth_deg: Annotated[float, Meta(ge=-360.0, le=360.0)]
    site: str | None = None
    lat_deg: Annotated[float, Meta(ge=-90.0, le=90.0)] | None = None
    lon_deg: Annotated[float, Meta(ge=-180.0, le=360.0)] | None = None
    alt_m: Annotated[float, Meta(ge=-500.0, le=9_000.0)] = 0.0
    launch_time_s: Annotated[float, Meta(ge=0.0, le=86_400.0)] = 0.0
    trajectory: Literal["minimum-energy", "lofted", "depressed"] | None = None
    apogee_km: Annotated[float, Meta(gt=0.0, le=50_000.0)] | None = None
    range_km: Annotated[float, Meta(gt=0.0, le=20_100.0)] | None = None
    steering: SteeringSpec | None = None
    rv_mass_kg: Annotated[float, Meta(gt=0.0, le=100_000.0)] | None = None
    """RV mass flown (default: the catalogue's nominal payload)."""
    debris: Annotated[int, Meta(ge=0, le=1_000)] = 0
    debris_dv_sigma_mps: Annotated[float, Meta(gt=0.0, le=500.0)] = 15.0


class ScenarioHeader(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The ``[scenario]`` table."""

    name: Annotated[str, Meta(min_length=1, max_length=80)]
    epoch_utc: dt.datetime
    duration_s: Annotated[float, Meta(gt=0.0, le=86_400.0)]
    seed: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    description: str = ""
    truth_step_s: Annotated[float, Meta(gt=0.0, le=600.0)] = 1.0
    references: list[str] = []


class ScenarioFile(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A whole scenario file."""

    scenario: ScenarioHeader
    threats: Annotated[list[ThreatSpec], Meta(min_length=1)]
    sensors: list[SensorSpec] | None = None
    """Sensors (catalogue names or custom radars; see :mod:`trilink.sensors.spec`).
    Absent: the whole sensor catalogue."""
    reported: dict[str, dict[str, float]] = {}
    """Published figures the scenario reproduces (free-form, for tests and reports)."""


_PATH_RE = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$")


def _field_from_msgspec(msg: str) -> tuple[str, str]:
    m = _PATH_RE.match(msg)
    assert m is not None
    path = (m.group("path") or "").lstrip(".") or "(file)"
    problem = m.group("msg")
    problem = problem.replace("Object missing required field", "missing required field")
    unknown = re.search(r"unknown field `([^`]*)`", problem)
    if unknown:
        path = unknown.group(1) if path == "(file)" else f"{path}.{unknown.group(1)}"
        problem = "unknown field"
    return path, problem


def parse_scenario(text: str | bytes, source: str = "<scenario>") -> ScenarioFile:
    """Decode and validate a scenario from TOML text; raise :class:`ScenarioError`."""
    try:
        spec = msgspec.toml.decode(text, type=ScenarioFile)
    except msgspec.ValidationError as exc:
        path, problem = _field_from_msgspec(str(exc))
        if problem.startswith("missing required field"):
            name = problem.split("`")[1] if "`" in problem else ""
            path = f"{path}.{name}" if path != "(file)" else name
            problem = "missing required field"
        raise ScenarioError(source, path, problem) from None
    except msgspec.DecodeError as exc:
        raise ScenarioError(source, "(file)", f"not valid TOML: {exc}") from None
    _check(spec, source)
    return spec


def load_scenario(path: str | Path) -> ScenarioFile:
    """Read and validate a scenario file; raise :class:`ScenarioError`."""
    p = Path(path)
    try:
        text = p.read_bytes()
    except OSError as exc:
        raise ScenarioError(str(p), "(file)", f"cannot read: {exc.strerror}") from None
    return parse_scenario(text, str(p))


def _check(spec: ScenarioFile, source: str) -> None:
    """Cross-field checks msgspec cannot express."""
    if spec.sensors is not None:
        try:
            build_sensors(spec.sensors, "sensors")
        except ValueError as exc:
            field, _, problem = str(exc).partition(": ")
            raise ScenarioError(source, field, problem) from None
    if spec.scenario.epoch_utc.tzinfo is None:
        raise ScenarioError(
            source, "scenario.epoch_utc", "needs a UTC offset (e.g. 2023-04-12T22:22:00Z)"
        )
    seen: set[str] = set()
    for i, t in enumerate(spec.threats):
        where = f"threats[{i}]"
        if t.id in seen:
            raise ScenarioError(source, f"{where}.id", f"duplicate threat id {t.id!r}")
        seen.add(t.id)
        if t.missile.lower() not in MISSILES:
            raise ScenarioError(
                source,
                f"{where}.missile",
                f"unknown missile {t.missile!r} (known: {', '.join(sorted(MISSILES))})",
            )
        has_coords = t.lat_deg is not None or t.lon_deg is not None
        if t.site is not None and has_coords:
            raise ScenarioError(source, f"{where}.site", "give either site or lat_deg/lon_deg")
        if t.site is None and not (t.lat_deg is not None and t.lon_deg is not None):
            raise ScenarioError(
                source, f"{where}.site", "missing: give a site name or both lat_deg and lon_deg"
            )
        if t.site is not None and t.site.lower() not in SITES:
            raise ScenarioError(
                source,
                f"{where}.site",
                f"unknown launch site {t.site!r} (known: {', '.join(sorted(SITES))})",
            )
        if t.steering is not None and (
            t.trajectory is not None or t.apogee_km is not None or t.range_km is not None
        ):
            raise ScenarioError(
                source,
                f"{where}.steering",
                "explicit steering excludes trajectory / apogee_km / range_km",
            )
        if t.apogee_km is not None and t.range_km is None:
            raise ScenarioError(source, f"{where}.range_km", "apogee_km needs range_km too")
        if t.steering is None and t.trajectory is None and t.range_km is None:
            raise ScenarioError(
                source,
                f"{where}.trajectory",
                "missing: give trajectory, range_km (with apogee_km) or steering",
            )
        if t.steering is not None and t.steering.yaw_end_s < t.steering.yaw_start_s:
            raise ScenarioError(
                source, f"{where}.steering.yaw_end_s", "must not be before yaw_start_s"
            )
        if t.launch_time_s >= spec.scenario.duration_s:
            raise ScenarioError(
                source, f"{where}.launch_time_s", "is after the end of the scenario (duration_s)"
            )
