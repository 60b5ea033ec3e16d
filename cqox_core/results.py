"""Result types: EffectResult and Gate (frozen, JSON-friendly).

``EffectResult.to_dict()`` is exactly the CLI's ``estimate --json`` object
(CLI_CONTRACT.md); keys may be added, never renamed.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

GateStatus = Literal["pass", "warn", "fail"]

#: What each estimand is the effect on, in words; a method whose number describes another population
#: (after trimming, within a caliper, at a cutoff) sets its own ``estimand_label``.
ESTIMAND_LABELS = {
    "ate": "ATE: everyone in the data",
    "att": "ATT: treated units",
    "atc": "ATC: untreated units",
    "late": "LATE: compliers (units whose treatment the instrument changes)",
}


def default_estimand_label(estimand: str) -> str:
    """The plain-language label of an estimand when the method says nothing more specific."""
    return ESTIMAND_LABELS.get(str(estimand).lower(), str(estimand).upper())


def to_jsonable(value: Any) -> Any:
    """Numbers as plain JSON numbers, NaN/inf as None, containers recursively."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (np.ndarray, pd.Series, pd.Index)):
        return [to_jsonable(v) for v in np.asarray(value).tolist()]
    if hasattr(value, "to_dict") and callable(value.to_dict) and not isinstance(value, pd.DataFrame):
        return to_jsonable(value.to_dict())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


@dataclass(frozen=True)
class Gate:
    """A named check of one diagnostic against a threshold."""

    name: str
    status: GateStatus
    metric: float | None
    threshold: float | None
    message: str
    next_step: str = ""

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(dataclasses.asdict(self))


@dataclass(frozen=True)
class EffectResult:
    """One estimate with its uncertainty, diagnostics, gates and sensitivity."""

    method: str
    estimand: str
    estimate: float
    std_error: float
    ci_lower: float
    ci_upper: float
    alpha: float
    p_value: float
    n_obs: int
    diagnostics: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    by: tuple["EffectResult | SubEstimate", ...] = ()
    sensitivity: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    roles: dict[str, Any] = field(default_factory=dict)
    gates: tuple[Gate, ...] = ()
    se_method: str = ""
    #: In words, what the number is the effect on ("effect at the cutoff", "ATT: treated units" ...);
    #: ``estimand`` stays the short code.
    estimand_label: str = ""
    #: Per-row effects of a CATE method (a DataFrame: row, effect[, ci_lower, ci_upper], one row per input
    #: row in input order), written by ``cqox estimate --effects-out``. Not part of to_dict(): the JSON stays
    #: small and a saved analysis does not carry the rows.
    row_effects: Any = field(default=None, compare=False, repr=False)

    def replace(self, **changes: Any) -> "EffectResult":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({
            "method": self.method, "estimand": self.estimand, "estimand_label": self.estimand_label,
            "estimate": self.estimate, "std_error": self.std_error,
            "ci_lower": self.ci_lower, "ci_upper": self.ci_upper, "alpha": self.alpha,
            "p_value": self.p_value, "n_obs": self.n_obs,
            "roles": self.roles, "diagnostics": self.diagnostics,
            "gates": [g.to_dict() for g in self.gates],
            "sensitivity": self.sensitivity, "warnings": list(self.warnings),
            "by": [b.to_dict() for b in self.by],
            "params": self.params, "se_method": self.se_method,
        })

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EffectResult":
        """Inverse of :meth:`to_dict` (JSON nulls become NaN), for saved analyses."""
        def num(x: Any) -> float:
            return math.nan if x is None else float(x)

        return cls(method=d["method"], estimand=d["estimand"], estimate=num(d["estimate"]),
                   std_error=num(d["std_error"]), ci_lower=num(d["ci_lower"]), ci_upper=num(d["ci_upper"]),
                   alpha=float(d["alpha"]), p_value=num(d["p_value"]), n_obs=int(d["n_obs"]),
                   diagnostics=dict(d.get("diagnostics", {})), warnings=tuple(d.get("warnings", ())),
                   by=tuple(SubEstimate.from_dict(b) for b in d.get("by", ())),
                   sensitivity=dict(d.get("sensitivity", {})), params=dict(d.get("params", {})),
                   roles=dict(d.get("roles", {})), gates=tuple(Gate(**g) for g in d.get("gates", ())),
                   se_method=d.get("se_method", ""), estimand_label=d.get("estimand_label", ""))

    def tidy(self) -> pd.DataFrame:
        """One row for the headline estimate plus one per sub-estimate (broom-style)."""
        rows = [{"label": "", "estimate": self.estimate, "std_error": self.std_error,
                 "ci_lower": self.ci_lower, "ci_upper": self.ci_upper, "p_value": self.p_value}]
        rows += [{k: b.to_dict().get(k) for k in rows[0]} | {"label": b.label} for b in self.by]
        frame = pd.DataFrame(rows)
        frame.insert(0, "estimand", self.estimand)
        frame.insert(0, "method", self.method)
        return frame

    def summary(self) -> str:
        lo, hi = self.ci_lower, self.ci_upper
        level = int(round(100 * (1 - self.alpha)))
        return (f"{self.method} {self.estimand.upper()}: {self.estimate:.4g} "
                f"(SE {self.std_error:.3g}; {level}% CI {lo:.4g} to {hi:.4g}; p={self.p_value:.3g}; n={self.n_obs})")


@dataclass(frozen=True)
class SubEstimate:
    """A labelled part of a result: an event time, a cell, a dose point."""

    label: str
    estimate: float
    std_error: float = math.nan
    ci_lower: float = math.nan
    ci_upper: float = math.nan
    p_value: float = math.nan
    n_obs: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SubEstimate":
        core = ("label", "estimate", "std_error", "ci_lower", "ci_upper", "p_value", "n_obs")
        vals = {k: (math.nan if d.get(k) is None and k not in ("label", "n_obs") else d.get(k)) for k in core}
        return cls(**vals, extra={k: v for k, v in d.items() if k not in core})

    def to_dict(self) -> dict[str, Any]:
        d = {"label": self.label, "estimate": self.estimate, "std_error": self.std_error,
             "ci_lower": self.ci_lower, "ci_upper": self.ci_upper, "p_value": self.p_value,
             "n_obs": self.n_obs}
        d.update(self.extra)
        return to_jsonable(d)
