"""Diagnostics computed from the data: balance, overlap, weights, VIF, separation."""
from __future__ import annotations

from .balance import smd, smd_table
from .collinearity import variance_inflation
from .overlap import common_support_share, propensity_auc
from .weights import effective_sample_size_ratio, max_weight_ratio, top_weight_share

__all__ = ["smd", "smd_table", "common_support_share", "propensity_auc", "effective_sample_size_ratio",
           "max_weight_ratio", "top_weight_share", "variance_inflation", "standard_diagnostics"]


def standard_diagnostics(prep, ps=None, weights=None) -> dict:
    """The diagnostics every selection-on-observables method reports."""
    import numpy as np

    out: dict = {"n_treated": int(prep.t.sum()), "n_control": int(prep.t.size - prep.t.sum()),
                 "rows_dropped_missing": prep.n_dropped,
                 "outcome_sd": float(np.std(prep.y, ddof=1)) if prep.y.size > 1 else float("nan"),
                 "outcome_mean_control": float(prep.y[prep.t == 0].mean())}
    if prep.X.shape[1]:
        out["smd_before"] = smd_table(prep.X, prep.t, prep.x_names)
        if weights is not None:
            out["smd_after"] = smd_table(prep.X, prep.t, prep.x_names, weights=weights)
        vif = variance_inflation(prep.X, prep.x_names)
        out["vif"] = vif
        out["max_vif"] = max(vif.values()) if vif else float("nan")
    if ps is not None:
        out["common_support_share"] = common_support_share(ps, prep.t)
        out["propensity_auc"] = propensity_auc(ps, prep.t)
        out["propensity_range"] = [float(np.min(ps)), float(np.max(ps))]
        out["ps_histogram"] = histogram_by_arm(ps, prep.t, lo=0.0, hi=1.0)
    if weights is not None:
        out["effective_sample_size_ratio"] = effective_sample_size_ratio(weights, prep.t)
        out["max_weight_ratio"] = max_weight_ratio(weights, prep.t)
        out["top_weight_share"] = top_weight_share(weights, prep.t)
        out["weight_histogram"] = histogram_by_arm(weights, prep.t)
    return out


def histogram_by_arm(values, t, bins: int = 30, lo: float | None = None, hi: float | None = None) -> dict:
    """Counts per bin for treated and untreated: a compact, JSON-friendly input for
    the overlap and weight plots (saved analyses redraw them without the rows)."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    lo = float(np.min(values)) if lo is None else lo
    hi = float(np.max(values)) if hi is None else hi
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    # Equal-width bins given as a count and a range are counted arithmetically instead of by
    # sorting; numpy corrects each bin index against these same edges, so the counts are equal.
    by_range = bool(np.isfinite(hi - lo) and np.all(np.diff(edges) > 0))
    spec = dict(bins=bins, range=(lo, hi)) if by_range else dict(bins=edges)
    treated = np.histogram(values[t == 1], **spec)[0]
    control = np.histogram(values[t == 0], **spec)[0]
    return {"edges": edges.tolist(), "treated": treated.tolist(), "control": control.tolist()}
