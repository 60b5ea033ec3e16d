"""ope: hand-computed formulas, recovery of a known target-policy value, Monte Carlo coverage and
DR's error against IPS's (slow), estimated propensities, typed errors on bad input.

Reference values and where they come from
-----------------------------------------
* ``references/ope_hand.json``: IPS, SNIPS, DM and DR written out row by row with statsmodels OLS
  reward models on ``simulate_bandit(400, seed=3)``; produced by
  ``references/scripts/ope_hand_formulas.py``. (The peer package obp was not used: its install pulls
  in torch, far beyond a test-only dependency.)
* the target policy's true value: ``bandit_target_value()``, a Monte Carlo over 2e6 contexts of the
  known reward means (SE ~1e-3).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import cqox_core as cq
from cqox_core import registry
from cqox_core.datasets import policy as P
from cqox_core.errors import CQOxError, EstimationError, MethodError, RoleError

ROLES = dict(outcome="reward", treatment="action", covariates=["x1", "x2"], propensity="propensity", target="target")
HAND = json.loads((Path(__file__).parent / "references" / "ope_hand.json").read_text())
LABELS = ["ips", "snips", "dm", "dr"]


def test_estimators_match_the_hand_computed_formulas():
    res = cq.estimate("ope", P.simulate_bandit(400, 3), **ROLES, n_folds=1)
    assert [b.label for b in res.by] == LABELS
    for b in res.by:
        # the same sums in another order: rounding only
        assert b.estimate == pytest.approx(HAND[b.label], abs=1e-10), b.label
    assert res.estimate == pytest.approx(HAND["dr"], abs=1e-10)
    assert registry.get("ope").references[0].value == pytest.approx(HAND["dr"], abs=1e-10)
    assert res.estimand == "policy_value" and res.estimand_label == "value of the target policy"


def test_recovers_the_target_value_where_the_logged_average_does_not():
    df = P.simulate_bandit(6000, seed=1)
    res = cq.estimate("ope", df, **ROLES, seed=0)
    truth = P.bandit_target_value()
    for b in res.by:
        if b.label != "dm":   # DM's linear reward model misses action c's x1*x2 term: biased by design
            assert abs(b.estimate - truth) < 4 * b.std_error, b.label
    logged = df.reward.mean()
    assert abs(logged - truth) > 8 * res.std_error      # the logging policy's value is another number
    assert res.diagnostics["logging_policy_value"] == pytest.approx(logged)
    gain = res.diagnostics["improvement_over_logging"]
    assert gain["ci_lower"] > 0                          # the target rule is better than the logging policy


def test_estimated_propensity_warns_and_is_gated():
    df = P.simulate_bandit(3000, seed=2)
    res = cq.estimate("ope", df, **(ROLES | {"propensity": None}), seed=0)
    assert any("estimated by a multinomial logit" in w for w in res.warnings)
    assert res.diagnostics["propensity_source"].startswith("estimated")
    names = {g.name for g in res.gates}
    assert {"separation", "effective_sample_size", "weight_ratio"} <= names
    # the logging policy is a softmax of linear scores, so the multinomial logit is right: still unbiased
    assert abs(res.estimate - P.bandit_target_value()) < 4 * res.std_error


def test_money_view_of_switching_policy():
    df = P.simulate_bandit(3000, seed=4)
    res = cq.estimate("ope", df, **ROLES, value_per_unit=10.0, cost_per_unit=1.0, seed=0)
    money, gain = res.diagnostics["money"], res.diagnostics["improvement_over_logging"]
    assert money["profit"] == pytest.approx(10 * gain["estimate"] - 1.0)
    assert money["profit_ci_lower"] == pytest.approx(10 * gain["ci_lower"] - 1.0)
    assert money["roi"] == pytest.approx(money["profit"] / 1.0)


@pytest.mark.slow
def test_monte_carlo_coverage_and_dr_beats_ips():
    """200 seeds of 2,000 rounds. IPS, SNIPS and DR 95% intervals cover the true value in 90-99% of seeds
    (binomial SE 1.5% at 95%); DM's linear reward model is misspecified (action c has an x1*x2 term) and
    its interval ignores that model's error, so it is not held to coverage. DR's RMSE is below IPS's
    (the reward model removes most of the reward noise from the weighted term)."""
    truth = P.bandit_target_value()
    reps = 200
    est = np.empty((reps, 4))
    cover = np.zeros(4)
    for seed in range(reps):
        res = cq.estimate("ope", P.simulate_bandit(2000, seed=5000 + seed), **ROLES, seed=seed,
                          with_gates=False, with_sensitivity=False)
        est[seed] = [b.estimate for b in res.by]
        cover += [b.ci_lower <= truth <= b.ci_upper for b in res.by]
    rate = cover / reps
    for j in (0, 1, 3):
        assert 0.90 <= rate[j] <= 0.99, (LABELS[j], rate)
    rmse = np.sqrt(np.mean((est - truth) ** 2, axis=0))
    assert rmse[3] < rmse[0], rmse


def test_propensities_of_zero_or_one_are_typed_errors():
    df = P.simulate_bandit(500, 0)
    for value, code in ((0.0, "E-EST-101"), (1.0, "E-EST-102"), (1.5, "E-EST-100")):
        bad = df.copy()
        bad.loc[bad.index[:3], "propensity"] = value
        with pytest.raises(EstimationError) as info:
            cq.estimate("ope", bad, **ROLES)
        assert info.value.code == code and info.value.hint


def test_all_rewards_missing_unknown_actions_and_missing_target():
    df = P.simulate_bandit(500, 0)
    with pytest.raises(RoleError) as info:
        cq.estimate("ope", df.assign(reward=np.nan), **ROLES)
    assert info.value.code == "E-ROLE-004"
    bad = df.copy()
    bad.loc[bad.index[:5], "target"] = "z"
    with pytest.raises(RoleError) as info:
        cq.estimate("ope", bad, **ROLES)
    assert info.value.code == "E-ROLE-032" and "a, b, c" in info.value.hint
    with pytest.raises(MethodError) as info:
        cq.estimate("ope", df, **(ROLES | {"target": None}))
    assert "policy_learning" in info.value.hint
    with pytest.raises(RoleError) as info:
        cq.estimate("ope", df, **(ROLES | {"target": "nope"}))
    assert info.value.code == "E-ROLE-002"
    with pytest.raises(RoleError) as info:
        cq.estimate("ope", df.assign(action="a"), **ROLES)
    assert info.value.code == "E-ROLE-003"
    with pytest.raises(EstimationError) as info:
        cq.estimate("ope", df.assign(target=np.where(df.action == "a", "b", "a")), **ROLES)
    assert info.value.code == "E-EST-105"
    for params in (dict(n_folds=0), dict(outcome_learner="tree"), dict(value_per_unit=-1.0)):
        with pytest.raises(CQOxError):
            cq.estimate("ope", df, **(ROLES | params))


def test_numeric_action_labels_compare_by_value():
    df = P.simulate_bandit(800, 6)
    codes = {"a": 0, "b": 1, "c": 2}
    numeric = df.assign(action=df.action.map(codes), target=df.target.map(codes).astype(float))
    a = cq.estimate("ope", df, **ROLES, seed=0)
    b = cq.estimate("ope", numeric, **ROLES, seed=0)
    assert a.estimate == pytest.approx(b.estimate)


def _render_section(result):
    from app_lib.sections import section

    section("ope")(result, {})


def test_figure_and_results_section_render():
    from streamlit.testing.v1 import AppTest

    from cqox_core.visuals import render
    from cqox_core.visuals.methods import figures

    ex = P.bandit_example()
    result = json.loads(json.dumps(cq.estimate("ope", ex.frame, **ex.kwargs(), value_per_unit=2.0, seed=0).to_dict()))
    (spec,) = figures("ope", result)
    assert spec.kind == "forest" and len(spec.data["method"]) == 5
    assert len(render(spec).data) == 1
    app = AppTest.from_function(_render_section, args=(result,)).run(timeout=30)
    assert not app.exception
    assert any("Money view" in m.value for m in app.markdown)
