"""The Causal Assurance Score (CAS): five 0-10 components and an overall score,
each computed from this analysis' data and diagnostics, for every design.

Formula (also in the README):

- validity = 10 x mean over the identification checks of 1 (pass), 0.5 (warn),
  0 (fail). The checks are every gate of the result except vif (collinearity
  is an interpretability matter), plus two support checks where no gate counts
  them: for panel designs without a treatment_variation gate, the smaller of
  the treated and comparison unit counts (pass >= 30, warn >= 10, as that
  gate); for interrupted time series, the shorter of the pre- and post-period
  (pass >= 12 points, warn >= 8; Wagner et al. 2002). No check at all: 0.
- precision = 10 x clip(1 - w s_T / (2 s_Y), 0, 1), w the width of the
  confidence interval (for a method without one, synthetic control, the width
  2 q of the placebo distribution, q the 1 - alpha quantile of the donors'
  absolute average post-period gaps); s_T the treatment SD for a continuous
  treatment (1 otherwise: the effect of a one-SD change); s_Y the outcome's
  spread on the design's own scale: the outcome SD for cross-sectional,
  threshold and instrument designs; for panel designs the residual SD of the
  untreated unit-periods after removing unit and period means (the variation a
  panel design works with); for a single time series the SD of the pre-period
  around its linear trend. An interval two spreads wide scores 0.
- robustness = 10 x mean of the sensitivity evidence available, each 0..1:
  E-value of the CI bound nearest the null, clip((E - 1) / 2) (E >= 3: 1);
  robustness value at alpha, clip(RV / 0.3); the share of other estimates of
  the same estimand and design whose interval contains this estimate; and a
  design check: iv, the weak-instrument-robust Anderson-Rubin test of no
  effect, clip(log10(alpha / p) / 2) (0 for an unbounded set); rd,
  1 - clip(|conventional - bias-corrected| / robust SE); synthetic control,
  leave-one-donor-out, clip(smallest gap / gap); interrupted time series,
  fake interruptions at every pre-period date with at least a quarter of the
  pre-period on each side, 1 - mean clip(|fake level change| / |estimate|);
  when they were run, the share of refuters passed (cqox_core.refuters) and
  the share of specifications of the specification curve that agree with
  the estimate in sign and significance (cqox_core.specification_curve).
  None available: 0. (The refutation gate is therefore left out of validity:
  it is robustness evidence, counted once, here.)
- interpretability = 10 x transparency(method) x f(VIF), with transparency a
  registry attribute (1 for regression, 0.7 for cross-fitted AIPW) and
  f = 1 (max VIF < 10, or no VIF reported: no covariates), 0.8 (< 30), 0.6
  otherwise.
- scalability = 10 / (1 + sqrt(S / 1e8)) with the size index
  S = n^b x (1 + k): n the rows used, b the method's registered cost exponent,
  k the number of covariates and instruments. Deterministic: the same input
  gives the same score (no clock). S = 1e8 (about 25 million rows with three
  covariates at linear cost) scores 5.
- overall = 0.35 validity + 0.20 precision + 0.25 robustness
  + 0.10 interpretability + 0.10 scalability.

``CAS.inputs`` holds, per component, the numbers it was computed from.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .results import EffectResult, to_jsonable

WEIGHTS = {"validity": 0.35, "precision": 0.20, "robustness": 0.25, "interpretability": 0.10,
           "scalability": 0.10}
STATUS_SCORE = {"pass": 1.0, "warn": 0.5, "fail": 0.0}
#: Gates that say nothing about identification (collinearity does not bias the effect).
NOT_VALIDITY = frozenset({"vif", "refutation"})  # refutation: counted under robustness
#: Treated / comparison units: the treatment_variation gate's bars, applied to units of a panel.
UNITS_PASS, UNITS_WARN = 30, 10
#: Points per segment of an interrupted time series: 12 recommended (Wagner et al. 2002), 8 at least.
PERIODS_PASS, PERIODS_WARN = 12, 8
#: The size index at which scalability is 5.
SIZE_HALF = 1e8
#: A robustness value at alpha of 30% (a confounder explaining 30% of both) earns full credit.
RV_FULL = 0.30

#: (value 0..10, explanation, the numbers it was computed from)
Part = tuple[float, str, dict[str, Any]]


@dataclass(frozen=True)
class CAS:
    validity: float
    precision: float
    robustness: float
    interpretability: float
    scalability: float
    overall: float
    explanation: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def components(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in WEIGHTS}

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({**self.components(), "overall": self.overall, "explanation": self.explanation,
                            "inputs": self.inputs})


def _clip01(x: float) -> float:
    return 0.0 if not math.isfinite(x) else max(0.0, min(1.0, x))


def _num(x: float) -> str:
    return f"{x:.3g}"


def _value(x: Any) -> float:
    """x as a float; NaN when it is missing or not a number."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _finite(*xs: Any) -> bool:
    return all(math.isfinite(_value(x)) for x in xs)


