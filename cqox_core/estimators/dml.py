"""Double machine learning (``dml``): Chernozhukov, Chetverikov, Demirer, Duflo, Hansen, Newey & Robins
(2018), "Double/debiased machine learning for treatment and structural parameters", Econometrics J 21:C1.

Three models, chosen by ``model``:

- ``irm`` (interactive regression model, Sec. 5.1): binary treatment, outcome models per arm
  g_d(X) = E[Y | D=d, X] and the propensity m(X) = P(D=1 | X); the doubly robust (AIPW) score for the ATE
  or the ATT ("ATTE").
- ``plr`` (partially linear regression, Sec. 4.1): Y = theta D + g(X) + e; the partialling-out score
  psi = (Y - l(X) - theta (D - m(X))) (D - m(X)) with l(X) = E[Y | X], m(X) = E[D | X]. Works for a
  continuous treatment (theta is then the effect of one unit of treatment); with a binary one, theta is
  a variance-weighted average of the conditional effects, equal to the ATE when the effect is constant.
- ``pliv`` (partially linear IV, Sec. 4.2): as plr with an instrument Z; psi = (Y - l(X) - theta
  (D - r(X))) (Z - m(X)), r(X) = E[D | X], m(X) = E[Z | X]. The estimand is reported as the LATE: the
  effect of treatment among the units the instrument moves (equal to the effect when it is constant).

``model="auto"`` (the default): pliv when the estimand asked for is the LATE, irm for a binary
treatment, plr for a continuous one.

Cross-fitting (Definition 3.1, the pooled "DML2" form): every nuisance prediction of a unit comes from a
model fitted on the other K - 1 folds. With ``n_repeats`` > 1 the whole procedure is repeated on
independent splits and aggregated by the median (Sec. 3.4, Definition 3.3): theta = median theta_s and
sigma^2 = median(sigma_s^2 + (theta_s - theta)^2), which adds the spread due to the splits to the SE.
Each split's SE is the sample SD of the influence function psi / J (J the mean derivative of the score)
over sqrt(n) (clustered sums with a cluster role).

Deliberate differences from DoubleML (0.11):

- Over repeats DoubleML takes the median of the upper confidence bounds and converts it back to an SE;
  we use Chernozhukov et al.'s median rule above. Both give the same coefficient and, with one split,
  the same SE; with several splits ours also counts the between-split spread.
- The SE of one split divides by n - 1 (the sample variance), DoubleML's by n: a relative difference of
  1 / (2n).
- A propensity model that separates the arms completely (every treated unit's out-of-fold propensity
  above every untreated unit's) is a typed error: the effect is not identified, and clipping the scores
  to [trim, 1 - trim] would return a number the data do not support.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np

from ..data import Dataset
from ..datasets import examples
from ..diagnostics import standard_diagnostics
from ..errors import EstimationError, MethodError
from ..inference import influence_se
from ..nuisance import cached
from ..prep import Prepared, prepare
from ..registry import Requirements, register
from ..results import EffectResult
from ..roles import Roles
from ._common import cache_key, finish, is_binary_treatment
from ._crossfit import fold_ids
from ._learners import (
    OutcomeLearner,
    PropensityLearner,
    check_fold_sizes,
    check_int,
    check_learner,
    check_separation,
    cross_predict,
    learner_for,
    quality,
    regressor,
)
from ._propensity import balancing_weights, check_fraction, weight_role_note
from .aipw import aipw_scores

Model = Literal["auto", "plr", "irm", "pliv"]
OUTCOME_LEARNERS = ("linear", "lasso", "gbm", "forest")
TREATMENT_LEARNERS = ("logit", "linear", "lasso", "gbm", "forest")


@dataclass(frozen=True)
class Split:
    """One cross-fitted split: its estimate, influence function and nuisance fits."""

    estimate: float
    phi: np.ndarray
    quality: dict[str, dict[str, float]]
    converged: bool
    propensity: np.ndarray | None = None       # out-of-fold P(D=1|X) after clipping (binary treatment)
    clipped: int = 0
    extra: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# folds and the three models' scores
# ---------------------------------------------------------------------------

def repeated_folds(n: int, n_folds: int, n_repeats: int, seed: int, cluster: np.ndarray | None) -> list[np.ndarray]:
    """Fold labels of each split; the first is aipw's split for the same seed (so the two agree exactly)."""
    seeds = [seed] + [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n_repeats - 1)]
    return [fold_ids(n, n_folds, s, cluster) for s in seeds]


