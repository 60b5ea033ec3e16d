"""Reference numbers for ``proximal``: proximal 2SLS as an instrumental-variable regression in
linearmodels (no CQOx estimator code involved).

    .venv/bin/python tests/estimators/references/scripts/proximal_linearmodels.py

writes tests/estimators/references/proximal_linearmodels.json.

The equivalence (Tchetgen Tchetgen et al. 2020, arXiv:2009.10982, Sec. 4.1): with a linear
outcome bridge h = b0 + beta a + b_w' w + b_x' x, P2SLS is two-stage least squares of y on
(1, a, w, x) with the negative-control outcomes w endogenous, instrumented by the negative-
control exposures z, a and x exogenous. Computed here by
``linearmodels.iv.IV2SLS(y, exog=[1, a, x], endog=w, instruments=z)`` with the robust
covariance (HC0 times n / (n - p): ``debiased=True``) and the unadjusted one (s^2 with n - p).

Cases: ``example`` is the registry example (cqox_core.datasets.advanced.proximal_example, seed
0: binary treatment, one NCE z, one NCO w); ``overidentified`` adds a second NCE (a noisier
proxy z2 of the same confounder) to a continuous-treatment draw of the same design (seed 5,
n = 3,000), so the bridge is over-identified (2SLS weight).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import linearmodels
import numpy as np
import pandas as pd
from linearmodels.iv import IV2SLS

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT))
from cqox_core.datasets.advanced import proximal_example, simulate_proximal  # noqa: E402  (data only)

OUT = Path(__file__).resolve().parent.parent / "proximal_linearmodels.json"


def overidentified_frame() -> pd.DataFrame:
    frame = simulate_proximal(3_000, 5, binary_treatment=False)
    rng = np.random.default_rng(55)
    return frame.assign(z2=0.5 * frame["u"] + rng.normal(size=len(frame))).drop(columns="u")


def fit(frame: pd.DataFrame, treatment: str, covariates: list[str], nce: list[str], nco: list[str]) -> dict:
    f = frame.assign(const=1.0)
    model = IV2SLS(f["y"], f[["const", treatment, *covariates]], f[nco], f[nce])
    robust = model.fit(cov_type="robust", debiased=True)
    classical = model.fit(cov_type="unadjusted", debiased=True)
    return {"estimate": float(robust.params[treatment]), "std_error_hc1": float(robust.std_errors[treatment]),
            "std_error_classical": float(classical.std_errors[treatment]),
            "bridge": {k: float(v) for k, v in robust.params.items()}}


def main() -> None:
    example = proximal_example(0).frame
    out = {
        "source": "linearmodels.iv.IV2SLS: y on exog [const, treatment, covariates], endog = NCOs, instruments = NCEs",
        "script": "tests/estimators/references/scripts/proximal_linearmodels.py",
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "pandas": pd.__version__,
                     "linearmodels": linearmodels.__version__},
        "example": fit(example, "a", ["x"], ["z"], ["w"]) | {"nce": ["z"], "nco": ["w"], "n": len(example)},
        "overidentified": fit(overidentified_frame(), "a", ["x"], ["z", "z2"], ["w"])
        | {"nce": ["z", "z2"], "nco": ["w"], "n": 3_000},
    }
    OUT.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
