"""Figures of dose_response: the curve with its pointwise band (beside the covariate-blind
regression on the dose), and the net value of each dose when a cost per unit was given."""
from __future__ import annotations

import math
from typing import Any, Mapping

from ..specs import VisualSpec
from . import _policy_plots

_policy_plots.register()


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def curve_figure(result: Mapping[str, Any]) -> VisualSpec | None:
    by = [b for b in result.get("by", []) if _finite(b.get("estimate")) and _finite(b.get("dose"))]
    if len(by) < 2:
        return None
    diag = result.get("diagnostics", {})
    x = [b["dose"] for b in by]
    extra = []
    if diag.get("naive_curve") and len(diag["naive_curve"]) == len(x):
        extra.append({"x": x, "y": diag["naive_curve"], "name": "outcome on dose alone (no adjustment)"})
    if diag.get("gps_curve") and len(diag["gps_curve"]) == len(x):
        extra.append({"x": x, "y": diag["gps_curve"], "name": "generalized propensity score (Hirano-Imbens)"})
    level = f"{1 - float(result.get('alpha', 0.05)):.0%}"
    data = {"x": x, "y": [b["estimate"] for b in by],
            "lower": [b["ci_lower"] if _finite(b.get("ci_lower")) else b["estimate"] for b in by],
            "upper": [b["ci_upper"] if _finite(b.get("ci_upper")) else b["estimate"] for b in by],
            "name": "average outcome at each dose", "band_name": f"{level} pointwise band", "extra": extra,
            "vlines": [{"x": diag[k], "text": k.split("_")[1]} for k in ("contrast_low", "contrast_high")
                       if _finite(diag.get(k))]}
    return VisualSpec("band_curve", f"dose_response_{result.get('method', 'dose_response')}", "Dose-response curve",
                      data, {"x": "dose", "y": "average outcome if everyone got this dose"},
                      f"The line is the average outcome we would expect if everyone received each dose, adjusted "
                      f"for the covariates; the shaded band is its {level} pointwise interval. The dashed line "
                      "ignores the covariates: where it departs from the band, confounding moves the naive answer.")


def net_value_figure(result: Mapping[str, Any]) -> VisualSpec | None:
    opt = result.get("diagnostics", {}).get("optimal_dose")
    if not opt or not opt.get("net_value_curve"):
        return None
    curve = opt["net_value_curve"]
    se = opt.get("net_value_std_error") or 0.0
    data = {"x": curve["dose"], "y": curve["net_value"], "lower": [v - 1.96 * se for v in curve["net_value"]],
            "upper": [v + 1.96 * se for v in curve["net_value"]], "name": "net value per unit",
            "band_name": "approximate 95% band (SE at the optimum)",
            "vlines": [{"x": opt["dose"], "text": "best dose"}, {"x": opt["ci_lower"], "text": ""},
                       {"x": opt["ci_upper"], "text": ""}]}
    return VisualSpec("band_curve", "dose_response_net_value", "Net value of each dose", data,
                      {"x": "dose", "y": "value of the outcome minus the dose's cost"},
                      f"Value of the expected outcome minus {opt['cost_per_unit']:g} per unit of dose. The best dose "
                      f"is {opt['dose']:.3g} (interval {opt['ci_lower']:.3g} to {opt['ci_upper']:.3g}, dotted lines).")


def figures(result: Mapping[str, Any]) -> list[VisualSpec | None]:
    return [curve_figure(result), net_value_figure(result)]
