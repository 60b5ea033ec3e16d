"""Interrupted time series: recovery of known level and slope changes under AR(1)
noise, agreement with statsmodels' Newey-West OLS, seasonality, typed errors.

Reference: statsmodels ``OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": L,
"use_correction": True})`` on the same segmented design (computed live in the
test; it is an installed dependency), so coefficients and HAC standard errors
must agree to floating-point precision (1e-8).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import cqox_core as cq
from cqox_core.errors import CQOxError, EstimationError, RoleError
from cqox_core.estimators.its import newey_west_maxlags

LEVEL, SLOPE = 5.0, -0.2


def simulate_its(n: int = 80, t0: int = 50, level: float = LEVEL, slope: float = SLOPE, rho: float = 0.5,
                 pre_slope: float = 0.3, seed: int = 0, season: float = 0.0) -> pd.DataFrame:
    """y = 10 + pre_slope t + level post + slope (t - t0) post + season sin(2 pi t/12) + AR(1) noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=float)
    e = np.zeros(n)
    shocks = rng.normal(size=n)
    e[0] = shocks[0] / math.sqrt(1 - rho ** 2)
    for i in range(1, n):
        e[i] = rho * e[i - 1] + shocks[i]
    post = (t >= t0).astype(float)
    y = 10 + pre_slope * t + level * post + slope * (t - t0) * post + season * np.sin(2 * np.pi * t / 12) + e
    return pd.DataFrame({"month": t.astype(int), "visits": y, "policy": post.astype(int)})


def run(frame: pd.DataFrame, **kw):
    return cq.estimate("its", frame, outcome="visits", treatment="policy", time="month", **kw)


def test_recovers_level_and_slope_changes_over_replications():
    """Mean over 40 series: AR(1) noise, sd of the level estimate ~0.9 per series, so the mean's error is
    ~0.15; 0.5 is more than 3 of those. The naive pre/post mean difference is pulled up by the pre-trend
    (0.3 per month over ~40 months) and misses by far more."""
    levels, slopes, naive = [], [], []
    for seed in range(40):
        frame = simulate_its(seed=seed)
        res = run(frame, with_sensitivity=False, with_gates=False)
        by = {b.label: b.estimate for b in res.by}
        levels.append(res.estimate)
        slopes.append(by["slope_change"])
        naive.append(frame.loc[frame.policy == 1, "visits"].mean() - frame.loc[frame.policy == 0, "visits"].mean())
    assert abs(np.mean(levels) - LEVEL) < 0.5
    assert abs(np.mean(slopes) - SLOPE) < 0.05
    assert abs(np.mean(naive) - LEVEL) > 5.0


def test_interval_coverage_is_close_to_nominal():
    """95% t-intervals with Newey-West SEs under AR(1) rho=0.5 with n=80: HAC intervals under-cover a little
    in short series; over 100 series coverage must be at least 80% (a naive OLS SE would give ~70%)."""
    covered = 0
    for seed in range(100, 200):
        res = run(simulate_its(seed=seed), with_sensitivity=False, with_gates=False)
        covered += res.ci_lower <= LEVEL <= res.ci_upper
    assert covered >= 80


@pytest.mark.parametrize("maxlags", [None, 0, 5])
def test_agrees_with_statsmodels_hac(maxlags):
    frame = simulate_its(seed=3)
    res = run(frame, maxlags=maxlags)
    n = len(frame)
    lags = newey_west_maxlags(n) if maxlags is None else maxlags
    assert res.diagnostics["hac_maxlags"] == lags
    t = frame.month.to_numpy(float)
    post = frame.policy.to_numpy(float)
    X = np.column_stack([np.ones(n), t, post, (t - 50) * post])
    ref = sm.OLS(frame.visits.to_numpy(), X).fit(cov_type="HAC",
                                                 cov_kwds={"maxlags": lags, "use_correction": True})
    by = {b.label: b for b in res.by}
    assert res.estimate == pytest.approx(ref.params[2], abs=1e-8)
    assert res.std_error == pytest.approx(ref.bse[2], abs=1e-8)
    assert by["slope_change"].estimate == pytest.approx(ref.params[3], abs=1e-8)
    assert by["slope_change"].std_error == pytest.approx(ref.bse[3], abs=1e-8)


def test_default_maxlags_formula():
    assert newey_west_maxlags(100) == 4
    assert newey_west_maxlags(80) == 3          # floor(4 * 0.8^(2/9)) = floor(3.81)


