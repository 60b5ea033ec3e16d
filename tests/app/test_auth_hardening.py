"""Authentication hardening (app_lib/auth.py over cqox_core/security.py), through the real app (AppTest).

- the access matrix: 3 roles (and a logged-out visitor) x every page, each opened directly;
- cookies: a genuine one logs in; tampered, foreign-key, expired, unknown-session and replayed-after-logout
  ones are refused and audited;
- a removed user's open session, and a session that expired on the server, end at the next click;
- throttling through the login form, the admin's unlock, and the password policy on the Admin page.

The browser versions of the cookie cases run against a real server in tests/browser/test_auth.py.
"""
from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from app_lib import auth
from app_lib.access import PAGES
from cqox_core import security
from cqox_core.store import Store
from cqox_core.users import UserStore

from .conftest import PASSWORD, go, log_in, new_app, texts

ROLE_OF = {"admin": "admin", "ana": "analyst", "vic": "viewer"}


def refusal(role: str, page: str) -> str:
    return f"Your role ({role}) cannot open {PAGES[page][0]}."


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("username", list(ROLE_OF))
def test_every_role_on_every_page_opened_directly(app_as, username, page):
    role = ROLE_OF[username]
    at = app_as(username, page)  # straight to the page: no other page ran in this session
    errors = texts(at.error)
    if role in PAGES[page][2]:
        assert not [e for e in errors if e.startswith("Your role")], (username, page, errors)
        assert at.session_state["cqox_role"] == role
    else:
        assert len(errors) == 1 and errors[0].startswith(refusal(role, page)), (username, page, errors)
        assert not at.title and not at.dataframe and not at.file_uploader
        assert not [b for b in at.button if b.label not in ("Log out",)], [b.label for b in at.button]


@pytest.mark.parametrize("page", list(PAGES))
def test_a_logged_out_visitor_opening_any_page_gets_only_the_login_form(data_dir, page):
    at = new_app().run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert not at.title and not at.dataframe and not at.file_uploader


# -- cookies --------------------------------------------------------------------------------------

def cookie_app(monkeypatch, token: str | None):
    """A new browser session whose requests carry ``token`` as the login cookie."""
    monkeypatch.setattr(auth, "read_cookie", lambda: token)
    return new_app().run()


def refused_reasons(data_dir) -> list[str]:
    return [r["detail"]["reason"] for r in Store(data_dir).audit_log() if r["action"] == "session_refused"]


def test_a_genuine_cookie_logs_in_without_the_form(data_dir, monkeypatch):
    store = Store(data_dir)
    sid = store.create_session("ana", 3600)
    token = security.issue_token(UserStore(data_dir).cookie_key(), sid, "ana", time.time() + 3600)
    at = cookie_app(monkeypatch, token)
    assert not at.exception
    assert at.session_state["username"] == "ana" and at.session_state["cqox_sid"] == sid
    assert "**ana** · analyst" in texts(at.sidebar.markdown)


@pytest.mark.parametrize("forge", ["tampered", "foreign_key", "expired", "unknown_session", "garbage"])
def test_a_forged_or_expired_cookie_is_refused_and_audited(data_dir, monkeypatch, forge):
    key = UserStore(data_dir).cookie_key()
    sid = Store(data_dir).create_session("vic", 3600)
    future = time.time() + 3600
    genuine = security.issue_token(key, sid, "vic", future)
    token = {
        # vic's session id claimed for the admin, under vic's signature
        "tampered": security.issue_token(key, sid, "admin", future).split(".")[0] + "." + genuine.split(".")[1],
        "foreign_key": security.issue_token("key-of-another-install", sid, "vic", future),
        "expired": security.issue_token(key, sid, "vic", time.time() - 1),
        "unknown_session": security.issue_token(key, "made-up-session-id", "vic", future),
        "garbage": "not-a-token",
    }[forge]
    at = cookie_app(monkeypatch, token)
    assert not at.exception
    assert not at.session_state["authentication_status"]
    assert [t.label for t in at.text_input] == ["Username", "Password"] and not at.title
    expected = {"tampered": "bad_signature", "foreign_key": "bad_signature", "expired": "expired",
                "unknown_session": "unknown", "garbage": "malformed"}[forge]
    assert refused_reasons(data_dir) == [expected]
    at.run()  # the browser sends the cookie again on every run: refused again, audited once
    assert refused_reasons(data_dir) == [expected]


