"""Inference helpers: Wald intervals, influence-function SEs, OLS with HC3 or
cluster-robust covariance.

These are small standalone functions (pyfixest's habit) so estimators stay short
and every standard error says where it came from.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


def wald(estimate: float, std_error: float, alpha: float, df: float | None = None) -> tuple[float, float, float]:
    """(ci_lower, ci_upper, p_value) from a normal (or t with ``df``) reference."""
    if not (math.isfinite(estimate) and math.isfinite(std_error)) or std_error <= 0:
        return math.nan, math.nan, math.nan
    # the distribution's methods directly: a frozen scipy distribution costs ~0.4 ms to build
    dist, shape = (stats.t, (df,)) if df else (stats.norm, ())
    crit = float(dist.ppf(1 - alpha / 2, *shape))
    z = estimate / std_error
    p = float(2 * dist.sf(abs(z), *shape))
    return estimate - crit * std_error, estimate + crit * std_error, p


def influence_se(phi: np.ndarray, cluster: np.ndarray | None = None) -> float:
    """SE of a mean-zero influence function: sqrt(var(phi)/n), or clustered sums.

    With clusters the influence values are summed within cluster (Liang & Zeger
    1986) and scaled by G/(G-1).
    """
    phi = np.asarray(phi, dtype=float)
    n = phi.size
    if cluster is None:
        return float(np.sqrt(np.sum((phi - phi.mean()) ** 2) / (n * (n - 1))))
    _, idx = np.unique(cluster, return_inverse=True)
    sums = np.bincount(idx, weights=phi - phi.mean())
    g = sums.size
    if g < 2:
        return math.nan
    return float(np.sqrt(g / (g - 1) * np.sum(sums ** 2)) / n)


@dataclass(frozen=True)
class OLSFit:
    coef: np.ndarray
    cov: np.ndarray
    resid: np.ndarray
    df_resid: int
    cov_type: str
    xtx_inv: np.ndarray

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))


@dataclass(frozen=True)
class LeastSquares:
    """The coefficients of a (weighted) least-squares fit and the pieces its covariance needs."""

    coef: np.ndarray
    xtx_inv: np.ndarray
    Xw: np.ndarray              # design scaled by sqrt(weight) (the design itself when unweighted)
    resid_w: np.ndarray         # residuals of the scaled fit


def least_squares(X: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> LeastSquares:
    """Coefficients of y on X, refusing a design whose terms are (near-)exact combinations of each other.

    On its own this is the point estimate alone, which is all a bootstrap replicate needs.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    k = X.shape[1]
    if weights is not None:
        sw = np.sqrt(np.asarray(weights, dtype=float))
        Xw, yw = X * sw[:, None], y * sw
    else:
        Xw, yw = X, y
    xtx = Xw.T @ Xw
    # Scale-free rank check: inv() does not raise on a numerically singular X'X,
    # it returns garbage, so a rank-deficient design must be refused here.
    scale = np.sqrt(np.clip(np.diag(xtx), 1e-300, None))
    if k and np.linalg.cond(xtx / np.outer(scale, scale)) > 1e12:
        from .errors import EstimationError
        raise EstimationError("The regression terms are exact (or near-exact) combinations of each other, so "
                              "their coefficients are not identified.",
                              "Remove duplicated or derived covariates (e.g. a total next to its parts).",
                              code="E-EST-003")
    xtx_inv = np.linalg.inv(xtx)
    coef = xtx_inv @ (Xw.T @ yw)
    return LeastSquares(coef=coef, xtx_inv=xtx_inv, Xw=Xw, resid_w=yw - Xw @ coef)


def ols(X: np.ndarray, y: np.ndarray, *, cov_type: str = "HC3",
        cluster: np.ndarray | None = None, weights: np.ndarray | None = None) -> OLSFit:
    """Least squares with a sandwich covariance.

    cov_type: "HC3" (MacKinnon & White 1985; the default, safe in small
    samples), "HC1", "classical", or "cluster" (CR1 with the Stata small-sample
    factor (G/(G-1))((n-1)/(n-k))).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, k = X.shape
    fit = least_squares(X, y, weights)
    coef, xtx_inv, Xw, resid_w = fit.coef, fit.xtx_inv, fit.Xw, fit.resid_w
    df_resid = n - k
    if cov_type == "classical":
        sigma2 = float(resid_w @ resid_w) / max(df_resid, 1)
        cov = sigma2 * xtx_inv
    elif cov_type in ("HC1", "HC3"):
        if cov_type == "HC3":
            # leverage h_i = x_i' (X'X)^-1 x_i, row-wise without an n x n matrix: one matrix product
            # and one n x k buffer (a three-operand einsum loops in C without BLAS, ten times slower)
            leverage = Xw @ xtx_inv
            leverage *= Xw
            h = leverage.sum(axis=1)
            del leverage
            u = resid_w / np.clip(1.0 - h, 1e-12, None)
            meat = (Xw * (u ** 2)[:, None]).T @ Xw
            cov = xtx_inv @ meat @ xtx_inv
        else:
            meat = (Xw * (resid_w ** 2)[:, None]).T @ Xw
            cov = xtx_inv @ meat @ xtx_inv * n / max(df_resid, 1)
    elif cov_type == "cluster":
        if cluster is None:
            raise ValueError("cluster covariance needs cluster labels")
        _, idx = np.unique(cluster, return_inverse=True)
        g = int(idx.max()) + 1
        scores = np.zeros((g, k))
        np.add.at(scores, idx, Xw * resid_w[:, None])
        meat = scores.T @ scores
        factor = (g / max(g - 1, 1)) * ((n - 1) / max(df_resid, 1))
        cov = factor * xtx_inv @ meat @ xtx_inv
        df_resid = g - 1
    else:
        raise ValueError(f"unknown cov_type {cov_type!r}")
    return OLSFit(coef=coef, cov=cov, resid=y - X @ coef, df_resid=df_resid,
                  cov_type=cov_type, xtx_inv=xtx_inv)


def bootstrap_draws(n: int, reps: int, seed: int, cluster: np.ndarray | None = None):
    """Yield ``reps`` index arrays of a seeded nonparametric bootstrap.

    With ``cluster`` labels whole clusters are resampled (Cameron, Gelbach &
    Miller 2008), so within-cluster dependence is kept.
    """
    rng = np.random.default_rng(seed)
    if cluster is None:
        for _ in range(reps):
            yield rng.integers(0, n, size=n)
        return
    _, idx = np.unique(cluster, return_inverse=True)
    order = np.argsort(idx, kind="stable")
    counts = np.bincount(idx)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    g = counts.size
    for _ in range(reps):
        picked = rng.integers(0, g, size=g)
        yield np.concatenate([order[starts[c]:starts[c] + counts[c]] for c in picked])
