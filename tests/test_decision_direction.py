"""The decision knows which direction of the outcome is good (issue 9, part 1), and says so when
estimates of the same estimand and design disagree beyond their intervals (issue 9, part 14)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import simulate_confounded

import cqox_core as cq
from cqox_core import decision as dec  # attributes read in each test, so each fails on its own
from cqox_core.cas import CAS
from cqox_core.errors import CQOxError
from cqox_core.results import EffectResult, Gate

PASSING = (Gate("overlap", "pass", 0.99, 0.9, "ok"), Gate("balance", "pass", 0.02, 0.1, "ok"))
#: a CAS high enough that it never turns a decision into CANARY_LOW_ASSURANCE
HIGH_CAS = CAS(validity=10, precision=9.5, robustness=9.5, interpretability=10, scalability=10, overall=9.7)


def result(outcome: str = "revenue", method: str = "aipw", estimand: str = "ate", **kw) -> EffectResult:
    base = dict(method=method, estimand=estimand, estimate=2.0, std_error=0.1, ci_lower=1.8, ci_upper=2.2,
                alpha=0.05, p_value=1e-9, n_obs=1000, gates=PASSING,
                diagnostics={"outcome_sd": 2.0, "n_treated": 500, "n_control": 500},
                roles={"outcome": outcome, "treatment": "t", "covariates": ["x"]})
    base.update(kw)
    return EffectResult(**base)


# -- part 1: direction ---------------------------------------------------------------------------

def test_a_clear_effect_on_the_wrong_side_is_held_as_harmful():
    """The observed failure: -1.0 [-1.08, -0.91] where higher is better got GO_ALL_CHECKS_PASS."""
    harmful = result(estimate=-1.0, ci_lower=-1.08, ci_upper=-0.91)
    for better in (None, "higher"):  # 'revenue': higher is better by default, and when the user says so
        d = dec.decide(harmful, cas=HIGH_CAS, better=better)
        assert d.label == "HOLD"
        assert "HOLD_HARMFUL" in d.reason_codes and "GO_ALL_CHECKS_PASS" not in d.reason_codes
        assert "harm" in d.explanation.lower() and "higher" in d.explanation.lower()
        assert d.direction.better == "higher"
    assert dec.decide(harmful, cas=HIGH_CAS, better="higher").direction.source == "user"
    assert dec.decide(harmful, cas=HIGH_CAS).direction.source == "default"


def test_a_negative_effect_on_a_lower_is_better_outcome_is_go():
    fewer = result(outcome="readmitted_30d", estimate=-0.05, ci_lower=-0.07, ci_upper=-0.03)
    d = dec.decide(fewer, cas=HIGH_CAS)
    assert d.label == "GO" and d.reason_codes == ("GO_ALL_CHECKS_PASS",)
    assert d.direction.better == "lower" and d.direction.source == "default"
    assert "readmi" in d.direction.reason
    # the same number when the user says higher is better: harmful
    assert "HOLD_HARMFUL" in dec.decide(fewer, cas=HIGH_CAS, better="higher").reason_codes
    # and a positive effect on it (more readmissions) is harmful by default
    more = result(outcome="readmitted_30d", estimate=0.05, ci_lower=0.03, ci_upper=0.07)
    assert "HOLD_HARMFUL" in dec.decide(more, cas=HIGH_CAS).reason_codes
    assert dec.decide(more, cas=HIGH_CAS, better="higher").label == "GO"


@pytest.mark.parametrize("name,domain,better,cue", [
    ("readmission_30d", None, "lower", "readmission"),
    ("loan_default", "finance", "lower", "default"),
    ("churned", "marketing", "lower", "churn"),
    ("mortality", "healthcare", "lower", "mortality"),
    ("died", None, "lower", "death"),
    ("total_cost", None, "lower", "cost"),
    ("complications", "healthcare", "lower", "complication"),
    ("dropout", "education", "lower", "dropout"),
    ("defects_per_batch", "manufacturing", "lower", "defect"),
    ("charges", "healthcare", "lower", "charges"),       # a cost only in the healthcare domain
    ("charges", "marketing", "higher", None),
    ("cost_savings", None, "higher", "saving"),           # a saving of a cost is good
    ("re78", "policy", "higher", None),
    ("y", None, "higher", None),
])
def test_default_direction_from_the_outcome_name_and_domain(name, domain, better, cue):
    d = dec.default_direction(name, domain)
    assert d.better == better and d.source == "default"
    assert repr(name) in d.reason or f"'{name}'" in d.reason
    if cue:
        assert cue in d.reason
    else:
        assert "higher" in d.reason
    if domain and name == "charges":
        assert domain in d.reason or better == "higher"


def test_a_minimum_effect_of_interest_turns_small_clear_effects_into_canary():
    small = result(estimate=0.2, ci_lower=0.15, ci_upper=0.25)
    assert dec.decide(small, cas=HIGH_CAS).label == "GO"
    below = dec.decide(small, cas=HIGH_CAS, min_effect=1.0)
    assert below.label == "CANARY" and "CANARY_BELOW_MIN_EFFECT" in below.reason_codes
    assert "1" in below.explanation and "minimum" in below.explanation
    straddle = dec.decide(small, cas=HIGH_CAS, min_effect=0.2)
    assert straddle.label == "CANARY" and "CANARY_MIN_EFFECT_UNCERTAIN" in straddle.reason_codes
    assert dec.decide(small, cas=HIGH_CAS, min_effect=0.1).label == "GO"
    # on a lower-is-better outcome the minimum effect is a size of reduction
    fewer = result(outcome="mortality", estimate=-0.2, ci_lower=-0.25, ci_upper=-0.15)
    assert "CANARY_BELOW_MIN_EFFECT" in dec.decide(fewer, cas=HIGH_CAS, min_effect=1.0).reason_codes
    assert dec.decide(fewer, cas=HIGH_CAS, min_effect=0.1).label == "GO"
    assert dec.decide(small, cas=HIGH_CAS, min_effect=1.0).to_dict()["min_effect"] == 1.0


@pytest.mark.parametrize("kw", [{"better": "up"}, {"min_effect": -1.0}, {"min_effect": float("nan")}])
def test_bad_direction_or_minimum_effect_is_a_typed_error(kw):
    with pytest.raises(CQOxError):
        dec.decide(result(), **kw)


def test_the_money_view_counts_the_improvement_in_the_good_direction():
    fewer = result(outcome="readmissions", estimate=-2.0, ci_lower=-2.2, ci_upper=-1.8)
    d = dec.decide(fewer, cas=HIGH_CAS, value_per_unit=10.0, cost_per_treated=15.0, treated_units=100)
    m = d.money
    assert m.profit_per_treated == pytest.approx(5.0)  # 2 fewer readmissions x 10 - 15
    assert (m.profit_ci_lower, m.profit_ci_upper) == pytest.approx((3.0, 7.0))
    assert m.total_profit == pytest.approx(500.0) and m.better == "lower"
    assert d.label == "GO"
    # the same number on an outcome where higher is better loses money (and is harmful)
    m2 = dec.money_view(fewer, 10.0, 15.0, better="higher")
    assert m2.profit_per_treated == pytest.approx(-35.0)


def test_decision_json_carries_the_direction():
    out = dec.decide(result(outcome="churn"), cas=HIGH_CAS).to_dict()
    assert set(out["direction"]) == {"better", "source", "reason"}
    assert out["direction"]["better"] == "lower" and out["direction"]["source"] == "default"
    json.dumps(out, allow_nan=False)


def test_analyze_takes_the_direction_and_minimum_effect():
    df = simulate_confounded(n=400, seed=5)
    roles = dict(outcome="outcome", treatment="treated", covariates=["x1", "x2"])
    methods = ["regression_adjustment", "ipw"]
    default = cq.analyze(df, methods=methods, **roles)
    assert default.decision.direction.source == "default" and default.decision.direction.better == "higher"
    lower = cq.analyze(df, methods=methods, better="lower", min_effect=0.5, **roles)
    assert lower.decision.direction.to_dict()["source"] == "user"
    assert lower.decision.direction.better == "lower"
    assert "HOLD_HARMFUL" in lower.decision.reason_codes  # the effect is +2: harmful if lower is better
    assert lower.to_dict()["params"]["better"] == "lower" and lower.to_dict()["params"]["min_effect"] == 0.5


CQOX = [sys.executable, "-m", "cqox_core.cli"]


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("direction") / "campaign.csv"
    simulate_confounded(n=400, seed=3).to_csv(path, index=False)
    return path


def test_cli_analyze_better_lower_json(csv_file):
    out = subprocess.run([*CQOX, "analyze", str(csv_file), "--outcome", "outcome", "--treatment", "treated",
                          "--covariates", "x1,x2", "--better", "lower", "--min-effect", "0.5", "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    decision = json.loads(out.stdout)["decision"]
    assert decision["direction"]["better"] == "lower" and decision["direction"]["source"] == "user"
    assert decision["direction"]["reason"]
    assert "HOLD_HARMFUL" in decision["reason_codes"] and decision["min_effect"] == 0.5


def test_cli_rejects_a_bad_direction(csv_file):
    out = subprocess.run([*CQOX, "analyze", str(csv_file), "--better", "sideways", "--json"],
                         capture_output=True, text=True, timeout=300)
    error = json.loads(out.stdout)["error"]
    assert out.returncode == 2 and error["code"] == "E-CLI-001"
    assert "'higher'" in error["message"] and "'lower'" in error["message"]  # the choices are named


# -- part 14: disagreement beyond the intervals --------------------------------------------------

def _battery(strat_estimate: float, strat_ci: tuple[float, float]) -> list[EffectResult]:
    """Five methods at 2.00 with tight intervals and stratification beside them (the observed run)."""
    tight = [result(method=m, estimate=2.0 + d, ci_lower=1.994 + d, ci_upper=2.006 + d)
             for m, d in (("aipw", 0.0), ("ipw", 0.001), ("psm", -0.001), ("regression_adjustment", 0.0005),
                          ("g_computation", -0.0005))]
    strat = result(method="stratification", estimate=strat_estimate, ci_lower=strat_ci[0], ci_upper=strat_ci[1])
    return [*tight, strat]


def test_estimates_that_disagree_beyond_their_intervals_are_a_reason_code():
    battery = _battery(2.07, (2.064, 2.079))
    d = dec.decide(battery[0], cas=HIGH_CAS, others=battery)
    assert d.label == "CANARY" and "CANARY_ESTIMATES_DISAGREE" in d.reason_codes
    # the outlier is named in one sentence, the five that agree are not
    text = next(r for r in d.reasons if "stratification" in r)
    assert text in d.explanation and "2.07" in text
    assert not any(m in text for m in ("aipw", "psm", "regression_adjustment", "g_computation"))
    # when the intervals explain the gap there is no code
    overlapping = _battery(2.004, (1.99, 2.02))
    assert dec.decide(overlapping[0], cas=HIGH_CAS, others=overlapping).label == "GO"


def test_only_estimates_of_the_same_estimand_and_design_are_compared():
    battery = _battery(2.0, (1.994, 2.006))
    other_estimand = result(method="psm", estimand="att", estimate=2.5, ci_lower=2.49, ci_upper=2.51)
    other_design = result(method="did", estimand="ate", estimate=2.5, ci_lower=2.49, ci_upper=2.51)
    negative_panel = result(method="did", estimand="ate", estimate=-2.5, ci_lower=-2.6, ci_upper=-2.4)
    d = dec.decide(battery[0], cas=HIGH_CAS, others=[*battery, other_estimand, other_design, negative_panel])
    assert d.label == "GO", d.reason_codes
    # the same negative estimate from a method of the same design and estimand is a sign disagreement
    negative = result(method="ipw", estimate=-2.5, ci_lower=-2.6, ci_upper=-2.4)
    assert "HOLD_METHODS_DISAGREE" in dec.decide(battery[0], cas=HIGH_CAS, others=[battery[0], negative]).reason_codes
