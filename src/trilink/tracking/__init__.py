"""Tracking: each national node's multi-sensor, multi-target tracker.

* :mod:`~trilink.tracking.dynamics` — ECEF motion models (ballistic with J2, Earth
  rotation and drag; boost with thrust states) with analytic Jacobians.
* :mod:`~trilink.tracking.measurement` — radar detections converted to ECEF with
  their covariance; range-rate rows.
* :mod:`~trilink.tracking.filters` — IMM over the models, EKF or UKF.
* :mod:`~trilink.tracking.association` — χ² gating, GNN, cheap JPDA.
* :mod:`~trilink.tracking.tracker` — track management, children at separation,
  kinds, the tracks table.
* :mod:`~trilink.tracking.products` — impact point with its 95 % ellipse, apogee,
  launch point and time.
* :mod:`~trilink.tracking.io` — reading the contract tables with one-line errors.
"""

from trilink.tracking.filters import FilterConfig
from trilink.tracking.measurement import SensorSites
from trilink.tracking.tracker import TRACK_COLUMNS, Tracker, TrackerConfig, TrackOutput

__all__ = [
    "TRACK_COLUMNS",
    "FilterConfig",
    "SensorSites",
    "TrackOutput",
    "Tracker",
    "TrackerConfig",
]
