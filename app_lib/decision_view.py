"""The decision and money view, drawn the same way for a live and a saved analysis."""
from __future__ import annotations

from typing import Any

import streamlit as st

import cqox_core as cq
from cqox_core.cas import CAS
from cqox_core.decision import Direction, default_direction

COLOURS = {"GO": "green", "CANARY": "orange", "HOLD": "red"}


def headline_outcome(analysis: dict[str, Any]) -> str | None:
    head = analysis.get("headline")
    roles = (analysis.get("results", {}).get(head) or {}).get("roles") or analysis.get("roles") or {}
    return roles.get("outcome")


def default_for(analysis: dict[str, Any], domain: str | None) -> Direction:
    """The direction the decision takes when the user does not say: from the outcome and domain."""
    return default_direction(headline_outcome(analysis), domain)


def decision_for(analysis: dict[str, Any], value_per_unit: float | None, cost: float, *,
                 better: str | None = None, min_effect: float | None = None,
                 domain: str | None = None) -> dict[str, Any] | None:
    head = analysis.get("headline")
    if not head:
        return None
    results = {m: cq.EffectResult.from_dict(r) for m, r in analysis["results"].items()}
    cas = analysis.get("cas", {}).get(head)
    domain = domain if domain is not None else (analysis.get("domain") or {}).get("name")
    decision = cq.decide(results[head], cas=CAS(**cas) if cas else None, others=list(results.values()),
                         value_per_unit=value_per_unit, cost_per_treated=cost,
                         treated_units=results[head].diagnostics.get("n_treated"), better=better,
                         min_effect=min_effect, domain=domain)
    return decision.to_dict()


def show(decision: dict[str, Any], headline: str) -> None:
    colour = COLOURS.get(decision["label"], "gray")
    st.markdown(f"## :{colour}[{decision['label']}]  \nbased on **{headline}**")
    st.write(decision["explanation"])
    direction = decision.get("direction")
    if direction:
        who = "you said" if direction.get("source") == "user" else "default"
        # text only: the reason quotes a column name from the user's file
        st.text(f"Good direction: {direction['better']} is better ({who}). {direction.get('reason', '')}")
    if decision.get("min_effect") is not None:
        st.text(f"Minimum effect of interest: {decision['min_effect']:g} (in outcome units, in the good direction)")
    st.caption("Reason codes: " + ", ".join(decision["reason_codes"]))
    money = decision.get("money")
    if money:
        c = st.columns(3)
        c[0].metric("Expected profit per treated unit", f"{money['profit_per_treated']:,.2f}")
        c[1].metric("Interval", f"{money['profit_ci_lower']:,.2f} to {money['profit_ci_upper']:,.2f}")
        if money.get("total_profit") is not None:
            c[2].metric(f"Total over {money['treated_units']:,} treated", f"{money['total_profit']:,.0f}")
        st.caption("Profit = improvement × value per unit − cost per treated unit, where the improvement is the "
                   "effect in the good direction (a fall counts as a gain when lower is better); the interval "
                   "carries the effect's confidence interval through the same formula.")
