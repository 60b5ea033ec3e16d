"""Speed and memory of the machine-learning methods (dml, meta_learner, causal_forest), each beside a peer
library doing the same job on the same data, with the same learners and folds, in the same run.

    .venv/bin/python bench/bench_ml.py                          # 10K rows
    .venv/bin/python bench/bench_ml.py --sizes 10K,100K         # add 100K
    .venv/bin/python bench/bench_ml.py --methods dml_irm,dml_plr --sizes 1M --no-peers
    .venv/bin/python bench/bench_ml.py --sizes 10K,100K --forest-max 100K   # causal_forest at 100K too

Data: cqox_core.datasets.cate (NHEFS-like covariates, 9 columns; confounded binary treatment;
heterogeneous effect). Learners: least squares for outcomes, the logistic MLE for the propensity (CQOx's
LeastSquares / NewtonLogit objects handed to the peers too), 5 folds from cqox_core's fold_ids(seed)
given to the peers as explicit splits. causal_forest runs beside econml's CausalForestDML with econml's
own defaults (its lasso first stages, cv=2, all cores), as the issue asks.

Cells run in fresh worker processes (bench/harness.py): peak memory is the cell's own. This is a
benchmark, not a test; results go to bench/results/ml.md (and ml.json).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import RESULTS, ROOT, fmt_estimate, fmt_memory, fmt_seconds, progress, size_label  # noqa: E402

sys.path.insert(0, str(ROOT))
WARMUP_ROWS = 500
N_FOLDS = 5
PACKAGES = ("cqox", "numpy", "scikit-learn", "econml", "doubleml")

#: method cell -> (CQOx method id, CQOx parameters, peer label)
CELLS: dict[str, tuple[str, dict[str, Any], str]] = {
    "dml_irm": ("dml", {"model": "irm", "n_repeats": 1}, "DoubleML IRM (same learners, folds)"),
    "dml_plr": ("dml", {"model": "plr", "n_repeats": 1}, "econml LinearDML (same learners, folds)"),
    "dml_plr_doubleml": ("dml", {"model": "plr", "n_repeats": 1}, "DoubleML PLR (same learners, folds)"),
    "dml_default": ("dml", {}, "(CQOx defaults: irm, 3 repeated splits; no peer)"),
    "meta_dr_core": ("meta_learner", {"learner": "dr", "n_splits": 1, "n_bootstrap": 0},
                     "econml LinearDRLearner (same learners, folds)"),
    "meta_dr_default": ("meta_learner", {"learner": "dr"},
                        "econml LinearDRLearner (same learners, folds)"),
    "meta_t": ("meta_learner", {"learner": "t", "n_splits": 1, "n_bootstrap": 0},
               "econml TLearner (same learners)"),
    "causal_forest": ("causal_forest", {}, "econml CausalForestDML (econml defaults)"),
}


def simulate(n: int, seed: int):
    from cqox_core.datasets.cate import simulate_cate, synthetic_covariates

    return simulate_cate(synthetic_covariates(n, seed), seed=seed)


def learners():
    from cqox_core.estimators._learners import classifier, regressor

    return regressor("linear", 0), classifier("logit", 0)


def splits(n: int, seed: int):
    from cqox_core.estimators._crossfit import fold_ids
    from cqox_core.estimators._learners import fold_splits

    return fold_splits(fold_ids(n, N_FOLDS, seed, None))


def arrays(sim):
    f = sim.frame
    return f["y"].to_numpy(), f["t"].to_numpy().astype(float), f[sim.covariates].to_numpy()


# --------------------------------------------------------------------------- peers

def peer_doubleml(sim, seed: int, model: str) -> tuple[float, float]:
    import doubleml

    y_model, e_model = learners()
    data = doubleml.DoubleMLData(sim.frame, y_col="y", d_cols="t", x_cols=sim.covariates)
    if model == "irm":
        est = doubleml.DoubleMLIRM(data, ml_g=y_model, ml_m=e_model, n_folds=N_FOLDS, n_rep=1)
    else:
        est = doubleml.DoubleMLPLR(data, ml_l=y_model, ml_m=e_model, n_folds=N_FOLDS, n_rep=1)
    est.set_sample_splitting([splits(len(sim.frame), seed)])
    est.fit()
    return float(est.coef[0]), float(est.se[0])


def peer_linear_dml(sim, seed: int) -> tuple[float, float]:
    from econml.dml import LinearDML

    y_model, e_model = learners()
    y, t, X = arrays(sim)
    est = LinearDML(model_y=y_model, model_t=e_model, discrete_treatment=True, cv=splits(len(y), seed),
                    random_state=seed)
    est.fit(y, t, X=None, W=X)
    inf = est.const_marginal_ate_inference()
    return float(np.ravel(inf.mean_point)[0]), float(np.ravel(inf.stderr_mean)[0])


class ArmWise:
    """E[Y | X, T] as one least-squares fit per arm (the last column is T), what CQOx's per-arm models do."""

    def __init__(self):
        from cqox_core.estimators._learners import regressor

        self.make = lambda: regressor("linear", 0)

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    def fit(self, X, y, **kw):
        arm, Z = X[:, -1] == 1, X[:, :-1]
        self.m1_, self.m0_ = self.make().fit(Z[arm], y[arm]), self.make().fit(Z[~arm], y[~arm])
        return self

    def predict(self, X):
        arm, Z = X[:, -1] == 1, X[:, :-1]
        return np.where(arm, self.m1_.predict(Z), self.m0_.predict(Z))


