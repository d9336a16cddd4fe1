"""The configurations a campaign compares on identical draws, and their link delays.

One draw is simulated once and each nation's tracker runs once on its own radars'
detections; every configuration is derived from those tables:

==========  ==========================================================================
``jp``      Japan alone: its radars, its tracks and products
``kr``      Korea alone
``us``      US forces alone (their radars, and the space-IR launch notice)
``linked``  all three through the hub in Hawaii: fusion of the three tracks tables;
            the partners (JP, KR) see a system track after the relay
            nation → Hawaii → partner
``direct``  hypothetical direct Japan–Korea link: fusion of the JP and KR tables;
            each side sees the other's reports after one Tokyo–Seoul hop
==========  ==========================================================================

**Delays** (:mod:`trilink.link.latency`, fibre propagation over a routed path plus
processing per hop). The fusion is replayed on the tables directly
(:func:`trilink.fusion.fuse_run`); the link's latency is added analytically to the
partner-facing times: a hub picture of epoch t reaches partner P at
``t + max_n d(n → HUB) + d(HUB → P)`` (the hub fuses an epoch once every nation's
reports of it are in), the US launch notice at ``t + d(HUB → P)`` (the US node sits
with the hub), and a direct-link picture at ``t + d(JP ↔ KR)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from trilink.link.latency import participant_delay_s

__all__ = [
    "CONFIGURATION_DEFS",
    "ConfigurationDef",
    "apply_link_cuts",
    "apply_outages",
    "notice_delays_s",
    "partner_delays_s",
]


@dataclass(frozen=True, kw_only=True)
class ConfigurationDef:
    """Which nations' tables a configuration uses and how they are joined."""

    name: str
    nations: tuple[str, ...]
    link: str
    """``none`` (one nation alone), ``hub`` (fusion at the US hub) or ``direct``."""
    partners: tuple[str, ...]
    """The nations whose warning the partner-facing times describe."""

    @property
    def fused(self) -> bool:
        return self.link != "none"


CONFIGURATION_DEFS: Mapping[str, ConfigurationDef] = {
    "jp": ConfigurationDef(name="jp", nations=("JP",), link="none", partners=("JP",)),
    "kr": ConfigurationDef(name="kr", nations=("KR",), link="none", partners=("KR",)),
    "us": ConfigurationDef(name="us", nations=("US",), link="none", partners=("US",)),
    "linked": ConfigurationDef(
        name="linked", nations=("JP", "KR", "US"), link="hub", partners=("JP", "KR")
    ),
    "direct": ConfigurationDef(
        name="direct", nations=("JP", "KR"), link="direct", partners=("JP", "KR")
    ),
}


def partner_delays_s(cfg: ConfigurationDef) -> dict[str, float]:
    """Per partner: the delay from a fused epoch to its arrival there, s (module docstring)."""
    if cfg.link == "hub":
        into_hub = max(participant_delay_s(n, "HUB") for n in cfg.nations)
        return {p: into_hub + participant_delay_s("HUB", p) for p in cfg.partners}
    if cfg.link == "direct":
        return {p: participant_delay_s("JP", "KR") for p in cfg.partners}
    return dict.fromkeys(cfg.partners, 0.0)


def notice_delays_s(cfg: ConfigurationDef) -> dict[str, float] | None:
    """Per partner: delay of the US launch notice to it, s; None if it gets none."""
    if cfg.link == "hub":
        us_hub = participant_delay_s("US", "HUB")
        return {p: us_hub + participant_delay_s("HUB", p) for p in cfg.partners}
    if cfg.name == "us":
        return {"US": 0.0}
    return None


def _in_windows(t: NDArray[np.float64], windows: Sequence[tuple[float, float]]) -> NDArray:
    m = np.zeros(t.shape, dtype=bool)
    for a, b in windows:
        m |= (t >= a) & (t < b)
    return m


def apply_outages(
    time_s: NDArray[np.float64],
    sensor_id: NDArray[np.str_],
    outages: Sequence[tuple[str, float, float]],
) -> NDArray[np.bool_]:
    """Rows to keep: detections of a radar inside one of its outages (start ≤ t < end,
    scenario s) are dropped."""
    keep = np.ones(time_s.shape, dtype=bool)
    for sensor, a, b in outages:
        keep &= ~((sensor_id == sensor) & (time_s >= a) & (time_s < b))
    return keep


def apply_link_cuts(
    tables: Mapping[str, Mapping[str, NDArray]],
    cuts: Sequence[tuple[str, float, float]],
) -> dict[str, dict[str, NDArray]]:
    """The national tables as the fusion receives them: a nation's reports made while
    its link is cut (start ≤ t < end, scenario s) never reach it (a live picture does
    not replay stale reports)."""
    out: dict[str, dict[str, NDArray]] = {}
    for nation, cols in tables.items():
        win = [(a, b) for n, a, b in cuts if n == nation]
        if not win:
            out[nation] = dict(cols)
            continue
        keep = ~_in_windows(np.asarray(cols["time_s"], dtype=float), win)
        out[nation] = {k: np.asarray(v)[keep] for k, v in cols.items()}
    return out
