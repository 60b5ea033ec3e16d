"""Malformed and hostile files: each must raise DataError with its exact code
(never a raw pandas/pyarrow/openpyxl/json/zip exception), and the few odd
files we choose to accept must load correctly.

Decisions pinned here (see the docstring of cqox_core/data/__init__.py):
- a row with more values than the header is E-DATA-008 naming the line;
- a file mixing UTF-8 and Windows-1252 lines loads, each line decoded in its
  own encoding, with a warning;
- a .tsv that actually uses commas loads (the content decides, with a warning).
"""
from __future__ import annotations

import codecs
import io
import struct
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cqox_core.data import Limits, load
from cqox_core.errors import DataError, RoleError
from cqox_core.prep import prepare
from cqox_core.roles import Roles

# A footer claiming this many rows must be refused without reading a byte of
# data. pa.nulls writes 50M rows in ~0.3 s as a ~110 KB file (RLE levels only),
# so the full-size number from the brief is used.
DECLARED_ROWS = 50_000_000
BOMB_BYTES = 200 * 1024 * 1024


def frame() -> pd.DataFrame:
    return pd.DataFrame({"id": range(1, 5), "y": [1.0, 2.5, 3.0, 4.5], "t": [0, 1, 0, 1], "grp": list("abab")})


def parquet_bytes(table: pd.DataFrame | pa.Table, **kwargs: Any) -> bytes:
    buffer = io.BytesIO()
    if isinstance(table, pd.DataFrame):
        table.to_parquet(buffer, index=False, **kwargs)
    else:
        pq.write_table(table, buffer, **kwargs)
    return buffer.getvalue()


def xlsx_bytes(table: pd.DataFrame, **kwargs: Any) -> bytes:
    buffer = io.BytesIO()
    table.to_excel(buffer, index=False, engine="openpyxl", **kwargs)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def huge_declared_parquet() -> bytes:
    return parquet_bytes(pa.table({"x": pa.nulls(DECLARED_ROWS, pa.int8())}), compression="zstd")


def zeros_parquet() -> bytes:
    """1M int64 zeros without dictionary encoding: 8 MB of plain data zstd-packed
    into a few KB, so a 100 KB byte limit (1 MB once inflated) is exceeded."""
    return parquet_bytes(pa.table({"x": pa.array(np.zeros(1_000_000, dtype=np.int64))}),
                         compression="zstd", use_dictionary=False)


