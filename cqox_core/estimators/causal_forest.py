"""Causal forest (``causal_forest``): econml's honest causal forest (Athey, Tibshirani & Wager 2019, Ann
Stat 47:1148, "Generalized random forests"; Wager & Athey 2018, JASA 113:1228) in the orthogonalised form of
econml's CausalForestDML, with the bootstrap-of-little-bags variance for every row's interval.

The same steps as CausalForestDML, written out so the first stage uses the shared learners and our seeded
folds: Y - E[Y|X] and T - P(T=1|X) are cross-fitted on ``n_folds`` folds (``outcome_learner``,
``propensity_learner``), and econml.grf.CausalForest is grown on these residuals with CausalForestDML's
settings (honest trees on subsamples of ``max_samples`` of the rows, each leaf's effect estimated on the
half of the subsample the split did not use). On the same folds and learners the numbers are
CausalForestDML's (tests/estimators/references/causal_forest_econml.json). Calling econml.dml itself would
import ray when it is installed (about 15 s of imports per process).

Headline: the doubly robust ATE of grf's average_treatment_effect, which is also econml's ``ate_``:
psi_i = tau_oob(X_i) + (T_i - e_i) / max(e_i (1 - e_i), 0.01) (Y_i - m_i - tau_oob(X_i)(T_i - e_i)) with
tau_oob the out-of-bag forest prediction (trees whose subsample did not hold unit i) and m, e the
cross-fitted nuisances; its SE is the SD of psi over sqrt(n) (clustered sums with a cluster role).

Per row (``--effects-out``): the forest's effect and interval at each row, predicted in chunks of
``CHUNK_ROWS`` rows so the per-tree predictions of a million rows never sit in memory at once. They are
in-sample predictions of an honest forest (a row's own outcome enters only the leaves of the trees whose
estimation half holds it), as CausalForestDML.effect_interval gives them; the interval is for the forest's
local average effect and does not include its smoothing bias. The heterogeneity tests instead grow a forest
on half the data and test it on the other half (``n_splits`` halvings, Chernozhukov, Demirer, Duflo &
Fernandez-Val 2018; see ``_cate``).

Deliberate differences from CausalForestDML's defaults: the first-stage learners (econml's default, a
cross-validated lasso, is slower and not what the other methods use), cv = our seeded ``n_folds`` folds
(econml: 2), n_jobs = 1 (econml: every core; the machine is shared and the result does not depend on it).
"""
from __future__ import annotations

import math
import warnings as pywarnings
from functools import partial
from typing import Any, Literal

import numpy as np

from ..data import Dataset
from ..datasets import cate as cate_data
from ..diagnostics import standard_diagnostics
from ..errors import MethodError
from ..inference import influence_se
from ..nuisance import cached
from ..prep import Prepared, prepare
from ..registry import Requirements, register
from ..results import EffectResult
from ..roles import Roles
from ._cate import HeldOut, fairness, protected_values, row_effects_frame, split_evaluations, summarize
from ._common import cache_key, finish
from ._crossfit import fold_ids
from ._learners import (
    OutcomeLearner,
    PropensityLearner,
    check_arm_rows,
    check_int,
    check_learner,
    check_separation,
    cross_predict,
    quality,
)
from ._propensity import balancing_weights, weight_role_note
from .meta_learner import PROPENSITY_LEARNERS, Learners, fit_arms, heterogeneity_sentence, require_binary

OUTCOME_LEARNERS = ("linear", "lasso", "gbm", "forest")
#: rows per chunk of per-row prediction (econml holds n_rows x n_trees predictions while predicting)
CHUNK_ROWS = 20_000
#: econml's subforest size: the variance uses groups of this many trees
SUBFOREST = 4
FOLD_HINT = "Lower n_folds or use fewer covariates."


def grow(X: np.ndarray, t_res: np.ndarray, y_res: np.ndarray, n_estimators: int, min_samples_leaf: int,
         max_samples: float, seed: int, n_jobs: int):
    """econml's honest causal forest on the residuals, with CausalForestDML's settings."""
    from econml.grf import CausalForest  # econml.dml would import ray (and 10+ s of its imports) if installed

    model = CausalForest(n_estimators=n_estimators, criterion="mse", max_depth=None, min_samples_split=10,
                         min_samples_leaf=min_samples_leaf, min_weight_fraction_leaf=0.0, min_var_fraction_leaf=None,
                         min_var_leaf_on_val=False, max_features="auto", min_impurity_decrease=0.0,
                         max_samples=max_samples, min_balancedness_tol=0.45, honest=True, inference=True,
                         fit_intercept=True, subforest_size=SUBFOREST, n_jobs=n_jobs, random_state=seed,
                         verbose=0, warm_start=False)
    with pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")
        return model.fit(X, t_res.reshape(-1, 1), y_res.reshape(-1, 1))


