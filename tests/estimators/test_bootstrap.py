"""`bootstrap` (wraps another method): agreement with analytic standard errors,
interval coverage, BCa against scipy and against theory, the cluster bootstrap,
failure accounting, determinism and typed errors."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import simulate_confounded
from scipy import stats

import cqox_core as cq
from cqox_core import registry
from cqox_core.errors import EstimationError, MethodError
from cqox_core.estimators import bootstrap as resampling
from cqox_core.inference import bootstrap_draws
from cqox_core.results import SubEstimate

COVS = ["x1", "x2", "region"]


def homoskedastic(n: int, seed: int) -> pd.DataFrame:
    """Confounded binary treatment, constant effect 2, homoskedastic N(0, 1) errors."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    t = rng.binomial(1, 1 / (1 + np.exp(-(0.6 * x1 - 0.3 * x2))))
    y = 1 + 2 * t + x1 + 0.5 * x2 + rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "t": t, "y": y})


def skewed_effect(n: int, seed: int) -> pd.DataFrame:
    """Randomized treatment whose effect is log-normal (right-skewed); controls are symmetric.
    The difference in means is then right-skewed, the textbook case for BCa."""
    rng = np.random.default_rng(seed)
    t = rng.binomial(1, 0.5, size=n)
    y = 1 + 0.3 * rng.normal(size=n) + t * np.exp(rng.normal(size=n))
    return pd.DataFrame({"x": rng.normal(size=n), "t": t, "y": y})


def clustered(n_clusters: int, size: int, seed: int) -> pd.DataFrame:
    """Treatment assigned to whole schools and a strong school shock (intra-class correlation 0.8)."""
    rng = np.random.default_rng(seed)
    school = np.repeat(np.arange(n_clusters), size)
    treated_school = rng.binomial(1, 0.5, size=n_clusters)
    shock = rng.normal(scale=2.0, size=n_clusters)
    x = rng.normal(size=school.size) + 0.5 * shock[school]
    y = 2 * treated_school[school] + x + shock[school] + rng.normal(size=school.size)
    return pd.DataFrame({"school": school, "t": treated_school[school], "x": x, "y": y})


def boot(df: pd.DataFrame, **kw) -> cq.EffectResult:
    roles = dict(outcome="y", treatment="t", covariates=["x1", "x2"]) if "x1" in df else \
        dict(outcome="y", treatment="t", covariates=["x"])
    return cq.estimate("bootstrap", df, **{**roles, "of": "regression_adjustment", **kw})


# --------------------------------------------------------------------------
# the headline number and its standard error
# --------------------------------------------------------------------------

def test_point_estimate_is_the_wrapped_methods_own_number(confounded):
    res = cq.estimate("bootstrap", confounded, outcome="outcome", treatment="treated", covariates=COVS,
                      of="regression_adjustment", n_boot=50, seed=3)
    ref = cq.estimate("regression_adjustment", confounded, outcome="outcome", treatment="treated",
                      covariates=COVS, seed=3)
    assert res.estimate == ref.estimate  # exactly: the full-data fit, not a bootstrap mean
    assert res.n_obs == ref.n_obs and res.method == "bootstrap" and res.estimand == "ate"
    # the wrapped method's diagnostics come along, so the gates still read them
    assert res.diagnostics["smd_before"] == ref.diagnostics["smd_before"]
    assert {g.name for g in res.gates} == {g.name for g in ref.gates}
    info = res.diagnostics["bootstrap"]
    assert info["of"] == "regression_adjustment" and info["n_boot"] == 50 and info["failed"] == 0
    assert info["inner_std_error"] == ref.std_error
    assert res.std_error == pytest.approx(info["replicates_summary"]["sd"], rel=1e-12)
    assert "normal approximation" in res.se_method and "bootstrap" in res.se_method
    assert res.sensitivity.get("e_value") is not None


