"""dml: recovery on semi-synthetic NHEFS data with a known effect, agreement with DoubleML and econml on the
same data, learners and folds (numbers in references/dml_doubleml.json), the median aggregation over
splits, the nuisance_fit gate, and typed errors on bad input."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import load_public

import cqox_core as cq
from cqox_core.datasets.cate import STRUCTURAL_EFFECT, simulate_cate, simulate_continuous, simulate_instrumented
from cqox_core.errors import CQOxError
from cqox_core.gates import nuisance_fit_gate

REFERENCE = json.loads((Path(__file__).parent / "references" / "dml_doubleml.json").read_text())["cases"]


@pytest.fixture(scope="module")
def nhefs() -> pd.DataFrame:
    return load_public("nhefs")


@pytest.fixture(scope="module")
def binary(nhefs):
    return simulate_cate(nhefs, seed=1)


def run(sim_frame: pd.DataFrame, covariates: list[str], **kw):
    return cq.estimate("dml", sim_frame, outcome="y", treatment="t", covariates=covariates, **kw)


# --------------------------------------------------------------------------
# recovery of a known effect where the naive contrast fails
# --------------------------------------------------------------------------

def test_irm_recovers_the_ate_where_the_difference_in_means_is_biased(binary):
    frame = binary.frame
    naive = frame.y[frame.t == 1].mean() - frame.y[frame.t == 0].mean()
    res = run(frame, binary.covariates)
    # older people are treated more often and have higher outcomes: the naive contrast is > 5 SE off
    assert abs(naive - binary.ate) > 5 * res.std_error
    # a correct estimator is within 3 SE (p < 0.003 of failing by chance on this one draw)
    assert abs(res.estimate - binary.ate) < 3 * res.std_error
    assert res.diagnostics["model"] == "irm" and res.estimand == "ate"
    assert res.diagnostics["n_repeats"] == 3 and len(res.diagnostics["estimates_by_split"]) == 3


def test_irm_att_targets_the_treated(binary):
    res = run(binary.frame, binary.covariates, estimand="att")
    att = binary.tau[binary.frame.t.to_numpy() == 1].mean()
    # the treated are older, so their effect is larger than the ATE: the two must be told apart
    assert att - binary.ate > 3 * res.std_error
    assert abs(res.estimate - att) < 3 * res.std_error


def test_plr_recovers_a_continuous_treatment_effect(nhefs):
    sim = simulate_continuous(nhefs, seed=2)
    res = run(sim.frame, sim.covariates)
    assert res.diagnostics["model"] == "plr" and res.diagnostics["treatment_kind"] == "continuous"
    naive = np.polyfit(sim.frame.t, sim.frame.y, 1)[0]
    assert abs(naive - STRUCTURAL_EFFECT) > 5 * res.std_error
    assert abs(res.estimate - STRUCTURAL_EFFECT) < 3 * res.std_error
    assert res.sensitivity.get("not_applicable", {}).get("e_value")   # no E-value for a dose


def test_pliv_recovers_the_effect_of_an_endogenous_treatment(nhefs):
    frame = simulate_instrumented(nhefs, seed=3)
    cov = [c for c in frame.columns if c not in ("y", "t", "z")]
    res = cq.estimate("dml", frame, outcome="y", treatment="t", covariates=cov, instrument=["z"], estimand="late")
    ols = run(frame, cov, model="plr")     # ignores the unobserved confounder u
    assert res.diagnostics["model"] == "pliv" and res.estimand == "late"
    assert abs(ols.estimate - STRUCTURAL_EFFECT) > 5 * ols.std_error
    assert abs(res.estimate - STRUCTURAL_EFFECT) < 3 * res.std_error
    assert res.diagnostics["first_stage_f"] > 10
    assert any(g.name == "weak_instrument" and g.status == "pass" for g in res.gates)


# --------------------------------------------------------------------------
# agreement with DoubleML and econml: same data, learners and folds
# --------------------------------------------------------------------------

@pytest.mark.parametrize("case, kw", [
    ("irm_ate_linear", {}),
    ("irm_att_linear", {"estimand": "att"}),
    ("irm_ate_gbm", {"outcome_learner": "gbm", "propensity_learner": "gbm"}),
    ("plr_binary_linear", {"model": "plr"}),
])
def test_agrees_with_doubleml_on_one_split(binary, case, kw):
    res = run(binary.frame, binary.covariates, n_repeats=1, **kw)
    ref = REFERENCE[case]
    # same folds and learners: the estimates differ only by floating-point rounding
    assert res.estimate == pytest.approx(ref["estimate"], rel=1e-9)
    # our SE divides the sample variance by n - 1, DoubleML's by n: a relative 1/(2n) = 3e-4
    assert res.std_error == pytest.approx(ref["std_error"], rel=5e-4)


def test_agrees_with_doubleml_over_repeated_splits(binary):
    res = run(binary.frame, binary.covariates, n_repeats=3)
    ref = REFERENCE["irm_ate_linear_3_splits"]
    np.testing.assert_allclose(res.diagnostics["estimates_by_split"], ref["estimates_by_split"], rtol=1e-9)
    assert res.estimate == pytest.approx(ref["estimate"], rel=1e-9)   # both take the median
    # the SE rules differ by design (module docstring): ours adds the between-split spread
    ses = np.array(res.diagnostics["std_errors_by_split"])
    est = np.array(res.diagnostics["estimates_by_split"])
    assert res.std_error == pytest.approx(np.sqrt(np.median(ses ** 2 + (est - np.median(est)) ** 2)), rel=1e-12)
    assert res.std_error == pytest.approx(ref["std_error"], rel=0.02)


def test_plr_agrees_with_doubleml_and_econml_linear_dml(nhefs):
    sim = simulate_continuous(nhefs, seed=2)
    res = run(sim.frame, sim.covariates, n_repeats=1)
    for case in ("plr_continuous_linear", "plr_continuous_linear_econml"):
        assert res.estimate == pytest.approx(REFERENCE[case]["estimate"], rel=1e-9)
    assert res.std_error == pytest.approx(REFERENCE["plr_continuous_linear"]["std_error"], rel=5e-4)
    # LinearDML's final stage is OLS with HC1: n/(n-1) sum(d~^2 e^2)/sum(d~^2)^2, our influence-function
    # variance exactly, up to rounding
    assert res.std_error == pytest.approx(REFERENCE["plr_continuous_linear_econml"]["std_error"], rel=1e-6)


def test_pliv_agrees_with_doubleml(nhefs):
    frame = simulate_instrumented(nhefs, seed=3)
    cov = [c for c in frame.columns if c not in ("y", "t", "z")]
    res = cq.estimate("dml", frame, outcome="y", treatment="t", covariates=cov, instrument=["z"], model="pliv",
                      n_repeats=1)
    assert res.estimate == pytest.approx(REFERENCE["pliv_linear"]["estimate"], rel=1e-9)
    assert res.std_error == pytest.approx(REFERENCE["pliv_linear"]["std_error"], rel=5e-4)


def test_irm_with_linear_learners_is_aipw_on_the_same_split(binary):
    """aipw's nuisances are the same least squares and logistic MLE on the same folds: identical numbers."""
    kw = dict(outcome="y", treatment="t", covariates=binary.covariates)
    a = cq.estimate("aipw", binary.frame, **kw)
    d = cq.estimate("dml", binary.frame, **kw, n_repeats=1)
    assert d.estimate == pytest.approx(a.estimate, rel=1e-10)
    assert d.std_error == pytest.approx(a.std_error, rel=1e-10)


