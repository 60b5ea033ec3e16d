"""Meta-learners of the conditional average treatment effect (``meta_learner``), with
``learner=s|t|x|dr|r`` (Kunzel, Sekhon, Bickel & Yu 2019, PNAS 116:4156 for S, T and X; Kennedy 2023,
Electron J Stat 17:3008 for DR; Nie & Wager 2021, Biometrika 108:299 for R), built from the shared
scikit-learn learners:

- s: one outcome model f(X, T); tau(x) = f(x, 1) - f(x, 0). With the linear (or lasso) learner the
  features include T * X, since a linear model in (X, T) alone imposes the same effect on everyone.
- t: one outcome model per arm; tau(x) = m1(x) - m0(x).
- x: imputed effects D1 = Y - m0(X) for the treated and D0 = m1(X) - Y for the untreated, each regressed
  on X (tau1, tau0) and combined as e(x) tau0(x) + (1 - e(x)) tau1(x).
- dr: the doubly robust pseudo-outcome (the AIPW score) regressed on X.
- r: minimises sum ((Y - m(X)) - tau(X)(T - e(X)))^2, i.e. regresses (Y - m)/(T - e) on X with weights
  (T - e)^2 (m(X) = E[Y | X]).

Honesty. Every unit's estimated effect comes from models that did not see it: K outer folds, the CATE
model of fold k fitted on the other folds. The dr and r pseudo-outcomes need nuisance predictions on the
training folds that are themselves out-of-fold, so they are cross-fitted again inside the training folds
(the other K - 1 outer folds serve as inner folds; hence n_folds >= 3 for dr and r).

Headline: the ATE is the cross-fitted AIPW estimate, mean of psi_i = m1 - m0 + T(Y - m1)/e - (1-T)(Y -
m0)/(1-e) with the outer per-arm outcome models and propensity, and its SE the SD of that influence
function over sqrt(n) (clustered sums with a cluster role). It is the same for every ``learner`` (the
CATE model shapes the heterogeneity, not the average) and equals aipw's with the same learners and folds.
The heterogeneity tests (BLP, GATES, CLAN, Qini / AUUC) are computed on ``n_splits`` random halvings: all
models fitted on one half, effects and scores of the other half, medians over halvings (Chernozhukov,
Demirer, Duflo & Fernandez-Val 2018; see ``_cate`` for why not on the out-of-fold effects). The per-row
effects (``--effects-out``) and the effect-modifier table are the out-of-fold ones.

Deliberate differences from econml's metalearners: econml's S/T/X learners fit on all rows and predict
in-sample, and DRLearner cross-fits the nuisances but fits its final model on all rows; here every
effect a unit is given is out-of-fold, so the summaries computed on it are honest. On the same data and
learners the in-sample fits differ from ours by the fold-to-fold variation of the models.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np

from ..data import Dataset
from ..datasets import cate as cate_data
from ..diagnostics import standard_diagnostics
from ..errors import MethodError, RoleError
from ..inference import influence_se
from ..nuisance import cached
from ..prep import Prepared, prepare
from ..registry import Requirements, register
from ..results import EffectResult
from ..roles import Roles
from ._cate import HeldOut, fairness, protected_values, row_effects_frame, split_evaluations, summarize
from ._common import cache_key, finish, is_binary_treatment
from ._crossfit import fold_ids
from ._learners import (
    OutcomeLearner,
    PropensityLearner,
    check_arm_rows,
    check_fold_sizes,
    check_int,
    check_learner,
    check_separation,
    classifier,
    fit_weighted,
    predict,
    quality,
    regressor,
)
from ._propensity import balancing_weights, check_fraction, weight_role_note
from .aipw import aipw_scores

MetaLearner = Literal["s", "t", "x", "dr", "r"]
CateLearner = Literal["linear", "lasso", "gbm", "forest"]
OUTCOME_LEARNERS = ("linear", "lasso", "gbm", "forest")
PROPENSITY_LEARNERS = ("logit", "lasso", "gbm", "forest")
FOLD_HINT = "Lower n_folds, use fewer covariates, or use learner='t'."


@dataclass(frozen=True)
class Learners:
    """Factories of fresh (unfitted) models of each role."""

    outcome: str
    propensity: str
    cate: str
    seed: int
    n_estimators: int

    def y(self):
        return regressor(self.outcome, self.seed, self.n_estimators)

    def e(self):
        return classifier(self.propensity, self.seed, self.n_estimators)

    def tau(self):
        return regressor(self.cate, self.seed, self.n_estimators)


@dataclass(frozen=True)
class CrossFitted:
    """Out-of-fold quantities of every unit."""

    cate: np.ndarray
    m1: np.ndarray
    m0: np.ndarray
    e_raw: np.ndarray
    folds: np.ndarray
    converged: bool


def fit_arms(L: Learners, X: np.ndarray, y: np.ndarray, t: np.ndarray, train: np.ndarray):
    """Outcome model per arm and the propensity model, on the ``train`` rows."""
    tr1, tr0 = train & (t == 1), train & (t == 0)
    return L.y().fit(X[tr1], y[tr1]), L.y().fit(X[tr0], y[tr0]), L.e().fit(X[train], t[train])


def inner_predictions(L: Learners, X: np.ndarray, y: np.ndarray, t: np.ndarray, folds: np.ndarray, k: int,
                      need: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Nuisance predictions on the training rows of outer fold k, each from models fitted on the training
    folds other than its own (``need`` from "m1", "m0", "e", "m"); NaN on fold k's rows."""
    out = {name: np.full(y.size, np.nan) for name in need}
    for l in np.unique(folds):
        if l == k:
            continue
        train, rows = (folds != k) & (folds != l), folds == l
        check_arm_rows(t, train, X.shape[1], L.outcome == "linear", FOLD_HINT)
        if "m1" in need or "m0" in need:
            g1, g0, em = fit_arms(L, X, y, t, train)
            out["m1"][rows], out["m0"][rows] = predict(g1, X[rows]), predict(g0, X[rows])
        else:
            em = L.e().fit(X[train], t[train])
        out["e"][rows] = predict(em, X[rows])
        if "m" in need:
            out["m"][rows] = predict(L.y().fit(X[train], y[train]), X[rows])
    return out


