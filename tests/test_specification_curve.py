"""The specification curve (cqox_core.specification_curve): agreement on a real effect, the split when
the effect comes only from a confounder one specification leaves out, tasks, reuse, score, figure, errors.
"""
from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pandas as pd
import pytest

import cqox_core as cq
from cqox_core import registry
from cqox_core.cas import score
from cqox_core.data import Dataset, as_dataset
from cqox_core.datasets import examples
from cqox_core.errors import CQOxError, EstimationError
from cqox_core.registry import Requirements, register
from cqox_core.roles import Roles
from cqox_core.specification_curve import (
    attach_specification_curve,
    resolve,
    run_specification,
    specification_curve,
    specification_tasks,
    specifications,
)
from cqox_core.tasks import run_tasks
from cqox_core.visuals import render
from cqox_core.visuals.specification_curve import specification_curve_plot

EXAMPLE = examples.confounded(0)
DATA = as_dataset(EXAMPLE.frame)


def confounded_only(n: int = 2000, seed: int = 1) -> pd.DataFrame:
    """No effect at all: c raises both the treatment odds and the outcome; x1, x2 are harmless covariates.
    Adjusting for c gives ~0; leaving c out gives a large, 'significant' effect."""
    rng = np.random.default_rng(seed)
    c, x1, x2 = rng.normal(size=(3, n))
    t = (rng.random(n) < 1 / (1 + np.exp(-1.2 * c))).astype(int)
    y = 0.0 * t + 2.0 * c + 0.5 * x1 - 0.3 * x2 + rng.normal(size=n)
    return pd.DataFrame({"y": y, "t": t, "c": c, "x1": x1, "x2": x2})


#: every kind but the learners, whose gradient-boosting fits take seconds (their labels are checked unrun)
FAST_KINDS = ("covariates", "trimming", "caliper", "estimator")


@pytest.fixture(scope="module")
def aipw_curve():
    result = cq.estimate("aipw", DATA, **EXAMPLE.roles)
    return result, specification_curve(result, DATA, include=FAST_KINDS)


def test_learner_alternatives_are_the_methods_other_choices():
    result = cq.estimate("aipw", DATA, **EXAMPLE.roles)
    specs = specifications(resolve(None, None, result), DATA, include=["learner"])
    assert [(s.label, s.params["outcome_learner"], s.params["propensity_learner"]) for s in specs] == [
        ("outcome learner gbm", "gbm", "logit"), ("propensity learner gbm", "linear", "gbm")]


def test_real_effect_curve_agrees_in_sign(aipw_curve):
    result, curve = aipw_curve
    d = curve.to_dict()
    assert d["share_same_sign"] == 1.0 and d["share_agree"] == 1.0
    kinds = {s["kind"] for s in d["specs"]}
    assert {"headline", "covariates", "trimming", "estimator"} <= kinds
    labels = {s["label"] for s in d["specs"]}
    assert {"without x1", "without x2", "without region", "trim none", "estimator ipw", "estimator psm"} <= labels
    # sorted by estimate, the headline flagged once, with its own numbers
    estimates = [s["estimate"] for s in d["specs"]]
    assert estimates == sorted(estimates)
    head = [s for s in d["specs"] if s["headline"]]
    assert len(head) == 1 and head[0]["estimate"] == result.estimate
    # other estimators of the same design and estimand: every battery cross-section method estimating the ATE
    others = {s["method"] for s in d["specs"] if s["kind"] == "estimator"}
    assert others == {m.id for m in registry.methods() if m.battery and m.design == "cross_section"
                      and "ate" in m.estimands} - {"aipw"}
    json.dumps(d, allow_nan=False)


def test_curve_splits_when_the_effect_comes_from_a_confounder_left_out():
    frame = confounded_only()
    result = cq.estimate("regression_adjustment", frame, outcome="y", treatment="t", covariates=["c", "x1", "x2"])
    assert not (result.ci_lower > 0 or result.ci_upper < 0)        # adjusted for c: no effect
    d = specification_curve(result, frame, include=["covariates", "estimator"]).to_dict()
    assert d["share_agree"] < 1
    assert d["outlier"] == "without c"
    without_c = next(s for s in d["specs"] if s["label"] == "without c")
    assert without_c["significant"] and not without_c["agrees"]
    assert without_c["estimate"] > 10 * result.std_error
    # every specification that keeps c reaches the headline's 'no effect' up to chance: at most one does not
    keeps_c = [s for s in d["specs"] if not s["headline"] and "c" in s["covariates"]]
    assert len(keeps_c) >= 5 and sum(not s["agrees"] for s in keeps_c) <= 1
    assert "without c" in d["text"]


def test_caliper_levels_for_matching():
    result = cq.estimate("psm", DATA, **EXAMPLE.roles)
    d = specification_curve(result, DATA, include=["caliper"]).to_dict()
    assert {s["label"] for s in d["specs"] if not s["headline"]} == {"caliper none", "caliper 0.1 SD",
                                                                    "caliper 0.5 SD"}


