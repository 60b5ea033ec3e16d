"""Sandwich covariances of least-squares coefficients, written once.

Every estimator that reports a regression standard error (``ols``, ``iv``'s
2SLS, the two-way fixed-effects fit behind ``did`` / ``event_study``, ``its``'s
segmented regression, ``rd``'s cluster-robust variance) builds it from these
pieces:

    V = c * B M B,      B = bread (X'X)^-1,  M = meat = S'S,  c = small-sample factor

with scores S, one row per observation (or per cluster):

    hc              S_i = x_i u_i with u_i the residual, scaled for HC2/HC3 by the
                    leverage h_i = x_i' B x_i (MacKinnon & White 1985, J Econometrics
                    29:305): HC0 u_i, HC1 u_i and c = n/(n-k), HC2 u_i/sqrt(1-h_i),
                    HC3 u_i/(1-h_i)
    cluster_robust  S_g = sum of x_i u_i within cluster g (Liang & Zeger 1986,
                    Biometrika 73:13), c = cr1_factor(G, N, K)
    newey_west      M = G_0 + sum_l (1 - l/(L+1)) (G_l + G_l'), G_l = sum_t s_t s_{t-l}'
                    (Newey & West 1987, Econometrica 55:703), c = n/(n-k)

Weighted least squares: pass the design and residuals already multiplied by
sqrt(weight) (or, for hc/cluster_robust with HC0/HC1/CR1, the design and
weight * residual) and the matching bread.

Spatial HAC (Conley 1999, J Econometrics 92:1) is the next block, added with
the geographic methods: ``conley(X, resid, xtx_inv, lat, lon, *, cutoff_km,
kernel="bartlett" | "uniform", small_sample=True)`` with meat
M = sum_{i,j} K(d_ij / cutoff) s_i s_j' over pairs within the cutoff distance
d_ij (great-circle), computed from a neighbour list (never an n x n matrix),
and the same ``sandwich``.
"""
from __future__ import annotations

import math
from typing import Literal

import numpy as np

HCKind = Literal["HC0", "HC1", "HC2", "HC3"]
HC_KINDS: tuple[str, ...] = ("HC0", "HC1", "HC2", "HC3")


