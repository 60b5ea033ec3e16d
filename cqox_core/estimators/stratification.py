"""Subclassification on the estimated propensity score (``stratification``).

Units are cut into strata at quantiles of the estimated propensity score over
all units (quintiles by default: Rosenbaum & Rubin 1984, JASA 79:516, after
Cochran 1968, Biometrics 24:295, who showed that five subclasses remove about
90% of the bias due to one normal confounder). Within each stratum treated and
untreated are compared by Lin's interacted least squares on the covariates
(the default, ``regression_within=True``) or, with ``regression_within=False``,
by their difference in means. Stratum effects are averaged with weights n_s/N
(ATE), n1_s/N1 (ATT) or n0_s/N0 (ATC).

Why regression within strata is the default. Five fixed strata leave part of
the bias in every stratum (Cochran's 10%), and that part does not shrink with
n while the standard error does: on the test suite's confounded design the
difference in means is off by +0.25 at every n, 5 SE at n = 4,000 and 38 SE at
n = 200,000 (at 1M rows of the benchmark design it reports 2.08 for a true
2.00 with an interval of +-0.005). Regressing on the covariates inside each
stratum removes that residual imbalance, as Imbens (2015, J. Hum. Resour.
50:373) and Imbens & Rubin (2015, Ch. 17) recommend: when each potential
outcome is linear in the covariates within strata the estimate is unbiased at
every n, and when it is not, the strata still confine the regression to units
with similar scores, so what is left is the product of a small within-stratum
imbalance and the curvature (on a quadratic outcome, 0.004 at n = 200,000
where the difference in means is off by 0.25 and one global regression by
0.035). Strata that grow with n would shrink the bias too, but slowly, and
each one added costs precision: twenty strata still leave +0.043 of the +0.25,
more than 1 SE from n = 4,000 on. The difference in means stays available with
``regression_within=False`` (e.g. to reproduce a classical subclassification
table).

Standard error. Strata and the propensity score are taken as fixed and
stratum estimates as independent, V = sum_s w_s^2 V_s (Imbens & Rubin 2015,
Causal Inference for Statistics, Social, and Biomedical Sciences, Ch. 17),
with V_s = s1_s^2/n1_s + s0_s^2/n0_s for the difference in means and the HC3
variance of the stratum regression otherwise. For the ATT and the ATC with
regression within strata, which units are treated (untreated) is random, and
so are their covariate means in each stratum and the weights n1_s/N1, which
the stratum regressions take as known. Their sampling error is added with the
same delta-method term as for regression adjustment's ATT (see
``regression``): (N_t/(N_t - 1)) sum_{i in target} (tau_s(i)(X_i) - tau)^2 / N_t^2,
tau_s(X) the stratum regression's fitted effect at X, whose mean over the
stratum's target units is tau_s. The cross term with the regression residuals
is zero by the normal equations of the target arm. The interval then covers
the population ATT (ATC). For the ATE, centred at the mean of all of a
stratum's units with weights fixed by the quantiles, the HC3 sum stays as it
is (Lin 2013, as for regression adjustment). The difference-in-means variance
keeps the stratum weights fixed, as the textbook formula does. Neither
accounts for the estimation of the score or of the stratum boundaries.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np

from ..data import Dataset
from ..datasets import examples
from ..datasets.public import NSW_ROLES
from ..diagnostics import standard_diagnostics
from ..errors import EstimationError
from ..inference import ols
from ..nuisance import propensity
from ..params import at_least
from ..prep import Prepared, prepare
from ..registry import Reference, Requirements, register
from ..results import EffectResult
from ..roles import Roles
from ._common import cache_key, finish


@dataclass(frozen=True)
class StratumTable:
    """Counts, means and squared deviations per stratum and arm (index: stratum)."""

    n1: np.ndarray
    n0: np.ndarray
    mean1: np.ndarray
    mean0: np.ndarray
    ss1: np.ndarray       # sum of squared deviations from the stratum-arm mean
    ss0: np.ndarray
    lower: np.ndarray     # propensity range of the stratum's units
    upper: np.ndarray

    @property
    def size(self) -> np.ndarray:
        return self.n1 + self.n0


def assign_strata(ps: np.ndarray, n_strata: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratum label per unit and the quantile edges (right-closed bins, like pandas.qcut).

    Tied quantiles (many equal scores) leave some strata empty; they are
    simply absent, not lost.
    """
    edges = np.quantile(ps, np.linspace(0.0, 1.0, n_strata + 1))
    return np.searchsorted(edges[1:-1], ps, side="left"), edges


