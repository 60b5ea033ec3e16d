"""Roles: which column plays which part in a causal analysis.

The idea is EconML's (Y, T, X, W, Z) made explicit and named. A Roles object is
frozen; use :meth:`Roles.replace` to derive a corrected copy.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable

import pandas as pd

from .errors import RoleError

#: Roles that name a single column.
SINGLE_ROLES: tuple[str, ...] = (
    "outcome", "treatment", "running", "unit", "time", "cohort", "mediator",
    "cluster", "weight", "site", "lat", "lon", "exposure",
)
#: Roles that name several columns.
MULTI_ROLES: tuple[str, ...] = ("covariates", "instrument")
#: Roles that hold a value rather than a column name.
VALUE_ROLES: tuple[str, ...] = ("cutoff", "treated_value")
#: Roles that each need a column of their own: what is studied (outcome) and what moves it
#: (treatment, running variable, mediator). One column in two of them compares a variable with
#: itself (an 'effect' of exactly 1). Instruments and covariates that repeat another role are
#: refused by the methods that use them, with their own codes (iv: E-EST-042/043/046; the
#: selection-on-observables family: E-ROLE-012).
DISTINCT_ROLES: tuple[str, ...] = ("outcome", "treatment", "running", "mediator")


@dataclass(frozen=True)
class RoleInfo:
    """How a role is shown: a label, what it means in plain words, and where it sits on the Mapping page."""

    label: str
    help: str
    group: str  # "main" | "design" | "advanced"


#: Every role, described once: the Mapping page's widgets, selection's "what would unlock it"
#: and the CLI's flag help all read this.
ROLE_INFO: dict[str, RoleInfo] = {
    "outcome": RoleInfo("Outcome", "the result you want to explain, measured after treatment", "main"),
    "treatment": RoleInfo("Treatment", "who received the intervention (0/1, yes/no, two labels, or a dose)", "main"),
    "covariates": RoleInfo("Covariates (measured before treatment)",
                           "characteristics measured before treatment that drive both treatment and outcome; "
                           "never anything measured after treatment", "main"),
    "instrument": RoleInfo("Instrument(s)", "a variable that shifts treatment but affects the outcome only through "
                                            "it (this cannot be verified from the data)", "design"),
    "running": RoleInfo("Running variable", "the score whose threshold decides treatment", "design"),
    "cutoff": RoleInfo("Cutoff", "the threshold of the running variable", "design"),
    "unit": RoleInfo("Unit id", "the id of each unit observed repeatedly (panel data), or the group of a "
                                "repeated cross-section", "design"),
    "time": RoleInfo("Time", "the period of each observation", "design"),
    "cohort": RoleInfo("Cohort (first treated period)", "the first treated period of each unit (0 = never)",
                       "design"),
    "cluster": RoleInfo("Cluster", "groups whose members share shocks (school, region): standard errors allow for "
                                   "correlation within them", "design"),
    "weight": RoleInfo("Sampling weight", "survey or frequency weights", "design"),
    "mediator": RoleInfo("Mediator", "a variable on the path from treatment to outcome, measured after treatment",
                         "advanced"),
    "site": RoleInfo("Target-population flag", "1 for rows of the population the effect should be transported "
                                               "to (covariates only needed there), 0 for the study sample",
                     "advanced"),
    "lat": RoleInfo("Latitude", "latitude of each unit in degrees (geographic designs)", "advanced"),
    "lon": RoleInfo("Longitude", "longitude of each unit in degrees (geographic designs)", "advanced"),
    "exposure": RoleInfo("Network exposure", "the share (or count) of each unit's neighbours that are treated",
                         "advanced"),
    "treated_value": RoleInfo("Treated value", "which value of a non-binary treatment column means treated",
                              "advanced"),
}


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(str(v) for v in value)


@dataclass(frozen=True)
class Roles:
    """Column names for each role; ``None`` (or an empty tuple) means unassigned."""

    outcome: str | None = None
    treatment: str | None = None
    covariates: tuple[str, ...] = ()
    instrument: tuple[str, ...] = ()
    running: str | None = None
    cutoff: float | None = None
    unit: str | None = None
    time: str | None = None
    cohort: str | None = None
    mediator: str | None = None
    cluster: str | None = None
    weight: str | None = None
    site: str | None = None
    lat: str | None = None
    lon: str | None = None
    exposure: str | None = None
    treated_value: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        for name in MULTI_ROLES:
            object.__setattr__(self, name, _as_tuple(getattr(self, name)))
        if self.cutoff is not None:
            try:
                object.__setattr__(self, "cutoff", float(self.cutoff))
            except (TypeError, ValueError):
                raise RoleError(f"The cutoff {self.cutoff!r} is not a number.",
                                "Give the threshold of the running variable as a number, e.g. --cutoff 50.",
                                code="E-ROLE-007") from None
        if self.treated_value is not None:
            object.__setattr__(self, "treated_value", str(self.treated_value))

    # -- derivation -------------------------------------------------------
    def replace(self, **changes: Any) -> "Roles":
        """A copy with some roles changed; ``None`` values are ignored."""
        changes = {k: v for k, v in changes.items() if v is not None}
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise RoleError(f"Unknown role(s): {', '.join(sorted(unknown))}.",
                            f"Valid roles are: {', '.join(SINGLE_ROLES + MULTI_ROLES + VALUE_ROLES)}.",
                            code="E-ROLE-008")
        return dataclasses.replace(self, **changes)

    def columns(self) -> list[str]:
        """Every column named by any role, without duplicates, in role order."""
        out: list[str] = []
        for name in SINGLE_ROLES:
            col = getattr(self, name)
            if col is not None and col not in out:
                out.append(col)
        for name in MULTI_ROLES:
            for col in getattr(self, name):
                if col not in out:
                    out.append(col)
        return out

    def assigned(self) -> set[str]:
        """Names of the roles that are set."""
        out = {n for n in SINGLE_ROLES + VALUE_ROLES if getattr(self, n) is not None}
        out |= {n for n in MULTI_ROLES if getattr(self, n)}
        return out

    def require(self, *names: str) -> None:
        """Raise E-ROLE-001 naming the first missing role."""
        for name in names:
            if name not in self.assigned():
                flag = "--" + name.replace("_", "-")
                raise RoleError(f"This method needs a {name.replace('_', ' ')} column and none is set.",
                                f"Name it with {flag} COLUMN (CLI) or Roles({name}=...).",
                                code="E-ROLE-001")

    def check_columns(self, frame: pd.DataFrame) -> None:
        """Raise E-ROLE-002 if a role names a column the frame does not have."""
        missing = [c for c in self.columns() if c not in frame.columns]
        if missing:
            sample = ", ".join(map(str, list(frame.columns)[:12]))
            raise RoleError(f"Column(s) not found in the data: {', '.join(missing)}.",
                            f"Available columns include: {sample}. Column names are case-sensitive.",
                            code="E-ROLE-002")

    def check_distinct(self) -> None:
        """Raise E-ROLE-020 naming both roles when one column is given two of DISTINCT_ROLES, or
        is both the unit and the time."""
        first: dict[str, str] = {}
        for role in DISTINCT_ROLES:
            column = getattr(self, role)
            if column is None:
                continue
            other = first.setdefault(column, role)
            if other != role:
                raise RoleError(f"Column '{column}' is both the {_role_phrase(other)} and the {_role_phrase(role)}.",
                                f"Each role needs its own column: choose a different column for the "
                                f"{_role_phrase(role)} (or for the {_role_phrase(other)}); a column compared with "
                                "itself has no causal effect to estimate.", code="E-ROLE-020")
        if self.unit is not None and self.unit == self.time:
            raise RoleError(f"Column '{self.unit}' is both the unit and the time.",
                            "Name the column that identifies units (id, state) and the one that orders periods "
                            "(year, date) separately.", code="E-ROLE-020")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in SINGLE_ROLES + VALUE_ROLES:
            out[name] = getattr(self, name)
        for name in MULTI_ROLES:
            out[name] = list(getattr(self, name))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Roles":
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in data.items() if k in known})

    def key(self) -> tuple:
        """A hashable, order-stable key for caching."""
        return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in self.to_dict().items()))


def _role_phrase(role: str) -> str:
    return "running variable" if role == "running" else role


def merge(base: Roles | None, overrides: dict[str, Any]) -> Roles:
    """Roles from ``base`` with keyword overrides (the Python API's role keywords)."""
    roles = base or Roles()
    return roles.replace(**{k: v for k, v in overrides.items() if v is not None})


def role_names() -> Iterable[str]:
    return SINGLE_ROLES + MULTI_ROLES + VALUE_ROLES
