"""The Decision page asks which direction of the outcome is good (issue 9, part 1): the default is
shown with its reason, the user's choice changes the verdict, and the minimum effect of interest
turns a clear but small effect into CANARY."""
from __future__ import annotations

import cqox_core as cq

from .conftest import go, texts


def _decided(app_as, campaign):
    at = app_as("ana", "mapping", dataset=campaign)
    analysis = cq.analyze(campaign, methods=["regression_adjustment", "ipw"], outcome="spend_after_90d",
                          treatment="got_voucher", covariates=["age_years", "prior_orders", "region"],
                          treated_value="yes")
    at.session_state["analysis"] = analysis.to_dict()
    return go(at, "report")


def test_the_default_direction_is_shown_with_its_reason(app_as, campaign):
    at = _decided(app_as, campaign)
    shown = " ".join(texts(at.text))
    assert "higher is better (default)" in shown and "'spend_after_90d'" in shown
    assert not any("HOLD_HARMFUL" in c for c in texts(at.caption))


def test_saying_lower_is_better_turns_a_rise_into_hold_harmful(app_as, campaign):
    at = _decided(app_as, campaign)
    at.radio(key="decision_better").set_value("lower").run()
    assert not at.exception
    assert any("## :red[HOLD]" in m for m in texts(at.markdown))
    assert any("HOLD_HARMFUL" in c for c in texts(at.caption))
    assert "lower is better (you said)" in " ".join(texts(at.text))


def test_a_minimum_effect_above_the_interval_is_canary(app_as, campaign):
    at = _decided(app_as, campaign)
    at.text_input(key="decision_min_effect").set_value("100").run()
    assert not at.exception
    assert any("CANARY_BELOW_MIN_EFFECT" in c for c in texts(at.caption))
    at.text_input(key="decision_min_effect").set_value("-3").run()
    assert any("E-DECISION-002" in e for e in texts(at.error))