def tabulate(y: np.ndarray, t: np.ndarray, ps: np.ndarray, labels: np.ndarray, n_strata: int) -> StratumTable:
    """Per-stratum arm counts, means and sums of squares in O(n) with bincount (two passes)."""
    cell = 2 * labels + t.astype(int)
    size = 2 * n_strata
    counts = np.bincount(cell, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.bincount(cell, y, size) / counts
    ss = np.bincount(cell, (y - means[cell]) ** 2, size)
    lower = np.full(n_strata, np.nan)
    upper = np.full(n_strata, np.nan)
    present = np.unique(labels)
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], present)
    ends = np.searchsorted(labels[order], present, side="right")
    for s, a, b in zip(present, starts, ends):
        lower[s], upper[s] = ps[order[a:b]].min(), ps[order[a:b]].max()
    return StratumTable(n1=counts[1::2], n0=counts[0::2], mean1=means[1::2], mean0=means[0::2],
                        ss1=ss[1::2], ss0=ss[0::2], lower=lower, upper=upper)


def arm_variances(ss: np.ndarray, n: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, bool]:
    """s^2 per stratum for one arm; a lone unit borrows the arm's pooled within-stratum variance.

    Returns the variances and whether any stratum had to borrow.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        own = ss / (n - 1)
    dof = int(np.sum(n[usable]) - np.sum(usable & (n > 0)))
    pooled = float(np.sum(ss[usable]) / dof) if dof > 0 else math.nan
    lone = usable & (n == 1)
    return np.where(lone, pooled, own), bool(lone.any())


def regression_in_stratum(prep: Prepared, rows: np.ndarray,
                          estimand: str) -> tuple[float, float, np.ndarray]:
    """Effect and HC3 variance from Lin's (2013, Ann. Appl. Stat. 7:295) interacted
    regression Y ~ 1 + T + Xc + T*Xc within one stratum, with X centred at the
    stratum's target units (all, treated or controls), so the coefficient on T
    is that stratum's ATE, ATT or ATC even when effects vary with X. Third: the
    fitted effect coef_T + Xc_i' coef_{T*Xc} at each of the stratum's target
    units (mean: the stratum effect), for the variance of the ATT and ATC.

    Within a stratum covariates are often constant or collinear (every unit
    unmarried, no 1974 earnings ...). Householder QR without pivoting gives
    |R_jj| = the part of column j not explained by the columns before it, so
    columns with a negligible |R_jj| are dropped; if T itself is explained by
    the covariates the stratum has no comparison to offer (nan).
    """
    t, X = prep.t[rows], prep.X[rows]
    target = {"ate": np.ones(rows.size, bool), "att": t == 1, "atc": t == 0}[estimand]
    Xc = X - X[target].mean(axis=0)
    design = np.column_stack([np.ones(rows.size), t, Xc, Xc * t[:, None]])
    resid_norm = np.zeros(design.shape[1])       # columns beyond the row count are dependent
    diagonal = np.abs(np.diag(np.linalg.qr(design, mode="r")))
    resid_norm[:diagonal.size] = diagonal
    keep = resid_norm > 1e-8 * np.maximum(np.linalg.norm(design, axis=0), 1e-300)
    keep[0] = True
    if not keep[1] or keep.sum() >= rows.size:
        return math.nan, math.nan, np.empty(0)
    fit = ols(design[:, keep], prep.y[rows], cov_type="HC3")
    coef = np.zeros(design.shape[1])              # a dropped column adds nothing to the fitted effect
    coef[keep] = fit.coef
    return float(fit.coef[1]), float(fit.cov[1, 1]), coef[1] + Xc[target] @ coef[2 + X.shape[1]:]


def usable_strata(table: StratumTable, regression_within: bool) -> np.ndarray:
    """Strata that can give an effect: both arms present (two or more of each when
    regressing within; the regression may still find the stratum unusable)."""
    least = 2 if regression_within else 1
    return (table.n1 >= least) & (table.n0 >= least)


@dataclass(frozen=True)
class StratumEffects:
    """Effect and variance per stratum (nan where unusable), whether a variance was borrowed, and
    (regression within strata only) each stratum's fitted effects at its target units."""

    est: np.ndarray
    var: np.ndarray
    borrowed: bool
    unit_effects: dict[int, np.ndarray]


