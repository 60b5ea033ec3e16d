"""The shared logistic propensity fit (nuisance.fit_logit) converges where
statsmodels' Logit does, and a fit that does not converge never feeds a
passing gate.

Issue 9, part 8. The fit before this change was plain Newton-Raphson from the
intercept-only start; on observational data with about 1% treated and
covariates in dollars its first full step overshoots into the flat tails of the
likelihood (every fitted p underflows to 6e-16, the Hessian vanishes) and the
iterates diverge to coefficients of order 1e13. The separation gate then read
AUC 0.5 and passed, and ipw trimmed every unit. ``plain_newton`` below is that
algorithm, copied verbatim, so the tests can show both the failure it had and
that the new fit takes exactly its iterates where it worked.

Reference: statsmodels ``Logit`` (a runtime dependency in pyproject.toml),
fitted at test time with Newton's method.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.optimize import brentq
from scipy.special import expit

import cqox_core as cq
from cqox_core.decision import decide
from cqox_core.gates import evaluate_gates
from cqox_core.nuisance import fit_logit
from cqox_core.results import EffectResult

COVS = ["income", "spend", "home_value", "age"]
ROLES = dict(outcome="y", treatment="t", covariates=COVS)
EFFECT = 2000.0        # constant effect in dollars: ATE = ATT = ATC whatever trimming or calipers keep


# ---------------------------------------------------------------------------
# designs
# ---------------------------------------------------------------------------

def dollar_design(seed: int, *, n: int = 20000, share: float = 0.01, strength: float = 1.5) -> pd.DataFrame:
    """Observational data with a rare treatment and covariates in dollars.

    income ~ lognormal around $40k (right-skewed, so a linear logit in dollars
    separates strongly at the top), spend ~ gamma with mean $30k, home value
    ~ $300k +- $100k, age in years. The propensity is logit-linear in these
    columns (the fitted model is correctly specified), with the intercept solved
    so that the expected treated share is ``share``. ``strength`` is the logit
    slope per $20k of income: 1.5 gives AUC about 0.97, 2.0 about 0.99.
    The outcome rises with income and spend, so the naive contrast is biased by
    about $35k against a true effect of $2k.
    """
    rng = np.random.default_rng(seed)
    income = rng.lognormal(np.log(40000), 0.5, n)
    spend = rng.gamma(2.0, 15000, n)
    home = rng.normal(300000, 100000, n)
    age = rng.normal(45, 12, n)
    z = strength * (income - 40000) / 20000 + (spend - 30000) / 21000 + 0.3 * (home - 300000) / 1e5 \
        + 0.02 * (age - 45)
    intercept = brentq(lambda a: expit(a + z).mean() - share, -60, 60)
    t = (rng.random(n) < expit(intercept + z)).astype(float)
    y = 0.3 * income + 0.5 * spend + 0.002 * home + 50 * age + EFFECT * t + rng.normal(0, 2000, n)
    return pd.DataFrame({"y": y, "t": t, "income": income, "spend": spend, "home_value": home, "age": age})


def quasi_separated_design(seed: int, n: int = 5000) -> pd.DataFrame:
    """Quasi-complete separation: only customers with income above $60k are eligible.

    ``eligible`` is a covariate and nobody with eligible = 0 is treated, so the
    logit coefficient of ``eligible`` has no finite MLE (Albert & Anderson 1984);
    among the eligible, treatment depends smoothly on spend (no separation there).
    """
    rng = np.random.default_rng(seed)
    income = rng.lognormal(np.log(40000), 0.5, n)
    spend = rng.gamma(2.0, 15000, n)
    eligible = (income > 60000).astype(float)
    t = ((rng.random(n) < expit(-1.5 + 1e-5 * (spend - 30000))) * eligible).astype(float)
    y = 0.3 * income + 0.5 * spend + EFFECT * t + rng.normal(0, 2000, n)
    return pd.DataFrame({"y": y, "t": t, "income": income, "spend": spend, "eligible": eligible})


def ordinary_design(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Well-conditioned data: balanced-ish arms, moderate effects, mixed column scales."""
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(200, 4000)), int(rng.integers(1, 6))
    X = rng.normal(size=(n, k)) * rng.choice([1.0, 10.0, 1000.0], size=k) + rng.normal(size=k) * 5
    lin = (X - X.mean(axis=0)) @ (rng.normal(size=k) * 0.7 / X.std(axis=0)) + rng.normal() * 0.5
    return X, (rng.random(n) < expit(lin)).astype(float)


