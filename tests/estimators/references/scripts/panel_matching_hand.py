"""A hand computation for ``panel_matching`` (there is no peer package: the authors' PanelMatch is an R
package, not on PyPI). Writes tests/estimators/references/panel_matching_hand.json.

Four units over 2001-2005 (the small example of tests/estimators/test_panel_matching.py). With lag = 1,
no refinement: A switches on in 2003 (its matched set: units untreated in 2003 and in 2002, B and C)
and C in 2004 (untreated in 2004 and 2003: B only; A was treated in 2003); E is always treated. The
ATT at lead F is the mean over the two switches of (Y_t+F - Y_t-1) minus the mean of the matched
units' same change (Imai, Kim & Wang 2023, eq. 8), computed here with pandas.

Run from the repository root:
    python tests/estimators/references/scripts/panel_matching_hand.py
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "panel_matching_hand.json"
D = {"A": [0, 0, 1, 1, 0], "B": [0, 0, 0, 0, 0], "C": [0, 0, 0, 1, 1], "E": [1, 1, 1, 1, 1]}
Y = {"A": [1.0, 2.0, 6.0, 7.5, 5.0], "B": [0.0, 1.0, 1.5, 3.0, 3.5], "C": [2.0, 2.5, 4.0, 8.0, 9.0],
     "E": [5.0, 5.0, 6.0, 6.0, 7.0]}


def main() -> None:
    frame = pd.DataFrame([{"unit": u, "year": 2001 + t, "y": Y[u][t], "d": D[u][t]} for u in D for t in range(5)])
    f = frame.pivot(index="unit", columns="year", values="y")
    a0 = (f.loc["A", 2003] - f.loc["A", 2002]) - (f.loc[["B", "C"], 2003] - f.loc[["B", "C"], 2002]).mean()
    c0 = (f.loc["C", 2004] - f.loc["C", 2003]) - (f.loc["B", 2004] - f.loc["B", 2003])
    a1 = (f.loc["A", 2004] - f.loc["A", 2002]) - (f.loc[["B", "C"], 2004] - f.loc[["B", "C"], 2002]).mean()
    c1 = (f.loc["C", 2005] - f.loc["C", 2003]) - (f.loc["B", 2005] - f.loc["B", 2003])
    out = {"source": "hand computation with pandas (IKW 2023 eq. 8); "
                     "script: tests/estimators/references/scripts/panel_matching_hand.py",
           "params": {"lag": 1, "leads": 1, "refinement": "none"},
           "att": {"0": float((a0 + c0) / 2), "1": float((a1 + c1) / 2)},
           **{column: frame[column].tolist() for column in frame}}
    OUT.write_text(json.dumps(out) + "\n")
    print(f"wrote {OUT}: {out['att']}")


if __name__ == "__main__":
    main()
