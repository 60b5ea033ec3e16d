"""Loading and validating tabular files into a :class:`Dataset`.

``load`` reads CSV/TSV/TXT (delimited text), Parquet, Excel (.xlsx) and JSON
(records array, or JSON Lines) from a path or from raw bytes (the web app
passes uploads as bytes). Uploads are untrusted, so every size limit is checked
*before* the full parse (from the byte size, the newline count, the header
line, the Parquet footer or the zip directory), and every failure a file can
cause is a :class:`DataError` with a stable code:

    E-DATA-001  file not found (or a folder, or unreadable)
    E-DATA-002  unsupported file type
    E-DATA-003  too many bytes
    E-DATA-004  too many rows (for Parquet/Excel: as declared by the file)
    E-DATA-005  too many columns
    E-DATA-006  empty file (no bytes, or only whitespace)
    E-DATA-007  a header but no data rows
    E-DATA-008  not readable as a table (binary junk, bad JSON, ragged rows, NUL bytes)
    E-DATA-009  duplicate column names
    E-DATA-010  text that is not valid in the encoding its byte-order mark declares
    E-DATA-011  archive bomb (an .xlsx or Parquet that decompresses to far too much)
    E-DATA-012  corrupt or truncated Parquet / Excel file
    E-DATA-013  JSON that is not a list of records
    E-DATA-014  a CQOX_MAX_* setting that is not a positive whole number

Decisions a user might trip over:

- Mixed encodings (some lines UTF-8, some Windows-1252): each line is read in
  its own encoding and a warning says so; the file is not rejected.
- Ragged rows: a row with *more* values than the header is an error naming the
  line (the values would otherwise shift or be dropped silently); a row with
  fewer values is padded with missing cells, as spreadsheets do.
- A column with no name and no values (a trailing delimiter, Excel formatting)
  is dropped with a warning; other empty names or empty columns only warn.
- Decimal commas ("3,5" in a semicolon file) are read as numbers, with a warning.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import numbers
import os
import re
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Mapping

import pandas as pd

from .errors import DataError


# ---------------------------------------------------------------------------
# Dataset (the contract other modules rely on)
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded table: the frame, the sha256 of the source bytes and its name.

    ``meta`` holds what the loader inferred: ``format``, ``encoding`` and
    ``delimiter`` (text formats), ``size_bytes`` and ``warnings`` (a list of
    plain-language sentences to show the user).
    """

    frame: pd.DataFrame
    sha256: str
    source: str = "<frame>"
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return int(self.frame.shape[0])

    @property
    def n_cols(self) -> int:
        return int(self.frame.shape[1])

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, source: str = "<frame>") -> "Dataset":
        """Wrap an in-memory frame; its sha256 hashes the frame's contents."""
        if not isinstance(frame, pd.DataFrame):
            raise DataError("Expected a pandas DataFrame.", "Pass a DataFrame, a Dataset or a file path.",
                            code="E-DATA-002")
        if frame.columns.duplicated().any():
            dups = sorted(set(map(str, frame.columns[frame.columns.duplicated()])))
            raise DataError(f"Duplicate column names: {', '.join(dups)}.",
                            "Rename the columns so each name is unique.", code="E-DATA-009")
        digest = hashlib.sha256()
        digest.update(",".join(map(str, frame.columns)).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).values.tobytes())
        return cls(frame=frame, sha256=digest.hexdigest(), source=source)


# ---------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    """Upper bounds on what ``load`` accepts; checked before the full parse."""

    max_bytes: int = 200_000_000
    max_rows: int = 5_000_000
    max_cols: int = 2_000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_rows", "max_cols"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive integer, got {value!r}.")
            object.__setattr__(self, name, int(value))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Limits":
        """Defaults overridden by CQOX_MAX_BYTES / CQOX_MAX_ROWS / CQOX_MAX_COLS."""
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for attr, var in (("max_bytes", "CQOX_MAX_BYTES"), ("max_rows", "CQOX_MAX_ROWS"),
                          ("max_cols", "CQOX_MAX_COLS")):
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
SAMPLE_CHARS = 64_000
SNIFF_CHARS = 16_000
DELIMITERS = (",", ";", "\t", "|")

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