def sandwich(bread: np.ndarray, scores: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """factor * B (S'S) B for scores S (rows: observations or clusters)."""
    return factor * bread @ (scores.T @ scores) @ bread


def leverage(X: np.ndarray, xtx_inv: np.ndarray) -> np.ndarray:
    """h_i = x_i' (X'X)^-1 x_i, the diagonal of the hat matrix.

    Row-wise without an n x n matrix: one matrix product and one n x k buffer
    (a three-operand einsum loops in C without BLAS, ten times slower).
    """
    rows = X @ xtx_inv
    rows *= X
    return rows.sum(axis=1)


def hc_factor(kind: str, n: int, n_params: int) -> float:
    """The small-sample factor of an HC covariance: n/(n-k) for HC1, else 1."""
    return n / max(n - n_params, 1) if kind == "HC1" else 1.0


def hc_residuals(X: np.ndarray, resid: np.ndarray, xtx_inv: np.ndarray, kind: str) -> np.ndarray:
    """Residuals as the HC kind uses them: divided by sqrt(1-h) (HC2) or 1-h (HC3).

    ``resid`` may be one series (n) or several sharing the design (n x r).
    """
    if kind not in HC_KINDS:
        raise ValueError(f"unknown HC kind {kind!r}")
    if kind in ("HC0", "HC1"):
        return resid
    # h -> 1 (a row that alone determines a coefficient) would divide by zero; clip as statsmodels
    one_minus_h = np.clip(1.0 - leverage(X, xtx_inv), 1e-12, None)
    scale = np.sqrt(one_minus_h) if kind == "HC2" else one_minus_h
    return resid / (scale if resid.ndim == 1 else scale[:, None])


def hc(X: np.ndarray, resid: np.ndarray, xtx_inv: np.ndarray, kind: HCKind = "HC0", *,
       n_params: int | None = None) -> np.ndarray:
    """Heteroskedasticity-robust covariance HC0-HC3 (MacKinnon & White 1985).

    ``n_params`` is K in HC1's n/(n-K) (default: the columns of X; more when
    absorbed fixed effects count too).
    """
    n, k = X.shape
    u = hc_residuals(X, resid, xtx_inv, kind)
    return sandwich(xtx_inv, X * u[:, None], hc_factor(kind, n, k if n_params is None else n_params))


def cluster_codes(cluster: np.ndarray) -> tuple[np.ndarray, int]:
    """(codes 0..G-1, G) of cluster labels; integer codes already contiguous from 0 are kept as they are."""
    cluster = np.asarray(cluster)
    if cluster.size and np.issubdtype(cluster.dtype, np.integer) and cluster.min() == 0:
        if np.all(np.bincount(cluster) > 0):      # O(n): no sort when the caller already coded them
            return cluster, int(cluster.max()) + 1
    _, codes = np.unique(cluster, return_inverse=True)
    return codes, int(codes.max()) + 1 if codes.size else 0


def cluster_sums(scores: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """Scores summed within cluster: G x m (one bincount per column, in row order)."""
    return np.column_stack([np.bincount(codes, weights=scores[:, j], minlength=n_clusters)
                            for j in range(scores.shape[1])]) if scores.shape[1] \
        else np.zeros((n_clusters, 0))


def cr1_factor(G: int, N: int | None = None, K: int | None = None) -> float:
    """The CR1 small-sample factor (Cameron & Miller 2015, JHR 50:317, eq. 12).

    G/(G-1) * (N-1)/(N-K), the factor of Stata's ``regress, vce(cluster)``,
    fixest/pyfixest and rdrobust; with N (and K) left out only the G/(G-1)
    part, as for a clustered mean of influence values (no fitted parameters).
    """
    factor = G / max(G - 1, 1)
    if N is None:
        return factor
    return factor * ((N - 1) / max(N - (K or 0), 1))


def cluster_robust(X: np.ndarray, resid: np.ndarray, xtx_inv: np.ndarray, cluster: np.ndarray, *,
                   small_sample: bool = True, n_params: int | None = None) -> np.ndarray:
    """Cluster-robust (CR1) covariance, clustered sums of x_i u_i (Liang & Zeger 1986).

    ``small_sample``: multiply by cr1_factor(G, N, K) (CR1), or not (CR0).
    ``n_params`` is K (default: the columns of X; more when absorbed fixed
    effects count too).
    """
    n, k = X.shape
    codes, g = cluster_codes(cluster)
    factor = cr1_factor(g, n, k if n_params is None else n_params) if small_sample else 1.0
    return sandwich(xtx_inv, cluster_sums(X * resid[:, None], codes, g), factor)


def newey_west_maxlags(n: int) -> int:
    """Default lag length floor(4 (n/100)^(2/9)) (Newey & West 1994, Rev Econ Stud 61:631)."""
    return int(math.floor(4 * (n / 100) ** (2 / 9)))


def newey_west(X: np.ndarray, resid: np.ndarray, maxlags: int, *, xtx_inv: np.ndarray | None = None,
               small_sample: bool = True) -> np.ndarray:
    """HAC covariance B S B, S = G0 + sum_l w_l (G_l + G_l'), Bartlett weights w_l = 1 - l/(L+1).

    Rows of X must be in time order. G_l = sum_t s_t s_{t-l}' with scores
    s_t = x_t e_t (Newey & West 1987, eq. 2). ``small_sample`` multiplies by
    n/(n-k), as Stata's ``newey`` and statsmodels' ``use_correction=True``.
    """
    n, k = X.shape
    scores = X * resid[:, None]
    meat = scores.T @ scores
    for lag in range(1, maxlags + 1):
        gamma = scores[lag:].T @ scores[:-lag]
        meat += (1 - lag / (maxlags + 1)) * (gamma + gamma.T)
    bread = np.linalg.inv(X.T @ X) if xtx_inv is None else xtx_inv
    cov = bread @ meat @ bread
    return cov * n / (n - k) if small_sample else cov
