"""Render a VisualSpec with Plotly (the renderer that is always available)."""
from __future__ import annotations

from typing import Callable

import plotly.graph_objects as go

from .specs import VisualSpec

TREATED = "#E4572E"
CONTROL = "#2E86AB"
NEUTRAL = "#3B3B3B"


def _err(values, centre):
    return [None if (v is None or c is None) else abs(v - c) for v, c in zip(values, centre)]


def _forest(spec: VisualSpec) -> go.Figure:
    d = spec.data
    fig = go.Figure(go.Scatter(
        x=d["estimate"], y=d["method"], mode="markers", marker=dict(size=10, color=NEUTRAL),
        error_x=dict(type="data", symmetric=False, array=_err(d["ci_upper"], d["estimate"]),
                     arrayminus=_err(d["ci_lower"], d["estimate"])),
        hovertemplate="%{y}: %{x:.4g}<extra></extra>"))
    fig.add_vline(x=0, line_dash="dot", line_color="grey")
    return fig


def _love(spec: VisualSpec) -> go.Figure:
    d = spec.data
    fig = go.Figure(go.Scatter(x=[abs(v) if v is not None else None for v in d["before"]], y=d["covariate"],
                               mode="markers", name="before", marker=dict(color=CONTROL, symbol="circle-open",
                                                                          size=10)))
    if d.get("after"):
        fig.add_trace(go.Scatter(x=[abs(v) if v is not None else None for v in d["after"]], y=d["covariate"],
                                 mode="markers", name="after", marker=dict(color=TREATED, size=10)))
    fig.add_vline(x=d.get("threshold", 0.1), line_dash="dash", line_color="grey")
    fig.update_xaxes(title="absolute standardized mean difference")
    return fig


def _histogram(spec: VisualSpec) -> go.Figure:
    d = spec.data
    edges = d["edges"]
    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    width = edges[1] - edges[0]
    fig = go.Figure([
        go.Bar(x=centres, y=d["control"], name="untreated", marker_color=CONTROL, opacity=0.6, width=width),
        go.Bar(x=centres, y=d["treated"], name="treated", marker_color=TREATED, opacity=0.6, width=width)])
    fig.update_layout(barmode="overlay")
    return fig


def _radar(spec: VisualSpec) -> go.Figure:
    d = spec.data
    axes = list(d["axis"]) + [d["axis"][0]]
    values = list(d["value"]) + [d["value"][0]]
    fig = go.Figure(go.Scatterpolar(r=values, theta=axes, fill="toself", line_color=TREATED))
    fig.update_layout(polar=dict(radialaxis=dict(range=[0, 10])), showlegend=False)
    return fig


def _coef(spec: VisualSpec) -> go.Figure:
    d = spec.data
    fig = go.Figure(go.Scatter(
        x=d["label"], y=d["estimate"], mode="markers+lines", marker=dict(color=NEUTRAL),
        error_y=dict(type="data", symmetric=False, array=_err(d["ci_upper"], d["estimate"]),
                     arrayminus=_err(d["ci_lower"], d["estimate"]))))
    fig.add_hline(y=0, line_dash="dot", line_color="grey")
    return fig


def _lines(spec: VisualSpec) -> go.Figure:
    styles = {"solid": dict(mode="lines", line=dict(color=NEUTRAL, width=2.5)),
              "dash": dict(mode="lines", line=dict(color=TREATED, width=2.5, dash="dash")),
              "markers": dict(mode="markers", marker=dict(color=CONTROL, size=7)),
              "faint": dict(mode="lines", line=dict(color="rgba(120,120,120,0.35)", width=1), showlegend=False)}
    fig = go.Figure([go.Scatter(x=tr["x"], y=tr["y"], name=tr["name"], **styles.get(tr["style"], {}))
                     for tr in spec.data["traces"]])
    vline = spec.data.get("vline")
    if isinstance(vline, (int, float)):
        fig.add_vline(x=vline, line_dash="dot", line_color="grey")
    return fig


RENDERERS = {"lines": _lines, "forest": _forest, "love": _love, "overlap": _histogram, "weights": _histogram, "radar": _radar,
             "coef": _coef}


def register_renderer(kind: str, draw: Callable[[VisualSpec], go.Figure]) -> None:
    """Add a renderer for a new figure kind (a method's figures module calls this)."""
    RENDERERS[kind] = draw


def render(spec: VisualSpec) -> go.Figure:
    """A Plotly figure for ``spec`` (title and axis labels from the spec)."""
    fig = RENDERERS[spec.kind](spec)
    fig.update_layout(title=spec.title, template="plotly_white", margin=dict(l=40, r=20, t=50, b=40),
                      legend=dict(orientation="h", y=-0.2))
    if "x" in spec.labels and spec.kind not in ("radar",):
        fig.update_xaxes(title=spec.labels["x"])
    if "y" in spec.labels and spec.kind not in ("radar",):
        fig.update_yaxes(title=spec.labels["y"])
    return fig
