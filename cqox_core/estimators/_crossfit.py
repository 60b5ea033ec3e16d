"""Cross-fitting of nuisance models (Chernozhukov et al. 2018, Sec. 3): seeded folds that keep
clusters whole, outcome and propensity learners, and out-of-fold fit quality."""
from __future__ import annotations

import math

import numpy as np

from ..errors import EstimationError
from ..nuisance import fit_logit
from ..prep import Prepared


def fold_ids(n: int, n_folds: int, seed: int, cluster: np.ndarray | None) -> np.ndarray:
    """Seeded fold labels; whole clusters go to one fold so no cluster straddles train and test."""
    rng = np.random.default_rng(seed)
    if cluster is None:
        return rng.permutation(n) % n_folds
    _, idx = np.unique(cluster, return_inverse=True)
    g = int(idx.max()) + 1
    if g < n_folds:
        raise EstimationError(f"Only {g} clusters for {n_folds} cross-fitting folds.",
                              "Lower n_folds or remove the cluster role.", code="E-EST-004")
    return (rng.permutation(g) % n_folds)[idx]


def predict_outcome(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, learner: str,
                    seed: int) -> np.ndarray:
    """E[Y | X] in one arm: least squares with an intercept, or gradient boosting."""
    if learner == "gbm":
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(random_state=seed).fit(X_train, y_train).predict(X_test)
    Z = np.column_stack([np.ones(len(X_train)), X_train])
    coef = np.linalg.lstsq(Z, y_train, rcond=None)[0]
    return np.column_stack([np.ones(len(X_test)), X_test]) @ coef


def predict_propensity(X_train: np.ndarray, t_train: np.ndarray, X_test: np.ndarray, learner: str,
                       seed: int) -> tuple[np.ndarray, bool]:
    """Out-of-fold propensity scores and whether the logistic fit converged (always True for gbm)."""
    if learner == "gbm":
        from sklearn.ensemble import HistGradientBoostingClassifier

        model = HistGradientBoostingClassifier(random_state=seed).fit(X_train, t_train)
        return model.predict_proba(X_test)[:, 1], True
    fit = fit_logit(X_train, t_train)
    eta = np.clip(np.column_stack([np.ones(len(X_test)), X_test]) @ fit.coef, -35, 35)
    return 1.0 / (1.0 + np.exp(-eta)), fit.converged


def crossfit_nuisances(prep: Prepared, n_folds: int, outcome_learner: str, propensity_learner: str,
                       seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Out-of-fold m1(X), m0(X), e(X) (Chernozhukov et al. 2018, Sec. 3 cross-fitting), and whether every
    fold's propensity fit converged."""
    X, y, t = prep.X, prep.y, prep.t
    folds = fold_ids(prep.n, n_folds, seed, prep.cluster)
    m1, m0, e = (np.empty(prep.n) for _ in range(3))
    converged = True
    for k in range(n_folds):
        test, train = folds == k, folds != k
        tr1, tr0 = train & (t == 1), train & (t == 0)
        if min(tr1.sum(), tr0.sum()) <= (X.shape[1] + 1 if outcome_learner == "linear" else 1):
            raise EstimationError(f"A cross-fitting fold leaves only {int(tr1.sum())} treated and {int(tr0.sum())} "
                                  "untreated training rows: too few to fit the outcome models.",
                                  "Lower n_folds, use fewer covariates, or use ipw / regression_adjustment.",
                                  code="E-EST-004")
        m1[test] = predict_outcome(X[tr1], y[tr1], X[test], outcome_learner, seed)
        m0[test] = predict_outcome(X[tr0], y[tr0], X[test], outcome_learner, seed)
        e[test], fold_converged = predict_propensity(X[train], t[train], X[test], propensity_learner, seed)
        converged = converged and fold_converged
    return m1, m0, e, converged


def r_squared(y: np.ndarray, pred: np.ndarray) -> float:
    """1 - SSR/SST of a prediction (out-of-fold when ``pred`` is cross-fitted)."""
    ss = float(np.sum((y - y.mean()) ** 2))
    return 1 - float(np.sum((y - pred) ** 2)) / ss if ss > 0 else math.nan
