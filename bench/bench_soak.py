"""Many users at once, the benchmark version (not a test; it never fails CI): 20 concurrent browser sessions
for 10 minutes against one server (tests/browser/soak.py), then a table of latencies and the memory curve.

    .venv/bin/python bench/bench_soak.py [--sessions 20] [--seconds 600]
    .venv/bin/python bench/bench_soak.py --sessions 1,5,10 --seconds 60   # latency at 1, 5 and 10 sessions

With several session counts, each runs on a fresh server (one round at least) and one table row is printed
per count: run to all results and page switch, median and 90th percentile.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="20", help="a count, or several: 1,5,10")
    parser.add_argument("--seconds", type=float, default=600)
    args = parser.parse_args(argv)
    counts = [int(x) for x in str(args.sessions).split(",")]
    if len(counts) > 1:
        return latency_table(counts, args.seconds)
    args.sessions = counts[0]
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


def soak(sessions: int, seconds: float, tmp: Path) -> dict:
    out = tmp / f"soak-{sessions}.json"
    subprocess.run([sys.executable, str(ROOT / "tests" / "browser" / "soak.py"), "--sessions", str(sessions),
                    "--seconds", str(seconds), "--out", str(out), "--artifacts", str(tmp / "artifacts")],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.9 * (len(ordered) - 1))]


def latency_table(counts: list[int], seconds: float) -> int:
    print("| sessions | rounds | run to all results, median / p90 (s) | page switch, median / p90 (s) | "
          "peak RSS (MB) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            report = soak(n, seconds, Path(tmp))
            runs = [x for s in report["sessions"].values() for x in s["run_seconds"]]
            switches = [x for s in report["sessions"].values() for x in s["switch_seconds"]]
            peak = max(mb for _, mb in report["memory_mb"])
            print(f"| {n} | {report['summary']['iterations']} | {statistics.median(runs):.2f} / {p90(runs):.2f} | "
                  f"{statistics.median(switches):.2f} / {p90(switches):.2f} | {peak:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
