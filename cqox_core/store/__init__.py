"""The store: saved analyses (shareable by id), users, sessions, login throttling and the audit log.

One interface over two databases (SQLAlchemy Core, the same SQL for both):

- the embedded SQLite file ``cqox.sqlite3`` in the data directory (``CQOX_DATA_DIR``,
  default ``~/.cqox``), owner-only; the default, for one machine;
- PostgreSQL when ``CQOX_DATABASE_URL`` is set, shared by several app replicas.

The schema is versioned (``migrations.py``): a store written by an older release
opens and is upgraded in place. Payloads are JSON, never pickle: a saved analysis
is data a user influenced, and unpickling it could run code. Every database
failure leaves as a ``StoreError`` with a code, a message and a hint.
"""
from __future__ import annotations

import json
import os
import secrets
import stat
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Connection, text

from . import migrations
from .engine import StoreError, configured_url, describe, dispose_all, engine_for, translated

__all__ = ["SavedAnalysis", "Store", "StoreError", "data_dir", "dispose_all"]


def data_dir() -> Path:
    """The data directory, created owner-only (0700) if missing."""
    path = Path(os.environ.get("CQOX_DATA_DIR") or Path.home() / ".cqox").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, stat.S_IRWXU)
    return path


@dataclass(frozen=True)
class SavedAnalysis:
    id: str
    owner: str
    name: str
    created_at: float
    sha256: str | None
    source: str | None
    shared: bool
    payload: dict[str, Any]
    #: the row's payload could not be read (listed, but it cannot be opened)
    damaged: bool = False


def _damaged_error(analysis_id: str) -> StoreError:
    return StoreError(f"The saved analysis '{analysis_id}' is damaged and cannot be opened.",
                      "Other saved analyses are not affected. Run the analysis again and save it anew; an admin can "
                      "find the damaged entry by its id.", code="E-STORE-005")