# --------------------------------------------------------------------------
# nuisance quality: reported and gated
# --------------------------------------------------------------------------

def test_nuisance_quality_is_reported_out_of_fold(binary):
    res = run(binary.frame, binary.covariates)
    nuis = res.diagnostics["nuisance"]
    assert set(nuis["models"]) == {"outcome_treated", "outcome_control", "propensity"}
    # the simulated outcome is mostly explained by the covariates, the propensity moderately
    assert 0.5 < nuis["outcome_r2"] < 0.9
    assert 0.6 < nuis["propensity_auc"] < 0.8
    assert nuis["propensity_log_loss"] < nuis["constant_log_loss"]
    gate = next(g for g in res.gates if g.name == "nuisance_fit")
    assert gate.status == "pass" and gate.metric == pytest.approx(nuis["outcome_r2"])


def test_nuisance_gate_warns_on_an_outcome_model_worse_than_the_mean():
    """Pure-noise outcome and 30 irrelevant covariates on 150 rows: least squares predicts held-out rows
    worse than their mean (expected out-of-fold R^2 about -k/n = -0.2)."""
    rng = np.random.default_rng(4)
    n, k = 150, 30
    frame = pd.DataFrame(rng.normal(size=(n, k)), columns=[f"x{j}" for j in range(k)])
    frame["t"] = rng.binomial(1, 0.5, n)
    frame["y"] = rng.normal(size=n)
    res = cq.estimate("dml", frame, outcome="y", treatment="t", covariates=[f"x{j}" for j in range(k)],
                      model="plr")
    gate = next(g for g in res.gates if g.name == "nuisance_fit")
    assert res.diagnostics["nuisance"]["outcome_r2"] < 0
    assert gate.status == "warn" and "worse than their average" in gate.message


