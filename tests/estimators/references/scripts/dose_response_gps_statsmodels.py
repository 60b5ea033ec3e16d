"""Reference numbers for the Hirano-Imbens (2004) GPS dose-response estimate, computed without CQOx's
estimator code: statsmodels OLS for both stages, the GPS from scipy's normal density.

    .venv/bin/python tests/estimators/references/scripts/dose_response_gps_statsmodels.py

writes tests/estimators/references/dose_response_gps.json. Data: the registry example,
cqox_core.datasets.policy.simulate_dose(2000, seed=0) (a seeded generator, so the same rows).

1. Treatment model: OLS of dose on [1, x1, x2, x3]; sigma^2 = SSR / (n - 4) (statsmodels' scale).
2. GPS R_i = norm.pdf(dose_i, fitted_i, sigma).
3. Outcome model: OLS of y on [1, D, D^2, R, R^2, D*R] (Hirano & Imbens 2004, eq. 7.3 form).
4. theta(d) = mean_i of the outcome model at (d, norm.pdf(d, fitted_i, sigma)).
Stored: theta at 0.5 and 1.5 and their contrast, and theta at five doses.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import scipy
import statsmodels
import statsmodels.api as sm
from scipy.stats import norm

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))
from cqox_core.datasets.policy import simulate_dose  # noqa: E402  (the data only)

OUT = Path(__file__).resolve().parent.parent / "dose_response_gps.json"
DOSES = [0.0, 0.5, 1.0, 1.5, 2.0]


def gps_theta(df, doses):
    X = sm.add_constant(df[["x1", "x2", "x3"]].to_numpy())
    first = sm.OLS(df["dose"].to_numpy(), X).fit()
    sigma = float(np.sqrt(first.scale))
    fitted = first.fittedvalues
    d = df["dose"].to_numpy()
    r = norm.pdf(d, loc=fitted, scale=sigma)
    second = sm.OLS(df["y"].to_numpy(), np.column_stack([np.ones_like(d), d, d ** 2, r, r ** 2, d * r])).fit()
    a = second.params
    out = []
    for t in doses:
        rt = norm.pdf(t, loc=fitted, scale=sigma)
        out.append(float(np.mean(a[0] + a[1] * t + a[2] * t ** 2 + a[3] * rt + a[4] * rt ** 2 + a[5] * t * rt)))
    return out


def main() -> None:
    df = simulate_dose(2000, 0)
    theta = gps_theta(df, DOSES)
    ref = {"source": "Hirano & Imbens (2004) GPS estimator written with statsmodels OLS on simulate_dose(2000, 0)",
           "script": "tests/estimators/references/scripts/dose_response_gps_statsmodels.py",
           "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__,
                        "statsmodels": statsmodels.__version__},
           "doses": DOSES, "theta": theta, "contrast_0.5_to_1.5": theta[3] - theta[1]}
    OUT.write_text(json.dumps(ref, indent=2) + "\n")
    print(json.dumps(ref, indent=2))


if __name__ == "__main__":
    main()
