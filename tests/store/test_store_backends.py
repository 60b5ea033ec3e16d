"""One store suite, run on SQLite and on a real PostgreSQL server (see conftest.py's ``backend``).

Same calls, same answers on both: saved analyses and their sharing rules, the
audit log (append-only in the database itself), users, server-side sessions,
login throttling, the cookie key, and concurrent writers.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from cqox_core import security
from cqox_core.store import Store, StoreError
from cqox_core.users import UserError, UserStore

PAYLOAD = {"source": "campaign.csv", "n_rows": 600, "results": {"ipw": {"estimate": 8.1}}, "headline": "ipw"}


def raw_connection(store: Store):
    """A plain driver connection, outside the Store class: what the database enforces, not what our code does."""
    return store.engine.raw_connection()


# -- saved analyses -------------------------------------------------------------------------------

def test_a_saved_analysis_comes_back_unchanged_and_follows_the_sharing_rules(backend):
    store = Store()
    assert store.backend == backend
    private = store.save_analysis("ana", "private one", PAYLOAD, sha256="ab" * 32, source="campaign.csv")
    shared = store.save_analysis("ana", "shared one", {**PAYLOAD, "n_rows": 7}, shared=True)
    got = store.get_analysis(private)
    assert (got.owner, got.name, got.payload, got.sha256, got.shared) == ("ana", "private one", PAYLOAD, "ab" * 32,
                                                                            False)
    assert store.open_for(private, "ana", ("analyst",)).payload == PAYLOAD  # the owner
    assert store.open_for(private, "root", ("admin",)).id == private  # an admin
    with pytest.raises(StoreError) as refused:
        store.open_for(private, "vic", ("viewer",))
    assert refused.value.code == "E-STORE-002" and "ana" in refused.value.hint
    assert store.open_for(shared, "vic", ("viewer",)).payload["n_rows"] == 7
    store.set_shared(private)
    assert store.open_for(private, "vic", ("viewer",)).shared
    with pytest.raises(StoreError) as missing:
        store.get_analysis("no-such-id")
    assert missing.value.code == "E-STORE-001"


def test_the_list_shows_own_and_shared_analyses_newest_first(backend):
    store = Store()
    first = store.save_analysis("ana", "a1", PAYLOAD)
    second = store.save_analysis("bob", "b1", PAYLOAD)
    third = store.save_analysis("bob", "b2", PAYLOAD, shared=True)
    assert [a.id for a in store.list_analyses()] == [third, second, first]
    assert [a.id for a in store.list_analyses("ana")] == [third, first]
    assert [a.payload for a in store.list_analyses("ana", with_payload=False)] == [{}, {}]


def test_a_non_finite_payload_is_refused_before_it_reaches_the_database(backend):
    with pytest.raises(ValueError):
        Store().save_analysis("ana", "nan", {"estimate": float("nan")})
    assert Store().list_analyses() == []


# -- audit log ------------------------------------------------------------------------------------

def test_the_audit_log_is_append_only_in_the_database_itself(backend):
    store = Store()
    store.audit("ana", "upload", sha256="ab" * 32, size=10)
    store.audit("ana", "run", methods=["ipw"])
    statements = ["UPDATE audit SET action='nothing'", "DELETE FROM audit"]
    if backend == "postgresql":
        statements.append("TRUNCATE audit")
    for statement in statements:
        con = raw_connection(store)
        try:
            with pytest.raises(Exception, match="append-only"):
                con.cursor().execute(statement)
        finally:
            con.rollback()
            con.close()
    with pytest.raises(StoreError) as through_store:  # the same refusal through SQLAlchemy, as a typed error
        with store._write("tampering") as con:
            con.execute(text("DELETE FROM audit"))
    assert through_store.value.code == "E-STORE-006"
    log = store.audit_log()
    assert [(r["user"], r["action"]) for r in log] == [("ana", "run"), ("ana", "upload")]
    assert log[1]["detail"] == {"sha256": "ab" * 32, "size": 10}


# -- users ----------------------------------------------------------------------------------------

def test_users_add_verify_change_and_remove(backend):
    users = UserStore()
    users.add("ana", "secret-pass-1", role="analyst")
    users.add("root", "admin-pass-123", role="admin", name="Root")
    assert users.list() == [{"username": "ana", "name": "ana", "role": "analyst"},
                            {"username": "root", "name": "Root", "role": "admin"}]
    assert users.verify("ana", "secret-pass-1") and not users.verify("ana", "secret-pass-2")
    assert not users.verify("nobody", "secret-pass-1")
    creds = users.credentials()["usernames"]["ana"]
    assert creds["roles"] == ["analyst"] and creds["password"].startswith("$2") and creds["email"] == "ana@localhost"
    with pytest.raises(UserError) as taken:
        users.add("ana", "another-pass-1")
    assert taken.value.code == "E-USER-003"
    users.set_role("ana", "viewer")
    assert users.role("ana") == "viewer"
    with pytest.raises(UserError) as last:
        users.remove("root")
    assert last.value.code == "E-USER-005"
    users.remove("ana")
    assert users.role("ana") is None
    with pytest.raises(UserError) as gone:
        users.set_role("ana", "analyst")
    assert gone.value.code == "E-USER-006"


@pytest.mark.parametrize(("password", "code"), [("short-1", "E-USER-002"), ("onlyletterslong", "E-USER-007"),
                                                ("password123", "E-USER-008"), ("Dana-dana-1", "E-USER-008")])
def test_the_password_policy_refuses_weak_passwords(backend, password, code):
    with pytest.raises(UserError) as weak:
        UserStore().add("dana", password)
    assert weak.value.code == code and weak.value.hint
    assert UserStore().list() == []


def test_the_first_admin_is_created_once_with_a_policy_password(backend, monkeypatch):
    monkeypatch.delenv("CQOX_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("CQOX_ADMIN_USER", raising=False)
    users = UserStore()
    password = users.ensure_admin()
    assert password and users.verify("admin", password)
    security.check_password(password, "admin")  # the generated password passes the policy it enforces
    assert users.ensure_admin() is None and len(users.list()) == 1


def test_two_replicas_share_users_and_the_cookie_key(backend, tmp_path, monkeypatch):
    """Two Store objects with different data directories: on PostgreSQL they are one database (two replicas);
    on SQLite each directory is its own store."""
    one = UserStore(tmp_path / "replica-1")
    two = UserStore(tmp_path / "replica-2")
    one.add("ana", "secret-pass-1")
    if backend == "postgresql":
        assert two.verify("ana", "secret-pass-1")
        assert one.cookie_key() == two.cookie_key()
    else:
        assert two.list() == []
    assert one.cookie_key() == one.cookie_key() and len(one.cookie_key()) >= 32
    monkeypatch.setenv("CQOX_COOKIE_KEY", "from-a-kubernetes-secret")
    assert one.cookie_key() == "from-a-kubernetes-secret"


# -- sessions -------------------------------------------------------------------------------------

def test_server_side_sessions_end_at_logout_expiry_idleness_and_user_removal(backend, monkeypatch):
    users = UserStore()
    users.add("ana", "secret-pass-1")
    users.add("root", "admin-pass-123", role="admin")
    store = users.store
    sid = store.create_session("ana", 3600, client="127.0.0.1")
    assert security.check_session(store, sid, "ana") == ""
    assert security.check_session(store, sid, "root") == "foreign"
    assert security.check_session(store, "forged-id", "ana") == "unknown"
    assert security.check_session(store, None, "ana") == "unknown"
    store.revoke_session(sid)
    assert security.check_session(store, sid, "ana") == "revoked"
    short = store.create_session("ana", -1)
    assert security.check_session(store, short, "ana") == "expired"
    monkeypatch.setenv("CQOX_SESSION_IDLE_MINUTES", "1")
    idle = store.create_session("ana", 3600)
    row = store.session(idle)
    assert security.check_session(store, idle, "ana", now=row["last_seen"] + 61) == "idle"
    store.touch_session(idle)
    assert security.check_session(store, idle, "ana") == ""
    open_one, open_two = store.create_session("ana", 3600), store.create_session("ana", 3600)
    assert store.active_sessions() == 3  # idle + two open ones
    users.remove("ana")
    assert {security.check_session(store, s, "ana") for s in (open_one, open_two)} == {"removed"}
    assert store.session(open_one)["revoked_at"] is not None


# -- throttling -----------------------------------------------------------------------------------

def test_failed_logins_lock_the_user_then_longer_and_an_admin_clears_it(backend):
    store = Store()
    throttle = security.LoginThrottle(store, security.ThrottlePolicy(max_failures=5, max_client_failures=20,
                                                                     lock_seconds=30, max_lock_seconds=900))
    now = 1_000_000.0
    for i in range(4):
        assert throttle.failure("ana", "10.0.0.1", now=now + i) == []
    assert throttle.locked("ana", "10.0.0.9", now=now + 4) == (0.0, "")
    assert throttle.failure("ana", "10.0.0.1", now=now + 5) == [("user:ana", 30.0)]  # the 5th failure
    seconds, key = throttle.locked("ANA ", "10.0.0.9", now=now + 6)  # the name is matched as the login form would
    assert key == "user:ana" and seconds == pytest.approx(29.0)
    assert throttle.locked("ana", None, now=now + 36)[0] == 0.0  # time clears the lock...
    assert throttle.failure("ana", "10.0.0.1", now=now + 40) == [("user:ana", 60.0)]  # ...but the next one doubles
    locks = [r for r in store.audit_log() if r["action"] == "login_locked"]
    assert [(r["user"], r["detail"]["seconds"]) for r in locks] == [("ana", 60.0), ("ana", 30.0)]
    assert store.clear_throttle("user:ana")  # the admin's "unlock"
    assert throttle.locked("ana", None, now=now + 41) == (0.0, "")


def test_one_client_guessing_many_names_is_locked_as_a_client(backend):
    store = Store()
    throttle = security.LoginThrottle(store, security.ThrottlePolicy(max_failures=5, max_client_failures=20))
    now = 2_000_000.0
    for i in range(19):
        throttle.failure(f"name{i}", "203.0.113.7", now=now + i)
    assert throttle.locked("someone-else", "203.0.113.7", now=now + 20)[0] == 0.0
    assert ("client:203.0.113.7", 30.0) in throttle.failure("name19", "203.0.113.7", now=now + 20)
    assert throttle.locked("someone-else", "203.0.113.7", now=now + 21)[1] == "client:203.0.113.7"
    assert throttle.locked("someone-else", "198.51.100.1", now=now + 21)[0] == 0.0  # other clients are not locked


def test_old_failures_are_forgotten_after_the_window(backend):
    store = Store()
    policy = security.ThrottlePolicy(max_failures=5, window_seconds=3600)
    throttle = security.LoginThrottle(store, policy)
    for i in range(4):
        throttle.failure("ana", "c", now=100.0 + i)
    assert throttle.failure("ana", "c", now=100.0 + 3 + 3601) == []  # counted as the first of a new window
    assert store.throttle("user:ana")["failures"] == 1


# -- concurrency ----------------------------------------------------------------------------------

def test_concurrent_writers_lose_nothing(backend):
    store = Store()
    ids: list[str] = []
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(10):
                ids.append(store.save_analysis(f"user{worker}", f"a{i}", {"worker": worker, "i": i}))
                store.record_failure("user:shared", 5_000_000.0, 3600)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(set(ids)) == 80 and len(store.list_analyses()) == 80
    assert store.throttle("user:shared")["failures"] == 80  # one-statement increments: no lost update
    assert {store.get_analysis(i).payload["worker"] for i in ids} == set(range(8))
