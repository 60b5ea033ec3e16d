"""Errors that several readers raise alike: an empty, a corrupt or an unreadable file."""
from __future__ import annotations

from ..errors import DataError


def _empty_error(label: str) -> DataError:
    return DataError(f"'{label}' is empty.", "Choose the file that holds the data; it may not have been saved.",
                     code="E-DATA-006")


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "AEIOU" else f"a {kind}"


def _corrupt(label: str, kind: str, is_text: bool) -> DataError:
    if is_text:
        return DataError(f"'{label}' is named like {_article(kind)} file but contains plain text (it looks like CSV).",
                         "Rename it to end in .csv (or .json if it is JSON) and upload it again.",
                         code="E-DATA-012")
    return DataError(f"'{label}' is not a readable {kind} file: it is damaged or incomplete "
                     "(perhaps the upload or download was cut short).",
                     "Open it in the program that made it and save it again, or export the table as CSV.",
                     code="E-DATA-012")


def _unreadable(fmt: str, label: str, exc: Exception) -> DataError:
    if fmt in ("parquet", "xlsx"):
        return _corrupt(label, "Parquet" if fmt == "parquet" else "Excel", False)
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    return DataError(f"'{label}' could not be read as a table ({detail}).",
                     "Open it in a spreadsheet, check that it is a plain table with one header line, and export "
                     "it again as CSV.", code="E-DATA-008")
