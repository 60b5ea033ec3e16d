"""Sensitivity analysis: E-value and Cinelli-Hazlett robustness value.

Reference values and where they come from
-----------------------------------------
E-value (VanderWeele & Ding 2017, Ann Intern Med 167:268):
  * breastfeeding example (Victora et al. 1987, RR 3.9, 95% CI 1.8-8.7):
    the paper reports E-value 7.26 for the estimate and 3.0 for the CI.
  * leukemia example, RR 0.80 (0.71-0.91): the paper and the R package EValue
    (``evalues.RR(0.80, 0.71, 0.91)``) give 1.81 and 1.43.
  * R EValue ``evalues.MD(0.5, 0.25)``: RR = exp(0.91 * 0.5), lower limit
    exp(0.91 * 0.5 - 1.78 * 0.25); the E-values 2.5291 and 1.1108 follow from
    the package's threshold() formula (computed by hand; no printed output).

Robustness value (Cinelli & Hazlett 2020, JRSS-B 82:39), Darfur example
(Hazlett 2019): model peacefactor ~ directlyharmed + age + farmer_dar +
herder_dar + pastvoted + hhsize_darfur + female + village. The values below are
the R sensemakr package's own regression test (tests/testthat/test-02-darfur.R):
dof 783, R²_{Y~D|X} 0.02187309, RV_q 0.1387764, RV_{q,0.05} 0.07625797 and the
bounds for confounders 1x/2x/3x female (check_bounds there).

The extreme-case RVs (t = 10, dof = 5 and t = 30, dof = 20) and the partial R²
of female come from PySensemakr 0.0.8 and statsmodels with this script:

    import sensemakr as smkr, statsmodels.formula.api as smf
    d = smkr.load_darfur()
    rhs = "age + farmer_dar + herder_dar + pastvoted + hhsize_darfur + female + village"
    m = smf.ols("peacefactor ~ directlyharmed + " + rhs, data=d).fit()
    md = smf.ols("directlyharmed ~ " + rhs, data=d).fit()
    print(smkr.partial_r2(t_statistic=float(m.tvalues["female"]), dof=int(m.df_resid)))    # 0.1090339154278416
    print(smkr.partial_r2(t_statistic=float(md.tvalues["female"]), dof=int(md.df_resid)))  # 0.009081065190331078
    print(m.params["directlyharmed"], m.bse["directlyharmed"])  # 0.09731581928495575 0.023256537809811115
    for t, dof in ((10.0, 5), (30.0, 20)):
        print(smkr.robustness_value(t_statistic=t, dof=dof, alpha=0.05))  # 0.860611340212181, 0.9732485701460734

The bias contour at two grid points and the multiples of 'female' that explain the effect away are
PySensemakr's, stored in tests/references/sensitivity_contour_darfur.json with the script that made them.
Rosenbaum's bounds are checked against scipy's Wilcoxon test (Γ = 1) and the exact distribution of the
bounding statistic (Γ > 1); no R (rbounds) is available here, so the formulas are rbounds' psens, cited.

The Darfur data ship with PySensemakr (``pip install PySensemakr``); the tests
that need the rows skip without it, the ones on published numbers always run.
"""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import cqox_core as cq
from cqox_core.data import Dataset
from cqox_core.results import EffectResult
from cqox_core.roles import Roles
from cqox_core.sensitivity import (
    adjusted_estimate,
    adjusted_se,
    attach_sensitivity,
    benchmark_bound,
    ci_e_value,
    covariate_partial_r2s,
    critical_gamma,
    e_value_ci,
    e_value_rr,
    partial_r2,
    robustness_value,
    rosenbaum_bounds,
    rr_from_risk_difference,
    rr_from_smd,
    sensitivity_report,
    sign_test_bound,
    signed_rank_bounds,
)

# Published figures are printed to 2 decimals (E-values) or 5 digits (sensemakr tests):
# tolerances are half a unit in the last printed place.
PRINTED_2DP = 0.005
SENSEMAKR_TEST_TOL = 1e-5


# --------------------------------------------------------------------------
# E-value: published examples
# --------------------------------------------------------------------------

