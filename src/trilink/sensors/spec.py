"""Sensor definitions in scenario files, checked into one-line errors that name the field.

A scenario lists its sensors as tables; each is either a catalogue radar, with
optional overrides, or a custom radar::

    [[sensors]]
    name = "tpy2-shariki"               # catalogue key (trilink.sensors.catalogue)
    revisit_s = 2.0                     # any field below overrides the catalogue value

    [[sensors]]                         # a custom radar: no name
    sensor_id = "gp-test"
    nation = "KR"
    lat_deg = 36.9
    lon_deg = 127.6
    alt_m = 300.0
    instrumented_range_km = 600.0
    faces = [{ boresight_az_deg = 330.0, half_fov_az_deg = 60.0, half_fov_el_deg = 90.0 }]
    # or: rotating = { boresight_el_deg = 20.0, half_fov_el_deg = 25.0 }

Units at this edge are degrees, km and mrad as the field names say; the
radar model itself is SI. :func:`decode_sensor_specs` turns decoded TOML (a
list of dicts) into :class:`SensorSpec` structs and :func:`build_sensors` into
:class:`~trilink.sensors.radar.Radar` objects; every problem is a
``ValueError`` whose message is one line, ``<prefix>[i].<field>: <problem>``,
e.g. ``sensors[2].instrumented_range_km: must be positive, got -5``.

Defaults of a custom radar (documented values, tested): ``alt_m`` 0,
``min_elevation_deg`` 0, ``max_elevation_deg`` 90, ``revisit_s`` 1,
``scan_offset_s`` 0, ``pfa`` 1e-8, ``rcs_ref_m2`` 0.1, ``range_ref_km`` = the
instrumented range, ``snr_ref_db`` = Pd 0.5 at the reference (Swerling 1),
``beamwidth_az_deg`` = ``beamwidth_el_deg`` = 1, ``range_resolution_m`` 150,
no range rate, floors ``sigma_range_floor_m`` 5, ``sigma_angle_floor_mrad``
0.1, ``sigma_range_rate_floor_mps`` 0.5.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import msgspec

from trilink.sensors.catalogue import SENSORS
from trilink.sensors.radar import NATIONS, Face, Radar, RotatingFace, snr_for_pd

__all__ = [
    "FaceSpec",
    "RotatingSpec",
    "SensorSpec",
    "build_sensor",
    "build_sensors",
    "decode_sensor_specs",
]

CUSTOM_DEFAULTS: dict[str, Any] = {
    "alt_m": 0.0,
    "min_elevation_deg": 0.0,
    "max_elevation_deg": 90.0,
    "revisit_s": 1.0,
    "scan_offset_s": 0.0,
    "pfa": 1e-8,
    "rcs_ref_m2": 0.1,
    "beamwidth_az_deg": 1.0,
    "beamwidth_el_deg": 1.0,
    "range_resolution_m": 150.0,
    "sigma_range_floor_m": 5.0,
    "sigma_angle_floor_mrad": 0.1,
    "sigma_range_rate_floor_mps": 0.5,
}
"""Values a custom sensor takes for the fields it leaves out (module docstring)."""

_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,48}$")


class FaceSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A fixed face (see :class:`trilink.sensors.radar.Face`), degrees."""

    boresight_az_deg: float
    half_fov_az_deg: float
    half_fov_el_deg: float
    boresight_el_deg: float = 0.0


class RotatingSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A rotating face (see :class:`trilink.sensors.radar.RotatingFace`), degrees."""

    half_fov_el_deg: float
    boresight_el_deg: float = 0.0
    start_az_deg: float = 0.0


class SensorSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """One sensor of a scenario: a catalogue ``name`` (with overrides) or a custom radar.

    Every field but ``name`` is optional for a catalogue radar (given: it
    overrides the catalogue); a custom radar needs ``sensor_id``, ``nation``,
    ``lat_deg``, ``lon_deg``, ``instrumented_range_km`` and ``faces`` or
    ``rotating``. Values are checked by :func:`build_sensor`, not here, so that
    every error reads the same.
    """

    name: str | None = None
    sensor_id: str | None = None
    nation: str | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None
    alt_m: float | None = None
    faces: list[FaceSpec] | None = None
    rotating: RotatingSpec | None = None
    instrumented_range_km: float | None = None
    min_elevation_deg: float | None = None
    max_elevation_deg: float | None = None
    revisit_s: float | None = None
    scan_offset_s: float | None = None
    snr_ref_db: float | None = None
    rcs_ref_m2: float | None = None
    range_ref_km: float | None = None
    pfa: float | None = None
    beamwidth_az_deg: float | None = None
    beamwidth_el_deg: float | None = None
    range_resolution_m: float | None = None
    range_rate_resolution_mps: float | None = None
    sigma_range_floor_m: float | None = None
    sigma_angle_floor_mrad: float | None = None
    sigma_range_rate_floor_mps: float | None = None


_SCALARS = tuple(f for f in SensorSpec.__struct_fields__ if f not in ("name", "faces", "rotating"))


def _fmt(v: object) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v) if isinstance(v, str) else str(v)


class _Checker:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, field: str, problem: str, value: object = None, show: bool = True) -> None:
        got = f", got {_fmt(value)}" if show else ""
        raise ValueError(f"{self.where}.{field}: {problem}{got}")

    def number(self, field: str, v: object) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            self.fail(field, "must be a finite number", v)
        return float(v)  # type: ignore[arg-type]

    def positive(self, field: str, v: object) -> float:
        x = self.number(field, v)
        if not x > 0.0:
            self.fail(field, "must be positive", v)
        return x

    def non_negative(self, field: str, v: object) -> float:
        x = self.number(field, v)
        if x < 0.0:
            self.fail(field, "must be >= 0", v)
        return x

    def within(self, field: str, v: object, lo: float, hi: float, lo_open: bool = False) -> float:
        x = self.number(field, v)
        if x > hi or x < lo or (lo_open and x == lo):
            left = "(" if lo_open else "["
            self.fail(field, f"must be in {left}{_fmt(lo)}, {_fmt(hi)}]", v)
        return x


def _catalogue_fields(radar: Radar) -> dict[str, Any]:
    """A catalogue radar in the spec's field names and units."""
    d = math.degrees
    faces = radar.faces
    out: dict[str, Any] = {
        "sensor_id": radar.sensor_id,
        "nation": radar.nation,
        "lat_deg": d(radar.lat_rad),
        "lon_deg": d(radar.lon_rad),
        "alt_m": radar.alt_m,
        "instrumented_range_km": radar.instrumented_range_m / 1e3,
        "min_elevation_deg": d(radar.min_elevation_rad),
        "max_elevation_deg": d(radar.max_elevation_rad),
        "revisit_s": radar.revisit_s,
        "scan_offset_s": radar.scan_offset_s,
        "snr_ref_db": radar.snr_ref_db,
        "rcs_ref_m2": radar.rcs_ref_m2,
        "range_ref_km": radar.range_ref_m / 1e3,
        "pfa": radar.pfa,
        "beamwidth_az_deg": d(radar.beamwidth_az_rad),
        "beamwidth_el_deg": d(radar.beamwidth_el_rad),
        "range_resolution_m": radar.range_resolution_m,
        "range_rate_resolution_mps": radar.range_rate_resolution_mps,
        "sigma_range_floor_m": radar.sigma_range_floor_m,
        "sigma_angle_floor_mrad": radar.sigma_angle_floor_rad * 1e3,
        "sigma_range_rate_floor_mps": radar.sigma_range_rate_floor_mps,
        "faces": None,
        "rotating": None,
    }
    if isinstance(faces, RotatingFace):
        out["rotating"] = RotatingSpec(
            half_fov_el_deg=d(faces.half_fov_el_rad),
            boresight_el_deg=d(faces.boresight_el_rad),
            start_az_deg=d(faces.start_az_rad),
        )
    else:
        out["faces"] = [
            FaceSpec(
                boresight_az_deg=d(f.boresight_az_rad),
                boresight_el_deg=d(f.boresight_el_rad),
                half_fov_az_deg=d(f.half_fov_az_rad),
                half_fov_el_deg=d(f.half_fov_el_rad),
            )
            for f in faces
        ]
    return out