def irm_split(prep: Prepared, folds: np.ndarray, make_y: Callable, make_d: Callable, estimand: str,
              trim: float | None) -> Split:
    """Interactive model: g0, g1 on each arm's training rows, m on all; the AIPW score (Sec. 5.1)."""
    X, y, t = prep.X, prep.y, prep.t
    g1 = cross_predict(make_y, X, y, folds, subset=t == 1)
    g0 = cross_predict(make_y, X, y, folds, subset=t == 0)
    m = cross_predict(make_d, X, t, folds)
    check_separation(t, m.pred)
    e = np.clip(m.pred, trim, 1 - trim) if trim else m.pred
    if np.any((e <= 0) | (e >= 1)):
        raise EstimationError("Some out-of-fold propensity scores are exactly 0 or 1: those units have no "
                              "comparable counterpart.", "Keep trim > 0 (e.g. 0.01).", code="E-EST-006")
    est, phi = aipw_scores(y, t, g1.pred, g0.pred, e, estimand)
    treated = t == 1
    q = {"outcome_treated": quality(y[treated], g1.pred[treated]),
         "outcome_control": quality(y[~treated], g0.pred[~treated]),
         "propensity": quality(t, m.pred)}
    return Split(est, phi, q, m.converged, propensity=e, clipped=int(np.sum(e != m.pred)))


def plr_split(prep: Prepared, folds: np.ndarray, make_y: Callable, make_d: Callable) -> Split:
    """Partialling out (Sec. 4.1): theta = sum(d~ y~) / sum(d~^2), IF = (y~ - theta d~) d~ / mean(d~^2)."""
    X, y, d = prep.X, prep.y, prep.t
    l_hat = cross_predict(make_y, X, y, folds)
    m_hat = cross_predict(make_d, X, d, folds)
    binary = bool(np.all((d == 0) | (d == 1)))
    if binary:
        check_separation(d, m_hat.pred)
    y_res, d_res = y - l_hat.pred, d - m_hat.pred
    jacobian = float(np.mean(d_res ** 2))
    if not jacobian > 1e-12 * max(1.0, float(np.var(d))):
        raise EstimationError("Once the covariates are accounted for, the treatment has no variation left "
                              "(its out-of-fold prediction is exact).",
                              "Remove the covariate that reproduces the treatment.", code="E-EST-081")
    theta = float(np.mean(d_res * y_res) / jacobian)
    phi = (y_res - theta * d_res) * d_res / jacobian
    q = {"outcome": quality(y, l_hat.pred), "treatment": quality(d, m_hat.pred)}
    return Split(theta, phi, q, m_hat.converged, propensity=m_hat.pred if binary else None)


