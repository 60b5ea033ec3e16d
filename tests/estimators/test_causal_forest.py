"""causal_forest: agreement with econml's CausalForestDML on the same data, first-stage learners and folds
(references/causal_forest_econml.json), recovery of the ATE and of per-row effects on semi-synthetic NHEFS
data, the heterogeneity summaries, chunked prediction, --effects-out with intervals, figures and typed
errors. (The heterogeneity tests' size and power are checked by Monte Carlo in test_meta_learner.py: the
split machinery of _cate is the same, only the CATE model differs.)"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import load_public

import cqox_core as cq
from cqox_core.cli import main as cli_main
from cqox_core.datasets.cate import pehe, simulate_cate
from cqox_core.errors import CQOxError
from cqox_core.estimators import causal_forest as cf_module

REFERENCE = json.loads((Path(__file__).parent / "references" / "causal_forest_econml.json").read_text())


@pytest.fixture(scope="module")
def sim():
    return simulate_cate(load_public("nhefs"), seed=1)


@pytest.fixture(scope="module")
def fit(sim):
    return cq.estimate("causal_forest", sim.frame, outcome="y", treatment="t", covariates=sim.covariates)


def test_agrees_with_econml_causal_forest_dml(fit):
    # the same residuals and forest settings: the same trees, so equal up to rounding
    assert fit.estimate == pytest.approx(REFERENCE["ate"], rel=1e-9)
    # econml's SE divides by sqrt(n) with the population SD; ours by sqrt(n - 1): relative 1/(2n) = 3e-4
    assert fit.std_error == pytest.approx(REFERENCE["ate_stderr"], rel=5e-4)
    rows = fit.row_effects.iloc[:len(REFERENCE["effect_first_rows"])]
    np.testing.assert_allclose(rows["effect"], REFERENCE["effect_first_rows"], rtol=1e-9)
    np.testing.assert_allclose(rows["ci_lower"], REFERENCE["lower_first_rows"], rtol=1e-9)
    np.testing.assert_allclose(rows["ci_upper"], REFERENCE["upper_first_rows"], rtol=1e-9)
    assert fit.row_effects["effect"].mean() == pytest.approx(REFERENCE["effect_mean"], rel=1e-9)


def test_recovers_the_ate_and_the_per_row_effects(sim, fit):
    frame = sim.frame
    naive = frame.y[frame.t == 1].mean() - frame.y[frame.t == 0].mean()
    assert abs(naive - sim.ate) > 5 * fit.std_error
    assert abs(fit.estimate - sim.ate) < 3 * fit.std_error
    rows = fit.row_effects
    baseline = pehe(np.full(len(frame), sim.ate), sim.tau)     # the best constant: SD of tau, 1.27
    # observed 0.42: the forest fits the age gradient and the step, with a forest's smoothing at the edges
    assert pehe(rows["effect"], sim.tau) < 0.5 * baseline
    assert (rows["ci_lower"] <= rows["effect"]).all() and (rows["effect"] <= rows["ci_upper"]).all()
    # the intervals are for the forest's local average, not including its smoothing bias: they cover the true
    # effect of 72% of rows here; a collapse of the intervals (or of honesty) would drop this far below 0.6
    covered = (rows["ci_lower"] <= sim.tau) & (sim.tau <= rows["ci_upper"])
    assert covered.mean() > 0.6


def test_heterogeneity_summaries(fit):
    d = fit.diagnostics
    assert d["blp"]["heterogeneity_p"] < 1e-6 and d["n_splits"] == 3
    gates = [g["estimate"] for g in d["gates"]]
    assert gates == sorted(gates) and d["gates_difference"]["ci_lower"] > 0
    assert d["forest_importance"][0]["covariate"] == "age"
    assert d["effect_modifiers"]["terms"][0]["covariate"] == "age"
    assert d["uplift"]["qini_ci"][0] > 0
    gate = next(g for g in fit.gates if g.name == "nuisance_fit")
    assert gate.status == "pass"


def test_chunked_prediction_equals_one_pass(sim, monkeypatch):
    small = sim.frame.iloc[:400]
    kw = dict(outcome="y", treatment="t", covariates=sim.covariates, n_estimators=20, n_splits=1, n_bootstrap=0)
    whole = cq.estimate("causal_forest", small, **kw).row_effects
    monkeypatch.setattr(cf_module, "CHUNK_ROWS", 37)
    from cqox_core.nuisance import clear_cache

    clear_cache()
    pieces = cq.estimate("causal_forest", small, **kw).row_effects
    pd.testing.assert_frame_equal(whole, pieces)


def test_effects_out_has_intervals(sim, tmp_path, capsys):
    frame = sim.frame.iloc[:500].copy()
    frame.loc[7, "wt71"] = np.nan
    data, out = tmp_path / "d.csv", tmp_path / "e.csv"
    frame.to_csv(data, index=False)
    code = cli_main(["estimate", "causal_forest", str(data), "--outcome", "y", "--treatment", "t", "--covariates",
                     ",".join(sim.covariates), "--param", "n_estimators=20", "--param", "n_splits=1",
                     "--effects-out", str(out), "--json"])
    assert code == 0
    json.loads(capsys.readouterr().out)
    written = pd.read_csv(out)
    assert list(written.columns) == ["row", "effect", "ci_lower", "ci_upper"] and len(written) == 500
    assert written.loc[7].drop("row").isna().all() and written.drop(index=7).notna().all().all()


def test_fairness_gap(sim):
    frame = sim.frame
    res = cq.estimate("causal_forest", frame, outcome="y", treatment="t", covariates=sim.covariates,
                      n_estimators=40, n_splits=1, n_bootstrap=0, protected="sex")
    gap = res.diagnostics["fairness"]["gap"]
    sex = frame["sex"].to_numpy()
    true_gap = sim.tau[sex == 1].mean() - sim.tau[sex == 0].mean()
    assert abs(gap["estimate"] - true_gap) < 3 * gap["std_error"]


def test_figures_render(fit):
    from cqox_core.visuals import render
    from cqox_core.visuals.methods import figures

    specs = figures("causal_forest", json.loads(json.dumps(fit.to_dict())))
    assert {s.kind for s in specs} == {"gates", "cate_distribution", "qini"}
    assert all(len(render(s).data) >= 2 for s in specs)


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    t = rng.binomial(1, 0.5, 300)
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "t": t, "y": t + x[:, 0] + rng.normal(size=300)})


def _code(frame, **kw) -> str:
    kw = {"outcome": "y", "treatment": "t", "covariates": ["x1", "x2"], "n_estimators": 8, "n_splits": 1} | kw
    with pytest.raises(CQOxError) as info:
        cq.estimate("causal_forest", frame, **kw)
    assert info.value.hint
    return info.value.code


def test_bad_input_is_typed(small):
    assert _code(small.assign(t=1)) == "E-ROLE-003"
    assert _code(small.assign(y=np.nan)) == "E-ROLE-004"
    assert _code(small.assign(t=np.random.default_rng(1).normal(size=len(small)))) == "E-ROLE-010"
    assert _code(small.assign(t=(small.x1 > 0).astype(int))) == "E-EST-006"
    assert _code(small, n_estimators=10) == "E-METHOD-005"
    assert _code(small, max_samples=0.8) == "E-METHOD-005"