def test_se_agrees_with_hc3_on_homoskedastic_data():
    """The pairs bootstrap and HC3 estimate the same sandwich variance. With B = 400 the
    Monte Carlo relative error of a standard deviation is 1/sqrt(2(B-1)) = 3.5%, and HC3
    differs from the bootstrap by O(k/n) (leverage 6/1000 here), so 15% is over 4 MC errors."""
    df = homoskedastic(1000, seed=11)
    res = boot(df, n_boot=400, seed=11)
    hc3 = cq.estimate("regression_adjustment", df, outcome="y", treatment="t", covariates=["x1", "x2"])
    assert hc3.se_method == "HC3 sandwich"
    assert res.std_error == pytest.approx(hc3.std_error, rel=0.15)


def test_percentile_interval_covers_the_truth_with_the_right_width():
    df = simulate_confounded(n=800, effect=2.0, seed=21)
    res = cq.estimate("bootstrap", df, outcome="outcome", treatment="treated", covariates=COVS,
                      of="regression_adjustment", n_boot=300, seed=21)
    hc3 = cq.estimate("regression_adjustment", df, outcome="outcome", treatment="treated", covariates=COVS)
    assert res.ci_lower < 2.0 < res.ci_upper
    # the percentile interval is the 2.5% and 97.5% quantiles of the replicates (E&T eq. 13.5) ...
    q = res.diagnostics["bootstrap"]["replicates_summary"]["quantiles"]
    assert (res.ci_lower, res.ci_upper) == (q["0.025"], q["0.975"])
    # ... and on a near-normal statistic about as wide as the Wald interval; 20% allows the
    # Monte Carlo error of two tail quantiles at B = 300 (about 8% each).
    assert res.ci_upper - res.ci_lower == pytest.approx(hc3.ci_upper - hc3.ci_lower, rel=0.20)
    assert res.p_value == pytest.approx(2 * stats.norm.sf(abs(res.estimate / res.std_error)), rel=1e-9)


def test_wrapped_method_parameters_and_estimand_are_forwarded(confounded):
    kw = dict(outcome="outcome", treatment="treated", covariates=COVS, seed=0)
    res = cq.estimate("bootstrap", confounded, of="regression_adjustment", n_boot=30, estimand="att",
                      inner_params={"interacted": True, "cov_type": "HC1"}, **kw)
    ref = cq.estimate("regression_adjustment", confounded, estimand="att", cov_type="HC1", **kw)
    assert res.estimand == "att" and res.estimate == ref.estimate
    assert res.diagnostics["bootstrap"]["inner_params"]["cov_type"] == "HC1"
    additive = cq.estimate("bootstrap", confounded, of="regression_adjustment", n_boot=30,
                           inner_params={"interacted": False}, **kw)
    assert additive.estimate == cq.estimate("regression_adjustment", confounded, interacted=False, **kw).estimate


# --------------------------------------------------------------------------
# BCa
# --------------------------------------------------------------------------

def test_bca_formulas_agree_with_scipy():
    """Independent implementation: scipy.stats.bootstrap(method="BCa") on the mean of a
    skewed sample. Each side draws its own 20000 resamples, so the ends differ by Monte
    Carlo error, about 0.03 SE; tolerance 0.1 SE. The BCa ends move by more than 0.2 SE
    from the percentile ends here, so a wrong z0 or acceleration would fail."""
    rng = np.random.default_rng(5)
    x = np.exp(rng.normal(size=60))
    reps = 20000
    draws = x[rng.integers(0, x.size, size=(reps, x.size))].mean(axis=1)
    jack = (x.sum() - x) / (x.size - 1)
    lo, hi, z0, accel = resampling.bca_interval(draws, float(x.mean()), jack, 0.05)
    ref = stats.bootstrap((x,), np.mean, method="BCa", n_resamples=reps, confidence_level=0.95,
                          random_state=np.random.default_rng(6)).confidence_interval
    se = draws.std(ddof=1)
    assert abs(lo - ref.low) < 0.1 * se and abs(hi - ref.high) < 0.1 * se
    p_lo, p_hi = resampling.percentile_interval(draws, 0.05)
    assert lo - p_lo > 0.2 * se and hi - p_hi > 0.2 * se
    # acceleration of the mean is skewness / (6 sqrt(n)) exactly (E&T eq. 14.15 with jackknife values)
    assert accel == pytest.approx(stats.skew(x) / (6 * math.sqrt(x.size)), rel=1e-9)


