"""VisualSpec builders: what to draw, as plain data, with a plain-language caption."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..results import to_jsonable


@dataclass(frozen=True)
class VisualSpec:
    """A figure described as data: ``kind`` says how to draw ``data``."""

    kind: str
    name: str
    title: str
    data: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)
    caption: str = ""

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({"kind": self.kind, "name": self.name, "title": self.title, "data": self.data,
                            "labels": self.labels, "caption": self.caption})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "VisualSpec":
        return cls(kind=d["kind"], name=d["name"], title=d["title"], data=dict(d["data"]),
                   labels=dict(d.get("labels", {})), caption=d.get("caption", ""))


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def forest_plot(results: Mapping[str, Mapping[str, Any]]) -> VisualSpec | None:
    """The estimates of the first comparison group (the largest) on one axis; see :func:`forest_plots`."""
    plots = forest_plots(results)
    return plots[0] if plots else None


def forest_plots(results: Mapping[str, Mapping[str, Any]], headline: str | None = None,
                 fits: Sequence[str] | None = None) -> list[VisualSpec]:
    """One forest plot per group of comparable estimates (same estimand, same design family), the
    headline's group first: estimates of different quantities never share an axis."""
    from ..comparison import compare

    comparison = compare(results, headline, fits)
    several = len(comparison.groups) > 1
    out = []
    for i, group in enumerate(comparison.groups):
        rows = [(m, results[m]) for m in group.methods]
        data = {"method": [m for m, _ in rows], "estimate": [r["estimate"] for _, r in rows],
                "ci_lower": [r.get("ci_lower") for _, r in rows], "ci_upper": [r.get("ci_upper") for _, r in rows],
                "estimand": [r.get("estimand", "") for _, r in rows]}
        level = int(round(100 * (1 - rows[0][1].get("alpha", 0.05))))
        agree = ("; some intervals exclude each other's estimates, so the methods disagree: check the gates of "
                 "each." if group.clashes else " and agree: each estimate lies inside the others' intervals."
                 if len(rows) > 1 else ".")
        caption = (f"Each dot is one method's estimate of the {group.label} with its {level}% interval. "
                   + (f"The {len(rows)} methods range from {group.low:.4g} to {group.high:.4g}{agree}"
                      if len(rows) > 1 else f"One method: {group.low:.4g}.")
                   + (" Estimates of other quantities or from other designs have their own plot." if several
                      else ""))
        name = "forest" if i == 0 else f"forest_{group.estimand}_{group.design}"
        title = "Effect estimates across methods" + (f" ({group.label})" if several else "")
        out.append(VisualSpec("forest", name, title, data, {"x": "effect", "y": "method"}, caption))
    return out


def balance_plot(result: Mapping[str, Any]) -> VisualSpec | None:
    """Love plot: standardized differences before and after adjustment."""
    d = result.get("diagnostics", {})
    before = d.get("smd_before") or {}
    if not before:
        return None
    after = d.get("smd_after") or {}
    names = sorted(before, key=lambda k: abs(before[k] or 0))
    data = {"covariate": names, "before": [before[k] for k in names],
            "after": [after.get(k) for k in names] if after else [], "threshold": 0.1}
    worst_after = max((abs(v) for v in after.values() if _finite(v)), default=None)
    caption = ("Standardized mean differences between treated and untreated for each covariate; the dashed "
               "lines at ±0.1 mark the usual limit for 'balanced'. "
               + (f"After adjustment the largest is {worst_after:.3f}." if worst_after is not None else
                  "This method models the outcome rather than reweighting, so only the raw differences show."))
    return VisualSpec("love", f"balance_{result.get('method', '')}", f"Covariate balance ({result.get('method')})",
                      data, {"x": "standardized mean difference"}, caption)