def plain_newton(X: np.ndarray, t: np.ndarray, max_iter: int = 50, tol: float = 1e-10,
                 ridge: float = 1e-8) -> tuple[np.ndarray, bool]:
    """fit_logit before this change (commit 1484182), verbatim but for the return value."""
    n = t.size
    mean, sd = X.mean(axis=0), X.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    Z = np.column_stack([np.ones(n), (X - mean) / sd])
    beta = np.zeros(Z.shape[1])
    p0 = np.clip(t.mean(), 1e-6, 1 - 1e-6)
    beta[0] = np.log(p0 / (1 - p0))
    converged = False
    penalty = ridge * n * np.eye(Z.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(max_iter):
        eta = np.clip(Z @ beta, -35, 35)
        p = 1.0 / (1.0 + np.exp(-eta))
        w = p * (1 - p)
        grad = Z.T @ (t - p) - penalty @ beta
        hess = (Z * w[:, None]).T @ Z + penalty
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(beta))) or np.max(np.abs(step)) < 1e-8:
            converged = True
            break
    coef = np.empty_like(beta)
    coef[1:] = beta[1:] / sd
    coef[0] = beta[0] - np.sum(beta[1:] * mean / sd)
    return coef, converged


def statsmodels_logit(X: np.ndarray, t: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm.Logit(t, sm.add_constant(X, has_constant="add")).fit(method="newton", maxiter=200, disp=0)


# ---------------------------------------------------------------------------
# the fit itself
# ---------------------------------------------------------------------------

HARD = [(seed, share, strength) for seed, share, strength in
        [(0, 0.01, 1.5), (1, 0.01, 2.0), (2, 0.015, 1.5), (3, 0.02, 2.0), (4, 0.01, 1.0), (5, 0.02, 1.5)]]


@pytest.mark.parametrize("seed,share,strength", HARD)
def test_fit_agrees_with_statsmodels_on_rare_treatment_in_dollars(seed, share, strength):
    df = dollar_design(seed, n=10000, share=share, strength=strength)
    X, t = df[COVS].to_numpy(), df.t.to_numpy()
    assert 0.005 < t.mean() < 0.025
    ref = statsmodels_logit(X, t)
    assert ref.mle_retvals["converged"]          # the MLE exists: strong but not perfect separation
    fit = fit_logit(X, t)
    assert fit.converged and not fit.separated
    # the default 1e-8 ridge (on standardised columns) is the only difference from the MLE. To first order it
    # moves the linear predictor by Z (I + P)^-1 P beta, whose largest entry is fit.ridge_sensitivity
    # (observed 8e-6 to 8e-5 on these designs; the 2x allows for the second-order term), and each
    # coefficient by a small fraction of its standard error (observed at most 6.2e-5 SE; 5e-4 allowed)
    eta_ref = sm.add_constant(X, has_constant="add") @ ref.params
    assert np.max(np.abs(fit.linear_predictor - eta_ref)) <= 2 * fit.ridge_sensitivity + 1e-9
    assert fit.ridge_sensitivity < 1e-3
    assert np.all(np.abs(fit.coef - ref.params) <= 5e-4 * ref.bse)
    # without the ridge the objective is statsmodels' own, and so is the optimum: observed within 4e-15
    # relative, 1e-10 allowed for Newton's stopping rule (step below 1e-10 relative)
    exact = fit_logit(X, t, ridge=0.0)
    assert exact.converged
    np.testing.assert_allclose(exact.coef, ref.params, rtol=1e-10)


def test_old_plain_newton_diverged_on_these_designs():
    """The failure this change removes (so the agreement test above can fail on the old code)."""
    diverged = 0
    for seed, share, strength in HARD[:2]:
        df = dollar_design(seed, n=10000, share=share, strength=strength)
        coef, converged = plain_newton(df[COVS].to_numpy(), df.t.to_numpy())
        diverged += (not converged) and np.max(np.abs(coef)) > 1e6
    assert diverged == 2


@pytest.mark.parametrize("seed", range(40))
def test_ordinary_fits_are_exactly_the_old_newton_iterates(seed):
    # every full Newton step ascends on well-conditioned data, so the line search never halves and the
    # coefficients are bit-for-bit those of the old fit (the suite's psm/ipw/aipw peer checks rely on it)
    X, t = ordinary_design(seed)
    old, old_converged = plain_newton(X, t)
    fit = fit_logit(X, t)
    assert old_converged and fit.converged and fit.halvings == 0
    np.testing.assert_allclose(fit.coef, old, rtol=1e-10, atol=1e-12)


def test_step_halving_is_what_rescues_the_hard_fit():
    df = dollar_design(0)
    fit = fit_logit(df[COVS].to_numpy(), df.t.to_numpy())
    assert fit.converged and fit.halvings > 0 and fit.iterations < 30
    # a genuine MLE: shrinking the ridge e-fold moves no linear predictor by more than ~1e-4
    assert fit.ridge_sensitivity < 1e-3


def test_iteration_limit_is_reported_not_hidden():
    df = dollar_design(0)
    fit = fit_logit(df[COVS].to_numpy(), df.t.to_numpy(), max_iter=2)
    assert not fit.converged and fit.iterations == 2


@pytest.mark.parametrize("seed", range(3))
def test_quasi_complete_separation_is_not_converged(seed):
    df = quasi_separated_design(seed)
    X, t = df[["income", "spend", "eligible"]].to_numpy(), df.t.to_numpy()
    assert t[df.eligible == 0].sum() == 0 and 0 < t[df.eligible == 1].mean() < 1
    assert not statsmodels_logit(X, t).mle_retvals["converged"]    # statsmodels does not converge either
    fit = fit_logit(X, t)
    # the ridge alone holds eligible's coefficient: an e-fold smaller ridge moves those units' eta by ~1
    assert fit.separated and not fit.converged and fit.ridge_sensitivity > 0.5


def test_complete_separation_is_not_converged():
    rng = np.random.default_rng(0)
    income = rng.lognormal(np.log(40000), 0.5, 4000)
    X = np.column_stack([income, rng.gamma(2.0, 15000, 4000)])
    t = (income > 90000).astype(float)
    fit = fit_logit(X, t)
    assert fit.separated and not fit.converged


# ---------------------------------------------------------------------------
# what the estimators and gates make of it
# ---------------------------------------------------------------------------

def gate(result: EffectResult, name: str):
    return next((g for g in result.gates if g.name == name), None)


@pytest.mark.parametrize("seed", range(3))
def test_psm_and_ipw_recover_the_effect_on_the_rare_treatment_dollar_design(seed):
    df = dollar_design(seed)      # 1% of 20,000 treated, AUC about 0.97
    naive_bias = df.y[df.t == 1].mean() - df.y[df.t == 0].mean() - EFFECT
    assert naive_bias > 25000
    for method in ("psm", "ipw"):
        res = cq.estimate(method, df, **ROLES)
        assert res.diagnostics["propensity_converged"] is True
        # 4 SE: the methods' own SEs on ~200 treated (psm's treats the score as known, so it runs a little
        # narrow); and 0.15 of the naive bias, which the diverged fit missed by 25-35%
        assert abs(res.estimate - EFFECT) < 4 * res.std_error, (method, res.estimate, res.std_error)
        assert abs(res.estimate - EFFECT) < 0.15 * naive_bias, (method, res.estimate)
        separation = gate(res, "separation")
        assert separation is not None and separation.status != "pass"   # AUC ~0.97 is read honestly
        assert 0.9 < separation.metric < 0.99


QUASI_ROLES = dict(outcome="y", treatment="t", covariates=["income", "spend", "eligible"])


@pytest.mark.parametrize("method", ["psm", "ipw", "stratification", "aipw"])
def test_a_separated_propensity_fit_fails_the_separation_gate_and_holds(method):
    df = quasi_separated_design(0)
    res = cq.estimate(method, df, **QUASI_ROLES)
    assert res.diagnostics["propensity_converged"] is False
    separation = gate(res, "separation")
    assert separation.status == "fail" and separation.metric is None
    assert "could not be fitted" in separation.message and separation.next_step
    assert gate(res, "overlap") is None       # it would read the same unusable score
    assert any("did not converge" in w for w in res.warnings)
    decision = decide(res)
    assert decision.label == "HOLD" and "HOLD_SEPARATION" in decision.reason_codes


def test_gate_reads_the_flag_before_the_auc():
    base = dict(method="ipw", estimand="ate", estimate=1.0, std_error=0.1, ci_lower=0.8, ci_upper=1.2,
                alpha=0.05, p_value=1e-9, n_obs=1000)
    # a diverged fit's score: AUC 0.5 and full "common support", which used to pass both gates
    diverged = {"propensity_auc": 0.5, "common_support_share": 1.0, "propensity_converged": False}
    gates = evaluate_gates(EffectResult(**base, diagnostics=diverged))
    assert [g.status for g in gates if g.name == "separation"] == ["fail"]
    assert not any(g.name == "overlap" for g in gates)
    fine = evaluate_gates(EffectResult(**base, diagnostics={**diverged, "propensity_converged": True}))
    assert {g.name: g.status for g in fine if g.name in ("separation", "overlap")} == {"separation": "pass",
                                                                                        "overlap": "pass"}
    # methods that do not fit a propensity model (no flag) keep the AUC gate as before
    no_flag = evaluate_gates(EffectResult(**base, diagnostics={"propensity_auc": 0.995}))
    assert [g.status for g in no_flag if g.name == "separation"] == ["fail"]
