"""Gates, the Causal Assurance Score and the decision read the data's diagnostics:
change the data and they change."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import cqox_core as cq
from cqox_core.cas import score
from cqox_core.decision import decide, money_view
from cqox_core.gates import evaluate_gates
from cqox_core.results import EffectResult, Gate


def result(**kw) -> EffectResult:
    base = dict(method="regression_adjustment", estimand="ate", estimate=2.0, std_error=0.1, ci_lower=1.8,
                ci_upper=2.2, alpha=0.05, p_value=1e-9, n_obs=1000,
                diagnostics={"outcome_sd": 2.0, "n_treated": 500, "n_control": 500})
    base.update(kw)
    return EffectResult(**base)


@pytest.mark.parametrize("value,status", [(0.05, "pass"), (0.15, "warn"), (0.4, "fail")])
def test_balance_gate_reads_smd_after(value, status):
    r = result(diagnostics={"smd_before": {"a": 0.5}, "smd_after": {"a": value, "b": -0.01}})
    gate = next(g for g in evaluate_gates(r) if g.name == "balance")
    assert gate.status == status and gate.metric == pytest.approx(value) and gate.threshold == 0.10
    assert bool(gate.next_step) == (status != "pass")


@pytest.mark.parametrize("key,name,good,bad", [
    ("common_support_share", "overlap", 0.97, 0.5),
    ("matched_share", "matched_share", 0.95, 0.3),
    ("effective_sample_size_ratio", "effective_sample_size", 0.9, 0.2),
    ("top_weight_share", "weight_ratio", 0.03, 0.6),
    ("propensity_auc", "separation", 0.7, 0.999),
])
def test_threshold_gates_pass_and_fail(key, name, good, bad):
    ok = next(g for g in evaluate_gates(result(diagnostics={key: good})) if g.name == name)
    ko = next(g for g in evaluate_gates(result(diagnostics={key: bad})) if g.name == name)
    assert ok.status == "pass" and ko.status == "fail"
    assert ko.next_step and ko.message != ok.message


def test_gates_change_with_the_data():
    """Stronger confounding -> worse separation and balance-before metrics (computed, not constant)."""
    def frame(strength, seed=0):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=2000)
        t = rng.binomial(1, 1 / (1 + np.exp(-strength * x)))
        return pd.DataFrame({"x": x, "t": t, "y": t + x + rng.normal(size=2000)})
    weak = cq.estimate("regression_adjustment", frame(0.2), outcome="y", treatment="t", covariates=["x"])
    strong = cq.estimate("regression_adjustment", frame(3.0), outcome="y", treatment="t", covariates=["x"])
    bw = next(g for g in weak.gates if g.name == "balance")
    bs = next(g for g in strong.gates if g.name == "balance")
    assert bw.metric < 0.3 and bs.metric > 1.0


def test_cas_components_follow_diagnostics():
    good = result(gates=(Gate("overlap", "pass", 0.99, 0.9, "ok"), Gate("balance", "pass", 0.02, 0.1, "ok")),
                  sensitivity={"e_value_ci": 3.5})
    bad = result(gates=(Gate("overlap", "fail", 0.5, 0.9, "no"), Gate("balance", "warn", 0.2, 0.1, "meh")),
                 sensitivity={"e_value_ci": 1.0}, ci_lower=-1.0, ci_upper=5.0)
    g, b = score(good, elapsed_seconds=0.01), score(bad, elapsed_seconds=0.01)
    assert g.validity == 10 and b.validity == pytest.approx(2.5)
    assert g.precision == pytest.approx(10 * (1 - 0.4 / 4)) and b.precision == 0
    assert g.robustness == 10 and b.robustness == 0
    assert g.overall > 7 > b.overall
    assert set(g.to_dict()) >= {"validity", "precision", "robustness", "interpretability", "scalability",
                                "overall", "explanation"}


def test_scalability_is_a_deterministic_function_of_the_data_size():
    """Not the clock: identical runs score the same, bigger or costlier problems score lower."""
    base = score(result(), elapsed_seconds=0.001)
    assert score(result(), elapsed_seconds=2.0).scalability == base.scalability
    big = score(result(n_obs=1_000_000, roles={"covariates": ["a", "b", "c"]}))
    costly = score(result(method="panel_matching", n_obs=1_000_000, roles={"covariates": ["a", "b", "c"]}))
    assert base.scalability > big.scalability > costly.scalability
    # 10 / (1 + sqrt(1e6 * 4 / 1e8)) = 8.33 for a linear method at 1M rows with 3 covariates
    assert big.scalability == pytest.approx(10 / (1 + math.sqrt(4e6 / 1e8)), abs=0.01)


def test_decision_rules():
    passing = (Gate("overlap", "pass", 0.99, 0.9, "ok"),)
    go = decide(result(gates=passing), cas=score(result(gates=passing, sensitivity={"e_value_ci": 4}),
                                                 elapsed_seconds=0.001))
    assert go.label == "GO" and go.reason_codes == ("GO_ALL_CHECKS_PASS",)
    hold = decide(result(gates=(Gate("overlap", "fail", 0.4, 0.9, "poor overlap"),)))
    assert hold.label == "HOLD" and "HOLD_OVERLAP" in hold.reason_codes
    null = decide(result(gates=passing, ci_lower=-0.1, ci_upper=0.5))
    assert null.label == "HOLD" and "HOLD_NO_CLEAR_EFFECT" in null.reason_codes
    warn = decide(result(gates=(Gate("balance", "warn", 0.15, 0.1, "some imbalance"),)))
    assert warn.label == "CANARY" and "CANARY_BALANCE" in warn.reason_codes
    opposite = result(estimate=-1.0, ci_lower=-1.2, ci_upper=-0.8)
    assert "HOLD_METHODS_DISAGREE" in decide(result(gates=passing), others=[opposite]).reason_codes


def test_money_view_carries_the_interval():
    m = money_view(result(), value_per_unit=10.0, cost_per_treated=15.0, treated_units=100)
    assert m.profit_per_treated == pytest.approx(5.0)
    assert (m.profit_ci_lower, m.profit_ci_upper) == pytest.approx((3.0, 7.0))
    assert m.total_profit == pytest.approx(500.0)
    loss = decide(result(gates=()), value_per_unit=1.0, cost_per_treated=10.0)
    assert loss.label == "HOLD" and "HOLD_UNPROFITABLE" in loss.reason_codes
