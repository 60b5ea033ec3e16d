"""Step 4: which estimators fit, why the others do not, options, and the run."""
from __future__ import annotations

import json

import streamlit as st

import cqox_core as cq
from app_lib import auth, compute, params, state
from app_lib.access import guard
from app_lib.ui import show_error
from cqox_core.analysis import assemble
from cqox_core.domain_profiles import order_methods
from cqox_core.errors import CQOxError
from cqox_core.runner import run_methods
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

if choices and choices[0].get("structure"):
    # the structure sentence names the user's columns: plain text, never Markdown or HTML
    st.text(choices[0]["structure"])
st.subheader(f"{len(runnable)} can run with these roles")
selected: list[str] = []
overrides: dict[str, dict] = {}
by_id = {c["method"]: c for c in choices}
for method in runnable:
    c = by_id[method]
    # pre-selected: a battery method whose design fits the data's structure
    default_on = cq.registry.get(method).battery and c.get("recommended", True)
    with st.container(border=True):
        on = st.checkbox(f"**{c['title']}** (`{method}`)", value=default_on, key=f"use-{method}")
        st.caption(cq.registry.get(method).summary)
        st.text(f"Why it can run: {c['reason']}.")
        if c.get("caution"):
            st.text(f"Not pre-selected. {c['caution']}")
        if c.get("unlock"):
            st.text("To strengthen it: " + "; ".join(c["unlock"]))
        with st.expander("Options"):
            overrides[method] = params.widgets(method, runnable)
    if on:
        selected.append(method)

if blocked:
    st.subheader(f"{len(blocked)} need something else")
    for c in blocked:
        # reasons and unlocks name the user's columns: plain text (st.text), never Markdown or HTML
        st.markdown(f":gray[**{c['title']}** (`{c['method']}`)]")
        st.text(f"{c['reason']}. Unlock: {'; '.join(c['unlock']) or '—'}")

run = st.button(f"Run {len(selected)} estimator(s)", type="primary", disabled=not selected)
if run:
    progress = st.progress(0.0, text="Starting…")
    compute_seconds: dict[str, float] = {}  # the original computation's time, also on a cache hit

    def estimate_one(method: str, use: str, kw: dict) -> cq.EffectResult:
        """One cached estimate; a cached failure is raised again as the typed error it was."""
        out = compute.run_method(ds.sha256, method, state.roles_json(roles), use, json.dumps(kw, sort_keys=True),
                                 round(1 - alpha, 4), seed, compute.method_version(method), _dataset=ds)
        compute_seconds[method] = out["elapsed"]
        if "error" in out:
            raise CQOxError(out["error"]["message"], out["error"].get("hint", ""), code=out["error"]["code"])
        return cq.EffectResult.from_dict(out["result"])

    with st.status(f"Running {len(selected)} estimators…", expanded=True) as status:
        def on_progress(method: str, finished: int, total: int, what: str, detail) -> None:
            if what == "running":
                progress.progress(finished / total, text=f"Running {method} ({finished + 1} of {total})…")
            elif what == "failed":
                st.write(f":material/cancel: {method}: {detail['message']}")
            else:
                st.write(f":material/check_circle: {method}: {detail.summary()}")

        run = run_methods(ds, roles, selected, estimand=estimand, alpha=round(1 - alpha, 4), seed=seed,
                          params=overrides, on_progress=on_progress, estimate_one=estimate_one)
        results, errors, elapsed = run.results, run.errors, run.elapsed | compute_seconds
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
