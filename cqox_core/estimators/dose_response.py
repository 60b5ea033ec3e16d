"""Dose-response curve of a continuous treatment (``dose_response``).

theta(d) = E[Y(d)], the average outcome if everyone received dose d, under no unmeasured
confounding and positivity of the dose density given the covariates. Two estimators:

* ``curve="dr"`` (default): the doubly robust kernel estimator of Kennedy, Ma, McHugh & Small
  (2017, JRSS-B 79:1229, Sec. 3.2). With pi(d|x) the conditional dose density, mu(x, d) the
  outcome regression, varpi(d) = E_X pi(d|X) and m(d) = E_X mu(X, d), the pseudo-outcome
      xi = (Y - mu(X, D)) varpi(D) / pi(D|X) + m(D)
  has E[xi | D = d] = theta(d) if either nuisance is right; a local linear regression of xi on D
  (Gaussian kernel) estimates the curve. Nuisances are cross-fitted (n_folds); the bandwidth is
  chosen by Fan & Gijbels' rule of thumb for local linear regression on the pseudo-outcomes, or by
  leave-one-out cross-validation of that regression (their Sec. 3.5; on noisy pseudo-outcomes its
  risk is often flat, so it is the option rather than the default), unless given.
  Pointwise SEs come from the estimator's influence function (their Theorem 3): per unit
      Dh^-1 [K_h g (xi - g'beta) + int K_h(t - d) g(t) (mu(X, t) - m(t)) varpi(t) dt],
  g = (1, (D - d)/h), the integral (which accounts for the estimated varpi and m) by the
  trapezoid rule over a grid; the band is for the smoothed curve theta_h (no bias correction).
* ``curve="gps"``: the generalized propensity score of Hirano & Imbens (2004, in Applied
  Bayesian Modeling and Causal Inference from Incomplete-Data Perspectives, ch. 7): a normal
  linear model D | X ~ N(X'b, s^2) gives R = phi((D - X'b)/s)/s; Y is regressed on
  (1, D, D^2, R, R^2, D R); theta(d) is that regression at (d, r(d, X_i)) averaged over units.
  SEs by the bootstrap over units (both stages refitted), as Hirano & Imbens do.

Headline: the contrast theta(d_high) - theta(d_low) between two documented doses (by default the
25th and 75th percentiles of the observed dose), with the SE of the difference from the same
influence functions (or bootstrap replicates). With ``cost_per_unit`` the dose maximising net
value value_per_unit x (improvement) - cost_per_unit x d is searched on a grid between the 5th and
95th percentiles; its interval comes from a Gaussian multiplier bootstrap of the curve's influence
functions (nuisance fits held fixed; Chernozhukov, Chetverikov & Kato 2013), the argmax of each
draw giving the percentile interval.

Deliberate differences from npcausal's ``ctseff`` (Kennedy's R code): the dose density is the
normal model of the GPS (ctseff uses a kernel density of standardised residuals with a modelled
variance); the marginal averages varpi and m are computed on a grid over the dose range and
interpolated linearly (ctseff: smoothing splines); the CV risk uses binned sums on 400 bins
(ctseff: locpoly's binning) and the final curve is computed exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np

from ..data import Dataset
from ..datasets import policy as policy_data
from ..diagnostics.weights import arm_top_share
from ..errors import EstimationError, MethodError, RoleError
from ..prep import Prepared, prepare
from ..registry import Reference, Requirements, register
from ..results import EffectResult, SubEstimate
from ..roles import Roles
from ._common import finish
from ._crossfit import fold_ids, r_squared
from ._money import check_money, direction_for

Curve = Literal["dr", "gps"]
DoseLearner = Literal["linear", "gbm"]
#: dose values on which the nuisances and the marginal averages varpi(t), m(t) are evaluated
GRID_SIZE = 101
#: bins of the leave-one-out CV of the bandwidth (binned kernel sums, as KernSmooth's locpoly)
CV_BINS = 400
#: candidate bandwidths, as multiples of the dose's SD
BANDWIDTH_MULTIPLES = np.geomspace(0.04, 1.5, 30)
#: doses on which the optimal dose is searched (between the 5th and 95th percentiles)
OPTIMUM_POINTS = 61
MULTIPLIER_DRAWS = 1000
MIN_DISTINCT_DOSES = 5


def normal_density(t: np.ndarray, mean: np.ndarray, sd: np.ndarray | float) -> np.ndarray:
    z = (t - mean) / sd
    return np.exp(-0.5 * z * z) / (np.sqrt(2 * np.pi) * sd)


def dose_label(d: float, others: Sequence[float] = ()) -> str:
    """The dose as a short string ("0.5"); more digits when 4 significant digits would collide."""
    for digits in (4, 6, 8, 12):
        text = f"{d:.{digits}g}"
        if sum(f"{o:.{digits}g}" == text for o in others) <= 1:
            return text
    return repr(float(d))


# ---------------------------------------------------------------------------------------------
# nuisances
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DoseNuisance:
    """Out-of-fold nuisance values: each unit's from models fitted without its fold."""

    grid: np.ndarray          # G doses spanning the observed range
    density_own: np.ndarray   # pi(D_i | X_i)
    density_grid: np.ndarray  # n x G: pi(t_g | X_i)
    mu_own: np.ndarray        # mu(X_i, D_i)
    mu_grid: np.ndarray       # n x G: mu(X_i, t_g)
    treatment_r2: float
    outcome_r2: float


