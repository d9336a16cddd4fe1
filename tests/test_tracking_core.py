"""Tracker building blocks: motion-model and measurement Jacobians, EKF/UKF agreement,
filter consistency, and the out-of-sequence window."""

from __future__ import annotations

import numpy as np
import pytest

from trilink.geo.frames import geodetic_to_ecef
from trilink.geo.gravity import apparent_accel_ecef_mps2, gravity_accel_mps2
from trilink.tracking import dynamics as dyn
from trilink.tracking.filters import FilterConfig, combine, imm_predict, imm_update
from trilink.tracking.measurement import (
    polar_jacobian,
    polar_to_ecef,
    range_rate,
    range_rate_jacobian,
)


def _states(n: int = 4, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lat = np.radians([40.0, -60.0, 10.0, 89.0])[:n]
    lon = np.radians([130.0, 10.0, 0.0, -170.0])[:n]
    alt = np.array([30e3, 500e3, 65e3, 1_500e3])[:n]
    x = np.zeros((n, dyn.N_STATE))
    x[:, 0:3] = geodetic_to_ecef(lat, lon, alt)
    x[:, 3:6] = rng.normal(size=(n, 3)) * 3_000.0
    x[:, 6:9] = rng.normal(size=(n, 3)) * 20.0
    x[:, 9] = 2e-3
    return x


def _numeric(f, x: np.ndarray, m: int) -> np.ndarray:
    J = np.zeros((x.shape[0], m, x.shape[1]))
    for j in range(x.shape[1]):
        h = np.maximum(np.abs(x[:, j]) * 1e-6, 1e-7)
        xp, xm = x.copy(), x.copy()
        xp[:, j] += h
        xm[:, j] -= h
        J[:, :, j] = (f(xp) - f(xm)) / (2.0 * h[:, None])
    return J


@pytest.mark.parametrize("model", [dyn.BOOST, dyn.BALLISTIC], ids=lambda m: m.name)
def test_motion_jacobian_matches_central_differences(model: dyn.MotionModel) -> None:
    x = _states()
    F = dyn.jacobian(x, model)
    Fn = _numeric(lambda s: dyn.derivative(s, model), x, dyn.N_STATE)
    # 2e-3 relative: the central difference of the standard atmosphere's density is
    # the only non-closed-form part (ρ is piecewise in the standard itself); 1e-9 s⁻²
    # absolute covers round-off of the differences on the near-zero entries.
    np.testing.assert_allclose(F, Fn, rtol=2e-3, atol=1e-9)


def test_motion_model_force_is_the_truth_model() -> None:
    """Gravity and rotation terms equal trilink.geo's (which are tested against
    published values) when drag and thrust are off (500 km and 1,500 km rows)."""
    x = _states()[[1, 3]]
    x[:, 6:9] = 0.0
    acc = dyn.derivative(x, dyn.BALLISTIC)[:, 3:6]
    ref = gravity_accel_mps2(x[:, 0:3]) + apparent_accel_ecef_mps2(x[:, 0:3], x[:, 3:6])
    np.testing.assert_allclose(acc, ref, rtol=0, atol=1e-12)


def test_propagation_matches_tight_rk4_and_stm_matches_differences() -> None:
    x = _states()[[1, 3]]
    x[:, 6:9] = 0.0
    coarse, phi = dyn.propagate(x, 60.0, dyn.BALLISTIC, max_step_s=5.0, with_stm=True)
    fine = dyn.propagate(x, 60.0, dyn.BALLISTIC, max_step_s=0.25)
    assert np.max(np.abs(coarse[:, 0:3] - fine[:, 0:3])) < 0.05  # m after 60 s
    num = np.zeros_like(phi)
    for j in range(6):
        h = 1.0 if j < 3 else 0.01
        xp, xm = x.copy(), x.copy()
        xp[:, j] += h
        xm[:, j] -= h
        num[:, :, j] = (
            dyn.propagate(xp, 60.0, dyn.BALLISTIC) - dyn.propagate(xm, 60.0, dyn.BALLISTIC)
        ) / (2 * h)
    # Φ is second order per 5 s sub-step (I + Fh + F²h²/2): 1 % of the 60 s coupling
    # terms, against the differences of the RK4 flow
    np.testing.assert_allclose(phi[:, 0:6, 0:6], num[:, 0:6, 0:6], rtol=1e-2, atol=1e-3)


def test_polar_and_range_rate_jacobians() -> None:
    rng = np.random.default_rng(0)
    n = 5
    site = geodetic_to_ecef(
        np.radians(np.full(n, 37.0)), np.radians(np.full(n, 127.5)), np.zeros(n)
    )
    from trilink.geo.frames import enu_rotation

    rot = np.asarray(enu_rotation(np.radians(np.full(n, 37.0)), np.radians(np.full(n, 127.5))))
    pol = np.column_stack(
        [rng.uniform(1e5, 2e6, n), rng.uniform(0, 2 * np.pi, n), rng.uniform(0.01, 1.3, n)]
    )
    J = polar_jacobian(rot, pol[:, 0], pol[:, 1], pol[:, 2])
    Jn = _numeric(lambda p: polar_to_ecef(site, rot, p[:, 0], p[:, 1], p[:, 2]), pol, 3)
    np.testing.assert_allclose(J, Jn, rtol=1e-6, atol=1e-3)
    x = _states()
    s4 = np.broadcast_to(site[0], (4, 3))
    H = range_rate_jacobian(x, s4, dyn.N_STATE)
    Hn = _numeric(lambda s: range_rate(s, s4)[:, None], x, 1)[:, 0, :]
    # atol: the difference step on a near-zero coordinate is 1e-7 m (round-off ~1e-6)
    np.testing.assert_allclose(H, Hn, rtol=1e-5, atol=1e-5)


def _coast_track() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = _states()[[1]]
    x[:, 6:9] = 0.0
    m = 2
    xs = np.repeat(x[:, None, :], m, axis=1)
    P = np.diag([200.0**2] * 3 + [5.0**2] * 3 + [1.0] * 3 + [1e-6])
    Ps = np.broadcast_to(P, (1, m, 10, 10)).copy()
    mu = np.array([[0.1, 0.9]])
    return xs, Ps, mu


def test_ekf_and_ukf_predictions_agree_on_a_coast() -> None:
    xs, Ps, mu = _coast_track()
    out = {}
    for kind in ("ekf", "ukf"):
        cfg = FilterConfig(kind=kind)
        x, P, m = imm_predict(xs, Ps, mu, np.array([100.0]), cfg)
        out[kind] = combine(x, P, m)
    (xe, Pe), (xu, Pu) = out["ekf"], out["ukf"]
    assert np.max(np.abs(xe[0, :3] - xu[0, :3])) < 5.0  # m, after 100 s
    se, su = np.sqrt(np.diag(Pe[0])[:6]), np.sqrt(np.diag(Pu[0])[:6])
    np.testing.assert_allclose(se, su, rtol=0.03)


def test_filter_is_consistent_on_a_coasting_object() -> None:
    """NEES of the IMM-EKF against a true ballistic arc, with exact measurement noise:
    the time-averaged NEES over 20 runs stays inside the χ²(6) 99 % interval."""
    rng = np.random.default_rng(7)
    cfg = FilterConfig()
    x_true0 = _states()[[1]]
    x_true0[:, 6:9] = 0.0
    x_true0[:, 9] = 0.0
    R = np.diag([60.0, 150.0, 150.0]) ** 2
    nees = []
    for _ in range(20):
        xs, Ps, mu = _coast_track()
        xs[:, :, 0:3] += rng.multivariate_normal(np.zeros(3), Ps[0, 0, :3, :3])
        xs[:, :, 3:6] += rng.multivariate_normal(np.zeros(3), Ps[0, 0, 3:6, 3:6])
        xt = x_true0.copy()
        for _k in range(60):
            xt = dyn.propagate(xt, 2.0, dyn.BALLISTIC)
            xs, Ps, mu = imm_predict(xs, Ps, mu, np.array([2.0]), cfg)
            z = xt[:, 0:3] + rng.multivariate_normal(np.zeros(3), R)
            res = imm_update(
                xs,
                Ps,
                mu,
                z,
                R[None],
                np.array([np.nan]),
                np.array([np.nan]),
                np.zeros((1, 3)),
                cfg,
            )
            xs, Ps, mu = res.x, res.P, res.mu
        xc, Pc = combine(xs, Ps, mu)
        e = xc[0, :6] - xt[0, :6]
        nees.append(float(e @ np.linalg.solve(Pc[0, :6, :6], e)))
    from scipy.stats import chi2

    n = len(nees)
    lo, hi = chi2.ppf(0.005, 6 * n) / n, chi2.ppf(0.995, 6 * n) / n
    # the filter carries process noise the truth does not have, so it may be
    # conservative (NEES below 6) but must never be overconfident
    assert np.mean(nees) < hi, (np.mean(nees), lo, hi)
    assert np.mean(nees) > 0.2 * lo, (np.mean(nees), lo, hi)


def test_fast_density_table_matches_the_standard() -> None:
    from trilink.geo.atmosphere import density_kgpm3

    h = np.random.default_rng(0).uniform(0.0, 200_000.0, 20_000)
    rel = np.abs(dyn.fast_density_kgpm3(h) / density_kgpm3(h) - 1.0)
    assert rel.max() < 2e-4


def test_compiled_kernels_match_the_numpy_reference() -> None:
    """The numba kernels compute what the readable numpy code computes."""
    from trilink.tracking import _kernels as kern

    rng = np.random.default_rng(11)
    x = _states()
    tau = np.array([0.0, 0.2, 0.2, 0.0])
    tab = dyn.DENSITY_TABLE
    np.testing.assert_allclose(kern.deriv_rows(x, tau, *tab), dyn.derivative(x, tau), rtol=1e-14)
    # the kernel takes ρ and dρ/dh from the 25 m table, the reference from the
    # standard itself: equal to the table's 2e-4 (test_fast_density_table_…)
    np.testing.assert_allclose(
        kern.jacobian_rows(x, tau, *tab), dyn.jacobian(x, tau), rtol=2e-4, atol=1e-15
    )
    dt = rng.uniform(-3.0, 7.0, 4)
    xa, pa = dyn.propagate(x, dt, tau, max_step_s=5.0, with_stm=True)
    xb, pb = dyn.propagate_reference(x, dt, tau, max_step_s=5.0, with_stm=True)
    np.testing.assert_allclose(xa, xb, rtol=1e-13, atol=1e-9)
    np.testing.assert_allclose(pa, pb, rtol=1e-6, atol=1e-9)


def test_compiled_imm_matches_the_numpy_reference() -> None:
    from trilink.tracking.filters import imm_predict_reference, imm_update_reference

    rng = np.random.default_rng(4)
    xs, Ps, mu = _coast_track()
    xs = np.repeat(xs, 3, axis=0)
    Ps = np.repeat(Ps, 3, axis=0)
    mu = np.array([[0.3, 0.7], [0.9, 0.1], [0.5, 0.5]])
    xs[:, 0, 6:9] = rng.normal(size=(3, 3)) * 10.0
    cfg = FilterConfig()
    # equal steps: identical arithmetic up to round-off
    dt = np.array([3.0, 3.0, 3.0])
    a = imm_predict(xs, Ps, mu, dt, cfg)
    b = imm_predict_reference(xs, Ps, mu, dt, cfg)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-11, atol=1e-6)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-8, atol=1e-9 * np.abs(b[1]).max())
    np.testing.assert_allclose(a[2], b[2], rtol=1e-12)
    # mixed steps: the kernel sub-steps each track on its own, the reference all rows
    # together (as many as the longest dt needs): RK4 differences of centimetres
    mixed = np.array([0.7, 3.0, 12.0])
    am = imm_predict(xs, Ps, mu, mixed, cfg)
    bm = imm_predict_reference(xs, Ps, mu, mixed, cfg)
    np.testing.assert_allclose(am[0][:, :, 0:3], bm[0][:, :, 0:3], rtol=0, atol=0.5)
    # no time passing (the kernel's shortcut) is what the reference's general path gives
    still = np.array([0.0, 3.0, 0.0])
    a0 = imm_predict(xs, Ps, mu, still, cfg)
    b0 = imm_predict_reference(xs, Ps, mu, still, cfg)
    np.testing.assert_allclose(a0[0], b0[0], rtol=1e-11, atol=1e-6)
    np.testing.assert_allclose(a0[1], b0[1], rtol=1e-8, atol=1e-9 * np.abs(b0[1]).max())
    np.testing.assert_allclose(a0[2], b0[2], rtol=1e-12)
    np.testing.assert_array_equal(a0[0][0], np.where(xs[0, :, 9:10] < 0, 0, xs[0]))
    z = a[0][:, 1, 0:3] + rng.normal(size=(3, 3)) * 100.0
    Rz = np.broadcast_to(np.diag([50.0, 200.0, 300.0]) ** 2, (3, 3, 3)).copy()
    rr = np.array([np.nan, 1234.0, -50.0])
    srr = np.array([np.nan, 2.0, 5.0])
    site = np.broadcast_to(geodetic_to_ecef(0.6, 2.2, 0.0), (3, 3)).copy()
    u = imm_update(a[0], a[1], a[2], z, Rz, rr, srr, site, cfg)
    v = imm_update_reference(a[0], a[1], a[2], z, Rz, rr, srr, site, cfg)
    np.testing.assert_allclose(u.x, v.x, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(u.P, v.P, rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(u.mu, v.mu, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(u.log_likelihood, v.log_likelihood, rtol=1e-9)


def test_cluster_components_match_scipy() -> None:
    """The tracker's label propagation finds the components scipy's graph search finds."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    from trilink.tracking.tracker import _components

    rng = np.random.default_rng(7)
    for n in (1, 2, 5, 40, 120):
        pts = rng.uniform(0.0, 1.0, size=(n, 2))
        adj = np.linalg.norm(pts[:, None] - pts[None], axis=2) <= 0.12
        mine = _components(adj)
        _, ref = connected_components(csr_matrix(adj), directed=False)
        # same partition: equal labels exactly where scipy's are equal
        np.testing.assert_array_equal(mine[:, None] == mine[None], ref[:, None] == ref[None])
        # each label is its component's smallest member
        assert all(mine[i] == np.flatnonzero(mine == mine[i]).min() for i in range(n))
