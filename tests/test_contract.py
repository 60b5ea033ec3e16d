"""One contract test over the whole registry (scikit-learn's check_estimator habit):
result shape, JSON round trip, seed determinism, typed errors on degenerate data,
no NaN estimate without a warning. Each method gets data of its design."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import cqox_core as cq
from cqox_core import registry
from cqox_core.errors import CQOxError

CONTRACT_KEYS = {"method", "estimand", "estimate", "std_error", "ci_lower", "ci_upper", "alpha", "p_value",
                 "n_obs", "roles", "diagnostics", "gates", "sensitivity", "warnings", "by"}


def case(method: str) -> tuple[pd.DataFrame, dict]:
    """(data, roles and parameters) for one method: its registered ``example``."""
    example = registry.get(method).example()
    return example.frame, example.kwargs()


ALL = [m.id for m in registry.methods()]


def run(method: str, frame: pd.DataFrame | None = None, seed: int = 0, **extra):
    data, kw = case(method)
    return cq.estimate(method, data if frame is None else frame, seed=seed, **(kw | extra))


@pytest.mark.parametrize("method", ALL)
def test_every_method_has_a_complete_spec(method):
    spec = registry.get(method)
    assert spec.example is not None, "every method ships an example with a known effect"
    assert spec.title and spec.summary and spec.estimands and spec.design
    assert all(p.help for p in spec.params)
    assert spec.module == f"cqox_core.estimators.{method}", "one module per method id"
    from pathlib import Path
    assert (Path(__file__).parent.parent / spec.test_path).exists(), f"missing {spec.test_path}"


@pytest.mark.parametrize("method", ALL)
def test_example_recovers_its_known_effect(method):
    """The registered example's truth is recovered within 4 standard errors (p < 1e-4 under a
    correct method; a much looser band would let a covariate-blind estimator pass)."""
    spec = registry.get(method)
    example = spec.example()
    res = cq.estimate(method, example.frame, **example.kwargs(), seed=0)
    if math.isfinite(res.std_error) and res.std_error > 0:
        assert abs(res.estimate - example.truth) < 4 * res.std_error, (res.estimate, res.std_error)
    else:
        assert abs(res.estimate - example.truth) < 0.25 * abs(example.truth)


@pytest.mark.parametrize("method", ALL)
def test_result_shape_and_json_round_trip(method):
    res = run(method)
    d = res.to_dict()
    assert CONTRACT_KEYS <= set(d)
    assert d["method"] == method
    assert d["estimand"] in registry.get(method).estimands
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text) == d
    assert res.n_obs > 0
    if not math.isfinite(res.estimate):
        assert res.warnings, "a NaN estimate must come with a warning"
    if not (math.isfinite(res.std_error) and math.isfinite(res.ci_lower)):
        assert res.warnings, "a missing standard error or interval must come with a warning"
    else:
        assert res.ci_lower <= res.ci_upper
    for g in d["gates"]:
        assert g["status"] in ("pass", "warn", "fail") and g["message"]


@pytest.mark.parametrize("method", ALL)
def test_seed_determinism(method):
    assert run(method, seed=7).to_dict() == run(method, seed=7).to_dict()


def _typed(exc: CQOxError) -> None:
    assert exc.code.startswith("E-") and exc.message and exc.hint


@pytest.mark.parametrize("method", [m for m in ALL if "treatment" in registry.get(m).requires.roles])
def test_constant_treatment_is_a_typed_error(method):
    frame, kw = case(method)
    with pytest.raises(CQOxError) as info:
        run(method, frame.assign(**{kw["treatment"]: 1}))
    _typed(info.value)
    if registry.get(method).design in ("cross_section", "instrument", "wrapper"):
        assert info.value.code == "E-ROLE-003"


@pytest.mark.parametrize("method", ALL)
def test_all_missing_outcome_is_a_typed_error(method):
    frame, kw = case(method)
    with pytest.raises(CQOxError) as info:
        run(method, frame.assign(**{kw["outcome"]: np.nan}))
    _typed(info.value)


@pytest.mark.parametrize("method", ALL)
def test_single_row_is_a_typed_error(method):
    frame, _ = case(method)
    with pytest.raises(CQOxError) as info:
        run(method, frame.iloc[:1])
    _typed(info.value)


@pytest.mark.parametrize("method", ALL)
def test_missing_column_is_a_typed_error(method):
    with pytest.raises(CQOxError) as info:
        run(method, outcome="no_such_column")
    assert info.value.code == "E-ROLE-002"


def test_unknown_method_and_parameter_are_typed():
    frame, kw = case("regression_adjustment")
    with pytest.raises(cq.MethodError) as info:
        cq.estimate("no_such_method", frame, **kw)
    assert info.value.code == "E-METHOD-001"
    with pytest.raises(cq.MethodError) as info:
        cq.estimate("regression_adjustment", frame, **kw, no_such_param=1)
    assert info.value.code == "E-METHOD-002"
