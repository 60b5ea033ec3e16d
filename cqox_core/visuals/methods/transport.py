"""Figures of ``transport``: the three transported estimates beside the study's own effect; the
covariate distributions of the study sample and the target population; and how far reweighting
the study closes the gap between them."""
from __future__ import annotations

import math
from typing import Any, Mapping

from scipy import stats

from ..plotly_render import CONTROL, NEUTRAL, TREATED
from ..specs import VisualSpec

NAMES = {"iosw": "weighting (IOSW)", "outcome_model": "outcome model", "dr": "doubly robust"}


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def estimates(result: Mapping[str, Any]) -> VisualSpec | None:
    d = result.get("diagnostics", {})
    by = [b for b in result.get("by", []) if b.get("label") in NAMES and _finite(b.get("estimate"))]
    src, src_se = d.get("source_ate"), d.get("source_ate_std_error")
    if len(by) < 3 or not (_finite(src) and _finite(src_se)):
        return None
    alpha = result.get("alpha", 0.05)
    z = float(stats.norm.ppf(1 - alpha / 2))
    data = {"label": ["study's own effect"] + [NAMES[b["label"]] for b in by],
            "estimate": [src] + [b["estimate"] for b in by],
            "ci_lower": [src - z * src_se] + [b.get("ci_lower") for b in by],
            "ci_upper": [src + z * src_se] + [b.get("ci_upper") for b in by],
            "colour": [CONTROL, NEUTRAL, NEUTRAL, TREATED]}
    level = int(round(100 * (1 - alpha)))
    return VisualSpec("effect_bars", "transport_estimates", "Effect in the target population", data,
                      {"x": "estimator", "y": "average effect"},
                      f"The study's own average effect (left) and three estimates of the effect in the target "
                      f"population, with {level}% intervals. They differ when something that changes the effect "
                      "is distributed differently in the two populations; the doubly robust estimate (right) is "
                      "the headline and stays right if either the weights or the outcome models are.")


def covariate_distributions(result: Mapping[str, Any]) -> list[VisualSpec]:
    d = result.get("diagnostics", {})
    before = d.get("site_smd_before") or {}
    out = []
    for name, hist in (d.get("site_covariate_histograms") or {}).items():
        shift = before.get(name)
        text = f" (standardized difference {shift:+.2f})" if _finite(shift) else ""
        out.append(VisualSpec("two_group_histogram", f"transport_covariate_{name}",
                              f"'{name}': study sample and target population", dict(hist),
                              {"x": name, "y": "rows"},
                              f"How '{name}' is distributed in the study (blue) and in the target population "
                              f"(orange){text}. Where the target has rows and the study has none, the study cannot "
                              "speak for them."))
    return out


def balance(result: Mapping[str, Any]) -> VisualSpec | None:
    d = result.get("diagnostics", {})
    before, after = d.get("site_smd_before") or {}, d.get("site_smd_after") or {}
    if not before:
        return None
    names = sorted(before, key=lambda k: abs(before[k] or 0))
    return VisualSpec("love", "transport_balance", "Study versus target, before and after reweighting",
                      {"covariate": names, "before": [before[k] for k in names],
                       "after": [after.get(k) for k in names], "threshold": 0.1},
                      {"x": "standardized difference (target minus study)"},
                      "Standardized differences between the target population and the study for each covariate, "
                      "as sampled (open circles) and after weighting the study by its inverse odds of sampling "
                      "(dots); near zero after weighting means the reweighted study resembles the target.")


def figures(result: Mapping[str, Any]) -> list[VisualSpec | None]:
    from . import _advanced_plotly  # noqa: F401  -- registers effect_bars and two_group_histogram

    return [estimates(result), balance(result), *covariate_distributions(result)]
