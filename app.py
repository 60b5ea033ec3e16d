"""CQOx web app: st.navigation over app_pages/, login, role checks, sidebar state.

Every page is registered on every run (hidden while logged out) so a deep link
such as /gates opened before login lands on /gates after it
(shared/BROWSER_TESTS.md). The folder is app_pages/ rather than pages/ so that
Streamlit's legacy multipage discovery never routes around st.navigation.
"""
from __future__ import annotations

import streamlit as st

from app_lib import auth
from app_lib.access import PAGES, allowed

st.set_page_config(page_title="CQOx", page_icon=":material/insights:", layout="wide")

ICONS = {"home": ":material/home:", "upload": ":material/upload:", "mapping": ":material/table:", "domain": ":material/category:",
         "estimators": ":material/play_arrow:", "results": ":material/bar_chart:", "gates": ":material/verified:",
         "visuals": ":material/monitoring:", "report": ":material/description:", "saved": ":material/bookmark:",
         "admin": ":material/admin_panel_settings:"}

# Navigation first, login form after it (shared/BROWSER_TESTS.md): drawing the form before
# st.navigation makes Streamlit drop a deep link such as /gates on the rerun after login.
user = st.session_state.get("username") if st.session_state.get("authentication_status") else None
role = st.session_state.get("cqox_role") if user else None
if role is None:  # a cookie login whose run was cut short (a component's rerun) before the role was read
    user = None  # finish it below, then rebuild the navigation for the role (the st.rerun after login)


def page(key: str) -> st.Page:
    title, path, _ = PAGES[key]
    # while logged out every page stays registered and visible to the router (the sidebar is hidden
    # anyway), so a deep link survives the login; afterwards pages the role may not open are hidden
    visible = allowed(key, role) if user else True
    return st.Page(f"app_pages/{key}.py", title=title, url_path=path, icon=ICONS[key],
                   default=(key == "home"), visibility="visible" if visible else "hidden")


sections = {
    "": [page("home")],
    "Analysis": [page(k) for k in ("upload", "mapping", "domain", "estimators", "results", "gates", "visuals",
                                   "report")],
    "Workspace": [page("saved"), page("admin")],
}
nav = st.navigation(sections, position="sidebar" if user else "hidden")

logged_in = auth.login()
if not logged_in:
    st.caption("CQOx — did it cause the change, by how much, and can you trust it? Log in to continue.")
    st.stop()
if not user:
    # logged in during this run: rebuild the navigation for the user's role. The rerun can drop this
    # run's cookie component before the browser writes it, so the next run writes the cookie again.
    st.session_state["cqox_write_cookie"] = True
    st.rerun()
if st.session_state.pop("cqox_write_cookie", False):
    st.session_state["cqox_authenticator"].cookie_controller.set_cookie()
user = logged_in
role = st.session_state.get("cqox_role")

with st.sidebar:
    st.markdown(f"**{user}** · {role}")
    ds = st.session_state.get("dataset")
    if ds is not None:
        st.caption(f"Data: {ds.source} · {ds.n_rows:,} rows × {ds.n_cols} columns")
    if "analysis" in st.session_state:
        st.caption(f"{len(st.session_state['analysis'].get('results', {}))} estimates computed")
    auth.logout_button()

# a shared link (?analysis=<id>) opens the saved analysis from any page
if "analysis" in st.query_params and nav.url_path != "saved":
    st.switch_page("app_pages/saved.py", query_params={"analysis": st.query_params["analysis"]})

nav.run()
