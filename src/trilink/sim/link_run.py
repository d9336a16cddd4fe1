"""The link stage of a run: national nodes → hub → partners, in scenario time.

:func:`run_link` replays each nation's tracks table epoch by epoch through the link:
every node sends its reports valid at the epoch and closes it; the hub fuses the epoch
when all nations have closed it and releases the system tracks the policy allows.
The embedded transport is :class:`~trilink.link.bus.InProcessBus` (deterministic, the
latency model of :mod:`trilink.link.latency`); every event goes to the sink (the
``events.jsonl`` of a run, :class:`EventLog`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from trilink.fusion import Fuser, FuserConfig, SystemTracks
from trilink.fusion.registration import Registration, report_sensors
from trilink.link.bus import InProcessBus, Transport
from trilink.link.hub import Hub, HubStats
from trilink.link.messages import RegistrationCorrection
from trilink.link.node import NationalNode, rows_by_epoch
from trilink.link.policy import Policy
from trilink.link.signing import KeyPair, Signer, Verifier, VerifierStats
from trilink.sensors.detection import DetectionBatch
from trilink.tracking.measurement import SensorSites
from trilink.tracking.tracker import TrackOutput

__all__ = ["EventLog", "LinkResult", "run_link"]


class EventLog:
    """``events.jsonl``: one JSON object per line, each with ``t_s`` (scenario s) and
    ``event``. Usable as the sink of nodes and the hub; keeps counts per event type."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._fh: IO[str] | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8")
        self.counts: dict[str, int] = {}
        self.events: list[dict[str, Any]] = []
        """The events, when there is no file to write them to."""

    def __call__(self, event: dict[str, Any]) -> None:
        kind = str(event.get("event", "?"))
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self._fh is not None:
            self._fh.write(json.dumps(event, separators=(",", ":"), allow_nan=False) + "\n")
        else:
            self.events.append(event)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def sort_by_time(self) -> None:
        """Rewrite the (closed) file in time order, keeping the order of equal times
        (stages that ran one after another, like the warning after the link, append
        events out of time order)."""
        if self.path is None or self._fh is not None:
            return
        lines = self.path.read_text(encoding="utf-8").splitlines()
        keyed = sorted(enumerate(lines), key=lambda il: (json.loads(il[1])["t_s"], il[0]))
        self.path.write_text("".join(line + "\n" for _, line in keyed), encoding="utf-8")


@dataclass(frozen=True, kw_only=True)
class LinkResult:
    """What the link stage produced."""

    pictures: tuple[SystemTracks, ...]
    """The hub's fused picture at every epoch."""
    corrections: tuple[RegistrationCorrection, ...] = ()
    """The registration corrections the hub sent (if it had the sensor sites)."""
    impacts: tuple[Mapping[str, NDArray], ...] = ()
    """Per picture, the impact columns released with its system tracks."""
    received: Mapping[str, int]
    """Verified messages each partner received."""
    hub: HubStats
    hub_verifier: VerifierStats
    events: Mapping[str, int] = field(default_factory=dict)

    def system_tracks_table(self) -> dict[str, NDArray]:
        """All epochs' system tracks as one column table."""
        imps = self.impacts or tuple({} for _ in self.pictures)
        blocks = [p.columns() | dict(i) for p, i in zip(self.pictures, imps, strict=True) if len(p)]
        if not blocks:
            return {}
        return {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}