# -- which results are comparable ---------------------------------------------------------------------

def design_of(result: EffectResult) -> str | None:
    """The registry design of the result's method (a wrapper takes the design of the method it wraps)."""
    from . import registry
    from .errors import CQOxError

    try:
        spec = registry.get(result.method)
        inner = (result.params or {}).get("of") if spec.design == "wrapper" else None
        return registry.get(str(inner)).design if inner else spec.design
    except CQOxError:
        return None


def comparable(result: EffectResult, others: Sequence[EffectResult]) -> list[EffectResult]:
    """The other results that estimate the same estimand with the same design."""
    estimand, design = str(result.estimand).lower(), design_of(result)
    return [o for o in others if o is not result
            and str(o.estimand).lower() == estimand and design_of(o) == design]


# -- validity ----------------------------------------------------------------------------------------------

def _status(value: float, passes: float, warns: float) -> str:
    return "pass" if value >= passes else ("warn" if value >= warns else "fail")


def _unit_counts(d: dict[str, Any]) -> tuple[int, int, str] | None:
    """Treated and comparison units of a panel result, and what the comparison units are."""
    if "n_treated_units" in d and "n_units" in d:
        treated = int(d["n_treated_units"])
        return treated, int(d["n_units"]) - treated, "comparison"
    cohorts = d.get("cohort_sizes")
    if isinstance(cohorts, dict) and cohorts and "n_units" in d:
        treated = sum(int(v) for v in cohorts.values())
        if str(d.get("control_group", "")).startswith("not"):
            first = min(cohorts, key=lambda g: float(g) if _finite(g) else math.inf)
            return treated, int(d["n_units"]) - int(cohorts[first]), "still untreated when the first cohort starts"
        if d.get("n_never_treated") is not None:
            return treated, int(d["n_never_treated"]), "never-treated"
    return None


def _support_checks(result: EffectResult, design: str | None) -> list[tuple[str, str, float, str]]:
    """(name, status, metric, description) of the support checks no gate of this result counts."""
    d = result.diagnostics
    names = {g.name for g in result.gates}
    out = []
    counts = _unit_counts(d) if design == "panel" and "treatment_variation" not in names else None
    if counts:
        treated, comparison, kind = counts
        smaller = min(treated, comparison)
        out.append(("units", _status(smaller, UNITS_PASS, UNITS_WARN), float(smaller),
                    f"{treated} treated and {comparison} {kind} units"))
    if design == "time_series" and _finite(d.get("n_pre"), d.get("n_post")):
        shorter = min(int(d["n_pre"]), int(d["n_post"]))
        out.append(("periods", _status(shorter, PERIODS_PASS, PERIODS_WARN), float(shorter),
                    f"{int(d['n_pre'])} points before and {int(d['n_post'])} after the interruption"))
    return out


