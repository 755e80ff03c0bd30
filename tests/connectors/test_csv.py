"""The CSV connector against real files written byte for byte into tmp_path."""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from connectors.base import SourceContext
from connectors.csv_file import CsvSource
from connectors.registry import get_connector
from sync.errors import ConfigError, SourceError
from sync.models import SourceRecord
from tests.connectors.contract import SourceContract

Read = tuple[tuple[str, ...], list[tuple[int, tuple[str, ...]]], dict[str, Any]]


def make_source(base_dir: Path, data: bytes, name: str = "contacts.csv", **options: Any) -> CsvSource:
    """Write ``data`` to ``base_dir/name`` and return a source reading it by relative path."""
    (base_dir / name).write_bytes(data)
    return CsvSource(
        CsvSource.Options(path=name, **options), SourceContext("crm", base_dir, {})
    )


def read(tmp_path: Path, data: bytes, **options: Any) -> Read:
    """Columns, (row, values) pairs and info of ``data`` read as a CSV file."""
    with make_source(tmp_path, data, **options).open() as stream:
        records = [(r.row, r.values) for r in stream.records]
        return stream.columns, records, stream.info


class TestCsvContract(SourceContract):
    """The shared connector contract, for CSV files written with csv.writer."""

    def make_source(
        self, tmp_path: Path, columns: Sequence[str], rows: Sequence[Sequence[str]]
    ) -> CsvSource:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(columns)
        writer.writerows(rows)
        name = f"contract-{len(list(tmp_path.iterdir()))}.csv"
        return make_source(tmp_path, buffer.getvalue().encode(), name)


# --- encodings -----------------------------------------------------------------------

ENCODED = [
    pytest.param(b"Name,City\ncaf\xc3\xa9,K\xc3\xb6ln\n", "utf-8", id="utf-8"),
    pytest.param(codecs.BOM_UTF8 + "Name,City\ncafé,Köln\n".encode(), "utf-8-sig", id="utf-8-bom"),
    pytest.param(
        codecs.BOM_UTF16_LE + "Name,City\ncafé,Köln\n".encode("utf-16-le"), "utf-16-le",
        id="utf-16-le-bom",
    ),
    pytest.param(
        codecs.BOM_UTF16_BE + "Name,City\ncafé,Köln\n".encode("utf-16-be"), "utf-16-be",
        id="utf-16-be-bom",
    ),
    pytest.param(
        codecs.BOM_UTF32_LE + "Name,City\ncafé,Köln\n".encode("utf-32-le"), "utf-32-le",
        id="utf-32-le-bom",
    ),
    pytest.param(b"Name,City\ncaf\xe9,K\xf6ln\n", "cp1252", id="cp1252"),
]


@pytest.mark.parametrize(("data", "encoding"), ENCODED)
def test_encoding_is_detected_and_reported(tmp_path: Path, data: bytes, encoding: str) -> None:
    """UTF-8 (BOM or not), UTF-16/32 with a BOM and Windows-1252 all read as the same text."""
    columns, records, info = read(tmp_path, data)
    assert columns == ("Name", "City")
    assert records == [(2, ("café", "Köln"))]
    assert info["encoding"] == encoding


def test_cp1252_specials_decode_as_windows_does(tmp_path: Path) -> None:
    """Bytes 0x80-0x9f are the Windows-1252 characters (euro sign, curly quotes)."""
    _, records, _ = read(tmp_path, b"Note\n\x80 5 \x93ok\x94\n")
    assert records == [(2, ("€ 5 \u201cok\u201d",))]


def test_declared_encoding_wins_over_detection(tmp_path: Path) -> None:
    """A declared encoding is used as is: latin-1 reads 0x80 as U+0080, not the euro sign."""
    _, records, info = read(tmp_path, b"Note\n\x80\n", encoding="latin-1")
    assert records == [(2, ("\x80",))]
    assert info["encoding"] == "latin-1"


@pytest.mark.parametrize("declared", ["utf-16-le", "utf-16", "UTF16"])
def test_declared_utf16_without_bom(tmp_path: Path, declared: str) -> None:
    """UTF-16 without a BOM is read when declared; plain utf-16 means little-endian."""
    data = "Name\nZoë\n".encode("utf-16-le")
    assert read(tmp_path, data, encoding=declared)[1] == [(2, ("Zoë",))]


