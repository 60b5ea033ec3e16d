"""Results-page section of ``proximal``: what the negative controls are assumed to be, how strongly
they track the hidden confounder, and how far the correction moved the estimate."""
from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from app_lib.ui import fmt
from cqox_core.export import neutralise_formulas


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def strength_table(d: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{"negative-control outcome": name, "first-stage F": s.get("first_stage_f"),
                          "partial R²": s.get("partial_r2"), "p-value": s.get("first_stage_p")}
                         for name, s in (d.get("proxy_strength") or {}).items()])


def render(result: dict[str, Any], analysis: dict[str, Any]) -> None:
    d = result.get("diagnostics", {})
    nce = ", ".join(d.get("negative_control_exposures", []))
    nco = ", ".join(d.get("negative_control_outcomes", []))
    st.markdown(
        f"**What this assumes, in plain words.** Something nobody measured may drive both the treatment and the "
        f"outcome. Two kinds of columns stand in for it: **{nce}**, the negative-control exposure, is taken to be "
        f"related to that hidden factor but to have no effect of its own on the outcome; **{nco}**, the "
        "negative-control outcome, is taken to be caused by the hidden factor but not by the treatment (or by "
        f"{nce}). No test on the data can confirm either; they have to be argued from how the columns arose.")
    ols, est = d.get("ols_estimate"), result.get("estimate")
    if _finite(ols) and _finite(est):
        st.markdown(f"Ordinary regression on the covariates gives {fmt(ols)}; with the hidden confounder corrected "
                    f"through the negative controls the estimate is {fmt(est)}. Adding the proxies as ordinary "
                    f"covariates gives {fmt(d.get('proxy_adjusted_ols_estimate'))}, which only partly removes the "
                    "bias: a proxy is not the confounder itself.")
    table = strength_table(d)
    if not table.empty:
        worst = d.get("min_proxy_first_stage_f")
        verdict = ("strong enough" if _finite(worst) and worst >= 10 else
                   "weak: the correction is unreliable and its interval too narrow")
        st.markdown(f"**Do the proxies track the same hidden factor?** The negative-control exposure predicts the "
                    f"negative-control outcome with first-stage F = {fmt(worst)} (10 or more is the usual bar): "
                    f"{verdict}.")
        st.dataframe(table, hide_index=True, width="stretch")
        st.download_button("Proxy strength (CSV)", neutralise_formulas(table).to_csv(index=False),
                           file_name="proximal_proxy_strength.csv", mime="text/csv", key="proximal-strength-csv")