def residuals(prep: Prepared, rows: np.ndarray, folds: np.ndarray, L: Learners) -> tuple[np.ndarray, np.ndarray, bool]:
    """Cross-fitted Y - E[Y|X] and T - P(T=1|X) on ``rows`` (folds given for those rows): CausalForestDML's
    first stage with cv = these folds."""
    X, y, t = prep.X[rows], prep.y[rows], prep.t[rows]
    m = cross_predict(L.y, X, y, folds)
    e = cross_predict(L.e, X, t, folds)
    return y - m.pred, t - e.pred, e.converged


def chunked(fn, X: np.ndarray) -> list[np.ndarray]:
    """Apply ``fn`` to row chunks of X and stack its outputs (one or several arrays per chunk)."""
    parts = [fn(X[i:i + CHUNK_ROWS]) for i in range(0, len(X), CHUNK_ROWS)]
    if isinstance(parts[0], tuple):
        return [np.concatenate([np.ravel(p[j]) for p in parts]) for j in range(len(parts[0]))]
    return [np.concatenate([np.ravel(p) for p in parts])]


def full_fit(prep: Prepared, L: Learners, n_folds: int, n_estimators: int, min_samples_leaf: int,
             max_samples: float, seed: int, n_jobs: int, alpha: float) -> dict[str, np.ndarray]:
    """The forest on every row: per-row effects and intervals, OOB effects and the cross-fitted residuals."""
    folds = fold_ids(prep.n, n_folds, seed, prep.cluster)
    for k in np.unique(folds):
        check_arm_rows(prep.t, folds != k, 0, False, FOLD_HINT)
    y_res, t_res, converged = residuals(prep, np.arange(prep.n), folds, L)
    check_separation(prep.t, prep.t - t_res)
    model = grow(prep.X, t_res, y_res, n_estimators, min_samples_leaf, max_samples, seed, n_jobs)
    effect, lower, upper = chunked(partial(model.predict, interval=True, alpha=alpha), prep.X)
    oob = np.ravel(model.oob_predict(prep.X))
    return {"effect": effect, "lower": lower, "upper": upper, "oob": oob, "y_res": y_res, "t_res": t_res,
            "folds": folds, "converged": np.array(converged), "importance": np.ravel(model.feature_importances_)}


