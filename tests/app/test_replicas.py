"""Several app replicas on one PostgreSQL store: users made by `cqox users`, analyses saved by either process.

Each replica is its own OS process running app.py (tests/app/replica_worker.py), with its own data
directory, as two pods of the Deployment would be; only CQOX_DATABASE_URL is shared.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cqox_core.store import Store
from cqox_core.users import UserStore

from .conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
WORKER = ROOT / "tests" / "app" / "replica_worker.py"
CQOX = [sys.executable, "-m", "cqox_core.cli"]
pytestmark = pytest.mark.xdist_group("postgres")


def replica_env(url: str, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "CQOX_DATABASE_URL": url, "CQOX_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT),
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "CQOX_ADMIN_PASSWORD": "admin-pass-123"}


def test_cqox_users_writes_to_the_configured_postgresql(postgres_url, tmp_path):
    env = replica_env(postgres_url, tmp_path / "cli")
    out = subprocess.run([*CQOX, "users", "add", "dana", "--role", "viewer", "--password-stdin"], env=env,
                         input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert UserStore(store=Store(tmp_path / "elsewhere", url=postgres_url)).verify("dana", PASSWORD)
    assert not (tmp_path / "cli" / "cqox.sqlite3").exists()  # the embedded store was not touched


def test_two_app_processes_on_one_postgresql_see_each_others_saved_analyses(postgres_url, tmp_path):
    for name, role in (("ana", "analyst"), ("vic", "viewer")):
        out = subprocess.run([*CQOX, "users", "add", name, "--role", role, "--password-stdin"], input=PASSWORD + "\n",
                             env=replica_env(postgres_url, tmp_path / "setup"), capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr

    def start(replica: str, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, str(WORKER), *args], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=replica_env(postgres_url, tmp_path / replica))

    def finish(proc: subprocess.Popen) -> dict:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-3000:]
        return json.loads(stdout.strip().splitlines()[-1])

    # both replicas save at the same time, then each lists what the other saved
    saving = [start("replica-a", "save", "saved on replica A"), start("replica-b", "save", "saved on replica B")]
    ids = [finish(p)["id"] for p in saving]
    listing = [start("replica-a", "list"), start("replica-b", "list")]
    for proc in listing:
        assert {"saved on replica A", "saved on replica B"} <= set(finish(proc)["names"])
    store = Store(tmp_path / "check", url=postgres_url)
    assert {store.get_analysis(i).name for i in ids} == {"saved on replica A", "saved on replica B"}
    assert sum(r["action"] == "share" for r in store.audit_log()) == 2  # one audit log for all replicas
