"""Gates page: the sensitivity paragraph and contour, and the refuters and specification curve run on
request (buttons with progress bars) whose results update the estimate's gates and score (AppTest)."""
from __future__ import annotations

from .conftest import go, texts


def test_refuters_and_specification_curve_buttons_update_the_estimate(app_as, campaign):
    at = app_as("ana", "mapping", dataset=campaign)
    go(at, "estimators")
    next(b for b in at.button if b.label.startswith("Run ")).click().run()
    assert not at.exception
    go(at, "gates")
    at.selectbox[0].set_value("regression_adjustment").run()
    assert not at.exception
    # the regression's paragraph ("... times as strong as ...") and its sensitivity contour are shown
    assert any("times as strong as" in t for t in texts(at.info))
    charts_before = len(at.get("plotly_chart"))
    before = at.session_state["analysis"]["cas"]["regression_adjustment"]

    next(b for b in at.button if b.label == "Run the refuters").click().run()
    assert not at.exception, [e.value for e in at.exception]
    result = at.session_state["analysis"]["results"]["regression_adjustment"]
    report = result["diagnostics"]["refutation"]
    assert report["applicable"] == 4
    assert any(g["name"] == "refutation" for g in result["gates"])
    after = at.session_state["analysis"]["cas"]["regression_adjustment"]
    assert "refutation_share_passed" in after["inputs"]["robustness"]
    assert "refutation_share_passed" not in before["inputs"]["robustness"]
    assert any(report["text"] == t for t in (str(m.value) for m in at.markdown))

    next(b for b in at.button if b.label == "Run the specification curve").click().run()
    assert not at.exception, [e.value for e in at.exception]
    result = at.session_state["analysis"]["results"]["regression_adjustment"]
    curve = result["diagnostics"]["specification_curve"]
    assert curve["n_alternatives"] >= 3 and curve["reused"]       # the analysis' other estimators reused
    assert len(at.get("plotly_chart")) == charts_before + 1
    assert "specification_curve_share_agree" in \
        at.session_state["analysis"]["cas"]["regression_adjustment"]["inputs"]["robustness"]
