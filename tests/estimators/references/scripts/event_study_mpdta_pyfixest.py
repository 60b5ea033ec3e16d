"""Peer numbers for ``event_study`` on mpdta: pyfixest's relative-time event study.

Data: cqox_core.datasets.public.mpdta_frame() (Callaway & Sant'Anna's 500 counties, 2003-2007, as
shipped with moderndid; minimum_wage_raised = year >= first.treat > 0). Relative time
rel = year - first.treat for counties that raise the wage, -1 (the reference) for never-treated ones;
event_study's default window (up to 5 leads and lags) covers all of -4..3, so nothing is binned.
    feols("lemp ~ i(rel, ref=-1) | countyreal + year", vcov={"CRV1": "countyreal"})
The headline is the mean of the post coefficients 0..3 weighted by the number of treated
county-years at each relative period (nothing is binned here), its SE sqrt(a' V a) from
pyfixest's covariance (the same construction as test_matches_pyfixest_event_study).

Run from the repository root (pyfixest 0.60, moderndid 0.2):
    python tests/estimators/references/scripts/event_study_mpdta_pyfixest.py
"""
from __future__ import annotations

import json

import numpy as np
import pyfixest as pf

from cqox_core.datasets.public import mpdta_frame


def main() -> None:
    frame = mpdta_frame()
    frame["rel"] = np.where(frame["first.treat"] > 0, frame["year"] - frame["first.treat"], -1)
    fit = pf.feols("lemp ~ i(rel, ref=-1) | countyreal + year", data=frame, vcov={"CRV1": "countyreal"})
    rel = [int(float(name.split("::")[1].rstrip("]"))) for name in fit.coef().index]
    out = {"by": {str(r): {"estimate": float(c), "std_error": float(s)}
                  for r, c, s in zip(rel, fit.coef().to_numpy(), fit.se().to_numpy())}}
    treated_obs = frame.loc[frame["first.treat"] > 0, "rel"].value_counts()
    a = np.array([float(treated_obs.get(r, 0)) if r >= 0 else 0.0 for r in rel])
    a /= a.sum()
    out["estimate"] = float(a @ fit.coef().to_numpy())
    out["std_error"] = float(np.sqrt(a @ fit._vcov @ a))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
