"""Figures shared by the CATE methods (meta_learner, causal_forest), built from the result's JSON form:
the estimated effects' distribution by GATES group, the group ATEs with their intervals, and the Qini
(uplift) curve. Their Plotly renderers are registered on first use (plotly is imported lazily)."""
from __future__ import annotations

import math
from typing import Any, Mapping

from ..specs import VisualSpec

GROUP_COLOURS = ("#2E86AB", "#6BA3C7", "#A9A9A9", "#EE9B7E", "#E4572E")
_REGISTERED = False


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def cate_distribution(result: Mapping[str, Any]) -> VisualSpec | None:
    d = result.get("diagnostics", {})
    hist = d.get("cate_histogram")
    if not hist:
        return None
    q = d.get("cate_quantiles", {})
    caption = ("How the estimated effects are spread across people, each coloured by its group from least (blue) "
               "to most (red) affected. "
               + (f"Half of the estimated effects lie between {q['25%']:.3g} and {q['75%']:.3g}. " if q else "")
               + "A wide spread alone does not prove the differences are real: see the test beside it.")
    return VisualSpec("cate_distribution", f"cate_distribution_{result.get('method', '')}",
                      f"Estimated individual effects ({result.get('method')})", dict(hist),
                      {"x": "estimated effect", "y": "units"}, caption)


def cate_by_group(result: Mapping[str, Any]) -> VisualSpec | None:
    d = result.get("diagnostics", {})
    rows = [r for r in d.get("gates", []) if _finite(r.get("estimate"))]
    if len(rows) < 2:
        return None
    data = {"group": [f"G{r['group']}" for r in rows], "estimate": [r["estimate"] for r in rows],
            "ci_lower": [r.get("ci_lower") for r in rows], "ci_upper": [r.get("ci_upper") for r in rows],
            "predicted": [r.get("cate_mean") for r in rows], "ate": result.get("estimate")}
    diff = d.get("gates_difference", {})
    sentence = (f"The most affected group gains {diff['estimate']:.3g} more than the least affected "
                f"(interval {diff['ci_lower']:.3g} to {diff['ci_upper']:.3g})." if _finite(diff.get("estimate"))
                and _finite(diff.get("ci_lower")) else "")
    caption = ("People sorted by their estimated effect into groups (G1 least, last group most affected). Bars: the "
               "average effect actually measured in each group on data the model did not see, with its interval; "
               "diamonds: what the model predicted. Rising bars mean the model tells who gains more. " + sentence)
    return VisualSpec("gates", f"cate_by_group_{result.get('method', '')}",
                      f"Effect by predicted-effect group (GATES, {result.get('method')})", data,
                      {"x": "group (by estimated effect)", "y": "effect"}, caption)


def qini(result: Mapping[str, Any]) -> VisualSpec | None:
    up = result.get("diagnostics", {}).get("uplift") or {}
    curve = up.get("curve")
    if not curve:
        return None
    value, ci = up.get("qini"), up.get("qini_ci")
    caption = ("Treat people in order of their estimated effect, most promising first: the curve is the total "
               "gain per person of the population when the share on the x-axis is treated; the straight line "
               "is treating the same share at random. "
               + (f"The area between them (Qini coefficient) is {value:.3g}" if _finite(value) else "")
               + (f", interval {ci[0]:.3g} to {ci[1]:.3g}." if ci and all(_finite(c) for c in ci) else "."))
    return VisualSpec("qini", f"qini_{result.get('method', '')}", f"Qini curve ({result.get('method')})", dict(curve),
                      {"x": "share of people treated (by estimated effect)", "y": "gain per person"}, caption)


def figures(result: Mapping[str, Any]) -> list[VisualSpec | None]:
    register()
    return [cate_by_group(result), cate_distribution(result), qini(result)]


# ---------------------------------------------------------------------------
# Plotly renderers
# ---------------------------------------------------------------------------

def register() -> None:
    global _REGISTERED
    if _REGISTERED:
        return
    from ..plotly_render import register_renderer

    register_renderer("cate_distribution", _distribution)
    register_renderer("gates", _gates)
    register_renderer("qini", _qini)
    _REGISTERED = True


def _distribution(spec: VisualSpec):
    import plotly.graph_objects as go

    d = spec.data
    edges = d["edges"]
    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    width = edges[1] - edges[0]
    groups = d.get("by_group") or [d["counts"]]
    colours = GROUP_COLOURS if len(groups) == 5 else [GROUP_COLOURS[0]] * len(groups)
    fig = go.Figure([go.Bar(x=centres, y=counts, width=width, name=f"G{g + 1}", marker_color=colours[g % 5])
                     for g, counts in enumerate(groups)])
    fig.update_layout(barmode="stack")
    return fig


def _gates(spec: VisualSpec):
    import plotly.graph_objects as go

    d = spec.data
    up = [None if h is None or e is None else h - e for h, e in zip(d["ci_upper"], d["estimate"])]
    down = [None if lo is None or e is None else e - lo for lo, e in zip(d["ci_lower"], d["estimate"])]
    fig = go.Figure([go.Bar(x=d["group"], y=d["estimate"], name="measured on held-out data",
                            marker_color="#2E86AB",
                            error_y=dict(type="data", symmetric=False, array=up, arrayminus=down)),
                     go.Scatter(x=d["group"], y=d["predicted"], mode="markers", name="predicted by the model",
                                marker=dict(symbol="diamond", size=11, color="#E4572E"))])
    if _finite(d.get("ate")):
        fig.add_hline(y=d["ate"], line_dash="dot", line_color="grey", annotation_text="average effect")
    return fig


def _qini(spec: VisualSpec):
    import plotly.graph_objects as go

    d = spec.data
    traces = []
    if d.get("lower") and d.get("upper"):
        traces += [go.Scatter(x=d["fraction"], y=d["upper"], mode="lines", line=dict(width=0), showlegend=False),
                   go.Scatter(x=d["fraction"], y=d["lower"], mode="lines", line=dict(width=0), fill="tonexty",
                              fillcolor="rgba(228,87,46,0.2)", name="interval")]
    traces += [go.Scatter(x=d["fraction"], y=d["gain"], mode="lines", name="targeting by estimated effect",
                          line=dict(color="#E4572E", width=2.5)),
               go.Scatter(x=d["fraction"], y=d["random"], mode="lines", name="random targeting",
                          line=dict(color="#3B3B3B", dash="dash"))]
    return go.Figure(traces)