def pliv_split(prep: Prepared, z: np.ndarray, folds: np.ndarray, make_y: Callable, make_d: Callable,
               make_z: Callable) -> Split:
    """Partially linear IV (Sec. 4.2): theta = sum(z~ y~) / sum(z~ d~), IF = (y~ - theta d~) z~ / mean(z~ d~)."""
    X, y, d = prep.X, prep.y, prep.t
    l_hat = cross_predict(make_y, X, y, folds)
    r_hat = cross_predict(make_d, X, d, folds)
    m_hat = cross_predict(make_z, X, z, folds)
    y_res, d_res, z_res = y - l_hat.pred, d - r_hat.pred, z - m_hat.pred
    jacobian = float(np.mean(z_res * d_res))
    first_stage = first_stage_f(z_res, d_res)
    if not abs(jacobian) > 1e-12 * max(1.0, float(np.std(d) * np.std(z))):
        raise EstimationError("Once the covariates are accounted for, the instrument does not move the "
                              "treatment at all.", "Choose an instrument that shifts the treatment.",
                              code="E-EST-047")
    theta = float(np.mean(z_res * y_res) / jacobian)
    phi = (y_res - theta * d_res) * z_res / jacobian
    q = {"outcome": quality(y, l_hat.pred), "treatment": quality(d, r_hat.pred),
         "instrument": quality(z, m_hat.pred)}
    return Split(theta, phi, q, r_hat.converged and m_hat.converged, extra={"first_stage_f": first_stage})


def first_stage_f(z_res: np.ndarray, d_res: np.ndarray) -> float:
    """Heteroskedasticity-robust F (= t^2) of the residualised first stage d~ = pi z~ + v."""
    szz = float(np.sum(z_res ** 2))
    pi = float(np.sum(z_res * d_res)) / szz
    v = d_res - pi * z_res
    var = float(np.sum(z_res ** 2 * v ** 2)) / szz ** 2
    return pi ** 2 / var if var > 0 else math.nan


def median_aggregate(estimates: np.ndarray, ses: np.ndarray) -> tuple[float, float]:
    """Chernozhukov et al. (2018), Definition 3.3: the median estimate and the median-adjusted SE."""
    theta = float(np.median(estimates))
    return theta, float(np.sqrt(np.median(ses ** 2 + (estimates - theta) ** 2)))


# ---------------------------------------------------------------------------
# the method
# ---------------------------------------------------------------------------

def resolve_model(model: str, estimand: str, binary: bool, roles: Roles) -> str:
    if model == "auto":
        model = "pliv" if estimand == "late" else ("irm" if binary else "plr")
    if model == "irm" and not binary:
        raise MethodError("The interactive model (irm) compares two groups, and this treatment is continuous.",
                          "Use model='plr' (the effect of one unit of treatment) or model='auto'.",
                          code="E-ROLE-010")
    if model == "irm" and estimand == "late":
        raise MethodError("The interactive model estimates the ATE or ATT, not the LATE.",
                          "Use model='pliv' with an instrument for the LATE.", code="E-METHOD-006")
    if model in ("plr", "pliv") and estimand == "att":
        raise MethodError(f"The partially linear model ({model}) estimates one coefficient, not the ATT.",
                          "Use model='irm' for the ATT of a binary treatment.", code="E-METHOD-006")
    if model == "pliv":
        roles.require("instrument")
        if len(roles.instrument) != 1:
            raise MethodError(f"The partially linear IV model takes one instrument; {len(roles.instrument)} "
                              "were given.", "Pass the strongest instrument, or use method iv (2SLS) for "
                              "several.", code="E-METHOD-006")
    return model


def instrument_values(data: Dataset, roles: Roles, binary: bool) -> tuple[Prepared, np.ndarray, list[str]]:
    """Complete cases including the instrument, and the instrument's values (checked as iv checks them)."""
    from .iv import check_instrument_names, check_not_treatment, instrument_matrix

    check_instrument_names(roles)
    roles.check_columns(data.frame)
    frame = data.frame
    has_z = frame[list(roles.instrument)].notna().all(axis=1)
    subset = data if bool(has_z.all()) else Dataset(frame=frame.loc[has_z], sha256=data.sha256, source=data.source,
                                                      meta=dict(data.meta))
    prep = prepare(subset, roles, binary_treatment=binary)
    z = instrument_matrix(frame.loc[has_z].loc[prep.index], roles.instrument)
    check_not_treatment(z, prep.t, roles.instrument)
    notes = [f"{int((~has_z).sum())} rows had a missing instrument value and were left out."] if not has_z.all() else []
    return prep, z[:, 0], notes


