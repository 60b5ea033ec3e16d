"""Home: what CQOx does, the walk, and where this session stands."""
from __future__ import annotations

import streamlit as st

from app_lib.access import allowed, guard

guard("home")
role = st.session_state.get("cqox_role")
st.title("CQOx")
st.markdown("**Did it cause the change, by how much, and can you trust it?** Upload a table, check which "
            "column plays which part, and CQOx runs the estimators your data can support, checks each one's "
            "assumptions against the data, and proposes a decision you can defend.")
steps = [("upload", "Upload a file or pick a demo dataset"), ("mapping", "Check the column roles"),
         ("domain", "Confirm the domain"), ("estimators", "Choose and run estimators"),
         ("results", "Compare the estimates"), ("gates", "Review the gates"), ("visuals", "Look at the figures"),
         ("report", "Decide, download, save and share")]
for i, (key, text) in enumerate(steps, 1):
    if allowed(key, role):
        st.page_link(f"app_pages/{key}.py", label=f"{i}. {text}", icon=":material/arrow_right:")
st.page_link("app_pages/saved.py", label="Saved analyses", icon=":material/bookmark:")
if role == "viewer":
    st.info("As a viewer you can open analyses that analysts have shared with you (Saved analyses).")
ds = st.session_state.get("dataset")
if ds is not None:
    st.caption(f"Current data: {ds.source} ({ds.n_rows:,} rows).")
