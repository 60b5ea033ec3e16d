"""Step 3: detected domain with its evidence; the user may override it."""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

import cqox_core as cq
from app_lib import compute, state
from app_lib.access import guard
from cqox_core.domain_profiles import PROFILES, profile

guard("domain")
ds = state.require_dataset()
state.require_roles()
st.title("Domain")
info = compute.infer(ds.sha256, json.dumps(cq.Roles().to_dict()), _dataset=ds)
detected = info["domain"]
st.markdown(f"Detected: **{detected['name']}** (confidence {detected['confidence']:.0%}).")
if detected["evidence"]:
    st.markdown("Evidence:\n" + "\n".join(f"- {e}" for e in detected["evidence"]))
else:
    st.caption("No column or value pointed clearly to a field.")
scores = detected.get("scores") or {}
if scores:
    st.bar_chart(pd.Series(scores, name="score").sort_values(ascending=False))

names = list(PROFILES)
current = st.session_state.get("domain_override", detected["name"])
choice = st.selectbox("Domain used for defaults", names, index=names.index(current) if current in names else 0,
                      help="Sets the wording of the outcome, the money view's suggested value per unit, and "
                           "which estimators lead the list. It never changes an estimate.")
st.session_state["domain_override"] = choice
p = profile(choice)
st.markdown(f"- Outcome described as: *{p.outcome_label}*\n- Value per unit: {p.value_hint}\n"
            f"- Estimators shown first: {', '.join(p.leading)}")
st.page_link("app_pages/estimators.py", label="Next: choose estimators", icon=":material/arrow_forward:")
