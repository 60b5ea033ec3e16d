"""Faults at the store: a full disk while saving, a damaged saved row, the database going away.

Each gives a typed error with a plain message, loses nothing saved before, and
the same Store object works again once the fault is gone (no restart).
"""
from __future__ import annotations

import pytest
from sqlalchemy import event, text

from cqox_core.store import Store, StoreError
from cqox_core.store.engine import translate

PAYLOAD = {"headline": "ipw", "results": {"ipw": {"estimate": 8.0}}}


def test_a_full_disk_while_saving_is_a_clear_error_and_loses_nothing(tmp_path, monkeypatch):
    """SQLite's own out-of-space path (SQLITE_FULL): the file may not grow past max_page_count pages, exactly
    as when the volume has no free block left."""
    monkeypatch.delenv("CQOX_DATABASE_URL", raising=False)
    store = Store(tmp_path / "s")
    kept = store.save_analysis("ana", "before", PAYLOAD)
    with store._read("measuring") as con:
        pages = con.execute(text("PRAGMA page_count")).scalar_one()
    full = {"on": True}

    def cap(dbapi_connection, _record) -> None:
        if full["on"]:
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(store.engine, "connect", cap)
    try:
        with pytest.raises(StoreError) as disk:
            store.save_analysis("ana", "too big", {"blob": "x" * 2_000_000})
        assert disk.value.code == "E-STORE-004"
        assert "disk space" in disk.value.message and "intact" in disk.value.hint
        assert [a.id for a in store.list_analyses()] == [kept]  # nothing half-written, nothing lost
        full["on"] = False  # space freed: the same store saves again, no restart
        again = store.save_analysis("ana", "after", PAYLOAD)
        assert {a.id for a in store.list_analyses()} == {kept, again}
    finally:
        event.remove(store.engine, "connect", cap)


def test_postgres_disk_full_maps_to_the_same_message():
    """PostgreSQL's disk-full SQLSTATE (53100), as psycopg raises it, gets the SQLite case's code and words."""
    import psycopg.errors
    from sqlalchemy.exc import OperationalError

    error = OperationalError("INSERT ...", {}, psycopg.errors.DiskFull("could not extend file: No space left on "
                                                                       "device"))
    assert translate(error, "saving the analysis", "db").code == "E-STORE-004"


def test_a_damaged_row_is_reported_and_the_others_still_open(backend):
    store = Store()
    good = store.save_analysis("ana", "good", PAYLOAD, shared=True)
    bad = store.save_analysis("ana", "bad", PAYLOAD, shared=True)
    with store._write("damaging a row") as con:  # what a torn write or a hand edit leaves behind
        con.execute(text("UPDATE analyses SET payload = :p WHERE id = :id"), {"p": '{"headline": "ip', "id": bad})
    with pytest.raises(StoreError) as damaged:
        store.get_analysis(bad)
    assert damaged.value.code == "E-STORE-005" and bad in damaged.value.message
    listed = {a.id: a.damaged for a in store.list_analyses()}
    assert listed == {good: False, bad: True}
    assert store.open_for(good, "vic", ("viewer",)).payload == PAYLOAD


@pytest.mark.xdist_group("postgres")
def test_the_database_going_away_mid_session_is_a_clear_error_and_then_recovers(postgres_server, postgres_url,
                                                                                 monkeypatch, tmp_path):
    monkeypatch.setenv("CQOX_DATABASE_URL", postgres_url)
    store = Store(tmp_path / "d")
    kept = store.save_analysis("ana", "before", PAYLOAD)
    postgres_server.stop_server("fast")  # the pool still holds connections to the stopped server
    try:
        with pytest.raises(StoreError) as away:
            store.save_analysis("ana", "while down", PAYLOAD)
        assert away.value.code == "E-STORE-003"
        assert "cannot be reached" in away.value.message and "Nothing saved before is lost" in away.value.hint
        with pytest.raises(StoreError):
            store.list_analyses()
    finally:
        postgres_server.restart_server()
    # the same Store (and its pool) works again: stale connections are replaced by pre-ping
    assert [a.id for a in store.list_analyses()] == [kept]
    after = store.save_analysis("ana", "after", PAYLOAD)
    assert store.get_analysis(after).name == "after"
