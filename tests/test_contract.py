"""One contract test over the whole registry (scikit-learn's check_estimator habit):
result shape, JSON round trip, seed determinism, typed errors on degenerate data,
no NaN estimate without a warning."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import cqox_core as cq
from cqox_core import registry
from cqox_core.errors import CQOxError, RoleError

ROLES = dict(outcome="outcome", treatment="treated", covariates=["x1", "x2", "region"])
#: Extra parameters some methods need to run at all (or quickly) in the contract test.
PARAMS = {"bootstrap": {"of": "regression_adjustment", "n_boot": 30}, "g_computation": {"n_boot": 30}}
ISSUE_3_METHODS = {"regression_adjustment", "stratification", "psm", "ipw", "aipw", "g_computation", "bootstrap"}
CONTRACT_KEYS = {"method", "estimand", "estimate", "std_error", "ci_lower", "ci_upper", "alpha", "p_value",
                 "n_obs", "roles", "diagnostics", "gates", "sensitivity", "warnings", "by"}

ALL = [m.id for m in registry.methods()]


def run(method, frame, **kw):
    return cq.estimate(method, frame, **ROLES, seed=kw.pop("seed", 0), **PARAMS.get(method, {}), **kw)


def test_registry_has_the_foundation_methods():
    assert ISSUE_3_METHODS <= set(ALL)


@pytest.mark.parametrize("method", ALL)
def test_result_shape_and_json_round_trip(method, confounded):
    res = run(method, confounded)
    d = res.to_dict()
    assert CONTRACT_KEYS <= set(d)
    assert d["method"] == method
    assert d["estimand"] in registry.get(method).estimands
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text) == d
    assert res.n_obs > 0
    if not math.isfinite(res.estimate):
        assert res.warnings, "a NaN estimate must come with a warning"
    else:
        assert res.ci_lower <= res.estimate <= res.ci_upper
    for g in d["gates"]:
        assert g["status"] in ("pass", "warn", "fail") and g["message"]


@pytest.mark.parametrize("method", ALL)
def test_seed_determinism(method, confounded):
    a = run(method, confounded, seed=7).to_dict()
    b = run(method, confounded, seed=7).to_dict()
    assert a == b


@pytest.mark.parametrize("method", ALL)
def test_constant_treatment_is_a_typed_error(method, confounded):
    frame = confounded.assign(treated=1)
    with pytest.raises(RoleError) as info:
        run(method, frame)
    assert info.value.code == "E-ROLE-003" and info.value.hint


@pytest.mark.parametrize("method", ALL)
def test_all_missing_outcome_is_a_typed_error(method, confounded):
    frame = confounded.assign(outcome=np.nan)
    with pytest.raises(RoleError) as info:
        run(method, frame)
    assert info.value.code == "E-ROLE-004"


@pytest.mark.parametrize("method", ALL)
def test_single_row_is_a_typed_error(method, confounded):
    with pytest.raises(CQOxError) as info:
        run(method, confounded.iloc[:1])
    assert info.value.code.startswith("E-ROLE") and info.value.hint


@pytest.mark.parametrize("method", ALL)
def test_missing_column_is_a_typed_error(method, confounded):
    with pytest.raises(RoleError) as info:
        cq.estimate(method, confounded, outcome="no_such_column", treatment="treated", covariates=["x1"],
                    **PARAMS.get(method, {}))
    assert info.value.code == "E-ROLE-002"


def test_unknown_method_and_parameter_are_typed(confounded):
    with pytest.raises(cq.MethodError) as info:
        cq.estimate("no_such_method", confounded, **ROLES)
    assert info.value.code == "E-METHOD-001"
    with pytest.raises(cq.MethodError) as info:
        cq.estimate("regression_adjustment", confounded, **ROLES, no_such_param=1)
    assert info.value.code == "E-METHOD-002"
