"""Causal mediation (``mediation``): recovery of the ACME and ADE where the naive product of
coefficients is confounded, with an interaction and a probit outcome; agreement with statsmodels'
Mediation and with R's mediation on the framing data; the sensitivity parameter rho; several
mediators; interval coverage; typed errors on bad input."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import cqox_core as cq
from cqox_core.data import as_dataset
from cqox_core.datasets.advanced import MEDIATION_ACME, MEDIATION_ADE, mediation_truth, simulate_mediation
from cqox_core.errors import CQOxError, EstimationError, MethodError, RoleError
from cqox_core.estimators import mediation as md
from cqox_core.roles import Roles

REFERENCES = Path(__file__).parent / "references"
ROLES = {"outcome": "y", "treatment": "treated", "mediator": "m", "covariates": ["x1", "x2"]}
FRAMING_ROLES = {"outcome": "cong_mesg", "treatment": "treat", "mediator": "emo",
                 "covariates": ["age", "educ", "gender", "income"]}


def by(res: cq.EffectResult) -> dict[str, cq.results.SubEstimate]:
    return {b.label: b for b in res.by}


@pytest.fixture(scope="module")
def framing() -> pd.DataFrame:
    from cqox_core.datasets.public import framing_frame

    return framing_frame()


# ---------------------------------------------------------------------------
# recovery
# ---------------------------------------------------------------------------

def test_recovers_acme_and_ade_where_the_unadjusted_product_is_biased():
    df = simulate_mediation(5_000, seed=3)
    res = cq.estimate("mediation", df, **ROLES)
    parts = by(res)
    # 4 SE: a correct method misses by more with probability < 1e-4
    assert abs(res.estimate - MEDIATION_ACME) < 4 * res.std_error
    assert abs(parts["ade"].estimate - MEDIATION_ADE) < 4 * parts["ade"].std_error
    assert list(parts) == ["acme", "ade", "total", "proportion_mediated"]
    # x1 drives mediator and outcome: without it the mediator's slope (0.6 * 0.8 / var) is biased up
    naive = cq.estimate("mediation", df, outcome="y", treatment="treated", mediator="m")
    assert naive.estimate - MEDIATION_ACME > 8 * naive.std_error


def test_linear_model_is_the_product_of_coefficients():
    """Linear models without interaction: ACME = a b, ADE = c, total = a b + c (exactly)."""
    df = simulate_mediation(1_000, seed=4)
    res = cq.estimate("mediation", df, **ROLES)
    a = sm.OLS(df["m"], sm.add_constant(df[["treated", "x1", "x2"]])).fit().params["treated"]
    fit = sm.OLS(df["y"], sm.add_constant(df[["treated", "m", "x1", "x2"]])).fit().params
    parts = by(res)
    assert res.estimate == pytest.approx(a * fit["m"], rel=1e-10)
    assert parts["ade"].estimate == pytest.approx(fit["treated"], rel=1e-10)
    assert parts["total"].estimate == pytest.approx(a * fit["m"] + fit["treated"], rel=1e-10)
    assert parts["proportion_mediated"].estimate == pytest.approx(res.estimate / parts["total"].estimate)
    # the total equals the coefficient of the total-effect regression (Frisch-Waugh-Lovell)
    total = sm.OLS(df["y"], sm.add_constant(df[["treated", "x1", "x2"]])).fit().params["treated"]
    assert parts["total"].estimate == pytest.approx(total, rel=1e-10)


def test_interaction_gives_different_acme_for_treated_and_untreated():
    d = 0.6
    df = simulate_mediation(8_000, seed=5, interaction=d)
    truth = mediation_truth(df, interaction=d)
    res = cq.estimate("mediation", df, **ROLES, interaction=True)
    assert abs(res.estimate - truth["acme"]) < 4 * res.std_error
    assert abs(by(res)["ade"].estimate - truth["ade"]) < 4 * by(res)["ade"].std_error
    effects = res.diagnostics["effects"]
    # ACME(t) = a (b + d t): they differ by a d = 0.6 (SE of the difference about 0.03)
    gap = effects["acme_treated"]["estimate"] - effects["acme_control"]["estimate"]
    assert gap == pytest.approx(1.0 * d, abs=0.12)
    assert res.diagnostics["rho_at_zero"] is None and "sensitivity_note" in res.diagnostics


def test_probit_outcome_recovers_the_acme_on_the_probability_scale():
    df = simulate_mediation(20_000, seed=6, binary_outcome=True)
    truth = mediation_truth(df, binary_outcome=True)
    res = cq.estimate("mediation", df, **ROLES, outcome_model="probit", n_sims=400)
    assert abs(res.estimate - truth["acme"]) < 4 * res.std_error
    assert abs(by(res)["total"].estimate - truth["total"]) < 4 * by(res)["total"].std_error


# ---------------------------------------------------------------------------
# agreement with statsmodels' Mediation and R's mediation (framing data)
# ---------------------------------------------------------------------------

def test_framing_agrees_with_statsmodels_mediation(framing):
    """statsmodels' estimate is the mean of its draws: compare our draws' mean (same models, classical
    covariances). Its draws also carry the noise of drawing mediator values, which we integrate out,
    so only the mean is comparable (their SD is larger by that noise: see the script)."""
    ref = json.loads((REFERENCES / "mediation_framing.json").read_text())
    res = cq.estimate("mediation", framing, **FRAMING_ROLES, outcome_model="probit", cov_type="classical",
                      n_sims=20_000, seed=11)
    effects = res.diagnostics["effects"]
    for name in ("acme", "ade", "total"):
        peer = ref["statsmodels"][name]
        # MC SE of our mean: our SD / sqrt(20000); of theirs as stored: 4 SE of the difference
        ours_se = effects[name]["std_error"] / math.sqrt(20_000)
        tol = 4 * math.hypot(ours_se, peer["monte_carlo_se"])
        assert effects[name]["simulation_mean"] == pytest.approx(peer["mean"], abs=tol), name


def test_framing_agrees_with_the_published_r_output(framing):
    """R's mediation (robustSE = TRUE, sims = 100): ACME (average) 0.0805, total 0.0949."""
    ref = json.loads((REFERENCES / "mediation_framing.json").read_text())["r_mediation_published"]
    res = cq.estimate("mediation", framing, **FRAMING_ROLES, outcome_model="probit", cov_type="HC3")
    # R reports the mean of 100 draws: Monte Carlo SE 0.03 / 10 = 0.003 for the ACME, 0.0065 for the
    # total; our plug-in value also differs from the draws' mean by the probit's curvature (0.002)
    assert res.estimate == pytest.approx(ref["acme_average"], abs=0.012)
    assert by(res)["total"].estimate == pytest.approx(ref["total"], abs=0.025)
    assert by(res)["ade"].estimate == pytest.approx(ref["ade_average"], abs=0.025)
    assert res.ci_lower > 0  # R: [0.0350, 0.1304]; the indirect effect is clearly positive


