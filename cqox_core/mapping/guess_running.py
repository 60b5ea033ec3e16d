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
from .guess_panel import _series_clock
from .leakage import _dose_of
from .names import name_match
from .periods import _period_evidence
from .profile import ColumnProfile
from .state import _clip01, _confidence, _corr_columns, _State

#: Fewest rows in which a switch is looked for (48 monthly age cells around 21 are enough when
#: the treatment switches exactly at the cutoff).
MIN_CELLS = 24


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
    if n < MIN_CELLS:
        return None
    order = np.argsort(x, kind="mergesort")
    xs, ts = x[order], t[order]
    ones = np.concatenate([[0.0], np.cumsum(ts)])
    total = ones[-1]
    # the window next to a split: 20 rows, or an eighth of the rows when a table holds a few
    # dozen aggregated cells (age in months around a birthday cutoff)
    k = max(min(20, n // 8), int(0.05 * n))
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
    if sharp.max() < 0.97 and n < 50:
        return None                       # a fuzzy jump needs more than a few dozen rows to be seen
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


def _is_round(cutoff: float, values: np.ndarray) -> bool:
    """Round on the scale of the data: a multiple of half of a tenth of its spread's order of magnitude
    (21 for ages 19-23, 50 for scores 0-100, 17,500 for incomes up to 40,000; not 241 for 0-400)."""
    if cutoff == 0:
        return True
    finite = values[np.isfinite(values)]
    lo, hi = np.percentile(finite, [5, 95])
    spread = hi - lo if hi > lo else float(np.ptp(finite))
    if spread <= 0:
        return False
    unit = 10.0 ** (math.floor(math.log10(spread)) - 1) / 2
    ratio = cutoff / unit
    return abs(ratio - round(ratio)) < 1e-6 * max(1.0, abs(ratio))


def _running_candidates(state: _State) -> list[ColumnProfile]:
    if _single_series(state):
        # one row per period: a switch along any column is a switch in time, which the
        # interrupted time series reads; it is not a regression discontinuity
        return []
    families = state.periods()
    # a column measured after the others (wt82, x_post) cannot assign treatment
    return [p for p in state.pool("numeric") if p.n_unique >= 20 and p.values is not None
            and p.name not in state.excluded and _period_evidence(p, families)[0] == 0]


def _single_series(state: _State) -> bool:
    """One row per period and no panel unit (a row identifier is not one)."""
    time, unit = state.column("time"), state.column("unit")
    if not time or not _series_clock(state.profiles[time], state.frame):
        return False
    return not unit or state.profiles[unit].unique_ratio >= 0.98


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
    assert treatment.values is not None                 # a binary column has 0/1 values
    for p in _moving_with(_running_candidates(state), treatment.values):
        if p.values is None or _dose_of(p, treatment.values, treatment.name):
            continue                      # an amount that is 0 for the untreated is a dose, not a score
        step = _best_step(p.values, treatment.values)
        if step is None:
            continue
        name = name_match(p.info, RUNNING_CUES, unlog=False)[0]
        sharp = step.sharpness >= 0.97
        if not (sharp or (abs(step.jump) >= 0.5 and name >= 0.4) or abs(step.jump) >= 0.7):
            continue
        if name < 0.4 and not _is_round(_round_cutoff(step.left, step.right)[0], p.values):
            continue                      # assignment rules use round thresholds (0, 21, 50, 17,500)
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


#: Smallest rank correlation with the treatment a running variable can have: a split between the
#: 5% and 95% quantiles with a jump of 0.3 in the treated share gives at least 0.3 x 0.05 x 0.95
#: x sqrt(12) x 2 = 0.099 (uniform ranks, treatment SD at most 1/2); 0.08 leaves room for ties
#: and still lets only ~1% of unrelated columns through at n = 1,000 (SD of r is 1/sqrt(n)).
MIN_RANK_CORRELATION = 0.08


def _moving_with(candidates: list[ColumnProfile], t: np.ndarray) -> list[ColumnProfile]:
    """The candidates whose ranks move with the treatment at all; the step search, one sort per
    column, is left for those (a wide file has thousands of unrelated columns)."""
    ranks = []
    for p in candidates:
        assert p.codes is not None and p.values is not None     # numeric candidates have both
        rank = p.codes.astype(float)
        rank[~np.isfinite(p.values)] = np.nan           # missing, and the infinities, are not ranked
        ranks.append(rank)
    r = _corr_columns(ranks, np.where(np.isfinite(t), t, np.nan))
    return [p for p, rho in zip(candidates, r) if not np.isfinite(rho) or abs(rho) >= MIN_RANK_CORRELATION]


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
