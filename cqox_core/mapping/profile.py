"""What a column's values look like, summarised once per column.

A profile holds the kind (binary, numeric, category, text, datetime, constant,
empty), a float view of the values, grouping codes, the levels, which level
reads as 'treated/yes', and how many labels parse as dates or periods.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .cues import MAX_CATEGORY_LEVELS, MAX_PROFILE_ROWS, NEGATIVE_LEVELS, POSITIVE_LEVELS
from .names import NameInfo, parse_name


@dataclass(frozen=True, eq=False)
class ColumnProfile:
    """One column, summarised once: name parse, kind and value pattern."""

    name: str
    position: int
    info: NameInfo
    kind: str                        # numeric | binary | category | text | datetime | constant | empty
    values: np.ndarray | None        # float view (binary as 0/1) with NaN for missing
    codes: np.ndarray | None         # integer codes for grouping (any kind), -1 for missing
    n_rows: int
    n_missing: int
    n_unique: int
    is_integer: bool
    levels: tuple[str, ...]          # original levels of a binary or category column
    positive: str | None             # the level read as 1 in a labelled binary column
    positive_known: bool             # the positive level was recognised from its label
    date_share: float                # share of values that parse as dates/periods
    date_sortable: bool              # text dates whose alphabetical order is chronological

    @property
    def n_valid(self) -> int:
        return self.n_rows - self.n_missing

    @property
    def missing_share(self) -> float:
        return self.n_missing / self.n_rows if self.n_rows else 1.0

    @property
    def unique_ratio(self) -> float:
        return self.n_unique / self.n_valid if self.n_valid else 0.0

    def describe(self) -> str:
        if self.kind == "binary":
            share = np.nanmean(self.values) if self.values is not None else float("nan")
            if self.positive is not None and self.levels and set(self.levels) != {"0", "1"}:
                return f"two values ({'/'.join(self.levels)}), '{self.positive}' in {share:.0%} of rows"
            return f"0/1, 1 in {share:.0%} of rows"
        if self.kind == "numeric":
            if self.n_unique <= 10:
                return f"numeric with {self.n_unique} levels"
            return "continuous" if not self.is_integer else "numeric (counts or amounts)"
        return self.kind


def _profile_frame(frame: pd.DataFrame) -> dict[str, ColumnProfile]:
    sample = frame
    if len(frame) > MAX_PROFILE_ROWS:
        # a seeded, order-preserving sample keeps panels' within-unit order
        rng = np.random.default_rng(0)
        rows = np.sort(rng.choice(len(frame), MAX_PROFILE_ROWS, replace=False))
        sample = frame.iloc[rows]
    numeric = [i for i, dtype in enumerate(sample.dtypes) if _plain_number_dtype(dtype)]
    profiles = _numeric_block_profiles(sample, numeric)
    for i, col in enumerate(sample.columns):
        if i not in profiles:
            profiles[i] = _profile(str(col), sample.iloc[:, i], i)
    return {profiles[i].name: profiles[i] for i in range(sample.shape[1])}


#: Cells per chunk of numeric columns profiled together (bounds the temporary arrays to ~16 MB).
BLOCK_CELLS = 2_000_000


def _numeric_block_profiles(sample: pd.DataFrame, positions: list[int]) -> dict[int, ColumnProfile]:
    """Profiles of plain numeric columns, computed a block of columns at a time: a file may have
    10,000 columns, and one numpy call over a block costs what one pandas call per column would."""
    out: dict[int, ColumnProfile] = {}
    n_rows = len(sample)
    step = max(1, BLOCK_CELLS // max(n_rows, 1))
    for start in range(0, len(positions), step):
        chunk = positions[start:start + step]
        block = np.asfortranarray(sample.iloc[:, chunk].to_numpy(dtype=float, na_value=np.nan))
        codes, n_missing, n_unique, is_integer = _block_stats(block)
        for j, position in enumerate(chunk):
            name = str(sample.columns[position])
            base: dict[str, Any] = {"name": name, "position": position, "info": parse_name(name), "n_rows": n_rows,
                                    "n_missing": int(n_missing[j])}
            if n_missing[j] == n_rows:
                out[position] = ColumnProfile(kind="empty", values=None, codes=None, n_unique=0, is_integer=False,
                                              levels=(), positive=None, positive_known=False, date_share=0.0,
                                              date_sortable=False, **base)
                continue
            out[position] = _numeric_profile(block[:, j], codes[:, j], base,
                                             known=(int(n_unique[j]), bool(is_integer[j])))
    return out


def _block_stats(block: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per column: sorted-unique codes (-1 for missing; infinities are values, as for
    pandas.factorize), missing count, finite distinct count, and whether all finite values are whole."""
    missing = np.isnan(block)
    finite = np.isfinite(block)
    order = np.argsort(block, axis=0, kind="stable")          # NaN sorts last
    ordered = np.take_along_axis(block, order, axis=0)
    differs = np.ones_like(ordered, dtype=bool)
    differs[1:] = ordered[1:] != ordered[:-1]
    present = ~np.isnan(ordered)
    starts = differs & present
    group = np.cumsum(starts, axis=0) - 1
    codes = np.empty(block.shape, dtype=np.intp, order="F")
    np.put_along_axis(codes, order, np.where(present, group, -1), axis=0)
    finite_starts = starts & np.isfinite(ordered)
    whole = np.where(finite, np.mod(np.where(finite, block, 0.0), 1) == 0, True).all(axis=0)
    is_integer = whole & finite.any(axis=0)
    return codes, missing.sum(axis=0), finite_starts.sum(axis=0), is_integer


