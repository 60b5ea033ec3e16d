"""Nuisance models shared across methods: the propensity score and outcome
regressions, fitted once per (dataset sha256, roles, learner) within a process.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Hashable

import numpy as np

_CACHE: "OrderedDict[Hashable, object]" = OrderedDict()
_CACHE_SIZE = 32


def cached(key: Hashable | None, build):
    """Memoise ``build()`` under ``key`` (None disables caching)."""
    if key is None:
        return build()
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    value = build()
    _CACHE[key] = value
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


def clear_cache() -> None:
    _CACHE.clear()


@dataclass(frozen=True)
class LogitFit:
    """Maximum-likelihood logistic regression (intercept first).

    ``converged`` is True only when Newton's method met its tolerance *and* the
    optimum is a genuine maximum-likelihood estimate rather than a point held
    in place by the tiny ridge (see ``ridge_sensitivity``). ``separated`` says the
    latter failed: the covariates (nearly) separate the two groups, so the
    unpenalised MLE does not exist (Albert & Anderson 1984, Biometrika 71:1).
    """

    coef: np.ndarray
    fitted: np.ndarray          # P(T=1 | X)
    design: np.ndarray          # [1, X] used in the fit
    converged: bool
    iterations: int
    separated: bool = False
    ridge_sensitivity: float = 0.0  # max_i |d eta_i / d log(ridge)|: about 0 for an MLE, about 1 if separated
    halvings: int = 0           # step halvings taken by the line search over all iterations

    @property
    def linear_predictor(self) -> np.ndarray:
        return self.design @ self.coef


# The ridge decides the fit when shrinking it e-fold would move some unit's linear predictor by more than this.
# At a genuine MLE the move is of order ridge / (information per unit): below 1e-4 even with 1% treated,
# covariates in dollars and AUC 0.99 (tests/test_propensity_fit.py). Under (quasi-)complete separation the
# separated units' eta is held at about log(ridge) by the ridge alone, so the move is about 1 (the gradient and
# curvature of those units are both exp(eta) times their margin, and their ratio is 1 / margin).
RIDGE_SENSITIVITY_LIMIT = 0.1
MAX_HALVINGS = 50


def standardised_design(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[1, (X - mean) / sd] and the column means and SDs (constant columns keep sd 1)."""
    n = X.shape[0]
    mean = X.mean(axis=0) if X.size else np.zeros(0)
    sd = X.std(axis=0) if X.size else np.zeros(0)
    sd = np.where(sd > 0, sd, 1.0)
    return np.column_stack([np.ones(n), (X - mean) / sd]), mean, sd


def penalised_loglik(Z: np.ndarray, t: np.ndarray, beta: np.ndarray, penalty_diag: np.ndarray) -> float:
    """sum[t eta - log(1 + e^eta)] - beta' P beta / 2, exact for any eta (no clipping)."""
    eta = Z @ beta
    value = float(np.sum(t * eta - np.logaddexp(0.0, eta)) - 0.5 * np.sum(penalty_diag * beta ** 2))
    return value if math.isfinite(value) else -math.inf


def logistic(eta: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(eta, -35, 35)))