def validity(result: EffectResult, design: str | None = None) -> Part:
    design = design if design is not None else design_of(result)
    checks: list[tuple[str, str, float, str]] = [(g.name, g.status, _value(g.metric), g.name)
                                                 for g in result.gates if g.name not in NOT_VALIDITY]
    checks += _support_checks(result, design)
    if not checks:
        return 0.0, "No identification check was computed for this result, so validity is not credited.", {}
    value = 10 * sum(STATUS_SCORE[c[1]] for c in checks) / len(checks)
    shown = "; ".join(desc + (f" {_num(m)}" if math.isfinite(m) and desc == name else "") + f" ({status})"
                      for name, status, m, desc in checks)
    passed = sum(c[1] == "pass" for c in checks)
    text = f"{passed} of {len(checks)} identification checks pass: {shown}."
    if design == "panel" and not names_in(result, {"pre_trends", "pre_fit", "placebo"}):
        text += " Parallel trends is assumed here, not tested (event_study and staggered_did test it)."
    inputs: dict[str, Any] = {name: m if math.isfinite(m) else None for name, _, m, _ in checks}
    inputs.update({f"{name}_status": status for name, status, _, _ in checks})
    return value, text, inputs


def names_in(result: EffectResult, names: set[str]) -> bool:
    return any(g.name in names for g in result.gates)


# -- precision -------------------------------------------------------------------------------------------

def _frame(data: Any) -> pd.DataFrame | None:
    if data is None:
        return None
    if isinstance(data, pd.DataFrame):
        return data
    frame = getattr(data, "frame", None)
    return frame if isinstance(frame, pd.DataFrame) else None


def _column(frame: pd.DataFrame | None, name: Any) -> np.ndarray | None:
    if frame is None or not isinstance(name, str) or name not in frame.columns:
        return None
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


def _untreated(frame: pd.DataFrame, roles: dict[str, Any]) -> np.ndarray:
    """Rows not in treatment (all rows when the treatment column cannot be read as 0/1)."""
    t = roles.get("treatment")
    if not isinstance(t, str) or t not in frame.columns:
        return np.ones(len(frame), dtype=bool)
    if roles.get("treated_value") is not None:
        return (frame[t].astype(str) != str(roles["treated_value"])).to_numpy()
    d = pd.to_numeric(frame[t], errors="coerce").to_numpy(dtype=float)
    mask = d == 0
    return mask if mask.any() else np.ones(len(frame), dtype=bool)


def _panel_within_sd(frame: pd.DataFrame, roles: dict[str, Any]) -> float:
    """The panel designs' outcome scale, the same one their E-value uses (sensitivity.panel_outcome_scale)."""
    from .data import as_dataset
    from .errors import CQOxError
    from .roles import Roles
    from .sensitivity import panel_outcome_scale

    try:
        return float(panel_outcome_scale(as_dataset(frame), Roles.from_dict(roles)).within_sd)
    except (CQOxError, ValueError, KeyError, TypeError, ArithmeticError):
        return math.nan


def trend_sd(y: np.ndarray) -> float:
    """SD of a series around its least-squares line (2 degrees of freedom used)."""
    y = y[np.isfinite(y)]
    if y.size < 4:
        return math.nan
    x = np.arange(y.size, dtype=float)
    X = np.column_stack([np.ones_like(x), x])
    resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    return math.sqrt(float(resid @ resid) / (y.size - 2))


@dataclass(frozen=True)
class Scale:
    """The outcome's spread on the design's scale, and what it is (a noun phrase)."""

    value: float
    text: str


def _series_pre(result: EffectResult, frame: pd.DataFrame | None) -> np.ndarray | None:
    series = result.diagnostics.get("series")
    if isinstance(series, dict) and "observed" in series and "treated" in series:
        observed = np.asarray([math.nan if v is None else v for v in series["observed"]], dtype=float)
        return observed[np.asarray(series["treated"], dtype=float) == 0]
    roles = result.roles or {}
    y = _column(frame, roles.get("outcome"))
    if frame is None or y is None or not isinstance(roles.get("time"), str) or roles["time"] not in frame.columns:
        return None
    order = np.argsort(frame[roles["time"]].to_numpy(), kind="stable")
    return y[order][_untreated(frame, roles)[order]]


