"""Overlap (positivity) diagnostics on the propensity score."""
from __future__ import annotations

import numpy as np
from scipy import stats


def common_support_share(ps: np.ndarray, t: np.ndarray) -> float:
    """Share of units whose score lies in the min-max overlap of both groups
    [max(min_1, min_0), min(max_1, max_0)] (Dehejia & Wahba 1999)."""
    t = t.astype(bool)
    lo = max(ps[t].min(), ps[~t].min())
    hi = min(ps[t].max(), ps[~t].max())
    if lo > hi:
        return 0.0
    return float(np.mean((ps >= lo) & (ps <= hi)))


def propensity_auc(ps: np.ndarray, t: np.ndarray) -> float:
    """Area under the ROC curve of the score (Mann-Whitney form).

    Near 1 means the covariates (nearly) separate treated from untreated:
    there is no one comparable to compare with.
    """
    t = t.astype(bool)
    n1, n0 = int(t.sum()), int((~t).sum())
    ranks = stats.rankdata(ps)
    return float((ranks[t].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
