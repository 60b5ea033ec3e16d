"""Results section of policy_learning: the rule in words, its out-of-sample value against treating
everyone and no one (table with download), the money view."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

NAMES = {"learned_vs_none": "learned rule vs treating no one", "treat_all_vs_none": "treating everyone vs no one",
         "learned_vs_all": "learned rule vs treating everyone"}


def render(result: dict[str, Any], analysis: dict[str, Any]) -> None:
    diag = result.get("diagnostics", {})
    rules = diag.get("rule_text") or ["treat no one"]
    st.markdown("**Whom to treat.** " + "; ".join(rules) + f" ({diag.get('treated_share_rule', 0):.0%} of units).")
    rows = [{"comparison": NAMES.get(b["label"], b["label"]), "gain per unit": b.get("estimate"),
             "std. error": b.get("std_error"), "ci lower": b.get("ci_lower"), "ci upper": b.get("ci_upper")}
            for b in result.get("by", [])]
    table = pd.DataFrame(rows)
    st.markdown(f"Out of sample, the rule earns {result.get('estimate', float('nan')):.4g} per unit more than "
                f"treating no one (interval {result.get('ci_lower', float('nan')):.4g} to "
                f"{result.get('ci_upper', float('nan')):.4g}).")
    st.dataframe(table, hide_index=True)
    st.download_button("Download the comparison (CSV)", table.to_csv(index=False).encode(), "policy_value.csv",
                       "text/csv", key="policy_value_table")
    st.caption(f"Rule: a depth-{diag.get('depth', 2)} tree on doubly robust scores ({diag.get('approximation', '')}); "
               "its value is measured on folds it was not learned on.")
    money = diag.get("money")
    if money:
        st.markdown(f"**Money view.** Net profit {money['profit_per_unit']:.4g} per unit of the population "
                    f"(interval {money['profit_ci_lower']:.4g} to {money['profit_ci_upper']:.4g}) for a spend of "
                    f"{money['cost_per_unit_of_population']:.4g}: a return of {money['roi']:.0%}.")