def outcome_scale(result: EffectResult, data: Any = None, design: str | None = None) -> Scale | None:
    """The outcome's spread that a precision of this design is judged against (see the module doc)."""
    frame = _frame(data)
    roles = result.roles or {}
    design = design if design is not None else design_of(result)
    if design == "time_series":
        pre = _series_pre(result, frame)
        if pre is not None and trend_sd(pre) > 0:
            return Scale(trend_sd(pre), f"SD of the {pre.size} pre-period points around their linear trend")
    if design == "panel" and frame is not None:
        sd = _panel_within_sd(frame, roles)
        if sd > 0:
            return Scale(sd, "residual SD of the untreated unit-periods after removing unit and period means")
    sd = _value(result.diagnostics.get("outcome_sd"))
    if sd > 0:
        what = "pooled outcome SD" if design in ("panel", "time_series") else "outcome SD"
        return Scale(sd, what)
    y = _column(frame, roles.get("outcome"))
    if y is not None and np.isfinite(y).sum() > 1 and float(np.nanstd(y, ddof=1)) > 0:
        return Scale(float(np.nanstd(y, ddof=1)), "outcome SD")
    return None


def _placebo_width(result: EffectResult) -> tuple[float, str] | None:
    """2 q: q the 1 - alpha quantile of the placebo units' absolute average post-period gaps."""
    d = result.diagnostics
    gaps = (d.get("placebo_gaps") or {}).get("gaps") if isinstance(d.get("placebo_gaps"), dict) else None
    n_post = _value(d.get("n_post_periods"))
    if not isinstance(gaps, dict) or not n_post >= 1:
        return None
    k = int(n_post)
    effects = [float(np.nanmean(np.asarray([math.nan if v is None else v for v in g[-k:]], dtype=float)))
               for g in gaps.values() if len(g) >= k]
    effects = [e for e in effects if math.isfinite(e)]
    if len(effects) < 5:  # fewer placebos than this give no usable spread
        return None
    q = float(np.quantile(np.abs(effects), 1 - result.alpha))
    return 2 * q, (f"No sampling interval; the {len(effects)} placebo units' average post-period gaps reach "
                   f"±{_num(q)} ({1 - result.alpha:.0%} quantile of their size), an interval {_num(2 * q)} wide")


def _treatment_sd(result: EffectResult, frame: pd.DataFrame | None) -> float | None:
    t = _column(frame, (result.roles or {}).get("treatment"))
    if t is None or np.isfinite(t).sum() < 2:
        return None
    sd = float(np.nanstd(t, ddof=1))
    return sd if sd > 0 else None


def precision(result: EffectResult, data: Any = None, design: str | None = None) -> Part:
    level = f"{1 - result.alpha:.0%}"
    if _finite(result.ci_lower, result.ci_upper):
        width = float(result.ci_upper - result.ci_lower)
        what, source = f"The {level} confidence interval is {_num(width)} wide", "ci"
    elif (placebo := _placebo_width(result)) is not None:
        (width, what), source = placebo, "placebo"
    else:
        return 0.0, "No confidence interval and no placebo distribution, so precision cannot be credited.", {}
    scale = outcome_scale(result, data, design)
    if scale is None:
        return 0.0, (f"{what}, but the outcome's spread is not available to judge it against (the data were not "
                     "passed to the score), so precision cannot be credited."), {"width": width, "source": source}
    inputs: dict[str, Any] = {"width": width, "scale": scale.value, "source": source}
    per = 1.0
    if result.diagnostics.get("treatment_kind") == "continuous":
        t_sd = _treatment_sd(result, _frame(data))
        if t_sd is None:
            return 0.0, (f"{what} per unit of a continuous treatment, whose spread is not available to put it on "
                         "the outcome's scale, so precision cannot be credited."), inputs
        per, inputs["treatment_sd"] = t_sd, t_sd
        what += f" per unit of treatment, {_num(width * t_sd)} for a change of one treatment SD ({_num(t_sd)})"
    ratio = width * per / scale.value
    value = 10 * _clip01(1 - ratio / 2)
    return value, (f"{what}: {ratio:.2f} times the {scale.text} ({_num(scale.value)}); an interval twice that "
                   "spread wide scores 0."), inputs