def test_tasks_pickle_and_give_the_same_numbers(aipw_curve):
    result, curve = aipw_curve
    specs = [o.spec for o in curve.alternatives[:3]]
    tasks = specification_tasks(specs, DATA)
    again = pickle.loads(pickle.dumps(tasks))
    assert [o.estimate for o in run_tasks(again)] == [o.estimate for o in curve.alternatives[:3]]
    seen = []
    run_tasks(tasks, on_progress=lambda done, total, label: seen.append((done, total, label)))
    assert seen[-1][:2] == (3, 3) and seen[0][2] == specs[0].label


def test_other_estimates_of_the_analysis_are_reused(aipw_curve):
    result, curve = aipw_curve
    ipw = cq.estimate("ipw", DATA, **EXAMPLE.roles)
    reused = specification_curve(result, DATA, include=["estimator"], reuse={"ipw": ipw}).to_dict()
    assert reused["reused"] == ["estimator ipw"]
    row = next(s for s in reused["specs"] if s["label"] == "estimator ipw")
    assert row["estimate"] == ipw.estimate


def test_analyze_attaches_the_curve_to_the_headline_and_the_score_reads_it():
    report = cq.analyze(EXAMPLE.frame, **EXAMPLE.roles, methods=["regression_adjustment", "ipw", "aipw"],
                        specification_curve=True)
    head = report.results[report.headline]
    curve = head.diagnostics["specification_curve"]
    assert curve["share_agree"] == 1.0
    assert set(curve["reused"]) >= {"estimator ipw"}
    assert report.cas[report.headline].inputs["robustness"]["specification_curve_share_agree"] == 1.0
    assert "specification curve" in report.cas[report.headline].explanation["robustness"]


def test_score_rewards_agreement():
    frame = confounded_only()
    result = cq.estimate("regression_adjustment", frame, outcome="y", treatment="t", covariates=["c", "x1", "x2"])
    split = attach_specification_curve(result, specification_curve(result, frame, include=["covariates"]))
    share = split.diagnostics["specification_curve"]["share_agree"]
    assert share == pytest.approx(2 / 3)
    assert score(split, data=frame).inputs["robustness"]["specification_curve_share_agree"] == share


def test_figure_from_the_curve_and_from_a_result(aipw_curve):
    result, curve = aipw_curve
    spec = specification_curve_plot(curve.to_dict(), "aipw")
    assert spec.kind == "specification_curve" and len(spec.data["estimate"]) == len(curve.alternatives) + 1
    attached = attach_specification_curve(result, curve).to_dict()
    assert specification_curve_plot(attached).data == spec.data
    fig = render(spec)
    assert len(fig.data) >= 1 and fig.layout.title.text == "Specification curve (aipw)"
    assert specification_curve_plot(result.to_dict()) is None


@pytest.fixture
def always_fails():
    @register("toy_always_fails", family="test", design="cross_section", estimands=("ate",),
              requires=Requirements(roles=("outcome", "treatment")), title="toy", summary="toy")
    def toy(data: Dataset, roles: Roles, *, estimand: str = "ate", alpha: float = 0.05,
            seed: int = 0) -> cq.EffectResult:
        raise EstimationError("This toy never estimates anything.", "Use another method.", code="E-EST-001")

    yield "toy_always_fails"
    registry.unregister("toy_always_fails")


def test_a_specification_that_cannot_run_is_listed_not_replaced(always_fails):
    result = cq.estimate("ipw", DATA, **EXAMPLE.roles)
    d = specification_curve(result, DATA, include=["estimator"], methods=[always_fails, "aipw"]).to_dict()
    assert [f["label"] for f in d["failed"]] == ["estimator toy_always_fails"]
    assert d["failed"][0]["error"]["code"] == "E-EST-001"
    assert d["n_alternatives"] == 1 and "could not run" in d["text"]


def test_run_specification_catches_its_typed_error():
    result = cq.estimate("ipw", DATA, **EXAMPLE.roles)
    curve = specification_curve(result, DATA, include=["trimming"])
    spec = curve.alternatives[0].spec
    broken = type(spec)(**{**spec.__dict__, "roles": {**spec.roles, "outcome": "no_such_column"}})
    out = run_specification(broken, DATA)
    assert out.error["code"] == "E-ROLE-002" and math.isnan(out.estimate)


@pytest.mark.parametrize("kwargs, code", [
    ({"include": ["no_such_kind"]}, "E-METHOD-005"), ({"include": []}, "E-METHOD-005"),
    ({"method": "no_such_method"}, "E-METHOD-001"), ({"methods": ["no_such_method"]}, "E-METHOD-001"),
])
def test_bad_arguments_are_typed(kwargs, code):
    result = cq.estimate("ipw", DATA, **EXAMPLE.roles)
    with pytest.raises(CQOxError) as info:
        specification_curve(result, DATA, **kwargs)
    assert info.value.code == code and info.value.hint


def test_bad_data_and_results_are_typed():
    result = cq.estimate("ipw", DATA, **EXAMPLE.roles)
    with pytest.raises(CQOxError) as info:
        specification_curve(result, DATA.frame.drop(columns=["x2"]))
    assert info.value.code == "E-ROLE-002"
    with pytest.raises(CQOxError) as info:
        specification_curve("ipw", DATA)  # type: ignore[arg-type]
    assert info.value.code == "E-METHOD-005"
