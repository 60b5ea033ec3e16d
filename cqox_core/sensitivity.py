"""Sensitivity to unmeasured confounding, attached to every estimate.

Two complementary answers to "how strong would a hidden confounder have to be
to explain this away?":

* the E-value (VanderWeele & Ding 2017, Ann Intern Med 167:268) for any
  average effect of a binary treatment, on the risk-ratio scale (on panel
  designs, on the scale the design compares: see ``panel_outcome_scale``);
* the robustness value and benchmark bounds (Cinelli & Hazlett 2020, JRSS-B
  82:39) for regression adjustment, on the partial-R² scale, computed from the
  additive OLS fit Y ~ 1 + T + X (with a many-level covariate's fixed effects
  absorbed when it has one: the partial R² of T after them, t² / (t² + dof)
  with dof = n - k - the number of fixed effects, as the model with dummies),
  with the bias contour (the adjusted estimate over a grid of the partial R²
  of a hypothetical confounder with the treatment and with the outcome) and the
  multiple of the strongest measured covariate a confounder would need to be
  to explain the effect away;
* Rosenbaum's Γ bounds (Rosenbaum 2002, Observational Studies, ch. 4) for
  matched designs (psm): the largest odds ratio of hidden bias in treatment
  assignment at which the one-sided signed-rank (and sign) test of the
  matched differences stays significant;

and one plain paragraph saying all of it (``sensitivity_text``).

Everything below is a small pure function over numbers or arrays;
``sensitivity_report`` assembles them for one result and ``attach_sensitivity``
stores that report on the result without ever failing the estimate.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from scipy import stats

from .data import Dataset
from .errors import CQOxError
from .inference import ols
from .prep import prepare
from .results import EffectResult
from .roles import Roles

#: Estimands that are an average effect of a binary treatment (E-value applies).
AVERAGE_EFFECT_ESTIMANDS = frozenset({"ate", "att", "atc"})
#: log RR ~= 0.91 d: Chinn (2000, Stat Med 19:3127) gives log OR ~= (pi/sqrt 3) d = 1.81 d and
#: VanderWeele (2017) takes RR ~= sqrt(OR) for a common outcome; VanderWeele & Ding 2017 use exp(0.91 d).
SMD_LOG_RR_FACTOR = 0.91
#: A confounder 1, 2 and 3 times as strong as an observed covariate (Cinelli & Hazlett 2020; sensemakr kd = 1:3).
BENCHMARK_MULTIPLIERS = (1.0, 2.0, 3.0)
MAX_BENCHMARKS = 5

EVALUE_SOURCE = "VanderWeele & Ding (2017), Ann Intern Med 167:268"
RV_SOURCE = "Cinelli & Hazlett (2020), JRSS-B 82:39"


# --------------------------------------------------------------------------
# E-value (VanderWeele & Ding 2017)
# --------------------------------------------------------------------------

def e_value_rr(rr: float) -> float:
    """E-value of a risk ratio: RR + sqrt(RR (RR - 1)), with RR replaced by 1/RR below 1.

    VanderWeele & Ding (2017), the E-value formula of the main text: the minimum
    risk ratio a confounder must have with both treatment and outcome to move
    the observed RR to 1. NaN for a risk ratio that is not a positive number.
    """
    if math.isnan(rr) or rr <= 0:
        return math.nan
    if math.isinf(rr):
        return math.inf
    rr = 1.0 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1.0))


def e_value_ci(rr_lower: float, rr_upper: float) -> float:
    """E-value of the confidence limit closest to RR = 1; 1 when the interval includes 1.

    VanderWeele & Ding (2017): only the limit nearer the null is reported, and
    an interval that already contains the null needs no confounding (E = 1).
    """
    if rr_lower > 1:
        return e_value_rr(rr_lower)
    if rr_upper < 1:
        return e_value_rr(rr_upper)
    if rr_lower <= 1 <= rr_upper:
        return 1.0
    return math.nan


def rr_from_risk_difference(difference: float, p0: float) -> float:
    """Risk ratio (p0 + RD) / p0 from a risk difference and the untreated risk p0.

    NaN when p0 is not a positive risk or the implied treated risk leaves (0, 1].
    """
    p1 = p0 + difference
    if not (0 < p0 <= 1) or not (0 < p1 <= 1):
        return math.nan
    return p1 / p0


def rr_from_smd(d: float) -> float:
    """Approximate risk ratio exp(0.91 d) from a standardized mean difference d.

    VanderWeele & Ding (2017) conversion for continuous outcomes (Chinn 2000).
    """
    return math.exp(SMD_LOG_RR_FACTOR * d)


def is_binary_outcome(y: np.ndarray) -> bool:
    """Outcome values all in {0, 1} (both present): risks, so a risk ratio is defined."""
    values = np.unique(y[np.isfinite(y)])
    return values.size == 2 and set(values.tolist()) == {0.0, 1.0}


def risk_ratio_conversion(estimate: float, y: np.ndarray, t: np.ndarray) -> tuple[Callable[[float], float], str]:
    """How an effect on the outcome's scale becomes a risk ratio, and that rule in words."""
    if is_binary_outcome(y):
        p0 = float(np.mean(y[t == 0]))
        rr = rr_from_risk_difference(estimate, p0)
        text = (f"risk difference: RR = (p0 + estimate) / p0, p0 = {p0:.4g} (outcome rate of the untreated rows) "
                f"= ({p0:.4g} + {estimate:.4g}) / {p0:.4g} = {rr:.4g}")
        if not p0 > 0:
            text += "; no untreated row has the outcome (p0 = 0), so no risk ratio (and no E-value) is defined"
        elif math.isnan(rr):
            text += ("; the implied treated risk p0 + estimate lies outside (0, 1], so no risk ratio "
                     "(and no E-value) is defined")
        return (lambda effect: rr_from_risk_difference(effect, p0)), text
    sd = float(np.std(y, ddof=1))
    if not sd > 0:
        return (lambda effect: math.nan), "smd: the outcome does not vary, so it cannot be standardized"
    d = estimate / sd
    text = (f"smd: RR = exp(0.91 d), d = estimate / SD(Y) = {estimate:.4g} / {sd:.4g} = {d:.4g}, "
            f"RR = {rr_from_smd(d):.4g} (VanderWeele & Ding 2017; Chinn 2000)")
    return (lambda effect: rr_from_smd(effect / sd)), text


def ci_e_value(ci_lower: float, ci_upper: float, to_rr: Callable[[float], float]) -> float:
    """E-value of the interval, read on the effect's own scale (no effect = 0) then converted.

    Deciding "includes no effect" before converting keeps a far limit whose
    risk ratio is undefined (e.g. a treated risk above 1) from mattering.
    """
    if not (math.isfinite(ci_lower) and math.isfinite(ci_upper)):
        return math.nan
    if ci_lower <= 0 <= ci_upper:
        return 1.0
    nearest = ci_lower if ci_lower > 0 else ci_upper
    return e_value_rr(to_rr(nearest))


