"""Treatment, and the treated level of a labelled treatment column.

Evidence: name cues, a 0/1 or few-level pattern, adoption that switches on once
per unit in a panel, and movement with a named instrument; penalties for
characteristics, outcome-like names, lags and propensity scores.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .cues import DEMOGRAPHIC_CUES, DOSE_CUES, OUTCOME_CUES, TREATMENT_CUES
from .guess_instrument import _instrument_name
from .leakage import _leak_like_propensity
from .names import name_match
from .periods import Periods, _period_evidence
from .profile import ColumnProfile, _squash
from .state import _choose, _clip01, _corr, _Scored, _State


def _treatment_candidates(state: _State) -> list[ColumnProfile]:
    cohort, time = state.column("cohort"), state.column("time")
    pool = [p for p in state.pool("binary", "numeric", "category") if p.name != cohort and p.missing_share < 0.9]
    if time:
        # a 0/1 that only marks periods (d88, post-2000) is a time dummy: it has no untreated
        # comparison within a period, so it cannot be the treatment
        pool = [p for p in pool if not (p.kind == "binary" and _function_of(p, state.profiles[time]))]
    return pool


def _function_of(p: ColumnProfile, group: ColumnProfile) -> bool:
    """True when ``p`` takes a single value within each level of ``group`` (levels must recur)."""
    if group.codes is None or p.codes is None or group.n_unique > group.n_valid / 2:
        return False
    frame = pd.DataFrame({"g": group.codes, "v": p.codes})
    frame = frame[(frame.g >= 0) & (frame.v >= 0)]
    return bool(len(frame) and (frame.groupby("g")["v"].nunique() <= 1).all())


def _treatment_score(state: _State, p: ColumnProfile, instruments: list[str],
                     families: Periods | None = None) -> _Scored | None:
    binary = p.kind == "binary"
    strength, word = name_match(p.info, TREATMENT_CUES)
    if not binary:
        dose, dose_word = name_match(p.info, DOSE_CUES)
        strength, word = (0.8 * strength, word) if 0.8 * strength >= dose else (dose, dose_word)
    pattern, balance, what = _treatment_pattern(p)
    if pattern == 0:
        return None
    value_cue = _labelled_arms(p)
    if value_cue > strength:
        strength, word = value_cue, None
    score = 0.55 * strength + 0.35 * pattern + 0.10 * balance
    why = [what]
    if word:
        why.append(f"named like a treatment ('{word}')")
    elif value_cue:
        why.append("its values name treated and control groups")
    first_stage = _first_stage_bonus(state, p, instruments, strength, why)
    baseline = families is not None and _period_evidence(p, families)[1] > 0
    score -= _treatment_penalties(p, binary, why, instrumented=first_stage > 0, baseline=baseline)
    lagged = _lag_of(state, p)
    if lagged:
        score -= 0.3
        why.append(f"but it looks like a lagged copy of {lagged}")
    score += _panel_adoption_bonus(state, p, why) + first_stage
    return _Scored(p.name, score, why)


def _treatment_pattern(p: ColumnProfile) -> tuple[float, float, str]:
    """(pattern fit, group balance fit, description)."""
    if p.kind == "binary":
        share = float(np.nanmean(p.values))
        balance = _clip01(min(share, 1 - share) / 0.1)
        fit = 1.0 if (p.positive_known or set(p.levels) == {"0", "1"}) else 0.8
        return fit, balance, p.describe()
    if p.kind == "category" and 3 <= p.n_unique <= 6:
        return 0.3, 0.0, f"{p.n_unique} labelled groups"
    if p.kind == "numeric" and p.values is not None:
        if p.is_integer and 3 <= p.n_unique <= 6:
            return 0.35, 0.0, f"{p.n_unique} levels (several arms or doses)"
        return 0.25, 0.0, p.describe()
    return 0.0, 0.0, ""


def _labelled_arms(p: ColumnProfile) -> float:
    """Value cue: labels such as treated/control or test/holdout name the arms."""
    if p.kind != "binary" or not p.positive_known:
        return 0.0
    squashed = {_squash(l) for l in p.levels}
    arm_words = {"treated", "treatment", "control", "untreated", "placebo", "exposed", "intervention",
                 "test", "holdout", "variant", "nottreated"}
    return 0.8 if squashed & arm_words else 0.0


def _treatment_penalties(p: ColumnProfile, binary: bool, why: list[str], *, instrumented: bool,
                         baseline: bool = False) -> float:
    penalty = 0.0
    demo, demo_word = name_match(p.info, DEMOGRAPHIC_CUES, unlog=False)
    dose, dose_word = name_match(p.info, DOSE_CUES)
    # years of education is a characteristic, unless an instrument moves it: then it is
    # the variable under study (Card's college proximity design)
    studied = not binary and instrumented and dose_word == demo_word
    if demo and not studied:
        penalty += 0.35 * demo
        why.append(f"but '{demo_word}' is usually a characteristic, not a treatment")
    outcome, outcome_word = name_match(p.info, OUTCOME_CUES)
    treat = name_match(p.info, TREATMENT_CUES)[0]
    # weak verbs like 'got' alone do not count; an earlier measurement of an outcome-like
    # quantity (late in April when the table also has September) is a baseline, not the outcome
    if outcome > treat and outcome >= 0.5 and not baseline:
        penalty += 0.5 * outcome
        why.append(f"but '{outcome_word}' sounds like an outcome")
    if set(p.info.words) & {"lead", "lag", "lags", "leads", "trend", "event", "rel"}:
        penalty += 0.3
    if p.info.words and p.info.words[-1] in ("sq", "squared", "cubed"):
        penalty += 0.3
    if _leak_like_propensity(p.info):
        penalty += 0.6
    return penalty


def _lag_of(state: _State, p: ColumnProfile) -> str | None:
    """'grant_1' next to 'grant' is last period's value of grant."""
    if p.info.trailing_digits != ("1",) or len(p.info.tokens) < 2:
        return None
    for q in state.profiles.values():
        if q.name != p.name and q.info.tokens == p.info.tokens[:-1]:
            return q.name
    return None


