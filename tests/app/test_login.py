"""The login form itself (streamlit-authenticator with the bcrypt hashes in the store)."""
from __future__ import annotations

from cqox_core.store import Store
from cqox_core.users import UserStore

from .conftest import ADMIN_PASSWORD, PASSWORD, new_app, texts


def fill_login(at, username: str, password: str):
    by_label = {t.label: t for t in at.text_input}
    by_label["Username"].input(username)
    by_label["Password"].input(password)
    next(b for b in at.button if b.label == "Login").click().run()
    return at


def test_an_analyst_logs_in_with_the_form_and_gets_their_role(data_dir):
    at = fill_login(new_app().run(), "ana", PASSWORD)
    assert at.session_state["authentication_status"] is True
    assert at.session_state["username"] == "ana"
    assert at.session_state["cqox_role"] == "analyst"
    assert "**ana** · analyst" in texts(at.sidebar.markdown)
    assert [r["action"] for r in Store(data_dir).audit_log()].count("login") == 1


def test_the_first_start_creates_the_admin_from_the_environment(data_dir):
    (data_dir / "cqox.sqlite3").unlink()  # a fresh install: no store, no users yet
    at = fill_login(new_app().run(), "admin", ADMIN_PASSWORD)
    assert at.session_state["cqox_role"] == "admin"
    users = UserStore(data_dir)
    assert [u["username"] for u in users.list()] == ["admin"]
    assert oct((data_dir / "cqox.sqlite3").stat().st_mode & 0o777) == "0o600"


def test_a_wrong_password_is_refused_and_audited(data_dir):
    at = fill_login(new_app().run(), "ana", "not-the-password")
    assert not at.session_state["authentication_status"]
    assert "cqox_role" not in at.session_state
    assert "Wrong user name or password." in texts(at.error)
    assert not at.title
    log = Store(data_dir).audit_log()
    assert [(r["user"], r["action"]) for r in log if r["action"] == "failed_login"] == [("ana", "failed_login")]