def check_params(n_folds: int, n_repeats: int, outcome_learner: str, propensity_learner: str,
                 n_estimators: int, trim: float | None) -> None:
    check_int("n_folds", n_folds, 2)
    check_int("n_repeats", n_repeats, 1)
    check_int("n_estimators", n_estimators, 1)
    check_learner("outcome_learner", outcome_learner, OUTCOME_LEARNERS)
    check_learner("propensity_learner", propensity_learner, TREATMENT_LEARNERS)
    check_fraction("trim", trim)


def run_splits(model: str, prep: Prepared, z: np.ndarray | None, folds_list: list[np.ndarray], estimand: str,
               outcome_learner: str, propensity_learner: str, n_estimators: int, seed: int,
               trim: float | None) -> list[Split]:
    def make_y():
        return regressor(outcome_learner, seed, n_estimators)

    def make_d():
        return learner_for(prep.t, propensity_learner, seed, n_estimators)

    def make_z():
        return learner_for(z, propensity_learner, seed, n_estimators)

    splits = []
    for folds in folds_list:
        if model == "irm":
            check_fold_sizes(prep.t, folds, prep.X.shape[1], outcome_learner == "linear")
            splits.append(irm_split(prep, folds, make_y, make_d, estimand, trim))
        elif model == "plr":
            splits.append(plr_split(prep, folds, make_y, make_d))
        else:
            splits.append(pliv_split(prep, z, folds, make_y, make_d, make_z))
    return splits


def median_quality(splits: list[Split]) -> dict[str, dict[str, Any]]:
    """Each nuisance model's out-of-fold quality, the median over splits."""
    out: dict[str, dict[str, Any]] = {}
    for name, first in splits[0].quality.items():
        out[name] = {k: (float(np.median([s.quality[name][k] for s in splits])) if isinstance(v, float) else v)
                     for k, v in first.items()}
    return out


def nuisance_summary(models: dict[str, dict[str, Any]], learners: dict[str, str]) -> dict[str, Any]:
    """What the nuisance_fit gate reads: the worst outcome R^2 and the binary treatment model's AUC."""
    outcome_r2 = [q["r2"] for name, q in models.items() if name.startswith("outcome") and q["kind"] == "regression"]
    treatment = models.get("propensity") or models.get("treatment")
    summary: dict[str, Any] = {"models": models, "learners": learners,
                               "outcome_r2": min(outcome_r2) if outcome_r2 else math.nan}
    if treatment is not None and treatment["kind"] == "classification":
        summary.update(propensity_auc=treatment["auc"], propensity_log_loss=treatment["log_loss"],
                       constant_log_loss=treatment["log_loss_constant"])
    other_r2 = {name: q["r2"] for name, q in models.items() if not name.startswith("outcome")
                and q["kind"] == "regression"}
    if other_r2:
        summary["treatment_model_r2"] = other_r2
    return summary


ESTIMAND_LABELS = {
    ("irm", "ate"): "ATE: everyone",
    ("irm", "att"): "ATT: treated units",
    ("plr", "binary"): "effect of treatment under the partially linear model (a variance-weighted average of "
                       "the units' effects; the ATE when the effect is the same for everyone)",
    ("plr", "continuous"): "effect of one unit of treatment (partially linear model)",
    ("pliv", ""): "LATE: effect of treatment among units the instrument moves (partially linear IV)",
}


def estimand_label(model: str, estimand: str, binary: bool) -> str:
    if model == "irm":
        return ESTIMAND_LABELS[("irm", estimand)]
    if model == "plr":
        return ESTIMAND_LABELS[("plr", "binary" if binary else "continuous")]
    return ESTIMAND_LABELS[("pliv", "")]


