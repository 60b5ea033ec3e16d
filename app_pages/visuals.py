"""Step 7: the figures of this analysis, each with its caption and downloads."""
from __future__ import annotations

import streamlit as st

from app_lib import state
from app_lib.access import guard
from app_lib.ui import figure
from cqox_core.visuals import figures_for_analysis

guard("visuals")
analysis = state.require_analysis()
st.title("Visuals")
specs = figures_for_analysis(analysis)
st.caption(f"{len(specs)} figures for this analysis. Each can be downloaded as interactive HTML and its data "
           "as CSV.")
for i, spec in enumerate(specs):
    with st.container(border=True):
        figure(spec, f"visuals-{i}-{spec.name}")
st.page_link("app_pages/report.py", label="Next: decision and report", icon=":material/arrow_forward:")