@pytest.mark.parametrize("rr, lo, hi, expected_e, expected_ci, source", [
    (3.9, 1.8, 8.7, 7.26, 3.00, "VanderWeele & Ding 2017, breastfeeding / respiratory death"),
    (0.80, 0.71, 0.91, 1.81, 1.43, "VanderWeele & Ding 2017 leukemia; R EValue evalues.RR example"),
])
def test_e_value_matches_published_examples(rr, lo, hi, expected_e, expected_ci, source):
    assert e_value_rr(rr) == pytest.approx(expected_e, abs=PRINTED_2DP), source
    assert e_value_ci(lo, hi) == pytest.approx(expected_ci, abs=PRINTED_2DP), source


def test_e_value_of_standardized_difference_matches_evalue_package():
    # R EValue evalues.MD(0.5, 0.25): RR = exp(0.91 d), CI limit exp(0.91 d - 1.78 se).
    assert rr_from_smd(0.5) == pytest.approx(math.exp(0.455), rel=1e-12)
    assert e_value_rr(rr_from_smd(0.5)) == pytest.approx(2.5291419818612693, rel=1e-12)
    half_width = 1.78 / 0.91 * 0.25  # the package's 1.78 = 0.91 * 1.956
    to_rr = lambda effect: rr_from_smd(effect)  # noqa: E731 -- d is already standardized
    assert ci_e_value(0.5 - half_width, 0.5 + half_width, to_rr) == pytest.approx(1.1108031965303733, rel=1e-12)


def test_e_value_is_symmetric_in_protective_and_harmful_direction():
    # EValue docs: "this apparently causative association has same E-value": evalues.RR(1 / 0.80).
    assert e_value_rr(1 / 0.80) == pytest.approx(e_value_rr(0.80), rel=1e-12)


def test_e_value_of_no_effect_and_impossible_ratios():
    assert e_value_rr(1.0) == 1.0
    assert math.isnan(e_value_rr(0.0)) and math.isnan(e_value_rr(-2.0)) and math.isnan(e_value_rr(math.nan))


def test_risk_ratio_from_risk_difference_and_its_range():
    assert rr_from_risk_difference(0.10, 0.20) == pytest.approx(1.5)
    assert math.isnan(rr_from_risk_difference(0.20, 0.90))   # treated risk 1.1
    assert math.isnan(rr_from_risk_difference(-0.30, 0.20))  # treated risk below 0
    assert math.isnan(rr_from_risk_difference(0.10, 0.0))    # no untreated events


# --------------------------------------------------------------------------
# E-value: properties
# --------------------------------------------------------------------------

positive_rr = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False)


@given(positive_rr)
def test_e_value_is_at_least_one(rr):
    assert e_value_rr(rr) >= 1.0


@given(positive_rr, positive_rr, positive_rr)
def test_interval_e_value_never_exceeds_point_e_value(a, b, c):
    lo, est, hi = sorted((a, b, c))
    assert 1.0 <= e_value_ci(lo, hi) <= e_value_rr(est) + 1e-9


@given(st.floats(min_value=1e-3, max_value=1.0), st.floats(min_value=1.0, max_value=1e3))
def test_interval_containing_the_null_has_e_value_one(lo, hi):
    assert e_value_ci(lo, hi) == 1.0
    assert ci_e_value(math.log(lo), math.log(hi), math.exp) == 1.0


# --------------------------------------------------------------------------
# Robustness value and bounds: published numbers (no data needed)
# --------------------------------------------------------------------------

DARFUR_T, DARFUR_DOF = 4.18445, 783
DARFUR_ESTIMATE, DARFUR_SE = 0.09731581928495575, 0.023256537809811115
FEMALE_R2YXJ_DX, FEMALE_R2DXJ_X = 0.1090339154278416, 0.009081065190331078
# R sensemakr tests/testthat/test-02-darfur.R, check_bounds (1x, 2x, 3x female)
FEMALE_BOUNDS = {
    "r2dz_x": (0.00916428667504862, 0.0183285733500972, 0.0274928600251459),
    "r2yz_dx": (0.12464092303637, 0.249324064199975, 0.374050471038094),
    "adjusted_estimate": (0.0752202712144491, 0.0529151723844518, 0.0303960234641548),
    "adjusted_se": (0.0218733277437572, 0.0203500620779637, 0.0186700648170924),
    "adjusted_t": (3.43890386024675, 2.60024623913809, 1.62806202131271),
    "adjusted_ci_lower": (0.032282966, 0.012968035, -0.006253282),
    "adjusted_ci_upper": (0.11815758, 0.09286231, 0.06704533),
}


