"""Gates: named checks of a result's diagnostics against stated thresholds.

Each gate reads a metric that the method computed from this data (never a
constant), compares it with a threshold and says, in plain language, what it
means and what to do next. Names are stable (CLI_CONTRACT.md).

| gate                  | metric                                   | pass      | warn      | fail   |
|-----------------------|------------------------------------------|-----------|-----------|--------|
| balance               | max |SMD| after adjustment               | < 0.10    | < 0.25    | ≥ 0.25 |
| overlap               | share of units in common support         | ≥ 0.90    | ≥ 0.80    | < 0.80 |
| matched_share         | share of target units matched            | ≥ 0.80    | ≥ 0.60    | < 0.60 |
| effective_sample_size | Kish ESS / n (worst arm)                  | ≥ 0.70    | ≥ 0.40    | < 0.40 |
| weight_ratio          | weight share of the top 1% (worst arm)   | < 0.20    | < 0.50    | ≥ 0.50 |
| vif                   | max variance inflation factor            | < 10      | otherwise | never  |
| separation            | propensity-score AUC                     | < 0.90    | < 0.99    | ≥ 0.99 |
| treatment_variation   | size of the smaller arm                  | ≥ 30      | ≥ 10      | < 10   |
| site_overlap          | share of target rows in study's range    | ≥ 0.90    | ≥ 0.80    | < 0.80 |
| refutation            | share of the refuters run that passed    | 1 (all)   | ≥ 0.50    | < 0.50 |

site_overlap (transport) reads ``site_overlap_share``: the share of target-population rows whose
estimated chance of belonging to the target (the sampling score) lies within the range seen among
the study's rows.

refutation reads ``diagnostics.refutation`` (cqox_core.refuters: placebo treatment, random common
cause, data subsets, dummy outcome), present only when the refuters were asked for.

weight_ratio keeps its name but reads ``top_weight_share`` (diagnostics.weights):
the share of an arm's total weight carried by its 1% heaviest units (a point of
the Lorenz curve; equal weights give 0.01). The old metric, the largest weight
over the mean weight, is the largest of n draws and grows with n by construction
(psm on well-overlapping simulated data: 9.8 at 1K rows, 24.7 at 100K, 47.2 at
1M, so a sound analysis began to warn); the share converges as n grows (0.091,
0.096, 0.096 there), so the gate reads the weights' shape, not the sample size.
In an arm of at most 100 units the top 1% is at most one unit and the share is
0.01 x max / mean, so there the gate is the old one (20 and 50 times the mean).

When a method reports ``propensity_converged=False`` (its logistic propensity
model did not converge, e.g. under separation) the separation gate fails
whatever the AUC, and the overlap gate, which would read the same unusable
score, is left out.

Quasi-experimental designs report these diagnostics, read by the gates below:

| gate            | diagnostic key            | pass        | warn        | fail     |
|-----------------|---------------------------|-------------|-------------|----------|
| weak_instrument | effective_f or first_stage_f | ≥ 10     | never       | < 10     |
| density_test    | density_test_p            | ≥ 0.05      | ≥ 0.01      | < 0.01   |
| pre_trends      | pre_trends_p              | ≥ 0.10      | ≥ 0.05      | < 0.05   |
| pre_fit         | pre_rmspe_relative        | < 0.05      | < 0.10      | ≥ 0.10   |
| placebo         | placebo_p                 | ≤ 0.10      | otherwise   | never    |
| autocorrelation | autocorrelation_p         | ≥ 0.05      | otherwise   | never    |
| effective_points | min effective_points_*    | ≥ 10        | otherwise   | never    |
| nuisance_fit    | nuisance.outcome_r2 (out-of-fold) | ≥ 0, AUC ≤ 0.95, log-loss ≤ constant's | otherwise | never |

nuisance_fit (dml, meta_learner, causal_forest) reads the out-of-fold quality of the
cross-fitted nuisance models: it warns when an outcome (or continuous-treatment) model
predicts held-out rows worse than their mean (R² < 0), when the propensity model's
log-loss is worse than always predicting the treated share (it overfits), or when its AUC
exceeds 0.95 (near-deterministic assignment: the weights explode long before the
separation gate fails at 0.99). An AUC near 0.5 is not a warning: it is what a randomised
assignment gives, the best case for these methods; the message says so instead.

effective_points (RD) counts cells, not rows (effective_points_left/right:
distinct running values within the bandwidth h on each side): with a running
variable in a few dozen values (age in months) the bandwidth can hold hundreds
of people but only five or six distinct values a side, and the local line is
then fitted through that many points. rd refuses only an unidentified fit
(fewer than p + 1 values), so this gate warns and never fails.

Balance after regression adjustment is not produced by the method (regression
models the imbalance rather than removing it), so for it the gate reads the
raw imbalance and can only warn: large raw differences mean the answer leans
on the outcome model's extrapolation.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from .diagnostics.balance import max_abs
from .results import EffectResult, Gate


def _status(value: float, pass_if: Callable[[float], bool], warn_if: Callable[[float], bool]) -> str:
    if pass_if(value):
        return "pass"
    return "warn" if warn_if(value) else "fail"


def _largest(table: dict[str, float]) -> tuple[str, float]:
    name, value = max(table.items(), key=lambda kv: abs(kv[1]) if kv[1] == kv[1] else -1)
    return name, abs(value)


def balance_gate(diag: dict[str, Any]) -> Gate | None:
    after = diag.get("smd_after")
    before = diag.get("smd_before")
    if not before:
        return None
    if after:
        worst_name, worst = _largest(after)
        status = _status(worst, lambda v: v < 0.10, lambda v: v < 0.25)
        k = len(after)
        if status == "pass":
            msg = (f"Treated and comparison groups look alike on all {k} covariate terms after adjustment "
                   f"(largest standardized difference {worst:.3f} < 0.10, was {max_abs(before):.3f}).")
            step = ""
        else:
            msg = (f"After adjustment the groups still differ on '{worst_name}' (standardized difference "
                   f"{worst:.3f}; 0.10 is the usual limit).")
            step = ("Add interactions or a flexible term for that covariate, tighten the caliper, or use a "
                    "doubly robust method (aipw) so the outcome model corrects the remaining imbalance.")
        return Gate("balance", status, worst, 0.10, msg, step)
    worst_name, worst = _largest(before)
    status = "pass" if worst < 0.10 else "warn"
    msg = (f"Before adjustment the largest standardized difference is {worst:.3f} ('{worst_name}'). "
           + ("The groups already look alike." if status == "pass" else
              "Regression adjusts for it by modelling the outcome, so the answer relies on that model "
              "being right where the groups do not overlap."))
    step = "" if status == "pass" else "Compare with matching or weighting estimates, which remove the imbalance."
    return Gate("balance", status, worst, 0.10, msg, step)


def _threshold_gate(name: str, diag: dict[str, Any], key: str, threshold: float, warn_at: float,
                    higher_is_better: bool, describe: Callable[[float], str], step: str) -> Gate | None:
    value = diag.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    value = float(value)
    if higher_is_better:
        status = _status(value, lambda v: v >= threshold, lambda v: v >= warn_at)
    else:
        status = _status(value, lambda v: v < threshold, lambda v: v < warn_at)
    return Gate(name, status, value, threshold, describe(value), "" if status == "pass" else step)


def evaluate_gates(result: EffectResult) -> list[Gate]:
    """All gates that apply to this result's diagnostics, in a stable order."""
    d = result.diagnostics
    gates: list[Gate | None] = [
        balance_gate(d),
        None if propensity_unfit(d) else _threshold_gate(
            "overlap", d, "common_support_share", 0.90, 0.80, True,
            lambda v: f"{v:.0%} of units have a propensity score inside the range both groups share "
                      "(90% or more is comfortable).",
            "Restrict the analysis to the common support (trimming), or report the effect for the "
            "overlap population; estimates outside it are extrapolation."),
        _threshold_gate(
            "matched_share", d, "matched_share", 0.80, 0.60, True,
            lambda v: f"{v:.0%} of the units to be matched found a comparable partner (80% or more is good).",
            "Widen the caliper, match with replacement, or note that the effect applies only to the "
            "matched units."),
        _threshold_gate(
            "effective_sample_size", d, "effective_sample_size_ratio", 0.70, 0.40, True,
            lambda v: f"After weighting, the data carry the information of {v:.0%} of the sample "
                      "(Kish effective sample size; 70% or more is good).",
            "A few units dominate the weights: trim extreme propensity scores or use overlap weights."),
        _threshold_gate(
            "weight_ratio", d, "top_weight_share", 0.20, 0.50, False,
            lambda v: f"The 1% of units with the largest weights carry {v:.1%} of their group's total weight "
                      "(with equal weights they would carry 1%; below 20% is good).",
            "Trim or truncate extreme weights (e.g. trim=0.05) and check the estimate barely moves."),
        _vif_gate(d),
        site_overlap_gate(d),
        separation_gate(d),
        _variation_gate(d),
        *design_gates(d),
        refutation_gate(d),
        nuisance_fit_gate(d),
    ]
    return [g for g in gates if g is not None]