def test_bom_wins_over_a_declared_encoding(tmp_path: Path) -> None:
    """A BOM says what the file is; a declared utf-8 does not leave it in the first name."""
    data = codecs.BOM_UTF8 + b"Name\nAnn\n"
    columns, _, info = read(tmp_path, data, encoding="utf-8")
    assert columns == ("Name",)
    assert info["encoding"] == "utf-8-sig"


def test_declared_encoding_that_cannot_decode_names_path_encoding_and_line(
    tmp_path: Path,
) -> None:
    """A declared utf-8 on Windows-1252 bytes is a SourceError with path, encoding, line."""
    data = b"Name,City\r\nAnn,Paris\r\nBob,K\xf6ln\r\n"
    with pytest.raises(SourceError) as caught:
        read(tmp_path, data, encoding="utf-8")
    message = str(caught.value)
    assert "contacts.csv" in message
    assert "utf-8" in message
    assert "line 3" in message


def test_decode_error_line_counts_cr_only_and_quoted_breaks(tmp_path: Path) -> None:
    """The bad line is found with CR-only ends and a line break inside a quoted field."""
    data = b'Name,Note\r1,"two\rlines"\r2,ok\r3,K\xf6ln\r'
    with pytest.raises(SourceError, match="line 5"):
        read(tmp_path, data, encoding="utf-8")


def test_undefined_cp1252_byte_is_a_source_error(tmp_path: Path) -> None:
    """Bytes that are neither UTF-8 nor Windows-1252 stop the read with the line named."""
    data = b"Name\nAnn\ncaf\xe9\n\x81\n"
    with pytest.raises(SourceError, match=r"cp1252 on line 4.*set `encoding`"):
        read(tmp_path, data)


def ascii_lines(size: int) -> bytes:
    """Exactly ``size`` bytes of short ASCII lines, ending in a line break."""
    lines = (b"a" * 99 + b"\n") * (size // 100)
    rest = size - len(lines)
    return lines + (b"a" * (rest - 1) + b"\n" if rest else b"")


MiB = 1 << 20


def test_utf8_character_across_the_detection_chunk_boundary(tmp_path: Path) -> None:
    """A multi-byte character split by the 1 MiB detection chunk is still UTF-8."""
    head = b"Name\n"
    data = head + ascii_lines(MiB - 1 - len(head)) + "é".encode() + b"\n"
    assert data.index("é".encode()) == MiB - 1
    _, records, info = read(tmp_path, data)
    assert info["encoding"] == "utf-8"
    assert records[-1][1] == ("é",)


def test_truncated_sequence_before_an_ascii_chunk_is_not_utf8(tmp_path: Path) -> None:
    """A lead byte ending one chunk, an all-ASCII chunk, then a continuation byte: cp1252."""
    head = b"Name\n"
    data = head + ascii_lines(MiB - 1 - len(head)) + b"\xc3" + ascii_lines(MiB) + b"\xa9\n"
    assert data.index(b"\xa9") == 2 * MiB
    _, records, info = read(tmp_path, data)
    assert info["encoding"] == "cp1252"
    assert records[-1][1] == ("©",)


def test_non_utf8_byte_far_into_the_file_switches_to_cp1252(tmp_path: Path) -> None:
    """The detection pass reads the whole file: one bad byte after 2 MiB decides."""
    rows = b"".join(b"%d,Ann %s\n" % (i, b"x" * 60) for i in range(33_000))
    data = b"id,Name\n" + rows + b"999,Ren\xe9e\n"
    assert len(data) > 2 * MiB
    _, records, info = read(tmp_path, data)
    assert info["encoding"] == "cp1252"
    assert records[-1][1] == ("999", "Renée")
    assert len(records) == 33_001


def test_records_are_streamed_not_read_up_front(tmp_path: Path) -> None:
    """The first record arrives before a decode error far down the file is met."""
    data = b"id\n" + b"1\n" * 200_000 + b"\xff\n"
    source = make_source(tmp_path, data, encoding="utf-8")
    with source.open() as stream:
        assert next(stream.records) == SourceRecord(2, ("1",))
        with pytest.raises(SourceError, match="line 200002"):
            for _ in stream.records:
                pass


# --- delimiters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "delimiter"),
    [
        pytest.param(b"a,b,c\n1,2,3\n", ",", id="comma"),
        pytest.param(b"a;b;c\n1;2;3\n", ";", id="semicolon"),
        pytest.param(b"a\tb\tc\n1\t2\t3\n", "\t", id="tab"),
        pytest.param(b'"a;x;y",b,c\n1,2,3\n', ",", id="semicolons-inside-quotes-do-not-count"),
        pytest.param(b"a\n1\n", ",", id="one-column-defaults-to-comma"),
    ],
)
def test_delimiter_is_found_from_the_header_line(
    tmp_path: Path, data: bytes, delimiter: str
) -> None:
    """The candidate that occurs most often outside quotes in the header is used."""
    columns, records, info = read(tmp_path, data)
    assert info["delimiter"] == delimiter
    assert len(columns) == len(records[0][1])


