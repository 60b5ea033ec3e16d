"""Inverse probability weighting (``ipw``).

The normalised (Hajek) inverse-probability-weighted contrast (Robins, Hernan &
Brumback 2000, Epidemiology 11:550; Lunceford & Davidian 2004, Stat Med 23:2937,
the normalised estimator "Delta_2" of Sec. 3). Its standard error is the
M-estimation sandwich of the stacked estimating equations (outcome means +
logistic score), which accounts for the estimated propensity score (Lunceford &
Davidian 2004, Sec. 3; Stefanski & Boos 2002, Am Stat 56:29; for the ATT,
Reifeis & Hudgens 2022, Am J Epidemiol 191:1092).
"""
from __future__ import annotations

from typing import Annotated

import numpy as np

from ..data import Dataset
from ..datasets import examples
from ..datasets.public import NSW_ROLES
from ..diagnostics import effective_sample_size_ratio, max_weight_ratio, standard_diagnostics, top_weight_share
from ..errors import EstimationError
from ..inference import influence_se
from ..params import TRIM_SHARE
from ..prep import Prepared, prepare
from ..registry import Reference, Requirements, register
from ..results import EffectResult
from ..roles import Roles
from ._common import finish
from ._propensity import (
    Estimand,
    balancing_weights,
    hajek_influence,
    shared_propensity,
    trimming_mask,
    weight_role_note,
)


def ipw_weights(t: np.ndarray, e: np.ndarray, keep: np.ndarray, estimand: str, stabilize: bool) -> np.ndarray:
    """Reported weights (0 for trimmed units).

    Stabilising multiplies ATE weights by the marginal shares P(T=1), P(T=0)
    (Robins, Hernan & Brumback 2000, Sec. "Stabilized weights"); the Hajek
    estimate is unchanged because each arm is normalised. ATT weights already sum
    to about the treated count in each arm and are left as they are.
    """
    w = balancing_weights(t, e, estimand) * keep
    if stabilize and estimand == "ate":
        share = t[keep].mean()
        w = w * np.where(t == 1, share, 1 - share)
    return w


def ipw_diagnostics(prep: Prepared, e: np.ndarray, w: np.ndarray, keep: np.ndarray) -> dict:
    diagnostics = standard_diagnostics(prep, ps=e, weights=w)
    # weight summaries over the units actually used (trimmed ones carry weight 0)
    diagnostics["effective_sample_size_ratio"] = effective_sample_size_ratio(w[keep], prep.t[keep])
    diagnostics["max_weight_ratio"] = max_weight_ratio(w[keep], prep.t[keep])
    diagnostics["top_weight_share"] = top_weight_share(w[keep], prep.t[keep])
    diagnostics["max_weight"] = float(w.max())
    diagnostics["weight_sum_treated"] = float(w[prep.t == 1].sum())
    diagnostics["weight_sum_control"] = float(w[prep.t == 0].sum())
    return diagnostics


#: Trimming drops units, so the number describes the units left (the overlap population), not everyone.
TRIMMED_LABEL = {"ate": "ATE in the overlap population after trimming",
                 "att": "ATT: treated units left after trimming"}


