"""Upper bounds on what ``load`` accepts, and the checks every reader runs against them.

Uploads are untrusted, so each limit is checked before the full parse: from the
byte size, the line count, the header, the Parquet footer or the zip directory.

The size of a table is bounded by a **cell budget** (rows x columns), not by a
column count alone: a wide file of 10,000 columns x 1,000 rows (gene panels,
survey item batteries) holds as many cells as 100 columns x 100,000 rows and
loads and maps in seconds. The row and column ceilings stay as backstops (a
header of a million names, or a 5-million-row file, is refused before parsing).
"""
from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from typing import Mapping

from ..errors import DataError


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what ``load`` accepts; checked before the full parse."""

    max_bytes: int = 200_000_000
    max_rows: int = 5_000_000
    max_cols: int = 20_000
    max_cells: int = 50_000_000      # rows x columns: 10,000 columns x 5,000 rows, 50 x 1,000,000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_rows", "max_cols", "max_cells"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive integer, got {value!r}.")
            object.__setattr__(self, name, int(value))

    def describe(self) -> str:
        """The budget in plain words, for the upload page and error hints."""
        return (f"up to {self.max_cells:,} cells (rows x columns, e.g. {self.max_cells // 5_000:,} columns x "
                f"5,000 rows or 50 columns x {self.max_cells // 50:,} rows), at most {self.max_rows:,} rows and "
                f"{self.max_cols:,} columns")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Limits":
        """Defaults overridden by CQOX_MAX_BYTES / CQOX_MAX_ROWS / CQOX_MAX_COLS / CQOX_MAX_CELLS."""
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for attr, var in (("max_bytes", "CQOX_MAX_BYTES"), ("max_rows", "CQOX_MAX_ROWS"),
                          ("max_cols", "CQOX_MAX_COLS"), ("max_cells", "CQOX_MAX_CELLS")):
            text = env.get(var, "").strip()
            if text:
                values[attr] = _positive_int_setting(var, text)
        return cls(**values)


def _positive_int_setting(var: str, text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise DataError(f"The setting {var}={text!r} is not a positive whole number.",
                        f"Set {var} to a number such as 1000000, or unset it to use the default.",
                        code="E-DATA-014")
    return value


# Parquet and .xlsx inflate when read; allow this multiple of the byte limit
# (a 200 MB CSV already makes a frame of that order) ...
UNCOMPRESSED_FACTOR = 10
# ... but never more than this for .xlsx, since openpyxl holds shared strings
# and XML in memory.
XLSX_MAX_UNCOMPRESSED = 1_000_000_000
# Real sheets compress 5-20x; zip bombs compress hundreds to millions of times.
MAX_COMPRESSION_RATIO = 100
# Below this size a member cannot hurt, whatever its ratio.
RATIO_CHECK_FROM_BYTES = 1_000_000


def _check_size(n_bytes: int, label: str, limits: Limits) -> None:
    if n_bytes > limits.max_bytes:
        raise DataError(f"'{label}' is {_human_bytes(n_bytes)}; the limit is {_human_bytes(limits.max_bytes)}.",
                        "Upload a smaller file (filter rows or drop columns you do not need), "
                        "or ask the administrator to raise CQOX_MAX_BYTES.", code="E-DATA-003")


def _check_rows(n_rows: int, label: str, limits: Limits, *, estimated: bool = False) -> None:
    if n_rows > limits.max_rows:
        about = "about " if estimated else ""
        raise DataError(f"'{label}' has {about}{n_rows:,} data rows; the limit is {limits.max_rows:,}.",
                        "Filter or sample the rows before uploading, or ask the administrator to raise "
                        "CQOX_MAX_ROWS.", code="E-DATA-004")


def _check_cols(n_cols: int, label: str, limits: Limits) -> None:
    if n_cols > limits.max_cols:
        raise DataError(f"'{label}' has {n_cols:,} columns; the limit is {limits.max_cols:,}.",
                        "Keep only the columns the analysis needs (outcome, treatment, covariates), or ask "
                        "the administrator to raise CQOX_MAX_COLS.", code="E-DATA-005")


def _check_cells(n_rows: int, n_cols: int, label: str, limits: Limits, *, estimated: bool = False) -> None:
    if n_rows * n_cols > limits.max_cells:
        about = "about " if estimated else ""
        raise DataError(f"'{label}' has {about}{n_rows:,} rows x {n_cols:,} columns = {about}{n_rows * n_cols:,} "
                        f"cells; the limit is {limits.max_cells:,} cells (rows x columns).",
                        f"Keep only the columns the analysis needs, or fewer rows: at {n_cols:,} columns up to "
                        f"{limits.max_cells // max(n_cols, 1):,} rows fit. Or ask the administrator to raise "
                        "CQOX_MAX_CELLS.", code="E-DATA-015")


def _human_bytes(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1000
    return f"{size:,.1f} GB"  # pragma: no cover