def test_darfur_robustness_values_from_published_t_and_dof():
    assert partial_r2(DARFUR_T, DARFUR_DOF) == pytest.approx(0.02187309, abs=SENSEMAKR_TEST_TOL)
    assert robustness_value(DARFUR_T, DARFUR_DOF) == pytest.approx(0.1387764, abs=SENSEMAKR_TEST_TOL)
    assert robustness_value(DARFUR_T, DARFUR_DOF, alpha=0.05) == pytest.approx(0.07625797, abs=SENSEMAKR_TEST_TOL)


@pytest.mark.parametrize("t_stat, dof, expected", [
    (10.0, 5, 0.860611340212181),     # f_q > 1/f*: sensemakr's extreme ("not binding") branch
    (30.0, 20, 0.9732485701460734),   # same branch
    (2.0, 50, 0.0),                   # not significant at 5%: RV_alpha = 0
])
def test_robustness_value_alpha_matches_pysensemakr(t_stat, dof, expected):
    assert robustness_value(t_stat, dof, alpha=0.05) == pytest.approx(expected, abs=1e-12)


def test_confounder_at_the_robustness_value_explains_the_estimate_away():
    # sensemakr test-02: adjusted estimate at r2 = RV is 0; adjusted t at r2 = RV_alpha is t*_{dof-1}.
    rv = robustness_value(DARFUR_ESTIMATE / DARFUR_SE, DARFUR_DOF)
    assert adjusted_estimate(DARFUR_ESTIMATE, DARFUR_SE, DARFUR_DOF, rv, rv) == pytest.approx(0.0, abs=1e-12)
    rva = robustness_value(DARFUR_ESTIMATE / DARFUR_SE, DARFUR_DOF, alpha=0.05)
    t_adj = (adjusted_estimate(DARFUR_ESTIMATE, DARFUR_SE, DARFUR_DOF, rva, rva)
             / adjusted_se(DARFUR_SE, DARFUR_DOF, rva, rva))
    assert t_adj == pytest.approx(stats.t.ppf(0.975, DARFUR_DOF - 1), rel=1e-9)


@pytest.mark.parametrize("i, k", [(0, 1.0), (1, 2.0), (2, 3.0)])
def test_female_benchmark_bounds_match_sensemakr(i, k):
    r2dz, r2yz = benchmark_bound(FEMALE_R2DXJ_X, FEMALE_R2YXJ_DX, k)
    assert r2dz == pytest.approx(FEMALE_BOUNDS["r2dz_x"][i], rel=1e-9)
    assert r2yz == pytest.approx(FEMALE_BOUNDS["r2yz_dx"][i], rel=1e-9)
    est = adjusted_estimate(DARFUR_ESTIMATE, DARFUR_SE, DARFUR_DOF, r2dz, r2yz)
    se = adjusted_se(DARFUR_SE, DARFUR_DOF, r2dz, r2yz)
    assert est == pytest.approx(FEMALE_BOUNDS["adjusted_estimate"][i], rel=1e-9)
    assert se == pytest.approx(FEMALE_BOUNDS["adjusted_se"][i], rel=1e-9)
    assert est / se == pytest.approx(FEMALE_BOUNDS["adjusted_t"][i], rel=1e-9)


def test_impossible_benchmark_multiple_gives_no_bound():
    # r2dz.x = kd r2dxj/(1 - r2dxj) >= 1 for kd = 3, r2dxj = 0.3: sensemakr stops with "Impossible kd value".
    assert all(math.isnan(v) for v in benchmark_bound(0.3, 0.1, 3.0))


def test_outcome_bound_is_capped_at_one():
    assert benchmark_bound(0.2, 0.6, 3.0)[1] == 1.0


# --------------------------------------------------------------------------
# Darfur through the public API (needs the data shipped with PySensemakr)
# --------------------------------------------------------------------------

