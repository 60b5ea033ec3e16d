"""Staggered adoption difference-in-differences (Callaway & Sant'Anna 2021).

`staggered_did` estimates a group-time average treatment effect ATT(g,t) for
every cohort g (units first treated in period g) and period t, each from a
clean 2x2 comparison: the change in outcomes of cohort g between a base period
and t, against the same change for a comparison group that is untreated in
both periods (Callaway & Sant'Anna 2021, J. Econometrics 225:200, Thm. 1):

    never_treated     C = {G = 0}                                        (eq. 2.5)
    not_yet_treated   C = {G = 0} or {G > max(t, base), G != g}           (eq. 2.6)

Base period as in the R `did` package (att_gt, base_period=): "varying" uses
g-1 for post-treatment cells and t-1 for pre-treatment cells (short
differences, so the pre-period cells test parallel trends one step at a time);
"universal" uses g-1 for every cell, and the cell t = g-1 is the reference,
fixed at 0.

Each cell is a two-period panel estimate on the cohort-g and comparison units
(the panel estimators of Sant'Anna & Zhao 2020, J. Econometrics 219:101, as in
DRDID::drdid_panel / std_ipw_did_panel / reg_did_panel), with
dY = Y_t - Y_base, D = 1{G = g} and covariates X taken in the base period:

    reg  ATT = mean_{D=1}[dY - X'b]              b: OLS of dY on X, D = 0      (eq. 2.2)
    ipw  ATT = sum D dY / sum D - sum w0 dY / sum w0,  w0 = (1-D) p/(1-p)       (eq. 2.3)
    dr   ATT = sum w1 (dY - X'b)/sum w1 - sum w0 (dY - X'b)/sum w0, w1 = D     (eq. 3.1)

with p the logit propensity of D given X. Each comes with its influence
function, including the estimation effect of b and of the propensity score
(Sant'Anna & Zhao 2020, Sec. 3 and App.; the same expressions as DRDID), so
Var(ATT) is mean(IF^2)/n. As in DRDID, p is capped at 1 - 1e-6 and comparison
units with p >= 0.995 get weight 0. Without covariates the three estimators
are the same number: the 2x2 difference in mean changes.

Aggregations (Callaway & Sant'Anna 2021, Sec. 4.1 eqs. 4.1-4.3; the R `did`
package's compute.aggte):

    simple    sum_{t>=g} P(G=g) ATT(g,t) / sum_{t>=g} P(G=g)   (the headline)
    dynamic   theta(e) = sum_g P(G=g | G+e in sample) ATT(g, g+e), e = t - g
    group     theta(g) = mean_{t>=g} ATT(g,t); overall = sum_g P(G=g) theta(g)
    calendar  theta(t) = sum_{g<=t} P(G=g | g<=t) ATT(g,t);  overall = mean_t

The influence function of each aggregate is the weighted sum of the cell
influence functions plus the estimated-weights term ("wif" in compute.aggte):
with S = sum_k pg_k over the cells k used,
    wif_k = (1{G=g_k} - pg_k)/S - [sum_j (1{G=g_j} - pg_j)] pg_k / S^2.

Inference: the multiplier bootstrap of Callaway & Sant'Anna (2021, Sec. 4.2,
Algorithm 1; `did`'s mboot): b = mean_i V_i IF_i with i.i.d. Mammen (or
Rademacher) multipliers V_i per unit, so dependence within a unit over time is
kept (clustered by unit). Standard errors are the bootstrap interquartile
range / (z_.75 - z_.25); the uniform band uses the 1 - alpha quantile of
max_k |b_k| / se_k over the set (all ATT(g,t) cells; all event times). The
analytic SEs sqrt(mean(IF^2)/n) are reported beside them.

Pre-trend test (`pre_trends_p`, read by the pre_trends gate): a sup-t test, i.e.
the smallest alpha at which a simultaneous (sup-t) band around the pre-treatment
estimates excludes zero somewhere (Montiel Olea & Plagborg-Moller 2019, J. Appl.
Econometrics 34:1; the uniform bands of Callaway & Sant'Anna 2021, Sec. 4.2).
The estimates tested together are every pre-period ATT(g,t) (a violation in one
cohort and period), every event-time effect theta(e), e < 0 (anticipation shared
by the cohorts), each cohort's mean pre-period ATT(g,t) and their size-weighted
mean (a steady drift: with base_period="varying" a cohort's mean short
difference is its pre-period slope against the comparison group).

Why not the joint Wald test n theta' V^-1 theta against chi-square(q) that `did`
reports: V is estimated from n units for q pre-period estimates, and a weekly
panel easily has q comparable to n (60 units x 52 weeks with three cohorts:
91 pre-period cells, 41 event times). V is then singular or nearly so, and even
when invertible the chi-square reference is far off (for a mean, the statistic is
Hotelling's T^2 = q(n-1)/(n-q) F(q, n-q), not chi-square(q)): on parallel
trends it returned p < 1e-20. `did` and moderndid refuse their Wald test when V
is singular; the maximum needs no inverse and stays valid even with q larger
than n (Chernozhukov, Chetverikov & Kato 2013, Ann. Statist. 41:2786).

Its null distribution is that of max_k |b_k| / se_k over Gaussian multiplier
draws b = mean_i V_i IF_i, V_i ~ N(0, 1) (CCK 2013): exactly normal given the
data. The two-point weights of the main bootstrap are not used here: averaged
over the 15-30 units of a cohort comparison they have lighter tails than the
normal, and the maximum of dozens of estimates is decided in the far tail (on
parallel trends with 60 units x 52 weeks the test over cells and event times
rejected 6.5% of 900 panels at alpha 0.05 with Mammen weights, 4.8% with Gaussian
ones). Each estimate rests on few units per cohort, so its own t-statistic is
heavier-tailed than normal; before taking the maximum each |t_k| is mapped to
the normal quantile with the same tail probability under t(df_k):
    t_k uses the influence function scaled by sqrt(n_c/m_c) for a unit of an
    adoption cohort of n_c units (never treated is one cohort), m_c = n_c - 1 - k
    with k covariates (without covariates this is HC2, unbiased for the 2x2
    difference of means),
    df_k = (sum_c v_c)^2 / sum_c v_c^2/m_c over the cohorts' variance parts v_c
    (Welch-Satterthwaite; Welch's t-test exactly for one 2x2 cell).
Charging k to every cohort is a conservative allowance for the outcome
regression and propensity fits (Bell-McCaffrey df would need each cell's hat
matrix): in simulation with two covariates and cohorts of 10 the dr test
rejected 3% (11% without the allowance), with cohorts of 15 5.5% (8%).
p = (1 + #{draws >= observed}) / (1 + draws); when no draw reaches it, the
Bonferroni bound q * 2 Phi(-max) if smaller (still a valid p-value). The draws
are n_boot, or 999 when n_boot = 0. Size and power are checked by Monte Carlo
in tests/test_pretrend_size.py.

As Roth (2022, AER: Insights 4:305) shows, a pre-test has limited power and
passing it does not establish parallel trends; conditioning on passing also
distorts the post-period estimates. It flags clear violations; it does not
certify the design. `pre_trends_gt_p` is `did`'s cell-level Wald pre-test,
reported for comparison with `did` only, and NaN when V is singular (as `did`
does).

Event time counts periods (positions in the sorted list of observed periods),
so unevenly spaced periods are read as consecutive; with yearly data e = t - g.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..data import Dataset
from ..datasets import examples
from ..errors import EstimationError
from ..inference import wald
from ..nuisance import fit_logit
from ..panel import prepare_panel
from ..params import Range
from ..prep import design_matrix, independent_columns
from ..registry import Reference, Requirements, register
from ..results import EffectResult, SubEstimate
from ..roles import Roles
from . import _common
from ._common import finish, period_label

ControlGroup = Literal["never_treated", "not_yet_treated"]
BasePeriod = Literal["varying", "universal"]
EstMethod = Literal["dr", "ipw", "reg"]
BootstrapWeights = Literal["mammen", "rademacher"]

#: Comparison units with a propensity score at or above this get weight 0 (DRDID's trim.level).
TRIM_LEVEL = 0.995
#: Propensity scores are capped here so p/(1-p) stays finite (DRDID).
PS_CAP = 1.0 - 1e-6
#: Bootstrap draws processed at once are limited so the multiplier block stays near 40 MB.
BOOT_BLOCK_CELLS = 5_000_000
#: Columns whose bootstrap spread is below this are degenerate (the reference cell); `did` uses the same.
DEGENERATE = math.sqrt(np.finfo(float).eps) * 10
NEVER = -1
#: Bootstrap draws of the pre-trend test when the main bootstrap is off (n_boot = 0).
PRETEST_DRAWS = 999
PRETEST_NAME = ("sup-t over the pre-treatment effects: ATT(g,t), event times and cohort means (largest |t| "
                "with small-sample t tails; Gaussian multiplier bootstrap)")


# ---------------------------------------------------------------------------
# The balanced wide panel
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class WidePanel:
    """Outcomes as a units x periods matrix, covariates as units x periods x k.

    ``adopt`` holds each unit's first treated period as a position in
    ``periods`` (NEVER = -1 for never-treated units).
    """

    y: np.ndarray
    x: np.ndarray
    x_names: tuple[str, ...]
    adopt: np.ndarray
    periods: np.ndarray
    warnings: tuple[str, ...]
    dropped_first_period: int
    dropped_unbalanced: int

    @property
    def n_units(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_periods(self) -> int:
        return int(self.y.shape[1])


def balance_units(frame: pd.DataFrame, warnings: list[str]) -> tuple[pd.DataFrame, int]:
    """Keep units observed in every period (the panel estimator needs each unit's change).

    Like the R `did` package's default (allow_unbalanced_panel = FALSE), units
    missing a period are dropped with a warning rather than refused.
    """
    n_periods = frame["time"].nunique()
    counts = frame.groupby("unit", sort=False)["time"].transform("size")
    incomplete = counts < n_periods
    n_dropped = int(frame.loc[incomplete, "unit"].nunique())
    if n_dropped:
        frame = frame.loc[~incomplete]
        if frame.empty:
            raise EstimationError("No unit is observed in every period, so no unit's change over time can be "
                                  "computed.", "Fill the missing unit-periods, or restrict the data to the "
                                  "periods most units share.", code="E-EST-032")
        warnings.append(f"{n_dropped} unit(s) missing some periods were left out: this estimator needs a "
                        "balanced panel (every unit in every period).")
    return frame, n_dropped


def adoption_from_cohort(frame: pd.DataFrame, periods: np.ndarray, warnings: list[str]) -> np.ndarray:
    """Position of the first period >= the cohort value; 0 (or a value after the data) means never."""
    cohort = frame.groupby("unit", sort=True)["cohort"].first()
    if np.issubdtype(periods.dtype, np.datetime64):
        raise EstimationError("The cohort column holds numbers but the time column holds dates, so first "
                              "treated periods cannot be placed on the time axis.",
                              "Leave out --cohort (the first treated period is then read from the treatment "
                              "column), or give time as a period number.", code="E-EST-035")
    g = cohort.to_numpy(dtype=float)
    later = (g > periods[-1])
    if later.any():
        warnings.append(f"{int(later.sum())} unit(s) adopt after the last period and count as never treated "
                        "here.")
    adopt = np.searchsorted(periods.astype(float), g, side="left")
    return np.where((g == 0) | later, NEVER, adopt)


def adoption_from_treatment(frame: pd.DataFrame, time_pos: np.ndarray, n_units: int,
                            unit_pos: np.ndarray, warnings: list[str]) -> np.ndarray:
    """First period with treatment 1 per unit; warns when treatment switches off again."""
    d = frame["d"].to_numpy() == 1
    first = np.full(n_units, np.iinfo(np.int64).max)
    np.minimum.at(first, unit_pos[d], time_pos[d])
    adopt = np.where(first == np.iinfo(np.int64).max, NEVER, first)
    ever = adopt[unit_pos] != NEVER
    switched_off = ever & (time_pos > adopt[unit_pos]) & ~d
    n_off = int(np.unique(unit_pos[switched_off]).size)
    if n_off:
        warnings.append(f"{n_off} unit(s) stop being treated after they start; staggered adoption assumes "
                        "treatment stays on, so they are analysed by their first treated period.")
    return adopt


def drop_first_period_adopters(wide: dict[str, Any], warnings: list[str]) -> int:
    """Units treated in the first period have no pre-treatment period to compare against."""
    first = wide["adopt"] == 0
    n_first = int(first.sum())
    if not n_first:
        return 0
    keep = ~first
    for key in ("y", "x", "adopt"):
        wide[key] = wide[key][keep]
    if not (wide["adopt"] > 0).any():
        raise EstimationError("Every treated unit is already treated in the first period, so there is no "
                              "before-and-after comparison for any of them.",
                              "Include earlier periods (before treatment starts), or use a cross-sectional "
                              "method.", code="E-EST-022")
    warnings.append(f"{n_first} unit(s) already treated in the first period were left out: they have no "
                    "untreated period to compare against.")
    return n_first


def wide_panel(data: Dataset, roles: Roles) -> WidePanel:
    """Validate the long panel, balance it and reshape it to units x periods."""
    panel = prepare_panel(data, roles)
    warnings = list(panel.warnings)
    frame, n_unbalanced = balance_units(panel.frame, warnings)
    frame = frame.sort_values(["unit", "time"], kind="stable")
    periods = np.sort(frame["time"].unique())
    unit_pos, units = pd.factorize(frame["unit"], sort=True)
    time_pos = np.searchsorted(periods, frame["time"].to_numpy())
    n_units, n_periods = units.size, periods.size
    y = frame["y"].to_numpy(dtype=float).reshape(n_units, n_periods)
    dropped: list[str] = []
    x_long, x_names = design_matrix(frame, roles.covariates, dropped)
    if dropped:
        warnings.append(f"Covariate term(s) {', '.join(dropped)} are constant or duplicate others and were "
                        "left out.")
    x = x_long.reshape(n_units, n_periods, x_long.shape[1])
    if x.shape[2] and np.any(np.ptp(x, axis=1) > 0):
        warnings.append("Some covariates change over time within units; each comparison uses their values in "
                        "its base period.")
    if "cohort" in frame:
        adopt = adoption_from_cohort(frame, periods, warnings)
    else:
        adopt = adoption_from_treatment(frame, time_pos, n_units, unit_pos, warnings)
    wide = {"y": y, "x": x, "adopt": adopt}
    if not (adopt != NEVER).any():
        raise EstimationError("No unit is ever treated, so there is no effect to estimate.",
                              "Check the treatment column: it should be 1 in treated unit-periods.",
                              code="E-EST-021")
    n_first = drop_first_period_adopters(wide, warnings)
    return WidePanel(y=wide["y"], x=wide["x"], x_names=x_names, adopt=wide["adopt"].astype(int),
                     periods=periods, warnings=tuple(warnings), dropped_first_period=n_first,
                     dropped_unbalanced=n_unbalanced)


def check_cohorts(wp: WidePanel, control_group: str, warnings: list[str]) -> None:
    """Typed error without never-treated units under never_treated; warn about one-unit cohorts."""
    if control_group == "never_treated" and not (wp.adopt == NEVER).any():
        raise EstimationError("No unit stays untreated through the last period, so there is no never-treated "
                              "comparison group.",
                              "Use control_group='not_yet_treated' (--param control_group=not_yet_treated), "
                              "which compares each cohort with units treated later.", code="E-EST-024")
    cohorts, sizes = np.unique(wp.adopt[wp.adopt != NEVER], return_counts=True)
    single = [period_label(wp.periods[g]) for g, s in zip(cohorts, sizes) if s == 1]
    if single:
        warnings.append(f"Cohort(s) {', '.join(single)} have a single unit: their effects rest on one unit and "
                        "their standard errors are unreliable.")


# ---------------------------------------------------------------------------
# One ATT(g,t) cell: the two-period panel estimators of Sant'Anna & Zhao (2020)
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CellFit:
    att: float
    influence: np.ndarray   # over the cell's units; Var(att) ~ mean(IF^2) / n_cell
    trimmed: int


def usable_columns(x: np.ndarray) -> np.ndarray:
    """[1, X] with columns constant or collinear within this cell left out."""
    varying = np.flatnonzero(np.ptp(x, axis=0) > 0) if x.shape[1] else np.array([], dtype=int)
    x = x[:, varying]
    keep = independent_columns(x) if x.shape[1] else []
    return np.column_stack([np.ones(x.shape[0]), x[:, keep]])


def outcome_regression(dy: np.ndarray, d: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fitted E[dY | X, D=0] and the OLS asymptotic linear representation (rows: i)."""
    control = d == 0
    coef = np.linalg.lstsq(z[control], dy[control], rcond=None)[0]
    fitted = z @ coef
    xpx_inv = np.linalg.pinv(z[control].T @ z[control] / dy.size)
    return fitted, (((1 - d) * (dy - fitted))[:, None] * z) @ xpx_inv


def propensity_score(d: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logit P(D=1 | X) (capped at 1 - 1e-6) and the MLE asymptotic linear representation."""
    fit = fit_logit(z[:, 1:], d)
    p = np.minimum(fit.fitted, PS_CAP)
    hessian = (z * (p * (1 - p))[:, None]).T @ z / d.size
    return p, ((d - p)[:, None] * z) @ np.linalg.pinv(hessian)


def dr_cell(dy: np.ndarray, d: np.ndarray, z: np.ndarray, method: str) -> CellFit:
    """drdid_panel ("dr") or std_ipw_did_panel ("ipw") of Sant'Anna & Zhao (2020).

    IF = [w1 (r - eta1) - ALR_ols M1] / mean(w1)
         - [w0 (r - eta0) + ALR_ps M2 - ALR_ols M3] / mean(w0),
    r = dY - X'b (r = dY for ipw), M1 = E[w1 X], M2 = E[w0 (r - eta0) X], M3 = E[w0 X].
    """
    p, alr_ps = propensity_score(d, z)
    keep = np.where(d == 1, True, p < TRIM_LEVEL)
    if method == "dr":
        fitted, alr_ols = outcome_regression(dy, d, z)
    else:
        fitted, alr_ols = np.zeros_like(dy), np.zeros_like(z)
    w1 = keep * d
    w0 = keep * p * (1 - d) / (1 - p)
    r = dy - fitted
    eta1 = float(np.mean(w1 * r) / np.mean(w1))
    eta0 = float(np.mean(w0 * r) / np.mean(w0))
    inf_treat = (w1 * (r - eta1) - alr_ols @ np.mean(w1[:, None] * z, axis=0)) / np.mean(w1)
    inf_control = (w0 * (r - eta0) + alr_ps @ np.mean((w0 * (r - eta0))[:, None] * z, axis=0)
                   - alr_ols @ np.mean(w0[:, None] * z, axis=0)) / np.mean(w0)
    return CellFit(eta1 - eta0, inf_treat - inf_control, int(np.sum(~keep)))


def reg_cell(dy: np.ndarray, d: np.ndarray, z: np.ndarray) -> CellFit:
    """reg_did_panel (Heckman, Ichimura & Todd 1997 outcome regression on the change).

    IF = d (dY - eta1)/mean(d) - [d (X'b - eta0) + ALR_ols E[d X]] / mean(d).
    """
    fitted, alr_ols = outcome_regression(dy, d, z)
    eta1 = float(np.mean(d * dy) / np.mean(d))
    eta0 = float(np.mean(d * fitted) / np.mean(d))
    inf_treat = d * (dy - eta1) / np.mean(d)
    inf_control = (d * (fitted - eta0) + alr_ols @ np.mean(d[:, None] * z, axis=0)) / np.mean(d)
    return CellFit(eta1 - eta0, inf_treat - inf_control, 0)


def cell_estimate(dy: np.ndarray, d: np.ndarray, x: np.ndarray, method: str) -> CellFit:
    z = usable_columns(x)
    return reg_cell(dy, d, z) if method == "reg" else dr_cell(dy, d, z, method)


# ---------------------------------------------------------------------------
# All ATT(g,t) cells
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    group: int          # position of the cohort's first treated period
    time: int
    base: int
    att: float
    n_treated: int
    n_comparison: int
    trimmed: int = 0
    reference: bool = False

    @property
    def event(self) -> int:
        return self.time - self.group

    @property
    def post(self) -> bool:
        return self.time >= self.group


def cell_plan(cohorts: np.ndarray, n_periods: int, base_period: str) -> list[tuple[int, int, int]]:
    """(g, t, base) for every cell; `did`'s att_gt loop over groups and periods."""
    plan = []
    for g in cohorts:
        for t in range(1 if base_period == "varying" else 0, n_periods):
            base = g - 1 if (base_period == "universal" or t >= g) else t - 1
            plan.append((int(g), t, int(base)))
    return plan


def comparison_mask(adopt: np.ndarray, g: int, t: int, base: int, control_group: str) -> np.ndarray:
    """Never-treated units, or also units not yet treated by max(t, base) (CS 2021 eqs. 2.5, 2.6)."""
    never = adopt == NEVER
    if control_group == "never_treated":
        return never
    return never | ((adopt > max(t, base)) & (adopt != g))


def group_time_effects(wp: WidePanel, control_group: str, base_period: str, method: str,
                       warnings: list[str]) -> tuple[list[Cell], np.ndarray]:
    """Every estimable ATT(g,t) and its influence function over all n units (columns)."""
    n = wp.n_units
    cohorts = np.unique(wp.adopt[wp.adopt != NEVER])
    cells: list[Cell] = []
    columns: list[np.ndarray] = []
    empty: list[str] = []
    for g, t, base in cell_plan(cohorts, wp.n_periods, base_period):
        treated = wp.adopt == g
        if t == base:  # universal base period: the reference cell is 0 by construction
            cells.append(Cell(g, t, base, 0.0, int(treated.sum()), 0, reference=True))
            columns.append(np.zeros(n))
            continue
        comparison = comparison_mask(wp.adopt, g, t, base, control_group)
        if not comparison.any():
            empty.append(f"g={period_label(wp.periods[g])},t={period_label(wp.periods[t])}")
            continue
        rows = treated | comparison
        dy = wp.y[rows, t] - wp.y[rows, base]
        fit = cell_estimate(dy, treated[rows].astype(float), wp.x[rows, base, :], method)
        influence = np.zeros(n)
        influence[rows] = fit.influence * n / rows.sum()   # `did`: (n / n1) * att.inf.func
        cells.append(Cell(g, t, base, fit.att, int(treated.sum()), int(comparison.sum()), fit.trimmed))
        columns.append(influence)
    if empty:
        warnings.append(f"{len(empty)} cohort-period cell(s) have no comparison units (nobody is still "
                        f"untreated then) and are left out: {', '.join(empty[:6])}"
                        + (" ..." if len(empty) > 6 else "."))
    if not any(not c.reference for c in cells):
        raise EstimationError("No cohort has comparison units in any period, so no group-time effect can be "
                              "estimated.", "Add never-treated units, or use control_group='not_yet_treated' "
                              "with cohorts that adopt at different times.", code="E-EST-033")
    return cells, np.column_stack(columns)


# ---------------------------------------------------------------------------
# Aggregation with the estimated-weights term (CS 2021 Sec. 4; did::compute.aggte)
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Aggregate:
    label: str
    estimate: float
    influence: np.ndarray
    n_treated: int


def weight_influence(adopt: np.ndarray, cohorts: np.ndarray, pg: np.ndarray) -> np.ndarray:
    """Influence of estimating the weights pg_k / sum pg (compute.aggte's `wif`), units x cells."""
    share = pg.sum()
    centred = (adopt[:, None] == cohorts[None, :]).astype(float) - pg[None, :]
    return centred / share - np.outer(centred.sum(axis=1), pg / share ** 2)


def weighted_aggregate(label: str, keep: np.ndarray, cells: list[Cell], att: np.ndarray, infl: np.ndarray,
                       adopt: np.ndarray, pg: np.ndarray, sizes: dict[int, int]) -> Aggregate:
    """sum_k pg_k ATT_k / sum pg_k over the kept cells, IF with the estimated-weights term."""
    idx = np.flatnonzero(keep)
    cohorts = np.array([cells[k].group for k in idx])
    weights = pg[idx] / pg[idx].sum()
    influence = infl[:, idx] @ weights + weight_influence(adopt, cohorts, pg[idx]) @ att[idx]
    return Aggregate(label, float(weights @ att[idx]), influence, sum(sizes[g] for g in set(cohorts.tolist())))


def mean_aggregate(label: str, parts: list[Aggregate], n_treated: int) -> Aggregate:
    """Plain average of already aggregated effects (no estimated weights)."""
    return Aggregate(label, float(np.mean([p.estimate for p in parts])),
                     np.mean([p.influence for p in parts], axis=0), n_treated)


@dataclass(frozen=True)
class Aggregations:
    simple: Aggregate
    dynamic: list[Aggregate]
    dynamic_overall: Aggregate
    group: list[Aggregate]
    group_overall: Aggregate
    calendar: list[Aggregate]
    calendar_overall: Aggregate


def aggregate(cells: list[Cell], infl: np.ndarray, wp: WidePanel) -> Aggregations:
    """The four aggregations of compute.aggte; event times in period positions."""
    n = wp.n_units
    cohorts, counts = np.unique(wp.adopt[wp.adopt != NEVER], return_counts=True)
    sizes = dict(zip(cohorts.tolist(), counts.tolist()))
    att = np.array([c.att for c in cells])
    pg = np.array([sizes[c.group] / n for c in cells])
    group_of = np.array([c.group for c in cells])
    time_of = np.array([c.time for c in cells])
    event_of = time_of - group_of
    post = event_of >= 0
    if not post.any():
        raise EstimationError("No cohort has comparison units after it starts treatment, so no treatment effect "
                              "can be estimated (only pre-treatment comparisons).",
                              "Add never-treated units or later-adopting cohorts.", code="E-EST-033")
    total = sum(sizes.values())
    simple = weighted_aggregate("simple", post, cells, att, infl, wp.adopt, pg, sizes)
    dynamic = [weighted_aggregate(f"e={e}", event_of == e, cells, att, infl, wp.adopt, pg, sizes)
               for e in np.unique(event_of)]
    dynamic_post = [a for a, e in zip(dynamic, np.unique(event_of)) if e >= 0]
    group = []
    for g in np.unique(group_of[post]):
        idx = np.flatnonzero(post & (group_of == g))
        group.append(Aggregate(period_label(wp.periods[g]), float(att[idx].mean()), infl[:, idx].mean(axis=1),
                               sizes[int(g)]))
    present = np.unique(group_of[post])
    pgg = np.array([sizes[int(g)] / n for g in present])
    theta = np.array([a.estimate for a in group])
    group_infl = np.column_stack([a.influence for a in group])
    group_overall = Aggregate("group", float(theta @ pgg / pgg.sum()),
                              group_infl @ (pgg / pgg.sum()) + weight_influence(wp.adopt, present, pgg) @ theta,
                              sum(sizes[int(g)] for g in present))
    calendar = [weighted_aggregate(period_label(wp.periods[t]), post & (time_of == t), cells, att, infl,
                                   wp.adopt, pg, sizes) for t in np.unique(time_of[post])]
    return Aggregations(simple=simple, dynamic=dynamic,
                        dynamic_overall=mean_aggregate("dynamic", dynamic_post, total),
                        group=group, group_overall=group_overall, calendar=calendar,
                        calendar_overall=mean_aggregate("calendar", calendar, total))


# ---------------------------------------------------------------------------
# Inference: analytic SEs, multiplier bootstrap, uniform bands, pre-trend test
# ---------------------------------------------------------------------------

def analytic_se(infl: np.ndarray) -> np.ndarray:
    """sqrt(mean(IF^2) / n) per column (did's getSE without the bootstrap)."""
    infl = np.atleast_2d(infl.T).T
    se = np.sqrt(np.mean(infl ** 2, axis=0) / infl.shape[0])
    return np.where(se > DEGENERATE / math.sqrt(infl.shape[0]), se, np.nan)


def multipliers(rng: np.random.Generator, shape: tuple[int, int], kind: str) -> np.ndarray:
    """Mammen (1993) two-point weights (mean 0, variance 1, third moment 1) or Rademacher signs."""
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=shape)
    root5 = math.sqrt(5.0)
    low, high = (1 - root5) / 2, (1 + root5) / 2
    return np.where(rng.random(shape) < (1 + root5) / (2 * root5), low, high)


def bootstrap_draws(infl: np.ndarray, n_boot: int, seed: int, kind: str) -> np.ndarray:
    """n_boot x columns draws of mean_i V_i IF_i (CS 2021 Algorithm 1), V_i one multiplier per unit."""
    rng = np.random.default_rng(seed)
    n = infl.shape[0]
    block = max(1, min(n_boot, BOOT_BLOCK_CELLS // max(n, 1)))
    out = np.empty((n_boot, infl.shape[1]))
    for start in range(0, n_boot, block):
        stop = min(n_boot, start + block)
        out[start:stop] = multipliers(rng, (stop - start, n), kind) @ infl / n
    return out


def bootstrap_se(draws: np.ndarray, n: int) -> np.ndarray:
    """Interquartile range / (z_.75 - z_.25) of the draws (did's mboot), NaN when degenerate."""
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0, method="inverted_cdf")
    se = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    return np.where(se * math.sqrt(n) > DEGENERATE, se, np.nan)


def uniform_critical_value(draws: np.ndarray, se: np.ndarray, alpha: float) -> float:
    """1 - alpha quantile of max_k |draw_k / se_k| over the non-degenerate columns (sup-t band)."""
    ok = np.isfinite(se)
    if not ok.any():
        return math.nan
    sup = np.max(np.abs(draws[:, ok] / se[ok]), axis=1)
    return float(np.quantile(sup, 1 - alpha, method="inverted_cdf"))


def wald_pretest(estimates: np.ndarray, infl: np.ndarray) -> tuple[float, int, float]:
    """W = n theta' V^-1 theta with V = IF'IF / n against chi-square(q) (did's att_gt pre-test).

    Like `did` and moderndid, no statistic is returned (NaN) when V is singular: with as many
    pre-period cells as units the inverse does not exist and a pseudo-inverse makes W enormous.
    """
    ok = np.isfinite(analytic_se(infl)) if infl.size else np.zeros(0, dtype=bool)
    if not ok.any():
        return math.nan, 0, math.nan
    theta, sub = estimates[ok], infl[:, ok]
    n = sub.shape[0]
    cov = sub.T @ sub / n
    if int(np.linalg.matrix_rank(cov)) < cov.shape[0]:
        return math.nan, int(cov.shape[0]), math.nan
    stat = float(n * theta @ np.linalg.solve(cov, theta))
    return stat, int(cov.shape[0]), float(stats.chi2.sf(stat, cov.shape[0]))


@dataclass(frozen=True)
class SupTPretest:
    """The sup-t pre-trend test (see "Pre-trend test" in the module docstring)."""

    stat: float                 # largest |t| on the normal scale (after the small-sample tail mapping)
    p_value: float
    n_tested: int
    n_draws: int
    largest: str                # label of the estimate with the largest |t|


def small_sample_t(estimates: np.ndarray, infl: np.ndarray, adopt: np.ndarray,
                   n_covariates: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """t-statistics with an HC2-type cohort factor and their Welch-Satterthwaite degrees of freedom.

    Each unit's influence is scaled by sqrt(n_c / m_c), n_c the size of its adoption cohort
    (never-treated units form one cohort) and m_c = n_c - 1 - n_covariates: for the 2x2 difference
    of means without covariates this makes the variance unbiased (it is HC2 there). The variance is
    a sum of per-cohort parts v_c, each estimated from n_c units, so
    df = (sum_c v_c)^2 / sum_c [v_c^2 / m_c] (Satterthwaite 1946; Welch's df when two cohorts enter).
    """
    order = np.argsort(adopt, kind="stable")
    _, starts, sizes = np.unique(adopt[order], return_index=True, return_counts=True)
    dof = np.maximum(sizes - 1 - n_covariates, 1).astype(float)
    part = np.add.reduceat(infl[order] ** 2, starts, axis=0) * (sizes / dof)[:, None] / infl.shape[0] ** 2
    variance = part.sum(axis=0)
    df = variance ** 2 / np.sum(part ** 2 / dof[:, None], axis=0)
    return estimates / np.sqrt(variance), df


def gaussian_draws(infl: np.ndarray, n_draws: int, seed: int) -> np.ndarray:
    """n_draws x columns draws of N(0, IF'IF / n^2): mean_i V_i IF_i with V_i ~ N(0, 1).

    When there are fewer columns than draws the same law is drawn through a square root of the
    columns' covariance, which costs n q^2 instead of n_draws n q operations.
    """
    n, q = infl.shape
    rng = np.random.default_rng(seed)
    if n * q + q * q + n_draws * q >= n_draws * n:
        return rng.standard_normal((n_draws, n)) @ infl / n
    values, vectors = np.linalg.eigh(infl.T @ infl / n ** 2)
    return rng.standard_normal((n_draws, q)) @ (vectors * np.sqrt(np.clip(values, 0, None))).T


def sup_t_pretest(estimates: np.ndarray, infl: np.ndarray, adopt: np.ndarray, labels: list[str],
                  n_draws: int, seed: int, n_covariates: int = 0) -> SupTPretest | None:
    """p-value of max_k |t_k| over the pre-treatment estimates; its null law from the Gaussian multiplier bootstrap.

    Each |t_k| is mapped to the normal quantile with the same tail probability under t(df_k), so the
    few-unit tails enter through df_k and the dependence across estimates through the draws
    b / se_k (exactly N(0, 1) per column given the data).
    p = (1 + #{draws >= observed}) / (1 + draws) (Davison & Hinkley 1997, Sec. 4.2); when no draw
    reaches the statistic, the Bonferroni bound q * 2 Phi(-stat) if it is smaller (still a valid p).
    """
    ok = np.isfinite(analytic_se(infl)) if infl.size else np.zeros(0, dtype=bool)
    if not ok.any():
        return None
    est, sub = estimates[ok], infl[:, ok]
    t, df = small_sample_t(est, sub, adopt, n_covariates)
    z = stats.norm.isf(stats.t.sf(np.abs(t), df))
    draws = gaussian_draws(sub, n_draws, seed) / np.sqrt(np.mean(sub ** 2, axis=0) / sub.shape[0])
    sup = np.max(np.abs(draws), axis=1)
    stat = float(np.max(z))
    exceed = int(np.sum(sup >= stat))
    p = (1 + exceed) / (1 + n_draws)
    if exceed == 0:   # the draws only say p <= 1/(1 + draws); Bonferroni's bound is valid and may be smaller
        p = min(p, float(ok.sum() * 2 * stats.norm.sf(stat)))
    return SupTPretest(stat=stat, p_value=float(p),
                       n_tested=int(ok.sum()), n_draws=n_draws,
                       largest=str(np.asarray(labels, dtype=object)[ok][int(np.argmax(z))]))


@dataclass(frozen=True)
class Inference:
    se: np.ndarray              # reported SE per column (bootstrap, or analytic when n_boot = 0)
    se_analytic: np.ndarray
    crit_cells: float
    crit_events: float


def column_inference(infl: np.ndarray, cells_cols: slice, event_cols: slice, alpha: float, n_boot: int,
                     seed: int, kind: str) -> Inference:
    """Analytic and multiplier-bootstrap SEs for every column; sup-t critical values for two sets."""
    se_analytic = analytic_se(infl)
    if n_boot == 0:
        return Inference(se_analytic, se_analytic, math.nan, math.nan)
    draws = bootstrap_draws(infl, n_boot, seed, kind)
    se = bootstrap_se(draws, infl.shape[0])
    return Inference(se, se_analytic, uniform_critical_value(draws[:, cells_cols], se[cells_cols], alpha),
                     uniform_critical_value(draws[:, event_cols], se[event_cols], alpha))


# ---------------------------------------------------------------------------
# Assembling the result
# ---------------------------------------------------------------------------

def sub_estimate(label: str, estimate: float, se: float, se_analytic: float, crit: float, alpha: float,
                 n_obs: int, extra: dict[str, Any]) -> SubEstimate:
    band = (estimate - crit * se, estimate + crit * se) if math.isfinite(crit) and math.isfinite(se) \
        else (math.nan, math.nan)
    return _common.sub_estimate(label, estimate, se, alpha, n_obs=n_obs, extra=extra,
                                std_error_analytic=se_analytic, uniform_lower=band[0], uniform_upper=band[1])


def aggregate_rows(parts: list[Aggregate], se: np.ndarray, se_analytic: np.ndarray, alpha: float) -> list[dict]:
    rows = []
    for a, s, sa in zip(parts, se, se_analytic):
        lo, hi, p = wald(a.estimate, float(s), alpha)
        rows.append({"label": a.label, "estimate": a.estimate, "std_error": float(s),
                     "std_error_analytic": float(sa), "ci_lower": lo, "ci_upper": hi, "p_value": p,
                     "n_treated": a.n_treated})
    return rows


def role_notes(roles: Roles) -> list[str]:
    notes = []
    if roles.weight:
        notes.append(f"The weight column '{roles.weight}' is not used by this method; every unit counts once.")
    if roles.cluster:
        notes.append(f"The cluster column '{roles.cluster}' is not used: the bootstrap resamples whole units, so "
                     "standard errors are clustered by unit only.")
    return notes


def cell_sub_estimates(cells: list[Cell], wp: WidePanel, se: np.ndarray, se_analytic: np.ndarray, crit: float,
                       alpha: float) -> list[SubEstimate]:
    out = []
    for k, c in enumerate(cells):
        g, t = period_label(wp.periods[c.group]), period_label(wp.periods[c.time])
        out.append(sub_estimate(f"g={g},t={t}", c.att, float(se[k]), float(se_analytic[k]),
                                crit, alpha, c.n_treated + c.n_comparison,
                                {"kind": "group_time", "group": g, "time": t,
                                 "base_period": period_label(wp.periods[c.base]), "event_time": c.event,
                                 "post": c.post, "n_treated": c.n_treated, "n_comparison": c.n_comparison,
                                 "reference": c.reference}))
    return out


def event_sub_estimates(parts: list[Aggregate], se: np.ndarray, se_analytic: np.ndarray, crit: float,
                        alpha: float) -> list[SubEstimate]:
    return [sub_estimate(a.label, a.estimate, float(s), float(sa), crit, alpha, a.n_treated,
                         {"kind": "event_time", "event_time": int(a.label[2:])})
            for a, s, sa in zip(parts, se, se_analytic)]


@dataclass(frozen=True)
class PretestSet:
    """The pre-treatment estimates the sup-t test looks at, with their influence functions (columns)."""

    labels: list[str]
    estimates: np.ndarray
    influence: np.ndarray
    n_cells: int
    n_event_times: int


def pretest_set(cells: list[Cell], infl: np.ndarray, agg: Aggregations, wp: WidePanel) -> PretestSet:
    """Pre-period ATT(g,t), event-time effects theta(e < 0), each cohort's mean pre-period ATT and their mean.

    Each family aims at one kind of violation: one cohort in one period (cells), anticipation
    shared by all cohorts (event times), and a steady drift (with base_period="varying" a cohort's
    mean short difference is its pre-period slope against the comparison units).
    """
    pre = [k for k, c in enumerate(cells) if not c.post and not c.reference]
    labels = [f"g={period_label(wp.periods[cells[k].group])},t={period_label(wp.periods[cells[k].time])}"
              for k in pre]
    est = [cells[k].att for k in pre]
    cols = [infl[:, k] for k in pre]
    events = [a for a in agg.dynamic if int(a.label[2:]) < 0]
    labels += [a.label for a in events]
    est += [a.estimate for a in events]
    cols += [a.influence for a in events]
    cohorts = sorted({cells[k].group for k in pre})
    for g in cohorts:
        idx = [k for k in pre if cells[k].group == g]
        labels.append(f"g={period_label(wp.periods[g])}, mean before adoption")
        est.append(float(np.mean([cells[k].att for k in idx])))
        cols.append(infl[:, idx].mean(axis=1))
    if len(cohorts) > 1:
        keep = np.zeros(len(cells), dtype=bool)
        keep[pre] = True
        sizes = {int(g): int(np.sum(wp.adopt == g)) for g in cohorts}
        pg = np.array([sizes.get(c.group, 0) / wp.n_units for c in cells])
        mean = weighted_aggregate("mean before adoption", keep, cells, np.array([c.att for c in cells]), infl,
                                  wp.adopt, pg, sizes)
        labels.append("all cohorts, mean before adoption")
        est.append(mean.estimate)
        cols.append(mean.influence)
    influence = np.column_stack(cols) if cols else np.zeros((wp.n_units, 0))
    return PretestSet(labels, np.asarray(est, dtype=float), influence, len(pre), len(events))


def pretrend_diagnostics(cells: list[Cell], infl: np.ndarray, agg: Aggregations, wp: WidePanel, n_boot: int,
                         seed: int) -> dict[str, Any]:
    """The sup-t pre-trend test (the gate) and did's Wald test over the pre-period cells (reported)."""
    tested = pretest_set(cells, infl, agg, wp)
    test = sup_t_pretest(tested.estimates, tested.influence, wp.adopt, tested.labels, n_boot or PRETEST_DRAWS, seed,
                         len(wp.x_names))
    pre_cells = [k for k, c in enumerate(cells) if not c.post]
    gstat, gdf, gp = wald_pretest(np.array([cells[k].att for k in pre_cells]), infl[:, pre_cells])
    out: dict[str, Any] = {"pre_trends_gt_stat": gstat, "pre_trends_gt_df": gdf, "pre_trends_gt_p": gp,
                           "pre_trends_stat": math.nan, "pre_trends_df": 0}
    if test is not None:
        out.update(pre_trends_p=test.p_value, pre_trends_stat=test.stat, pre_trends_df=test.n_tested,
                   pre_trends_test=PRETEST_NAME, pre_trends_draws=test.n_draws,
                   pre_trends_n_cells=tested.n_cells, pre_trends_n_event_times=tested.n_event_times,
                   pre_trends_largest=test.largest)
    return out


@register("staggered_did", family="difference_in_differences", design="panel", estimands=("att",),
          requires=Requirements(roles=("outcome", "treatment", "unit", "time"), recommended=("covariates",),
                                treatment="binary", panel=True, min_rows=8),
          title="Staggered difference-in-differences (Callaway-Sant'Anna)",
          summary="Compares each group of units that started treatment at the same time with units not (yet) "
                  "treated, period by period, then averages those clean comparisons into an overall effect "
                  "and an event-study path.",
          inference="influence functions + multiplier bootstrap with uniform bands",
          params={
              "control_group": "Comparison units: never treated, or also those not yet treated.",
              "base_period": "Pre-period comparisons of t with t-1 (varying) or with the period before "
                             "treatment (universal).",
              "est_method": "How covariates enter: doubly robust (dr), weighting (ipw) or outcome regression "
                            "(reg); identical without covariates.",
              "n_boot": "Multiplier-bootstrap draws for the standard errors and uniform bands (0 = analytic "
                        "standard errors, no bands).",
              "bootstrap_weights": "Distribution of the bootstrap multipliers (Mammen or Rademacher).",
          },
          headline_rank=10, example=lambda seed=0: examples.staggered(seed, n_boot=99), transparency=0.8, cost_exponent=1.0,
          references=(
              # R did README (github.com/bcallaway11/did, 2.5.0): att_gt(lemp ~ 1, mpdta, never treated), printed
              # to 4 decimals; n_boot = 0 (the point estimates do not depend on the bootstrap)
              *(Reference(quantity, value, tolerance, data="cqox:mpdta_frame",
                          roles={"outcome": "lemp", "treatment": "minimum_wage_raised", "unit": "countyreal",
                                 "time": "year"}, params={"n_boot": 0},
                          source="R did package README (2.5.0): att_gt(yname='lemp', gname='first.treat', "
                                 "idname='countyreal', tname='year', xformla=~1, data=mpdta) and aggte",
                          script="printed in the source",
                          why_tolerance="printed digits: half a unit in the last one (5e-5 for 4 decimals, 5e-4 "
                                        "for the group overall's 3, 5e-6 for the pre-test p's 5), as "
                                        "test_mpdta_matches_published_did_numbers")
                for quantity, value, tolerance in (
                    ("by.g=2004,t=2004", -0.0105, 5e-5), ("by.g=2004,t=2005", -0.0704, 5e-5),
                    ("by.g=2004,t=2006", -0.1373, 5e-5), ("by.g=2004,t=2007", -0.1008, 5e-5),
                    ("by.g=2006,t=2004", 0.0065, 5e-5), ("by.g=2006,t=2005", -0.0028, 5e-5),
                    ("by.g=2006,t=2006", -0.0046, 5e-5), ("by.g=2006,t=2007", -0.0412, 5e-5),
                    ("by.g=2007,t=2004", 0.0305, 5e-5), ("by.g=2007,t=2005", -0.0027, 5e-5),
                    ("by.g=2007,t=2006", -0.0311, 5e-5), ("by.g=2007,t=2007", -0.0261, 5e-5),
                    ("by.e=-3", 0.0305, 5e-5), ("by.e=-2", -0.0006, 5e-5), ("by.e=-1", -0.0245, 5e-5),
                    ("by.e=0", -0.0199, 5e-5), ("by.e=1", -0.0510, 5e-5), ("by.e=2", -0.1373, 5e-5),
                    ("by.e=3", -0.1008, 5e-5), ("diagnostics.dynamic_overall.estimate", -0.0772, 5e-5),
                    ("diagnostics.group.2004.estimate", -0.0797, 5e-5),
                    ("diagnostics.group.2006.estimate", -0.0229, 5e-5),
                    ("diagnostics.group.2007.estimate", -0.0261, 5e-5),
                    ("diagnostics.group_overall.estimate", -0.031, 5e-4),
                    ("diagnostics.pre_trends_gt_p", 0.16812, 5e-6))),
              Reference("estimate", -0.0400, 5e-5, data="cqox:mpdta_frame",
                        roles={"outcome": "lemp", "treatment": "minimum_wage_raised", "unit": "countyreal",
                               "time": "year"}, params={"n_boot": 0},
                        source="R did vignette: overall simple ATT -0.0400 on mpdta (the vignette text was not "
                               "reachable offline; moderndid's -0.039951 below agrees to 1e-6)",
                        script="printed in the source",
                        why_tolerance="4 printed decimals: half a unit in the last digit"),
              # moderndid 0.2 (Python port of R did): analytic SEs; with n_boot = 0 our std_error is the analytic one
              *(Reference(quantity, value, 1e-6, data="cqox:mpdta_frame",
                          roles={"outcome": "lemp", "treatment": "minimum_wage_raised", "unit": "countyreal",
                                 "time": "year", **covariates}, params={"n_boot": 0, **params},
                          source="moderndid 0.2 att_gt(mpdta, yname='lemp', gname='first.treat', "
                                 f"{config}, boot=False) + aggte(boot=False)",
                          script="tests/estimators/references/scripts/staggered_did_mpdta_moderndid.py",
                          why_tolerance="the same closed-form estimators and influence-function SEs: 1e-6 "
                                        "(only the logit solver differs, by ~1e-9), as test_mpdta_matches_peer_*")
                for covariates, params, config, quantity, value in (
                    ({}, {}, "xformla=None", "estimate", -0.03995127515517626),
                    ({}, {}, "xformla=None", "std_error", 0.012034012770185353),
                    ({}, {}, "xformla=None", "diagnostics.dynamic_overall.estimate", -0.07723982145731488),
                    ({}, {}, "xformla=None", "diagnostics.dynamic_overall.std_error", 0.019964989061849178),
                    ({}, {}, "xformla=None", "diagnostics.group_overall.estimate", -0.031018282228748518),
                    ({}, {}, "xformla=None", "diagnostics.group_overall.std_error", 0.012446059320997889),
                    ({}, {}, "xformla=None", "diagnostics.calendar_overall.estimate", -0.04170043213128195),
                    ({}, {}, "xformla=None", "diagnostics.calendar_overall.std_error", 0.015971851884559744),
                    ({"covariates": ["lpop"]}, {}, "xformla='~lpop', est_method='dr'", "estimate",
                     -0.04175177205861635),
                    ({"covariates": ["lpop"]}, {}, "xformla='~lpop', est_method='dr'", "std_error",
                     0.01150283815154501),
                    ({"covariates": ["lpop"]}, {"est_method": "ipw"}, "xformla='~lpop', est_method='ipw'",
                     "estimate", -0.04177708219913166),
                    ({"covariates": ["lpop"]}, {"est_method": "ipw"}, "xformla='~lpop', est_method='ipw'",
                     "std_error", 0.011499719363982875),
                    ({"covariates": ["lpop"]}, {"est_method": "reg"}, "xformla='~lpop', est_method='reg'",
                     "estimate", -0.0419686124215432),
                    ({"covariates": ["lpop"]}, {"est_method": "reg"}, "xformla='~lpop', est_method='reg'",
                     "std_error", 0.011444829768215002),
                    ({"covariates": ["lpop"]}, {"control_group": "not_yet_treated", "base_period": "universal"},
                     "xformla='~lpop', control_group='notyettreated', base_period='universal'", "estimate",
                     -0.04135162929923669),
                    ({"covariates": ["lpop"]}, {"control_group": "not_yet_treated", "base_period": "universal"},
                     "xformla='~lpop', control_group='notyettreated', base_period='universal'", "std_error",
                     0.011427839082186031))),
          ))
def staggered_did(data: Dataset, roles: Roles, *, estimand: Literal["att"] = "att", alpha: float = 0.05,
                  seed: int = 0, control_group: ControlGroup = "never_treated", base_period: BasePeriod = "varying",
                  est_method: EstMethod = "dr", n_boot: Annotated[int, Range(low=99, also=(0,))] = 999,
                  bootstrap_weights: BootstrapWeights = "mammen") -> EffectResult:
    """Callaway & Sant'Anna (2021) group-time ATTs, aggregated; headline = simple (group-size weighted) ATT.

    control_group: "never_treated" or "not_yet_treated" comparison units.
    base_period: "varying" (pre-periods compare t with t-1) or "universal" (g-1).
    est_method: "dr" (doubly robust), "ipw" or "reg"; identical without covariates.
    n_boot: multiplier-bootstrap draws (0: analytic standard errors, no uniform bands).
    bootstrap_weights: "mammen" or "rademacher" multipliers.
    Units missing a period are dropped (balanced panel needed); units treated in
    the first period are dropped (no pre-period).
    """
    wp = wide_panel(data, roles)
    warnings = list(wp.warnings) + role_notes(roles)
    check_cohorts(wp, control_group, warnings)
    cells, infl = group_time_effects(wp, control_group, base_period, est_method, warnings)
    agg = aggregate(cells, infl, wp)
    columns = [infl, *[np.column_stack([a.influence for a in part]) for part in
                       (agg.dynamic, agg.group, agg.calendar)],
               np.column_stack([agg.simple.influence, agg.dynamic_overall.influence,
                                agg.group_overall.influence, agg.calendar_overall.influence])]
    sizes = np.cumsum([0] + [c.shape[1] for c in columns])
    inf = column_inference(np.column_stack(columns), slice(sizes[0], sizes[1]), slice(sizes[1], sizes[2]),
                           alpha, n_boot, seed, bootstrap_weights)
    part = {name: slice(sizes[i], sizes[i + 1]) for i, name in
            enumerate(("cells", "dynamic", "group", "calendar", "overall"))}
    by = cell_sub_estimates(cells, wp, inf.se[part["cells"]], inf.se_analytic[part["cells"]], inf.crit_cells,
                            alpha)
    by += event_sub_estimates(agg.dynamic, inf.se[part["dynamic"]], inf.se_analytic[part["dynamic"]],
                              inf.crit_events, alpha)
    overall = aggregate_rows([agg.simple, agg.dynamic_overall, agg.group_overall, agg.calendar_overall],
                             inf.se[part["overall"]], inf.se_analytic[part["overall"]], alpha)
    diagnostics = build_diagnostics(wp, cells, infl, agg, inf, part, overall, alpha, control_group,
                                    base_period, est_method, n_boot, bootstrap_weights, seed)
    if "pre_trends_p" not in diagnostics:
        warnings.append("No cohort is observed in two periods before it adopts, so parallel trends cannot be "
                        "checked before treatment (there is no pre-trend test).")
    trimmed = sum(c.trimmed for c in cells)
    if trimmed:
        warnings.append(f"Across the cohort-period comparisons, {trimmed} comparison-unit uses had a propensity "
                        f"score of {TRIM_LEVEL} or more and were given weight 0 (they look nothing like the "
                        "treated cohort).")
    se_method = (f"multiplier bootstrap of the influence function ({n_boot} {bootstrap_weights.capitalize()} "
                 "draws, clustered by unit)" if n_boot else "influence function (analytic, clustered by unit)")
    return finish("staggered_did", estimand, agg.simple.estimate, float(inf.se[part["overall"]][0]), alpha=alpha,
                  estimand_label="ATT: treated unit-periods after adoption (simple aggregation of ATT(g,t))",
                  n_obs=wp.n_units * wp.n_periods, se_method=se_method, diagnostics=diagnostics,
                  warnings=warnings, by=tuple(by))


def build_diagnostics(wp: WidePanel, cells: list[Cell], infl: np.ndarray, agg: Aggregations, inf: Inference,
                      part: dict[str, slice], overall: list[dict], alpha: float, control_group: str,
                      base_period: str, est_method: str, n_boot: int, bootstrap_weights: str,
                      seed: int) -> dict[str, Any]:
    cohorts, counts = np.unique(wp.adopt[wp.adopt != NEVER], return_counts=True)
    diagnostics: dict[str, Any] = {
        "n_units": wp.n_units, "n_periods": wp.n_periods,
        "n_never_treated": int(np.sum(wp.adopt == NEVER)),
        "cohort_sizes": {period_label(wp.periods[g]): int(c) for g, c in zip(cohorts, counts)},
        "control_group": control_group, "base_period": base_period, "est_method": est_method,
        "covariates_used": list(wp.x_names),
        "n_boot": int(n_boot), "bootstrap_weights": bootstrap_weights,
        "uniform_critical_value_group_time": inf.crit_cells,
        "uniform_critical_value_event_time": inf.crit_events,
        "std_error_analytic": overall[0]["std_error_analytic"],
        "dynamic_overall": overall[1], "group_overall": overall[2], "calendar_overall": overall[3],
        "group": aggregate_rows(agg.group, inf.se[part["group"]], inf.se_analytic[part["group"]], alpha),
        "calendar": aggregate_rows(agg.calendar, inf.se[part["calendar"]], inf.se_analytic[part["calendar"]],
                                   alpha),
        "n_cells": sum(not c.reference for c in cells),
        "dropped_units_treated_first_period": wp.dropped_first_period,
        "dropped_units_unbalanced": wp.dropped_unbalanced,
        "propensity_trimmed": sum(c.trimmed for c in cells),
    }
    diagnostics.update(pretrend_diagnostics(cells, infl, agg, wp, n_boot, seed))
    return diagnostics
