"""Reference numbers for rd on a coarse running variable (tests/test_rd.py, section 5).

Writes tests/estimators/references/rd_coarse_running.json: two simulated data sets with a
known jump, stored with the data themselves (so the test needs no generator),
and rdrobust 2.1.1's answers on them with its defaults (p = 1, triangular
kernel, mserd, vce = "nn", masspoints = "adjust").

* ``cells``: age in months relative to a birthday cutoff, -20..19 (40 cells),
  one row per month holding the mean outcome of 50 children (aggregated
  data, as published tables give it). No value repeats, so rdrobust sees no
  mass points; the mserd bandwidth keeps 5-6 cells a side, fewer than the 10
  rows per side that rd required before issue 9, part 11.
* ``individuals``: 1,500 children, age in months concentrated near the cutoff
  (rounded normal, SD 7 months, clipped to -20..19), one row per child. 40
  distinct values for 1,500 rows: mass points, so rdrobust's "adjust" widens
  the pilot bandwidths to span 10 distinct values a side (bwcheck = 10). The
  bandwidth rdrobust picks with that floor lowered to one value (bwcheck = 1)
  is stored too, to show the floor binds on these data. (With masspoints =
  "off" rdrobust stops: its pilot, sized for 1,500 distinct values, holds too
  few cells to fit.)

Both: mean outcome 0.05 m + 0.002 m^2 (older children score higher), jump
0.5 at m >= 0, individual noise N(0, 1).

Run from the repository root with the venv that has rdrobust:
    python tests/estimators/references/scripts/rd_coarse_running.py
"""
from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import rdrobust as rdrobust_package
from rdrobust import rdrobust

OUT = Path(__file__).resolve().parents[1] / "rd_coarse_running.json"
JUMP = 0.5
SEED = 20240911


def mean_outcome(months: np.ndarray) -> np.ndarray:
    return 0.05 * months + 0.002 * months ** 2 + JUMP * (months >= 0)


def cells(rng: np.random.Generator, per_cell: int = 50) -> tuple[np.ndarray, np.ndarray]:
    months = np.arange(-20, 20).astype(float)
    y = np.array([np.mean(mean_outcome(np.full(per_cell, m)) + rng.normal(0, 1, per_cell)) for m in months])
    return months, np.round(y, 6)


def individuals(rng: np.random.Generator, n: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    months = np.clip(np.round(rng.normal(0, 7, n)), -20, 19)
    y = mean_outcome(months) + rng.normal(0, 1, n)
    return months, np.round(y, 6)


def peer(x: np.ndarray, y: np.ndarray, **options) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = rdrobust(y, x, c=0.0, **options)
    return dict(h=float(r.bws.iloc[0, 0]), b=float(r.bws.iloc[1, 0]), conventional=float(r.coef.iloc[0, 0]),
                bias_corrected=float(r.coef.iloc[1, 0]), se_conventional=float(r.se.iloc[0, 0]),
                se_robust=float(r.se.iloc[2, 0]), ci_robust=[float(v) for v in r.ci.iloc[2]],
                n_effective=[int(v) for v in r.N_h])


def main() -> None:
    rng = np.random.default_rng(SEED)
    out = {"source": f"rdrobust {getattr(rdrobust_package, '__version__', '2.1.1')} (PyPI), "
                     "rdrobust(y, x, c=0) with defaults (masspoints='adjust'); "
                     "script: tests/estimators/references/scripts/rd_coarse_running.py",
           "truth": JUMP, "cutoff": 0.0}
    for name, make in (("cells", cells), ("individuals", individuals)):
        x, y = make(rng)
        case = {"x": x.tolist(), "y": y.tolist(), "rdrobust": peer(x, y)}
        if name == "individuals":
            case["rdrobust_bwcheck_1_h"] = peer(x, y, bwcheck=1)["h"]
        out[name] = case
    text = json.dumps(out, indent=1)
    # lists of numbers on one line each: the file stays short and diffable
    text = re.sub(r"\[\s*([-0-9.eE,\s]+?)\s*\]", lambda m: "[" + re.sub(r"\s+", " ", m.group(1)) + "]", text)
    OUT.write_text(text + "\n")
    print(f"wrote {OUT}")
    for name in ("cells", "individuals"):
        print(name, {k: v for k, v in out[name].items() if k not in ("x", "y")})


if __name__ == "__main__":
    main()