# Leading bytes of common non-text files, to say what was uploaded instead.
BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0", "an old-style Office file (such as Excel .xls)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"%PDF-", "a PDF document"),
    (b"\x7fELF", "a program"),
)
PARQUET_MAGIC = b"PAR1"
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")
LEADING_BLANK_LINES = re.compile(r"(?:[ \t]*(?:\r\n|\r|\n))+")
DECIMAL_COMMA = r"\s*[-+]?\d+(?:,\d+)?\s*"


# ---------------------------------------------------------------------------
# The verb
# ---------------------------------------------------------------------------
def load(source: str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO, *,
         name: str | None = None, limits: Limits | None = None) -> Dataset:
    """Read a table from a path or raw bytes into a :class:`Dataset`.

    ``name`` gives the file name (and so the format) of raw bytes; without it
    the format is guessed from the content. ``limits`` defaults to
    :meth:`Limits.from_env`. Any problem with the file raises
    :class:`DataError` with a code (see the module docstring) and a hint.
    """
    limits = limits if limits is not None else Limits.from_env()
    raw, source_name = _read_source(source, name, limits)
    fmt = _format_of(source_name, raw)
    if not raw:
        raise _empty_error(source_name)
    meta: dict[str, Any] = {"format": fmt, "size_bytes": len(raw), "warnings": []}
    reader = READERS[fmt]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # parser chatter is turned into meta["warnings"] or errors
            frame = reader(raw, source_name, limits, meta)
    except DataError:
        raise
    except MemoryError:
        raise DataError(f"'{source_name}' is too large to read into memory on this server.",
                        "Upload fewer rows or columns.", code="E-DATA-003") from None
    except Exception as exc:  # a third-party parser failing on hostile input; never let it escape raw
        raise _unreadable(fmt, source_name, exc) from exc
    frame = _finish(frame, source_name, limits, meta)
    return Dataset(frame=frame, sha256=hashlib.sha256(raw).hexdigest(), source=source_name, meta=meta)


def as_dataset(data: "Dataset | pd.DataFrame | str | Path") -> Dataset:
    """Accept a Dataset, a DataFrame or a path (the Python API's ``data`` argument)."""
    if isinstance(data, Dataset):
        return data
    if isinstance(data, pd.DataFrame):
        return Dataset.from_frame(data)
    if isinstance(data, (str, Path)):
        return load(data)
    raise DataError(f"Cannot use an object of type {type(data).__name__} as data.",
                    "Pass a pandas DataFrame, a cqox Dataset or a path to a CSV/TSV/Parquet/Excel/JSON file.",
                    code="E-DATA-002")


