"""AppTest fixtures: a private data directory, users of each role, a logged-in app.

Every test gets its own CQOX_DATA_DIR (the SQLite store with users and cookie key), and
Streamlit's process-wide caches are cleared, because ``app_lib.auth.store()`` is
an ``st.cache_resource`` that would otherwise keep the first test's directory.

Login: ``log_in`` seeds the session state exactly as streamlit-authenticator
leaves it after a successful login (``authentication_status``, ``username``,
``name``); ``app_lib.auth.login`` then reads the role from the store, as it
does on every run of the real app. ``test_login.py`` covers the form itself.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit_authenticator import params as stauth_params

from cqox_core.data import Dataset
from cqox_core.store import Store
from cqox_core.users import UserStore

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
if str(ROOT) not in sys.path:  # app_lib/ is not installed (not a package of pyproject); tests read PAGES
    sys.path.insert(0, str(ROOT))
ADMIN_PASSWORD = "admin-pass-123"
PASSWORD = "secret-pass-1"
USERS = {"ana": "analyst", "vic": "viewer"}
#: a single page run stays far below this on 2 shared cores; it only bounds a hang
TIMEOUT = 60
TRUE_EFFECT = 8.0


def campaign_frame(n: int = 600, seed: int = 7, effect: float = TRUE_EFFECT) -> pd.DataFrame:
    """A voucher campaign with column names the mapper has not seen in its tests.

    Treatment odds rise with prior orders and age, and both raise spending, so
    the naive difference is biased; the effect is constant (``effect``).
    """
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    prior = rng.poisson(3, n)
    region = rng.choice(["north", "south", "east", "west"], n)
    logit = -1.0 + 0.25 * prior + 0.01 * (age - 45)
    treated = rng.random(n) < 1 / (1 + np.exp(-logit))
    spend = 20 + 2.5 * prior + 0.2 * age + (region == "west") * 3 + effect * treated + rng.normal(0, 5, n)
    return pd.DataFrame({"age_years": age, "prior_orders": prior, "region": region,
                         "got_voucher": np.where(treated, "yes", "no"), "spend_after_90d": spend.round(2)})


@pytest.fixture(scope="session")
def _users_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the admin, an analyst and a viewer, hashed once per session (bcrypt is slow)."""
    directory = tmp_path_factory.mktemp("users-template")
    users = UserStore(store=Store(directory, url=f"sqlite:///{directory / 'cqox.sqlite3'}"))
    users.add("admin", ADMIN_PASSWORD, role="admin", name="Administrator")
    for name, role in USERS.items():
        users.add(name, PASSWORD, role=role)
    return directory


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _users_template: Path) -> Path:
    directory = tmp_path / "cqox-data"
    directory.mkdir(mode=0o700)
    shutil.copy2(_users_template / "cqox.sqlite3", directory / "cqox.sqlite3")
    monkeypatch.delenv("CQOX_DATABASE_URL", raising=False)
    monkeypatch.setenv("CQOX_DATA_DIR", str(directory))
    monkeypatch.setenv("CQOX_ADMIN_USER", "admin")
    monkeypatch.setenv("CQOX_ADMIN_PASSWORD", ADMIN_PASSWORD)
    # the library sleeps 0.7 s before drawing the login form (a brute-force brake); tests need no brake
    monkeypatch.setattr(stauth_params, "PRE_LOGIN_SLEEP_TIME", 0.0)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield directory
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture(scope="session")
def campaign() -> Dataset:
    return Dataset.from_frame(campaign_frame(), source="voucher_campaign.csv")


def new_app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def log_in(at: AppTest, username: str) -> AppTest:
    """Seed the session as a successful login leaves it: streamlit-authenticator's keys and the id of the
    server-side session that app_lib.auth creates (in the store CQOX_DATA_DIR / CQOX_DATABASE_URL name)."""
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["name"] = username
    at.session_state["cqox_sid"] = Store().create_session(username, 3600)
    return at


@pytest.fixture
def app_as(data_dir: Path) -> Callable[..., AppTest]:
    """``app_as("ana", "mapping", dataset=ds)``: a logged-in app showing app_pages/mapping.py.

    The first run happens logged out (login form only), so no page runs before
    the one under test: the Upload page's loader is not needed by the others.
    """
    def make(username: str, page: str, dataset: Dataset | None = None) -> AppTest:
        at = new_app().run()
        log_in(at, username)
        if dataset is not None:
            at.session_state["dataset"] = dataset
            at.session_state["dataset_sha"] = dataset.sha256
        return go(at, page)
    return make


def go(at: AppTest, page: str) -> AppTest:
    """Switch to app_pages/<page>.py and run; fails on any exception shown on the page."""
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]
