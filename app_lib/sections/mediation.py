"""Results-page section of ``mediation``: the effect split into its direct and indirect parts,
the sensitivity value rho, other mediators, and the assumptions in plain words."""
from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from app_lib.ui import fmt
from cqox_core.export import neutralise_formulas

LABELS = {"acme": "Indirect effect (ACME): through the mediator", "ade": "Direct effect (ADE): not through it",
          "total": "Total effect", "proportion_mediated": "Share of the total through the mediator"}


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def parts_table(effects: dict[str, dict[str, Any]]) -> pd.DataFrame:
    rows = [{"part": LABELS.get(k, k), "estimate": e.get("estimate"), "ci_lower": e.get("ci_lower"),
             "ci_upper": e.get("ci_upper"), "p_value": e.get("p_value")}
            for k, e in effects.items() if k in LABELS]
    return pd.DataFrame(rows)


def split_sentence(result: dict[str, Any]) -> str:
    d, roles = result.get("diagnostics", {}), result.get("roles", {})
    effects = d.get("effects", {})
    acme, ade, total = (effects.get(k, {}).get("estimate") for k in ("acme", "ade", "total"))
    share = effects.get("proportion_mediated", {}).get("estimate")
    if not all(_finite(v) for v in (acme, ade, total)):
        return "The effect could not be split into direct and indirect parts on this data."
    text = (f"Of the total effect of {roles.get('treatment', 'the treatment')} on {roles.get('outcome', 'the outcome')} "
            f"({fmt(total)}), {fmt(acme)} passes through **{d.get('mediator')}** (the indirect effect) and "
            f"{fmt(ade)} does not (the direct effect)")
    if _finite(share) and total != 0:
        text += f": about {share:.0%} of the total runs through the mediator"
    return text + "."


def render_sensitivity(d: dict[str, Any]) -> None:
    rho = d.get("rho_at_zero")
    if not _finite(rho):
        if d.get("sensitivity_note"):
            st.caption(d["sensitivity_note"])
        return
    r2 = d.get("r2_product_at_zero")
    st.markdown(
        f"**How fragile is the indirect effect?** It would vanish if something unmeasured drove both the mediator "
        f"and the outcome enough to make their unexplained variation correlate by **rho = {rho:.2f}**; for "
        f"example, a hidden factor explaining {math.sqrt(r2):.0%} of the unexplained variation of each "
        f"(the product of the two shares is rho² = {r2:.2f}). Values of rho near 0 mean a weak confounder would "
        "suffice; values near ±1 mean it would have to be very strong (Imai, Keele & Yamamoto 2010).")


def render_others(d: dict[str, Any]) -> None:
    others = d.get("other_mediators") or {}
    if not others:
        return
    rows = [{"mediator": name, **{k: o["effects"][k]["estimate"] for k in ("acme", "ade", "proportion_mediated")},
             "acme_ci_lower": o["effects"]["acme"]["ci_lower"], "acme_ci_upper": o["effects"]["acme"]["ci_upper"],
             "rho_at_zero": o.get("rho_at_zero")} for name, o in others.items()]
    table = pd.DataFrame(rows)
    st.markdown("**Other mediators, one at a time.** Each row is the same analysis with another mediator; the "
                "indirect effects add up only if the mediators do not affect one another.")
    st.dataframe(table, hide_index=True, width="stretch")
    st.download_button("Other mediators (CSV)", neutralise_formulas(table).to_csv(index=False),
                       file_name="mediation_other_mediators.csv", mime="text/csv", key="mediation-others-csv")


def render(result: dict[str, Any], analysis: dict[str, Any]) -> None:
    d = result.get("diagnostics", {})
    st.markdown(split_sentence(result))
    table = parts_table(d.get("effects", {}))
    if not table.empty:
        level = int(round(100 * (1 - result.get("alpha", 0.05))))
        st.caption(f"Each part with its {level}% interval (percentiles of {d.get('n_sims')} simulation draws). "
                   "The headline number is the indirect effect.")
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.4g")
                                    for c in ("estimate", "ci_lower", "ci_upper", "p_value")})
        st.download_button("Direct and indirect effects (CSV)", neutralise_formulas(table).to_csv(index=False),
                           file_name="mediation_effects.csv", mime="text/csv", key="mediation-effects-csv")
    effects = d.get("effects", {})
    if d.get("interaction") and "acme_treated" in effects:
        st.caption(f"With the interaction the indirect effect differs by group: {fmt(effects['acme_treated']['estimate'])}"
                   f" for the treated, {fmt(effects['acme_control']['estimate'])} for the untreated.")
    render_sensitivity(d)
    render_others(d)
    st.caption("What this assumes, in plain words: the treatment is as good as random given the covariates, and "
               "so is the mediator given the treatment and the covariates: nothing unmeasured may affect both the "
               "mediator and the outcome. The second part is not guaranteed even in a randomised experiment, "
               "which is why the fragility value above matters.")