def s_features(X: np.ndarray, t: np.ndarray, linear: bool) -> np.ndarray:
    tt = t[:, None]
    return np.hstack([X, tt, X * tt]) if linear else np.hstack([X, tt])


def fold_cate(kind: str, L: Learners, X: np.ndarray, y: np.ndarray, t: np.ndarray, folds: np.ndarray, k: int,
              arms: tuple, e_test: np.ndarray, trim: float | None) -> np.ndarray:
    """The held-out fold's estimated effects from a CATE model fitted on the other folds."""
    train, test = folds != k, folds == k
    g1, g0, _ = arms
    if kind == "t":
        return predict(g1, X[test]) - predict(g0, X[test])
    if kind == "s":
        linear = L.outcome in ("linear", "lasso")
        f = L.y().fit(s_features(X[train], t[train], linear), y[train])
        Xt = X[test]
        return (predict(f, s_features(Xt, np.ones(len(Xt)), linear))
                - predict(f, s_features(Xt, np.zeros(len(Xt)), linear)))
    if kind == "x":
        tr1, tr0 = train & (t == 1), train & (t == 0)
        tau1 = L.tau().fit(X[tr1], y[tr1] - predict(g0, X[tr1]))
        tau0 = L.tau().fit(X[tr0], predict(g1, X[tr0]) - y[tr0])
        e = clip(e_test, trim)
        return e * predict(tau0, X[test]) + (1 - e) * predict(tau1, X[test])
    if kind == "dr":
        inner = inner_predictions(L, X, y, t, folds, k, ("m1", "m0", "e"))
        e_in = clip(inner["e"][train], trim)
        yt, tt = y[train], t[train]
        m1, m0 = inner["m1"][train], inner["m0"][train]
        pseudo = m1 - m0 + tt * (yt - m1) / e_in - (1 - tt) * (yt - m0) / (1 - e_in)
        return predict(L.tau().fit(X[train], pseudo), X[test])
    inner = inner_predictions(L, X, y, t, folds, k, ("m", "e"))
    y_res = y[train] - inner["m"][train]
    t_res = t[train] - inner["e"][train]
    safe = np.where(np.abs(t_res) > 1e-12, t_res, 1.0)
    target = np.where(np.abs(t_res) > 1e-12, y_res / safe, 0.0)
    return predict(fit_weighted(L.tau(), X[train], target, t_res ** 2), X[test])


