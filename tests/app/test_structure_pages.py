"""Estimators and Results pages on a long panel (issue 9, parts 6 and 13): the data's structure is
shown in one sentence, only the designs that fit it are pre-selected, the others carry their caution,
refused designs show their reason before Run, user-supplied column names are rendered as plain text
(never Markdown or HTML), and the Results page compares only like with like."""
from __future__ import annotations

from cqox_core import registry
from cqox_core.data import Dataset
from cqox_core.datasets.designs import simulate_store_promotion

from .conftest import go, texts

#: Column names with Markdown and HTML in them: they must reach the page as text, not markup.
UNIT = "store <b>id</b>"
SIZE = "size_*m2*"


def panel_dataset() -> Dataset:
    frame = simulate_store_promotion(seed=0).rename(columns={"store_id": UNIT, "store_size": SIZE})
    return Dataset.from_frame(frame, source="stores.csv")


def open_estimators(app_as):
    at = app_as("ana", "estimators", dataset=panel_dataset())
    at.session_state["roles"] = {"outcome": "sales", "treatment": "promo", "covariates": [SIZE, "temperature"],
                                 "unit": UNIT, "time": "week"}
    at.run()
    assert not at.exception, texts(at.exception)
    return at


def test_estimators_page_preselects_only_designs_that_fit_the_panel(app_as):
    at = open_estimators(app_as)
    boxes = {c.key.removeprefix("use-"): c.value for c in at.checkbox if c.key and c.key.startswith("use-")}
    panel = {s.id for s in registry.methods() if s.design == "panel" and s.battery}
    cross = {s.id for s in registry.methods() if s.design == "cross_section" and s.battery}
    assert cross <= set(boxes) and not any(boxes[m] for m in cross)  # runnable, not pre-selected
    assert {m for m, on in boxes.items() if on} == panel & set(boxes)
    assert "synthetic_control" not in boxes and "its" not in boxes  # refused before Run
    plain = texts(at.text)
    assert any(t.startswith(f"Panel: 60 units ('{UNIT}') x 52 periods ('week')") for t in plain)
    assert sum(t.startswith("Not pre-selected. Not comparable with the panel designs") for t in plain) == len(cross)
    assert any("an interrupted time series needs one series" in t and UNIT in t for t in plain)
    # the user's column names never reach Markdown (where <b> or *...* would be markup)
    rendered = texts(at.markdown) + texts(at.caption) + texts(at.warning) + texts(at.info)
    assert not any(UNIT in m or SIZE in m for m in rendered)


def test_results_page_compares_like_with_like_after_a_hand_picked_run(app_as):
    at = open_estimators(app_as)
    at.checkbox(key="use-regression_adjustment").check().run()
    button = next(b for b in at.button if b.label.startswith("Run "))
    button.click().run()
    assert not at.exception, texts(at.exception)
    analysis = at.session_state["analysis"]
    assert "regression_adjustment" in analysis["results"]
    assert any(w.startswith("Not comparable") for w in analysis["results"]["regression_adjustment"]["warnings"])
    at = go(at, "results")
    summaries = texts(at.info) + texts(at.warning) + texts(at.success)
    like = [s for s in summaries if s.startswith("Compared only like with like")]
    assert len(like) == 1 and "cross-sectional ATE estimates ignore the data's structure" in like[0]
    assert len(at.get("plotly_chart")) == len(analysis["comparison"]["groups"]) == 2