def stratum_effects(prep: Prepared, labels: np.ndarray, table: StratumTable, usable: np.ndarray,
                    regression_within: bool, estimand: str) -> StratumEffects:
    """Effect and its variance per stratum (nan where unusable); flags borrowed variances."""
    if regression_within:
        est = np.full(usable.size, np.nan)
        var = np.full(usable.size, np.nan)
        unit_effects: dict[int, np.ndarray] = {}
        for s in np.flatnonzero(usable):
            est[s], var[s], unit_effects[int(s)] = regression_in_stratum(prep, np.flatnonzero(labels == s),
                                                                         estimand)
        return StratumEffects(est, var, False, unit_effects)
    var1, borrowed1 = arm_variances(table.ss1, table.n1, usable)
    var0, borrowed0 = arm_variances(table.ss0, table.n0, usable)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = var1 / table.n1 + var0 / table.n0
    est = table.mean1 - table.mean0
    return StratumEffects(np.where(usable, est, np.nan), np.where(usable, var, np.nan), borrowed1 or borrowed0, {})


def target_mean_variance(effects: StratumEffects, usable: np.ndarray, tau: float) -> float:
    """The ATT's (ATC's) delta-method term for the sampling of the target units' covariates and of the
    weights n_t,s/N_t: (N_t/(N_t - 1)) sum_i (tau_s(i)(X_i) - tau)^2 / N_t^2 (module docstring)."""
    fitted = np.concatenate([effects.unit_effects[int(s)] for s in np.flatnonzero(usable)])
    n_target = fitted.size
    if n_target < 2:
        return math.nan
    return float(np.sum((fitted - tau) ** 2) / (n_target * (n_target - 1)))


def stratum_weights(table: StratumTable, usable: np.ndarray, estimand: str) -> np.ndarray:
    """w_s: stratum share of all units (ATE), of the treated (ATT) or of the controls (ATC)."""
    base = {"ate": table.size, "att": table.n1, "atc": table.n0}[estimand].astype(float)
    base = np.where(usable, base, 0.0)
    return base / base.sum()


def balance_weights(t: np.ndarray, labels: np.ndarray, table: StratumTable, usable: np.ndarray,
                    estimand: str) -> np.ndarray:
    """Unit weights that reproduce the stratified estimate as a weighted difference in means.

    Each arm is reweighted within its stratum to the stratum's target count
    (n_s, n1_s or n0_s); units of dropped strata get weight 0.
    """
    target = {"ate": table.size, "att": table.n1, "atc": table.n0}[estimand].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        w1 = np.where(usable, target / table.n1, 0.0)
        w0 = np.where(usable, target / table.n0, 0.0)
    return np.where(t == 1, w1[labels], w0[labels])


def strata_report(table: StratumTable, est: np.ndarray, var: np.ndarray, weights: np.ndarray,
                  usable: np.ndarray) -> list[dict]:
    """One row per non-empty stratum for the diagnostics (JSON-friendly)."""
    rows = []
    for s in np.flatnonzero(table.size > 0):
        rows.append({"stratum": int(s) + 1, "n_treated": int(table.n1[s]), "n_control": int(table.n0[s]),
                     "lower": float(table.lower[s]), "upper": float(table.upper[s]),
                     "estimate": float(est[s]), "std_error": float(math.sqrt(var[s])) if var[s] >= 0 else None,
                     "weight": float(weights[s]), "used": bool(usable[s])})
    return rows


