"""Reference numbers for causal_forest (tests/estimators/test_causal_forest.py): econml 0.17's
CausalForestDML on the same data, first-stage learners and folds.

Data: the NHEFS covariates (causaldata's nhefs) with treatment and outcome simulated by
cqox_core.datasets.cate.simulate_cate(seed=1). Folds: cqox_core.estimators._crossfit.fold_ids(n, 5, 0),
passed as cv=[(train, test), ...]. First stage: CQOx's least squares for E[Y|X] and its logistic MLE for
P(T=1|X). Forest: 100 trees, min_samples_leaf 5, max_samples 0.45, honest, random_state 0, n_jobs 1 (the
rest econml's defaults).

Stored: ate_ and ate_stderr_ (the doubly robust ATE with out-of-bag effects), and effect and
effect_interval(alpha=0.05) of the first 25 rows, with the mean and SD of the effects of all rows.

Writes tests/estimators/references/causal_forest_econml.json. Run from the repository root:
    python tests/estimators/references/scripts/causal_forest_econml.py
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[4]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import econml  # noqa: E402
from conftest import load_public  # noqa: E402
from econml.dml import CausalForestDML  # noqa: E402

from cqox_core.datasets.cate import simulate_cate  # noqa: E402
from cqox_core.estimators._crossfit import fold_ids  # noqa: E402
from cqox_core.estimators._learners import classifier, fold_splits, regressor  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "causal_forest_econml.json"
ROWS = 25


def main() -> None:
    warnings.simplefilter("ignore")
    sim = simulate_cate(load_public("nhefs"), seed=1)
    frame, cov = sim.frame, sim.covariates
    est = CausalForestDML(model_y=regressor("linear", 0), model_t=classifier("logit", 0), discrete_treatment=True,
                          cv=fold_splits(fold_ids(len(frame), 5, 0, None)), n_estimators=100, min_samples_leaf=5,
                          max_samples=0.45, honest=True, inference=True, random_state=0, n_jobs=1)
    X = frame[cov].to_numpy()
    est.fit(frame["y"].to_numpy(), frame["t"].to_numpy(), X=X)
    effect = np.ravel(est.effect(X))
    lower, upper = (np.ravel(v) for v in est.effect_interval(X[:ROWS], alpha=0.05))
    out = {"source": f"econml {econml.__version__} CausalForestDML; same data, first-stage learners, folds; "
                     "script: tests/estimators/references/scripts/causal_forest_econml.py",
           "data": "simulate_cate(nhefs, seed=1)", "n_folds": 5, "fold_seed": 0, "covariates": cov,
           "params": {"n_estimators": 100, "min_samples_leaf": 5, "max_samples": 0.45, "random_state": 0},
           "ate": float(np.ravel(est.ate_)[0]), "ate_stderr": float(np.ravel(est.ate_stderr_)[0]),
           "effect_mean": float(effect.mean()), "effect_sd": float(effect.std()),
           "effect_first_rows": effect[:ROWS].tolist(), "lower_first_rows": lower.tolist(),
           "upper_first_rows": upper.tolist()}
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1)[:800])


if __name__ == "__main__":
    main()
