"""The decision and money view, drawn the same way for a live and a saved analysis."""
from __future__ import annotations

from typing import Any

import streamlit as st

import cqox_core as cq
from cqox_core.cas import CAS

COLOURS = {"GO": "green", "CANARY": "orange", "HOLD": "red"}


def decision_for(analysis: dict[str, Any], value_per_unit: float | None, cost: float) -> dict[str, Any] | None:
    head = analysis.get("headline")
    if not head:
        return None
    results = {m: cq.EffectResult.from_dict(r) for m, r in analysis["results"].items()}
    cas = analysis.get("cas", {}).get(head)
    decision = cq.decide(results[head], cas=CAS(**cas) if cas else None, others=list(results.values()),
                         value_per_unit=value_per_unit, cost_per_treated=cost,
                         treated_units=results[head].diagnostics.get("n_treated"))
    return decision.to_dict()


def show(decision: dict[str, Any], headline: str) -> None:
    colour = COLOURS.get(decision["label"], "gray")
    st.markdown(f"## :{colour}[{decision['label']}]  \nbased on **{headline}**")
    st.write(decision["explanation"])
    st.caption("Reason codes: " + ", ".join(decision["reason_codes"]))
    money = decision.get("money")
    if money:
        c = st.columns(3)
        c[0].metric("Expected profit per treated unit", f"{money['profit_per_treated']:,.2f}")
        c[1].metric("Interval", f"{money['profit_ci_lower']:,.2f} to {money['profit_ci_upper']:,.2f}")
        if money.get("total_profit") is not None:
            c[2].metric(f"Total over {money['treated_units']:,} treated", f"{money['total_profit']:,.0f}")
        st.caption("Profit = effect × value per unit − cost per treated unit; the interval carries the effect's "
                   "confidence interval through the same formula.")