# -- robustness -----------------------------------------------------------------------------------------

#: (score 0..1, sentence, inputs)
Evidence = tuple[float, str, dict[str, Any]]


def _e_value(result: EffectResult) -> Evidence | None:
    e = _value((result.sensitivity or {}).get("e_value_ci"))
    if not math.isfinite(e):
        return None
    return _clip01((e - 1) / 2), f"E-value of the CI bound {e:.2f}", {"e_value_ci": e}


def _robustness_value(result: EffectResult) -> Evidence | None:
    rv = _value((result.sensitivity or {}).get("robustness_value_alpha"))
    if not math.isfinite(rv):
        return None
    return (_clip01(rv / RV_FULL), f"a confounder explaining {rv:.0%} of the residual variance of both treatment and "
                                   "outcome would make it insignificant (robustness value)",
            {"robustness_value_alpha": rv})


def _agreement(result: EffectResult, others: Sequence[EffectResult]) -> Evidence | None:
    peers = [o for o in comparable(result, others) if _finite(o.ci_lower, o.ci_upper)]
    if not peers:
        return None
    share = sum(o.ci_lower <= result.estimate <= o.ci_upper for o in peers) / len(peers)
    return (share, f"{share:.0%} of the {len(peers)} other {str(result.estimand).upper()} estimates of the same "
                   "design contain this estimate in their interval", {"agreement": share, "peers": len(peers)})


def _alternative_estimators(result: EffectResult) -> Evidence | None:
    """Methods that compute several estimators of their headline quantity (ope: IPS, SNIPS, DM beside DR;
    dose_response: the GPS contrast beside the DR one) report them in diagnostics["alternative_estimates"];
    the share lying inside the headline's interval is the evidence."""
    alternatives = result.diagnostics.get("alternative_estimates")
    if not isinstance(alternatives, dict) or not alternatives or not _finite(result.ci_lower, result.ci_upper):
        return None
    values = {k: _value(v) for k, v in alternatives.items() if math.isfinite(_value(v))}
    if not values:
        return None
    inside = [k for k, v in values.items() if result.ci_lower <= v <= result.ci_upper]
    share = len(inside) / len(values)
    half_width = (result.ci_upper - result.ci_lower) / 2
    gap = max(abs(v - result.estimate) for v in values.values()) / half_width if half_width > 0 else math.inf
    return (share, f"{len(inside)} of the method's {len(values)} other estimators of the same quantity "
                   f"({', '.join(values)}) lie inside its interval (the farthest is {gap:.2f} half-widths away)",
            {"alternatives_inside": share, "alternatives": len(values), "largest_gap_half_widths": gap})


def _mediator_confounding(result: EffectResult) -> Evidence | None:
    """mediation: the correlation rho of the mediator's and the outcome's errors at which the indirect
    effect vanishes (Imai, Keele & Yamamoto 2010); |rho| >= 0.5 earns full credit."""
    rho = _value(result.diagnostics.get("rho_at_zero"))
    if result.method != "mediation" or not math.isfinite(rho):
        return None
    return (_clip01(abs(rho) / 0.5), f"the indirect effect vanishes only if an unmeasured confounder of mediator and "
                                     f"outcome made their errors correlate by rho = {rho:.2f}", {"rho_at_zero": rho})


def _anderson_rubin(result: EffectResult) -> Evidence | None:
    d = result.diagnostics
    p = _value(d.get("ar_p_value_zero"))
    if not math.isfinite(p):
        return None
    p = max(p, 1e-300)
    if d.get("ar_set_kind") == "unbounded":
        return 0.0, "the weak-instrument-robust Anderson-Rubin confidence set is unbounded", {"ar_p_value_zero": p}
    verdict = "rejects" if p < result.alpha else "does not reject"
    return (_clip01(math.log10(result.alpha / p) / 2),
            f"the weak-instrument-robust Anderson-Rubin test {verdict} no effect (p = {p:.2g})", {"ar_p_value_zero": p})


