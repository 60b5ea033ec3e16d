"""Running variable and cutoff (regression discontinuity).

Found where a 0/1 treatment switches as a continuous column crosses a
threshold (the cutoff is the roundest number between the two sides), or,
failing that, from an unmistakable name, with the cutoff marked as a guess.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .cues import OUTCOME_CUES, RUNNING_CUES
from .leakage import _dose_of
from .names import name_match
from .periods import _period_evidence, _time_families
from .profile import ColumnProfile
from .state import _clip01, _confidence, _State


@dataclass(frozen=True)
class _Step:
    left: float           # last value on the lower side
    right: float          # first value on the upper side
    treated_above: bool
    sharpness: float      # share of rows a single threshold classifies correctly
    jump: float           # change in treated share just across the threshold


def _best_step(x: np.ndarray, t: np.ndarray) -> _Step | None:
    """Where does the 0/1 column ``t`` jump as ``x`` increases? (None if too little data)."""
    ok = np.isfinite(x) & np.isfinite(t)
    x, t = x[ok], t[ok]
    n = x.size
    if n < 50:
        return None
    order = np.argsort(x, kind="mergesort")
    xs, ts = x[order], t[order]
    ones = np.concatenate([[0.0], np.cumsum(ts)])
    total = ones[-1]
    k = max(20, int(0.05 * n))
    splits = np.arange(1, n)[xs[1:] != xs[:-1]]
    splits = splits[(splits >= max(k, int(0.05 * n))) & (splits <= min(n - k, int(0.95 * n)))]
    if splits.size == 0:
        return None
    # a running variable varies on both sides of its threshold (a dose is one value below)
    distinct_below = np.concatenate([[0], np.cumsum(xs[1:] != xs[:-1])])
    n_distinct = distinct_below[-1] + 1
    splits = splits[(distinct_below[splits - 1] + 1 >= 5) & (n_distinct - distinct_below[splits] >= 5)]
    if splits.size == 0:
        return None
    left_ones = ones[splits]
    above = ((splits - left_ones) + (total - left_ones)) / n
    below = (left_ones + (n - splits) - (total - left_ones)) / n
    sharp = np.maximum(above, below)
    jump = (ones[splits + k] - ones[splits]) / k - (ones[splits] - ones[splits - k]) / k
    # a real threshold also separates the two sides as wholes, not only next to it
    overall = (total - left_ones) / (n - splits) - left_ones / splits
    jump = np.where(np.abs(overall) >= 0.3, jump, 0.0)
    i = int(np.argmax(sharp)) if sharp.max() >= 0.97 else int(np.argmax(np.abs(jump)))
    s = splits[i]
    return _Step(left=float(xs[s - 1]), right=float(xs[s]), treated_above=bool(above[i] >= below[i]),
                 sharpness=float(sharp[i]), jump=float(jump[i]))


def _round_cutoff(left: float, right: float) -> tuple[float, bool]:
    """The roundest number between the two sides of a split (0, 50, 100 ... before 37.2)."""
    lo, hi = min(left, right), max(left, right)
    if lo <= 0 <= hi:
        return 0.0, True
    top = int(math.floor(math.log10(max(abs(lo), abs(hi))))) + 1
    for exponent in range(top, -7, -1):
        for unit in (10.0 ** exponent, 5 * 10.0 ** (exponent - 1)):
            candidate = math.ceil(lo / unit) * unit
            if candidate <= hi:
                return float(round(candidate, 10)), True
    return (lo + hi) / 2, False


def _running_candidates(state: _State) -> list[ColumnProfile]:
    families = _time_families(state.profiles)
    # a column measured after the others (wt82, x_post) cannot assign treatment
    return [p for p in state.pool("numeric") if p.n_unique >= 20 and p.values is not None
            and p.name not in state.excluded and _period_evidence(p, families)[0] == 0]


def _infer_running(state: _State) -> None:
    if state.is_fixed("running"):
        _fill_cutoff_only(state)
        return
    treatment = state.column("treatment")
    found = None
    if treatment and state.profiles.get(treatment) and state.profiles[treatment].kind == "binary":
        found = _running_from_switch(state, state.profiles[treatment])
    if found is None:
        found = _running_from_name(state)
    if found is None:
        return
    column, score, cutoff, cutoff_conf, why, cutoff_why = found
    state.assign("running", column, score, why)
    if not state.is_fixed("cutoff"):
        state.roles["cutoff"] = cutoff
        state.confidence["cutoff"] = round(cutoff_conf, 2)
        state.reasons["cutoff"] = cutoff_why


def _running_from_switch(state: _State, treatment: ColumnProfile) -> tuple | None:
    scored: list[tuple[float, ColumnProfile, _Step]] = []
    for p in _running_candidates(state):
        if _dose_of(p, treatment.values, treatment.name):
            continue                      # an amount that is 0 for the untreated is a dose, not a score
        step = _best_step(p.values, treatment.values)
        if step is None:
            continue
        name = name_match(p.info, RUNNING_CUES, unlog=False)[0]
        sharp = step.sharpness >= 0.97
        if not (sharp or (abs(step.jump) >= 0.5 and name >= 0.4) or abs(step.jump) >= 0.7):
            continue
        fit = step.sharpness if sharp else _clip01(abs(step.jump))
        scored.append((0.7 * fit + 0.3 * name, p, step))
    if not scored:
        return None
    scored.sort(key=lambda s: -s[0])
    state.candidates["running"] = [(p.name, round(_clip01(score), 3)) for score, p, _ in scored[:6]]
    score, p, step = scored[0]
    rival = scored[1][0] if len(scored) > 1 else 0.0
    cutoff, round_number = _round_cutoff(step.left, step.right)
    side = "at or above" if step.treated_above else "at or below"
    kind = (f"sharp: {step.sharpness:.0%} of rows follow the threshold" if step.sharpness >= 0.97
            else f"fuzzy: the treated share jumps by {abs(step.jump):.2f} across it")
    why = f"{treatment.name} switches where {p.name} crosses {cutoff:g} ({kind})"
    fit = step.sharpness if step.sharpness >= 0.97 else _clip01(abs(step.jump))
    cutoff_conf = fit * (1.0 if round_number else 0.8)
    cutoff_why = (f"{treatment.name} is 1 {side} {cutoff:g}"
                  + (" (a round number between the two sides)" if round_number else ""))
    return p.name, _confidence(score, rival), cutoff, cutoff_conf, why, cutoff_why


def _running_from_name(state: _State) -> tuple | None:
    """No treatment switches anywhere: trust only an unmistakable running-variable name,
    on a variable centred at zero unless the name says 'running' or 'forcing' outright."""
    best = None
    for p in _running_candidates(state):
        strength, word = name_match(p.info, RUNNING_CUES, unlog=False)
        if strength < 0.6 or name_match(p.info, OUTCOME_CUES)[0] >= strength:
            continue                      # 'profit_margin' is an outcome, not a score
        finite = p.values[np.isfinite(p.values)]
        centred = finite.min() < 0 < finite.max()
        if (centred or strength >= 0.9) and (best is None or strength > best[0]):
            best = (strength, p, word)
    if best is None:
        return None
    strength, p, word = best
    cutoff, how, conf = _guess_cutoff(p.values)
    why = (f"named like a running variable ('{word}'); no 0/1 column switches at a threshold of it, "
           "so the cutoff is a guess")
    return p.name, 0.6 * strength, cutoff, conf, why, how


def _guess_cutoff(values: np.ndarray) -> tuple[float, str, float]:
    v = values[np.isfinite(values)]
    if v.min() < 0 < v.max():
        return 0.0, "values run from negative to positive: 0 is the natural threshold (check it)", 0.45
    q1, median, q3 = np.percentile(v, [25, 50, 75])
    cutoff, round_number = _round_cutoff(q1, q3)
    near = abs(cutoff - median) / (q3 - q1 + 1e-12)
    return cutoff, f"round number {cutoff:g} near the median ({median:g}): a guess, check it", \
        round(0.35 * (1 - _clip01(near)) * (1.0 if round_number else 0.5), 2)


def _fill_cutoff_only(state: _State) -> None:
    running = state.column("running")
    if state.is_fixed("cutoff") or not running:
        return
    treatment = state.column("treatment")
    p = state.profiles[running]
    if p.values is None:
        return
    if treatment and state.profiles[treatment].kind == "binary":
        step = _best_step(p.values, state.profiles[treatment].values)
        if step is not None and (step.sharpness >= 0.97 or abs(step.jump) >= 0.5):
            cutoff, _ = _round_cutoff(step.left, step.right)
            state.roles["cutoff"] = cutoff
            state.confidence["cutoff"] = round(max(step.sharpness, abs(step.jump)) if step.sharpness >= 0.97
                                               else abs(step.jump), 2)
            state.reasons["cutoff"] = f"{treatment} switches where {running} crosses {cutoff:g}"
            return
    cutoff, how, conf = _guess_cutoff(p.values)
    state.roles["cutoff"], state.confidence["cutoff"], state.reasons["cutoff"] = cutoff, conf, how
