"""Reference numbers for ope: IPS, SNIPS, DM and DR written out term by term (plain Python loops) with
statsmodels OLS reward models per action, on simulate_bandit(400, seed=3) with the logged
propensities and n_folds=1 (reward models fitted on all rows, as Dudik, Langford & Li 2011).

    .venv/bin/python tests/estimators/references/scripts/ope_hand_formulas.py

writes tests/estimators/references/ope_hand.json.
    IPS   = (1/n) sum_i 1{pi_i = a_i} r_i / p_i
    SNIPS = sum_i 1{pi_i = a_i} r_i / p_i  /  sum_i 1{pi_i = a_i} / p_i
    DM    = (1/n) sum_i q(x_i, pi_i)
    DR    = (1/n) sum_i [q(x_i, pi_i) + 1{pi_i = a_i} (r_i - q(x_i, a_i)) / p_i]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import statsmodels
import statsmodels.api as sm

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))
from cqox_core.datasets.policy import simulate_bandit  # noqa: E402  (the data only)

OUT = Path(__file__).resolve().parent.parent / "ope_hand.json"


def main() -> None:
    df = simulate_bandit(400, 3)
    fits = {a: sm.OLS(g["reward"].to_numpy(), sm.add_constant(g[["x1", "x2"]].to_numpy())).fit()
            for a, g in df.groupby("action")}

    def q(row, action):
        b = fits[action].params
        return b[0] + b[1] * row["x1"] + b[2] * row["x2"]

    n = len(df)
    ips = snips_num = snips_den = dm = dr = 0.0
    for _, row in df.iterrows():
        match = 1.0 if row["target"] == row["action"] else 0.0
        w = match / row["propensity"]
        ips += w * row["reward"]
        snips_num += w * row["reward"]
        snips_den += w
        qt = q(row, row["target"])
        dm += qt
        dr += qt + w * (row["reward"] - q(row, row["action"]))
    ref = {"source": "hand-computed OPE formulas with statsmodels OLS per action on simulate_bandit(400, 3)",
           "script": "tests/estimators/references/scripts/ope_hand_formulas.py",
           "versions": {"python": sys.version.split()[0], "numpy": np.__version__,
                        "statsmodels": statsmodels.__version__},
           "ips": ips / n, "snips": snips_num / snips_den, "dm": dm / n, "dr": dr / n}
    OUT.write_text(json.dumps(ref, indent=2) + "\n")
    print(json.dumps(ref, indent=2))


if __name__ == "__main__":
    main()
