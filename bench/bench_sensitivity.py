"""Speed and memory of the sensitivity panel on a regression, beside PySensemakr doing the same job.

    .venv/bin/python bench/bench_sensitivity.py                 # 10K, 100K, 1M rows
    .venv/bin/python bench/bench_sensitivity.py --sizes 10K     # one size

The data: cqox_core.datasets.observational.simulate_observational (10 covariates, effect 2). Cells, each
in a fresh worker process (bench/harness.py), timing only the call named:

* ``estimate``: regression_adjustment without the panel (context: what the panel is added to);
* ``panel``: ``sensitivity_report`` on that result, the panel attached to every regression (E-value,
  robustness values, benchmark bounds of the 5 strongest covariates x 1-3, the 25 x 25 bias contour, the
  k-times-as-strong multiples, the paragraph);
* ``panel_full``: the same with ``full=True`` (every covariate benchmarked, 81 x 81 contour), as the
  ``sensitivity`` method computes it;
* ``sensemakr`` (peer): statsmodels OLS of the additive model and of the treatment on the covariates
  (arrays, no formulas), PySensemakr's robustness_value, partial_r2, ovb_partial_r2_bound for the same
  5 covariates x 1-3 and adjusted_estimate on the same 25 x 25 grid.

The issue's target is the panel on a 1M-row regression in under 5 s. This is a benchmark, not a test:
nothing here asserts on timing. Results: bench/results/sensitivity.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402  (bench/ is not a package; the worker runs this file as a script)
from harness import RESULTS, fmt_memory, fmt_seconds, progress, size_label  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
SIDES = ("estimate", "panel", "panel_full", "sensemakr")
WARMUP_ROWS = 500
TIMEOUT = 600.0


def data(n: int, seed: int) -> tuple[Any, Any]:
    from cqox_core.data import as_dataset
    from cqox_core.datasets.observational import COVARIATES, simulate_observational
    from cqox_core.roles import Roles

    return as_dataset(simulate_observational(n, seed)), Roles(outcome="y", treatment="t", covariates=COVARIATES)


def cqox_cell(side: str, n: int, seed: int) -> dict[str, Any]:
    import cqox_core as cq
    from cqox_core.sensitivity import sensitivity_report

    def run(dataset: Any, roles: Any) -> tuple[Any, ...]:
        result = cq.estimate("regression_adjustment", dataset, roles=roles, with_gates=False, with_sensitivity=False)
        if side == "estimate":
            return lambda: (result.estimate, result.std_error)
        full = side == "panel_full"
        return lambda: (lambda r: (r["robustness_value"], r.get("e_value"),
                                   {"benchmarks": len(r["benchmarks"]), "grid": len(r["contour"]["r2dz_x"])}))(
            sensitivity_report(result, dataset, roles, full=full))

    run(*data(WARMUP_ROWS, seed + 1))()      # imports and first-call costs
    dataset, roles = data(n, seed)
    if side == "estimate":
        return harness.timed_call(lambda: (lambda r: (r.estimate, r.std_error))(
            cq.estimate("regression_adjustment", dataset, roles=roles, with_gates=False, with_sensitivity=False)))
    return harness.timed_call(run(dataset, roles))


def sensemakr_cell(n: int, seed: int) -> dict[str, Any]:
    import sensemakr as smkr
    import statsmodels.api as sm

    def panel(frame: Any) -> tuple[Any, ...]:
        from cqox_core.datasets.observational import COVARIATES

        X = frame[list(COVARIATES)].to_numpy(float)
        d, y = frame["t"].to_numpy(float), frame["y"].to_numpy(float)
        outcome = sm.OLS(y, sm.add_constant(np.column_stack([d, X]))).fit()
        treatment = sm.OLS(d, sm.add_constant(X)).fit()
        t_stat, dof = float(outcome.tvalues[1]), int(outcome.df_resid)
        rv = float(np.asarray(smkr.robustness_value(t_statistic=t_stat, dof=dof))[0])
        r2y = np.asarray(smkr.partial_r2(t_statistic=np.asarray(outcome.tvalues[2:]), dof=dof), dtype=float)
        r2d = np.asarray(smkr.partial_r2(t_statistic=np.asarray(treatment.tvalues[1:]),
                                         dof=int(treatment.df_resid)), dtype=float)
        estimate, se = float(outcome.params[1]), float(outcome.bse[1])
        for j in np.argsort(-r2y * r2d)[:5]:
            smkr.ovb_partial_r2_bound(r2dxj_x=float(r2d[j]), r2yxj_dx=float(r2y[j]), kd=[1, 2, 3])
        grid = np.linspace(0, 0.4, 25)
        surface = [[smkr.adjusted_estimate(gx, gy, estimate=estimate, se=se, dof=dof) for gx in grid] for gy in grid]
        return rv, estimate, {"grid": len(surface)}

    panel(data(WARMUP_ROWS, seed + 1)[0].frame)
    frame = data(n, seed)[0].frame
    return harness.timed_call(lambda: panel(frame))


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    if spec["side"] == "sensemakr":
        return sensemakr_cell(spec["n"], spec["seed"])
    return cqox_cell(spec["side"], spec["n"], spec["seed"])


def table(cells: list[dict[str, Any]]) -> str:
    lines = ["| rows | " + " | ".join(SIDES) + " |", "|---|" + "---|" * len(SIDES)]
    for n in sorted({c["n"] for c in cells}):
        row = [size_label(n)]
        for side in SIDES:
            cell = next((c for c in cells if c["n"] == n and c["side"] == side), None)
            if cell is None:
                row.append("—")
            elif cell["status"] != "ok":
                row.append(cell["status"])
            else:
                row.append(f"{fmt_seconds(cell)} s ({fmt_memory(cell)} MB)")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default=",".join(size_label(n) for n in SIZES))
    parser.add_argument("--sides", default=",".join(SIDES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "sensitivity.md"))
    args = parser.parse_args(argv)
    if args.worker:
        return harness.worker_main(args.worker, worker)
    sizes = [harness.parse_size(s) for s in args.sizes.split(",")]
    sides = [s for s in args.sides.split(",") if s]
    cells = []
    with tempfile.TemporaryDirectory() as scratch:
        for n in sizes:
            for side in sides:
                progress(f"{side} at {size_label(n)} rows")
                cell = harness.run_cell(__file__, {"side": side, "method": side, "n": n, "seed": args.seed},
                                        TIMEOUT, Path(scratch))
                cells.append({**cell, "side": side, "n": n})
    text = (f"# Sensitivity panel on a regression\n\nSeconds of the call alone, and its peak memory, each cell in a "
            f"fresh process after a {WARMUP_ROWS}-row warm-up (bench/bench_sensitivity.py; 10 covariates).\n\n"
            + table(cells) + "\n")
    print(text)
    Path(args.out).write_text(text)
    Path(args.out).with_suffix(".json").write_text(json.dumps(cells, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
