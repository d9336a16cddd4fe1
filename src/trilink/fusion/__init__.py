"""The hub's fusion: track-to-track association and fusion, global track numbers,
sensor registration.

* :mod:`~trilink.fusion.reports` — :class:`TrackReports`, the vectorised input.
* :mod:`~trilink.fusion.predict` — ballistic alignment of 6-states with covariance.
* :mod:`~trilink.fusion.rules` — fast covariance intersection, the information sum and
  the information sum scaled by the estimates' disagreement (PDG scale factor).
* :mod:`~trilink.fusion.fuser` — :class:`Fuser` (association over time, global track
  numbers, reporting responsibility, merges) and :func:`fuse_run`.
* :mod:`~trilink.fusion.registration` — per-sensor range/azimuth/elevation bias
  estimation and :func:`correct_detections`.

Imports only public types of geo, sensors and tracking; never the link package.
"""

from trilink.fusion.fuser import Fuser, FuserConfig, SystemTracks, fuse_run, reporting_member
from trilink.fusion.reports import TrackReports
from trilink.fusion.rules import (
    covariance_intersection,
    fast_ci_weights,
    independent_fusion,
    scaled_fusion,
)

__all__ = [
    "Fuser",
    "FuserConfig",
    "SystemTracks",
    "TrackReports",
    "covariance_intersection",
    "fast_ci_weights",
    "fuse_run",
    "independent_fusion",
    "reporting_member",
    "scaled_fusion",
]
