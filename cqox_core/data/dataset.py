"""The :class:`Dataset`: a loaded table, the contract the rest of the engine relies on."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..errors import DataError


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