def _panel_adoption_bonus(state: _State, p: ColumnProfile, why: list[str]) -> float:
    """0/1 that switches on once per unit and stays on: a staggered or 2x2 adoption."""
    unit, time = state.column("unit"), state.column("time")
    if p.kind != "binary" or not unit or not time:
        return 0.0
    frame = pd.DataFrame({"u": state.profiles[unit].codes, "t": state.profiles[time].codes,
                          "order": _time_order(state.profiles[time]), "d": p.values})
    frame = frame[(frame.u >= 0) & np.isfinite(frame.d)].sort_values(["u", "order"])
    if frame.empty:
        return 0.0
    steps = frame.groupby("u")["d"].diff().dropna()
    per_unit = frame.groupby("u")["d"].agg(["min", "max"])
    switchers = int(((per_unit["min"] == 0) & (per_unit["max"] == 1)).sum())
    if switchers == 0:
        if per_unit["max"].max() == 1:
            why.append("the same in every period of a unit (a treated-group indicator; the timing "
                       "comes from a cohort or post-period column)")
        return 0.0
    if (steps >= 0).all():
        # several adoption dates (staggered) is the clearer signature; one common date
        # is also what a period-by-group dummy looks like
        starts = frame[frame.d == 1].groupby("u")["order"].min().nunique()
        why.append(f"switches on once and stays on in {switchers} of {len(per_unit)} units (adoption"
                   + (f" at {starts} different times)" if starts > 1 else ")"))
        return 0.25 if starts > 1 else 0.15
    return 0.05                          # varies within units: at least not a fixed trait


def _time_order(p: ColumnProfile) -> np.ndarray:
    # codes are factorised in sorted order, so dates order chronologically
    return p.values if p.values is not None else p.codes.astype(float)


def _first_stage_bonus(state: _State, p: ColumnProfile, instruments: list[str], strength: float,
                       why: list[str]) -> float:
    """A named continuous candidate that the named instrument moves is the likely treatment."""
    if p.kind == "binary" or not instruments or strength == 0 or p.values is None:
        return 0.0
    best = 0.0
    for z in instruments:
        r = _corr(state.profiles[z].values, p.values)
        if np.isfinite(r) and abs(r) > abs(best):
            best = r
    if abs(best) < 0.03:
        return 0.0
    why.append(f"moves with the instrument-like column(s) {', '.join(instruments)} (r={best:.2f})")
    return 0.15 * _clip01(abs(best) / 0.1)


