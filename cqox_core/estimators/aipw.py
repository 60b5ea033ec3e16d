"""Augmented inverse probability weighting (``aipw``, doubly robust).

The augmented IPW score (Robins, Rotnitzky & Zhao 1994, JASA 89:846) with K-fold
cross-fitting (Chernozhukov et al. 2018, Econometrics J 21:C1; the pooled-score
"DML2" form of Sec. 3 and the ATE / ATT scores of Sec. 5.1); its SE is the
sample variance of the influence function.
"""
from __future__ import annotations

from typing import Annotated

import numpy as np

from ..data import Dataset
from ..datasets import examples
from ..datasets.public import NSW_ROLES
from ..diagnostics import standard_diagnostics
from ..errors import EstimationError
from ..inference import influence_se
from ..nuisance import cached
from ..params import TRIM_SHARE, at_least
from ..prep import prepare
from ..registry import Reference, Requirements, register
from ..results import EffectResult
from ..roles import Roles
from ._common import cache_key, finish
from ._crossfit import crossfit_nuisances, r_squared
from ._propensity import Estimand, Learner, PropensityLearner, balancing_weights, weight_role_note


def aipw_scores(y: np.ndarray, t: np.ndarray, m1: np.ndarray, m0: np.ndarray, e: np.ndarray,
                estimand: str) -> tuple[float, np.ndarray]:
    """Doubly robust estimate and its influence function.

    ATE (Robins, Rotnitzky & Zhao 1994; Chernozhukov et al. 2018 Sec. 5.1):
        phi = m1 - m0 + T(Y-m1)/e - (1-T)(Y-m0)/(1-e) - tau
    ATT (Chernozhukov et al. 2018 Sec. 5.1, "ATTE"), p = P(T=1):
        phi = [T(Y-m0) - (1-T) e/(1-e) (Y-m0) - T tau] / p
    """
    if estimand == "att":
        p = t.mean()
        core = t * (y - m0) - (1 - t) * e / (1 - e) * (y - m0)
        tau = float(core.mean() / p)
        return tau, (core - t * tau) / p
    score = m1 - m0 + t * (y - m1) / e - (1 - t) * (y - m0) / (1 - e)
    tau = float(score.mean())
    return tau, score - tau


@register("aipw", family="selection_on_observables", design="cross_section", estimands=("ate", "att"),
          requires=Requirements(roles=("outcome", "treatment", "covariates"), treatment="binary"),
          title="Augmented IPW (doubly robust)",
          summary="Combines a model of the outcome with a model of who gets treated; the answer stays right if "
                  "either model is right. Models are fitted on other folds of the data than they are used on.",
          inference="influence function (cross-fitted)",
          params={
              "n_folds": "Cross-fitting folds: each unit's nuisance predictions come from models that did not "
                         "see it.",
              "outcome_learner": "Model for the outcome: linear (transparent) or gradient boosting (flexible).",
              "propensity_learner": "Model for the chance of treatment: logistic (transparent) or gradient "
                                    "boosting.",
              "trim": "Out-of-fold propensity scores are clipped to [trim, 1 - trim] so no weight is infinite; "
                      "the number clipped is reported.",
          },
          headline_rank=10, example=examples.confounded, transparency=0.7, cost_exponent=1.0,
          references=(
              Reference("estimate", 2.0024358271643248, 0.0087, data="cqox:econml_dr_frame",
                        roles={"outcome": "y", "treatment": "t", "covariates": ["x1", "x2", "x3"]},
                        source="EconML 0.17 LinearDRLearner ATE (LogisticRegression(C=inf), LinearRegression, "
                               "cv=5, random_state=0) on simulate_homogeneous(4000, seed=11)",
                        script="tests/estimators/references/scripts/aipw_econml.py",
                        why_tolerance="0.25 of this estimate's SE (0.0352, rounded down): EconML pools the arms "
                                      "and uses its own folds, so the two differ by o_p(n^-1/2) "
                                      "(test_aipw_agrees_with_econml_linear_dr_learner)"),
              Reference("std_error", 0.03503912537583926, 0.10, relative=True, data="cqox:econml_dr_frame",
                        roles={"outcome": "y", "treatment": "t", "covariates": ["x1", "x2", "x3"]},
                        source="EconML 0.17 LinearDRLearner ate_interval(alpha=0.05) half-width / z_0.975, same fit",
                        script="tests/estimators/references/scripts/aipw_econml.py",
                        why_tolerance="both are sd(score)/sqrt(n) on different folds: 10%, as "
                                      "test_aipw_agrees_with_econml_linear_dr_learner"),
              Reference("estimate", 1794.34, 1407.0, data="causaldata:nsw_mixtape", roles=NSW_ROLES,
                        params={"estimand": "att"},
                        source="LaLonde (1986); Dehejia & Wahba (1999): NSW experimental benchmark, treated minus "
                               "control mean 1978 earnings ($1794; 1794.34 on causaldata.nsw_mixtape)",
                        script="printed in the source",
                        why_tolerance="2 SE of this estimate (SE 703.83, rounded down), the band of "
                                      "test_lalonde_nsw_att_within_two_se_of_the_experimental_benchmark"),
          ))
