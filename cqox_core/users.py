"""Users, roles and the login cookie key, kept in the store (never in the repo).

Users live in the store's ``users`` table (SQLite in the data directory, or
PostgreSQL when CQOX_DATABASE_URL is set, so every replica sees the same users),
with bcrypt hashes. ``credentials()`` gives them in the shape
streamlit-authenticator reads ({"usernames": {name: {"name", "email",
"password", "roles": [role]}}}). A ``users.json`` from an older release is
imported by the store's migration. The first start creates an admin from
CQOX_ADMIN_USER / CQOX_ADMIN_PASSWORD, or with a generated password that is
printed once. New passwords follow the policy in ``security.check_password``.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal

import bcrypt

from .errors import CQOxError
from .security import PasswordError, check_password
from .store import Store

Role = Literal["admin", "analyst", "viewer"]
ROLES: tuple[str, ...] = ("admin", "analyst", "viewer")


class UserError(CQOxError):
    code = "E-USER-000"


class UserStore:
    def __init__(self, directory: Path | None = None, *, store: Store | None = None) -> None:
        self.store = store or Store(directory)
        self.directory = self.store.directory
        #: where the users are, in words (for messages)
        self.location = self.store.where

    # -- persistence ---------------------------------------------------------
    def credentials(self) -> dict[str, Any]:
        return {"usernames": {u["username"]: {"name": u["name"], "email": u["email"], "password": u["password_hash"],
                                              "roles": [u["role"]]} for u in self.store.users()}}

    def cookie_key(self) -> str:
        """CQOX_COOKIE_KEY when set (a Kubernetes Secret), else a random key per install kept in the store,
        created on first use and shared by every replica on the same database."""
        configured = os.environ.get("CQOX_COOKIE_KEY", "").strip()
        if configured:
            return configured
        key = self.store.setting("cookie_key", create=secrets.token_urlsafe(32))
        assert key is not None  # created above when missing
        return key

    # -- operations ----------------------------------------------------------
    def add(self, username: str, password: str, role: str = "analyst", name: str | None = None,
            email: str | None = None) -> None:
        username = username.strip()
        if not username or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise UserError(f"'{username}' is not a valid user name.",
                            "Use letters, digits, '.', '-' or '_'.", code="E-USER-001")
        self._check_role(role)
        try:
            check_password(password, username)
        except PasswordError as exc:
            raise UserError(exc.message, exc.hint, code=exc.code) from None
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
        if not self.store.insert_user(username, name or username, email or f"{username}@localhost", hashed, role):
            raise UserError(f"User '{username}' already exists.", "Use `cqox users set-role` to change a role.",
                            code="E-USER-003")

    def remove(self, username: str) -> None:
        """Remove the user; their open sessions end at once (server-side)."""
        self._require(username)
        if self.role(username) == "admin" and sum(u["role"] == "admin" for u in self.store.users()) == 1:
            raise UserError("This is the last admin.", "Make another user admin first.", code="E-USER-005")
        self.store.delete_user(username)

    def set_role(self, username: str, role: str) -> None:
        self._check_role(role)
        self._require(username)
        self.store.update_user(username, role=role)

    def role(self, username: str) -> str | None:
        user = self.store.user(username)
        return user["role"] if user else None

    def list(self) -> list[dict[str, str]]:
        return [{"username": u["username"], "name": u["name"], "role": u["role"]} for u in self.store.users()]

    def verify(self, username: str, password: str) -> bool:
        user = self.store.user(username)
        return bool(user) and bcrypt.checkpw(password.encode(), user["password_hash"].encode())

    def ensure_admin(self) -> str | None:
        """Create the first admin if there are no users. Returns a generated password
        (to be printed once) or None when the password came from the environment."""
        if self.store.users():
            return None
        username = os.environ.get("CQOX_ADMIN_USER", "admin")
        password = os.environ.get("CQOX_ADMIN_PASSWORD")
        generated = None
        if not password:
            # token_urlsafe mixes cases and digits, so the policy holds (retried in the rare case it does not)
            generated = password = _policy_password(username)
        try:
            self.add(username, password, role="admin", name="Administrator")
        except UserError as exc:
            if exc.code != "E-USER-003":  # another replica created the admin first
                raise
            return None
        return generated

    def _check_role(self, role: str) -> None:
        if role not in ROLES:
            raise UserError(f"Unknown role '{role}'.", f"Roles are: {', '.join(ROLES)}.", code="E-USER-004")

    def _require(self, username: str) -> None:
        if self.store.user(username) is None:
            raise UserError(f"No user '{username}'.", "See `cqox users list`.", code="E-USER-006")


def _policy_password(username: str) -> str:
    while True:
        candidate = secrets.token_urlsafe(12)
        try:
            check_password(candidate, username)
            return candidate
        except PasswordError:
            continue
