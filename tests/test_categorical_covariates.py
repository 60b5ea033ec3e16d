"""Categorical covariates everywhere (issue 9, part 9).

* A few-level text covariate becomes indicators (first level left out) in every
  method: on each registry example the estimate with a text 'region' equals the
  estimate with the same indicators made by hand.
* A text covariate with hundreds of levels (a store, a village) is absorbed as
  fixed effects by regression_adjustment and did instead of raising E-ROLE-011,
  and the robustness value is computed on the absorbed model.

Peers (test dependencies, used at test time): statsmodels OLS with one dummy per
level, pyfixest ``feols(... | store)`` and PySensemakr on the dummy model.
Standard-error types compared: classical (pyfixest "iid"), HC1 (pyfixest
"hetero"), CR1 by store (pyfixest "CRV1", whose K leaves out fixed effects
nested in the clusters), and HC3, which pyfixest refuses with fixed effects, so
its peer is statsmodels' HC3 on the dummy model (the same formula: leverages
include the dummies'). Tolerances: 1e-8 on coefficients and 1e-6 relative on
SEs (the brief's), far above the ~1e-12 differences of exact FWL vs dense OLS.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import cqox_core as cq
from cqox_core import registry
from cqox_core.errors import CQOxError, MethodError, RoleError

pf = pytest.importorskip("pyfixest")
smf = pytest.importorskip("statsmodels.formula.api")
smkr = pytest.importorskip("sensemakr")

COEF_TOL = 1e-8
SE_REL_TOL = 1e-6
N_STORES = 300
TRUE_ATE = 2.0


@pytest.fixture(autouse=True)
def _quiet_peers():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyfixest/statsmodels deprecation chatter
        yield


# ---------------------------------------------------------------------------
# few-level text covariates: indicators in every method
# ---------------------------------------------------------------------------

def with_region(example) -> tuple[pd.DataFrame, dict, dict]:
    """The example plus a 3-level text covariate (per unit on panels) and the same indicators by hand."""
    frame = example.frame.copy()
    kw = example.kwargs()
    rng = np.random.default_rng(1)
    if "unit" in kw:
        units = pd.factorize(frame[kw["unit"]])[0]
        region = rng.choice(["north", "south", "west"], size=units.max() + 1)[units]
    else:
        region = rng.choice(["north", "south", "west"], size=len(frame))
    frame["region"] = region
    frame["region_south"] = (region == "south").astype(float)
    frame["region_west"] = (region == "west").astype(float)
    base = list(kw.get("covariates", []))
    return frame, {**kw, "covariates": base + ["region"]}, {**kw, "covariates": base + ["region_south", "region_west"]}


@pytest.mark.parametrize("method", [m.id for m in registry.methods() if m.example is not None])
def test_text_covariate_is_the_same_as_its_indicators_in_every_method(method):
    """Fails before the fix for panel_matching and synthetic_control, which refused a text covariate."""
    frame, as_text, as_indicators = with_region(registry.get(method).example(0))
    text = cq.estimate(method, frame, **as_text)
    dummies = cq.estimate(method, frame, **as_indicators)
    assert text.estimate == pytest.approx(dummies.estimate, abs=1e-12)
    np.testing.assert_allclose(text.std_error, dummies.std_error, rtol=1e-12, equal_nan=True)


def test_other_methods_still_refuse_hundreds_of_levels_and_say_who_absorbs_them():
    frame = store_frame()
    with pytest.raises(RoleError) as err:
        cq.estimate("ipw", frame, outcome="y", treatment="t", covariates=["x", "store"])
    assert err.value.code == "E-ROLE-011" and "regression_adjustment and did absorb" in str(err.value)


# ---------------------------------------------------------------------------
# regression adjustment with a 300-level store covariate
# ---------------------------------------------------------------------------

def store_frame(n: int = 6_000, seed: int = 0, x_effect: float = 1.0) -> pd.DataFrame:
    """Stores confound: a store's effect a_s raises both its treated share and the outcome (3 a_s).
    The effect is 2 + 0.5 x with E[x] = 0, so the ATE is 2; ~20 rows per store, no store alone."""
    rng = np.random.default_rng(seed)
    store = rng.integers(0, N_STORES, n)
    a = rng.normal(size=N_STORES)
    x = rng.normal(size=n) + 0.3 * a[store]
    t = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * a[store] + 0.5 * x)))).astype(int)
    y = 3 * a[store] + (TRUE_ATE + 0.5 * x) * t + x_effect * x + rng.normal(size=n)
    return pd.DataFrame({"store": np.char.add("s", store.astype(str)), "x": x, "t": t, "y": y})


@pytest.fixture(scope="module")
def stores() -> pd.DataFrame:
    frame = store_frame()
    assert frame["store"].value_counts().min() > 1   # the dummy-model peers keep every row
    return frame


def ra(frame: pd.DataFrame, **kw):
    return cq.estimate("regression_adjustment", frame, outcome="y", treatment="t", covariates=["x", "store"], **kw)


@pytest.mark.parametrize("cov_type, peer", [("classical", "iid"), ("HC1", "hetero")])
def test_additive_model_equals_pyfixest(stores, cov_type, peer):
    result = ra(stores, interacted=False, cov_type=cov_type)
    ref = pf.feols("y ~ t + x | store", data=stores, vcov=peer)
    assert result.estimate == pytest.approx(float(ref.coef()["t"]), abs=COEF_TOL)
    assert result.std_error == pytest.approx(float(ref.se()["t"]), rel=SE_REL_TOL)
    assert result.diagnostics["absorbed_fixed_effects"] == {"store": N_STORES}


def test_additive_model_equals_ols_with_dummies_including_hc3(stores):
    result = ra(stores, interacted=False)          # default HC3
    ref = smf.ols("y ~ t + x + C(store)", data=stores).fit(cov_type="HC3")
    assert result.estimate == pytest.approx(float(ref.params["t"]), abs=COEF_TOL)
    assert result.std_error == pytest.approx(float(ref.bse["t"]), rel=SE_REL_TOL)
    assert "HC3" in result.se_method and "absorbed" in result.se_method


def test_cluster_by_store_follows_pyfixest_nested_rule(stores):
    """CR1: the store effects are nested in the store clusters, so K leaves them out (fixest's rule)."""
    result = ra(stores, interacted=False, cluster="store")
    ref = pf.feols("y ~ t + x | store", data=stores, vcov={"CRV1": "store"})
    assert result.estimate == pytest.approx(float(ref.coef()["t"]), abs=COEF_TOL)
    assert result.std_error == pytest.approx(float(ref.se()["t"]), rel=SE_REL_TOL)


def treated_means_term(frame: pd.DataFrame, dense) -> float:
    """The ATT's extra variance for the estimated treated means of x (regression_adjustment's docstring),
    by hand on the dense dummy model: n1/(n1-1) sum D_i^2 + 2 sum R_i D_i, D_i = T_i d (x_i - xbar_T) / n1
    with d the coefficient on T xc, R_i = row T of (Z'Z)^-1 z_i e_i."""
    t = frame["t"].to_numpy(float)
    n1 = t.sum()
    own = t * float(dense.params["t:xc"]) * frame["xc"].to_numpy() / n1
    row = np.asarray(dense.normalized_cov_params)[list(dense.model.exog_names).index("t")]
    regression = (dense.model.exog @ row) * np.asarray(dense.resid)
    return float(n1 / (n1 - 1) * own @ own + 2 * regression @ own)


@pytest.mark.parametrize("estimand", ["ate", "att"])
def test_lin_estimator_with_absorbed_store_interacts_only_the_other_covariates(stores, estimand):
    """Store effects enter additively; x is centred (full sample for the ATE, treated for the ATT) and
    interacted with the treatment: Y ~ T + xc + T xc | store. The ATT's SE adds the term for the estimated
    treated means, computed by hand on the dense model."""
    frame = stores.copy()
    centre = frame.loc[frame["t"] == 1, "x"].mean() if estimand == "att" else frame["x"].mean()
    frame["xc"] = frame["x"] - centre
    dense_fit = smf.ols("y ~ t + xc + t:xc + C(store)", data=frame).fit()
    extra = treated_means_term(frame, dense_fit) if estimand == "att" else 0.0
    result = ra(stores, estimand=estimand, cov_type="HC1")
    ref = pf.feols("y ~ t + xc + t:xc | store", data=frame, vcov="hetero")
    assert result.estimate == pytest.approx(float(ref.coef()["t"]), abs=COEF_TOL)
    assert result.std_error == pytest.approx(np.sqrt(float(ref.se()["t"]) ** 2 + extra), rel=SE_REL_TOL)
    hc3 = ra(stores, estimand=estimand)
    dense = smf.ols("y ~ t + xc + t:xc + C(store)", data=frame).fit(cov_type="HC3")
    assert hc3.estimate == pytest.approx(float(dense.params["t"]), abs=COEF_TOL)
    assert hc3.std_error == pytest.approx(np.sqrt(float(dense.bse["t"]) ** 2 + extra), rel=SE_REL_TOL)


def test_absorbed_store_recovers_the_effect_the_store_confounds(stores):
    absorbed = ra(stores)
    naive = cq.estimate("regression_adjustment", stores, outcome="y", treatment="t", covariates=["x"])
    assert abs(absorbed.estimate - TRUE_ATE) < 4 * absorbed.std_error     # 4 SE: a false alarm ~1 in 16,000
    assert abs(naive.estimate - TRUE_ATE) > 20 * naive.std_error          # what ignoring the stores gives
    assert any("entered as fixed effects" in w for w in absorbed.warnings)


def test_robustness_value_equals_pysensemakr_on_the_dummy_model():
    # x's effect on y is kept moderate so its 1x benchmark stays below PySensemakr's R2 = 1 cap (PySensemakr
    # 0.0.8 fails when it has to apply that cap to a single bound)
    stores = store_frame(x_effect=0.3)
    result = ra(stores, interacted=False, cov_type="classical")
    dummy = smf.ols("y ~ t + x + C(store)", data=stores).fit()
    stats = smkr.Sensemakr(model=dummy, treatment="t").sensitivity_stats
    sens = result.sensitivity
    assert result.diagnostics["additive_dof"] == int(stats["dof"])           # n - 1 - 1 - 300
    assert sens["robustness_value"] == pytest.approx(stats["rv_q"], abs=1e-6)
    assert sens["robustness_value_alpha"] == pytest.approx(stats["rv_qa"], abs=1e-6)
    assert sens["partial_r2_treatment"] == pytest.approx(stats["r2yd_x"], abs=1e-6)
    assert "fixed effects of store" in sens["robustness_model"]
    # the benchmark "as strong as x", from x's partial R2s in the dummy models (PySensemakr's formulas)
    treatment_model = smf.ols("t ~ x + C(store)", data=stores).fit()
    r2dxj = smkr.partial_r2(t_statistic=float(treatment_model.tvalues["x"]), dof=int(treatment_model.df_resid))
    r2yxj = smkr.partial_r2(t_statistic=float(dummy.tvalues["x"]), dof=int(dummy.df_resid))
    bound = smkr.ovb_partial_r2_bound(r2dxj_x=[r2dxj], r2yxj_dx=[r2yxj], benchmark_covariates=["x"], kd=1)
    adjusted = smkr.adjusted_estimate(estimate=stats["estimate"], se=stats["se"], dof=stats["dof"],
                                      r2dz_x=float(bound["r2dz_x"].iloc[0]), r2yz_dx=float(bound["r2yz_dx"].iloc[0]))
    row = next(b for b in sens["benchmarks"] if b["covariate"] == "x" and b["kd"] == 1.0)
    assert row["r2dxj_x"] == pytest.approx(r2dxj, abs=1e-9) and row["r2yxj_dx"] == pytest.approx(r2yxj, abs=1e-9)
    assert row["adjusted_estimate"] == pytest.approx(float(np.asarray(adjusted).ravel()[0]), abs=1e-8)
    assert {b["covariate"] for b in sens["benchmarks"]} == {"x"}          # absorbed stores are not benchmarks


def test_weighted_least_squares_with_absorbed_store(stores):
    """A weight role: the fixed effects are absorbed in the weighted metric (pyfixest weights=, statsmodels WLS)."""
    frame = stores.assign(w=np.random.default_rng(9).uniform(0.5, 2.0, len(stores)))
    hc1 = ra(frame, interacted=False, cov_type="HC1", weight="w")
    ref = pf.feols("y ~ t + x | store", data=frame, vcov="hetero", weights="w")
    assert hc1.estimate == pytest.approx(float(ref.coef()["t"]), abs=COEF_TOL)
    assert hc1.std_error == pytest.approx(float(ref.se()["t"]), rel=SE_REL_TOL)
    hc3 = ra(frame, interacted=False, weight="w")
    dense = smf.wls("y ~ t + x + C(store)", data=frame, weights=frame["w"]).fit(cov_type="HC3")
    assert hc3.std_error == pytest.approx(float(dense.bse["t"]), rel=SE_REL_TOL)


def test_rows_alone_in_their_store_are_left_out_without_changing_the_estimate(stores):
    extra = pd.DataFrame({"store": [f"lonely{i}" for i in range(4)], "x": [0.1, -0.4, 1.2, 0.3],
                          "t": [1, 0, 1, 0], "y": [5.0, -2.0, 3.0, 0.5]})
    frame = pd.concat([stores, extra], ignore_index=True)
    result = ra(frame, interacted=False, cov_type="HC1")
    dense = smf.ols("y ~ t + x + C(store)", data=frame).fit()        # keeps them: each fitted by its dummy
    ref = pf.feols("y ~ t + x | store", data=frame, vcov="hetero")   # pyfixest drops them by default
    assert result.estimate == pytest.approx(float(dense.params["t"]), abs=COEF_TOL)
    assert result.std_error == pytest.approx(float(ref.se()["t"]), rel=SE_REL_TOL)
    assert result.n_obs == len(stores) and any("alone in their level" in w for w in result.warnings)


def test_two_absorbed_factors_hc1_matches_pyfixest_and_hc3_is_refused(stores):
    frame = stores.copy()
    frame["week"] = np.char.add("w", (np.random.default_rng(4).integers(0, 80, len(frame))).astype(str))
    result = cq.estimate("regression_adjustment", frame, outcome="y", treatment="t",
                         covariates=["x", "store", "week"], interacted=False, cov_type="HC1")
    ref = pf.feols("y ~ t + x | store + week", data=frame, vcov="hetero", fixef_tol=1e-12)
    assert result.estimate == pytest.approx(float(ref.coef()["t"]), abs=COEF_TOL)
    assert result.std_error == pytest.approx(float(ref.se()["t"]), rel=SE_REL_TOL)
    with pytest.raises(MethodError) as err:
        cq.estimate("regression_adjustment", frame, outcome="y", treatment="t", covariates=["x", "store", "week"])
    assert "HC1" in err.value.hint


def test_bootstrap_of_regression_adjustment_resamples_with_the_stores_absorbed(stores):
    result = cq.estimate("bootstrap", stores, outcome="y", treatment="t", covariates=["x", "store"],
                         of="regression_adjustment", n_boot=20)
    assert result.estimate == pytest.approx(ra(stores).estimate, abs=1e-12)
    assert np.isfinite(result.std_error) and result.std_error > 0


def test_treatment_constant_within_every_store_is_a_typed_error():
    frame = store_frame(n=2_000)
    frame["t"] = (pd.factorize(frame["store"])[0] % 2).astype(int)   # whole stores treated
    with pytest.raises(CQOxError) as err:
        ra(frame)
    assert err.value.code == "E-EST-005"


# ---------------------------------------------------------------------------
# Darfur (Hazlett 2019): village fixed effects as a text covariate
# ---------------------------------------------------------------------------

def test_darfur_village_as_text_gives_the_published_robustness_value():
    """Cinelli & Hazlett (2020) fit village fixed effects (486 villages, 354 with one respondent); passing
    `village` as text must give their numbers (R sensemakr test values: dof 783, RV 0.1387764, RV_alpha
    0.07625797, partial R2 0.02187309). Villages with one row are left out: they leave t and dof unchanged."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sensemakr")
    darfur = pd.read_csv(Path(list(spec.submodule_search_locations)[0]) / "data" / "darfur.csv")
    result = cq.estimate("regression_adjustment", darfur, outcome="peacefactor", treatment="directlyharmed",
                         covariates=["age", "farmer_dar", "herder_dar", "pastvoted", "hhsize_darfur", "female",
                                     "village"], interacted=False, with_gates=False)
    sens = result.sensitivity
    assert result.estimate == pytest.approx(0.09731581928495575, abs=COEF_TOL)   # statsmodels, dummy model
    assert result.diagnostics["additive_dof"] == 783
    assert sens["robustness_value"] == pytest.approx(0.1387764, abs=1e-6)
    assert sens["robustness_value_alpha"] == pytest.approx(0.07625797, abs=1e-6)
    assert sens["partial_r2_treatment"] == pytest.approx(0.02187309, abs=1e-6)
    female = next(b for b in sens["benchmarks"] if b["covariate"] == "female" and b["kd"] == 1.0)
    assert female["adjusted_estimate"] == pytest.approx(0.0752202712144491, abs=1e-9)   # sensemakr check_bounds


# ---------------------------------------------------------------------------
# did with a many-level covariate
# ---------------------------------------------------------------------------

def panel_with_stores(seed: int = 1) -> pd.DataFrame:
    """200 units x 8 periods; each unit-period happens in one of 300 stores (varies within units), whose
    effects b_s enter the outcome; half the units adopt in period 4; ATT 1.5."""
    rng = np.random.default_rng(seed)
    n_units, n_periods = 200, 8
    unit = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(n_periods), n_units)
    store = rng.integers(0, N_STORES, unit.size)
    d = ((rng.random(n_units) < 0.5)[unit] & (time >= 4)).astype(int)
    y = (rng.normal(size=n_units)[unit] + 0.3 * time + 2 * rng.normal(size=N_STORES)[store] + 1.5 * d
         + rng.normal(size=unit.size))
    return pd.DataFrame({"unit": unit, "time": time, "store": np.char.add("s", store.astype(str)), "d": d, "y": y})


def test_did_absorbs_a_store_covariate_as_pyfixest_does():
    frame = panel_with_stores()
    result = cq.estimate("did", frame, outcome="y", treatment="d", unit="unit", time="time", covariates=["store"])
    ref = pf.feols("y ~ d | unit + time + store", data=frame, vcov={"CRV1": "unit"}, fixef_tol=1e-12)
    dense = smf.ols("y ~ d + C(unit) + C(time) + C(store)", data=frame).fit()   # singletons change no slope
    assert result.estimate == pytest.approx(float(dense.params["d"]), abs=COEF_TOL)
    assert result.std_error == pytest.approx(float(ref.se()["d"]), rel=SE_REL_TOL)
    assert result.n_obs == int(ref._N)
    assert result.diagnostics["absorbed_fixed_effects"]["store"] > 250


def test_weighted_did_absorbs_the_store_covariate_as_pyfixest_does():
    frame = panel_with_stores()
    frame["w"] = np.random.default_rng(2).uniform(0.5, 2.0, len(frame))
    result = cq.estimate("did", frame, outcome="y", treatment="d", unit="unit", time="time", covariates=["store"],
                         weight="w")
    ref = pf.feols("y ~ d | unit + time + store", data=frame, vcov={"CRV1": "unit"}, weights="w", fixef_tol=1e-12)
    assert result.estimate == pytest.approx(float(ref.coef()["d"]), abs=COEF_TOL)
    assert result.std_error == pytest.approx(float(ref.se()["d"]), rel=SE_REL_TOL)


def test_did_covariate_constant_within_units_is_the_unit_effects_business():
    frame = panel_with_stores()
    frame["village"] = np.char.add("v", (frame["unit"] % 120).astype(str))    # 120 villages of 1-2 units
    with_village = cq.estimate("did", frame, outcome="y", treatment="d", unit="unit", time="time",
                               covariates=["village"])
    without = cq.estimate("did", frame, outcome="y", treatment="d", unit="unit", time="time")
    assert with_village.estimate == pytest.approx(without.estimate, abs=1e-10)
    assert with_village.std_error == pytest.approx(without.std_error, rel=1e-10)
    assert any("already absorb" in w for w in with_village.warnings)