@register("ipw", family="selection_on_observables", design="cross_section", estimands=("ate", "att"),
          requires=Requirements(roles=("outcome", "treatment", "covariates"), treatment="binary"),
          title="Inverse probability weighting",
          summary="Models each unit's chance of being treated from the covariates, then reweights the groups so "
                  "they resemble the same population before comparing their average outcomes.",
          inference="M-estimation sandwich including the propensity model",
          params={
              "trim": "Drop units whose propensity score is below this value or above 1 minus it. Extreme "
                      "scores give huge weights; 0.01 removes only the most extreme.",
              "trim_quantile": "Alternative trimming: drop units below this quantile and above 1 minus it of "
                               "the score.",
              "stabilize": "Multiply weights by the share treated; leaves the estimate unchanged but makes "
                           "weights easier to read.",
          },
          headline_rank=20, example=examples.confounded, transparency=0.85, cost_exponent=1.0,
          references=(
              *(Reference("estimate", value, 1e-5, data="causaldata:nsw_mixtape", roles=NSW_ROLES,
                          params={"estimand": estimand},
                          source="statsmodels 0.15: Logit propensity, default trim [0.01, 0.99], WLS of re78 on "
                                 "[1, treat] with Hajek weights, on the NSW experimental sample",
                          script="tests/estimators/references/scripts/ipw_nsw_statsmodels.py",
                          why_tolerance="the scores differ only by fit_logit's 1e-8 ridge: 1e-5 as "
                                        "test_ipw_point_equals_statsmodels_wls (observed 5e-6 dollars)")
                for estimand, value in (("ate", 1641.3152016515605), ("att", 1806.416907680997))),
              Reference("estimate", 1794.34, 1347.0, data="causaldata:nsw_mixtape", roles=NSW_ROLES,
                        params={"estimand": "att"},
                        source="LaLonde (1986); Dehejia & Wahba (1999): NSW experimental benchmark, treated minus "
                               "control mean 1978 earnings ($1794; 1794.34 on causaldata.nsw_mixtape)",
                        script="printed in the source",
                        why_tolerance="2 SE of this estimate (SE 673.86, rounded down), the band of "
                                      "test_lalonde_nsw_att_within_two_se_of_the_experimental_benchmark"),
          ))
def ipw(data: Dataset, roles: Roles, *, estimand: Estimand = "ate", alpha: float = 0.05, seed: int = 0,
        trim: Annotated[float | None, TRIM_SHARE] = 0.01, trim_quantile: Annotated[float | None, TRIM_SHARE] = None,
        stabilize: bool = True) -> EffectResult:
    """Hajek inverse-probability weighting (Robins, Hernan & Brumback 2000).

    trim: drop units whose propensity lies outside [trim, 1 - trim] (None: keep all).
    trim_quantile: instead drop units below the q and above the 1 - q quantile of
        the propensity; when given it replaces ``trim``.
    stabilize: multiply ATE weights by the marginal treatment shares (reported
        weights and diagnostics only; the Hajek estimate does not change).
    The propensity model is fitted on all units, trimmed or not, and the SE
    accounts for that fit. ``seed`` is accepted for the common signature; the
    method is deterministic.
    """
    prep = prepare(data, roles)
    warnings = list(prep.warnings) + weight_role_note(prep, roles)
    fit = shared_propensity(data, roles, prep)
    if not fit.converged:
        warnings.append("The propensity model did not converge; the groups may be (nearly) separable.")
    e, t = fit.fitted, prep.t
    keep, rule = trimming_mask(e, trim, trim_quantile)
    n_trimmed = int((~keep).sum())
    n1, n0 = int(t[keep].sum()), int((1 - t[keep]).sum())
    if min(n1, n0) < 2:
        raise EstimationError(f"After trimming extreme propensity scores ({rule}) only {n1} treated and {n0} "
                              "untreated units remain: the groups barely overlap.",
                              "Use fewer or coarser covariates, a smaller trim, or a design-based method.",
                              code="E-EST-003")
    if n_trimmed:
        warnings.append(f"Trimming removed {n_trimmed} of {prep.n} units whose propensity score fell outside "
                        f"the kept range ({rule}); the estimate describes the remaining {prep.n - n_trimmed}.")
    est, phi = hajek_influence(prep.y, t, e, fit.design, keep, estimand)
    se = influence_se(phi, prep.cluster)
    w = ipw_weights(t, e, keep, estimand, stabilize)
    diagnostics = ipw_diagnostics(prep, e, w, keep)
    diagnostics.update(trimmed=n_trimmed, trim_rule=rule, weights_stabilized=bool(stabilize and estimand == "ate"),
                       propensity_converged=bool(fit.converged))
    kind = "cluster-robust " if prep.cluster is not None else ""
    return finish("ipw", estimand, est, se, alpha=alpha, n_obs=prep.n - n_trimmed,
                  estimand_label=TRIMMED_LABEL[estimand] if n_trimmed else "",
                  se_method=f"{kind}M-estimation sandwich (accounts for the estimated propensity score)",
                  diagnostics=diagnostics, warnings=warnings)
