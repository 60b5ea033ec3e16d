"""Session state in one place: what the walk has produced so far."""
from __future__ import annotations

import json
from typing import Any

import streamlit as st

import cqox_core as cq
from cqox_core.data import Dataset


def dataset() -> Dataset | None:
    return st.session_state.get("dataset")


def roles() -> cq.Roles | None:
    data = st.session_state.get("roles")
    return cq.Roles.from_dict(data) if data else None


def set_roles(new: cq.Roles) -> None:
    st.session_state["roles"] = new.to_dict()
    # estimates computed under other roles no longer describe this analysis
    st.session_state.pop("analysis", None)


def roles_json(r: cq.Roles) -> str:
    return json.dumps(r.to_dict(), sort_keys=True)


def analysis() -> dict[str, Any] | None:
    return st.session_state.get("analysis")


def require_dataset() -> Dataset:
    ds = dataset()
    if ds is None:
        st.info("Start by uploading a file or choosing a demo dataset.")
        st.page_link("app_pages/upload.py", label="Go to Upload", icon=":material/upload:")
        st.stop()
    return ds


def require_roles() -> cq.Roles:
    """The roles in use; the automatic mapping when the user has not visited Mapping yet."""
    r = roles()
    if r is None:
        from . import compute

        ds = require_dataset()
        info = compute.infer(ds.sha256, json.dumps(cq.Roles().to_dict()), _dataset=ds)
        r = cq.Roles.from_dict(info["roles"])
        set_roles(r)
        st.caption("Using the automatic column roles: check them on the Mapping page.")
    return r


def require_analysis() -> dict[str, Any]:
    a = analysis()
    if a is None:
        st.info("No estimates yet: choose and run estimators first.")
        st.page_link("app_pages/estimators.py", label="Go to Estimators", icon=":material/play_arrow:")
        st.stop()
    return a