def _payload(analysis_id: str, raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (TypeError, ValueError) as error:
        raise _damaged_error(analysis_id) from error
    if not isinstance(value, dict):
        raise _damaged_error(analysis_id)
    return value


class Store:
    """Saved analyses, users, sessions and the audit log in the configured database."""

    def __init__(self, directory: Path | None = None, *, url: str | None = None) -> None:
        self.directory = Path(directory) if directory else data_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.url = url or configured_url(self.directory)
        self.where = describe(self.url)
        self.engine = engine_for(self.url)
        self.backend = self.engine.dialect.name
        #: the SQLite file (None on PostgreSQL)
        self.path: Path | None = Path(self.engine.url.database) if self.backend == "sqlite" else None
        with translated("opening the store", self.where):
            with self.engine.begin() as con:
                found = migrations.migrate(con, self.directory)
            migrations.finish(found, self.directory)

    @contextmanager
    def _write(self, action: str) -> Iterator[Connection]:
        """One transaction, committed at the end; any database failure (a failed commit too) leaves as a
        StoreError that names ``action``."""
        with translated(action, self.where), self.engine.begin() as con:
            yield con

    @contextmanager
    def _read(self, action: str) -> Iterator[Connection]:
        with translated(action, self.where), self.engine.connect() as con:
            yield con

    def schema_version(self) -> int:
        with self._read("reading the schema version") as con:
            return migrations.current_version(con)

    # -- analyses -----------------------------------------------------------
    def save_analysis(self, owner: str, name: str, payload: dict[str, Any], *, sha256: str | None = None,
                      source: str | None = None, shared: bool = False) -> str:
        analysis_id = secrets.token_urlsafe(12)
        body = json.dumps(payload, allow_nan=False)
        with self._write("saving the analysis") as con:
            con.execute(text("INSERT INTO analyses (id, owner, name, created_at, sha256, source, shared, payload) "
                             "VALUES (:id, :owner, :name, :t, :sha, :source, :shared, :payload)"),
                        {"id": analysis_id, "owner": owner, "name": name, "t": time.time(), "sha": sha256,
                         "source": source, "shared": int(shared), "payload": body})
        return analysis_id

    def set_shared(self, analysis_id: str, shared: bool = True) -> None:
        with self._write("sharing the analysis") as con:
            con.execute(text("UPDATE analyses SET shared=:s WHERE id=:id"), {"s": int(shared), "id": analysis_id})

    def get_analysis(self, analysis_id: str) -> SavedAnalysis:
        with self._read("opening the analysis") as con:
            row = con.execute(text("SELECT id, owner, name, created_at, sha256, source, shared, payload "
                                   "FROM analyses WHERE id=:id"), {"id": analysis_id}).fetchone()
        if row is None:
            raise StoreError(f"No saved analysis has the id '{analysis_id}'.",
                             "Check the link; it may have been mistyped or deleted.", code="E-STORE-001")
        return SavedAnalysis(id=row[0], owner=row[1], name=row[2], created_at=row[3], sha256=row[4],
                             source=row[5], shared=bool(row[6]), payload=_payload(row[0], row[7]))

    def open_for(self, analysis_id: str, user: str, roles: tuple[str, ...]) -> SavedAnalysis:
        """The analysis if ``user`` may see it: its owner, an admin, or anyone once shared."""
        saved = self.get_analysis(analysis_id)
        if saved.owner == user or saved.shared or "admin" in roles:
            return saved
        raise StoreError("This analysis has not been shared with you.",
                         f"Ask its owner ({saved.owner}) to share it.", code="E-STORE-002")

    def list_analyses(self, user: str | None = None, *, with_payload: bool = True) -> list[SavedAnalysis]:
        """Newest first; a damaged row is listed with ``damaged=True`` (and an empty payload) instead of
        hiding every other analysis behind one error."""
        columns = "id, owner, name, created_at, sha256, source, shared" + (", payload" if with_payload else "")
        query = f"SELECT {columns} FROM analyses" + (" WHERE owner=:u OR shared=1" if user else "") + \
            " ORDER BY created_at DESC"
        with self._read("listing saved analyses") as con:
            rows = con.execute(text(query), {"u": user} if user else {}).fetchall()
        out = []
        for r in rows:
            payload, damaged = {}, False
            if with_payload:
                try:
                    payload = _payload(r[0], r[7])
                except StoreError:
                    damaged = True
            out.append(SavedAnalysis(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), payload, damaged))
        return out

    # -- audit log ----------------------------------------------------------
    def audit(self, user: str | None, action: str, **detail: Any) -> None:
        """Append one event (login, failed_login, logout, upload, run, export, share, user_*)."""
        with self._write("writing the audit log") as con:
            con.execute(text('INSERT INTO audit (ts, "user", action, detail) VALUES (:t, :u, :a, :d)'),
                        {"t": time.time(), "u": user, "a": action, "d": json.dumps(detail, default=str)})

    def audit_log(self, limit: int = 1000) -> list[dict[str, Any]]:
        with self._read("reading the audit log") as con:
            rows = con.execute(text('SELECT seq, ts, "user", action, detail FROM audit ORDER BY seq DESC '
                                    "LIMIT :n"), {"n": int(limit)}).fetchall()
        return [{"seq": r[0], "time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r[1])), "user": r[2],
                 "action": r[3], "detail": json.loads(r[4])} for r in rows]

    # -- users (UserStore in users.py holds the rules; this is persistence only) ----
    def users(self) -> list[dict[str, Any]]:
        with self._read("reading users") as con:
            rows = con.execute(text("SELECT username, name, email, password_hash, role FROM users "
                                    "ORDER BY username")).fetchall()
        return [{"username": r[0], "name": r[1], "email": r[2], "password_hash": r[3], "role": r[4]} for r in rows]

    def user(self, username: str) -> dict[str, Any] | None:
        with self._read("reading a user") as con:
            r = con.execute(text("SELECT username, name, email, password_hash, role FROM users WHERE username=:u"),
                            {"u": username}).fetchone()
        return None if r is None else {"username": r[0], "name": r[1], "email": r[2], "password_hash": r[3],
                                       "role": r[4]}

    def insert_user(self, username: str, name: str, email: str, password_hash: str, role: str) -> bool:
        """False when the user name is taken (the check and the insert are one statement)."""
        with self._write("adding a user") as con:
            done = con.execute(text(
                "INSERT INTO users (username, name, email, password_hash, role, created_at) "
                "VALUES (:u, :n, :e, :p, :r, :t) ON CONFLICT (username) DO NOTHING"),
                {"u": username, "n": name, "e": email, "p": password_hash, "r": role, "t": time.time()})
            return done.rowcount == 1

    def update_user(self, username: str, *, role: str | None = None, password_hash: str | None = None) -> None:
        with self._write("changing a user") as con:
            if role is not None:
                con.execute(text("UPDATE users SET role=:r WHERE username=:u"), {"r": role, "u": username})
            if password_hash is not None:
                con.execute(text("UPDATE users SET password_hash=:p WHERE username=:u"),
                            {"p": password_hash, "u": username})

    def delete_user(self, username: str) -> None:
        """Remove the user and end every session they have open, in one transaction."""
        with self._write("removing a user") as con:
            con.execute(text("DELETE FROM users WHERE username=:u"), {"u": username})
            con.execute(text("UPDATE sessions SET revoked_at=:t WHERE username=:u AND revoked_at IS NULL"),
                        {"t": time.time(), "u": username})

    # -- settings ------------------------------------------------------------
    def setting(self, key: str, default: str | None = None, *, create: str | None = None) -> str | None:
        """A stored setting; ``create`` is stored first when the key is missing (first writer wins)."""
        with self._read("reading a setting") as con:
            value = con.execute(text("SELECT value FROM settings WHERE key=:k"), {"k": key}).scalar()
        if value is None and create is not None:  # written once; every later read is read-only
            with self._write("storing a setting") as con:
                con.execute(text("INSERT INTO settings (key, value) VALUES (:k, :v) ON CONFLICT (key) DO NOTHING"),
                            {"k": key, "v": create})
                value = con.execute(text("SELECT value FROM settings WHERE key=:k"), {"k": key}).scalar()
        return default if value is None else value

    # -- server-side sessions -------------------------------------------------
    def create_session(self, username: str, lifetime_seconds: float, client: str | None = None) -> str:
        sid = secrets.token_urlsafe(24)
        now = time.time()
        with self._write("starting a session") as con:
            con.execute(text("INSERT INTO sessions (sid, username, created_at, expires_at, last_seen, client) "
                             "VALUES (:s, :u, :t, :e, :t, :c)"),
                        {"s": sid, "u": username, "t": now, "e": now + lifetime_seconds, "c": client})
        return sid

    def session(self, sid: str) -> dict[str, Any] | None:
        with self._read("checking the session") as con:
            r = con.execute(text("SELECT sid, username, created_at, expires_at, last_seen, revoked_at, client "
                                 "FROM sessions WHERE sid=:s"), {"s": sid}).fetchone()
        return None if r is None else dict(zip(("sid", "username", "created_at", "expires_at", "last_seen",
                                                 "revoked_at", "client"), r))

    def touch_session(self, sid: str) -> None:
        with self._write("updating the session") as con:
            con.execute(text("UPDATE sessions SET last_seen=:t WHERE sid=:s"), {"t": time.time(), "s": sid})

    def revoke_session(self, sid: str) -> None:
        with self._write("ending the session") as con:
            con.execute(text("UPDATE sessions SET revoked_at=:t WHERE sid=:s AND revoked_at IS NULL"),
                        {"t": time.time(), "s": sid})

    def revoke_user_sessions(self, username: str) -> int:
        with self._write("ending the user's sessions") as con:
            return con.execute(text("UPDATE sessions SET revoked_at=:t WHERE username=:u AND revoked_at IS NULL"),
                               {"t": time.time(), "u": username}).rowcount

    def active_sessions(self) -> int:
        now = time.time()
        with self._read("counting sessions") as con:
            return int(con.execute(text("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND "
                                        "expires_at > :t"), {"t": now}).scalar_one())

    # -- login throttling (the policy lives in cqox_core/security.py) --------
    def throttle(self, key: str) -> dict[str, float] | None:
        with self._read("checking login attempts") as con:
            r = con.execute(text("SELECT failures, last_failure, locked_until FROM login_throttle WHERE key=:k"),
                            {"k": key}).fetchone()
        return None if r is None else {"failures": int(r[0]), "last_failure": r[1], "locked_until": r[2]}

    def record_failure(self, key: str, now: float, window_seconds: float) -> int:
        """Count one failed login for ``key`` and return the count; failures older than the window are
        forgotten. One statement, so concurrent replicas never lose a count."""
        with self._write("recording a failed login") as con:
            con.execute(text(
                "INSERT INTO login_throttle (key, failures, last_failure, locked_until) VALUES (:k, 1, :t, 0) "
                "ON CONFLICT (key) DO UPDATE SET failures = CASE WHEN login_throttle.last_failure < :old "
                "THEN 1 ELSE login_throttle.failures + 1 END, last_failure = :t"),
                {"k": key, "t": now, "old": now - window_seconds})
            return int(con.execute(text("SELECT failures FROM login_throttle WHERE key=:k"),
                                   {"k": key}).scalar_one())

    def lock(self, key: str, until: float) -> None:
        with self._write("locking a login") as con:
            con.execute(text("UPDATE login_throttle SET locked_until=:u WHERE key=:k"), {"u": until, "k": key})

    def clear_throttle(self, key: str) -> bool:
        with self._write("clearing login attempts") as con:
            return con.execute(text("DELETE FROM login_throttle WHERE key=:k"), {"k": key}).rowcount > 0

    def locked_keys(self, now: float) -> dict[str, float]:
        """Every key locked at ``now`` -> when its lock ends (one query per page run, whatever the user count)."""
        with self._read("checking login locks") as con:
            rows = con.execute(text("SELECT key, locked_until FROM login_throttle WHERE locked_until > :t"),
                               {"t": now}).fetchall()
        return {r[0]: float(r[1]) for r in rows}

    def throttles(self) -> list[dict[str, Any]]:
        with self._read("listing login locks") as con:
            rows = con.execute(text("SELECT key, failures, last_failure, locked_until FROM login_throttle "
                                    "ORDER BY last_failure DESC")).fetchall()
        return [{"key": r[0], "failures": int(r[1]), "last_failure": r[2], "locked_until": r[3]} for r in rows]
