"""A partner's view of a run: only what the sharing policy released to that nation.

:func:`partner_view` returns a filtered copy of a :class:`RunFolder` holding what
``nation`` (``JP``, ``KR`` or ``US``) itself had during the run:

* **system tracks**: the rows of ``system_tracks`` that the hub released to the
  nation, read from the ``relay`` events of ``events.jsonl`` (``type``
  ``SystemTrack``, ``to`` the nation, ``decision`` ``released``). A relay event
  carries the hub's send time ``t_s`` and the ``global_track_number``; the
  ``system_track`` event with the same two values gives the row's
  ``time_of_validity_s`` (= the table's ``time_s``). The column ``members`` (the
  national track ids behind each fused track) is dropped: the released
  ``SystemTrack`` message does not carry them.
* **national tracks**: the nation's own (``tracks_<NATION>``) only.
* **sensors**: the nation's own sites only (``SensorSite`` is never released).
* **truth**: none (no partner knows it).
* **alerts**: kept (public warnings).

The copy's ``manifest`` gains ``"partner_view": nation`` and its ``partner`` is set, so
:meth:`RunFolder.events` on the copy (the full event log) raises instead of leaking.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from trilink.export.runfolder import RunFolder, RunFolderError

__all__ = ["PARTNERS", "partner_view", "released_system_rows"]

PARTNERS = ("JP", "KR", "US")
"""Nations that can take a partner view (the link's participants other than the hub)."""

_WITHHELD_SYSTEM_COLUMNS = ("members",)


def released_system_rows(run: RunFolder, nation: str) -> pd.DataFrame:
    """``(global_track_number, time_s)`` of the system-track rows released to
    ``nation``, from ``events.jsonl`` (module docstring)."""
    sent: dict[tuple[float, int], float] = {}
    released: set[tuple[float, int]] = set()
    n_relays = 0
    for e in run.events():
        ev = e.get("event")
        if ev == "system_track":
            try:
                key = (float(e["t_s"]), int(e["global_track_number"]))
                sent[key] = float(e["time_of_validity_s"])
            except (KeyError, TypeError, ValueError):
                raise RunFolderError(
                    run.path / "events.jsonl",
                    "a system_track event lacks t_s, global_track_number or time_of_validity_s",
                ) from None
        elif ev == "relay" and e.get("type") == "SystemTrack":
            n_relays += 1
            if e.get("to") == nation and e.get("decision") == "released":
                released.add((float(e["t_s"]), int(e["global_track_number"])))
    if sent and not n_relays:
        raise RunFolderError(
            run.path / "events.jsonl", "no SystemTrack relay events: cannot tell what was released"
        )
    rows = [(gtn, sent[(t, gtn)]) for (t, gtn) in released if (t, gtn) in sent]
    return pd.DataFrame(
        {
            "global_track_number": np.array([r[0] for r in rows], dtype=np.int64),
            "time_s": np.array([r[1] for r in rows], dtype=float),
        }
    )


def partner_view(run: RunFolder, nation: str) -> RunFolder:
    """What ``nation`` saw of the run (module docstring). ValueError for a nation that
    is not a partner."""
    if nation not in PARTNERS:
        raise ValueError(f"nation {nation!r} is not one of {', '.join(PARTNERS)}")
    system = run.system_tracks
    if system is not None:
        keys = released_system_rows(run, nation)
        # match times to the µs: the CSV's and the JSON's parsers may differ in the last bit
        keys = keys.assign(_t_us=np.round(keys.pop("time_s").to_numpy() * 1e6))
        system = system.assign(_t_us=np.round(system["time_s"].to_numpy(dtype=float) * 1e6))
        system = system.merge(keys, on=["global_track_number", "_t_us"], how="inner")
        system = system.drop(columns="_t_us")
        system = system.drop(columns=[c for c in _WITHHELD_SYSTEM_COLUMNS if c in system])
        system = system.sort_values(["time_s", "global_track_number"], kind="stable")
        system = system.reset_index(drop=True)
    sensors = run.sensors[run.sensors["nation"].astype(str) == nation].reset_index(drop=True)
    national = {nation: run.national_tracks[nation]} if nation in run.national_tracks else {}
    return dataclasses.replace(
        run,
        manifest={**run.manifest, "partner_view": nation},
        sensors=sensors,
        system_tracks=system,
        national_tracks=national,
        truth=None,
        partner=nation,
    )
