"""Peer numbers for ``aipw``: EconML LinearDRLearner ATE on simulate_homogeneous(4000, seed=11).

The frame is cqox_core.datasets.public.econml_dr_frame() (constant effect 2, covariates x1-x3 as W,
X=None). LinearDRLearner(model_propensity=LogisticRegression(C=inf), model_regression=
LinearRegression(), cv=5, random_state=0); the SE is the half-width of ate_interval(alpha=0.05)
over z_0.975. The same call as econml_reference() in tests/estimators/test_aipw.py, whose stored
ECONML_ATE_SEED11 / ECONML_SE_SEED11 it reproduces.

Run from the repository root (EconML 0.17, scikit-learn 1.9):
    python tests/estimators/references/scripts/aipw_econml.py
"""
from __future__ import annotations

import json

import numpy as np
from econml.dr import LinearDRLearner
from sklearn.linear_model import LinearRegression, LogisticRegression

from cqox_core.datasets.public import econml_dr_frame


def main() -> None:
    frame = econml_dr_frame()
    model = LinearDRLearner(model_propensity=LogisticRegression(C=np.inf), model_regression=LinearRegression(),
                            cv=5, random_state=0)
    model.fit(frame.y.to_numpy(), frame.t.to_numpy().astype(int), X=None, W=frame[["x1", "x2", "x3"]].to_numpy())
    lo, hi = model.ate_interval(alpha=0.05)
    print(json.dumps({"ate": float(model.ate()), "std_error": float((hi - lo) / (2 * 1.959963984540054))}, indent=1))


if __name__ == "__main__":
    main()