def darfur_path() -> Path:
    spec = importlib.util.find_spec("sensemakr")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("Darfur data ship with PySensemakr (pip install PySensemakr)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "darfur.csv"
    if not path.exists():
        pytest.skip("PySensemakr is installed without its darfur.csv")
    return path


@pytest.fixture(scope="module")
def darfur_result() -> EffectResult:
    darfur = pd.read_csv(darfur_path())
    # village fixed effects as explicit dummy columns: prep refuses a text covariate with > 50 levels.
    villages = pd.get_dummies(darfur["village"], prefix="village", drop_first=True, dtype=float)
    frame = pd.concat([darfur.drop(columns="village"), villages], axis=1)
    covariates = ["age", "farmer_dar", "herder_dar", "pastvoted", "hhsize_darfur", "female", *villages.columns]
    return cq.estimate("regression_adjustment", frame, outcome="peacefactor", treatment="directlyharmed",
                       covariates=covariates, interacted=False, with_gates=False)


def test_darfur_robustness_value_through_estimate(darfur_result):
    sens = darfur_result.sensitivity
    assert "error" not in sens
    assert darfur_result.diagnostics["additive_dof"] == DARFUR_DOF
    # Published (Cinelli & Hazlett 2020, Sec. 5): RV 13.9%, RV_alpha 7.6%, partial R² 2.2%; compared
    # to sensemakr's 5-digit test values.
    assert round(sens["robustness_value"], 3) == 0.139
    assert round(sens["robustness_value_alpha"], 3) == 0.076
    assert sens["robustness_value"] == pytest.approx(0.1387764, abs=SENSEMAKR_TEST_TOL)
    assert sens["robustness_value_alpha"] == pytest.approx(0.07625797, abs=SENSEMAKR_TEST_TOL)
    assert sens["partial_r2_treatment"] == pytest.approx(0.02187309, abs=SENSEMAKR_TEST_TOL)
    assert "13.9%" in sens["robustness_text"] and "7.6%" in sens["robustness_text"]


def test_darfur_female_benchmark_through_estimate(darfur_result):
    rows = [b for b in darfur_result.sensitivity["benchmarks"] if b["covariate"] == "female"]
    assert [b["kd"] for b in rows] == [1.0, 2.0, 3.0]
    # female is the strongest benchmark, so it leads the table
    assert darfur_result.sensitivity["benchmarks"][0]["covariate"] == "female"
    for i, row in enumerate(rows):
        for key, expected in FEMALE_BOUNDS.items():
            # the CI limits are stored to 8-9 digits in the R test; the rest to full precision
            tol = 1e-8 if key.startswith("adjusted_ci") else 1e-9 * max(1.0, abs(expected[i]))
            assert row[key] == pytest.approx(expected[i], abs=tol), (key, i)


def test_darfur_e_value_uses_standardized_difference(darfur_result):
    sens = darfur_result.sensitivity
    sd = float(pd.read_csv(darfur_path())["peacefactor"].std(ddof=1))
    expected = e_value_rr(math.exp(0.91 * darfur_result.estimate / sd))
    assert sens["e_value"] == pytest.approx(expected, rel=1e-12)
    assert sens["e_value_conversion"].startswith("smd: RR = exp(0.91 d)")
    assert 1.0 < sens["e_value_ci"] < sens["e_value"]
    assert f"{sens['e_value']:.2f}" in sens["e_value_text"]


# --------------------------------------------------------------------------
# Synthetic data: against a direct statsmodels computation
# --------------------------------------------------------------------------

def synthetic_frame(n: int = 400, seed: int = 3, binary_outcome: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    group = rng.choice(["a", "b", "c"], size=n)
    t = (rng.normal(size=n) + 0.8 * x1 > 0).astype(int)
    signal = 0.5 * t + 0.7 * x1 - 0.4 * x2 + 0.3 * (group == "b")
    if binary_outcome:
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(signal - 0.5)))).astype(int)
    else:
        y = signal + rng.normal(size=n)
    return pd.DataFrame({"y": y, "t": t, "x1": x1, "x2": x2, "group": group})


def test_covariate_partial_r2s_match_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    frame = synthetic_frame()
    X = np.column_stack([frame.x1, frame.x2, frame.group == "b", frame.group == "c"]).astype(float)
    r2y, r2d = covariate_partial_r2s(frame.y.to_numpy(float), frame.t.to_numpy(float), X)
    outcome = sm.OLS(frame.y, sm.add_constant(np.column_stack([frame.t, X]))).fit()
    treatment = sm.OLS(frame.t, sm.add_constant(X)).fit()
    np.testing.assert_allclose(r2y, outcome.tvalues[2:] ** 2 / (outcome.tvalues[2:] ** 2 + outcome.df_resid),
                               rtol=1e-9)
    np.testing.assert_allclose(r2d, treatment.tvalues[1:] ** 2 / (treatment.tvalues[1:] ** 2 + treatment.df_resid),
                               rtol=1e-9)