# ---------------------------------------------------------------------------
# Getting the bytes
# ---------------------------------------------------------------------------
def _read_source(source: Any, name: str | None, limits: Limits) -> tuple[bytes, str]:
    """The raw bytes and the display name; size checked before reading a file."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        label = Path(name).name if name else "<bytes>"
        _check_size(len(raw), label, limits)
        return raw, label
    if isinstance(source, (str, os.PathLike)):
        return _read_path(Path(source), name, limits)
    if hasattr(source, "read"):  # an open binary file or an upload object
        label = name or Path(str(getattr(source, "name", "<stream>"))).name
        raw = source.read(limits.max_bytes + 1)
        if not isinstance(raw, (bytes, bytearray)):
            raise DataError("The stream returned text, not bytes.", "Open the file in binary mode ('rb').",
                            code="E-DATA-002")
        _check_size(len(raw), label, limits)
        return bytes(raw), label
    raise DataError(f"Cannot read data from an object of type {type(source).__name__}.",
                    "Pass a file path, or the file's bytes together with name='file.csv'.", code="E-DATA-002")


def _read_path(path: Path, name: str | None, limits: Limits) -> tuple[bytes, str]:
    label = name or path.name
    if path.is_dir():
        raise DataError(f"'{path}' is a folder, not a file.", "Give the path of a data file inside it.",
                        code="E-DATA-001")
    if not path.exists():
        hint = "Check the path and the spelling; paths are relative to the folder you started from."
        if "\n" in str(path):
            hint = "This looks like file contents rather than a path: pass them as bytes with name='x.csv'."
        raise DataError(f"File not found: '{path}'.", hint, code="E-DATA-001")
    _format_of(label, b"")  # reject an unsupported extension before reading anything
    try:
        _check_size(path.stat().st_size, label, limits)
        with path.open("rb") as handle:
            raw = handle.read(limits.max_bytes + 1)
    except OSError as exc:
        raise DataError(f"'{path}' could not be opened ({exc.strerror or exc}).",
                        "Check that the file is readable by the user running CQOx.", code="E-DATA-001") from None
    _check_size(len(raw), label, limits)  # the file may have grown since stat()
    return raw, label


def _check_size(n_bytes: int, label: str, limits: Limits) -> None:
    if n_bytes > limits.max_bytes:
        raise DataError(f"'{label}' is {_human_bytes(n_bytes)}; the limit is {_human_bytes(limits.max_bytes)}.",
                        "Upload a smaller file (filter rows or drop columns you do not need), "
                        "or ask the administrator to raise CQOX_MAX_BYTES.", code="E-DATA-003")


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


# ---------------------------------------------------------------------------
# Text: encoding and binary detection
# ---------------------------------------------------------------------------
def _decode(raw: bytes, label: str, meta: dict[str, Any]) -> str:
    """Text of the file; records meta['encoding'] and rejects binary content."""
    _reject_known_binary(raw, label)
    declared = _declared_encoding(raw)
    if declared is not None:
        python_codec, meta["encoding"] = declared
        text = _decode_declared(raw, python_codec, label)
    elif b"\x00" in raw:
        raise _nul_error(raw, label)
    else:
        try:
            text = raw.decode("utf-8")
            meta["encoding"] = "utf-8"
        except UnicodeDecodeError:
            text = _decode_legacy(raw, meta)
    _reject_control_characters(text, label)
    return text


def _declared_encoding(raw: bytes) -> tuple[str, str] | None:
    """(codec to decode with, name to report) from a byte-order mark, if any."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "utf-8-sig"
    if raw.startswith(codecs.BOM_UTF16_LE):
        return "utf-16", "utf-16-le"
    if raw.startswith(codecs.BOM_UTF16_BE):
        return "utf-16", "utf-16-be"
    return None


