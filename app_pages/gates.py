"""Step 6: every gate with its metric, threshold, meaning and next step; diagnostic plots; CAS radar."""
from __future__ import annotations

import streamlit as st

from app_lib import robustness, state
from app_lib.access import guard
from app_lib.ui import figure, gate_table
from cqox_core.visuals import balance_plot, cas_radar, overlap_plot, weight_plot

guard("gates")
analysis = state.require_analysis()
st.title("Gates")
st.caption("Each gate checks one assumption the estimate relies on, using this data. Pass: fine. Warn: read "
           "the note. Fail: do not act on that estimate until it is fixed.")
results = analysis["results"]
methods = list(results)
head = analysis.get("headline")
method = st.selectbox("Method", methods, index=methods.index(head) if head in methods else 0)
r = results[method]
counts = {s: sum(g["status"] == s for g in r["gates"]) for s in ("pass", "warn", "fail")}
c = st.columns(4)
c[0].metric("Pass", counts["pass"])
c[1].metric("Warn", counts["warn"])
c[2].metric("Fail", counts["fail"])
cas = analysis.get("cas", {}).get(method)
if cas:
    c[3].metric("Causal Assurance Score", f"{cas['overall']:.1f} / 10",
                help="0.35 validity + 0.20 precision + 0.25 robustness + 0.10 interpretability + "
                     "0.10 scalability; each 0-10 and computed from this analysis (see README).")
gate_table(r["gates"])
sens = r.get("sensitivity") or {}
for key in ("e_value_text", "robustness_text"):
    if sens.get(key):
        st.info(sens[key])
# sensitivity contour and paragraph; refuters and the specification curve on request (they rerun the page)
robustness.render(method, analysis)

st.subheader("Diagnostic plots")
for builder, name in ((balance_plot, "balance"), (overlap_plot, "overlap"), (weight_plot, "weights")):
    spec = builder(r)
    if spec:
        figure(spec, f"gates-{name}-{method}")
if cas:
    spec = cas_radar(cas, method)
    if spec:
        figure(spec, f"gates-cas-{method}")
        with st.expander("How each component was computed"):
            for k, v in cas.get("explanation", {}).items():
                st.markdown(f"- **{k}** ({cas[k]:.1f}): {v}")
st.page_link("app_pages/visuals.py", label="Next: visuals", icon=":material/arrow_forward:")