def test_synthetic_regression_report_matches_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    frame = synthetic_frame()
    result = cq.estimate("regression_adjustment", frame, outcome="y", treatment="t",
                         covariates=["x1", "x2", "group"], with_gates=False)
    sens = result.sensitivity
    design = sm.add_constant(pd.get_dummies(frame[["t", "x1", "x2", "group"]], drop_first=True, dtype=float))
    fit = sm.OLS(frame.y, design).fit()
    t_stat, dof = float(fit.tvalues["t"]), float(fit.df_resid)
    assert sens["robustness_value"] == pytest.approx(robustness_value(t_stat, dof), rel=1e-9)
    assert sens["robustness_value_alpha"] == pytest.approx(robustness_value(t_stat, dof, alpha=0.05), rel=1e-9)
    assert sens["partial_r2_treatment"] == pytest.approx(t_stat ** 2 / (t_stat ** 2 + dof), rel=1e-9)
    # 4 design columns (x1, x2, group_b, group_c) x 3 multiples; each categorical dummy stands alone
    assert {b["covariate"] for b in sens["benchmarks"]} == {"x1", "x2", "group_b", "group_c"}
    assert len(sens["benchmarks"]) == 12
    # the interacted (Lin) headline differs from the additive coefficient, and the text says so
    assert "additive model" in sens["robustness_text"]
    json.loads(result.to_json())


def test_collinear_covariates_are_dropped_and_benchmarks_use_the_rest():
    """prep leaves out an exact copy (with a warning), so the benchmarks are those of x1 and x2."""
    frame = synthetic_frame()
    frame["x1_copy"] = 2.0 * frame.x1 + 1.0
    result = cq.estimate("regression_adjustment", frame, outcome="y", treatment="t",
                         covariates=["x1", "x2", "x1_copy"], interacted=False, with_gates=False)
    sens = result.sensitivity
    assert any("x1_copy" in w for w in result.warnings)
    assert {b["covariate"] for b in sens["benchmarks"]} <= {"x1", "x2"} and sens["benchmarks"]
    assert "robustness_value" in sens and "error" not in sens


def test_binary_outcome_e_value_uses_untreated_risk():
    frame = synthetic_frame(binary_outcome=True)
    result = cq.estimate("regression_adjustment", frame, outcome="y", treatment="t",
                         covariates=["x1", "x2"], with_gates=False)
    sens = result.sensitivity
    p0 = frame.loc[frame.t == 0, "y"].mean()
    assert sens["e_value_rr"] == pytest.approx((p0 + result.estimate) / p0, rel=1e-12)
    assert sens["e_value"] == pytest.approx(e_value_rr((p0 + result.estimate) / p0), rel=1e-12)
    assert sens["e_value_conversion"].startswith("risk difference")
    assert sens["e_value_ci"] <= sens["e_value"]


def test_continuous_treatment_gets_robustness_value_but_no_e_value():
    frame = synthetic_frame()
    frame["dose"] = frame.x1 * 0.5 + np.random.default_rng(0).normal(size=len(frame))
    result = cq.estimate("regression_adjustment", frame, outcome="y", treatment="dose",
                         covariates=["x2"], with_gates=False)
    sens = result.sensitivity
    assert "e_value" not in sens and "continuous" in sens["not_applicable"]["e_value"]
    assert 0 <= sens["robustness_value"] <= 1


# --------------------------------------------------------------------------
# attach_sensitivity on hand-made results: applicability and never crashing
# --------------------------------------------------------------------------

def hand_result(**changes) -> EffectResult:
    base = EffectResult(method="ipw", estimand="ate", estimate=0.1, std_error=0.03, ci_lower=0.04,
                        ci_upper=0.16, alpha=0.05, p_value=0.001, n_obs=400)
    return base.replace(**changes)


def binary_dataset(p0: float = 0.2, n_per_arm: int = 100) -> tuple[Dataset, Roles]:
    events = int(round(p0 * n_per_arm))
    y0 = [1] * events + [0] * (n_per_arm - events)
    y1 = [1] * 30 + [0] * (n_per_arm - 30)
    frame = pd.DataFrame({"y": y0 + y1, "t": [0] * n_per_arm + [1] * n_per_arm})
    return Dataset.from_frame(frame), Roles(outcome="y", treatment="t")


