"""Which database the store uses, one SQLAlchemy engine per database, and its errors in plain words.

``CQOX_DATABASE_URL`` (a SQLAlchemy URL such as
``postgresql+psycopg://user:pass@host:5432/cqox``) selects PostgreSQL, shared by
several app replicas. Without it the store is the embedded SQLite file
``cqox.sqlite3`` in the data directory, created owner-only.
"""
from __future__ import annotations

import os
import stat
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from ..errors import CQOxError

SQLITE_FILE = "cqox.sqlite3"
URL_ENV = "CQOX_DATABASE_URL"


class StoreError(CQOxError):
    code = "E-STORE-000"


_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def configured_url(directory: Path) -> str:
    """CQOX_DATABASE_URL when set, else the SQLite file in ``directory``."""
    url = os.environ.get(URL_ENV, "").strip()
    if url:
        return url
    return f"sqlite:///{directory / SQLITE_FILE}"


def describe(url: str) -> str:
    """The database in words, without its password (for messages and logs)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}"
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
    return f"{parsed.get_backend_name()} database {where}"


def _create_private_file(path: Path) -> None:
    """Create the SQLite file owner-only (0600) before the driver does, so no secret is ever world-readable."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, stat.S_IRUSR | stat.S_IWUSR)
        os.close(fd)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def engine_for(url: str) -> Engine:
    """One engine per URL and process (its pool is shared by every Store on that URL)."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create(url)
            _engines[url] = engine
        return engine


def _create(url: str) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_private_file(Path(parsed.database))
        # a connection per operation, as the store always did: SQLite connections are cheap and a pool
        # would hold the file open across forks and test directories
        return create_engine(url, poolclass=NullPool, connect_args={"timeout": 10})
    if backend == "postgresql":
        # pre_ping replaces a connection the server dropped (a restart, a failover) instead of failing
        # the next save; the connect timeout turns an unreachable server into a prompt, clear error
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_recycle=1800,
                             connect_args={"connect_timeout": 5})
    raise StoreError(f"The database URL names '{backend}', which CQOx cannot use.",
                     f"Set {URL_ENV} to a postgresql+psycopg:// URL, or unset it for the embedded SQLite store.",
                     code="E-STORE-008")


def dispose_all() -> None:
    """Close every pooled connection (tests, and a process about to fork)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


_DISK_FULL = ("database or disk is full", "no space left on device", "could not extend file", "disk full")
_UNREACHABLE = ("connection refused", "could not connect", "server closed the connection", "terminating connection",
                "connection timeout", "timeout expired", "unable to open database file", "connection is closed",
                "the database system is shutting down", "the database system is starting up", "no such host",
                "connection reset", "consuming input failed", "server conn crashed", "ssl syscall")


def _message_of(error: BaseException) -> str:
    original = getattr(error, "orig", None)
    return str(original if original is not None else error).lower()


def translate(error: BaseException, action: str, where: str) -> StoreError:
    """A database failure as a typed error a person can act on."""
    text = _message_of(error)
    if isinstance(error, OSError) and getattr(error, "errno", None) == 28 or any(s in text for s in _DISK_FULL):
        return StoreError(f"The server ran out of disk space while {action}; nothing was changed.",
                          "Free space on the data volume (or ask an operator to), then try again. "
                          "Everything saved before is intact.", code="E-STORE-004")
    if "append-only" in text:
        return StoreError("The audit log is append-only: its entries cannot be changed or deleted.",
                          "Add a new entry instead.", code="E-STORE-006")
    if isinstance(error, (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError)) or \
            any(s in text for s in _UNREACHABLE):
        return StoreError(f"The database cannot be reached right now ({where}) while {action}.",
                          "It may be restarting: try again in a moment. Nothing saved before is lost, and the app "
                          "reconnects by itself.", code="E-STORE-003")
    return StoreError(f"The database refused the operation while {action} ({where}): {text[:200]}",
                      "Try again; if it keeps failing, an operator should check the database log.",
                      code="E-STORE-007")


@contextmanager
def translated(action: str, where: str) -> Iterator[None]:
    """Run a block of database work; any driver or SQLAlchemy failure leaves as a StoreError."""
    try:
        yield
    except StoreError:
        raise
    except (exc.SQLAlchemyError, OSError) as error:
        raise translate(error, action, where) from error
