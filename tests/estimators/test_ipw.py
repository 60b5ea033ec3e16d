"""IPW: recovery of known effects, agreement with statsmodels WLS, a finite-difference sandwich and a
bootstrap, trimming and stabilising, cluster-robust SEs, typed errors; and, for ipw, aipw and
g_computation, the LaLonde (1986) / Dehejia & Wahba (1999) NSW experimental benchmark: the
treated-minus-control difference in mean 1978 earnings, $1794 (1794.34 on ``causaldata.nsw_mixtape``)."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit

import cqox_core as cq
from cqox_core.datasets.observational import PS_COEF
from cqox_core.datasets.observational import heterogeneous_true_att as true_att
from cqox_core.datasets.observational import simulate_heterogeneous as simulate
from cqox_core.errors import CQOxError, MethodError, RoleError
from cqox_core.estimators._propensity import hajek_influence
from cqox_core.nuisance import fit_logit

COVS = ["x1", "x2", "x3"]
ROLES = dict(outcome="y", treatment="t", covariates=COVS)

#: EconML LinearDRLearner ATE on simulate_linear(4000, seed=11); produced by econml_reference().
ECONML_ATE_SEED11 = 2.0024358271643248
ECONML_SE_SEED11 = 0.03503912537583926
NSW_EXPERIMENTAL_ATT = 1794.34
NSW_COVS = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]



def naive_difference(df: pd.DataFrame) -> float:
    return df.y[df.t == 1].mean() - df.y[df.t == 0].mean()


# ---------------------------------------------------------------------------
# IPW
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("estimand", ["ate", "att"])
def test_ipw_recovers_effect_and_naive_does_not(estimand):
    df = simulate(4000, seed=1)
    res = cq.estimate("ipw", df, **ROLES, estimand=estimand, seed=0)
    truth = 2.0 if estimand == "ate" else true_att()
    # The logit is correctly specified, so the Hajek estimator is consistent; 4 SE
    # bounds the error with probability > 0.9999 under the normal approximation.
    tol = 4 * res.std_error
    assert abs(res.estimate - truth) < tol
    assert abs(naive_difference(df) - truth) > tol      # confounding by x1 moves the naive contrast by ~2
    assert res.ci_lower < truth < res.ci_upper or abs(res.estimate - truth) < 3 * res.std_error


def test_heterogeneous_design_really_separates_ate_and_att():
    att = cq.estimate("ipw", simulate(4000, seed=1), **ROLES, estimand="att")
    assert true_att() - 2.0 > 0.4                     # analytic: 1.5 E[x1 | T=1] = 1.5 x 0.289 = 0.433
    assert abs(att.estimate - 2.0) > 4 * att.std_error  # the ATT estimate is not the ATE


@pytest.mark.parametrize("estimand", ["ate", "att"])
def test_ipw_point_equals_statsmodels_wls_with_the_same_weights(estimand):
    """Reference: statsmodels WLS of Y on [1, T] with the Hajek weights; the T
    coefficient is algebraically the Hajek contrast. Tolerance 1e-8 (same arithmetic)."""
    df = simulate(3000, seed=2)
    res = cq.estimate("ipw", df, **ROLES, estimand=estimand, trim=0.05)
    X, t, y = df[COVS].to_numpy(), df.t.to_numpy(), df.y.to_numpy()
    e = fit_logit(X, t).fitted
    keep = (e >= 0.05) & (e <= 0.95)
    w = t / e + (1 - t) / (1 - e) if estimand == "ate" else t + (1 - t) * e / (1 - e)
    wls = sm.WLS(y[keep], sm.add_constant(t[keep]), weights=w[keep]).fit()
    assert res.estimate == pytest.approx(wls.params[1], abs=1e-8)
    assert res.diagnostics["trimmed"] == int((~keep).sum()) > 0
    # with statsmodels' own Logit the score differs only by fit_logit's 1e-8 ridge
    e_sm = sm.Logit(t, sm.add_constant(X)).fit(disp=0, tol=1e-12).predict()
    w_sm = t / e_sm + (1 - t) / (1 - e_sm) if estimand == "ate" else t + (1 - t) * e_sm / (1 - e_sm)
    wls_sm = sm.WLS(y[keep], sm.add_constant(t[keep]), weights=w_sm[keep]).fit()
    assert res.estimate == pytest.approx(wls_sm.params[1], abs=1e-5)


def stacked_equations(theta: np.ndarray, y: np.ndarray, t: np.ndarray, Z: np.ndarray,
                      estimand: str) -> np.ndarray:
    """Per-unit estimating functions g_i(mu1, mu0, beta) written out independently."""
    mu1, mu0, beta = theta[0], theta[1], theta[2:]
    e = expit(Z @ beta)
    if estimand == "ate":
        a1, a0 = t / e, (1 - t) / (1 - e)
    else:
        a1, a0 = t, (1 - t) * e / (1 - e)
    return np.column_stack([a1 * (y - mu1), a0 * (y - mu0), (t - e)[:, None] * Z])


@pytest.mark.parametrize("estimand", ["ate", "att"])
def test_ipw_sandwich_matches_a_finite_difference_m_estimation_sandwich(estimand):
    """Independent check of the derivation: the Jacobian A of the stacked equations by
    central differences and V = A^-1 B A^-T / n (Stefanski & Boos 2002). Tolerance 1e-5
    relative: finite-difference error with step 1e-6 is ~1e-9 of the entries."""
    df = simulate(1500, seed=3)
    y, t, X = df.y.to_numpy(), df.t.to_numpy(), df[COVS].to_numpy()
    res = cq.estimate("ipw", df, **ROLES, estimand=estimand, trim=None, with_gates=False)
    fit = fit_logit(X, t)
    a1 = t / fit.fitted if estimand == "ate" else t
    a0 = (1 - t) / (1 - fit.fitted) if estimand == "ate" else (1 - t) * fit.fitted / (1 - fit.fitted)
    theta = np.concatenate([[np.sum(a1 * y) / a1.sum(), np.sum(a0 * y) / a0.sum()], fit.coef])
    n, h = len(y), 1e-6
    jac = np.empty((theta.size, theta.size))
    for j in range(theta.size):
        step = np.zeros(theta.size)
        step[j] = h
        jac[:, j] = (stacked_equations(theta + step, y, t, fit.design, estimand).mean(axis=0)
                     - stacked_equations(theta - step, y, t, fit.design, estimand).mean(axis=0)) / (2 * h)
    g = stacked_equations(theta, y, t, fit.design, estimand)
    a_inv = np.linalg.inv(jac)
    cov = a_inv @ (g.T @ g / n) @ a_inv.T / n
    contrast = np.zeros(theta.size)
    contrast[:2] = [1, -1]
    se_fd = math.sqrt(contrast @ cov @ contrast)
    # influence_se uses n-1 in the variance; the textbook sandwich uses n
    assert res.std_error * math.sqrt((n - 1) / n) == pytest.approx(se_fd, rel=1e-5)


@pytest.mark.parametrize("estimand", ["ate", "att"])
def test_ipw_sandwich_agrees_with_a_large_bootstrap(estimand):
    """B = 1000 resamples refitting the logit: the bootstrap SE has Monte Carlo relative
    error ~1/sqrt(2B) = 2.2%, so 15% allows ~5 MC SDs plus finite-sample differences.
    The check has teeth: the usual 'weights known' robust WLS SE is >25% off here."""
    df = simulate(2000, seed=4)
    y, t, X = df.y.to_numpy(), df.t.to_numpy(), df[COVS].to_numpy()
    res = cq.estimate("ipw", df, **ROLES, estimand=estimand, trim=None, with_gates=False)
    rng = np.random.default_rng(123)
    draws = []
    for _ in range(1000):
        idx = rng.integers(0, len(y), len(y))
        fit = fit_logit(X[idx], t[idx])
        draws.append(hajek_influence(y[idx], t[idx], fit.fitted, fit.design, np.ones(len(y), bool), estimand)[0])
    boot_se = np.std(draws, ddof=1)
    assert res.std_error == pytest.approx(boot_se, rel=0.15)
    e = fit_logit(X, t).fitted
    w = t / e + (1 - t) / (1 - e) if estimand == "ate" else t + (1 - t) * e / (1 - e)
    naive_se = sm.WLS(y, sm.add_constant(t), weights=w).fit(cov_type="HC0").bse[1]
    assert abs(naive_se / boot_se - 1) > 0.25


def test_ipw_trimming_is_reported_and_quantile_rule_works():
    df = simulate(3000, seed=5)
    e = fit_logit(df[COVS].to_numpy(), df.t.to_numpy()).fitted
    res = cq.estimate("ipw", df, **ROLES, trim=0.1)
    outside = int(np.sum((e < 0.1) | (e > 0.9)))
    assert res.diagnostics["trimmed"] == outside > 0
    assert res.n_obs == len(df) - outside
    assert any(f"removed {outside} of {len(df)}" in w for w in res.warnings)
    quant = cq.estimate("ipw", df, **ROLES, trim_quantile=0.05)
    lo, hi = np.quantile(e, [0.05, 0.95])
    assert quant.diagnostics["trimmed"] == int(np.sum((e < lo) | (e > hi)))
    none = cq.estimate("ipw", df, **ROLES, trim=None)
    assert none.diagnostics["trimmed"] == 0 and none.n_obs == len(df)


def test_stabilizing_changes_the_weights_not_the_hajek_estimate():
    df = simulate(2000, seed=6)
    a = cq.estimate("ipw", df, **ROLES, stabilize=True)
    b = cq.estimate("ipw", df, **ROLES, stabilize=False)
    assert a.estimate == pytest.approx(b.estimate, abs=1e-12)
    assert a.std_error == pytest.approx(b.std_error, abs=1e-12)
    # stabilised ATE weights sum to about the arm sizes; raw ones to about n in each arm
    n1 = df.t.sum()
    assert a.diagnostics["weight_sum_treated"] == pytest.approx(n1, rel=0.1)
    assert b.diagnostics["weight_sum_treated"] == pytest.approx(len(df), rel=0.1)
    for key in ("effective_sample_size_ratio", "max_weight_ratio", "smd_after", "common_support_share",
                "propensity_auc"):
        assert key in a.diagnostics
    assert max(abs(v) for v in a.diagnostics["smd_after"].values()) < 0.1 < max(
        abs(v) for v in a.diagnostics["smd_before"].values())


def test_ipw_cluster_robust_se_grows_with_cluster_shocks():
    """60 sites with a shared outcome shock and site-level differences in treatment
    uptake (independent of the shock, so no bias): the cluster-robust SE must exceed the
    iid one clearly (here by ~2x; 1.3x is a loose floor)."""
    rng = np.random.default_rng(8)
    n, sites = 3000, 60
    X = rng.normal(size=(n, 3))
    site = rng.integers(0, sites, n)
    uptake, shock = rng.normal(size=sites), rng.normal(scale=2.0, size=sites)
    t = (rng.random(n) < expit(PS_COEF[0] + X @ PS_COEF[1:] + uptake[site])).astype(float)
    y = 2 * t + 2 * X[:, 0] + X[:, 1] - X[:, 2] + shock[site] + rng.normal(size=n)
    df = pd.DataFrame({"y": y, "t": t, "x1": X[:, 0], "x2": X[:, 1], "x3": X[:, 2], "site": site})
    iid = cq.estimate("ipw", df, **ROLES)
    clu = cq.estimate("ipw", df, **ROLES, cluster="site")
    assert clu.estimate == pytest.approx(iid.estimate, abs=1e-12)
    assert clu.std_error > 1.3 * iid.std_error
    assert "cluster" in clu.se_method


def test_bad_trim_is_a_typed_error():
    with pytest.raises(MethodError):
        cq.estimate("ipw", simulate(500, seed=0), **ROLES, trim=0.7)


@pytest.mark.parametrize("method", ["ipw", "aipw", "g_computation"])
def test_lalonde_nsw_att_within_two_se_of_the_experimental_benchmark(method):
    """NSW is a randomized experiment, so adjusted ATTs should sit near the $1794
    difference in means (LaLonde 1986; Dehejia & Wahba 1999); 2 SE as specified."""
    causaldata = pytest.importorskip("causaldata")
    df = causaldata.nsw_mixtape.load_pandas().data.drop(columns="data_id").astype(float)
    res = cq.estimate(method, df, outcome="re78", treatment="treat", covariates=NSW_COVS, estimand="att", seed=0)
    assert abs(res.estimate - NSW_EXPERIMENTAL_ATT) < 2 * res.std_error
    assert 400 < res.std_error < 1000          # published SEs for this contrast are ~630-700


# ---------------------------------------------------------------------------
# contract
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["ipw", "aipw"])
def test_seed_determinism_and_json_round_trip(method):
    df = simulate(800, seed=10)
    a = cq.estimate(method, df, **ROLES, seed=3)
    b = cq.estimate(method, df, **ROLES, seed=3)
    assert a.to_dict() == b.to_dict()
    text = json.dumps(a.to_dict(), allow_nan=False)
    assert json.loads(text) == a.to_dict()
    assert math.isfinite(a.estimate) or a.warnings


@pytest.mark.parametrize("method", ["ipw", "aipw"])
def test_constant_treatment_is_a_typed_error(method):
    df = simulate(200, seed=0).assign(t=1.0)
    with pytest.raises(RoleError) as info:
        cq.estimate(method, df, **ROLES)
    assert isinstance(info.value, CQOxError) and info.value.code == "E-ROLE-003"


def test_no_overlap_is_a_typed_error_not_a_number():
    """Perfect separation: after trimming no untreated unit is left to compare with."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    df = pd.DataFrame({"y": rng.normal(size=400), "t": (x > 0).astype(float), "x1": x, "x2": rng.normal(size=400),
                       "x3": rng.normal(size=400)})
    with pytest.raises(CQOxError):
        cq.estimate("ipw", df, **ROLES, trim=0.01)