def test_risk_difference_e_value_from_hand_result():
    dataset, roles = binary_dataset(p0=0.2)
    sens = attach_sensitivity(hand_result(), dataset, roles).sensitivity
    assert sens["e_value_rr"] == pytest.approx(1.5)          # (0.2 + 0.1) / 0.2
    assert sens["e_value"] == pytest.approx(e_value_rr(1.5))
    assert sens["e_value_ci"] == pytest.approx(e_value_rr(1.2))  # nearer limit 0.04: (0.24) / 0.2
    assert "robustness_value" in sens["not_applicable"]


def test_implied_risk_outside_zero_one_is_reported_not_invented():
    dataset, roles = binary_dataset(p0=0.9)
    result = attach_sensitivity(hand_result(estimate=0.2, ci_lower=0.1, ci_upper=0.3), dataset, roles)
    sens = result.sensitivity
    assert sens["e_value"] is None or math.isnan(sens["e_value"])
    assert "outside (0, 1]" in sens["e_value_conversion"]
    assert json.loads(result.to_json())["sensitivity"]["e_value"] is None


def test_interval_including_no_effect_gives_e_value_one_in_words():
    dataset, roles = binary_dataset(p0=0.2)
    sens = attach_sensitivity(hand_result(ci_lower=-0.02), dataset, roles).sensitivity
    assert sens["e_value_ci"] == 1.0
    assert "already includes no effect" in sens["e_value_text"]


def test_non_average_estimand_is_not_applicable():
    dataset, roles = binary_dataset()
    sens = attach_sensitivity(hand_result(method="iv", estimand="late"), dataset, roles).sensitivity
    assert "e_value" not in sens and "LATE" in sens["not_applicable"]["e_value"]


def test_failures_are_reported_and_the_estimate_kept():
    dataset, roles = binary_dataset()
    broken_roles = Roles(outcome="no_such_column", treatment="t")
    result = hand_result(method="regression_adjustment",
                         diagnostics={"additive_coef": 0.1, "additive_t": 3.0, "additive_dof": 197,
                                      "treatment_kind": "binary"})
    out = attach_sensitivity(result, dataset, broken_roles)
    assert out.estimate == result.estimate and out.std_error == result.std_error
    assert "error" in out.sensitivity and "no_such_column" in out.sensitivity["error"]
    # the robustness value needs only the reported t and dof, so it survives
    assert out.sensitivity["robustness_value"] == pytest.approx(robustness_value(3.0, 197))
    garbage = result.replace(diagnostics={"additive_coef": "x", "additive_t": "y", "additive_dof": "z"})
    assert "error" in attach_sensitivity(garbage, dataset, broken_roles).sensitivity
    json.loads(out.to_json())


def test_nan_estimate_gets_a_reason_not_an_e_value():
    dataset, roles = binary_dataset()
    report = sensitivity_report(hand_result(estimate=math.nan), dataset, roles)
    assert "finite" in report["not_applicable"]["e_value"]


# --------------------------------------------------------------------------
# Bias contour and "k times as strong as" (Darfur, against PySensemakr)
# --------------------------------------------------------------------------
# tests/references/sensitivity_contour_darfur.json holds PySensemakr's adjusted_estimate / adjusted_t at two
# points of the grid attached to this regression and the multiples of 'female' that explain the effect away,
# produced by tests/references/scripts/sensitivity_contour_darfur.py (command in its docstring).

CONTOUR_REFERENCE = json.loads((Path(__file__).parent / "references" / "sensitivity_contour_darfur.json").read_text())
# the same closed forms on the same estimate, SE and dof (which agree to ~1e-13 between the fits): 1e-9 relative
CONTOUR_TOL = 1e-9


def test_darfur_contour_matches_pysensemakr_at_two_grid_points(darfur_result):
    contour = darfur_result.sensitivity["contour"]
    assert contour["estimate"] == pytest.approx(CONTOUR_REFERENCE["estimate"], rel=1e-9)
    assert contour["std_error"] == pytest.approx(CONTOUR_REFERENCE["std_error"], rel=1e-9)
    assert contour["dof"] == CONTOUR_REFERENCE["dof"]
    assert len(contour["r2dz_x"]) == len(contour["r2yz_dx"]) == 25
    for point in CONTOUR_REFERENCE["contour_points"]:
        i, j = point["i"], point["j"]
        assert contour["r2dz_x"][j] == pytest.approx(point["r2dz_x"], abs=1e-12)
        assert contour["r2yz_dx"][i] == pytest.approx(point["r2yz_dx"], abs=1e-12)
        assert contour["adjusted_estimate"][i][j] == pytest.approx(point["adjusted_estimate"], rel=CONTOUR_TOL)
        assert contour["adjusted_t"][i][j] == pytest.approx(point["adjusted_t"], rel=CONTOUR_TOL)
    # the 1x/2x/3x female bounds are the contour's benchmark points
    marks = {b["label"]: b for b in contour["benchmarks"]}
    assert marks["3x female"]["adjusted_estimate"] == pytest.approx(FEMALE_BOUNDS["adjusted_estimate"][2], rel=1e-9)