@register("dml", family="selection_on_observables", design="cross_section", estimands=("ate", "att", "late"),
          requires=Requirements(roles=("outcome", "treatment", "covariates"), recommended=("instrument",),
                                treatment="any"),
          title="Double machine learning",
          summary="Lets flexible models learn how the covariates drive both the treatment and the outcome, then "
                  "compares what is left over. Each unit's predictions come from models fitted on other units, "
                  "so the models' fitting errors do not leak into the effect.",
          inference="influence function (cross-fitted; median over repeated splits)",
          params={
              "model": "Which model: irm (binary treatment; ATE or ATT), plr (one coefficient, also for a "
                       "continuous treatment), pliv (with an instrument), or auto: pliv for the LATE, else irm "
                       "for a binary and plr for a continuous treatment.",
              "n_folds": "Cross-fitting folds: each unit's nuisance predictions come from models that did not "
                         "see it.",
              "n_repeats": "Independent fold splits; the estimate is their median and the standard error adds "
                           "the spread between splits (more repeats: less dependence on one random split).",
              "outcome_learner": "Model for the outcome: linear (least squares), lasso (cross-validated L1), gbm "
                                 "(histogram gradient boosting) or forest (random forest).",
              "propensity_learner": "Model for the treatment (and the instrument): its probability when it is "
                                    "0/1, its mean otherwise: logit/linear, lasso, gbm or forest.",
              "n_estimators": "Trees per forest when a learner is 'forest'.",
              "trim": "Out-of-fold propensity scores are clipped to [trim, 1 - trim] (irm) so no weight is "
                      "infinite; the number clipped is reported.",
              "protected": "A column marking a protected group (e.g. sex): the ATE in each group and the gap "
                           "between them, with intervals (fairness check; irm model, ATE).",
          },
          headline_rank=15, example=examples.confounded, transparency=0.6, cost_exponent=1.0)
def dml(data: Dataset, roles: Roles, *, estimand: Literal["ate", "att", "late"] = "ate", alpha: float = 0.05,
        seed: int = 0, model: Model = "auto", n_folds: int = 5, n_repeats: int = 3,
        outcome_learner: OutcomeLearner = "linear", propensity_learner: PropensityLearner = "logit",
        n_estimators: int = 100, trim: float | None = 0.01, protected: str | None = None) -> EffectResult:
    """Double/debiased machine learning (Chernozhukov et al. 2018): irm, plr or pliv, cross-fitted."""
    if model not in ("auto", "plr", "irm", "pliv"):
        raise MethodError(f"Unknown model {model!r}.", "Use auto, irm, plr or pliv.", code="E-METHOD-005")
    check_params(n_folds, n_repeats, outcome_learner, propensity_learner, n_estimators, trim)
    roles.require("outcome", "treatment")
    roles.check_columns(data.frame)
    binary = is_binary_treatment(data, roles)
    model = resolve_model(model, estimand, binary, roles)
    if protected is not None and (model != "irm" or estimand != "ate"):
        raise MethodError("The fairness check compares the ATE between groups, which the irm model's ATE score "
                          f"gives; this run uses the {model} model for the {estimand.upper()}.",
                          "Use model='irm' with the ATE, or meta_learner / causal_forest.", code="E-METHOD-006")
    if model == "pliv":
        prep, z, notes = instrument_values(data, roles, binary)
    else:
        prep, z, notes = prepare(data, roles, binary_treatment=binary), None, []
    warnings = list(prep.warnings) + notes + weight_role_note(prep, roles)
    if roles.instrument and model != "pliv":
        warnings.append(f"The instrument role is not used by the {model} model; ask for the LATE "
                        "(--estimand late) or model='pliv' to use it.")
    folds_list = repeated_folds(prep.n, n_folds, n_repeats, seed, prep.cluster)
    key = cache_key(data, roles, "dml", model, estimand if model == "irm" else "", roles.instrument, n_folds,
                    n_repeats, outcome_learner, propensity_learner, n_estimators, seed, trim)
    splits: list[Split] = cached(key, lambda: run_splits(model, prep, z, folds_list, estimand, outcome_learner,
                                                        propensity_learner, n_estimators, seed, trim))
    estimates = np.array([s.estimate for s in splits])
    ses = np.array([influence_se(s.phi, prep.cluster) for s in splits])
    est, se = median_aggregate(estimates, ses)
    converged = all(s.converged for s in splits)
    if not converged:
        warnings.append("A logistic nuisance model did not converge in at least one cross-fitting fold; the "
                        "groups may be (nearly) separable.")
    diagnostics = model_diagnostics(model, prep, splits, estimand, binary)
    diagnostics.update(model=model, n_folds=int(n_folds), n_repeats=int(n_repeats), outcome_learner=outcome_learner,
                       propensity_learner=propensity_learner, estimates_by_split=estimates.tolist(),
                       std_errors_by_split=ses.tolist(), treatment_kind="binary" if binary else "continuous",
                       estimand_label=estimand_label(model, estimand, binary),
                       nuisance=nuisance_summary(median_quality(splits),
                                                 {"outcome": outcome_learner, "treatment": propensity_learner}))
    if model == "irm" or (model == "plr" and binary):
        diagnostics["propensity_converged"] = bool(converged)
    if protected is not None:
        diagnostics["fairness"] = split_fairness(data, protected, prep, splits, alpha)
    clipped = splits[0].clipped
    if clipped:
        warnings.append(f"{clipped} of {prep.n} out-of-fold propensity scores lay outside [{trim:g}, {1 - trim:g}] "
                        "and were clipped to that range to keep the weights finite.")
    kind = "cluster-robust " if prep.cluster is not None else ""
    repeats = f", median over {n_repeats} splits" if n_repeats > 1 else ""
    return finish("dml", "late" if model == "pliv" else estimand, est, se, alpha=alpha, n_obs=prep.n,
                  se_method=f"{kind}influence function (cross-fitted {model}, {n_folds} folds{repeats})",
                  diagnostics=diagnostics, warnings=warnings)