def dr_scores(y_res: np.ndarray, t_res: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """grf's / econml's doubly robust score with the R-learner's residuals (module docstring)."""
    return tau + (y_res - tau * t_res) * t_res / np.clip(propensity_variance(t_res), 1e-2, None)


def propensity_variance(t_res: np.ndarray) -> np.ndarray:
    """e(1 - e) from the treatment residual T - e: for T = 1, e = 1 - t_res; for T = 0, e = -t_res."""
    e = np.where(t_res > 0, 1 - t_res, -t_res)
    return e * (1 - e)


def check_params(n_estimators: int, min_samples_leaf: int, max_samples: float, n_folds: int, outcome_learner: str,
                 propensity_learner: str, n_groups: int, n_splits: int, n_bootstrap: int, n_jobs: int) -> None:
    check_int("n_estimators", n_estimators, SUBFOREST)
    if n_estimators % SUBFOREST:
        raise MethodError(f"n_estimators must be a multiple of {SUBFOREST} (the intervals use groups of "
                          f"{SUBFOREST} trees), got {n_estimators}.",
                          f"Use e.g. n_estimators={SUBFOREST * math.ceil(n_estimators / SUBFOREST)}.",
                          code="E-METHOD-005")
    check_int("min_samples_leaf", min_samples_leaf, 1)
    if not (isinstance(max_samples, (int, float)) and 0 < max_samples <= 0.5):
        raise MethodError(f"max_samples must lie in (0, 0.5], got {max_samples!r}: honest trees with intervals "
                          "need subsamples of at most half the rows.", "Use e.g. max_samples=0.45.",
                          code="E-METHOD-005")
    check_int("n_folds", n_folds, 2)
    check_learner("outcome_learner", outcome_learner, OUTCOME_LEARNERS)
    check_learner("propensity_learner", propensity_learner, PROPENSITY_LEARNERS)
    check_int("n_groups", n_groups, 2)
    check_int("n_splits", n_splits, 1)
    check_int("n_bootstrap", n_bootstrap, 0)
    check_int("n_jobs", n_jobs, 1)


@register("causal_forest", family="selection_on_observables", design="cross_section", estimands=("ate",),
          requires=Requirements(roles=("outcome", "treatment", "covariates"), treatment="binary", min_rows=40),
          title="Causal forest (honest, with intervals)",
          summary="Grows many trees that split people where the effect differs, each estimating its leaves' "
                  "effects on people it did not split on. Gives every person an effect with an interval, "
                  "tests whether the differences are real, and shows what targeting would earn.",
          inference="doubly robust score with out-of-bag forest effects (ATE); bootstrap of little bags per row; "
                    "heterogeneity tests on repeated half-sample splits (Chernozhukov et al. 2018)",
          params={
              "n_estimators": "Trees in the forest (a multiple of 4): more trees, steadier effects and intervals.",
              "min_samples_leaf": "Fewest people in a leaf: larger leaves give smoother, less noisy effects.",
              "max_samples": "Share of the rows each tree sees (at most 0.5: honest trees with intervals need "
                             "half-samples); lower is faster and uses less memory on large data.",
              "n_folds": "Folds for the outcome and propensity models the forest starts from.",
              "outcome_learner": "Model for the outcome: linear, lasso, gbm (gradient boosting) or forest.",
              "propensity_learner": "Model for the chance of treatment: logit, lasso, gbm or forest.",
              "n_groups": "Groups of people sorted by their estimated effect (GATES; 5 gives quintiles).",
              "n_splits": "Random halvings for the heterogeneity tests: a forest grown on one half is tested on "
                          "the other; results are medians over the halvings.",
              "n_bootstrap": "Bootstrap resamples (per halving) for the interval of the Qini coefficient (0: no "
                             "interval).",
              "n_jobs": "CPU cores the forest may use (the result does not depend on it).",
              "protected": "A column marking a protected group (e.g. sex): the effect in each group and the gap "
                           "between them, with intervals (fairness check).",
          },
          headline_rank=None, battery=False, example=partial(cate_data.heterogeneous_example, n=1_000),
          transparency=0.4, cost_exponent=1.1)
def causal_forest(data: Dataset, roles: Roles, *, estimand: Literal["ate"] = "ate", alpha: float = 0.05,
                  seed: int = 0, n_estimators: int = 100, min_samples_leaf: int = 5, max_samples: float = 0.45,
                  n_folds: int = 5, outcome_learner: OutcomeLearner = "linear",
                  propensity_learner: PropensityLearner = "logit", n_groups: int = 5, n_splits: int = 3,
                  n_bootstrap: int = 100, n_jobs: int = 1, protected: str | None = None) -> EffectResult:
    """econml's CausalForestDML with shared learners; honest per-row intervals; CDDF heterogeneity tests."""
    check_params(n_estimators, min_samples_leaf, max_samples, n_folds, outcome_learner, propensity_learner,
                 n_groups, n_splits, n_bootstrap, n_jobs)
    require_binary(data, roles, "causal_forest")
    prep = prepare(data, roles)
    groups = protected_values(data.frame, protected, prep.rows)
    warnings = list(prep.warnings) + weight_role_note(prep, roles)
    L = Learners(outcome_learner, propensity_learner, "linear", seed, n_estimators)
    key = cache_key(data, roles, "causal_forest", n_estimators, min_samples_leaf, max_samples, n_folds,
                    outcome_learner, propensity_learner, seed, alpha)
    fit = cached(key, lambda: full_fit(prep, L, n_folds, n_estimators, min_samples_leaf, max_samples, seed, n_jobs,
                                       alpha))
    e = prep.t - fit["t_res"]
    psi = dr_scores(fit["y_res"], fit["t_res"], fit["oob"])
    usable = np.isfinite(psi)
    if not usable.all():
        warnings.append(f"{int((~usable).sum())} rows were in every tree's subsample and have no out-of-bag "
                        "effect; the average effect uses the other rows (more trees fix this).")
    est = float(psi[usable].mean())
    se = influence_se(psi[usable] - est, None if prep.cluster is None else prep.cluster[usable])
    if not bool(fit["converged"]):
        warnings.append("The logistic propensity model did not converge in at least one fold; the groups may be "
                        "(nearly) separable.")
    splits = cached(None if key is None else (*key, "splits", n_splits, n_groups),
                    lambda: forest_splits(prep, L, n_folds, n_estimators, min_samples_leaf, max_samples, seed,
                                          n_jobs, n_splits))
    held = HeldOut(cate=fit["effect"], score=np.where(usable, psi, est), folds=np.zeros(prep.n, dtype=int),
                   X=prep.X, x_names=prep.x_names, cluster=prep.cluster)
    summary, by = summarize(splits, held, alpha=alpha, seed=seed, n_groups=n_groups, n_bootstrap=n_bootstrap)
    diagnostics = forest_diagnostics(prep, fit, e, summary, alpha)
    if groups is not None:
        diagnostics["fairness"] = fairness(held.score, fit["effect"], groups, protected, alpha, prep.cluster)
    diagnostics.update(n_estimators=int(n_estimators), min_samples_leaf=int(min_samples_leaf),
                       max_samples=float(max_samples), n_folds=int(n_folds), outcome_learner=outcome_learner,
                       propensity_learner=propensity_learner, propensity_converged=bool(fit["converged"]),
                       estimand_label="ATE: everyone")
    kind = "cluster-robust " if prep.cluster is not None else ""
    result = finish("causal_forest", "ate", est, se, alpha=alpha, n_obs=prep.n,
                    se_method=f"{kind}doubly robust score with out-of-bag forest effects ({n_estimators} trees)",
                    diagnostics=diagnostics, warnings=warnings, by=by)
    return result.replace(row_effects=row_effects_frame(len(data.frame), prep.rows, fit["effect"], fit["lower"],
                                                        fit["upper"]))


def forest_splits(prep: Prepared, L: Learners, n_folds: int, n_estimators: int, min_samples_leaf: int,
                  max_samples: float, seed: int, n_jobs: int, n_splits: int) -> list[HeldOut]:
    """CDDF halvings: a forest grown on the auxiliary half (its nuisances cross-fitted on the inner folds)."""
    def cate_of(labels: np.ndarray, arms: tuple, e_main: np.ndarray) -> np.ndarray:
        aux = np.flatnonzero(labels != 0)
        y_res, t_res, _ = residuals(prep, aux, labels[aux], L)
        model = grow(prep.X[aux], t_res, y_res, n_estimators, min_samples_leaf, max_samples, seed, n_jobs)
        return chunked(model.predict, prep.X[labels == 0])[0]

    check = partial(check_arm_rows, n_terms=prep.X.shape[1], linear=L.outcome == "linear", hint=FOLD_HINT)
    return split_evaluations(prep, lambda train: fit_arms(L, prep.X, prep.y, prep.t, train), cate_of,
                             n_folds=max(n_folds, 3), n_splits=n_splits, seed=seed, trim=0.01, check=check)


def forest_diagnostics(prep: Prepared, fit: dict[str, np.ndarray], e: np.ndarray, summary: dict[str, Any],
                       alpha: float) -> dict[str, Any]:
    e_clipped = np.clip(e, 0.01, 0.99)
    diag = standard_diagnostics(prep, ps=e_clipped, weights=balancing_weights(prep.t, e_clipped, "ate"))
    outcome = quality(prep.y, prep.y - fit["y_res"])
    propensity = quality(prep.t, e)
    diag["nuisance"] = {"models": {"outcome": outcome, "propensity": propensity}, "outcome_r2": outcome["r2"],
                        "propensity_auc": propensity["auc"], "propensity_log_loss": propensity["log_loss"],
                        "constant_log_loss": propensity["log_loss_constant"]}
    diag.update(summary)
    diag["heterogeneity_sentence"] = heterogeneity_sentence(summary["blp"], alpha)
    importance = fit["importance"]
    order = np.argsort(-importance)[:30]
    diag["forest_importance"] = [{"covariate": prep.x_names[j], "importance": float(importance[j])} for j in order]
    diag["interval_width_median"] = float(np.median(fit["upper"] - fit["lower"]))
    return diag
