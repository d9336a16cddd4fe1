"""Acceptance of the warning chain on the built-in scenarios (issue 7).

* Seed (Hwasong-18, 2023-04-13 geometry), linked: no take-cover for any prefecture; the
  launch notice within 60 s of launch.
* IRBM over Aomori (2022-10-04), linked: take-cover for Aomori, and only for prefectures
  under the true ground track, ≥ 3 min before the true overflight.
* Every CAP file written validates against the CAP 1.2 XSD and round-trips.

Set ``TRILINK_RUN_CACHE`` to a folder to reuse pickled runs while developing.
"""

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from test_warning_cap import roundtrip, validate_cap
from trilink.geo.frames import ecef_to_geodetic
from trilink.scenario.build import get_scenario
from trilink.sim.run import run_scenario
from trilink.warning import japan_prefectures, pictures_from_link, run_warning
from trilink.warning.timeline import pictures_from_truth

pytestmark = pytest.mark.slow


def _run(name):
    cache = os.environ.get("TRILINK_RUN_CACHE")
    if cache:
        p = Path(cache) / f"{name}.pkl"
        if p.exists():
            return pickle.loads(p.read_bytes())
    r = run_scenario(get_scenario(name), track=True, link=True, warn=False)
    if cache:
        (Path(cache) / f"{name}.pkl").write_bytes(pickle.dumps(r))
    return r


def _true_overflight(r):
    """Prefecture → first time the true warhead is over it above 100 km."""
    ps = japan_prefectures()
    o = next(o for o in r.flights[0].objects if o.kind == "warhead")
    t = np.arange(o.t_start_s, o.t_impact_s, 1.0)
    lat, lon, h = ecef_to_geodetic(o.states_at(t)[:, :3])
    idx = ps.locate(np.degrees(lon), np.degrees(lat))
    out = {}
    for i in np.unique(idx[(idx >= 0) & (h > 100e3)]):
        out[ps.regions[i].code] = float(t[(idx == i) & (h > 100e3)][0])
    return out


@pytest.fixture(scope="module")
def seed():
    return _run("hwasong18-2023-04-13")


@pytest.fixture(scope="module")
def irbm():
    return _run("irbm-2022-10-04")


def test_seed_linked_no_take_cover_and_early_launch_notice(seed, tmp_path):
    t0 = seed.flights[0].launch.t_launch_s
    tl = run_warning(pictures_from_link(seed.link), seed.launch_notices, launch_time_s=t0)
    print(tl.format())
    assert tl.take_cover_regions() == (), f"false take-cover: {tl.format()}"
    ln = tl.first("launch_notice")
    assert ln is not None and ln.t_s - t0 <= 60.0, f"launch notice at {ln and ln.t_s - t0} s"
    imp = tl.first("impact_notice")
    assert imp is not None and imp.impact["where"] == "outside"
    paths = tl.write(tmp_path, epoch_utc=seed.scenario.spec.scenario.epoch_utc)
    for p in paths:
        if p.suffix == ".xml":
            validate_cap(p.read_bytes())
            roundtrip(p.read_bytes())


def test_irbm_linked_take_cover_aomori_3_min_before_overflight(irbm, tmp_path):
    t0 = irbm.flights[0].launch.t_launch_s
    truth = _true_overflight(irbm)
    assert set(truth) == {"JP-02"}, truth  # the true ground track crosses only Aomori
    tl = run_warning(pictures_from_link(irbm.link), irbm.launch_notices, launch_time_s=t0)
    print(tl.format())
    assert set(tl.take_cover_regions()) == set(truth), tl.format()
    lead = truth["JP-02"] - tl.take_cover_time_s("JP-02")
    assert lead >= 180.0, f"take-cover only {lead:.0f} s before overflight"
    # the earliest time the true trajectory allowed the decision (burnout)
    tt = run_warning(
        pictures_from_truth(irbm.flights, np.arange(0.0, 400.0, 1.0)), launch_time_s=t0
    )
    earliest = tt.take_cover_time_s("JP-02")
    assert earliest <= tl.take_cover_time_s("JP-02"), (earliest, tl.format())
    print(
        f"IRBM: linked take-cover T+{tl.take_cover_time_s('JP-02') - t0:.0f} s, "
        f"{lead:.0f} s before overflight; truth allowed T+{earliest - t0:.0f} s"
    )
    for p in tl.write(tmp_path, epoch_utc=irbm.scenario.spec.scenario.epoch_utc):
        if p.suffix == ".xml":
            validate_cap(p.read_bytes())
            roundtrip(p.read_bytes())


def test_same_picture_same_alerts(irbm):
    pics = pictures_from_link(irbm.link)[:200]
    a = run_warning(pics, irbm.launch_notices)
    b = run_warning(pics, irbm.launch_notices)
    assert [d.to_json() for d in a.decisions] == [d.to_json() for d in b.decisions]