def test_bca_moves_right_on_a_right_skewed_statistic():
    """Log-normal effects make the difference in means right-skewed, so BCa moves both ends
    to the right of the percentile ends and stretches the upper side (Efron & Tibshirani
    1993, ch. 14). n = 300 <= 500 rows: a delete-one jackknife, whose acceleration is the
    influence-function formula sum(U^3) / (6 (sum U^2)^1.5) for the difference in means
    (E&T eq. 14.15); Lin's estimator with one noise covariate is within 10% of it."""
    df = skewed_effect(300, seed=0)
    res = boot(df, n_boot=400, seed=0, ci="bca")
    info = res.diagnostics["bootstrap"]
    assert info["ci_method"] == "bca" and info["jackknife"] == "delete-one jackknife over 300 rows"
    assert "BCa" in res.se_method and "delete-one jackknife" in res.se_method
    y, t = df.y.to_numpy(), df.t.to_numpy() == 1
    influence = np.where(t, (y - y[t].mean()) / t.sum(), -(y - y[~t].mean()) / (~t).sum())
    theory = np.sum(influence ** 3) / (6 * np.sum(influence ** 2) ** 1.5)
    assert theory > 0.02 and info["acceleration"] == pytest.approx(theory, rel=0.10)
    q = info["replicates_summary"]["quantiles"]
    assert res.ci_lower > q["0.025"] and res.ci_upper > q["0.975"]
    est = res.estimate
    assert (res.ci_upper - est) - (est - res.ci_lower) > (q["0.975"] - est) - (est - q["0.025"])


def test_grouped_jackknife_above_500_rows_and_determinism():
    df = homoskedastic(600, seed=2)
    a = boot(df, n_boot=40, seed=8, ci="bca")
    b = boot(df, n_boot=40, seed=8, ci="bca")
    assert a.to_dict() == b.to_dict()
    text = a.diagnostics["bootstrap"]["jackknife"]
    assert text.startswith("grouped jackknife: 20 random groups of the 600 rows")
    assert math.isfinite(a.diagnostics["bootstrap"]["acceleration"])
    assert a.ci_lower < a.estimate < a.ci_upper
    c = boot(df, n_boot=40, seed=9, ci="bca")
    assert c.estimate == a.estimate and c.std_error != a.std_error  # only the resampling changed


# --------------------------------------------------------------------------
# clusters
# --------------------------------------------------------------------------

def test_cluster_bootstrap_keeps_the_shared_shock():
    """Treatment varies only between schools and a school shock carries 80% of the error
    variance, so the design effect is about 1 + (20 - 1) * 0.8 = 16 and the iid bootstrap
    understates the SE about 4-fold. The cluster bootstrap must be far above it (factor 2 is
    a loose bound) and close to the cluster-robust CR1 SE (30%: with 30 clusters both are
    noisy, and B = 200 adds 5% Monte Carlo error)."""
    df = clustered(30, 20, seed=1)
    iid = boot(df, n_boot=200, seed=1)
    clus = boot(df, n_boot=200, seed=1, cluster="school")
    cr1 = cq.estimate("regression_adjustment", df, outcome="y", treatment="t", covariates=["x"], cluster="school")
    assert clus.std_error > 2 * iid.std_error
    assert clus.std_error == pytest.approx(cr1.std_error, rel=0.30)
    assert clus.diagnostics["bootstrap"]["resampling"] == "30 clusters of 'school'"
    assert clus.se_method.startswith("cluster bootstrap of regression_adjustment")
    assert iid.diagnostics["bootstrap"]["resampling"] == "600 rows"