@lru_cache(maxsize=1)
def deflate_bomb_xlsx() -> bytes:
    """A real zip bomb: 200 MB of '0' deflated to ~200 KB, streamed so the
    200 MB never sits in memory, under the name of a worksheet."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b"0" * (1 << 20)
            for _ in range(BOMB_BYTES // len(chunk)):
                member.write(chunk)
    return buffer.getvalue()


def forge_declared_size(raw: bytes, member: str, size: int) -> bytes:
    """Rewrite a member's uncompressed size in its local and central headers,
    as a hostile zip would (the data itself is unchanged)."""
    data = bytearray(raw)
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) != -1:
        name_length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46: start + 46 + name_length].decode() == member:
            struct.pack_into("<I", data, start + 24, size)
            local = struct.unpack_from("<I", data, start + 42)[0]
            struct.pack_into("<I", data, local + 22, size)
        start += 4
    return bytes(data)


def zip_with(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def flip_middle(raw: bytes) -> bytes:
    """Overwrite the column data (not the magic bytes or the footer) with junk."""
    footer_length = struct.unpack("<I", raw[-8:-4])[0]
    data_end = len(raw) - 8 - footer_length
    return raw[:4] + b"\xff" * (data_end - 4) + raw[data_end:]


# --------------------------------------------------------------------------
# The table of cases: (id, builder, expected code). A builder returns what to
# pass to load: (bytes or path, name, limits).
# --------------------------------------------------------------------------
Built = tuple["bytes | Path", "str | None", "Limits | None"]


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], Built]
    code: str


def as_bytes(raw: bytes, name: str, limits: Limits | None = None) -> Callable[[Path], Built]:
    return lambda tmp: (raw, name, limits)


def as_file(raw: bytes, name: str, limits: Limits | None = None) -> Callable[[Path], Built]:
    def build(tmp: Path) -> Built:
        path = tmp / name
        path.write_bytes(raw)
        return path, None, limits
    return build


RNG = np.random.default_rng(20240611)
GOOD_CSV = frame().to_csv(index=False).encode()
GOOD_PARQUET = parquet_bytes(frame(), compression="zstd")
GOOD_XLSX = xlsx_bytes(frame())
# wider than the default column backstop (20,000); 3,000 or 10,000 columns are within the cell budget
WIDE_HEADER = ",".join(f"c{i}" for i in range(30_000)).encode() + b"\n" + b",".join([b"1"] * 30_000) + b"\n"

CASES: list[Case] = [
    # E-DATA-001 / 002: where and what
    Case("missing-file", lambda tmp: (tmp / "nope.csv", None, None), "E-DATA-001"),
    Case("directory", lambda tmp: (tmp, None, None), "E-DATA-001"),
    Case("exe-extension", as_file(b"MZ\x90\x00", "setup.exe"), "E-DATA-002"),
    Case("old-xls-extension", as_bytes(b"\xd0\xcf\x11\xe0", "old.xls"), "E-DATA-002"),
    Case("no-extension", as_bytes(GOOD_CSV, "README"), "E-DATA-002"),
    # E-DATA-003 / 004 / 005: limits, checked before parsing
    Case("too-many-bytes-file", as_file(GOOD_CSV, "big.csv", Limits(max_bytes=10)), "E-DATA-003"),
    Case("too-many-bytes-upload", as_bytes(GOOD_CSV, "big.csv", Limits(max_bytes=10)), "E-DATA-003"),
    Case("too-many-rows-csv", as_bytes(b"a\n" + b"1\n" * 11, "x.csv", Limits(max_rows=10)), "E-DATA-004"),
    Case("parquet-11-rows-limit-10", as_bytes(parquet_bytes(pd.DataFrame({"a": range(11)})), "x.parquet",
                                              Limits(max_rows=10)), "E-DATA-004"),
    Case("parquet-footer-declares-50M-rows", lambda tmp: (huge_declared_parquet(), "huge.parquet", None),
         "E-DATA-004"),
    Case("xlsx-declares-too-many-rows", as_bytes(GOOD_XLSX, "x.xlsx", Limits(max_rows=3)), "E-DATA-004"),
    Case("jsonl-too-many-rows", as_bytes(b'{"a":1}\n' * 5, "x.jsonl", Limits(max_rows=4)), "E-DATA-004"),
    Case("30000-columns-default-limit", as_bytes(WIDE_HEADER, "wide.csv"), "E-DATA-005"),
    Case("cells-over-budget-csv", as_bytes(b"a,b,c\n" + b"1,2,3\n" * 4, "x.csv", Limits(max_cells=11)), "E-DATA-015"),
    Case("cells-over-budget-parquet", as_bytes(GOOD_PARQUET, "x.parquet", Limits(max_cells=10)), "E-DATA-015"),
    Case("parquet-too-many-columns", as_bytes(GOOD_PARQUET, "x.parquet", Limits(max_cols=3)), "E-DATA-005"),
    Case("xlsx-too-many-columns", as_bytes(GOOD_XLSX, "x.xlsx", Limits(max_cols=3)), "E-DATA-005"),
    # E-DATA-006 / 007: nothing to analyse
    Case("empty-file", as_file(b"", "empty.csv"), "E-DATA-006"),
    Case("whitespace-only", as_bytes(b" \r\n\t\n   \n", "blank.csv"), "E-DATA-006"),
    Case("bom-only", as_bytes(codecs.BOM_UTF8, "bom.csv"), "E-DATA-006"),
    Case("empty-parquet-bytes", as_bytes(b"", "x.parquet"), "E-DATA-006"),
    Case("header-only", as_bytes(b"id,y,t\n", "x.csv"), "E-DATA-007"),
    Case("header-then-blank-lines", as_bytes(b"id,y,t\r\n\r\n\r\n", "x.csv"), "E-DATA-007"),
    Case("xlsx-header-only", as_bytes(xlsx_bytes(frame().iloc[:0]), "x.xlsx"), "E-DATA-007"),
    Case("json-empty-list", as_bytes(b"[]", "x.json"), "E-DATA-007"),
    # E-DATA-008: not a table
    Case("random-bytes", as_bytes(RNG.bytes(4096), "junk.csv"), "E-DATA-008"),
    Case("random-bytes-no-nul", as_bytes(bytes(b for b in RNG.bytes(4096) if b), "junk.txt"), "E-DATA-008"),
    Case("png-header", as_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + RNG.bytes(64), "photo.csv"), "E-DATA-008"),
    Case("zip-named-csv", as_bytes(GOOD_XLSX, "book.csv"), "E-DATA-008"),
    Case("parquet-named-csv", as_bytes(GOOD_PARQUET, "data.csv"), "E-DATA-008"),
    Case("nul-byte", as_bytes(b"id,y\n1,2\n3,\x004\n", "x.csv"), "E-DATA-008"),
    Case("utf16-without-bom", as_bytes("id,y\n1,2\n3,4\n".encode("utf-16-le"), "x.csv"), "E-DATA-008"),
    Case("ragged-row", as_bytes(b"id,y,t\n1,2,0\n3,4,1,9\n5,6,0\n", "x.csv"), "E-DATA-008"),
    Case("ragged-first-row", as_bytes(b"id,y\n1,2,3\n4,5\n", "x.csv"), "E-DATA-008"),
    Case("unclosed-quote", as_bytes(b'id,name\n1,"Smith\n2,Doe\n', "x.csv"), "E-DATA-008"),
    Case("json-syntax-error", as_bytes(b'[{"a": 1}, {"a": 2,}]', "x.json"), "E-DATA-008"),
    Case("jsonl-syntax-error", as_bytes(b'{"a": 1}\n{"a": \n', "x.jsonl"), "E-DATA-008"),
    # E-DATA-009: duplicate names (pandas would rename the second to 'a.1')
    Case("duplicate-columns", as_bytes(b"age,income,age\n1,2,3\n", "x.csv"), "E-DATA-009"),
    Case("duplicate-after-trimming", as_bytes(b"age, age\n1,2\n", "x.csv"), "E-DATA-009"),
    Case("duplicate-xlsx", as_bytes(xlsx_bytes(pd.DataFrame([[1, 2]], columns=["a", "a"])), "x.xlsx"),
         "E-DATA-009"),
    Case("duplicate-parquet", as_bytes(parquet_bytes(pa.Table.from_arrays([pa.array([1]), pa.array([2])],
                                                                           names=["a", "a"])), "x.parquet"),
         "E-DATA-009"),
    Case("duplicate-json-keys", as_bytes(b'[{"a": 1, "a": 2}]', "x.json"), "E-DATA-009"),
    # E-DATA-010: the byte-order mark promises an encoding the bytes break
    Case("broken-utf8-after-bom", as_bytes(codecs.BOM_UTF8 + b"id,name\n1,\xff\xfe\xfd\n", "x.csv"), "E-DATA-010"),
    Case("broken-utf16-after-bom", as_bytes(codecs.BOM_UTF16_LE + "id\n1\n".encode("utf-16-le") + b"\x00\xd8",
                                            "x.txt"), "E-DATA-010"),
    # E-DATA-011: archive bombs
    Case("xlsx-deflate-bomb-200MB", lambda tmp: (deflate_bomb_xlsx(), "bomb.xlsx", None), "E-DATA-011"),
    Case("parquet-inflates-past-10x-limit", lambda tmp: (zeros_parquet(), "zeros.parquet", Limits(max_bytes=100_000)),
         "E-DATA-011"),
    Case("xlsx-forged-huge-size", as_bytes(forge_declared_size(GOOD_XLSX, "xl/worksheets/sheet1.xml",
                                                               0xFFFF0000), "forged.xlsx"), "E-DATA-011"),
    # E-DATA-012: damaged binary formats
    Case("truncated-parquet", as_bytes(GOOD_PARQUET[: len(GOOD_PARQUET) // 2], "x.parquet"), "E-DATA-012"),
    Case("parquet-garbled-data", as_bytes(flip_middle(GOOD_PARQUET), "x.parquet"), "E-DATA-012"),
    Case("parquet-that-is-csv", as_bytes(GOOD_CSV, "x.parquet"), "E-DATA-012"),
    Case("truncated-xlsx", as_bytes(GOOD_XLSX[: len(GOOD_XLSX) // 2], "x.xlsx"), "E-DATA-012"),
    Case("xlsx-that-is-csv", as_bytes(GOOD_CSV, "x.xlsx"), "E-DATA-012"),
    Case("xls-renamed-xlsx", as_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "x.xlsx"), "E-DATA-012"),
    Case("zip-without-workbook", as_bytes(zip_with({"notes.txt": b"hello"}), "x.xlsx"), "E-DATA-012"),
    Case("xlsx-forged-small-size", as_bytes(forge_declared_size(GOOD_XLSX, "xl/worksheets/sheet1.xml", 40),
                                            "x.xlsx"), "E-DATA-012"),
    # E-DATA-013: JSON that is not records
    Case("json-object", as_bytes(b'{"a": 1, "b": 2}', "x.json"), "E-DATA-013"),
    Case("json-columns-object", as_bytes(b'{"a": [1, 2], "b": [3, 4]}', "x.json"), "E-DATA-013"),
    Case("json-list-of-numbers", as_bytes(b"[1, 2, 3]", "x.json"), "E-DATA-013"),
    Case("jsonl-non-object-line", as_bytes(b'{"a": 1}\n[1, 2]\n', "x.jsonl"), "E-DATA-013"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_raises_its_code(case: Case, tmp_path: Path) -> None:
    source, name, limits = case.build(tmp_path)
    with pytest.raises(DataError) as caught:
        load(source, name=name, limits=limits)
    error = caught.value
    assert error.code == case.code, str(error)
    # plain language: a sentence and a next step, never an empty hint
    assert error.message.endswith(".") and len(error.hint) > 10, str(error)


def test_every_data_code_is_exercised() -> None:
    codes = {case.code for case in CASES}
    # E-DATA-014 (a bad CQOX_MAX_* setting) is exercised in test_data_loading.py
    assert codes == {f"E-DATA-{n:03d}" for n in range(1, 14)} | {"E-DATA-015"}


def test_parquet_footer_check_reads_no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 50M-row refusal comes from the footer: reading the data would fail this test."""
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("column data was read")

    monkeypatch.setattr(pq.ParquetFile, "read", refuse)
    with pytest.raises(DataError) as caught:
        load(huge_declared_parquet(), name="huge.parquet")
    assert caught.value.code == "E-DATA-004"
    assert "footer" in caught.value.message and f"{DECLARED_ROWS:,}" in caught.value.message