def site_overlap_gate(d: dict[str, Any]) -> Gate | None:
    """Transport: how much of the target population resembles someone in the study (``site_overlap_share``)."""
    return _threshold_gate(
        "site_overlap", d, "site_overlap_share", 0.90, 0.80, True,
        lambda v: f"{v:.0%} of the target population has a counterpart in the study sample (its estimated chance "
                  "of belonging to the target lies within the range seen among study units; 90% or more is "
                  "comfortable).",
        "Restrict the target population to the covariate range the study covers, or report the effect for that "
        "part only; for the rest the transported effect is extrapolated by the outcome model.")


def propensity_unfit(d: dict[str, Any]) -> bool:
    """The method says its logistic propensity model did not converge (absent key: not a propensity method)."""
    return d.get("propensity_converged") is False


def separation_gate(d: dict[str, Any]) -> Gate | None:
    """Fails when the propensity model did not converge, else reads the AUC of the score.

    A fit that did not converge (nuisance.fit_logit: (quasi-)complete separation,
    or no convergence within the iteration limit) gives a score that estimates
    nothing, so neither its AUC nor its common support may pass a gate; the
    overlap gate is left out and this one fails.
    """
    step = ("Look for a covariate that almost decides treatment; drop it if it is an instrument or "
            "post-treatment, or restrict to the population where both groups exist.")
    if propensity_unfit(d):
        return Gate("separation", "fail", None, 0.99,
                    "The model of who gets treated could not be fitted: the covariates separate treated from "
                    "untreated units (almost) perfectly, so some units have no comparable counterpart and the "
                    "estimated propensity scores are not usable (the logistic fit did not converge).",
                    "Find the covariate or category that (almost) decides treatment, e.g. an eligibility rule "
                    "or a level in which everyone or no one is treated: remove it if it is an instrument or "
                    "post-treatment, merge rare categories, or restrict the data to units who could receive "
                    "either treatment.")
    return _threshold_gate(
        "separation", d, "propensity_auc", 0.90, 0.99, False,
        lambda v: f"The covariates predict who is treated with AUC {v:.2f} "
                  "(near 1 means treated and untreated barely overlap).", step)


