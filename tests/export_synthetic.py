"""A tiny synthetic run folder for export tests: three system tracks with known geodetic
positions (made with pyproj, the independent oracle), known ENU velocities and a known
ENU position covariance, written as ``run.json``, ``sensors.csv`` and ``system_tracks.csv``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

from trilink.sim.run import RUN_MANIFEST_VERSION

EPOCH_UTC = "2023-04-12T22:22:00+00:00"
V_ENU_MPS = np.array([1000.0, 2000.0, 500.0])  # east, north, up
SIGMA_ENU_M = np.array([100.0, 40.0, 25.0])  # 1-sigma east, north, up

# (global track number, kind, times s, lat0 deg, lon0 deg, alt m)
TRACKS = (
    (7, "warhead", np.arange(0.0, 13.0), 40.0, 130.0, 300_000.0),
    (12, "debris", np.array([3.0, 4.0]), 41.5, 131.25, 120_000.0),
    (40000, "stage", np.array([5.0, 6.0]), -10.0, 179.999, 80_000.0),  # crosses 180°
)
KEPT_TIMES = {7: [0.0, 5.0, 10.0, 12.0], 12: [3.0, 4.0], 40000: [5.0, 6.0]}
"""Updates kept at one per track every 5 s plus each track's last."""

_TO_ECEF = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)


def enu_axes(lat_deg: float, lon_deg: float) -> np.ndarray:
    """Rows: east, north, up unit vectors in ECEF at a geodetic point."""
    p, lam = np.radians(lat_deg), np.radians(lon_deg)
    return np.array(
        [
            [-np.sin(lam), np.cos(lam), 0.0],
            [-np.sin(p) * np.cos(lam), -np.sin(p) * np.sin(lam), np.cos(p)],
            [np.cos(p) * np.cos(lam), np.cos(p) * np.sin(lam), np.sin(p)],
        ]
    )


def geodetic_of_row(number: int, t_s: float) -> tuple[float, float, float]:
    """The (lat_deg, lon_deg, alt_m) the synthetic track ``number`` has at ``t_s``."""
    for n, _, times, lat0, lon0, alt in TRACKS:
        if n == number:
            k = float(t_s - times[0])
            return lat0 + 0.01 * k, lon0 + 0.005 * k, alt + 100.0 * k
    raise KeyError(number)


def make_run(root: Path) -> Path:
    """Write the synthetic run folder under ``root`` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "run.json").write_text(
        json.dumps(
            {
                "manifest_version": RUN_MANIFEST_VERSION,
                "scenario": "synthetic-export",
                "epoch_utc": EPOCH_UTC,
                "seed": 1,
            }
        )
    )
    pd.DataFrame(
        {
            "sensor_id": ["s1"],
            "nation": ["JP"],
            "lat_deg": [38.0],
            "lon_deg": [138.0],
            "alt_m": [0.0],
        }
    ).to_csv(root / "sensors.csv", index=False)
    rows = []
    names = ("x", "y", "z", "vx", "vy", "vz")
    for number, kind, times, _, _, _ in TRACKS:
        for t in times:
            lat, lon, alt = geodetic_of_row(number, t)
            x, y, z = _TO_ECEF.transform(lon, lat, alt)
            r_enu = enu_axes(lat, lon)
            v_ecef = r_enu.T @ V_ENU_MPS
            p6 = np.zeros((6, 6))
            p6[:3, :3] = r_enu.T @ np.diag(SIGMA_ENU_M**2) @ r_enu
            p6[3:, 3:] = np.eye(3) * 25.0
            row = {
                "time_s": t,
                "global_track_number": number,
                "x_ecef_m": x,
                "y_ecef_m": y,
                "z_ecef_m": z,
                "vx_ecef_mps": v_ecef[0],
                "vy_ecef_mps": v_ecef[1],
                "vz_ecef_mps": v_ecef[2],
            }
            for i in range(6):
                for j in range(i, 6):
                    row[f"cov_{names[i]}_{names[j]}"] = p6[i, j]
            row.update(
                {
                    "contributors": "KR;JP;US",
                    "kind": kind,
                    "kind_confidence": 0.9,
                    "reporting_nation": "JP",
                    "impact_lat_deg": 43.5 if kind == "warhead" else np.nan,
                    "impact_lon_deg": 136.5 if kind == "warhead" else np.nan,
                    "impact_time_s": 2000.0 if kind == "warhead" else np.nan,
                }
            )
            rows.append(row)
    pd.DataFrame(rows).to_csv(root / "system_tracks.csv", index=False)
    return root
