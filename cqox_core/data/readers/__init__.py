"""One reader per file format; each takes (raw bytes, display name, limits, meta) and returns a frame."""
from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from ..limits import Limits
from .delimited import _read_delimited
from .excel import _read_xlsx
from .json_records import _read_json, _read_json_lines
from .parquet import _read_parquet

Reader = Callable[[bytes, str, Limits, dict[str, Any]], pd.DataFrame]
READERS: dict[str, Reader] = {
    "csv": _read_delimited,
    "parquet": _read_parquet,
    "xlsx": _read_xlsx,
    "json": _read_json,
    "jsonl": _read_json_lines,
}
