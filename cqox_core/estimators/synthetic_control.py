"""Synthetic control (Abadie, Diamond & Hainmueller 2010, JASA 105:493; Abadie 2021, JEL 59:391).

One treated unit, J untreated donors, long data. The synthetic control is the
convex combination of donors, weights w >= 0 with sum(w) = 1, that minimises the
distance between the treated unit's predictors X1 and the donors' X0

    w*(V) = argmin (X1 - X0 w)' V (X1 - X0 w)       (ADH 2010, Sec. 2.3, eq. 4-5)

By default the predictors are the outcome in every pre-period with equal V,
which is the least-squares fit of the pre-period path (Abadie 2021, Sec. 3.2;
the "SC" estimator of Arkhangelsky et al. 2021, AER 111:4088, eq. 2, without its
tiny ridge). With covariates (their pre-period means, standardised by their
spread across units as in ADH's Synth) V can be chosen by the nested problem
that minimises the pre-period outcome MSPE of w*(V) (ADH 2010, Sec. 2.3;
Abadie & Gardeazabal 2003).

The effect in a post period is the gap Y1t - sum_j w_j Yjt; the headline is the
average post-period gap. There is no sampling standard error (``std_error`` is
NaN); there are two permutation inferences, and the headline p-value and the
interval come from the second:

* the in-space placebo test (ADH 2010, Sec. 4): every donor is treated as if it
  were the treated unit, and the placebo p-value is the rank of the treated
  unit's post/pre RMSPE ratio among all J+1 units divided by J+1. It is kept in
  ``diagnostics["placebo_p"]`` and read by the placebo gate.
* the conformal test of Chernozhukov, Wuthrich & Zhu (2021, JASA 116:1849, "An
  exact and robust conformal inference method for counterfactual and synthetic
  controls", Sec. 2), inverted into the confidence interval. For a
  hypothesised constant effect theta, the null is imposed on the treated
  unit's post-period outcomes (Y1t - theta), the weights are refitted on *all*
  periods, and the residuals u_t are permuted over time by the T moving-block
  (cyclic) shifts; the p-value is the share of the T blocks of n_post periods
  whose statistic is at least the observed post block's. The interval is the set
  of theta with p > alpha; ``p_value`` is this test at theta = 0, so the interval
  excludes zero exactly when p_value <= alpha (``diagnostics["p_value_source"]``
  says "conformal"). When the interval cannot be computed the headline p-value
  stays the placebo p-value and the source says "placebo".

Choices, and why:

* Statistic: |sum of the block's residuals| / sqrt(n_post), not CWZ's default
  sum of |u_t| (q = 1). The interval is for the average post-period effect, and
  a mean statistic targets it: under a time-varying effect with that average the
  deviations cancel in the observed block, while the shifted blocks that overlap
  it partially pick them up, so the test errs on the conservative side instead of
  rejecting the true average. ``statistic="abs"`` (CWZ's q = 1) is kept for the
  comparison with the authors' scinference package in the tests.
* Refit: for variant "sc", the outcome path on all periods by simplex least
  squares (CWZ's "SC" estimator), whatever the predictors of the headline fit:
  covariates, nested V and predictor_periods are not re-run per theta, because
  CWZ's exactness needs a fit that treats all periods alike, which a pre-period
  predictor fit does not. For variant "sdid", SDID's unit-weight problem on all
  periods with its intercept but without its ridge: the ridge is tuned for the
  pre-period fit, and on all periods it pulls the weights towards equal ones,
  leaves the treated unit's own trend in the residuals, and the test then
  rejected a true null of no effect in 55% of 300 simulated factor-model panels
  with unit-specific trends at alpha = 5%.
* Root finding: the post block's residual sum is non-increasing in theta (the
  residual of a projection onto a convex set is a monotone map), so its root,
  where p = 1, is found by Brent's method; from there the bracket doubles outward
  until theta is rejected on both sides, a coarse grid of ``CONFORMAL_GRID``
  points locates the accepted set, and bisection refines each outer edge to
  ``CONFORMAL_TOL`` of a grid step, reporting the rejected side (a shade
  conservative). If the accepted set on the grid has gaps, its hull is reported
  with a warning.
* Coverage: exact under exchangeable residuals and a constant effect,
  approximately valid for stationary, weakly dependent errors (CWZ Sec. 2). With
  T periods in all the smallest p-value is 1/T, so a (1 - alpha) interval needs
  T >= 1/alpha (20 periods at alpha = 0.05); below that ci_lower/ci_upper are NaN
  and a warning says why and what to do.
* Power: rejecting needs the observed block among the floor(alpha T) largest of
  the T blocks, and the refit can explain part of a post-period shift by weights
  with a different trend. The interval is therefore wider than a Wald interval
  would be, and when the treated unit's trend is at the edge of the donors' it
  can be long on one side (on the test file's factor model, where the treated
  unit has the steepest trend, p = 0.27 for a drop of 15 noise SDs that the
  placebo test ranks first of 21), and with many more donors than periods the
  refit can follow much of any hypothesised path (50 donors, 30 periods: a
  sizeable effect is not distinguished from none). A warning says so when the
  placebo test finds the gap unusual but the conformal test cannot rule out no
  effect.

``variant="sdid"`` gives synthetic difference-in-differences (Arkhangelsky,
Athey, Hirshberg, Imbens & Wager 2021, AER 111:4088): regularised unit weights
with an intercept plus time weights, the gap measured against the weighted
pre-period difference (see ``fit_sdid``); the same placebo and conformal tests
apply.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd
from scipy import optimize

from ..data import Dataset
from ..datasets import examples
from ..errors import EstimationError, MethodError
from ..panel import check_outcome_and_treatment, prepare_panel
from ..prep import covariate_columns
from ..registry import Reference, Requirements, register
from ..results import EffectResult
from ..roles import Roles
from ._common import finish, sub_estimate
from ._common import period_label as time_label

#: Weights below this are reported as zero (the solver's numerical floor).
WEIGHT_FLOOR = 1e-6
CONFORMAL_SE_METHOD = "conformal interval by moving-block permutations (no sampling SE)"
PLACEBO_SE_METHOD = "placebo permutation (no sampling SE)"
#: The placebo gate passes at placebo_p <= 0.10 (gates.py).
PLACEBO_GATE_PASS = 0.10


# ---------------------------------------------------------------------------
# the quadratic program: least squares on the simplex
# ---------------------------------------------------------------------------

def _objective(A: np.ndarray, b: np.ndarray, w: np.ndarray) -> float:
    r = A @ w - b
    return float(r @ r)


def _kkt_on_support(A: np.ndarray, b: np.ndarray, support: np.ndarray) -> np.ndarray | None:
    """Equality-constrained least squares on the support: [A'A 1; 1' 0][w; mu] = [A'b; 1]."""
    As = A[:, support]
    k = As.shape[1]
    kkt = np.zeros((k + 1, k + 1))
    kkt[:k, :k] = As.T @ As
    kkt[:k, k] = kkt[k, :k] = 1.0
    rhs = np.concatenate([As.T @ b, [1.0]])
    try:
        sol = np.linalg.solve(kkt, rhs)
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(sol)) or np.any(sol[:k] < 0):
        return None
    w = np.zeros(A.shape[1])
    w[support] = sol[:k]
    return w


