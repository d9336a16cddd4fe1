"""KML export: valid against the OGC KML 2.2 schema bundled with fastkml (validated
with lxml), with folders per layer, gx:Tracks with times, ellipses and alert areas."""

from __future__ import annotations

from pathlib import Path

import fastkml
import numpy as np
import pytest
from lxml import etree

from picture_run import TO_GEODETIC, make_run
from trilink.export.kml import write_kml
from trilink.export.runfolder import read_run

XSD = Path(fastkml.__file__).parent / "schema" / "ogckml22.xsd"
NS = {"k": "http://www.opengis.net/kml/2.2", "gx": "http://www.google.com/kml/ext/2.2"}


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    assert XSD.exists(), f"fastkml's bundled OGC schema not found at {XSD}"
    return etree.XMLSchema(etree.parse(str(XSD)))


def _valid(schema: etree.XMLSchema, doc: etree._ElementTree) -> list[str]:
    ok = schema.validate(doc)
    return [] if ok else [str(e) for e in schema.error_log][:10]


@pytest.fixture
def synthetic_kml(tmp_path: Path) -> etree._ElementTree:
    run = read_run(make_run(tmp_path / "run"))
    return etree.parse(str(write_kml(run, tmp_path / "p.kml")))


def test_schema_rejects_a_broken_document(
    schema: etree.XMLSchema, synthetic_kml: etree._ElementTree
) -> None:
    """Negative control: the bundled XSD does check (an unknown element, a misplaced
    TimeSpan)."""
    assert _valid(schema, synthetic_kml) == []
    doc = etree.fromstring(etree.tostring(synthetic_kml))
    etree.SubElement(doc.find("k:Document", NS), "{http://www.opengis.net/kml/2.2}bogus")
    assert _valid(schema, etree.ElementTree(doc))
    doc = etree.fromstring(etree.tostring(synthetic_kml))
    pm = doc.find(".//k:Placemark", NS)
    span = pm.find("k:TimeSpan", NS)
    pm.remove(span)
    pm.append(span)  # after the geometry: out of the schema's order
    assert _valid(schema, etree.ElementTree(doc))


def test_synthetic_kml_layers_tracks_and_times(
    schema: etree.XMLSchema, synthetic_kml: etree._ElementTree, tmp_path: Path
) -> None:
    assert _valid(schema, synthetic_kml) == []
    folders = [
        f.findtext("k:name", namespaces=NS) for f in synthetic_kml.iterfind(".//k:Folder", NS)
    ]
    assert folders == [
        "Fused tracks (hub)",
        "JP tracks",
        "KR tracks",
        "US tracks",
        "Radar sites",
        "Predicted impact (95 % ellipses)",
        "Take-cover alert areas",
    ]
    pm = synthetic_kml.find(".//k:Placemark[@id='track-system-1']", NS)
    assert pm.findtext("k:name", namespaces=NS) == "GTN 1 (warhead)"
    assert pm.findtext("k:TimeSpan/k:begin", namespaces=NS) == "2023-04-12T22:22:00+00:00"
    assert pm.findtext("k:TimeSpan/k:end", namespaces=NS) == "2023-04-12T22:22:20+00:00"
    track = pm.find("gx:Track", NS)
    assert track.findtext("k:altitudeMode", namespaces=NS) == "absolute"
    whens = [w.text for w in track.iterfind("k:when", NS)]
    coords = np.array([c.text.split() for c in track.iterfind("gx:coord", NS)], dtype=float)
    assert len(whens) == len(coords) == 5  # one per 5 s over 0..20 s
    assert whens[1] == "2023-04-12T22:22:05+00:00"
    run = read_run(tmp_path / "run")
    rows = run.system_tracks[run.system_tracks.global_track_number == 1].set_index("time_s")
    xyz = rows.loc[[0.0, 5.0, 10.0, 15.0, 20.0], ["x_ecef_m", "y_ecef_m", "z_ecef_m"]].to_numpy()
    lon, lat, h = TO_GEODETIC.transform(xyz[:, 0], xyz[:, 1], xyz[:, 2])
    np.testing.assert_allclose(coords[:, 0], lon, rtol=0, atol=1e-6)
    np.testing.assert_allclose(coords[:, 1], lat, rtol=0, atol=1e-6)
    np.testing.assert_allclose(coords[:, 2], h, rtol=0, atol=0.051)


def test_synthetic_kml_alerts_and_ellipses(synthetic_kml: etree._ElementTree) -> None:
    folders = {
        f.findtext("k:name", namespaces=NS): f for f in synthetic_kml.iterfind(".//k:Folder", NS)
    }
    alerts = folders["Take-cover alert areas"].findall("k:Placemark", NS)
    spans = {
        a.findtext("k:name", namespaces=NS).split(" (")[0]: (
            a.findtext("k:TimeSpan/k:begin", namespaces=NS),
            a.findtext("k:TimeSpan/k:end", namespaces=NS),
        )
        for a in alerts
    }
    assert spans == {
        "Hokkaido": ("2023-04-12T22:22:10+00:00", "2023-04-12T22:22:40+00:00"),
        "Aomori": ("2023-04-12T22:22:20+00:00", "2023-04-12T22:23:00+00:00"),
    }
    hok = next(a for a in alerts if a.findtext("k:name", namespaces=NS).startswith("Hokkaido"))
    assert hok.find("k:MultiGeometry", NS) is not None  # main island and outlying discs
    ellipses = folders["Predicted impact (95 % ellipses)"].findall("k:Placemark", NS)
    assert len(ellipses) == 4
    ring = ellipses[0].findtext(".//k:outerBoundaryIs/k:LinearRing/k:coordinates", namespaces=NS)
    pts = np.array([p.split(",") for p in ring.split()], dtype=float)
    assert len(pts) == 49 and np.array_equal(pts[0], pts[-1])
    radars = folders["Radar sites"].findall("k:Placemark", NS)
    assert {r.findtext("k:name", namespaces=NS) for r in radars} == {
        "jp-radar",
        "kr-radar",
        "us-radar",
    }


def test_seed_kml_validates(seed_run_dir: Path, schema: etree.XMLSchema, tmp_path: Path) -> None:
    run = read_run(seed_run_dir)
    doc = etree.parse(str(write_kml(run, tmp_path / "seed.kml")))
    assert _valid(schema, doc) == []
    tracks = doc.findall(".//gx:Track", NS)
    n = run.system_tracks.global_track_number.nunique() + sum(
        t.track_id.nunique() for t in run.national_tracks.values()
    )
    assert len(tracks) == n
    for tr in tracks[:50]:
        assert len(tr.findall("k:when", NS)) == len(tr.findall("gx:coord", NS)) >= 1
