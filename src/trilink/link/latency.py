"""One-way delay of each link hop: fibre propagation over a routed path plus processing.

Model of one hop from site A to site B::

    delay_s = route_factor * s_AB / v_fibre + processing_s

* ``s_AB``: the WGS-84 geodesic distance between the sites (Vincenty/Karney via
  :func:`trilink.geo.geodesic_inverse`), m.
* ``v_fibre`` = :data:`FIBRE_SPEED_MPS` = 2.0e8 m/s: light in silica fibre travels at
  c / n_g with group index n_g ≈ 1.47 (standard single-mode fibre, ITU-T G.652; e.g.
  Corning SMF-28 lists an effective group index of 1.4682 at 1550 nm, giving
  2.04e8 m/s), rounded down to 2.0e8 m/s.
* ``route_factor`` = :data:`ROUTE_FACTOR` = 1.5: **assumption**. Cable routes are
  longer than the geodesic (landing stations, coastal detours, terrestrial backhaul to
  the headquarters); we take 1.5x as a round, stated figure, not a measured one.
* ``processing_s`` = :data:`PROCESSING_S_PER_HOP` = 0.5 ms: **assumption** for one
  broker hop including signing and verifying: DESIGN.md measured ≈0.5-0.6 ms round trip
  JP→hub→JP on loopback through NATS (two hops, so ≈0.3 ms each) and signature checks
  add ≈0.1 ms (see :mod:`trilink.link.signing`); rounded up to 0.5 ms.

Sites: the C2 headquarters at Ichigaya (Tokyo), Yongsan (Seoul) and Camp H. M. Smith
(Hawaii, INDOPACOM). The US forces' node is placed with the hub at Camp Smith. A 1 km
error in a site moves a delay by ~7.5 µs, far below every other uncertainty here.

:func:`relay_comparison` tabulates Tokyo→Hawaii→Seoul (the relay every JP↔KR item
takes through the hub) against a hypothetical direct Tokyo–Seoul link.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from trilink.geo import geodesic_inverse

__all__ = [
    "CAMP_SMITH",
    "FIBRE_SPEED_MPS",
    "ICHIGAYA",
    "PARTICIPANT_SITES",
    "PROCESSING_S_PER_HOP",
    "ROUTE_FACTOR",
    "YONGSAN",
    "HopDelay",
    "Site",
    "format_relay_table",
    "geodesic_distance_m",
    "hop_delay",
    "one_way_delay_s",
    "participant_delay_s",
    "relay_comparison",
]

FIBRE_SPEED_MPS: Final = 2.0e8
"""Signal speed in silica fibre, c / n_g with n_g ≈ 1.47 (ITU-T G.652 fibre), rounded."""
ROUTE_FACTOR: Final = 1.5
"""Cable route length / geodesic distance. An assumption (see module docstring)."""
PROCESSING_S_PER_HOP: Final = 0.5e-3
"""Broker plus signing/verifying per hop, s. An assumption (see module docstring)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """A link site (WGS-84 geodetic, degrees at this edge) and where its coordinates are from."""

    name: str
    lat_deg: float
    lon_deg: float
    source: str

    def __post_init__(self) -> None:
        if not (-90.0 <= self.lat_deg <= 90.0):
            raise ValueError(f"Site {self.name}: lat_deg={self.lat_deg} outside [-90, 90]")
        if not (-180.0 <= self.lon_deg <= 360.0):
            raise ValueError(f"Site {self.name}: lon_deg={self.lon_deg} outside [-180, 360]")


ICHIGAYA: Final = Site(
    name="Tokyo (Ministry of Defense, Ichigaya)",
    lat_deg=35.6928,
    lon_deg=139.7285,
    source="approximate: centre of the MoD Ichigaya compound, Shinjuku, read from public "
    "maps to ~0.002 deg (not in shared/data/public_reference.md)",
)
YONGSAN: Final = Site(
    name="Seoul (MND / JCS, Yongsan)",
    lat_deg=37.5320,
    lon_deg=126.9780,
    source="approximate: Ministry of National Defense / JCS compound, Yongsan-dong 3-ga, "
    "Seoul (address per MND, via Wikipedia), read from public maps to ~0.005 deg",
)
CAMP_SMITH: Final = Site(
    name="Hawaii (INDOPACOM, Camp H. M. Smith)",
    lat_deg=21.38583,
    lon_deg=-157.90639,
    source="Wikipedia 'Camp H. M. Smith' infobox: 21°23'09\"N 157°54'23\"W",
)

PARTICIPANT_SITES: Final[Mapping[str, Site]] = MappingProxyType(
    {"HUB": CAMP_SMITH, "US": CAMP_SMITH, "JP": ICHIGAYA, "KR": YONGSAN}
)
"""Where each participant's node runs (the US forces' node is co-located with the hub)."""


