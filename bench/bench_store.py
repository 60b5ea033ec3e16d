"""Store speed on SQLite and PostgreSQL (a benchmark, not a test; it never fails CI).

Save N analyses (a realistic ~20 KB payload each), open each one by id, and list them all (with and without
payloads), on the embedded SQLite file and on a PostgreSQL server started for the run from Debian's package
(tests/pg_server.py: loopback, temporary directory, stopped at the end; its durability settings are off, so
PostgreSQL's numbers here exclude fsync).

    .venv/bin/python bench/bench_store.py [--analyses 1000]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from cqox_core.store import Store, dispose_all  # noqa: E402


def payload(i: int) -> dict:
    """About 20 KB of JSON, shaped like a saved analysis (results with diagnostics and gates)."""
    results = {f"method_{m}": {"estimate": 1.0 + i * 1e-3 + m, "std_error": 0.1, "diagnostics": {
        "smd": {f"x{k}": 0.01 * k for k in range(40)}}, "gates": [
        {"name": f"gate_{g}", "status": "pass", "metric": 0.05, "threshold": 0.1, "message": "ok " * 10}
        for g in range(6)]} for m in range(6)}
    return {"source": "campaign.csv", "n_rows": 600, "headline": "method_0", "results": results}


def measure(store: Store, n: int) -> dict[str, float]:
    start = time.perf_counter()
    ids = [store.save_analysis(f"user{i % 10}", f"analysis {i}", payload(i), shared=i % 2 == 0) for i in range(n)]
    save = time.perf_counter() - start
    opens = []
    for analysis_id in ids:
        t = time.perf_counter()
        store.get_analysis(analysis_id)
        opens.append(time.perf_counter() - t)
    t = time.perf_counter()
    assert len(store.list_analyses()) == n
    listed = time.perf_counter() - t
    t = time.perf_counter()
    store.list_analyses(with_payload=False)
    listed_light = time.perf_counter() - t
    t = time.perf_counter()
    store.list_analyses("user3", with_payload=False)
    listed_user = time.perf_counter() - t
    return {"save_ms_each": 1000 * save / n, "open_ms_median": 1000 * statistics.median(opens),
            "list_all_s": listed, "list_all_no_payload_s": listed_light, "list_one_user_no_payload_s": listed_user}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--analyses", type=int, default=1000)
    args = parser.parse_args(argv)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_dir = Path(tmp) / "sqlite"
        rows["SQLite"] = measure(Store(sqlite_dir, url=f"sqlite:///{sqlite_dir / 'cqox.sqlite3'}"), args.analyses)
        from pg_server import PostgresServer

        server = PostgresServer.start()
        try:
            rows["PostgreSQL"] = measure(Store(Path(tmp) / "pg", url=server.create_database()), args.analyses)
        finally:
            dispose_all()
            server.stop()
    keys = list(next(iter(rows.values())))
    print(f"| store ({args.analyses} analyses) | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[k]:.3g}" for k in keys) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
