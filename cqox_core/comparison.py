"""Which estimates may be compared with each other, and whether those that may agree.

Only estimates of the same estimand from the same design family (the registry's
``MethodSpec.design``) answer the same question: a cross-sectional ATE and a
panel ATT on the same store-weeks differ because they estimate different things
under different assumptions, not because one method is noisy. So estimates are
grouped by (estimand, design) and disagreement is checked inside each group
only: two estimates clash when neither lies inside the other's interval. The
summary is one short paragraph: which groups there are, which disagree inside,
and the likely reason.

Works on :class:`~cqox_core.results.EffectResult` objects and on their
``to_dict()`` form (the app keeps the analysis as JSON).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Mapping, Sequence

from .cas import design_of as result_design
from .results import to_jsonable

#: Why methods of one design can disagree on the same data (the likely reason in the summary).
LIKELY_REASON = {
    "cross_section": "they lean on different models (regression on the outcome model, weighting and matching on "
                     "the propensity model, AIPW on either), so check which one's balance and overlap gates fail",
    "panel": "they use different comparison units and weights (two-way fixed effects mixes early and late "
             "adopters, staggered_did and panel_matching use only clean comparisons), so check the pre-trend gates",
    "threshold": "they use different bandwidths or polynomial orders around the cutoff",
    "instrument": "the instruments pick out different compliers, or one is weak",
    "time_series": "the fitted pre-intervention trends differ",
}
#: Plain names of the designs in the summary.
DESIGN_NOUNS = {"cross_section": "cross-sectional", "panel": "panel", "threshold": "regression-discontinuity",
                "instrument": "instrumental-variable", "time_series": "time-series"}


def _get(result: Any, key: str, default: Any = None) -> Any:
    return result.get(key, default) if isinstance(result, Mapping) else getattr(result, key, default)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def design_of(result: Any) -> str:
    """The registry design of the method behind a result or its dict (a wrapper such as the bootstrap: its
    inner method's); the same rule as the decision's (:func:`cqox_core.cas.design_of`)."""
    if isinstance(result, Mapping):
        result = SimpleNamespace(method=result.get("method", ""), params=result.get("params") or {})
    return result_design(result) or "unknown"


def group_key(result: Any) -> tuple[str, str]:
    """(estimand, design): results with the same key estimate the same quantity under the same design."""
    return str(_get(result, "estimand", "")).lower(), design_of(result)


@dataclass(frozen=True)
class Group:
    """Estimates of one estimand from one design family."""

    estimand: str
    design: str
    methods: tuple[str, ...]
    low: float | None
    high: float | None
    #: Pairs of methods whose estimates each lie outside the other's interval.
    clashes: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        return f"{DESIGN_NOUNS.get(self.design, self.design)} {self.estimand.upper()}"

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({"estimand": self.estimand, "design": self.design, "label": self.label,
                            "methods": list(self.methods), "low": self.low, "high": self.high,
                            "clashes": [list(c) for c in self.clashes]})


@dataclass(frozen=True)
class Comparison:
    groups: tuple[Group, ...]
    summary: str

    @property
    def disagree(self) -> bool:
        return any(g.clashes for g in self.groups)

    def to_dict(self) -> dict[str, Any]:
        return {"groups": [g.to_dict() for g in self.groups], "summary": self.summary,
                "disagree": self.disagree}


def _clashes(rows: Sequence[tuple[str, Any]]) -> tuple[tuple[str, str], ...]:
    usable = [(m, r) for m, r in rows if all(_finite(_get(r, k)) for k in ("estimate", "ci_lower", "ci_upper"))]
    out = []
    for i, (a, ra) in enumerate(usable):
        for b, rb in usable[i + 1:]:
            a_in_b = _get(rb, "ci_lower") <= _get(ra, "estimate") <= _get(rb, "ci_upper")
            b_in_a = _get(ra, "ci_lower") <= _get(rb, "estimate") <= _get(ra, "ci_upper")
            if not (a_in_b or b_in_a):
                out.append((a, b))
    return tuple(out)


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.4g}"


def _range(g: Group) -> str:
    return _fmt(g.low) if g.low == g.high else f"{_fmt(g.low)} to {_fmt(g.high)}"


def _summary(groups: Sequence[Group], fits: Sequence[str] | None) -> str:
    """One short paragraph: the groups, which disagree inside, and the likely reason."""
    if not groups:
        return ""
    parts = []
    if len(groups) > 1:
        listed = " and ".join(f"{g.label} ({len(g.methods)} method{'s' if len(g.methods) > 1 else ''}: "
                              f"{_range(g)})" for g in groups)
        parts.append(f"Compared only like with like: {listed}.")
        misfit = [g for g in groups if fits is not None and g.design not in fits]
        if misfit:
            fitting = " or ".join(dict.fromkeys(DESIGN_NOUNS.get(d, d) for d in fits if d in DESIGN_NOUNS))
            parts.append(f"The {', '.join(g.label for g in misfit)} estimates ignore the data's structure (the "
                         f"{fitting} designs fit it), so the gap between the groups is expected: their numbers "
                         "answer a different question.")
        else:
            parts.append("The groups estimate different quantities or rest on different designs, so a gap "
                         "between them is not a disagreement.")
    split = [g for g in groups if g.clashes]
    for g in split:
        pairs = ", ".join(f"{a} vs {b}" for a, b in g.clashes[:3]) + (" ..." if len(g.clashes) > 3 else "")
        parts.append(f"Within the {g.label} estimates ({_range(g)}) some intervals exclude each other's estimate "
                     f"({pairs}): {LIKELY_REASON.get(g.design, 'they rest on different assumptions')}.")
    if not split and any(len(g.methods) > 1 for g in groups):
        parts.append("Within each group every estimate lies inside the others' intervals." if len(groups) > 1 else
                     f"All {len(groups[0].methods)} estimates agree: each lies inside the others' intervals.")
    return " ".join(parts)


def compare(results: Mapping[str, Any], headline: str | None = None,
            fits: Sequence[str] | None = None) -> Comparison:
    """Group ``results`` (method id -> result) by estimand and design, and check agreement within each group.

    Groups are ordered with the headline's group first, then by size. ``fits``: the designs that fit the
    data's structure (``selection.Structure.fits``); groups of other designs are named as the likely reason
    for a gap between groups."""
    keyed: dict[tuple[str, str], list[tuple[str, Any]]] = {}
    for method, r in results.items():
        if _finite(_get(r, "estimate")):
            keyed.setdefault(group_key(r), []).append((method, r))
    head_key = group_key(results[headline]) if headline in results else None
    order = sorted(keyed, key=lambda k: (k != head_key, -len(keyed[k])))
    groups = []
    for key in order:
        rows = keyed[key]
        est = [_get(r, "estimate") for _, r in rows]
        groups.append(Group(key[0], key[1], tuple(m for m, _ in rows), float(min(est)), float(max(est)),
                            _clashes(rows)))
    return Comparison(tuple(groups), _summary(groups, fits))