def _histogram_spec(result: Mapping[str, Any], key: str, kind: str, title: str, xlabel: str,
                    caption: str) -> VisualSpec | None:
    hist = result.get("diagnostics", {}).get(key)
    if not hist:
        return None
    return VisualSpec(kind, f"{kind}_{result.get('method', '')}", f"{title} ({result.get('method')})", dict(hist),
                      {"x": xlabel, "y": "units"}, caption)


def overlap_plot(result: Mapping[str, Any]) -> VisualSpec | None:
    share = result.get("diagnostics", {}).get("common_support_share")
    text = (f"Propensity scores of treated (orange) and untreated (blue). Where one group has units and the "
            f"other has none, there is no one to compare with. {share:.0%} of units lie in the shared range."
            if _finite(share) else "Propensity scores of treated and untreated units.")
    return _histogram_spec(result, "ps_histogram", "overlap", "Overlap of propensity scores",
                           "propensity score", text)


def weight_plot(result: Mapping[str, Any]) -> VisualSpec | None:
    ratio = result.get("diagnostics", {}).get("max_weight_ratio")
    text = ("Distribution of the weights per group. A long right tail means a few units carry much of the "
            "answer" + (f"; the largest weight is {ratio:.1f}× the average." if _finite(ratio) else "."))
    return _histogram_spec(result, "weight_histogram", "weights", "Weights", "weight", text)


def cas_radar(cas: Mapping[str, Any], method: str = "") -> VisualSpec | None:
    keys = ["validity", "precision", "robustness", "interpretability", "scalability"]
    if not cas or not all(k in cas for k in keys):
        return None
    data = {"axis": keys, "value": [cas[k] for k in keys], "overall": cas.get("overall")}
    weakest = min(keys, key=lambda k: cas[k])
    caption = (f"Causal Assurance Score {cas.get('overall', 0):.1f}/10. Each axis is 0-10; the weakest is "
               f"{weakest} ({cas[weakest]:.1f}): {cas.get('explanation', {}).get(weakest, '')}")
    return VisualSpec("radar", f"cas_{method}", f"Causal Assurance Score ({method})", data, {}, caption)


def by_plot(result: Mapping[str, Any]) -> VisualSpec | None:
    """Sub-estimates (event time, cohorts, dose points) as a coefficient plot.

    Callaway-Sant'Anna results carry both ATT(g,t) cells and event-time
    aggregates; the plot shows the event-time path (labels "e=...")."""
    by = [b for b in result.get("by", []) if _finite(b.get("estimate"))]
    if any(str(b["label"]).startswith("e=") for b in by):
        by = [b for b in by if str(b["label"]).startswith("e=")]
    if len(by) < 2:
        return None
    data = {"label": [b["label"] for b in by], "estimate": [b["estimate"] for b in by],
            "ci_lower": [b.get("ci_lower") for b in by], "ci_upper": [b.get("ci_upper") for b in by]}
    return VisualSpec("coef", f"by_{result.get('method', '')}", f"Estimates by {result.get('method')} component",
                      data, {"x": "component", "y": "effect"},
                      "Each point is a part of the estimate (e.g. one period relative to treatment) with its "
                      "interval; points before treatment should sit near zero.")


def _first_post(times: list, flags: list) -> Any:
    return next((t for t, f in zip(times, flags) if f), None)


