"""A tiny synthetic run folder for the picture exports (CZML, KML, GeoJSON, partner view).

Two fused tracks and one national track per nation with positions made by pyproj (the
independent geodesy oracle) from known geodetic points; a 20 × 8 km impact ellipse at
a known point; a take-cover alert for Hokkaido (JP-01) from 10 s to 40 s and for Aomori
(JP-02) from 20 s to the end of the run; events in which the hub released fused track
2 to KR only from 6 s on.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

from trilink.sim.run import RUN_MANIFEST_VERSION

EPOCH_UTC = "2023-04-12T22:22:00+00:00"
DURATION_S = 60.0
IMPACT = {"lat_deg": 41.0, "lon_deg": 134.0, "time_s": 500.0}
ELLIPSE = {"semi_major_m": 20_000.0, "semi_minor_m": 8_000.0, "orientation_deg": 30.0}
ALERTS = {"JP-01": [(10.0, 40.0)], "JP-02": [(20.0, DURATION_S)]}
KR_RELEASED_FROM_S = 6.0
"""Fused track 2 is refused to KR before this time, released after."""

# (table, id, kind, times s, lat0 deg, lon0 deg, alt0 m, dlat deg/s, dlon deg/s, dalt m/s)
TRACKS = (
    ("system", 1, "warhead", np.arange(0.0, 21.0), 40.0, 130.0, 100_000.0, 0.01, 0.02, 1500.0),
    ("system", 2, "stage", np.arange(2.0, 12.0), 40.5, 131.0, 80_000.0, 0.0, 0.01, -500.0),
    ("JP", 5, "warhead", np.arange(3.0, 15.0), 40.1, 130.1, 110_000.0, 0.01, 0.02, 1500.0),
    ("KR", 9, "warhead", np.arange(0.0, 10.0), 39.9, 129.9, 90_000.0, 0.01, 0.02, 1500.0),
    ("US", 3, "unknown", np.arange(4.0, 9.0), 40.2, 130.2, 120_000.0, 0.01, 0.02, 1500.0),
)
SENSORS = (
    ("jp-radar", "JP", 38.07, 138.42, 1000.0),
    ("kr-radar", "KR", 36.9, 127.6, 300.0),
    ("us-radar", "US", 40.888, 140.338, 30.0),
)
_TO_ECEF = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
TO_GEODETIC = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)
"""ECEF (m) → (lon_deg, lat_deg, height above the WGS-84 ellipsoid m), the oracle."""


def geodetic(track: tuple, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    _, _, _, t, lat0, lon0, alt0, dlat, dlon, dalt = track
    dt = np.asarray(t_s, dtype=float) - t[0]
    return lat0 + dlat * dt, lon0 + dlon * dt, alt0 + dalt * dt


def _table(track: tuple, id_col: str) -> pd.DataFrame:
    _, number, kind, t, *_ = track
    lat, lon, alt = geodetic(track, t)
    x, y, z = _TO_ECEF.transform(lon, lat, alt)
    n = len(t)
    df = pd.DataFrame(
        {
            "time_s": t,
            id_col: np.full(n, number),
            "x_ecef_m": x,
            "y_ecef_m": y,
            "z_ecef_m": z,
            "vx_ecef_mps": np.zeros(n),
            "vy_ecef_mps": np.zeros(n),
            "vz_ecef_mps": np.zeros(n),
            "kind": [kind] * n,
            "impact_lat_deg": np.full(n, IMPACT["lat_deg"]),
            "impact_lon_deg": np.full(n, IMPACT["lon_deg"]),
            "impact_time_s": np.full(n, IMPACT["time_s"]),
            "impact_semi_major_m": np.full(n, ELLIPSE["semi_major_m"]),
            "impact_semi_minor_m": np.full(n, ELLIPSE["semi_minor_m"]),
            "impact_orientation_deg": np.full(n, ELLIPSE["orientation_deg"]),
        }
    )
    if id_col == "global_track_number":
        df["contributors"] = "KR;JP"
        df["members"] = "KR:9;JP:5"
    return df


def make_run(root: Path, *, alerts: bool = True, events: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    manifest = {
        "manifest_version": RUN_MANIFEST_VERSION,
        "scenario": "synthetic-picture",
        "epoch_utc": EPOCH_UTC,
        "seed": 1,
        "duration_s": DURATION_S,
    }
    (root / "run.json").write_text(json.dumps(manifest))
    pd.DataFrame(SENSORS, columns=["sensor_id", "nation", "lat_deg", "lon_deg", "alt_m"]).to_csv(
        root / "sensors.csv", index=False
    )
    system = pd.concat([_table(tr, "global_track_number") for tr in TRACKS if tr[0] == "system"])
    system = system.sort_values(["time_s", "global_track_number"]).reset_index(drop=True)
    system.to_csv(root / "system_tracks.csv", index=False)
    for tr in TRACKS:
        if tr[0] != "system":
            _table(tr, "track_id").to_csv(root / f"tracks_{tr[0]}.csv", index=False)
    if alerts:
        decisions = [
            {"t_s": 10.0, "action": "take_cover", "regions": ["JP-01"], "active": ["JP-01"]},
            {
                "t_s": 20.0,
                "action": "take_cover",
                "regions": ["JP-02"],
                "active": ["JP-01", "JP-02"],
            },
            {"t_s": 40.0, "action": "all_clear", "regions": ["JP-01"], "active": ["JP-02"]},
        ]
        (root / "alerts.jsonl").write_text("".join(json.dumps(d) + "\n" for d in decisions))
    if events:
        lines = []
        for row in system.itertuples(index=False):
            sent = float(row.time_s) + 0.055
            gtn = int(row.global_track_number)
            lines.append(
                {
                    "t_s": sent,
                    "event": "system_track",
                    "global_track_number": gtn,
                    "time_of_validity_s": float(row.time_s),
                }
            )
            for to in ("JP", "KR", "US"):
                refused = to == "KR" and gtn == 2 and row.time_s < KR_RELEASED_FROM_S
                lines.append(
                    {
                        "t_s": sent,
                        "event": "relay",
                        "from": "HUB",
                        "to": to,
                        "type": "SystemTrack",
                        "global_track_number": gtn,
                        "decision": "refused" if refused else "released",
                    }
                )
        (root / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    return root
