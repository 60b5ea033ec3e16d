"""Admin: users and roles, and the audit log."""
from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from app_lib import auth
from app_lib.access import guard
from cqox_core.errors import CQOxError
from cqox_core.security import password_rule
from cqox_core.users import ROLES

user = guard("admin")
st.title("Admin")
users = auth.users()
store = auth.store()

st.subheader("Users")
st.dataframe(pd.DataFrame(users.list()), hide_index=True, width="stretch")
with st.form("add-user", clear_on_submit=True):
    st.markdown("**Add a user**")
    c = st.columns(3)
    new_name = c[0].text_input("User name")
    new_role = c[1].selectbox("Role", ROLES, index=1)
    new_password = c[2].text_input("Password", type="password", help=password_rule())
    if st.form_submit_button("Add"):
        try:
            users.add(new_name, new_password, role=new_role)
            store.audit(user, "user_add", username=new_name, role=new_role)
            st.success(f"Added {new_name} ({new_role}).")
        except CQOxError as exc:
            st.error(f"{exc.message} {exc.hint}")
names = [u["username"] for u in users.list() if u["username"] != user]
if names:
    c = st.columns(3)
    who = c[0].selectbox("User", names)
    new = c[1].selectbox("New role", ROLES, key="set-role")
    if c[1].button("Change role"):
        users.set_role(who, new)
        store.audit(user, "user_set_role", username=who, role=new)
        st.rerun()
    if c[2].button("Remove user"):
        try:
            users.remove(who)
            store.audit(user, "user_remove", username=who)
            st.rerun()
        except CQOxError as exc:
            st.error(f"{exc.message} {exc.hint}")

locks = [t for t in store.throttles() if t["locked_until"] > time.time()]
if locks:
    st.subheader("Locked logins")
    st.caption("Too many failed logins. A lock ends by itself at the time shown, or here.")
    st.dataframe(pd.DataFrame([{"locked": t["key"], "failures": t["failures"], "until (UTC)": time.strftime(
        "%H:%M:%S", time.gmtime(t["locked_until"]))} for t in locks]), hide_index=True, width="stretch")
    c = st.columns(3)
    which = c[0].selectbox("Lock", [t["key"] for t in locks])
    if c[1].button("Unlock"):
        store.clear_throttle(which)
        store.audit(user, "user_unlock", scope=which)
        st.rerun()

st.subheader("Audit log")
log = store.audit_log(limit=2000)
st.caption("Append-only: every login, failed login, logout, upload, run, export, share and user change.")
frame = pd.DataFrame([{**row, "detail": str(row["detail"])} for row in log])
st.dataframe(frame, hide_index=True, width="stretch")
if not frame.empty:
    from cqox_core.export import neutralise_formulas
    st.download_button("Audit log (CSV)", neutralise_formulas(frame).to_csv(index=False), file_name="audit.csv")
