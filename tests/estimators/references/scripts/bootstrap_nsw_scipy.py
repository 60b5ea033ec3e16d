"""Peer numbers for ``bootstrap``: scipy.stats.bootstrap of Lin's regression estimate on the NSW sample.

The statistic is the coefficient on treat in OLS of re78 on [1, treat, Xc, treat * Xc], Xc the eight
NSW covariates centred at the (resample's) means: regression_adjustment's default estimate, which
``bootstrap`` wraps (of="regression_adjustment"). scipy resamples rows (pairs bootstrap):
    stats.bootstrap((np.arange(445),), statistic, n_resamples=20000, method=M, confidence_level=0.95,
                    vectorized=False, random_state=np.random.default_rng(20240601))
for M = "percentile" (standard_error: the sd of the 20,000 replicates) and M = "BCa" (the interval;
scipy's acceleration comes from the delete-one jackknife, as ``bootstrap``'s below 500 rows).
Data: causaldata.nsw_mixtape (445 rows, compared in float64).

Run from the repository root (scipy 1.16, causaldata 0.1.5; about a minute):
    python tests/estimators/references/scripts/bootstrap_nsw_scipy.py
"""
from __future__ import annotations

import json

import causaldata
import numpy as np
from scipy import stats

COVARIATES = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
RESAMPLES = 20_000
SEED = 20240601


def main() -> None:
    frame = causaldata.nsw_mixtape.load_pandas().data.drop(columns="data_id").astype(float)
    X, t, y = frame[COVARIATES].to_numpy(), frame.treat.to_numpy(), frame.re78.to_numpy()

    def lin_estimate(rows: np.ndarray) -> float:
        rows = rows.astype(int)
        Xc = X[rows] - X[rows].mean(axis=0)
        design = np.column_stack([np.ones(rows.size), t[rows], Xc, Xc * t[rows, None]])
        return float(np.linalg.lstsq(design, y[rows], rcond=None)[0][1])

    rows = np.arange(len(frame))
    out = {"estimate": lin_estimate(rows), "n_resamples": RESAMPLES}
    for method in ("percentile", "BCa"):
        res = stats.bootstrap((rows,), lin_estimate, n_resamples=RESAMPLES, method=method, confidence_level=0.95,
                              vectorized=False, random_state=np.random.default_rng(SEED))
        out[method] = {"standard_error": float(res.standard_error), "ci_lower": float(res.confidence_interval.low),
                       "ci_upper": float(res.confidence_interval.high)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
