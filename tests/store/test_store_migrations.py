"""Versioned schema: a store written by the release before versioning opens after an upgrade, unchanged.

``OLD_SCHEMA`` and the users.json/cookie.key layout are copied verbatim from
cqox_core/store.py and cqox_core/users.py as they were before the store became a
package (git show 1484182:cqox_core/store.py), so this is the file an existing
install really has on disk.
"""
from __future__ import annotations

import json
import sqlite3
import stat
import time

import bcrypt
import pytest
from sqlalchemy import text

from cqox_core.store import Store, StoreError, migrations
from cqox_core.users import UserStore

OLD_SCHEMA = """
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


@pytest.fixture
def old_install(tmp_path, monkeypatch):
    """A data directory as the previous release left it: cqox.sqlite3 (no schema_version), users.json, cookie.key."""
    monkeypatch.delenv("CQOX_DATABASE_URL", raising=False)
    monkeypatch.delenv("CQOX_COOKIE_KEY", raising=False)
    directory = tmp_path / "old"
    directory.mkdir(mode=0o700)
    con = sqlite3.connect(directory / "cqox.sqlite3")
    con.executescript(OLD_SCHEMA)
    with con:
        con.execute("INSERT INTO analyses VALUES (?,?,?,?,?,?,?,?)",
                    ("old-id-123", "ana", "from last year", 1_700_000_000.0, "cd" * 32, "old.csv", 1,
                     json.dumps({"headline": "ipw", "results": {}})))
        con.execute("INSERT INTO audit (ts, user, action, detail) VALUES (?,?,?,?)",
                    (1_700_000_000.0, "ana", "share", json.dumps({"analysis_id": "old-id-123"})))
    con.close()
    hashed = bcrypt.hashpw(b"old-password-1", bcrypt.gensalt(4)).decode()
    (directory / "users.json").write_text(json.dumps({"usernames": {
        "ana": {"name": "Ana", "email": "ana@example.org", "password": hashed, "roles": ["analyst"]},
        "root": {"name": "Administrator", "email": "root@localhost", "password": hashed, "roles": ["admin"]}}}))
    (directory / "cookie.key").write_text("the-old-cookie-key\n")
    for name in ("users.json", "cookie.key", "cqox.sqlite3"):
        (directory / name).chmod(0o600)
    return directory


def test_an_old_store_opens_after_the_upgrade_with_everything_in_it(old_install):
    store = Store(old_install)
    assert store.schema_version() == migrations.CURRENT_VERSION == 2
    old = store.get_analysis("old-id-123")
    assert (old.owner, old.name, old.shared, old.payload["headline"]) == ("ana", "from last year", True, "ipw")
    assert [r["action"] for r in store.audit_log()] == ["share"]
    users = UserStore(old_install)
    assert users.list() == [{"username": "ana", "name": "Ana", "role": "analyst"},
                            {"username": "root", "name": "Administrator", "role": "admin"}]
    assert users.verify("ana", "old-password-1")
    assert users.cookie_key() == "the-old-cookie-key"  # logins made before the upgrade keep their key
    # users.json is no longer read: renamed (kept owner-only as a backup) so nobody edits a dead file
    assert not (old_install / "users.json").exists()
    backup = old_install / "users.json.imported"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    # the old append-only triggers still hold
    con = sqlite3.connect(old_install / "cqox.sqlite3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM audit")
    con.close()


def test_reopening_migrates_nothing_twice(old_install):
    Store(old_install)
    UserStore(old_install).add("newbie", "secret-pass-1")
    again = Store(old_install)
    with again._read("counting") as con:
        versions = [r[0] for r in con.execute(text("SELECT version FROM schema_version ORDER BY version"))]
        users = con.execute(text("SELECT COUNT(*) FROM users")).scalar_one()
    assert versions == [1, 2] and users == 3


def test_a_new_store_is_created_owner_only_at_the_current_version(tmp_path, monkeypatch):
    monkeypatch.delenv("CQOX_DATABASE_URL", raising=False)
    store = Store(tmp_path / "fresh")
    assert store.schema_version() == 2
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_a_store_from_a_newer_release_is_refused_not_damaged(tmp_path, monkeypatch):
    monkeypatch.delenv("CQOX_DATABASE_URL", raising=False)
    store = Store(tmp_path / "s")
    with store._write("pretending to be newer") as con:
        con.execute(text("INSERT INTO schema_version (version, applied_at) VALUES (99, :t)"), {"t": time.time()})
    with pytest.raises(StoreError) as newer:
        Store(tmp_path / "s")
    assert newer.value.code == "E-STORE-009" and "Upgrade" in newer.value.hint


@pytest.mark.xdist_group("postgres")
def test_an_empty_postgresql_database_gets_the_whole_schema_and_the_old_users(old_install, postgres_url,
                                                                             monkeypatch):
    """Moving from the embedded store to PostgreSQL: users.json in the data directory is imported too."""
    monkeypatch.setenv("CQOX_DATABASE_URL", postgres_url)
    store = Store(old_install)
    assert store.backend == "postgresql" and store.schema_version() == 2
    assert UserStore(old_install).verify("ana", "old-password-1")
