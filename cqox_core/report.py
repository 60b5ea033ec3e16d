"""Exports of an analysis: a self-contained HTML report, a results CSV with
spreadsheet formulas neutralised, and a Python script that reproduces it."""
from __future__ import annotations

import html
import json
import math
from typing import Any, Mapping

import pandas as pd

from .export import neutralise_formulas
from .visuals import figures_for_analysis, render


def _num(x: Any, digits: int = 4) -> str:
    if isinstance(x, (int, float)) and math.isfinite(x):
        return f"{x:.{digits}g}"
    return "—"


def results_frame(analysis: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for method, r in analysis.get("results", {}).items():
        rows.append({"method": method, "estimand": r["estimand"], "estimate": r["estimate"],
                     "std_error": r["std_error"], "ci_lower": r["ci_lower"], "ci_upper": r["ci_upper"],
                     "p_value": r["p_value"], "n_obs": r["n_obs"], "se_method": r.get("se_method", ""),
                     "gates_failed": ", ".join(g["name"] for g in r["gates"] if g["status"] == "fail"),
                     "cas_overall": analysis.get("cas", {}).get(method, {}).get("overall")})
    return pd.DataFrame(rows)


def results_csv(analysis: Mapping[str, Any]) -> str:
    return neutralise_formulas(results_frame(analysis)).to_csv(index=False)


def sentence(result: Mapping[str, Any]) -> str:
    """One plain-language sentence for a result."""
    level = int(round(100 * (1 - result.get("alpha", 0.05))))
    roles = result.get("roles", {})
    outcome = roles.get("outcome") or "the outcome"
    treatment = roles.get("treatment") or "the treatment"
    est, lo, hi = result.get("estimate"), result.get("ci_lower"), result.get("ci_upper")
    who = {"att": "for those treated", "atc": "for the untreated", "late": "for those moved by the instrument"}.get(
        result.get("estimand", ""), "on average")
    if not (isinstance(est, (int, float)) and math.isfinite(est)):
        return f"{result.get('method')} could not produce a finite estimate."
    direction = "raises" if est > 0 else "lowers"
    text = f"{treatment} {direction} {outcome} by {_num(abs(est))} {who}"
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and math.isfinite(lo) and math.isfinite(hi):
        clear = lo > 0 or hi < 0
        text += (f" ({level}% interval {_num(lo)} to {_num(hi)}; "
                 + ("the interval rules out no effect)" if clear else "the interval includes no effect, so the "
                    "data cannot rule out zero)"))
    return text + "."


def python_script(analysis: Mapping[str, Any], data_path: str | None = None) -> str:
    """A script that reruns the analysis with cqox_core."""
    roles = {k: v for k, v in analysis.get("roles", {}).items() if v not in (None, [], ())}
    params = analysis.get("params", {})
    path = data_path or analysis.get("source", "data.csv")
    methods = list(analysis.get("results", {}))
    return f'''"""Reproduce the CQOx analysis of {path} (sha256 {analysis.get("sha256", "")[:12]}...)."""
import cqox_core as cq

data = cq.load({path!r})
roles = cq.Roles.from_dict({json.dumps(roles)})
report = cq.analyze(data, roles=roles, methods={methods!r}, estimand={params.get("estimand", "ate")!r},
                    alpha={params.get("alpha", 0.05)!r}, seed={params.get("seed", 0)!r},
                    better={params.get("better")!r}, min_effect={params.get("min_effect")!r},
                    value_per_unit={params.get("value_per_unit")!r},
                    cost_per_treated={params.get("cost_per_treated", 0.0)!r})
for method, result in report.results.items():
    print(result.summary())
print("decision:", report.decision.label if report.decision else None)
'''


def _gate_rows(result: Mapping[str, Any]) -> str:
    rows = []
    for g in result.get("gates", []):
        rows.append(f"<tr class='{g['status']}'><td>{html.escape(g['name'])}</td><td>{g['status'].upper()}</td>"
                    f"<td>{_num(g.get('metric'))}</td><td>{_num(g.get('threshold'))}</td>"
                    f"<td>{html.escape(g.get('message', ''))}</td><td>{html.escape(g.get('next_step', ''))}</td></tr>")
    return "".join(rows)


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2rem auto;
color:#222;padding:0 1rem}
table{border-collapse:collapse;width:100%;margin:1rem 0}td,th{border-bottom:1px solid #ddd;padding:.35rem;
text-align:left;vertical-align:top;font-size:.92rem}
tr.fail td:nth-child(2){color:#b00020;font-weight:600}tr.warn td:nth-child(2){color:#a66300;font-weight:600}
tr.pass td:nth-child(2){color:#1b7f3b;font-weight:600}.decision{font-size:1.4rem;padding:.8rem;border-radius:6px}
.GO{background:#e5f6ea}.CANARY{background:#fff4dc}.HOLD{background:#fde7ea}.small{color:#666;font-size:.85rem}
"""


def html_report(analysis: Mapping[str, Any], *, title: str = "CQOx analysis report") -> str:
    """One HTML file with everything inline (Plotly's JS included), viewable offline."""
    from plotly.offline import get_plotlyjs

    esc = html.escape
    results = analysis.get("results", {})
    decision = analysis.get("decision") or {}
    head = analysis.get("headline")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
             f"<style>{STYLE}</style><script>{get_plotlyjs()}</script></head><body>",
             f"<h1>{esc(title)}</h1>",
             f"<p class='small'>Data: {esc(str(analysis.get('source')))} — {analysis.get('n_rows')} rows, "
             f"sha256 {esc(str(analysis.get('sha256', '')))}. Domain: "
             f"{esc(str(analysis.get('domain', {}).get('name', '')))}.</p>"]
    if decision:
        parts.append(f"<div class='decision {esc(decision['label'])}'><b>{esc(decision['label'])}</b> — "
                     f"{esc(decision.get('explanation', ''))}<br><span class='small'>"
                     f"{esc(', '.join(decision.get('reason_codes', [])))}</span></div>")
    if head in results:
        parts.append(f"<p><b>Headline ({esc(head)}):</b> {esc(sentence(results[head]))}</p>")
    roles = analysis.get("roles", {})
    parts.append("<h2>Roles</h2><table>" + "".join(
        f"<tr><td>{esc(k)}</td><td>{esc(', '.join(v) if isinstance(v, list) else str(v))}</td></tr>"
        for k, v in roles.items() if v not in (None, [])) + "</table>")
    parts.append("<h2>Estimates</h2>" + results_frame(analysis).to_html(index=False, na_rep="—",
                                                                          float_format=lambda x: f"{x:.4g}"))
    for method, r in results.items():
        parts.append(f"<h3>{esc(method)}</h3><p>{esc(sentence(r))}</p><p class='small'>Standard error: "
                     f"{esc(r.get('se_method', ''))}</p><table><tr><th>gate</th><th>status</th><th>metric</th>"
                     f"<th>threshold</th><th>what it means</th><th>next step</th></tr>{_gate_rows(r)}</table>")
        sens = r.get("sensitivity") or {}
        for key in ("e_value_text", "robustness_text"):
            if sens.get(key):
                parts.append(f"<p class='small'>{esc(sens[key])}</p>")
        if r.get("warnings"):
            parts.append("<ul>" + "".join(f"<li>{esc(w)}</li>" for w in r["warnings"]) + "</ul>")
    errors = analysis.get("errors", {})
    if errors:
        parts.append("<h2>Methods that could not run</h2><ul>" + "".join(
            f"<li><b>{esc(m)}</b> [{esc(e['code'])}] {esc(e['message'])} — {esc(e.get('hint', ''))}</li>"
            for m, e in errors.items()) + "</ul>")
    parts.append("<h2>Figures</h2>")
    for spec in figures_for_analysis(analysis):
        parts.append(render(spec).to_html(full_html=False, include_plotlyjs=False))
        parts.append(f"<p class='small'>{esc(spec.caption)}</p>")
    parts.append("</body></html>")
    return "".join(parts)