def test_declared_delimiter_wins(tmp_path: Path) -> None:
    """A declared delimiter is used even where another would be found."""
    columns, records, _ = read(tmp_path, b"a;b,c,d\n1;2,3,4\n", delimiter=";")
    assert columns == ("a", "b,c,d")
    assert records == [(2, ("1", "2,3,4"))]


@pytest.mark.parametrize("spelled", ["\t", "\\t", "tab", "TAB"])
def test_tab_delimiter_spellings(tmp_path: Path, spelled: str) -> None:
    """A tab may be declared as the character itself, as backslash-t or as 'tab'."""
    _, _, info = read(tmp_path, b"a\tb\n1\t2\n", delimiter=spelled)
    assert info["delimiter"] == "\t"


@pytest.mark.parametrize(
    ("first_line", "delimiter"),
    [
        pytest.param(b"sep=;", ";", id="semicolon"),
        pytest.param(b"SEP=|", "|", id="upper-case-pipe"),
        pytest.param(b'"sep=;"', ";", id="quoted"),
        pytest.param(b"sep=;;;", ";", id="padded-by-a-spreadsheet"),
        pytest.param(b"sep=\t", "\t", id="tab"),
    ],
)
def test_excel_sep_line_names_the_delimiter(
    tmp_path: Path, first_line: bytes, delimiter: str
) -> None:
    """Excel's ``sep=`` first line sets the delimiter; the header is the next line."""
    d = delimiter.encode()
    data = first_line + b"\r\nName" + d + b"City\r\nAnn" + d + b"Paris, TX\r\n"
    columns, records, info = read(tmp_path, data)
    assert columns == ("Name", "City")
    assert records == [(3, ("Ann", "Paris, TX"))]
    assert info["delimiter"] == delimiter


def test_custom_quotechar(tmp_path: Path) -> None:
    """A declared quotechar protects delimiters and line breaks like the double quote."""
    data = b"a,b\n'1,5',\"x\"\n"
    _, records, _ = read(tmp_path, data, quotechar="'")
    assert records == [(2, ("1,5", '"x"'))]


# --- line ends, quoting, row numbers ---------------------------------------------------


@pytest.mark.parametrize("newline", [b"\r\n", b"\n", b"\r"], ids=["crlf", "lf", "cr"])
def test_line_ends_and_quoted_line_breaks(tmp_path: Path, newline: bytes) -> None:
    """CRLF, LF and CR-only files give the same records and the same row numbers."""
    lines = [b"id,note", b'1,"first', b'second"', b'2,"say ""hi"""', b"3,plain"]
    columns, records, _ = read(tmp_path, newline.join(lines) + newline)
    assert columns == ("id", "note")
    text_break = newline.decode()
    assert records == [
        (2, ("1", f"first{text_break}second")),
        (4, ("2", 'say "hi"')),
        (5, ("3", "plain")),
    ]


def test_row_number_after_a_multi_line_record(tmp_path: Path) -> None:
    """A record after a three-line quoted field starts on the physical line it is on."""
    data = b'id,note\r\n1,"line one\r\nline two\r\nline three"\r\n2,after\r\n'
    _, records, _ = read(tmp_path, data)
    assert [row for row, _ in records] == [2, 5]


def test_row_numbers_count_sep_line_and_leading_blank_lines(tmp_path: Path) -> None:
    """Rows are physical lines even with a sep= line and blank lines above the header."""
    data = b"sep=,\n\n  \nid,name\n1,Ann\n"
    columns, records, _ = read(tmp_path, data)
    assert columns == ("id", "name")
    assert records == [(5, ("1", "Ann"))]


# --- blank rows, columns, header problems --------------------------------------------


