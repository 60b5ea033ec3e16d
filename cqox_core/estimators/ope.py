"""Off-policy evaluation (``ope``): the value of a target policy from data logged under another.

Logged rounds (context X, logged action A, reward R, logging probability p = P(A | X) of the
logged action) and the action pi(X) the target policy would take. With w = 1{pi(X) = A} / p:

* IPS (Horvitz & Thompson 1952; Dudik, Langford & Li 2011, eq. 2):  V = mean(w R)
* SNIPS, self-normalised (Swaminathan & Joachims 2015):          V = sum(w R) / sum(w)
* DM, direct method:                                              V = mean(q(X, pi(X)))
* DR, doubly robust (Dudik, Langford & Li 2011, eq. 3):
      V = mean(q(X, pi(X)) + w (R - q(X, A)))
with q(x, a) the reward model, one regression per action (least squares or gradient boosting),
cross-fitted over n_folds (n_folds=1: fitted on all rows, as Dudik et al.). Each SE is the sample
SD of the estimator's influence function over sqrt(n): IPS w R - V; SNIPS w (R - V) / mean(w);
DR its summand minus V; DM q(X, pi(X)) - V, which ignores the reward model's own estimation
error (the DM interval is too narrow when that model is misspecified; DR's is not, to first order).

Without ``propensity`` the logging probabilities are estimated by a multinomial logit of the
logged action on the covariates (scikit-learn, unpenalised; rows are its training data, so
IPS/DR then use the estimated policy, which is known to be at least as efficient as the true one,
Hirano, Imbens & Ridder 2003): the result warns, and the weights feed the effective sample size,
weight ratio and (via the logit's one-vs-rest AUC and convergence) separation gates.

Headline: the DR value, estimand "policy_value". Also reported: the logging policy's value (the
mean logged reward) and the DR improvement over it, with its interval.
"""
from __future__ import annotations

import math
import warnings as pywarnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..data import Dataset
from ..datasets import policy as policy_data
from ..diagnostics.weights import arm_top_share
from ..errors import EstimationError, MethodError, RoleError
from ..inference import wald
from ..prep import design_with_terms, numeric_outcome
from ..registry import Reference, Requirements, register
from ..results import EffectResult, SubEstimate
from ..roles import Roles
from ._common import finish
from ._crossfit import fold_ids
from ._money import check_money, direction_for, profit_view

Learner = Literal["linear", "gbm"]


@dataclass(frozen=True)
class Logged:
    """Complete-case logged rounds."""

    reward: np.ndarray
    action: np.ndarray          # action index 0..K-1
    target: np.ndarray          # the target policy's action index
    propensity: np.ndarray | None
    X: np.ndarray
    actions: tuple[str, ...]
    n_dropped: int
    cluster: np.ndarray | None


