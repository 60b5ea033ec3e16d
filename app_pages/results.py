"""Step 5: every estimate in one table, a forest plot per group of comparable estimates (same estimand,
same design family), a sentence per result, disagreement within a group flagged in one short summary."""
from __future__ import annotations

import streamlit as st

from app_lib import state
from app_lib.access import guard
from app_lib.sections import section
from app_lib.ui import figure, show_error
from cqox_core.comparison import compare
from cqox_core.report import results_frame, sentence
from cqox_core.visuals import forest_plots

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

fits = (analysis.get("structure") or {}).get("fits")  # designs that fit the data's layout
for i, spec in enumerate(forest_plots(results, head, fits)):
    figure(spec, "results-forest" if i == 0 else f"results-{spec.name}")

# agreement is checked only among estimates of the same estimand and design family, in one short summary
comparison = compare(results, head, fits)
if comparison.disagree:
    st.warning(comparison.summary)
elif len(comparison.groups) > 1:
    st.info(comparison.summary)
elif comparison.summary:
    st.success(comparison.summary)

st.subheader("In plain words")
for method, r in results.items():
    with st.container(border=True):
        st.markdown(f"**{method}** ({r.get('estimand_label') or r['estimand'].upper()}): {sentence(r)}")
        st.caption(f"Standard error: {r.get('se_method', '')}. n = {r['n_obs']:,}.")
        for w in r.get("warnings", []):
            st.caption(f":material/info: {w}")
        if (extra := section(method)) is not None:
            extra(r, analysis)
for method, err in analysis.get("errors", {}).items():
    show_error(err, f"{method} could not run")
st.page_link("app_pages/gates.py", label="Next: can you trust them? (gates)", icon=":material/arrow_forward:")
