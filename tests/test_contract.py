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

from conftest import simulate_confounded

ISSUE_3_METHODS = {"regression_adjustment", "stratification", "psm", "ipw", "aipw", "g_computation", "bootstrap"}
CONTRACT_KEYS = {"method", "estimand", "estimate", "std_error", "ci_lower", "ci_upper", "alpha", "p_value",
                 "n_obs", "roles", "diagnostics", "gates", "sensitivity", "warnings", "by"}
PANEL = {"did", "event_study", "staggered_did", "synthetic_control", "panel_matching"}


def cross_section() -> pd.DataFrame:
    df = simulate_confounded(n=600, seed=0)
    rng = np.random.default_rng(1)
    df["z"] = rng.binomial(1, 0.5, len(df))  # an instrument for iv
    df["treated"] = np.where(rng.uniform(size=len(df)) < 0.3, df["z"], df["treated"])
    df["score"] = rng.uniform(-1, 1, len(df))  # a running variable for rd
    df["outcome"] = df["outcome"] + 1.0 * (df["score"] >= 0)
    return df


def panel(n_units: int = 40, n_periods: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = []
    for u in range(n_units):
        first = [0, 5, 6][u % 3] if u else 5  # unit 0 treated at 5 (synthetic control), thirds staggered
        a = rng.normal()
        for t in range(1, n_periods + 1):
            d = int(first > 0 and t >= first)
            rows.append((u, t, d, a + 0.3 * t + 1.5 * d + rng.normal(scale=0.5), rng.normal()))
    return pd.DataFrame(rows, columns=["unit", "period", "d", "y", "x"])


def series() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    t = np.arange(60)
    d = (t >= 30).astype(int)
    return pd.DataFrame({"month": t, "policy": d, "sales": 10 + 0.2 * t + 3 * d + rng.normal(size=60)})


def case(method: str) -> tuple[pd.DataFrame, dict]:
    """(data, roles and parameters) for one method."""
    if method in PANEL:
        frame = panel()
        kw = dict(outcome="y", treatment="d", unit="unit", time="period")
        if method == "synthetic_control":
            frame = frame[(frame.unit == 0) | (frame.unit % 3 == 0)]  # one treated unit, never-treated donors
        return frame, kw
    if method == "its":
        return series(), dict(outcome="sales", treatment="policy", time="month")
    frame = cross_section()
    kw = dict(outcome="outcome", treatment="treated", covariates=["x1", "x2", "region"])
    if method == "iv":
        kw |= dict(instrument=["z"], covariates=["x1", "x2"])
    if method == "rd":
        kw = dict(outcome="outcome", running="score", cutoff=0.0)
    if method == "bootstrap":
        kw |= dict(of="regression_adjustment", n_boot=30)
    if method == "g_computation":
        kw |= dict(n_boot=30)
    return frame, kw


ALL = [m.id for m in registry.methods()]


def run(method: str, frame: pd.DataFrame | None = None, seed: int = 0, **extra):
    data, kw = case(method)
    return cq.estimate(method, data if frame is None else frame, seed=seed, **(kw | extra))


def test_registry_has_the_foundation_methods():
    assert ISSUE_3_METHODS <= set(ALL)


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
    if not registry.get(method).requires.panel and method != "its":
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
