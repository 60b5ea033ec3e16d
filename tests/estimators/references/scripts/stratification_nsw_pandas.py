"""Peer numbers for ``stratification`` on the NSW experimental sample: statsmodels Logit + pandas groupby.

The propensity is statsmodels' Logit of treat on [1, age, educ, black, hisp, marr, nodegree, re74,
re75] (Newton, tol 1e-12); pandas.qcut cuts it into n equal-count strata; per stratum and arm the
groupby mean, variance and size of re78 give the difference in means and its variance
var1/n1 + var0/n0; strata are weighted by their size (ATE), treated count (ATT) or control count
(ATC). The same code as pandas_reference() in tests/estimators/test_stratification.py, whose stored
NSW_REFERENCE it reproduces.

Run from the repository root (statsmodels 0.15, pandas 3.1, causaldata 0.1.5):
    python tests/estimators/references/scripts/stratification_nsw_pandas.py
"""
from __future__ import annotations

import json

import causaldata
import numpy as np
import pandas as pd
import statsmodels.api as sm

COVARIATES = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
CASES = [(5, "ate"), (5, "att"), (5, "atc"), (10, "ate"), (10, "att")]


def pandas_reference(frame: pd.DataFrame, n_strata: int, estimand: str) -> tuple[float, float]:
    X = sm.add_constant(frame[COVARIATES].astype(float))
    ps = sm.Logit(frame.treat.astype(float), X).fit(disp=0, method="newton", tol=1e-12).predict(X)
    cells = (frame.assign(stratum=pd.qcut(ps, n_strata, labels=False))
             .groupby(["stratum", "treat"])["re78"].agg(["mean", "var", "size"]).unstack("treat"))
    cells = cells.dropna(subset=[("size", 0.0), ("size", 1.0)])
    effect = cells["mean"][1.0] - cells["mean"][0.0]
    variance = cells["var"][1.0] / cells["size"][1.0] + cells["var"][0.0] / cells["size"][0.0]
    weight = {"ate": cells["size"][1.0] + cells["size"][0.0], "att": cells["size"][1.0],
              "atc": cells["size"][0.0]}[estimand]
    weight = weight / weight.sum()
    return float((weight * effect).sum()), float(np.sqrt((weight ** 2 * variance).sum()))


def main() -> None:
    frame = causaldata.nsw_mixtape.load_pandas().data.drop(columns="data_id").astype(float)
    out = []
    for n_strata, estimand in CASES:
        estimate, std_error = pandas_reference(frame, n_strata, estimand)
        out.append({"n_strata": n_strata, "estimand": estimand, "estimate": estimate, "std_error": std_error})
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