def _is_kkt_point(A: np.ndarray, b: np.ndarray, w: np.ndarray, tol: float = 1e-9) -> bool:
    """Optimality on the simplex: the gradient is equal (= mu) on the support and >= mu off it."""
    grad = 2 * A.T @ (A @ w - b)
    support = w > 0
    if not support.any():
        return False
    mu = float(grad[support].mean())
    slack = tol * max(1.0, float(np.abs(grad).max()))
    return bool(np.all(np.abs(grad[support] - mu) <= slack) and np.all(grad[~support] >= mu - slack))


def simplex_least_squares(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """argmin ||A w - b||^2 subject to w >= 0, sum(w) = 1, deterministically.

    Lawson-Hanson NNLS with the adding-up row weighted heavily finds the active
    set; the equality-constrained solution on that set is exact; SLSQP then
    polishes from the best candidate (it can only lower the objective). The
    problem is convex, so a point passing the KKT check is the global optimum.
    """
    n_donors = A.shape[1]
    if n_donors == 1:
        return np.ones(1)
    scale = max(float(np.abs(A).max()), float(np.abs(b).max()), 1e-300)
    A, b = A / scale, b / scale
    big = 1e4 * max(1.0, float(np.linalg.norm(A)))
    w_nnls, _ = optimize.nnls(np.vstack([A, np.full((1, n_donors), big)]), np.concatenate([b, [big]]),
                              maxiter=50 * n_donors)
    candidates = [np.full(n_donors, 1.0 / n_donors)]
    if w_nnls.sum() > 0:
        candidates.append(w_nnls / w_nnls.sum())
        exact = _kkt_on_support(A, b, w_nnls > 1e-12 * w_nnls.max())
        if exact is not None:
            candidates.append(exact)
    start = min(candidates, key=lambda w: _objective(A, b, w))
    if _is_kkt_point(A, b, start):
        return start
    polished = optimize.minimize(
        lambda w: _objective(A, b, w), start, jac=lambda w: 2 * A.T @ (A @ w - b), method="SLSQP",
        bounds=[(0.0, 1.0)] * n_donors, constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0,
                                                     "jac": lambda w: np.ones_like(w)}],
        options={"ftol": 1e-15, "maxiter": 1000})
    best = start
    if polished.x is not None and np.all(np.isfinite(polished.x)):
        cand = np.clip(polished.x, 0.0, None)
        cand = cand / cand.sum()
        if _objective(A, b, cand) < _objective(A, b, best):
            best = cand
    best = np.where(best < WEIGHT_FLOOR * 1e-3, 0.0, best)
    return best / best.sum()


# ---------------------------------------------------------------------------
# predictors and V
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Predictors:
    """Predictor matrix (rows = predictors, columns = units; column 0 = treated) and names."""

    values: np.ndarray
    names: list[str]


def standardize_rows(P: np.ndarray) -> np.ndarray:
    """Divide each predictor by its spread across units, as ADH's Synth does, so V is scale-free."""
    sd = P.std(axis=1, ddof=1, keepdims=True)
    return P / np.where(sd > 0, sd, 1.0)


def fit_weights(P: np.ndarray, v: np.ndarray) -> np.ndarray:
    """w*(V) for predictors P (column 0 treated, others donors) and diagonal V."""
    root = np.sqrt(v)[:, None]
    return simplex_least_squares(root * P[:, 1:], root[:, 0] * P[:, 0])


def optimize_v(P: np.ndarray, Y_pre: np.ndarray) -> np.ndarray:
    """Nested V (ADH 2010, Sec. 2.3): minimise the pre-period outcome MSPE of w*(V) over V >= 0, sum 1.

    V = softmax(theta), searched by Nelder-Mead from equal weights (deterministic).
    """
    k = P.shape[0]
    if k == 1:
        return np.ones(1)

    def loss(theta: np.ndarray) -> float:
        v = np.exp(theta - theta.max())
        w = fit_weights(P, v / v.sum())
        gap = Y_pre[:, 0] - Y_pre[:, 1:] @ w
        return float(gap @ gap)

    res = optimize.minimize(loss, np.zeros(k), method="Nelder-Mead",
                            options={"maxiter": 200 * k, "xatol": 1e-4, "fatol": 1e-10})
    theta = res.x if res.fun <= loss(np.zeros(k)) else np.zeros(k)
    v = np.exp(theta - theta.max())
    return v / v.sum()


def build_predictors(Y_pre: np.ndarray, outcome_rows: np.ndarray, covariate_means: np.ndarray | None,
                     names: list[str]) -> Predictors:
    """Outcome-only predictors stay in outcome units (so equal V is the pre-period MSPE); with covariates
    every predictor is standardised across units."""
    P = Y_pre[outcome_rows, :]
    if covariate_means is None:
        return Predictors(P, names)
    return Predictors(standardize_rows(np.vstack([covariate_means, P])), names)


