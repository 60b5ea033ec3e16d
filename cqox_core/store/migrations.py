"""The store's schema, versioned: each migration is applied once, in order, on SQLite and PostgreSQL alike.

Version 1 is the schema of the first releases (saved analyses and the audit log,
the SQLite file that already exists on installs made before versioning: it has no
``schema_version`` table and is taken as version 1). Version 2 moves users, the
login cookie key, server-side sessions and login throttling into the database, so
that several app replicas on one PostgreSQL share them; an old ``users.json`` and
``cookie.key`` in the data directory are imported once (``users.json`` is then
renamed ``users.json.imported``, kept owner-only as a backup).

Every statement is idempotent (IF NOT EXISTS, ON CONFLICT DO NOTHING), so two
processes that open a new SQLite store at the same moment cannot corrupt it;
PostgreSQL migrations also run under an advisory lock.

The audit log is append-only in the database itself: triggers refuse UPDATE and
DELETE (and TRUNCATE on PostgreSQL) whoever sends them, not only this code.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable

from sqlalchemy import Connection, text

#: the schema this code reads and writes
CURRENT_VERSION = 2
#: pg_advisory_xact_lock key: one migration at a time across replicas
_LOCK_KEY = 7_251_401

_V1_SQLITE = [
    """CREATE TABLE IF NOT EXISTS analyses (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, created_at REAL NOT NULL,
    sha256 TEXT, source TEXT, shared INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, user TEXT, action TEXT NOT NULL,
    detail TEXT NOT NULL)""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
]

_V1_POSTGRES = [
    """CREATE TABLE IF NOT EXISTS analyses (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
    sha256 TEXT, source TEXT, shared INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS audit (
    seq BIGSERIAL PRIMARY KEY, ts DOUBLE PRECISION NOT NULL, "user" TEXT, action TEXT NOT NULL,
    detail TEXT NOT NULL)""",
    """CREATE OR REPLACE FUNCTION cqox_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $body$
    BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $body$""",
    "DROP TRIGGER IF EXISTS audit_no_update ON audit",
    """CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION cqox_audit_append_only()""",
    "DROP TRIGGER IF EXISTS audit_no_truncate ON audit",
    """CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION cqox_audit_append_only()""",
]


def _v2(real: str) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS users (
        username TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, password_hash TEXT NOT NULL,
        role TEXT NOT NULL, created_at {real} NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS sessions (
        sid TEXT PRIMARY KEY, username TEXT NOT NULL, created_at {real} NOT NULL, expires_at {real} NOT NULL,
        last_seen {real} NOT NULL, revoked_at {real}, client TEXT)""",
        "CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (username)",
        f"""CREATE TABLE IF NOT EXISTS login_throttle (
        key TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure {real} NOT NULL,
        locked_until {real} NOT NULL)""",
        "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS analyses_by_owner ON analyses (owner, created_at)",
        "CREATE INDEX IF NOT EXISTS analyses_by_time ON analyses (created_at)",
    ]


def _import_legacy_files(con: Connection, directory: Path | None) -> None:
    """users.json and cookie.key of a release before version 2 (only into an empty users table)."""
    if directory is None:
        return
    users_file = directory / "users.json"
    has_users = con.execute(text("SELECT COUNT(*) FROM users")).scalar_one() > 0
    if users_file.exists() and not has_users:
        creds = json.loads(users_file.read_text() or "{}").get("usernames", {})
        for username, user in creds.items():
            con.execute(text(
                "INSERT INTO users (username, name, email, password_hash, role, created_at) "
                "VALUES (:u, :n, :e, :p, :r, :t) ON CONFLICT (username) DO NOTHING"),
                {"u": username, "n": user.get("name") or username, "e": user.get("email") or f"{username}@localhost",
                 "p": user["password"], "r": (user.get("roles") or ["viewer"])[0], "t": time.time()})
    key_file = directory / "cookie.key"
    if key_file.exists():
        con.execute(text("INSERT INTO settings (key, value) VALUES ('cookie_key', :v) ON CONFLICT (key) DO NOTHING"),
                    {"v": key_file.read_text().strip()})


def _after_import(directory: Path | None) -> None:
    """Rename users.json once its users are in the database, so nobody edits a file that is no longer read."""
    if directory is None:
        return
    users_file = directory / "users.json"
    if users_file.exists():
        os.replace(users_file, directory / "users.json.imported")


#: version -> (statements per dialect, data step run in the same transaction)
MIGRATIONS: dict[int, tuple[dict[str, list[str]], Callable[[Connection, Path | None], None] | None]] = {
    1: ({"sqlite": _V1_SQLITE, "postgresql": _V1_POSTGRES}, None),
    2: ({"sqlite": _v2("REAL"), "postgresql": _v2("DOUBLE PRECISION")}, _import_legacy_files),
}

_VERSION_TABLE = {"sqlite": "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at REAL "
                            "NOT NULL)",
                  "postgresql": "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at "
                                "DOUBLE PRECISION NOT NULL)"}


def current_version(con: Connection) -> int:
    """0 for an empty database; 1 for a pre-versioning store (analyses but no schema_version)."""
    dialect = con.dialect.name
    if dialect == "sqlite":
        names = {r[0] for r in con.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
    else:
        names = {r[0] for r in con.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"))}
    if "schema_version" in names:
        return int(con.execute(text("SELECT COALESCE(MAX(version), 0) FROM schema_version")).scalar_one())
    return 1 if "analyses" in names else 0


def migrate(con: Connection, directory: Path | None) -> int:
    """Bring the schema to CURRENT_VERSION inside the caller's transaction; returns the version found."""
    dialect = con.dialect.name
    if dialect == "postgresql":
        con.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    found = current_version(con)
    if found > CURRENT_VERSION:
        from .engine import StoreError
        raise StoreError(f"The store has schema version {found}, newer than this CQOx understands "
                         f"({CURRENT_VERSION}).", "Upgrade CQOx on this machine to the version the other replicas "
                         "run.", code="E-STORE-009")
    if found == CURRENT_VERSION:
        return found
    con.exec_driver_sql(_VERSION_TABLE[dialect])
    if found and not con.execute(text("SELECT COUNT(*) FROM schema_version")).scalar_one():
        # a store from before versioning: record the version it was found at, so its history is complete
        con.execute(text("INSERT INTO schema_version (version, applied_at) VALUES (:v, :t)"),
                    {"v": found, "t": time.time()})
    for version in range(found + 1, CURRENT_VERSION + 1):
        statements, data_step = MIGRATIONS[version]
        for statement in statements[dialect]:
            con.exec_driver_sql(statement)
        if data_step is not None:
            data_step(con, directory)
        con.execute(text("INSERT INTO schema_version (version, applied_at) VALUES (:v, :t)"),
                    {"v": version, "t": time.time()})
    return found


def finish(found: int, directory: Path | None) -> None:
    """File-system steps that must wait until the migration's transaction committed."""
    if found < 2:
        _after_import(directory)