def test_blank_rows_are_skipped_and_keep_row_numbers(tmp_path: Path) -> None:
    """Empty lines, all-space rows and rows of empty cells are skipped."""
    data = b"id,name\n1,Ann\n\n , \t\n,,\n\"\",\n2,Bob\n"
    _, records, _ = read(tmp_path, data)
    assert records == [(2, ("1", "Ann")), (7, ("2", "Bob"))]


def test_row_with_empty_first_cell_is_kept(tmp_path: Path) -> None:
    """A row whose first cell is empty but others are not is a record, not a blank row."""
    _, records, _ = read(tmp_path, b"id,name\n,Ann\n \t,Bob\n")
    assert records == [(2, ("", "Ann")), (3, (" \t", "Bob"))]


def test_trailing_empty_header_columns_are_ignored(tmp_path: Path) -> None:
    """Empty header cells at the end (a spreadsheet's stray columns) add no columns."""
    columns, records, info = read(tmp_path, b"id,name,,\n1,Ann,,\n2,Bob\n")
    assert columns == ("id", "name")
    assert records == [(2, ("1", "Ann")), (3, ("2", "Bob"))]
    assert info["extra_cells_rows"] == 0


def test_blank_header_cell_in_the_middle_drops_that_column(tmp_path: Path) -> None:
    """A column without a name is left out; the others stay aligned."""
    columns, records, _ = read(tmp_path, b"id, ,name\n1,junk,Ann\n2\n")
    assert columns == ("id", "name")
    assert records == [(2, ("1", "Ann")), (3, ("2", ""))]


def test_missing_trailing_cells_are_empty_strings(tmp_path: Path) -> None:
    """A short row is padded with empty values."""
    _, records, _ = read(tmp_path, b"id,name,email\n1\n2,Bob\n")
    assert records == [(2, ("1", "", "")), (3, ("2", "Bob", ""))]


def test_extra_cells_are_ignored_and_counted(tmp_path: Path) -> None:
    """Cells beyond the header are dropped; rows with non-empty ones are counted."""
    data = b"id,name\n1,Ann,x\n2,Bob,,\n3,Cy, ,y\n"
    source = make_source(tmp_path, data)
    with source.open() as stream:
        records = [r.values for r in stream.records]
        assert stream.info["extra_cells_rows"] == 2
    assert records == [("1", "Ann"), ("2", "Bob"), ("3", "Cy")]


def test_header_names_are_trimmed(tmp_path: Path) -> None:
    """Spaces around header names (and a BOM) are not part of the names."""
    columns, _, _ = read(tmp_path, codecs.BOM_UTF8 + b" id ,\tFirst Name \n1,Ann\n")
    assert columns == ("id", "First Name")


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(b"id,Email,name,Email", id="exact"),
        pytest.param(b"id,Email,name, email ", id="case-and-spaces"),
    ],
)
def test_duplicate_header_names_are_an_error(tmp_path: Path, header: bytes) -> None:
    """Two columns of one name (ignoring case and spaces) is a SourceError naming both."""
    with pytest.raises(SourceError) as caught:
        read(tmp_path, header + b"\n1,a,b,c\n")
    message = str(caught.value)
    assert "contacts.csv" in message
    assert "'Email' (column 2)" in message
    assert "(column 4)" in message


def test_header_without_names_is_an_error(tmp_path: Path) -> None:
    """A header line of empty cells is a SourceError."""
    with pytest.raises(SourceError, match="no column names"):
        read(tmp_path, b",,\n1,2,3\n")


# --- files that cannot be read ---------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="zero-bytes"),
        pytest.param(b"\n\r\n  \n", id="blank-lines"),
        pytest.param(codecs.BOM_UTF8, id="bom-only"),
        pytest.param(codecs.BOM_UTF16_LE, id="utf-16-bom-only"),
        pytest.param(b"sep=;\n", id="sep-line-only"),
    ],
)
def test_empty_file_is_an_error(tmp_path: Path, data: bytes) -> None:
    """A file with no header line is a SourceError naming the path."""
    with pytest.raises(SourceError, match=r"contacts\.csv: the file is empty"):
        read(tmp_path, data)