def test_probit_fit_matches_statsmodels(framing):
    d = md.mediation_arrays(as_dataset(framing), Roles(**FRAMING_ROLES), "emo")
    X = md.outcome_design(d, False)
    n, k = X.shape
    glm = sm.GLM(d.y, X, family=sm.families.Binomial(link=sm.families.links.Probit())).fit(tol=1e-12)
    classical = md.probit_fit(X, d.y, d, "classical")
    np.testing.assert_allclose(classical.coef, glm.params, rtol=1e-6)
    np.testing.assert_allclose(classical.cov, glm.cov_params(), rtol=1e-6)
    # robust: statsmodels' Probit HC0 (observed-information bread) times n / (n - k)
    hc0 = sm.Probit(d.y, X).fit(cov_type="HC0", disp=0).cov_params()
    np.testing.assert_allclose(md.probit_fit(X, d.y, d, "HC1").cov, hc0 * n / (n - k), rtol=1e-6)


# ---------------------------------------------------------------------------
# sensitivity to an unmeasured mediator-outcome confounder
# ---------------------------------------------------------------------------

def test_sensitivity_curve_at_the_true_rho_recovers_the_acme():
    """With errors correlated by rho = 0.4 the ACME is biased (a (b + 0.4) = 1.9 instead of 1.5);
    IKY's ACME(rho) evaluated at the true rho gives back the truth, and the ACME vanishes at rho~."""
    df = simulate_mediation(20_000, seed=7, rho=0.4)
    res = cq.estimate("mediation", df, **ROLES)
    assert res.estimate - MEDIATION_ACME > 0.3
    d = md.mediation_arrays(as_dataset(df), Roles(**ROLES), "m")
    parts = md.sensitivity_parts(d, md.linear_fit(md.mediator_design(d), d.m, d, "classical"))
    # SE of ACME(rho) at n = 20,000 is about 0.02
    assert float(parts.acme(0.4)) == pytest.approx(MEDIATION_ACME, abs=0.08)
    assert float(parts.acme(parts.rho_tilde)) == pytest.approx(0.0, abs=1e-12)
    assert float(parts.acme(0.0)) == pytest.approx(res.estimate, rel=1e-10)
    rho = res.diagnostics["rho_at_zero"]
    assert rho == pytest.approx(parts.rho_tilde)
    assert res.diagnostics["r2_product_at_zero"] == pytest.approx(rho ** 2)
    curve = res.diagnostics["sensitivity_curve"]
    assert len(curve["rho"]) == len(curve["acme"]) and np.all(np.diff(curve["acme"]) < 0)


