"""What a column's name says: tokens, trailing years, log markers, and how well a cue word fits.

Names are tokenised, so ``spend_after_90d``, ``SpendAfter90d`` and
``spend.after.90d`` read alike.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from .cues import LOG_MARKERS

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_PIECES = re.compile(r"[A-Za-z]+|[0-9]+")


def name_tokens(name: object) -> tuple[str, ...]:
    """Lower-case word and number tokens: ``'SpendAfter90d'`` -> ('spend', 'after', '90', 'd')."""
    text = _CAMEL.sub(" ", str(name))
    return tuple(piece.lower() for piece in _PIECES.findall(text))


def _is_year_token(token: str) -> bool:
    return token.isdigit() and (len(token) == 2 or (len(token) == 4 and 1900 <= int(token) <= 2100))


def _full_year(value: int) -> int:
    # two-digit years: '74 is 1974, '04 is 2004 (survey data rarely predate 1930)
    if value >= 100:
        return value
    return 1900 + value if value >= 30 else 2000 + value


def _unlog(word: str, known: Iterable[str]) -> str | None:
    """'lwage' -> 'wage' when 'wage' is a word we know (a log-scale version)."""
    for marker in ("log", "ln", "l"):
        rest = word[len(marker):]
        if word.startswith(marker) and len(rest) >= 3 and rest in known:
            return rest
    return None


@dataclass(frozen=True)
class NameInfo:
    """What a column's name says, parsed once."""

    tokens: tuple[str, ...]
    words: tuple[str, ...]          # alphabetic tokens without log markers
    joined: str                     # the words run together: 'quarternum'
    trailing_digits: tuple[str, ...]
    years: tuple[int, ...]          # trailing year-like numbers, full form (1978, 1982 ...)
    stem: str                       # the name without trailing numbers
    logged: bool                    # a log marker was present ('l_homicide', 'lwage', 'log_sales')


def parse_name(name: object) -> NameInfo:
    tokens = name_tokens(name)
    cut = len(tokens)
    while cut > 0 and tokens[cut - 1].isdigit():
        cut -= 1
    trailing = tokens[cut:]
    yearly = bool(trailing) and all(map(_is_year_token, trailing))
    years = tuple(_full_year(int(t)) for t in trailing) if yearly else ()
    alpha = [t for t in tokens if not t.isdigit()]
    logged = len(alpha) > 1 and alpha[0] in LOG_MARKERS
    words = tuple(alpha[1:]) if logged else tuple(alpha)
    stem = "_".join(tokens[:cut]) if cut else ""
    return NameInfo(tokens, words, "".join(words), trailing, years, stem, logged)


def name_match(info: NameInfo, cues: dict[str, float], *, unlog: bool = True) -> tuple[float, str | None]:
    """Best cue for a name: (strength 0..1, the cue word).

    Strength is the cue's weight times how well it fits: the whole name (1.0),
    the only word (0.95), one of several words (0.85), the start or end of a
    word (0.7) or inside a word (0.55). Ties go to the cue listed first.
    """
    index = _cue_index(cues)
    key = (info.words, info.joined, info.trailing_digits, unlog)
    found = index.memo.get(key)
    if found is None:
        found = _best_cue(info, index, unlog)
        if len(index.memo) > MEMO_SIZE:
            index.memo.clear()            # a long-running app meets many names; keep memory bounded
        index.memo[key] = found
    return found


#: Names remembered per cue list (a wide file repeats the same words in thousands of columns).
MEMO_SIZE = 200_000


@dataclass
class _CueIndex:
    cues: dict[str, float]
    order: dict[str, int]
    longest: int
    memo: dict[tuple, tuple[float, str | None]]


_INDEXES: dict[int, _CueIndex] = {}


def _cue_index(cues: dict[str, float]) -> _CueIndex:
    index = _INDEXES.get(id(cues))
    if index is None or index.cues is not cues:
        index = _CueIndex(cues, {c: i for i, c in enumerate(cues)}, max(map(len, cues), default=0), {})
        _INDEXES[id(cues)] = index
    return index


def _best_cue(info: NameInfo, index: _CueIndex, unlog: bool) -> tuple[float, str | None]:
    """Every cue that fits, found by dictionary look-ups of the name, its words and their pieces
    (the same fits as scanning every cue, in time that does not grow with the vocabulary)."""
    cues = index.cues
    words = list(info.words)
    if unlog:
        words += [u for u in (_unlog(w, cues) for w in info.words) if u]
    fits: dict[str, float] = {}

    def offer(cue: str, fit: float) -> None:
        if fit > fits.get(cue, 0.0):
            fits[cue] = fit

    if info.joined in cues:
        cue = info.joined
        # 'd89' is a year dummy, not 'd'; 'z2' is still the second instrument
        offer(cue, 1.0 if len(cue) > 1 or len("".join(info.trailing_digits)) <= 1 else 0.0)
    single = len(info.words) == 1
    for word in words:
        if word in cues and len(word) > 1:
            offer(word, 0.95 if single else 0.85)
        for size in range(4, min(len(word), index.longest) + 1):
            for at in range(len(word) - size + 1):
                piece = word[at:at + size]
                if piece in cues:
                    offer(piece, 0.7 if at == 0 or at + size == len(word) else 0.55)
    best, best_word = 0.0, None
    for cue, fit in sorted(fits.items(), key=lambda item: index.order[item[0]]):
        if fit * cues[cue] > best:
            best, best_word = fit * cues[cue], cue
    return best, best_word
