"""Loading and validating tabular files into a :class:`Dataset`.

(Helper-owned: the full loader with limits is being written; the Dataset API
below is the contract other modules rely on.)
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DataError


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded table: the frame, the sha256 of the source bytes and its name."""

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


def load(path: str | Path, **limits: Any) -> Dataset:
    raise NotImplementedError  # replaced by the full loader


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