def split_fairness(data: Dataset, protected: str, prep: Prepared, splits: list[Split], alpha: float) -> dict[str, Any]:
    """The ATE by protected group from each split's AIPW scores, medians over splits (as the estimate)."""
    from ._cate import fairness, protected_values

    values = protected_values(data.frame, protected, prep.rows)
    per_split = [fairness(s.phi + s.estimate, s.phi + s.estimate, values, protected, alpha, prep.cluster)
                 for s in splits]
    first = per_split[0]
    keys = ("ate", "std_error", "ci_lower", "ci_upper")
    groups = [{**g, **{k: float(np.median([f["groups"][i][k] for f in per_split])) for k in keys}}
              for i, g in enumerate(first["groups"])]
    for g in groups:        # the per-unit effect is not estimated by dml: only the group ATEs are
        g.pop("cate_mean", None)
        g.pop("share_predicted_to_benefit", None)
    gap_keys = ("estimate", "std_error", "ci_lower", "ci_upper", "p_value")
    gap = {**first["gap"], **{k: float(np.median([f["gap"][k] for f in per_split])) for k in gap_keys}}
    return {"attribute": protected, "groups": groups, "gap": gap}


def model_diagnostics(model: str, prep: Prepared, splits: list[Split], estimand: str, binary: bool) -> dict[str, Any]:
    """Balance, overlap and weights of the first split's propensity (irm); overlap only (binary plr)."""
    first = splits[0]
    if model == "irm":
        diag = standard_diagnostics(prep, ps=first.propensity,
                                    weights=balancing_weights(prep.t, first.propensity, estimand))
        diag["clipped"] = first.clipped
        return diag
    if model == "plr" and binary:
        return standard_diagnostics(prep, ps=first.propensity)
    diag: dict[str, Any] = {"rows_dropped_missing": prep.n_dropped,
                            "outcome_sd": float(np.std(prep.y, ddof=1))}
    if model == "pliv":
        diag["first_stage_f"] = float(np.median([s.extra["first_stage_f"] for s in splits]))
        if binary:
            diag.update(n_treated=int(prep.t.sum()), n_control=int(prep.n - prep.t.sum()))
    return diag