def _decode_declared(raw: bytes, encoding: str, label: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        declared = "UTF-8" if encoding == "utf-8-sig" else "UTF-16"
        raise DataError(f"'{label}' starts with a {declared} marker, but the bytes near position {exc.start} "
                        f"are not valid {declared}.",
                        "Open the file in a text editor or spreadsheet and save it again as UTF-8.",
                        code="E-DATA-010") from None


def _decode_legacy(raw: bytes, meta: dict[str, Any]) -> str:
    """Not UTF-8: Windows-1252 (or Latin-1), or a mix of lines in UTF-8 and those."""
    if UTF8_MULTIBYTE.search(raw):
        mixed = _decode_mixed(raw, meta)
        if mixed is not None:
            return mixed
    for encoding in ("cp1252", "latin-1"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        meta["encoding"] = encoding
        return text
    raise AssertionError("latin-1 decodes every byte string")  # pragma: no cover


def _decode_mixed(raw: bytes, meta: dict[str, Any]) -> str | None:
    """Decode line by line when some lines are UTF-8 and others are not.

    Files pasted together from two exports end up like this; reading the whole
    file as Windows-1252 would garble every accent in the UTF-8 lines ("Ã©").
    Returns None when no line is valid non-ASCII UTF-8 (a plain legacy file).
    """
    lines = raw.splitlines(keepends=True)
    decoded: list[str] = []
    utf8_lines: list[int] = []
    legacy_lines: list[int] = []
    legacy_name = "cp1252"
    for number, line in enumerate(lines, start=1):
        if line.isascii():
            decoded.append(line.decode("ascii"))
            continue
        try:
            decoded.append(line.decode("utf-8"))
            utf8_lines.append(number)
        except UnicodeDecodeError:
            legacy_lines.append(number)
            try:
                decoded.append(line.decode("cp1252"))
            except UnicodeDecodeError:
                decoded.append(line.decode("latin-1"))
                legacy_name = "latin-1"
    if not utf8_lines:
        return None
    meta["encoding"] = f"mixed (utf-8 and {legacy_name})"
    shown = ", ".join(map(str, legacy_lines[:5])) + (", ..." if len(legacy_lines) > 5 else "")
    meta["warnings"].append(
        f"The file mixes two text encodings: {len(utf8_lines)} line(s) are UTF-8 and {len(legacy_lines)} "
        f"are {'Windows-1252' if legacy_name == 'cp1252' else 'Latin-1'} (line {shown}). Each line was read "
        "in its own encoding; check accented text, and save the file as UTF-8 to avoid this.")
    return "".join(decoded)


def _reject_known_binary(raw: bytes, label: str) -> None:
    for signature, what in BINARY_SIGNATURES:
        if raw.startswith(signature):
            raise DataError(f"'{label}' is {what}, not a text table.",
                            f"Upload {SUPPORTED_TEXT}, with the extension that matches its content.",
                            code="E-DATA-008")
    if raw.startswith(PARQUET_MAGIC) and raw.endswith(PARQUET_MAGIC):
        raise DataError(f"'{label}' is a Parquet file, not a text table.",
                        "Rename it to end in .parquet and upload it again.", code="E-DATA-008")


def _nul_error(raw: bytes, label: str) -> DataError:
    sample = raw[:4096]
    # UTF-16 text without a byte-order mark has a zero byte beside every ASCII character.
    if sample.count(b"\x00") > len(sample) // 3:
        return DataError(f"'{label}' contains zero bytes; it looks like UTF-16 text without a byte-order mark.",
                         "Save the file as UTF-8 (or 'Unicode text' with a BOM) and upload it again.",
                         code="E-DATA-008")
    line = raw[: raw.index(b"\x00")].count(b"\n") + 1
    return DataError(f"'{label}' contains a NUL (zero) byte on line {line}, so it is binary data rather than "
                     "text.",
                     "Export the table again as CSV; if only a few cells are damaged, delete them in an editor.",
                     code="E-DATA-008")


def _reject_control_characters(text: str, label: str) -> None:
    if "\x00" in text:
        raise _nul_error(text.encode("utf-8", "replace"), label)
    sample = text[:SAMPLE_CHARS]
    controls = len(CONTROL_CHARS.findall(sample))
    # A text table has no control characters besides tab and line ends; junk has ~20%.
    if controls > max(2, len(sample) // 100):
        raise DataError(f"'{label}' does not look like text: {controls} of its first {len(sample)} characters "
                        "are control codes.",
                        f"Upload {SUPPORTED_TEXT}, with the extension that matches its content.",
                        code="E-DATA-008")


def _empty_error(label: str) -> DataError:
    return DataError(f"'{label}' is empty.", "Choose the file that holds the data; it may not have been saved.",
                     code="E-DATA-006")


# ---------------------------------------------------------------------------
# Delimited text
# ---------------------------------------------------------------------------
def _read_delimited(raw: bytes, label: str, limits: Limits, meta: dict[str, Any]) -> pd.DataFrame:
    text = _decode(raw, label, meta)
    skip = _leading_blank_length(text)
    text = text[skip:]
    if not text.strip():
        raise _empty_error(label)
    delimiter = _detect_delimiter(text, "\t" if label.lower().endswith(".tsv") else None)
    meta["delimiter"] = delimiter
    _note_delimiter_surprises(label, delimiter, text, meta)
    names = _header(text, delimiter, label)
    if not names:
        raise _empty_error(label)
    _check_cols(len(names), label, limits)
    # An upper bound from the line breaks (quoted line breaks and blank lines count too), before parsing.
    _check_rows(_count_lines(text) - 1, label, limits, estimated=True)
    names = _named_columns([name.strip().lstrip("\ufeff").strip() for name in names], meta)
    _reject_duplicates(names, label)
    # Plain UTF-8 is parsed from the original bytes (the skipped blank lines are ASCII, one byte per character).
    payload = raw[skip:] if meta["encoding"] == "utf-8" else text.encode("utf-8")
    frame = _parse_delimited(payload, text, names, delimiter, label)
    if delimiter != ",":
        _convert_decimal_commas(frame, meta)
    return frame


def _leading_blank_length(text: str) -> int:
    match = LEADING_BLANK_LINES.match(text)
    return match.end() if match else 0


def _count_lines(text: str) -> int:
    # Old Mac files end lines with '\r' alone; Windows ones with '\r\n'.
    breaks = max(text.count("\n"), text.count("\r"))
    return breaks + (0 if text.endswith(("\n", "\r")) else 1)


def _detect_delimiter(text: str, preferred: str | None) -> str:
    """The separator that splits the sample into the most consistent field counts.

    csv.Sniffer is right most of the time but guesses on ambiguous samples, so
    its answer is kept only when it splits lines at least as consistently as
    the best candidate found by counting fields.
    """
    sample = text[:SAMPLE_CHARS]
    truncated = len(text) > SAMPLE_CHARS
    scores = {d: _split_consistency(sample, d, truncated) for d in DELIMITERS}
    viable = {d: s for d, s in scores.items() if s[1] > 1}
    if not viable:
        return preferred or ","
    sniffed = _sniff(sample[:SNIFF_CHARS])
    return max(viable, key=lambda d: (viable[d][0], d == sniffed, d == preferred, viable[d][1]))


def _sniff(sample: str) -> str | None:
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except Exception:  # the sniffer raises on ambiguous input; it is only a tie-breaker
        return None


def _split_consistency(sample: str, delimiter: str, truncated: bool) -> tuple[float, int]:
    """(share of lines with the most common field count, that count)."""
    try:
        rows = [len(r) for r in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter) if r]
    except csv.Error:
        return 0.0, 0
    if truncated and len(rows) > 1:
        rows = rows[:-1]  # the last line of a cut sample is partial
    rows = rows[:500]
    if not rows:
        return 0.0, 0
    fields, count = Counter(rows).most_common(1)[0]
    return count / len(rows), fields


def _note_delimiter_surprises(label: str, delimiter: str, text: str, meta: dict[str, Any]) -> None:
    names = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}
    if label.lower().endswith(".tsv") and delimiter != "\t":
        meta["warnings"].append(f"'{label}' is named .tsv but its values are separated by {names[delimiter]}; "
                                f"it was read with {names[delimiter]}.")
    if not any(d in text[:SAMPLE_CHARS] for d in DELIMITERS):
        meta["warnings"].append("Only one column was found: no comma, semicolon, tab or '|' separates the values. "
                                "If the file has several columns, export it again as CSV.")


def _header(text: str, delimiter: str, label: str) -> list[str]:
    try:
        first = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error as exc:
        raise DataError(f"The first line of '{label}' cannot be read as column names ({exc}).",
                        "A quote (\") is probably opened and never closed; fix the header line.",
                        code="E-DATA-008") from None
    return first


def _parse_delimited(payload: bytes, text: str, names: list[str], delimiter: str, label: str) -> pd.DataFrame:
    """pandas' C parser on UTF-8 bytes (about twice as fast as on a str).

    polars was measured too: on this project's 2-core servers it was no faster
    (65 MB: 0.23 s pandas vs 0.26 s polars + conversion) and it reads booleans
    and missing-value markers differently, so one parser keeps dtypes the same
    for small and large files.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame = pd.read_csv(io.BytesIO(payload), encoding="utf-8", sep=delimiter, header=0, names=names,
                                index_col=False, low_memory=False, skip_blank_lines=True, quotechar='"')
        except pd.errors.ParserError as exc:
            raise _parser_error(text, delimiter, len(names), label, str(exc)) from None
        except pd.errors.EmptyDataError:
            raise _empty_error(label) from None
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise _parser_error(text, delimiter, len(names), label, "")  # pandas dropped extra values
    return frame


def _parser_error(text: str, delimiter: str, n_names: int, label: str, message: str) -> DataError:
    if "EOF inside string" in message:
        row = re.search(r"row (\d+)", message)
        where = f" (it starts in data row {row.group(1)})" if row else ""
        return DataError(f"'{label}' has a quote (\") that is opened and never closed{where}.",
                         "Close the quote or remove it, then upload the file again.", code="E-DATA-008")
    line, n_fields = _first_long_row(text, delimiter, n_names)
    if line is None:
        found = re.search(r"line (\d+), saw (\d+)", message)
        line, n_fields = (int(found.group(1)), int(found.group(2))) if found else (None, None)
    if line is None:
        return DataError(f"'{label}' could not be read as a table ({message.strip() or 'ragged rows'}).",
                         "Open it in a spreadsheet, check that every row has one value per column, "
                         "and export it again as CSV.", code="E-DATA-008")
    return DataError(f"Line {line} of '{label}' has {n_fields} values but the header names {n_names} columns.",
                     f"Fix line {line} (an unquoted separator inside a value is the usual cause), or quote "
                     "values that contain the separator.", code="E-DATA-008")


def _first_long_row(text: str, delimiter: str, n_names: int) -> tuple[int | None, int | None]:
    """Physical line number and field count of the first row longer than the header."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        next(reader, None)
        for row in reader:
            if len(row) > n_names:
                return reader.line_num, len(row)
    except csv.Error:
        return None, None
    return None, None


def _convert_decimal_commas(frame: pd.DataFrame, meta: dict[str, Any]) -> None:
    """Read '3,5' as 3.5 in files that do not use the comma as separator."""
    converted: list[str] = []
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) or not pd.api.types.is_string_dtype(values):
            continue
        present = values.dropna().astype(str)
        if present.empty or not present.str.fullmatch(DECIMAL_COMMA).all() or not present.str.contains(",").any():
            continue
        frame[column] = pd.to_numeric(values.astype(str).str.replace(",", ".", regex=False).where(values.notna()))
        converted.append(str(column))
    if converted:
        meta["warnings"].append(f"Column(s) {', '.join(converted)} use a decimal comma (as in 3,5); they were "
                                "read as numbers.")


