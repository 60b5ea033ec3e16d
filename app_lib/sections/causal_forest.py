"""Results-page section of causal_forest: the shared heterogeneity view, and what the forest splits on."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app_lib.sections._cate import render as render_cate
from app_lib.ui import fmt
from cqox_core.export import neutralise_formulas


def render(result: dict[str, Any], analysis: dict[str, Any]) -> None:
    render_cate(result, analysis)
    d = result.get("diagnostics", {})
    importance = pd.DataFrame(d.get("forest_importance", []))
    if not importance.empty:
        first = importance.iloc[0]
        st.markdown("**What the forest splits on**")
        st.write(f"'{first['covariate']}' accounts for {fmt(100 * first['importance'], 2)}% of the forest's "
                 "splits on the effect (importance weighted by depth); every person's effect comes with an "
                 f"interval, typically {fmt(d.get('interval_width_median'), 3)} wide.")
        st.dataframe(importance, hide_index=True)
        st.download_button("Table (CSV)", neutralise_formulas(importance).to_csv(index=False),
                           file_name="causal_forest_importance.csv", mime="text/csv", key="cf-importance")
