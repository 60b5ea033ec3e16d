"""Peer numbers for ``did``: pyfixest feols two-way fixed effects with CRV1 by unit.

* causaldata.castle (Cheng & Hoekstra 2013, as in Cunningham's Mixtape): l_homicide ~ post | sid + year,
  vcov={"CRV1": "sid"}, unweighted and weighted by popwt (cast to float64).
* cqox_core.datasets.public.organ_donations_frame() (Kessler & Roth 2014; California treated from
  Quarter_Num 4): Rate ~ treated | State + Quarter_Num, vcov={"CRV1": "State"}.
pyfixest's default small-sample correction (k_fixef="nonnested", G_df="min") is did's.
The same calls as test_public_panels_match_pyfixest_live in tests/estimators/test_did.py.

Run from the repository root (pyfixest 0.60):
    python tests/estimators/references/scripts/did_pyfixest.py
"""
from __future__ import annotations

import json

import causaldata
import pyfixest as pf

from cqox_core.datasets.public import organ_donations_frame


def main() -> None:
    castle = causaldata.castle.load_pandas().data.astype({"popwt": float, "l_homicide": float})
    out = {}
    for name, kw in (("castle", {}), ("castle_weighted", {"weights": "popwt"})):
        fit = pf.feols("l_homicide ~ post | sid + year", data=castle, vcov={"CRV1": "sid"}, **kw)
        out[name] = {"estimate": float(fit.coef()["post"]), "std_error": float(fit.se()["post"])}
    fit = pf.feols("Rate ~ treated | State + Quarter_Num", data=organ_donations_frame(), vcov={"CRV1": "State"})
    out["organ_donations"] = {"estimate": float(fit.coef()["treated"]), "std_error": float(fit.se()["treated"])}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
