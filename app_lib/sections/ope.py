"""Results section of ope: the four estimates of the target policy's value as a table (with
download), the comparison with the logging policy, the weights and the money view."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

NAMES = {"ips": "IPS (reweighting)", "snips": "self-normalised IPS", "dm": "direct method (reward model)",
         "dr": "doubly robust (headline)"}


def render(result: dict[str, Any], analysis: dict[str, Any]) -> None:
    diag = result.get("diagnostics", {})
    rows = [{"estimator": NAMES.get(b["label"], b["label"]), "value": b.get("estimate"),
             "std. error": b.get("std_error"), "ci lower": b.get("ci_lower"), "ci upper": b.get("ci_upper")}
            for b in result.get("by", [])]
    table = pd.DataFrame(rows)
    gain = diag.get("improvement_over_logging", {})
    st.markdown(f"**Off-policy evaluation.** Had the target policy chosen the actions, the average reward would "
                f"have been about {result.get('estimate', float('nan')):.4g} per round (interval "
                f"{result.get('ci_lower', float('nan')):.4g} to {result.get('ci_upper', float('nan')):.4g}); the "
                f"logged policy earned {diag.get('logging_policy_value', float('nan')):.4g}, a difference of "
                f"{gain.get('estimate', float('nan')):.4g} (interval {gain.get('ci_lower', float('nan')):.4g} to "
                f"{gain.get('ci_upper', float('nan')):.4g}).")
    st.dataframe(table, hide_index=True)
    st.download_button("Download the estimates (CSV)", table.to_csv(index=False).encode(), "ope_estimates.csv",
                       "text/csv", key="ope_estimates")
    st.caption(f"The target policy agrees with the logged action in {diag.get('match_share', 0):.0%} of rounds; "
               f"those rounds carry the information of {diag.get('effective_sample_size', 0):.0f} equally weighted "
               f"ones. Logging probabilities: {diag.get('propensity_source', '')}.")
    money = diag.get("money")
    if money:
        st.markdown(f"**Money view.** Switching to the target policy earns {money['profit']:.4g} {money['units']} "
                    f"after costs (interval {money['profit_ci_lower']:.4g} to {money['profit_ci_upper']:.4g}).")