def action_labels(col: pd.Series) -> pd.Series:
    """Actions as comparable strings: numbers by value (1 and 1.0 are the same action), else text."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col.astype(float).map(lambda v: f"{v:.12g}")
    return col.astype("string").astype(object)


def param_column(frame: pd.DataFrame, name: str | None, what: str) -> None:
    if name is not None and name not in frame.columns:
        raise RoleError(f"The {what} column '{name}' is not in the data.",
                        f"Columns include: {', '.join(map(str, list(frame.columns)[:12]))}.", code="E-ROLE-002")


def logged_rounds(data: Dataset, roles: Roles, propensity: str | None, target: str | None) -> Logged:
    frame = data.frame
    roles.require("outcome", "treatment", "covariates")
    roles.check_columns(frame)
    if target is None:
        raise MethodError("Off-policy evaluation needs the target policy: the action it would take in each row.",
                          "Give it with --param target=COL; to learn a good policy instead, use policy_learning.",
                          code="E-METHOD-005")
    param_column(frame, target, "target policy")
    param_column(frame, propensity, "logging propensity")
    reward_all = numeric_outcome(frame, roles.outcome)
    if reward_all.notna().sum() == 0:
        raise RoleError(f"The reward '{roles.outcome}' is missing in every row.",
                        "Choose a reward column that has values.", code="E-ROLE-004")
    used = [roles.treatment, target, *roles.covariates] + ([propensity] if propensity else []) \
        + ([roles.cluster] if roles.cluster else [])
    mask = reward_all.notna().to_numpy() & frame[used].notna().all(axis=1).to_numpy()
    sub = frame.loc[mask]
    if len(sub) < 4:
        raise RoleError(f"Only {len(sub)} usable row(s) after removing missing values: too few to evaluate a "
                        "policy.", "Provide more rows, or fewer roles with missing values.", code="E-ROLE-005")
    logged = action_labels(sub[roles.treatment])
    actions = tuple(sorted(pd.unique(logged)))
    if len(actions) < 2:
        raise RoleError(f"Every logged action is '{actions[0]}': with one action there is nothing to learn about "
                        "the others.", "Off-policy evaluation needs logs in which several actions were taken.",
                        code="E-ROLE-003")
    wanted = action_labels(sub[target])
    unknown = sorted(set(pd.unique(wanted)) - set(actions))
    if unknown:
        raise RoleError(f"The target policy names action(s) never logged: {', '.join(map(str, unknown[:5]))}.",
                        f"Logged actions are: {', '.join(actions[:12])}. A policy can only be evaluated on actions "
                        "that were tried; recode the target column to those labels.", code="E-ROLE-032")
    index = {a: i for i, a in enumerate(actions)}
    p = None
    if propensity:
        p = pd.to_numeric(sub[propensity], errors="coerce").to_numpy(dtype=float)
        check_propensities(p, propensity)
    X, _, _ = design_with_terms(sub, roles.covariates)
    return Logged(reward=reward_all.to_numpy(dtype=float)[mask], action=logged.map(index).to_numpy(dtype=int),
                  target=wanted.map(index).to_numpy(dtype=int), propensity=p, X=X, actions=actions,
                  n_dropped=int((~mask).sum()), cluster=sub[roles.cluster].to_numpy() if roles.cluster else None)


def check_propensities(p: np.ndarray, name: str) -> None:
    """Logging probabilities must lie strictly inside (0, 1)."""
    if np.any(~np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise EstimationError(f"The logging propensity '{name}' must hold probabilities in (0, 1); some values are "
                              "not numbers or lie outside [0, 1].",
                              "Give the probability with which the logged action was chosen (a number in (0, 1)).",
                              code="E-EST-100")
    zero, one = int(np.sum(p == 0)), int(np.sum(p == 1))
    if zero:
        raise EstimationError(f"{zero} logged action(s) have propensity exactly 0: an action that could not be "
                              "chosen was logged, so the weights 1/p are infinite.",
                              "Check that the column holds the probability of the logged action (not of another), "
                              "and that it was recorded before rounding.", code="E-EST-101")
    if one:
        raise EstimationError(f"{one} logged action(s) have propensity exactly 1: there the logging policy never "
                              "explored, so nothing is known about what other actions would have earned.",
                              "Evaluate only on rows where the logging policy randomised (0 < p < 1), or log with "
                              "some exploration (e.g. epsilon-greedy).", code="E-EST-102")


def estimate_logging_policy(X: np.ndarray, action: np.ndarray, k: int) -> tuple[np.ndarray, bool, float]:
    """Multinomial logit P(A = a | X) (n x K), whether it converged, and its one-vs-rest macro AUC."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    Z = X if X.shape[1] else np.zeros((len(action), 1))
    scale = Z.std(axis=0)
    Z = (Z - Z.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    with pywarnings.catch_warnings():
        pywarnings.simplefilter("error", ConvergenceWarning)
        try:
            model = LogisticRegression(C=1e6, max_iter=2000).fit(Z, action)
            converged = True
        except ConvergenceWarning:
            pywarnings.simplefilter("ignore", ConvergenceWarning)
            model = LogisticRegression(C=1e6, max_iter=2000).fit(Z, action)
            converged = False
    probs = np.zeros((len(action), k))
    probs[:, model.classes_] = model.predict_proba(Z)
    try:
        auc = float(roc_auc_score(action, probs, multi_class="ovr")) if k > 2 else \
            float(roc_auc_score(action, probs[:, 1]))
    except ValueError:
        auc = math.nan
    return probs, converged, auc


def reward_model(log: Logged, learner: str, n_folds: int, seed: int) -> np.ndarray:
    """q(X_i, a) for every row and action (n x K): one regression per action, cross-fitted."""
    n, k = len(log.reward), len(log.actions)
    q = np.empty((n, k))
    folds = fold_ids(n, n_folds, seed, log.cluster) if n_folds > 1 else np.zeros(n, dtype=int)
    for f in range(max(n_folds, 1)):
        test = folds == f
        train = ~test if n_folds > 1 else np.ones(n, dtype=bool)
        for a in range(k):
            rows = train & (log.action == a)
            need = log.X.shape[1] + 2 if learner == "linear" else 5
            if rows.sum() < need:
                raise EstimationError(f"Action '{log.actions[a]}' has only {int(rows.sum())} logged rows to fit its "
                                      "reward model on" + (" in a cross-fitting fold" if n_folds > 1 else "") + ".",
                                      "Use fewer covariates, fewer folds (n_folds), or merge rare actions.",
                                      code="E-EST-103")
            q[test, a] = fit_predict(log.X[rows], log.reward[rows], log.X[test], learner, seed)
    return q


def fit_predict(X: np.ndarray, y: np.ndarray, X_new: np.ndarray, learner: str, seed: int) -> np.ndarray:
    if learner == "gbm":
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(random_state=seed).fit(X, y).predict(X_new)
    Z = np.column_stack([np.ones(len(X)), X])
    coef = np.linalg.lstsq(Z, y, rcond=None)[0]
    return np.column_stack([np.ones(len(X_new)), X_new]) @ coef


def ope_estimates(r: np.ndarray, match: np.ndarray, p: np.ndarray, q_target: np.ndarray,
                  q_logged: np.ndarray) -> dict[str, tuple[float, np.ndarray]]:
    """(value, influence function) of IPS, SNIPS, DM and DR (module docstring)."""
    w = match / p
    ips = float(np.mean(w * r))
    mean_w = float(np.mean(w))
    snips = float(np.sum(w * r) / np.sum(w)) if mean_w > 0 else math.nan
    dm = float(np.mean(q_target))
    dr_terms = q_target + w * (r - q_logged)
    dr = float(np.mean(dr_terms))
    return {"ips": (ips, w * r - ips),
            "snips": (snips, w * (r - snips) / mean_w if mean_w > 0 else np.full(r.size, math.nan)),
            "dm": (dm, q_target - dm), "dr": (dr, dr_terms - dr)}


def se_of(phi: np.ndarray, cluster: np.ndarray | None) -> float:
    from ..inference import influence_se

    return influence_se(phi, cluster) if np.all(np.isfinite(phi)) else math.nan


@register("ope", family="policy_evaluation", design="cross_section", estimands=("policy_value",),
          requires=Requirements(roles=("outcome", "treatment", "covariates"), treatment="any", min_rows=20),
          title="Off-policy evaluation",
          summary="What would the average reward have been had a different policy chosen the actions? Reweights "
                  "the logged rounds in which the new policy agrees with what was done (IPS, self-normalised IPS), "
                  "models the reward (direct method), or both (doubly robust, the headline).",
          inference="influence function of each estimator (sample SD / sqrt(n)); the DM interval ignores the reward "
                    "model's estimation error",
          params={
              "propensity": "Column with the logging probability of the logged action; empty: estimated by a "
                            "multinomial logit on the covariates (with a warning).",
              "target": "Column with the action the target policy would take in each row (labels as in the "
                        "logged action).",
              "outcome_learner": "Reward model per action for DM and DR: linear (least squares) or gbm.",
              "n_folds": "Cross-fitting folds of the reward model (1: fitted on all rows, as Dudik et al. 2011).",
              "value_per_unit": "Money value of one unit of reward: adds the profit of switching from the logging "
                                "policy to the target policy.",
              "cost_per_unit": "Cost per row of running the target policy instead of the logging one.",
              "better": "Which direction of the reward is good (higher/lower); empty: decided from its name.",
          },
          headline_rank=None, battery=False, e_value=False, example=policy_data.bandit_example,
          references=(
              Reference(quantity="estimate", value=1.6008180901836635, tolerance=1e-10,
                        source="hand-computed DR formula (Dudik, Langford & Li 2011, eq. 3) with statsmodels OLS "
                               "reward models per action on simulate_bandit(400, seed=3), n_folds=1",
                        script="tests/estimators/references/scripts/ope_hand_formulas.py", data="cqox:ope_bandit_frame",
                        roles={"outcome": "reward", "treatment": "action", "covariates": ["x1", "x2"]},
                        params={"propensity": "propensity", "target": "target", "n_folds": 1},
                        why_tolerance="the same closed-form sums; only rounding differs"),),
          transparency=0.7, cost_exponent=1.0)
def ope(data: Dataset, roles: Roles, *, estimand: str = "policy_value", alpha: float = 0.05, seed: int = 0,
        propensity: str | None = None, target: str | None = None, outcome_learner: Learner = "linear",
        n_folds: int = 5, value_per_unit: float | None = None, cost_per_unit: float = 0.0,
        better: Literal["higher", "lower"] | None = None) -> EffectResult:
    """IPS, SNIPS, DM and DR values of a target policy (Dudik, Langford & Li 2011)."""
    if not isinstance(n_folds, (int, np.integer)) or n_folds < 1:
        raise MethodError(f"n_folds must be an integer of at least 1, got {n_folds!r}.", "Use e.g. n_folds=5.",
                          code="E-METHOD-005")
    if outcome_learner not in ("linear", "gbm"):
        raise MethodError(f"Unknown outcome_learner {outcome_learner!r}.", "Use 'linear' or 'gbm'.",
                          code="E-METHOD-005")
    check_money(value_per_unit, cost_per_unit, "cost_per_unit")
    direction = direction_for(better, roles.outcome)
    log = logged_rounds(data, roles, propensity, target)
    n, k = len(log.reward), len(log.actions)
    warnings: list[str] = []
    if log.n_dropped:
        warnings.append(f"{log.n_dropped} rows had missing values in the roles used and were left out.")
    diagnostics: dict[str, Any] = {"actions": list(log.actions), "n_actions": k,
                                   "logged_share": {a: float(np.mean(log.action == i)) for i, a in enumerate(log.actions)},
                                   "target_share": {a: float(np.mean(log.target == i)) for i, a in enumerate(log.actions)}}
    if log.propensity is None:
        probs, converged, auc = estimate_logging_policy(log.X, log.action, k)
        p = probs[np.arange(n), log.action]
        warnings.append("No logging propensity was given, so it was estimated by a multinomial logit of the logged "
                        "action on the covariates: IPS and DR are right only if that model is (give the logged "
                        "probabilities with --param propensity=COL when they were recorded).")
        diagnostics.update(propensity_source="estimated (multinomial logit)", propensity_converged=converged,
                           propensity_auc=auc)
        if np.any(p < 1e-6):
            raise EstimationError("The estimated logging probability of some logged actions is below 1e-6: the "
                                  "covariates (almost) decide the action, so there is no overlap to reweight.",
                                  "Give the recorded logging probabilities with --param propensity=COL, or drop the "
                                  "covariate that decides the action.", code="E-EST-104")
    else:
        p = log.propensity
        diagnostics["propensity_source"] = f"given (column '{propensity}')"
    match = (log.target == log.action).astype(float)
    if match.sum() == 0:
        raise EstimationError("The target policy never agrees with a logged action, so no logged reward says "
                              "anything about it (IPS has no terms).",
                              "Check that the target column uses the logged action labels.", code="E-EST-105")
    q = reward_model(log, outcome_learner, n_folds, seed)
    rows = np.arange(n)
    values = ope_estimates(log.reward, match, p, q[rows, log.target], q[rows, log.action])
    w = match / p
    ess = float(w.sum() ** 2 / (w @ w) / n)
    diagnostics.update(n_folds=int(n_folds), outcome_learner=outcome_learner, match_share=float(match.mean()),
                       effective_sample_size_ratio=ess / max(float(match.mean()), 1e-12),
                       effective_sample_size=float(w.sum() ** 2 / (w @ w)),
                       max_weight_ratio=float(w[match > 0].max() / w[match > 0].mean()),
                       top_weight_share=float(arm_top_share(w[match > 0])),
                       weight_mean=float(w.mean()), propensity_range=[float(p.min()), float(p.max())])
    by = []
    for label, (value, phi) in values.items():
        se = se_of(phi, log.cluster)
        lo, hi, pv = wald(value, se, alpha)
        by.append(SubEstimate(label=label, estimate=value, std_error=se, ci_lower=lo, ci_upper=hi, p_value=pv,
                              n_obs=n, extra={"quantity": "value of the target policy"}))
    dr, dr_phi = values["dr"]
    # the other three estimators of the same value: the assurance score's robustness reads their agreement
    diagnostics["alternative_estimates"] = {k: float(v[0]) for k, v in values.items() if k != "dr"}
    logging_value = float(log.reward.mean())
    gain_phi = dr_phi - (log.reward - logging_value)
    gain_se = se_of(gain_phi, log.cluster)
    glo, ghi, gp = wald(dr - logging_value, gain_se, alpha)
    diagnostics.update(logging_policy_value=logging_value,
                       improvement_over_logging={"estimate": dr - logging_value, "std_error": gain_se,
                                                 "ci_lower": glo, "ci_upper": ghi, "p_value": gp})
    if value_per_unit is not None:
        diagnostics["money"] = profit_view(dr - logging_value, gain_se, value_per_unit=value_per_unit,
                                           cost=cost_per_unit, direction=direction, alpha=alpha,
                                           units="per row (target instead of logging policy)")
    ips_se = by[0].std_error
    if math.isfinite(ips_se) and by[3].std_error > 2 * ips_se:
        warnings.append("The doubly robust estimate is much noisier than IPS: the reward model may be poor.")
    kind = "cluster-robust " if log.cluster is not None else ""
    return finish("ope", "policy_value", dr, se_of(dr_phi, log.cluster), alpha=alpha, n_obs=n,
                  se_method=f"{kind}influence function of the doubly robust estimator", diagnostics=diagnostics,
                  warnings=warnings, by=tuple(by), estimand_label="value of the target policy")