# ---------------------------------------------------------------------------
# Parquet
# ---------------------------------------------------------------------------
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
    inflated = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    cap = UNCOMPRESSED_FACTOR * limits.max_bytes
    if inflated > cap:
        raise DataError(f"'{label}' declares {_human_bytes(inflated)} of data once decompressed; the limit is "
                        f"{_human_bytes(cap)}.",
                        "Upload fewer rows or columns. A small file that expands this much may be malicious.",
                        code="E-DATA-011")


# ---------------------------------------------------------------------------
# Excel
# ---------------------------------------------------------------------------
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


def _looks_like_text(raw: bytes) -> bool:
    sample = raw[:4096]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # a multi-byte character cut at the sample's end is fine
            return False
    return not CONTROL_CHARS.search(sample.decode("latin-1").replace("\r", "").replace("\n", "").replace("\t", ""))


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


# ---------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------
def _read_json(raw: bytes, label: str, limits: Limits, meta: dict[str, Any]) -> pd.DataFrame:
    text = _decode(raw, label, meta)
    if not text.strip():
        raise _empty_error(label)
    try:
        document = json.loads(text, object_pairs_hook=_object_without_duplicate_keys)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            # several objects one after another: JSON Lines saved as .json
            meta["format"] = "jsonl"
            meta["warnings"].append(f"'{label}' holds one JSON object per line (JSON Lines); it was read as such.")
            return _records_frame(_json_lines(text, label, limits), label, limits)
        raise DataError(f"'{label}' is not valid JSON: {exc.msg.lower()} at line {exc.lineno}, column {exc.colno}.",
                        "Export the data again, or check the file with a JSON validator.", code="E-DATA-008") from None
    except RecursionError:
        raise DataError(f"'{label}' is nested too deeply to be a table.",
                        "Provide a flat list of records: [{\"column\": value, ...}, ...].", code="E-DATA-013") from None
    return _records_frame(_as_records(document, label), label, limits)


