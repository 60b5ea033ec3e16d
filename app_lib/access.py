"""Which role may open which page, checked on every page (not only at the entry point)."""
from __future__ import annotations

import streamlit as st

ANALYST = ("admin", "analyst")
EVERYONE = ("admin", "analyst", "viewer")

#: page key -> (title, url path, roles allowed)
PAGES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "home": ("Home", "home", EVERYONE),
    "upload": ("Upload", "upload", ANALYST),
    "mapping": ("Mapping", "mapping", ANALYST),
    "domain": ("Domain", "domain", ANALYST),
    "estimators": ("Estimators", "estimators", ANALYST),
    "results": ("Results", "results", ANALYST),
    "gates": ("Gates", "gates", ANALYST),
    "visuals": ("Visuals", "visuals", ANALYST),
    "report": ("Decision & report", "report", ANALYST),
    "saved": ("Saved analyses", "saved", EVERYONE),
    "admin": ("Admin", "admin", ("admin",)),
}


def allowed(page: str, role: str | None) -> bool:
    return role is not None and role in PAGES[page][2]


def guard(page: str) -> str:
    """Stop the page unless the logged-in user's role may open it. Returns the username."""
    user = st.session_state.get("username")
    role = st.session_state.get("cqox_role")
    if not user:
        st.warning("Please log in first.")
        st.stop()
    if not allowed(page, role):
        title = PAGES[page][0]
        st.error(f"Your role ({role}) cannot open {title}. "
                 + ("Viewers can open analyses shared with them under Saved analyses."
                    if role == "viewer" else "Ask an admin for access."))
        st.stop()
    return user