def test_header_only_file_has_no_records(tmp_path: Path) -> None:
    """A header without rows is a valid, empty source."""
    columns, records, _ = read(tmp_path, b"id,name\r\n")
    assert columns == ("id", "name")
    assert records == []


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    """A path that does not exist is a SourceError naming it."""
    source = CsvSource(CsvSource.Options(path="nope.csv"), SourceContext("crm", tmp_path, {}))
    with pytest.raises(SourceError, match=r"nope\.csv: file not found"):
        source.open().__enter__()


def test_directory_is_an_error(tmp_path: Path) -> None:
    """A directory where the file should be is a SourceError naming it."""
    (tmp_path / "exports").mkdir()
    source = CsvSource(CsvSource.Options(path="exports"), SourceContext("crm", tmp_path, {}))
    with pytest.raises(SourceError, match="exports: is a directory"):
        source.open().__enter__()


def test_os_error_on_open_is_a_source_error(tmp_path: Path) -> None:
    """An OSError (here: a file used as a folder) becomes a SourceError naming the path."""
    (tmp_path / "plain.csv").write_bytes(b"id\n")
    source = CsvSource(
        CsvSource.Options(path="plain.csv/inner.csv"), SourceContext("crm", tmp_path, {})
    )
    with pytest.raises(SourceError, match=r"inner\.csv: cannot open the file"):
        source.open().__enter__()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    """A file without read permission is a SourceError naming the path."""
    source = make_source(tmp_path, b"id\n1\n")
    (tmp_path / "contacts.csv").chmod(0)
    with pytest.raises(SourceError, match="cannot open the file"):
        source.open().__enter__()


def test_unclosed_quote_swallowing_the_file_is_an_error(tmp_path: Path) -> None:
    """A quote never closed makes a giant field: a SourceError naming where it starts."""
    data = b'id,note\n1,ok\n2,"never closed\n' + b"x" * 200_000 + b"\n"
    with pytest.raises(SourceError, match=r"record starting on line 3"):
        read(tmp_path, data)


@pytest.mark.parametrize(
    ("data", "line"),
    [
        pytest.param(b'id,co,email\n1,A,a@x\n2,"Co2,b@x\n3,C,c@x\n4,D,d@x\n', 3, id="never-closed"),
        pytest.param(b'id,co,email\n1,A,a@x\n2,"Co2,b@x\n3,"C",c@x\n', 3, id="closed-rows-later"),
        pytest.param(b'id,co,email\n1,"Ac"me,a@x\n', 2, id="text-after-closing-quote"),
    ],
)
def test_a_quote_that_does_not_pair_up_is_an_error_not_swallowed_rows(
    tmp_path: Path, data: bytes, line: int
) -> None:
    """A stray opening quote must not read the rows after it as one field (they would look
    deleted): the file is refused, naming the line where the record starts."""
    with pytest.raises(SourceError, match=rf"record starting on line {line}: .*not closed"):
        read(tmp_path, data)


def test_quotes_that_pair_up_still_read_line_breaks_and_inner_quotes(tmp_path: Path) -> None:
    """Strict parsing keeps what real exports hold: quoted line breaks, doubled quotes, a
    quote inside an unquoted field."""
    data = b'id,note,co\n1,"two\nlines",A\n2,"say ""hi""",O"Brien Ltd\n'
    _, records, _ = read(tmp_path, data)
    assert records == [(2, ("1", "two\nlines", "A")), (4, ("2", 'say "hi"', 'O"Brien Ltd'))]


# --- options and wiring ----------------------------------------------------------------


