"""Step 5: every estimate in one table, a forest plot, a sentence per result, disagreement flagged."""
from __future__ import annotations

import math

import streamlit as st

from app_lib import state
from app_lib.access import guard
from app_lib.sections import section
from app_lib.ui import figure, fmt, show_error
from cqox_core.report import results_frame, sentence
from cqox_core.visuals import forest_plot

guard("results")
analysis = state.require_analysis()
st.title("Results")
results = analysis["results"]
head = analysis.get("headline")
if head:
    st.markdown(f"**Headline ({head}):** {sentence(results[head])}")

table = results_frame(analysis)
st.dataframe(table, hide_index=True, width="stretch",
             column_config={c: st.column_config.NumberColumn(format="%.4g") for c in
                            ("estimate", "std_error", "ci_lower", "ci_upper", "p_value")})

spec = forest_plot(results)
if spec:
    figure(spec, "results-forest")

# disagreement: an estimate outside another method's interval
finite = {m: r for m, r in results.items() if all(isinstance(r.get(k), (int, float)) and math.isfinite(r[k])
                                                  for k in ("estimate", "ci_lower", "ci_upper"))}
clashes = [(a, b) for a in finite for b in finite if a < b and not (
    finite[b]["ci_lower"] <= finite[a]["estimate"] <= finite[b]["ci_upper"]
    or finite[a]["ci_lower"] <= finite[b]["estimate"] <= finite[a]["ci_upper"])]
if clashes:
    st.warning("Some methods disagree: " + "; ".join(
        f"{a} ({fmt(finite[a]['estimate'])}) lies outside {b}'s interval and vice versa" for a, b in clashes)
        + ". Methods rely on different assumptions: regression on the outcome model, weighting and matching "
          "on the propensity model, AIPW on either. Check which one's gates fail on the Gates page.")
elif len(finite) > 1:
    st.success(f"All {len(finite)} methods agree: each estimate lies inside the other methods' intervals.")

st.subheader("In plain words")
for method, r in results.items():
    with st.container(border=True):
        st.markdown(f"**{method}** ({r['estimand'].upper()}): {sentence(r)}")
        st.caption(f"Standard error: {r.get('se_method', '')}. n = {r['n_obs']:,}.")
        for w in r.get("warnings", []):
            st.caption(f":material/info: {w}")
        if (extra := section(method)) is not None:
            extra(r, analysis)
for method, err in analysis.get("errors", {}).items():
    show_error(err, f"{method} could not run")
st.page_link("app_pages/gates.py", label="Next: can you trust them? (gates)", icon=":material/arrow_forward:")
