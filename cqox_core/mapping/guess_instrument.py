"""Instrument: from its name and how much it moves the treatment.

Its exclusion restriction cannot be checked from data, so its confidence is
capped and the reason says so.
"""
from __future__ import annotations

import numpy as np

from .cues import INSTRUMENT_CUES
from .guess_running import _best_step
from .names import name_match
from .profile import ColumnProfile
from .state import _clip01, _confidence, _corr, _Scored, _State


def _instrument_name(p: ColumnProfile) -> tuple[float, str | None]:
    return name_match(p.info, INSTRUMENT_CUES, unlog=False)


def _defines_a_factor(p: ColumnProfile, factors: list[ColumnProfile]) -> bool:
    """In a difference-in-differences layout (treatment = group x period) the group indicator
    (nearinc) and the column it is a threshold of (dist) say who is in the group: not instruments."""
    for factor in factors:
        if p.name == factor.name:
            return True
        if p.kind == "numeric" and p.values is not None and factor.values is not None:
            step = _best_step(p.values, factor.values)
            if step is not None and step.sharpness >= 0.99:
                return True
    return False


def _infer_instrument(state: _State) -> None:
    if state.is_fixed("instrument"):
        return
    treatment = state.column("treatment")
    t_values = state.profiles[treatment].values if treatment in state.profiles else None
    factors = [state.profiles[f] for f in state.interactions.get(treatment or "", ())]
    scored = []
    for p in state.pool("binary", "numeric"):
        strength, word = _instrument_name(p)
        if strength < 0.3 or p.values is None or _defines_a_factor(p, factors):
            continue
        r = _corr(p.values, t_values) if t_values is not None else float("nan")
        relevance = _clip01(abs(r) / 0.1) if np.isfinite(r) else 0.0
        why = [f"named like an instrument ('{word}')"]
        if np.isfinite(r):
            why.append(f"moves with the treatment (r={r:.2f})" if relevance > 0.3
                       else f"barely moves with the treatment (r={r:.2f})")
        why.append("whether it affects the outcome only through the treatment cannot be checked from data")
        scored.append(_Scored(p.name, strength * (0.6 + 0.4 * relevance), why))
    if not scored or treatment is None:
        state.candidates["instrument"] = [(s.column, round(s.score, 3)) for s in scored]
        return
    scored.sort(key=lambda s: -s.score)
    state.candidates["instrument"] = [(s.column, round(s.score, 3)) for s in scored[:6]]
    chosen = [s for s in scored if s.score >= 0.3]
    if not chosen:
        return
    # an instrument's validity is untestable, so its confidence never exceeds 0.75
    state.roles["instrument"] = tuple(s.column for s in chosen)
    state.taken.update(s.column for s in chosen)
    state.confidence["instrument"] = round(min(0.75, _confidence(chosen[0].score, 0.0)), 2)
    state.reasons["instrument"] = "; ".join(chosen[0].why)
