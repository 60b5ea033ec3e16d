"""Plotly renderers shared by the policy methods' figures (dose_response, ope, policy_learning):
a curve with its band, and a surface. Registered when a figures module imports this one."""
from __future__ import annotations

from ..specs import VisualSpec


def _band(spec: VisualSpec):
    import plotly.graph_objects as go

    d = spec.data
    x = d["x"]
    fig = go.Figure([
        go.Scatter(x=x + x[::-1], y=d["upper"] + d["lower"][::-1], fill="toself", fillcolor="rgba(228,87,46,0.18)",
                   line=dict(width=0), name=d.get("band_name", "95% band"), hoverinfo="skip"),
        go.Scatter(x=x, y=d["y"], mode="lines+markers", name=d.get("name", "estimate"),
                   line=dict(color="#E4572E", width=2.5))])
    for extra in d.get("extra", []):
        fig.add_trace(go.Scatter(x=extra["x"], y=extra["y"], mode="lines", name=extra["name"],
                                 line=dict(dash="dash", width=1.5)))
    for v in d.get("vlines", []):
        fig.add_vline(x=v["x"], line_dash="dot", line_color="grey", annotation_text=v.get("text", ""))
    return fig


def _surface(spec: VisualSpec):
    import plotly.graph_objects as go

    d = spec.data
    return go.Figure(go.Surface(x=d["x"], y=d["y"], z=d["z"], colorscale="RdBu", reversescale=True,
                                colorbar=dict(title=d.get("z_label", ""))))


def register() -> None:
    from ..plotly_render import register_renderer

    register_renderer("band_curve", _band)
    register_renderer("surface", _surface)
