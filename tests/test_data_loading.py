"""cqox_core.data.load on well-formed files: every format, delimiter and
encoding detection, bytes input, limits from the environment, and a fuzz test
that arbitrary bytes give a Dataset or a DataError, never another exception."""
from __future__ import annotations

import codecs
import hashlib
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cqox_core.data import Dataset, Limits, as_dataset, load
from cqox_core.errors import DataError


def small_frame() -> pd.DataFrame:
    """Ints, floats, text and a 0/1 treatment: the dtypes every format must keep."""
    return pd.DataFrame({
        "unit_id": [1, 2, 3, 4],
        "income": [1200.5, 980.25, -3.0, 0.0],
        "region": ["north", "south", "east", "west"],
        "treated": [0, 1, 1, 0],
    })


WRITERS: dict[str, Callable[[pd.DataFrame, Path], None]] = {
    "csv": lambda df, p: df.to_csv(p, index=False),
    "tsv": lambda df, p: df.to_csv(p, index=False, sep="\t"),
    "txt": lambda df, p: df.to_csv(p, index=False, sep="|"),
    "parquet": lambda df, p: df.to_parquet(p, index=False),
    "xlsx": lambda df, p: df.to_excel(p, index=False, engine="openpyxl"),
    "json": lambda df, p: df.to_json(p, orient="records"),
    "jsonl": lambda df, p: df.to_json(p, orient="records", lines=True),
}
EXPECTED_FORMAT = {"csv": "csv", "tsv": "csv", "txt": "csv", "parquet": "parquet", "xlsx": "xlsx",
                   "json": "json", "jsonl": "jsonl"}


def assert_same_table(loaded: pd.DataFrame, original: pd.DataFrame) -> None:
    """Same columns, values and kinds of dtype (text may be object or str)."""
    assert list(loaded.columns) == list(original.columns)
    assert loaded.shape == original.shape
    for column in original.columns:
        if pd.api.types.is_numeric_dtype(original[column]):
            assert pd.api.types.is_numeric_dtype(loaded[column]), column
            assert loaded[column].tolist() == pytest.approx(original[column].tolist()), column
        else:
            assert loaded[column].astype(str).tolist() == original[column].astype(str).tolist(), column
    assert pd.api.types.is_integer_dtype(loaded["unit_id"])  # ints stay ints, not floats


