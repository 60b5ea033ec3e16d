"""Speed and memory of the seven selection-on-observables methods, each beside
a peer library doing the same job on the same data in the same run.

    .venv/bin/python bench/bench_observational.py            # 1K, 10K, 100K, 1M rows
    .venv/bin/python bench/bench_observational.py --quick    # 1K and 10K rows

Every cell (one method or one peer at one size) runs in a fresh worker process
(this script with --worker), so peak memory is that cell's alone. The worker
simulates the data from the seed, warms up on 500 rows (imports, first-call
costs), resets the kernel's peak-RSS mark, and times only the estimation call.

This is a benchmark, not a test: it never asserts on timing and CI never runs
it (pytest collects tests/ only). Results: bench/results/observational.md.
See bench/README.md for what is measured and how.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402  (bench/ is not a package; the worker runs this file as a script)
from harness import RESULTS, ROOT, fmt_estimate, fmt_memory, fmt_seconds, progress, size_label  # noqa: E402

ALL_SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
WARMUP_ROWS = 500
from cqox_core.datasets.observational import BINARY, COVARIATES, NUMERIC, TRUE_EFFECT  # noqa: E402,F401

N_BOOT = 200          # bootstrap replicates, the same on both sides
N_STRATA = 5          # propensity strata, the same on both sides
CALIPER_SD = 0.2      # matching caliper in SDs of the logit propensity (Austin 2011)
CV_FOLDS = 5          # cross-fitting folds for AIPW


# The seven methods, in the order of the table, with the estimand each is run for.
METHODS: dict[str, str] = {
    "regression_adjustment": "ate",
    "stratification": "ate",
    "psm": "att",
    "ipw": "ate",
    "aipw": "ate",
    "g_computation": "ate",
    "bootstrap": "ate",
}

#: Versions printed in the report header.
PACKAGES = ("cqox", "numpy", "pandas", "scipy", "scikit-learn", "statsmodels", "econml")

PEER_LABELS: dict[str, str] = {
    "regression_adjustment": "statsmodels OLS HC3 (Lin)",
    "stratification": "statsmodels Logit + pandas qcut",
    "psm": "statsmodels Logit + sklearn NN",
    "ipw": "sklearn LogisticRegression + numpy Hajek",
    "aipw": "econml LinearDRLearner (cv=5)",
    "g_computation": f"statsmodels OLS + B={N_BOOT} loop",
    "bootstrap": f"statsmodels OLS HC3 x B={N_BOOT} loop",
}


# --------------------------------------------------------------------------- data

from cqox_core.datasets.observational import simulate_observational as simulate  # noqa: E402


def arrays(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (df["y"].to_numpy(float), df["t"].to_numpy(float), df[list(COVARIATES)].to_numpy(float))


# --------------------------------------------------------------------------- peers
# Each peer takes the DataFrame and returns (estimate, std_error or None). Conversion
# from the frame is inside the timed call, as it is for CQOx.

def unpenalized_logistic() -> Any:
    """LogisticRegression without a penalty; scikit-learn >= 1.8 spells it C=inf."""
    import sklearn
    from sklearn.linear_model import LogisticRegression

    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    if (major, minor) >= (1, 8):
        return LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000)
    return LogisticRegression(penalty=None, solver="lbfgs", max_iter=1000)


def lin_design(t: np.ndarray, X: np.ndarray) -> np.ndarray:
    """[1, T, Xc, T*Xc] with X centred at its mean: the coefficient on T is the ATE (Lin 2013)."""
    Xc = X - X.mean(axis=0)
    return np.column_stack([np.ones(t.size), t, Xc, Xc * t[:, None]])


def logit_linear_predictor(t: np.ndarray, X: np.ndarray) -> np.ndarray:
    import statsmodels.api as sm

    design = sm.add_constant(X, has_constant="add")
    fit = sm.Logit(t, design).fit(disp=0)
    return design @ fit.params


def peer_regression_adjustment(df: pd.DataFrame, seed: int) -> tuple[float, float | None]:
    import statsmodels.api as sm

    y, t, X = arrays(df)
    fit = sm.OLS(y, lin_design(t, X)).fit(cov_type="HC3")
    return float(fit.params[1]), float(fit.bse[1])


def peer_stratification(df: pd.DataFrame, seed: int) -> tuple[float, float | None]:
    y, t, X = arrays(df)
    ps = 1.0 / (1.0 + np.exp(-logit_linear_predictor(t, X)))
    frame = pd.DataFrame({"y": y, "t": t, "stratum": pd.qcut(ps, N_STRATA, labels=False)})
    cells = frame.groupby(["stratum", "t"])["y"].agg(["mean", "var", "count"]).unstack("t")
    share = cells["count"].sum(axis=1) / len(frame)
    diff = cells["mean"][1.0] - cells["mean"][0.0]
    # Neyman variance within each stratum, strata weighted by their share of rows.
    var = cells["var"][1.0] / cells["count"][1.0] + cells["var"][0.0] / cells["count"][0.0]
    return float((share * diff).sum()), float(np.sqrt((share ** 2 * var).sum()))


def peer_psm(df: pd.DataFrame, seed: int) -> tuple[float, float | None]:
    from sklearn.neighbors import NearestNeighbors

    y, t, X = arrays(df)
    score = logit_linear_predictor(t, X)
    treated, control = t == 1, t == 0
    nn = NearestNeighbors(n_neighbors=1).fit(score[control].reshape(-1, 1))
    dist, idx = nn.kneighbors(score[treated].reshape(-1, 1))
    pooled_sd = np.sqrt((score[treated].var(ddof=1) + score[control].var(ddof=1)) / 2)  # Austin (2011)
    kept = dist[:, 0] <= CALIPER_SD * pooled_sd
    att = y[treated][kept] - y[control][idx[kept, 0]]
    return float(att.mean()), None


def peer_ipw(df: pd.DataFrame, seed: int) -> tuple[float, float | None]:
    y, t, X = arrays(df)
    ps = unpenalized_logistic().fit(X, t).predict_proba(X)[:, 1]
    w1, w0 = t / ps, (1 - t) / (1 - ps)
    return float(w1 @ y / w1.sum() - w0 @ y / w0.sum()), None


def peer_aipw(df: pd.DataFrame, seed: int) -> tuple[float, float | None]:
    from econml.dr import LinearDRLearner
    from scipy.stats import norm
    from sklearn.linear_model import LinearRegression

    y, t, X = arrays(df)
    learner = LinearDRLearner(model_propensity=unpenalized_logistic(), model_regression=LinearRegression(),
                              cv=CV_FOLDS, random_state=seed)
    learner.fit(y, t.astype(int), X=None, W=X)
    ate = float(np.ravel(learner.ate(X=None, T0=0, T1=1))[0])
    lo, hi = (float(np.ravel(v)[0]) for v in learner.ate_interval(X=None, T0=0, T1=1, alpha=0.05))
    return ate, (hi - lo) / (2 * norm.ppf(0.975))


def g_formula(y: np.ndarray, t: np.ndarray, X: np.ndarray) -> float:
    """Mean of predicted Y(1) - Y(0) from an OLS outcome model with T x X interactions."""
    import statsmodels.api as sm

    design = lambda treat: np.column_stack([np.ones(y.size), treat, X, X * treat[:, None]])  # noqa: E731
    fit = sm.OLS(y, design(t)).fit()
    ones, zeros = np.ones_like(t), np.zeros_like(t)
    return float(np.mean(fit.predict(design(ones)) - fit.predict(design(zeros))))


def peer_g_computation(df: pd.DataFrame, seed: int) -> tuple[float, float | None]:
    y, t, X = arrays(df)
    rng = np.random.default_rng(seed)
    draws = [g_formula(y[i], t[i], X[i]) for i in (rng.integers(0, y.size, y.size) for _ in range(N_BOOT))]
    return g_formula(y, t, X), float(np.std(draws, ddof=1))


def peer_bootstrap(df: pd.DataFrame, seed: int) -> tuple[float, float | None]:
    import statsmodels.api as sm

    y, t, X = arrays(df)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(N_BOOT):
        i = rng.integers(0, y.size, y.size)
        draws.append(sm.OLS(y[i], lin_design(t[i], X[i])).fit(cov_type="HC3").params[1])
    point = sm.OLS(y, lin_design(t, X)).fit(cov_type="HC3").params[1]
    return float(point), float(np.std(draws, ddof=1))


PEERS: dict[str, Callable[[pd.DataFrame, int], tuple[float, float | None]]] = {
    "regression_adjustment": peer_regression_adjustment,
    "stratification": peer_stratification,
    "psm": peer_psm,
    "ipw": peer_ipw,
    "aipw": peer_aipw,
    "g_computation": peer_g_computation,
    "bootstrap": peer_bootstrap,
}


# --------------------------------------------------------------------------- CQOx side

def matched_params(method: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """CQOx parameters set to what the peer does, for the parameters the method has.

    Parameter names are read from the method's registered defaults, so a method
    still being written is run with whatever of these it accepts.
    """
    wanted: dict[str, Any] = {}
    if method == "bootstrap":
        wanted.update(of="regression_adjustment", n_boot=N_BOOT)
    for name in defaults:
        if name in ("n_boot", "B", "reps", "n_bootstrap"):
            wanted[name] = N_BOOT
        elif name in ("n_strata", "strata", "n_bins", "bins"):
            wanted[name] = N_STRATA
        elif name == "regression_within":
            wanted[name] = False  # the peer compares means within strata
        elif name in ("caliper", "caliper_sd"):
            wanted[name] = CALIPER_SD
        elif name in ("n_neighbors", "k", "ratio"):
            wanted[name] = 1
        elif name in ("replace", "with_replacement"):
            wanted[name] = True
        elif name in ("n_folds", "folds", "cv", "k_folds"):
            wanted[name] = CV_FOLDS
    return wanted


def run_cqox(df: pd.DataFrame, spec: dict[str, Any]) -> tuple[float, float | None]:
    import cqox_core as cq

    res = cq.estimate(spec["method"], df, outcome="y", treatment="t", covariates=list(COVARIATES),
                      estimand=spec["estimand"], seed=spec["seed"], with_gates=spec["extras"],
                      with_sensitivity=spec["extras"], **spec["params"])
    return float(res.estimate), float(res.std_error)


# --------------------------------------------------------------------------- worker

def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One cell: warm up, simulate, then time the call alone (harness.timed_call)."""
    sys.path.insert(0, str(ROOT))
    call = run_cqox if spec["side"] == "cqox" else (lambda df, s: PEERS[s["method"]](df, s["seed"]))
    if spec["side"] == "cqox":
        from cqox_core import registry

        registry.methods()   # import every estimator module before anything is timed
    if spec["warmup"]:
        call(simulate(WARMUP_ROWS, spec["seed"] + 1), spec)
    df = simulate(spec["n"], spec["seed"])
    return harness.timed_call(lambda: call(df, spec))


