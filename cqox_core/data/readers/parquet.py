"""Parquet: limits checked from the footer before any column data is decompressed."""
from __future__ import annotations

from typing import Any

import pandas as pd

from ...errors import DataError
from ..columns import _reject_duplicates
from ..failures import _corrupt
from ..formats import PARQUET_MAGIC
from ..limits import UNCOMPRESSED_FACTOR, Limits, _check_cells, _check_cols, _human_bytes
from ..text import _looks_like_text


def _read_parquet(raw: bytes, label: str, limits: Limits, meta: dict[str, Any]) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not (raw.startswith(PARQUET_MAGIC) and raw.endswith(PARQUET_MAGIC) and len(raw) >= 12):
        raise _corrupt(label, "Parquet", _looks_like_text(raw))
    try:
        parquet = pq.ParquetFile(pa.BufferReader(raw))
        metadata = parquet.metadata
        names = list(parquet.schema_arrow.names)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _corrupt(label, "Parquet", False) from exc
    _check_parquet_footer(metadata, len(names), label, limits)
    _reject_duplicates([str(n).strip() for n in names], label)
    try:
        table = parquet.read()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _corrupt(label, "Parquet", False) from exc
    frame = table.to_pandas()
    index_names = [n for n in frame.index.names if n is not None]
    if index_names and not set(index_names) & set(frame.columns):
        # pandas stores the index in the file; a named one is data (e.g. an id), an unnamed one is not.
        frame = frame.reset_index()
    return frame


def _check_parquet_footer(metadata: Any, n_cols: int, label: str, limits: Limits) -> None:
    """Limits from the footer alone, before any column data is decompressed."""
    if metadata.num_rows > limits.max_rows:
        raise DataError(f"The Parquet footer of '{label}' declares {metadata.num_rows:,} rows; "
                        f"the limit is {limits.max_rows:,}.",
                        "Filter or sample the rows before uploading, or ask the administrator to raise "
                        "CQOX_MAX_ROWS.", code="E-DATA-004")
    _check_cols(n_cols, label, limits)
    _check_cells(metadata.num_rows, n_cols, label, limits)
    inflated = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    cap = UNCOMPRESSED_FACTOR * limits.max_bytes
    if inflated > cap:
        raise DataError(f"'{label}' declares {_human_bytes(inflated)} of data once decompressed; the limit is "
                        f"{_human_bytes(cap)}.",
                        "Upload fewer rows or columns. A small file that expands this much may be malicious.",
                        code="E-DATA-011")
