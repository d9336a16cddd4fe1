"""CZML export: valid against the official CZML JSON Schema (czml-writer, draft-07), with
the picture's content where it should be.

``jsonschema`` is not installed in the project, so :class:`SchemaWalker` implements the
keywords the CZML schema uses (``$ref``, ``allOf``, ``type``, ``properties``,
``additionalProperties``, ``items``, ``oneOf``, ``const``, ``enum``, ``format:
date-time``) and **refuses any other
validation keyword**, so a schema update that needs more cannot pass silently.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import SHARED
from picture_run import ALERTS, TO_GEODETIC, TRACKS, make_run
from trilink.export.czml import build_czml, write_czml
from trilink.export.runfolder import read_run

SCHEMA_DIR = SHARED / "data" / "czml-schema"
_ANNOTATIONS = {
    "$schema",
    "$id",
    "title",
    "description",
    "default",
    "czmlExamples",
    "czmlValue",
    "czmlRequiredForDisplay",
    "czmlDeprecated",
}
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class SchemaWalker:
    """A minimal draft-07 validator for the keywords of the CZML schema (module doc)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[Path, dict[str, Any]] = {}

    def load(self, path: Path) -> dict[str, Any]:
        path = path.resolve()
        if path not in self._cache:
            self._cache[path] = json.loads(path.read_text())
        return self._cache[path]

    def validate(self, value: Any, name: str = "Document.json") -> list[str]:
        path = self.root / name
        errors: list[str] = []
        self._check(value, self.load(path), path, "$", errors)
        return errors

    def _check(self, v: Any, s: dict[str, Any], here: Path, at: str, errors: list[str]) -> None:
        unknown = (
            set(s)
            - _ANNOTATIONS
            - {
                "$ref",
                "allOf",
                "type",
                "properties",
                "additionalProperties",
                "items",
                "format",
                "oneOf",
                "const",
                "enum",
            }
        )
        if unknown:
            raise NotImplementedError(f"{here.name}: schema keyword(s) {sorted(unknown)}")
        if "$ref" in s:
            ref = s["$ref"]
            target = here if ref == "#" else (here.parent / ref).resolve()
            self._check(v, self.load(target), target, at, errors)
        for sub in s.get("allOf", ()):
            self._check(v, sub, here, at, errors)
        if "type" in s:
            types = [s["type"]] if isinstance(s["type"], str) else s["type"]
            if not any(_TYPES[t](v) for t in types):
                errors.append(f"{at}: {type(v).__name__} is not {types} ({here.name})")
                return
        if "const" in s and v != s["const"]:
            errors.append(f"{at}: {v!r} is not {s['const']!r} ({here.name})")
        if "enum" in s and v not in s["enum"]:
            errors.append(f"{at}: {v!r} is not one of {s['enum']} ({here.name})")
        if "oneOf" in s:
            ok = 0
            for sub in s["oneOf"]:
                sub_errors: list[str] = []
                self._check(v, sub, here, at, sub_errors)
                ok += not sub_errors
            if ok != 1:
                errors.append(f"{at}: {v!r} matches {ok} of oneOf, not exactly 1 ({here.name})")
        if s.get("format") == "date-time" and isinstance(v, str):
            try:
                dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
            except ValueError:
                errors.append(f"{at}: {v!r} is not a date-time")
        if isinstance(v, dict):
            props = s.get("properties", {})
            extra = s.get("additionalProperties", True)
            for k, x in v.items():
                if k in props:
                    self._check(x, props[k], here, f"{at}.{k}", errors)
                elif extra is False:
                    errors.append(f"{at}: property {k!r} not allowed ({here.name})")
                elif isinstance(extra, dict):
                    self._check(x, extra, here, f"{at}.{k}", errors)
        if isinstance(v, list) and isinstance(s.get("items"), dict):
            for i, x in enumerate(v):
                self._check(x, s["items"], here, f"{at}[{i}]", errors)


