"""Login hardening in a real browser against a real `streamlit run` server (the process `make run` starts).

The login cookie carries a signed server-side session id: a copy of it is refused after logout, a forged
one and one signed with another install's key are refused, and the server process serves Prometheus
metrics from its first browser session on.
"""
from __future__ import annotations

import secrets
import time
import urllib.request

import pytest

from cqox_core import security
from cqox_core.store import Store

from .conftest import log_in, no_exception, settle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def wait_for_cookie(page, name: str = "cqox_auth", timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [c for c in page.context.cookies() if c["name"] == name]
        if found:
            return found[0]
        page.wait_for_timeout(250)
    raise AssertionError("the login cookie was never written")


def open_with_cookie(open_page, app_server, value: str):
    """A fresh context that sends ``value`` as the login cookie with its first request."""
    page = open_page("/_stcore/health")
    page.context.add_cookies([{"name": "cqox_auth", "value": value, "url": app_server.url}])
    page.goto(app_server.url + "/gates")
    return page


def test_a_copied_cookie_is_refused_after_logout(open_page, app_server):
    page = open_page("/gates")
    log_in(page, "ana")
    cookie = wait_for_cookie(page)["value"]
    # while the session lives, the same cookie logs a second browser in without the form
    twin = open_with_cookie(open_page, app_server, cookie)
    twin.get_by_text("No estimates yet: choose and run estimators first.").first.wait_for()
    twin.get_by_test_id("stSidebarNavLink").filter(has_text="Upload").first.wait_for()  # the full menu
    twin.reload()  # a cookie login again, in a new run: still the analyst's whole menu (app.py's role check)
    twin.get_by_test_id("stSidebarNavLink").filter(has_text="Upload").first.wait_for()
    # logout ends the session on the server, so the copy (a stolen or replayed cookie) no longer works
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Login").first.wait_for()
    replay = open_with_cookie(open_page, app_server, cookie)
    replay.get_by_role("button", name="Login").first.wait_for()
    settle(replay)
    assert replay.get_by_text("No estimates yet").count() == 0
    # and the twin that was already open is logged out at its next click
    twin.reload()
    twin.get_by_role("button", name="Login").first.wait_for()
    refused = [r for r in Store(app_server.data_dir).audit_log() if r["action"] == "session_refused"]
    assert any(r["detail"]["reason"] == "revoked" for r in refused), refused


@pytest.mark.parametrize("forge", ["tampered", "foreign_key", "expired"])
def test_a_forged_or_expired_cookie_is_refused(open_page, app_server, forge):
    store = Store(app_server.data_dir)
    sid = store.create_session("admin", 3600)
    # the install's key is created on first use, by whichever process comes first (here the test may)
    key = store.setting("cookie_key", create=secrets.token_urlsafe(32))
    good = security.issue_token(key, sid, "admin", time.time() + 3600)
    value = {"tampered": security.issue_token(key, sid, "ana", time.time() + 3600).split(".")[0] + "."
                         + good.split(".")[1],  # ana's claims under admin's signature
             "foreign_key": security.issue_token("another-install-key", sid, "admin", time.time() + 3600),
             "expired": security.issue_token(key, sid, "admin", time.time() - 60)}[forge]
    page = open_with_cookie(open_page, app_server, value)
    page.get_by_role("button", name="Login").first.wait_for()
    settle(page)
    assert page.get_by_test_id("stSidebarNavLink").count() == 0
    no_exception(page)


def test_the_server_process_serves_metrics_from_its_first_session(open_page, app_server):
    page = open_page("/")
    log_in(page, "vic")
    with urllib.request.urlopen(f"http://127.0.0.1:{app_server.metrics_port}/metrics", timeout=10) as resp:
        body = resp.read().decode()
    samples = {line.split(" ")[0]: float(line.split(" ")[1]) for line in body.splitlines()
               if line and not line.startswith("#")}
    assert samples["cqox_logins_total"] >= 1
    assert samples["cqox_active_sessions"] >= 1
    assert all(name.startswith("cqox_") for name in samples)
