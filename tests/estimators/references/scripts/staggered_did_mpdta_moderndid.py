"""Peer numbers for ``staggered_did`` on mpdta: moderndid's att_gt and aggte (analytic SEs).

moderndid (PyPI; a Python port of the R ``did`` package) ships mpdta (moderndid.load_mpdta()).
For each configuration
    r = md.att_gt(md.load_mpdta(), yname="lemp", tname="year", idname="countyreal", gname="first.treat",
                  xformla=XF, est_method=EST, control_group=CTRL, base_period=BP, boot=False, cband=False)
    md.aggte(r, type=TYPE, boot=False, cband=False)   # TYPE in simple, dynamic, group, calendar
prints the overall ATT and its analytic SE. The same calls that produced the PEER_* constants of
tests/estimators/test_staggered_did.py.

Run from the repository root (moderndid 0.2):
    python tests/estimators/references/scripts/staggered_did_mpdta_moderndid.py
"""
from __future__ import annotations

import json
import warnings

import moderndid as md

CONFIGS = {
    "unconditional": {"xformla": None, "est_method": "dr", "control_group": "nevertreated",
                      "base_period": "varying"},
    "lpop_dr": {"xformla": "~lpop", "est_method": "dr", "control_group": "nevertreated", "base_period": "varying"},
    "lpop_ipw": {"xformla": "~lpop", "est_method": "ipw", "control_group": "nevertreated", "base_period": "varying"},
    "lpop_reg": {"xformla": "~lpop", "est_method": "reg", "control_group": "nevertreated", "base_period": "varying"},
    "lpop_dr_not_yet_universal": {"xformla": "~lpop", "est_method": "dr", "control_group": "notyettreated",
                                  "base_period": "universal"},
}


def main() -> None:
    warnings.simplefilter("ignore")
    data = md.load_mpdta()
    out = {}
    for name, config in CONFIGS.items():
        r = md.att_gt(data, yname="lemp", tname="year", idname="countyreal", gname="first.treat", boot=False,
                      cband=False, **config)
        types = ("simple", "dynamic", "group", "calendar") if name == "unconditional" else ("simple",)
        out[name] = {}
        for kind in types:
            agg = md.aggte(r, type=kind, boot=False, cband=False)
            out[name][kind] = {"estimate": float(agg.overall_att), "std_error": float(agg.overall_se)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
