"""Text files: decoding (byte-order marks, UTF-8, Windows-1252, mixed lines) and rejecting binary content."""
from __future__ import annotations

import codecs
import re
from typing import Any

from ..errors import DataError
from .formats import PARQUET_MAGIC, SUPPORTED_TEXT

SAMPLE_CHARS = 64_000

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
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


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


def _looks_like_text(raw: bytes) -> bool:
    sample = raw[:4096]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # a multi-byte character cut at the sample's end is fine
            return False
    return not CONTROL_CHARS.search(sample.decode("latin-1").replace("\r", "").replace("\n", "").replace("\t", ""))
