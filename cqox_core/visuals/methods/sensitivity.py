"""Figures of the sensitivity panel: the "sensitivity_contour" of Cinelli & Hazlett (2020).

``sensitivity_contour`` reads ``result["sensitivity"]["contour"]`` (attached to every regression
adjustment and, on a finer grid, to the ``sensitivity`` method), so the Gates page can draw it for either.
The data are in long form (one row per grid point) so the figure's CSV download is the grid itself.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from ..specs import VisualSpec

KIND = "sensitivity_contour"


def sensitivity_contour(result: Mapping[str, Any]) -> VisualSpec | None:
    """Adjusted estimate over (partial R² with treatment, partial R² with outcome), benchmarks marked."""
    contour = (result.get("sensitivity") or {}).get("contour")
    if not contour or not contour.get("r2dz_x"):
        return None
    x, y = contour["r2dz_x"], contour["r2yz_dx"]
    surface = contour["adjusted_estimate"]
    data = {"r2dz_x": [x[j] for _ in y for j in range(len(x))],
            "r2yz_dx": [y[i] for i in range(len(y)) for _ in x],
            "adjusted_estimate": [surface[i][j] for i in range(len(y)) for j in range(len(x))],
            "grid_points": len(x), "threshold": contour.get("threshold", 0.0), "estimate": contour["estimate"],
            "benchmarks": {k: [b.get(k) for b in contour.get("benchmarks", [])]
                           for k in ("label", "r2dz_x", "r2yz_dx", "adjusted_estimate")}}
    marks = contour.get("benchmarks", [])
    sentence = ("Each line joins hypothetical unmeasured confounders that would leave the same estimate once "
                "accounted for: further right, the confounder explains more of the treatment; further up, more of "
                "the outcome. The red dashed line is where the estimate would be zero.")
    if marks:
        first = marks[0]
        adjusted = first.get("adjusted_estimate")
        shown = f"{adjusted:.4g}" if isinstance(adjusted, (int, float)) and math.isfinite(adjusted) else "n/a"
        sentence += (f" Red diamonds are confounders 1, 2 and 3 times as strong as measured covariates; one as strong "
                     f"as '{first['covariate']}' would leave {shown} (unadjusted {contour['estimate']:.4g}).")
    return VisualSpec(KIND, f"sensitivity_contour_{result.get('method', '')}",
                      f"Sensitivity contour ({result.get('method')})", data,
                      {"x": "partial R² of the confounder with the treatment",
                       "y": "partial R² of the confounder with the outcome"}, sentence)


def figures(result: Mapping[str, Any]) -> list[VisualSpec]:
    spec = sensitivity_contour(result)
    return [spec] if spec is not None else []


def _draw(spec: VisualSpec) -> Any:
    import plotly.graph_objects as go

    d = spec.data
    n = int(d["grid_points"])
    x, y = d["r2dz_x"][:n], d["r2yz_dx"][::n]
    z = [d["adjusted_estimate"][i * n:(i + 1) * n] for i in range(len(y))]
    fig = go.Figure(go.Contour(x=x, y=y, z=z, contours=dict(coloring="lines", showlabels=True),
                               colorscale=[[0, "#3B3B3B"], [1, "#3B3B3B"]], showscale=False, name="adjusted estimate",
                               hovertemplate="R²(D): %{x:.3f}<br>R²(Y): %{y:.3f}<br>estimate %{z:.4g}<extra></extra>"))
    threshold = float(d.get("threshold", 0.0))
    fig.add_trace(go.Contour(x=x, y=y, z=z, contours=dict(start=threshold, end=threshold, size=1, coloring="lines"),
                             line=dict(color="#E4572E", dash="dash", width=2.5), showscale=False,
                             colorscale=[[0, "#E4572E"], [1, "#E4572E"]], hoverinfo="skip", name="estimate = 0"))
    fig.add_trace(go.Scatter(x=[0], y=[0], mode="markers+text", marker=dict(color="#3B3B3B", size=9),
                             text=[f"unadjusted {d['estimate']:.3g}"], textposition="top right", name="unadjusted"))
    marks = d.get("benchmarks") or {}
    if marks.get("label"):
        fig.add_trace(go.Scatter(x=marks["r2dz_x"], y=marks["r2yz_dx"], mode="markers+text", text=marks["label"],
                                 textposition="top right", marker=dict(color="#E4572E", symbol="diamond", size=9),
                                 name="benchmarks"))
    fig.update_layout(showlegend=False)
    return fig


def _register() -> None:
    from ..plotly_render import register_renderer

    register_renderer(KIND, _draw)


_register()
