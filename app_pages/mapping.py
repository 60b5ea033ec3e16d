"""Step 2: the inferred role of every column, with confidence and reason; edit and see what changes."""
from __future__ import annotations

import dataclasses
import json

import pandas as pd
import streamlit as st

import cqox_core as cq
from app_lib import compute, state
from app_lib.access import guard
from cqox_core.roles import MULTI_ROLES, ROLE_INFO, SINGLE_ROLES, VALUE_ROLES

guard("mapping")
ds = state.require_dataset()
st.title("Column roles")
st.caption("CQOx guessed which column plays which part from names and values. Check every role: the "
           "estimates are only as good as this mapping.")

with st.spinner("Inferring roles…"):
    info = compute.infer(ds.sha256, json.dumps(cq.Roles().to_dict()), _dataset=ds)
auto = cq.Roles.from_dict(info["roles"])
current = state.roles() or auto
columns = [str(c) for c in ds.frame.columns]
NONE = "(none)"
ROLE_FIELDS = [f.name for f in dataclasses.fields(cq.Roles) if f.name in ROLE_INFO]
assert set(ROLE_FIELDS) == set(SINGLE_ROLES + MULTI_ROLES + VALUE_ROLES)


def pick(role: str) -> str | None:
    info = ROLE_INFO[role]
    value = getattr(current, role)
    options = [NONE, *columns]
    choice = st.selectbox(info.label, options, index=options.index(value) if value in columns else 0,
                          help=info.help[0].upper() + info.help[1:] + ".", key=f"role-{role}")
    return None if choice == NONE else choice


def pick_many(role: str, exclude: tuple[str | None, ...] = ()) -> tuple[str, ...]:
    info = ROLE_INFO[role]
    options = [c for c in columns if c not in exclude]
    return tuple(st.multiselect(info.label, options, default=[c for c in getattr(current, role) if c in options],
                                help=info.help[0].upper() + info.help[1:] + ".", key=f"role-{role}"))


def pick_value(role: str) -> str:
    info = ROLE_INFO[role]
    value = getattr(current, role)
    shown = "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
    return st.text_input(info.label, shown, help=info.help[0].upper() + info.help[1:] + ".", key=f"role-{role}")


def draw(role: str, chosen: dict) -> None:
    """One widget per role, its kind from the Roles field (a column, several columns, or a value)."""
    if role in MULTI_ROLES:
        chosen[role] = pick_many(role, exclude=(chosen.get("outcome"), chosen.get("treatment"))
                                 if role == "covariates" else ())
    elif role in VALUE_ROLES:
        chosen[role] = pick_value(role)
    else:
        chosen[role] = pick(role)


# every role of the Roles type gets a widget, grouped as ROLE_INFO says, so a role the registry's
# methods need (mediator, site, lat, lon, exposure ...) can always be set here
groups = {g: [r for r in ROLE_FIELDS if ROLE_INFO[r].group == g] for g in ("main", "design", "advanced")}
chosen: dict = {}
c1, c2 = st.columns(2)
with c1:
    for role in groups["main"]:
        draw(role, chosen)
with c2:
    with st.expander("Design roles (panels, instruments, thresholds, clusters)",
                     expanded=any(getattr(current, r) for r in ("unit", "time", "running", "instrument"))):
        for role in groups["design"]:
            draw(role, chosen)
    with st.expander("Advanced roles (mediator, transport target, geography, network exposure)",
                     expanded=any(getattr(current, r) for r in groups["advanced"] if r != "treated_value")):
        for role in groups["advanced"]:
            draw(role, chosen)

values: dict = {}
for role in VALUE_ROLES:
    text = chosen.pop(role).strip()
    if not text:
        values[role] = None
    elif role == "cutoff":
        try:
            values[role] = float(text)
        except ValueError:
            st.error(f"The cutoff '{text}' is not a number; it was ignored.")
            values[role] = None
    else:
        values[role] = text
if chosen.get("treatment") != current.treatment and values["treated_value"] == current.treated_value:
    values["treated_value"] = None  # the treated value belonged to the previous treatment column
edited = cq.Roles(**chosen, **values)
if edited != cq.Roles.from_dict(st.session_state.get("roles") or {}) or "roles" not in st.session_state:
    state.set_roles(edited)

# what the edits unlock or remove, compared with the automatic mapping
before = {c["method"] for c in compute.selection(ds.sha256, state.roles_json(auto), _dataset=ds) if c["runnable"]}
after_choices = compute.selection(ds.sha256, state.roles_json(edited), _dataset=ds)
after = {c["method"] for c in after_choices if c["runnable"]}
if after - before:
    st.success("Your changes unlock: " + ", ".join(sorted(after - before)))
if before - after:
    st.warning("Your changes remove: " + ", ".join(sorted(before - after)))
st.caption(f"{len(after)} estimators can run with these roles. See the Estimators page for why the others cannot.")

st.subheader("Every column")
mapping = info["mapping"]
role_of: dict[str, list[str]] = {}
for role, value in edited.to_dict().items():
    for col in (value if isinstance(value, list) else [value]):
        if isinstance(col, str) and col in columns:
            role_of.setdefault(col, []).append(role)
rows = []
for col in columns:
    roles_here = role_of.get(col, [])
    auto_roles = [r for r, v in auto.to_dict().items() if v == col or (isinstance(v, list) and col in v)]
    changed = sorted(roles_here) != sorted(auto_roles)
    main = roles_here[0] if roles_here else ""
    rows.append({"column": col, "role": ", ".join(roles_here) or "—",
                 "confidence": None if changed or not main else mapping["confidence"].get(main),
                 "why": ("set by you" if changed else mapping["reasons"].get(main, "")) if main else
                 mapping["excluded"].get(col, "not used")})
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
             column_config={"confidence": st.column_config.ProgressColumn("confidence", min_value=0, max_value=1,
                                                                          format="%.2f")})
if mapping["excluded"]:
    with st.expander(f"{len(mapping['excluded'])} columns kept out of the covariates on purpose"):
        st.dataframe(pd.DataFrame({"column": list(mapping["excluded"]), "why": list(mapping["excluded"].values())}),
                     hide_index=True, width="stretch")
st.page_link("app_pages/domain.py", label="Next: domain", icon=":material/arrow_forward:")
