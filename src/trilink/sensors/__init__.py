"""Sensors: radar model, RCS, the sensor catalogue, detection simulation, scenario specs.

Radar part (issue 3): :class:`Radar` (faces, horizon, Swerling 1 SNR/Pd,
measurement noise, resolution and merging, false alarms), the public-source
catalogue (:data:`SENSORS`), :func:`simulate_detections` producing a
time-ordered :class:`DetectionBatch` (the detections-table contract) and
:func:`sensors_table` (the sensors-table contract).

Space part: :class:`SpaceIrSensor` (SBIRS-like GEO scanning IR; figures are
assumptions), :func:`simulate_ir_detections` and :func:`estimate_launch` (launch
point and time from line-of-sight looks). Coverage maps: :func:`coverage_footprint`
and :func:`plot_coverage`.
"""

from trilink.sensors.catalogue import SENSORS, SensorEntry, all_sensors, get_sensor, sensor_keys
from trilink.sensors.coverage import Footprint, coverage_footprint, plot_coverage
from trilink.sensors.detection import (
    DETECTION_COLUMNS,
    SENSOR_COLUMNS,
    DetectionBatch,
    sensors_table,
)
from trilink.sensors.radar import (
    NATIONS,
    Face,
    Radar,
    RotatingFace,
    detection_threshold,
    snr_for_pd,
    swerling1_pd,
)
from trilink.sensors.rcs import DEFAULT_RCS, RcsKind, RcsModel
from trilink.sensors.simulate import (
    first_detections,
    geometric_first_visibility,
    simulate_detections,
    simulate_object_detections,
)
from trilink.sensors.space_ir import (
    DEFAULT_SPACE_IR,
    LaunchEstimate,
    LosDetections,
    SpaceIrSensor,
    estimate_launch,
    simulate_ir_detections,
)
from trilink.sensors.spec import SensorSpec, build_sensor, build_sensors, decode_sensor_specs

__all__ = [
    "DEFAULT_RCS",
    "DEFAULT_SPACE_IR",
    "DETECTION_COLUMNS",
    "NATIONS",
    "SENSORS",
    "SENSOR_COLUMNS",
    "DetectionBatch",
    "Face",
    "Footprint",
    "LaunchEstimate",
    "LosDetections",
    "Radar",
    "RcsKind",
    "RcsModel",
    "RotatingFace",
    "SensorEntry",
    "SensorSpec",
    "SpaceIrSensor",
    "all_sensors",
    "build_sensor",
    "build_sensors",
    "coverage_footprint",
    "decode_sensor_specs",
    "detection_threshold",
    "estimate_launch",
    "first_detections",
    "geometric_first_visibility",
    "get_sensor",
    "plot_coverage",
    "sensor_keys",
    "sensors_table",
    "simulate_detections",
    "simulate_ir_detections",
    "simulate_object_detections",
    "snr_for_pd",
    "swerling1_pd",
]
