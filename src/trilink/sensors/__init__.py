"""Sensors: radar model, RCS, the sensor catalogue, detection simulation, scenario specs.

Radar part (issue 3): :class:`Radar` (faces, horizon, Swerling 1 SNR/Pd,
measurement noise, resolution and merging, false alarms), the public-source
catalogue (:data:`SENSORS`), :func:`simulate_detections` producing a
time-ordered :class:`DetectionBatch` (the detections-table contract) and
:func:`sensors_table` (the sensors-table contract).
"""

from trilink.sensors.catalogue import SENSORS, SensorEntry, all_sensors, get_sensor, sensor_keys
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
from trilink.sensors.spec import SensorSpec, build_sensor, build_sensors, decode_sensor_specs

__all__ = [
    "DEFAULT_RCS",
    "DETECTION_COLUMNS",
    "NATIONS",
    "SENSORS",
    "SENSOR_COLUMNS",
    "DetectionBatch",
    "Face",
    "Radar",
    "RcsKind",
    "RcsModel",
    "RotatingFace",
    "SensorEntry",
    "SensorSpec",
    "all_sensors",
    "build_sensor",
    "build_sensors",
    "decode_sensor_specs",
    "detection_threshold",
    "first_detections",
    "geometric_first_visibility",
    "get_sensor",
    "sensor_keys",
    "sensors_table",
    "simulate_detections",
    "simulate_object_detections",
    "snr_for_pd",
    "swerling1_pd",
]
