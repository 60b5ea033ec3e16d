"""Nuisance learners of the machine-learning methods (dml, meta_learner, causal_forest), built from one
vocabulary (``linear``/``logit``, ``lasso``, ``gbm``, ``forest``), cross-fitted predictions on given folds,
and the out-of-fold quality of each fit (R^2; log-loss and AUC).

The learners are scikit-learn estimators, so the same objects can be handed to the peer libraries
(DoubleML, econml) in the agreement tests and benchmarks. ``logit`` is :class:`NewtonLogit`, the
maximum-likelihood fit of ``nuisance.fit_logit`` wrapped as a classifier: the exact MLE (no hidden L2
penalty, unlike scikit-learn's default LogisticRegression), fast (a handful of Newton steps), and it
says when it did not converge or the covariates separate the arms (``converged_``), which feeds the
separation gate (DESIGN.md: a nuisance model that did not converge never feeds a passing gate).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from ..diagnostics.overlap import propensity_auc
from ..errors import EstimationError, MethodError
from ..nuisance import fit_logit, logistic

OutcomeLearner = Literal["linear", "lasso", "gbm", "forest"]
PropensityLearner = Literal["logit", "lasso", "gbm", "forest"]
LEARNER_NAMES = ("linear", "logit", "lasso", "gbm", "forest")
#: leaves of at least this many rows keep forest predictions from interpolating single units
FOREST_MIN_LEAF = 5


class NewtonLogit(ClassifierMixin, BaseEstimator):
    """Unpenalised logistic regression by Newton's method (``nuisance.fit_logit``) as a classifier."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> "NewtonLogit":
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        self.classes_ = np.array([0.0, 1.0])
        fit = fit_logit(X, y)
        self.coef_ = fit.coef
        self.converged_ = bool(fit.converged)
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        return self.coef_[0] + X @ self.coef_[1:]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = logistic(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.decision_function(X) > 0).astype(float)


class LeastSquares(RegressorMixin, BaseEstimator):
    """Least squares with an intercept (the numbers of LinearRegression, without its input checks)."""

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> "LeastSquares":
        X = np.asarray(X, dtype=float)
        Z = np.column_stack([np.ones(len(X)), X])
        y = np.asarray(y, dtype=float)
        if sample_weight is not None:
            root = np.sqrt(np.asarray(sample_weight, dtype=float))
            Z, y = Z * root[:, None], y * root
        self.coef_ = np.linalg.lstsq(Z, y, rcond=None)[0]
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.coef_[0] + np.asarray(X, dtype=float) @ self.coef_[1:]


def check_learner(param: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise MethodError(f"Unknown {param} {value!r}.", f"Use one of: {', '.join(allowed)}.", code="E-METHOD-005")


def check_int(param: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise MethodError(f"{param} must be a whole number of at least {minimum}, got {value!r}.",
                          f"Use e.g. {param}={max(minimum, 5)}.", code="E-METHOD-005")


def regressor(name: str, seed: int, n_estimators: int = 100) -> BaseEstimator:
    """A regression learner of the shared vocabulary (``logit`` means the linear model for a mean)."""
    if name in ("linear", "logit"):
        return LeastSquares()
    if name == "lasso":
        from sklearn.linear_model import LassoCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LassoCV(cv=3, n_alphas=30, random_state=seed))
    if name == "gbm":
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(random_state=seed)
    if name == "forest":
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(n_estimators=n_estimators, min_samples_leaf=FOREST_MIN_LEAF, n_jobs=1,
                                     random_state=seed)
    raise MethodError(f"Unknown learner {name!r}.", f"Use one of: {', '.join(LEARNER_NAMES)}.", code="E-METHOD-005")


def classifier(name: str, seed: int, n_estimators: int = 100) -> BaseEstimator:
    """A probability learner of the shared vocabulary (``linear`` means the logistic model)."""
    if name in ("linear", "logit"):
        return NewtonLogit()
    if name == "lasso":
        from sklearn.linear_model import LogisticRegressionCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        try:    # scikit-learn >= 1.8 spells the L1 penalty l1_ratios=(1,)
            model = LogisticRegressionCV(Cs=10, cv=3, l1_ratios=(1.0,), solver="saga", max_iter=500,
                                         scoring="neg_log_loss", random_state=seed, use_legacy_attributes=False)
        except TypeError:
            model = LogisticRegressionCV(Cs=10, cv=3, penalty="l1", solver="saga", max_iter=500,
                                         scoring="neg_log_loss", random_state=seed)
        return make_pipeline(StandardScaler(), model)
    if name == "gbm":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(random_state=seed)
    if name == "forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=n_estimators, min_samples_leaf=FOREST_MIN_LEAF, n_jobs=1,
                                      random_state=seed)
    raise MethodError(f"Unknown learner {name!r}.", f"Use one of: {', '.join(LEARNER_NAMES)}.", code="E-METHOD-005")


