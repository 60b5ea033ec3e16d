"""Outcome: name cues, value pattern and period of measurement; a log beats a positive level."""
from __future__ import annotations

import numpy as np

from .cues import (
    DEMOGRAPHIC_CUES,
    ID_CUES,
    INSTRUMENT_CUES,
    MOSTLY_MISSING,
    OUTCOME_CUES,
    RUNNING_CUES,
    TREATMENT_CUES,
)
from .guess_panel import _time_score
from .guess_treatment import _function_of
from .leakage import _leak_like_propensity, _treatment_derived
from .names import _unlog, name_match
from .periods import Periods, _period_evidence
from .profile import ColumnProfile
from .state import _choose, _Scored, _State


def _outcome_pattern(p: ColumnProfile) -> tuple[float, str]:
    if p.kind == "binary":
        return 0.5, p.describe()
    if p.kind == "numeric" and p.values is not None:
        if p.n_unique >= 10:
            return 1.0, p.describe()
        return 0.8, p.describe()
    return 0.0, ""


def _log_bonus(state: _State, p: ColumnProfile) -> float:
    """Prefer the log version (lwage over wage) when the level is strictly positive."""
    level = _level_sibling(state, p)
    if level is None or level.values is None:
        return 0.0
    v = level.values[np.isfinite(level.values)]
    return 0.06 if v.size and v.min() > 0 else 0.0


def _level_sibling(state: _State, p: ColumnProfile) -> ColumnProfile | None:
    target = p.info.joined if p.info.logged else None
    if target is None:
        for word in p.info.words:
            target = _unlog(word, state.joined_names) or target
    if not target:
        return None
    for q in state.profiles.values():
        if q.name != p.name and q.info.joined == target and not q.info.logged \
                and q.info.trailing_digits == p.info.trailing_digits:
            return q
    return None


def _measure_key(state: _State, name: str) -> str:
    """Columns that measure the same thing (re74/re78, wage/lwage) share a key."""
    p = state.profiles[name]
    sibling = _level_sibling(state, p)
    base = sibling.info if sibling is not None else p.info
    return "".join(w for w in base.words) or name


def _outcome_score(state: _State, p: ColumnProfile, families: Periods,
                   last_position: int) -> _Scored | None:
    pattern, what = _outcome_pattern(p)
    if pattern == 0:
        return None
    name, word = name_match(p.info, OUTCOME_CUES)
    post, baseline, when = _period_evidence(p, families)
    score = 0.5 * name + 0.25 * post + 0.25 * pattern + _log_bonus(state, p)
    if post == 1.0 and len(p.info.years) == 2:
        score += 0.05                      # a post-minus-pre change is the classic outcome
    why = [what] + ([f"named like an outcome ('{word}')"] if name else []) + ([when] if when else [])
    score -= baseline + _outcome_penalties(p, why)
    if p.missing_share > MOSTLY_MISSING:
        score -= 0.2
    if p.position == last_position:
        score += 0.02                      # tables often end with the outcome: a tie-breaker only
    return _Scored(p.name, score, why)


def _outcome_penalties(p: ColumnProfile, why: list[str]) -> float:
    penalty = 0.0
    demo, demo_word = name_match(p.info, DEMOGRAPHIC_CUES, unlog=False)
    if demo:
        penalty += 0.35 * demo
        why.append(f"but '{demo_word}' is usually a characteristic")
    outcome = name_match(p.info, OUTCOME_CUES)[0]
    for cues, weight in ((TREATMENT_CUES, 0.5), (INSTRUMENT_CUES, 0.4), (RUNNING_CUES, 0.3)):
        strength = name_match(p.info, cues, unlog=False)[0]
        if strength > outcome:
            penalty += weight * strength
    if p.info.words and p.info.words[-1] in ("sq", "squared", "cubed"):
        penalty += 0.3
    if _leak_like_propensity(p.info):
        penalty += 0.6
    if ID_CUES.get(p.info.joined, 0.0) >= 0.6:
        penalty += 0.3                     # 'fip', 'state', 'county': a code for the unit, not a measure
        why.append(f"but '{p.name}' names an identifier")
    time_like = _time_score(p)
    if time_like and time_like.score >= 0.6:
        penalty += 0.3
        why.append("but it looks like a time index")
    return penalty


def _period_dummies(state: _State) -> set[str]:
    """0/1 columns that only mark periods (d81 ... d88, y85): functions of the time axis, not outcomes."""
    time = state.column("time")
    if not time or time not in state.profiles:
        return set()
    clock = state.profiles[time]
    return {p.name for p in state.pool("binary") if _function_of(p, clock)}


def _infer_outcome(state: _State) -> None:
    if state.is_fixed("outcome"):
        return
    families = state.periods()
    treatment = state.column("treatment")
    derived = set(_treatment_derived(state, treatment)) if treatment else set()
    derived |= _period_dummies(state)
    last = max((p.position for p in state.pool("numeric", "binary")), default=-1)
    scored = [s for s in (_outcome_score(state, p, families, last) for p in state.pool("numeric", "binary")
                          if p.name not in derived) if s]
    _choose(state, "outcome", scored, threshold=0.1,
            same_measure=lambda a, b: _measure_key(state, a) == _measure_key(state, b))
