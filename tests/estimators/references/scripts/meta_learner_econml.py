"""Reference numbers for meta_learner (tests/estimators/test_meta_learner.py): econml 0.17's LinearDRLearner
on the same data, learners and folds.

Data: the NHEFS covariates (causaldata's nhefs) with treatment and outcome simulated by
cqox_core.datasets.cate.simulate_cate(seed=1). Folds: cqox_core.estimators._crossfit.fold_ids(n, 5, 0),
passed as cv=[(train, test), ...]. Learners: econml's model_regression sees [W, T] and predicts E[Y | X, T];
ArmWise fits CQOx's least squares separately in each arm (what CQOx's per-arm outcome models do);
model_propensity is CQOx's NewtonLogit (the logistic MLE); min_propensity 0.01 is CQOx's trim.

* ``ate``: LinearDRLearner with X=None (final stage: the mean of the doubly robust pseudo-outcomes), its
  ate_inference() point and SE: the cross-fitted AIPW estimate, which is meta_learner's headline.
* ``linear_cate``: LinearDRLearner with X = the covariates (a linear CATE fitted on all rows' cross-fitted
  pseudo-outcomes): its coefficients, their SEs and the intercept.

Writes tests/estimators/references/meta_learner_econml.json. Run from the repository root:
    python tests/estimators/references/scripts/meta_learner_econml.py
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

import econml  # noqa: E402
from conftest import load_public  # noqa: E402
from econml.dr import LinearDRLearner  # noqa: E402

from cqox_core.datasets.cate import simulate_cate  # noqa: E402
from cqox_core.estimators._crossfit import fold_ids  # noqa: E402
from cqox_core.estimators._learners import classifier, fold_splits, regressor  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "meta_learner_econml.json"


class ArmWise(RegressorMixin, BaseEstimator):
    """E[Y | X, T] as one least-squares fit per arm (the last column of the input is T)."""

    def fit(self, X, y):
        arm, Z = X[:, -1] == 1, X[:, :-1]
        self.m1_ = regressor("linear", 0).fit(Z[arm], y[arm])
        self.m0_ = regressor("linear", 0).fit(Z[~arm], y[~arm])
        return self

    def predict(self, X):
        arm, Z = X[:, -1] == 1, X[:, :-1]
        return np.where(arm, self.m1_.predict(Z), self.m0_.predict(Z))


def learner(cv):
    return LinearDRLearner(model_regression=ArmWise(), model_propensity=classifier("logit", 0), cv=cv,
                           min_propensity=0.01, random_state=0)


def main() -> None:
    warnings.simplefilter("ignore")
    sim = simulate_cate(load_public("nhefs"), seed=1)
    frame, cov = sim.frame, sim.covariates
    cv = fold_splits(fold_ids(len(frame), 5, 0, None))
    y, t, W = frame["y"].to_numpy(), frame["t"].to_numpy(), frame[cov].to_numpy()
    ate = learner(cv).fit(y, t, X=None, W=W).ate_inference()
    linear = learner(cv).fit(y, t, X=W)
    out = {"source": f"econml {econml.__version__} LinearDRLearner; same data, learners, folds; script: "
                     "tests/estimators/references/scripts/meta_learner_econml.py",
           "data": "simulate_cate(nhefs, seed=1)", "n_folds": 5, "fold_seed": 0, "covariates": cov,
           "ate": {"estimate": float(np.ravel(ate.mean_point)[0]), "std_error": float(np.ravel(ate.stderr_mean)[0])},
           "linear_cate": {"coef": np.ravel(linear.coef_(T=1)).tolist(),
                           "std_error": np.ravel(linear.coef__inference(T=1).stderr).tolist(),
                           "intercept": float(np.ravel(linear.intercept_(T=1))[0])}}
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
