"""Step 4: which estimators fit, why the others do not, options, and the run."""
from __future__ import annotations

import json
import time

import streamlit as st

import cqox_core as cq
from app_lib import auth, compute, params, state
from app_lib.access import guard
from app_lib.ui import show_error
from cqox_core import observability
from cqox_core.analysis import NOT_IN_BATTERY, assemble
from cqox_core.domain_profiles import order_methods
from cqox_core.selection import Choice

user = guard("estimators")
ds = state.require_dataset()
roles = state.require_roles()
st.title("Estimators")
choices = compute.selection(ds.sha256, state.roles_json(roles), _dataset=ds)
info = compute.infer(ds.sha256, json.dumps(cq.Roles().to_dict()), _dataset=ds)
domain = st.session_state.get("domain_override", info["domain"]["name"])
runnable = order_methods([c["method"] for c in choices if c["runnable"]], domain)
blocked = [c for c in choices if not c["runnable"]]

c1, c2, c3 = st.columns(3)
estimand = c1.selectbox("Estimand", ["ate", "att"], format_func=lambda e: {
    "ate": "ATE — effect on everyone", "att": "ATT — effect on those treated"}[e],
    help="Methods that do not estimate the chosen quantity use their own (shown in the results).")
alpha = c2.select_slider("Confidence level", [0.90, 0.95, 0.99], value=0.95, format_func=lambda x: f"{x:.0%}")
seed = int(c3.number_input("Random seed", value=0, step=1, help="Same data, roles and seed give the same numbers."))

st.subheader(f"{len(runnable)} can run with these roles")
selected: list[str] = []
overrides: dict[str, dict] = {}
by_id = {c["method"]: c for c in choices}
for method in runnable:
    c = by_id[method]
    default_on = method not in NOT_IN_BATTERY
    with st.container(border=True):
        on = st.checkbox(f"**{c['title']}** (`{method}`)", value=default_on, key=f"use-{method}")
        st.caption(f"{cq.registry.get(method).summary} Why it fits: {c['reason']}.")
        if c.get("unlock"):
            st.caption("To strengthen it: " + "; ".join(c["unlock"]))
        with st.expander("Options"):
            overrides[method] = params.widgets(method, runnable)
    if on:
        selected.append(method)

if blocked:
    st.subheader(f"{len(blocked)} need something else")
    for c in blocked:
        st.markdown(f"<span style='color:#888'>**{c['title']}** (`{c['method']}`): {c['reason']}. "
                    f"Unlock: {'; '.join(c['unlock']) or '—'}</span>", unsafe_allow_html=True)

run = st.button(f"Run {len(selected)} estimator(s)", type="primary", disabled=not selected)
if run:
    results, errors, elapsed = {}, {}, {}
    progress = st.progress(0.0, text="Starting…")
    with st.status(f"Running {len(selected)} estimators…", expanded=True) as status:
        for i, method in enumerate(selected):
            progress.progress(i / len(selected), text=f"Running {method} ({i + 1} of {len(selected)})…")
            spec = cq.registry.get(method)
            use = estimand if estimand in spec.estimands else spec.estimands[0]
            started = time.perf_counter()
            out = compute.run_method(ds.sha256, method, state.roles_json(roles), use,
                                     json.dumps(overrides.get(method, {}), sort_keys=True), round(1 - alpha, 4),
                                     seed, compute.method_version(method), _dataset=ds)
            observability.record_run(method, "error" if "error" in out else "ok", time.perf_counter() - started,
                                     code=out.get("error", {}).get("code"))
            elapsed[method] = out["elapsed"]
            if "error" in out:
                errors[method] = out["error"]
                st.write(f":material/cancel: {method}: {out['error']['message']}")
            else:
                results[method] = cq.EffectResult.from_dict(out["result"])
                st.write(f":material/check_circle: {method}: {results[method].summary()}")
        progress.progress(1.0, text="Done")
        status.update(label=f"{len(results)} of {len(selected)} estimators finished"
                            + (f", {len(errors)} could not run" if errors else ""),
                      state="complete" if results else "error")
    analysis = assemble(ds, info["mapping"], info["domain"], roles, [Choice(**c) for c in choices], results, errors,
                        elapsed, estimand=estimand, alpha=round(1 - alpha, 4), seed=seed)
    st.session_state["analysis"] = analysis.to_dict()
    st.session_state["analysis_params"] = overrides
    auth.store().audit(user, "run", sha256=ds.sha256, methods=selected, estimand=estimand,
                       failed=sorted(errors))
    for method, err in errors.items():
        show_error(err, f"{method} could not run")
    if results:
        st.page_link("app_pages/results.py", label="See the results", icon=":material/arrow_forward:")