def series_plot(result: Mapping[str, Any]) -> VisualSpec | None:
    """Observed path against its counterfactual: ITS (fitted and extended pre-trend) and
    synthetic control (treated unit and its synthetic twin)."""
    series = result.get("diagnostics", {}).get("series")
    if not series or "time" not in series:
        return None
    t = series["time"]
    if "synthetic" in series:
        traces = [{"name": "treated unit", "x": t, "y": series["treated"], "style": "solid"},
                  {"name": "synthetic control", "x": t, "y": series["synthetic"], "style": "dash"}]
        cut = _first_post(t, series.get("post", []))
        caption = ("The treated unit (solid) and its synthetic control (dashed), a weighted mix of untreated "
                   "units that tracks it before treatment; the gap after the vertical line is the estimated "
                   "effect.")
    else:
        traces = [{"name": "observed", "x": t, "y": series["observed"], "style": "markers"},
                  {"name": "fitted", "x": t, "y": series["fitted"], "style": "solid"},
                  {"name": "counterfactual (pre-trend continued)", "x": t, "y": series["counterfactual"],
                   "style": "dash"}]
        cut = _first_post(t, series.get("treated", []))
        caption = ("Observed values, the segmented-regression fit, and the pre-intervention trend continued "
                   "(dashed): the distance between the fit and the dashed line after the intervention is the "
                   "estimated effect.")
    return VisualSpec("lines", f"series_{result.get('method', '')}", f"Observed vs counterfactual "
                      f"({result.get('method')})", {"traces": traces, "vline": cut}, {"x": "time", "y": "outcome"},
                      caption)


def placebo_plot(result: Mapping[str, Any]) -> VisualSpec | None:
    d = result.get("diagnostics", {})
    placebo, series = d.get("placebo_gaps"), d.get("series")
    if not placebo or not series or "gap" not in series:
        return None
    t = placebo["time"]
    traces = [{"name": f"placebo {u}", "x": t, "y": g, "style": "faint"} for u, g in placebo["gaps"].items()]
    traces.append({"name": "treated unit", "x": series["time"], "y": series["gap"], "style": "solid"})
    p = d.get("placebo_p")
    return VisualSpec("lines", f"placebo_{result.get('method', '')}", "Gap of the treated unit vs placebo units",
                      {"traces": traces, "vline": _first_post(series["time"], series.get("post", []))},
                      {"x": "time", "y": "gap (unit minus its synthetic control)"},
                      "Grey lines pretend each untreated unit was treated. If the treated unit's gap (dark) stands "
                      "out after treatment, the effect is unlikely to be noise"
                      + (f" (placebo p = {p:.2f})." if _finite(p) else "."))


def rd_plot(result: Mapping[str, Any]) -> VisualSpec | None:
    d = result.get("diagnostics", {}).get("rd_plot")
    if not d or not d.get("bins"):
        return None
    traces = []
    for side in ("left", "right"):
        bins = [b for b in d["bins"] if b.get("side") == side]
        traces.append({"name": f"binned means ({side})", "x": [b["x"] for b in bins],
                       "y": [b["y"] for b in bins], "style": "markers"})
        fit = d.get(f"fit_{side}") or []
        traces.append({"name": f"local fit ({side})", "x": [p[0] for p in fit], "y": [p[1] for p in fit],
                       "style": "solid"})
    cutoff = result.get("roles", {}).get("cutoff")
    return VisualSpec("lines", f"rd_{result.get('method', '')}", "Regression discontinuity", {"traces": traces,
                      "vline": cutoff}, {"x": "running variable", "y": "outcome"},
                      "Dots are average outcomes in bins of the running variable; lines are the local fits on "
                      "each side. The jump at the cutoff (vertical line) is the estimated effect.")


def figures_for_analysis(analysis: Mapping[str, Any]) -> list[VisualSpec]:
    """Every figure the analysis supports, headline method's diagnostics first."""
    from .methods import figures as method_figures

    results = analysis.get("results", {})
    head = analysis.get("headline")
    specs: list[VisualSpec | None] = list(forest_plots(results, head, (analysis.get("structure") or {}).get("fits")))
    order = ([head] if head in results else []) + [m for m in results if m != head]
    for m in order:
        r = results[m]
        specs += [balance_plot(r), overlap_plot(r), weight_plot(r), by_plot(r), series_plot(r), placebo_plot(r),
                  rd_plot(r)]
        specs += method_figures(m, r)
    if head and head in analysis.get("cas", {}):
        specs.append(cas_radar(analysis["cas"][head], head))
    seen: set[str] = set()
    out = []
    for s in specs:
        if s is not None and s.name not in seen:
            seen.add(s.name)
            out.append(s)
    return out
