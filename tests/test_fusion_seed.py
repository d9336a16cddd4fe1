"""The hub's fusion on the seed scenario (slow: runs the three national trackers).

**Truth association** (the same for national and fused tracks): each row's nearest
truth object within ``GATE_M`` (none beyond); a track (national local id, or global
track number) *follows* the object it is nearest to in most of its rows, and every
row of a track that follows the warhead counts as a warhead row, whatever it is
nearest to at that epoch. "The national warhead track" of a nation is the set of its
tracks that follow the warhead (several: national trackers renumber and duplicate).

**Epochs with ≥ 2 nations**: epochs at which at least two nations have a row of a
track following the warhead. **Overall**: every warhead row of the track set.

**Duplicates**: a *duplicate epoch* of object o is an epoch at which ≥ 2 tracks'
rows are nearest to o. A fused duplicate epoch is *excused* when some nation itself
has a duplicate epoch on o at that epoch (the hub cannot tell two national tracks
of one body from two bodies until they converge). A duplicate is a run of more than
``MAX_DUP_RUN`` consecutive unexcused duplicate epochs; none may exist.

Figures are printed (``pytest -s``); every figure printed is asserted."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy.stats import chi2

from trilink.fusion import fuse_run
from trilink.fusion.reports import covariance_from_columns
from trilink.scenario.build import get_scenario
from trilink.sim.run import run_scenario
from trilink.threats.truth import truth_table

GATE_M = 5_000.0
MAX_DUP_RUN = 5
NEES_BAND = (float(chi2.ppf(0.025, 3)), float(chi2.ppf(0.975, 3)))  # 0.216, 9.35


@pytest.fixture(scope="module")
def seed():
    return run_scenario(get_scenario(None), track=True, link=False)


def _truth_positions(flights):
    tt = truth_table(flights, 1.0, 2700.0)
    ids = sorted(set(tt["object_id"].tolist()))
    idx = {o: i for i, o in enumerate(ids)}
    pos = np.full((int(tt["time_s"].max()) + 2, len(ids), 3), np.nan)
    ti = np.round(tt["time_s"]).astype(int)
    ok = np.abs(tt["time_s"] - ti) < 1e-9
    oi = np.array([idx[o] for o in tt["object_id"].tolist()])
    pos[ti[ok], oi[ok]] = np.column_stack([tt[k] for k in ("x_ecef_m", "y_ecef_m", "z_ecef_m")])[ok]
    return ids, pos


def _follow(pos, t, tid, r):
    d = np.linalg.norm(pos[t] - r[:, None, :], axis=2)
    d = np.where(np.isnan(d), np.inf, d)
    near = np.where(d.min(axis=1) < GATE_M, d.argmin(axis=1), -1)
    obj = {
        k: Counter(near[tid == k].tolist()).most_common(1)[0][0] for k in np.unique(tid).tolist()
    }
    return near, np.array([obj[k] for k in tid.tolist()])


def _dup_epochs(t, near) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for tk in np.unique(t).tolist():
        o = near[t == tk]
        for ob, k in Counter(o[o >= 0].tolist()).items():
            if k >= 2:
                out.setdefault(ob, set()).add(tk)
    return out


def _longest_run(epochs: set[int]) -> int:
    if not epochs:
        return 0
    e = np.array(sorted(epochs))
    cut = np.flatnonzero(np.diff(e) != 1)
    return int(np.diff(np.concatenate([[0], cut + 1, [e.size]])).max())


@pytest.mark.slow
def test_fused_warhead_track_and_duplicates(seed) -> None:
    ids, pos = _truth_positions(seed.flights)
    wi = ids.index("T1-warhead")
    cols = {n: tr.columns for n, tr in seed.tracks.items()}
    # national warhead rows and duplicates
    nat, nat_dup, nat_ep = {}, {}, {}
    for n, c in cols.items():
        tn = np.round(c["time_s"]).astype(int)
        r = np.column_stack([c[k] for k in ("x_ecef_m", "y_ecef_m", "z_ecef_m")])
        near, fn = _follow(pos, tn, c["track_id"], r)
        mm = (fn == wi) & np.isfinite(pos[tn, wi, 0])
        nat[n] = (tn[mm], r[mm] - pos[tn[mm], wi], covariance_from_columns(c)[mm, :3, :3])
        nat_ep[n] = set(tn[mm].tolist())
        for ob, es in _dup_epochs(tn, near).items():
            nat_dup.setdefault(ob, set()).update(es)
    count = Counter(k for s in nat_ep.values() for k in s)
    multi_ep = np.array(sorted(k for k, v in count.items() if v >= 2))
    # the hub
    out = fuse_run(cols)
    t = np.concatenate([np.full(len(o), round(o.time_s)) for o in out])
    g = np.concatenate([o.global_track_number for o in out])
    x = np.concatenate([o.state for o in out])
    P = np.concatenate([o.covariance for o in out])
    near, fo = _follow(pos, t, g, x[:, :3])
    m = (fo == wi) & np.isfinite(pos[t, wi, 0])
    e = x[m, :3] - pos[t[m], wi]
    err2 = np.sum(e**2, axis=1)
    nees = np.einsum("ni,nij,nj->n", e, np.linalg.inv(P[m, :3, :3]), e)
    multi = np.isin(t[m], multi_ep)
    fused_all = float(np.sqrt(err2.mean()))
    fused_multi = float(np.sqrt(err2[multi].mean()))
    nm = int(multi.sum())
    band_n = (chi2.ppf(0.025, 3 * nm) / nm, chi2.ppf(0.975, 3 * nm) / nm)
    print(
        f"\nfused warhead ({len(set(g[m].tolist()))} global numbers): {m.sum()} rows, RMSE "
        f"{fused_all:.0f} m; on {nm} rows at epochs with >= 2 nations RMSE {fused_multi:.0f} m"
        f"\n  NEES (3-dof position): mean {nees[multi].mean():.2f} on the >=2-nation rows "
        f"(median {np.median(nees[multi]):.2f}), mean {nees.mean():.2f} on all rows; "
        f"95% band of one χ²(3) draw {NEES_BAND[0]:.3f}-{NEES_BAND[1]:.2f}, of the mean of "
        f"{nm} independent draws {band_n[0]:.2f}-{band_n[1]:.2f}"
    )
    rmse = {}
    for n, (tn, en, Pn) in nat.items():
        e2 = np.sum(en**2, axis=1)
        inm = np.isin(tn, multi_ep)
        ne = np.einsum("ni,nij,nj->n", en, np.linalg.inv(Pn), en)
        rmse[n] = (float(np.sqrt(e2.mean())), float(np.sqrt(e2[inm].mean())))
        print(
            f"  {n} warhead: {tn.size} rows RMSE {rmse[n][0]:.0f} m; {inm.sum()} rows at "
            f">=2-nation epochs RMSE {rmse[n][1]:.0f} m; mean NEES {ne.mean():.0f}"
        )
    dup = _dup_epochs(t, near)
    raw = {ids[o]: (len(es), _longest_run(es)) for o, es in dup.items()}
    unexcused = {ids[o]: _longest_run(es - nat_dup.get(o, set())) for o, es in dup.items()}
    worst = max(unexcused.values(), default=0)
    print(
        "  fused duplicate epochs (epochs, longest run), all: "
        f"{sorted(raw.items(), key=lambda kv: -kv[1][1])[:5]}\n"
        f"  longest run not excused by a national duplicate: {worst} "
        f"({sorted(unexcused.items(), key=lambda kv: -kv[1])[:3]})"
    )
    for n in rmse:
        assert fused_multi < rmse[n][1], (n, fused_multi, rmse[n][1])
        assert fused_all < rmse[n][0], (n, fused_all, rmse[n][0])
    assert NEES_BAND[0] <= nees[multi].mean() <= NEES_BAND[1], nees[multi].mean()
    assert NEES_BAND[0] <= nees.mean() <= NEES_BAND[1], nees.mean()
    assert worst <= MAX_DUP_RUN, unexcused
