"""Peer numbers on the NSW experimental sample: Lin's (2013) interacted regression in statsmodels.

OLS of re78 on [1, treat, Xc, treat * Xc] with HC3, Xc the covariates age, educ, black, hisp, marr,
nodegree, re74, re75 centred at the full-sample means (ATE) or at the treated means (ATT); the
coefficient on treat is the estimate (Lin 2013, Ann. Appl. Stat. 7:295, Sec. 2). Data:
causaldata.nsw_mixtape (445 rows; stored as float32, compared in float64). Used by
regression_adjustment (estimate and HC3 SE), g_computation (estimate: per-arm OLS standardised is the
same number) and bootstrap (its point estimate is the wrapped method's).

Run from the repository root (statsmodels 0.15, causaldata 0.1.5):
    python tests/estimators/references/scripts/nsw_statsmodels_lin.py
"""
from __future__ import annotations

import json

import causaldata
import numpy as np
import statsmodels.api as sm

COVARIATES = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]


def lin_fit(frame, estimand: str):
    X, t = frame[COVARIATES], frame.treat.to_numpy()
    centred = X - (X[t == 1].mean() if estimand == "att" else X.mean())
    design = np.column_stack([np.ones(len(frame)), t, centred, centred.mul(t, axis=0)])
    return sm.OLS(frame.re78.to_numpy(float), design).fit(cov_type="HC3")


def main() -> None:
    frame = causaldata.nsw_mixtape.load_pandas().data.drop(columns="data_id").astype(float)
    out = {}
    for estimand in ("ate", "att"):
        fit = lin_fit(frame, estimand)
        out[estimand] = {"estimate": float(fit.params[1]), "std_error_hc3": float(fit.bse[1])}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