def stratification_warnings(prep: Prepared, roles: Roles, table: StratumTable, usable: np.ndarray,
                            borrowed: bool, converged: bool, regression_within: bool) -> list[str]:
    warnings = list(prep.warnings)
    dropped = (~usable) & (table.size > 0)
    if dropped.any():
        lost1, lost0 = int(table.n1[dropped].sum()), int(table.n0[dropped].sum())
        reason = ("they lacked two or more treated and untreated units, or the covariates fully explained the "
                  "treatment within them" if regression_within else "they lacked treated or untreated units")
        warnings.append(f"{int(dropped.sum())} propensity stratum/strata were left out because {reason}, losing "
                        f"{lost1 + lost0} unit(s) ({lost1} treated, {lost0} untreated); the estimate describes "
                        "the remaining strata only.")
    if borrowed:
        warnings.append("Some strata have a single treated or untreated unit; their variance was taken from the "
                        "pooled within-stratum variance of that group.")
    # Each arm's regression in a stratum fits k + 1 terms; below 2(k + 1) units the mean leverage
    # exceeds 1/2, and HC3 inflates the average squared residual more than fourfold.
    terms = prep.X.shape[1] + 1
    thin = usable & (np.minimum(table.n1, table.n0) < 2 * terms)
    if regression_within and thin.any():
        warnings.append(f"In {int(thin.sum())} stratum/strata the smaller group has fewer than {2 * terms} units "
                        f"for the {terms} terms of its within-stratum regression, so the estimate there is "
                        "imprecise and the interval wide. Fewer strata (n_strata) or fewer covariates narrow it; "
                        "regression_within=False compares plain means (narrower, but biased by what the strata "
                        "leave unbalanced).")
    if not converged:
        warnings.append("The propensity model did not converge (the covariates may nearly separate the groups); "
                        "the strata rest on an unstable score.")
    if roles.weight:
        warnings.append("Stratification ignores the sampling-weight column; the estimate is unweighted.")
    if roles.cluster:
        warnings.append("The stratified standard error assumes independent rows; the cluster column is not used.")
    return warnings


def no_stratum_error(regression_within: bool) -> EstimationError:
    hint = "Use fewer strata (n_strata), check the overlap of the groups, or try matching."
    if regression_within:
        hint = ("Use fewer strata (n_strata) or fewer covariates (each stratum's regression needs more rows than "
                "terms), check the overlap of the groups, or compare the plain difference in means "
                "(regression_within=False).")
    return EstimationError("No propensity stratum holds both treated and untreated units (with enough rows): "
                           "there is no like-for-like comparison to make.", hint, code="E-EST-011")


@register("stratification", family="selection_on_observables", design="cross_section", estimands=("ate", "att", "atc"),
          requires=Requirements(roles=("outcome", "treatment", "covariates"), treatment="binary"),
          title="Propensity score stratification",
          summary="Sorts units into groups with a similar estimated chance of treatment, compares treated and "
                  "untreated within each group, and averages the group differences.",
          inference="pooled within-stratum variance",
          params={
              "n_strata": "Number of propensity-score groups; 5 removes about 90% of the bias from the score "
                          "(Cochran 1968).",
              "regression_within": "Also adjust for the covariates by regression inside each stratum.",
          },
          headline_rank=60, example=examples.confounded, transparency=0.95, cost_exponent=1.1,
          references=(
              # statsmodels Logit score, pandas.qcut strata, groupby means and variances
              *(Reference(quantity, value, 1e-9, relative=True, data="causaldata:nsw_mixtape", roles=NSW_ROLES,
                          params={"estimand": estimand, "n_strata": n_strata, "regression_within": False},
                          source="statsmodels 0.15 Logit + pandas 3.1 qcut/groupby stratified difference in means, "
                                 "on the NSW experimental sample",
                          script="tests/estimators/references/scripts/stratification_nsw_pandas.py",
                          why_tolerance="the same strata, means and variances: exact up to summation order, 1e-9 "
                                        "relative as test_agrees_with_pandas_groupby_on_nsw")
                for n_strata, estimand, quantity, value in (
                    (5, "ate", "estimate", 1586.5985047221152), (5, "ate", "std_error", 693.506557542785),
                    (5, "att", "estimate", 1796.1365890407124), (5, "att", "std_error", 679.1798269658906),
                    (5, "atc", "estimate", 1437.5040985723444), (5, "atc", "std_error", 725.4859453090413),
                    (10, "ate", "estimate", 1781.151076884922), (10, "ate", "std_error", 697.8351456043788),
                    (10, "att", "estimate", 2132.762428238629), (10, "att", "std_error", 659.4731790567499))),
              *(Reference("estimate", 1794.34, tolerance, data="causaldata:nsw_mixtape", roles=NSW_ROLES,
                          params={"estimand": estimand, "regression_within": within},
                          source="LaLonde (1986); Dehejia & Wahba (1999): NSW experimental benchmark, treated "
                                 "minus control mean 1978 earnings ($1794; 1794.34 on causaldata.nsw_mixtape)",
                          script="printed in the source",
                          why_tolerance=f"2 SE of this estimate (SE {se}, rounded down), the band of "
                                        "test_nsw_estimates_sit_near_the_experimental_benchmark")
                for estimand, within, tolerance, se in (
                    ("ate", False, 1387.0, "693.51"), ("ate", True, 1784.0, "892.37"),
                    ("att", False, 1358.0, "679.18"), ("att", True, 3057.0, "1528.83"))),
          ))
