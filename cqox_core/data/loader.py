"""The verb: :func:`load` reads a path, bytes or a stream into a :class:`Dataset`.

Getting the bytes (size checked before reading), choosing the reader, turning
any parser failure into a :class:`DataError`, and the final clean-up. The error
codes are listed in the package docstring (``cqox_core/data/__init__.py``).
"""
from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from ..errors import DataError
from .columns import _finish
from .dataset import Dataset
from .failures import _empty_error, _unreadable
from .formats import _format_of
from .limits import Limits, _check_size
from .readers import READERS


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
