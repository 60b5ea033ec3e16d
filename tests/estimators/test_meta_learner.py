"""meta_learner: recovery of the ATE and of the per-row effects on semi-synthetic NHEFS data (known tau for
every row), the heterogeneity summaries (BLP test, GATES, CLAN, effect modifiers, Qini / AUUC), agreement with
econml's LinearDRLearner on the same data, learners and folds (references/meta_learner_econml.json),
--effects-out, the figures and the Results section, typed errors, and Monte Carlo size and power of the
heterogeneity test."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import load_public

import cqox_core as cq
from cqox_core.cli import main as cli_main
from cqox_core.datasets.cate import EFFECT_MODIFIERS, pehe, simulate_cate, synthetic_covariates
from cqox_core.errors import CQOxError
from cqox_core.estimators._cate import HeldOut, uplift

REFERENCE = json.loads((Path(__file__).parent / "references" / "meta_learner_econml.json").read_text())


@pytest.fixture(scope="module")
def nhefs() -> pd.DataFrame:
    return load_public("nhefs")


@pytest.fixture(scope="module")
def sim(nhefs):
    return simulate_cate(nhefs, seed=1)


@pytest.fixture(scope="module")
def default_fit(sim):
    return run(sim)


def run(sim, **kw):
    return cq.estimate("meta_learner", sim.frame, outcome="y", treatment="t", covariates=sim.covariates, **kw)


# --------------------------------------------------------------------------
# recovery on semi-synthetic data with known per-row effects
# --------------------------------------------------------------------------

@pytest.mark.parametrize("learner, flexible", [("s", False), ("t", False), ("x", False), ("dr", False), ("r", False),
                                               ("x", True)])
def test_recovers_the_ate_and_beats_the_constant_effect_baseline(sim, default_fit, learner, flexible):
    kw = {"outcome_learner": "gbm", "cate_learner": "gbm", "n_splits": 2} if flexible else {}
    res = default_fit if (learner, flexible) == ("dr", False) else run(sim, learner=learner, **kw)
    frame = sim.frame
    naive = frame.y[frame.t == 1].mean() - frame.y[frame.t == 0].mean()
    assert abs(naive - sim.ate) > 5 * res.std_error                 # confounded: the naive contrast fails
    assert abs(res.estimate - sim.ate) < 3 * res.std_error          # 3 SE: p < 0.003 of a false alarm
    effects = res.row_effects["effect"].to_numpy()
    assert effects.shape == (len(frame),) and np.isfinite(effects).all()
    # the best constant guess is the true ATE for everyone: its PEHE is the SD of tau (1.27 here). The linear
    # learners miss only the step in tau (PEHE ~0.23); gradient boosting on 1,629 rows is noisier (~0.55),
    # so it must only beat the baseline
    baseline = pehe(np.full(len(frame), sim.ate), sim.tau)
    assert pehe(effects, sim.tau) < (0.9 if flexible else 0.4) * baseline


def test_headline_is_the_cross_fitted_aipw_estimate(sim, default_fit):
    aipw = cq.estimate("aipw", sim.frame, outcome="y", treatment="t", covariates=sim.covariates)
    assert default_fit.estimate == pytest.approx(aipw.estimate, rel=1e-10)
    assert default_fit.std_error == pytest.approx(aipw.std_error, rel=1e-10)


def test_heterogeneity_summaries_find_the_simulated_modifiers(default_fit):
    d = default_fit.diagnostics
    blp = d["blp"]
    assert blp["heterogeneity_p"] < 1e-6
    # b2 is 1 when the estimated effects are the true ones; the linear CATE misses only the step
    assert blp["heterogeneity_ci"][0] < 1 < blp["heterogeneity_ci"][1] or abs(blp["heterogeneity"] - 1) < 0.15
    gates = [g["estimate"] for g in d["gates"]]
    assert gates == sorted(gates) and len(gates) == 5
    assert d["gates_difference"]["ci_lower"] > 0
    assert [b.label for b in default_fit.by] == [f"gates_{g}" for g in range(1, 6)]
    # the CLAN and the effect modifiers name the simulated modifiers first (age, then sex or smokeyrs)
    assert d["clan"][0]["covariate"] in EFFECT_MODIFIERS and d["clan"][0]["ci_lower"] > 0
    top = [t["covariate"] for t in d["effect_modifiers"]["terms"][:3]]
    assert top[0] == "age" and set(top) == set(EFFECT_MODIFIERS)
    up = d["uplift"]
    assert up["qini_ci"][0] > 0 and up["auuc"] > up["auuc_random"]
    assert "differs between people" in d["heterogeneity_sentence"]


def test_no_heterogeneity_gives_flat_groups(nhefs):
    """A constant effect: the BLP slope's interval covers 0 and the group ATEs' intervals overlap the ATE."""
    flat = simulate_cate(nhefs, seed=2, heterogeneous=False)
    res = run(flat)
    d = res.diagnostics
    assert d["blp"]["heterogeneity_p"] > 0.05 and "no clear evidence" in d["heterogeneity_sentence"]
    assert all(g["ci_lower"] < 1.0 < g["ci_upper"] for g in d["gates"])    # the true effect is 1 for everyone


# --------------------------------------------------------------------------
# uplift: the Qini coefficient and AUUC on known rankings
# --------------------------------------------------------------------------

def _held(cate, score):
    n = len(score)
    return HeldOut(cate=np.asarray(cate, float), score=np.asarray(score, float), folds=np.zeros(n, int),
                   X=np.zeros((n, 0)), x_names=())


def test_qini_of_perfect_reversed_and_random_rankings():
    """Scores equal to effects 0..1 uniformly spread: treating the top q gains q - q^2/2 per unit, so
    AUUC = 1/3 and Qini = 1/3 - 1/4 = 1/12; the reversed ranking gives -1/12; a random one about 0."""
    n = 20_000
    tau = (np.arange(n) + 0.5) / n
    rng = np.random.default_rng(0)
    perfect = uplift(_held(tau, tau), 0.05, 0, 0)
    assert perfect["auuc"] == pytest.approx(1 / 3, abs=1e-4) and perfect["qini"] == pytest.approx(1 / 12, abs=1e-4)
    assert uplift(_held(-tau, tau), 0.05, 0, 0)["qini"] == pytest.approx(-1 / 12, abs=1e-4)
    random = uplift(_held(rng.permutation(tau), tau), 0.05, 0, 200)
    assert random["qini_ci"][0] < 0 < random["qini_ci"][1]
    curve = perfect["curve"]
    assert curve["gain"][0] == 0 and curve["gain"][-1] == pytest.approx(tau.mean())
    assert curve["random"][-1] == pytest.approx(tau.mean())


# --------------------------------------------------------------------------
# agreement with econml (same data, learners, folds)
# --------------------------------------------------------------------------

def test_ate_agrees_with_econml_dr_learner(default_fit):
    ref = REFERENCE["ate"]
    # the same pseudo-outcomes averaged: equal up to rounding
    assert default_fit.estimate == pytest.approx(ref["estimate"], rel=1e-9)
    # econml's final stage is OLS of the pseudo-outcome on a constant; both are SD / sqrt(n) of the same scores
    assert default_fit.std_error == pytest.approx(ref["std_error"], rel=1e-6)


def test_linear_cate_agrees_with_econml_linear_dr_learner(sim, default_fit):
    """econml fits one linear CATE on all rows' pseudo-outcomes; ours fits one per fold on the other folds'
    rows (with pseudo-outcomes cross-fitted again inside them). The least-squares projection of our
    out-of-fold effects on the covariates averages the fold models: each coefficient lies within a third of
    econml's SE of econml's (observed: within 0.1 SE)."""
    X = np.column_stack([np.ones(len(sim.frame)), sim.frame[REFERENCE["covariates"]].to_numpy()])
    coef = np.linalg.lstsq(X, default_fit.row_effects["effect"].to_numpy(), rcond=None)[0]
    ref = REFERENCE["linear_cate"]
    assert np.all(np.abs(coef[1:] - ref["coef"]) < np.array(ref["std_error"]) / 3)


# --------------------------------------------------------------------------
# --effects-out, figures and the Results section
# --------------------------------------------------------------------------

def test_effects_out_writes_one_row_per_input_row_in_order(sim, tmp_path, capsys):
    frame = sim.frame.copy()
    frame.loc[[3, 10], "age"] = np.nan         # two rows cannot be used
    data, out = tmp_path / "data.csv", tmp_path / "effects.csv"
    frame.to_csv(data, index=False)
    code = cli_main(["estimate", "meta_learner", str(data), "--outcome", "y", "--treatment", "t", "--covariates",
                     ",".join(sim.covariates), "--param", "n_splits=2", "--effects-out", str(out), "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    written = pd.read_csv(out)
    assert list(written.columns) == ["row", "effect"] and len(written) == len(frame)
    assert written["row"].tolist() == list(range(len(frame)))
    assert written.loc[[3, 10], "effect"].isna().all() and written["effect"].notna().sum() == payload["n_obs"]
    api = cq.estimate("meta_learner", frame, outcome="y", treatment="t", covariates=sim.covariates, n_splits=2)
    np.testing.assert_allclose(written["effect"], api.row_effects["effect"], rtol=1e-9)
    assert "row_effects" not in payload and len(json.dumps(payload)) < 40_000     # the JSON stays small


def test_figures_and_section_render_from_the_result_dict(default_fit):
    from cqox_core.visuals import render
    from cqox_core.visuals.methods import figures

    result = json.loads(json.dumps(default_fit.to_dict()))
    specs = figures("meta_learner", result)
    assert {s.kind for s in specs} == {"gates", "cate_distribution", "qini"}
    for spec in specs:
        assert spec.caption and len(render(spec).data) >= 2
    from streamlit.testing.v1 import AppTest

    def page(result: dict) -> None:
        from app_lib.sections import section

        section("meta_learner")(result, {})

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = AppTest.from_function(page, args=(result,), default_timeout=60).run()
    assert not app.exception
    assert any("differs between people" in m.value for m in app.markdown)


# --------------------------------------------------------------------------
# bad input: typed errors with hints
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    t = rng.binomial(1, 0.5, 300)
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "t": t, "y": t + x[:, 0] + rng.normal(size=300)})


def _code(frame, **kw) -> str:
    kw = {"outcome": "y", "treatment": "t", "covariates": ["x1", "x2"], "n_splits": 2} | kw
    with pytest.raises(CQOxError) as info:
        cq.estimate("meta_learner", frame, **kw)
    assert info.value.hint
    return info.value.code


def test_bad_input_is_typed(small):
    assert _code(small.assign(t=1)) == "E-ROLE-003"                                  # one level
    assert _code(small.assign(y=np.nan)) == "E-ROLE-004"                             # all outcomes missing
    dose = small.assign(t=np.random.default_rng(1).normal(size=len(small)))
    assert _code(dose) == "E-ROLE-010"                                               # continuous treatment
    assert _code(small.assign(t=(small.x1 > 0).astype(int))) == "E-EST-006"          # propensity 0 / 1
    assert _code(small, learner="dr", n_folds=2) == "E-METHOD-006"
    assert _code(small, learner="q") == "E-METHOD-005"
    assert _code(small, cate_learner="svm") == "E-METHOD-005"


# --------------------------------------------------------------------------
# Monte Carlo: size and power of the heterogeneity test
# --------------------------------------------------------------------------

def _heterogeneity_p(n: int, seed: int, heterogeneous: bool, learner: str) -> tuple[float, float]:
    sim = simulate_cate(synthetic_covariates(n, 1000 + seed), seed=seed, heterogeneous=heterogeneous)
    res = cq.estimate("meta_learner", sim.frame, outcome="y", treatment="t", covariates=sim.covariates,
                      learner=learner, n_splits=3, n_bootstrap=0, seed=seed, with_gates=False,
                      with_sensitivity=False)
    blp = res.diagnostics["blp"]
    return blp["heterogeneity_p"], blp["p_by_split"][0]


@pytest.mark.slow
def test_heterogeneity_test_holds_its_size():
    """200 draws of 300 rows with a constant effect. One split's test is exact given its auxiliary half: it
    rejects at 5% in 5% of draws (binomial SE 1.5 points over 200: [0.02, 0.09] is about 2.5 SE). The
    aggregated test (twice the median p over 3 splits) is conservative: at most 5% + 1.6 SE."""
    ps = np.array([_heterogeneity_p(300, seed, False, "t") for seed in range(200)])
    aggregated, single = (ps[:, 0] < 0.05).mean(), (ps[:, 1] < 0.05).mean()
    assert 0.02 <= single <= 0.09, single
    assert aggregated <= 0.075, aggregated


@pytest.mark.slow
def test_heterogeneity_test_rejects_when_effects_differ():
    """50 draws of 500 rows, effect 1 + z_age + 0.8 (sex - 1/2) + 0.6 1[z_smokeyrs > 0] (SD 1.2), default dr
    learner: the aggregated test rejects in at least 80% of draws (95% observed in a 40-draw pilot)."""
    ps = np.array([_heterogeneity_p(500, seed, True, "dr")[0] for seed in range(50)])
    assert (ps < 0.05).mean() >= 0.8, (ps < 0.05).mean()


# --------------------------------------------------------------------------
# fairness: the effect by a protected attribute
# --------------------------------------------------------------------------

def test_fairness_gap_by_a_protected_attribute(sim):
    """tau has 0.8 (sex - 1/2) plus age terms: the true group ATEs are 1.00 (sex 0) and 1.60 (sex 1) on these
    rows; each group's AIPW estimate and the gap lie within 3 SE of them."""
    res = run(sim, n_splits=2, protected="sex")
    fair = res.diagnostics["fairness"]
    sex = sim.frame["sex"].to_numpy()
    for group in fair["groups"]:
        truth = sim.tau[sex == float(group["level"])].mean()
        assert abs(group["ate"] - truth) < 3 * group["std_error"]
    true_gap = sim.tau[sex == 1].mean() - sim.tau[sex == 0].mean()
    assert fair["gap"]["between"] == ["1.0", "0.0"]
    assert abs(fair["gap"]["estimate"] - true_gap) < 3 * fair["gap"]["std_error"] and fair["gap"]["ci_lower"] > 0
    with pytest.raises(CQOxError) as info:
        run(sim, n_splits=1, protected="age")          # 50+ distinct values: not a grouping
    assert info.value.code == "E-METHOD-005" and info.value.hint