def test_a_cluster_drawn_twice_becomes_two_clusters():
    df = clustered(10, 4, seed=0).assign(unit=lambda d: np.arange(len(d)) % 4)
    roles = cq.Roles(outcome="y", treatment="t", covariates=("x",), cluster="school", unit="unit")
    plan = resampling.resampling_plan(df, roles, registry.get("regression_adjustment"))
    idx = next(bootstrap_draws(len(df), 1, 3, plan.codes))
    assert np.unique(df.school.to_numpy()[idx]).size < 10  # some school was drawn more than once
    out = resampling.replicate_frame(df, idx, plan)
    assert out.school.nunique() == 10 and (out.groupby("school").size() == 4).all()
    # each new label holds the rows of one original school, and unit ids stay distinct per copy
    assert (pd.Series(df.school.to_numpy()[idx]).groupby(out.school.to_numpy()).nunique() == 1).all()
    assert out.unit.nunique() == 40


def test_jackknife_deletes_whole_clusters():
    df = clustered(12, 5, seed=0)
    roles = cq.Roles(outcome="y", treatment="t", covariates=("x",), cluster="school")
    plan = resampling.resampling_plan(df, roles, registry.get("regression_adjustment"))
    groups, text = resampling.jackknife_groups(plan, len(df), seed=0)
    assert text == "delete-one jackknife over 12 clusters of 'school'" and len(groups) == 12
    assert all(df.school.to_numpy()[g].tolist() == [df.school.iloc[g[0]]] * 5 for g in groups)


# --------------------------------------------------------------------------
# failures, seeds, errors
# --------------------------------------------------------------------------