def run_link(
    tracks: Mapping[str, TrackOutput],
    *,
    epoch_utc: datetime,
    detections: Mapping[str, DetectionBatch] | None = None,
    policy: Policy | None = None,
    fuser: FuserConfig | None = None,
    sink: Callable[[dict[str, Any]], None] | None = None,
    transport: Transport | None = None,
    nations: Sequence[str] | None = None,
    progress: Callable[[float, float], None] | None = None,
    sites: SensorSites | None = None,
    epochs: Sequence[float] | NDArray[np.float64] | None = None,
) -> LinkResult:
    """Replay the national tracks through nodes, the link and the hub (module docstring).

    ``detections`` (optional): per nation, the batch its tracker consumed (the rows
    its assignments index), for the detection summaries and to attribute each report
    to the radar behind it (:func:`trilink.fusion.registration.report_sensors`).
    ``sites`` (optional): the partners' sensor sites, for the hub's sensor
    registration (corrections go back to each nation). ``transport`` defaults to a
    fresh :class:`InProcessBus` under ``policy`` (the default policy). Keys are
    generated for this run. ``epochs``: the output epochs every node closes (default:
    those with any track); a deployed run's nodes close every epoch of the trackers'
    grid, so pass the same grid to get the same picture.
    """
    policy = policy or Policy.default()
    nations = tuple(nations or sorted(tracks))
    bus = transport if transport is not None else InProcessBus(policy)
    clock: Callable[[], float] = (
        (lambda: bus.now_s) if isinstance(bus, InProcessBus) else (lambda: now[0])
    )
    now = [0.0]
    keys = {p: KeyPair.generate() for p in (policy.hub, *nations)}
    hub = Hub(
        bus,
        policy,
        Signer(policy.hub, keys[policy.hub]),
        Verifier({n: keys[n].public_key for n in nations}, name="hub"),
        Fuser(fuser),
        nations=nations,
        epoch_utc=epoch_utc,
        clock=clock,
        sink=sink,
        registration=Registration(sites, fuser_config=fuser) if sites is not None else None,
    )
    nodes = {
        n: NationalNode(
            nation=n,
            transport=bus,
            signer=Signer(n, keys[n]),
            verifier=Verifier(
                {policy.hub: keys[policy.hub].public_key}, name=n, relays={policy.hub}
            ),
            epoch_utc=epoch_utc,
            clock=clock,
            sink=sink,
        )
        for n in nations
    }
    # per nation: rows of each epoch, and the sensors behind each track so far
    by_epoch: dict[str, dict[float, NDArray[np.intp]]] = {}
    attributed: dict[str, NDArray[np.str_]] = {}  # per row: the radar behind the report
    with_rows: set[float] = set()
    for n in nations:
        cols = tracks[n].columns
        t = np.asarray(cols["time_s"], dtype=float)
        by_epoch[n] = rows_by_epoch(t)
        with_rows |= set(by_epoch[n])
        mine = detections.get(n) if detections is not None else None
        if mine is not None and tracks[n].assignments.size:
            attributed[n] = report_sensors(
                np.asarray(cols["track_id"]), t, tracks[n].assignments, mine
            )
    all_epochs = sorted(with_rows | ({float(e) for e in epochs} if epochs is not None else set()))
    prev = -math.inf
    for i, t_e in enumerate(all_epochs):
        if isinstance(bus, InProcessBus):
            bus.run_until(max(t_e, bus.now_s))
        else:
            now[0] = t_e
        if sink is not None and detections is not None:
            for n in nations:
                d = detections.get(n)
                if d is None:
                    continue
                m = (d.time_s > prev) & (d.time_s <= t_e)
                if np.any(m):
                    sink(
                        {
                            "t_s": t_e,
                            "event": "detections",
                            "nation": n,
                            "n": int(m.sum()),
                            "sensors": sorted(set(d.sensor_id[m].tolist())),
                        }
                    )
        for n in nations:
            rows = by_epoch[n].get(t_e, np.empty(0, dtype=np.intp))
            cols = tracks[n].columns
            nodes[n].publish_epoch(t_e, cols, rows, attributed=attributed.get(n))
        prev = t_e
        if progress is not None and (i % 50 == 0 or i == len(all_epochs) - 1):
            progress(t_e, all_epochs[-1])
    if isinstance(bus, InProcessBus):
        bus.run()
    hub.flush()
    if isinstance(bus, InProcessBus):
        bus.run()
    return LinkResult(
        pictures=tuple(hub.pictures),
        impacts=tuple(hub.impacts),
        corrections=tuple(hub.corrections),
        received={n: len(nodes[n].received) for n in nations},
        hub=hub.stats,
        hub_verifier=hub.verifier.stats,
        events=dict(getattr(sink, "counts", {})),
    )
