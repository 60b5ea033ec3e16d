"""Speed of the policy methods (dose_response, ope, policy_learning) on their own generators.

    .venv/bin/python bench/bench_policy.py               # 10K rows
    .venv/bin/python bench/bench_policy.py --sizes 10000 100000

Each cell simulates the data from a seed, warms up on 500 rows, then times the estimation call
(best of --repeat) in this process, with the process's peak RSS after the cell. No peer library:
obp (OPE) would pull in torch, and no installed package implements Kennedy et al.'s DR kernel curve.
A benchmark, not a test: it never asserts on timing. Results: bench/results/policy.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cqox_core as cq  # noqa: E402
from cqox_core.datasets import policy as P  # noqa: E402

CELLS = {
    "dose_response (dr, plug-in h)": ("dose_response", P.simulate_dose,
                                      dict(outcome="y", treatment="dose", covariates=["x1", "x2", "x3"])),
    "dose_response (dr, cost -> optimal dose)": ("dose_response", P.simulate_dose,
                                                 dict(outcome="y", treatment="dose", covariates=["x1", "x2", "x3"],
                                                      cost_per_unit=0.5)),
    "dose_response (gps, 200 bootstrap)": ("dose_response", P.simulate_dose,
                                           dict(outcome="y", treatment="dose", covariates=["x1", "x2", "x3"],
                                                curve="gps")),
    "ope (given propensity)": ("ope", P.simulate_bandit,
                               dict(outcome="reward", treatment="action", covariates=["x1", "x2"],
                                    propensity="propensity", target="target")),
    "ope (estimated propensity)": ("ope", P.simulate_bandit,
                                   dict(outcome="reward", treatment="action", covariates=["x1", "x2"],
                                        target="target")),
    "policy_learning (depth 2, 5 folds)": ("policy_learning", P.simulate_targeting,
                                           dict(outcome="y", treatment="treated", covariates=["x1", "x2", "x3"],
                                                cost_per_treated=0.2)),
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "policy.md"))
    args = parser.parse_args()
    rows = []
    for name, (method, make, kw) in CELLS.items():
        cq.estimate(method, make(500, seed=1), **kw, with_sensitivity=False)
        for n in args.sizes:
            df = make(n, seed=0)
            best = float("inf")
            for _ in range(args.repeat):
                start = time.perf_counter()
                res = cq.estimate(method, df, **kw, seed=0, with_sensitivity=False)
                best = min(best, time.perf_counter() - start)
            rows.append((name, n, best, peak_rss_mb(), res.estimate))
            print(f"{name:45s} {n:>9,d}  {best:7.2f} s  peak RSS {rows[-1][3]:7.0f} MB  estimate {res.estimate:.4g}",
                  flush=True)
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    lines = ["# Policy methods: speed", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
             f"OMP_NUM_THREADS={threads}. Command: `bench/bench_policy.py --sizes {' '.join(map(str, args.sizes))}`. "
             f"Best of {args.repeat} calls after a warm-up; peak RSS is the process's so far (cumulative).", "",
             "| method | rows | seconds | peak RSS (MB) | estimate |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {name} | {n:,d} | {sec:.2f} | {rss:.0f} | {est:.4g} |" for name, n, sec, rss, est in rows]
    lines += ["", "No peer library ran beside these: obp (off-policy evaluation) needs torch, and no installed "
              "package implements the doubly robust kernel dose-response curve or the policy tree used here.", ""]
    Path(args.out).write_text("\n".join(lines))


if __name__ == "__main__":
    main()
