"""Which reader a file needs: from its extension, or from its first bytes when it has no name."""
from __future__ import annotations

from pathlib import Path

from ..errors import DataError

EXTENSIONS: dict[str, str] = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
    ".xlsx": "xlsx", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
}
# Advice for common files we do not read, keyed by extension.
UNSUPPORTED_HINTS: dict[str, str] = {
    ".xls": "This is the old Excel format: open it in Excel and save it as .xlsx (or export CSV).",
    ".xlsb": "Open it in Excel and save it as .xlsx (or export CSV).",
    ".zip": "Unzip it first and upload the table inside.",
    ".gz": "Decompress it first and upload the table inside.",
    ".dta": "Export it to CSV or Parquet from Stata first.",
    ".sav": "Export it to CSV from SPSS first.",
}
SUPPORTED_TEXT = "CSV, TSV or TXT (delimited), Parquet, Excel (.xlsx), JSON (records) or JSON Lines"
PARQUET_MAGIC = b"PAR1"


def _format_of(name: str, raw: bytes) -> str:
    """The reader to use, from the extension; from the content for unnamed bytes."""
    if name == "<bytes>":
        return _guess_format(raw)
    suffix = Path(name).suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    shown = suffix or "(no extension)"
    hint = UNSUPPORTED_HINTS.get(suffix, f"Upload {SUPPORTED_TEXT}.")
    raise DataError(f"CQOx cannot read '{name}': files of type {shown} are not supported.", hint,
                    code="E-DATA-002")


def _guess_format(raw: bytes) -> str:
    if raw.startswith(PARQUET_MAGIC) and raw.endswith(PARQUET_MAGIC):
        return "parquet"
    if raw.startswith(b"PK\x03\x04"):
        return "xlsx"
    if raw.lstrip()[:1] in (b"[", b"{"):
        return "json"  # the JSON reader also recognises JSON Lines
    return "csv"
