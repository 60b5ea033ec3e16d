"""Peer numbers for ``its``: statsmodels OLS with Newey-West (HAC) errors on the registered example.

Data: the ``its`` method's own example at seed 0 (cqox_core.datasets.examples.interrupted_series(0):
120 periods, time 0..119, intervention d = 1 from period 60, AR(1) errors). The segmented design
[1, time, post, (time - 60) * post] (Bernal et al. 2017, eq. 1), fitted by
    sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": L, "use_correction": True})
with L = floor(4 (n / 100)^(2/9)) = 4 (Newey & West 1994), the lag rule ``its`` uses by default.
"level_change" is its estimate, "slope_change" its by.slope_change. The same construction as
test_agrees_with_statsmodels_hac in tests/estimators/test_its.py. No public interrupted series ships
offline, so the data are the example's; only the numbers come from statsmodels.

Run from the repository root (statsmodels 0.15):
    python tests/estimators/references/scripts/its_statsmodels_hac.py
"""
from __future__ import annotations

import json
import math

import numpy as np
import statsmodels.api as sm

from cqox_core.datasets.examples import interrupted_series


def main() -> None:
    frame = interrupted_series(0).frame
    t, post, y = frame.time.to_numpy(float), frame.d.to_numpy(float), frame.y.to_numpy(float)
    t0 = float(t[post == 1].min())
    lags = math.floor(4 * (len(y) / 100) ** (2 / 9))
    X = np.column_stack([np.ones_like(t), t, post, (t - t0) * post])
    fit = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True})
    out = {"maxlags": lags, "t0": t0,
           "level_change": {"estimate": float(fit.params[2]), "std_error": float(fit.bse[2])},
           "slope_change": {"estimate": float(fit.params[3]), "std_error": float(fit.bse[3])}}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
