"""CQOx web app entry point.

The full analyst walk (upload -> mapping -> ... -> report, with login) is built
in its own issue; until then this page shows what the engine offers and points
to the command line, so `make run` starts something true.
"""
from __future__ import annotations

import streamlit as st

import cqox_core as cq
from cqox_core.registry import methods

st.set_page_config(page_title="CQOx", layout="wide")
st.title("CQOx — causal-inference workbench")
st.info("The analyst web app (upload, mapping, gates, report, login) is being built. "
        "Every estimator below already runs from the `cqox` command line and `import cqox_core`.")
st.subheader("Estimators available in this build")
st.dataframe([{"method": m.id, "title": m.title, "estimands": ", ".join(m.estimands), "what it does": m.summary}
              for m in methods()], hide_index=True, use_container_width=True)
st.caption(f"cqox_core {cq.__version__}")
