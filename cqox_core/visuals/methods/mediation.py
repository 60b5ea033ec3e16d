"""Figures of ``mediation``: the ACME, ADE and total effect with their intervals; the sensitivity
curve ACME(rho); and, with several mediators, each mediator's ACME side by side."""
from __future__ import annotations

import math
from typing import Any, Mapping

from ..plotly_render import CONTROL, NEUTRAL, TREATED
from ..specs import VisualSpec

PARTS = (("acme", "indirect (ACME)", TREATED), ("ade", "direct (ADE)", CONTROL), ("total", "total", NEUTRAL))


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def effect_parts(result: Mapping[str, Any]) -> VisualSpec | None:
    by = {b.get("label"): b for b in result.get("by", [])}
    parts = [(key, name, colour) for key, name, colour in PARTS if _finite(by.get(key, {}).get("estimate"))]
    if len(parts) < 3:
        return None
    level = int(round(100 * (1 - result.get("alpha", 0.05))))
    mediator = result.get("diagnostics", {}).get("mediator", "the mediator")
    share = by.get("proportion_mediated", {}).get("estimate")
    data = {"label": [name for _, name, _ in parts], "estimate": [by[k]["estimate"] for k, _, _ in parts],
            "ci_lower": [by[k].get("ci_lower") for k, _, _ in parts],
            "ci_upper": [by[k].get("ci_upper") for k, _, _ in parts], "colour": [c for _, _, c in parts]}
    caption = (f"The total effect of the treatment split into the part that passes through '{mediator}' (indirect, "
               f"ACME) and the rest (direct, ADE), with {level}% intervals from the simulation draws"
               + (f"; about {share:.0%} of the total runs through the mediator." if _finite(share) else "."))
    return VisualSpec("effect_bars", "mediation_parts", "Direct and indirect effects", data,
                      {"x": "effect", "y": "effect on the outcome"}, caption)


def sensitivity_curve(result: Mapping[str, Any]) -> VisualSpec | None:
    d = result.get("diagnostics", {})
    curve, rho = d.get("sensitivity_curve"), d.get("rho_at_zero")
    if not curve or not _finite(rho):
        return None
    traces = [{"name": "ACME if the errors correlate by rho", "x": curve["rho"], "y": curve["acme"],
               "style": "solid"},
              {"name": "no indirect effect", "x": curve["rho"], "y": [0.0] * len(curve["rho"]), "style": "dash"}]
    caption = (f"How the indirect effect would change if something unmeasured drove both '{d.get('mediator')}' "
               "and the outcome, making their unexplained parts correlate by rho (0 = no such confounder, the "
               f"estimate). The indirect effect vanishes at rho = {rho:.2f} (vertical line); the further from 0, "
               "the stronger a hidden confounder would have to be.")
    return VisualSpec("lines", "mediation_sensitivity", "Sensitivity of the indirect effect", {"traces": traces,
                      "vline": rho}, {"x": "rho (correlation of the mediator's and the outcome's errors)",
                                      "y": "ACME"}, caption)


def mediators_side_by_side(result: Mapping[str, Any]) -> VisualSpec | None:
    d = result.get("diagnostics", {})
    others = d.get("other_mediators") or {}
    if not others:
        return None
    rows = [(d.get("mediator"), d.get("effects", {}).get("acme", {}))]
    rows += [(name, o.get("effects", {}).get("acme", {})) for name, o in others.items()]
    rows = [(name, e) for name, e in rows if _finite(e.get("estimate"))]
    data = {"label": [str(n) for n, _ in rows], "estimate": [e["estimate"] for _, e in rows],
            "ci_lower": [e.get("ci_lower") for _, e in rows], "ci_upper": [e.get("ci_upper") for _, e in rows]}
    return VisualSpec("effect_bars", "mediation_by_mediator", "Indirect effect through each mediator", data,
                      {"x": "mediator", "y": "ACME"},
                      "Each bar is the indirect effect through one mediator, analysed one at a time. They add up "
                      "to the total only if the mediators do not affect one another.")


def figures(result: Mapping[str, Any]) -> list[VisualSpec | None]:
    from . import _advanced_plotly  # noqa: F401  -- registers the effect_bars renderer

    return [effect_parts(result), sensitivity_curve(result), mediators_side_by_side(result)]