def geodesic_distance_m(a: Site, b: Site) -> float:
    """WGS-84 geodesic (shortest ellipsoidal) distance between two sites, m."""
    s, _, _ = geodesic_inverse(
        math.radians(a.lat_deg),
        math.radians(a.lon_deg),
        math.radians(b.lat_deg),
        math.radians(b.lon_deg),
    )
    return float(s)


@dataclass(frozen=True, slots=True, kw_only=True)
class HopDelay:
    """The delay of one hop (or a relayed path: the sum of its hops)."""

    route: str
    distance_m: float
    """Geodesic distance (sum over hops), m."""
    path_m: float
    """Assumed fibre path length = route_factor x distance, m."""
    propagation_s: float
    processing_s: float
    hops: int

    @property
    def total_s(self) -> float:
        return self.propagation_s + self.processing_s


def hop_delay(
    a: Site,
    b: Site,
    *,
    route_factor: float = ROUTE_FACTOR,
    fibre_speed_mps: float = FIBRE_SPEED_MPS,
    processing_s: float = PROCESSING_S_PER_HOP,
) -> HopDelay:
    """One hop's delay from ``a`` to ``b`` (see the module docstring for the model)."""
    if not route_factor >= 1.0:
        raise ValueError(
            f"route_factor: must be >= 1 (a path is never shorter), got {route_factor}"
        )
    if not fibre_speed_mps > 0.0:
        raise ValueError(f"fibre_speed_mps: must be > 0, got {fibre_speed_mps}")
    if not processing_s >= 0.0:
        raise ValueError(f"processing_s: must be >= 0, got {processing_s}")
    d = geodesic_distance_m(a, b)
    path = route_factor * d
    return HopDelay(
        route=f"{a.name} -> {b.name}",
        distance_m=d,
        path_m=path,
        propagation_s=path / fibre_speed_mps,
        processing_s=processing_s,
        hops=1,
    )


def one_way_delay_s(a: Site, b: Site, **model: float) -> float:
    """Total one-way delay of one hop, s (keyword overrides as :func:`hop_delay`)."""
    return hop_delay(a, b, **model).total_s


def participant_delay_s(
    sender: str, receiver: str, *, sites: Mapping[str, Site] = PARTICIPANT_SITES, **model: float
) -> float:
    """One-hop delay between two participants' sites (processing only if co-located).

    Raises ``KeyError`` naming the participant if it has no site.
    """
    for who in (sender, receiver):
        if who not in sites:
            raise KeyError(f"participant {who!r} has no site (known: {', '.join(sites)})")
    return one_way_delay_s(sites[sender], sites[receiver], **model)


def _chain(name: str, hops: list[HopDelay]) -> HopDelay:
    return HopDelay(
        route=name,
        distance_m=sum(h.distance_m for h in hops),
        path_m=sum(h.path_m for h in hops),
        propagation_s=sum(h.propagation_s for h in hops),
        processing_s=sum(h.processing_s for h in hops),
        hops=sum(h.hops for h in hops),
    )


def relay_comparison(**model: float) -> tuple[HopDelay, ...]:
    """Tokyo→Hawaii, Hawaii→Seoul, the relay Tokyo→Hawaii→Seoul, and a direct Tokyo→Seoul.

    The relay is what a Japanese item costs before Korea sees it through the hub
    (the hub's own fusion time excluded); the direct link is hypothetical (the
    partners do not link to each other).
    """
    tokyo_hawaii = hop_delay(ICHIGAYA, CAMP_SMITH, **model)
    hawaii_seoul = hop_delay(CAMP_SMITH, YONGSAN, **model)
    relay = _chain("Tokyo -> Hawaii -> Seoul (relay via hub)", [tokyo_hawaii, hawaii_seoul])
    direct = hop_delay(ICHIGAYA, YONGSAN, **model)
    return (
        _chain("Tokyo -> Hawaii", [tokyo_hawaii]),
        _chain("Hawaii -> Seoul", [hawaii_seoul]),
        relay,
        _chain("Tokyo -> Seoul (direct, hypothetical)", [direct]),
    )


def format_relay_table(rows: tuple[HopDelay, ...] | None = None) -> str:
    """A plain-text table of :func:`relay_comparison` (km and ms at this edge)."""
    rows = rows if rows is not None else relay_comparison()
    head = f"{'route':44s} {'hops':>4s} {'geodesic km':>12s} {'path km':>9s} {'one-way ms':>11s}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.route:44s} {r.hops:4d} {r.distance_m / 1e3:12.1f} {r.path_m / 1e3:9.1f} "
            f"{r.total_s * 1e3:11.2f}"
        )
    return "\n".join(lines)
