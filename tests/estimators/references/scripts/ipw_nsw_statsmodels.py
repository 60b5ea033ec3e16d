"""Peer numbers for ``ipw`` on the NSW experimental sample: statsmodels Logit + WLS.

The propensity is statsmodels' Logit of treat on [1, age, educ, black, hisp, marr, nodegree, re74,
re75] (Newton, tol 1e-12); units with a score outside [0.01, 0.99] (ipw's default trim) are dropped;
the Hajek estimate is the coefficient on treat in statsmodels WLS of re78 on [1, treat] with weights
T/e + (1-T)/(1-e) (ATE) or T + (1-T) e/(1-e) (ATT), which is algebraically the weighted contrast of
means. Data: causaldata.nsw_mixtape (445 rows, compared in float64).

Run from the repository root (statsmodels 0.15, causaldata 0.1.5):
    python tests/estimators/references/scripts/ipw_nsw_statsmodels.py
"""
from __future__ import annotations

import json

import causaldata
import statsmodels.api as sm

COVARIATES = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
TRIM = 0.01


def main() -> None:
    frame = causaldata.nsw_mixtape.load_pandas().data.drop(columns="data_id").astype(float)
    X, t, y = sm.add_constant(frame[COVARIATES]).to_numpy(), frame.treat.to_numpy(), frame.re78.to_numpy()
    e = sm.Logit(t, X).fit(disp=0, method="newton", tol=1e-12, maxiter=100).predict()
    keep = (e >= TRIM) & (e <= 1 - TRIM)
    out = {"trimmed": int((~keep).sum())}
    for estimand in ("ate", "att"):
        w = t / e + (1 - t) / (1 - e) if estimand == "ate" else t + (1 - t) * e / (1 - e)
        out[estimand] = float(sm.WLS(y[keep], sm.add_constant(t[keep]), weights=w[keep]).fit().params[1])
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
