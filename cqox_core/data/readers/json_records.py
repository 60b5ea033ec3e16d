"""JSON: a list of records, or JSON Lines (one object per line)."""
from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ...errors import DataError
from ..failures import _empty_error
from ..limits import Limits, _check_cells, _check_cols, _check_rows
from ..text import _decode


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
    _check_cells(len(records), len(columns), label, limits)
    return pd.DataFrame.from_records(records, columns=columns)
