"""Login rules: the password policy, login throttling, server-side sessions and the signed login cookie.

Throttling (per user name and per client address, counted in the store so every
replica sees the same counts):

    key              locks after        lock length                        forgotten after
    user:<name>      5 failures         30 s, doubled per further failure,  1 hour without a failure
    client:<addr>    20 failures        capped at 15 minutes                 (or cleared by an admin)

A lock is audited (``login_locked``); while it lasts the password is not even
checked, so a guess made during the lock reveals nothing. Environment:
CQOX_LOGIN_MAX_FAILURES, CQOX_LOGIN_MAX_CLIENT_FAILURES, CQOX_LOGIN_LOCK_SECONDS,
CQOX_LOGIN_MAX_LOCK_SECONDS, CQOX_LOGIN_WINDOW_SECONDS.

Sessions: a successful login creates a row in the store's ``sessions`` table; the
browser's cookie carries only its id, signed with the install's key (HMAC-SHA256).
A session ends at logout (server-side, so a copied cookie is refused afterwards),
after CQOX_COOKIE_DAYS (default 0.5 day), after CQOX_SESSION_IDLE_MINUTES without
a page run (default 120), or when its user is removed.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass
from typing import Any

from .errors import CQOxError


class PasswordError(CQOxError):
    code = "E-USER-002"


#: a few passwords every guessing list starts with (the policy's length rule covers most others)
_COMMON = {"password", "password1", "password12", "password123", "passw0rd", "qwertyuiop", "1234567890",
           "123456789", "12345678", "iloveyou", "letmein123", "welcome123", "admin12345", "changeme123",
           "qwerty1234", "abcdefghij", "0987654321"}


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


def password_min_length() -> int:
    return int(_env_number("CQOX_PASSWORD_MIN_LENGTH", 10))


def password_rule() -> str:
    """The policy in one sentence (shown next to password fields)."""
    return (f"At least {password_min_length()} characters, mixing at least two of: lower-case letters, "
            "upper-case letters, digits, other characters; not a common password and more than the user name.")


def check_password(password: str, username: str = "") -> None:
    """Raise PasswordError (E-USER-002 too short, E-USER-007 too simple, E-USER-008 guessable)."""
    minimum = password_min_length()
    if len(password) < minimum:
        raise PasswordError(f"The password is shorter than {minimum} characters.", "Choose a longer password.",
                            code="E-USER-002")
    kinds = sum(any(test(c) for c in password) for test in
                (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum()))
    if kinds < 2:
        raise PasswordError("The password uses only one kind of character.",
                            "Mix letters with digits or other characters (or upper and lower case).",
                            code="E-USER-007")
    lowered = password.lower()
    # the user name is the first thing a guesser tries: what is left without it must still be a password
    rest = lowered.replace(username.lower(), "") if username else lowered
    if lowered in _COMMON or len(rest) < 6:
        raise PasswordError("The password is too easy to guess (a common password, or little more than the user "
                            "name).", "Choose another password.", code="E-USER-008")


# -- throttling -------------------------------------------------------------

@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    max_client_failures: int = 20
    lock_seconds: float = 30.0
    max_lock_seconds: float = 900.0
    window_seconds: float = 3600.0

    @classmethod
    def from_env(cls) -> ThrottlePolicy:
        return cls(max_failures=int(_env_number("CQOX_LOGIN_MAX_FAILURES", 5)),
                   max_client_failures=int(_env_number("CQOX_LOGIN_MAX_CLIENT_FAILURES", 20)),
                   lock_seconds=_env_number("CQOX_LOGIN_LOCK_SECONDS", 30.0),
                   max_lock_seconds=_env_number("CQOX_LOGIN_MAX_LOCK_SECONDS", 900.0),
                   window_seconds=_env_number("CQOX_LOGIN_WINDOW_SECONDS", 3600.0))

    def limit(self, key: str) -> int:
        return self.max_client_failures if key.startswith("client:") else self.max_failures

    def lock_for(self, key: str, failures: int) -> float:
        """0 below the limit; then the base lock, doubled with each further failure (capped)."""
        over = failures - self.limit(key)
        if over < 0:
            return 0.0
        return float(min(self.lock_seconds * 2 ** min(over, 30), self.max_lock_seconds))


def throttle_keys(username: str | None, client: str | None) -> list[str]:
    keys = [f"user:{username.strip().lower()}"] if username and username.strip() else []
    return keys + [f"client:{client or 'unknown'}"]


class LoginThrottle:
    """Failed-login counting and locks over a Store (``store.throttle``/``record_failure``/``lock``)."""

    def __init__(self, store: Any, policy: ThrottlePolicy | None = None) -> None:
        self.store = store
        self.policy = policy or ThrottlePolicy.from_env()

    def locked(self, username: str | None, client: str | None, now: float | None = None) -> tuple[float, str]:
        """(seconds the longest lock still lasts, its key), or (0, "") when nothing is locked."""
        now = time.time() if now is None else now
        worst = (0.0, "")
        for key in throttle_keys(username, client):
            row = self.store.throttle(key)
            if row and row["locked_until"] > now and row["locked_until"] - now > worst[0]:
                worst = (row["locked_until"] - now, key)
        return worst

    def failure(self, username: str | None, client: str | None, now: float | None = None) -> list[tuple[str, float]]:
        """Count a failed login; returns the (key, seconds) locks it started (each audited)."""
        now = time.time() if now is None else now
        started = []
        for key in throttle_keys(username, client):
            failures = self.store.record_failure(key, now, self.policy.window_seconds)
            seconds = self.policy.lock_for(key, failures)
            if seconds > 0:
                self.store.lock(key, now + seconds)
                started.append((key, seconds))
                self.store.audit(username or "(unknown user)", "login_locked", scope=key, failures=failures,
                                 seconds=round(seconds, 1), client=client)
        return started

    def success(self, username: str) -> None:
        # the client's count is kept: logging into one's own account must not reset a guesser's budget
        self.store.clear_throttle(throttle_keys(username, None)[0])


# -- signed cookie ------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(key: str, sid: str, username: str, expires_at: float) -> str:
    """``payload.signature``: the session id, user and expiry, signed with the install's key."""
    body = _b64(json.dumps({"sid": sid, "username": username, "exp_date": expires_at},
                           separators=(",", ":"), sort_keys=True).encode())
    signature = _b64(hmac.new(key.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{signature}"


def read_token(token: str | None, key: str, now: float | None = None) -> tuple[dict[str, Any] | None, str]:
    """(payload, "") for a genuine, unexpired token; otherwise (None, reason): missing, malformed,
    bad_signature (tampered, or signed with another install's key) or expired."""
    if not token or not isinstance(token, str):
        return None, "missing"
    body, dot, signature = token.partition(".")
    if not dot or not body or not signature:
        return None, "malformed"
    expected = _b64(hmac.new(key.encode(), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature):
        return None, "bad_signature"
    try:
        payload = json.loads(_unb64(body))
        expires = float(payload["exp_date"])
        if not isinstance(payload.get("sid"), str) or not isinstance(payload.get("username"), str):
            raise ValueError("fields")
    except (ValueError, KeyError, TypeError):
        return None, "malformed"
    if expires <= (time.time() if now is None else now):
        return None, "expired"
    return payload, ""


# -- sessions -----------------------------------------------------------------

def session_lifetime_seconds() -> float:
    return _env_number("CQOX_COOKIE_DAYS", 0.5) * 86400.0


def session_idle_seconds() -> float:
    return _env_number("CQOX_SESSION_IDLE_MINUTES", 120.0) * 60.0


#: why a session is refused, in words for the login page
SESSION_ENDED = {
    "unknown": "Your session is not known to this server. Please log in again.",
    "revoked": "You were logged out. Please log in again.",
    "expired": "Your session has expired. Please log in again.",
    "idle": "Your session ended after a long time without activity. Please log in again.",
    "removed": "Your account has been removed. Ask an admin if this is a mistake.",
    "foreign": "This session belongs to another user. Please log in again.",
}


def check_session(store: Any, sid: str | None, username: str | None, now: float | None = None) -> str:
    """"" when the server-side session is valid for ``username``; else a key of SESSION_ENDED."""
    now = time.time() if now is None else now
    row = store.session(sid) if sid else None
    if row is None:
        return "unknown"
    if row["username"] != username:
        return "foreign"
    if store.user(row["username"]) is None:
        return "removed"
    if row["revoked_at"] is not None:
        return "revoked"
    if row["expires_at"] <= now:
        return "expired"
    if now - row["last_seen"] > session_idle_seconds():
        return "idle"
    return ""