@pytest.fixture(scope="module")
def walker() -> SchemaWalker:
    if not (SCHEMA_DIR / "Packet.json").exists():
        pytest.fail(f"CZML schema not found at {SCHEMA_DIR} (shared data, never copied)")
    return SchemaWalker(SCHEMA_DIR)


@pytest.fixture(scope="module")
def seed_czml(seed_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = write_czml(read_run(seed_run_dir), tmp_path_factory.mktemp("czml") / "p.czml")
    return json.loads(out.read_text())


def _packets(tmp_path: Path) -> list[dict]:
    run = read_run(make_run(tmp_path / "run"))
    return json.loads(build_czml(run).dumps())


def test_walker_rejects_what_the_schema_forbids(walker: SchemaWalker) -> None:
    """Negative controls: the walker is not a rubber stamp."""
    good = [{"id": "document", "version": "1.0", "name": "x"}]
    assert walker.validate(good) == []
    assert walker.validate({"id": "document"})  # a document is an array
    assert walker.validate([{"id": 5}])  # id must be a string
    assert walker.validate([{"id": "a", "position": "here"}])  # array or object
    assert walker.validate([{"id": "a", "point": {"pixelSize": "big"}}])
    assert walker.validate([{"id": "a", "availability": 7}])
    assert walker.validate([{"id": "a", "label": {"text": 3}}])
    assert walker.validate([{"id": "a", "position": {"epoch": "yesterday", "cartesian": []}}])
    assert walker.validate([{"id": "document", "clock": {"range": "SOMETIMES"}}])
    assert walker.validate([{"id": "document", "clock": {"range": "LOOP_STOP"}}]) == []


def test_synthetic_czml_is_valid_and_complete(tmp_path: Path, walker: SchemaWalker) -> None:
    pk = _packets(tmp_path)
    assert walker.validate(pk) == []
    ids = [p["id"] for p in pk]
    assert ids[0] == "document" and pk[0]["version"] == "1.0"
    assert pk[0]["clock"]["interval"] == "2023-04-12T22:22:00Z/2023-04-12T22:30:20Z"  # to 500 s
    assert len(ids) == len(set(ids)), "packet ids must be unique"
    known = set(ids)
    assert all(p["parent"] in known for p in pk if "parent" in p)
    tracks = {p["id"] for p in pk if p["id"].startswith("track/")}
    assert tracks == {
        "track/system/1",
        "track/system/2",
        "track/JP/5",
        "track/KR/9",
        "track/US/3",
    }
    assert {p["id"] for p in pk if p["id"].startswith("sensor/")} == {
        "sensor/jp-radar",
        "sensor/kr-radar",
        "sensor/us-radar",
    }
    assert {p["id"] for p in pk if p["id"].startswith("impact/")} == {
        "impact/system/1",
        "impact/system/2",
    }
    # each layer in its own colour
    colours = {p["parent"]: tuple(p["point"]["color"]["rgba"]) for p in pk if "point" in p}
    track_colours = {
        k: v for k, v in colours.items() if k.startswith("layer/") and k != "layer/sensors"
    }
    assert len(set(track_colours.values())) == 4


def test_track_samples_are_the_tracks_positions(tmp_path: Path) -> None:
    """Time-tagged cartographicDegrees samples equal pyproj's geodetic of the ECEF rows
    (1e-6 deg, 0.1 m: the file keeps 1e-7 deg and 0.1 m)."""
    pk = {p["id"]: p for p in _packets(tmp_path)}
    p = pk["track/system/1"]
    assert p["name"] == "GTN 1"
    pos = p["position"]
    assert pos["epoch"] == "2023-04-12T22:22:00Z"
    s = np.asarray(pos["cartographicDegrees"], dtype=float).reshape(-1, 4)
    np.testing.assert_array_equal(s[:, 0], [0.0, 5.0, 10.0, 15.0, 20.0])  # one per 5 s
    tr = next(t for t in TRACKS if t[0] == "system" and t[1] == 1)
    run = read_run(tmp_path / "run")
    rows = run.system_tracks[run.system_tracks.global_track_number == 1].set_index("time_s")
    xyz = rows.loc[s[:, 0], ["x_ecef_m", "y_ecef_m", "z_ecef_m"]].to_numpy()
    lon, lat, h = TO_GEODETIC.transform(xyz[:, 0], xyz[:, 1], xyz[:, 2])
    np.testing.assert_allclose(s[:, 1], lon, rtol=0, atol=1e-6)
    np.testing.assert_allclose(s[:, 2], lat, rtol=0, atol=1e-6)
    np.testing.assert_allclose(s[:, 3], h, rtol=0, atol=0.051)
    assert tr[3][0] == 0.0  # the track starts at the epoch
    text = p["label"]["text"]
    assert [t["string"] for t in text] == ["GTN 1 warhead"]
    assert p["availability"] == "2023-04-12T22:22:00Z/2023-04-12T22:22:20Z"


def test_alert_areas_only_during_their_alert(tmp_path: Path) -> None:
    pk = {p["id"]: p for p in _packets(tmp_path)}
    hok = pk["alert/JP-01"]
    assert hok["availability"] == ["2023-04-12T22:22:10Z/2023-04-12T22:22:40Z"]
    assert ALERTS["JP-01"] == [(10.0, 40.0)]
    parts = [p for k, p in pk.items() if k.startswith("alert/JP-01/")]
    assert parts and all(p["availability"] == hok["availability"] for p in parts)
    # the biggest part of Hokkaido's outline contains Sapporo
    import shapely

    rings = [
        np.asarray(p["polygon"]["positions"]["cartographicDegrees"]).reshape(-1, 3) for p in parts
    ]
    big = max(rings, key=len)
    assert shapely.Polygon(big[:, :2]).contains(shapely.Point(141.35, 43.06))
    aomori = pk["alert/JP-02"]
    assert aomori["availability"] == ["2023-04-12T22:22:20Z/2023-04-12T22:23:00Z"]  # to 60 s


def test_impact_ellipse_snapshots(tmp_path: Path) -> None:
    pk = {p["id"]: p for p in _packets(tmp_path)}
    imp = pk["impact/system/1"]
    ivs = imp["polygon"]["positions"]
    assert [iv["interval"] for iv in ivs] == [
        "2023-04-12T22:22:00Z/2023-04-12T22:22:20Z",
        "2023-04-12T22:22:20Z/2023-04-12T22:30:20Z",  # the last holds until impact (500 s)
    ]
    ring = np.asarray(ivs[0]["cartographicDegrees"]).reshape(-1, 3)
    assert len(ring) == 48
    np.testing.assert_allclose(ring.mean(axis=0)[:2], [134.0, 41.0], atol=0.01)


def test_seed_czml_validates_against_the_schema(
    seed_czml: list[dict], walker: SchemaWalker, seed_run_dir: Path
) -> None:
    errors = walker.validate(seed_czml)
    assert errors == [], errors[:10]
    ids = [p["id"] for p in seed_czml]
    assert len(ids) == len(set(ids))
    run = read_run(seed_run_dir)
    n_tracks = run.system_tracks.global_track_number.nunique() + sum(
        t.track_id.nunique() for t in run.national_tracks.values()
    )
    assert sum(i.startswith("track/") for i in ids) == n_tracks
    assert sum(i.startswith("sensor/") for i in ids) == len(run.sensors)
    assert sum(i.startswith("impact/") for i in ids) > 0
    for p in seed_czml:
        if p["id"].startswith("track/"):
            s = np.asarray(p["position"]["cartographicDegrees"], dtype=float)
            assert s.size % 4 == 0
            t = s[0::4]
            assert np.all(np.diff(t) > 0), p["id"]
            assert np.all((s[2::4] > 20) & (s[2::4] < 60)), p["id"]  # latitudes, NE Asia
