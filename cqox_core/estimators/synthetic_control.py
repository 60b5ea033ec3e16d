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
average post-period gap. There is no sampling standard error: inference is the
in-space placebo test (ADH 2010, Sec. 4): every donor is treated as if it were
the treated unit, and the p-value is the rank of the treated unit's post/pre
RMSPE ratio among all J+1 units divided by J+1.

``variant="sdid"`` gives synthetic difference-in-differences (Arkhangelsky,
Athey, Hirshberg, Imbens & Wager 2021, AER 111:4088): regularised unit weights
with an intercept plus time weights, the gap measured against the weighted
pre-period difference (see ``fit_sdid``); the same placebo test applies.
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
from ..errors import EstimationError, MethodError, RoleError
from ..panel import check_outcome_and_treatment, prepare_panel
from ..datasets import examples
from ..registry import Requirements, register
from ..results import EffectResult
from ..roles import Roles
from ._common import finish, sub_estimate
from ._common import period_label as time_label

#: Weights below this are reported as zero (the solver's numerical floor).
WEIGHT_FLOOR = 1e-6
NO_SE_WARNING = ("Synthetic control has no sampling standard error, so no confidence interval is given. The "
                 "p-value comes from placebo runs that pretend each donor was the treated unit: it is the share of "
                 "units whose post-period gap (relative to their pre-period fit) is at least as large as the treated "
                 "unit's.")


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
    for c in roles.covariates:
        values = pd.to_numeric(src[c], errors="coerce")
        if values.notna().sum() < 0.9 * src[c].notna().sum():
            raise RoleError(f"Covariate '{c}' is not numeric; synthetic control averages predictors over the "
                            "pre-period.", "Recode it as numbers or leave it out.", code="E-ROLE-011")
        frame[c] = values
    means = frame.loc[frame["time"] < start].groupby("unit")[list(roles.covariates)].mean()
    means = means.reindex(units)
    if means.isna().any().any():
        bad = means.columns[means.isna().any()].tolist()
        raise EstimationError(f"Covariate(s) {', '.join(bad)} have no pre-period value for some units.",
                              "Fill them or leave those covariates out.", code="E-EST-062")
    return means.to_numpy(dtype=float).T, [f"{c} (pre-period mean)" for c in roles.covariates]


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
# the estimator
# ---------------------------------------------------------------------------

@register("synthetic_control", family="panel", design="panel", estimands=("att",),
          requires=Requirements(roles=("outcome", "treatment", "unit", "time"), treatment="binary", panel=True,
                                min_rows=8),
          title="Synthetic control",
          summary="Builds a weighted average of untreated units that tracks the treated unit before treatment, and "
                  "reads the effect as the gap after it; placebo runs give the p-value.",
          params={
              "treated_unit": "Which unit is the treated one; empty = the unit whose treatment switches on.",
              "v": "Weights of the pre-period outcomes in the fit: equal, or optimised for prediction.",
              "predictor_periods": "Pre-treatment periods used as predictors; empty = all of them.",
              "placebos": "Run the method on every donor as if it were treated, for the placebo p-value.",
              "variant": "Classic synthetic control (sc) or synthetic difference-in-differences (sdid).",
          },
          headline_rank=30, e_value=False, example=examples.one_treated_unit, transparency=0.85, cost_exponent=1.2)
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
    warnings = [*design.warnings, *notes, NO_SE_WARNING, *_fit_warnings(diagnostics)]
    result = finish("synthetic_control", "att", estimate, math.nan, alpha=alpha,
                    n_obs=int(design.Y.size), se_method="placebo permutation (no sampling SE)",
                    diagnostics=diagnostics, warnings=warnings, by=by)
    # finish() adds its own generic "no valid standard error" sentence; ours above says it plainly.
    kept = tuple(w for w in result.warnings if not w.startswith("No valid standard error"))
    return result.replace(p_value=p, warnings=kept)


def _fit_warnings(diag: dict[str, Any]) -> list[str]:
    out = []
    if diag["pre_period_inside_donor_range"] < 0.5:
        out.append(f"In {1 - diag['pre_period_inside_donor_range']:.0%} of pre-periods the treated unit's outcome "
                   "lies outside the range of every donor, so no weighted average of donors can match it closely; "
                   "read the pre-period fit before the effect.")
    if not math.isfinite(diag.get("placebo_p", math.nan)):
        out.append("Placebo runs were switched off, so there is no p-value.")
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