# ---------------------------------------------------------------------------
# one fit: treated column 0, donors the rest
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SynthFit:
    weights: np.ndarray       # one per donor column
    v: np.ndarray             # predictor weights
    synthetic: np.ndarray     # synthetic outcome path, every period
    gap: np.ndarray           # treated minus synthetic, every period
    pre_rmspe: float
    post_rmspe: float

    @property
    def ratio(self) -> float:
        return self.post_rmspe / self.pre_rmspe if self.pre_rmspe > 0 else math.inf


@dataclass(frozen=True)
class Spec:
    """What defines the predictors, so placebo and leave-one-out fits repeat the main fit exactly."""

    pre: np.ndarray                   # boolean mask over periods
    outcome_rows: np.ndarray          # which pre-period indices enter as predictors
    predictor_names: list[str]
    v_mode: str
    method: str = "sc"


def _ridge_simplex(A: np.ndarray, b: np.ndarray, ridge: float) -> np.ndarray:
    """argmin over the simplex of ||(A - colmeans) w - (b - mean)||^2 + ridge^2 ||w||^2 (intercept absorbed)."""
    A = A - A.mean(axis=0, keepdims=True)
    b = b - b.mean()
    return simplex_least_squares(np.vstack([A, ridge * np.eye(A.shape[1])]), np.concatenate([b, np.zeros(A.shape[1])]))


def fit_sdid(Y: np.ndarray, pre: np.ndarray) -> SynthFit:
    """Synthetic difference-in-differences (Arkhangelsky et al. 2021, AER 111:4088, Algorithm 1).

    Unit weights: simplex least squares of the treated pre-period path on the donors' with an intercept and
    ridge zeta^2 T0 |w|^2, zeta = (N1 T1)^(1/4) sigma, sigma = sd of the donors' first differences (eq. 2-3).
    Time weights: the donors' post-period mean on their pre-periods, intercept, ridge 1e-6 sigma (eq. 4).
    The synthetic path is the donor average shifted by the lambda-weighted pre-period gap, so the average
    post-period gap is the SDID estimate (eq. 1). Weights are solved exactly rather than by Frank-Wolfe.
    """
    Y_pre, Y_post = Y[pre], Y[~pre]
    n_pre, n_donors = Y_pre.shape[0], Y.shape[1] - 1
    sigma = float(np.std(np.diff(Y_pre[:, 1:], axis=0), ddof=1)) if n_pre > 2 else 0.0
    zeta_omega = (1 * Y_post.shape[0]) ** 0.25 * sigma
    omega = _ridge_simplex(Y_pre[:, 1:], Y_pre[:, 0], math.sqrt(n_pre) * zeta_omega)
    lam = _ridge_simplex(Y_pre[:, 1:].T, Y_post[:, 1:].mean(axis=0), math.sqrt(n_donors) * 1e-6 * sigma)
    offset = float(lam @ (Y_pre[:, 0] - Y_pre[:, 1:] @ omega))
    synthetic = Y[:, 1:] @ omega + offset
    gap = Y[:, 0] - synthetic
    return SynthFit(weights=omega, v=lam, synthetic=synthetic, gap=gap,
                    pre_rmspe=float(np.sqrt(np.mean(gap[pre] ** 2))),
                    post_rmspe=float(np.sqrt(np.mean(gap[~pre] ** 2))))


def fit_synth(Y: np.ndarray, cov: np.ndarray | None, spec: Spec) -> SynthFit:
    """Y: periods x units (column 0 treated); cov: covariates x units or None."""
    if spec.method == "sdid":
        return fit_sdid(Y, spec.pre)
    Y_pre = Y[spec.pre]
    pred = build_predictors(Y_pre, spec.outcome_rows, cov, spec.predictor_names)
    k = pred.values.shape[0]
    v = optimize_v(pred.values, Y_pre) if spec.v_mode == "optimize" else np.full(k, 1.0 / k)
    w = fit_weights(pred.values, v)
    synthetic = Y[:, 1:] @ w
    gap = Y[:, 0] - synthetic
    return SynthFit(weights=w, v=v, synthetic=synthetic, gap=gap,
                    pre_rmspe=float(np.sqrt(np.mean(gap[spec.pre] ** 2))),
                    post_rmspe=float(np.sqrt(np.mean(gap[~spec.pre] ** 2))))


# ---------------------------------------------------------------------------
# data: one treated unit, donors, wide matrix
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Design:
    units: list[Any]          # treated first, then donors
    periods: np.ndarray
    Y: np.ndarray             # periods x units
    pre: np.ndarray           # boolean over periods
    covariates: np.ndarray | None
    covariate_names: list[str]
    warnings: tuple[str, ...]


def _treated_unit(panel_first: pd.Series, treated_unit: Any) -> Any:
    treated = panel_first.index[panel_first > 0].tolist()
    if treated_unit is not None:
        match = [u for u in panel_first.index if u == treated_unit or str(u) == str(treated_unit)]
        if not match or panel_first[match[0]] == 0:
            raise MethodError(f"treated_unit={treated_unit!r} is not a treated unit in the data.",
                              "Name one of the units whose treatment is 1 in some period: "
                              f"{', '.join(map(str, treated[:8]))}.", code="E-METHOD-005")
        return match[0]
    if len(treated) > 1:
        raise EstimationError(f"{len(treated)} units are treated ({', '.join(map(str, treated[:5]))}"
                              f"{' ...' if len(treated) > 5 else ''}); synthetic control builds a comparison for "
                              "one treated unit.",
                              "Use staggered_did for several treated units, or pick one with "
                              "--param treated_unit=NAME.", code="E-EST-063")
    return treated[0]


