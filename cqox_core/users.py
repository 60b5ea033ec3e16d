"""Users, roles and the login cookie key, kept in the data directory (never in the repo).

``users.json`` holds bcrypt hashes in the shape streamlit-authenticator reads
({"usernames": {name: {"name", "email", "password", "roles": [role]}}}).
The first start creates an admin from CQOX_ADMIN_USER / CQOX_ADMIN_PASSWORD,
or with a generated password that is printed once.
"""
from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any, Literal

import bcrypt

from .errors import CQOxError
from .store import data_dir

Role = Literal["admin", "analyst", "viewer"]
ROLES: tuple[str, ...] = ("admin", "analyst", "viewer")


class UserError(CQOxError):
    code = "E-USER-000"


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only (created 0600 before any secret lands in it)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


class UserStore:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory else data_dir()
        self.path = self.directory / "users.json"
        self.key_path = self.directory / "cookie.key"

    # -- persistence ---------------------------------------------------------
    def credentials(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"usernames": {}}
        return json.loads(self.path.read_text())

    def _save(self, creds: dict[str, Any]) -> None:
        _write_private(self.path, json.dumps(creds, indent=2))

    def cookie_key(self) -> str:
        """A random key per install, created on first use."""
        if not self.key_path.exists():
            _write_private(self.key_path, secrets.token_urlsafe(32))
        return self.key_path.read_text().strip()

    # -- operations ----------------------------------------------------------
    def add(self, username: str, password: str, role: str = "analyst", name: str | None = None,
            email: str | None = None) -> None:
        username = username.strip()
        if not username or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise UserError(f"'{username}' is not a valid user name.",
                            "Use letters, digits, '.', '-' or '_'.", code="E-USER-001")
        self._check_role(role)
        if len(password) < 8:
            raise UserError("The password is shorter than 8 characters.", "Choose a longer password.",
                            code="E-USER-002")
        creds = self.credentials()
        if username in creds["usernames"]:
            raise UserError(f"User '{username}' already exists.", "Use `cqox users set-role` to change a role.",
                            code="E-USER-003")
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
        creds["usernames"][username] = {"name": name or username, "email": email or f"{username}@localhost",
                                        "password": hashed, "roles": [role]}
        self._save(creds)

    def remove(self, username: str) -> None:
        creds = self.credentials()
        self._require(creds, username)
        if self.role(username) == "admin" and sum(
                "admin" in u.get("roles", []) for u in creds["usernames"].values()) == 1:
            raise UserError("This is the last admin.", "Make another user admin first.", code="E-USER-005")
        del creds["usernames"][username]
        self._save(creds)

    def set_role(self, username: str, role: str) -> None:
        self._check_role(role)
        creds = self.credentials()
        self._require(creds, username)
        creds["usernames"][username]["roles"] = [role]
        self._save(creds)

    def role(self, username: str) -> str | None:
        user = self.credentials()["usernames"].get(username)
        return (user.get("roles") or [None])[0] if user else None

    def list(self) -> list[dict[str, str]]:
        return [{"username": u, "name": v.get("name", u), "role": (v.get("roles") or ["?"])[0]}
                for u, v in sorted(self.credentials()["usernames"].items())]

    def verify(self, username: str, password: str) -> bool:
        user = self.credentials()["usernames"].get(username)
        return bool(user) and bcrypt.checkpw(password.encode(), user["password"].encode())

    def ensure_admin(self) -> str | None:
        """Create the first admin if there are no users. Returns a generated password
        (to be printed once) or None when the password came from the environment."""
        if self.credentials()["usernames"]:
            return None
        username = os.environ.get("CQOX_ADMIN_USER", "admin")
        password = os.environ.get("CQOX_ADMIN_PASSWORD")
        generated = None
        if not password:
            generated = password = secrets.token_urlsafe(12)
        self.add(username, password, role="admin", name="Administrator")
        return generated

    def _check_role(self, role: str) -> None:
        if role not in ROLES:
            raise UserError(f"Unknown role '{role}'.", f"Roles are: {', '.join(ROLES)}.", code="E-USER-004")

    @staticmethod
    def _require(creds: dict[str, Any], username: str) -> None:
        if username not in creds["usernames"]:
            raise UserError(f"No user '{username}'.", "See `cqox users list`.", code="E-USER-006")
