"""Faults seen from the app: a full disk while saving, a damaged saved analysis, the database going away
mid-session. Each gives a clear message, loses nothing already saved or on screen, and the same app
process recovers without a restart. (The store-level versions are in tests/store/test_store_faults.py.)
"""
from __future__ import annotations

import pytest
from sqlalchemy import event, text

from app_lib import auth
from cqox_core.store import Store

from .conftest import go, log_in, new_app, texts

ROLES = {"outcome": "spend_after_90d", "treatment": "got_voucher", "treated_value": "yes",
         "covariates": ["age_years", "prior_orders", "region"]}


def analysed_app(app_as, campaign):
    """ana, one estimator run (ipw), on the Decision & report page."""
    at = app_as("ana", "estimators", dataset=campaign)
    at.session_state["roles"] = ROLES
    at.run()
    for box in at.checkbox:
        if box.key and box.key.startswith("use-") and box.key != "use-ipw":
            box.uncheck()
    at.run()
    next(b for b in at.button if b.label.startswith("Run ")).click().run()
    assert not at.exception
    return go(at, "report")


def save(at):
    next(b for b in at.button if b.label == "Save analysis").click().run()
    assert not at.exception, texts(at.exception)
    return at


def test_a_full_disk_while_saving_says_so_keeps_the_analysis_and_saves_once_space_is_back(app_as, campaign,
                                                                                       data_dir):
    earlier = Store(data_dir).save_analysis("ana", "saved yesterday", {"headline": "ipw", "results": {}})
    at = analysed_app(app_as, campaign)
    engine = Store(data_dir).engine  # the app's engine: one per database URL and process
    assert engine is auth.store().engine
    with Store(data_dir)._read("measuring") as con:
        pages = con.execute(text("PRAGMA page_count")).scalar_one()

    def full(dbapi_connection, _record) -> None:  # SQLite's own out-of-space path (SQLITE_FULL)
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(engine, "connect", full)
    try:
        # a payload far larger than the free pages left: the insert needs new pages
        at.session_state["analysis"] = {**at.session_state["analysis"], "padding": "x" * 3_000_000}
        at.run()
        save(at)
    finally:
        event.remove(engine, "connect", full)
    shown = [e for e in texts(at.error) if e.startswith("The analysis was not saved")]
    assert len(shown) == 1 and "ran out of disk space" in shown[0] and "`E-STORE-004`" in shown[0]
    assert "last_saved" not in at.session_state
    assert at.session_state["analysis"]["headline"] == "ipw"  # still on screen, nothing lost
    assert [a.id for a in Store(data_dir).list_analyses()] == [earlier]
    save(at)  # space is back: the same process saves it now
    assert at.session_state["last_saved"] and not [e for e in texts(at.error) if "not saved" in e]
    assert len(Store(data_dir).list_analyses()) == 2


def test_a_damaged_saved_analysis_gives_a_clear_message_and_the_others_still_open(data_dir):
    store = Store(data_dir)
    good = store.save_analysis("ana", "good one", {"headline": None, "results": {}, "source": "a.csv",
                                                   "n_rows": 10}, shared=True)
    bad = store.save_analysis("ana", "damaged one", {"results": {}}, shared=True)
    with store._write("damaging") as con:
        con.execute(text("UPDATE analyses SET payload = '{\"resu' WHERE id = :id"), {"id": bad})
    at = new_app().run()
    log_in(at, "vic")
    go(at, "saved")  # the list still shows both
    assert {m.split("**")[1] for m in texts(at.markdown) if m.startswith("**") and " — by " in m} == {
        "good one", "damaged one"}
    at.query_params["analysis"] = bad
    go(at, "saved")
    errors = texts(at.error)
    assert len(errors) == 1 and errors[0].startswith("This link cannot be opened") and "E-STORE-005" in errors[0]
    at.query_params["analysis"] = good
    go(at, "saved")
    assert texts(at.title) == ["good one"] and not at.error


@pytest.mark.xdist_group("postgres")
def test_the_database_going_away_mid_session_is_a_clear_message_and_the_session_carries_on(
        postgres_server, postgres_url, data_dir, monkeypatch, campaign):
    monkeypatch.setenv("CQOX_DATABASE_URL", postgres_url)
    from cqox_core.users import UserStore

    UserStore().add("ana", "secret-pass-1")
    at = new_app().run()
    log_in(at, "ana")
    at.session_state["dataset"] = campaign
    at.session_state["dataset_sha"] = campaign.sha256
    go(at, "upload")
    assert texts(at.title) == ["Upload data"]
    postgres_server.stop_server("fast")
    try:
        at.run()
        assert not at.exception
        errors = texts(at.error)
        assert len(errors) == 1 and "cannot be reached" in errors[0] and "`E-STORE-003`" in errors[0]
        assert not at.title  # the page did not run on a store it cannot check
        assert at.session_state["dataset"].sha256 == campaign.sha256  # the session's work is kept
    finally:
        postgres_server.restart_server()
    at.run()  # the same process, no restart: the pool reconnects
    assert not at.exception and not at.error
    assert texts(at.title) == ["Upload data"] and at.session_state["authentication_status"] is True
