"""Login: streamlit-authenticator's form and cookie transport, hardened with server-side sessions.

- A successful login creates a session row in the store; the cookie carries only its
  id, signed with the install's key (``cqox_core.security``). The cookie is checked
  against the store on every new browser session, and the session on every run, so
  logout (server-side), expiry, idleness and a removed user take effect at once, on
  every replica. A tampered, expired, foreign-key or replayed cookie is refused and
  audited (``session_refused``).
- Failed logins are throttled per user and per client address (``LoginThrottle``):
  a locked user's password is not even checked. Locks are audited; an admin clears
  them on the Admin page (or ``cqox users unlock``), or time does.
- Every audit entry is also a structured log line and a metric (``AppStore``).
"""
from __future__ import annotations

import hashlib
import os
import time
from typing import Any

import bcrypt
import streamlit as st
import streamlit_authenticator as stauth

from cqox_core import observability, security
from cqox_core.store import Store, StoreError
from cqox_core.users import UserStore

COOKIE_NAME = "cqox_auth"
#: Short expiry: the library's cookie is not HttpOnly (BROWSER_TESTS.md); the server-side session ends then too.
COOKIE_DAYS = float(os.environ.get("CQOX_COOKIE_DAYS", "0.5"))
#: what a page run may leave behind for the next user of the same browser tab: cleared at logout
SESSION_DATA = ("dataset", "dataset_sha", "roles", "analysis", "analysis_params", "mapping_info", "domain_override",
                "methods", "method_params", "last_saved", "cqox_role", "cqox_login_logged", "cqox_sid",
                "cqox_touched")
#: a valid bcrypt hash of a random secret: a locked user's real hash is never offered to the password check
_NO_LOGIN_HASH = bcrypt.hashpw(os.urandom(16), bcrypt.gensalt(4)).decode()
#: the session row's last_seen is written at most this often (a write per click would be wasteful)
TOUCH_SECONDS = 60.0


class AppStore(Store):
    """The store as the app uses it: every audit entry is also a log line and a metric."""

    def audit(self, user: str | None, action: str, **detail: Any) -> None:
        super().audit(user, action, **detail)
        observability.audit_event(user, action, **detail)


def _session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else None


def _log_context() -> dict[str, Any]:
    if _session_id() is None:  # a thread outside a page run (the metrics server)
        return {}
    return {"session": _session_id(), "user": st.session_state.get("username"),
            "sha256": st.session_state.get("dataset_sha")}


def _active_sessions() -> float:
    from streamlit import runtime

    if not runtime.exists():
        return 0.0
    return float(runtime.get_instance()._session_mgr.num_active_sessions())  # noqa: SLF001 - no public counter


@st.cache_resource
def store() -> AppStore:
    """The process-wide store; on first start it also creates the admin and prints its login once."""
    observability.setup(context=_log_context, active_sessions=_active_sessions)
    st_store = AppStore()
    generated = UserStore(store=st_store).ensure_admin()
    if generated:
        user = os.environ.get("CQOX_ADMIN_USER", "admin")
        print(f"\nCQOx first start: created admin '{user}' with password: {generated}\n"
              f"(stored as a bcrypt hash in the {st_store.where}; change it with "
              f"`cqox users` or on the Admin page)\n", flush=True)
    return st_store


def users() -> UserStore:
    return UserStore(store=store())


def client_address() -> str:
    """The client's address for throttling. Behind a proxy (CQOX_TRUST_PROXY=1) the first X-Forwarded-For
    entry; otherwise the socket's peer ('local' for loopback, where Streamlit reports none)."""
    if os.environ.get("CQOX_TRUST_PROXY") == "1":
        forwarded = st.context.headers.get("X-Forwarded-For")
        if isinstance(forwarded, str) and forwarded.split(",")[0].strip():
            return forwarded.split(",")[0].strip()
    address = st.context.ip_address
    return address if isinstance(address, str) and address else "local"  # AppTest has no connection


