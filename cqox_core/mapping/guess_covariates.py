"""Covariates: every usable column the leakage guard lets through.

Whether each was measured before treatment cannot be checked from data; the
reason says so.
"""
from __future__ import annotations

import numpy as np

from .leakage import _later_measurements, _other_outcomes, _outcome_leaks, _treatment_derived, _unusable_as_covariate
from .state import _State


def _infer_covariates(state: _State) -> None:
    outcome, treatment = state.column("outcome"), state.column("treatment")
    checks: list[dict[str, str]] = []
    if outcome and outcome in state.profiles:
        checks += [_outcome_leaks(state, outcome), _later_measurements(state, outcome)]
    if treatment and treatment in state.profiles:
        checks.append(_treatment_derived(state, treatment))
    checks.append(_other_outcomes(state, outcome))
    for found in checks:
        for column, reason in found.items():
            state.excluded.setdefault(column, reason)
    for p in state.pool():
        if p.name in state.excluded:
            continue
        reason = _unusable_as_covariate(state, p)
        if reason:
            state.excluded[p.name] = reason
    if state.is_fixed("covariates"):
        return
    kept = tuple(p.name for p in state.pool() if p.name not in state.excluded)
    if not kept:
        return
    state.roles["covariates"] = kept
    state.confidence["covariates"] = _covariate_confidence(state, kept)
    held_out = f"; {len(state.excluded)} kept out (see excluded)" if state.excluded else ""
    state.reasons["covariates"] = (
        f"the {len(kept)} remaining usable column(s){held_out}. "
        "Whether each was measured before treatment cannot be checked from data")


def _covariate_confidence(state: _State, kept: tuple[str, ...]) -> float:
    """As sure as the outcome and treatment they depend on, less for gappy columns."""
    anchors = [state.confidence.get(r, 0.5) for r in ("outcome", "treatment") if r in state.roles]
    anchor = min(anchors) if anchors else 0.5
    complete = float(np.mean([state.profiles[c].missing_share <= 0.2 for c in kept]))
    return round(anchor * (0.7 + 0.3 * complete), 2)
