"""Interrupted time series: segmented regression with Newey-West standard errors.

One series y_t observed at times t, an intervention from t0 on (treatment 0
before, 1 from t0 onward). The segmented regression (Bernal, Cummins &
Gasparrini 2017, Int J Epidemiol 46:348, eq. 1; Wagner et al. 2002, J Clin
Pharm Ther 27:299)

    y_t = b0 + b1 t + b2 post_t + b3 (t - t0) post_t  [+ Fourier seasonality] + e_t

gives the level change b2 (the jump at t0, the headline number) and the slope
change b3. Seasonality, when asked for, enters as sin/cos(2 pi k t / P) pairs,
k = 1..K (Bernal et al. 2017, Sec. "Seasonality"; Bhaskaran et al. 2013,
Int J Epidemiol 42:1187).

Errors of a time series are autocorrelated, so standard errors are Newey-West
HAC (Newey & West 1987, Econometrica 55:703): Bartlett kernel with weights
1 - l/(L+1), default lag length L = floor(4 (n/100)^(2/9)) (Newey & West 1994,
Rev Econ Stud 61:631), and the small-sample factor n/(n-k) that Stata's
``newey`` applies (statsmodels: ``OLS(...).fit(cov_type="HAC", cov_kwds={"maxlags":
L, "use_correction": True})`` gives the same numbers). Intervals use a t(n-k)
reference, which is wider than the normal for short series.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd

from ..data import Dataset
from ..datasets import examples
from ..errors import EstimationError, MethodError, RoleError
from ..inference import covariance, wald
from ..inference.covariance import newey_west_maxlags  # noqa: F401  (part of this module's API)
from ..panel import check_outcome_and_treatment
from ..params import above, at_least
from ..prep import numeric_outcome
from ..registry import Reference, Requirements, register
from ..results import EffectResult
from ..roles import Roles
from ._common import finish, period_label, sub_estimate

#: Fewest observations allowed on each side of the intervention (a line needs two, a slope check three).
MIN_PER_SEGMENT = 3


@dataclass(frozen=True)
class Series:
    """One time series: sorted times, outcome, 0/1 treatment, and where the intervention starts."""

    time: np.ndarray          # numeric time used in the regression
    labels: list[str]         # printable time values
    y: np.ndarray
    d: np.ndarray
    t0: float                 # time of the first treated observation
    time_unit: str
    warnings: tuple[str, ...]


# ---------------------------------------------------------------------------
# the maths: design and fit (Newey-West: inference.covariance)
# ---------------------------------------------------------------------------

def fourier_terms(time: np.ndarray, period: float, harmonics: int) -> tuple[np.ndarray, list[str]]:
    """sin/cos(2 pi k t / period), k = 1..harmonics."""
    cols, names = [], []
    for k in range(1, harmonics + 1):
        angle = 2 * np.pi * k * time / period
        cols += [np.sin(angle), np.cos(angle)]
        names += [f"sin{k}", f"cos{k}"]
    return np.column_stack(cols), names


def segmented_design(time: np.ndarray, t0: float, season_period: float | None,
                     season_harmonics: int) -> tuple[np.ndarray, list[str]]:
    """Columns: intercept, time, post, (time - t0) * post, then Fourier terms (Bernal et al. 2017, eq. 1)."""
    post = (time >= t0).astype(float)
    X = np.column_stack([np.ones_like(time), time, post, (time - t0) * post])
    names = ["intercept", "time", "level_change", "slope_change"]
    if season_period:
        F, fnames = fourier_terms(time, season_period, season_harmonics)
        X = np.column_stack([X, F])
        names += fnames
    return X, names


# ---------------------------------------------------------------------------
# input
# ---------------------------------------------------------------------------

def _numeric_time(raw: pd.Series, name: str) -> tuple[np.ndarray, list[str], str]:
    """Numbers stay as they are; dates become the period index 0, 1, 2, ... (one step per observation)."""
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.to_numpy(dtype=float)
        return values, [period_label(v) for v in values], f"one unit of '{name}'"
    parsed = pd.to_datetime(raw, errors="coerce")
    if parsed.isna().mean() > 0.1:
        raise RoleError(f"The time column '{name}' is neither numbers nor dates.",
                        "Use a period number or a date column for time.", code="E-ROLE-013")
    return np.arange(len(parsed), dtype=float), [period_label(v) for v in parsed], "one period (observation)"


def _collapse(frame: pd.DataFrame, roles: Roles, aggregate: str | None) -> tuple[pd.DataFrame, list[str]]:
    """One row per time. Several units (or repeated times) need aggregate='mean'."""
    several_units = roles.unit is not None and frame[roles.unit].nunique() > 1
    repeated = frame["time"].duplicated().any()
    if not (several_units or repeated):
        return frame, []
    if aggregate != "mean":
        what = (f"{frame[roles.unit].nunique()} units in '{roles.unit}'" if several_units
                else "several rows for the same time")
        raise EstimationError(f"An interrupted time series needs one series, but the data have {what}.",
                              "Pass aggregate='mean' to analyse the average series, filter to one unit, or use a "
                              "panel design (did, synthetic_control) that uses the other units as comparisons.",
                              code="E-EST-065")
    grouped = frame.groupby("time", sort=True).agg(y=("y", "mean"), d=("d", "mean"), raw=("raw", "first"))
    if not grouped["d"].isin([0.0, 1.0]).all():
        raise EstimationError("After averaging over units, some periods are treated for some units and not for "
                              "others, so there is no single intervention date.",
                              "Average only units that started treatment at the same time.", code="E-EST-070")
    note = f"The series is the mean of the outcome over units at each time ({len(frame)} rows into {len(grouped)})."
    return grouped.reset_index(), [note]


def prepare_series(data: Dataset, roles: Roles, aggregate: str | None) -> Series:
    check_outcome_and_treatment(data, roles, ("outcome", "treatment", "time"))
    src = data.frame
    frame = pd.DataFrame({"y": numeric_outcome(src, roles.outcome),
                          "d": pd.to_numeric(src[roles.treatment], errors="coerce"), "raw": src[roles.time]})
    if roles.unit:
        frame[roles.unit] = src[roles.unit]
    if not frame["d"].dropna().isin([0, 1]).all():
        raise RoleError(f"The treatment '{roles.treatment}' must be 0 before the intervention and 1 from it on.",
                        "Code the periods before the intervention as 0 and the others as 1.", code="E-ROLE-014")
    keep = frame[["y", "d", "raw"]].notna().all(axis=1)
    warnings = [f"{int((~keep).sum())} rows with missing values were left out."] if (~keep).any() else []
    frame = frame.loc[keep]
    time_num = pd.to_numeric(frame["raw"], errors="coerce") if pd.api.types.is_numeric_dtype(frame["raw"]) \
        else pd.to_datetime(frame["raw"], errors="coerce")
    frame = frame.assign(time=time_num).dropna(subset=["time"]).sort_values("time", kind="stable")
    frame, notes = _collapse(frame, roles, aggregate)
    time, labels, unit = _numeric_time(frame["raw"] if "raw" in frame else frame["time"], roles.time)
    d = frame["d"].to_numpy(dtype=float)
    y = frame["y"].to_numpy(dtype=float)
    return Series(time=time, labels=labels, y=y, d=d, t0=_intervention_time(time, d, labels),
                  time_unit=unit, warnings=tuple(warnings + notes))


def _intervention_time(time: np.ndarray, d: np.ndarray, labels: list[str]) -> float:
    """The first treated time; the series must be untreated before it and treated after."""
    if d.min() == d.max():
        raise RoleError("The treatment takes a single value in the series: there is no before and after.",
                        "Code the periods before the intervention as 0 and from it onward as 1.", code="E-ROLE-003")
    start = int(np.argmax(d == 1))
    if not np.all(d[start:] == 1):
        back = labels[start + int(np.argmax(d[start:] == 0))]
        raise EstimationError(f"The treatment switches back to 0 at {back} after the intervention started at "
                              f"{labels[start]}; a segmented regression models one lasting interruption.",
                              "Code every period from the intervention onward as 1, or cut the series where the "
                              "intervention ends.", code="E-EST-067")
    n_pre, n_post = start, len(d) - start
    if min(n_pre, n_post) < MIN_PER_SEGMENT:
        side = "before" if n_pre < MIN_PER_SEGMENT else "from"
        raise EstimationError(f"There are {n_pre} observations before and {n_post} from the intervention "
                              f"({labels[start]}); each side needs at least {MIN_PER_SEGMENT} to fit a line.",
                              f"Add observations {side} the intervention, or check that the treatment column marks "
                              "the right start.", code="E-EST-066")
    return float(time[start])


# ---------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------

def _check_params(n: int, k_base: int, maxlags: int | None, season_period: float | None,
                  season_harmonics: int) -> None:
    """What the signature cannot say (types and fixed bounds: params.check_values)."""
    if maxlags is not None and not maxlags < n:
        raise MethodError(f"maxlags must be a whole number from 0 to {n - 1} for a series of {n} observations, "
                          f"got {maxlags!r}.", "Leave it out for the Newey-West default floor(4 (n/100)^(2/9)).",
                          code="E-METHOD-005")
    if season_period is not None:
        if not season_harmonics < season_period / 2:
            raise MethodError(f"season_harmonics must be below half the season_period ({season_period / 2:g}), "
                              f"got {season_harmonics!r}.", "Use season_harmonics=1 or 2.", code="E-METHOD-006")
        if k_base + 2 * season_harmonics >= n:
            raise EstimationError(f"{k_base + 2 * season_harmonics} regression terms for {n} observations.",
                                  "Use fewer seasonal harmonics or a longer series.", code="E-EST-002")


def _linear_effect(coef: np.ndarray, cov: np.ndarray, weights: np.ndarray, alpha: float,
                   df: float) -> dict[str, float]:
    """Estimate, SE and interval of a linear combination weights'coef."""
    est = float(weights @ coef)
    se = float(np.sqrt(weights @ cov @ weights))
    lo, hi, p = wald(est, se, alpha, df)
    return {"estimate": est, "std_error": se, "ci_lower": lo, "ci_upper": hi, "p_value": p}


