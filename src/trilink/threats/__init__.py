"""Threats: the missile catalogue, the vehicle model, trajectories, staging, launch sites."""

from trilink.threats.catalogue import MISSILES, get_missile
from trilink.threats.flight import (
    Flight,
    Launch,
    ObjectKind,
    ObjectTrajectory,
    StageImpact,
    Steering,
    fly,
    fly_batch,
)
from trilink.threats.loft import (
    LaunchGeometry,
    SolverError,
    TrajectoryShape,
    minimum_energy_steering,
    shape_steering,
    solve_apogee_range,
    solve_range,
)
from trilink.threats.sites import SITES, LaunchSite, get_site
from trilink.threats.vehicle import Missile, ReentryVehicle, Stage

__all__ = [
    "MISSILES",
    "SITES",
    "Flight",
    "Launch",
    "LaunchGeometry",
    "LaunchSite",
    "Missile",
    "ObjectKind",
    "ObjectTrajectory",
    "ReentryVehicle",
    "SolverError",
    "Stage",
    "StageImpact",
    "Steering",
    "TrajectoryShape",
    "fly",
    "fly_batch",
    "get_missile",
    "get_site",
    "minimum_energy_steering",
    "shape_steering",
    "solve_apogee_range",
    "solve_range",
]
