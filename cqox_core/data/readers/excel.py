"""Excel (.xlsx): zip-bomb checks from the zip directory, then the first sheet streamed row by row."""
from __future__ import annotations

import io
import zipfile
from typing import Any

import pandas as pd

from ...errors import DataError
from ..columns import _named_columns, _reject_duplicates
from ..failures import _corrupt, _empty_error
from ..limits import (
    MAX_COMPRESSION_RATIO,
    RATIO_CHECK_FROM_BYTES,
    UNCOMPRESSED_FACTOR,
    XLSX_MAX_UNCOMPRESSED,
    Limits,
    _check_cells,
    _check_cols,
    _human_bytes,
)
from ..text import _looks_like_text


def _read_xlsx(raw: bytes, label: str, limits: Limits, meta: dict[str, Any]) -> pd.DataFrame:
    if not raw.startswith(b"PK\x03\x04"):
        if raw.startswith(b"\xd0\xcf\x11\xe0"):
            raise DataError(f"'{label}' is an old-style Excel (.xls) file renamed to .xlsx.",
                            "Open it in Excel and save it as .xlsx (Excel Workbook), or export CSV.",
                            code="E-DATA-012")
        raise _corrupt(label, "Excel", _looks_like_text(raw))
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise _corrupt(label, "Excel", False) from exc
    with archive:
        _check_archive(archive, label, limits)
    rows = _xlsx_rows(raw, label, limits, meta)
    return _frame_from_rows(rows, label, meta)


def _check_archive(archive: zipfile.ZipFile, label: str, limits: Limits) -> None:
    """Zip-bomb checks from the zip directory alone (nothing is decompressed).

    The declared sizes could lie, but zipfile stops at the declared size and
    then fails the CRC check, so a lie surfaces as a corrupt file, not a bomb.
    """
    members = archive.infolist()
    total = sum(m.file_size for m in members)
    cap = min(UNCOMPRESSED_FACTOR * limits.max_bytes, XLSX_MAX_UNCOMPRESSED)
    if total > cap:
        raise DataError(f"'{label}' expands to {_human_bytes(total)} when unzipped; the limit is "
                        f"{_human_bytes(cap)}.",
                        "Save the workbook with only the sheet you need, or export it as CSV. A small file "
                        "that expands this much may be malicious.", code="E-DATA-011")
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size >= RATIO_CHECK_FROM_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise DataError(f"'{label}' contains a part ({member.filename}) that is compressed {ratio:,.0f} "
                            f"times; real spreadsheets compress about 10 times. It looks like a zip bomb.",
                            "Do not open this file. If it is genuine, export the sheet as CSV and upload that.",
                            code="E-DATA-011")


def _xlsx_rows(raw: bytes, label: str, limits: Limits, meta: dict[str, Any]) -> list[tuple[Any, ...]]:
    import openpyxl
    from openpyxl.utils import range_boundaries

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises KeyError, ValueError, XML errors... on damaged workbooks
        raise _corrupt(label, "Excel", False) from exc
    try:
        if not book.worksheets:
            raise DataError(f"'{label}' has no worksheet.", "Add the data to a sheet and save it again.",
                            code="E-DATA-007")
        sheet = book.worksheets[0]
        meta["sheet"] = sheet.title
        if len(book.worksheets) > 1:
            meta["warnings"].append(f"The workbook has {len(book.worksheets)} sheets; only the first "
                                    f"('{sheet.title}') was read.")
        try:
            min_col, min_row, max_col, max_row = range_boundaries(sheet.calculate_dimension())
        except (ValueError, TypeError):
            pass  # no declared dimension: the streaming count below still guards the limits
        else:
            if max_row - min_row > limits.max_rows:
                raise DataError(f"The first sheet of '{label}' declares {max_row - min_row:,} data rows; "
                                f"the limit is {limits.max_rows:,}.",
                                "Filter or sample the rows before uploading, or ask the administrator to raise "
                                "CQOX_MAX_ROWS.", code="E-DATA-004")
            _check_cols(max_col - min_col + 1, label, limits)
            _check_cells(max_row - min_row, max_col - min_col + 1, label, limits, estimated=True)
        return _stream_rows(sheet, label, limits)
    finally:
        book.close()


def _stream_rows(sheet: Any, label: str, limits: Limits) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for row in sheet.iter_rows(values_only=True):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue  # blank rows, as read_csv skips blank lines
        rows.append(row)
        if len(rows) > limits.max_rows + 1:
            raise DataError(f"The first sheet of '{label}' has more than {limits.max_rows:,} data rows.",
                            "Filter or sample the rows before uploading, or ask the administrator to raise "
                            "CQOX_MAX_ROWS.", code="E-DATA-004")
        _check_cols(len(row), label, limits)
    return rows


def _frame_from_rows(rows: list[tuple[Any, ...]], label: str, meta: dict[str, Any]) -> pd.DataFrame:
    if not rows:
        raise _empty_error(label)
    width = max(len(r) for r in rows)
    header = [_cell_name(v) for v in rows[0]] + [""] * (width - len(rows[0]))
    names = _named_columns(header, meta)
    _reject_duplicates(names, label)
    body = [tuple(r) + (None,) * (width - len(r)) for r in rows[1:]]
    frame = pd.DataFrame(body, columns=names) if body else pd.DataFrame(columns=names)
    return frame.infer_objects()


def _cell_name(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a year typed as a header, 2020, not '2020.0'
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()
