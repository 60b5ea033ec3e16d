"""Nuisance models shared across methods: the propensity score and outcome
regressions, fitted once per (dataset sha256, roles, learner) within a process.
"""
from __future__ import annotations

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
    """Maximum-likelihood logistic regression (intercept first)."""

    coef: np.ndarray
    fitted: np.ndarray          # P(T=1 | X)
    design: np.ndarray          # [1, X] used in the fit
    converged: bool
    iterations: int

    @property
    def linear_predictor(self) -> np.ndarray:
        return self.design @ self.coef


def fit_logit(X: np.ndarray, t: np.ndarray, *, max_iter: int = 50, tol: float = 1e-10,
              ridge: float = 1e-8) -> LogitFit:
    """Newton-Raphson for the logistic MLE.

    A tiny ridge (1e-8 on standardised columns) keeps the Hessian invertible
    under quasi-separation; it changes well-posed fits by far less than their
    standard errors. Columns are standardised for conditioning and the
    coefficients mapped back, so they match statsmodels' Logit.
    """
    n = t.size
    mean = X.mean(axis=0) if X.size else np.zeros(0)
    sd = X.std(axis=0) if X.size else np.zeros(0)
    sd = np.where(sd > 0, sd, 1.0)
    Z = np.column_stack([np.ones(n), (X - mean) / sd])
    beta = np.zeros(Z.shape[1])
    p0 = np.clip(t.mean(), 1e-6, 1 - 1e-6)
    beta[0] = np.log(p0 / (1 - p0))
    converged = False
    it = 0
    penalty = ridge * n * np.eye(Z.shape[1])
    penalty[0, 0] = 0.0
    for it in range(1, max_iter + 1):
        eta = np.clip(Z @ beta, -35, 35)
        p = 1.0 / (1.0 + np.exp(-eta))
        w = p * (1 - p)
        grad = Z.T @ (t - p) - penalty @ beta
        hess = (Z * w[:, None]).T @ Z + penalty
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(beta))) or np.max(np.abs(step)) < 1e-8:
            converged = True
            break
    eta = np.clip(Z @ beta, -35, 35)
    fitted = 1.0 / (1.0 + np.exp(-eta))
    # back to the original scale
    coef = np.empty_like(beta)
    coef[1:] = beta[1:] / sd
    coef[0] = beta[0] - np.sum(beta[1:] * mean / sd)
    design = np.column_stack([np.ones(n), X])
    return LogitFit(coef=coef, fitted=fitted, design=design, converged=converged, iterations=it)


def propensity(X: np.ndarray, t: np.ndarray, key: Hashable | None = None) -> LogitFit:
    """The logistic propensity score, memoised under ``key``."""
    return cached(("propensity", key) if key is not None else None, lambda: fit_logit(X, t))