def e_value_text(e_value: float, e_value_ci: float, level: int) -> str:
    """The E-values in plain language (the statistic after the sentence)."""
    if not math.isfinite(e_value):
        return "No E-value: the estimate could not be put on the risk-ratio scale (see e_value_conversion)."
    if e_value <= 1.0:
        return "The estimate is exactly no effect, so there is nothing for a hidden confounder to explain away."
    head = (f"An unmeasured confounder would need to be associated with both the treatment and the outcome "
            f"by a risk ratio of {e_value:.2f} each, above and beyond the measured covariates, "
            f"to explain away the estimate")
    if e_value_ci == 1.0:
        return f"{head}; the {level}% confidence interval already includes no effect."
    if math.isfinite(e_value_ci):
        return f"{head}; {e_value_ci:.2f} to move the {level}% confidence interval to include no effect."
    return f"{head}. There is no confidence interval, so no E-value for it."


def e_value_report(estimate: float, ci_lower: float, ci_upper: float, alpha: float,
                   y: np.ndarray, t: np.ndarray) -> dict[str, Any]:
    """E-value of the estimate and of its interval, with the conversion used."""
    to_rr, conversion = risk_ratio_conversion(estimate, y, t)
    return converted_e_values(estimate, ci_lower, ci_upper, alpha, to_rr, conversion)


def converted_e_values(estimate: float, ci_lower: float, ci_upper: float, alpha: float,
                       to_rr: Callable[[float], float], conversion: str) -> dict[str, Any]:
    """E-values of the estimate and its interval once the effect -> risk ratio rule is fixed."""
    rr = to_rr(estimate)
    e_point = e_value_rr(rr)
    e_interval = ci_e_value(ci_lower, ci_upper, to_rr) if math.isfinite(e_point) else math.nan
    level = int(round(100 * (1 - alpha)))
    return {"e_value": e_point, "e_value_ci": e_interval, "e_value_rr": rr,
            "e_value_conversion": conversion, "e_value_text": e_value_text(e_point, e_interval, level)}


# --------------------------------------------------------------------------
# E-value on the scale of a panel design
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class PanelScale:
    """What the E-value of a panel design standardises by (see ``panel_outcome_scale``)."""

    binary: bool
    within_sd: float        # residual SD of the untreated outcome after unit and period effects
    dof: int                # its residual degrees of freedom: N0 - (U0 + T0 - components)
    n_untreated: int        # N0, untreated unit-periods in that fit
    pooled_sd: float        # SD over all unit-periods (the old, wrong scale), reported for comparison
    baseline: float         # binary outcome: rate of the untreated unit-periods from first_treated on
    n_baseline: int
    first_treated: Any      # the first period in which a unit switches into treatment


