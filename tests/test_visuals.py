"""Figure specs are built from result dicts (so saved analyses redraw them) and render with Plotly."""
from __future__ import annotations

import json

import pytest
from test_contract import case

import cqox_core as cq
from cqox_core.visuals import VisualSpec, figures_for_analysis, render
from cqox_core.visuals.specs import by_plot, placebo_plot, rd_plot, series_plot


@pytest.mark.parametrize("method,builder", [
    ("rd", rd_plot), ("its", series_plot), ("synthetic_control", series_plot),
    ("synthetic_control", placebo_plot), ("event_study", by_plot), ("staggered_did", by_plot),
])
def test_design_figures_come_from_the_result_dict(method, builder):
    data, kw = case(method)
    result = json.loads(json.dumps(cq.estimate(method, data, **kw).to_dict()))  # as stored in a saved analysis
    spec = builder(result)
    assert spec is not None and spec.caption
    again = VisualSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    fig = render(again)
    assert len(fig.data) >= 1
    if method == "staggered_did":
        assert all(label.startswith("e=") for label in spec.data["label"])


def test_every_figure_of_an_analysis_renders(confounded):
    analysis = cq.analyze(confounded, outcome="outcome", treatment="treated",
                          methods=["ipw", "psm", "regression_adjustment"]).to_dict()
    specs = figures_for_analysis(analysis)
    kinds = {s.kind for s in specs}
    assert {"forest", "love", "overlap", "weights", "radar"} <= kinds
    for spec in specs:
        assert render(spec).layout.title.text == spec.title
