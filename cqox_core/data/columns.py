"""Column names and the checks on a parsed frame, shared by every format.

Blank header cells get positional names, duplicate names are refused (pandas
would rename them silently), unnamed empty columns are dropped and the limits
are checked again on the frame that was actually read.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pandas as pd

from ..errors import DataError
from .limits import Limits, _check_cells, _check_cols, _check_rows


def _named_columns(names: list[str], meta: dict[str, Any]) -> list[str]:
    """Give blank header cells a positional name (column_3), with a warning."""
    taken = set(names)
    out: list[str] = []
    for position, name in enumerate(names, start=1):
        if name:
            out.append(name)
            continue
        candidate = f"column_{position}"
        while candidate in taken:
            candidate += "_"
        taken.add(candidate)
        out.append(candidate)
        meta.setdefault("unnamed", []).append(candidate)
    return out


def _reject_duplicates(names: list[str], label: str) -> None:
    # Checked on the header itself: pandas would quietly rename the second 'age' to 'age.1'.
    counts = Counter(names)
    dups = [n for n, c in counts.items() if c > 1]
    if dups:
        shown = ", ".join(repr(n) for n in dups[:10])
        raise DataError(f"'{label}' has duplicate column names: {shown}.",
                        "Rename the columns so each name appears once (names are compared after trimming spaces).",
                        code="E-DATA-009")


def _finish(frame: pd.DataFrame, label: str, limits: Limits, meta: dict[str, Any]) -> pd.DataFrame:
    """Clean names, warn about empty columns, and re-check limits on the parsed frame."""
    names = [str(c).strip() for c in frame.columns]
    names = _named_columns(names, meta)
    _reject_duplicates(names, label)
    frame.columns = names
    frame = _drop_unnamed_empty(frame, meta)
    _warn_unnamed_and_empty(frame, meta)
    _mixed_offsets_to_utc(frame, meta)
    if frame.shape[1] == 0:
        raise DataError(f"'{label}' has no columns with values.", "Provide a table with at least one column.",
                        code="E-DATA-007")
    if frame.shape[0] == 0:
        raise DataError(f"'{label}' has column names but no data rows.",
                        "Add the data below the header line, or choose the file that holds the data.",
                        code="E-DATA-007")
    _check_rows(frame.shape[0], label, limits)
    _check_cols(frame.shape[1], label, limits)
    _check_cells(frame.shape[0], frame.shape[1], label, limits)
    return frame.reset_index(drop=True)


def _drop_unnamed_empty(frame: pd.DataFrame, meta: dict[str, Any]) -> pd.DataFrame:
    unnamed = set(meta.get("unnamed", []))
    drop = [c for c in frame.columns if c in unnamed and frame[c].isna().all()]
    if drop and len(drop) < frame.shape[1]:
        meta["warnings"].append(f"{len(drop)} column(s) with no name and no values were left out "
                                "(often a separator at the end of each line).")
        meta["unnamed"] = [c for c in meta["unnamed"] if c not in drop]
        frame = frame.drop(columns=drop)
    return frame


def _warn_unnamed_and_empty(frame: pd.DataFrame, meta: dict[str, Any]) -> None:
    unnamed = [c for c in meta.pop("unnamed", []) if c in frame.columns]
    if unnamed:
        meta["warnings"].append(f"{len(unnamed)} column(s) have no name in the header; they were called "
                                f"{', '.join(unnamed[:10])}. Rename them if they matter.")
    if frame.shape[0]:
        empty = [str(c) for c in frame.columns if frame[c].isna().all()]
        if empty:
            meta["warnings"].append(f"Column(s) {', '.join(empty[:10])}{' ...' if len(empty) > 10 else ''} have "
                                    "no values in any row; they cannot be used in the analysis.")


_STAMP_WITH_OFFSET = re.compile(
    r"^\s*\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})\s*$")


def _mixed_offsets_to_utc(frame: pd.DataFrame, meta: dict[str, Any]) -> None:
    """Timestamps written with different UTC offsets (+01:00 and -05:00 in one column) become UTC
    times: pandas holds one time zone per column and refuses to mix them later."""
    for column in frame.columns:
        series = frame[column]
        if not (series.dtype == object or isinstance(series.dtype, pd.StringDtype)):
            continue
        present = series.dropna()
        sample = present.iloc[:200].astype(str)
        if sample.empty:
            continue
        offsets = {m.group(1).replace(":", "").replace("Z", "+0000") if m else None
                   for m in map(_STAMP_WITH_OFFSET.match, sample)}
        if None in offsets or len(offsets) < 2:
            continue
        parsed = pd.to_datetime(series, errors="coerce", utc=True, format="ISO8601")
        if parsed.notna().sum() < 0.98 * len(present):
            continue
        frame[column] = parsed
        shown = ", ".join(sorted(o for o in offsets if o)[:4])
        meta["warnings"].append(f"Column {column} mixes time zones (UTC offsets {shown}); its times were "
                                "converted to UTC.")
