"""Results-page section of ``transport``: the study's own effect against the target population's,
the three estimators side by side, how well the study covers the target, and the assumptions."""
from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from app_lib.ui import fmt
from cqox_core.export import neutralise_formulas

NAMES = {"iosw": "Weighting the study like the target (IOSW)",
         "outcome_model": "Predicting target units from the study's outcome models",
         "dr": "Doubly robust combination (headline)"}


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def estimates_table(result: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{"estimator": NAMES.get(b["label"], b["label"]), "estimate": b.get("estimate"),
                          "std_error": b.get("std_error"), "ci_lower": b.get("ci_lower"),
                          "ci_upper": b.get("ci_upper")} for b in result.get("by", []) if b.get("label") in NAMES])


def render(result: dict[str, Any], analysis: dict[str, Any]) -> None:
    d = result.get("diagnostics", {})
    src, est = d.get("source_ate"), result.get("estimate")
    if _finite(src) and _finite(est):
        st.markdown(f"In the study sample ({d.get('n_study', 0):,} rows) the average effect is {fmt(src)}; carried "
                    f"over to the target population ({d.get('n_target', 0):,} rows described by their covariates) "
                    f"it is **{fmt(est)}**. The two differ when something that changes the effect is more common "
                    "in one population than in the other.")
    table = estimates_table(result)
    if not table.empty:
        st.caption("Three ways to transport the effect. Weighting relies on the model of who is in which "
                   "population; prediction relies on the outcome models; the doubly robust estimate needs only one "
                   "of the two to be right. Close agreement is reassuring.")
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.4g")
                                    for c in ("estimate", "std_error", "ci_lower", "ci_upper")})
        st.download_button("Transported estimates (CSV)", neutralise_formulas(table).to_csv(index=False),
                           file_name="transport_estimates.csv", mime="text/csv", key="transport-estimates-csv")
    share = d.get("site_overlap_share")
    if _finite(share):
        st.markdown(f"**Does the study cover the target?** {share:.0%} of the target population resembles someone in "
                    "the study (its estimated chance of belonging to the target lies within the range seen among "
                    "study units). For the rest, the answer is extrapolated.")
    outside = {k: v for k, v in (d.get("share_outside_study_range") or {}).items() if _finite(v) and v > 0}
    if outside:
        worst = max(outside, key=outside.get)
        st.caption(f"Largest gap: {outside[worst]:.0%} of target rows have '{worst}' outside the range seen in the "
                   "study.")
    st.caption(f"What this assumes, in plain words: {d.get('assumptions', '')}")
