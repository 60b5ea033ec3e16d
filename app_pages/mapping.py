"""Step 2: the inferred role of every column, with confidence and reason; edit and see what changes."""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

import cqox_core as cq
from app_lib import compute, state
from app_lib.access import guard

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


def pick(label: str, role: str, help_text: str) -> str | None:
    value = getattr(current, role)
    options = [NONE, *columns]
    choice = st.selectbox(label, options, index=options.index(value) if value in columns else 0, help=help_text,
                          key=f"role-{role}")
    return None if choice == NONE else choice


c1, c2 = st.columns(2)
with c1:
    outcome = pick("Outcome", "outcome", "The result you want to explain, measured after treatment.")
    treatment = pick("Treatment", "treatment", "Who received the intervention (0/1, yes/no, two labels).")
    covariates = st.multiselect(
        "Covariates (measured before treatment)", [c for c in columns if c not in (outcome, treatment)],
        default=[c for c in current.covariates if c in columns and c not in (outcome, treatment)],
        help="Characteristics that influence both who is treated and the outcome. Never include anything "
             "measured after treatment.", key="role-covariates")
with c2:
    with st.expander("Design roles (panels, instruments, thresholds, clusters)",
                     expanded=any(getattr(current, r) for r in ("unit", "time", "running", "instrument"))):
        unit = pick("Unit id", "unit", "Identifies each unit observed repeatedly (panel data).")
        time_col = pick("Time", "time", "Period of each observation (panel data).")
        cohort = pick("Cohort (first treated period)", "cohort", "0 means never treated.")
        cluster = pick("Cluster", "cluster", "Groups that share shocks (school, region): standard errors "
                                             "allow for correlation within them.")
        weight = pick("Sampling weight", "weight", "Survey or frequency weights.")
        instrument = st.multiselect("Instrument(s)", columns, default=[c for c in current.instrument if c in columns],
                                    help="Shifts treatment but affects the outcome only through it. This cannot be "
                                         "verified from the data.", key="role-instrument")
        running = pick("Running variable", "running", "The score whose threshold decides treatment.")
        cutoff_text = st.text_input("Cutoff", "" if current.cutoff is None else f"{current.cutoff:g}",
                                    help="The threshold of the running variable.", key="role-cutoff")

try:
    cutoff = float(cutoff_text) if cutoff_text.strip() else None
except ValueError:
    st.error(f"The cutoff '{cutoff_text}' is not a number; it was ignored.")
    cutoff = None
edited = cq.Roles(outcome=outcome, treatment=treatment, covariates=tuple(covariates), unit=unit, time=time_col,
                  cohort=cohort, cluster=cluster, weight=weight, instrument=tuple(instrument), running=running,
                  cutoff=cutoff, treated_value=current.treated_value if treatment == current.treatment else None)
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