def build_sensor(spec: SensorSpec, where: str) -> Radar:
    """The radar a spec describes; ValueError ``"<where>.<field>: <problem>"`` (one line).

    Args:
        spec: the decoded sensor definition.
        where: how the caller names this entry, e.g. ``"sensors[2]"``.
    """
    c = _Checker(where)
    given = {f: getattr(spec, f) for f in (*_SCALARS, "faces", "rotating")}
    given = {k: v for k, v in given.items() if v is not None}
    if spec.name is not None:
        if spec.name not in SENSORS:
            c.fail(
                "name",
                f"unknown catalogue sensor {spec.name!r}; known: {', '.join(SENSORS)}",
                show=False,
            )
        fields = _catalogue_fields(SENSORS[spec.name].radar)
        if "faces" in given or "rotating" in given:
            fields["faces"] = fields["rotating"] = None
        if "snr_ref_db" not in given and {"pfa", "range_ref_km", "rcs_ref_m2"} & set(given):
            fields["snr_ref_db"] = None  # recomputed from the new operating point
        fields.update(given)
    else:
        for req in ("sensor_id", "nation", "lat_deg", "lon_deg", "instrumented_range_km"):
            if req not in given:
                c.fail(req, "required for a custom sensor (no catalogue name)", show=False)
        fields = {**CUSTOM_DEFAULTS, "snr_ref_db": None, "range_rate_resolution_mps": None}
        fields.update(given)
    return _build(fields, c)


def _build(f: dict[str, Any], c: _Checker) -> Radar:
    sid = f["sensor_id"]
    if not isinstance(sid, str) or not _ID_PATTERN.match(sid):
        c.fail("sensor_id", "must be 1-48 characters from A-Z a-z 0-9 _ . -", sid)
    if f["nation"] not in NATIONS:
        c.fail("nation", f"must be one of {', '.join(NATIONS)}", f["nation"])
    lat = c.within("lat_deg", f["lat_deg"], -90.0, 90.0)
    lon = c.within("lon_deg", f["lon_deg"], -180.0, 360.0)
    alt = c.within("alt_m", f.get("alt_m", 0.0), -500.0, 100_000.0)
    rng_km = c.positive("instrumented_range_km", f["instrumented_range_km"])
    el_min = c.within("min_elevation_deg", f["min_elevation_deg"], -90.0, 90.0)
    el_max = c.within("max_elevation_deg", f["max_elevation_deg"], -90.0, 90.0)
    if not el_max > el_min:
        c.fail(
            "max_elevation_deg",
            f"must be greater than min_elevation_deg ({_fmt(el_min)}): limits reversed",
            el_max,
        )
    revisit = c.positive("revisit_s", f["revisit_s"])
    offset = c.non_negative("scan_offset_s", f["scan_offset_s"])
    pfa = c.within("pfa", f["pfa"], 0.0, 0.01, lo_open=True)
    rcs = c.positive("rcs_ref_m2", f["rcs_ref_m2"])
    ref_km = f.get("range_ref_km")
    ref_km = rng_km if ref_km is None else c.positive("range_ref_km", ref_km)
    snr_db = f.get("snr_ref_db")
    if snr_db is None:
        snr_db = 10.0 * math.log10(snr_for_pd(0.5, pfa))
    else:
        snr_db = c.within("snr_ref_db", snr_db, -50.0, 100.0)
    bw_az = c.within("beamwidth_az_deg", f["beamwidth_az_deg"], 0.0, 45.0, lo_open=True)
    bw_el = c.within("beamwidth_el_deg", f["beamwidth_el_deg"], 0.0, 45.0, lo_open=True)
    res = c.positive("range_resolution_m", f["range_resolution_m"])
    rr = f.get("range_rate_resolution_mps")
    if rr is not None:
        rr = c.positive("range_rate_resolution_mps", rr)
    floor_r = c.non_negative("sigma_range_floor_m", f["sigma_range_floor_m"])
    floor_a = c.non_negative("sigma_angle_floor_mrad", f["sigma_angle_floor_mrad"])
    floor_rr = c.non_negative("sigma_range_rate_floor_mps", f["sigma_range_rate_floor_mps"])

    faces: tuple[Face, ...] | RotatingFace
    if f.get("faces") is not None and f.get("rotating") is not None:
        c.fail("faces", "give either faces or rotating, not both", show=False)
    if f.get("rotating") is not None:
        ro: RotatingSpec = f["rotating"]
        half = c.within("rotating.half_fov_el_deg", ro.half_fov_el_deg, 0.0, 90.0, lo_open=True)
        bore = c.within("rotating.boresight_el_deg", ro.boresight_el_deg, -90.0, 90.0)
        start = c.number("rotating.start_az_deg", ro.start_az_deg)
        faces = RotatingFace(
            boresight_el_rad=math.radians(bore),
            half_fov_el_rad=math.radians(half),
            start_az_rad=math.radians(start),
        )
    else:
        specs = f.get("faces")
        if not specs:
            c.fail("faces", "a custom sensor needs at least one face (or rotating)", show=False)
        built = []
        for i, fs in enumerate(specs):
            p = f"faces[{i}]"
            az = c.number(f"{p}.boresight_az_deg", fs.boresight_az_deg)
            el = c.within(f"{p}.boresight_el_deg", fs.boresight_el_deg, -90.0, 90.0)
            h_az = c.within(f"{p}.half_fov_az_deg", fs.half_fov_az_deg, 0.0, 180.0, lo_open=True)
            h_el = c.within(f"{p}.half_fov_el_deg", fs.half_fov_el_deg, 0.0, 90.0, lo_open=True)
            built.append(
                Face(
                    boresight_az_rad=math.radians(az),
                    boresight_el_rad=math.radians(el),
                    half_fov_az_rad=math.radians(h_az),
                    half_fov_el_rad=math.radians(h_el),
                )
            )
        faces = tuple(built)
    return Radar(
        sensor_id=sid,
        nation=f["nation"],
        lat_rad=math.radians(lat),
        lon_rad=math.radians(lon),
        alt_m=alt,
        faces=faces,
        instrumented_range_m=rng_km * 1e3,
        min_elevation_rad=math.radians(el_min),
        max_elevation_rad=math.radians(el_max),
        revisit_s=revisit,
        scan_offset_s=offset,
        snr_ref_db=snr_db,
        rcs_ref_m2=rcs,
        range_ref_m=ref_km * 1e3,
        pfa=pfa,
        beamwidth_az_rad=math.radians(bw_az),
        beamwidth_el_rad=math.radians(bw_el),
        range_resolution_m=res,
        range_rate_resolution_mps=rr,
        sigma_range_floor_m=floor_r,
        sigma_angle_floor_rad=floor_a * 1e-3,
        sigma_range_rate_floor_mps=floor_rr,
    )


