"""Figures of ``proximal``: the proximal estimate beside the two confounded OLS estimates (without
the proxies, and with them as if they were ordinary covariates), each with its interval."""
from __future__ import annotations

import math
from typing import Any, Mapping

from scipy import stats

from ..plotly_render import CONTROL, NEUTRAL, TREATED
from ..specs import VisualSpec


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def proximal_vs_ols(result: Mapping[str, Any]) -> VisualSpec | None:
    d = result.get("diagnostics", {})
    alpha = result.get("alpha", 0.05)
    z = float(stats.norm.ppf(1 - alpha / 2))
    rows = [("OLS, covariates only", d.get("ols_estimate"), d.get("ols_std_error"), CONTROL),
            ("OLS, proxies as covariates", d.get("proxy_adjusted_ols_estimate"),
             d.get("proxy_adjusted_ols_std_error"), NEUTRAL)]
    if not all(_finite(e) and _finite(s) for _, e, s, _ in rows) or not _finite(result.get("estimate")):
        return None
    labels = [r[0] for r in rows] + ["proximal 2SLS"]
    estimate = [r[1] for r in rows] + [result["estimate"]]
    lower = [e - z * s for _, e, s, _ in rows] + [result.get("ci_lower")]
    upper = [e + z * s for _, e, s, _ in rows] + [result.get("ci_upper")]
    level = int(round(100 * (1 - alpha)))
    return VisualSpec("effect_bars", "proximal_vs_ols", "Proximal estimate and the confounded alternatives",
                      {"label": labels, "estimate": estimate, "ci_lower": lower, "ci_upper": upper,
                       "colour": [c for *_, c in rows] + [TREATED]},
                      {"x": "estimator", "y": "effect on the outcome"},
                      f"The proximal estimate (right) against ordinary regression, with {level}% intervals. If a "
                      "hidden confounder drives treatment and outcome, regression is biased, and adding the proxies "
                      "as covariates only shrinks the bias; a large gap between the bars is the correction the "
                      "negative controls make.")


def figures(result: Mapping[str, Any]) -> list[VisualSpec | None]:
    from . import _advanced_plotly  # noqa: F401  -- registers the effect_bars renderer

    return [proximal_vs_ols(result)]
