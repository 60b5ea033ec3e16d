"""The Causal Assurance Score is computed from the analysis' own data for every registered method
(issue 9, part 2): each method's registry example is scored on two data sets (seed 0 at full size,
seed 1 with a fifth of the units, periods or rows removed). Every component must read those data
(its inputs differ between them), its value must follow the documented formula from those inputs,
and its explanation must say what was computed. The one component the formula allows to be the same
is interpretability without covariates: it is then the method's registered transparency alone."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import cqox_core as cq
from cqox_core import registry
from cqox_core.cas import STATUS_SCORE, WEIGHTS, score

#: Methods whose robustness has no data-driven check yet: each is a known gap (named in the issue note),
#: and the strict xfail turns into a failure the day the check exists.
NO_ROBUSTNESS_CHECK_YET = {"policy_learning": "no second estimate or design check of a learned rule's value yet"}
METHODS = [s.id for s in registry.methods() if s.example is not None]
WITH_ROBUSTNESS = [pytest.param(m, marks=pytest.mark.xfail(strict=True, reason=NO_ROBUSTNESS_CHECK_YET[m]))
                   if m in NO_ROBUSTNESS_CHECK_YET else m for m in METHODS]


def smaller(frame: pd.DataFrame, roles: dict) -> pd.DataFrame:
    """The same design with fewer units (panels; the treated unit of a one-treated-unit design stays),
    fewer periods (one series) or fewer rows (cross-sections)."""
    rng = np.random.default_rng(11)
    unit, time, treatment = roles.get("unit"), roles.get("time"), roles.get("treatment")
    if unit:
        units = pd.unique(frame[unit])
        treated = set(frame.loc[frame[treatment] == 1, unit]) if treatment else set()
        if len(treated) <= 2:
            rest = sorted(set(units) - treated)
            keep = treated | set(rng.choice(rest, size=int(0.8 * len(rest)), replace=False).tolist())
        else:
            keep = set(rng.choice(units, size=int(0.8 * len(units)), replace=False).tolist())
        return frame[frame[unit].isin(keep)].reset_index(drop=True)
    if time:
        times = np.sort(pd.unique(frame[time]))
        return frame[frame[time] >= times[len(times) // 5]].reset_index(drop=True)
    return frame.sample(frac=0.8, random_state=11).reset_index(drop=True)


@pytest.fixture(scope="module")
def scored() -> dict[str, list]:
    out = {}
    for method in METHODS:
        spec = registry.get(method)
        runs = []
        for seed, shrink in ((0, False), (1, True)):
            ex = spec.example(seed)
            frame = smaller(ex.frame, ex.roles) if shrink else ex.frame
            result = cq.estimate(method, frame, seed=seed, **ex.kwargs())
            runs.append((result, frame, score(result, data=frame)))
        out[method] = runs
    return out


@pytest.mark.parametrize("method", WITH_ROBUSTNESS)
def test_every_component_reads_this_analysis_data(scored, method):
    (r1, _, c1), (r2, _, c2) = scored[method]
    assert r1.n_obs != r2.n_obs  # two different data sets
    for component in WEIGHTS:
        if component == "interpretability" and "max_vif" not in c1.inputs[component]:
            assert set(c1.inputs[component]) == {"transparency"}  # the formula's one data-free case
            continue
        assert c1.inputs[component], f"{method}: {component} was not computed ({c1.explanation[component]})"
        assert c1.inputs[component] != c2.inputs[component], f"{method}: {component} did not read the data"


@pytest.mark.parametrize("method", WITH_ROBUSTNESS)
def test_components_follow_the_formula_and_say_so(scored, method):
    spec = registry.get(method)
    for result, _, cas in scored[method]:
        inp, text = cas.inputs, cas.explanation
        # validity: mean of the check statuses listed in the explanation
        statuses = [v for k, v in inp["validity"].items() if k.endswith("_status")]
        assert statuses and "neutral" not in text["validity"]
        assert cas.validity == pytest.approx(10 * np.mean([STATUS_SCORE[s] for s in statuses]), abs=0.01)
        assert f"of {len(statuses)} identification checks pass" in text["validity"]
        # precision: an interval (or the placebo spread) against the design's outcome spread
        p = inp["precision"]
        finite_ci = math.isfinite(result.ci_lower) and math.isfinite(result.ci_upper)
        assert p["source"] == ("ci" if finite_ci else "placebo")
        if finite_ci:
            assert p["width"] == pytest.approx(result.ci_upper - result.ci_lower)
            assert "No confidence interval" not in text["precision"]
        ratio = p["width"] * p.get("treatment_sd", 1.0) / p["scale"]
        assert cas.precision == pytest.approx(10 * min(1, max(0, 1 - ratio / 2)), abs=0.01)
        assert f"{ratio:.2f} times" in text["precision"]
        # robustness: some evidence exists for every design
        assert inp["robustness"] and "not credited" not in text["robustness"]
        assert 0 <= cas.robustness <= 10
        # scalability: the size index, no clock
        s = inp["scalability"]
        assert s["n"] == result.n_obs and s["cost_exponent"] == spec.cost_exponent
        assert cas.scalability == pytest.approx(
            10 / (1 + math.sqrt(result.n_obs ** spec.cost_exponent * (1 + s["covariates"]) / 1e8)), abs=0.01)
        assert cas.overall == pytest.approx(sum(WEIGHTS[k] * getattr(cas, k) for k in WEIGHTS), abs=0.02)


@pytest.mark.parametrize("method", METHODS)
def test_the_same_input_gives_the_same_score(scored, method):
    result, frame, cas = scored[method][0]
    again = score(result, data=frame, elapsed_seconds=123.0)
    assert again.to_dict() == cas.to_dict()


def test_its_validity_and_precision_are_computed():
    """ITS got validity 5 and precision 0 whatever the data; now both read the series."""
    spec = registry.get("its")
    ex = spec.example(0)
    res = cq.estimate("its", ex.frame, **ex.kwargs())
    cas = score(res, data=ex.frame)
    assert "autocorrelation" in cas.explanation["validity"] and "points before" in cas.explanation["validity"]
    assert cas.inputs["precision"]["source"] == "ci" and cas.inputs["precision"]["scale"] > 0
    assert "fake interruptions" in cas.explanation["robustness"].lower()


def _continuous(seed: int, n: int = 800) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x, u, z = rng.normal(size=(3, n))
    dose = 1.5 * (0.6 * x + 0.8 * z + 0.5 * u + rng.normal(size=n))  # SD about 2
    return pd.DataFrame({"y": 0.5 * dose + x + u + rng.normal(size=n), "dose": dose, "x": x, "z": z})


@pytest.mark.parametrize("method,kw", [("regression_adjustment", {"covariates": ["x"]}),
                                       ("iv", {"instrument": ["z"], "covariates": ["x"]})])
def test_a_continuous_treatment_is_scored_per_treatment_sd(method, kw):
    """Precision was 0 ("no confidence interval") for a continuous treatment: no outcome_sd diagnostic."""
    cas = []
    for seed, n in ((0, 800), (1, 500)):
        df = _continuous(seed, n)
        res = cq.estimate(method, df, outcome="y", treatment="dose", **kw)
        assert res.diagnostics.get("treatment_kind") == "continuous"
        c = score(res, data=df)
        t_sd = float(df["dose"].std())
        width = res.ci_upper - res.ci_lower
        assert c.inputs["precision"]["treatment_sd"] == pytest.approx(t_sd)
        assert c.precision == pytest.approx(10 * max(0, 1 - width * t_sd / (2 * df["y"].std())), abs=0.05)
        assert c.precision > 0 and "treatment SD" in c.explanation["precision"]
        cas.append(c)
    assert cas[0].precision != cas[1].precision
