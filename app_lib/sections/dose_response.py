"""Results section of dose_response: the curve as a table (with download), the bandwidth, and the
most profitable dose when a cost per unit was given."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st


def curve_table(result: dict[str, Any]) -> pd.DataFrame:
    rows = [{"dose": b.get("dose"), "average outcome": b.get("estimate"), "std. error": b.get("std_error"),
             "ci lower": b.get("ci_lower"), "ci upper": b.get("ci_upper")} for b in result.get("by", [])]
    return pd.DataFrame(rows)


def render(result: dict[str, Any], analysis: dict[str, Any]) -> None:
    diag = result.get("diagnostics", {})
    st.markdown(f"**Dose-response.** {result.get('estimand_label', '').capitalize()}: "
                f"{result.get('estimate', float('nan')):.4g} (interval {result.get('ci_lower', float('nan')):.4g} "
                f"to {result.get('ci_upper', float('nan')):.4g}).")
    if diag.get("curve") == "dr":
        st.caption(f"Doubly robust kernel curve (Kennedy et al. 2017): bandwidth {diag.get('bandwidth', 0):.3g} dose "
                   f"units ({diag.get('bandwidth_choice', '')}); the covariate-adjusted weights carry the "
                   f"information of {diag.get('effective_sample_size_ratio', 0):.0%} of the rows.")
    else:
        st.caption("Generalized propensity score curve (Hirano & Imbens 2004) with bootstrap intervals.")
    table = curve_table(result)
    st.dataframe(table, hide_index=True)
    st.download_button("Download the curve (CSV)", table.to_csv(index=False).encode(), "dose_response_curve.csv",
                       "text/csv", key=f"dose_curve_{result.get('method')}")
    opt = diag.get("optimal_dose")
    if opt:
        st.markdown(f"**Most profitable dose: {opt['dose']:.3g}** (interval {opt['ci_lower']:.3g} to "
                    f"{opt['ci_upper']:.3g}). At that dose each unit earns {opt['net_value']:.4g} after a cost of "
                    f"{opt['cost_per_unit']:g} per unit of dose (interval {opt['net_value_ci_lower']:.4g} to "
                    f"{opt['net_value_ci_upper']:.4g}).")
        st.caption(f"Searched between {opt['search_range'][0]:.3g} and {opt['search_range'][1]:.3g} (5th to 95th "
                   f"percentile of the dose); interval of the best dose: {opt['uncertainty']}."
                   + (" The best dose is at the edge of the range searched: the optimum may lie outside the doses "
                      "observed." if opt.get("at_edge_of_search") else ""))
