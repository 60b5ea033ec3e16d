"""Plotly renderers for the figure kinds of the mediation, proximal and transport figures:
``effect_bars`` (labelled estimates with intervals as bars) and ``two_group_histogram``
(one variable's distribution in two groups, e.g. study sample and target population).

Imported by those methods' figures modules when they build their specs, so plotly is loaded
only where figures are drawn; registering twice is harmless."""
from __future__ import annotations

import plotly.graph_objects as go

from ..plotly_render import CONTROL, NEUTRAL, TREATED, register_renderer
from ..specs import VisualSpec


def _errors(values: list, centre: list) -> list:
    return [None if (v is None or c is None) else abs(v - c) for v, c in zip(values, centre)]


def effect_bars(spec: VisualSpec) -> go.Figure:
    d = spec.data
    colours = d.get("colour") or [NEUTRAL] * len(d["label"])
    fig = go.Figure(go.Bar(
        x=d["label"], y=d["estimate"], marker_color=colours,
        error_y=dict(type="data", symmetric=False, array=_errors(d["ci_upper"], d["estimate"]),
                     arrayminus=_errors(d["ci_lower"], d["estimate"])),
        hovertemplate="%{x}: %{y:.4g}<extra></extra>"))
    fig.add_hline(y=0, line_color="grey", line_width=1)
    return fig


def two_group_histogram(spec: VisualSpec) -> go.Figure:
    d = spec.data
    edges = d["edges"]
    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    width = edges[1] - edges[0] if len(edges) > 1 else 1.0
    fig = go.Figure([
        go.Bar(x=centres, y=d["first"], name=d.get("first_name", "first"), marker_color=CONTROL, opacity=0.6,
               width=width),
        go.Bar(x=centres, y=d["second"], name=d.get("second_name", "second"), marker_color=TREATED,
               opacity=0.6, width=width)])
    fig.update_layout(barmode="overlay")
    return fig


register_renderer("effect_bars", effect_bars)
register_renderer("two_group_histogram", two_group_histogram)