def stratification(data: Dataset, roles: Roles, *, estimand: Literal["ate", "att", "atc"] = "ate",
                   alpha: float = 0.05, seed: int = 0, n_strata: Annotated[int, at_least(2)] = 5,
                   regression_within: bool = True) -> EffectResult:
    """Subclassification on propensity-score quantiles (Rosenbaum & Rubin 1984) with, by default,
    Lin's interacted regression inside each stratum (module docstring: why that is the default).

    Deterministic: ``seed`` is accepted for the common signature but unused.
    """
    prep = prepare(data, roles)
    fit = propensity(prep.X, prep.t, key=cache_key(data, roles, "logit"))
    ps = fit.fitted
    labels, _ = assign_strata(ps, int(n_strata))
    table = tabulate(prep.y, prep.t, ps, labels, int(n_strata))
    usable = usable_strata(table, regression_within)
    if not usable.any():
        raise no_stratum_error(regression_within)
    effects = stratum_effects(prep, labels, table, usable, regression_within, estimand)
    est, var, borrowed = effects.est, effects.var, effects.borrowed
    usable &= np.isfinite(est) & np.isfinite(var)
    if not usable.any():
        raise no_stratum_error(regression_within)
    weights = stratum_weights(table, usable, estimand)
    tau = float(np.sum(weights[usable] * est[usable]))
    variance = float(np.sum(weights[usable] ** 2 * var[usable]))
    target_term = regression_within and estimand in ("att", "atc")
    if target_term:
        variance += target_mean_variance(effects, usable, tau)
    se = math.sqrt(variance) if variance >= 0 else math.nan
    diagnostics = standard_diagnostics(prep, ps=ps, weights=balance_weights(prep.t, labels, table, usable, estimand))
    diagnostics.update(strata=strata_report(table, est, var, weights, usable), n_strata=int(n_strata),
                       strata_used=int(usable.sum()),
                       units_dropped=int(table.size[~usable].sum()), propensity_converged=bool(fit.converged))
    warnings = stratification_warnings(prep, roles, table, usable, borrowed, fit.converged, regression_within)
    se_method = ("stratified variance sum_s w_s^2 (s1^2/n1 + s0^2/n0), strata and propensity score taken as fixed"
                 if not regression_within else
                 "stratified variance sum_s w_s^2 V_s with HC3 variances of the within-stratum regressions"
                 + (", plus the delta-method term for the estimated covariate means and weights of the "
                    f"{'treated' if estimand == 'att' else 'untreated'}" if target_term else "")
                 + ", strata and propensity score taken as fixed")
    return finish("stratification", estimand, tau, se, alpha=alpha, n_obs=prep.n, se_method=se_method,
                  estimand_label=f"{estimand.upper()} in the strata kept" if diagnostics["units_dropped"] else "",
                  diagnostics=diagnostics, warnings=warnings)
