"""Go / Canary / Hold, with reason codes, and the money view.

Rules, in order (the first that fires sets the label; every code that applies
is listed):

1. any gate fails                             -> HOLD   HOLD_<GATE>
2. the confidence interval includes zero      -> HOLD   HOLD_NO_CLEAR_EFFECT
3. methods significantly disagree in sign     -> HOLD   HOLD_METHODS_DISAGREE
4. money view given and profit CI below zero  -> HOLD   HOLD_UNPROFITABLE
5. any gate warns                             -> CANARY CANARY_<GATE>
6. money view given and profit CI spans zero  -> CANARY CANARY_PROFIT_UNCERTAIN
7. overall CAS below 7                        -> CANARY CANARY_LOW_ASSURANCE
8. otherwise                                  -> GO     GO_ALL_CHECKS_PASS

Go: act on it. Canary: roll out to a small share first and measure.
Hold: do not act on this number yet; the codes say what to fix.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

from .cas import CAS
from .results import EffectResult, to_jsonable

Label = Literal["GO", "CANARY", "HOLD"]


@dataclass(frozen=True)
class Money:
    """Expected profit per treated unit: effect x value_per_unit - cost_per_treated."""

    value_per_unit: float
    cost_per_treated: float
    profit_per_treated: float
    profit_ci_lower: float
    profit_ci_upper: float
    treated_units: int | None = None
    total_profit: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self.__dict__)


@dataclass(frozen=True)
class Decision:
    label: Label
    reason_codes: tuple[str, ...]
    explanation: str
    money: Money | None = None
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({"label": self.label, "reason_codes": list(self.reason_codes),
                            "explanation": self.explanation, "reasons": list(self.reasons),
                            "money": self.money.to_dict() if self.money else None})


def money_view(result: EffectResult, value_per_unit: float, cost_per_treated: float,
               treated_units: int | None = None) -> Money:
    """Profit per treated unit with the CI carried through the linear map."""
    lo, hi = sorted((result.ci_lower * value_per_unit, result.ci_upper * value_per_unit))
    profit = result.estimate * value_per_unit - cost_per_treated
    total = profit * treated_units if treated_units else None
    return Money(value_per_unit, cost_per_treated, profit, lo - cost_per_treated, hi - cost_per_treated,
                 treated_units, total)


def _disagree(results: Sequence[EffectResult]) -> bool:
    pos = any(r.ci_lower > 0 for r in results if math.isfinite(r.ci_lower))
    neg = any(r.ci_upper < 0 for r in results if math.isfinite(r.ci_upper))
    return pos and neg


def decide(result: EffectResult, *, cas: CAS | None = None, others: Sequence[EffectResult] = (),
           value_per_unit: float | None = None, cost_per_treated: float = 0.0,
           treated_units: int | None = None) -> Decision:
    """The decision for the headline ``result`` (``others``: the rest of the analysis)."""
    hold: list[str] = []
    canary: list[str] = []
    reasons: list[str] = []
    for gate in result.gates:
        if gate.status == "fail":
            hold.append(f"HOLD_{gate.name.upper()}")
            reasons.append(gate.message)
        elif gate.status == "warn":
            canary.append(f"CANARY_{gate.name.upper()}")
    if not (math.isfinite(result.ci_lower) and (result.ci_lower > 0 or result.ci_upper < 0)):
        hold.append("HOLD_NO_CLEAR_EFFECT")
        reasons.append("The confidence interval includes no effect, so the data do not show a clear effect.")
    if _disagree([result, *others]):
        hold.append("HOLD_METHODS_DISAGREE")
        reasons.append("Different methods find clear effects in opposite directions.")
    money = None
    if value_per_unit is not None:
        money = money_view(result, value_per_unit, cost_per_treated, treated_units)
        if money.profit_ci_upper < 0:
            hold.append("HOLD_UNPROFITABLE")
            reasons.append(f"Even the optimistic end of the interval loses money "
                           f"({money.profit_ci_upper:.2f} per treated unit).")
        elif money.profit_ci_lower < 0:
            canary.append("CANARY_PROFIT_UNCERTAIN")
    if cas is not None and cas.overall < 7:
        canary.append("CANARY_LOW_ASSURANCE")
    if hold:
        return Decision("HOLD", tuple(hold + canary), "Do not act on this number yet: " + " ".join(reasons),
                        money, tuple(reasons))
    if canary:
        warned = [g.message for g in result.gates if g.status == "warn"]
        text = ("The effect is clear but some checks only warn: roll out to a small group first and measure."
                + (" " + " ".join(warned) if warned else ""))
        return Decision("CANARY", tuple(canary), text, money, tuple(warned))
    return Decision("GO", ("GO_ALL_CHECKS_PASS",),
                    "The effect is clear, every check passes and the assurance score is high.", money)
