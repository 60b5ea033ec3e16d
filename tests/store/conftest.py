"""The store suite runs once per backend: the embedded SQLite file and a real PostgreSQL server.

``backend`` sets (or clears) CQOX_DATABASE_URL the way an operator would, so the
code under test picks its database exactly as the app and ``cqox users`` do.
All PostgreSQL cases run on one xdist worker (one server per run, not per worker).
"""
from __future__ import annotations

from pathlib import Path

import pytest

PG = pytest.param("postgresql", marks=pytest.mark.xdist_group("postgres"))


@pytest.fixture(params=["sqlite", PG])
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CQOX_DATA_DIR", str(tmp_path / "data"))
    if request.param == "postgresql":
        monkeypatch.setenv("CQOX_DATABASE_URL", request.getfixturevalue("postgres_url"))
    else:
        monkeypatch.delenv("CQOX_DATABASE_URL", raising=False)
    return request.param
