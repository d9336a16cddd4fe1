"""The seed scenario's timeline in every configuration, for the campaign report.

A campaign measures distributions; the report also shows one launch told as a story:
the seed scenario (by default the built-in Hwasong-18 of 2023-04-13) run once and
compared as Japan alone, Korea alone, US alone and linked through the hub
(:func:`trilink.warning.compare.compare_run`, the same as ``trilink compare``). What
each configuration knew when: first detection, first confirmed track, launch notice,
every alert decision, against the truth (burnout, separations, impact).

:func:`write_seed_timeline` runs it (about a minute of CPU) and writes
``seed_timeline.json`` into a campaign folder; :func:`seed_timeline_figure` draws it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SEED_TIMELINE_FILE", "read_seed_timeline", "seed_timeline", "write_seed_timeline"]

SEED_TIMELINE_FILE = "seed_timeline.json"
_ORDER = ("jp", "kr", "us", "linked")
_LABEL = {
    "jp": "Japan alone",
    "kr": "Korea alone",
    "us": "US alone (+ space IR)",
    "linked": "Linked via hub",
}


def seed_timeline(
    scenario: str | None = None, *, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Run ``scenario`` (default: the seed) once and return its timeline per
    configuration (times in s after the first launch)."""
    from trilink.scenario.build import get_scenario
    from trilink.sim.run import run_scenario
    from trilink.warning.compare import compare_run

    sc = get_scenario(scenario)
    res = run_scenario(sc, track=True, link=True, warn=True, progress=progress)
    cmp = compare_run(res)
    t0 = cmp.launch_time_s
    f = min(res.flights, key=lambda f: f.launch.t_launch_s)
    truth = {
        "burnout_s": f.burnout_time_s - t0,
        "apogee_s": f.apogee_time_s - t0,
        "impact_s": f.impact_time_s - t0,
        "stage_impacts_s": sorted(s.impact_time_s - t0 for s in f.stage_impacts),
        "separations_s": sorted(s.separation_time_s - t0 for s in f.stage_impacts),
        "threatened": {k: v - t0 for k, v in cmp.threatened.items()},
    }
    configs: dict[str, Any] = {}
    for name, r in cmp.configurations.items():
        configs[name] = r.to_json() | {
            "launch_point_error_m": r.launch_point_error_m,
            "decisions": [
                {"t_s": d.t_s - t0, "action": d.action, "regions": list(d.regions)}
                for d in r.timeline.decisions
            ],
        }
    return {"scenario": cmp.scenario, "truth": truth, "configurations": configs}


def write_seed_timeline(
    directory: str | Path,
    scenario: str | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """:func:`seed_timeline` into ``DIR/seed_timeline.json``."""
    p = Path(directory) / SEED_TIMELINE_FILE
    data = seed_timeline(scenario, progress=progress)
    p.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    return p


def read_seed_timeline(directory: str | Path) -> dict[str, Any] | None:
    """The campaign folder's seed timeline, or None if it has none."""
    p = Path(directory) / SEED_TIMELINE_FILE
    if not p.exists():
        return None
    try:
        data = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: not JSON ({exc.msg}, line {exc.lineno})") from None
    for key in ("scenario", "truth", "configurations"):
        if key not in data:
            raise ValueError(f"{p}: field {key!r} missing")
    return data


_MARKS: Mapping[str, tuple[str, str, str]] = {
    # event -> (marker, colour, legend)
    "first_detection_s": ("o", "tab:blue", "first detection"),
    "first_track_s": ("s", "tab:green", "first confirmed track"),
    "launch_notice": ("^", "black", "public launch notice"),
    "take_cover": ("X", "tab:red", "take cover"),
    "update": ("P", "tab:orange", "update"),
    "all_clear": ("D", "tab:olive", "all clear / correction"),
    "impact_notice": ("v", "tab:purple", "impact notice"),
}


def seed_timeline_figure(data: Mapping[str, Any]) -> Figure:
    """One row per configuration: what it knew when, against the truth's events."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 3.4), layout="constrained")
    ax = fig.add_subplot()
    truth = data["truth"]
    confs = [c for c in _ORDER if c in data["configurations"]]
    seen: set[str] = set()

    def mark(x: float | None, y: int, key: str) -> None:
        if x is None or not math.isfinite(x):
            return
        m, col, lab = _MARKS[key]
        # alerts above the row, their ends below it: a take-cover withdrawn 15 s later
        # stays visible
        dy = {"take_cover": -0.22, "update": -0.22, "all_clear": 0.22, "impact_notice": 0.22}
        ax.plot(
            [x],
            [y + dy.get(key, 0.0)],
            m,
            color=col,
            ms=8,
            mec="white",
            label=None if lab in seen else lab,
            zorder=3,
        )
        seen.add(lab)

    for y, c in enumerate(confs):
        r = data["configurations"][c]
        mark(r.get("first_detection_s"), y, "first_detection_s")
        mark(r.get("first_track_s"), y, "first_track_s")
        for d in r.get("decisions", []):
            if d["action"] in _MARKS:
                mark(d["t_s"], y, d["action"])
    ax.axvspan(0.0, truth["burnout_s"], color="0.9", zorder=0, label="boost (truth)")
    for k, t in enumerate(truth.get("stage_impacts_s", [])):
        ax.axvline(t, color="0.6", ls=":", lw=1, label="stage falls (truth)" if k == 0 else None)
    ax.axvline(truth["impact_s"], color="k", ls="--", lw=1, label="warhead impact (truth)")
    ax.set_yticks(range(len(confs)), [_LABEL[c] for c in confs])
    ax.set_ylim(len(confs) - 0.5, -0.5)
    ax.set_xlabel("time after launch, s")
    ax.set_xscale("symlog", linthresh=100.0)
    ax.set_xlim(0.0, truth["impact_s"] * 1.15)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"{data['scenario']}: what each configuration knew when")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig
