"""Time, unit and cohort: the panel structure and the first-treated period.

A unit and a time that together identify each row make a panel; other row
identifiers are kept out of the covariates.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .cues import (
    COHORT_CUES,
    DURATION_WORDS,
    ID_CUES,
    OUTCOME_CUES,
    TIME_CUES,
    TIME_NEGATIVE,
    TREATMENT_CUES,
)
from .names import NameInfo, name_match
from .profile import ColumnProfile
from .state import _choose, _Scored, _State


def _time_score(p: ColumnProfile) -> _Scored | None:
    name, word = name_match(p.info, TIME_CUES, unlog=False)
    if name_match(p.info, TIME_NEGATIVE, unlog=False)[0] >= 0.5:
        name *= 0.3                       # 'yearborn', 'first_treat_year': dates of events
    if set(p.info.words) & set(DURATION_WORDS) and p.info.joined not in TIME_CUES:
        name *= 0.3
    pattern, what = _time_pattern(p, named=name > 0)
    if pattern == 0:
        return None
    why = [what] + ([f"named like time ('{word}')"] if name > 0 else [])
    return _Scored(p.name, 0.55 * name + 0.45 * pattern, why)


def _time_pattern(p: ColumnProfile, *, named: bool) -> tuple[float, str]:
    if p.kind == "datetime":
        return 1.0, "dates"
    if p.kind in ("category", "text") and p.date_share >= 0.9:
        if p.date_sortable:
            return 0.9, "date labels"
        return 0.4, "period labels that do not sort in time order as text"
    if p.kind == "binary":
        return _two_periods(p, named=named)
    if p.kind != "numeric" or not p.is_integer or p.values is None:
        return 0.0, ""
    finite = p.values[np.isfinite(p.values)]
    lo, hi = float(finite.min()), float(finite.max())
    if not named and p.unique_ratio > 0.5:
        return 0.0, ""                    # unique integers without a time name are ids or counts
    if _year_like(lo, hi, named=named):
        return 1.0, f"year-like integers ({lo:.0f}-{hi:.0f})"
    if named and lo >= 0 and hi <= 1000:
        evenly_spaced = np.unique(np.diff(np.unique(finite))).size == 1
        return (0.9 if evenly_spaced else 0.7), f"{p.n_unique} integer periods ({lo:.0f}-{hi:.0f})"
    return 0.0, ""


def _year_like(lo: float, hi: float, *, named: bool) -> bool:
    # a column named 'year' may reach back to Snow's 1849; unnamed integers need modern years
    return (1800 if named else 1900) <= lo and hi <= 2100


def _two_periods(p: ColumnProfile, *, named: bool) -> tuple[float, str]:
    """Two years (1978 and 1981, or '72 and '78 in a column named year): a before/after pair."""
    try:
        lo, hi = sorted(float(level) for level in p.levels)
    except ValueError:
        return 0.0, ""
    if not (lo.is_integer() and hi.is_integer()):
        return 0.0, ""
    if _year_like(lo, hi, named=named):
        return 1.0, f"two years ({lo:.0f} and {hi:.0f})"
    if named and 0 <= lo and hi <= 1000:
        return 0.7, f"two integer periods ({lo:.0f} and {hi:.0f})"
    return 0.0, ""


def _infer_time(state: _State) -> None:
    if state.is_fixed("time"):
        return
    scored = [s for s in (_time_score(p) for p in state.pool()) if s]
    panel_units = {s.column: _best_panel_unit(state, s.column) for s in scored}
    for s in scored:
        unit = panel_units[s.column]
        if unit is not None:
            s.score += 0.1               # a time axis that, with a unit, identifies every row
            s.why.append(f"with {unit} it identifies each row (a panel)")
    if not any(panel_units.values()):
        for s in scored:
            if _series_clock(state.profiles[s.column], state.frame):
                # one evenly spaced value per row: the clock of a single series (t = 1..108 beats
                # a year that repeats for each month)
                s.score += 0.3
                s.why.append("one evenly spaced value per row (a single time series)")
    _choose(state, "time", scored, threshold=0.45)


def _series_clock(p: ColumnProfile, frame: pd.DataFrame) -> bool:
    """One value per row at regular steps: the periods of a single series, not one time stamp per
    person. Dates may skip weekends and holidays, so most steps (not all) must be the usual one."""
    if p.unique_ratio < 0.98 or p.n_valid < 3:
        return False
    if p.kind == "datetime" or (p.kind in ("category", "text") and p.date_sortable):
        column = frame[p.name]
        stamps = (pd.to_datetime(column, errors="coerce", utc=True) if p.kind == "datetime"
                  else pd.to_datetime(column.astype(str), errors="coerce", utc=True, format="mixed"))
        steps = np.diff(np.sort(stamps.dropna().astype("int64").to_numpy()))
        if steps.size == 0:
            return False
        _, counts = np.unique(steps, return_counts=True)
        return bool(counts.max() >= 0.6 * steps.size)
    if p.kind != "numeric" or p.values is None or not p.is_integer:
        return False
    steps = np.diff(np.unique(p.values[np.isfinite(p.values)]))
    return bool(steps.size and np.all(steps == steps[0]))


def _id_name(info: NameInfo) -> tuple[float, str | None]:
    strength, word = name_match(info, ID_CUES, unlog=False)
    raw = info.joined
    if len(raw) >= 3 and raw.endswith("id") and strength < 0.7:
        strength, word = 0.7, "…id"      # sid, studyid, userid
    return strength, word


def _is_id_like_values(p: ColumnProfile) -> bool:
    if p.kind == "binary":
        # two labelled groups ('Lambeth + Others' / 'Non-Lambeth Only') can be the units of a
        # 2 x 2 panel; 0/1 codes and names of a treatment or outcome cannot
        return (not _numeric_labels(p) and name_match(p.info, TREATMENT_CUES)[0] < 0.5
                and name_match(p.info, OUTCOME_CUES)[0] < 0.5)
    if p.kind in ("constant", "empty", "datetime"):
        return False
    if p.kind == "numeric":
        return p.is_integer
    return True                           # category or text labels


def _numeric_labels(p: ColumnProfile) -> bool:
    try:
        [float(level) for level in p.levels]
    except ValueError:
        return False
    return True


def _panel_fit(state: _State, unit: str, time: str) -> bool:
    """True when (unit, time) identifies each row and units recur over time."""
    pu, pt = state.profiles[unit], state.profiles[time]
    if pu.codes is None or pt.codes is None:
        return False
    ok = (pu.codes >= 0) & (pt.codes >= 0)
    if ok.sum() < 4 or pu.n_unique < 2 or pt.n_unique < 2:
        return False
    pairs = pu.codes[ok].astype(np.int64) * (pt.n_unique + 1) + pt.codes[ok]
    duplicated_share = 1.0 - np.unique(pairs).size / ok.sum()
    rows_per_unit = ok.sum() / pu.n_unique
    # several units per period too: with one row per period (a single series) any column
    # would 'identify each row' together with the time
    rows_per_period = ok.sum() / pt.n_unique
    return duplicated_share <= 0.02 and rows_per_unit >= 1.5 and rows_per_period >= 1.5


def _best_panel_unit(state: _State, time: str) -> str | None:
    best, best_score = None, 0.0
    for p in state.pool():
        if p.name == time or not _is_id_like_values(p) or p.unique_ratio > 0.67:
            continue
        strength = _id_name(p.info)[0]
        if strength < 0.3 or not _panel_fit(state, p.name, time):
            continue
        if strength > best_score:
            best, best_score = p.name, strength
    return best


def _unit_score(state: _State, p: ColumnProfile, time: str | None) -> _Scored | None:
    if not _is_id_like_values(p):
        return None
    strength, word = _id_name(p.info)
    why = [f"named like an identifier ('{word}')"] if strength > 0 else []
    if time and _panel_fit(state, p.name, time):
        pattern = 1.0
        why.insert(0, f"with {time} it identifies each row (panel of {p.n_unique} units)")
    elif p.unique_ratio >= 0.98:
        pattern = 1.0 if strength > 0 or _is_row_number(p) else 0.4
        why.insert(0, "one distinct value per row")
    else:
        return None                       # repeated labels without time are groups (cluster)
    if strength == 0 and pattern < 1.0:
        return None
    return _Scored(p.name, 0.5 * strength + 0.5 * pattern, why)


def _is_row_number(p: ColumnProfile) -> bool:
    if p.kind != "numeric" or p.values is None or not p.is_integer:
        return False
    finite = p.values[np.isfinite(p.values)]
    return bool(np.all(np.diff(finite) > 0) or finite.max() - finite.min() + 1 == finite.size)


def _infer_unit(state: _State) -> None:
    if state.is_fixed("unit"):
        return
    time = state.column("time")
    scored = [s for s in (_unit_score(state, p, time) for p in state.pool()) if s]
    row_id = lambda name: state.profiles[name].unique_ratio >= 0.98
    # two row identifiers (seqn and id) are interchangeable, not rivals
    _choose(state, "unit", scored, threshold=0.5, same_measure=lambda a, b: row_id(a) and row_id(b))
    for s in scored:                       # other row identifiers are not covariates
        if state.free(s.column) and state.profiles[s.column].unique_ratio >= 0.98:
            state.excluded[s.column] = "an identifier (one distinct value per row), not a covariate"


def _infer_cohort(state: _State) -> None:
    if state.is_fixed("cohort"):
        return
    scored = []
    for p in state.pool("numeric"):
        strength, word = name_match(p.info, COHORT_CUES, unlog=False)
        if {"first", "treat"} <= set(p.info.words) or {"first", "treated"} <= set(p.info.words):
            strength, word = max(strength, 1.0), "first treated"
        if strength == 0 or not p.is_integer:
            continue
        pattern, what = _cohort_pattern(state, p)
        if pattern > 0:
            scored.append(_Scored(p.name, 0.5 * strength + 0.5 * pattern,
                                  [f"named like a treatment cohort ('{word}')", what]))
    _choose(state, "cohort", scored, threshold=0.6)


def _cohort_pattern(state: _State, p: ColumnProfile) -> tuple[float, str]:
    values = p.values[np.isfinite(p.values)]
    nonzero = np.unique(values[values != 0])
    if nonzero.size == 0 or nonzero.size > 50:
        return 0.0, ""
    fit, parts = 0.6, [f"{nonzero.size} start periods"]
    if (values == 0).any() or p.n_missing:
        fit += 0.2
        parts.append("0 or empty = never treated")
    unit = state.column("unit")
    if unit and _constant_within(state.profiles[unit], p):
        fit += 0.2
        parts.append(f"constant within each {unit}")
    return fit, ", ".join(parts)


def _constant_within(unit: ColumnProfile, p: ColumnProfile) -> bool:
    if unit.codes is None or p.values is None:
        return False
    frame = pd.DataFrame({"u": unit.codes, "v": p.values})
    return bool((frame[frame.u >= 0].groupby("u")["v"].nunique(dropna=False) <= 1).mean() >= 0.98)
