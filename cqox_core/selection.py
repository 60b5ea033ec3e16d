"""Which estimators fit these roles and this data, and what would unlock the rest."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import registry
from .data import Dataset, as_dataset
from .results import to_jsonable
from .roles import ROLE_INFO, Roles



@dataclass(frozen=True)
class Choice:
    method: str
    title: str
    family: str
    runnable: bool
    reason: str
    unlock: tuple[str, ...] = ()
    estimands: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self.__dict__)


def treatment_kind(frame: pd.DataFrame, roles: Roles) -> tuple[str, str]:
    """('binary'|'continuous'|'categorical'|'constant'|'missing', description)."""
    col = frame[roles.treatment].dropna()
    k = col.nunique()
    if k == 0:
        return "missing", f"'{roles.treatment}' has no values"
    if k == 1:
        return "constant", f"'{roles.treatment}' takes one value only"
    if k == 2 or roles.treated_value is not None:
        counts = col.value_counts()
        return "binary", f"binary treatment ({counts.iloc[0]} / {counts.iloc[1]} rows per group)"
    if pd.api.types.is_numeric_dtype(col):
        return "continuous", f"numeric treatment with {k} distinct values"
    return "categorical", f"'{roles.treatment}' has {k} labels"


def _check(spec: registry.MethodSpec, data: Dataset, roles: Roles) -> Choice:
    req = spec.requires
    missing = [r for r in req.roles if r not in roles.assigned()]
    absent = [c for c in roles.columns() if c not in data.frame.columns]
    base = dict(method=spec.id, title=spec.title, family=spec.family, estimands=spec.estimands)
    if absent:
        return Choice(**base, runnable=False, reason=f"column(s) not in the data: {', '.join(absent)}",
                      unlock=tuple(f"fix the role pointing at '{c}'" for c in absent))
    if missing:
        unlock = tuple(f"set {r}: {ROLE_INFO[r].help if r in ROLE_INFO else r}" for r in missing)
        return Choice(**base, runnable=False, reason=f"needs {', '.join(missing)}", unlock=unlock)
    if data.n_rows < req.min_rows:
        return Choice(**base, runnable=False, reason=f"needs at least {req.min_rows} rows, has {data.n_rows}",
                      unlock=("more rows",))
    notes = []
    if "treatment" in req.roles:
        kind, text = treatment_kind(data.frame, roles)
        ok = kind == req.treatment or (req.treatment == "any" and kind in ("binary", "continuous"))
        if not ok:
            want = {"binary": "a treatment with two groups", "continuous": "a numeric treatment",
                    "any": "a binary or numeric treatment"}[req.treatment]
            hint = ("choose the treated level with treated_value" if kind == "categorical"
                    else "choose a treatment column that varies")
            return Choice(**base, runnable=False, reason=f"needs {want}; {text}", unlock=(hint,))
        notes.append(text)
    if req.panel and roles.unit and roles.time:
        notes.append("panel with unit and time")
    present = [r for r in req.roles if r != "treatment"]
    detail = ", ".join(f"{len(roles.covariates)} covariates" if r == "covariates" else r for r in present)
    extra = [f"add {r} to strengthen it" for r in req.recommended if r not in roles.assigned()]
    reason = f"has {detail}; " + "; ".join(notes) if notes else f"has {detail}"
    return Choice(**base, runnable=True, reason=reason, unlock=tuple(extra))


def select(data: Dataset | pd.DataFrame | str, roles: Roles) -> list[Choice]:
    """Every registered method with whether it can run and why (runnable first)."""
    dataset = as_dataset(data)
    choices = [_check(spec, dataset, roles) for spec in registry.methods()]
    return sorted(choices, key=lambda c: (not c.runnable, c.method))
