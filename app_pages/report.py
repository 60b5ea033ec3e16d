"""Step 8: decision (Go / Canary / Hold), money view, downloads, save and share."""
from __future__ import annotations

import hashlib
import json

import streamlit as st

from app_lib import auth, state
from app_lib.access import guard
from app_lib.decision_view import decision_for, default_for, show
from app_lib.ui import show_error
from cqox_core import observability
from cqox_core.domain_profiles import profile
from cqox_core.errors import CQOxError
from cqox_core.report import html_report, python_script, results_csv
from cqox_core.store import StoreError

user = guard("report")
analysis = state.require_analysis()
st.title("Decision & report")
head = analysis.get("headline")
if not head:
    st.error("No method produced an estimate, so there is nothing to decide. See the errors on the Results page.")
    st.stop()

domain = st.session_state.get("domain_override", analysis.get("domain", {}).get("name", "other"))
p = profile(domain)
default = default_for(analysis, domain)
with st.expander("Which direction is good", expanded=True):
    labels = {"default": f"Default: {default.better} is better", "higher": "Higher is better",
              "lower": "Lower is better"}
    choice = st.radio("Which direction of the outcome is good?", list(labels), format_func=labels.get,
                      horizontal=True, key="decision_better",
                      help="GO needs the whole confidence interval on the good side of zero; a clear effect on "
                           "the other side is HOLD_HARMFUL.")
    st.text(default.reason)  # text only: it quotes a column name from the uploaded file
    min_text = st.text_input("Minimum effect of interest (optional)", "", key="decision_min_effect",
                             help="The smallest improvement that matters, in outcome units (a positive number, "
                                  "read in the good direction). A clear effect whose interval lies below it is "
                                  "CANARY_BELOW_MIN_EFFECT.")
try:
    min_effect = float(min_text) if min_text.strip() else None
except ValueError:
    st.error(f"'{min_text}' is not a number; no minimum effect is used.")
    min_effect = None
better = None if choice == "default" else choice
with st.expander("Money view", expanded=True):
    st.caption(p.value_hint)
    c1, c2 = st.columns(2)
    value_text = c1.text_input("Value of one unit of improvement of the outcome", "" if p.value_per_unit is None
                               else f"{p.value_per_unit:g}",
                               help="One unit more when higher is better, one unit less when lower is better. "
                                    "Leave empty to decide on the effect alone.")
    cost = c2.number_input("Cost per treated unit", value=0.0, min_value=0.0, step=1.0)
try:
    value = float(value_text) if value_text.strip() else None
except ValueError:
    st.error(f"'{value_text}' is not a number; the money view is off.")
    value = None
try:
    decision = decision_for(analysis, value, cost, better=better, min_effect=min_effect, domain=domain)
except CQOxError as exc:
    show_error(exc.to_dict()["error"], "The decision settings are not usable")
    min_effect = None
    decision = decision_for(analysis, value, cost, better=better, domain=domain)
show(decision, head)
final = {**analysis, "decision": decision,
         "params": {**analysis.get("params", {}), "value_per_unit": value, "cost_per_treated": cost,
                    "better": better, "min_effect": min_effect}}


@st.cache_data(show_spinner=False, max_entries=8)
def _report(digest: str, _analysis: dict) -> str:
    return html_report(_analysis)


digest = hashlib.sha256(json.dumps(final, sort_keys=True).encode()).hexdigest()
st.subheader("Downloads")


def _audit(kind: str) -> None:
    auth.store().audit(user, "export", kind=kind, sha256=analysis.get("sha256"))


c = st.columns(3)
c[0].download_button("HTML report", lambda: _report(digest, final), file_name="cqox_report.html", mime="text/html",
                     on_click=_audit, args=("html",), key="dl-html")
c[1].download_button("Results (CSV)", results_csv(final), file_name="cqox_results.csv", mime="text/csv",
                     on_click=_audit, args=("csv",), key="dl-csv")
c[2].download_button("Python script", python_script(final), file_name="reproduce_cqox.py", mime="text/x-python",
                     on_click=_audit, args=("script",), key="dl-script")

st.subheader("Save and share")
name = st.text_input("Name", value=f"{analysis.get('source', 'analysis')} — {head}")
share = st.checkbox("Anyone logged in with the link may open it (read-only)", value=True)
if st.button("Save analysis", type="primary"):
    store = auth.store()
    try:
        analysis_id = store.save_analysis(user, name, final, sha256=analysis.get("sha256"),
                                          source=analysis.get("source"), shared=share)
        store.audit(user, "share" if share else "save", analysis_id=analysis_id, name=name)
        st.session_state["last_saved"] = analysis_id
    except StoreError as exc:  # disk full, database away: this analysis stays on screen, try again later
        observability.record_error(exc.code, where="save")
        show_error(exc.to_dict()["error"], "The analysis was not saved")
if st.session_state.get("last_saved"):
    link = f"/saved?analysis={st.session_state['last_saved']}"
    st.success(f"Saved. Link: [{link}]({link})")
    st.code(link, language=None)