def test_nuisance_gate_thresholds():
    good = {"outcome_r2": 0.3, "propensity_auc": 0.7, "propensity_log_loss": 0.6, "constant_log_loss": 0.65}
    assert nuisance_fit_gate({"nuisance": good}).status == "pass"
    assert nuisance_fit_gate({"nuisance": good | {"propensity_auc": 0.97}}).status == "warn"
    assert nuisance_fit_gate({"nuisance": good | {"propensity_log_loss": 0.7}}).status == "warn"
    assert nuisance_fit_gate({"nuisance": good | {"treatment_model_r2": {"treatment": -0.1}}}).status == "warn"
    randomised = nuisance_fit_gate({"nuisance": good | {"propensity_auc": 0.51}})
    assert randomised.status == "pass" and "randomised" in randomised.message
    assert nuisance_fit_gate({}) is None


# --------------------------------------------------------------------------
# bad input: typed errors with hints
# --------------------------------------------------------------------------

def _code(frame, **kw) -> str:
    kw = {"outcome": "y", "treatment": "t", "covariates": ["x1", "x2"]} | kw
    with pytest.raises(CQOxError) as info:
        cq.estimate("dml", frame, **kw)
    assert info.value.hint
    return info.value.code


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    t = rng.binomial(1, 0.5, 300)
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "t": t, "y": t + x[:, 0] + rng.normal(size=300)})


def test_bad_input_is_typed(small):
    assert _code(small.assign(t=1)) == "E-ROLE-003"                               # one level
    assert _code(small.assign(y=np.nan)) == "E-ROLE-004"                          # all outcomes missing
    continuous = small.assign(t=np.random.default_rng(1).normal(size=len(small)))
    assert _code(continuous, model="irm") == "E-ROLE-010"                         # dose given to irm
    separated = small.assign(t=(small.x1 > 0).astype(int))                       # propensity 0 / 1
    assert _code(separated) == "E-EST-006"
    assert _code(separated, model="plr") == "E-EST-006"
    assert _code(small, model="pliv") == "E-ROLE-001"                             # no instrument
    assert _code(small, model="plr", estimand="att") == "E-METHOD-006"
    assert _code(small, outcome_learner="deep_net") == "E-METHOD-005"
    assert _code(small, n_repeats=0) == "E-METHOD-005"


# --------------------------------------------------------------------------
# Monte Carlo: the interval covers the truth at its nominal rate
# --------------------------------------------------------------------------

@pytest.mark.slow
def test_irm_interval_coverage_monte_carlo():
    """200 draws of 400 rows (NHEFS-like covariates): 95% intervals should cover the sample ATE in about
    95% of draws; the binomial SE of the rate over 200 draws is 1.5 points, so [0.91, 0.99] is ~2.7 SE."""
    from cqox_core.datasets.cate import synthetic_covariates

    hits = []
    for seed in range(200):
        sim = simulate_cate(synthetic_covariates(400, seed), seed=seed)
        res = cq.estimate("dml", sim.frame, outcome="y", treatment="t", covariates=sim.covariates, n_repeats=1,
                          with_gates=False, with_sensitivity=False, seed=seed)
        hits.append(res.ci_lower <= sim.ate <= res.ci_upper)
    assert 0.91 <= np.mean(hits) <= 0.99, np.mean(hits)


def test_fairness_gap_by_a_protected_attribute(binary):
    res = run(binary.frame, binary.covariates, protected="sex")
    fair = res.diagnostics["fairness"]
    sex = binary.frame["sex"].to_numpy()
    true_gap = binary.tau[sex == 1].mean() - binary.tau[sex == 0].mean()     # 0.60 on these rows
    assert abs(fair["gap"]["estimate"] - true_gap) < 3 * fair["gap"]["std_error"] and fair["gap"]["ci_lower"] > 0
    with pytest.raises(CQOxError) as info:
        run(binary.frame, binary.covariates, protected="sex", model="plr")
    assert info.value.code == "E-METHOD-006"


def test_results_section_renders(binary):
    from streamlit.testing.v1 import AppTest

    result = json.loads(json.dumps(run(binary.frame, binary.covariates, protected="sex").to_dict()))

    def page(result: dict) -> None:
        from app_lib.sections import section

        section("dml")(result, {})

    app = AppTest.from_function(page, args=(result,), default_timeout=60).run()
    assert not app.exception
    text = " ".join(m.value for m in app.markdown)
    assert "held-out rows" in text and "larger for sex = 1.0" in text
