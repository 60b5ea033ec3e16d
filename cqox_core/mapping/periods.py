"""When a column was measured: year families (re74, re75, re78) and before/after words in names.

Shared by the outcome, the running variable and the leakage guard.
"""
from __future__ import annotations

from .cues import BASELINE_WORDS, POST_WORDS
from .names import NameInfo
from .profile import ColumnProfile


def _time_families(profiles: dict[str, ColumnProfile]) -> dict[str, tuple[int, ...]]:
    """Stems measured in several years (re74, re75, re78) -> the years seen.

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
    return families


def _period_evidence(p: ColumnProfile, families: dict[str, tuple[int, ...]]) -> tuple[float, float, str]:
    """(post-period fit 0..1, baseline penalty, description) from years and words in the name."""
    words = set(p.info.words)
    years = families.get(p.info.stem)
    if years and p.info.years:
        change = len(p.info.years) == 2
        if max(p.info.years) == years[-1]:
            what = (f"a change between {min(p.info.years)} and {max(p.info.years)}" if change
                    else f"measured last ({_short_years(years)})")
            return (1.0 if change else 0.9), 0.0, what
        return 0.0, 0.25, f"measured earlier ({max(p.info.years)} of {_short_years(years)}): a baseline"
    if words & set(POST_WORDS):
        return 0.8, 0.0, f"named as measured after ('{sorted(words & set(POST_WORDS))[0]}')"
    if words & set(BASELINE_WORDS):
        return 0.0, 0.25, f"named as measured before ('{sorted(words & set(BASELINE_WORDS))[0]}')"
    return 0.0, 0.0, ""


def _short_years(years: tuple[int, ...]) -> str:
    return ", ".join(str(y) for y in years)
