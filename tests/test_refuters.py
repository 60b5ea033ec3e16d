"""Refuters (cqox_core.refuters): a sound estimate survives them, an overconfident one does not.

Known truths used: the confounded example (effect 2, covariates measured) for a sound estimate; a toy
estimator registered here whose interval is ten times too narrow, which a shuffled treatment or a noise
outcome exposes (its "effects" are noise) and random subsets move out of its interval; the placebo
refuter's size on a true effect (slow Monte Carlo: it may fail at most about alpha of the time).
"""
from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest

import cqox_core as cq
from cqox_core import registry
from cqox_core.cas import score
from cqox_core.data import Dataset, as_dataset
from cqox_core.datasets import examples, simulate_confounded
from cqox_core.errors import CQOxError
from cqox_core.estimators._common import finish
from cqox_core.gates import refutation_gate
from cqox_core.prep import prepare
from cqox_core.refuters import (
    REFUTERS,
    RefitJob,
    attach_refutations,
    chance_exclusions,
    data_subsets,
    dummy_outcome,
    placebo_treatment,
    random_common_cause,
    refit,
    refute,
)
from cqox_core.registry import Requirements, register
from cqox_core.roles import Roles

EXAMPLE = examples.confounded(0)
DATA = as_dataset(EXAMPLE.frame)


@pytest.fixture(scope="module")
def sound() -> cq.EffectResult:
    return cq.estimate("regression_adjustment", DATA, **EXAMPLE.roles)


@pytest.fixture
def overconfident():
    """Difference in means with a standard error ten times too small (a broken method's signature)."""
    @register("toy_overconfident", family="test", design="cross_section", estimands=("ate",),
              requires=Requirements(roles=("outcome", "treatment")), title="toy", summary="toy")
    def toy(data: Dataset, roles: Roles, *, estimand: str = "ate", alpha: float = 0.05,
            seed: int = 0) -> cq.EffectResult:
        prep = prepare(data, roles, need_covariates=False)
        y, t = prep.y, prep.t
        diff = float(y[t == 1].mean() - y[t == 0].mean())
        se = math.sqrt(y[t == 1].var(ddof=1) / (t == 1).sum() + y[t == 0].var(ddof=1) / (t == 0).sum()) / 10
        return finish("toy_overconfident", estimand, diff, se, alpha=alpha, n_obs=prep.n, se_method="toy",
                      diagnostics={})

    yield "toy_overconfident"
    registry.unregister("toy_overconfident")


# --------------------------------------------------------------------------
# a sound estimate passes; a broken one fails
# --------------------------------------------------------------------------

def test_sound_estimate_passes_every_refuter(sound):
    report = refute(sound, DATA)
    assert [r.name for r in report.refutations] == list(REFUTERS)
    assert all(r.status == "pass" for r in report.refutations), [r.text for r in report.refutations]
    placebo = report.refutations[0]
    # the placebo estimates sit near zero, far from the real effect (2): within 4 of its SEs on average
    assert abs(np.mean(placebo.estimates)) < 4 * sound.std_error / math.sqrt(len(placebo.estimates)) + 0.1
    assert placebo.replicates == 20 and placebo.failed == 0
    for r in report.refutations:
        assert r.expected and r.observed and r.text


def test_overconfident_estimate_fails_placebo_dummy_and_subsets(overconfident):
    result = cq.estimate(overconfident, DATA, outcome="outcome", treatment="treated")
    report = {r.name: r for r in refute(result, DATA).refutations}
    assert report["placebo_treatment"].status == "fail"
    assert report["dummy_outcome"].status == "fail"
    assert report["data_subsets"].status == "fail"
    # it uses no covariates, so there is nothing to add a random one to
    assert report["random_common_cause"].status == "not_applicable"
    assert "too narrow" in report["placebo_treatment"].text


def test_placebo_passes_on_a_real_effect_and_its_threshold_is_chance(sound):
    r = placebo_treatment(None, DATA, None, sound)
    assert r.status == "pass"
    # Binomial(20, 0.05): P(X >= 3) = 0.075 > 0.05 >= P(X >= 4) = 0.016, so 3 exclusions are chance
    assert chance_exclusions(20, 0.05) == 3 and r.threshold == pytest.approx(3 / 20)
    assert chance_exclusions(10, 0.05) == 2


