"""Gates-page section: the sensitivity contour, and the refuters and specification curve of one
estimate, run when the user asks (they re-estimate many times), with a progress bar each.

Their results go into the estimate's diagnostics (``refutation``, ``specification_curve``), so the
``refutation`` gate and the CAS robustness component read them; the method's CAS is re-scored here.
"""
from __future__ import annotations

from typing import Any, Callable

import pandas as pd
import streamlit as st

from app_lib import state
from app_lib.ui import figure
from cqox_core.cas import score
from cqox_core.export import neutralise_formulas
from cqox_core.results import EffectResult


def _progress(label: str) -> Callable[[int, int, str], None]:
    bar = st.progress(0.0, text=label)
    return lambda done, total, what: bar.progress(done / max(total, 1), text=f"{label}: {what} ({done}/{total})")


def _store(analysis: dict[str, Any], method: str, updated: EffectResult, dataset: Any) -> None:
    """Put the updated estimate back and re-score it against the others of the analysis."""
    analysis["results"][method] = updated.to_dict()
    others = [updated if m == method else EffectResult.from_dict(r) for m, r in analysis["results"].items()]
    analysis.setdefault("cas", {})[method] = score(updated, others=others, data=dataset).to_dict()
    st.session_state["analysis"] = analysis


def sensitivity_section(method: str, result: dict[str, Any]) -> None:
    from cqox_core.visuals.methods.sensitivity import sensitivity_contour

    sens = result.get("sensitivity") or {}
    if sens.get("sensitivity_text"):
        st.info(sens["sensitivity_text"])
    spec = sensitivity_contour(result)
    if spec is not None:
        figure(spec, f"gates-contour-{method}")


def refuters_section(method: str, analysis: dict[str, Any]) -> None:
    from cqox_core.refuters import attach_refutations

    result = analysis["results"][method]
    st.subheader("Refuters")
    st.caption("Each refuter changes the data in a way that should (or should not) move the estimate: a shuffled "
               "treatment and a noise outcome should show no effect, a noise covariate and random 80% subsets "
               "should leave it in place. Each re-estimates the method several times (seeded).")
    dataset = state.dataset()
    if dataset is None:
        st.caption("Upload the data again to run the refuters on this estimate.")
    elif st.button("Run the refuters", key=f"refute-{method}"):
        updated = attach_refutations(EffectResult.from_dict(result), dataset,
                                     on_progress=_progress("Refuting"))
        _store(analysis, method, updated, dataset)
        st.rerun()
    report = (result.get("diagnostics") or {}).get("refutation")
    if report:
        st.write(report["text"])
        table = pd.DataFrame([{"refuter": r["title"], "status": r["status"], "expected": r["expected"],
                               "observed": r["observed"]} for r in report["refuters"]])
        st.dataframe(table, hide_index=True)
        for r in report["refuters"]:
            st.caption(r["text"])
        st.download_button("Refuters (CSV)", neutralise_formulas(table).to_csv(index=False),
                           file_name=f"refuters_{method}.csv", mime="text/csv", key=f"refute-csv-{method}")


def specification_section(method: str, analysis: dict[str, Any]) -> None:
    from cqox_core.specification_curve import attach_specification_curve, specification_curve
    from cqox_core.visuals.specification_curve import specification_curve_plot

    result = analysis["results"][method]
    st.subheader("Specification curve")
    st.caption("The estimate re-run under every reasonable alternative choice: each covariate left out, other "
               "trimming or caliper levels, other learners and the other estimators of the same design.")
    dataset = state.dataset()
    if dataset is None:
        st.caption("Upload the data again to draw the specification curve.")
    elif st.button("Run the specification curve", key=f"speccurve-{method}"):
        others = {m: EffectResult.from_dict(r) for m, r in analysis["results"].items() if m != method}
        curve = specification_curve(EffectResult.from_dict(result), dataset, reuse=others,
                                    on_progress=_progress("Specifications"))
        _store(analysis, method, attach_specification_curve(EffectResult.from_dict(result), curve), dataset)
        st.rerun()
    curve = (result.get("diagnostics") or {}).get("specification_curve")
    if curve:
        st.write(curve["text"])
        spec = specification_curve_plot(result, method)
        if spec is not None:
            figure(spec, f"gates-speccurve-{method}")
        if curve.get("failed"):
            with st.expander(f"{len(curve['failed'])} specification(s) could not run"):
                for f in curve["failed"]:
                    st.markdown(f"- **{f['label']}**: {f['error'].get('message', '')}")


def render(method: str, analysis: dict[str, Any]) -> None:
    """The whole section for ``method`` (called by the Gates page)."""
    sensitivity_section(method, analysis["results"][method])
    refuters_section(method, analysis)
    specification_section(method, analysis)
