"""Reference numbers for ``transport``: zEpid's transportability estimators (Zivich) on zEpid's own
simulated transport data, computed without CQOx.

zEpid is not a CQOx dependency; install it beside the venv without touching it, then run:

    python -m pip install --no-deps --target /tmp/zepid zepid==0.9.1
    PYTHONPATH=/tmp/zepid .venv/bin/python tests/estimators/references/scripts/transport_zepid.py

writes tests/estimators/references/transport_zepid.json.

Data: zepid/datasets/generalize_conf.dat (zepid.load_generalize_data(True), MIT licence, copied
unchanged to tests/estimators/references/data/zepid_generalize_conf.csv): 3,000 rows, S = 1 the
study (486 rows with binary outcome Y, treatment A confounded by L, W), S = 0 the target (2,514
rows with L, W only). zEpid documents the true transported risk difference: 0.02887.

Models (linear covariates, so CQOx's specification is the same model): sampling logit
S ~ L + W; treatment logit A ~ L + W (unstabilised, study rows); outcome linear (Gaussian GLM)
Y ~ A + L + W + A:L + A:W, i.e. one least-squares fit per arm. zEpid's IPSW averages with the
weights (normalised, CQOx normalize=True); its AIPSW divides the weighted residuals by the target
size (CQOx normalize=False); GTransportFormula is the outcome-model transport. CQOx's site flag
is 1 - S.
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import zepid
from zepid.causal.generalize import AIPSW, IPSW, GTransportFormula

HERE = Path(__file__).resolve().parent.parent
DATA = HERE / "data" / "zepid_generalize_conf.csv"
OUT = HERE / "transport_zepid.json"
COVARIATES = "L + W"
OUTCOME = "A + L + W + A:L + A:W"


def main() -> None:
    warnings.simplefilter("ignore")
    df = pd.read_csv(DATA, index_col=False)
    iosw = IPSW(df, exposure="A", outcome="Y", selection="S", generalize=False)
    iosw.sampling_model(COVARIATES, stabilized=False, print_results=False)
    iosw.treatment_model(COVARIATES, stabilized=False, print_results=False)
    iosw.fit()
    gtf = GTransportFormula(df, exposure="A", outcome="Y", selection="S", generalize=False, outcome_type="normal")
    gtf.outcome_model(OUTCOME, print_results=False)
    gtf.fit()
    dr = AIPSW(df, exposure="A", outcome="Y", selection="S", generalize=False)
    dr.sampling_model(COVARIATES, stabilized=False, print_results=False)
    dr.treatment_model(COVARIATES, stabilized=False, print_results=False)
    dr.outcome_model(OUTCOME, outcome_type="normal", print_results=False)
    dr.fit()
    out = {
        "source": "zepid.causal.generalize (IPSW, GTransportFormula, AIPSW; generalize=False) on zepid's "
                  "generalize_conf data",
        "script": "tests/estimators/references/scripts/transport_zepid.py",
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "pandas": pd.__version__,
                     "zepid": zepid.__version__},
        "n": int(len(df)), "n_study": int(df["S"].sum()),
        "published_true_risk_difference": 0.02887,
        "published_source": "zepid.datasets.load_generalize_data docstring: 'Transportability RD: 0.02887'",
        "iosw": float(iosw.risk_difference), "outcome_model": float(gtf.risk_difference),
        "dr_unnormalised": float(dr.risk_difference),
    }
    OUT.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