def few_treated(n: int, k: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = (np.arange(n) < k).astype(int)
    return pd.DataFrame({"x": x, "t": t, "y": t + x + rng.normal(size=n)})


def test_failed_resamples_are_counted_not_replaced():
    """6 treated rows in 80: a resample has fewer than 2 treated rows with probability
    about 2% (Binomial(80, 6/80)), so a few of 200 replicates fail."""
    res = boot(few_treated(80, 6, seed=0), n_boot=200, seed=0)
    failed = res.diagnostics["bootstrap"]["failed"]
    assert 0 < failed <= 20
    assert any(f"could not be estimated on {failed} of 200 resamples" in w for w in res.warnings)
    assert f"standard deviation of {200 - failed} estimates on 200 resamples" in res.se_method


def test_more_than_ten_percent_failures_is_a_typed_error():
    with pytest.raises(EstimationError) as info:
        boot(few_treated(60, 3, seed=0), n_boot=200, seed=0)  # ~20% of resamples lack a second treated row
    assert info.value.code == "E-EST-020" and "more than 10%" in info.value.message and info.value.hint


def test_replicate_seeds_are_derived_from_the_outer_seed():
    a, b = resampling.replicate_seeds(4, 100), resampling.replicate_seeds(5, 100)
    assert np.array_equal(a, resampling.replicate_seeds(4, 100)) and np.unique(a).size == 100
    assert not np.array_equal(a, b)


def test_same_seed_gives_the_same_result(confounded):
    kw = dict(outcome="outcome", treatment="treated", covariates=COVS, of="regression_adjustment", n_boot=40)
    assert cq.estimate("bootstrap", confounded, seed=5, **kw).to_dict() == \
        cq.estimate("bootstrap", confounded, seed=5, **kw).to_dict()


@pytest.mark.parametrize("params, error, code", [
    ({}, MethodError, "E-METHOD-005"),                                              # of missing
    ({"of": "bootstrap"}, MethodError, "E-METHOD-005"),
    ({"of": "no_such_method"}, MethodError, "E-METHOD-001"),
    ({"of": "regression_adjustment", "estimand": "atc"}, MethodError, "E-METHOD-003"),
    ({"of": "regression_adjustment", "estimand": "late"}, MethodError, "E-METHOD-003"),
    ({"of": "regression_adjustment", "ci": "studentized"}, MethodError, "E-METHOD-005"),
    ({"of": "regression_adjustment", "n_boot": 5}, MethodError, "E-METHOD-005"),
    ({"of": "regression_adjustment", "n_boot": 50.5}, MethodError, "E-METHOD-005"),
    ({"of": "regression_adjustment", "inner_params": {"cluster": "region"}}, MethodError, "E-METHOD-005"),
    ({"of": "regression_adjustment", "inner_params": "cov_type=HC1"}, MethodError, "E-METHOD-005"),
    ({"of": "regression_adjustment", "inner_params": {"no_such": 1}}, MethodError, "E-METHOD-002"),
])
def test_bad_parameters_are_typed_errors(confounded, params, error, code):
    with pytest.raises(error) as info:
        cq.estimate("bootstrap", confounded, outcome="outcome", treatment="treated", covariates=COVS,
                    **params)
    assert info.value.code == code and info.value.hint


def test_registered_for_every_estimand_it_can_forward():
    spec = registry.get("bootstrap")
    assert spec.estimands == ("ate", "att", "atc", "late")
    assert spec.defaults == {"of": None, "n_boot": 200, "ci": "percentile", "inner_params": None}


# --------------------------------------------------------------------------
# sub-estimates and a second wrapped method
# --------------------------------------------------------------------------

def arm_means(data, roles, *, estimand="ate", alpha=0.05, seed=0):
    """A stand-in method with labelled sub-estimates (the two arm means)."""
    from cqox_core.estimators._common import finish
    y, t = data.frame[roles.outcome].to_numpy(float), data.frame[roles.treatment].to_numpy() == 1
    by = (SubEstimate("treated_mean", float(y[t].mean())), SubEstimate("control_mean", float(y[~t].mean())))
    return finish("arm_means", estimand, float(y[t].mean() - y[~t].mean()), math.nan, alpha=alpha,
                  n_obs=y.size, se_method="none", diagnostics={}, by=by)


def test_labelled_sub_estimates_are_bootstrapped_too(monkeypatch):
    """The bootstrap SE of an arm mean is sd/sqrt(n_arm) up to Monte Carlo error
    (B = 400: 3.5%) and the random arm size; 15% tolerance."""
    spec = registry.MethodSpec(id="arm_means", func=arm_means, family="test", design="cross_section",
                               estimands=("ate",),
                               requires=registry.Requirements(), title="arm means", summary="test only")
    monkeypatch.setitem(registry._REGISTRY, "arm_means", spec)
    df = homoskedastic(500, seed=4)
    res = cq.estimate("bootstrap", df, outcome="y", treatment="t", of="arm_means", n_boot=400, seed=4)
    by = {b.label: b for b in res.by}
    assert set(by) == {"treated_mean", "control_mean"}
    for label, arm in (("treated_mean", df.t == 1), ("control_mean", df.t == 0)):
        y = df.y[arm]
        assert by[label].estimate == pytest.approx(y.mean(), rel=1e-12)
        assert by[label].std_error == pytest.approx(y.std() / math.sqrt(len(y)), rel=0.15)
        assert by[label].ci_lower < by[label].estimate < by[label].ci_upper
        assert by[label].extra["bootstrap_replicates"] == 400


def test_bootstrap_of_ipw_matches_its_sandwich_se():
    """ipw's M-estimation sandwich accounts for the estimated propensity score, as refitting
    it on every resample does. B = 200: Monte Carlo error 5%; tolerance 20% (4 MC errors)."""
    df = simulate_confounded(n=1000, seed=4)
    kw = dict(outcome="outcome", treatment="treated", covariates=COVS, estimand="att", seed=1)
    res = cq.estimate("bootstrap", df, of="ipw", n_boot=200, **kw)
    ref = cq.estimate("ipw", df, **kw)
    assert res.estimate == ref.estimate and res.estimand == "att"
    assert res.std_error == pytest.approx(ref.std_error, rel=0.20)
    assert "effective_sample_size_ratio" in res.diagnostics  # ipw's diagnostics, so its gates apply
    assert {"effective_sample_size", "weight_ratio"} <= {g.name for g in res.gates}