def _vif_gate(d: dict[str, Any]) -> Gate | None:
    vif = d.get("vif")
    if not vif:
        return None
    name, worst = max(vif.items(), key=lambda kv: kv[1] if kv[1] == kv[1] else -1)
    worst = float(worst)
    if worst < 10:
        return Gate("vif", "pass", worst, 10.0,
                    f"No covariate is nearly a combination of the others (largest VIF {worst:.1f} < 10).")
    shown = "infinite (an exact combination)" if math.isinf(worst) else f"{worst:.1f}"
    return Gate("vif", "warn", worst, 10.0,
                f"'{name}' is nearly explained by the other covariates (VIF {shown}). This does not bias the "
                "effect, but that covariate's own coefficient is unstable.",
                "Drop one of the overlapping covariates if the model fails to converge or the estimate is "
                "unstable across methods.")


def _variation_gate(d: dict[str, Any]) -> Gate | None:
    if "n_treated" not in d or "n_control" not in d:
        return None
    smaller = min(int(d["n_treated"]), int(d["n_control"]))
    status = _status(smaller, lambda v: v >= 30, lambda v: v >= 10)
    msg = (f"{d['n_treated']} treated and {d['n_control']} untreated units were compared"
           + (" (enough in each group)." if status == "pass" else
              f"; the smaller group has only {smaller}, so a few units can swing the answer."))
    return Gate("treatment_variation", status, float(smaller), 30.0, msg,
                "" if status == "pass" else "Collect more data in the smaller group or widen the population.")


