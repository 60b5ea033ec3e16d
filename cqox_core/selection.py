"""Which estimators fit these roles and this data, and what would unlock the rest.

Selection reads the data's structure first (:func:`data_structure`): a
cross-section, a panel (one row per unit and period), a repeated cross-section,
a single time series or aggregated cells, and for panels whether adoption is
staggered and how many units are treated. Each registered design
(``MethodSpec.design``) either fits that structure or ignores it:

- a method whose design fits is *recommended* (pre-selected, in the default battery);
- a runnable method whose design ignores the structure (e.g. a cross-sectional
  method on store-weeks, which treats every unit-period as an independent unit and
  ignores the time trend) is not recommended and carries a ``caution``; run by
  hand, its result carries that caution as a warning (:func:`structure_caution`);
- a method whose data condition is known to fail on this structure (a time-series
  design on several series, a one-treated-unit design on several treated units,
  a panel design on a single series) is not runnable, with the reason.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
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
    #: The method's design fits the data's structure: pre-selected and in the default battery.
    recommended: bool = True
    #: Why the number of a runnable but not recommended method is not comparable (empty when it fits).
    caution: str = ""
    #: The data's structure in one sentence (the same for every choice of one call to :func:`select`).
    structure: str = ""

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self.__dict__)


StructureKind = Literal["cross_section", "panel", "repeated_cross_section", "time_series", "aggregated_cells"]

#: Share of (unit, period) cells holding several rows from which the unit is read as a group whose members
#: are sampled afresh each period (a repeated cross-section), as in the two-way fixed-effects code.
SEVERAL_ROWS_SHARE = 0.5
#: Designs of the registry that do not look at the data's layout themselves (they wrap another method).
WRAPPER_DESIGN = "wrapper"
#: Plain names of the designs, for the sentences below.
DESIGN_NAMES = {"cross_section": "cross-sectional", "threshold": "regression-discontinuity",
                "instrument": "instrumental-variable", "panel": "panel", "time_series": "time-series",
                "wrapper": "resampling"}


@dataclass(frozen=True)
class Structure:
    """How the rows of the data relate to each other, and which designs are built for that."""

    kind: StructureKind
    description: str
    #: Registry designs (``MethodSpec.design``) built for this structure.
    fits: tuple[str, ...]
    n_rows: int
    n_units: int | None = None
    n_periods: int | None = None
    n_treated_units: int | None = None
    n_never_treated: int | None = None
    #: Distinct first treated periods among the treated units.
    adoption_times: int | None = None
    staggered: bool = False
    one_treated_unit: bool = False
    switches_off: bool = False
    #: Several rows share one period (so a single series needs aggregating first).
    several_rows_per_period: bool = False
    #: What one row is, in words ("unit-periods", "periods", "rows").
    row_noun: str = "rows"
    #: What a method that ignores the structure leaves out, in words.
    ignored: str = ""

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self.__dict__)


def _sortable_time(col: pd.Series) -> pd.Series:
    """Time values that sort in time order: numbers, parsed dates, else the labels' ranks."""
    if pd.api.types.is_numeric_dtype(col):
        return col.astype(float)
    parsed = pd.to_datetime(col, errors="coerce", utc=True) if not pd.api.types.is_datetime64_any_dtype(col) \
        else col
    if parsed.notna().mean() >= 0.9:
        return parsed
    return col.astype("string").rank(method="dense")


def _treated_rows(frame: pd.DataFrame, roles: Roles) -> np.ndarray | None:
    """True in treated rows; None when the treatment is not a 0/1 (or treated-value) indicator."""
    if not roles.treatment or roles.treatment not in frame:
        return None
    col = frame[roles.treatment]
    if roles.treated_value is not None:
        return (col.notna() & (col.astype(str) == roles.treated_value)).to_numpy()
    num = pd.to_numeric(col, errors="coerce")
    if num.notna().any() and num.dropna().isin([0, 1]).all():
        return (num == 1).to_numpy()
    return None