def test_darfur_female_multiples_match_pysensemakr(darfur_result):
    found = darfur_result.sensitivity["explain_away"]
    assert found["covariate"] == "female"
    # brentq to 1e-10 on both sides: agreement to 1e-8
    assert found["multiplier_zero"] == pytest.approx(CONTOUR_REFERENCE["multiplier_zero_female"], abs=1e-8)
    assert found["multiplier_significance"] == pytest.approx(CONTOUR_REFERENCE["multiplier_significance_female"],
                                                             abs=1e-8)
    # published reading (Cinelli & Hazlett 2020, Sec. 5): 3x female does not bring the estimate to zero but
    # makes it insignificant
    assert 3 < found["multiplier_zero"] and 2 < found["multiplier_significance"] < 3
    text = darfur_result.sensitivity["sensitivity_text"]
    assert "4.3 times as strong as 'female'" in text and "2.7 times" in text


def test_darfur_absorbed_village_fixed_effects_give_the_same_panel(darfur_result):
    """village as a text covariate with 132 levels is absorbed; the robustness value, the contour and the
    female multiples are those of the explicit-dummy model (Cinelli & Hazlett's own specification)."""
    darfur = pd.read_csv(darfur_path())
    absorbed = cq.estimate("regression_adjustment", darfur, outcome="peacefactor", treatment="directlyharmed",
                           covariates=["age", "farmer_dar", "herder_dar", "pastvoted", "hhsize_darfur", "female",
                                       "village"], interacted=False, with_gates=False)
    assert absorbed.diagnostics["absorbed_fixed_effects"] == {"village": 132}
    sens, dummies = absorbed.sensitivity, darfur_result.sensitivity
    assert sens["robustness_value"] == pytest.approx(0.1387764, abs=SENSEMAKR_TEST_TOL)
    for key in ("estimate", "std_error", "dof"):
        assert sens["contour"][key] == pytest.approx(dummies["contour"][key], rel=1e-9)
    np.testing.assert_allclose(sens["contour"]["adjusted_estimate"], dummies["contour"]["adjusted_estimate"],
                               rtol=1e-8, atol=1e-12)
    assert sens["explain_away"]["multiplier_zero"] == pytest.approx(dummies["explain_away"]["multiplier_zero"],
                                                                    rel=1e-8)


def test_benchmark_bound_covers_an_omitted_confounder_as_strong_as_a_measured_one():
    """Known truth: U is an exact twin of the measured X (same strength with T and Y, independent of X), so a
    confounder 1x as strong as X is U's strength, and the 1x adjusted estimate recovers the effect that the
    regression omitting U overstates (Cinelli & Hazlett 2020, Sec. 6: the bound is tight for an orthogonal twin)."""
    rng = np.random.default_rng(11)
    n, tau = 20_000, 1.0
    x, u = rng.normal(size=n), rng.normal(size=n)
    t = 0.5 * x + 0.5 * u + rng.normal(size=n)
    y = tau * t + x + u + rng.normal(size=n)
    frame = pd.DataFrame({"y": y, "t": t, "x": x})
    result = cq.estimate("regression_adjustment", frame, outcome="y", treatment="t", covariates=["x"],
                         with_gates=False)
    assert result.estimate > tau + 0.3            # omitting U biases OLS by cov(t, u) / var(t | x) = 0.4
    first = result.sensitivity["benchmarks"][0]
    assert first["covariate"] == "x" and first["kd"] == 1.0
    # the bound's adjusted estimate vs the truth: within 3 of its SEs (about 0.007 at this n)
    assert abs(first["adjusted_estimate"] - tau) < 3 * first["adjusted_se"]
    # and so a confounder about 1x as strong as x is what it takes to move it that far (not to zero)
    assert result.sensitivity["explain_away"]["multiplier_zero"] > 1


