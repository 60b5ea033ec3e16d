"""The analyst's walk through the pages, one page's logic at a time (AppTest, no browser).

Data: ``campaign_frame`` (600 rows, constant effect 8.0, confounded by prior
orders and age) with column names the mapper's own tests never use.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from cqox_core import registry
from cqox_core.data import Dataset
from cqox_core.store import Store
from cqox_core.visuals import figures_for_analysis

from .conftest import TRUE_EFFECT, campaign_frame, go, log_in, new_app, texts

BATTERY = {"aipw", "dml", "g_computation", "ipw", "psm", "regression_adjustment", "stratification"}
#: every method that needs covariates: the battery and the CATE methods run on request
NEEDS_COVARIATES = BATTERY | {"meta_learner", "causal_forest"}


def test_mapping_shows_the_auto_roles_and_stores_them(app_as, campaign):
    at = app_as("ana", "mapping", dataset=campaign)
    roles = at.session_state["roles"]
    assert (roles["outcome"], roles["treatment"], roles["treated_value"]) == ("spend_after_90d", "got_voucher", "yes")
    assert set(roles["covariates"]) == {"age_years", "prior_orders", "region"}
    assert at.selectbox(key="role-outcome").value == "spend_after_90d"
    assert at.selectbox(key="role-treatment").value == "got_voucher"
    # nothing edited yet: nothing unlocked or removed
    assert not at.success and not at.warning
    assert any(re.search(r"\d+ estimators can run with these roles", c) for c in texts(at.caption))


def test_mapping_edits_change_the_roles_and_say_what_they_unlock_or_remove(app_as, campaign):
    at = app_as("ana", "mapping", dataset=campaign)
    at.session_state["analysis"] = {"results": {}}  # a stale analysis must not survive a role change

    at.multiselect(key="role-covariates").set_value([]).run()
    assert not at.exception
    assert at.session_state["roles"]["covariates"] == []
    assert "analysis" not in at.session_state
    removed = texts(at.warning)
    assert len(removed) == 1 and removed[0].startswith("Your changes remove: ")
    gone = set(removed[0].removeprefix("Your changes remove: ").split(", "))
    # every method that needs covariates goes: the battery and the covariate-based ones run by choice
    assert gone >= BATTERY and all("covariates" in registry.get(m).requires.roles for m in gone)
    assert not at.success

    at.multiselect(key="role-instrument").set_value(["age_years"]).run()
    assert not at.exception
    assert at.session_state["roles"]["instrument"] == ["age_years"]
    assert texts(at.success) == ["Your changes unlock: iv"]

    # back to the automatic mapping: neither message
    at.multiselect(key="role-instrument").set_value([]).run()
    at.multiselect(key="role-covariates").set_value(["age_years", "prior_orders", "region"]).run()
    assert not at.exception and not at.success and not at.warning


def test_mapping_bad_cutoff_is_reported_and_ignored(app_as, campaign):
    at = app_as("ana", "mapping", dataset=campaign)
    at.text_input(key="role-cutoff").input("ten").run()
    assert "The cutoff 'ten' is not a number; it was ignored." in texts(at.error)
    assert at.session_state["roles"]["cutoff"] is None


def run_battery(at):
    """Click the run button; return (analysis, button label)."""
    button = next(b for b in at.button if b.label.startswith("Run "))
    label = button.label
    button.click().run()
    assert not at.exception, texts(at.exception)
    return at.session_state["analysis"], label


def test_estimators_preselects_the_battery_and_a_run_stores_the_analysis(app_as, campaign):
    at = app_as("ana", "mapping", dataset=campaign)
    go(at, "estimators")
    boxes = {c.key.removeprefix("use-"): c.value for c in at.checkbox if c.key and c.key.startswith("use-")}
    runnable = set(boxes)
    assert BATTERY <= runnable
    assert {m for m, on in boxes.items() if on} == runnable & set(registry.battery())
    assert at.subheader[0].value == f"{len(runnable)} can run with these roles"

    analysis, label = run_battery(at)
    assert label == f"Run {len(runnable & set(registry.battery()))} estimator(s)"
    assert set(analysis["results"]) == runnable & set(registry.battery())
    assert analysis["errors"] == {}
    assert analysis["headline"] == "aipw"  # doubly robust first (registry headline_rank)
    for method, r in analysis["results"].items():
        # the data have a constant effect of 8; four of the method's own standard errors is a loose
        # bound for a plumbing test (a wrong column or sign would be off by far more)
        assert abs(r["estimate"] - TRUE_EFFECT) < 4 * r["std_error"], (method, r["estimate"], r["std_error"])
        assert r["roles"]["treatment"] == "got_voucher"
    status = at.status[0]
    assert status.label == f"{len(analysis['results'])} of {len(analysis['results'])} estimators finished"
    assert not at.error


def test_estimators_run_only_what_is_ticked(app_as, campaign):
    at = app_as("ana", "estimators", dataset=campaign)
    at.session_state["roles"] = {"outcome": "spend_after_90d", "treatment": "got_voucher", "treated_value": "yes",
                                 "covariates": ["age_years", "prior_orders", "region"]}
    at.run()
    for c in at.checkbox:
        if c.key and c.key.startswith("use-") and c.key not in ("use-ipw", "use-regression_adjustment"):
            c.uncheck()
    at.run()
    analysis, label = run_battery(at)
    assert label == "Run 2 estimator(s)"
    assert set(analysis["results"]) == {"ipw", "regression_adjustment"}
    assert analysis["headline"] == "ipw"


def test_a_failing_estimator_shows_its_typed_error_and_the_others_still_run(app_as, campaign):
    at = app_as("ana", "estimators", dataset=campaign)
    at.session_state["roles"] = {"outcome": "spend_after_90d", "treatment": "got_voucher", "treated_value": "yes",
                                 "covariates": ["age_years", "prior_orders", "region"]}
    at.run()
    # the ATE matches in both directions, which needs replacement: psm must refuse (parameters that conflict)
    at.checkbox(key="param-psm-replace").uncheck().run()
    analysis, _ = run_battery(at)
    assert set(analysis["errors"]) == {"psm"}
    assert analysis["errors"]["psm"]["code"] == "E-METHOD-006"
    assert set(analysis["results"]) == BATTERY - {"psm"}
    shown = [e for e in texts(at.error) if e.startswith("psm could not run")]
    assert len(shown) == 1 and "`E-METHOD-006`" in shown[0] and "**What to do:**" in shown[0]
    assert at.status[0].label == f"{len(BATTERY) - 1} of {len(BATTERY)} estimators finished, 1 could not run"
    # the Results page repeats the error next to the five estimates
    go(at, "results")
    assert any(e.startswith("psm could not run") and "E-METHOD-006" in e for e in texts(at.error))
    assert at.dataframe[0].value["method"].tolist() == list(analysis["results"])


def test_roles_that_leave_too_few_treated_rows_make_arm_regressions_fail(app_as):
    """12 treated rows and a 15-level covariate: g_computation cannot fit a regression on the treated
    arm (19 terms) and says so; the propensity methods still give estimates."""
    frame = campaign_frame()
    rng = np.random.default_rng(1)
    frame["branch"] = rng.choice([f"b{i:02d}" for i in range(15)], len(frame))
    frame["got_voucher"] = "no"
    frame.loc[rng.choice(len(frame), 12, replace=False), "got_voucher"] = "yes"
    at = app_as("ana", "mapping", dataset=Dataset.from_frame(frame, source="few_treated.csv"))
    at.multiselect(key="role-covariates").set_value(["age_years", "prior_orders", "region", "branch"]).run()
    assert "branch" in at.session_state["roles"]["covariates"]
    go(at, "estimators")
    analysis, _ = run_battery(at)
    assert analysis["errors"]["g_computation"]["code"] == "E-EST-002"
    assert {"ipw", "psm", "stratification"} <= set(analysis["results"])
    assert any(e.startswith("g_computation could not run") and "E-EST-002" in e for e in texts(at.error))


@pytest.fixture
def analysed(app_as, campaign):
    """An app that has run the default battery on the campaign data."""
    at = app_as("ana", "mapping", dataset=campaign)
    go(at, "estimators")
    run_battery(at)
    return at


def test_results_page_shows_headline_table_and_forest_plot(analysed):
    at = go(analysed, "results")
    analysis = at.session_state["analysis"]
    head = analysis["headline"]
    estimate = analysis["results"][head]["estimate"]
    headline = next(m for m in texts(at.markdown) if m.startswith(f"**Headline ({head}):**"))
    assert f"by {abs(estimate):.4g}" in headline
    assert set(at.dataframe[0].value["method"]) == set(analysis["results"])
    assert len(at.get("plotly_chart")) >= 1


def test_gates_page_counts_pass_warn_fail_for_the_chosen_method(analysed):
    at = go(analysed, "gates")
    analysis = at.session_state["analysis"]
    assert at.selectbox[0].value == analysis["headline"]
    for method in ("aipw", "psm"):
        at.selectbox[0].set_value(method).run()
        assert not at.exception
        gates = analysis["results"][method]["gates"]
        assert gates, f"{method} has no gates"
        metrics = {m.label: m.value for m in at.metric}
        for status in ("pass", "warn", "fail"):
            assert metrics[status.title()] == str(sum(g["status"] == status for g in gates))
        lines = [m for m in texts(at.markdown) if " — PASS (" in m or " — WARN (" in m or " — FAIL (" in m]
        assert len(lines) == len(gates)
        for g, line in zip(gates, lines):
            assert f"**{g['name'].replace('_', ' ')}** — {g['status'].upper()}" in line
    assert float(metrics["Causal Assurance Score"].split(" / ")[0]) == pytest.approx(
        analysis["cas"]["psm"]["overall"], abs=0.05)
    assert len(at.get("plotly_chart")) >= 2  # balance / overlap / weights / CAS radar


def test_visuals_page_draws_every_figure_of_the_analysis(analysed):
    at = go(analysed, "visuals")
    specs = figures_for_analysis(at.session_state["analysis"])
    assert specs
    assert len(at.get("plotly_chart")) == len(specs)


def test_report_page_decides_and_saves_a_shared_analysis(analysed, data_dir):
    at = go(analysed, "report")
    head = at.session_state["analysis"]["headline"]
    assert any(re.search(r"## :\w+\[(GO|CANARY|HOLD)\]", m) and head in m for m in texts(at.markdown))
    next(b for b in at.button if b.label == "Save analysis").click().run()
    assert not at.exception
    analysis_id = at.session_state["last_saved"]
    assert texts(at.code) == [f"/saved?analysis={analysis_id}"]
    saved = Store(data_dir).get_analysis(analysis_id)
    assert saved.owner == "ana" and saved.shared
    assert saved.payload["headline"] == head and saved.payload["decision"]["label"] in ("GO", "CANARY", "HOLD")
    actions = [row["action"] for row in Store(data_dir).audit_log()]
    assert "share" in actions and "run" in actions


def test_a_shared_link_opens_read_only_for_a_viewer(analysed, data_dir):
    payload = analysed.session_state["analysis"]
    analysis_id = Store(data_dir).save_analysis("ana", "voucher test", payload, shared=True)

    at = new_app().run()
    log_in(at, "vic")
    at.query_params["analysis"] = analysis_id
    go(at, "saved")
    assert texts(at.title) == ["voucher test"]
    head = payload["headline"]
    assert any(m.startswith("**Headline:**") and f"by {abs(payload['results'][head]['estimate']):.4g}" in m
               for m in texts(at.markdown))
    assert not at.button or all(b.label != "Save analysis" for b in at.button)


def test_a_private_analysis_is_refused_to_another_user(data_dir, campaign):
    analysis_id = Store(data_dir).save_analysis("admin", "private", {"results": {}}, shared=False)
    at = new_app().run()
    log_in(at, "vic")
    at.query_params["analysis"] = analysis_id
    go(at, "saved")
    assert any(e.startswith("This link cannot be opened") and "E-STORE-002" in e for e in texts(at.error))


def test_a_shared_link_to_any_page_opens_the_saved_analysis(analysed, data_dir):
    """app.py sends ?analysis=<id> to the Saved analyses page from whichever page the link names."""
    analysis_id = Store(data_dir).save_analysis("ana", "via home", analysed.session_state["analysis"], shared=True)
    at = new_app().run()
    log_in(at, "vic")
    at.query_params["analysis"] = analysis_id
    go(at, "home")
    assert texts(at.title) == ["via home"]
