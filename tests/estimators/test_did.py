"""did (two-way fixed effects) and the Goodman-Bacon decomposition: recovery of known
effects, the TWFE bias under staggered heterogeneous effects, the exact Bacon identity,
agreement with pyfixest (feols with CRV1 by unit) and published numbers, typed errors.

Reference values from pyfixest were produced by the `pyfixest.feols` calls in the
tests marked `peer` (pyfixest 0.60.0, default ssc: k_fixef="nonnested", G_df="min");
those tests recompute them whenever pyfixest is installed.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import cqox_core as cq
from cqox_core.diagnostics.bacon import FORBIDDEN, bacon_decomposition
from cqox_core.errors import CQOxError, EstimationError, RoleError
from cqox_core.estimators import _twfe as did_module
from cqox_core.estimators._twfe import fit_fixed_effects

ROLES = dict(outcome="y", treatment="d", unit="unit", time="time")

# --- public panels ---------------------------------------------------------------
#: causaldata.castle (Cheng & Hoekstra 2013, JHR 48:821; as shipped with Cunningham's Mixtape):
#: l_homicide ~ post | sid + year, CRV1 by sid. pyfixest 0.60.0 feols gives these numbers.
CASTLE_PYFIXEST = {"coef": 0.06939842928390738, "se": 0.055859635260061956}
#: Same, weighted by state population (popwt, as aweights, cast to float64): pyfixest 0.60.0.
CASTLE_WEIGHTED_PYFIXEST = {"coef": 0.07553323890415245, "se": 0.03319360633103036}
#: Cheng & Hoekstra (2013) report "a statistically significant 8 percent net increase" in homicides
#: (abstract; their models add region-by-year effects and weights). Our uncontrolled and weighted
#: TWFE (0.069, 0.076 log points) are the same order; the check below allows 0.015 around 0.08.
CASTLE_PUBLISHED = 0.08
#: Goodman-Bacon decomposition of the causaldata castle TWFE (computed here; the identity with the
#: pyfixest coefficient is what makes it checkable). bacondecomp's own `castle` codes `post`
#: differently (first partial year counts as treated) and gives 0.0818, so it is not comparable.
CASTLE_BACON = {"treated_vs_never": (0.8988088354342546, 0.07843799079698584),
                "earlier_vs_later": (0.07707875563779348, -0.028577158796277573),
                "later_vs_earlier": (0.0241124089279519, 0.04563467569059605)}
#: causaldata.organ_donations (Kessler & Roth 2014), California from 2011 Q3 (Quarter_Num >= 4):
#: Huntington-Klein, The Effect (2021), ch. 18 reports the TWFE estimate -0.0225; pyfixest 0.60.0
#: gives the unrounded coefficient and CRV1 SE below.
ORGAN_PUBLISHED = -0.0225
ORGAN_PYFIXEST = {"coef": -0.022458974358974353, "se": 0.006131232005640856}


def simulate_panel(n_units: int = 400, n_periods: int = 8, cohorts=(0, 5), probs=None, effect=2.0,
                   dynamic: float = 0.0, seed: int = 0, noise: float = 1.0, covariate: bool = False) -> pd.DataFrame:
    """Balanced panel: unit and period effects, treated units' levels differ (so the naive post-period
    contrast is biased), effect = effect + dynamic * (periods since adoption). cohort 0 = never treated."""
    rng = np.random.default_rng(seed)
    first = rng.choice(cohorts, size=n_units, p=probs)
    unit = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(1, n_periods + 1), n_units)
    f = first[unit]
    d = ((f > 0) & (time >= f)).astype(int)
    y = (rng.normal(size=n_units)[unit] + 1.5 * (f > 0) + 0.4 * time + rng.normal(size=n_periods)[time - 1]
         + d * (effect + dynamic * (time - f)) + noise * rng.normal(size=unit.size))
    df = pd.DataFrame({"unit": unit, "time": time, "d": d, "y": y, "true_effect": d * (effect + dynamic * (time - f))})
    if covariate:
        df["x"] = rng.normal(size=unit.size) + 0.3 * d
        df["y"] += 0.8 * df["x"]
    return df


def true_att(df: pd.DataFrame) -> float:
    return float(df.loc[df.d == 1, "true_effect"].mean())


# --- recovery -------------------------------------------------------------------------------

def test_two_by_two_recovers_att_and_equals_the_difference_of_means():
    df = simulate_panel(n_units=2000, n_periods=2, cohorts=(0, 2), seed=1)
    res = cq.estimate("did", df, **ROLES)
    # Parallel trends hold by construction, so TWFE is unbiased; 4 SE (~0.25) bounds the error
    # with probability > 0.9999.
    assert abs(res.estimate - 2.0) < 4 * res.std_error
    # With two groups and two periods TWFE is exactly the DiD of the four means.
    assert res.estimate == pytest.approx(res.diagnostics["means"]["difference_in_differences"], abs=1e-10)
    # The naive post-period contrast carries the 1.5 level gap of treated units: it can fail.
    post = df[df.time == 2]
    naive = post.loc[post.d == 1, "y"].mean() - post.loc[post.d == 0, "y"].mean()
    assert abs(naive - 2.0) > 1.0
    assert res.ci_lower < 2.0 < res.ci_upper
    assert res.estimand == "att" and "CR1" in res.se_method and "bacon" not in res.diagnostics


def test_staggered_homogeneous_effect_is_recovered():
    df = simulate_panel(n_units=600, n_periods=8, cohorts=(0, 3, 5, 7), seed=2)
    res = cq.estimate("did", df, **ROLES)
    # A constant effect makes every 2x2 comparison unbiased, so TWFE is too (Goodman-Bacon 2021, eq. 16):
    # 4 SE bound as above.
    assert abs(res.estimate - 2.0) < 4 * res.std_error
    assert res.diagnostics["staggered"] and res.diagnostics["bacon_forbidden_share"] > 0
    assert any("already-treated" in w for w in res.warnings)


def test_staggered_heterogeneous_dynamic_effects_bias_twfe():
    # Effects grow by 0.6 per period since adoption; early adopters are later used as controls,
    # so their growing effect is subtracted (Goodman-Bacon 2021, Sec. 3.1).
    df = simulate_panel(n_units=600, n_periods=10, cohorts=(0, 3, 6, 9), probs=(0.1, 0.3, 0.3, 0.3),
                        effect=1.0, dynamic=0.6, seed=3, noise=0.5)
    truth = true_att(df)
    res = cq.estimate("did", df, **ROLES)
    bacon = res.diagnostics["bacon"]
    assert bacon["forbidden_share"] > 0.1
    # The later-vs-earlier comparisons are pulled down by the early cohorts' growing effects.
    assert bacon["by_type"][FORBIDDEN]["estimate"] < truth - 1.0
    # TWFE misses the true ATT (~2.57) by far more than its sampling error (SE ~0.04): it lands near 1.0.
    assert truth - res.estimate > max(0.5, 8 * res.std_error)


def test_covariates_are_used_and_time_invariant_ones_are_absorbed():
    df = simulate_panel(n_units=500, n_periods=6, cohorts=(0, 4), seed=4, covariate=True)
    df["region"] = np.where(df.unit % 2 == 0, "north", "south")  # constant within unit
    res = cq.estimate("did", df, **ROLES, covariates=["x", "region"])
    # x shifts y by 0.8 and correlates with treatment; adjusting recovers 2.0 (4 SE bound);
    # without it the estimate moves by ~0.8 * 0.3 = 0.24.
    assert abs(res.estimate - 2.0) < 4 * res.std_error
    assert res.diagnostics["coefficients"]["x"] == pytest.approx(0.8, abs=0.1)
    assert any("region" in w and "fixed effects already" in w for w in res.warnings)
    plain = cq.estimate("did", df, **ROLES)
    assert plain.estimate - res.estimate > 0.15


# --- Goodman-Bacon identity ------------------------------------------------------------------

@pytest.mark.parametrize("seed,cohorts", [(0, (-1, 2, 4, 7)), (1, (2, 3, 6)), (2, (-1, 1, 5)), (3, (-1, 4))])
def test_bacon_weights_sum_to_one_and_reproduce_twfe(seed, cohorts):
    """Goodman-Bacon (2021) Theorem 1 is an exact algebraic identity on balanced panels: the weights sum
    to 1 and the weighted 2x2s equal the TWFE coefficient (tolerance 1e-8, floating point only).
    Cohort position 0 (treated throughout) and -1 (never) are included in some draws."""
    rng = np.random.default_rng(seed)
    n_units, n_periods = 45, 9
    first = rng.choice(np.array(cohorts), size=n_units)
    first = np.where(first == 1, 0, first)  # cohort "1" -> treated from the first period
    unit = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(n_periods), n_units)
    f = first[unit]
    d = ((f >= 0) & (time >= f)).astype(float)
    y = rng.normal(size=unit.size) + d * (1 + rng.normal(size=n_units)[unit] + 0.3 * (time - f))
    dec = bacon_decomposition(y, unit, time, first, n_periods)
    twfe = fit_fixed_effects(y, d[:, None], unit, time, cluster=unit).coef[0]
    assert dec.weight_sum == pytest.approx(1.0, abs=1e-8)
    assert dec.twfe == pytest.approx(twfe, abs=1e-8)
    assert all(c.weight >= 0 for c in dec.comparisons)


def test_castle_bacon_decomposition_matches_the_twfe_coefficient():
    causaldata = pytest.importorskip("causaldata")
    castle = causaldata.castle.load_pandas().data
    res = cq.estimate("did", castle, outcome="l_homicide", treatment="post", unit="sid", time="year")
    bacon = res.diagnostics["bacon"]
    assert bacon["exact"] and bacon["twfe"] == pytest.approx(res.estimate, abs=1e-10)
    for kind, (weight, estimate) in CASTLE_BACON.items():
        assert bacon["by_type"][kind]["weight"] == pytest.approx(weight, abs=1e-10)
        assert bacon["by_type"][kind]["estimate"] == pytest.approx(estimate, abs=1e-10)
    json.dumps(res.to_dict(), allow_nan=False)  # the decomposition is plain JSON


# --- agreement with pyfixest and published numbers -------------------------------------------

def test_castle_matches_pyfixest_and_the_published_order_of_magnitude():
    causaldata = pytest.importorskip("causaldata")
    castle = causaldata.castle.load_pandas().data.astype({"popwt": float, "l_homicide": float})
    res = cq.estimate("did", castle, outcome="l_homicide", treatment="post", unit="sid", time="year")
    assert res.estimate == pytest.approx(CASTLE_PYFIXEST["coef"], abs=1e-8)
    assert res.std_error == pytest.approx(CASTLE_PYFIXEST["se"], rel=1e-6)
    weighted = cq.estimate("did", castle, outcome="l_homicide", treatment="post", unit="sid", time="year",
                           weight="popwt")
    assert weighted.estimate == pytest.approx(CASTLE_WEIGHTED_PYFIXEST["coef"], abs=1e-8)
    assert weighted.std_error == pytest.approx(CASTLE_WEIGHTED_PYFIXEST["se"], rel=1e-6)
    assert abs(weighted.estimate - CASTLE_PUBLISHED) < 0.015 and abs(res.estimate - CASTLE_PUBLISHED) < 0.015
    assert res.diagnostics["n_clusters"] == 50 and res.diagnostics["ssc_k"] == 12  # 1 slope + 11 years


def test_organ_donations_matches_the_effect_and_pyfixest():
    causaldata = pytest.importorskip("causaldata")
    od = causaldata.organ_donations.load_pandas().data
    od["treated"] = ((od.State == "California") & (od.Quarter_Num >= 4)).astype(int)
    res = cq.estimate("did", od, outcome="Rate", treatment="treated", unit="State", time="Quarter_Num")
    # The Effect prints 4 decimals: |diff| < 5e-5.
    assert res.estimate == pytest.approx(ORGAN_PUBLISHED, abs=5e-5)
    assert res.estimate == pytest.approx(ORGAN_PYFIXEST["coef"], abs=1e-8)
    assert res.std_error == pytest.approx(ORGAN_PYFIXEST["se"], rel=1e-6)
    assert res.diagnostics["means"]["difference_in_differences"] == pytest.approx(res.estimate, abs=1e-10)


def _pyfixest_fit(fml: str, df: pd.DataFrame, **kw):
    pf = pytest.importorskip("pyfixest")
    return pf.feols(fml, data=df, **kw)


@pytest.mark.parametrize("case", ["balanced", "unbalanced_with_covariate", "weighted"])
def test_simulated_panels_match_pyfixest(case):
    """pyfixest feols('y ~ d (+ x) | unit + time', vcov={'CRV1': 'unit'}): coefficient to 1e-8, SE to
    1e-6 relative (same estimator and small-sample factor; pyfixest demeans iteratively to fixef_tol)."""
    df = simulate_panel(n_units=300, n_periods=7, cohorts=(0, 3, 5), seed=7, covariate=True)
    kw, fml, covs = {}, "y ~ d | unit + time", []
    if case == "unbalanced_with_covariate":
        df = df.sample(frac=0.75, random_state=2)
        df = df[df.groupby("unit").d.transform("min") == 0]  # keep units with a pre-period (see below)
        df = df[df.groupby("unit").d.transform("size") > 1]  # pyfixest and did both drop singletons
        fml, covs, kw = "y ~ d + x | unit + time", ["x"], {"fixef_tol": 1e-14}
    if case == "weighted":
        df["w"] = np.random.default_rng(1).uniform(0.5, 3.0, size=len(df))
        kw = {"weights": "w"}
    ref = _pyfixest_fit(fml, df, vcov={"CRV1": "unit"}, **kw)
    res = cq.estimate("did", df, **ROLES, covariates=covs, **({"weight": "w"} if case == "weighted" else {}))
    assert res.estimate == pytest.approx(ref.coef()["d"], abs=1e-8)
    assert res.std_error == pytest.approx(ref.se()["d"], rel=1e-6)
    assert res.n_obs == ref._N
    # inference uses t(G - 1), as pyfixest
    assert res.p_value == pytest.approx(ref.pvalue()["d"], rel=1e-5)


def test_public_panels_match_pyfixest_live():
    causaldata = pytest.importorskip("causaldata")
    castle = causaldata.castle.load_pandas().data.astype({"popwt": float, "l_homicide": float})
    ref = _pyfixest_fit("l_homicide ~ post | sid + year", castle, vcov={"CRV1": "sid"})
    assert ref.coef()["post"] == pytest.approx(CASTLE_PYFIXEST["coef"], abs=1e-10)
    assert ref.se()["post"] == pytest.approx(CASTLE_PYFIXEST["se"], rel=1e-8)
    ref = _pyfixest_fit("l_homicide ~ post | sid + year", castle, vcov={"CRV1": "sid"}, weights="popwt")
    assert ref.coef()["post"] == pytest.approx(CASTLE_WEIGHTED_PYFIXEST["coef"], abs=1e-10)
    od = causaldata.organ_donations.load_pandas().data
    od["treated"] = ((od.State == "California") & (od.Quarter_Num >= 4)).astype(int)
    ref = _pyfixest_fit("Rate ~ treated | State + Quarter_Num", od, vcov={"CRV1": "State"})
    assert ref.coef()["treated"] == pytest.approx(ORGAN_PYFIXEST["coef"], abs=1e-10)
    assert ref.se()["treated"] == pytest.approx(ORGAN_PYFIXEST["se"], rel=1e-8)


def test_repeated_cross_sections_use_group_effects():
    """Individuals sampled each period within 8 groups: group and period effects, HC1 by default
    (pyfixest vcov='hetero') and CR1 when a cluster is named."""
    rng = np.random.default_rng(5)
    n = 6000
    group, time = rng.integers(0, 8, n), rng.integers(0, 4, n)
    d = ((group < 4) & (time >= 2)).astype(int)
    df = pd.DataFrame({"g": group, "t": time, "d": d,
                       "y": 0.5 * group + 0.3 * time + 2.0 * d + rng.normal(size=n), "s": rng.integers(0, 40, n)})
    res = cq.estimate("did", df, outcome="y", treatment="d", unit="g", time="t")
    assert res.diagnostics["repeated_cross_section"] and res.diagnostics["se_type"] == "HC1"
    assert abs(res.estimate - 2.0) < 4 * res.std_error
    ref = _pyfixest_fit("y ~ d | g + t", df, vcov="hetero")
    assert res.estimate == pytest.approx(ref.coef()["d"], abs=1e-8)
    assert res.std_error == pytest.approx(ref.se()["d"], rel=1e-6)
    clustered = cq.estimate("did", df, outcome="y", treatment="d", unit="g", time="t", cluster="s")
    ref = _pyfixest_fit("y ~ d | g + t", df, vcov={"CRV1": "s"})
    assert clustered.std_error == pytest.approx(ref.se()["d"], rel=1e-6)


def test_alternating_projections_agree_with_the_exact_absorption(monkeypatch):
    df = simulate_panel(n_units=150, n_periods=6, cohorts=(0, 3, 5), seed=8).sample(frac=0.8, random_state=3)
    df = df[df.groupby("unit").d.transform("min") == 0]
    exact = cq.estimate("did", df, **ROLES)
    monkeypatch.setattr(did_module, "MAX_DUMMY_LEVELS", 0)  # force the iterative path
    iterative = cq.estimate("did", df, **ROLES)
    assert iterative.estimate == pytest.approx(exact.estimate, abs=1e-8)
    assert iterative.std_error == pytest.approx(exact.std_error, rel=1e-6)


# --- bad input -------------------------------------------------------------------------------

def _code(frame: pd.DataFrame, method: str = "did", **kw) -> str:
    with pytest.raises(CQOxError) as info:
        cq.estimate(method, frame, **{**ROLES, **kw})
    assert info.value.hint
    return info.value.code


def test_no_comparison_group_in_a_two_by_two_is_a_typed_error():
    df = simulate_panel(n_units=50, n_periods=4, cohorts=(3,), seed=9)  # everyone treated from period 3
    assert _code(df) == "E-EST-023"


def test_a_unit_treated_in_every_period_is_dropped_with_a_warning():
    df = simulate_panel(n_units=200, n_periods=4, cohorts=(0, 3), seed=10)
    df.loc[df.unit == 0, "d"] = 1
    res = cq.estimate("did", df, **ROLES)
    assert any("treated in every period" in w for w in res.warnings)
    assert res.diagnostics["n_units"] == 199 and abs(res.estimate - 2.0) < 4 * res.std_error


def test_all_treated_units_always_treated_is_a_typed_error():
    df = simulate_panel(n_units=60, n_periods=4, cohorts=(0, 1), seed=11)  # cohort 1 = first period
    assert _code(df) == "E-EST-022"


def test_constant_outcome_gives_zero_with_a_warning():
    df = simulate_panel(n_units=60, n_periods=4, cohorts=(0, 3), seed=12).assign(y=5.0)
    res = cq.estimate("did", df, **ROLES)
    assert res.estimate == pytest.approx(0.0, abs=1e-12)
    assert any("single value" in w for w in res.warnings)


def test_degenerate_inputs_are_typed():
    df = simulate_panel(n_units=40, n_periods=4, cohorts=(0, 3), seed=13)
    assert _code(df.assign(d=0)) == "E-ROLE-003"                      # nobody treated
    assert _code(df.assign(y=np.nan)) == "E-ROLE-004"                 # no outcome
    assert _code(df[df.time == 1].assign(d=df.unit % 2)) == "E-ROLE-016"  # single period
    assert _code(pd.concat([df, df.iloc[:3]])) == "E-ROLE-015"        # a few duplicated unit-periods
    treated_missing = df.assign(y=np.where(df.d == 1, np.nan, df.y))
    assert _code(treated_missing) == "E-EST-021"                       # treated rows all missing
    with pytest.raises(RoleError):
        cq.estimate("did", df.assign(d=df.d * 2 + 1), **ROLES)          # not 0/1
    assert _code(df.assign(w=-1.0), weight="w") == "E-EST-028"


def test_treatment_that_switches_off_is_allowed_with_a_warning():
    df = simulate_panel(n_units=100, n_periods=6, cohorts=(0, 3), seed=14)
    df.loc[(df.unit == df.loc[df.d == 1, "unit"].iloc[0]) & (df.time == 6), "d"] = 0
    res = cq.estimate("did", df, **ROLES)
    assert any("turns off" in w for w in res.warnings)


def test_json_round_trip_and_seed_determinism():
    df = simulate_panel(n_units=120, n_periods=6, cohorts=(0, 3, 5), seed=15)
    a, b = cq.estimate("did", df, **ROLES, seed=3).to_dict(), cq.estimate("did", df, **ROLES, seed=3).to_dict()
    assert a == b and json.loads(json.dumps(a, allow_nan=False)) == a
    assert a["diagnostics"]["bacon"]["comparisons"][0]["type"] in ("treated_vs_never", "earlier_vs_later",
                                                                    "later_vs_earlier")


def test_dates_as_time_and_no_pre_period_error_class():
    df = simulate_panel(n_units=80, n_periods=5, cohorts=(0, 3, 4), seed=16)
    df["time"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(91 * (df.time - 1), unit="D")
    res = cq.estimate("did", df, **ROLES)
    assert set(res.diagnostics["cohorts"]) == {"2020-07-01", "2020-09-30"}
    assert isinstance(EstimationError("x"), CQOxError)