def _wide(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame.pivot(index="time", columns="unit", values=column)


def build_design(data: Dataset, roles: Roles, treated_unit: Any) -> Design:
    check_outcome_and_treatment(data, roles, ("outcome", "treatment", "unit", "time"))
    panel = prepare_panel(data, dataclasses.replace(roles, covariates=(), cohort=None))
    warnings = list(panel.warnings)
    unit = _treated_unit(panel.first_treated, treated_unit)
    start = panel.first_treated[unit]
    others = panel.first_treated.index[(panel.first_treated > 0) & (panel.first_treated.index != unit)]
    if len(others):
        warnings.append(f"{len(others)} other treated unit(s) were left out of the donor pool "
                        f"({', '.join(map(str, others[:5]))}).")
    Y = _wide(panel.frame, "y")
    D = _wide(panel.frame, "d")
    own = Y[unit].dropna().index.to_numpy()
    pre_all = panel.periods[panel.periods < start]
    missing_pre = np.setdiff1d(pre_all, own)
    if missing_pre.size:
        raise EstimationError(f"The treated unit '{unit}' has no outcome in pre-period(s) "
                              f"{', '.join(time_label(t) for t in missing_pre[:5])}.",
                              "Fill or drop those periods for every unit; the synthetic control is fitted on the "
                              "treated unit's whole pre-period path.", code="E-EST-062")
    if (D.loc[own[own >= start], unit] == 0).any():
        warnings.append(f"The treatment of '{unit}' returns to 0 in some periods after it started; every period "
                        f"from {time_label(start)} on is counted as post-treatment.")
    donors = list(panel.first_treated.index[panel.first_treated == 0])
    complete = [u for u in donors if Y.loc[own, u].notna().all()]
    if len(complete) < len(donors):
        gone = [u for u in donors if u not in complete]
        warnings.append(f"{len(gone)} donor(s) with missing outcomes in the treated unit's periods were dropped "
                        f"({', '.join(map(str, gone[:5]))}{' ...' if len(gone) > 5 else ''}).")
    _check_sizes(complete, own, start)
    cov, cov_names = _covariate_means(data, roles, [unit, *complete], start)
    return Design(units=[unit, *complete], periods=own, Y=Y.loc[own, [unit, *complete]].to_numpy(dtype=float),
                  pre=own < start, covariates=cov, covariate_names=cov_names, warnings=tuple(warnings))


def _check_sizes(donors: list[Any], periods: np.ndarray, start: Any) -> None:
    if len(donors) < 2:
        raise EstimationError(f"Only {len(donors)} untreated unit(s) with complete outcomes are left as donors; a "
                              "synthetic control needs at least 2.",
                              "Add untreated comparison units, or fill their missing periods.", code="E-EST-060")
    n_pre = int((periods < start).sum())
    if n_pre < 2:
        raise EstimationError(f"There are {n_pre} period(s) before the treatment starts; the synthetic control "
                              "is fitted on the pre-period and needs at least 2 (many more in practice).",
                              "Use data that start earlier, or check the treatment coding.", code="E-EST-061")
    if int((periods >= start).sum()) < 1:
        raise EstimationError("The treated unit has no outcome after the treatment starts.",
                              "Add post-treatment periods for the treated unit.", code="E-EST-064")


def _covariate_means(data: Dataset, roles: Roles, units: list[Any], start: Any) -> tuple[np.ndarray | None,
                                                                                       list[str]]:
    """Pre-period mean of each covariate per unit (missing years ignored, as ADH's Synth does)."""
    if not roles.covariates:
        return None, []
    src = data.frame
    frame = pd.DataFrame({"unit": src[roles.unit], "time": src[roles.time]})
    if pd.api.types.is_numeric_dtype(frame["time"]):
        frame["time"] = frame["time"].astype(float)
    else:
        frame["time"] = pd.to_datetime(frame["time"], errors="coerce")
    names: list[str] = []
    for c in roles.covariates:
        values = pd.to_numeric(src[c], errors="coerce")
        if values.notna().sum() >= 0.9 * src[c].notna().sum():
            frame[c] = values
            names.append(c)
            continue
        # a text covariate: indicators of its levels (first left out), so a pre-period mean is a level's share
        indicators, indicator_names, _ = covariate_columns(src, (c,))
        missing = src[c].isna().to_numpy()
        for j, name in enumerate(indicator_names):
            frame[name] = np.where(missing, np.nan, indicators[:, j])
            names.append(name)
    means = frame.loc[frame["time"] < start].groupby("unit")[names].mean()
    means = means.reindex(units)
    if means.isna().any().any():
        bad = means.columns[means.isna().any()].tolist()
        raise EstimationError(f"Covariate(s) {', '.join(bad)} have no pre-period value for some units.",
                              "Fill them or leave those covariates out.", code="E-EST-062")
    return means.to_numpy(dtype=float).T, [f"{c} (pre-period mean)" for c in names]


# ---------------------------------------------------------------------------
# specification, placebos, leave-one-out
# ---------------------------------------------------------------------------

def make_spec(design: Design, predictor_periods: Sequence[Any] | None, v: str) -> tuple[Spec, list[str]]:
    pre_times = design.periods[design.pre]
    notes: list[str] = []
    if isinstance(predictor_periods, str):          # from the command line: "1975,1980,1988"
        predictor_periods = [p.strip() for p in predictor_periods.split(",") if p.strip()]
    if predictor_periods is None:
        rows = np.arange(pre_times.size)
    else:
        wanted = {time_label(t) for t in predictor_periods}
        rows = np.array([i for i, t in enumerate(pre_times) if time_label(t) in wanted], dtype=int)
        if rows.size == 0:
            raise MethodError("None of predictor_periods is a pre-treatment period of the treated unit.",
                              f"Choose among {', '.join(time_label(t) for t in pre_times[:10])} ...",
                              code="E-METHOD-005")
    names = design.covariate_names + [f"outcome {time_label(pre_times[i])}" for i in rows]
    if v == "optimize" and design.covariates is None and predictor_periods is None:
        notes.append("With the outcome in every pre-period as the only predictors, equal predictor weights already "
                     "minimise the pre-period fit, so v='optimize' changes nothing and equal weights were used.")
        v = "equal"
    return Spec(pre=design.pre, outcome_rows=rows, predictor_names=names, v_mode=v), notes


def placebo_runs(design: Design, spec: Spec) -> list[tuple[Any, SynthFit]]:
    """Each donor in turn as the treated unit, the other donors as its pool (ADH 2010, Sec. 4)."""
    out = []
    n_units = len(design.units)
    for j in range(1, n_units):
        order = [j] + [k for k in range(1, n_units) if k != j]
        cov = None if design.covariates is None else design.covariates[:, order]
        out.append((design.units[j], fit_synth(design.Y[:, order], cov, spec)))
    return out


def leave_one_out(design: Design, spec: Spec, fit: SynthFit) -> list[dict[str, Any]]:
    """Re-estimate without each donor that carries weight (Abadie 2021, Sec. 7.1 robustness)."""
    out = []
    n_units = len(design.units)
    if n_units <= 3:
        return out
    for j in np.flatnonzero(fit.weights > WEIGHT_FLOOR) + 1:
        keep = [k for k in range(n_units) if k != j]
        cov = None if design.covariates is None else design.covariates[:, keep]
        loo = fit_synth(design.Y[:, keep], cov, spec)
        out.append({"dropped": design.units[j], "average_gap": float(loo.gap[~spec.pre].mean()),
                    "pre_rmspe": loo.pre_rmspe})
    return out


def placebo_p(treated_ratio: float, placebo_ratios: list[float]) -> tuple[float, int]:
    """Rank of the treated unit's post/pre RMSPE ratio among all units (1 = largest) over J+1; ties count
    against the treated unit."""
    rank = 1 + sum(r >= treated_ratio for r in placebo_ratios)
    return rank / (len(placebo_ratios) + 1), rank


# ---------------------------------------------------------------------------
# conformal interval (Chernozhukov, Wuthrich & Zhu 2021; see the module docstring)
# ---------------------------------------------------------------------------

#: Coarse grid points between the two rejected outer brackets.
CONFORMAL_GRID = 41
#: Bisection stops when the bracket is below this share of one coarse grid step.
CONFORMAL_TOL = 1e-3
#: Outward doublings of the bracket before the interval is called unbounded.
MAX_DOUBLINGS = 60

Statistic = Literal["mean", "abs"]


@dataclass(frozen=True)
class ConformalProblem:
    """What the refit under each hypothesised effect needs (column 0 treated)."""

    Y: np.ndarray          # periods x units, periods in time order, post periods last
    n_pre: int
    intercept: bool        # True for variant "sdid": SC with an intercept

    @property
    def n_periods(self) -> int:
        return int(self.Y.shape[0])

    @property
    def n_post(self) -> int:
        return self.n_periods - self.n_pre


def conformal_problem(Y: np.ndarray, pre: np.ndarray, method: str) -> ConformalProblem:
    # build_design's periods are sorted and pre = period < start, so the pre-periods come first and the
    # post block is the last n_post rows (the moving blocks are defined in time order).
    return ConformalProblem(Y=Y, n_pre=int(pre.sum()), intercept=method == "sdid")


def conformal_residuals(problem: ConformalProblem, theta: float) -> np.ndarray:
    """Residuals of the all-period refit with the null Y1t(0) = Y1t - theta imposed after treatment."""
    y = problem.Y[:, 0].copy()
    y[problem.n_pre:] -= theta
    donors = problem.Y[:, 1:]
    if problem.intercept:
        # SDID's unit-weight problem (intercept absorbed by centring) without its ridge: see the docstring
        centred = donors - donors.mean(axis=0, keepdims=True)
        return y - y.mean() - centred @ simplex_least_squares(centred, y - y.mean())
    return y - donors @ simplex_least_squares(donors, y)


def block_statistics(u: np.ndarray, n_post: int, statistic: Statistic = "mean") -> np.ndarray:
    """The statistic of each of the T cyclic blocks of n_post consecutive residuals; block s starts at
    period s, so block n_pre is the observed post period (CWZ's moving-block permutations)."""
    T = u.size
    wrapped = np.concatenate([u, u[:n_post - 1]])
    values = np.abs(wrapped) if statistic == "abs" else wrapped
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    return np.abs(cumulative[n_post:n_post + T] - cumulative[:T]) / math.sqrt(n_post)


def conformal_p(problem: ConformalProblem, theta: float, statistic: Statistic = "mean") -> float:
    """Moving-block permutation p-value of H0: the effect is theta in every post period."""
    u = conformal_residuals(problem, theta)
    s = block_statistics(u, problem.n_post, statistic)
    # Prefix sums round at ~1e-16 of the running total; a block equal to the observed one up to that
    # counts as a tie, and ties count against rejection (as in CWZ's ">=").
    tie = 1e-12 * float(np.abs(u).sum())
    return float(np.mean(s >= s[problem.n_pre] - tie))


@dataclass(frozen=True)
class ConformalInterval:
    lower: float
    upper: float
    p_zero: float                 # the test of no effect
    centre: float                 # theta where the post block's residual sum is zero (p = 1)
    connected: bool
    n_fits: int
    reason: str = ""              # why lower/upper are NaN, in plain words

    @property
    def ok(self) -> bool:
        return not self.reason


def _doubling(f: Any, start: float, step: float, direction: int) -> float | None:
    """First start + direction * step * 2^k (k = 0, 1, ...) at which f is True, or None."""
    for k in range(MAX_DOUBLINGS):
        x = start + direction * step * 2.0 ** k
        if f(x):
            return x
    return None


def _bisect_edge(rejected: Any, outer: float, inner: float, tol: float) -> float:
    """Shrink [outer rejected, inner accepted] to tol; return the rejected side."""
    while abs(inner - outer) > tol:
        mid = 0.5 * (outer + inner)
        if rejected(mid):
            outer = mid
        else:
            inner = mid
    return outer


def conformal_interval(problem: ConformalProblem, alpha: float, guess: float, scale: float,
                       statistic: Statistic = "mean") -> ConformalInterval:
    """The (1 - alpha) set {theta: conformal p(theta) > alpha}, bracketed as the module docstring says.

    guess: where to start looking (the headline estimate); scale: the first bracket step (> 0).
    """
    fits = 0

    def p(theta: float) -> float:
        nonlocal fits
        fits += 1
        return conformal_p(problem, theta, statistic)

    p_zero = p(0.0)
    T = problem.n_periods
    level = f"{1 - alpha:.0%}"
    if T * alpha < 1 - 1e-9:
        need = math.ceil(1 / alpha - 1e-9)
        return ConformalInterval(math.nan, math.nan, p_zero, math.nan, True, fits, reason=(
            f"No {level} confidence interval: with {T} periods in all, the permutation test behind it can "
            f"reach p = 1/{T} = {1 / T:.3f} at best, which is above alpha = {alpha:g}, so no effect size can "
            f"be ruled out. It needs at least {need} periods (pre plus post). Use data that start earlier, or "
            f"a larger alpha."))

    def post_sum(theta: float) -> float:
        nonlocal fits
        fits += 1
        return float(conformal_residuals(problem, theta)[problem.n_pre:].sum())

    # The post residual sum is non-increasing in theta: bracket its root from the guess, then Brent.
    at_guess = post_sum(guess)
    other = None if at_guess == 0 else _doubling(lambda x: post_sum(x) * at_guess <= 0, guess, scale,
                                                 1 if at_guess > 0 else -1)
    if at_guess == 0:
        centre = guess
    elif other is None:
        return ConformalInterval(math.nan, math.nan, p_zero, math.nan, True, fits, reason=(
            f"No {level} confidence interval: refitting the synthetic control on all periods absorbs any "
            "hypothesised effect, so the test cannot tell effect sizes apart. Check that the donors do not "
            "include a copy of the treated unit."))
    else:
        a, b = sorted((guess, other))
        centre = float(optimize.brentq(post_sum, a, b, xtol=1e-12 * max(1.0, abs(a), abs(b))))

    def rejected(theta: float) -> bool:
        return p(theta) <= alpha

    ends = [_doubling(rejected, centre, scale, d) for d in (-1, 1)]
    if ends[0] is None or ends[1] is None:
        return ConformalInterval(math.nan, math.nan, p_zero, centre, True, fits, reason=(
            f"No {level} confidence interval: the test does not reject even effects "
            f"{scale * 2.0 ** MAX_DOUBLINGS:.3g} away from the estimate, so the interval is unbounded: refitted "
            "on all periods, the donors can follow any hypothesised path. Use fewer, closer donors or data "
            "that start earlier."))
    grid = np.union1d(np.linspace(ends[0], ends[1], CONFORMAL_GRID), [centre])
    accepted = np.array([not rejected(x) for x in grid[1:-1]])
    accepted = np.concatenate([[False], accepted, [False]])   # both ends were rejected above
    inside = np.flatnonzero(accepted)
    if inside.size == 0:        # only when the centre's p is at alpha by a tie; not seen in practice
        return ConformalInterval(math.nan, math.nan, p_zero, centre, True, fits, reason=(
            f"No {level} confidence interval: the test rejects every constant effect, so no constant effect "
            "fits the treated unit; read the gap plot (the effect may change sign over time)."))
    lo_i, hi_i = int(inside[0]), int(inside[-1])
    tol = CONFORMAL_TOL * (ends[1] - ends[0]) / (CONFORMAL_GRID - 1)
    lower = _bisect_edge(rejected, float(grid[lo_i - 1]), float(grid[lo_i]), tol)
    upper = _bisect_edge(rejected, float(grid[hi_i + 1]), float(grid[hi_i]), tol)
    return ConformalInterval(lower, upper, p_zero, centre, bool(accepted[lo_i:hi_i + 1].all()), fits)


# ---------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------

@register("synthetic_control", family="panel", design="panel", estimands=("att",),
          requires=Requirements(roles=("outcome", "treatment", "unit", "time"), treatment="binary", panel=True,
                                min_rows=8, one_treated_unit=True),
          title="Synthetic control",
          summary="Builds a weighted average of untreated units that tracks the treated unit before treatment, and "
                  "reads the effect as the gap after it; placebo runs give the p-value.",
          inference="conformal permutation interval; placebo p-value (no sampling SE)",
          params={
              "treated_unit": "Which unit is the treated one; empty = the unit whose treatment switches on.",
              "v": "Weights of the pre-period outcomes in the fit: equal, or optimised for prediction.",
              "predictor_periods": "Pre-treatment periods used as predictors; empty = all of them.",
              "placebos": "Run the method on every donor as if it were treated, for the placebo p-value.",
              "variant": "Classic synthetic control (sc) or synthetic difference-in-differences (sdid).",
          },
          headline_rank=30, e_value=False, example=examples.one_treated_unit, transparency=0.85, cost_exponent=1.2,
          references=(
              # Proposition 99 (39 states, 1970-2000, California treated from 1989), outcome only
              *(Reference(quantity, value, tolerance, data="cqox:prop99_frame", params=params,
                          roles={"outcome": "PacksPerCapita", "treatment": "treated", "unit": "State",
                                 "time": "Year"},
                          source=source, script=script, why_tolerance=why)
                for quantity, value, tolerance, params, source, script, why in (
                    ("estimate", -19.619663470944012, 0.25, {},
                     "synthdid-py 0.1.0 sc_estimate(Y, N0, T0) (matches R synthdid 0.0.9 to 5 decimals)",
                     "tests/estimators/references/scripts/synthetic_control_synthdid.py",
                     ("synthdid stops Frank-Wolfe at a pre-period SSE of 52.66 where the exact optimum is 52.13, "
                     "so the two differ by ~0.1 pack: 0.25, as test_prop99_agrees_with_synthdid_sc")),
                    ("estimate", -19.6, 0.25, {},
                     "Arkhangelsky, Athey, Hirshberg, Imbens & Wager (2021), AER 111:4088, Table 1: SC = -19.6",
                     "printed in the source", "the peer tolerance (0.25 packs) covers the printed rounding"),
                    ("by.2000", -26.0, 3.0, {},
                     ("Abadie, Diamond & Hainmueller (2010), JASA 105:493, abstract: by 2000 California's sales "
                     "were about 26 packs lower"),
                     "printed in the source",
                     ("ADH fit covariate predictors with optimised V, which these data lack: only the magnitude, "
                     "within 3 packs, as test_prop99_agrees_with_synthdid_sc_and_published_magnitude")),
                    ("diagnostics.donor_weights.Utah", 0.396104, 0.02, {},
                     "synthdid-py 0.1.0 sc_estimate donor weights omega",
                     "tests/estimators/references/scripts/synthetic_control_synthdid.py",
                     ("the same objective solved exactly vs by Frank-Wolfe with a ridge: weights above 0.1 within "
                     "0.02, as test_prop99_agrees_with_synthdid_sc_and_published_magnitude")),
                    ("diagnostics.donor_weights.Montana", 0.232273, 0.02, {},
                     "synthdid-py 0.1.0 sc_estimate donor weights omega",
                     "tests/estimators/references/scripts/synthetic_control_synthdid.py",
                     "as for Utah: weights above 0.1 within 0.02"),
                    ("diagnostics.donor_weights.Nevada", 0.204426, 0.02, {},
                     "synthdid-py 0.1.0 sc_estimate donor weights omega",
                     "tests/estimators/references/scripts/synthetic_control_synthdid.py",
                     "as for Utah: weights above 0.1 within 0.02"),
                    ("diagnostics.donor_weights.Connecticut", 0.104467, 0.02, {},
                     "synthdid-py 0.1.0 sc_estimate donor weights omega",
                     "tests/estimators/references/scripts/synthetic_control_synthdid.py",
                     "as for Utah: weights above 0.1 within 0.02"),
                    ("estimate", -15.603827872733893, 0.01, {"variant": "sdid", "placebos": False},
                     "synthdid-py 0.1.0 synthdid_estimate(Y, N0, T0)",
                     "tests/estimators/references/scripts/synthetic_control_synthdid.py",
                     ("ours solves the same weight problems exactly instead of by sparsified Frank-Wolfe; they "
                     "agree to 0.002 packs: 0.01, as test_prop99_sdid_agrees_with_synthdid")),
                    ("estimate", -15.6, 0.05, {"variant": "sdid", "placebos": False},
                     "Arkhangelsky, Athey, Hirshberg, Imbens & Wager (2021), AER 111:4088, Table 1: SDID = -15.6",
                     "printed in the source", "one printed decimal: half a unit in the last digit"))),
          ))
def synthetic_control(data: Dataset, roles: Roles, *, estimand: Literal["att"] = "att", alpha: float = 0.05,
                      seed: int = 0, treated_unit: Any = None, v: Literal["equal", "optimize"] = "equal",
                      predictor_periods: Sequence[Any] | None = None, placebos: bool = True,
                      variant: Literal["sc", "sdid"] = "sc") -> EffectResult:
    """ADH synthetic control (variant="sdid": synthetic difference-in-differences); headline = average
    post-period gap, p-value = in-space placebo rank."""
    if variant == "sdid" and (roles.covariates or v == "optimize" or predictor_periods is not None):
        raise MethodError("Synthetic difference-in-differences fits the outcome path only; covariates, v and "
                          "predictor_periods do not apply to it.",
                          "Leave them out with variant='sdid', or use variant='sc'.", code="E-METHOD-006")
    design = build_design(data, roles, treated_unit)
    spec, notes = make_spec(design, predictor_periods, v)
    spec = dataclasses.replace(spec, method=variant)
    fit = fit_synth(design.Y, design.covariates, spec)
    post = ~spec.pre
    estimate = float(fit.gap[post].mean())
    runs = placebo_runs(design, spec) if placebos else []
    p, rank = placebo_p(fit.ratio, [r.ratio for _, r in runs]) if runs else (math.nan, 0)
    by = tuple(sub_estimate(time_label(t), float(g), math.nan, alpha, n_obs=len(design.units))
               for t, g in zip(design.periods[post], fit.gap[post]))
    diagnostics = _diagnostics(design, spec, fit, runs, p, rank)
    if runs or len(design.units) > 3:
        loo = leave_one_out(design, spec, fit)
        gaps = [r["average_gap"] for r in loo]
        diagnostics["leave_one_out"] = {"fits": loo, "min_average_gap": min(gaps, default=estimate),
                                        "max_average_gap": max(gaps, default=estimate)}
    conformal = conformal_interval(conformal_problem(design.Y, spec.pre, variant), alpha, estimate,
                                   max(fit.pre_rmspe, 1e-6 * (1 + float(np.abs(design.Y).max()))))
    diagnostics["conformal"] = _conformal_diagnostics(conformal, alpha, design.Y.shape[0])
    diagnostics["p_value_source"] = "conformal" if conformal.ok else "placebo"
    warnings = [*design.warnings, *notes, *_inference_warnings(conformal, estimate, p, alpha),
                *_fit_warnings(diagnostics)]
    result = finish("synthetic_control", "att", estimate, math.nan, alpha=alpha,
                    estimand_label="ATT: the treated unit, average gap over the post-treatment periods",
                    n_obs=int(design.Y.size), se_method=CONFORMAL_SE_METHOD if conformal.ok else PLACEBO_SE_METHOD,
                    diagnostics=diagnostics, warnings=warnings, by=by)
    # finish() adds its own generic "no valid standard error" sentence; ours above says it plainly.
    kept = tuple(w for w in result.warnings if not w.startswith("No valid standard error"))
    if not conformal.ok:
        return result.replace(p_value=p, warnings=kept)
    return result.replace(ci_lower=conformal.lower, ci_upper=conformal.upper, p_value=conformal.p_zero,
                          warnings=kept)


def _conformal_diagnostics(conformal: ConformalInterval, alpha: float, n_periods: int) -> dict[str, Any]:
    return {"method": "Chernozhukov, Wuthrich & Zhu (2021) conformal inference, moving-block permutations",
            "null": "the same effect in every post period", "statistic": "|sum of post-period residuals| / "
            "sqrt(n_post)", "ci_lower": conformal.lower, "ci_upper": conformal.upper, "alpha": alpha,
            "p_value_no_effect": conformal.p_zero, "centre": conformal.centre, "n_permutations": n_periods,
            "smallest_possible_p": 1 / n_periods, "connected": conformal.connected, "n_fits": conformal.n_fits,
            "not_computed_because": conformal.reason or None}


def _inference_warnings(conformal: ConformalInterval, estimate: float, placebo: float, alpha: float) -> list[str]:
    placebo_text = (f" The placebo p-value, from runs that pretend each donor was the treated unit, is "
                    f"{placebo:.3f}; the placebo gate reads it." if math.isfinite(placebo) else "")
    if not conformal.ok:
        return [f"Synthetic control has no sampling standard error. {conformal.reason}"
                + (" The p-value shown comes from placebo runs that pretend each donor was the treated unit: it "
                   "is the share of units whose post-period gap (relative to their pre-period fit) is at least as "
                   "large as the treated unit's." if math.isfinite(placebo) else "")]
    out = [f"Synthetic control has no sampling standard error. The {1 - alpha:.0%} interval is the range of "
           "constant effects that a permutation test over time does not reject (conformal inference, "
           "Chernozhukov, Wuthrich & Zhu 2021), and the p-value is that test of no effect." + placebo_text]
    if not conformal.lower <= estimate <= conformal.upper:
        out.append(f"The average gap {estimate:.4g} lies outside the interval ({conformal.lower:.4g} to "
                   f"{conformal.upper:.4g}): the interval refits the weights on all periods, the estimate on the "
                   "pre-period only, and here they disagree, usually because the effect changes a lot over time "
                   "or the pre-period fit is poor.")
    if math.isfinite(placebo) and placebo <= PLACEBO_GATE_PASS and conformal.p_zero > alpha:
        out.append(f"The placebo test ranks the treated unit's gap as unusual among the donors (p = {placebo:.3f}), "
                   f"but the test over time cannot rule out no effect (p = {conformal.p_zero:.3f}), so the interval "
                   "includes zero: refitted on all periods, the donors can explain much of the gap (for example by "
                   "a different trend, or because there are many donors for few periods). Read the gap plot; a "
                   "longer pre-period sharpens the test over time.")
    if not conformal.connected:
        out.append("The effects the test does not reject form more than one range; the interval shown spans "
                   "all of them.")
    return out


def _fit_warnings(diag: dict[str, Any]) -> list[str]:
    out = []
    if diag["pre_period_inside_donor_range"] < 0.5:
        out.append(f"In {1 - diag['pre_period_inside_donor_range']:.0%} of pre-periods the treated unit's outcome "
                   "lies outside the range of every donor, so no weighted average of donors can match it closely; "
                   "read the pre-period fit before the effect.")
    if not math.isfinite(diag.get("placebo_p", math.nan)):
        out.append("Placebo runs were switched off, so there is no placebo p-value and no placebo gate.")
    return out


def _diagnostics(design: Design, spec: Spec, fit: SynthFit, runs: list[tuple[Any, SynthFit]], p: float,
                 rank: int) -> dict[str, Any]:
    Y1 = design.Y[:, 0]
    order = np.argsort(-fit.weights, kind="stable")
    weights = {str(design.units[j + 1]): float(fit.weights[j]) for j in order if fit.weights[j] > WEIGHT_FLOOR}
    donors_pre = design.Y[spec.pre, 1:]
    inside = (Y1[spec.pre] >= donors_pre.min(axis=1)) & (Y1[spec.pre] <= donors_pre.max(axis=1))
    ranking = [{"unit": str(design.units[0]), "treated": True, "ratio": fit.ratio, "pre_rmspe": fit.pre_rmspe,
                "post_rmspe": fit.post_rmspe}]
    ranking += [{"unit": str(u), "treated": False, "ratio": r.ratio, "pre_rmspe": r.pre_rmspe,
                 "post_rmspe": r.post_rmspe} for u, r in runs]
    ranking.sort(key=lambda row: -row["ratio"] if math.isfinite(row["ratio"]) else -math.inf)
    labels = [time_label(t) for t in design.periods]
    return {
        "treated_unit": str(design.units[0]), "n_donors": len(design.units) - 1,
        "treatment_start": labels[int(np.argmax(~spec.pre))],
        "n_pre_periods": int(spec.pre.sum()), "n_post_periods": int((~spec.pre).sum()),
        "donor_weights": weights, "n_donors_with_weight": len(weights),
        **({"predictor_weights": {nm: float(x) for nm, x in zip(spec.predictor_names, fit.v)}, "v": spec.v_mode}
           if spec.method == "sc" else
           {"time_weights": {labels[i]: float(x) for i, x in enumerate(fit.v) if x > WEIGHT_FLOOR}}),
        "variant": spec.method,
        "pre_rmspe": fit.pre_rmspe, "post_rmspe": fit.post_rmspe, "rmspe_ratio": fit.ratio,
        "pre_rmspe_relative": fit.pre_rmspe / float(np.mean(np.abs(Y1[spec.pre])))
        if np.any(Y1[spec.pre] != 0) else math.inf,
        "pre_period_inside_donor_range": float(inside.mean()),
        "placebo_p": p, "placebo_rank": rank, "n_placebos": len(runs), "placebo_ranking": ranking,
        "placebo_gaps": {"time": labels, "gaps": {str(u): [round(float(g), 6) for g in r.gap] for u, r in runs}},
        "series": {"time": labels, "treated": Y1.tolist(), "synthetic": fit.synthetic.tolist(),
                   "gap": fit.gap.tolist(), "post": (~spec.pre).astype(int).tolist()},
    }
