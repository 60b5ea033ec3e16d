"""Cached heavy steps. Keys: the upload's sha256, the roles, the parameters and
the method version; frames travel as underscore arguments so Streamlit does not
hash (or sample) them."""
from __future__ import annotations

import json
import time
from typing import Any

import streamlit as st

import cqox_core as cq
from cqox_core import registry
from cqox_core.data import Dataset
from cqox_core.errors import CQOxError


@st.cache_data(show_spinner=False, max_entries=16)
def load_bytes(sha256: str, name: str, _raw: bytes) -> Dataset:
    return cq.load(_raw, name=name)


@st.cache_data(show_spinner=False, max_entries=16)
def infer(sha256: str, fixed_json: str, _dataset: Dataset) -> dict[str, Any]:
    """Auto mapping (+ candidates for the dropdowns) and domain, as plain data."""
    mapping = cq.infer_roles(_dataset, fixed=cq.Roles.from_dict(json.loads(fixed_json)))
    domain = cq.detect_domain(_dataset, mapping.roles)
    return {"mapping": mapping.to_dict(), "roles": mapping.roles.to_dict(),
            "candidates": {k: [list(c) for c in v] for k, v in mapping.candidates.items()},
            "domain": domain.to_dict() | {"scores": dict(domain.scores)}}


@st.cache_data(show_spinner=False, max_entries=64)
def selection(sha256: str, roles_json: str, _dataset: Dataset) -> list[dict[str, Any]]:
    return [c.to_dict() for c in cq.select(_dataset, cq.Roles.from_dict(json.loads(roles_json)))]


@st.cache_data(show_spinner=False, max_entries=256)
def run_method(sha256: str, method: str, roles_json: str, estimand: str, params_json: str, alpha: float,
               seed: int, version: str, _dataset: Dataset) -> dict[str, Any]:
    """One estimate as its JSON dict, or {"error": {...}} — a failure never stops the others."""
    start = time.perf_counter()
    try:
        res = cq.estimate(method, _dataset, roles=cq.Roles.from_dict(json.loads(roles_json)), estimand=estimand,
                          alpha=alpha, seed=seed, **json.loads(params_json))
        return {"result": res.to_dict(), "elapsed": time.perf_counter() - start}
    except CQOxError as exc:
        return {"error": exc.to_dict()["error"], "elapsed": time.perf_counter() - start}


def method_version(method: str) -> str:
    return f"{cq.__version__}:{registry.get(method).version}"