def test_rho_at_zero_is_the_residual_correlation():
    df = simulate_mediation(2_000, seed=8)
    res = cq.estimate("mediation", df, **ROLES)
    X = sm.add_constant(df[["treated", "x1", "x2"]])
    r = np.corrcoef(sm.OLS(df["y"], X).fit().resid, sm.OLS(df["m"], X).fit().resid)[0, 1]
    assert res.diagnostics["rho_at_zero"] == pytest.approx(r, rel=1e-10)


# ---------------------------------------------------------------------------
# several mediators, inference options, coverage
# ---------------------------------------------------------------------------

def test_several_mediators_one_at_a_time():
    df = simulate_mediation(3_000, seed=9)
    rng = np.random.default_rng(0)
    df["m_noise"] = 0.7 * df["treated"] + rng.normal(size=len(df))   # moved by treatment, no effect on y
    res = cq.estimate("mediation", df, **ROLES, mediators="m_noise")
    other = res.diagnostics["other_mediators"]["m_noise"]["effects"]["acme"]
    assert abs(other["estimate"]) < 4 * other["std_error"]
    assert abs(res.estimate - MEDIATION_ACME) < 4 * res.std_error
    assert any("one at a time" in w for w in res.warnings)


def test_bootstrap_and_quasi_bayes_agree():
    df = simulate_mediation(1_500, seed=10)
    qb = cq.estimate("mediation", df, **ROLES, n_sims=2_000)
    boot = cq.estimate("mediation", df, **ROLES, inference="bootstrap", n_sims=1_000)
    assert boot.estimate == qb.estimate  # plug-in point estimate either way
    # two estimates of the same SD: Monte Carlo error of 1,000 resamples is about 2%, so 15% is ample
    assert boot.std_error == pytest.approx(qb.std_error, rel=0.15)


def test_seed_changes_only_the_interval():
    df = simulate_mediation(800, seed=12)
    a, b = (cq.estimate("mediation", df, **ROLES, seed=s) for s in (1, 2))
    assert a.estimate == b.estimate and a.ci_lower != b.ci_lower


@pytest.mark.slow
def test_interval_coverage():
    """95% quasi-Bayes intervals of the ACME cover the truth in about 95% of 300 samples of 400
    (binomial SD of the rate 1.3 points: [0.91, 0.985] is about 3 SD)."""
    hits = 0
    for rep in range(300):
        res = cq.estimate("mediation", simulate_mediation(400, seed=1_000 + rep), **ROLES, n_sims=400,
                          seed=rep, with_gates=False, with_sensitivity=False)
        hits += res.ci_lower <= MEDIATION_ACME <= res.ci_upper
    assert 0.91 <= hits / 300 <= 0.985


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

