"""Saved analyses: the list, and a read-only view of one opened by its link (?analysis=<id>)."""
from __future__ import annotations

import time

import streamlit as st

from app_lib import auth
from app_lib.access import guard
from app_lib.decision_view import show
from app_lib.ui import figure, gate_table, show_error
from cqox_core.errors import CQOxError
from cqox_core.report import html_report, results_frame, sentence
from cqox_core.visuals import figures_for_analysis

user = guard("saved")
role = st.session_state.get("cqox_role", "viewer")
store = auth.store()
analysis_id = st.query_params.get("analysis")

if analysis_id:
    try:
        saved = store.open_for(analysis_id, user, (role,))
    except CQOxError as exc:
        show_error(exc.to_dict()["error"], "This link cannot be opened")
        st.stop()
    a = saved.payload
    st.title(saved.name)
    st.caption(f"Saved by {saved.owner} on {time.strftime('%Y-%m-%d %H:%M', time.gmtime(saved.created_at))} UTC · "
               f"{a.get('source')} ({a.get('n_rows'):,} rows) · read-only")
    head = a.get("headline")
    if a.get("decision") and head:
        show(a["decision"], head)
        st.markdown(f"**Headline:** {sentence(a['results'][head])}")
    st.dataframe(results_frame(a), hide_index=True, width="stretch")
    for method, r in a["results"].items():
        with st.expander(f"Gates — {method}"):
            gate_table(r["gates"])
    for i, spec in enumerate(figures_for_analysis(a)):
        figure(spec, f"saved-{i}-{spec.name}")
    st.download_button("HTML report", lambda: html_report(a), file_name=f"cqox_{saved.id}.html", mime="text/html")
    st.stop()

st.title("Saved analyses")
items = store.list_analyses(None if role == "admin" else user, with_payload=False)  # the list needs no payloads
if not items:
    st.info("No saved analyses yet." + (" Run an analysis and save it on the Decision & report page."
                                        if role != "viewer" else " Ask an analyst to share one with you."))
for item in items:
    with st.container(border=True):
        st.markdown(f"**{item.name}** — by {item.owner}, "
                    f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(item.created_at))} UTC"
                    + (" · shared" if item.shared else " · private"))
        st.page_link("app_pages/saved.py", label="Open", query_params={"analysis": item.id},
                     icon=":material/open_in_new:")
