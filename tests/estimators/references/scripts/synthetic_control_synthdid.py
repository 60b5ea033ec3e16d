"""Peer numbers for ``synthetic_control`` on Proposition 99: synthdid-py's SC and SDID.

Data: cqox_core.datasets.public.prop99_frame() (synthdid.load_california_prop99(): 39 states,
1970-2000, per-capita packs; California treated from 1989). With
    p = synthdid.panel_matrices(load_california_prop99())
* sc_estimate(p.Y, p.N0, p.T0): the outcome-only synthetic control (a tiny ridge, Frank-Wolfe), its
  donor weights omega (rounded to 6 decimals, those above 1e-6) and the pre-period SSE of its fit;
* synthdid_estimate(p.Y, p.N0, p.T0): synthetic difference-in-differences.
The same calls as synthdid_reference() in tests/estimators/test_synthetic_control.py (its SYNTHDID_*
constants). synthdid-py states it matches R synthdid 0.0.9 to 5 decimals.

Run from the repository root (synthdid-py 0.1.0):
    python tests/estimators/references/scripts/synthetic_control_synthdid.py
"""
from __future__ import annotations

import json

import numpy as np
from synthdid import load_california_prop99, panel_matrices, sc_estimate, synthdid_estimate


def main() -> None:
    p = panel_matrices(load_california_prop99())
    tau = sc_estimate(p.Y, p.N0, p.T0)
    w = tau.weights.omega
    A, b = p.Y[:p.N0, :p.T0].T, p.Y[p.N0, :p.T0]
    out = {"sc_estimate": float(tau),
           "sc_weights": {str(p.units[i]): round(float(w[i]), 6) for i in np.argsort(-w) if w[i] > 1e-6},
           "sc_pre_sse": float(np.sum((A @ w - b) ** 2)),
           "sdid_estimate": float(synthdid_estimate(p.Y, p.N0, p.T0))}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
