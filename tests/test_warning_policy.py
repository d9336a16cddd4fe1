"""Alert policy on synthetic assessment sequences: take cover, all clear, kinds, purity."""

import math
from dataclasses import dataclass

import numpy as np
import pytest

from trilink.tracking.products import ImpactPrediction
from trilink.warning.assessment import EpochAssessment, TrackAssessment
from trilink.warning.policy import AlertPolicy, PolicyEngine


@dataclass(frozen=True)
class Notice:
    threat_id: str
    issued_s: float


def _imp(t_imp, lat=40.8, lon=140.7):
    return ImpactPrediction(
        lat_rad=math.radians(lat),
        lon_rad=math.radians(lon),
        time_s=t_imp,
        cov_ne_m2=np.eye(2) * 1e8,
        sigma_time_s=1.0,
        ellipse_semi_major_m=24e3,
        ellipse_semi_minor_m=24e3,
        ellipse_orientation_rad=0.0,
    )


def _tr(
    t, *, kind="warhead", p_imp=None, p_over=None, t_over=None, thrusting=False, tid=1, t_imp=400.0
):
    return TrackAssessment(
        track_id=tid,
        kind=kind,
        possible_warhead=kind in ("warhead", "unknown"),
        thrusting=thrusting,
        t_s=t,
        alt_m=500e3,
        contributors="JP;KR",
        impact=_imp(t_imp),
        p_impact=p_imp or {},
        p_land=sum((p_imp or {}).values()),
        p_overflight=p_over or {},
        overflight_time_s=t_over or {},
    )


def _run(seq, notices=(), policy=None):
    eng = PolicyEngine(policy)
    for t, trs in seq:
        eng.step(EpochAssessment(t_s=t, tracks=tuple(trs)), notices)
    return eng.decisions


def test_take_cover_after_confirmation_then_passed():
    seq = [(t, [_tr(t, p_over={"JP-02": 1.0}, t_over={"JP-02": 350.0})]) for t in (80, 85, 90)]
    seq += [(t, [_tr(t)]) for t in (355, 360)]
    d = _run(seq)
    tc = [x for x in d if x.action == "take_cover"]
    assert len(tc) == 1 and tc[0].t_s == 85 and tc[0].regions == ("JP-02",)
    assert tc[0].msg_type == "Alert" and tc[0].evidence[0]["contributors"] == "JP;KR"
    ac = [x for x in d if x.action == "all_clear"]
    assert len(ac) == 1 and ac[0].msg_type == "Cancel" and "passed" in ac[0].headline
    assert ac[0].references == (tc[0].seq,)


def test_thrusting_tracks_and_far_future_do_not_trigger():
    seq = [(t, [_tr(t, p_imp={"JP-01": 0.9}, thrusting=True)]) for t in (40, 45, 50)] + [
        (t, [_tr(t, p_imp={"JP-01": 0.9}, t_imp=2000.0)]) for t in (60, 65, 70)
    ]
    assert not [x for x in _run(seq) if x.action == "take_cover"]


def test_stage_is_never_the_missile():
    seq = [(t, [_tr(t, kind="stage", p_imp={"JP-01": 0.5})]) for t in (100, 105)]
    seq += [(t, [_tr(t, kind="stage", p_imp={"JP-01": 0.5})]) for t in (500,)]
    d = _run(seq)
    (tc,) = [x for x in d if x.action == "take_cover"]
    assert "falling object" in tc.description.lower() and "missile may" not in tc.description
    # and the impact notice never names a stage as the missile
    assert not [x for x in d if x.action == "impact_notice"]


def test_correction_when_no_longer_threatened():
    seq = [(t, [_tr(t, p_imp={"JP-01": 0.5})]) for t in (100, 105)]
    seq += [(t, [_tr(t, p_imp={"JP-01": 0.01})]) for t in (110, 115)]
    d = _run(seq)
    assert [x.action for x in d] == ["take_cover", "all_clear"]
    assert d[1].msg_type == "Cancel" and "Correction" in d[1].description


def test_launch_notice_from_space_ir_or_boost():
    d = _run([(t, []) for t in (10, 20, 30)], notices=[Notice("T1", 20.0)])
    assert [(x.action, x.t_s) for x in d] == [("launch_notice", 20)]
    d = _run([(t, [_tr(t, thrusting=True)]) for t in (10, 15, 20)])
    assert [(x.action, x.t_s) for x in d] == [("launch_notice", 15)]


def test_impact_notice_outside_eez():
    seq = [(t, [_tr(t, t_imp=300.0)]) for t in (100, 200, 300)]
    d = _run(seq)
    (n,) = [x for x in d if x.action == "impact_notice"]
    assert n.t_s == 300 and n.impact["where"] == "outside"


def test_pure_function_of_inputs():
    seq = [(t, [_tr(t, p_over={"JP-02": 0.8}, t_over={"JP-02": 350.0})]) for t in range(80, 200, 5)]
    a = [x.to_json() for x in _run(seq)]
    b = [x.to_json() for x in _run(seq)]
    assert a == b


def test_policy_defaults_documented_and_checked():
    p = AlertPolicy()
    assert (p.take_cover_p_impact, p.take_cover_p_overflight, p.hazard_p_impact) == (0.05, 0.5, 0.2)
    assert (p.confirm_assessments, p.clear_assessments, p.max_lead_s) == (2, 2, 600.0)
    with pytest.raises(ValueError, match="take_cover_p_impact"):
        AlertPolicy(take_cover_p_impact=0.0)
    with pytest.raises(ValueError, match="time order"):
        eng = PolicyEngine()
        eng.step(EpochAssessment(t_s=5.0, tracks=()))
        eng.step(EpochAssessment(t_s=5.0, tracks=()))
