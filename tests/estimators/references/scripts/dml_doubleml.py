"""Reference numbers for dml (tests/estimators/test_dml.py): DoubleML 0.11 and econml 0.17 on the same
data, the same learners and the same fold split as CQOx.

Data: the NHEFS covariates (causaldata's nhefs, 1,629 rows, the nine of Hernan & Robins's ch. 12) with
treatment and outcome simulated by cqox_core.datasets.cate (simulate_cate seed 1; simulate_continuous
seed 2; simulate_instrumented seed 3). Folds: cqox_core.estimators.dml.repeated_folds(n, 5, R, seed=0),
handed to DoubleML with set_sample_splitting and to econml as cv=[(train, test), ...]. Learners: the
objects CQOx builds (LeastSquares: least squares with an intercept; NewtonLogit: the unpenalised
logistic MLE; HistGradientBoosting with random_state=0).

Writes tests/estimators/references/dml_doubleml.json. Run from the repository root:
    python tests/estimators/references/scripts/dml_doubleml.py
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

ROOT = Path(__file__).resolve().parents[4]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import doubleml  # noqa: E402
import econml  # noqa: E402
from conftest import load_public  # noqa: E402
from econml.dml import LinearDML  # noqa: E402

from cqox_core.datasets.cate import simulate_cate, simulate_continuous, simulate_instrumented  # noqa: E402
from cqox_core.estimators._learners import classifier, fold_splits, regressor  # noqa: E402
from cqox_core.estimators.dml import repeated_folds  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "dml_doubleml.json"
N_FOLDS = 5


class ProbabilityAsRegressor(RegressorMixin, BaseEstimator):
    """NewtonLogit's P(Z=1|X) behind a regressor's predict(): DoubleML's PLIV calls predict() on a classifier
    for ml_m, which returns 0/1 class labels rather than the probability CQOx (and the theory) uses."""

    def fit(self, X, y):
        self.model_ = classifier("logit", 0).fit(X, y)
        return self

    def predict(self, X):
        return self.model_.predict_proba(X)[:, 1]


def splits(n: int, repeats: int) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    return [fold_splits(f) for f in repeated_folds(n, N_FOLDS, repeats, 0, None)]


def fit(model) -> dict[str, float]:
    model.fit()
    return {"estimate": float(model.coef[0]), "std_error": float(model.se[0]),
            "estimates_by_split": [float(v) for v in np.ravel(model.all_coef)]}


def main() -> None:
    warnings.simplefilter("ignore")
    nhefs = load_public("nhefs")
    out: dict[str, object] = {
        "source": f"DoubleML {doubleml.__version__}, econml {econml.__version__}; same data, learners, folds; "
                  "script: tests/estimators/references/scripts/dml_doubleml.py",
        "n_folds": N_FOLDS, "fold_seed": 0, "cases": {}}
    cases = out["cases"]

    sim = simulate_cate(nhefs, seed=1)
    frame, cov = sim.frame, sim.covariates
    data = doubleml.DoubleMLData(frame, y_col="y", d_cols="t", x_cols=cov)
    n = len(frame)
    for learner, make_y, make_d in (("linear", regressor("linear", 0), classifier("logit", 0)),
                                    ("gbm", regressor("gbm", 0), classifier("gbm", 0))):
        for score, estimand in (("ATE", "ate"), ("ATTE", "att"))[:2 if learner == "linear" else 1]:
            model = doubleml.DoubleMLIRM(data, ml_g=make_y, ml_m=make_d, n_folds=N_FOLDS, n_rep=1, score=score)
            model.set_sample_splitting(splits(n, 1))
            cases[f"irm_{estimand}_{learner}"] = {"data": "simulate_cate(nhefs, seed=1)", **fit(model)}
    model = doubleml.DoubleMLIRM(data, ml_g=regressor("linear", 0), ml_m=classifier("logit", 0), n_folds=N_FOLDS,
                                 n_rep=3)
    model.set_sample_splitting(splits(n, 3))
    cases["irm_ate_linear_3_splits"] = {"data": "simulate_cate(nhefs, seed=1)", **fit(model)}
    model = doubleml.DoubleMLPLR(data, ml_l=regressor("linear", 0), ml_m=classifier("logit", 0), n_folds=N_FOLDS,
                                 n_rep=1)
    model.set_sample_splitting(splits(n, 1))
    cases["plr_binary_linear"] = {"data": "simulate_cate(nhefs, seed=1)", **fit(model)}

    cont = simulate_continuous(nhefs, seed=2).frame
    data = doubleml.DoubleMLData(cont, y_col="y", d_cols="t", x_cols=cov)
    model = doubleml.DoubleMLPLR(data, ml_l=regressor("linear", 0), ml_m=regressor("linear", 0), n_folds=N_FOLDS,
                                 n_rep=1)
    model.set_sample_splitting(splits(n, 1))
    cases["plr_continuous_linear"] = {"data": "simulate_continuous(nhefs, seed=2)", **fit(model)}
    est = LinearDML(model_y=regressor("linear", 0), model_t=regressor("linear", 0), discrete_treatment=False,
                    cv=splits(n, 1)[0], random_state=0)
    est.fit(cont["y"].to_numpy(), cont["t"].to_numpy(), X=None, W=cont[cov].to_numpy())
    inf = est.const_marginal_ate_inference()
    cases["plr_continuous_linear_econml"] = {"data": "simulate_continuous(nhefs, seed=2)",
                                             "estimate": float(np.ravel(inf.mean_point)[0]),
                                             "std_error": float(np.ravel(inf.stderr_mean)[0]),
                                             "peer": "econml LinearDML (HC1 final stage)"}

    ivf = simulate_instrumented(nhefs, seed=3)
    data = doubleml.DoubleMLData(ivf, y_col="y", d_cols="t", x_cols=cov, z_cols="z")
    model = doubleml.DoubleMLPLIV(data, ml_l=regressor("linear", 0), ml_m=ProbabilityAsRegressor(),
                                  ml_r=regressor("linear", 0), n_folds=N_FOLDS, n_rep=1)
    model.set_sample_splitting(splits(n, 1))
    cases["pliv_linear"] = {"data": "simulate_instrumented(nhefs, seed=3)", **fit(model)}
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
