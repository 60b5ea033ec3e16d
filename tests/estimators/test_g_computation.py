"""G-computation: recovery, exact agreement with Lin's interacted regression
(cqox regression_adjustment and statsmodels OLS), bootstrap SE vs HC3, the
cluster bootstrap, speed on 1M rows, and contract checks.

Reference: for per-arm OLS the standardised contrast equals the coefficient on T
in OLS of Y on [1, T, Xc, T*Xc] with Xc centred at the full-sample means (ATE) or
the treated means (ATT) (Lin 2013, Ann Appl Stat 7:295, Sec. 2). The statsmodels
fit below is that reference, computed live; tolerance 1e-8 (same normal equations).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit
from threadpoolctl import threadpool_limits

import cqox_core as cq
from cqox_core.errors import CQOxError, MethodError, RoleError
from cqox_core.estimators.g_computation import linear_bootstrap

from .test_ipw import COVS, ROLES, naive_difference, simulate, true_att


@pytest.mark.parametrize("estimand", ["ate", "att"])
def test_recovers_effect_and_naive_does_not(estimand):
    df = simulate(4000, seed=1)
    res = cq.estimate("g_computation", df, **ROLES, estimand=estimand, seed=0)
    truth = 2.0 if estimand == "ate" else true_att()
    # per-arm OLS is the true model here; 4 bootstrap SEs bound the error with
    # probability > 0.9999 (plus ~5% Monte Carlo error in the SE with B = 200)
    tol = 4 * res.std_error
    assert abs(res.estimate - truth) < tol
    assert abs(naive_difference(df) - truth) > tol
    assert res.se_method == "bootstrap (B=200)"
    lo, hi = res.diagnostics["bootstrap_ci_percentile"]
    assert lo < res.estimate < hi


def lin_reference(df: pd.DataFrame, estimand: str):
    """statsmodels OLS of Y on [1, T, Xc, T*Xc] (Lin 2013) with HC3."""
    X, t = df[COVS], df.t.to_numpy()
    centred = X - (X[t == 1].mean() if estimand == "att" else X.mean())
    design = np.column_stack([np.ones(len(df)), t, centred, centred.mul(t, axis=0)])
    return sm.OLS(df.y.to_numpy(), design).fit(cov_type="HC3")


@pytest.mark.parametrize("estimand", ["ate", "att"])
@pytest.mark.parametrize("heterogeneous", [False, True])
def test_linear_gcomp_equals_lin_interacted_regression(estimand, heterogeneous):
    df = simulate(3000, seed=2, heterogeneous=heterogeneous)
    res = cq.estimate("g_computation", df, **ROLES, estimand=estimand, n_boot=400, with_gates=False)
    lin = cq.estimate("regression_adjustment", df, **ROLES, estimand=estimand, with_gates=False)
    ref = lin_reference(df, estimand)
    assert res.estimate == pytest.approx(lin.estimate, abs=1e-8)
    assert res.estimate == pytest.approx(ref.params[1], abs=1e-8)
    # HC3 treats the centring means as fixed (Lin 2013). With a heterogeneous effect
    # their sampling error adds d' Cov(x) d / n (ATE; treated Cov and n1 for the ATT),
    # d the slope differences (delta method) - about +20% here, so the plain HC3
    # comparison is made on the constant-effect design. B = 400 bootstrap SEs carry
    # ~3.5% Monte Carlo error; 20% is ~5 Monte Carlo SDs.
    target = ref.bse[1]
    if heterogeneous:
        X, t = df[COVS].to_numpy(), df.t.to_numpy()
        d = ref.params[5:8]
        rows = t == 1 if estimand == "att" else slice(None)
        target = math.sqrt(target ** 2 + d @ np.cov(X[rows].T) @ d / len(X[rows]))
        assert res.std_error > 1.1 * ref.bse[1]       # the extra term is real, not noise
    assert res.std_error == pytest.approx(target, rel=0.20)


def test_fast_bootstrap_equals_refitting_each_resample():
    """The count-weighted Gram shortcut must reproduce a plain per-resample refit on the
    same draws (same seed -> same index arrays); tolerance 1e-9 (rounding only)."""
    from cqox_core.inference import bootstrap_draws

    df = simulate(600, seed=3)
    X, y, t = df[COVS].to_numpy(), df.y.to_numpy(), df.t.to_numpy()
    for estimand in ("ate", "att"):
        fast = linear_bootstrap(X, y, t, None, estimand, 40, seed=5)
        order = np.argsort(-t, kind="stable")        # the fast path draws on treated-first rows
        Xs, ys, ts = X[order], y[order], t[order]
        slow = []
        for idx in bootstrap_draws(len(y), 40, 5):
            xb, yb, tb = Xs[idx], ys[idx], ts[idx]
            Z = np.column_stack([np.ones(len(yb)), xb])
            b1 = np.linalg.lstsq(Z[tb == 1], yb[tb == 1], rcond=None)[0]
            b0 = np.linalg.lstsq(Z[tb == 0], yb[tb == 0], rcond=None)[0]
            rows = tb == 1 if estimand == "att" else slice(None)
            slow.append(float((Z[rows] @ (b1 - b0)).mean()))
        np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-9)


def test_cluster_bootstrap_widens_the_se():
    """Site-level outcome shocks and site-level uptake: resampling whole sites must give
    a clearly larger SE than resampling rows (about 2x here; 1.3x is a loose floor)."""
    rng = np.random.default_rng(8)
    n, sites = 3000, 60
    X = rng.normal(size=(n, 3))
    site = rng.integers(0, sites, n)
    uptake, shock = rng.normal(size=sites), rng.normal(scale=2.0, size=sites)
    t = (rng.random(n) < expit(0.3 + 0.8 * X[:, 0] + uptake[site])).astype(float)
    y = 2 * t + 2 * X[:, 0] + X[:, 1] - X[:, 2] + shock[site] + rng.normal(size=n)
    df = pd.DataFrame({"y": y, "t": t, "x1": X[:, 0], "x2": X[:, 1], "x3": X[:, 2], "site": site})
    iid = cq.estimate("g_computation", df, **ROLES, with_gates=False)
    clu = cq.estimate("g_computation", df, **ROLES, cluster="site", with_gates=False)
    assert clu.estimate == pytest.approx(iid.estimate, abs=1e-12)
    assert clu.std_error > 1.3 * iid.std_error
    assert clu.se_method == "cluster bootstrap (B=200)"


@pytest.mark.slow
def test_linear_bootstrap_recovers_the_effect_on_a_million_rows():
    """1M rows x 10 covariates, B = 200, through the batched linear bootstrap (its speed is measured in
    bench/bench_observational.py, never in a test)."""
    rng = np.random.default_rng(0)
    n, k = 1_000_000, 10
    X = rng.normal(size=(n, k))
    t = (rng.random(n) < expit(X[:, 0] - 0.5 * X[:, 1])).astype(float)
    y = 1 + 2 * t + X @ np.linspace(1, 0.1, k) + rng.normal(size=n)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(k)]).assign(y=y, t=t)
    res = cq.estimate("g_computation", df, outcome="y", treatment="t", covariates=[f"x{i}" for i in range(k)],
                      with_gates=False, with_sensitivity=False)
    assert abs(res.estimate - 2.0) < 4 * res.std_error


def test_gbm_learner_runs():
    df = simulate(800, seed=4, heterogeneous=False)
    with threadpool_limits(1):      # see test_weighting: OpenMP spinning on a busy 2-core runner
        res = cq.estimate("g_computation", df, **ROLES, outcome_learner="gbm", n_boot=10, with_gates=False)
    assert math.isfinite(res.estimate) and res.std_error > 0
    # boosting with default settings is biased towards the mean at n = 800; 6 SE is loose by design
    assert abs(res.estimate - 2.0) < 6 * res.std_error
    assert res.se_method == "bootstrap (B=10)"


def test_seed_determinism_and_json_round_trip():
    df = simulate(800, seed=10)
    a = cq.estimate("g_computation", df, **ROLES, seed=3)
    b = cq.estimate("g_computation", df, **ROLES, seed=3)
    c = cq.estimate("g_computation", df, **ROLES, seed=4)
    assert a.to_dict() == b.to_dict()
    assert a.estimate == c.estimate and a.std_error != c.std_error   # the seed moves only the bootstrap
    text = json.dumps(a.to_dict(), allow_nan=False)
    assert json.loads(text) == a.to_dict()


def test_constant_treatment_is_a_typed_error():
    with pytest.raises(RoleError) as info:
        cq.estimate("g_computation", simulate(200, seed=0).assign(t=0.0), **ROLES)
    assert isinstance(info.value, CQOxError) and info.value.code == "E-ROLE-003"


def test_too_few_rows_per_arm_for_the_outcome_model_is_a_typed_error():
    df = simulate(200, seed=0)
    df["t"] = 0.0
    df.loc[:3, "t"] = 1.0                           # 4 treated rows for 1 + 3 coefficients
    with pytest.raises(CQOxError) as info:
        cq.estimate("g_computation", df, **ROLES)
    assert info.value.code == "E-EST-002"


def test_failed_resamples_are_warned_not_hidden():
    """With 6 treated rows and 3 covariates many resamples cannot fit the treated model;
    they are skipped with a warning and the estimate stays finite."""
    df = simulate(300, seed=1)
    df["t"] = 0.0
    df.loc[:5, "t"] = 1.0
    res = cq.estimate("g_computation", df, **ROLES, n_boot=50, with_gates=False)
    assert math.isfinite(res.estimate)
    assert any("bootstrap resamples" in w for w in res.warnings)
    assert res.diagnostics["bootstrap_replicates"] < 50


def test_bad_n_boot_is_a_typed_error():
    with pytest.raises(MethodError):
        cq.estimate("g_computation", simulate(300, seed=0), **ROLES, n_boot=1)