def test_each_refuter_runs_on_its_own(sound):
    for fn, name in ((placebo_treatment, "placebo_treatment"), (random_common_cause, "random_common_cause"),
                     (data_subsets, "data_subsets"), (dummy_outcome, "dummy_outcome")):
        r = fn("regression_adjustment", DATA, Roles(**EXAMPLE.roles), sound, replicates=4)
        assert r.name == name and r.replicates == 4 and r.status in ("pass", "fail")


# --------------------------------------------------------------------------
# seeds, tasks, designs
# --------------------------------------------------------------------------

def test_seeded_and_deterministic(sound):
    a = refute(sound, DATA, replicates=3, seed=1).to_dict()
    b = refute(sound, DATA, replicates=3, seed=1).to_dict()
    c = refute(sound, DATA, replicates=3, seed=2).to_dict()
    assert a == b
    assert a["refuters"][0]["estimates"] != c["refuters"][0]["estimates"]
    json.dumps(a, allow_nan=False)


def test_replicates_are_picklable_tasks(sound):
    job = RefitJob("regression_adjustment", sound.roles, "ate", 0.05, 0, {"interacted": True}, "data_subsets", 3, 0,
                   "cross_section")
    again = pickle.loads(pickle.dumps(job))
    assert refit(again, DATA) == refit(job, DATA)


def test_panel_placebo_exchanges_whole_treatment_paths():
    example = examples.single_adoption(0)
    data = as_dataset(example.frame)
    result = cq.estimate("did", data, **example.roles)
    report = {r.name: r for r in refute(result, data, replicates=5).refutations}
    assert report["placebo_treatment"].status == "pass", report["placebo_treatment"].text
    assert report["data_subsets"].status == "pass"
    assert report["random_common_cause"].status == "not_applicable"   # no covariates


def test_designs_without_a_treatment_to_permute_say_so():
    example = examples.threshold(0)
    data = as_dataset(example.frame)
    result = cq.estimate("rd", data, **example.roles)
    report = {r.name: r for r in refute(result, data, replicates=3).refutations}
    assert report["placebo_treatment"].status == "not_applicable"
    assert "own placebo" in report["placebo_treatment"].text
    series = examples.interrupted_series(0)
    its = cq.estimate("its", series.frame, **series.roles)
    assert refute(its, series.frame, which=["data_subsets"]).refutations[0].status == "not_applicable"


def test_sensitivity_panel_is_refuted_through_the_method_it_wraps(sound):
    wrapped = cq.estimate("sensitivity", DATA, **EXAMPLE.roles, of="regression_adjustment")
    a = refute(wrapped, DATA, which=["data_subsets"], replicates=3)
    b = refute(sound, DATA, which=["data_subsets"], replicates=3)
    assert a.method == "regression_adjustment"
    assert a.refutations[0].estimates == b.refutations[0].estimates


# --------------------------------------------------------------------------
# gate, score, analyze, CLI
# --------------------------------------------------------------------------

def test_gate_and_score_read_the_refuters(sound):
    refuted = attach_refutations(sound, DATA, replicates=4)
    gate = next(g for g in refuted.gates if g.name == "refutation")
    assert gate.status == "pass" and gate.metric == 1.0
    cas = score(refuted, data=DATA)
    assert cas.inputs["robustness"]["refutation_share_passed"] == 1.0
    assert "refuters passed" in cas.explanation["robustness"]
    # the refutation gate is robustness evidence, not an identification check
    assert "refutation" not in cas.inputs["validity"]
    assert score(sound, data=DATA).validity == cas.validity


@pytest.mark.parametrize("statuses, expected", [
    (["pass", "pass", "pass", "pass"], "pass"), (["pass", "pass", "fail", "pass"], "warn"),
    (["pass", "fail", "fail", "not_applicable"], "fail"), (["pass", "fail", "not_applicable"], "warn"),
])
def test_gate_thresholds(statuses, expected):
    refuters = [{"status": s, "title": f"R{i}", "text": f"refuter {i}."} for i, s in enumerate(statuses)]
    applicable = sum(s != "not_applicable" for s in statuses)
    gate = refutation_gate({"refutation": {"refuters": refuters, "applicable": applicable}})
    assert gate.status == expected and gate.message
    assert refutation_gate({}) is None


