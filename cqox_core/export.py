"""Exports that are safe to open in a spreadsheet."""
from __future__ import annotations

import pandas as pd

#: A cell starting with one of these is run as a formula by Excel/LibreOffice/Sheets
#: (OWASP "CSV injection"); prefixing a quote makes it plain text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "|", "%")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot be interpreted as spreadsheet formulas."""
    out = frame.copy()
    out.columns = [_safe(str(c)) for c in out.columns]
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].map(lambda v: _safe(v) if isinstance(v, str) else v)
    return out


def _safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def to_safe_csv(frame: pd.DataFrame, path: str | None = None) -> str | None:
    return neutralise_formulas(frame).to_csv(path, index=False)