@pytest.mark.parametrize("ext", sorted(WRITERS))
def test_every_format_round_trips(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"table.{ext}"
    WRITERS[ext](small_frame(), path)
    ds = load(path)
    assert isinstance(ds, Dataset)
    assert_same_table(ds.frame, small_frame())
    assert ds.meta["format"] == EXPECTED_FORMAT[ext]
    assert ds.meta["warnings"] == []
    assert ds.source == path.name
    assert ds.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (ds.n_rows, ds.n_cols) == (4, 4)


@pytest.mark.parametrize("ext", sorted(WRITERS))
def test_bytes_input_matches_path_input(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"table.{ext}"
    WRITERS[ext](small_frame(), path)
    raw = path.read_bytes()
    from_bytes = load(raw, name=f"upload.{ext}")
    pd.testing.assert_frame_equal(from_bytes.frame, load(path).frame)
    assert from_bytes.source == f"upload.{ext}"
    assert from_bytes.sha256 == hashlib.sha256(raw).hexdigest()


@pytest.mark.parametrize("ext", ["csv", "parquet", "xlsx", "json"])
def test_unnamed_bytes_are_recognised_by_content(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"table.{ext}"
    WRITERS[ext](small_frame(), path)
    ds = load(path.read_bytes())
    assert ds.meta["format"] == ext
    assert ds.source == "<bytes>"
    assert_same_table(ds.frame, small_frame())


def test_open_binary_file_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    WRITERS["csv"](small_frame(), path)
    with path.open("rb") as handle:
        ds = load(handle)
    assert ds.source == "table.csv"
    assert_same_table(ds.frame, small_frame())


def test_as_dataset_reads_a_path(tmp_path: Path) -> None:
    path = tmp_path / "table.parquet"
    WRITERS["parquet"](small_frame(), path)
    assert_same_table(as_dataset(str(path)).frame, small_frame())


# -- delimiters and encodings -------------------------------------------------
def test_semicolon_cp1252_with_accents_and_decimal_commas() -> None:
    text = "nom;ville;revenu;traité\nRené;Orléans;1200,5;1\nZoë;Besançon;950;0\nJosé;Évry;-3,25;1\n"
    ds = load(text.encode("cp1252"), name="export.csv")
    assert ds.meta["encoding"] == "cp1252"
    assert ds.meta["delimiter"] == ";"
    assert list(ds.frame.columns) == ["nom", "ville", "revenu", "traité"]
    assert ds.frame["ville"].tolist() == ["Orléans", "Besançon", "Évry"]
    # decimal commas become numbers, and the user is told
    assert ds.frame["revenu"].tolist() == [1200.5, 950.0, -3.25]
    assert any("decimal comma" in w for w in ds.meta["warnings"])


def test_latin1_bytes_undefined_in_cp1252_fall_back_to_latin1() -> None:
    # 0x81 has no character in Windows-1252, so only Latin-1 can decode it.
    ds = load(b"code,n\nA\x81B,1\nC,2\n", name="x.csv")
    assert ds.meta["encoding"] == "latin-1"
    assert ds.frame["code"].tolist() == ["A\x81B", "C"]


@pytest.mark.parametrize("delimiter", ["\t", "|", ";", ","])
def test_delimiter_detection(delimiter: str) -> None:
    text = delimiter.join(["a", "b", "c"]) + "\n" + delimiter.join(["1", "x y", "2.5"]) + "\n" + \
        delimiter.join(["3", "z", "4.5"]) + "\n"
    ds = load(text.encode(), name="data.txt")
    assert ds.meta["delimiter"] == delimiter
    assert list(ds.frame.columns) == ["a", "b", "c"]
    assert ds.frame["c"].tolist() == [2.5, 4.5]


def test_commas_inside_quotes_do_not_fool_the_detector() -> None:
    text = 'name;comment\n"Smith, J";"ok, fine"\n"Doe, A";"no, thanks"\n'
    ds = load(text.encode(), name="x.csv")
    assert ds.meta["delimiter"] == ";"
    assert ds.frame["name"].tolist() == ["Smith, J", "Doe, A"]


@pytest.mark.parametrize("bom,codec,reported", [
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
])
def test_byte_order_marks(bom: bytes, codec: str, reported: str) -> None:
    # Excel's "Unicode text" export is UTF-16 LE with a BOM and tabs.
    text = "prénom\tâge\nÅsa\t31\nBjörn\t45\n"
    ds = load(bom + text.encode(codec), name="export.txt")
    assert ds.meta["encoding"] == reported
    assert ds.meta["delimiter"] == "\t"
    assert list(ds.frame.columns) == ["prénom", "âge"]  # no stray '\ufeff' on the first name
    assert ds.frame["âge"].tolist() == [31, 45]


def test_mac_line_endings() -> None:
    ds = load(b"a,b\r1,2\r3,4\r", name="x.csv")
    assert ds.frame.to_dict("list") == {"a": [1, 3], "b": [2, 4]}


# -- cleaning -------------------------------------------------------------------
def test_column_names_are_stripped_and_dates_stay_text() -> None:
    ds = load(b" id ,  when \n1,2024-01-31\n2,2024-02-29\n", name="x.csv")
    assert list(ds.frame.columns) == ["id", "when"]
    assert not pd.api.types.is_datetime64_any_dtype(ds.frame["when"])
    assert ds.frame["when"].tolist() == ["2024-01-31", "2024-02-29"]


def test_empty_names_and_empty_columns_warn_instead_of_failing() -> None:
    ds = load(b"a,,c,d,\n1,2,,x,\n3,4,,y,\n", name="x.csv")
    # the trailing separator makes a nameless, valueless column: dropped with a note
    assert list(ds.frame.columns) == ["a", "column_2", "c", "d"]
    warnings = " ".join(ds.meta["warnings"])
    assert "column_2" in warnings and "no name" in warnings
    assert "c have no values" in warnings
    assert "left out" in warnings


def test_tsv_named_file_with_commas_is_read_with_commas() -> None:
    ds = load(b"a,b,c\n1,2,3\n4,5,6\n", name="mislabelled.tsv")
    assert ds.meta["delimiter"] == ","
    assert ds.frame.to_dict("list") == {"a": [1, 4], "b": [2, 5], "c": [3, 6]}
    assert any("named .tsv" in w for w in ds.meta["warnings"])


def test_short_rows_are_padded_with_missing_values() -> None:
    ds = load(b"a,b,c\n1,2,3\n4,5\n", name="x.csv")
    assert ds.frame["c"].isna().tolist() == [False, True]


def test_xlsx_reads_only_the_first_sheet_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        small_frame().to_excel(writer, sheet_name="data", index=False)
        pd.DataFrame({"z": [1]}).to_excel(writer, sheet_name="notes", index=False)
    ds = load(path)
    assert ds.meta["sheet"] == "data"
    assert_same_table(ds.frame, small_frame())
    assert any("2 sheets" in w for w in ds.meta["warnings"])


def test_parquet_named_index_is_kept_as_a_column(tmp_path: Path) -> None:
    path = tmp_path / "indexed.parquet"
    small_frame().set_index("unit_id").to_parquet(path)
    ds = load(path)
    assert list(ds.frame.columns) == ["unit_id", "income", "region", "treated"]
    assert isinstance(ds.frame.index, pd.RangeIndex)


def test_json_records_with_missing_keys_fill_with_missing() -> None:
    ds = load(b'[{"a": 1, "b": "x"}, {"a": 2}, {"c": true}]', name="r.json")
    assert list(ds.frame.columns) == ["a", "b", "c"]
    assert ds.frame["b"].isna().tolist() == [False, True, True]


# -- limits -------------------------------------------------------------------------
def test_limits_defaults() -> None:
    assert Limits() == Limits(max_bytes=200_000_000, max_rows=5_000_000, max_cols=20_000, max_cells=50_000_000)


def test_limits_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CQOX_MAX_BYTES", "1_000")
    monkeypatch.setenv("CQOX_MAX_ROWS", "3")
    monkeypatch.delenv("CQOX_MAX_COLS", raising=False)
    limits = Limits.from_env()
    assert limits == Limits(max_bytes=1000, max_rows=3)
    # load() uses the environment when no limits are given
    with pytest.raises(DataError) as caught:
        load(b"a\n1\n2\n3\n4\n", name="x.csv")
    assert caught.value.code == "E-DATA-004"


@pytest.mark.parametrize("value", ["lots", "-5", "0", "1.5"])
def test_limits_from_env_rejects_nonsense(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CQOX_MAX_ROWS", value)
    with pytest.raises(DataError) as caught:
        Limits.from_env()
    assert caught.value.code == "E-DATA-014"
    assert "CQOX_MAX_ROWS" in caught.value.message


def test_limits_reject_non_positive_values_in_code() -> None:
    with pytest.raises(ValueError):
        Limits(max_rows=0)


def test_limits_exactly_at_the_bound_are_accepted() -> None:
    raw = b"a,b\n1,2\n3,4\n"
    ds = load(raw, name="x.csv", limits=Limits(max_bytes=len(raw), max_rows=2, max_cols=2))
    assert ds.n_rows == 2


# -- fuzz: nothing but Dataset or DataError ----------------------------------------------
CSV_ALPHABET = st.sampled_from(list(',;\t|"\'\n\r abc123.-é\x00\ufeff'))
FUZZ_INPUT = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=600).map(lambda s: s.encode("utf-8")),
    st.text(CSV_ALPHABET, max_size=300).map(lambda s: s.encode("utf-8")),
    st.text(CSV_ALPHABET, max_size=300).map(lambda s: s.encode("utf-16")),
    st.text(max_size=300).map(lambda s: s.encode("utf-8", "replace")).map(lambda b: b"a,b\n" + b),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=FUZZ_INPUT)
def test_fuzzed_bytes_give_a_dataset_or_a_data_error(raw: bytes) -> None:
    try:
        ds = load(raw, name="x.csv")
    except DataError as exc:
        assert exc.code.startswith("E-DATA-") and exc.message and exc.hint
    else:
        assert isinstance(ds, Dataset) and ds.n_rows > 0 and ds.n_cols > 0
        assert ds.sha256 == hashlib.sha256(raw).hexdigest()
        assert not ds.frame.columns.duplicated().any()


@settings(max_examples=60, deadline=None)
@given(raw=st.binary(max_size=400), name=st.sampled_from(["x.json", "x.jsonl", "x.parquet", "x.xlsx"]))
def test_fuzzed_bytes_in_other_formats_give_a_data_error(raw: bytes, name: str) -> None:
    try:
        load(raw, name=name)
    except DataError as exc:
        assert exc.code.startswith("E-DATA-")
