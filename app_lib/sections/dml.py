"""Results-page section of dml: which model was fitted, how well the nuisance models predict held-out
rows, and how much the estimate moves between fold splits."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app_lib.ui import fmt
from cqox_core.export import neutralise_formulas

MODEL_WORDS = {"irm": "the interactive model (outcome models per group and a propensity model)",
               "plr": "the partially linear model (one effect, the covariates' influence learned flexibly)",
               "pliv": "the partially linear instrumental-variable model"}


def render(result: dict[str, Any], analysis: dict[str, Any]) -> None:
    d = result.get("diagnostics", {})
    nuis = d.get("nuisance")
    if not nuis:
        return
    st.write(f"Fitted with {MODEL_WORDS.get(d.get('model'), d.get('model'))}: "
             f"{d.get('estimand_label', '')}.")
    models = pd.DataFrame([{"model": name, **q} for name, q in nuis.get("models", {}).items()])
    st.markdown("**How well the helper models predict rows they did not see**")
    st.write(f"The outcome model explains {fmt(nuis.get('outcome_r2'), 2)} of the outcome's variation on "
             "held-out rows (R²; below 0 means worse than the average)"
             + (f", and the propensity model separates treated from untreated with AUC "
                f"{fmt(nuis.get('propensity_auc'), 2)} (0.5 is a coin flip, near 1 leaves no one to compare)."
                if nuis.get("propensity_auc") is not None else "."))
    st.dataframe(models, hide_index=True)
    st.download_button("Table (CSV)", neutralise_formulas(models).to_csv(index=False),
                       file_name="dml_nuisance.csv", mime="text/csv", key="dml-nuisance")
    from app_lib.sections._cate import fairness_block

    fairness_block(d.get("fairness"), "dml")
    splits = d.get("estimates_by_split") or []
    if len(splits) > 1:
        st.write(f"Across {len(splits)} random fold splits the estimate ranged from {fmt(min(splits))} to "
                 f"{fmt(max(splits))}; the reported number is their median and its standard error includes "
                 "this spread.")
