"""Many users at once, the benchmark version (not a test; it never fails CI): 20 concurrent browser sessions
for 10 minutes against one server (tests/browser/soak.py), then a table of latencies and the memory curve.

    .venv/bin/python bench/bench_soak.py [--sessions 20] [--seconds 600]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=600)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "soak.json"
        subprocess.run([sys.executable, str(ROOT / "tests" / "browser" / "soak.py"), "--sessions",
                        str(args.sessions), "--seconds", str(args.seconds), "--out", str(out), "--artifacts",
                        str(Path(tmp) / "artifacts")], check=True, cwd=ROOT)
        report = json.loads(out.read_text())
    failures = sum(len(s["failures"]) for s in report["sessions"].values())
    print(f"{args.sessions} sessions, {report['wall_seconds']} s: {report['summary']['iterations']} rounds, "
          f"{failures} failures")
    print(f"run to all results, median: {report['summary']['run_median_s']} s; page switch median "
          f"{report['summary']['switch_median_s']} s, p90 {report['summary']['switch_p90_s']} s")
    print("seconds  RSS MB")
    for t, mb in report["memory_mb"]:
        print(f"{t:7.1f}  {mb:7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