# --------------------------------------------------------------------------- driver

def registered_methods() -> tuple[dict[str, dict[str, Any]], str | None]:
    """{method id: registered defaults} for the seven, or an import error message."""
    sys.path.insert(0, str(ROOT))
    try:
        from cqox_core import registry

        specs = {spec.id: dict(spec.defaults) for spec in registry.methods()}
    except Exception as exc:  # a half-written estimator module must not stop the peers
        return {}, f"{type(exc).__name__}: {exc}"
    return {m: specs[m] for m in METHODS if m in specs}, None


def run_all(args: argparse.Namespace, sizes: list[int]) -> tuple[list[dict[str, Any]], str | None]:
    registered, registry_error = registered_methods()
    rows: list[dict[str, Any]] = []
    timed_out: set[tuple[str, str]] = set()
    base = {"seed": args.seed, "warmup": not args.no_warmup, "extras": not args.no_extras}
    with tempfile.TemporaryDirectory(prefix="cqox-bench-") as tmp:
        for n in sizes:
            for method in args.methods:
                row = {"method": method, "n": n}
                for side in ("cqox", "peer"):
                    if side == "peer" and args.no_peers:
                        row[side] = {"status": "skipped"}
                        continue
                    if side == "cqox" and method not in registered:
                        row[side] = {"status": "error", "error": registry_error} if registry_error \
                            else {"status": "not registered"}
                        continue
                    if (side, method) in timed_out:
                        row[side] = {"status": "skipped", "error": "timed out at a smaller size"}
                        continue
                    spec = {**base, "side": side, "method": method, "n": n, "estimand": METHODS[method],
                            "params": matched_params(method, registered.get(method, {}))}
                    row[side] = harness.best_of(__file__, spec, args.repeat, args.timeout, Path(tmp))
                    row[side]["params"] = spec["params"] if side == "cqox" else {}
                    if row[side]["status"] == "timeout":
                        timed_out.add((side, method))
                    progress(f"  {method:<22} {size_label(n):>4} {side:<4} {harness.describe(row[side])}")
                rows.append(row)
    return rows, registry_error


