"""Event study (``event_study``): TWFE with relative-time dummies.

`event_study` replaces D by relative-time dummies 1{t - E_i = r} (reference
r = -1, endpoints binned; Schmidheiny & Siegloch 2023, J. Appl. Econometrics
38:695) with never-treated units as the reference group. Under staggered
timing with heterogeneous effects those coefficients are contaminated by other
periods' effects (Sun & Abraham 2021, J. Econometrics 225:175), so the result
says so and points to staggered_did.

The headline is a weighted average of the post-treatment coefficients,
    ATT_hat = sum_r w_r beta_r,  w_r = N_r / sum_s N_s,  r = 0..L-1 (r = L too when L is not binned),
where N_r is the number of treated unit-period observations at relative period r:
the average effect over the treated observations of the estimated window, as
Callaway & Sant'Anna's event-time aggregation weights by group size. The binned
endpoint L is left out because it pools every period from L on (its coefficient is
an average over an open-ended, composition-changing set of periods), unless it is
the only post-treatment coefficient (lags=0: the static two-way fixed-effects
estimate). The SE is sqrt(w'Vw) from the cluster-robust covariance.
``diagnostics["headline"]`` says this and ``diagnostics["headline_weights"]`` gives w.

The fixed-effects machinery is in ``_twfe`` (shared with ``did``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from scipy import stats

from ..data import Dataset
from ..datasets import examples
from ..params import at_least
from ..registry import Reference, Requirements, register
from ..results import EffectResult
from ..roles import Roles
from ._common import finish, sub_estimate
from ._twfe import (
    DEFAULT_WINDOW_CAP,
    STAGGERED_HINT,
    DidData,
    FixedEffectsFit,
    TwoWayFixedEffects,
    _absorbed_regressors,
    _design_description,
    _inference_diagnostics,
    _outcome_warnings,
    _se_method,
    fit_residualised,
    tidy_did_data,
    validate_design,
)


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


def _window_length(requested: int | None, available: int) -> int:
    """The requested window (checked to be a whole number >= 0 by params.check_values), capped at what is seen."""
    if requested is None:
        return min(available, DEFAULT_WINDOW_CAP)
    return min(int(requested), available)


def event_window(rel: np.ndarray, leads: int | None, lags: int | None) -> EventWindow:
    """Window from the relative periods observed among treated rows (``rel`` NaN for never treated)."""
    seen = rel[np.isfinite(rel)]
    leads_available, lags_available = int(max(-seen.min(), 1)), int(max(seen.max(), 0))
    # a lead window of 0 or 1 both mean: every pre-period is pooled into the reference
    n_leads = max(_window_length(leads, leads_available), 1)
    n_lags = _window_length(lags, lags_available)
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
        extra: dict[str, Any] = {"relative_period": r, "binned": window.binned(r)}
        if window.binned(r):
            extra["covers"] = f"{'<=' if r < 0 else '>='} {r}"
        out.append(sub_estimate(str(r), est, se, alpha, df=fit.df, n_obs=int(np.sum(rel_binned == r)), extra=extra))
    return tuple(out)


def headline_weights(window: EventWindow, rel_binned: np.ndarray) -> dict[int, float]:
    """Weights of the post-treatment coefficients in the headline: proportional to the treated observations
    at each relative period, the binned endpoint left out unless it is the only post period."""
    post = [r for r in window.periods if r >= 0]
    kept = [r for r in post if not window.binned(r)] or post
    counts = {r: int(np.sum(rel_binned == r)) for r in kept}
    total = sum(counts.values())
    return {r: c / total for r, c in counts.items()} if total else {}


def _headline_text(weights: dict[int, float], window: EventWindow) -> str:
    periods = ", ".join(map(str, weights))
    binned = [r for r in window.periods if r >= 0 and window.binned(r)]
    endpoint = (f"; the binned endpoint {binned[0]} (periods >= {binned[0]}) is left out" if binned and
                binned[0] not in weights else
                f"; the only post coefficient is the binned endpoint (periods >= {binned[0]})" if binned else "")
    return (f"weighted average of the post-treatment coefficients {periods}, weights proportional to the number "
            f"of treated observations in each relative period{endpoint}; SE sqrt(w'Vw) from their covariance")


def _label(weights: dict[int, float]) -> str:
    span = (f"period {min(weights)}" if len(weights) == 1 else f"periods {min(weights)}..{max(weights)}") \
        if weights else "no period"
    return f"ATT: treated units in post-treatment {span} (weighted by treated observations)"


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
                  "just before; the headline averages the post-treatment periods weighted by their treated "
                  "observations (the pooled endpoint left out), and the pre-treatment periods test for parallel "
                  "trends.",
          inference="cluster-robust (CR1)",
          params={
              "leads": "Pre-treatment periods estimated one by one (earlier ones are pooled into the first); "
                       "empty = up to 5. They test for parallel pre-trends.",
              "lags": "Post-treatment periods estimated one by one (later ones are pooled into the last); "
                      "empty = up to 5.",
          },
          headline_rank=50, example=examples.single_adoption, transparency=0.85, cost_exponent=1.0,
          references=(
              # pyfixest's relative-time event study on mpdta (never-treated counties in the reference period -1)
              *(Reference(quantity, value, 1e-8 if quantity.endswith("estimate") else 1e-6,
                          relative=not quantity.endswith("estimate"), data="cqox:mpdta_frame",
                          roles={"outcome": "lemp", "treatment": "minimum_wage_raised", "unit": "countyreal",
                                 "time": "year"},
                          source="pyfixest 0.60 feols('lemp ~ i(rel, ref=-1) | countyreal + year', vcov CRV1 by "
                                 "county) on mpdta; headline: post coefficients weighted by treated county-years, SE "
                                 "sqrt(a'Va)",
                          script="tests/estimators/references/scripts/event_study_mpdta_pyfixest.py",
                          why_tolerance="same regression: coefficients to 1e-8, SEs to 1e-6 relative, as "
                                        "test_matches_pyfixest_event_study")
                for quantity, value in (
                    ("estimate", -0.03627032799674959), ("std_error", 0.011798543544257115),
                    ("by.-4.estimate", 0.0035493269194324544), ("by.-4.std_error", 0.022828581446277176),
                    ("by.-3.estimate", 0.02462350198649075), ("by.-3.std_error", 0.017679371172670752),
                    ("by.-2.estimate", 0.023354814886403445), ("by.-2.std_error", 0.01343669937724658),
                    ("by.0.estimate", -0.01814392696658056), ("by.0.std_error", 0.010982218280948176),
                    ("by.1.estimate", -0.04347237262855288), ("by.1.std_error", 0.017576946994440346),
                    ("by.2.estimate", -0.13179485775431787), ("by.2.std_error", 0.02883740739006754),
                    ("by.3.estimate", -0.0922467941818854), ("by.3.std_error", 0.0323361931631253))),
          ))
def event_study(data: Dataset, roles: Roles, *, estimand: Literal["att"] = "att", alpha: float = 0.05,
                seed: int = 0, leads: Annotated[int | None, at_least(0)] = None,
                lags: Annotated[int | None, at_least(0)] = None) -> EffectResult:
    """TWFE event study with binned endpoints, reference -1 and never-treated units as the comparison.

    Headline: the post-treatment coefficients averaged with weights proportional to the number of treated
    observations at each relative period, the binned endpoint left out (see the module docstring)."""
    dd = validate_design(tidy_did_data(data, roles), method="event_study")
    first_row = dd.first[dd.unit]
    rel = np.where(first_row >= 0, dd.time - first_row, np.nan)
    window = event_window(rel, leads, lags)
    fe = TwoWayFixedEffects.build(dd.unit, dd.time, dd.weights)
    W, names, notes = _absorbed_regressors(fe, _relative_dummies(rel, window),
                                           [str(r) for r in window.periods], dd.X, dd.x_names)
    fit = fit_residualised(fe.residualise(dd.y), W, fe, dd.unit, dd.time, dd.cluster)
    periods = window.periods
    rel_binned = np.clip(rel, -window.leads, window.lags)
    weights = headline_weights(window, rel_binned)
    a = np.zeros(len(names))
    for j, r in enumerate(periods):
        a[j] = weights.get(r, 0.0)
    estimate, se = float(a @ fit.coef), float(np.sqrt(max(a @ fit.cov @ a, 0.0)))
    pre = _pre_trend_test(fit, [j for j, r in enumerate(periods) if r < -1])
    diagnostics = _design_description(dd) | _inference_diagnostics(fit, dd) | pre
    diagnostics.update(reference_period=-1, leads=window.leads, lags=window.lags,
                       leads_available=window.leads_available, lags_available=window.lags_available,
                       headline=_headline_text(weights, window),
                       headline_weights={str(r): w for r, w in weights.items()},
                       coefficients={n: float(c) for n, c in zip(names, fit.coef)})
    warnings = list(dd.warnings) + notes + _outcome_warnings(dd) + _event_warnings(dd, window, pre)
    return finish("event_study", estimand, estimate, se, alpha=alpha, n_obs=dd.y.size, se_method=_se_method(dd),
                  estimand_label=_label(weights),
                  diagnostics=diagnostics, warnings=warnings, df=fit.df,
                  by=_sub_estimates(fit, window, rel_binned, alpha))