def newton_step(Z: np.ndarray, t: np.ndarray, beta: np.ndarray, penalty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The full Newton step of the penalised log-likelihood and the likelihood's Hessian at ``beta``."""
    p = logistic(Z @ beta)
    w = p * (1 - p)
    grad = Z.T @ (t - p) - penalty @ beta
    info = (Z * w[:, None]).T @ Z
    try:
        step = np.linalg.solve(info + penalty, grad)
    except np.linalg.LinAlgError:
        step = np.linalg.lstsq(info + penalty, grad, rcond=None)[0]
    return step, info


def halve_until_ascent(Z: np.ndarray, t: np.ndarray, beta: np.ndarray, step: np.ndarray,
                       current: float, penalty_diag: np.ndarray) -> tuple[np.ndarray, float, int] | None:
    """Step-halving: the first of step, step/2, step/4, ... that does not lower the objective.

    The objective is concave and the Newton direction an ascent direction, so
    some fraction always ascends; without this, a full step from the start on
    skewed covariates (dollars, a 1% treated share) overshoots into the flat
    tails where every p is 0 and the Hessian vanishes, and the iterates diverge.
    The slack of 1e-13 relative lets a converged fit take its last, rounding-size
    step exactly as plain Newton would.
    """
    slack = 1e-13 * (1.0 + abs(current))
    scale = 1.0
    for halvings in range(MAX_HALVINGS + 1):
        candidate = beta + scale * step
        value = penalised_loglik(Z, t, candidate, penalty_diag)
        if value >= current - slack:
            return candidate, value, halvings
        scale *= 0.5
    return None


def ridge_sensitivity(Z: np.ndarray, beta: np.ndarray, info: np.ndarray, penalty: np.ndarray) -> float:
    """max_i |d eta_i / d log(ridge)| = max |Z (I + P)^{-1} P beta| at the optimum."""
    if not np.any(penalty):
        return 0.0
    try:
        d_beta = np.linalg.solve(info + penalty, penalty @ beta)
    except np.linalg.LinAlgError:
        d_beta = np.linalg.lstsq(info + penalty, penalty @ beta, rcond=None)[0]
    return float(np.max(np.abs(Z @ d_beta)))


def fit_logit(X: np.ndarray, t: np.ndarray, *, max_iter: int = 100, tol: float = 1e-10,
              ridge: float = 1e-8) -> LogitFit:
    """Newton-Raphson with step-halving for the logistic MLE.

    A tiny ridge (1e-8 on standardised columns) keeps the Hessian invertible
    under quasi-separation; it changes well-posed fits by far less than their
    standard errors. Columns are standardised for conditioning and the
    coefficients mapped back exactly, so they match statsmodels' Logit.
    Each Newton step is halved until the penalised log-likelihood does not
    fall (a monotone ascent, as in R's glm.fit); on well-conditioned data every
    full step ascends and the iterates are those of plain Newton.

    The fit reports ``converged=False`` when the tolerance is not met within
    ``max_iter`` iterations, or when it converged only because the ridge holds
    it (``separated``: the covariates separate the groups, the MLE does not exist).
    """
    n = t.size
    Z, mean, sd = standardised_design(X)
    beta = np.zeros(Z.shape[1])
    p0 = np.clip(t.mean(), 1e-6, 1 - 1e-6)
    beta[0] = np.log(p0 / (1 - p0))
    penalty_diag = np.full(Z.shape[1], ridge * n)
    penalty_diag[0] = 0.0
    penalty = np.diag(penalty_diag)
    objective = penalised_loglik(Z, t, beta, penalty_diag)
    tolerance_met = False
    it = halvings = 0
    for it in range(1, max_iter + 1):
        step, _ = newton_step(Z, t, beta, penalty)
        accepted = halve_until_ascent(Z, t, beta, step, objective, penalty_diag)
        if accepted is None:       # no fraction of the step ascends: numerically stuck
            break
        beta, objective, used = accepted
        halvings += used
        size = np.max(np.abs(step)) if step.size else 0.0
        # the full Newton step measures the distance to the optimum; a halved one does not
        if size < tol * (1 + np.max(np.abs(beta))) or size < 1e-8:
            tolerance_met = True
            break
    fitted = logistic(Z @ beta)
    _, info = newton_step(Z, t, beta, penalty)
    sensitivity = ridge_sensitivity(Z, beta, info, penalty)
    separated = sensitivity > RIDGE_SENSITIVITY_LIMIT
    coef = np.empty_like(beta)
    coef[1:] = beta[1:] / sd
    coef[0] = beta[0] - np.sum(beta[1:] * mean / sd)
    design = np.column_stack([np.ones(n), X])
    return LogitFit(coef=coef, fitted=fitted, design=design, converged=tolerance_met and not separated,
                    iterations=it, separated=separated, ridge_sensitivity=sensitivity,
                    halvings=halvings)


def propensity(X: np.ndarray, t: np.ndarray, key: Hashable | None = None) -> LogitFit:
    """The logistic propensity score, memoised under ``key``."""
    return cached(("propensity", key) if key is not None else None, lambda: fit_logit(X, t))