# --------------------------------------------------------------------------
# Rosenbaum bounds (Rosenbaum 2002, ch. 4; rbounds' psens formulas)
# --------------------------------------------------------------------------

def exact_signed_rank_upper(differences: np.ndarray, gamma: float) -> float:
    """P(T+ >= observed) when each |d| rank is positive with probability Gamma / (1 + Gamma): the exact upper
    bound (Rosenbaum 2002, Sec. 4.3.3), by convolution over the (integer, distinct) ranks."""
    d = differences[differences != 0]
    ranks = stats.rankdata(np.abs(d)).astype(int)
    p = gamma / (1 + gamma)
    dist = np.zeros(int(ranks.sum()) + 1)
    dist[0] = 1.0
    for r in ranks:
        shifted = np.zeros_like(dist)
        shifted[r:] = dist[:-r]
        dist = (1 - p) * dist + p * shifted
    observed = int(ranks[d > 0].sum())
    return float(dist[observed:].sum())


def test_signed_rank_bound_at_gamma_one_is_the_wilcoxon_test():
    """At Γ = 1 the bound is the usual one-sided signed-rank test, normal approximation with the tie-corrected
    variance and no continuity correction: scipy's wilcoxon with those settings is an independent peer."""
    rng = np.random.default_rng(3)
    d = np.round(rng.normal(0.3, 1.0, size=60), 1)        # rounding makes ties and a few zeros
    low, high = signed_rank_bounds(d, 1.0)
    peer = stats.wilcoxon(d, alternative="greater", correction=False, method="approx", zero_method="wilcox")
    assert low == pytest.approx(high, rel=1e-12)
    assert high == pytest.approx(peer.pvalue, rel=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_critical_gamma_holds_under_the_exact_bound(seed):
    """The normal approximation (rbounds' psens) against the exact distribution of the bounding statistic, on
    50 distinct differences, where it matters: at the critical Γ the approximate bound is alpha = 0.05 and the
    exact one lies within 0.01 below it (0.043-0.046 on these seeds: the approximation's tails are heavier, so
    the reported Γ errs on the cautious side)."""
    d = np.random.default_rng(seed).normal(0.6, 1.0, size=50)
    gamma = rosenbaum_bounds(d, 0.05)["rosenbaum_gamma"]
    assert 0.04 <= exact_signed_rank_upper(d, gamma) <= 0.05


def test_sign_test_bound_is_the_binomial_tail():
    d = np.array([1.0] * 30 + [-1.0] * 10 + [0.0] * 3)
    assert sign_test_bound(d, 2.0) == pytest.approx(stats.binom.sf(29, 40, 2 / 3), rel=1e-12)


def test_critical_gamma_is_where_the_upper_bound_crosses_alpha():
    rng = np.random.default_rng(8)
    d = rng.normal(0.5, 1.0, size=200)
    found = rosenbaum_bounds(d, 0.05)
    gamma = found["rosenbaum_gamma"]
    assert gamma > 1
    assert signed_rank_bounds(d, gamma)[1] == pytest.approx(0.05, abs=1e-8)
    assert signed_rank_bounds(d, gamma * 0.99)[1] < 0.05 < signed_rank_bounds(d, gamma * 1.01)[1]
    uppers = [row["p_upper"] for row in found["rosenbaum_table"]]
    assert uppers == sorted(uppers)                       # the bound grows with Γ
    assert critical_gamma(lambda g: signed_rank_bounds(-d, g)[1], 0.05) == 1.0   # wrong direction: none


def test_rosenbaum_gamma_through_psm_grows_with_the_effect():
    """Known truth: on matched data with no effect the matched comparison is rarely significant, so Γ stays at
    1; with a strong effect, hidden bias must be large to explain it away."""
    from cqox_core.datasets import simulate_confounded

    gammas = {}
    for effect in (0.0, 0.5, 2.0):
        frame = simulate_confounded(n=600, effect=effect, seed=4)
        result = cq.estimate("psm", frame, outcome="outcome", treatment="treated",
                             covariates=["x1", "x2", "region"], with_gates=False)
        sens = result.sensitivity
        assert "error" not in sens and sens["rosenbaum_pairs"] > 200
        gammas[effect] = sens["rosenbaum_gamma"]
    assert gammas[0.0] == 1.0 and 1.0 < gammas[0.5] < gammas[2.0]
