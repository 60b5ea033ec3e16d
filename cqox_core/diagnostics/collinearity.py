"""Collinearity among covariates: variance inflation factors."""
from __future__ import annotations

import numpy as np


def variance_inflation(X: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
    """VIF_j = 1 / (1 - R_j^2), the diagonal of the inverse correlation matrix.

    A perfectly collinear column gets +inf (JSON null) rather than a made-up value.
    """
    if X.shape[1] < 2:
        return {n: 1.0 for n in names}
    corr = np.corrcoef(X, rowvar=False)
    try:
        inv = np.linalg.inv(corr)
        vif = np.diag(inv)
        cond = np.linalg.cond(corr)
    except np.linalg.LinAlgError:
        return {n: float("inf") for n in names}
    if not np.isfinite(cond) or cond > 1e12:
        # exact collinearity: report inf for columns that are linear combinations of others
        inv = np.linalg.pinv(corr)
        vif = np.where(np.abs(np.diag(inv)) > 1e8, np.inf, np.diag(inv))
    return {n: float(v) for n, v in zip(names, vif)}
