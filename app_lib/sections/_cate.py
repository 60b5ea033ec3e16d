"""Results-page section shared by the CATE methods (meta_learner, causal_forest): is the heterogeneity
real, who gains most and least (GATES, CLAN), which covariates modify the effect, and what targeting
would earn (Qini). Every statistic comes with a plain-language sentence; every table can be downloaded."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app_lib.ui import figure, fmt
from cqox_core.export import neutralise_formulas
from cqox_core.visuals.methods._cate_figures import figures


def _download(frame: pd.DataFrame, name: str, key: str) -> None:
    st.download_button("Table (CSV)", neutralise_formulas(frame).to_csv(index=False), file_name=f"{name}.csv",
                       mime="text/csv", key=key)


def render(result: dict[str, Any], analysis: dict[str, Any]) -> None:
    d = result.get("diagnostics", {})
    method = result.get("method", "cate")
    if "blp" not in d:
        return
    st.markdown("**Does the effect differ from person to person?**")
    st.write(d.get("heterogeneity_sentence", ""))
    blp = d["blp"]
    st.caption(f"Best linear predictor on held-out data: slope {fmt(blp.get('heterogeneity'))} "
               f"(SE {fmt(blp.get('heterogeneity_se'))}, p = {fmt(blp.get('heterogeneity_p'), 3)}); "
               "0 means the predicted differences carry no information, 1 that they are right on average.")

    gates = pd.DataFrame(d.get("gates", []))
    if not gates.empty:
        st.markdown("**Who gains most and least (sorted group effects)**")
        diff = d.get("gates_difference", {})
        st.write(f"Sorting people by their estimated effect into {len(gates)} groups, the most affected group "
                 f"gains {fmt(diff.get('estimate'))} more than the least affected (interval "
                 f"{fmt(diff.get('ci_lower'))} to {fmt(diff.get('ci_upper'))}), measured on data the model did "
                 "not see.")
        st.dataframe(gates, hide_index=True)
        _download(gates, f"gates_{method}", f"gates-{method}")

    clan = pd.DataFrame(d.get("clan", []))
    if not clan.empty:
        st.markdown("**What the most and least affected look like**")
        top = clan.iloc[0]
        st.write(f"The clearest difference between the most and the least affected group is in "
                 f"'{top['covariate']}': {fmt(top['most_affected'])} against {fmt(top['least_affected'])} on "
                 "average.")
        st.dataframe(clan, hide_index=True)
        _download(clan, f"clan_{method}", f"clan-{method}")

    modifiers = pd.DataFrame(d.get("effect_modifiers", {}).get("terms", []))
    if not modifiers.empty:
        st.markdown("**Which covariates move the effect**")
        first = modifiers.iloc[0]
        st.write(f"Holding the others fixed, one standard deviation more of '{first['covariate']}' goes with an "
                 f"estimated effect {fmt(first['per_sd'])} {'higher' if first['per_sd'] > 0 else 'lower'}.")
        st.dataframe(modifiers, hide_index=True)
        _download(modifiers, f"effect_modifiers_{method}", f"modifiers-{method}")

    up = d.get("uplift", {})
    if up:
        st.markdown("**What targeting would earn**")
        ci = up.get("qini_ci") or [None, None]
        better = up.get("qini_p") is not None and up["qini_p"] < 0.05
        st.write(("Treating the people with the largest estimated effects first earns clearly more than treating "
                  "the same number at random" if better else
                  "Targeting by the estimated effect does not clearly beat treating people at random")
                 + f" (Qini coefficient {fmt(up.get('qini'))}, interval {fmt(ci[0])} to {fmt(ci[1])}; "
                 f"area under the uplift curve {fmt(up.get('auuc'))} against {fmt(up.get('auuc_random'))} at "
                 "random).")
    fairness_block(d.get("fairness"), method)
    for i, spec in enumerate(s for s in figures(result) if s is not None):
        figure(spec, f"{method}-cate-{i}")


def fairness_block(fair: dict[str, Any] | None, method: str) -> None:
    """The effect in each group of the protected attribute and the gap, with its interval."""
    if not fair:
        return
    gap = fair["gap"]
    high, low = gap["between"]
    st.markdown(f"**Fairness: the effect by {fair['attribute']}**")
    clear = gap["ci_lower"] is not None and (gap["ci_lower"] > 0 or gap["ci_upper"] < 0)
    st.write(f"The effect is {fmt(gap['estimate'])} larger for {fair['attribute']} = {high} than for {low} "
             f"(interval {fmt(gap['ci_lower'])} to {fmt(gap['ci_upper'])}): "
             + ("a clear difference between the groups." if clear else
                "the data do not show a clear difference between the groups."))
    table = pd.DataFrame(fair["groups"])
    st.dataframe(table, hide_index=True)
    _download(table, f"fairness_{method}", f"fairness-{method}")