# --------------------------------------------------------------------------- report

def table(rows: list[dict[str, Any]]) -> list[str]:
    header = ("method", "rows", "cqox s", "cqox peak MB", "peer", "peer s", "peer peak MB", "cqox / peer time",
              "estimate cqox (SE)", "estimate peer (SE)", "difference")
    cells = [(row["method"], size_label(row["n"]), fmt_seconds(row["cqox"]), fmt_memory(row["cqox"]),
              PEER_LABELS[row["method"]], fmt_seconds(row["peer"]), fmt_memory(row["peer"]),
              harness.fmt_ratio(row["cqox"], row["peer"]), fmt_estimate(row["cqox"]), fmt_estimate(row["peer"]),
              harness.fmt_difference(row["cqox"], row["peer"])) for row in rows]
    return harness.markdown_table(header, "lrrrlrrrrrr", cells)


def totals(rows: list[dict[str, Any]], sizes: list[int], methods: list[str]) -> list[str]:
    lines = []
    for n in (10_000, 1_000_000):
        if n not in sizes:
            lines.append(f"- All seven on {size_label(n)} rows: not run (size not selected).")
            continue
        at_n = [r for r in rows if r["n"] == n]
        parts = []
        for side in ("cqox", "peer"):
            done = [r[side] for r in at_n if r[side]["status"] == "ok"]
            missing = [r["method"] for r in at_n if r[side]["status"] != "ok"]
            text = f"{side} {sum(c['seconds'] for c in done):.3g} s"
            if missing or len(at_n) < len(METHODS):
                text += f" over {len(done)} of {len(METHODS)} methods"
                if missing:
                    text += f" (no time for: {', '.join(missing)})"
            parts.append(text)
        lines.append(f"- All seven on {size_label(n)} rows: " + "; ".join(parts) + ".")
    return lines