def test_analyze_refutes_every_estimate_when_asked():
    report = cq.analyze(EXAMPLE.frame, **EXAMPLE.roles, methods=["regression_adjustment", "ipw"], refute=True)
    for method, result in report.results.items():
        assert result.diagnostics["refutation"]["applicable"] == 4, method
        assert any(g.name == "refutation" for g in result.gates)
        assert "refutation_share_passed" in report.cas[method].inputs["robustness"]
    plain = cq.analyze(EXAMPLE.frame, **EXAMPLE.roles, methods=["ipw"])
    assert "refutation" not in plain.results["ipw"].diagnostics


def test_cli_refute_flag(tmp_path, capsys):
    from cqox_core.cli import main

    path = tmp_path / "data.csv"
    EXAMPLE.frame.to_csv(path, index=False)
    code = main(["estimate", "ipw", str(path), "--outcome", "outcome", "--treatment", "treated",
                 "--covariates", "x1,x2,region", "--refute", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [r["name"] for r in out["diagnostics"]["refutation"]["refuters"]] == list(REFUTERS)
    assert any(g["name"] == "refutation" for g in out["gates"])


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, code", [
    ({"replicates": 1}, "E-METHOD-005"), ({"replicates": 2.5}, "E-METHOD-005"),
    ({"replicates": {"placebo_treatment": 0}}, "E-METHOD-005"),
    ({"which": ["no_such_refuter"]}, "E-METHOD-005"), ({"which": []}, "E-METHOD-005"),
    ({"method": "no_such_method"}, "E-METHOD-001"),
])
def test_bad_arguments_are_typed(sound, kwargs, code):
    with pytest.raises(CQOxError) as info:
        refute(sound, DATA, **kwargs)
    assert info.value.code == code and info.value.hint


def test_bad_data_and_results_are_typed(sound):
    with pytest.raises(CQOxError) as info:
        refute(sound, DATA.frame.drop(columns=["x1"]))
    assert info.value.code == "E-ROLE-002"
    with pytest.raises(CQOxError) as info:
        refute(sound, DATA, roles=Roles(outcome="outcome"))
    assert info.value.code == "E-ROLE-001"
    with pytest.raises(CQOxError) as info:
        refute({"estimate": 1.0}, DATA)  # type: ignore[arg-type]
    assert info.value.code == "E-METHOD-005"


def test_a_method_failing_on_the_changed_data_fails_the_refuter(sound, monkeypatch):
    """Failures are counted, never redrawn: above 10% the refuter fails and gives the reasons."""
    import cqox_core.refuters as module

    original = module.perturbed

    def flaky(job, dataset):
        if job.replicate % 2:
            raise ValueError("simulated failure")
        return original(job, dataset)

    monkeypatch.setattr(module, "perturbed", flaky)
    r = data_subsets(None, DATA, None, sound, replicates=6)
    assert r.status == "fail" and r.failed == 3 and "simulated failure" in r.text


# --------------------------------------------------------------------------
# size (slow Monte Carlo)
# --------------------------------------------------------------------------

@pytest.mark.slow
def test_placebo_refuter_size_on_a_true_effect():
    """200 fresh datasets with a real effect (1.0, confounded, covariates measured), ipw with honest intervals:
    the placebo refuter may fail at most about alpha of the time. Its rule allows the chance count of
    Binomial(20, 0.05), so the nominal rate is 0.016; the bound 0.05 + 2 Monte Carlo SDs (0.081) leaves room
    for the dependence of 20 placebos drawn from one dataset."""
    fails = 0
    for seed in range(200):
        data = as_dataset(simulate_confounded(n=300, effect=1.0, seed=seed))
        result = cq.estimate("ipw", data, outcome="outcome", treatment="treated", covariates=["x1", "x2", "region"],
                             seed=seed, with_gates=False, with_sensitivity=False)
        fails += placebo_treatment(None, data, None, result, seed=seed).status == "fail"
    assert fails / 200 <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / 200), fails


def test_placebo_refuter_power_on_overconfident_intervals(overconfident):
    """The other side of the size check: with intervals 10x too narrow it fails on most datasets."""
    fails = 0
    for seed in range(10):
        data = as_dataset(simulate_confounded(n=300, effect=1.0, seed=seed))
        result = cq.estimate(overconfident, data, outcome="outcome", treatment="treated", seed=seed)
        fails += placebo_treatment(None, data, None, result, seed=seed).status == "fail"
    assert fails >= 9
