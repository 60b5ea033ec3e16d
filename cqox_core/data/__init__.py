"""Loading and validating tabular files into a :class:`Dataset`.

``load`` reads CSV/TSV/TXT (delimited text), Parquet, Excel (.xlsx) and JSON
(records array, or JSON Lines) from a path or from raw bytes (the web app
passes uploads as bytes). Uploads are untrusted, so every size limit is checked
*before* the full parse (from the byte size, the newline count, the header
line, the Parquet footer or the zip directory), and every failure a file can
cause is a :class:`DataError` with a stable code (E-DATA-001 to E-DATA-014; their meanings are
listed once, in ``cqox_core.errors.CATALOGUE`` and docs/ERRORS.md).

Decisions a user might trip over:

- Mixed encodings (some lines UTF-8, some Windows-1252): each line is read in
  its own encoding and a warning says so; the file is not rejected.
- Ragged rows: a row with *more* values than the header is an error naming the
  line (the values would otherwise shift or be dropped silently); a row with
  fewer values is padded with missing cells, as spreadsheets do.
- A column with no name and no values (a trailing delimiter, Excel formatting)
  is dropped with a warning; other empty names or empty columns only warn.
- Decimal commas ("3,5" in a semicolon file) are read as numbers, with a warning.

Layout: ``dataset`` (the Dataset contract), ``limits`` (size limits and their
checks), ``loader`` (the ``load`` verb: getting the bytes, dispatching to a
reader, the final clean-up), ``formats`` (extension to reader), ``text``
(encodings and binary detection), ``columns`` (header names and the checks on
the parsed frame), ``failures`` (errors several readers share) and
``readers/`` (one module per file format). Only the names below are public;
names with a leading underscore are shared between this package's modules only.
"""
from __future__ import annotations

from .dataset import Dataset
from .limits import Limits
from .loader import as_dataset, load

__all__ = ["Dataset", "Limits", "as_dataset", "load"]
