"""Many users at once (tests/browser/soak.py): 10 concurrent browser sessions on one server.

Bounded and loopback only: the sessions loop (upload, run, Results, Gates, Visuals) until
CQOX_SOAK_SECONDS have passed and each did at least two rounds (default 60 s here, so that `make test` stays
inside CI's time: on 2 shared cores one round of 10 sessions takes about 3 minutes, so this is about 6-7
minutes; the issue's 5-minute run is `CQOX_SOAK_SECONDS=300`, and the benchmark's 20 sessions for 10 minutes
is bench/bench_soak.py), then the server stops. The memory curve is written to test-artifacts/soak.json and
printed, for the note.

What must hold: no exception and no failed step in any session; every headline is the session's own file's
effect (the files share name and shape, effects are 5 apart, so a leaked result is off by 5 or more); the
server survives; and its resident memory levels off once every session has finished a first round.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SESSIONS = 10
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def test_ten_concurrent_sessions_without_errors_leaks_or_growing_memory(playwright_api):
    seconds = float(os.environ.get("CQOX_SOAK_SECONDS", "60"))
    out = ARTIFACTS / "soak.json"
    ARTIFACTS.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("CQOX_DATABASE_URL", None)
    # its own process: async Playwright must not share an interpreter with the suite's sync Playwright
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "browser" / "soak.py"), "--sessions", str(SESSIONS),
                           "--seconds", str(seconds), "--min-rounds", "2", "--out", str(out), "--artifacts", str(ARTIFACTS)],
                          env=env, capture_output=True, text=True, timeout=seconds + 900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(out.read_text())
    print("soak memory (s, RSS MB):", report["memory_mb"])
    print("soak summary:", report["summary"])
    sessions = report["sessions"].values()
    assert report["server_alive"]
    assert all(not s["failures"] for s in sessions), [s["failures"] for s in sessions if s["failures"]]
    assert all(s["iterations"] >= 2 for s in sessions), [s["iterations"] for s in sessions]
    for s in sessions:
        # n = 400, noise sd 1: the battery's headline is within ~0.3 of the truth; 1.0 is loose for that and
        # still five times closer than any other session's effect
        assert all(abs(e - s["true_effect"]) < 1.0 for e in s["estimates"]), (s["true_effect"], s["estimates"])
        assert len(s["estimates"]) == s["iterations"]
    # memory: after every session finished its first round (imports and caches warm) the second round runs on
    # the same kind of work; RSS may still move a little as the caches take the second files, but a leak of a
    # round's worth of state would show as growth like the first round's
    warm = max(s["done_at"][0] for s in sessions)
    after = [mb for t, mb in report["memory_mb"] if t >= warm]
    assert len(after) >= 5, (warm, report["memory_mb"])  # a real stretch of samples, not one point
    assert max(after) <= 1.25 * after[0] + 50, (warm, report["memory_mb"])
    assert max(mb for _, mb in report["memory_mb"]) < 2048