def typed(exc: CQOxError) -> None:
    assert exc.code.startswith("E-") and exc.message and exc.hint


@pytest.mark.parametrize("change, code", [
    ({"mediator": "y"}, "E-ROLE-020"),            # the mediator role on the outcome column: the shared check
    ({"mediator": "treated"}, "E-ROLE-020"),
    ({"mediators": "m,y"}, "E-ROLE-101"),          # a further mediator (a parameter) on the outcome column
    ({"mediators": "m,treated"}, "E-ROLE-102"),
    ({"covariates": ["x1", "x2", "m"]}, "E-ROLE-103"),
    ({"mediator": "label"}, "E-ROLE-104"),
    ({"mediator": "constant"}, "E-EST-114"),
    ({"mediators": "not_a_column"}, "E-ROLE-002"),
    ({"n_sims": 10}, "E-METHOD-005"),
    ({"outcome_model": "logit"}, "E-METHOD-005"),
    ({"outcome_model": "probit"}, "E-EST-111"),
])
def test_bad_input_is_a_typed_error(change, code):
    df = simulate_mediation(300, seed=13).assign(label="a", constant=1.0)
    with pytest.raises(CQOxError) as info:
        cq.estimate("mediation", df, **(ROLES | change))
    typed(info.value)
    assert info.value.code == code
    if code == "E-ROLE-101":
        assert "outcome" in info.value.message and "mediator" in info.value.hint.lower()


def test_missing_mediator_role_says_what_a_mediator_is():
    df = simulate_mediation(300, seed=14).drop(columns="m")
    with pytest.raises(RoleError) as info:
        cq.estimate("mediation", df, outcome="y", treatment="treated", covariates=["x1", "x2"])
    assert info.value.code == "E-ROLE-001" and "mediator" in info.value.message
    choice = next(c for c in cq.select(df, Roles(outcome="y", treatment="treated")) if c.method == "mediation")
    assert not choice.runnable and "path from treatment to outcome" in choice.unlock[0]


def test_probit_separation_is_a_typed_error():
    df = simulate_mediation(300, seed=15)
    df["y"] = (df["m"] > df["m"].median()).astype(float)   # the mediator decides the outcome exactly
    with pytest.raises(EstimationError) as info:
        cq.estimate("mediation", df, **ROLES, outcome_model="probit")
    assert info.value.code == "E-EST-112"


def test_json_round_trip_and_labels():
    df = simulate_mediation(500, seed=16)
    d = cq.estimate("mediation", df, **ROLES).to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert [b["label"] for b in d["by"]] == ["acme", "ade", "total", "proportion_mediated"]
    assert d["estimand"] == "acme" and "passes through 'm'" in d["estimand_label"]
    with pytest.raises(MethodError):
        cq.estimate("mediation", df, **ROLES, estimand="att")


# ---------------------------------------------------------------------------
# figures and the Results section
# ---------------------------------------------------------------------------

def test_figures_and_results_section_render():
    from streamlit.testing.v1 import AppTest

    from cqox_core.visuals import render
    from cqox_core.visuals.methods import figures

    df = simulate_mediation(600, seed=17)
    df["m2"] = 0.5 * df["treated"] + np.random.default_rng(1).normal(size=len(df))
    result = cq.estimate("mediation", df, **ROLES, mediators="m2").to_dict()
    specs = figures("mediation", result)
    assert [s.name for s in specs] == ["mediation_parts", "mediation_sensitivity", "mediation_by_mediator"]
    parts = specs[0].data
    assert parts["estimate"][0] == pytest.approx(result["estimate"])
    assert parts["label"] == ["indirect (ACME)", "direct (ADE)", "total"]
    for spec in specs:
        assert render(spec).data, spec.name   # every kind has a renderer

    def page(result: dict) -> None:
        from app_lib.sections.mediation import render as section

        section(result, {"results": {"mediation": result}})

    at = AppTest.from_function(page, args=(result,), default_timeout=30).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "passes through **m**" in text and "rho =" in text
    assert len(at.dataframe) == 2