def _bias_correction(result: EffectResult) -> Evidence | None:
    d = result.diagnostics
    conv, bc = _value(d.get("estimate_conventional")), _value(d.get("estimate_bias_corrected"))
    se = _value(d.get("std_error_robust"))
    if not (math.isfinite(conv) and math.isfinite(bc) and se > 0):
        return None
    shift = abs(conv - bc) / se
    return (_clip01(1 - shift), f"the bias correction of the local fit moves the estimate by {shift:.2f} robust "
                                "standard errors", {"bias_shift_se": shift})


def _leave_one_out(result: EffectResult) -> Evidence | None:
    loo = result.diagnostics.get("leave_one_out")
    fits = loo.get("fits") if isinstance(loo, dict) else None
    if not fits or not _finite(result.estimate) or result.estimate == 0:
        return None
    gaps = [(f.get("dropped"), float(f["average_gap"])) for f in fits if _finite(f.get("average_gap"))]
    if not gaps:
        return None
    s = math.copysign(1.0, result.estimate)
    dropped, smallest = min(gaps, key=lambda g: s * g[1])
    ratio = s * smallest / abs(result.estimate)
    return (_clip01(ratio), f"dropping any one of the {len(gaps)} weighted donors leaves at least {ratio:.0%} of the "
                            f"gap (smallest {_num(smallest)}, without donor {dropped})",
            {"leave_one_out_ratio": ratio})


