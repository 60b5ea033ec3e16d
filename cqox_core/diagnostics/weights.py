"""Weight diagnostics: effective sample size and how much of the weight the heaviest units carry."""
from __future__ import annotations

import math

import numpy as np

#: The weight_ratio gate reads the share of an arm's total weight carried by this fraction of its units.
TOP_WEIGHT_FRACTION = 0.01


def effective_sample_size_ratio(w: np.ndarray, t: np.ndarray) -> float:
    """min over arms of Kish's ESS (sum w)^2 / sum w^2 divided by the arm size."""
    t = t.astype(bool)
    ratios = []
    for arm in (t, ~t):
        wa = w[arm]
        total = wa.sum()
        if wa.size and total > 0:
            ratios.append(float(total ** 2 / np.sum(wa ** 2) / wa.size))
    return min(ratios) if ratios else float("nan")


def max_weight_ratio(w: np.ndarray, t: np.ndarray) -> float:
    """Largest weight divided by the mean weight of its arm (max over arms).

    Reported for the weight plot only: the largest of n draws grows with n, so
    no gate reads it (see ``top_weight_share``).
    """
    t = t.astype(bool)
    ratios = []
    for arm in (t, ~t):
        wa = w[arm]
        mean = wa.mean() if wa.size else 0.0
        if mean > 0:
            ratios.append(float(wa.max() / mean))
    return max(ratios) if ratios else float("nan")


def arm_top_share(w: np.ndarray, fraction: float = TOP_WEIGHT_FRACTION) -> float:
    """Share of the total of ``w`` carried by its largest ``fraction`` of units (a Lorenz-curve point).

    With m = fraction * n units the m largest weights are summed, the unit on the boundary counted by
    the fractional part of m, so equal weights give exactly ``fraction`` at every n. Unlike the largest
    weight this converges, as n grows, to E[w 1{w > q}] / E[w] (q the 1 - fraction quantile of the
    weights), so it reads the shape of the weight distribution, not the sample size. An arm of at most
    1/fraction units has m <= 1 and the share is fraction * max(w) / mean(w).
    """
    w = np.asarray(w, dtype=float)
    total = float(w.sum())
    if w.size == 0 or not total > 0:
        return math.nan
    m = fraction * w.size
    k = int(math.floor(m))
    # the k + 1 largest weights, in O(n): np.partition puts them at the end
    top = np.sort(np.partition(w, w.size - k - 1)[w.size - k - 1:])[::-1] if k < w.size else np.sort(w)[::-1]
    carried = float(top[:k].sum()) + ((m - k) * float(top[k]) if k < top.size else 0.0)
    return carried / total


def top_weight_share(w: np.ndarray, t: np.ndarray, fraction: float = TOP_WEIGHT_FRACTION) -> float:
    """Largest over arms of the share of the arm's total weight carried by its top ``fraction`` of units."""
    t = np.asarray(t).astype(bool)
    shares = [arm_top_share(w[arm], fraction) for arm in (t, ~t) if arm.any()]
    shares = [s for s in shares if math.isfinite(s)]
    return max(shares) if shares else float("nan")