def design_gates(d: dict[str, Any]) -> list[Gate]:
    """Gates of the quasi-experimental designs (IV, RD, DiD, synthetic control, ITS)."""
    out: list[Gate | None] = []
    f_key = "effective_f" if d.get("effective_f") is not None else "first_stage_f"
    out.append(_threshold_gate(
        "weak_instrument", d, f_key, 10.0, 10.0, True,
        lambda v: f"The instrument moves the treatment with {'effective ' if f_key == 'effective_f' else ''}"
                  f"first-stage F = {v:.1f} (10 or more is the usual "
                  "bar; below it 2SLS is biased toward OLS and its intervals are too narrow).",
        "Use the Anderson-Rubin interval, which stays valid with weak instruments, or find a stronger "
        "instrument. Remember no test can show the instrument affects the outcome only through treatment."))
    out.append(_threshold_gate(
        "density_test", d, "density_test_p", 0.05, 0.01, True,
        lambda v: f"The number of units just below and just above the cutoff is consistent with no "
                  f"sorting (density test p = {v:.3f})." if v >= 0.05 else
                  f"Units bunch on one side of the cutoff (density test p = {v:.3f}): people may be "
                  "manipulating the running variable.",
        "Check whether the score can be influenced near the threshold; try a donut design that drops "
        "units closest to the cutoff."))
    out.append(_threshold_gate(
        "pre_trends", d, "pre_trends_p", 0.10, 0.05, True,
        lambda v: f"Before treatment, treated and comparison units moved in parallel (joint test of "
                  f"pre-period effects p = {v:.3f})." if v >= 0.10 else
                  f"Before treatment the groups already drifted apart (joint pre-trend test p = {v:.3f}).",
        "Add unit-specific trends or covariates, use a design with better-matched comparison units, or "
        "report the sensitivity of the estimate to trend violations."))
    out.append(_threshold_gate(
        "pre_fit", d, "pre_rmspe_relative", 0.05, 0.10, False,
        lambda v: f"Before treatment the synthetic comparison tracks the treated unit to within {v:.1%} "
                  "of its level (root mean squared prediction error).",
        "Add donors or predictors, or shorten the pre-period to the years that matter; a poor pre-period "
        "fit makes the post-period gap unreliable."))
    out.append(_threshold_gate(
        "placebo", d, "placebo_p", 0.10, 1.01, False,
        lambda v: f"Placebo runs that pretend other units were treated give an effect this large in "
                  f"{v:.0%} of cases" + (" (rare: the effect stands out)." if v <= 0.10 else
                                         " (common: the effect does not stand out from noise)."),
        "Treat the estimate as suggestive; more donors or a longer post-period sharpen the placebo test."))
    out.append(_threshold_gate(
        "autocorrelation", d, "autocorrelation_p", 0.05, -1.0, True,
        lambda v: f"Residuals show no strong autocorrelation (Ljung-Box p = {v:.3f})." if v >= 0.05 else
                  f"Residuals are autocorrelated (Ljung-Box p = {v:.3f}); Newey-West standard errors "
                  "account for it, but check the lag length and seasonality.",
        "Add seasonal terms or increase the HAC lag length."))
    out.append(effective_points_gate(d))
    return [g for g in out if g is not None]


