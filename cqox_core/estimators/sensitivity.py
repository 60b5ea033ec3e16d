"""`sensitivity`: the full sensitivity panel around any other registered method.

The estimate, its standard error and interval are the wrapped method's own,
computed once through the public verb (role filling, parameter checks, typed
errors). What the wrapper adds is the whole panel of ``cqox_core.sensitivity``
on that estimate, with more detail than the summary every result carries:

- the E-value of the estimate and of the confidence limit nearest the null
  (VanderWeele & Ding 2017, Ann Intern Med 167:268);
- for regression adjustment, the robustness value RV and RV_alpha, benchmark
  bounds for confounders 1, 2 and 3 times as strong as every measured covariate
  (up to 20), the bias contour on an 81 x 81 grid of partial R² (the data of the
  "sensitivity_contour" figure) and how many times as strong as the strongest
  covariate a confounder must be to explain the effect away (Cinelli & Hazlett
  2020, JRSS-B 82:39), fixed effects absorbed when the regression absorbs them;
- for propensity-score matching, Rosenbaum's Γ bounds of the signed-rank and
  sign tests of the matched differences (Rosenbaum 2002, ch. 4);
- one plain paragraph saying all of it (``sensitivity.sensitivity_text``).

The headline numbers are repeated under ``diagnostics.sensitivity_summary`` so
scripts and references can read them where they read other diagnostics.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

from .. import registry
from ..data import Dataset
from ..datasets import examples
from ..errors import MethodError
from ..registry import Reference, Requirements, register
from ..results import EffectResult
from ..roles import Roles, role_names
from ..sensitivity import sensitivity_report

#: Keywords that belong to the wrapper call itself, never to the wrapped method's inner_params.
RESERVED_INNER = frozenset({"estimand", "alpha", "seed", "roles", "with_gates", "with_sensitivity"})
SUMMARY_KEYS = ("e_value", "e_value_ci", "robustness_value", "robustness_value_alpha", "partial_r2_treatment",
                "rosenbaum_gamma", "rosenbaum_gamma_sign_test")


def check_wrapper_params(of: str | None, inner_params: dict[str, Any] | None) -> dict[str, Any]:
    """``of`` names another method; ``inner_params`` holds only that method's own parameters."""
    if of is None or (isinstance(of, str) and not of.strip()):
        raise MethodError("The sensitivity panel needs to know which method's estimate to examine, and none "
                          "was given.", "Name it with of=METHOD, e.g. --param of=regression_adjustment (CLI) or "
                          "of=\"psm\" (Python).", code="E-METHOD-005")
    if of == "sensitivity":
        raise MethodError("The sensitivity panel cannot wrap itself.",
                          "Name the method whose estimate you want examined, e.g. of=regression_adjustment.",
                          code="E-METHOD-005")
    if inner_params is None:
        return {}
    clash = sorted(set(inner_params) & (RESERVED_INNER | set(role_names())))
    if clash:
        raise MethodError(f"inner_params may only hold the wrapped method's own parameters; "
                          f"{', '.join(clash)} belong to the sensitivity call itself.",
                          "Give roles, estimand, alpha and seed on the sensitivity call; they are passed on.",
                          code="E-METHOD-005")
    return dict(inner_params)


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The panel's headline numbers (those that apply), and the explain-away multiples."""
    out = {k: report[k] for k in SUMMARY_KEYS if k in report}
    found = report.get("explain_away") or {}
    if found:
        out.update(explain_away_covariate=found["covariate"], explain_away_multiplier=found["multiplier_zero"],
                   explain_away_multiplier_significance=found["multiplier_significance"])
    return out


def example(seed: int = 0) -> registry.Example:
    """The confounded example (effect 2) through regression adjustment, whose panel has every regression part."""
    return examples.confounded(seed, of="regression_adjustment")


@register("sensitivity", family="sensitivity", design="wrapper", estimands=("ate", "att", "atc", "late"),
          requires=Requirements(roles=("outcome", "treatment"), treatment="any"),
          title="Sensitivity panel (wraps another method)",
          summary="Runs a chosen method and asks how strong an unmeasured confounder would have to be to explain "
                  "its estimate away: E-value, robustness value with benchmarks and the bias contour "
                  "(regression), Rosenbaum bounds (matching), in one paragraph.",
          inference="the wrapped method's own standard error (the panel does not change it)",
          params={
              "of": "The method whose estimate the panel examines.",
              "inner_params": "Parameters passed on to the wrapped method (a dictionary; API only).",
          },
          battery=False, example=example, transparency=1.0, cost_exponent=1.0,
          references=(
              # PySensemakr on statsmodels' additive OLS of the example (the script prints both numbers)
              Reference("diagnostics.sensitivity_summary.robustness_value", 0.5910276781869817, 1e-9,
                        data="example:0", params={"of": "regression_adjustment"},
                        source="PySensemakr 0.0.8 robustness_value of statsmodels 0.15 OLS outcome ~ treated + x1 + "
                               "x2 + C(region) on the registered example (seed 0)",
                        script="tests/estimators/references/scripts/sensitivity_example_sensemakr.py",
                        why_tolerance="the same closed form of the same t statistic and dof: 1e-9"),
              Reference("diagnostics.sensitivity_summary.robustness_value_alpha", 0.5597188499073675, 1e-9,
                        data="example:0", params={"of": "regression_adjustment"},
                        source="PySensemakr 0.0.8 robustness_value(alpha=0.05) of the same fit",
                        script="tests/estimators/references/scripts/sensitivity_example_sensemakr.py",
                        why_tolerance="the same closed form of the same t statistic and dof: 1e-9"),
          ))
def sensitivity(data: Dataset, roles: Roles, *, estimand: str = "ate", alpha: float = 0.05, seed: int = 0,
                of: str | None = None, inner_params: dict[str, Any] | None = None) -> EffectResult:
    """The wrapped method's estimate with the full sensitivity panel (see the module docstring).

    The estimand is passed on unchanged; it defaults to the ATE, so a method that
    estimates only the ATT or LATE (did, iv ...) needs it named.
    """
    params = check_wrapper_params(of, inner_params)
    spec = registry.get(str(of))
    if estimand not in spec.estimands:
        raise MethodError(f"The sensitivity panel of '{spec.id}' cannot examine the {estimand.upper()}: "
                          f"'{spec.id}' estimates {', '.join(e.upper() for e in spec.estimands)}.",
                          f"Pass estimand=\"{spec.estimands[0]}\" (--estimand {spec.estimands[0]}).",
                          code="E-METHOD-003")
    from ..api import estimate  # at call time: api imports the registry, which discovers this module

    inner = estimate(spec.id, data, roles=roles, estimand=estimand, alpha=alpha, seed=seed, with_gates=False,
                     with_sensitivity=False, **params)
    inner_roles = dataclasses.replace(Roles.from_dict(inner.roles), extra=roles.extra)
    report = sensitivity_report(inner, data, inner_roles, full=True)
    diagnostics = {**inner.diagnostics, "sensitivity_of": spec.id, "sensitivity_summary": summary(report)}
    se_method = f"{spec.id}'s own: {inner.se_method}" if inner.se_method else f"{spec.id}'s own"
    warnings = list(inner.warnings)
    if "error" in report:
        warnings.append(report["error"])
    if not math.isfinite(inner.estimate):
        warnings.append("The wrapped method gave no finite estimate, so there is nothing to examine.")
    return inner.replace(method="sensitivity", diagnostics=diagnostics, sensitivity=report, se_method=se_method,
                         warnings=tuple(warnings))