def peer_dr_learner(sim, seed: int) -> tuple[float, float]:
    from econml.dr import LinearDRLearner
    from sklearn.base import BaseEstimator, RegressorMixin

    class Arm(ArmWise, RegressorMixin, BaseEstimator):
        pass

    _, e_model = learners()
    y, t, X = arrays(sim)
    est = LinearDRLearner(model_regression=Arm(), model_propensity=e_model, cv=splits(len(y), seed),
                          min_propensity=0.01, random_state=seed)
    est.fit(y, t, X=X)
    inf = est.ate_inference(X=X)
    return float(np.ravel(inf.mean_point)[0]), float(np.ravel(inf.stderr_mean)[0])


def peer_t_learner(sim, seed: int) -> tuple[float, float | None]:
    from econml.metalearners import TLearner

    y_model, _ = learners()
    y, t, X = arrays(sim)
    est = TLearner(models=y_model).fit(y, t, X=X)
    return float(np.mean(est.effect(X))), None


def peer_causal_forest(sim, seed: int) -> tuple[float, float]:
    from econml.dml import CausalForestDML

    y, t, X = arrays(sim)
    est = CausalForestDML(discrete_treatment=True, random_state=seed)
    est.fit(y, t, X=X)
    return float(np.ravel(est.ate_)[0]), float(np.ravel(est.ate_stderr_)[0])


PEERS: dict[str, Callable[[Any, int], tuple[float, float | None]]] = {
    "dml_irm": lambda sim, seed: peer_doubleml(sim, seed, "irm"),
    "dml_plr": peer_linear_dml,
    "dml_plr_doubleml": lambda sim, seed: peer_doubleml(sim, seed, "plr"),
    "meta_dr_core": peer_dr_learner,
    "meta_dr_default": peer_dr_learner,
    "meta_t": peer_t_learner,
    "causal_forest": peer_causal_forest,
}


# --------------------------------------------------------------------------- worker

def run_cqox(sim, spec: dict[str, Any]) -> tuple[float, float]:
    import cqox_core as cq

    method, params, _ = CELLS[spec["method"]]
    extras = {} if not spec["no_extras"] else {"with_gates": False, "with_sensitivity": False}
    res = cq.estimate(method, sim.frame, outcome="y", treatment="t", covariates=sim.covariates, seed=spec["seed"],
                      **params, **extras)
    return res.estimate, res.std_error


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    warnings.simplefilter("ignore")
    harness.limit_memory(0.5)
    side, seed = spec["side"], spec["seed"]
    call = (lambda s: run_cqox(s, spec)) if side == "cqox" else (lambda s: PEERS[spec["method"]](s, seed))
    if not spec["no_warmup"]:
        call(simulate(WARMUP_ROWS, seed + 1))
    sim = simulate(spec["n"], seed)
    return harness.timed_call(lambda: call(sim))


# --------------------------------------------------------------------------- driver

def run_all(args: argparse.Namespace, sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            for cell in args.methods:
                if cell == "causal_forest" and n > args.forest_max:
                    continue
                row: dict[str, Any] = {"method": cell, "n": n}
                sides = ["cqox"] + ([] if args.no_peers or cell not in PEERS else ["peer"])
                for side in sides:
                    spec = {"side": side, "method": cell, "n": n, "seed": args.seed, "no_extras": args.no_extras,
                            "no_warmup": args.no_warmup}
                    row[side] = harness.best_of(__file__, spec, args.repeat, args.timeout, Path(tmp))
                    progress(f"  {cell:<18} {size_label(n):>4} {side:<4} {harness.describe(row[side])}")
                row.setdefault("peer", {"status": "skipped"})
                rows.append(row)
    return rows


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    header = ("cell", "rows", "CQOx s", "peer s", "CQOx / peer", "CQOx MB (+call / peak)", "peer MB",
              "CQOx estimate (SE)", "peer estimate (SE)", "peer")
    cells = [(r["method"], size_label(r["n"]), fmt_seconds(r["cqox"]), fmt_seconds(r["peer"]),
              harness.fmt_ratio(r["cqox"], r["peer"]), fmt_memory(r["cqox"]), fmt_memory(r["peer"]),
              fmt_estimate(r["cqox"]), fmt_estimate(r["peer"]), CELLS[r["method"]][2]) for r in rows]
    params = [f"- `{cell}`: `{CELLS[cell][0]}` with {CELLS[cell][1] or 'its defaults'}" for cell in args.methods]
    return "\n".join(["# Machine-learning methods: speed and memory beside peers", "",
                      *harness.machine_info(PACKAGES), "", harness.measurement_note(args, f"{WARMUP_ROWS} rows"), "",
                      *harness.markdown_table(header, "lrrrrrrrrl", cells), "", "CQOx cells:", *params, "",
                      "meta_dr_default includes 10 half-sample refits for the heterogeneity tests and their Qini "
                      "bootstrap, which econml does not compute; meta_dr_core is the comparable work (out-of-fold "
                      "effects and the AIPW ATE). The econml TLearner fits in-sample and has no SE.", ""])


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "--worker":
        return harness.worker_main(argv[1], worker)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10K", help="row counts, e.g. 10K,100K")
    parser.add_argument("--forest-max", type=harness.parse_size, default=10_000,
                        help="largest size for causal_forest (default 10K: its 100K cells take minutes)")
    harness.add_run_options(parser, CELLS, RESULTS / "ml.md")
    args = parser.parse_args(argv)
    harness.check_run_options(parser, args, CELLS)
    sizes = sorted({harness.parse_size(s) for s in args.sizes.split(",")})
    rows = run_all(args, sizes)
    harness.write_outputs(args.out, report(rows, args), {"rows": rows, "sizes": sizes})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
