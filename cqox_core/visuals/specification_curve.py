"""The "specification_curve" figure: every specification's estimate, sorted, with its interval.

The builder reads the JSON form of a curve (``SpecificationCurve.to_dict()``), or a result whose
``diagnostics.specification_curve`` holds one, so a saved analysis redraws it without the rows.
Specifications that agree with the headline in sign and significance are dark, the others orange,
the headline is the large point; the plot also registers its Plotly renderer.
"""
from __future__ import annotations

from typing import Any, Mapping

from .specs import VisualSpec

KIND = "specification_curve"


def curve_of(source: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The curve itself, whether given directly or inside a result's diagnostics."""
    if "specs" in source:
        return source
    curve = (source.get("diagnostics") or {}).get("specification_curve")
    return curve if isinstance(curve, Mapping) and curve.get("specs") else None


def specification_curve_plot(source: Mapping[str, Any], method: str = "") -> VisualSpec | None:
    curve = curve_of(source)
    if curve is None:
        return None
    rows = curve["specs"]
    data = {"rank": list(range(1, len(rows) + 1)), "label": [r["label"] for r in rows],
            "kind": [r["kind"] for r in rows], "estimate": [r["estimate"] for r in rows],
            "ci_lower": [r.get("ci_lower") for r in rows], "ci_upper": [r.get("ci_upper") for r in rows],
            "agrees": [bool(r.get("agrees")) for r in rows], "headline": [bool(r.get("headline")) for r in rows]}
    method = method or str(curve.get("method") or source.get("method") or "")
    share = curve.get("share_agree")
    caption = ("Each point is the estimate under one reasonable way of running the analysis (a covariate left out, "
               "another trimming or caliper, learner or estimator), sorted from smallest to largest, with its "
               "interval; the large point is the headline. Orange points disagree with it in sign or significance. "
               + (f"{share:.0%} of the {curve.get('n_alternatives')} alternatives agree." if isinstance(share, float)
                  else ""))
    return VisualSpec(KIND, f"specification_curve_{method}", f"Specification curve ({method})", data,
                      {"x": "specifications, sorted by estimate", "y": "effect"}, caption)


def _draw(spec: VisualSpec) -> Any:
    import plotly.graph_objects as go

    d = spec.data
    fig = go.Figure()
    for agrees, colour, name in ((True, "#3B3B3B", "agrees with the headline"),
                                 (False, "#E4572E", "disagrees (sign or significance)")):
        idx = [i for i, a in enumerate(d["agrees"]) if a == agrees]
        if not idx:
            continue
        est = [d["estimate"][i] for i in idx]
        up = [None if d["ci_upper"][i] is None else d["ci_upper"][i] - d["estimate"][i] for i in idx]
        down = [None if d["ci_lower"][i] is None else d["estimate"][i] - d["ci_lower"][i] for i in idx]
        fig.add_trace(go.Scatter(
            x=[d["rank"][i] for i in idx], y=est, mode="markers", name=name,
            marker=dict(color=colour, size=[14 if d["headline"][i] else 8 for i in idx]),
            error_y=dict(type="data", symmetric=False, array=up, arrayminus=down, color=colour, thickness=1),
            text=[d["label"][i] for i in idx], hovertemplate="%{text}: %{y:.4g}<extra></extra>"))
    fig.add_hline(y=0, line_dash="dot", line_color="grey")
    fig.update_xaxes(tickmode="array", tickvals=d["rank"], ticktext=d["label"], tickangle=-45)
    return fig


def _register() -> None:
    from .plotly_render import register_renderer

    register_renderer(KIND, _draw)


_register()