def build_sensors(specs: Sequence[SensorSpec], prefix: str = "sensors") -> tuple[Radar, ...]:
    """Build every spec (``where`` = ``f"{prefix}[i]"``); sensor ids must be unique."""
    out: list[Radar] = []
    first: dict[str, int] = {}
    for i, spec in enumerate(specs):
        radar = build_sensor(spec, f"{prefix}[{i}]")
        j = first.setdefault(radar.sensor_id, i)
        if j != i:
            raise ValueError(
                f"{prefix}[{i}].sensor_id: duplicate {radar.sensor_id!r} (also {prefix}[{j}]); "
                "give one of them its own sensor_id"
            )
        out.append(radar)
    return tuple(out)


_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def decode_sensor_specs(raw: object, prefix: str = "sensors") -> list[SensorSpec]:
    """Decoded TOML/JSON (a list of tables) -> :class:`SensorSpec` list; one-line errors.

    A type error or an unknown field becomes ``"<prefix>[i].<field>: <problem>"``.
    """
    try:
        return msgspec.convert(raw, list[SensorSpec], strict=True)
    except msgspec.ValidationError as exc:
        msg = str(exc).replace("\n", " ")
        m = _PATH.search(msg)
        if m is None:
            raise ValueError(f"{prefix}: {msg}") from None
        problem = msg[: m.start()]
        path = prefix + m.group("path")
        field = re.search(r"unknown field `([^`]*)`", problem)
        if field:
            path = f"{path}.{field.group(1)}"
            problem = "unknown field"
        raise ValueError(f"{path}: {problem}") from None
