"""Weight diagnostics: effective sample size and extreme weights."""
from __future__ import annotations

import numpy as np


def effective_sample_size_ratio(w: np.ndarray, t: np.ndarray) -> float:
    """min over arms of Kish's ESS (sum w)^2 / sum w^2 divided by the arm size."""
    t = t.astype(bool)
    ratios = []
    for arm in (t, ~t):
        wa = w[arm]
        if wa.size and wa.sum() > 0:
            ratios.append(float(wa.sum() ** 2 / np.sum(wa ** 2) / wa.size))
    return min(ratios) if ratios else float("nan")


def max_weight_ratio(w: np.ndarray, t: np.ndarray) -> float:
    """Largest weight divided by the mean weight of its arm (max over arms)."""
    t = t.astype(bool)
    ratios = [float(w[arm].max() / w[arm].mean()) for arm in (t, ~t) if w[arm].size and w[arm].mean() > 0]
    return max(ratios) if ratios else float("nan")
