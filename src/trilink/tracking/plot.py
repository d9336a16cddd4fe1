"""A picture of one node's tracks: altitude over time and ground tracks, by kind.

Reads the tracks table (:data:`trilink.tracking.tracker.TRACK_COLUMNS`) and, when given,
the truth table, and draws two panels with matplotlib's object API (no pyplot state,
works headless): height above the ellipsoid versus time, and the ground tracks with
each track's last predicted impact point and its 95 % ellipse.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from trilink.geo.frames import ecef_to_geodetic

KIND_COLOURS = {
    "warhead": "#d62728",
    "stage": "#1f77b4",
    "debris": "#7f7f7f",
    "unknown": "#ff7f0e",
}


def _geodetic_deg(cols: Mapping[str, NDArray], rows: NDArray[np.intp]) -> tuple[NDArray, ...]:
    r = np.column_stack(
        [cols["x_ecef_m"][rows], cols["y_ecef_m"][rows], cols["z_ecef_m"][rows]]
    ).astype(float)
    lat, lon, h = ecef_to_geodetic(r)
    return np.degrees(lat), np.degrees(lon), np.asarray(h) / 1e3


def plot_tracks(
    tracks: Mapping[str, NDArray],
    png_path: str | Path,
    *,
    truth: Mapping[str, NDArray] | None = None,
    title: str = "tracks",
    dpi: int = 110,
) -> Path:
    """Write the two-panel picture of ``tracks`` (and ``truth``) to ``png_path``."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Ellipse

    fig = Figure(figsize=(12, 5), dpi=dpi)
    ax_h, ax_g = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    if truth is not None and len(truth["time_s"]):
        for oid in np.unique(truth["object_id"]).tolist():
            rows = np.flatnonzero(truth["object_id"] == oid)
            lat, lon, h = _geodetic_deg(truth, rows)
            ax_h.plot(truth["time_s"][rows], h, color="0.85", lw=2.5, zorder=1)
            ax_g.plot(lon, lat, color="0.85", lw=2.5, zorder=1)
    tids = np.asarray(tracks["track_id"])
    seen: set[str] = set()
    for tid in np.unique(tids).tolist():
        rows = np.flatnonzero(tids == tid)
        kind = str(tracks["kind"][rows[-1]])
        colour = KIND_COLOURS.get(kind, "k")
        lat, lon, h = _geodetic_deg(tracks, rows)
        label = kind if kind not in seen else None
        seen.add(kind)
        ax_h.plot(tracks["time_s"][rows], h, color=colour, lw=1.0, label=label, zorder=2)
        ax_g.plot(lon, lat, color=colour, lw=1.0, zorder=2)
        imp = rows[np.isfinite(tracks["impact_lat_deg"][rows])]
        if imp.size and kind in ("warhead", "unknown"):
            k = imp[-1]
            ilat, ilon = tracks["impact_lat_deg"][k], tracks["impact_lon_deg"][k]
            a_km = tracks["impact_semi_major_m"][k] / 1e3
            b_km = tracks["impact_semi_minor_m"][k] / 1e3
            # ellipse in degrees (local scale); orientation is clockwise from north
            kx = 1.0 / (111.32 * max(math.cos(math.radians(ilat)), 1e-3))
            ky = 1.0 / 110.57
            th = math.radians(tracks["impact_orientation_deg"][k])
            w = 2.0 * math.hypot(a_km * math.sin(th) * kx, a_km * math.cos(th) * ky)
            hgt = 2.0 * math.hypot(b_km * math.cos(th) * kx, b_km * math.sin(th) * ky)
            ang = math.degrees(math.atan2(math.cos(th) * ky, math.sin(th) * kx))
            ax_g.add_patch(
                Ellipse((ilon, ilat), w, hgt, angle=ang, fill=False, color=colour, lw=1.0)
            )
            ax_g.plot([ilon], [ilat], "x", color=colour, ms=6)
    ax_h.set_xlabel("time since the scenario epoch, s")
    ax_h.set_ylabel("height above the ellipsoid, km")
    ax_h.grid(alpha=0.3)
    if seen:
        ax_h.legend(loc="upper right", fontsize=8, title="track kind (grey: truth)")
    ax_g.set_xlabel("longitude, °E")
    ax_g.set_ylabel("latitude, °N")
    ax_g.set_aspect(1.0 / max(math.cos(math.radians(40.0)), 1e-3))
    ax_g.grid(alpha=0.3)
    ax_g.set_title("ground tracks; × and ellipse: last predicted impact (95 %)", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(png_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