def _profile(name: str, series: pd.Series, position: int) -> ColumnProfile:
    info = parse_name(name)
    n_rows = int(series.size)
    missing = series.isna().to_numpy()
    n_missing = int(missing.sum())
    base = dict(name=name, position=position, info=info, n_rows=n_rows, n_missing=n_missing)
    if n_missing == n_rows:
        return ColumnProfile(kind="empty", values=None, codes=None, n_unique=0, is_integer=False,
                             levels=(), positive=None, positive_known=False, date_share=0.0,
                             date_sortable=False, **base)
    try:
        codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    except TypeError:                     # mixed numbers and text cannot be sorted together
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    n_unique = int(len(uniques))
    if pd.api.types.is_datetime64_any_dtype(series):
        return ColumnProfile(kind="datetime" if n_unique > 1 else "constant", values=None, codes=codes,
                             n_unique=n_unique, is_integer=False, levels=(), positive=None,
                             positive_known=False, date_share=1.0, date_sortable=True, **base)
    numbers = _as_numbers(series)
    if numbers is not None:
        return _numeric_profile(numbers, codes, base)
    return _label_profile(series, codes, n_unique, base)


def _plain_number_dtype(dtype: Any) -> bool:
    return (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            and not isinstance(dtype, pd.CategoricalDtype))


def _as_numbers(series: pd.Series) -> np.ndarray | None:
    """A float view of a numeric, boolean or numbers-as-text column; None otherwise."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64").to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    # categories '0'/'1' (NHEFS sex, race) and numbers stored as text are numbers
    present = int(series.notna().sum())
    parsed = pd.to_numeric(series.astype("object").where(series.notna()), errors="coerce")
    if present and parsed.notna().sum() >= 0.98 * present:
        return parsed.to_numpy(dtype=float, na_value=np.nan)
    return None


def _numeric_profile(numbers: np.ndarray, codes: np.ndarray, base: dict[str, Any],
                     known: tuple[int, bool] | None = None) -> ColumnProfile:
    if known is None:
        finite = numbers[np.isfinite(numbers)]
        is_integer = bool(finite.size and np.all(np.mod(finite, 1) == 0))
        n_unique = int(np.unique(finite).size)
    else:
        n_unique, is_integer = known
    kind, levels, positive = "numeric", (), None
    if n_unique <= 1:
        kind = "constant"
    elif n_unique == 2:
        kind = "binary"
        lo, hi = np.unique(numbers[np.isfinite(numbers)])
        numbers = np.where(np.isfinite(numbers), (numbers == hi).astype(float), np.nan)
        levels = tuple(_format_level(v) for v in (lo, hi))
        positive = _format_level(hi)
    return ColumnProfile(kind=kind, values=numbers, codes=codes, n_unique=n_unique, is_integer=is_integer,
                         levels=levels, positive=positive, positive_known=True, date_share=0.0,
                         date_sortable=False, **base)


def _format_level(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _label_profile(series: pd.Series, codes: np.ndarray, n_unique: int, base: dict[str, Any]) -> ColumnProfile:
    labels = [str(v) for v in pd.unique(series.dropna())]
    date_share, sortable = _date_pattern(labels)
    common = dict(codes=codes, n_unique=n_unique, is_integer=False, date_share=date_share,
                  date_sortable=sortable, **base)
    if n_unique <= 1:
        return ColumnProfile(kind="constant", values=None, levels=tuple(labels), positive=None,
                             positive_known=False, **common)
    if n_unique == 2 and date_share < 0.9:          # two dates are two periods, not two arms
        positive, known = _positive_level(series, labels)
        values = np.where(series.isna().to_numpy(), np.nan,
                          (series.astype("object").astype(str) == positive).to_numpy(dtype=float))
        return ColumnProfile(kind="binary", values=values, levels=tuple(labels), positive=positive,
                             positive_known=known, **common)
    kind = "category" if n_unique <= MAX_CATEGORY_LEVELS else "text"
    return ColumnProfile(kind=kind, values=None, levels=tuple(labels[:50]), positive=None,
                         positive_known=False, **common)


def _squash(label: str) -> str:
    return re.sub(r"[^a-z0-9]", "", label.lower())


def _positive_level(series: pd.Series, labels: list[str]) -> tuple[str, bool]:
    """Which of two labels means 'treated/yes'; known=False when we fell back to the rarer one."""
    squashed = {label: _squash(label) for label in labels}
    yes = [l for l in labels if squashed[l] in POSITIVE_LEVELS]
    no = [l for l in labels if squashed[l] in NEGATIVE_LEVELS]
    if len(yes) == 1:
        return yes[0], True
    if len(no) == 1:
        return next(l for l in labels if l != no[0]), True
    counts = series.astype("object").astype(str).value_counts()
    return str(counts.index[-1]), False


_PERIOD_LABEL = re.compile(
    r"^(q[1-4][-_ /]?\d{4}|\d{4}[-_ /]?q[1-4]|\d{4}[-_ /]?(0[1-9]|1[0-2])|\d{4}m\d{1,2})$")


def _date_pattern(labels: list[str]) -> tuple[float, bool]:
    """Share of labels that read as dates or periods, and whether text order is time order."""
    sample = [l.strip() for l in labels[:200]]
    if not sample:
        return 0.0, False
    periods = sum(bool(_PERIOD_LABEL.match(l.lower())) for l in sample)
    candidates = [l for l in sample if re.search(r"\d", l) and re.search(r"[-/:. ]", l) and len(l) >= 6]
    parsed = pd.Series(dtype="datetime64[ns]")
    if candidates:
        parsed = _parse_dates(candidates)
    share = max(periods, int(parsed.notna().sum())) / len(sample)
    sortable = False
    if share >= 0.9 and parsed.notna().sum() >= 0.9 * len(sample):
        texts = [c for c, ok in zip(candidates, parsed.notna()) if ok]
        by_text = np.argsort(np.array(texts), kind="stable")
        by_time = np.argsort(parsed.dropna().to_numpy(), kind="stable")
        sortable = bool(np.array_equal(by_text, by_time))
    return share, sortable


def _parse_dates(labels: list[str]) -> pd.Series:
    """Labels read as dates; offsets that differ between rows (+01:00 and -05:00) are put on UTC
    rather than refused (pandas will not hold two time zones in one column)."""
    series = pd.Series(labels, dtype=object)
    try:
        return pd.to_datetime(series, errors="coerce", format="mixed")
    except (ValueError, TypeError, OverflowError):
        return pd.to_datetime(series, errors="coerce", format="mixed", utc=True)