def outcome_basis(X: np.ndarray, d: np.ndarray) -> np.ndarray:
    """[1, X, d, d^2, d^3, d X]: a cubic in the dose whose slope may vary with the covariates."""
    d = d[:, None]
    return np.column_stack([np.ones(len(X)), X, d, d ** 2, d ** 3, d * X])


def fit_dose_mean(X: np.ndarray, d: np.ndarray, learner: str, seed: int):
    """E[D | X] and the residual SD: least squares or gradient boosting with normal residuals."""
    if learner == "gbm":
        from sklearn.ensemble import HistGradientBoostingRegressor

        model = HistGradientBoostingRegressor(random_state=seed).fit(X, d)
        resid = d - model.predict(X)
        return model.predict, float(np.sqrt(np.mean(resid ** 2)))
    Z = np.column_stack([np.ones(len(X)), X])
    coef = np.linalg.lstsq(Z, d, rcond=None)[0]
    resid = d - Z @ coef
    sd = float(np.sqrt(resid @ resid / max(len(d) - Z.shape[1], 1)))
    return (lambda Xn: np.column_stack([np.ones(len(Xn)), Xn]) @ coef), sd


def fit_outcome(X: np.ndarray, d: np.ndarray, y: np.ndarray, learner: str, seed: int):
    """mu(x, d) as a function of (X, doses): least squares on :func:`outcome_basis`, or boosting."""
    if learner == "gbm":
        from sklearn.ensemble import HistGradientBoostingRegressor

        model = HistGradientBoostingRegressor(random_state=seed).fit(np.column_stack([X, d]), y)
        return lambda Xn, dn: model.predict(np.column_stack([Xn, dn]))
    coef = np.linalg.lstsq(outcome_basis(X, d), y, rcond=None)[0]
    return lambda Xn, dn: outcome_basis(Xn, dn) @ coef


def dose_nuisances(X: np.ndarray, d: np.ndarray, y: np.ndarray, *, n_folds: int, outcome_learner: str,
                   propensity_learner: str, seed: int, cluster: np.ndarray | None) -> DoseNuisance:
    n = len(y)
    grid = np.linspace(float(d.min()), float(d.max()), GRID_SIZE)
    folds = fold_ids(n, n_folds, seed, cluster)
    dens_own, mu_own, mean_d = np.empty(n), np.empty(n), np.empty(n)
    dens_grid, mu_grid = np.empty((n, GRID_SIZE)), np.empty((n, GRID_SIZE))
    for k in range(n_folds):
        test, train = folds == k, folds != k
        if train.sum() <= X.shape[1] * 2 + 5:
            raise EstimationError(f"A cross-fitting fold leaves only {int(train.sum())} training rows.",
                                  "Lower n_folds or use fewer covariates.", code="E-EST-090")
        predict_mean, sd = fit_dose_mean(X[train], d[train], propensity_learner, seed)
        if not sd > 0:
            raise EstimationError("The covariates predict the dose exactly: there is no variation left to "
                                  "compare units with the same covariates.",
                                  "Remove the covariate that reproduces the dose.", code="E-EST-091")
        mu = fit_outcome(X[train], d[train], y[train], outcome_learner, seed)
        Xt = X[test]
        mean_d[test] = m_t = predict_mean(Xt)
        dens_own[test] = normal_density(d[test], m_t, sd)
        dens_grid[test] = normal_density(grid[None, :], m_t[:, None], sd)
        mu_own[test] = mu(Xt, d[test])
        rows = np.repeat(Xt, GRID_SIZE, axis=0)
        mu_grid[test] = mu(rows, np.tile(grid, len(Xt))).reshape(len(Xt), GRID_SIZE)
    return DoseNuisance(grid=grid, density_own=dens_own, density_grid=dens_grid, mu_own=mu_own, mu_grid=mu_grid,
                        treatment_r2=r_squared(d, mean_d), outcome_r2=r_squared(y, mu_own))