def read_cookie() -> str | None:
    """The login cookie sent with this browser session's requests (tests replace this)."""
    value = st.context.cookies.get(COOKIE_NAME)
    return value if isinstance(value, str) else None  # AppTest has no request, hence no cookies


def login() -> str | None:
    """Draw the login form when needed; return the username once authenticated."""
    try:
        return _login()
    except StoreError as exc:
        # the database is away (or the disk full): say so and stop; the session keeps its data in memory and the
        # next click works again once the store is back (the pool reconnects by itself)
        observability.record_error(exc.code, where="login")
        st.error(f"{exc.message}  \n**What to do:** {exc.hint}  \n`{exc.code}`")
        st.stop()


def _login() -> str | None:
    st_store, people = store(), users()
    key = people.cookie_key()
    client = client_address()
    if st.session_state.get("authentication_status"):
        _session_still_valid(st_store)  # when it is not, this browser session is logged out: the form follows
    now = time.time()
    locks = st_store.locked_keys(now)
    # Rebuilt per run from the store so role changes by an admin apply at once.
    creds = people.credentials()
    locked_users = {u for u in creds["usernames"] if security.throttle_keys(u, None)[0] in locks}
    for username in locked_users:
        creds["usernames"][username]["password"] = _NO_LOGIN_HASH
    auth = stauth.Authenticate(creds, COOKIE_NAME, key, COOKIE_DAYS, auto_hash=False)
    _harden_cookie(auth, key, st_store)
    st.session_state["cqox_authenticator"] = auth
    if st.session_state.get("authentication_status") is False:
        # a failure is reported in the run of its submission only, so each attempt is audited once
        st.session_state["authentication_status"] = None
    client_lock = locks.get(security.throttle_keys(None, client)[0], 0.0) - now
    if client_lock > 0 and not st.session_state.get("authentication_status"):
        st.error(f"Too many failed logins from this address. Try again in {_duration(client_lock)}.")
        return None
    try:
        auth.login(location="main", key="cqox-login", callback=lambda info: _logged_in(info["username"], client))
    except Exception as exc:  # noqa: BLE001 - the library raises its own error types for bad cookies
        st.error(f"Login failed: {exc}. Please try again.")
        return None
    status = st.session_state.get("authentication_status")
    username = st.session_state.get("username")
    message = st.session_state.pop("cqox_session_message", None)
    if message and not status:
        st.info(message)  # why the previous session ended (logout elsewhere, expiry, removal, a refused cookie)
    if status is False:
        _failed(st_store, creds, locked_users, locks, client, now)
        return None
    if not status or not username:
        return None
    role = people.role(username)
    if role is None or not st.session_state.get("cqox_sid"):  # removed by an admin, or no server-side session
        _end_session(st_store, "removed" if role is None else "unknown")
        return None
    st.session_state["cqox_role"] = role
    if st.session_state.get("cqox_login_logged") != username:
        st_store.audit(username, "login", role=role, client=client)
        st.session_state["cqox_login_logged"] = username
    return username


def _duration(seconds: float) -> str:
    seconds = max(1, round(seconds))
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"


def _failed(st_store: Store, creds: dict, locked_users: set[str], locks: dict[str, float], client: str,
            now: float) -> None:
    # the library counts failures per known user in the credentials dict it was given (rebuilt every run)
    attempted = next((u for u, v in creds["usernames"].items() if v.get("failed_login_attempts")), None)
    if attempted in locked_users:
        # locked: the password was not checked, so this attempt tells the guesser nothing and is not counted
        st_store.audit(attempted, "failed_login", reason="locked", client=client)
        wait = locks[security.throttle_keys(attempted, None)[0]] - now
        st.error(f"Too many failed logins for this user. Try again in {_duration(wait)}, or ask an admin to "
                 "unlock it.")
        return
    started = security.LoginThrottle(st_store).failure(attempted, client, now=now)
    st_store.audit(attempted or "(unknown user)", "failed_login", client=client)
    st.error("Wrong user name or password." + (
        f" Too many failures: further logins are refused for {_duration(max(s for _, s in started))}."
        if started else ""))