def fixed_effect_rank(unit: np.ndarray, time: np.ndarray) -> int:
    """Rank of [unit dummies | period dummies]: U + T - (connected components of the unit-period graph)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n_unit, n_time = int(unit.max()) + 1, int(time.max()) + 1
    graph = coo_matrix((np.ones(unit.size), (unit, n_unit + time)), shape=(n_unit + n_time,) * 2)
    return n_unit + n_time - int(connected_components(graph, directed=False)[0])


def first_switch_period(unit: np.ndarray, time: np.ndarray, d: np.ndarray) -> int:
    """Earliest period (position) in which some unit observed untreated before turns treated."""
    order = np.lexsort((time, unit))
    u, tt, dd = unit[order], time[order], d[order]
    switch = (u[1:] == u[:-1]) & (dd[1:] == 1) & (dd[:-1] == 0)
    return int(tt[1:][switch].min()) if switch.any() else int(tt[dd == 1].min())


def panel_outcome_scale(dataset: Dataset, roles: Roles) -> PanelScale:
    """The outcome scale a panel design compares effects on.

    did, event_study, staggered_did and panel_matching remove unit and period
    effects, so a hidden confounder left to explain the estimate varies within
    units over time, and the outcome spread it has to move is the spread that
    remains after those effects. With Y_it(0) = a_i + l_t + e_it fitted by least
    squares on the N0 untreated unit-periods (D_it = 0, weighted by the weight
    role when there is one),

        sigma_within = sqrt( sum_{D_it = 0} w_it e_it^2 / (N0 - rank[unit, period dummies]) ),

    the standardised effect is d = estimate / sigma_within and, for a continuous
    outcome, RR = exp(0.91 d) (VanderWeele & Ding 2017, Ann Intern Med 167:268,
    for continuous outcomes; 0.91 = sqrt of Chinn's 2000 (Stat Med 19:3127)
    log OR = (pi / sqrt 3) d, since RR ~ sqrt(OR) for a common outcome).
    The SD pooled over all unit-periods would also count the unit effects, the
    period effects and the effect itself, none of which the design compares.

    For a 0/1 outcome the baseline risk is that of the comparison after
    treatment starts: p0 = mean of Y over untreated unit-periods from the first
    period in which a unit switches into treatment (with one adoption date, the
    comparison units' post-period rate), and RR = (p0 + estimate) / p0. The
    untreated rows before that period (treated units' pre-periods included)
    describe another time, not the counterfactual of the treated periods.
    """
    from .estimators._common import period_value
    from .estimators._twfe import TwoWayFixedEffects, tidy_did_data

    # covariates do not enter the scale (as SD(Y) in a cross-section is not a residual SD on them)
    dd = tidy_did_data(dataset, roles.replace(covariates=()))
    y, d = dd.y, dd.d
    weights = np.ones(y.size) if dd.weights is None else dd.weights
    untreated = d == 0
    unit = np.unique(dd.unit[untreated], return_inverse=True)[1]
    time = np.unique(dd.time[untreated], return_inverse=True)[1]
    w0 = weights[untreated] / weights[untreated].mean()
    resid = TwoWayFixedEffects.build(unit, time, w0).residualise(y[untreated])
    dof = int(untreated.sum()) - fixed_effect_rank(unit, time)
    within = math.sqrt(float(np.sum(w0 * resid ** 2)) / dof) if dof > 0 else math.nan
    start = first_switch_period(dd.unit, dd.time, d)
    comparison = untreated & (dd.time >= start)
    baseline = float(np.average(y[comparison], weights=weights[comparison])) if comparison.any() else math.nan
    return PanelScale(binary=is_binary_outcome(y), within_sd=within, dof=dof, n_untreated=int(untreated.sum()),
                      pooled_sd=float(np.std(y, ddof=1)), baseline=baseline, n_baseline=int(comparison.sum()),
                      first_treated=period_value(dd.periods[start]))


def panel_risk_ratio_conversion(estimate: float, scale: PanelScale) -> tuple[Callable[[float], float], str]:
    """``risk_ratio_conversion`` on a panel design's own scale (``panel_outcome_scale``), with the rule in words."""
    if scale.binary:
        p0 = scale.baseline
        rr = rr_from_risk_difference(estimate, p0)
        text = (f"risk difference: RR = (p0 + estimate) / p0, p0 = {p0:.4g} (outcome rate of the "
                f"{scale.n_baseline} untreated unit-periods from period {scale.first_treated}, when treatment "
                f"starts: the comparison's post-period rate) = ({p0:.4g} + {estimate:.4g}) / {p0:.4g} = {rr:.4g}")
        if math.isnan(rr):
            text += ("; p0 is not a positive risk or p0 + estimate lies outside (0, 1], so no risk ratio "
                     "(and no E-value) is defined")
        return (lambda effect: rr_from_risk_difference(effect, p0)), text
    sd = scale.within_sd
    if not sd > 0:
        return (lambda effect: math.nan), ("smd: the outcome does not vary within units over time once unit and "
                                           "period effects are removed, so it cannot be standardized")
    d = estimate / sd
    text = (f"smd on the panel's within scale: RR = exp(0.91 d), d = estimate / SD_within = {estimate:.4g} / "
            f"{sd:.4g} = {d:.4g}, RR = {rr_from_smd(d):.4g}; SD_within is the residual SD of the outcome after "
            f"unit and period effects, fitted on the {scale.n_untreated} untreated unit-periods ({scale.dof} "
            f"residual degrees of freedom), the variation the design compares (the SD over all unit-periods, "
            f"{scale.pooled_sd:.4g}, also counts the unit and period effects) (VanderWeele & Ding 2017; Chinn 2000)")
    return (lambda effect: rr_from_smd(effect / sd)), text


# --------------------------------------------------------------------------
# Robustness value and benchmark bounds (Cinelli & Hazlett 2020)
# --------------------------------------------------------------------------

def partial_r2(t_stat: float | np.ndarray, dof: float) -> float | np.ndarray:
    """Partial R² of a regressor from its t statistic: t² / (t² + dof) (Cinelli & Hazlett 2020)."""
    t2 = np.square(t_stat)
    return t2 / (t2 + dof)


def robustness_value(t_stat: float, dof: float, q: float = 1.0, alpha: float | None = None) -> float:
    """Robustness value RV_q, or RV_{q,alpha} when ``alpha`` is given.

    Cinelli & Hazlett (2020), Eqs. 18-19 as numbered in the comments of R sensemakr:
    f_q = q|t|/sqrt(dof); with alpha, f_{q,a} = f_q - |t*_{a/2, dof-1}|/sqrt(dof-1);
    RV = (sqrt(f^4 + 4 f^2) - f^2)/2, and 0 when f_{q,a} <= 0. When f_q > 1/f*
    the constraint R²_{Y~Z|D,X} <= 1 binds and sensemakr (R, current) uses the
    extreme value (f_q² - f*²)/(1 + f_q²) instead.
    """
    if not (math.isfinite(t_stat) and dof > 1):
        return math.nan
    f_q = q * abs(t_stat) / math.sqrt(dof)
    f_crit = 0.0 if alpha is None else abs(float(stats.t.ppf(alpha / 2, dof - 1))) / math.sqrt(dof - 1)
    f_qa = f_q - f_crit
    if f_qa <= 0:
        return 0.0
    if f_crit > 0 and f_q > 1.0 / f_crit:
        return (f_q ** 2 - f_crit ** 2) / (1.0 + f_q ** 2)
    return 0.5 * (math.sqrt(f_qa ** 4 + 4.0 * f_qa ** 2) - f_qa ** 2)


def omitted_variable_bias(r2dz_x: float, r2yz_dx: float, se: float, dof: float) -> float:
    """|bias| = se sqrt(dof) sqrt(R²_{Y~Z|D,X} R²_{D~Z|X} / (1 - R²_{D~Z|X})).

    Cinelli & Hazlett (2020), the omitted-variable bias in partial-R² form
    (sensemakr's bias()).
    """
    return se * math.sqrt(dof) * math.sqrt(r2yz_dx * r2dz_x / (1.0 - r2dz_x))


def adjusted_estimate(estimate: float, se: float, dof: float, r2dz_x: float, r2yz_dx: float) -> float:
    """Estimate after removing the bias of such a confounder, moving it toward zero (sensemakr, reduce=TRUE)."""
    return math.copysign(1.0, estimate) * (abs(estimate) - omitted_variable_bias(r2dz_x, r2yz_dx, se, dof))


def adjusted_se(se: float, dof: float, r2dz_x: float, r2yz_dx: float) -> float:
    """SE had the confounder been included: se sqrt((1 - R²_yz)/(1 - R²_dz)) sqrt(dof/(dof - 1)).

    Cinelli & Hazlett (2020), the standard error in partial-R² form (sensemakr's adjusted_se()).
    """
    return se * math.sqrt((1.0 - r2yz_dx) / (1.0 - r2dz_x)) * math.sqrt(dof / (dof - 1.0))


def benchmark_bound(r2dxj_x: float, r2yxj_dx: float, kd: float, ky: float | None = None) -> tuple[float, float]:
    """Partial R²s of a confounder kd (ky) times as strong as covariate X_j.

    Cinelli & Hazlett (2020), bounds from observed covariates (sensemakr's ovb_partial_r2_bound):
    R²_{D~Z|X} = kd r2dxj / (1 - r2dxj); r2zxj = kd r2dxj² / ((1 - kd r2dxj)(1 - r2dxj));
    R²_{Y~Z|D,X} = ((sqrt(ky) + sqrt(r2zxj)) / sqrt(1 - r2zxj))² r2yxj / (1 - r2yxj), capped at 1.
    Returns (NaN, NaN) when the multiple is impossible (an implied R² of 1 or more).
    """
    ky = kd if ky is None else ky
    r2dz_x = kd * r2dxj_x / (1.0 - r2dxj_x)
    r2zxj_xd = kd * r2dxj_x ** 2 / ((1.0 - kd * r2dxj_x) * (1.0 - r2dxj_x))
    if not (0 <= r2dz_x < 1 and 0 <= r2zxj_xd < 1):
        return math.nan, math.nan
    inflation = ((math.sqrt(ky) + math.sqrt(r2zxj_xd)) / math.sqrt(1.0 - r2zxj_xd)) ** 2
    r2yz_dx = inflation * r2yxj_dx / (1.0 - r2yxj_dx)
    return r2dz_x, min(r2yz_dx, 1.0)


def classical_fit(design: np.ndarray, response: np.ndarray,
                  absorbed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Coefficients, classical SEs and t statistics of a least-squares fit, and its residual dof.

    ``absorbed``: fixed-effect parameters already partialled out of ``design`` and ``response``
    (FWL): the coefficients are those of the model with the dummies, whose residual dof is
    ``absorbed`` fewer, so the SEs are rescaled by sqrt(dof_without / dof_with).
    """
    fit = ols(design, response, cov_type="classical")
    dof = int(fit.df_resid) - absorbed
    se = fit.se * math.sqrt(fit.df_resid / dof) if absorbed else fit.se
    with np.errstate(divide="ignore", invalid="ignore"):
        return fit.coef, se, fit.coef / se, dof


def absorb_fixed_effects(y: np.ndarray, d: np.ndarray, X: np.ndarray, names: tuple[str, ...],
                         fixed_effects: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...], int]:
    """y, d and X with the fixed effects partialled out (unweighted, as the additive model), the names of the
    covariates that still vary within the levels, and the number of fixed-effect parameters (pyfixest's count)."""
    from .estimators._absorb import factor_absorber, fixed_effect_count

    fe = factor_absorber(fixed_effects, None)
    Xt = fe.residualise(X)
    varies = np.sqrt(np.sum(Xt ** 2, axis=0)) > 1e-9 * np.sqrt(np.sum((X - X.mean(axis=0)) ** 2, axis=0))
    return (fe.residualise(y), fe.residualise(d), Xt[:, varies], tuple(n for n, v in zip(names, varies) if v),
            fixed_effect_count(fixed_effects))


def has_full_rank(design: np.ndarray) -> bool:
    """No column is (numerically) a combination of the others.

    Eigenvalues of the column-scaled X'X are far cheaper than an SVD of X on
    wide fixed-effect designs; the cut-off, p * eps relative to the largest,
    flags exact collinearity and designs too ill-conditioned for a t statistic.
    """
    xtx = design.T @ design
    scale = np.sqrt(np.diag(xtx))
    if np.any(scale == 0):
        return False
    eigenvalues = np.linalg.eigvalsh(xtx / np.outer(scale, scale))
    return bool(eigenvalues.min() > eigenvalues.max() * design.shape[1] * np.finfo(float).eps)


def with_intercept(columns: list[np.ndarray], absorbed: int) -> np.ndarray:
    """The design [1, columns] or, when fixed effects were absorbed (they hold the intercept), [columns]."""
    return np.column_stack(columns if absorbed else [np.ones(columns[0].shape[0]), *columns])


def outcome_partial_r2s(y: np.ndarray, d: np.ndarray, X: np.ndarray,
                        absorbed: int = 0) -> tuple[float, float, float, np.ndarray]:
    """Treatment estimate, SE and dof of Y ~ 1 + D + X, and each covariate's r2yxj.dx (Cinelli & Hazlett 2020).

    With ``absorbed`` > 0 the arrays are already net of that many fixed-effect parameters (``absorb_fixed_effects``).
    """
    first = 0 if absorbed else 1
    coef, se, t_stats, dof = classical_fit(with_intercept([d, X], absorbed), y, absorbed)
    return float(coef[first]), float(se[first]), float(dof), partial_r2(t_stats[first + 1:], dof)


def treatment_partial_r2s(d: np.ndarray, X: np.ndarray, absorbed: int = 0) -> np.ndarray:
    """Each covariate's r2dxj.x, from its t statistic in D ~ 1 + X (Cinelli & Hazlett 2020)."""
    _, _, t_stats, dof = classical_fit(with_intercept([X], absorbed), d, absorbed)
    return partial_r2(t_stats[0 if absorbed else 1:], dof)


def covariate_partial_r2s(y: np.ndarray, d: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Partial R² of each covariate column with the outcome (Y ~ D + X) and with the treatment (D ~ X)."""
    return outcome_partial_r2s(y, d, X)[3], treatment_partial_r2s(d, X)


@functools.lru_cache(maxsize=64)
def t_quantile(q: float, dof: float) -> float:
    """Student t quantile; memoised because every benchmark row of one table asks for the same one."""
    return float(stats.t.ppf(q, dof))


def benchmark_row(name: str, k: float, r2dxj_x: float, r2yxj_dx: float, estimate: float, se: float,
                  dof: float, alpha: float) -> dict[str, Any]:
    """One bound: a confounder k times as strong as ``name`` with both treatment and outcome."""
    r2dz_x, r2yz_dx = benchmark_bound(r2dxj_x, r2yxj_dx, k)
    row: dict[str, Any] = {"covariate": name, "kd": k, "ky": k, "r2dxj_x": r2dxj_x, "r2yxj_dx": r2yxj_dx,
                           "r2dz_x": r2dz_x, "r2yz_dx": r2yz_dx}
    if math.isnan(r2dz_x):
        row["note"] = (f"A confounder {k:g} times as strong as '{name}' would have to explain all of the "
                       "treatment's remaining variation; this bound does not exist.")
        return row
    new_estimate = adjusted_estimate(estimate, se, dof, r2dz_x, r2yz_dx)
    new_se = adjusted_se(se, dof, r2dz_x, r2yz_dx)
    crit = abs(t_quantile(alpha / 2, dof))  # sensemakr's ovb_bounds uses the model's dof here
    row.update(adjusted_estimate=new_estimate, adjusted_se=new_se,
               adjusted_t=new_estimate / new_se if new_se > 0 else math.nan,
               adjusted_ci_lower=new_estimate - crit * new_se, adjusted_ci_upper=new_estimate + crit * new_se)
    return row


def strongest_covariates(r2dxj: np.ndarray, r2yxj: np.ndarray, estimate: float, se: float, dof: float,
                         limit: int) -> list[int]:
    """Indices of the ``limit`` covariates whose 1x benchmark would move the estimate most."""
    def shift(j: int) -> float:
        r2dz, r2yz = benchmark_bound(float(r2dxj[j]), float(r2yxj[j]), 1.0)
        return -math.inf if math.isnan(r2dz) else omitted_variable_bias(r2dz, r2yz, se, dof)

    usable = [j for j in range(r2dxj.size) if math.isfinite(r2dxj[j]) and math.isfinite(r2yxj[j])]
    return sorted(usable, key=shift, reverse=True)[:limit]


def benchmark_table(y: np.ndarray, d: np.ndarray, X: np.ndarray, names: tuple[str, ...], *, alpha: float,
                    limit: int = MAX_BENCHMARKS, multipliers: tuple[float, ...] = BENCHMARK_MULTIPLIERS,
                    fixed_effects: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Bounds for confounders 1-3x as strong as the strongest observed covariates (Cinelli & Hazlett 2020).

    With ``fixed_effects`` (level codes of absorbed covariates) every fit is the one with their dummies:
    Y ~ D + X | FE and D ~ X | FE, as sensemakr on that dummy model; the absorbed covariates are not
    benchmarks themselves.
    """
    absorbed = 0
    if fixed_effects is not None:
        y, d, X, names, absorbed = absorb_fixed_effects(y, d, X, names, fixed_effects)
        if X.shape[1] == 0:
            return []
    if not has_full_rank(with_intercept([d, X], absorbed)):
        raise ValueError("some covariates are exact combinations of others (or of the treatment)")
    estimate, se, dof, r2yxj = outcome_partial_r2s(y, d, X, absorbed)
    r2dxj = treatment_partial_r2s(d, X, absorbed)
    picked = strongest_covariates(r2dxj, r2yxj, estimate, se, dof, limit)
    return [benchmark_row(names[j], k, float(r2dxj[j]), float(r2yxj[j]), estimate, se, dof, alpha)
            for j in picked for k in multipliers]


# --------------------------------------------------------------------------
# Bias contour and "k times as strong as" (Cinelli & Hazlett 2020, Sec. 4-6)
# --------------------------------------------------------------------------

#: Grid points per axis of the contour attached to every regression (small: it travels with the result)
#: and of the full panel (the ``sensitivity`` method); sensemakr's plots use 400 for drawing only.
CONTOUR_POINTS = 25
CONTOUR_POINTS_FULL = 81
#: sensemakr's default axis limit (ovb_contour_plot: lim = max(0.4, 1.2 x the largest bound), below 1).
CONTOUR_MIN_LIMIT = 0.4
CONTOUR_MAX_LIMIT = 1.0 - 1e-12


def adjusted_surface(estimate: float, se: float, dof: float, r2dz_x: np.ndarray,
                     r2yz_dx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted estimate and t on arrays of (R²_{D~Z|X}, R²_{Y~Z|D,X}), vectorised.

    The bias |b| = se sqrt(dof) sqrt(R²_yz R²_dz / (1 - R²_dz)) moves the estimate toward zero and the
    SE becomes se sqrt((1 - R²_yz) / (1 - R²_dz)) sqrt(dof / (dof - 1)) (Cinelli & Hazlett 2020, the
    bias and SE in partial-R² form; sensemakr's adjusted_estimate and adjusted_t with reduce=TRUE).
    """
    bias = se * math.sqrt(dof) * np.sqrt(r2yz_dx * r2dz_x / (1.0 - r2dz_x))
    adjusted = math.copysign(1.0, estimate) * (abs(estimate) - bias)
    new_se = se * np.sqrt((1.0 - r2yz_dx) / (1.0 - r2dz_x)) * math.sqrt(dof / (dof - 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return adjusted, adjusted / new_se


def contour_limit(bounds: list[float]) -> float:
    """Axis limit as sensemakr's ovb_contour_plot: max(0.4, 1.2 x the largest bound shown), below 1."""
    finite = [b for b in bounds if math.isfinite(b)]
    return min(max([CONTOUR_MIN_LIMIT, *(1.2 * b for b in finite)]), CONTOUR_MAX_LIMIT)


def bias_contour(estimate: float, se: float, dof: float, *, alpha: float, benchmarks: list[dict[str, Any]],
                 points: int = CONTOUR_POINTS, robustness: float = math.nan) -> dict[str, Any]:
    """Data of the "sensitivity_contour" figure: adjusted estimate and t over a grid, with the benchmarks.

    ``adjusted_estimate[i][j]`` is the estimate had a confounder with R²_{Y~Z|D,X} = r2yz_dx[i] and
    R²_{D~Z|X} = r2dz_x[j] been included (rows: outcome axis, as sensemakr's z_axis). The benchmark
    points are the bounds of ``benchmark_table`` (k times as strong as an observed covariate). Unlike
    sensemakr the axes also reach 1.2 x the robustness value, so the line where the estimate is zero shows.
    """
    shown = [b for b in benchmarks if "adjusted_estimate" in b]
    x = np.linspace(0.0, contour_limit([robustness, *(b["r2dz_x"] for b in shown)]), points)
    y = np.linspace(0.0, contour_limit([robustness, *(b["r2yz_dx"] for b in shown)]), points)
    grid_x, grid_y = np.meshgrid(x, y)
    adjusted, t_values = adjusted_surface(estimate, se, dof, grid_x, grid_y)
    return {
        "r2dz_x": x.tolist(), "r2yz_dx": y.tolist(),
        "adjusted_estimate": adjusted.tolist(), "adjusted_t": t_values.tolist(),
        "estimate": estimate, "std_error": se, "dof": dof, "threshold": 0.0,
        "t_threshold": abs(t_quantile(alpha / 2, dof - 1)),
        "benchmarks": [{"label": f"{b['kd']:g}x {b['covariate']}", "covariate": b["covariate"], "kd": b["kd"],
                        "r2dz_x": b["r2dz_x"], "r2yz_dx": b["r2yz_dx"],
                        "adjusted_estimate": b["adjusted_estimate"], "adjusted_t": b["adjusted_t"]}
                       for b in shown],
        "source": RV_SOURCE + ": the bias in partial-R² form, as sensemakr's ovb_contour_plot",
    }


def strength_bound(r2dxj_x: float) -> float:
    """The largest multiple k of covariate X_j's strength a confounder can have: k r2dxj < 1 - r2dxj.

    Both implied partial R²s of ``benchmark_bound`` (with the treatment, and the confounder's with X_j)
    reach 1 exactly there.
    """
    return math.inf if r2dxj_x <= 0 else (1.0 - r2dxj_x) / r2dxj_x


def explain_away_multiplier(r2dxj_x: float, r2yxj_dx: float, estimate: float, se: float, dof: float, *,
                            alpha: float | None = None) -> float:
    """Smallest k such that a confounder k times as strong as X_j (kd = ky = k) explains the estimate away.

    Without ``alpha``: the adjusted estimate reaches 0; with it: the adjusted t falls to the critical
    value t*_{alpha/2, dof-1} (no longer significant; 0 when it already is not). Infinite when no
    possible confounder of that kind would do it (e.g. X_j is unrelated to the treatment). The gap is
    scanned on a geometric grid of k and the first crossing refined by Brent's method.
    """
    from scipy.optimize import brentq

    if not (math.isfinite(estimate) and se > 0 and dof > 1):
        return math.nan
    crit = abs(t_quantile(alpha / 2, dof - 1)) if alpha is not None else 0.0

    def gap(k: float) -> float:
        r2dz, r2yz = benchmark_bound(r2dxj_x, r2yxj_dx, k)
        if math.isnan(r2dz):
            return -1.0        # beyond the possible range: treat as explained (the scan stops before)
        adjusted, t_value = adjusted_surface(estimate, se, dof, np.array(r2dz), np.array(r2yz))
        if alpha is None:
            return float(math.copysign(1.0, estimate) * adjusted)
        return float(math.copysign(1.0, estimate) * t_value) - crit

    if alpha is not None and abs(estimate / se) * math.sqrt((dof - 1) / dof) <= crit:
        return 0.0
    top = strength_bound(r2dxj_x)
    top = 1e6 if math.isinf(top) else top * (1 - 1e-9)
    grid = np.geomspace(1e-4, top, 200)
    previous = 0.0
    for k in grid:
        if gap(float(k)) <= 0:
            return float(brentq(gap, previous, float(k), xtol=1e-10)) if previous > 0 else float(k)
        previous = float(k)
    return math.inf


def explain_away(benchmarks: list[dict[str, Any]], estimate: float, se: float, dof: float,
                 alpha: float) -> dict[str, Any] | None:
    """How many times as strong as the most influential covariate a confounder must be (zero / not significant)."""
    first = next((b for b in benchmarks if b.get("kd") == 1.0), None)
    if first is None:
        return None
    args = (first["r2dxj_x"], first["r2yxj_dx"], estimate, se, dof)
    return {"covariate": first["covariate"], "multiplier_zero": explain_away_multiplier(*args),
            "multiplier_significance": explain_away_multiplier(*args, alpha=alpha), "alpha": alpha}


def multiplier_words(k: float) -> str:
    return "any number of times" if math.isinf(k) else f"{k:.2g} times"


def explain_away_text(found: dict[str, Any]) -> str:
    """The benchmark comparison in one sentence: "an unmeasured confounder would need to be X times as strong ..."."""
    k0, ka, name = found["multiplier_zero"], found["multiplier_significance"], found["covariate"]
    level = f"{found['alpha']:.0%}"
    if math.isinf(k0):
        head = (f"No unmeasured confounder of the kind of '{name}' (the most influential measured covariate), "
                "however many times stronger, could explain the effect away")
    elif k0 < 1:
        head = (f"An unmeasured confounder only {k0:.2g} times as strong as '{name}' (the most influential measured "
                "covariate), in how much of the treatment and of the outcome it explains, would explain the effect "
                "away: the estimate is fragile")
    else:
        head = (f"An unmeasured confounder would need to be {k0:.2g} times as strong as '{name}' (the most "
                "influential measured covariate), in how much of the treatment and of the outcome it explains, "
                "to explain the effect away")
    if ka == 0:
        tail = f"; the estimate is already not statistically significant at the {level} level."
    elif math.isinf(ka) or (math.isfinite(k0) and ka >= 0.99 * k0):
        # e.g. a covariate whose bound already explains all residual outcome variance: the adjusted SE is 0,
        # so significance goes only with the estimate itself
        tail = "."
    else:
        tail = (f", and {multiplier_words(ka)} as strong to make it no longer statistically significant at the "
                f"{level} level.")
    return head + tail


def robustness_text(rv: float, rv_alpha: float, alpha: float, benchmarks: list[dict[str, Any]]) -> str:
    """The robustness values, and the strongest benchmark, in plain language."""
    if not math.isfinite(rv):
        return "No robustness value: the regression has too few residual degrees of freedom."
    text = (f"An unobserved confounder that explains {rv:.1%} of the remaining variation of both the treatment "
            f"and the outcome would bring the estimate to zero")
    if rv_alpha > 0:
        text += (f"; one explaining {rv_alpha:.1%} of both would make it no longer statistically significant "
                 f"at the {alpha:.0%} level.")
    else:
        text += f"; the estimate is already not statistically significant at the {alpha:.0%} level."
    first = next((b for b in benchmarks if b.get("kd") == 1.0 and "adjusted_estimate" in b), None)
    if first is not None:
        t_text = f" (t = {first['adjusted_t']:.2f})" if math.isfinite(first["adjusted_t"]) else ""
        text += (f" For comparison, a confounder as strong as '{first['covariate']}' (the most influential "
                 f"measured covariate) would move the estimate to {first['adjusted_estimate']:.4g}{t_text}.")
    return text


def robustness_report(result: EffectResult, dataset: Dataset, roles: Roles, max_benchmarks: int = MAX_BENCHMARKS,
                      contour_points: int = CONTOUR_POINTS) -> tuple[dict[str, Any], dict[str, str]]:
    """RV, RV_alpha, the treatment's partial R², covariate benchmarks, the bias contour and the multiple of
    the strongest covariate that would explain the effect away, for regression adjustment."""
    diag = result.diagnostics
    coef, t_stat, dof = float(diag["additive_coef"]), float(diag["additive_t"]), float(diag["additive_dof"])
    rv = robustness_value(t_stat, dof, q=1.0)
    rv_alpha = robustness_value(t_stat, dof, q=1.0, alpha=result.alpha)
    out: dict[str, Any] = {
        "robustness_value": rv, "robustness_value_alpha": rv_alpha,
        "partial_r2_treatment": float(partial_r2(t_stat, dof)),
        "robustness_model": (f"additive OLS Y ~ 1 + T + X with classical SEs: coefficient {coef:.4g}, "
                             f"t = {t_stat:.3f}, {dof:g} residual degrees of freedom"),
    }
    if diag.get("absorbed_fixed_effects"):
        out["robustness_model"] = out["robustness_model"].replace(
            "Y ~ 1 + T + X", f"Y ~ T + X + fixed effects of {', '.join(diag['absorbed_fixed_effects'])} "
                             "(absorbed; the degrees of freedom count them)")
    skipped: dict[str, str] = {}
    benchmarks: list[dict[str, Any]] = []
    try:
        prep = prepare(dataset, roles, binary_treatment=diag.get("treatment_kind", "binary") == "binary",
                       absorb=True)
        if prep.X.shape[1] == 0:
            skipped["benchmarks"] = "There are no covariates to compare a hidden confounder with."
        else:
            benchmarks = benchmark_table(prep.y, prep.t, prep.X, prep.x_names, alpha=result.alpha,
                                         limit=max_benchmarks, fixed_effects=prep.fixed_effects)
    except (CQOxError, ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        skipped["benchmarks"] = f"Benchmarks could not be computed: {exc}."
    out["benchmarks"] = benchmarks
    out["robustness_text"] = robustness_text(rv, rv_alpha, result.alpha, benchmarks)
    se = coef / t_stat if t_stat != 0 else math.nan
    if math.isfinite(se) and se > 0 and dof > 1:
        # the contour needs only the additive fit's estimate, SE and dof: absorbed fixed effects are in them
        out["contour"] = bias_contour(coef, se, dof, alpha=result.alpha, benchmarks=benchmarks,
                                      points=contour_points, robustness=rv)
        found = explain_away(benchmarks, coef, se, dof, result.alpha)
        if found is not None:
            out["explain_away"] = found
            out["explain_away_text"] = explain_away_text(found)
    if math.isfinite(result.estimate) and not math.isclose(coef, result.estimate, rel_tol=1e-9, abs_tol=1e-12):
        out["robustness_text"] += (f" These figures refer to the additive model's coefficient ({coef:.4g}); "
                                   f"the headline estimate ({result.estimate:.4g}) comes from the interacted model.")
    return out, skipped


# --------------------------------------------------------------------------
# Rosenbaum bounds for matched designs (Rosenbaum 2002, Observational Studies, ch. 4)
# --------------------------------------------------------------------------

ROSENBAUM_SOURCE = "Rosenbaum (2002), Observational Studies, 2nd ed., ch. 4; rbounds' psens (Keele 2010)"
#: Γ values of the table (rbounds prints 1, 2, ...; the finer start shows where small biases bite).
GAMMA_TABLE = (1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0)
GAMMA_SEARCH_MAX = 1e6


def signed_rank_bounds(differences: np.ndarray, gamma: float) -> tuple[float, float]:
    """Lower and upper bounds of the one-sided signed-rank p-value at hidden bias Γ (normal approximation).

    Zero differences are dropped and |d| ranked with average ranks q_i; T = sum of q_i over d_i > 0.
    Under Γ the upper bound treats each sign as positive with probability p+ = Γ / (1 + Γ):
    E = p+ sum q_i, V = p+ (1 - p+) sum q_i², p = 1 - Φ((T - E) / sqrt V) (Rosenbaum 2002, Sec. 4.3.3;
    rbounds' psens, whose formulas these are). The lower bound uses p- = 1 / (1 + Γ). At Γ = 1 both
    are the usual (tie-corrected) Wilcoxon signed-rank test without continuity correction.
    """
    d = differences[differences != 0]
    if d.size == 0:
        return math.nan, math.nan
    ranks = stats.rankdata(np.abs(d))
    t_stat = float(ranks[d > 0].sum())
    out = []
    for p in (1.0 / (1.0 + gamma), gamma / (1.0 + gamma)):
        mean, var = p * ranks.sum(), p * (1 - p) * float(np.sum(ranks ** 2))
        out.append(float(stats.norm.sf((t_stat - mean) / math.sqrt(var))))
    return out[0], out[1]


def sign_test_bound(differences: np.ndarray, gamma: float) -> float:
    """Upper bound of the one-sided sign-test p-value at Γ: P(Binomial(n, Γ / (1 + Γ)) >= #positive), exact."""
    d = differences[differences != 0]
    if d.size == 0:
        return math.nan
    return float(stats.binom.sf(int(np.sum(d > 0)) - 1, d.size, gamma / (1.0 + gamma)))


def critical_gamma(bound: Callable[[float], float], alpha: float) -> float:
    """The largest Γ at which the upper-bound p-value stays below ``alpha`` (1 when it is not below at Γ = 1).

    The upper bound grows with Γ (p+ does), so the crossing is unique; found by Brent's method on log Γ.
    """
    from scipy.optimize import brentq

    if not bound(1.0) < alpha:
        return 1.0
    if bound(GAMMA_SEARCH_MAX) < alpha:
        return math.inf
    return float(math.exp(brentq(lambda g: bound(math.exp(g)) - alpha, 0.0, math.log(GAMMA_SEARCH_MAX),
                                 xtol=1e-10)))


def rosenbaum_bounds(differences: np.ndarray, alpha: float,
                     gammas: tuple[float, ...] = GAMMA_TABLE) -> dict[str, Any]:
    """Γ bounds of matched differences oriented so the estimated effect is positive (see ``signed_rank_bounds``)."""
    d = np.asarray(differences, dtype=float)
    table = []
    for g in gammas:
        low, high = signed_rank_bounds(d, g)
        table.append({"gamma": g, "p_lower": low, "p_upper": high, "p_upper_sign_test": sign_test_bound(d, g)})
    return {"rosenbaum_gamma": critical_gamma(lambda g: signed_rank_bounds(d, g)[1], alpha),
            "rosenbaum_gamma_sign_test": critical_gamma(lambda g: sign_test_bound(d, g), alpha),
            "rosenbaum_pairs": int(np.sum(d != 0)), "rosenbaum_zero_differences": int(np.sum(d == 0)),
            "rosenbaum_alpha": alpha, "rosenbaum_table": table}


def rosenbaum_text(found: dict[str, Any]) -> str:
    gamma, level = found["rosenbaum_gamma"], f"{found['rosenbaum_alpha']:.0%}"
    pairs = found["rosenbaum_pairs"]
    if gamma <= 1.0:
        return (f"Even without hidden bias the matched comparison is not significant at the {level} level "
                f"(one-sided signed-rank test over {pairs} matched differences), so there is nothing for an "
                "unmeasured confounder to explain away (Rosenbaum's Γ = 1).")
    shown = "more than a million" if math.isinf(gamma) else f"{gamma:.2f}"
    return (f"Within matched pairs, an unmeasured confounder would need to change the odds of treatment by a "
            f"factor of {shown} (Rosenbaum's Γ) before the matched comparison stopped being significant at the "
            f"{level} level (one-sided signed-rank test over {pairs} matched differences; the sign test allows "
            f"Γ = {found['rosenbaum_gamma_sign_test']:.2f}).")


def psm_params(result: EffectResult) -> dict[str, Any]:
    """psm's parameters behind ``result`` (a wrapper's inner_params), with psm's defaults filled in."""
    from . import registry

    params = dict(result.params or {})
    if result.method != "psm":
        params = {**dict(params.get("inner_params") or {}), "seed": params.get("seed", 0)}
    spec = registry.get("psm")
    return {**spec.defaults, **{k: v for k, v in params.items() if k in spec.defaults or k == "seed"}}


def matched_differences(result: EffectResult, dataset: Dataset, roles: Roles) -> np.ndarray:
    """Treated-minus-control outcome difference of each matched target unit, re-matched as psm did.

    A target matched to several units (k > 1, or ties) contributes its difference with their mean: a
    matched set, the paired analogue rbounds uses. Matches with replacement may reuse a control,
    which Rosenbaum's pair theory does not model; the bounds are then approximate, as rbounds' are
    on such matches. The reproduction is checked against the estimate.
    """
    from .estimators import psm as matching
    from .estimators._common import cache_key
    from .nuisance import propensity

    params = psm_params(result)
    prep = prepare(dataset, roles)
    fit = propensity(prep.X, prep.t, key=cache_key(dataset, roles, "logit"))
    score = fit.linear_predictor
    caliper = params["caliper"]
    width = None if caliper is None else caliper * matching.pooled_sd(score, prep.t)
    directions = matching.run_matching(score, prep.y, prep.t, result.estimand, k=int(params["k"]), caliper=width,
                                       replace=bool(params["replace"]), order=params["order"],
                                       seed=int(params["seed"]))
    differences = np.concatenate([d.effects(prep.y) for d in directions])
    if differences.size == 0 or not math.isclose(float(differences.mean()), result.estimate, rel_tol=1e-9,
                                                 abs_tol=1e-9 * max(1.0, abs(result.estimate))):
        raise ValueError("the matches could not be reproduced from the result's parameters")
    return differences


def rosenbaum_part(result: EffectResult, dataset: Dataset, roles: Roles) -> tuple[dict[str, Any], dict[str, str]]:
    spec = design_spec(result)
    if spec is None or spec.id != "psm":
        return {}, {"rosenbaum_gamma": "Rosenbaum's bounds are computed for matched designs (psm), whose "
                                       "estimate compares matched treated and control units."}
    if not math.isfinite(result.estimate) or result.estimate == 0:
        return {}, {"rosenbaum_gamma": "The estimate is zero or not a finite number: there is no direction to test."}
    oriented = math.copysign(1.0, result.estimate) * matched_differences(result, dataset, roles)
    found = rosenbaum_bounds(oriented, result.alpha)
    return {**found, "rosenbaum_text": rosenbaum_text(found)}, {}


# --------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------

def treatment_is_binary(result: EffectResult, dataset: Dataset, roles: Roles) -> bool:
    kind = result.diagnostics.get("treatment_kind")
    if kind is not None:
        return kind == "binary"
    from .estimators._common import is_binary_treatment

    return is_binary_treatment(dataset, roles)


def wrapped_method(result: EffectResult) -> str | None:
    """The method a wrapper (bootstrap, sensitivity) ran, from its diagnostics or parameters; None otherwise."""
    inner = ((result.diagnostics.get("bootstrap") or {}).get("of") or result.diagnostics.get("sensitivity_of")
             or (result.params or {}).get("of"))
    return str(inner) if inner else None


def design_spec(result: EffectResult) -> Any:
    """The registry spec of the design behind ``result`` (a bootstrap's: the method it resampled); None if unknown."""
    from . import registry

    try:
        spec = registry.get(result.method)
        if spec.design == "wrapper":
            inner = wrapped_method(result)
            spec = registry.get(inner) if inner else spec
    except CQOxError:
        return None
    return spec


def e_value_skip_reason(result: EffectResult, dataset: Dataset, roles: Roles) -> str | None:
    """Why the E-value does not apply to this result, or None when it does."""
    spec = design_spec(result)
    # designs with one treated series register e_value=False: their outcome SD mixes trend and noise
    if spec is not None and not spec.e_value:
        return ("The E-value compares treated and untreated units with a common outcome spread; a single "
                "treated series (interrupted time series, synthetic control) has no such spread to convert.")
    if (result.estimand or "").lower() not in AVERAGE_EFFECT_ESTIMANDS:
        return (f"The E-value is defined here for an average effect of a binary treatment (ATE, ATT, ATC); "
                f"this result's estimand is {str(result.estimand).upper()}.")
    if not roles.treatment or roles.treatment not in dataset.frame.columns:
        return "The E-value needs a treatment column, and this analysis has none."
    if not treatment_is_binary(result, dataset, roles):
        return ("The treatment is continuous; the E-value here is for treated-versus-untreated contrasts. "
                "See the robustness value instead.")
    if not math.isfinite(result.estimate):
        return "The estimate is not a finite number, so there is nothing to assess."
    return None


def e_value_part(result: EffectResult, dataset: Dataset, roles: Roles) -> tuple[dict[str, Any], dict[str, str]]:
    reason = e_value_skip_reason(result, dataset, roles)
    if reason is not None:
        return {}, {"e_value": reason}
    spec = design_spec(result)
    if spec is not None and spec.design == "panel":
        # the design's own scale: within-unit variation for a continuous outcome, the comparison's post rate for 0/1
        to_rr, text = panel_risk_ratio_conversion(result.estimate, panel_outcome_scale(dataset, roles))
        return converted_e_values(result.estimate, result.ci_lower, result.ci_upper, result.alpha, to_rr, text), {}
    # absorb=True: the rows regression adjustment uses when a many-level covariate enters as fixed effects
    prep = prepare(dataset, roles, need_covariates=False, binary_treatment=True, absorb=True)
    return e_value_report(result.estimate, result.ci_lower, result.ci_upper, result.alpha, prep.y, prep.t), {}


def robustness_part(result: EffectResult, dataset: Dataset, roles: Roles,
                    full: bool = False) -> tuple[dict[str, Any], dict[str, str]]:
    spec = design_spec(result)
    if spec is None or spec.id != "regression_adjustment":
        return {}, {"robustness_value": "The robustness value is computed for regression adjustment, whose "
                                        "estimate is a regression coefficient (Cinelli & Hazlett 2020)."}
    if not {"additive_coef", "additive_t", "additive_dof"} <= set(result.diagnostics):
        return {}, {"robustness_value": "The regression fit did not report the additive model's t statistic."}
    if full:
        return robustness_report(result, dataset, roles, max_benchmarks=FULL_MAX_BENCHMARKS,
                                 contour_points=CONTOUR_POINTS_FULL)
    return robustness_report(result, dataset, roles)


def sensitivity_paragraph(report: dict[str, Any]) -> str:
    """All of the panel in one plain paragraph: the benchmark comparison (regression) or Rosenbaum's Γ
    (matching) first, then the E-value; empty when nothing applies."""
    parts = [report[k] for k in ("explain_away_text", "rosenbaum_text") if report.get(k)]
    e = report.get("e_value")
    if isinstance(e, (int, float)) and math.isfinite(e) and e > 1:
        e_ci = report.get("e_value_ci")
        ci = (f" ({e_ci:.2f} for the confidence interval to include no effect)"
              if isinstance(e_ci, (int, float)) and math.isfinite(e_ci) and e_ci > 1 else
              " (the confidence interval already includes no effect)" if e_ci == 1.0 else "")
        parts.append(f"On the risk-ratio scale, it would need to be associated with both the treatment and the "
                     f"outcome by a risk ratio of {e:.2f} each, beyond the measured covariates (E-value){ci}.")
    return " ".join(parts)


#: Benchmarks of the full panel: every covariate (capped so the table stays readable).
FULL_MAX_BENCHMARKS = 20


def sensitivity_report(result: EffectResult, dataset: Dataset, roles: Roles, *, full: bool = False) -> dict[str, Any]:
    """Every sensitivity analysis that applies to ``result``; the others listed under ``not_applicable``.

    Each part runs on its own, so a failure in one (reported under ``error``)
    does not hide the others. ``full`` (the ``sensitivity`` method) benchmarks more covariates and
    draws the contour on a finer grid.
    """
    report: dict[str, Any] = {}
    not_applicable: dict[str, str] = {}
    sources: dict[str, str] = {}
    errors: list[str] = []
    parts: tuple[tuple[str, Callable[..., tuple[dict[str, Any], dict[str, str]]], str], ...] = (
        ("e_value", e_value_part, EVALUE_SOURCE),
        ("robustness_value", functools.partial(robustness_part, full=full), RV_SOURCE),
        ("rosenbaum_gamma", rosenbaum_part, ROSENBAUM_SOURCE))
    for name, part, source in parts:
        try:
            values, skipped = part(result, dataset, roles)
        except Exception as exc:  # noqa: BLE001 -- reported below, never raised
            label = "Rosenbaum bound" if name == "rosenbaum_gamma" else name.replace("_", " ")
            errors.append(f"The {label} could not be computed on this data: {exc}")
            continue
        report.update(values)
        not_applicable.update(skipped)
        if values:
            sources[name] = source
    report["sources"] = sources
    text = sensitivity_paragraph(report)
    if text:
        report["sensitivity_text"] = text
    if full:
        report["panel"] = "full"
    if not_applicable:
        report["not_applicable"] = not_applicable
    if errors:
        report["error"] = " ".join(errors)
    return report


def attach_sensitivity(result: EffectResult, dataset: Dataset, roles: Roles) -> EffectResult:
    """The result with its sensitivity report; a failure here is reported, never raised.

    A result that already carries the full panel (the ``sensitivity`` method computed it) keeps it.
    """
    if (result.sensitivity or {}).get("panel") == "full":
        return result
    try:
        with np.errstate(all="ignore"):
            report = sensitivity_report(result, dataset, roles)
    except Exception as exc:  # noqa: BLE001 -- sensitivity must never cost the user the estimate
        report = {"error": f"Sensitivity analysis could not be computed on this data: {exc}"}
    return result.replace(sensitivity=report)
