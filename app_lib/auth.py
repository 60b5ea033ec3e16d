"""Login with streamlit-authenticator (bcrypt hashes, per-install cookie key) and audit events."""
from __future__ import annotations

import os

import streamlit as st
import streamlit_authenticator as stauth

from cqox_core.store import Store
from cqox_core.users import UserStore

COOKIE_NAME = "cqox_auth"
#: Short expiry: the library's cookie is not HttpOnly (BROWSER_TESTS.md).
COOKIE_DAYS = float(os.environ.get("CQOX_COOKIE_DAYS", "0.5"))


@st.cache_resource
def store() -> Store:
    """The process-wide store; on first start it also creates the admin and prints its login once."""
    st_store = Store()
    generated = UserStore(st_store.directory).ensure_admin()
    if generated:
        user = os.environ.get("CQOX_ADMIN_USER", "admin")
        print(f"\nCQOx first start: created admin '{user}' with password: {generated}\n"
              f"(stored as a bcrypt hash in the {st_store.where}; change it with "
              f"`cqox users` or on the Admin page)\n", flush=True)
    return st_store


def users() -> UserStore:
    return UserStore(store().directory)


def login() -> str | None:
    """Draw the login form when needed; return the username once authenticated."""
    # Rebuilt per run from the store so role changes by an admin apply at once.
    creds = users().credentials()
    auth = stauth.Authenticate(creds, COOKIE_NAME, users().cookie_key(), COOKIE_DAYS, auto_hash=False)
    st.session_state["cqox_authenticator"] = auth
    if st.session_state.get("authentication_status") is False:
        # a failure is reported in the run of its submission only, so each attempt is audited once
        st.session_state["authentication_status"] = None
    try:
        auth.login(location="main", key="cqox-login")
    except Exception as exc:  # noqa: BLE001 - the library raises its own error types for bad cookies
        st.error(f"Login failed: {exc}. Please try again.")
        return None
    status = st.session_state.get("authentication_status")
    username = st.session_state.get("username")
    if status is False:
        # the library counts failures per known user in the credentials dict it was given
        attempted = [u for u, v in creds["usernames"].items() if v.get("failed_login_attempts")]
        store().audit(attempted[0] if attempted else "(unknown user)", "failed_login")
        st.error("Wrong user name or password.")
        return None
    if not status or not username:
        return None
    role = users().role(username)
    if role is None:  # removed by an admin while logged in
        auth.logout(location="unrendered")
        return None
    st.session_state["cqox_role"] = role
    if st.session_state.get("cqox_login_logged") != username:
        store().audit(username, "login", role=role)
        st.session_state["cqox_login_logged"] = username
    return username


def logout_button() -> None:
    auth = st.session_state.get("cqox_authenticator")
    user = st.session_state.get("username")
    if auth is None:
        return

    def _logged_out(_: dict) -> None:
        store().audit(user, "logout")
        for key in ("cqox_login_logged", "cqox_role"):
            st.session_state.pop(key, None)

    auth.logout("Log out", location="sidebar", key="cqox-logout", callback=_logged_out)
