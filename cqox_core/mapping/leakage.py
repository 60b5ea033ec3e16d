"""The leakage guard: columns no role may use, and columns kept out of the covariates.

Blocked outright: quantities only a simulation knows (potential outcomes, true
effects) and empty or constant columns. Kept out of the covariates, with the
reason: near-copies of the outcome, restatements of the treatment (lockstep
copies, doses, sub-indicators, lead dummies), later measurements, other
outcomes, estimated propensity scores, dates and identifiers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .cues import (
    LEAK_CORRELATION,
    LEAK_TOKENS,
    MOSTLY_MISSING,
    OUTCOME_CUES,
    PROPENSITY_WORDS,
    RANK_LEAK_CORRELATION,
    STRONG_OUTCOME,
    TREATMENT_LOCKSTEP,
)
from .guess_panel import _time_score
from .names import NameInfo, name_match
from .periods import _period_evidence
from .profile import ColumnProfile
from .state import _corr, _corr_columns, _rank_corr, _State


def _block_unusable(state: _State) -> None:
    for p in state.profiles.values():
        if p.name in state.taken:
            continue
        reason = _leak_by_name(p.info) or _empty_or_constant(p)
        if reason:
            state.blocked[p.name] = reason
            state.excluded[p.name] = reason


def _leak_by_name(info: NameInfo) -> str | None:
    """Names of quantities only a simulation knows, or that encode the answer."""
    tokens = set(info.tokens)
    words = info.words
    if tokens & {"true", "truth", "oracle", "groundtruth"} and words:
        return "a true (simulated) quantity, unknown in real data: would leak the answer"
    if words in (("y",), ("mu",), ("po",), ("yhat",)) and info.trailing_digits in (("0",), ("1",)):
        return "looks like a potential outcome: would leak the answer"
    if "potential" in words and ("outcome" in words or "y" in words):
        return "looks like a potential outcome: would leak the answer"
    # "spend_if_no_coupon", "y_if_treated", "outcome_without_program": the outcome under another arm
    conditional = {"if", "without", "had", "under"}
    arms = {"no", "not", "none", "treated", "untreated", "control", "without", "treatment"}
    if conditional & set(words) and arms & set(words) and len(words) > 2:
        return "looks like the outcome under another treatment (a counterfactual): would leak the answer"
    for token, what in LEAK_TOKENS.items():
        if token in words:
            return f"looks like {what}: would leak the answer"
    if "effect" in words and ({"true", "individual", "treatment"} & set(words)):
        return "looks like a true treatment effect: would leak the answer"
    return None


def _empty_or_constant(p: ColumnProfile) -> str | None:
    if p.kind == "empty":
        return "missing in every row"
    if p.kind == "constant":
        value = p.levels[0] if p.levels else (f"{np.nanmax(p.values):g}" if p.values is not None else "")
        return f"the same value in every row ({value}): carries no information"
    return None


def _leak_like_propensity(info: NameInfo) -> bool:
    return bool(set(info.words) & set(PROPENSITY_WORDS))


def _treatment_derived(state: _State, treatment: str) -> dict[str, str]:
    """Columns that restate the treatment: lockstep copies, doses, sub-indicators, event dummies."""
    t = state.profiles[treatment].values if treatment in state.profiles else None
    if t is None:
        return {}
    binary = state.profiles[treatment].kind == "binary"
    out: dict[str, str] = {}
    ever = _ever_treated_rows(state, t) if binary else None
    pool = [p for p in state.pool("numeric", "binary") if p.values is not None]
    correlations = _corr_columns([p.values for p in pool if p.values is not None], t)
    for p, r in zip(pool, correlations):
        reason = _lockstep(p, t, treatment, r)
        if binary and not reason:
            # a dose is 0 where the treatment is 0: a column without a single 0 is not one (cheap to
            # rule out, and most columns of a wide file are)
            maybe_dose = p.kind == "numeric" and bool(np.any(p.values == 0))
            reason = ((maybe_dose and _dose_of(p, t, treatment)) or _nested_in(p, t, treatment)
                      or _event_dummy(p, t, ever, treatment))
        if reason:
            out[p.name] = reason
    return out


def _lockstep(p: ColumnProfile, t: np.ndarray, treatment: str, r: float | None = None) -> str | None:
    r = _corr(p.values, t) if r is None else r
    if np.isfinite(r) and abs(r) >= TREATMENT_LOCKSTEP:
        return (f"moves in lockstep with the treatment {treatment} (r={r:.2f}): a restatement of it, "
                "not a covariate")
    return None


def _dose_of(p: ColumnProfile, t: np.ndarray, treatment: str) -> str | None:
    if p.kind != "numeric":
        return None
    ok = np.isfinite(p.values) & np.isfinite(t)
    if ok.sum() < 20 or t[ok].min() == t[ok].max():
        return None
    zero = p.values[ok] == 0
    if np.mean(zero == (t[ok] == 0)) >= 0.99:
        return f"zero exactly when {treatment} is 0: the treatment's dose or amount, not a covariate"
    return None


def _nested_in(p: ColumnProfile, t: np.ndarray, treatment: str) -> str | None:
    if p.kind != "binary":
        return None
    ok = np.isfinite(p.values) & np.isfinite(t)
    ones = ok & (p.values == 1)
    if ones.sum() >= 10 and t[ones].min() == 1 and ones.sum() < (ok & (t == 1)).sum():
        return f"is 1 only in rows where {treatment} is 1: derived from the treatment (e.g. an event-time dummy)"
    return None


def _ever_treated_rows(state: _State, t: np.ndarray) -> np.ndarray | None:
    unit, time = state.column("unit"), state.column("time")
    if not unit or not time:
        return None
    codes = state.profiles[unit].codes
    frame = pd.DataFrame({"u": codes, "d": np.nan_to_num(t)})
    ever = frame.groupby("u")["d"].transform("max").to_numpy()
    return np.where(codes >= 0, ever, np.nan)


def _event_dummy(p: ColumnProfile, t: np.ndarray, ever: np.ndarray | None, treatment: str) -> str | None:
    """In a panel, a 0/1 that is 1 only before treatment in units treated later: a lead dummy."""
    if ever is None or p.kind != "binary":
        return None
    ok = np.isfinite(p.values) & np.isfinite(t) & np.isfinite(ever)
    ones = ok & (p.values == 1)
    if ones.sum() < 3 or np.nanmean(ever) > 0.8:
        return None
    if ever[ones].min() == 1 and t[ones].max() == 0:
        return (f"is 1 only before treatment in units treated later: derived from {treatment}'s timing "
                "(a lead dummy)")
    return None


def _outcome_leaks(state: _State, outcome: str) -> dict[str, str]:
    y = state.profiles[outcome].values
    if y is None:
        return {}
    out: dict[str, str] = {}
    pool = [p for p in state.pool("numeric", "binary") if p.values is not None]
    for p, r in zip(pool, _corr_columns([p.values for p in pool if p.values is not None], y)):
        if np.isfinite(r) and abs(r) >= LEAK_CORRELATION:
            out[p.name] = f"near-perfect correlate of the outcome (r={r:.2f}): would leak the answer"
        elif np.isfinite(r) and abs(r) >= 0.5:
            rho = _rank_corr(p.values, y) if p.values is not None else float("nan")
            if np.isfinite(rho) and abs(rho) >= RANK_LEAK_CORRELATION:
                out[p.name] = (f"ranks rows exactly like the outcome (rank r={rho:.2f}): a rescaled copy "
                               "(e.g. its log), would leak the answer")
    return out


def _later_measurements(state: _State, outcome: str) -> dict[str, str]:
    """When the outcome is dated (re78, wt82_71), columns dated as late are post-treatment."""
    families = state.periods()
    info = state.profiles[outcome].info
    if info.stem not in families or not info.years:
        return {}
    post_year = max(info.years)
    out = {}
    for p in state.pool():
        # only dated measures count: c10 ... c22 (city dummies) are not the years 2010 ... 2022
        dated = p.info.stem in families or len(p.info.years) == 2
        if p.info.years and dated and max(p.info.years) >= post_year:
            out[p.name] = (f"measured in {max(p.info.years)}, the outcome's period: it may be affected by the "
                           "treatment")
    return out


def _other_outcomes(state: _State, outcome: str | None) -> dict[str, str]:
    families = state.periods()
    out = {}
    for p in state.pool("numeric", "binary"):
        strength, word = name_match(p.info, OUTCOME_CUES)
        if _period_evidence(p, families)[1] > 0:
            continue                      # re74 before re78: a baseline, the best covariate there is
        if strength >= STRONG_OUTCOME and p.name != outcome:
            out[p.name] = (f"named like an outcome ('{word}'): usually measured after treatment; add it back "
                           "if it was recorded before")
    return out


def _unusable_as_covariate(state: _State, p: ColumnProfile) -> str | None:
    if p.kind == "datetime" or (p.kind in ("category", "text") and p.date_share >= 0.9):
        return "a date or period label, not a covariate"
    if p.kind == "text":
        return f"text with {p.n_unique} distinct values: too many to use as a covariate"
    if p.kind in ("category", "binary") and p.values is None and p.unique_ratio >= 0.98:
        return "an identifier (one distinct value per row), not a covariate"
    if p.missing_share > MOSTLY_MISSING:
        return f"mostly missing ({p.missing_share:.0%} of rows)"
    if _leak_like_propensity(p.info):
        return "looks like an estimated propensity score: a function of treatment assignment, not a covariate"
    if time_like := _time_score(p):
        if time_like.score >= 0.6:
            return "another time index, not a covariate"
    return None