def clip(e: np.ndarray, trim: float | None) -> np.ndarray:
    return np.clip(e, trim, 1 - trim) if trim else e


def cross_fit(kind: str, prep: Prepared, L: Learners, n_folds: int, seed: int, trim: float | None) -> CrossFitted:
    X, y, t = prep.X, prep.y, prep.t
    folds = fold_ids(prep.n, n_folds, seed, prep.cluster)
    check_fold_sizes(t, folds, X.shape[1], L.outcome == "linear", FOLD_HINT)
    cate, m1, m0, e_raw = (np.empty(prep.n) for _ in range(4))
    converged = True
    for k in np.unique(folds):
        test = folds == k
        arms = fit_arms(L, X, y, t, folds != k)
        m1[test], m0[test], e_raw[test] = (predict(model, X[test]) for model in arms)
        converged = converged and bool(getattr(arms[2], "converged_", True))
        cate[test] = fold_cate(kind, L, X, y, t, folds, k, arms, e_raw[test], trim)
    check_separation(t, e_raw)
    return CrossFitted(cate, m1, m0, e_raw, folds, converged)


def split_cate(kind: str, prep: Prepared, L: Learners, trim: float | None):
    """The CATE of one CDDF split: ``fold_cate`` with k = 0 trains on the auxiliary half (labels 1..K-1, the
    inner folds of dr and r) and predicts the main half (label 0)."""
    def cate_of(labels: np.ndarray, arms: tuple, e_main: np.ndarray) -> np.ndarray:
        return fold_cate(kind, L, prep.X, prep.y, prep.t, labels, 0, arms, e_main, trim)

    return cate_of


def all_splits(kind: str, prep: Prepared, L: Learners, n_folds: int, trim: float | None, n_splits: int,
               seed: int) -> list[HeldOut]:
    check = partial(check_arm_rows, n_terms=prep.X.shape[1], linear=L.outcome == "linear", hint=FOLD_HINT)
    return split_evaluations(prep, lambda train: fit_arms(L, prep.X, prep.y, prep.t, train),
                             split_cate(kind, prep, L, trim), n_folds=n_folds, n_splits=n_splits, seed=seed,
                             trim=trim, check=check)


def check_params(learner: str, n_folds: int, outcome_learner: str, propensity_learner: str, cate_learner: str,
                 n_estimators: int, trim: float | None, n_groups: int, n_bootstrap: int, n_splits: int) -> None:
    check_learner("learner", learner, ("s", "t", "x", "dr", "r"))
    check_int("n_folds", n_folds, 2)
    if learner in ("dr", "r") and n_folds < 3:
        raise MethodError(f"The {learner} learner cross-fits its pseudo-outcomes inside the training folds, so it "
                          f"needs at least 3 folds; n_folds={n_folds}.", "Use n_folds=5 (the default).",
                          code="E-METHOD-006")
    check_learner("outcome_learner", outcome_learner, OUTCOME_LEARNERS)
    check_learner("propensity_learner", propensity_learner, PROPENSITY_LEARNERS)
    check_learner("cate_learner", cate_learner, OUTCOME_LEARNERS)
    check_int("n_estimators", n_estimators, 1)
    check_int("n_groups", n_groups, 2)
    check_int("n_bootstrap", n_bootstrap, 0)
    check_int("n_splits", n_splits, 1)
    check_fraction("trim", trim)


