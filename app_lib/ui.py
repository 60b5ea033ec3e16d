"""Widgets shared by several pages: typed errors, gate tables, figures with downloads."""
from __future__ import annotations

import math
from typing import Any, Mapping

import pandas as pd
import streamlit as st

from cqox_core.visuals import VisualSpec, render

STATUS_ICON = {"pass": ":material/check_circle:", "warn": ":material/warning:", "fail": ":material/cancel:"}


def show_error(err: Mapping[str, str], title: str = "") -> None:
    """A typed error as the user should see it: what went wrong and what to do next."""
    st.error(f"{title + ': ' if title else ''}{err['message']}  \n**What to do:** {err.get('hint', '')}  \n"
             f"`{err['code']}`")


def fmt(x: Any, digits: int = 4) -> str:
    if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
        return f"{x:,.{digits}g}"
    return "—"


def gate_table(gates: list[Mapping[str, Any]]) -> None:
    for g in gates:
        icon = STATUS_ICON.get(g["status"], "")
        with st.container(border=True):
            st.markdown(f"{icon} **{g['name'].replace('_', ' ')}** — {g['status'].upper()} "
                        f"(metric {fmt(g.get('metric'))}, threshold {fmt(g.get('threshold'))})")
            st.write(g["message"])
            if g.get("next_step"):
                st.caption(f"Next step: {g['next_step']}")


def figure(spec: VisualSpec, key: str) -> None:
    """A Plotly chart, its plain-language caption and downloads of what is on screen."""
    fig = render(spec)
    st.plotly_chart(fig, width="stretch", key=f"chart-{key}")
    st.caption(spec.caption)
    cols = st.columns(3)
    # built only when clicked: a self-contained figure carries all of plotly.js (megabytes), and
    # building it on every rerun would make each page switch slow
    cols[0].download_button("Figure (HTML)", lambda: fig.to_html(include_plotlyjs=True),
                            file_name=f"{spec.name}.html", mime="text/html", key=f"html-{key}")
    data = pd.DataFrame({k: v for k, v in spec.data.items() if isinstance(v, list)}) \
        if _same_length(spec.data) else None
    if data is not None:
        from cqox_core.export import neutralise_formulas
        cols[1].download_button("Data (CSV)", neutralise_formulas(data).to_csv(index=False),
                                file_name=f"{spec.name}.csv", mime="text/csv", key=f"csv-{key}")


def _same_length(data: Mapping[str, Any]) -> bool:
    lengths = {len(v) for v in data.values() if isinstance(v, list)}
    return len(lengths) == 1