def test_xlsx_bomb_is_refused_from_the_zip_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the workbook was opened")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)
    with pytest.raises(DataError) as caught:
        load(deflate_bomb_xlsx(), name="bomb.xlsx")
    assert caught.value.code == "E-DATA-011"


def test_ragged_row_error_names_the_line() -> None:
    with pytest.raises(DataError) as caught:
        load(b"id,y,t\n1,2,0\n3,4,1,9\n5,6,0\n", name="x.csv")
    assert "Line 3" in caught.value.message and "4 values" in caught.value.message


def test_too_many_rows_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the CSV was parsed")

    monkeypatch.setattr(pd, "read_csv", refuse)
    with pytest.raises(DataError) as caught:
        load(b"a\n" + b"1\n" * 11, name="x.csv", limits=Limits(max_rows=10))
    assert caught.value.code == "E-DATA-004"


# -- odd files that we accept ------------------------------------------------------
def test_tsv_extension_with_commas_loads_by_sniffing() -> None:
    ds = load(GOOD_CSV, name="actually_commas.tsv")
    pd.testing.assert_frame_equal(ds.frame, frame().astype({"grp": ds.frame["grp"].dtype}))
    assert ds.meta["delimiter"] == ","


def test_mixed_utf8_and_cp1252_lines_load_with_a_warning() -> None:
    raw = "city,n\nMünchen,1\n".encode("utf-8") + "Besançon,2\nZürich,3\n".encode("cp1252")
    ds = load(raw, name="pasted.csv")
    assert ds.frame["city"].tolist() == ["München", "Besançon", "Zürich"]  # no 'MÃ¼nchen'
    assert ds.meta["encoding"] == "mixed (utf-8 and cp1252)"
    assert any("two text encodings" in w and "line 3, 4" in w for w in ds.meta["warnings"])


def test_all_missing_treatment_loads_and_prepare_refuses_it() -> None:
    raw = b"y,t,x\n1.0,,0.5\n2.0,,0.1\n3.0,,0.7\n4.0,,0.2\n5.5,,0.9\n"
    ds = load(raw, name="no_treatment.csv")
    assert ds.frame["t"].isna().all()
    assert any("t have no values" in w for w in ds.meta["warnings"])
    with pytest.raises(RoleError) as caught:
        prepare(ds, Roles(outcome="y", treatment="t", covariates=("x",)))
    assert caught.value.code == "E-ROLE-003"