def _placebo_in_time(result: EffectResult) -> Evidence | None:
    """Segmented fits with a fake interruption at each pre-period date (a quarter of the pre-period kept on
    each side), with the real fit's seasonal terms: how large are level changes where nothing happened?"""
    series = result.diagnostics.get("series")
    if not (isinstance(series, dict) and {"observed", "treated"} <= set(series)) or not _finite(result.estimate):
        return None
    from .estimators.its import segmented_design

    y_all = np.asarray([math.nan if v is None else v for v in series["observed"]], dtype=float)
    pre = np.asarray(series["treated"], dtype=float) == 0
    try:
        times = np.asarray([float(t) for t in series.get("time", [])], dtype=float)[pre]
    except (TypeError, ValueError):
        times = np.arange(pre.sum(), dtype=float)
    if times.size != pre.sum():
        times = np.arange(pre.sum(), dtype=float)
    y = y_all[pre]
    n = y.size
    edge = max(4, n // 4)
    if n < 2 * edge + 1 or result.estimate == 0:
        return None
    params = result.params or {}
    levels = []
    for k in range(edge, n - edge + 1):
        X, _ = segmented_design(times, float(times[k]), params.get("season_period"),
                                int(params.get("season_harmonics") or 2))
        ok = np.isfinite(y)
        if X[ok].shape[0] <= X.shape[1]:
            continue
        levels.append(abs(float(np.linalg.lstsq(X[ok], y[ok], rcond=None)[0][2])))
    if not levels:
        return None
    ratios = [min(v / abs(result.estimate), 1.0) for v in levels]
    mean_ratio = float(np.mean(ratios))
    return (1 - mean_ratio, f"fake interruptions at {len(levels)} pre-period dates give level changes of "
                            f"{_num(float(np.mean(levels)))} on average ({mean_ratio:.0%} of the estimate; largest "
                            f"{_num(max(levels))})", {"placebo_in_time_ratio": mean_ratio, "placebo_dates": len(levels)})


def _refutation(result: EffectResult) -> Evidence | None:
    """The share of the refuters run that passed (diagnostics.refutation, cqox_core.refuters)."""
    report = result.diagnostics.get("refutation")
    if not isinstance(report, dict) or not math.isfinite(share := _value(report.get("share_passed"))):
        return None
    return (_clip01(share), f"{report.get('passed')} of {report.get('applicable')} refuters passed "
                            "(placebo treatment, random common cause, data subsets, dummy outcome)",
            {"refutation_share_passed": share})


def _specification_curve(result: EffectResult) -> Evidence | None:
    """The share of alternative specifications that agree in sign and significance (specification_curve)."""
    curve = result.diagnostics.get("specification_curve")
    if not isinstance(curve, dict) or not math.isfinite(share := _value(curve.get("share_agree"))):
        return None
    return (_clip01(share), f"{share:.0%} of {curve.get('n_alternatives')} alternative specifications reach its "
                            "conclusion in sign and significance (specification curve)",
            {"specification_curve_share_agree": share})


def robustness(result: EffectResult, others: Sequence[EffectResult] = ()) -> Part:
    found = [e for e in (_e_value(result), _robustness_value(result), _agreement(result, others),
                         _alternative_estimators(result), _mediator_confounding(result), _anderson_rubin(result),
                         _bias_correction(result), _leave_one_out(result), _placebo_in_time(result),
                         _refutation(result), _specification_curve(result))
             if e is not None]
    if not found:
        return 0.0, ("No sensitivity analysis, design check or comparable second estimate is available to judge "
                     "robustness, so it is not credited."), {}
    inputs: dict[str, Any] = {}
    for e in found:
        inputs.update(e[2])
    text = "; ".join(e[1] for e in found)
    return 10 * sum(e[0] for e in found) / len(found), text[0].upper() + text[1:] + ".", inputs


# -- interpretability and scalability ----------------------------------------------------------------

def interpretability(result: EffectResult, transparency: float) -> Part:
    max_vif = _value(result.diagnostics.get("max_vif"))
    if not math.isfinite(max_vif):
        return (10 * transparency, f"Method transparency {transparency:.2f} (a property of the method); this "
                                   "result has no collinearity measure (VIF), so no penalty.",
                {"transparency": transparency})
    factor = 1.0 if max_vif < 10 else (0.8 if max_vif < 30 else 0.6)
    return (10 * transparency * factor, f"Method transparency {transparency:.2f}, collinearity factor {factor:.1f} "
                                        f"(largest VIF {_num(max_vif)}).",
            {"transparency": transparency, "max_vif": max_vif})


def n_covariates(result: EffectResult) -> int:
    roles = result.roles or {}
    return sum(len(roles.get(k) or ()) for k in ("covariates", "instrument"))


def scalability(n_obs: int, cost_exponent: float, covariates: int = 0) -> Part:
    """10 / (1 + sqrt(S / 1e8)), S = n^b (1 + k): a deterministic function of the data size."""
    n = max(int(n_obs), 1)
    size = n ** cost_exponent * (1 + covariates)
    value = 10 / (1 + math.sqrt(size / SIZE_HALF))
    return value, (f"Size index n^b x (1 + covariates) = {n:,}^{cost_exponent:g} x {1 + covariates} = {size:.3g}; "
                   f"an index of {SIZE_HALF:.0e} (about 25 million rows with 3 covariates at linear cost) scores 5."), \
        {"n": n, "cost_exponent": cost_exponent, "covariates": covariates, "size_index": size}


def score(result: EffectResult, *, others: Sequence[EffectResult] = (), data: Any = None,
          elapsed_seconds: float | None = None) -> CAS:
    """The CAS of one result (``others``: the other methods of the same analysis; ``data``: the
    Dataset or frame it was estimated on, for the outcome's spread). ``elapsed_seconds`` is
    accepted for older callers and not used: the score never reads the clock."""
    from .errors import CQOxError
    from .registry import get

    try:
        spec = get(result.method) if result.method else None
    except CQOxError:
        spec = None
    design = design_of(result)
    parts = {
        "validity": validity(result, design),
        "precision": precision(result, data, design),
        "robustness": robustness(result, others),
        "interpretability": interpretability(result, spec.transparency if spec else 1.0),
        "scalability": scalability(result.n_obs, spec.cost_exponent if spec else 1.0, n_covariates(result)),
    }
    values = {k: round(v[0], 2) for k, v in parts.items()}
    overall = round(sum(WEIGHTS[k] * values[k] for k in WEIGHTS), 2)
    return CAS(**values, overall=overall, explanation={k: v[1] for k, v in parts.items()},
               inputs={k: v[2] for k, v in parts.items()})