def test_diagnostics_for_plots_and_gates():
    frame = simulate_its(seed=5)
    res = run(frame)
    d = res.diagnostics
    assert 0 <= d["autocorrelation_p"] <= 1 and 0 < d["durbin_watson"] < 4
    assert d["intervention_time"] == "50" and d["n_pre"] == 50 and d["n_post"] == 30
    series = d["series"]
    assert len(series["fitted"]) == len(series["counterfactual"]) == len(frame)
    # before the intervention the counterfactual is the fitted pre-trend itself
    assert np.allclose(series["fitted"][:50], series["counterfactual"][:50])
    end = d["effect_at_end"]
    assert end["estimate"] == pytest.approx(res.estimate + d["coefficients"]["slope_change"] * 29, rel=1e-10)
    assert {g.name for g in res.gates} >= {"autocorrelation"}
    # AR(1) rho=0.5 residuals: Ljung-Box should detect it in an 80-point series
    assert d["autocorrelation_p"] < 0.05
    assert any("autocorrelated" in w for w in res.warnings)


def test_seasonality_terms_remove_a_seasonal_bias():
    """A strong 12-month cycle (amplitude 4) with the intervention where the cycle falls fastest biases the
    plain level change by about -1.5; Fourier terms (season_period=12) remove it. Mean over 20 series whose
    single-series sd is ~1.1, so the mean's error is ~0.25 and 0.75 is three of those."""
    plain, seasonal = [], []
    for seed in range(20):
        frame = simulate_its(seed=seed, season=4.0, t0=54)
        plain.append(run(frame, with_gates=False, with_sensitivity=False).estimate)
        seasonal.append(run(frame, season_period=12, with_gates=False, with_sensitivity=False).estimate)
    assert abs(np.mean(seasonal) - LEVEL) < 0.75
    assert abs(np.mean(plain) - LEVEL) > 1.2


def test_dates_as_time_and_determinism():
    frame = simulate_its(seed=7)
    frame["month"] = pd.date_range("2015-01-01", periods=len(frame), freq="MS")
    a = run(frame)
    b = run(frame)
    assert a.to_dict() == b.to_dict()
    assert a.diagnostics["intervention_time"] == "2019-03-01"
    assert a.by[0].label == "level_change" and a.by[1].label == "slope_change"


def test_several_units_need_aggregate():
    one = simulate_its(seed=1).assign(site="a")
    two = simulate_its(seed=2).assign(site="b")
    both = pd.concat([one, two], ignore_index=True)
    with pytest.raises(EstimationError) as info:
        run(both, unit="site")
    assert info.value.code == "E-EST-065" and "aggregate" in info.value.hint
    res = run(both, unit="site", aggregate="mean")
    mean_series = both.groupby("month", as_index=False).agg(visits=("visits", "mean"), policy=("policy", "first"))
    assert res.estimate == pytest.approx(run(mean_series).estimate, abs=1e-10)


@pytest.mark.parametrize("start", [0, 79])
def test_intervention_at_an_end_is_a_typed_error(start):
    frame = simulate_its(seed=1)
    frame["policy"] = (frame.month >= start).astype(int)
    with pytest.raises(CQOxError) as info:
        run(frame)
    assert info.value.code in ("E-EST-066", "E-ROLE-003") and info.value.hint
    if start == 79:
        assert info.value.code == "E-EST-066"


def test_too_few_points_on_a_side():
    frame = simulate_its(n=12, t0=10)
    with pytest.raises(EstimationError) as info:
        run(frame)
    assert info.value.code == "E-EST-066"
    assert "2 observations from the intervention" in info.value.message or "and 2 from" in info.value.message


def test_treatment_switching_back_and_constant_treatment():
    frame = simulate_its(seed=1)
    frame.loc[70:, "policy"] = 0
    with pytest.raises(EstimationError) as info:
        run(frame)
    assert info.value.code == "E-EST-067"
    with pytest.raises(RoleError) as info:
        run(frame.assign(policy=1))
    assert info.value.code == "E-ROLE-003"


def test_ljung_box_matches_statsmodels():
    """Reference: statsmodels acorr_ljungbox (same statistic, computed by full correlation); tolerance 1e-10."""
    from statsmodels.stats.diagnostic import acorr_ljungbox

    from cqox_core.estimators.its import ljung_box

    e = np.random.default_rng(0).normal(size=500)
    e[1:] += 0.3 * e[:-1]
    ref = acorr_ljungbox(e, lags=[10])
    stat, p = ljung_box(e, 10)
    assert stat == pytest.approx(float(ref["lb_stat"].iloc[0]), rel=1e-10)
    assert p == pytest.approx(float(ref["lb_pvalue"].iloc[0]), rel=1e-8)
