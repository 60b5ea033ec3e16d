"""When a column was measured: year families (re74, re75, re78), month families (LateApril,
LateSept) and before/after words in names, also glued to the measure (prewage, lagvote).

Shared by the outcome, the treatment, the running variable and the leakage guard.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from .cues import (
    BASELINE_WORDS,
    GLUED_BASELINE,
    GLUED_POST,
    MONTHS,
    OUTCOME_CUES,
    POST_WORDS,
)
from .names import NameInfo
from .profile import ColumnProfile

_LONG_OUTCOME_WORDS = tuple(c for c in OUTCOME_CUES if len(c) >= 4)


@dataclass(frozen=True)
class Periods:
    """The dated columns of one table: year families by stem, and the months named in it."""

    years: dict[str, tuple[int, ...]]
    months: tuple[int, ...]          # distinct months named alongside a measure, sorted
    evidence: dict[str, tuple[float, float, str]] = field(default_factory=dict, compare=False, repr=False)

    def get(self, stem: str) -> tuple[int, ...] | None:      # the old dict interface
        return self.years.get(stem)

    def __contains__(self, stem: object) -> bool:
        return stem in self.years


def _time_families(profiles: dict[str, ColumnProfile]) -> Periods:
    """Stems measured in several years (re74, re75, re78) -> the years seen, and the months
    named with a measure (LateApril, LateSept).

    A stem whose numbered members are not all year-like (trend_1 ... trend_51)
    is a list, not a time series, and is left out.
    """
    members: dict[str, list[NameInfo]] = {}
    for p in profiles.values():
        if p.info.trailing_digits and p.info.stem:
            members.setdefault(p.info.stem, []).append(p.info)
    families = {}
    for stem, infos in members.items():
        if any(not i.years for i in infos) or len(infos) > 8:
            continue
        years = tuple(sorted({y for i in infos for y in i.years}))
        if len(years) >= 2:
            families[stem] = years
    months = sorted({m for p in profiles.values() if (m := _month_of(p.info)) is not None})
    return Periods(families, tuple(months) if len(months) >= 2 else ())


def _month_of(info: NameInfo) -> int | None:
    """The month a measure is named for ('LateSept' -> 9); None for a bare month dummy ('feb')."""
    found = [MONTHS[w] for w in info.words if w in MONTHS]
    if len(found) != 1 or len(info.words) < 2:
        return None
    return found[0]


def _glued(info: NameInfo, prefixes: tuple[str, ...]) -> str | None:
    """'prewage' -> 'pre', 'lagvote' -> 'lag' when the rest is an outcome-like word."""
    for word in info.tokens:
        found = _glued_word(word, prefixes)
        if found:
            return found
    return None


@lru_cache(maxsize=65_536)
def _glued_word(word: str, prefixes: tuple[str, ...]) -> str | None:
    for marker in ("", "log", "ln", "l"):
        if not word.startswith(marker):
            continue
        body = word[len(marker):]
        for prefix in sorted(prefixes, key=len, reverse=True):
            rest = body[len(prefix):]
            if body.startswith(prefix) and len(rest) >= 3 and (
                    rest in OUTCOME_CUES or any(rest.endswith(c) for c in _LONG_OUTCOME_WORDS)):
                return prefix
    return None


def _period_evidence(p: ColumnProfile, families: Periods | dict[str, tuple[int, ...]]
                     ) -> tuple[float, float, str]:
    """(post-period fit 0..1, baseline penalty, description) from years, months and words in the name."""
    if isinstance(families, Periods):
        known = families.evidence.get(p.name)
        if known is None:
            known = families.evidence[p.name] = _evidence(p, families)
        return known
    return _evidence(p, families)


def _evidence(p: ColumnProfile, families: Periods | dict[str, tuple[int, ...]]) -> tuple[float, float, str]:
    words = set(p.info.words)
    years = families.get(p.info.stem)
    if years and p.info.years:
        change = len(p.info.years) == 2
        if max(p.info.years) == years[-1]:
            what = (f"a change between {min(p.info.years)} and {max(p.info.years)}" if change
                    else f"measured last ({_short_years(years)})")
            return (1.0 if change else 0.9), 0.0, what
        return 0.0, 0.25, f"measured earlier ({max(p.info.years)} of {_short_years(years)}): a baseline"
    months = families.months if isinstance(families, Periods) else ()
    month = _month_of(p.info)
    if months and month is not None:
        if month == months[-1]:
            return 0.9, 0.0, f"measured in the last month named in the table (month {month})"
        return 0.0, 0.25, f"measured in an earlier month (month {month} of {', '.join(map(str, months))}): a baseline"
    if words & set(POST_WORDS) or (glued := _glued(p.info, GLUED_POST)):
        word = min(words & set(POST_WORDS)) if words & set(POST_WORDS) else glued
        return 0.8, 0.0, f"named as measured after ('{word}')"
    if words & set(BASELINE_WORDS) or (glued := _glued(p.info, GLUED_BASELINE)):
        word = min(words & set(BASELINE_WORDS)) if words & set(BASELINE_WORDS) else glued
        return 0.0, 0.25, f"named as measured before ('{word}')"
    return 0.0, 0.0, ""


def _short_years(years: tuple[int, ...]) -> str:
    return ", ".join(str(y) for y in years)