@dataclass(frozen=True)
class _Layout:
    """Integer codes of unit and period for the rows where both are known (periods coded in time order)."""

    unit: np.ndarray
    time: np.ndarray
    keep: np.ndarray
    unit_labels: pd.Index
    n_units: int
    n_periods: int

    @classmethod
    def of(cls, frame: pd.DataFrame, roles: Roles, time: pd.Series) -> "_Layout":
        unit, labels = pd.factorize(frame[roles.unit])
        period, periods = pd.factorize(time, sort=True)
        keep = (unit >= 0) & (period >= 0)
        return cls(unit[keep], period[keep], keep, pd.Index(labels), len(labels), len(periods))

    def cells(self) -> np.ndarray:
        """Rows per observed (unit, period) cell, and the unit of each cell (sorted by cell)."""
        key = self.unit.astype(np.int64) * self.n_periods + self.time
        grid = self.n_units * self.n_periods
        if grid <= 4 * max(key.size, 1):  # a dense grid: counting beats sorting
            counts = np.bincount(key, minlength=grid)
            cell = np.flatnonzero(counts)
            rows = counts[cell]
        else:
            cell, rows = np.unique(key, return_counts=True)
        return rows, (cell // self.n_periods).astype(np.int64)


@dataclass(frozen=True)
class _Adoption:
    n_treated: int
    n_never: int
    times: int
    switches_off: bool
    treated_example: Any


def _adoption(frame: pd.DataFrame, roles: Roles, layout: _Layout) -> _Adoption | None:
    """Who is treated and from when, per unit (``roles.cohort`` when set: 0 = never treated)."""
    if roles.cohort and roles.cohort in frame:
        cohort = pd.Series(pd.to_numeric(frame[roles.cohort], errors="coerce").to_numpy()[layout.keep])
        per_unit = cohort.groupby(layout.unit).first()
        treated = per_unit[per_unit > 0]
        return _Adoption(int(treated.size), int((per_unit == 0).sum()), int(treated.nunique()), False,
                         layout.unit_labels[treated.index[0]] if treated.size else None)
    d = _treated_rows(frame, roles)
    if d is None:
        return None
    d = d[layout.keep]
    first = pd.Series(layout.time[d]).groupby(layout.unit[d]).min()
    last_on = pd.Series(layout.time[d]).groupby(layout.unit[d]).max()
    last = pd.Series(layout.time).groupby(layout.unit).max()
    # treatment that ends before a unit's own last period switches off
    switches_off = bool((last_on < last.reindex(last_on.index)).any())
    return _Adoption(int(first.size), layout.n_units - int(first.size), int(first.nunique()), switches_off,
                     layout.unit_labels[first.index[0]] if first.size else None)


def _cross_section(n: int, roles: Roles) -> Structure:
    what = "one row per unit" if roles.unit else "each row a separate unit"
    return Structure("cross_section", f"Cross-section: {n:,} rows, {what}, no time dimension. The "
                     "cross-sectional designs fit: they compare treated and untreated units alike on the covariates.",
                     ("cross_section", "threshold", "instrument", WRAPPER_DESIGN), n)


def _time_only(n: int, roles: Roles, time: pd.Series) -> Structure:
    n_periods = int(time.nunique())
    if n_periods >= n:  # one row per period: a single series
        return Structure("time_series", f"Single time series: {n:,} periods ('{roles.time}'), one row each. The "
                         "time-series design fits: it compares the series with its own trend before the "
                         "intervention.", ("time_series", WRAPPER_DESIGN), n, n_units=1, n_periods=n_periods,
                         row_noun="periods of one series",
                         ignored="the trend over time and the dependence between neighbouring periods")
    return Structure("repeated_cross_section",
                     f"Repeated cross-section: {n:,} rows over {n_periods} periods ('{roles.time}'), several "
                     "rows per period and no unit followed over time. The cross-sectional designs fit when the "
                     "period is among the covariates (otherwise a change over time is read as an effect).",
                     ("cross_section", "threshold", "instrument", WRAPPER_DESIGN), n, n_periods=n_periods,
                     several_rows_per_period=True)


def _adoption_sentence(a: _Adoption | None, roles: Roles) -> str:
    if a is None:
        return ""
    if a.n_treated == 0:
        return " No unit is ever treated."
    never = f", {a.n_never} never treated" if a.n_never else ", none never treated"
    if a.n_treated == 1:
        text = (f" One unit ({a.treated_example}) is treated, "
                + (f"the other {a.n_never} never are." if a.n_never else "and no unit stays untreated."))
    elif a.times > 1:
        text = f" Treatment starts at {a.times} different times (staggered adoption) for {a.n_treated} units{never}."
    else:
        text = f" {a.n_treated} units start treatment at the same time{never}."
    if a.switches_off:
        text += " For some units the treatment switches off again."
    return text


#: data_structure results by (sha256, the roles it reads): select, assemble and every estimate ask again.
_STRUCTURE_CACHE: OrderedDict[tuple, Structure] = OrderedDict()
STRUCTURE_CACHE_SIZE = 32


def data_structure(data: Dataset | pd.DataFrame | str, roles: Roles) -> Structure:
    """The layout of the rows (see :func:`read_structure`), cached per dataset and roles."""
    dataset = as_dataset(data)
    if dataset.meta.get("resample"):
        return read_structure(dataset, roles)
    key = (dataset.sha256, dataset.n_rows, roles.unit, roles.time, roles.treatment, roles.treated_value,
           roles.cohort, roles.weight)
    if key not in _STRUCTURE_CACHE:
        _STRUCTURE_CACHE[key] = read_structure(dataset, roles)
        while len(_STRUCTURE_CACHE) > STRUCTURE_CACHE_SIZE:
            _STRUCTURE_CACHE.popitem(last=False)
    return _STRUCTURE_CACHE[key]


def read_structure(dataset: Dataset, roles: Roles) -> Structure:
    """Read the layout of the rows from the roles and the data, in plain language.

    Without a time role the data are a cross-section. With time but no unit (or a
    single unit) they are one series (one row per period) or a repeated
    cross-section. With unit and time: a panel when most (unit, period) cells hold
    one row, a repeated cross-section of groups when most hold several, and
    aggregated cells when a panel's rows carry counts in the weight role. Units
    seen in a single period each are not a panel: the unit column is then only an id.
    """
    frame, n = dataset.frame, dataset.n_rows
    if not roles.time or roles.time not in frame:
        return _cross_section(n, roles)
    time = _sortable_time(frame[roles.time])
    layout = _Layout.of(frame, roles, time) if roles.unit and roles.unit in frame else None
    if layout is None or layout.n_units <= 1:
        return _time_only(n, roles, time)
    n_units, n_periods = layout.n_units, layout.n_periods
    per_cell, cell_unit = layout.cells()
    if int(np.bincount(cell_unit, minlength=n_units).max()) <= 1:
        # every unit is seen in one period only: the unit column is an id, not a panel dimension
        return _time_only(n, roles, time) if n_periods > 1 else _cross_section(n, roles)
    adoption = _adoption(frame, roles, layout)
    counts = dict(n_units=n_units, n_periods=n_periods, several_rows_per_period=True)
    if adoption is not None:
        counts.update(n_treated_units=adoption.n_treated, n_never_treated=adoption.n_never,
                      adoption_times=adoption.times, staggered=adoption.times > 1,
                      one_treated_unit=adoption.n_treated == 1, switches_off=adoption.switches_off)
    adopt = _adoption_sentence(adoption, roles)
    fits = ("panel", WRAPPER_DESIGN)
    ignored = "each unit's own level and the common change over time"
    if float((per_cell > 1).mean()) > SEVERAL_ROWS_SHARE:
        return Structure("repeated_cross_section",
                         f"Repeated cross-section of groups: {n_units} groups ('{roles.unit}') over {n_periods} "
                         f"periods ('{roles.time}'), {n:,} rows (several per group and period).{adopt} The panel "
                         "designs fit: they compare the groups' changes over time.", fits, n,
                         row_noun="rows of groups and periods", ignored=ignored, **counts)
    if roles.weight and roles.weight in frame and _looks_like_counts(frame[roles.weight]):
        return Structure("aggregated_cells",
                         f"Aggregated cells: each row summarises one group ('{roles.unit}') in one period "
                         f"('{roles.time}') with its count in '{roles.weight}'; {n_units} groups x {n_periods} "
                         f"periods.{adopt} The panel designs fit: they compare the groups' changes over time.",
                         fits, n, row_noun="group-period cells", ignored=ignored, **counts)
    return Structure("panel", f"Panel: {n_units} units ('{roles.unit}') x {n_periods} periods ('{roles.time}'), "
                     f"one row per unit and period.{adopt} The panel designs fit: they compare each unit with "
                     "itself over time.", fits, n, row_noun="unit-periods", ignored=ignored, **counts)


def _looks_like_counts(col: pd.Series) -> bool:
    """Whole numbers, mostly above 1: the weight column counts the members of each cell."""
    w = pd.to_numeric(col, errors="coerce").dropna()
    return bool(w.size) and bool(np.all(np.mod(w, 1) == 0)) and float((w > 1).mean()) > 0.5


def _design_list(structure: Structure) -> str:
    names = [DESIGN_NAMES.get(d, d) for d in structure.fits if d != WRAPPER_DESIGN]
    return " or ".join(names)


def structure_caution(spec: registry.MethodSpec, data: Dataset | pd.DataFrame | str, roles: Roles,
                      structure: Structure | None = None) -> str:
    """Why this method's number is not comparable on data of this structure ("" when its design fits)."""
    if spec.design in (WRAPPER_DESIGN, "panel", "time_series") or not roles.time:
        # no time role: a cross-section, where every design that can run fits; the panel and time-series
        # designs read the layout themselves (a layout they cannot use is refused, see _known_failure)
        return ""
    structure = structure or data_structure(data, roles)
    if spec.design in structure.fits:
        return ""
    return (f"Not comparable with the {_design_list(structure)} designs: {spec.id} treats the "
            f"{structure.n_rows:,} {structure.row_noun} as independent observations and ignores "
            f"{structure.ignored or 'how the rows relate'}, so its number answers a different question.")


def _known_failure(spec: registry.MethodSpec, structure: Structure, roles: Roles) -> tuple[str, tuple[str, ...]] | None:
    """A data condition of the design that this structure is already known to break: (reason, unlock)."""
    if spec.design == "time_series" and structure.several_rows_per_period:
        series = (f"{structure.n_units} series (one per '{roles.unit}')" if structure.n_units
                  else "several rows in each period")
        one_date = structure.n_units and not structure.staggered and not structure.n_never_treated
        unlock = (("analyse the average series: option aggregate='mean' (--param aggregate=mean)",) if one_date
                  else ("filter the data to one unit",
                        "use a panel design: it uses the other units as comparisons"))
        why = "" if one_date else "; their average has no single intervention date either, because units start " \
                                  "treatment at different times or not at all"
        return f"an interrupted time series needs one series, the data have {series}{why}", unlock
    if spec.design == "panel" and structure.kind == "time_series":
        return ("needs several units observed over time; the data are a single series",
                ("set unit to a column with several units",))
    if spec.requires.one_treated_unit and (structure.n_treated_units or 0) > 1:
        return (f"builds a comparison for one treated unit; {structure.n_treated_units} units are treated here",
                ("keep one treated unit and the untreated units (filter the data, or option treated_unit=NAME "
                 "with --param)", "use staggered_did for several treated units"))
    return None


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


def _fit_to_structure(choice: Choice, spec: registry.MethodSpec, structure: Structure, roles: Roles) -> Choice:
    """A runnable choice is refused when its data condition fails here, else marked recommended or cautioned."""
    base = dict(choice.__dict__, structure=structure.description)
    if not choice.runnable:
        return Choice(**base | {"recommended": False})
    failure = _known_failure(spec, structure, roles)
    if failure:
        return Choice(**base | {"runnable": False, "recommended": False, "reason": failure[0],
                               "unlock": failure[1]})
    caution = structure_caution(spec, None, roles, structure) if roles.time else ""
    return Choice(**base | {"recommended": not caution, "caution": caution})


def select(data: Dataset | pd.DataFrame | str, roles: Roles) -> list[Choice]:
    """Every registered method with whether it can run and why, and whether its design fits the data's
    structure (``recommended``; ``caution`` says why not). Runnable first."""
    dataset = as_dataset(data)
    structure = data_structure(dataset, roles)
    choices = [_fit_to_structure(_check(spec, dataset, roles), spec, structure, roles)
               for spec in registry.methods()]
    return sorted(choices, key=lambda c: (not c.runnable, c.method))
