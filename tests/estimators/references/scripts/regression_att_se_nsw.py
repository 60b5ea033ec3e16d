"""Reference numbers for the ATT standard error of regression adjustment (Lin's interacted
regression centred at the treated means) on the NSW experimental sample, computed without CQOx.

    .venv/bin/python tests/estimators/references/scripts/regression_att_se_nsw.py

writes tests/estimators/references/regression_att_se_nsw.json. Three independent computations:

1. ``hc3_plus_delta``: statsmodels OLS of re78 on [1, T, Xc, T*Xc] (Xc centred at the treated
   means) with HC3, plus the delta-method term d' Cov(X | T=1) d / n1 (d the slopes on T*Xc,
   Cov with ddof=1): the formula CQOx implements, so CQOx must match it to rounding.
2. ``gmm_stacked_hc0``: the stacked M-estimator (treated covariate means, untreated outcome
   regression, treated outcome mean) fitted as an exactly identified GMM with statsmodels'
   GMM class and its robust (HC0) covariance, then the delta method for
   ATT = mu1 - a0 - m1'b0. No centring and no regression of the treated arm: a different
   derivation of the same variance. It must equal statsmodels HC0 plus the ddof=0 delta term
   (checked below); CQOx's HC3 version is larger by the leverage correction.
3. ``pairs_bootstrap``: SD of the point estimate over B pairs-bootstrap resamples (statsmodels
   OLS refits), which needs no variance formula at all.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import causaldata
import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm
from statsmodels.sandbox.regression.gmm import GMM

OUT = Path(__file__).resolve().parent.parent / "regression_att_se_nsw.json"
COVARIATES = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
N_BOOT = 4000
SEED = 20240901


def load() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    df = causaldata.nsw_mixtape.load_pandas().data.drop(columns="data_id").astype(float)
    return df.re78.to_numpy(), df.treat.to_numpy(), df[COVARIATES].to_numpy()


def lin_att(y: np.ndarray, t: np.ndarray, X: np.ndarray, cov_type: str) -> tuple[float, float, np.ndarray]:
    """Point estimate, sandwich SE of the coefficient on T, and the slope differences d."""
    xc = X - X[t == 1].mean(axis=0)
    design = np.column_stack([np.ones(t.size), t, xc, xc * t[:, None]])
    fit = sm.OLS(y, design).fit(cov_type=cov_type)
    return float(fit.params[1]), float(fit.bse[1]), fit.params[2 + X.shape[1]:]


def hc_plus_delta(y: np.ndarray, t: np.ndarray, X: np.ndarray, cov_type: str, ddof: int) -> tuple[float, float]:
    est, se, d = lin_att(y, t, X, cov_type)
    treated = X[t == 1]
    return est, float(np.sqrt(se ** 2 + d @ np.cov(treated.T, ddof=ddof) @ d / treated.shape[0]))


class StackedATT(GMM):
    """Moments: T (X - m1); (1-T) (Y - a0 - X b0) (1, X); T (Y - mu1)."""

    def momcond(self, params: np.ndarray) -> np.ndarray:
        y, t, X = self.endog, self.t, self.X
        k = X.shape[1]
        m1, a0, b0, mu1 = params[:k], params[k], params[k + 1:2 * k + 1], params[-1]
        e0 = (1 - t) * (y - a0 - X @ b0)
        return np.column_stack([t[:, None] * (X - m1), e0, e0[:, None] * X, t * (y - mu1)])


def gmm_stacked(y: np.ndarray, t: np.ndarray, X: np.ndarray) -> tuple[float, float]:
    k = X.shape[1]
    control = sm.OLS(y[t == 0], sm.add_constant(X[t == 0])).fit().params
    start = np.r_[X[t == 1].mean(axis=0), control, y[t == 1].mean()]   # the exact root of the moments
    model = StackedATT(y, None, None, k_moms=2 * k + 2, k_params=2 * k + 2)
    model.t, model.X = t, X
    model.set_param_names([f"m1_{c}" for c in COVARIATES] + ["a0"] + [f"b0_{c}" for c in COVARIATES] + ["mu1"])
    res = model.fit(start_params=start, maxiter=0, inv_weights=np.eye(2 * k + 2), optim_method="bfgs",
                    optim_args={"disp": 0})
    p = res.params
    m1, a0, b0, mu1 = p[:k], p[k], p[k + 1:2 * k + 1], p[-1]
    grad = np.r_[-b0, -1.0, -m1, 1.0]
    return float(mu1 - a0 - m1 @ b0), float(np.sqrt(grad @ res.cov_params() @ grad))


def pairs_bootstrap(y: np.ndarray, t: np.ndarray, X: np.ndarray) -> float:
    rng = np.random.default_rng(SEED)
    draws = []
    for _ in range(N_BOOT):
        i = rng.integers(0, y.size, y.size)
        draws.append(lin_att(y[i], t[i], X[i], "nonrobust")[0])
    return float(np.std(draws, ddof=1))


def main() -> None:
    y, t, X = load()
    est, se_hc3 = hc_plus_delta(y, t, X, "HC3", ddof=1)
    _, se_hc3_only, _ = lin_att(y, t, X, "HC3")
    _, se_hc0 = hc_plus_delta(y, t, X, "HC0", ddof=0)
    gmm_est, gmm_se = gmm_stacked(y, t, X)
    # the two derivations agree (the GMM Jacobian is numerical, hence 1e-6)
    assert abs(gmm_est - est) < 1e-6 * abs(est) and abs(gmm_se - se_hc0) < 1e-6 * se_hc0, (gmm_se, se_hc0)
    boot = pairs_bootstrap(y, t, X)
    payload = {
        "source": "causaldata.nsw_mixtape (NSW experimental sample, n=445); outcome re78, treatment treat, "
                  f"covariates {', '.join(COVARIATES)}; ATT by Lin's interacted regression centred at the "
                  "treated means",
        "script": "tests/estimators/references/scripts/regression_att_se_nsw.py",
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "pandas": pd.__version__,
                     "statsmodels": statsmodels.__version__},
        "estimate": est,
        "se_hc3_plus_delta": se_hc3,
        "se_hc3_only": se_hc3_only,
        "se_hc0_plus_delta": se_hc0,
        "se_gmm_stacked_hc0": gmm_se,
        "se_pairs_bootstrap": boot,
        "bootstrap": {"replicates": N_BOOT, "seed": SEED,
                      "relative_monte_carlo_error": 1 / np.sqrt(2 * (N_BOOT - 1))},
    }
    OUT.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
