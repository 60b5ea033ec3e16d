"""The embedded store: saved analyses (shareable by id) and the audit log.

SQLite under the data directory (``CQOX_DATA_DIR``, default ``~/.cqox``), created
with owner-only permissions. Payloads are JSON, never pickle: a saved analysis
is data a user influenced, and unpickling it could run code.
"""
from __future__ import annotations

import json
import os
import secrets
import sqlite3
import stat
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .errors import CQOxError


class StoreError(CQOxError):
    code = "E-STORE-000"


SCHEMA = """
CREATE TABLE IF NOT EXISTS analyses (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, created_at REAL NOT NULL,
    sha256 TEXT, source TEXT, shared INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, user TEXT, action TEXT NOT NULL,
    detail TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


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


class Store:
    """Saved analyses and the audit log in one SQLite file."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory else data_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "cqox.sqlite3"
        with self._connect() as con:
            con.executescript(SCHEMA)
        os.chmod(self.path, stat.S_IRUSR | stat.S_IWUSR)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=10)
        try:
            with con:
                yield con
        finally:
            con.close()

    # -- analyses -----------------------------------------------------------
    def save_analysis(self, owner: str, name: str, payload: dict[str, Any], *, sha256: str | None = None,
                      source: str | None = None, shared: bool = False) -> str:
        analysis_id = secrets.token_urlsafe(12)
        text = json.dumps(payload, allow_nan=False)
        with self._connect() as con:
            con.execute("INSERT INTO analyses VALUES (?,?,?,?,?,?,?,?)",
                        (analysis_id, owner, name, time.time(), sha256, source, int(shared), text))
        return analysis_id

    def set_shared(self, analysis_id: str, shared: bool = True) -> None:
        with self._connect() as con:
            con.execute("UPDATE analyses SET shared=? WHERE id=?", (int(shared), analysis_id))

    def get_analysis(self, analysis_id: str) -> SavedAnalysis:
        with self._connect() as con:
            row = con.execute("SELECT * FROM analyses WHERE id=?", (analysis_id,)).fetchone()
        if row is None:
            raise StoreError(f"No saved analysis has the id '{analysis_id}'.",
                             "Check the link; it may have been mistyped or deleted.", code="E-STORE-001")
        return SavedAnalysis(id=row[0], owner=row[1], name=row[2], created_at=row[3], sha256=row[4],
                             source=row[5], shared=bool(row[6]), payload=json.loads(row[7]))

    def open_for(self, analysis_id: str, user: str, roles: tuple[str, ...]) -> SavedAnalysis:
        """The analysis if ``user`` may see it: its owner, an admin, or anyone once shared."""
        saved = self.get_analysis(analysis_id)
        if saved.owner == user or saved.shared or "admin" in roles:
            return saved
        raise StoreError("This analysis has not been shared with you.",
                         f"Ask its owner ({saved.owner}) to share it.", code="E-STORE-002")

    def list_analyses(self, user: str | None = None) -> list[SavedAnalysis]:
        query = "SELECT * FROM analyses" + (" WHERE owner=? OR shared=1" if user else "") + \
            " ORDER BY created_at DESC"
        with self._connect() as con:
            rows = con.execute(query, (user,) if user else ()).fetchall()
        return [SavedAnalysis(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), json.loads(r[7])) for r in rows]

    # -- audit log ----------------------------------------------------------
    def audit(self, user: str | None, action: str, **detail: Any) -> None:
        """Append one event (login, failed_login, logout, upload, run, export, share, user_*)."""
        with self._connect() as con:
            con.execute("INSERT INTO audit (ts, user, action, detail) VALUES (?,?,?,?)",
                        (time.time(), user, action, json.dumps(detail, default=str)))

    def audit_log(self, limit: int = 1000) -> list[dict[str, Any]]:
        with self._connect() as con:
            rows = con.execute("SELECT seq, ts, user, action, detail FROM audit ORDER BY seq DESC LIMIT ?",
                               (limit,)).fetchall()
        return [{"seq": r[0], "time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r[1])), "user": r[2],
                 "action": r[3], "detail": json.loads(r[4])} for r in rows]