def errors(rows: list[dict[str, Any]]) -> list[str]:
    found = [f"- {r['method']} at {size_label(r['n'])} ({side}): {r[side]['error']}"
             for r in rows for side in ("cqox", "peer")
             if r[side]["status"] == "error" and r[side].get("error")]
    return ["", "Errors:", "", *found] if found else []


def cqox_parameters(rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["cqox"]["status"] not in ("not registered",) and "params" in r["cqox"]:
            seen.setdefault(r["method"], r["cqox"]["params"])
    return [f"- {m}: estimand {METHODS[m]}, " + (", ".join(f"{k}={v!r}" for k, v in p.items()) or "defaults")
            for m, p in seen.items()]


def report(rows: list[dict[str, Any]], args: argparse.Namespace, sizes: list[int],
           registry_error: str | None) -> str:
    not_registered = [m for m in args.methods if any(r["method"] == m and r["cqox"]["status"] == "not registered"
                                                     for r in rows)]
    lines = ["# CQOx selection-on-observables benchmark", "",
             "Benchmark, not a test: timings on a shared machine are noisy; nothing here fails CI.", "",
             *harness.machine_info(PACKAGES), "",
             f"Data: {len(NUMERIC)} numeric and {len(BINARY)} binary covariates, logistic treatment, linear "
             f"outcome, true effect {TRUE_EFFECT} (ATE = ATT); seed {args.seed}. "
             f"Command: `{' '.join(['bench/bench_observational.py', *sys.argv[1:]])}`.", "",
             harness.measurement_note(args, f"{WARMUP_ROWS} rows"), "",
             *table(rows), "",
             *totals(rows, sizes, args.methods), "",
             "CQOx parameters (matched to the peer where the method has the parameter):", "",
             *cqox_parameters(rows), ""]
    if not_registered:
        lines.append(f"Not registered at the time of this run: {', '.join(not_registered)}.")
    if registry_error:
        lines.append(f"The CQOx registry failed to import: {registry_error}")
    lines += ["Peers without a standard error: psm (point estimate only), ipw (Hajek means; no sandwich SE).",
              *errors(rows)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- CLI

def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Speed and memory of the seven selection-on-observables "
                                                 "methods against peer libraries (a benchmark, not a test).")
    parser.add_argument("--sizes", help="comma-separated row counts, e.g. 1K,10K,100K,1M (default: all four)")
    parser.add_argument("--quick", action="store_true", help="1K and 10K rows only")
    harness.add_run_options(parser, METHODS, RESULTS / "observational.md")
    args = parser.parse_args(argv)
    harness.check_run_options(parser, args, METHODS)
    return args


def main(argv: list[str]) -> int:
    if argv[:1] == ["--worker"]:
        return harness.worker_main(argv[1], worker)
    args = parse_args(argv)
    sizes = sorted({harness.parse_size(s) for s in args.sizes.split(",")}) if args.sizes else \
        list(QUICK_SIZES if args.quick else ALL_SIZES)
    progress(f"Benchmarking {len(args.methods)} methods at {', '.join(map(size_label, sizes))} rows "
             f"(timeout {args.timeout:.0f} s per cell) ...")
    rows, registry_error = run_all(args, sizes)
    harness.write_outputs(args.out, report(rows, args, sizes, registry_error),
                          {"sizes": sizes, "seed": args.seed, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
