"""Event study (``event_study``): TWFE with relative-time dummies.

`event_study` replaces D by relative-time dummies 1{t - E_i = r} (reference
r = -1, endpoints binned; Schmidheiny & Siegloch 2023, J. Appl. Econometrics
38:695) with never-treated units as the reference group. Under staggered
timing with heterogeneous effects those coefficients are contaminated by other
periods' effects (Sun & Abraham 2021, J. Econometrics 225:175), so the result
says so and points to staggered_did.

The fixed-effects machinery is in ``_twfe`` (shared with ``did``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from ..data import Dataset
from ..datasets import examples
from ..inference import wald
from ..registry import Requirements, register
from ..results import EffectResult, SubEstimate
from ..roles import Roles
from ._common import finish
from ._twfe import (DEFAULT_WINDOW_CAP, STAGGERED_HINT, DidData, FixedEffectsFit, TwoWayFixedEffects,
                    _absorbed_regressors, _design_description, _inference_diagnostics, _outcome_warnings,
                    _se_method, fit_residualised, tidy_did_data, validate_design)



@dataclass(frozen=True)
class EventWindow:
    """Relative periods estimated: -leads..lags without the reference -1; endpoints bin everything beyond."""

    leads: int
    lags: int
    leads_available: int
    lags_available: int
    observed: frozenset[int] = frozenset()

    @property
    def periods(self) -> list[int]:
        """Estimated relative periods: those with treated rows (an unbalanced panel can leave gaps)."""
        return [r for r in range(-self.leads, self.lags + 1) if r != -1 and r in self.observed]

    def binned(self, r: int) -> bool:
        return (r == -self.leads and self.leads < self.leads_available) or \
            (r == self.lags and self.lags < self.lags_available)


def _window_length(requested: int | None, available: int, name: str) -> int:
    if requested is None:
        return min(available, DEFAULT_WINDOW_CAP)
    if isinstance(requested, bool) or not isinstance(requested, (int, np.integer)) or requested < 0:
        from ..errors import MethodError

        raise MethodError(f"{name} must be a whole number of periods (0 or more), got {requested!r}.",
                          f"Use e.g. --param {name}=4.", code="E-METHOD-005")
    return min(int(requested), available)


def event_window(rel: np.ndarray, leads: int | None, lags: int | None) -> EventWindow:
    """Window from the relative periods observed among treated rows (``rel`` NaN for never treated)."""
    seen = rel[np.isfinite(rel)]
    leads_available, lags_available = int(max(-seen.min(), 1)), int(max(seen.max(), 0))
    # a lead window of 0 or 1 both mean: every pre-period is pooled into the reference
    n_leads = max(_window_length(leads, leads_available, "leads"), 1)
    n_lags = _window_length(lags, lags_available, "lags")
    observed = frozenset(int(r) for r in np.unique(np.clip(seen, -n_leads, n_lags)))
    return EventWindow(n_leads, n_lags, leads_available, lags_available, observed)


def _relative_dummies(rel: np.ndarray, window: EventWindow) -> np.ndarray:
    binned = np.clip(rel, -window.leads, window.lags)
    return np.column_stack([(binned == r).astype(float) for r in window.periods])


#: Up to this share of the clusters, the Hotelling-scaled F of the leads is used; beyond it the
#: cluster-robust covariance of that many leads is too noisy and the Bonferroni max-|t| is used.
F_TEST_MAX_LEADS_SHARE = 0.25


def _pre_trend_test(fit: FixedEffectsFit, lead_idx: list[int]) -> dict[str, Any]:
    """Joint test that every lead coefficient is zero, with a size that holds when leads approach clusters.

    With G clusters and q leads, the cluster-robust Wald statistic W = b'V^-1 b is referred to
    the Hotelling T^2 distribution: F = W (G - q) / (q (G - 1)) ~ F(q, G - q) (Hansen 2007,
    J. Econometrics 141:597; Cameron & Miller 2015, J. Human Resources 50:317, Sec. VII.A), which
    plain F(q, G - 1) overstates when q is not small next to G. When q exceeds a quarter of G the
    estimated covariance is nearly singular even so (Monte Carlo: 15% rejections at 5% with 40
    leads and 60 units), and the test becomes the largest |t| of the leads with the Bonferroni
    bound on t(G - 1) tails, which never exceeds alpha.
    """
    if not lead_idx:
        return {}
    b = fit.coef[lead_idx]
    V = fit.cov[np.ix_(lead_idx, lead_idx)]
    q = len(lead_idx)
    clusters = fit.n_clusters if fit.n_clusters else int(fit.df) + 1
    if q <= F_TEST_MAX_LEADS_SHARE * (clusters - 1) and clusters - q >= 2:
        stat = float(b @ np.linalg.pinv(V) @ b) * (clusters - q) / (q * (clusters - 1))
        return {"pre_trends_stat": stat, "pre_trends_df": q, "pre_trends_df_denominator": clusters - q,
                "pre_trends_test": "F with Hotelling's small-cluster scaling (cluster-robust Wald of the leads)",
                "pre_trends_p": float(stats.f.sf(stat, q, clusters - q))}
    t_abs = np.abs(b) / np.sqrt(np.clip(np.diag(V), 1e-300, None))
    largest = float(t_abs.max())
    p = float(min(1.0, q * 2 * stats.t.sf(largest, max(clusters - 1, 1))))
    return {"pre_trends_stat": largest, "pre_trends_df": q, "pre_trends_df_denominator": max(clusters - 1, 1),
            "pre_trends_test": f"largest |t| of the {q} leads, Bonferroni bound (too many leads for the "
                               f"{clusters} clusters to estimate their joint covariance)",
            "pre_trends_p": p}


def _sub_estimates(fit: FixedEffectsFit, window: EventWindow, rel_binned: np.ndarray, alpha: float) -> tuple:
    out = []
    for j, r in enumerate(window.periods):
        est, se = float(fit.coef[j]), float(fit.se[j])
        lo, hi, p = wald(est, se, alpha, fit.df)
        extra: dict[str, Any] = {"relative_period": r, "binned": window.binned(r)}
        if window.binned(r):
            extra["covers"] = f"{'<=' if r < 0 else '>='} {r}"
        out.append(SubEstimate(str(r), est, se, lo, hi, p, int(np.sum(rel_binned == r)), extra))
    return tuple(out)


def _event_warnings(dd: DidData, window: EventWindow, pre: dict[str, Any]) -> list[str]:
    out = []
    if dd.staggered:
        out.append(f"Treatment starts at {dd.cohorts.size} different times. With two-way fixed effects each "
                   "event-time coefficient can pick up effects from other event times and other cohorts when "
                   "effects differ between cohorts (Sun & Abraham 2021), so leads can look like pre-trends and "
                   f"lags can be distorted. {STAGGERED_HINT}")
    if not pre and window.leads_available <= 1:
        out.append("There is no pre-treatment period other than the reference period -1, so parallel pre-trends "
                   "cannot be tested.")
    if window.leads == 1 and window.leads_available > 1:
        out.append("All pre-treatment periods are pooled into the reference (leads=1), so there is no pre-trend "
                   "test.")
    binned = [r for r in window.periods if window.binned(r)]
    if binned:
        out.append(f"Relative periods beyond {', '.join(map(str, binned))} are pooled into those endpoint "
                   "coefficients (binned endpoints).")
    return out


@register("event_study", family="difference_in_differences", design="panel", estimands=("att",),
          requires=Requirements(roles=("outcome", "treatment", "unit", "time"), recommended=("covariates",),
                                treatment="binary", panel=True, min_rows=4),
          title="Event study (two-way fixed effects)",
          summary="Traces the effect period by period before and after treatment starts, relative to the period "
                  "just before; the headline is the average of the post-treatment periods, and the pre-treatment "
                  "periods test for parallel trends.",
          inference="cluster-robust (CR1)",
          params={
              "leads": "Pre-treatment periods estimated one by one (earlier ones are pooled into the first); "
                       "empty = up to 5. They test for parallel pre-trends.",
              "lags": "Post-treatment periods estimated one by one (later ones are pooled into the last); "
                      "empty = up to 5.",
          },
          headline_rank=50, example=examples.single_adoption, transparency=0.85, cost_exponent=1.0)
def event_study(data: Dataset, roles: Roles, *, estimand: Literal["att"] = "att", alpha: float = 0.05,
                seed: int = 0, leads: int | None = None, lags: int | None = None) -> EffectResult:
    """TWFE event study with binned endpoints, reference -1 and never-treated units as the comparison."""
    dd = validate_design(tidy_did_data(data, roles), method="event_study")
    first_row = dd.first[dd.unit]
    rel = np.where(first_row >= 0, dd.time - first_row, np.nan)
    window = event_window(rel, leads, lags)
    fe = TwoWayFixedEffects.build(dd.unit, dd.time, dd.weights)
    W, names, notes = _absorbed_regressors(fe, _relative_dummies(rel, window),
                                           [str(r) for r in window.periods], dd.X, dd.x_names)
    fit = fit_residualised(fe.residualise(dd.y), W, fe, dd.unit, dd.time, dd.cluster)
    periods = window.periods
    post_idx = [j for j, r in enumerate(periods) if r >= 0]
    a = np.zeros(len(names))
    a[post_idx] = 1.0 / len(post_idx)
    estimate, se = float(a @ fit.coef), float(np.sqrt(max(a @ fit.cov @ a, 0.0)))
    pre = _pre_trend_test(fit, [j for j, r in enumerate(periods) if r < -1])
    diagnostics = _design_description(dd) | _inference_diagnostics(fit, dd) | pre
    diagnostics.update(reference_period=-1, leads=window.leads, lags=window.lags,
                       leads_available=window.leads_available, lags_available=window.lags_available,
                       headline=f"average of the post-treatment coefficients 0..{window.lags} (equal weights), "
                                "SE from their covariance",
                       coefficients={n: float(c) for n, c in zip(names, fit.coef)})
    warnings = list(dd.warnings) + notes + _outcome_warnings(dd) + _event_warnings(dd, window, pre)
    rel_binned = np.clip(rel, -window.leads, window.lags)
    return finish("event_study", estimand, estimate, se, alpha=alpha, n_obs=dd.y.size, se_method=_se_method(dd),
                  diagnostics=diagnostics, warnings=warnings, df=fit.df,
                  by=_sub_estimates(fit, window, rel_binned, alpha))