def test_logout_ends_the_session_on_the_server_so_a_replayed_cookie_is_refused(app_as, data_dir, monkeypatch,
                                                                               campaign):
    at = app_as("ana", "home", dataset=campaign)
    sid = at.session_state["cqox_sid"]
    token = security.issue_token(UserStore(data_dir).cookie_key(), sid, "ana", time.time() + 3600)
    next(b for b in at.sidebar.button if b.label == "Log out").click().run()
    assert not at.exception
    assert not at.session_state["authentication_status"]
    assert "dataset" not in at.session_state  # the next user of this tab sees nothing of ana's
    assert Store(data_dir).session(sid)["revoked_at"] is not None
    replay = cookie_app(monkeypatch, token)
    assert not replay.session_state["authentication_status"]
    assert "revoked" in refused_reasons(data_dir)
    assert "You were logged out. Please log in again." in texts(replay.info)


def test_a_removed_users_open_session_ends_at_the_next_click(app_as, data_dir, campaign):
    at = app_as("ana", "upload", dataset=campaign)
    assert texts(at.title) == ["Upload data"]
    UserStore(data_dir).remove("ana")  # by an admin, elsewhere
    at.run()
    assert not at.exception
    assert not at.session_state["authentication_status"] and not at.title
    assert "dataset" not in at.session_state and "cqox_role" not in at.session_state
    assert "Your account has been removed. Ask an admin if this is a mistake." in texts(at.info)
    assert "removed" in refused_reasons(data_dir)


def test_a_session_that_expired_on_the_server_ends_at_the_next_click(app_as, data_dir):
    at = app_as("ana", "home")
    with Store(data_dir)._write("expiring") as con:
        con.execute(text("UPDATE sessions SET expires_at = :t WHERE sid = :s"),
                    {"t": time.time() - 1, "s": at.session_state["cqox_sid"]})
    at.run()
    assert not at.session_state["authentication_status"]
    assert "Your session has expired. Please log in again." in texts(at.info)


def test_an_idle_session_ends(app_as, data_dir, monkeypatch):
    at = app_as("ana", "home")
    with Store(data_dir)._write("ageing") as con:
        con.execute(text("UPDATE sessions SET last_seen = :t WHERE sid = :s"),
                    {"t": time.time() - 3 * 3600, "s": at.session_state["cqox_sid"]})
    at.session_state["cqox_touched"] = time.time()  # the page would not write last_seen this run
    at.run()
    assert not at.session_state["authentication_status"]
    assert any("without activity" in m for m in texts(at.info))


# -- throttling and password policy ---------------------------------------------------------------

def submit(at, username: str, password: str):
    by_label = {t.label: t for t in at.text_input}
    by_label["Username"].input(username)
    by_label["Password"].input(password)
    next(b for b in at.button if b.label == "Login").click().run()
    assert not at.exception
    return at


def test_five_wrong_passwords_lock_the_user_even_against_the_right_one_until_an_admin_unlocks(data_dir,
                                                                                             monkeypatch):
    at = new_app().run()
    for _ in range(4):
        assert texts(submit(at, "ana", "wrong-password-9").error) == ["Wrong user name or password."]
    fifth = texts(submit(at, "ana", "wrong-password-9").error)
    assert fifth == ["Wrong user name or password. Too many failures: further logins are refused for 30 s."]
    locked = texts(submit(at, "ana", PASSWORD).error)  # the right password, during the lock
    assert locked and locked[0].startswith("Too many failed logins for this user.")
    assert not at.session_state["authentication_status"]
    log = Store(data_dir).audit_log()
    assert [r["detail"].get("reason") for r in log if r["action"] == "failed_login"] == ["locked"] + [None] * 5
    assert [r["detail"]["scope"] for r in log if r["action"] == "login_locked"] == ["user:ana"]

    admin = new_app().run()
    log_in(admin, "admin")
    go(admin, "admin")
    assert "user:ana" in admin.dataframe[1].value["locked"].tolist()
    next(b for b in admin.button if b.label == "Unlock").click().run()
    assert not admin.exception
    assert any(r["action"] == "user_unlock" and r["detail"]["scope"] == "user:ana"
               for r in Store(data_dir).audit_log())
    assert submit(at, "ana", PASSWORD).session_state["authentication_status"] is True


def test_a_client_guessing_many_names_is_locked(data_dir, monkeypatch):
    monkeypatch.setenv("CQOX_LOGIN_MAX_CLIENT_FAILURES", "3")
    at = new_app().run()
    for name in ("x1", "x2"):
        submit(at, name, "wrong-password-9")
    assert "Too many failures" in texts(submit(at, "x3", "wrong-password-9").error)[0]
    at.run()
    assert texts(at.error) and texts(at.error)[0].startswith("Too many failed logins from this address.")
    assert not at.text_input  # no form while the address is locked


def test_the_admin_page_enforces_the_password_policy(app_as, data_dir):
    at = app_as("admin", "admin")
    at.text_input[0].input("newbie")
    at.text_input[1].input("onlyletterslong")
    at.button[0].click().run()
    assert any("only one kind of character" in e for e in texts(at.error))
    assert UserStore(data_dir).role("newbie") is None
