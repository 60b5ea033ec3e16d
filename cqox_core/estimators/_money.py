"""The money view of the policy methods (dose_response, ope, policy_learning): a gain in outcome
units, valued and costed, as expected profit and ROI with an interval.

The conventions are decision.py's money view (:func:`cqox_core.decision.money_view`): the gain
is read in the good direction (``better``: the user's, or decision's default for the outcome's
name), ``value_per_unit`` is the value of one unit of improvement, costs are known constants, and
the interval of the gain is carried through the linear map. ROI = profit / cost, defined only when
the cost is positive.
"""
from __future__ import annotations

import math
from typing import Any

from ..decision import Direction, resolve_direction
from ..errors import MethodError
from ..inference import wald


def check_money(value_per_unit: float | None, cost: float | None, cost_name: str) -> None:
    """Finite numbers, value positive, cost not negative (else a typed error naming the parameter)."""
    for name, v, positive in (("value_per_unit", value_per_unit, True), (cost_name, cost, False)):
        if v is None:
            continue
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))
        if not ok or (positive and float(v) <= 0) or (not positive and float(v) < 0):
            need = "a positive number" if positive else "a number of zero or more"
            raise MethodError(f"{name} must be {need}, got {v!r}.",
                              f"Give it in money per unit, e.g. --param {name}=2.5.", code="E-METHOD-005")


def direction_for(better: str | None, outcome: str | None) -> Direction:
    """decision.py's direction: the user's when given, else the default for the outcome's name."""
    return resolve_direction(better, outcome)


def profit_view(gain: float, gain_se: float, *, value_per_unit: float, cost: float, direction: Direction,
                alpha: float, units: str = "per unit") -> dict[str, Any]:
    """Profit = improvement x value - cost, its Wald interval, and ROI = profit / cost.

    ``gain`` is in outcome units (signed as estimated); the improvement is ``direction.sign * gain``.
    The cost is a known constant, so the profit's SE is value x SE(gain)."""
    improvement = direction.sign * gain
    profit = improvement * value_per_unit - cost
    se = abs(value_per_unit) * gain_se
    lo, hi, p = wald(profit, se, alpha)
    out: dict[str, Any] = {"better": direction.better, "direction_source": direction.source,
                           "value_per_unit": value_per_unit, "cost": cost, "units": units,
                           "improvement": improvement, "profit": profit, "profit_std_error": se,
                           "profit_ci_lower": lo, "profit_ci_upper": hi, "profit_p_value": p}
    if cost > 0:
        out.update(roi=profit / cost, roi_ci_lower=lo / cost if math.isfinite(lo) else math.nan,
                   roi_ci_upper=hi / cost if math.isfinite(hi) else math.nan)
    else:
        out.update(roi=math.nan, roi_ci_lower=math.nan, roi_ci_upper=math.nan)
    return out


def profit_sentence(view: dict[str, Any], what: str) -> str:
    """Plain language first: what it earns per unit, then the interval and ROI."""
    level = "interval"
    text = (f"{what} earns {view['profit']:.4g} {view['units']} after costs ({level} "
            f"{view['profit_ci_lower']:.4g} to {view['profit_ci_upper']:.4g})")
    if math.isfinite(view.get("roi", math.nan)):
        text += f", a return of {view['roi']:.0%} on what it costs"
    return text + "."
