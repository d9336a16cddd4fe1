"""Warning: regions, threat assessment, alert policy, CAP 1.2 output and the alert timeline.

* :mod:`~trilink.warning.regions` — Japan's prefectures (japanmap), territorial sea and
  EEZ approximations, vectorised point location.
* :mod:`~trilink.warning.assessment` — per track: P(impact) per region and in the EEZ,
  P(overflight) per region, times.
* :mod:`~trilink.warning.policy` — the alert policy (launch notice, take cover, update,
  all clear, impact notice) as a deterministic state machine.
* :mod:`~trilink.warning.cap` — CAP 1.2 XML.
* :mod:`~trilink.warning.timeline` — :func:`run_warning` over a run's pictures.

Imports public types of geo, tracking and fusion (and sensors' coastlines); never link
transport details.
"""

from trilink.warning.assessment import (
    AssessmentConfig,
    EpochAssessment,
    TrackAssessment,
    assess,
)
from trilink.warning.cap import CapConfig, decision_to_cap
from trilink.warning.policy import AlertDecision, AlertPolicy, PolicyEngine
from trilink.warning.regions import (
    Region,
    RegionSet,
    japan_eez,
    japan_prefectures,
    japan_territorial_sea,
)
from trilink.warning.timeline import (
    AlertTimeline,
    WarningConfig,
    pictures_from_link,
    pictures_from_tracks,
    run_warning,
)

__all__ = [
    "AlertDecision",
    "AlertPolicy",
    "AlertTimeline",
    "AssessmentConfig",
    "CapConfig",
    "EpochAssessment",
    "PolicyEngine",
    "Region",
    "RegionSet",
    "TrackAssessment",
    "WarningConfig",
    "assess",
    "decision_to_cap",
    "japan_eez",
    "japan_prefectures",
    "japan_territorial_sea",
    "pictures_from_link",
    "pictures_from_tracks",
    "run_warning",
]
