"""Long panel data (one row per unit and period) for the quasi-experimental designs.

`prepare_panel` validates unit/time/treatment/outcome roles once (missing
roles, non-0/1 treatment, duplicate unit-periods, a single period), so every
panel method reports those problems with the same codes; design-specific checks
(always-treated units, no comparison group) live with each design.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from .data import Dataset
from .errors import RoleError
from .prep import numeric_outcome
from .roles import Roles


@dataclass(frozen=True)
class Panel:
    """Complete-case long panel with columns y, d, unit, time (+ covariates), sorted by unit, time.

    ``first_treated`` maps each unit to its first treated period (0 for never
    treated); ``periods`` are the sorted distinct time values.
    """

    frame: pd.DataFrame
    periods: np.ndarray
    first_treated: pd.Series
    covariates: tuple[str, ...]
    balanced: bool
    n_dropped: int
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_units(self) -> int:
        return int(self.first_treated.size)

    @property
    def never_treated(self) -> np.ndarray:
        return self.first_treated.index[self.first_treated == 0].to_numpy()

    @property
    def staggered(self) -> bool:
        return self.first_treated[self.first_treated > 0].nunique() > 1


def _time_values(col: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(col):
        return col.astype(float)
    parsed = pd.to_datetime(col, errors="coerce")
    if parsed.notna().mean() < 0.9:
        raise RoleError(f"The time column '{name}' is neither numbers nor dates.",
                        "Use a year/period number or a date column for time.", code="E-ROLE-013")
    return parsed


def prepare_panel(data: Dataset, roles: Roles, *, need_treatment: bool = True) -> Panel:
    """Validate and tidy a long panel. Treatment must be 0/1 per unit-period; the
    first treated period comes from ``roles.cohort`` (0 = never) when set, else
    from the first period with treatment 1."""
    roles.require("outcome", "unit", "time", *(["treatment"] if need_treatment else []))
    roles.check_columns(data.frame)
    src = data.frame
    cols = {"y": numeric_outcome(src, roles.outcome), "unit": src[roles.unit],
            "time": _time_values(src[roles.time], roles.time)}
    if need_treatment:
        d = pd.to_numeric(src[roles.treatment], errors="coerce")
        bad = d.dropna()[~d.dropna().isin([0, 1])]
        if len(bad):
            raise RoleError(f"The treatment '{roles.treatment}' must be 0/1 in each unit-period; found "
                            f"{bad.iloc[0]!r}.", "Code treated unit-periods as 1 and the others as 0.",
                            code="E-ROLE-014")
        cols["d"] = d
    for c in roles.covariates:
        cols[c] = src[c]
    if roles.cohort:
        cols["cohort"] = pd.to_numeric(src[roles.cohort], errors="coerce")
    frame = pd.DataFrame(cols)  # built at once: adding columns one by one fragments the frame
    complete = frame.notna().all(axis=1)
    n_dropped = int((~complete).sum())
    frame = frame.loc[complete].sort_values(["unit", "time"]).reset_index(drop=True)
    warnings = []
    if n_dropped:
        warnings.append(f"{n_dropped} unit-period rows with missing values were left out.")
    if frame.duplicated(["unit", "time"]).any():
        example = frame.loc[frame.duplicated(["unit", "time"]), ["unit", "time"]].iloc[0]
        raise RoleError(f"Unit '{example.unit}' appears more than once in period {example.time}.",
                        "Give one row per unit and period (aggregate first), or choose the right unit column.",
                        code="E-ROLE-015")
    periods = np.sort(frame["time"].unique())
    if periods.size < 2:
        raise RoleError("The data have a single period: a panel design needs before and after.",
                        "Choose the right time column.", code="E-ROLE-016")
    counts = frame.groupby("unit").size()
    balanced = bool((counts == periods.size).all())
    if not balanced:
        warnings.append(f"The panel is unbalanced: {int((counts < periods.size).sum())} of {counts.size} units "
                        "are missing some periods.")
    if "cohort" in frame:
        first = frame.groupby("unit")["cohort"].first()
    elif need_treatment:
        treated_times = frame.loc[frame["d"] == 1].groupby("unit")["time"].min()
        first = treated_times.reindex(counts.index).fillna(0)
    else:
        first = pd.Series(0.0, index=counts.index)
    return Panel(frame=frame, periods=periods, first_treated=first, covariates=roles.covariates,
                 balanced=balanced, n_dropped=n_dropped, warnings=tuple(warnings))


def check_outcome_and_treatment(data: Dataset, roles: Roles, needed: Sequence[str]) -> None:
    """The contract's codes for missing roles, an all-missing outcome and a constant treatment."""
    roles.require(*needed)
    roles.check_columns(data.frame)
    frame = data.frame
    if numeric_outcome(frame, roles.outcome).notna().sum() == 0:
        raise RoleError(f"The outcome '{roles.outcome}' is missing in every row.",
                        "Choose an outcome column that has values.", code="E-ROLE-004")
    levels = frame[roles.treatment].dropna().unique()
    if len(levels) < 2:
        raise RoleError(f"The treatment '{roles.treatment}' has a single value "
                        f"({levels[0] if len(levels) else 'none'}): there is no one to compare with.",
                        "Choose a treatment column that is 1 in treated periods and 0 in the others.",
                        code="E-ROLE-003")