def learner_for(target: np.ndarray, name: str, seed: int, n_estimators: int = 100) -> BaseEstimator:
    """A classifier for a 0/1 target, a regressor otherwise."""
    return classifier(name, seed, n_estimators) if is_binary(target) else regressor(name, seed, n_estimators)


def is_binary(values: np.ndarray) -> bool:
    return bool(np.all((values == 0) | (values == 1)))


def predict(model: BaseEstimator, X: np.ndarray) -> np.ndarray:
    """Mean prediction: the probability of 1 for a classifier."""
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)[:, 1]
    return model.predict(X)


def converged(model: BaseEstimator) -> bool:
    """False only for a fit that says it did not converge (NewtonLogit under separation)."""
    return bool(getattr(model, "converged_", True))


def check_fold_sizes(t: np.ndarray, folds: np.ndarray, n_terms: int, linear: bool,
                     hint: str = "Lower n_folds, use fewer covariates, or use model='plr'.") -> None:
    for k in np.unique(folds):
        check_arm_rows(t, folds != k, n_terms, linear, hint)


def check_arm_rows(t: np.ndarray, train: np.ndarray, n_terms: int, linear: bool, hint: str) -> None:
    """Enough training rows in each arm to fit an outcome model (more than its terms for least squares)."""
    n1, n0 = int(np.sum(train & (t == 1))), int(np.sum(train & (t == 0)))
    if min(n1, n0) <= (n_terms + 1 if linear else 1):
        raise EstimationError(f"A cross-fitting fold leaves only {n1} treated and {n0} untreated training rows: "
                              "too few to fit an outcome model in each group.", hint, code="E-EST-004")


def check_separation(t: np.ndarray, p_raw: np.ndarray) -> None:
    """Complete separation: no untreated unit is as likely to be treated as any treated unit."""
    if p_raw[t == 1].min() > p_raw[t == 0].max() or np.all((p_raw == 0) | (p_raw == 1)):
        raise EstimationError(
            "The covariates separate treated from untreated units completely: every treated unit's estimated "
            "propensity is above every untreated unit's (propensities of 0 or 1), so no unit has a comparable "
            "counterpart and the effect is not identified from these data.",
            "Find the covariate that decides treatment (an eligibility rule, a post-treatment variable) and "
            "remove it, or restrict the data to units who could receive either treatment.", code="E-EST-006")


def fit_weighted(model: BaseEstimator, X: np.ndarray, y: np.ndarray, weight: np.ndarray) -> BaseEstimator:
    """fit with sample weights (passed to the last step of a pipeline)."""
    steps = getattr(model, "steps", None)
    if steps:
        return model.fit(X, y, **{f"{steps[-1][0]}__sample_weight": weight})
    return model.fit(X, y, sample_weight=weight)


def fold_splits(folds: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays per fold label, ascending: the form DoubleML's set_sample_splitting takes."""
    return [(np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in np.unique(folds)]


@dataclass(frozen=True)
class CrossFit:
    """Out-of-fold predictions of one nuisance model and whether every fold's fit converged."""

    pred: np.ndarray
    converged: bool


def cross_predict(make: Any, X: np.ndarray, target: np.ndarray, folds: np.ndarray,
                  subset: np.ndarray | None = None) -> CrossFit:
    """Predictions for every row from a model fitted on the other folds (only on ``subset`` rows of them).

    ``make()`` builds a fresh learner per fold, so no fold's fit leaks into another's.
    """
    pred = np.empty(target.size)
    ok = True
    for train, test in fold_splits(folds):
        if subset is not None:
            train = train[subset[train]]
        model = make().fit(X[train], target[train])
        pred[test] = predict(model, X[test])
        ok = ok and converged(model)
    return CrossFit(pred, ok)


# ---------------------------------------------------------------------------
# out-of-fold quality of a nuisance fit
# ---------------------------------------------------------------------------

def r_squared(y: np.ndarray, pred: np.ndarray) -> float:
    """1 - SSR/SST: below 0 means the model predicts held-out rows worse than their mean does."""
    ss = float(np.sum((y - y.mean()) ** 2))
    return 1 - float(np.sum((y - pred) ** 2)) / ss if ss > 0 else math.nan


def log_loss(t: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))


def regression_quality(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    return {"kind": "regression", "r2": r_squared(y, pred), "rmse": float(np.sqrt(np.mean((y - pred) ** 2))),
            "n": int(y.size)}


def classification_quality(t: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Log-loss against that of always predicting the treated share, AUC, Brier score."""
    share = float(t.mean())
    return {"kind": "classification", "log_loss": log_loss(t, p),
            "log_loss_constant": log_loss(t, np.full(t.size, share)),
            "auc": propensity_auc(p, t) if 0 < share < 1 else math.nan,
            "brier": float(np.mean((t - p) ** 2)), "n": int(t.size)}


def quality(target: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    return classification_quality(target, pred) if is_binary(target) else regression_quality(target, pred)