def effective_points_gate(d: dict[str, Any]) -> Gate | None:
    """RD: distinct running-variable values inside the bandwidth on each side (warn below 10)."""
    left, right = d.get("effective_points_left"), d.get("effective_points_right")
    if left is None or right is None:
        return None
    fewest = min(int(left), int(right))
    side = "below" if int(left) <= int(right) else "above"
    if fewest >= 10:
        return Gate("effective_points", "pass", float(fewest), 10.0,
                    f"The local fits use {left} distinct values of the running variable below the cutoff and "
                    f"{right} above it (10 or more a side is comfortable).")
    return Gate("effective_points", "warn", float(fewest), 10.0,
                f"Only {fewest} distinct values of the running variable lie within the bandwidth {side} the "
                f"cutoff ({left} below, {right} above), however many rows they hold: the local fit on that side "
                "rests on that many points, so the estimate leans on its fitted shape holding across whole cells "
                "(fewer than 10 distinct values a side).",
                "Check that the estimate holds at a wider and a narrower bandwidth (--param h=VALUE); with a "
                "running variable this coarse, compare honest intervals for a discrete score (Kolesar & Rothe "
                "2018) or a local-randomization analysis of the cells next to the cutoff.")


def refutation_gate(d: dict[str, Any]) -> Gate | None:
    """The refuters that were run (cqox_core.refuters): pass when all passed, warn when at least half did."""
    report = d.get("refutation")
    if not isinstance(report, dict) or not report.get("applicable"):
        return None
    run = [r for r in report.get("refuters", []) if r.get("status") != "not_applicable"]
    passed = [r for r in run if r.get("status") == "pass"]
    share = len(passed) / len(run)
    status = _status(share, lambda v: v >= 1.0, lambda v: v >= 0.5)
    failed = [r["title"].lower() for r in run if r.get("status") != "pass"]
    msg = (f"The estimate survived all {len(run)} refuters (placebo treatment, noise covariate, subsets, noise "
           "outcome, where they apply): it behaves as a real effect should." if status == "pass" else
           f"{len(passed)} of {len(run)} refuters passed; failed: {', '.join(failed)}. "
           + " ".join(r["text"] for r in run if r.get("status") != "pass"))
    step = ("" if status == "pass" else "Read each failed refuter's sentence: a failed placebo or dummy outcome points "
            "to intervals that are too narrow, a failed subset or noise covariate to an estimate a few rows or the "
            "adjustment set drive. Compare with other estimators and the specification curve.")
    return Gate("refutation", status, share, 1.0, msg, step)


def nuisance_fit_gate(d: dict[str, Any]) -> Gate | None:
    """Out-of-fold quality of the cross-fitted nuisance models (``diagnostics["nuisance"]``); warns only."""
    nuis = d.get("nuisance")
    if not nuis:
        return None
    r2, auc = nuis.get("outcome_r2"), nuis.get("propensity_auc")
    loss, constant = nuis.get("propensity_log_loss"), nuis.get("constant_log_loss")
    ok = _present
    problems = []
    if ok(r2) and r2 < 0:
        problems.append(f"the outcome model predicts held-out rows worse than their average does (R² {r2:.2f})")
    for name, value in (nuis.get("treatment_model_r2") or {}).items():
        if ok(value) and value < 0:
            problems.append(f"the {name} model predicts held-out rows worse than their average (R² {value:.2f})")
    if ok(loss) and ok(constant) and loss > constant:
        problems.append(f"the propensity model's held-out log-loss {loss:.3f} is worse than guessing the treated "
                        f"share for everyone ({constant:.3f}): it overfits")
    if ok(auc) and auc > 0.95:
        problems.append(f"the covariates predict treatment almost perfectly (held-out AUC {auc:.2f} > 0.95), so "
                        "a few units carry very large weights")
    fits = [f"outcome R² {r2:.2f}" if ok(r2) else "", f"propensity AUC {auc:.2f}" if ok(auc) else ""]
    summary = " (" + ", ".join(f for f in fits if f) + ")" if any(fits) else ""
    if problems:
        return Gate("nuisance_fit", "warn", r2 if ok(r2) else None, 0.0,
                    "On rows they did not see, " + "; ".join(problems) + ".",
                    "Try a more flexible learner (gbm or forest) or a simpler one (linear) and check the estimate "
                    "barely moves; drop covariates that almost decide treatment.")
    note = (" Treatment is barely predictable from the covariates, as in a randomised assignment."
            if ok(auc) and auc < 0.55 else "")
    return Gate("nuisance_fit", "pass", r2 if ok(r2) else None, 0.0,
                f"The models fitted along the way predict rows they did not see reasonably{summary}." + note)


def _present(value: Any) -> bool:
    return value is not None and value == value  # not missing, not NaN
