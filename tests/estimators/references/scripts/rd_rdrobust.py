"""Peer numbers for ``rd``: rdrobust and rddensity on two public elections datasets.

* U.S. Senate (Cattaneo, Frandsen & Titiunik 2015; rdrobust.datasets.rdrobust_RDsenate()):
  rdrobust(vote, margin) with defaults (c = 0, p = 1, triangular kernel, mserd bandwidth,
  NN variance with 3 neighbours); rddensity(margin) (cqox_core.datasets.public.rdrobust_senate_frame()).
* Close House elections (Lee, Moretti & Butler 2004; causaldata.close_elections_lmb, cast to float64,
  which moves rdrobust's own answer by ~1e-5 against the stored float32): rdrobust(score,
  lagdemvoteshare, c=0.5): sharp; fuzzy with take-up = lagdemocrat flipped for id % 5 == 0; clustered
  by state (cqox_core.datasets.public.lmb_frame() holds the derived columns); rddensity(lagdemvoteshare, c=0.5).
The same calls as the ``__main__`` block of tests/estimators/test_rd.py (its LMB_* and SENATE_* constants).
"conventional" is rd's estimate, "se_robust" its std_error, "ci_robust" its interval.

Run from the repository root (rdrobust 2.1.1, rddensity 3.0, causaldata 0.1.5):
    python tests/estimators/references/scripts/rd_rdrobust.py
"""
from __future__ import annotations

import contextlib
import io
import json
import warnings

import numpy as np
from rddensity import rddensity
from rdrobust import rdrobust

from cqox_core.datasets.public import lmb_frame, rdrobust_senate_frame


def summary(r) -> dict:
    return {"h": float(r.bws.iloc[0, 0]), "b": float(r.bws.iloc[1, 0]), "conventional": float(r.coef.iloc[0, 0]),
            "bias_corrected": float(r.coef.iloc[1, 0]), "se_conventional": float(r.se.iloc[0, 0]),
            "se_robust": float(r.se.iloc[2, 0]), "ci_robust": [float(v) for v in r.ci.iloc[2]]}


def main() -> None:
    warnings.simplefilter("ignore")
    with contextlib.redirect_stdout(io.StringIO()):      # rdrobust prints a mass-points notice on LMB
        out = peer_numbers()
    print(json.dumps(out, indent=1))


def peer_numbers() -> dict:
    out = {}
    s = rdrobust_senate_frame()
    ok = s.vote.notna() & s.margin.notna()
    out["senate"] = summary(rdrobust(s.vote[ok].to_numpy(float), s.margin[ok].to_numpy(float)))
    density = rddensity(s.margin.dropna().to_numpy(float))
    out["senate_density"] = {"t": float(density.test["t_jk"]), "p": float(density.test["p_jk"])}
    lmb = lmb_frame()
    ok = lmb.score.notna() & lmb.lagdemvoteshare.notna()
    y, x = lmb.score[ok].to_numpy(float), lmb.lagdemvoteshare[ok].to_numpy(float)
    out["lmb_sharp"] = summary(rdrobust(y, x, c=0.5))
    out["lmb_fuzzy"] = summary(rdrobust(y, x, c=0.5, fuzzy=lmb.take_up[ok].to_numpy(float)))
    out["lmb_cluster"] = summary(rdrobust(y, x, c=0.5, cluster=np.unique(lmb.state_name[ok], return_inverse=True)[1]))
    out["lmb_density_p"] = float(rddensity(lmb.lagdemvoteshare.dropna().to_numpy(float), c=0.5).test["p_jk"])
    return out


if __name__ == "__main__":
    main()