def _read_json_lines(raw: bytes, label: str, limits: Limits, meta: dict[str, Any]) -> pd.DataFrame:
    text = _decode(raw, label, meta)
    if not text.strip():
        raise _empty_error(label)
    return _records_frame(_json_lines(text, label, limits), label, limits)


def _json_lines(text: str, label: str, limits: Limits) -> list[dict[str, Any]]:
    # split on '\n' only: str.splitlines() would also break at U+2028, which is legal inside a JSON string
    numbered = [(i, line) for i, line in enumerate(text.split("\n"), start=1) if line.strip()]
    _check_rows(len(numbered), label, limits)
    records: list[dict[str, Any]] = []
    for number, line in numbered:
        try:
            record = json.loads(line, object_pairs_hook=_object_without_duplicate_keys)
        except json.JSONDecodeError as exc:
            raise DataError(f"Line {number} of '{label}' is not valid JSON: {exc.msg.lower()} "
                            f"(column {exc.colno}).", "Fix or remove that line.", code="E-DATA-008") from None
        except RecursionError:
            raise DataError(f"Line {number} of '{label}' is nested too deeply.", "Use flat records.",
                            code="E-DATA-013") from None
        if not isinstance(record, dict):
            raise DataError(f"Line {number} of '{label}' is {_json_kind(record)}, not an object with named fields.",
                            "Write one object per line, such as {\"age\": 31, \"treated\": 1}.", code="E-DATA-013")
        records.append(record)
    return records