def require_binary(data: Dataset, roles: Roles, method: str) -> None:
    """A CATE of treated versus untreated needs two groups: a dose is a typed error, not a silent cut."""
    roles.require("outcome", "treatment")
    roles.check_columns(data.frame)
    if not is_binary_treatment(data, roles):
        levels = data.frame[roles.treatment].dropna().nunique()
        raise RoleError(f"The treatment '{roles.treatment}' takes {levels} values; {method} compares treated with "
                        "untreated units.",
                        "Use --treated-value V to name the treated level, or dml (model='plr') or dose_response "
                        "for a continuous treatment.", code="E-ROLE-010")


def heterogeneity_sentence(blp: dict[str, Any], alpha: float) -> str:
    """Plain language first, the statistic second."""
    b2, p = blp.get("heterogeneity"), blp.get("heterogeneity_p")
    if b2 is None or not math.isfinite(b2):
        return blp.get("note", "The heterogeneity test could not be computed.")
    if p < alpha and b2 > 0:
        return (f"The effect differs between people, and the model tells who gains more: units it ranks higher "
                f"gain more on held-out data (best-linear-predictor slope {b2:.2f}, p = {p:.3g}; 1 means the "
                "predicted differences are right on average).")
    return (f"There is no clear evidence that the effect differs between people in a way the model can predict "
            f"(best-linear-predictor slope {b2:.2f}, p = {p:.3g}); treat the individual effects as noise around "
            "the average.")


@register("meta_learner", family="selection_on_observables", design="cross_section", estimands=("ate",),
          requires=Requirements(roles=("outcome", "treatment", "covariates"), treatment="binary"),
          title="Meta-learners of individual effects (S, T, X, DR, R)",
          summary="Estimates how the effect varies from person to person with machine-learning models, each "
                  "person's effect from models that never saw them. Reports whether the differences are real, "
                  "who gains most and least, and what targeting the likeliest gainers would earn.",
          inference="influence function of the cross-fitted AIPW score (ATE); heterogeneity tests on repeated "
                    "half-sample splits (Chernozhukov et al. 2018); bootstrap over units for the Qini",
          params={
              "learner": "Which meta-learner: s (one model with treatment as a feature), t (one model per group), "
                         "x (imputed effects, Kunzel et al.), dr (doubly robust pseudo-outcome, the default) or r "
                         "(Robinson residuals, Nie & Wager).",
              "n_folds": "Folds: each person's effect comes from models fitted on the other folds.",
              "outcome_learner": "Model for the outcome: linear, lasso, gbm (gradient boosting) or forest.",
              "propensity_learner": "Model for the chance of treatment: logit, lasso, gbm or forest.",
              "cate_learner": "Model of the effect itself (x, dr and r learners): linear, lasso, gbm or forest.",
              "n_estimators": "Trees per forest when a learner is 'forest'.",
              "trim": "Propensity scores are clipped to [trim, 1 - trim] in the weights.",
              "n_groups": "Groups of people sorted by their estimated effect (GATES; 5 gives quintiles).",
              "n_splits": "Random halvings for the heterogeneity tests: models fitted on one half are tested on "
                          "the other; results are medians over the halvings (Chernozhukov et al. 2018).",
              "n_bootstrap": "Bootstrap resamples (per halving) for the interval of the Qini coefficient (0: no "
                             "interval).",
              "protected": "A column marking a protected group (e.g. sex): the effect in each group and the gap "
                           "between them, with intervals (fairness check).",
          },
          headline_rank=None, battery=False, example=cate_data.heterogeneous_example, transparency=0.5,
          cost_exponent=1.0)