def aipw(data: Dataset, roles: Roles, *, estimand: Estimand = "ate", alpha: float = 0.05, seed: int = 0,
         n_folds: Annotated[int, at_least(2)] = 5, outcome_learner: Learner = "linear",
         propensity_learner: PropensityLearner = "logit",
         trim: Annotated[float | None, TRIM_SHARE] = 0.01) -> EffectResult:
    """Cross-fitted augmented IPW (Robins, Rotnitzky & Zhao 1994; Chernozhukov et al. 2018).

    n_folds: cross-fitting folds (seeded; whole clusters kept together).
    outcome_learner: "linear" (least squares in each arm) or "gbm" (histogram gradient boosting).
    propensity_learner: "logit" (maximum-likelihood logistic) or "gbm".
    trim: out-of-fold propensities are clipped to [trim, 1 - trim]; the count is reported.
    """
    prep = prepare(data, roles)
    warnings = list(prep.warnings) + weight_role_note(prep, roles)
    key = cache_key(data, roles, "crossfit", roles.cluster, roles.weight, n_folds, outcome_learner,
                    propensity_learner, seed)
    m1, m0, e_raw, ps_converged = cached(key, lambda: crossfit_nuisances(prep, n_folds, outcome_learner,
                                                                         propensity_learner, seed))
    if not ps_converged:
        warnings.append("The propensity model did not converge in at least one cross-fitting fold; the groups may "
                        "be (nearly) separable.")
    e = np.clip(e_raw, trim, 1 - trim) if trim else e_raw
    n_clipped = int(np.sum(e != e_raw))
    if n_clipped:
        warnings.append(f"{n_clipped} of {prep.n} propensity scores lay outside [{trim:g}, {1 - trim:g}] and were "
                        "clipped to that range to keep the weights finite.")
    if np.any((e <= 0) | (e >= 1)):
        raise EstimationError("Some estimated propensity scores are exactly 0 or 1: those units have no "
                              "comparable counterpart.", "Keep trim > 0 (e.g. 0.01).", code="E-EST-006")
    est, phi = aipw_scores(prep.y, prep.t, m1, m0, e, estimand)
    se = influence_se(phi, prep.cluster)
    t = prep.t.astype(bool)
    diagnostics = standard_diagnostics(prep, ps=e, weights=balancing_weights(prep.t, e, estimand))
    diagnostics.update(clipped=n_clipped, n_folds=int(n_folds), outcome_learner=outcome_learner,
                       propensity_learner=propensity_learner, propensity_converged=bool(ps_converged),
                       outcome_r2_treated=r_squared(prep.y[t], m1[t]),
                       outcome_r2_control=r_squared(prep.y[~t], m0[~t]))
    kind = "cluster-robust " if prep.cluster is not None else ""
    return finish("aipw", estimand, est, se, alpha=alpha, n_obs=prep.n,
                  se_method=f"{kind}influence function (cross-fitted, {n_folds} folds)",
                  diagnostics=diagnostics, warnings=warnings)
