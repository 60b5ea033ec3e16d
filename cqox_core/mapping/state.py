"""The working memory of one inference and the choice among scored candidates.

Also the numeric helpers the guessers share: correlations on complete rows and
the confidence of a choice (how strong the winner is, and how far ahead of the
runner-up).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..roles import Roles
from .periods import Periods, _time_families
from .profile import ColumnProfile


def _corr(a: np.ndarray, b: np.ndarray, min_n: int = 10) -> float:
    """Pearson r on the rows where both are present (NaN if undefined)."""
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < min_n:
        return float("nan")
    x, y = a[ok], b[ok]
    sx, sy = x.std(), y.std()
    if sx == 0 or sy == 0:
        return float("nan")
    return float(np.mean((x - x.mean()) * (y - y.mean())) / (sx * sy))


def _corr_columns(columns: list[np.ndarray], target: np.ndarray, min_n: int = 10) -> np.ndarray:
    """:func:`_corr` of each column with ``target``: columns complete where the target is are done a
    block at a time with one matrix-vector product (a file may have 10,000 of them), the others
    one by one."""
    out = np.full(len(columns), np.nan)
    rows = np.isfinite(target)
    n = int(rows.sum())
    if not columns or n < min_n:
        return out
    y = target[rows]
    yc = y - y.mean()
    sy = np.sqrt(yc @ yc / n)
    every_row = n == target.size
    step = max(1, CORR_BLOCK_CELLS // n)
    for start in range(0, len(columns), step):
        idx = range(start, min(start + step, len(columns)))
        block = np.column_stack([columns[j] if every_row else columns[j][rows] for j in idx])
        complete = np.isfinite(block).all(axis=0)
        if sy > 0 and complete.any():
            x = block[:, complete]
            x -= x.mean(axis=0)
            sx = np.sqrt(np.einsum("ij,ij->j", x, x) / n)
            with np.errstate(invalid="ignore", divide="ignore"):
                r = (yc @ x) / n / (sx * sy)
            out[np.asarray(idx)[complete]] = np.where(sx > 0, r, np.nan)
        for j in np.asarray(idx)[~complete]:
            out[j] = _corr(columns[j], target, min_n)
    return out


#: Cells per block of columns correlated together (bounds the temporary copy to ~16 MB).
CORR_BLOCK_CELLS = 2_000_000


def _rank_corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 10:
        return float("nan")
    ra = pd.Series(a[ok]).rank().to_numpy()
    rb = pd.Series(b[ok]).rank().to_numpy()
    return _corr(ra, rb)


def _clip01(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def _confidence(best: float, rival: float) -> float:
    """Sure when the winner's evidence is strong and clearly ahead of the runner-up."""
    if best <= 0:
        return 0.0
    margin = _clip01(2.0 * (best - rival) / best)
    return round(min(0.99, _clip01(best) * (0.5 + 0.5 * margin)), 2)


@dataclass
class _Scored:
    column: str
    score: float
    why: list[str] = field(default_factory=list)


@dataclass
class _State:
    """Working memory of one inference (internal and mutable by design)."""

    frame: pd.DataFrame
    profiles: dict[str, ColumnProfile]
    fixed: Roles
    roles: dict[str, Any] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    candidates: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)     # never given any role
    taken: set[str] = field(default_factory=set)
    joined_names: set[str] = field(default_factory=set)       # 'wage', 'homicide': for log siblings
    interactions: dict[str, tuple[str, str]] = field(default_factory=dict)   # afhigh -> (afchnge, highearn)
    _periods: Periods | None = None                           # the dated columns, found once

    def periods(self) -> Periods:
        """The table's dated columns, found once per inference (several guessers ask)."""
        if self._periods is None:
            self._periods = _time_families(self.profiles)
        return self._periods

    def __post_init__(self) -> None:
        self.joined_names = {p.info.joined for p in self.profiles.values()}

    def free(self, name: str) -> bool:
        return name not in self.taken and name not in self.blocked

    def pool(self, *kinds: str) -> list[ColumnProfile]:
        return [p for p in self.profiles.values() if self.free(p.name) and (not kinds or p.kind in kinds)]

    def column(self, role: str) -> str | None:
        value = self.roles.get(role)
        return value if isinstance(value, str) else None

    def assign(self, role: str, column: str | None, confidence: float, reason: str) -> None:
        if column is None:
            return
        self.roles[role] = column
        self.taken.add(column)
        self.confidence[role] = round(_clip01(confidence), 2)
        self.reasons[role] = reason

    def is_fixed(self, role: str) -> bool:
        return role in self.fixed.assigned()


def _choose(state: _State, role: str, scored: list[_Scored], threshold: float,
            same_measure: Callable[[str, str], bool] | None = None) -> _Scored | None:
    """Pick the best candidate above ``threshold``; record alternatives and confidence."""
    ranked = sorted(scored, key=lambda s: (-s.score, state.profiles[s.column].position))
    state.candidates[role] = [(s.column, round(_clip01(s.score), 3)) for s in ranked[:6]]
    if not ranked or ranked[0].score < threshold:
        return None
    best = ranked[0]
    rivals = [s for s in ranked[1:] if not (same_measure and same_measure(best.column, s.column))]
    rival = rivals[0] if rivals else None
    why = "; ".join(best.why) if best.why else "best available candidate"
    if rival is not None and rival.score > 0.5 * best.score:
        why += f" (next best: {rival.column})"
    state.assign(role, best.column, _confidence(best.score, rival.score if rival else 0.0), why)
    return best