def _logged_in(username: str, client: str) -> None:
    """Called by the library on a correct password, before it writes the cookie: the server-side session."""
    st_store = store()
    st.session_state["cqox_sid"] = st_store.create_session(username, security.session_lifetime_seconds(), client)
    st.session_state["cqox_touched"] = time.time()
    security.LoginThrottle(st_store).success(username)


def _session_still_valid(st_store: Store) -> bool:
    """Re-check this browser session's server-side session (logout elsewhere, expiry, idleness, removal)."""
    sid = st.session_state.get("cqox_sid")
    reason = security.check_session(st_store, sid, st.session_state.get("username"))
    if reason:
        _end_session(st_store, reason)
        return False
    if time.time() - st.session_state.get("cqox_touched", 0.0) > TOUCH_SECONDS:
        st_store.touch_session(sid)
        st.session_state["cqox_touched"] = time.time()
    return True


def _end_session(st_store: Store, reason: str) -> None:
    """Log this browser session out (its data included) and say why on the login form."""
    user = st.session_state.get("username")
    sid = st.session_state.get("cqox_sid")
    if sid and reason in ("expired", "idle"):
        st_store.revoke_session(sid)
    st_store.audit(user, "session_refused", reason=reason)
    _clear_session()
    st.session_state["cqox_session_message"] = security.SESSION_ENDED.get(reason, security.SESSION_ENDED["unknown"])


def _clear_session() -> None:
    for key in SESSION_DATA:
        st.session_state.pop(key, None)
    for key in ("authentication_status", "username", "name", "email", "roles"):
        st.session_state[key] = None


def _harden_cookie(auth: stauth.Authenticate, key: str, st_store: Store) -> None:
    """The library's cookie, but carrying our signed session id and checked against the store."""
    model = auth.cookie_controller.cookie_model

    def encode() -> str:
        return security.issue_token(key, st.session_state["cqox_sid"], st.session_state["username"], model.exp_date)

    def get_cookie() -> dict[str, Any] | bool | None:
        if st.session_state.get("logout"):
            return False  # the library's own rule: no cookie login in the run right after a logout
        token = read_cookie()
        if not token:
            return None
        payload, reason = security.read_token(token, key)
        if payload is not None:
            reason = security.check_session(st_store, payload["sid"], payload["username"])
        if reason:
            _refused(st_store, token, reason, payload)
            return None
        st.session_state["cqox_sid"] = payload["sid"]
        st.session_state["cqox_touched"] = 0.0
        return payload

    model._token_encode = encode  # noqa: SLF001 - the library has no hook for the token's content
    model.get_cookie = get_cookie


def _refused(st_store: Store, token: str, reason: str, payload: dict[str, Any] | None) -> None:
    """Audit a refused cookie once per browser session (the browser sends it again on every run)."""
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    if st.session_state.get("cqox_refused_cookie") == digest:
        return
    st.session_state["cqox_refused_cookie"] = digest
    st_store.audit(payload["username"] if payload else None, "session_refused", reason=reason, source="cookie",
                   client=client_address())
    if reason in security.SESSION_ENDED and reason != "unknown":
        st.session_state["cqox_session_message"] = security.SESSION_ENDED[reason]


def logout_button() -> None:
    auth = st.session_state.get("cqox_authenticator")
    user = st.session_state.get("username")
    if auth is None:
        return

    def _logged_out(_: dict) -> None:
        sid = st.session_state.get("cqox_sid")
        if sid:
            store().revoke_session(sid)  # server-side: a copy of the cookie is refused from now on
        store().audit(user, "logout")
        for key in SESSION_DATA:
            st.session_state.pop(key, None)

    auth.logout("Log out", location="sidebar", key="cqox-logout", callback=_logged_out)
