"""Least squares: the coefficients with a scale-free rank check, and OLS with a
sandwich covariance from ``covariance``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

from .covariance import HC_KINDS, HCKind, cluster_codes, cluster_robust, hc


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
        from ..errors import EstimationError
        raise EstimationError("The regression terms are exact (or near-exact) combinations of each other, so "
                              "their coefficients are not identified.",
                              "Remove duplicated or derived covariates (e.g. a total next to its parts).",
                              code="E-EST-005")
    xtx_inv = np.linalg.inv(xtx)
    coef = xtx_inv @ (Xw.T @ yw)
    return LeastSquares(coef=coef, xtx_inv=xtx_inv, Xw=Xw, resid_w=yw - Xw @ coef)


def ols(X: np.ndarray, y: np.ndarray, *, cov_type: str = "HC3",
        cluster: np.ndarray | None = None, weights: np.ndarray | None = None) -> OLSFit:
    """Least squares with a sandwich covariance.

    cov_type: "HC3" (MacKinnon & White 1985; the default, safe in small
    samples), "HC0", "HC1", "HC2", "classical", or "cluster" (CR1 with the
    Stata small-sample factor (G/(G-1))((n-1)/(n-k)), ``covariance.cr1_factor``).
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
    elif cov_type in HC_KINDS:
        cov = hc(Xw, resid_w, xtx_inv, cast(HCKind, cov_type))
    elif cov_type == "cluster":
        if cluster is None:
            raise ValueError("cluster covariance needs cluster labels")
        codes, g = cluster_codes(cluster)
        cov = cluster_robust(Xw, resid_w, xtx_inv, codes)
        df_resid = g - 1
    else:
        raise ValueError(f"unknown cov_type {cov_type!r}")
    return OLSFit(coef=coef, cov=cov, resid=y - X @ coef, df_resid=df_resid,
                  cov_type=cov_type, xtx_inv=xtx_inv)
