"""Weight diagnostics: effective sample size and extreme weights."""
from __future__ import annotations

import numpy as np


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
    """Largest weight divided by the mean weight of its arm (max over arms)."""
    t = t.astype(bool)
    ratios = []
    for arm in (t, ~t):
        wa = w[arm]
        mean = wa.mean() if wa.size else 0.0
        if mean > 0:
            ratios.append(float(wa.max() / mean))
    return max(ratios) if ratios else float("nan")
