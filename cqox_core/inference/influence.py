"""Standard errors from influence functions."""
from __future__ import annotations

import math

import numpy as np

from .covariance import cluster_codes, cr1_factor


def influence_se(phi: np.ndarray, cluster: np.ndarray | None = None) -> float:
    """SE of a mean-zero influence function: sqrt(var(phi)/n), or clustered sums.

    With clusters the influence values are summed within cluster (Liang & Zeger
    1986) and scaled by G/(G-1) (``cr1_factor`` without fitted parameters).
    """
    phi = np.asarray(phi, dtype=float)
    n = phi.size
    if cluster is None:
        return float(np.sqrt(np.sum((phi - phi.mean()) ** 2) / (n * (n - 1))))
    idx, g = cluster_codes(cluster)
    sums = np.bincount(idx, weights=phi - phi.mean(), minlength=g)
    if g < 2:
        return math.nan
    return float(np.sqrt(cr1_factor(g) * np.sum(sums ** 2)) / n)