def pseudo_outcomes(y: np.ndarray, d: np.ndarray, nu: DoseNuisance) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                          np.ndarray]:
    """Kennedy et al.'s xi, the weights varpi(D)/pi(D|X), and varpi, m on the grid."""
    varpi_grid = nu.density_grid.mean(axis=0)
    m_grid = nu.mu_grid.mean(axis=0)
    varpi = np.interp(d, nu.grid, varpi_grid)
    m = np.interp(d, nu.grid, m_grid)
    weights = varpi / nu.density_own
    return (y - nu.mu_own) * weights + m, weights, varpi_grid, m_grid


# ---------------------------------------------------------------------------------------------
# local linear regression of the pseudo-outcomes
# ---------------------------------------------------------------------------------------------

def gaussian(u: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * u * u) / np.sqrt(2 * np.pi)


def cv_risk(d: np.ndarray, xi: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """Leave-one-out risk mean(((xi - fit)/(1 - hat))^2) of the local linear fit for each bandwidth,
    from binned kernel sums (fit and hat value on the bin centres, interpolated at each dose)."""
    lo, hi = float(d.min()), float(d.max())
    centres = np.linspace(lo, hi, CV_BINS)
    idx = np.clip(np.rint((d - lo) / (hi - lo) * (CV_BINS - 1)).astype(int), 0, CV_BINS - 1)
    counts = np.bincount(idx, minlength=CV_BINS).astype(float)
    sums = np.bincount(idx, weights=xi, minlength=CV_BINS)
    diff = centres[None, :] - centres[:, None]           # [g, b] = c_b - c_g
    q05, q95 = np.quantile(d, [0.05, 0.95])
    central = (d >= q05) & (d <= q95)
    risks = np.empty(bandwidths.size)
    for j, h in enumerate(bandwidths):
        u = diff / h
        k = gaussian(u) / h
        s0, s1, s2 = k @ counts, (k * u) @ counts, (k * u * u) @ counts
        t0, t1 = k @ sums, (k * u) @ sums
        det = s0 * s2 - s1 * s1
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = (s2 * t0 - s1 * t1) / det
            hat = gaussian(0.0) / h * s2 / det
        fit_i, hat_i = fit[idx[central]], hat[idx[central]]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.mean(((xi[central] - fit_i) / (1 - hat_i)) ** 2)
        risks[j] = r if np.isfinite(r) and np.all(hat_i < 1) else np.inf
    return risks


#: Fan & Gijbels (1996, Table 3.2): C_{0,1}(K) of the rule-of-thumb bandwidth, Gaussian kernel
ROT_CONSTANT = 0.776


def plugin_bandwidth(d: np.ndarray, xi: np.ndarray) -> float:
    """Fan & Gijbels' (1996, Sec. 4.2) rule-of-thumb bandwidth for local linear regression:
    0.776 [s^2 |W| / sum_W m''(D_i)^2]^(1/5), m a global quartic of xi on D, s^2 its residual variance,
    W the doses between the 5th and 95th percentiles; kept within 0.04 to 1.5 dose SDs (a straight
    curve has m'' = 0 and no smoothing bias, so the widest candidate)."""
    sd = float(d.std(ddof=1))
    centre, scale = float(d.mean()), sd
    z = (d - centre) / scale
    coef = np.polyfit(z, xi, 4)
    resid = xi - np.polyval(coef, z)
    s2 = float(resid @ resid / max(len(d) - 5, 1))
    q05, q95 = np.quantile(d, [0.05, 0.95])
    central = (d >= q05) & (d <= q95)
    second = np.polyval(np.polyder(coef, 2), z[central]) / scale ** 2
    curvature = float(second @ second)
    lo, hi = BANDWIDTH_MULTIPLES[0] * sd, BANDWIDTH_MULTIPLES[-1] * sd
    if not curvature > 0:
        return hi
    return float(np.clip(ROT_CONSTANT * (s2 * (q95 - q05) / curvature) ** 0.2, lo, hi))


def local_linear(d: np.ndarray, xi: np.ndarray, points: np.ndarray, h: float, nu: DoseNuisance,
                 varpi_grid: np.ndarray, m_grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """theta_h at ``points`` and the n x len(points) influence matrix (Kennedy et al. 2017, Thm 3)."""
    u = (d[:, None] - points[None, :]) / h                 # n x E
    k = gaussian(u) / h
    s0, s1, s2 = k.mean(axis=0), (k * u).mean(axis=0), (k * u * u).mean(axis=0)
    t0, t1 = (k * xi[:, None]).mean(axis=0), (k * u * xi[:, None]).mean(axis=0)
    det = s0 * s2 - s1 * s1
    if np.any(~np.isfinite(det)) or np.any(det <= 0):
        raise EstimationError("The kernel regression has no data near some of the requested doses.",
                              "Ask for doses inside the observed range, or a wider bandwidth.", code="E-EST-092")
    b0 = (s2 * t0 - s1 * t1) / det
    b1 = (s0 * t1 - s1 * t0) / det
    resid = xi[:, None] - b0[None, :] - b1[None, :] * u
    # trapezoid weights on the grid; int K_h(t - d) g(t) (mu(X, t) - m(t)) varpi(t) dt, per unit
    grid = nu.grid
    trap = np.full(grid.size, grid[1] - grid[0])
    trap[[0, -1]] /= 2
    ug = (grid[:, None] - points[None, :]) / h           # G x E
    kg = gaussian(ug) / h * (trap * varpi_grid)[:, None]
    centred = nu.mu_grid - m_grid[None, :]              # n x G
    int1, int2 = centred @ kg, centred @ (kg * ug)
    a, b = k * resid + int1, k * u * resid + int2
    # first row of Dh^-1 = [s2, -s1] / det
    phi = (s2[None, :] * a - s1[None, :] * b) / det[None, :]
    return b0, phi - phi.mean(axis=0)


# ---------------------------------------------------------------------------------------------
# generalized propensity score (Hirano & Imbens 2004)
# ---------------------------------------------------------------------------------------------

def gps_curve(X: np.ndarray, d: np.ndarray, y: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Hirano-Imbens: normal GPS, Y on (1, D, D^2, R, R^2, D R), averaged over units at each dose."""
    Z = np.column_stack([np.ones(len(X)), X])
    beta = np.linalg.lstsq(Z, d, rcond=None)[0]
    mean = Z @ beta
    resid = d - mean
    sd = math.sqrt(resid @ resid / max(len(d) - Z.shape[1], 1))
    r = normal_density(d, mean, sd)
    design = np.column_stack([np.ones(len(d)), d, d ** 2, r, r ** 2, d * r])
    a = np.linalg.lstsq(design, y, rcond=None)[0]
    rp = normal_density(points[None, :], mean[:, None], sd)   # n x E
    values = a[0] + a[1] * points + a[2] * points ** 2 + a[3] * rp + a[4] * rp ** 2 + a[5] * points * rp
    return values.mean(axis=0)


def gps_bootstrap(X: np.ndarray, d: np.ndarray, y: np.ndarray, points: np.ndarray, n_boot: int,
                  seed: int, cluster: np.ndarray | None) -> np.ndarray:
    """Bootstrap replicates (n_boot x E) of the GPS curve, resampling units (or whole clusters)."""
    rng = np.random.default_rng(seed)
    n = len(y)
    out = np.empty((n_boot, points.size))
    if cluster is not None:
        _, cidx = np.unique(cluster, return_inverse=True)
        members = [np.flatnonzero(cidx == g) for g in range(int(cidx.max()) + 1)]
    for b in range(n_boot):
        if cluster is None:
            rows = rng.integers(0, n, n)
        else:
            rows = np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
        out[b] = gps_curve(X[rows], d[rows], y[rows], points)
    return out


# ---------------------------------------------------------------------------------------------
# the method
# ---------------------------------------------------------------------------------------------

def check_params(n_folds: int, n_points: int, bandwidth: float | None, curve: str, n_boot: int,
                 outcome_learner: str, propensity_learner: str, bandwidth_rule: str = "plugin") -> None:
    if bandwidth_rule not in ("plugin", "cv"):
        raise MethodError(f"Unknown bandwidth_rule {bandwidth_rule!r}.", "Use 'plugin' or 'cv'.", code="E-METHOD-005")
    if not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise MethodError(f"n_folds must be an integer of at least 2, got {n_folds!r}.", "Use e.g. n_folds=5.",
                          code="E-METHOD-005")
    if not isinstance(n_points, (int, np.integer)) or not 3 <= n_points <= 200:
        raise MethodError(f"n_points must be an integer from 3 to 200, got {n_points!r}.", "Use e.g. n_points=20.",
                          code="E-METHOD-005")
    if bandwidth is not None and not (isinstance(bandwidth, (int, float)) and bandwidth > 0):
        raise MethodError(f"bandwidth must be a positive number or None, got {bandwidth!r}.",
                          "Leave it out to choose it by cross-validation.", code="E-METHOD-005")
    if curve not in ("dr", "gps"):
        raise MethodError(f"Unknown curve {curve!r}.", "Use 'dr' (doubly robust kernel) or 'gps'.",
                          code="E-METHOD-005")
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 50:
        raise MethodError(f"n_boot must be an integer of at least 50, got {n_boot!r}.", "Use e.g. n_boot=200.",
                          code="E-METHOD-005")
    if outcome_learner not in ("linear", "gbm") or propensity_learner not in ("linear", "gbm"):
        raise MethodError(f"Unknown learner ({outcome_learner!r}, {propensity_learner!r}).",
                          "Use 'linear' or 'gbm' for outcome_learner and propensity_learner.", code="E-METHOD-005")


def dose_arrays(data: Dataset, roles: Roles) -> Prepared:
    """Complete cases with a numeric, varying dose (else E-ROLE-003 / E-ROLE-030 / E-ROLE-031)."""
    prep = prepare(data, roles, binary_treatment=False)
    if np.any(~np.isfinite(prep.t)):
        raise RoleError(f"The dose '{roles.treatment}' is not numeric in every row.",
                        "Choose a numeric dose column (amount, price, hours ...), or recode it into numbers.",
                        code="E-ROLE-031")
    distinct = np.unique(prep.t).size
    if distinct < MIN_DISTINCT_DOSES:
        raise RoleError(f"The dose '{roles.treatment}' takes only {distinct} distinct values; a dose-response "
                        "curve needs a continuous (or finely graded) dose.",
                        "For a treated/untreated comparison use aipw or ipw; for a few dose levels, compare "
                        "them pairwise with --treated-value.", code="E-ROLE-030")
    return prep


def curve_points(d: np.ndarray, n_points: int, doses: Sequence[float] | None) -> np.ndarray:
    if doses is None:
        lo, hi = np.quantile(d, [0.05, 0.95])
        return np.linspace(lo, hi, n_points)
    pts = np.asarray(sorted(float(x) for x in doses))
    outside = pts[(pts < d.min()) | (pts > d.max())]
    if outside.size:
        raise MethodError(f"Dose(s) {', '.join(f'{x:g}' for x in outside)} lie outside the observed doses "
                          f"({d.min():.4g} to {d.max():.4g}).", "The curve is estimated only where doses were "
                          "observed: ask for doses inside that range.", code="E-METHOD-005")
    return pts


@register("dose_response", family="selection_on_observables", design="cross_section", estimands=("dose_contrast",),
          requires=Requirements(roles=("outcome", "treatment", "covariates"), treatment="continuous", min_rows=20),
          title="Dose-response curve",
          summary="For a treatment given in amounts (a dose, a price, hours of training): the average outcome if "
                  "everyone received each amount, adjusted for the covariates, with a band; the headline is the "
                  "change between a low and a high dose, and with a cost per unit, the most profitable dose.",
          inference="influence function of the doubly robust kernel curve (Kennedy et al. 2017); bootstrap over "
                    "units for the GPS curve",
          params={
              "curve": "dr: doubly robust kernel curve (right if either the dose model or the outcome model is); "
                       "gps: Hirano-Imbens generalized propensity score with a parametric outcome model.",
              "n_points": "How many doses the curve is reported at (evenly spaced between the 5th and 95th "
                          "percentiles of the observed dose).",
              "doses": "Explicit doses to report the curve at (a list); overrides n_points.",
              "contrast_low": "Low dose of the headline contrast (default: the 25th percentile of the dose).",
              "contrast_high": "High dose of the headline contrast (default: the 75th percentile of the dose).",
              "bandwidth": "Kernel bandwidth in dose units; empty: chosen by bandwidth_rule.",
              "bandwidth_rule": "How the bandwidth is chosen when not given: plugin (Fan-Gijbels rule of thumb, "
                                "stable) or cv (leave-one-out cross-validation of the pseudo-outcome regression).",
              "n_folds": "Cross-fitting folds: each unit's dose and outcome models are fitted without it.",
              "outcome_learner": "Outcome model: linear (cubic in the dose, slopes varying with covariates) or gbm.",
              "propensity_learner": "Model of the dose given the covariates (normal errors): linear or gbm.",
              "n_boot": "Bootstrap replicates for the GPS curve's standard errors.",
              "cost_per_unit": "Cost of one unit of dose; when given, the dose that maximises net value is found.",
              "value_per_unit": "Money value of one unit of improvement in the outcome (for the optimal dose).",
              "better": "Which direction of the outcome is good (higher/lower); empty: decided from its name.",
          },
          headline_rank=None, battery=False, e_value=False, example=policy_data.dose_example,
          references=(
              Reference(quantity="estimate", value=2.575398988462809, tolerance=1e-8,
                        source="Hirano & Imbens (2004) GPS estimator written directly with statsmodels OLS "
                               "(normal GPS, outcome on D, D^2, R, R^2, D*R) on simulate_dose(2000, seed=0)",
                        script="tests/estimators/references/scripts/dose_response_gps_statsmodels.py",
                        data="example:0", roles={"outcome": "y", "treatment": "dose",
                                               "covariates": ["x1", "x2", "x3"]},
                        params={"curve": "gps", "contrast_low": 0.5, "contrast_high": 1.5},
                        why_tolerance="the same closed-form least-squares estimator; only rounding differs"),),
          transparency=0.6, cost_exponent=1.0)
def dose_response(data: Dataset, roles: Roles, *, estimand: str = "dose_contrast", alpha: float = 0.05,
                  seed: int = 0, curve: Curve = "dr", n_points: int = 20, doses: list[float] | None = None,
                  contrast_low: float | None = None, contrast_high: float | None = None,
                  bandwidth: float | None = None, bandwidth_rule: Literal["plugin", "cv"] = "plugin", n_folds: int = 5, outcome_learner: DoseLearner = "linear",
                  propensity_learner: DoseLearner = "linear", n_boot: int = 200, cost_per_unit: float | None = None,
                  value_per_unit: float = 1.0, better: Literal["higher", "lower"] | None = None) -> EffectResult:
    """The average outcome as a function of the dose (Kennedy et al. 2017; Hirano & Imbens 2004)."""
    check_params(n_folds, n_points, bandwidth, curve, n_boot, outcome_learner, propensity_learner, bandwidth_rule)
    check_money(value_per_unit, cost_per_unit, "cost_per_unit")
    direction = direction_for(better, roles.outcome)
    prep = dose_arrays(data, roles)
    y, d, X = prep.y, prep.t, prep.X
    warnings = list(prep.warnings)
    if prep.weight is not None:
        warnings.append(f"The weight column '{roles.weight}' is not used by this method; every row counts once.")
    points = curve_points(d, n_points, doses)
    low = float(np.quantile(d, 0.25)) if contrast_low is None else float(contrast_low)
    high = float(np.quantile(d, 0.75)) if contrast_high is None else float(contrast_high)
    if not (d.min() <= low <= d.max() and d.min() <= high <= d.max()) or low == high:
        raise MethodError(f"The contrast doses ({low:g}, {high:g}) must be two different doses inside the observed "
                          f"range ({d.min():.4g} to {d.max():.4g}).", "Choose contrast_low and contrast_high there.",
                          code="E-METHOD-005")
    q05, q95 = np.quantile(d, [0.05, 0.95])
    optimum_grid = np.linspace(q05, q95, OPTIMUM_POINTS) if cost_per_unit is not None else np.empty(0)
    evaluate = np.concatenate([points, [low, high], optimum_grid])
    diagnostics: dict[str, Any] = {"curve": curve, "contrast_low": low, "contrast_high": high,
                                   "dose_mean": float(d.mean()), "dose_sd": float(d.std(ddof=1)),
                                   "dose_range": [float(d.min()), float(d.max())],
                                   "dose_quantiles": {q: float(np.quantile(d, float(q))) for q in
                                                      ("0.05", "0.25", "0.5", "0.75", "0.95")},
                                   "rows_dropped_missing": prep.n_dropped, "outcome_sd": float(np.std(y, ddof=1)),
                                   "naive_curve": naive_curve(d, y, points)}
    if curve == "dr":
        values, phi, se_method = dr_curve(prep, evaluate, bandwidth, bandwidth_rule, n_folds, outcome_learner, propensity_learner,
                                          seed, diagnostics, warnings)
        se_all = phi.std(axis=0, ddof=1) / math.sqrt(len(y))
        # the contrast's influence function is the difference of the two points' (columns after the curve)
        contrast_se = float(np.std(phi[:, points.size + 1] - phi[:, points.size], ddof=1) / math.sqrt(len(y)))
        draws = multiplier_draws(phi, values, seed) if cost_per_unit is not None else None
        gps_values = gps_curve(X, d, y, evaluate)
        diagnostics["gps_curve"] = gps_values[:points.size].tolist()
        # a second estimator of the same contrast: the assurance score's robustness reads the agreement
        diagnostics["alternative_estimates"] = {
            "gps_contrast": float(gps_values[points.size + 1] - gps_values[points.size])}
    else:
        values = gps_curve(X, d, y, evaluate)
        reps = gps_bootstrap(X, d, y, evaluate, n_boot, seed, prep.cluster)
        se_all = reps.std(axis=0, ddof=1)
        contrast_se = float(np.std(reps[:, points.size + 1] - reps[:, points.size], ddof=1))
        draws = reps if cost_per_unit is not None else None
        se_method = f"bootstrap over {'clusters' if prep.cluster is not None else 'units'} ({n_boot} replicates)"
        diagnostics["n_boot"] = int(n_boot)
    by = curve_subestimates(points, values[:points.size], se_all[:points.size], alpha, len(y))
    contrast = float(values[points.size + 1] - values[points.size])
    if cost_per_unit is not None:
        diagnostics["optimal_dose"] = optimal_dose(optimum_grid, values[-optimum_grid.size:],
                                                   draws[:, -optimum_grid.size:], se_all[-optimum_grid.size:],
                                                   cost_per_unit, value_per_unit, direction, alpha, curve)
    label = (f"change in the average outcome if everyone's dose moved from {low:.4g} to {high:.4g}"
             + (" (25th to 75th percentile of the observed dose)" if contrast_low is None and contrast_high is None
                else ""))
    return finish("dose_response", "dose_contrast", contrast, contrast_se, alpha=alpha, n_obs=len(y),
                  se_method=se_method, diagnostics=diagnostics, warnings=warnings, by=by, estimand_label=label)


def naive_curve(d: np.ndarray, y: np.ndarray, points: np.ndarray) -> list[float]:
    """Quadratic regression of the outcome on the dose alone (no covariates), for comparison."""
    coef = np.polyfit(d, y, 2)
    return np.polyval(coef, points).tolist()


def dr_curve(prep: Prepared, evaluate: np.ndarray, bandwidth: float | None, bandwidth_rule: str, n_folds: int, outcome_learner: str,
             propensity_learner: str, seed: int, diagnostics: dict[str, Any],
             warnings: list[str]) -> tuple[np.ndarray, np.ndarray, str]:
    y, d, X = prep.y, prep.t, prep.X
    nu = dose_nuisances(X, d, y, n_folds=n_folds, outcome_learner=outcome_learner,
                        propensity_learner=propensity_learner, seed=seed, cluster=prep.cluster)
    xi, weights, varpi_grid, m_grid = pseudo_outcomes(y, d, nu)
    sd = float(d.std(ddof=1))
    if bandwidth is None and bandwidth_rule == "plugin":
        h, how = plugin_bandwidth(d, xi), "rule of thumb (Fan & Gijbels 1996)"
    elif bandwidth is None:
        candidates = sd * BANDWIDTH_MULTIPLES
        risks = cv_risk(d, xi, candidates)
        if not np.any(np.isfinite(risks)):
            raise EstimationError("No bandwidth gave a usable leave-one-out fit of the kernel regression.",
                                  "Give a bandwidth in dose units, e.g. --param bandwidth=0.5.", code="E-EST-093")
        best = int(np.argmin(risks))
        h = float(candidates[best])
        if best in (0, candidates.size - 1):
            warnings.append(f"The cross-validated bandwidth ({h:.3g}) is at the edge of the candidates searched; "
                            "the curve may be over- or under-smoothed. Try a bandwidth by hand.")
        diagnostics["bandwidth_cv"] = {"bandwidth": candidates.tolist(),
                                       "risk": [r if math.isfinite(r) else None for r in risks]}
        how = "leave-one-out cross-validation"
    else:
        h, how = float(bandwidth), "given"
    values, phi = local_linear(d, xi, evaluate, h, nu, varpi_grid, m_grid)
    diagnostics.update(bandwidth=h, bandwidth_choice=how, n_folds=int(n_folds), outcome_learner=outcome_learner,
                       propensity_learner=propensity_learner, treatment_model_r2=nu.treatment_r2,
                       outcome_model_r2=nu.outcome_r2,
                       effective_sample_size_ratio=float(weights.sum() ** 2 / (weights @ weights) / len(weights)),
                       max_weight_ratio=float(weights.max() / weights.mean()),
                       top_weight_share=float(arm_top_share(weights)),
                       weight_quantiles=np.quantile(weights, [0.01, 0.5, 0.99]).tolist(),
                       dose_density={"dose": nu.grid.tolist(), "density": varpi_grid.tolist()})
    kind = " (cluster-robust folds)" if prep.cluster is not None else ""
    return values, phi, f"influence function of the doubly robust kernel curve, {n_folds}-fold cross-fitted{kind}"


def curve_subestimates(points: np.ndarray, values: np.ndarray, se: np.ndarray, alpha: float,
                       n: int) -> tuple[SubEstimate, ...]:
    from ..inference import wald

    out = []
    for x, v, s in zip(points, values, se):
        lo, hi, p = wald(float(v), float(s), alpha)
        out.append(SubEstimate(label=dose_label(float(x), points), estimate=float(v), std_error=float(s),
                               ci_lower=lo, ci_upper=hi, p_value=p, n_obs=n,
                               extra={"dose": float(x), "quantity": "average outcome at this dose"}))
    return tuple(out)


def multiplier_draws(phi: np.ndarray, values: np.ndarray, seed: int) -> np.ndarray:
    """Gaussian multiplier bootstrap of the curve: values + Z phi / n, Z ~ N(0, 1) per unit."""
    n = phi.shape[0]
    z = np.random.default_rng(seed + 7919).standard_normal((MULTIPLIER_DRAWS, n))
    return values[None, :] + z @ phi / n


def optimal_dose(grid: np.ndarray, values: np.ndarray, draws: np.ndarray, se: np.ndarray, cost: float,
                 value: float, direction, alpha: float, curve: str) -> dict[str, Any]:
    """argmax of net value s v theta(d) - c d on the grid, with a percentile interval from the draws."""
    from ..inference import wald

    s = direction.sign
    net = s * value * values - cost * grid
    best = int(np.argmax(net))
    draw_best = np.argmax(s * value * draws - cost * grid[None, :], axis=1)
    lo, hi = np.quantile(grid[draw_best], [alpha / 2, 1 - alpha / 2])
    net_se = abs(value) * float(se[best])
    net_lo, net_hi, _ = wald(float(net[best]), net_se, alpha)
    at_edge = best in (0, grid.size - 1)
    how = ("Gaussian multiplier bootstrap of the curve's influence functions (nuisance fits held fixed)"
           if curve == "dr" else "bootstrap over units (both stages refitted)")
    return {"dose": float(grid[best]), "ci_lower": float(lo), "ci_upper": float(hi), "net_value": float(net[best]),
            "net_value_std_error": net_se, "net_value_ci_lower": net_lo, "net_value_ci_upper": net_hi,
            "cost_per_unit": cost, "value_per_unit": value, "better": direction.better,
            "at_edge_of_search": at_edge, "search_range": [float(grid[0]), float(grid[-1])],
            "net_value_curve": {"dose": grid.tolist(), "net_value": net.tolist()},
            "uncertainty": how, "draws": int(draws.shape[0])}
