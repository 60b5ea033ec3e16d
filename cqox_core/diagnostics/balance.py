"""Covariate balance: standardized mean differences (Austin 2009)."""
from __future__ import annotations

import numpy as np


def smd(x: np.ndarray, t: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Standardized mean difference of one covariate.

    The denominator is the *unweighted* pooled SD sqrt((s1^2 + s0^2)/2), the same
    before and after adjustment, so a change in the SMD reflects a change in the
    means and not in the yardstick (Austin 2009, Stat Med 28:3083).
    """
    t = t.astype(bool)
    w = np.ones_like(x, dtype=float) if weights is None else np.asarray(weights, dtype=float)
    m1 = np.average(x[t], weights=w[t]) if w[t].sum() > 0 else np.nan
    m0 = np.average(x[~t], weights=w[~t]) if w[~t].sum() > 0 else np.nan
    sd = np.sqrt((np.var(x[t], ddof=1) + np.var(x[~t], ddof=1)) / 2) if min(t.sum(), (~t).sum()) > 1 else np.nan
    if not np.isfinite(sd) or sd == 0:
        return 0.0 if m1 == m0 else float("inf")
    return float((m1 - m0) / sd)


def smd_table(X: np.ndarray, t: np.ndarray, names: tuple[str, ...],
              weights: np.ndarray | None = None) -> dict[str, float]:
    """SMD per design column, keyed by column name: ``smd`` on every column at once.

    Each arm's columns are laid out as contiguous rows, so every mean and variance
    is summed in the same order as ``smd`` sums one column, to the last bit.
    """
    t = t.astype(bool)
    columns = np.asarray(X, dtype=float).T
    w = np.ones(t.size) if weights is None else np.asarray(weights, dtype=float)
    missing = np.full(len(names), np.nan)
    has_sd = min(t.sum(), (~t).sum()) > 1
    means, variances = [], []
    for arm in (t, ~t):
        values, wa = columns.compress(arm, axis=1), w[arm]
        total = wa.sum()
        means.append(np.multiply(values, wa).sum(axis=1) / total if total > 0 else missing)
        variances.append(values.var(axis=1, ddof=1) if has_sd else missing)
    m1, m0 = means
    sd = np.sqrt((variances[0] + variances[1]) / 2)
    out: dict[str, float] = {}
    for j, name in enumerate(names):
        if not np.isfinite(sd[j]) or sd[j] == 0:
            out[name] = 0.0 if m1[j] == m0[j] else float("inf")
        else:
            out[name] = float((m1[j] - m0[j]) / sd[j])
    return out


def max_abs(table: dict[str, float]) -> float:
    vals = [abs(v) for v in table.values() if v == v]
    return max(vals) if vals else 0.0
