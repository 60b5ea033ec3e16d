"""Figures of policy_learning: the policy value curve (net benefit by share treated, ranked by the
estimated effect, with treat-all and the learned rule marked) and the coverage x budget surfaces
(net benefit: the Policy Evaluation 3D figure's data; the shadow price of the budget)."""
from __future__ import annotations

from typing import Any, Mapping

from ..specs import VisualSpec
from . import _policy_plots

_policy_plots.register()


def value_curve(result: Mapping[str, Any]) -> VisualSpec | None:
    diag = result.get("diagnostics", {})
    curve = (diag.get("policy_surface") or {}).get("value_curve")
    if not curve:
        return None
    x, y = curve["coverage"], curve["net_benefit"]
    head = result.get("estimate")
    data = {"x": x, "y": y, "lower": y, "upper": y, "name": "treat the top share by estimated effect",
            "band_name": "", "extra": [{"x": [0, 1], "y": [0, y[-1]], "name": "random targeting (treat-all line)"}],
            "vlines": [{"x": diag.get("treated_share_out_of_sample", 0), "text": "learned rule"}]}
    return VisualSpec("band_curve", "policy_value", "Policy value by share treated", data,
                      {"x": "share of units treated", "y": "net benefit per unit"},
                      f"Net benefit per unit when the units with the largest estimated effects are treated first, "
                      f"by share treated; the straight line is random targeting. The learned rule (dotted line) "
                      f"earns {head:.4g} per unit out of sample." if isinstance(head, (int, float)) else "")


def _surface(result: Mapping[str, Any], key: str, name: str, title: str, z_label: str,
             caption: str) -> VisualSpec | None:
    s = (result.get("diagnostics", {}) or {}).get("policy_surface")
    if not s:
        return None
    data = {"x": s["coverage"], "y": s["budget"], "z": s[key], "z_label": z_label}
    return VisualSpec("surface", name, title, data, {"x": "coverage (share)", "y": f"budget ({s['budget_unit']})"},
                      caption)


def figures(result: Mapping[str, Any]) -> list[VisualSpec | None]:
    return [value_curve(result),
            _surface(result, "net_benefit", "policy_evaluation_3d", "Net benefit over coverage and budget",
                     "net benefit", "Height: net benefit per unit of the population when at most the given share "
                     "may be treated and at most the given budget spent; it stops rising where extra treatment no "
                     "longer pays."),
            _surface(result, "shadow_price", "policy_shadow_price_3d", "Shadow price of the budget", "shadow price",
                     "Height: what one more unit of budget would earn (zero where the budget does not bind).")]