def ljung_box(resid: np.ndarray, lags: int) -> tuple[float, float]:
    """Q = n(n+2) sum_k r_k^2 / (n-k), k = 1..lags, chi-squared with ``lags`` df (Ljung & Box 1978).

    The autocorrelations are computed lag by lag (O(n * lags)); statsmodels'
    acorr_ljungbox correlates the whole series (O(n^2)), minutes on 1M points.
    """
    from scipy import stats

    e = resid - resid.mean()
    n = e.size
    denom = float(e @ e)
    r = np.array([float(e[k:] @ e[:-k]) / denom for k in range(1, lags + 1)])
    q = float(n * (n + 2) * np.sum(r ** 2 / (n - np.arange(1, lags + 1))))
    return q, float(stats.chi2.sf(q, lags))


def _residual_checks(resid: np.ndarray, season_period: float | None) -> dict[str, Any]:
    """Ljung-Box (Ljung & Box 1978) and Durbin-Watson on the residuals."""
    from statsmodels.stats.stattools import durbin_watson

    n = resid.size
    lags = max(1, min(10, n // 5))
    if season_period:
        lags = max(lags, min(int(season_period), n // 2 - 1))
    stat, p_value = ljung_box(resid, lags)
    return {"autocorrelation_p": p_value, "ljung_box_stat": stat,
            "ljung_box_lags": int(lags), "durbin_watson": float(durbin_watson(resid)),
            "residual_lag1_correlation": float(np.corrcoef(resid[1:], resid[:-1])[0, 1]) if n > 2 else math.nan}


@register("its", family="time_series", design="time_series", estimands=("att",),
          requires=Requirements(roles=("outcome", "treatment", "time"), recommended=("unit",),
                                treatment="binary", min_rows=2 * MIN_PER_SEGMENT),
          title="Interrupted time series",
          summary="Fits the trend before an intervention and measures the jump in level and the change in slope "
                  "after it (segmented regression with Newey-West standard errors).",
          inference="Newey-West (HAC)",
          params={
              "maxlags": "Lags of autocorrelation the Newey-West standard error allows for; empty = chosen from "
                         "the series length.",
              "season_period": "Length of a seasonal cycle in periods (e.g. 12 for months); empty = no seasonal "
                               "terms.",
              "season_harmonics": "Number of sine/cosine pairs describing the season (more: more flexible).",
              "aggregate": "How several rows per period are combined into one series value (mean); empty "
                           "= refuse several rows per period.",
          },
          headline_rank=10, e_value=False, example=examples.interrupted_series, transparency=0.95, cost_exponent=1.0,
          references=(
              # statsmodels HAC OLS on the segmented design of the method's own example (no public interrupted
              # series ships offline; the data are the example's, the numbers statsmodels')
              *(Reference(quantity, value, 1e-8, data="example:0",
                          source="statsmodels 0.15 OLS(y, [1, time, post, (time - 60) post]).fit(cov_type='HAC', "
                                 "maxlags=4, use_correction=True) on examples.interrupted_series(0)",
                          script="tests/estimators/references/scripts/its_statsmodels_hac.py",
                          why_tolerance="the same regression and Newey-West covariance: 1e-8, as "
                                        "test_agrees_with_statsmodels_hac")
                for quantity, value in (("estimate", 1.430103971328148), ("std_error", 0.5902292991479818),
                                        ("by.slope_change.estimate", -0.016491077360942585),
                                        ("by.slope_change.std_error", 0.019886248305285157))),
          ))
def its(data: Dataset, roles: Roles, *, estimand: Literal["att"] = "att", alpha: float = 0.05, seed: int = 0,
        maxlags: Annotated[int | None, at_least(0)] = None, season_period: Annotated[float | None, above(2)] = None,
        season_harmonics: Annotated[int, at_least(1)] = 2,
        aggregate: Literal["mean"] | None = None) -> EffectResult:
    """Segmented regression (Bernal et al. 2017); headline = the level change b2 at the intervention."""
    series = prepare_series(data, roles, aggregate)
    n = series.y.size
    _check_params(n, 4, maxlags, season_period, season_harmonics)
    X, names = segmented_design(series.time, series.t0, season_period, season_harmonics)
    coef, *_ = np.linalg.lstsq(X, series.y, rcond=None)
    resid = series.y - X @ coef
    lags = newey_west_maxlags(n) if maxlags is None else int(maxlags)
    cov = covariance.newey_west(X, resid, lags)
    df = float(n - X.shape[1])
    level = _linear_effect(coef, cov, np.eye(X.shape[1])[2], alpha, df)
    slope = _linear_effect(coef, cov, np.eye(X.shape[1])[3], alpha, df)
    by = tuple(sub_estimate(label, part["estimate"], part["std_error"], alpha, df=df, n_obs=n)
               for label, part in (("level_change", level), ("slope_change", slope)))
    diagnostics = _diagnostics(series, X, coef, cov, resid, names, lags, alpha, df, season_period)
    warnings = list(series.warnings)
    if diagnostics["autocorrelation_p"] < 0.05:
        warnings.append(f"The residuals are autocorrelated (Ljung-Box p = {diagnostics['autocorrelation_p']:.3f}); "
                        f"the Newey-West standard errors (lag length {lags}) allow for it, but consider "
                        "seasonal terms or a longer lag length.")
    return finish("its", "att", level["estimate"], level["std_error"], alpha=alpha, n_obs=n,
                  estimand_label="level change at the interruption",
                  se_method=f"Newey-West HAC (Bartlett kernel, {lags} lags, small-sample factor n/(n-k))",
                  diagnostics=diagnostics, warnings=warnings, df=df, by=by)


def _diagnostics(series: Series, X: np.ndarray, coef: np.ndarray, cov: np.ndarray, resid: np.ndarray,
                 names: list[str], lags: int, alpha: float, df: float,
                 season_period: float | None) -> dict[str, Any]:
    """Fitted and counterfactual series for the plot, the effect at the end, residual checks."""
    fitted = X @ coef
    # The counterfactual extends the pre-period line (and seasonality): the post terms switched off.
    no_post = X.copy()
    no_post[:, 2:4] = 0.0
    counterfactual = no_post @ coef
    end = np.zeros(X.shape[1])
    end[2], end[3] = 1.0, series.time[-1] - series.t0
    at_end = _linear_effect(coef, cov, end, alpha, df)
    pre = series.time < series.t0
    return {
        "intervention_time": period_label(series.t0) if series.time_unit.startswith("one unit")
        else series.labels[int(np.argmax(~pre))],
        "n_pre": int(pre.sum()), "n_post": int((~pre).sum()), "hac_maxlags": int(lags),
        "slope_unit": series.time_unit,
        "coefficients": {nm: float(c) for nm, c in zip(names, coef)},
        "std_errors": {nm: float(s) for nm, s in zip(names, np.sqrt(np.diag(cov)))},
        "pre_slope": float(coef[1]), "post_slope": float(coef[1] + coef[3]),
        "effect_at_end": {"time": series.labels[-1], **at_end},
        "relative_level_change": float(coef[2] / counterfactual[~pre][0]) if counterfactual[~pre][0] != 0
        else math.nan,
        "r_squared": float(1 - resid @ resid / np.sum((series.y - series.y.mean()) ** 2))
        if np.var(series.y) > 0 else math.nan,
        **_residual_checks(resid, season_period),
        "series": {"time": series.labels, "observed": series.y.tolist(), "fitted": fitted.tolist(),
                   "counterfactual": counterfactual.tolist(), "treated": series.d.astype(int).tolist()},
    }
