"""Roles are checked on every page, not only at the entry point (app_lib/access.py guard)."""
from __future__ import annotations

from app_lib.access import PAGES
from cqox_core.store import Store
from cqox_core.users import UserStore

from .conftest import go, new_app, texts


def refusal(role: str, title: str) -> str:
    return f"Your role ({role}) cannot open {title}."


def test_a_viewer_switching_to_estimators_is_refused_and_sees_no_estimator_widgets(app_as, campaign):
    at = app_as("vic", "estimators", dataset=campaign)
    at.session_state["roles"] = {"outcome": "spend_after_90d", "treatment": "got_voucher",
                                 "covariates": ["age_years", "prior_orders", "region"]}
    at.run()
    assert not at.exception
    errors = texts(at.error)
    assert len(errors) == 1 and errors[0].startswith(refusal("viewer", "Estimators"))
    assert "Saved analyses" in errors[0]  # where a viewer can go instead
    assert not at.checkbox
    assert not [b for b in at.button if b.label.startswith("Run ")]
    assert not at.title
    assert "analysis" not in at.session_state


def test_a_viewer_is_refused_every_analyst_page(app_as):
    pages = [p for p, (_, _, roles) in PAGES.items() if "viewer" not in roles]
    assert pages
    at = app_as("vic", "saved")
    assert not at.error
    for page in pages:
        go(at, page)
        assert texts(at.error) == [refusal("viewer", PAGES[page][0]) + " Viewers can open analyses shared with "
                                   "them under Saved analyses."], page
        assert not at.title, page


def test_the_admin_page_is_refused_to_an_analyst(app_as):
    at = app_as("ana", "admin")
    assert texts(at.error) == [refusal("analyst", "Admin") + " Ask an admin for access."]
    assert not at.title and not at.dataframe and not at.text_input
    assert not [b for b in at.button if b.label in ("Add", "Change role", "Remove user")]


def test_the_admin_adds_a_user_and_sees_the_audit_log(app_as, data_dir):
    at = app_as("admin", "admin")
    assert texts(at.title) == ["Admin"]
    at.text_input[0].input("newbie")
    at.selectbox[0].set_value("viewer")
    at.text_input[1].input("long-enough-pw")
    at.button[0].click().run()  # the form's "Add" button
    assert not at.exception
    assert "Added newbie (viewer)." in texts(at.success)
    users = UserStore(data_dir)
    assert users.role("newbie") == "viewer" and users.verify("newbie", "long-enough-pw")
    assert any(r["action"] == "user_add" and r["detail"]["username"] == "newbie" for r in Store(data_dir).audit_log())


def test_a_role_change_applies_on_the_next_run(app_as, data_dir):
    """Roles are re-read from the store on every run: demoting a logged-in analyst locks them out at once."""
    at = app_as("ana", "mapping")
    assert not at.error  # analyst: the page runs (it asks for data)
    UserStore(data_dir).set_role("ana", "viewer")
    at.run()
    assert at.session_state["cqox_role"] == "viewer"
    assert texts(at.error) == [refusal("viewer", "Mapping") + " Viewers can open analyses shared with them under "
                               "Saved analyses."]


def test_a_logged_out_visitor_sees_only_the_login_form(data_dir):
    at = new_app().run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert not at.title  # no page ran
    assert "Log in to continue" in " ".join(texts(at.caption))