def _object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys without a word; a table cannot have both.
    keys = [k.strip() for k, _ in pairs]
    if len(set(keys)) != len(keys):
        dups = sorted({k for k in keys if keys.count(k) > 1})
        raise DataError(f"A JSON record repeats the field name(s) {', '.join(map(repr, dups))}.",
                        "Rename the fields so each name appears once per record.", code="E-DATA-009")
    return dict(pairs)


def _as_records(document: Any, label: str) -> list[dict[str, Any]]:
    if isinstance(document, list):
        for position, item in enumerate(document, start=1):
            if not isinstance(item, dict):
                raise DataError(f"Item {position} of the list in '{label}' is {_json_kind(item)}, not a record "
                                "(an object with named fields).",
                                "Provide a list of records: [{\"age\": 31, \"treated\": 1}, ...].", code="E-DATA-013")
        return document
    hint = "Provide a list of records: [{\"age\": 31, \"treated\": 1}, ...] (pandas: to_json(orient='records'))."
    if isinstance(document, dict):
        nested = [k for k, v in document.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if nested:
            hint = f"The records seem to be under the key '{nested[0]}': save that list on its own."
        elif document and all(isinstance(v, list) for v in document.values()):
            hint = "This is column-oriented JSON ({column: [values]}); export it with orient='records'."
    raise DataError(f"'{label}' holds {_json_kind(document)}, not a list of records.", hint, code="E-DATA-013")


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a text value", bool: "true/false", type(None): "null"}
    return kinds.get(type(value), "a number")


def _records_frame(records: list[dict[str, Any]], label: str, limits: Limits) -> pd.DataFrame:
    if not records:
        raise DataError(f"'{label}' contains no records.", "Provide at least one record with values.",
                        code="E-DATA-007")
    _check_rows(len(records), label, limits)
    columns = list(dict.fromkeys(k for record in records for k in record))
    _check_cols(len(columns), label, limits)
    return pd.DataFrame.from_records(records, columns=columns)


# ---------------------------------------------------------------------------
# Checks shared by every format
# ---------------------------------------------------------------------------
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
    if frame.shape[1] == 0:
        raise DataError(f"'{label}' has no columns with values.", "Provide a table with at least one column.",
                        code="E-DATA-007")
    if frame.shape[0] == 0:
        raise DataError(f"'{label}' has column names but no data rows.",
                        "Add the data below the header line, or choose the file that holds the data.",
                        code="E-DATA-007")
    _check_rows(frame.shape[0], label, limits)
    _check_cols(frame.shape[1], label, limits)
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


def _unreadable(fmt: str, label: str, exc: Exception) -> DataError:
    if fmt in ("parquet", "xlsx"):
        return _corrupt(label, "Parquet" if fmt == "parquet" else "Excel", False)
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    return DataError(f"'{label}' could not be read as a table ({detail}).",
                     "Open it in a spreadsheet, check that it is a plain table with one header line, and export "
                     "it again as CSV.", code="E-DATA-008")


def _human_bytes(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1000
    return f"{size:,.1f} GB"  # pragma: no cover


Reader = Callable[[bytes, str, Limits, dict[str, Any]], pd.DataFrame]
READERS: dict[str, Reader] = {
    "csv": _read_delimited,
    "parquet": _read_parquet,
    "xlsx": _read_xlsx,
    "json": _read_json,
    "jsonl": _read_json_lines,
}