def test_relative_path_is_taken_from_the_config_folder(tmp_path: Path) -> None:
    """``path`` resolves against the config file's folder, an absolute one as is."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "c.csv").write_bytes(b"id\n1\n")
    relative = CsvSource(CsvSource.Options(path="data/c.csv"), SourceContext("a", tmp_path, {}))
    absolute = CsvSource(
        CsvSource.Options(path=str(tmp_path / "data" / "c.csv")),
        SourceContext("a", Path("/nonexistent"), {}),
    )
    assert relative.path == absolute.path == tmp_path / "data" / "c.csv"
    assert "c.csv" in relative.describe()


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"path": "c.csv", "encoding": "no-such-codec"}, id="unknown-encoding"),
        pytest.param({"path": "c.csv", "encoding": "base64"}, id="not-a-text-encoding"),
        pytest.param({"path": "c.csv", "encoding": "rot13"}, id="str-to-str-codec"),
        pytest.param({"path": "c.csv", "encoding": "undefined"}, id="undefined-codec"),
        pytest.param({"path": "c.csv", "delimiter": ";;"}, id="two-character-delimiter"),
        pytest.param({"path": "c.csv", "delimiter": "\n"}, id="newline-delimiter"),
        pytest.param({"path": "c.csv", "quotechar": ""}, id="empty-quotechar"),
        pytest.param({"path": "c.csv", "delimiter": "'", "quotechar": "'"}, id="same-chars"),
        pytest.param({"path": "  "}, id="blank-path"),
        pytest.param({"path": "c.csv", "sheet": "x"}, id="unknown-key"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any]) -> None:
    """Options that make no sense fail validation when the config is loaded."""
    with pytest.raises(ValidationError):
        CsvSource.Options.model_validate(options)


def test_wrong_options_type_is_a_config_error(tmp_path: Path) -> None:
    """A CsvSource built with another connector's options is a ConfigError."""
    from connectors.base import SourceOptions

    with pytest.raises(ConfigError, match="csv needs"):
        CsvSource(SourceOptions(), SourceContext("crm", tmp_path, {}))


def test_registry_finds_the_csv_connector() -> None:
    """``type = "csv"`` names this connector."""
    assert get_connector("csv") is CsvSource
    assert CsvSource.type_name == "csv"


# --- fuzzing (issue 7): nothing but SourceError, and round trips --------------------------

FUZZ = settings(max_examples=200, deadline=timedelta(seconds=2))

# Pieces that make the reader's branches likely: BOMs, delimiters, quotes, line ends, a
# sep= line, bytes invalid in UTF-8 and undefined in Windows-1252, NUL, a lead byte.
PIECES = [
    b",", b";", b"\t", b'"', b"\r", b"\n", b"\r\n", b"a", b"Name", b" ", b"sep=",
    codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"\x00", b"\x81", b"\xe9",
    b"\xc3", b"\xa9", b"\xff",
]
FUZZ_BYTES = st.one_of(st.binary(max_size=300), st.lists(st.sampled_from(PIECES)).map(b"".join))
FUZZ_ENCODINGS = st.sampled_from([None, None, "utf-8", "utf-16", "utf-16-le", "latin-1", "cp1252"])


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for all examples (hypothesis reuses it; each example rewrites the file)."""
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(data=FUZZ_BYTES, encoding=FUZZ_ENCODINGS)
def test_arbitrary_bytes_raise_nothing_but_source_error(
    fuzz_dir: Path, data: bytes, encoding: str | None
) -> None:
    """Any bytes either read as aligned, ordered records or raise a SourceError."""
    try:
        columns, records, info = read(fuzz_dir, data, encoding=encoding)
    except SourceError:
        return
    assert columns and all(isinstance(name, str) and name == name.strip() for name in columns)
    assert all(len(values) == len(columns) for _, values in records)
    assert all(isinstance(value, str) for _, values in records for value in values)
    rows = [row for row, _ in records]
    assert rows == sorted(set(rows)) and all(row >= 2 for row in rows)
    assert info["extra_cells_rows"] <= len(records)


def line_breaks(text: str) -> int:
    """Line breaks as a text editor counts them (CRLF is one)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


CELL = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
HEADER = st.lists(
    st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=6),
    min_size=1, max_size=5, unique_by=str.casefold,
)


@FUZZ
@given(
    header=HEADER,
    data=st.data(),
    delimiter=st.sampled_from([",", ";", "\t"]),
    codec=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
)
def test_what_csv_writer_writes_reads_back(
    fuzz_dir: Path, header: list[str], data: st.DataObject, delimiter: str, codec: str
) -> None:
    """Rows written by csv.writer come back equal, blank ones skipped, at their line numbers."""
    rows = data.draw(st.lists(st.lists(CELL, min_size=len(header), max_size=len(header))))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    expected = []
    line = 2
    for row in rows:
        if not all(not cell or cell.isspace() for cell in row):
            expected.append((line, tuple(row)))
        line += 1 + sum(line_breaks(cell) for cell in row)
    # One column gives nothing to find a delimiter from: it must be declared.
    declared = delimiter if len(header) == 1 else None
    columns, records, info = read(fuzz_dir, buffer.getvalue().encode(codec), delimiter=declared)
    assert columns == tuple(header)
    assert records == expected
    assert info["delimiter"] == delimiter
