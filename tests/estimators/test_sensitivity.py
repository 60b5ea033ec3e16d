"""The `sensitivity` method: the wrapped method's estimate with the full sensitivity panel.

The panel's statistics are checked against published and peer numbers in tests/test_sensitivity.py
(Darfur: robustness value, benchmark bounds, contour and multiples from PySensemakr; Rosenbaum bounds
against scipy and the exact distribution). Here: the wrapper returns exactly the wrapped method's
numbers, carries every part that applies (regression: benchmarks of every covariate, the finer contour;
matching: Rosenbaum's Γ), repeats the headline numbers in diagnostics, feeds its figure, and refuses bad
input with typed errors. The registry reference (PySensemakr's robustness value of the example) is
reproduced by tests/test_references.py; its script is
tests/estimators/references/scripts/sensitivity_example_sensemakr.py.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import cqox_core as cq
from cqox_core.datasets import examples
from cqox_core.errors import CQOxError
from cqox_core.sensitivity import CONTOUR_POINTS_FULL, adjusted_estimate, adjusted_se
from cqox_core.visuals import render
from cqox_core.visuals.methods import figures

EXAMPLE = examples.confounded(0)
ROLES = EXAMPLE.roles


def run(of: str, **kw):
    return cq.estimate("sensitivity", EXAMPLE.frame, **ROLES, of=of, **kw)


def test_estimate_is_the_wrapped_methods_own():
    inner = cq.estimate("regression_adjustment", EXAMPLE.frame, **ROLES)
    outer = run("regression_adjustment")
    for key in ("estimate", "std_error", "ci_lower", "ci_upper", "p_value", "n_obs", "estimand"):
        assert getattr(outer, key) == getattr(inner, key), key
    assert outer.method == "sensitivity" and outer.diagnostics["sensitivity_of"] == "regression_adjustment"
    # the wrapped method's gates still apply: the same diagnostics are there
    assert [g.name for g in outer.gates] == [g.name for g in inner.gates]
    assert outer.se_method.startswith("regression_adjustment's own")


def test_regression_panel_is_the_full_one():
    """Against the summary every regression carries: the same robustness values, benchmarks of every
    covariate column (4 here: x1, x2 and two region dummies, x 3 multiples) and an 81 x 81 contour."""
    attached = cq.estimate("regression_adjustment", EXAMPLE.frame, **ROLES).sensitivity
    panel = run("regression_adjustment").sensitivity
    assert panel["panel"] == "full" and "panel" not in attached
    assert panel["robustness_value"] == attached["robustness_value"]
    assert len(panel["benchmarks"]) == 12 and {b["covariate"] for b in panel["benchmarks"]} == {
        "x1", "x2", "region_south", "region_west"}
    contour = panel["contour"]
    assert len(contour["r2dz_x"]) == len(contour["adjusted_estimate"]) == CONTOUR_POINTS_FULL
    # a grid point is the closed form of Cinelli & Hazlett at those partial R²s
    i, j = 40, 30
    x, y = contour["r2dz_x"][j], contour["r2yz_dx"][i]
    assert contour["adjusted_estimate"][i][j] == pytest.approx(
        adjusted_estimate(contour["estimate"], contour["std_error"], contour["dof"], x, y), rel=1e-12)
    assert contour["adjusted_t"][i][j] == pytest.approx(
        contour["adjusted_estimate"][i][j] / adjusted_se(contour["std_error"], contour["dof"], x, y), rel=1e-12)
    # the axes reach past the robustness value, so the zero line is inside the plot
    assert contour["r2dz_x"][-1] > panel["robustness_value"]


def test_summary_repeats_the_headline_numbers():
    result = run("regression_adjustment")
    summary, panel = result.diagnostics["sensitivity_summary"], result.sensitivity
    for key in ("e_value", "e_value_ci", "robustness_value", "robustness_value_alpha"):
        assert summary[key] == panel[key]
    assert summary["explain_away_covariate"] == panel["explain_away"]["covariate"] == "x1"
    assert summary["explain_away_multiplier"] == panel["explain_away"]["multiplier_zero"]


def test_paragraph_says_how_strong_a_confounder_would_have_to_be():
    text = run("regression_adjustment").sensitivity["sensitivity_text"]
    assert "times as strong as 'x1'" in text and "E-value" in text


def test_matching_panel_has_rosenbaum_bounds():
    result = run("psm", estimand="att")
    panel = result.sensitivity
    assert "error" not in panel
    assert panel["rosenbaum_gamma"] > 1 and panel["rosenbaum_pairs"] == result.diagnostics["matched_pairs"]
    assert [row["gamma"] for row in panel["rosenbaum_table"]][:2] == [1.0, 1.1]
    assert "Rosenbaum's Γ" in panel["sensitivity_text"]
    assert result.diagnostics["sensitivity_summary"]["rosenbaum_gamma"] == panel["rosenbaum_gamma"]
    # no regression parts for matching, and they say why
    assert "robustness_value" in panel["not_applicable"]


def test_inner_parameters_reach_the_wrapped_method():
    """k = 3 matches change the estimate and the matched differences the bounds use."""
    one = run("psm", estimand="att")
    three = run("psm", estimand="att", inner_params={"k": 3})
    direct = cq.estimate("psm", EXAMPLE.frame, **ROLES, k=3)
    assert three.estimate == direct.estimate != one.estimate
    assert three.sensitivity["rosenbaum_gamma"] != one.sensitivity["rosenbaum_gamma"]


def test_json_round_trip_and_figure():
    result = run("regression_adjustment")
    d = json.loads(result.to_json())
    specs = figures("sensitivity", d)
    assert [s.kind for s in specs] == ["sensitivity_contour"]
    spec = specs[0]
    assert len(spec.data["adjusted_estimate"]) == CONTOUR_POINTS_FULL ** 2
    assert spec.data["benchmarks"]["label"][0] == "1x x1"
    fig = render(spec)
    assert len(fig.data) == 4   # contour lines, zero line, unadjusted point, benchmarks


def test_continuous_treatment_panel_has_the_robustness_value_only():
    frame = EXAMPLE.frame.assign(dose=EXAMPLE.frame["x1"] + np.random.default_rng(0).normal(size=len(EXAMPLE.frame)))
    result = cq.estimate("sensitivity", frame, outcome="outcome", treatment="dose", covariates=["x2"],
                         of="regression_adjustment")
    panel = result.sensitivity
    assert 0 <= panel["robustness_value"] <= 1
    assert "e_value" in panel["not_applicable"] and "rosenbaum_gamma" in panel["not_applicable"]


@pytest.mark.parametrize("kwargs, code", [
    ({}, "E-METHOD-005"),                                               # no `of`
    ({"of": "sensitivity"}, "E-METHOD-005"),                            # wraps itself
    ({"of": "no_such_method"}, "E-METHOD-001"),
    ({"of": "psm", "inner_params": {"alpha": 0.1}}, "E-METHOD-005"),    # belongs to the outer call
    ({"of": "psm", "inner_params": {"no_such": 1}}, "E-METHOD-002"),    # not psm's parameter
    ({"of": "did"}, "E-METHOD-003"),                                    # did estimates the ATT only
])
def test_bad_input_is_a_typed_error(kwargs, code):
    with pytest.raises(CQOxError) as info:
        cq.estimate("sensitivity", EXAMPLE.frame, **ROLES, **kwargs)
    assert info.value.code == code and info.value.message and info.value.hint


def test_a_failed_part_is_reported_and_the_estimate_kept(monkeypatch):
    from cqox_core import sensitivity as module

    def broken(*args, **kwargs):
        raise ValueError("simulated failure")

    monkeypatch.setattr(module, "rosenbaum_part", broken)
    result = run("psm", estimand="att")
    assert math.isfinite(result.estimate)
    assert "Rosenbaum bound could not be computed" in result.sensitivity["error"]
    assert any("simulated failure" in w for w in result.warnings)
    assert result.sensitivity["e_value"] > 1


def test_panel_on_absorbed_fixed_effects():
    """A store-like text covariate with more than 50 levels is absorbed; the panel's contour is that model's."""
    rng = np.random.default_rng(2)
    n = 3000
    store = rng.integers(0, 80, size=n)
    level = rng.normal(size=80)[store]
    x = rng.normal(size=n)
    t = (rng.normal(size=n) + level + 0.5 * x > 0).astype(int)
    y = 1.5 * t + 2 * level + x + rng.normal(size=n)
    frame = pd.DataFrame({"y": y, "t": t, "x": x, "store": [f"s{s}" for s in store]})
    result = cq.estimate("sensitivity", frame, outcome="y", treatment="t", covariates=["x", "store"],
                         of="regression_adjustment", inner_params={"interacted": False})
    assert result.diagnostics["absorbed_fixed_effects"] == {"store": 80}
    contour = result.sensitivity["contour"]
    assert contour["estimate"] == pytest.approx(result.estimate, rel=1e-9)
    assert contour["dof"] == result.diagnostics["additive_dof"]
    assert abs(result.estimate - 1.5) < 4 * result.std_error