def meta_learner(data: Dataset, roles: Roles, *, estimand: Literal["ate"] = "ate", alpha: float = 0.05,
                 seed: int = 0, learner: MetaLearner = "dr", n_folds: int = 5,
                 outcome_learner: OutcomeLearner = "linear", propensity_learner: PropensityLearner = "logit",
                 cate_learner: CateLearner = "linear", n_estimators: int = 100, trim: float | None = 0.01,
                 n_groups: int = 5, n_splits: int = 10, n_bootstrap: int = 100,
                 protected: str | None = None) -> EffectResult:
    """S, T, X, DR or R learner of the CATE, out-of-fold; the headline is the cross-fitted AIPW ATE."""
    check_params(learner, n_folds, outcome_learner, propensity_learner, cate_learner, n_estimators, trim, n_groups,
                 n_bootstrap, n_splits)
    require_binary(data, roles, "meta_learner")
    prep = prepare(data, roles)
    groups = protected_values(data.frame, protected, prep.rows)
    warnings = list(prep.warnings) + weight_role_note(prep, roles)
    L = Learners(outcome_learner, propensity_learner, cate_learner, seed, n_estimators)
    key = cache_key(data, roles, "meta_learner", learner, n_folds, outcome_learner, propensity_learner,
                    cate_learner, n_estimators, seed, trim)
    fit: CrossFitted = cached(key, lambda: cross_fit(learner, prep, L, n_folds, seed, trim))
    splits: list[HeldOut] = cached(None if key is None else (*key, "splits", n_splits),
                                   lambda: all_splits(learner, prep, L, n_folds, trim, n_splits, seed))
    e = clip(fit.e_raw, trim)
    est, phi = aipw_scores(prep.y, prep.t, fit.m1, fit.m0, e, "ate")
    se = influence_se(phi, prep.cluster)
    if not fit.converged:
        warnings.append("The logistic propensity model did not converge in at least one fold; the groups may be "
                        "(nearly) separable.")
    held = HeldOut(cate=fit.cate, score=phi + est, folds=fit.folds, X=prep.X, x_names=prep.x_names,
                   cluster=prep.cluster)
    summary, by = summarize(splits, held, alpha=alpha, seed=seed, n_groups=n_groups, n_bootstrap=n_bootstrap)
    diagnostics = cate_diagnostics(prep, fit, e, summary, alpha)
    if groups is not None:
        diagnostics["fairness"] = fairness(phi + est, fit.cate, groups, protected, alpha, prep.cluster)
    diagnostics.update(learner=learner, n_folds=int(n_folds), outcome_learner=outcome_learner,
                       propensity_learner=propensity_learner, cate_learner=cate_learner,
                       clipped=int(np.sum(e != fit.e_raw)), propensity_converged=bool(fit.converged),
                       estimand_label="ATE: everyone")
    kind = "cluster-robust " if prep.cluster is not None else ""
    result = finish("meta_learner", "ate", est, se, alpha=alpha, n_obs=prep.n,
                    se_method=f"{kind}influence function of the cross-fitted AIPW score ({n_folds} folds)",
                    diagnostics=diagnostics, warnings=warnings, by=by)
    return result.replace(row_effects=row_effects_frame(len(data.frame), prep.rows, fit.cate))


def cate_diagnostics(prep: Prepared, fit: CrossFitted, e: np.ndarray, summary: dict[str, Any],
                     alpha: float) -> dict[str, Any]:
    """Balance and overlap of the out-of-fold propensity, nuisance quality, and the heterogeneity summaries."""
    t = prep.t == 1
    diag = standard_diagnostics(prep, ps=e, weights=balancing_weights(prep.t, e, "ate"))
    models = {"outcome_treated": quality(prep.y[t], fit.m1[t]), "outcome_control": quality(prep.y[~t], fit.m0[~t]),
              "propensity": quality(prep.t, fit.e_raw)}
    diag["nuisance"] = {"models": models,
                        "outcome_r2": min(models["outcome_treated"]["r2"], models["outcome_control"]["r2"]),
                        "propensity_auc": models["propensity"]["auc"],
                        "propensity_log_loss": models["propensity"]["log_loss"],
                        "constant_log_loss": models["propensity"]["log_loss_constant"]}
    diag.update(summary)
    diag["heterogeneity_sentence"] = heterogeneity_sentence(summary["blp"], alpha)
    return diag