def _infer_treatment(state: _State) -> None:
    if state.is_fixed("treatment"):
        _record_treated_value(state)
        return
    pool = _treatment_candidates(state)
    named_instruments = [p.name for p in pool if _instrument_name(p)[0] >= 0.3 and p.values is not None]
    movers = [z for z in (*state.fixed.instrument, *named_instruments)
              if state.profiles[z].values is not None]
    families = state.periods()
    scored = [s for s in (_treatment_score(state, p, movers, families)
                          for p in pool if p.name not in named_instruments) if s]
    _interaction_bonus(state, scored)
    best = max((s.score for s in scored), default=0.0)
    if best < 0.45:
        # no convincing treatment besides instrument-named columns: 'assigned' may be the treatment
        binaries = [state.profiles[z] for z in named_instruments if state.profiles[z].kind == "binary"]
        scored += [s for s in (_treatment_score(state, p, []) for p in binaries) if s]
    _choose(state, "treatment", scored, threshold=0.3)
    _record_treated_value(state)


#: How many of the best-scored 0/1 candidates are checked for being a product of two others.
INTERACTION_CANDIDATES = 20


def _interaction_bonus(state: _State, scored: list[_Scored]) -> None:
    """A 0/1 column equal to the product of two other 0/1 columns (afhigh = afchnge x highearn,
    y81nrinc = y81 x nearinc) is the treated-group-by-period term of a difference-in-differences."""
    binaries = {p.name: p.values for p in state.profiles.values()
                if p.kind == "binary" and p.values is not None and p.name not in state.blocked}
    if len(binaries) < 3:
        return
    matrix = np.column_stack([np.nan_to_num(v, nan=-1.0) for v in binaries.values() if v is not None])
    names = list(binaries)
    top = sorted((s for s in scored if state.profiles[s.column].kind == "binary"), key=lambda s: -s.score)
    for candidate in top[:INTERACTION_CANDIDATES]:
        factors = _product_factors(matrix, names, candidate.column)
        if factors:
            state.interactions[candidate.column] = factors
            candidate.score += 0.25
            candidate.why.append(f"equals {factors[0]} x {factors[1]}: a treated-group-by-period term "
                                 "(difference-in-differences)")


def _product_factors(matrix: np.ndarray, names: list[str], column: str) -> tuple[str, str] | None:
    d = matrix[:, names.index(column)]
    complete = (matrix >= 0).all(axis=1)
    ones = complete & (d == 1)
    if ones.sum() < 10:
        return None
    # a factor is 1 wherever the product is, and differs from it somewhere
    covers = (matrix[ones] == 1).all(axis=0) & ((matrix[complete] != d[complete, None]).any(axis=0))
    supersets = list(np.flatnonzero(covers)[:10])
    for a in range(len(supersets)):
        for b in range(a + 1, len(supersets)):
            i, j = supersets[a], supersets[b]
            both = (matrix[complete, i] == 1) & (matrix[complete, j] == 1)
            if np.array_equal(both, d[complete] == 1):
                return names[i], names[j]
    return None


def _record_treated_value(state: _State) -> None:
    treatment = state.column("treatment")
    if not treatment or state.is_fixed("treated_value") or treatment not in state.profiles:
        return
    p = state.profiles[treatment]
    if p.kind == "binary" and p.levels and set(p.levels) != {"0", "1"} and not _numeric_levels(p):
        sure = 0.95 if p.positive_known else 0.5
        how = "its label says so" if p.positive_known else "it is the rarer of two unrecognised labels: check it"
        state.roles["treated_value"] = p.positive
        state.confidence["treated_value"] = sure
        state.reasons["treated_value"] = f"'{p.positive}' read as treated ({how})"


def _numeric_levels(p: ColumnProfile) -> bool:
    try:
        [float(l) for l in p.levels]
    except ValueError:
        return False
    return True
