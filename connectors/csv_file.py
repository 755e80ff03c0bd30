"""CSV source: a spreadsheet export read as it really comes, streamed row by row.

What real exports look like, and what this reader does about it:

- Encoding: a BOM decides (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE); without one, a declared
  ``encoding`` wins; otherwise a fast chunked pass checks whether the bytes are UTF-8 and
  falls back to Windows-1252 (what Excel writes on Western Windows) when they are not.
- Delimiter: declared, or given by Excel's ``sep=;`` first line, or found by counting
  commas, semicolons and tabs outside quotes in the header line.
- CRLF, LF or CR-only line ends; line breaks and doubled quotes inside quoted fields.
- Blank rows are skipped; empty trailing header cells and blank header cells in the
  middle drop their column; duplicate column names are an error.

Each record's ``row`` is the physical line it starts on (the ``sep=`` line and the header
count), so a person can find it in a text editor or a spreadsheet.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import IO, Any

from pydantic import field_validator, model_validator

from connectors.base import RecordStream, Source, SourceContext, SourceOptions, SupportsKeyOrder
from sync.errors import ConfigError, SourceError
from sync.models import SourceRecord

# UTF-32 LE first: its BOM starts with the UTF-16 LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_BOMLESS = {"utf-16": "utf-16-le", "utf-32": "utf-32-le"}
_FALLBACK_ENCODING = "cp1252"
_CHUNK_BYTES = 1 << 20
# Ties go to the first: a one-column file, or one with as many commas as semicolons, is
# most likely a plain comma-separated export.
_DELIMITER_CANDIDATES = (",", ";", "\t")
_DELIMITER_ALIASES = {"\\t": "\t", "tab": "\t"}


class CsvOptions(SourceOptions):
    """The ``[[sources]]`` keys of a ``type = "csv"`` source."""

    path: str
    encoding: str | None = None
    delimiter: str | None = None
    quotechar: str = '"'

    @field_validator("path")
    @classmethod
    def _path_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("path must not be empty")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            # What the reader will do with it; refuses bytes-to-bytes codecs (base64) too.
            io.TextIOWrapper(io.BytesIO(), encoding=value).read()
        except (LookupError, UnicodeError):
            raise ValueError(f"unknown text encoding {value!r}") from None
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character_delimiter(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = _DELIMITER_ALIASES.get(value.lower(), value)
        _check_single_character("delimiter", value)
        return value

    @field_validator("quotechar")
    @classmethod
    def _one_character_quotechar(cls, value: str) -> str:
        _check_single_character("quotechar", value)
        return value

    @model_validator(mode="after")
    def _delimiter_differs_from_quotechar(self) -> CsvOptions:
        if self.delimiter == self.quotechar:
            raise ValueError("delimiter and quotechar must differ")
        return self


def _check_single_character(key: str, value: str) -> None:
    if len(value) != 1 or value in "\r\n":
        raise ValueError(f"{key} must be one character (not a line break), got {value!r}")


class CsvSource(Source, SupportsKeyOrder):
    """Reads contacts from a CSV (or TSV) file, streamed; see the module docstring."""

    type_name = "csv"
    Options = CsvOptions

    def __init__(self, options: SourceOptions, context: SourceContext) -> None:
        if not isinstance(options, CsvOptions):
            raise ConfigError(
                f"source {context.name!r}: csv needs CsvSource.Options, "
                f"not {type(options).__name__}"
            )
        super().__init__(options, context)
        self.csv_options = options

    @property
    def path(self) -> Path:
        """The file to read; a relative ``path`` is taken from the config file's folder."""
        path = Path(self.csv_options.path).expanduser()
        return path if path.is_absolute() else self.context.base_dir / path

    def describe(self) -> str:
        """Type, name and file, for logs."""
        return f"csv source {self.name!r} ({self.path})"

    def open(self) -> AbstractContextManager[RecordStream]:
        """Open the file for one read; the file is closed when the block ends.

        ``stream.info`` holds ``encoding``, ``delimiter`` and ``extra_cells_rows`` (rows
        with non-empty cells beyond the header; final once ``records`` is exhausted).

        Raises:
            SourceError: the file is missing, unreadable, empty, not decodable, or its
                header names a column twice. Also raised while iterating ``records``.
        """
        return self._open()

    def open_in_key_order(self, key_columns: Sequence[str]) -> AbstractContextManager[RecordStream]:
        """The file as it is: exports are often sorted by their id, and reading one twice
        (when it is not) costs little next to holding the whole state in memory."""
        return self._open()

    @contextmanager
    def _open(self) -> Iterator[RecordStream]:
        path = self.path
        raw = _open_binary(path)
        file: IO[Any] = raw
        records: Generator[SourceRecord, None, None] | None = None
        try:
            encoding = self._choose_encoding(raw, path)
            file = text = io.TextIOWrapper(raw, encoding=encoding, newline="")
            reading = _Reading(path, encoding, self.csv_options)
            stream, records = reading.start(text)
            yield stream
        finally:
            if records is not None:
                records.close()
            file.close()

    def _choose_encoding(self, raw: IO[bytes], path: Path) -> str:
        """A BOM wins (it is what the file says it is), then the declared encoding."""
        try:
            head = raw.read(4)
            raw.seek(0)
            for bom, name in _BOMS:
                if head.startswith(bom):
                    return name
            declared = self.csv_options.encoding
            if declared is not None:
                # Without a BOM, a byte-order-less name means what Windows writes: LE.
                return _BOMLESS.get(codecs.lookup(declared).name, declared)
            found = "utf-8" if _is_utf8(raw) else _FALLBACK_ENCODING
            raw.seek(0)
        except OSError as exc:
            raise SourceError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
        return found


def _open_binary(path: Path) -> IO[bytes]:
    if path.is_dir():
        raise SourceError(f"{path}: is a directory, not a CSV file")
    try:
        return path.open("rb")
    except FileNotFoundError as exc:
        raise SourceError(f"{path}: file not found") from exc
    except OSError as exc:
        raise SourceError(f"{path}: cannot open the file: {exc.strerror or exc}") from exc


def _is_utf8(raw: IO[bytes]) -> bool:
    """Whether the whole file decodes as UTF-8, in fixed-size chunks (never read whole)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := raw.read(_CHUNK_BYTES):
            # ASCII chunks are valid on their own unless a sequence is left half-open.
            if chunk.isascii() and not decoder.getstate()[0]:
                continue
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class _Layout:
    """Which header cells become columns."""

    columns: tuple[str, ...]
    width: int  # header cells up to the last non-empty one
    keep: tuple[int, ...] | None  # positions kept when a middle cell is blank, else None

    def fit(self, cells: list[str], info: dict[str, Any]) -> tuple[str, ...]:
        """The row's values aligned with the columns: padded, cut, blank columns dropped."""
        width = self.width
        if len(cells) > width:
            if any(cell and not cell.isspace() for cell in cells[width:]):
                info["extra_cells_rows"] += 1
            cells = cells[:width]
        elif len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        if self.keep is None:
            return tuple(cells)
        return tuple(cells[i] for i in self.keep)


class _Reading:
    """One pass over one file: preamble, header, then the records generator."""

    def __init__(self, path: Path, encoding: str, options: CsvOptions) -> None:
        self.path = path
        self.encoding = encoding
        self.options = options

    def start(
        self, text: IO[str]
    ) -> tuple[RecordStream, Generator[SourceRecord, None, None]]:
        """Read up to the header; returns the stream and its records generator."""
        try:
            lines_before, first_line = self._first_line(text)
            sep = _sep_directive(first_line)
            if sep is not None:
                lines_before += 1
                first_line = text.readline()
                lines_before, first_line = _skip_blank_lines(text, lines_before, first_line)
            if not first_line:
                raise SourceError(f"{self.path}: the file is empty (no header line)")
            delimiter = (
                self.options.delimiter or sep or _sniff_delimiter(first_line, self.options.quotechar)
            )
            reader = csv.reader(
                chain([first_line], text),
                delimiter=delimiter,
                quotechar=self.options.quotechar,
                doublequote=True,
                # Lenient parsing reads an unclosed quote to the end of the file as one
                # field: the rows after it vanish (and would be deleted). A file whose
                # quotes do not pair up is refused instead, naming the line.
                strict=True,
            )
            header = next(reader)
        except UnicodeError as exc:
            raise self._decode_error() from exc
        except csv.Error as exc:
            raise SourceError(f"{self.path}: cannot read the header line: {exc}") from exc
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot read the file: {exc.strerror or exc}") from exc
        layout = _layout(header, self.path, lines_before + 1)
        info: dict[str, Any] = {
            "encoding": self.encoding,
            "delimiter": delimiter,
            "extra_cells_rows": 0,
        }
        records = self._records(reader, layout, lines_before, info)
        return RecordStream(columns=layout.columns, records=records, info=info), records

    def _first_line(self, text: IO[str]) -> tuple[int, str]:
        line = text.readline()
        # A BOM the codec left in place (utf-16-le, a declared utf-8): not part of a name.
        if line.startswith("\ufeff"):
            line = line[1:]
        return _skip_blank_lines(text, 0, line)

    def _records(
        self, reader: Any, layout: _Layout, offset: int, info: dict[str, Any]
    ) -> Generator[SourceRecord, None, None]:
        # The hot loop of a million-row read: keep per-row work to a length check, a
        # blank check on the first cell, one tuple and one record.
        new, record = tuple.__new__, SourceRecord  # new(record, ...) skips a Python-level __new__
        width = layout.width
        simple = layout.keep is None
        last_line = offset + reader.line_num
        try:
            for cells in reader:
                row = last_line + 1
                last_line = offset + reader.line_num
                if simple and len(cells) == width:
                    first = cells[0]
                    if (first and not first.isspace()) or not _is_blank(cells):
                        yield new(record, (row, tuple(cells)))
                elif cells and not _is_blank(cells):
                    yield new(record, (row, layout.fit(cells, info)))
        except UnicodeError as exc:
            raise self._decode_error() from exc
        except csv.Error as exc:
            raise SourceError(
                f"{self.path}: cannot parse the record starting on line {last_line + 1}: "
                f"{exc}. A quote there is probably not closed (or a field holds text after "
                "its closing quote); nothing from this file is synced until it is fixed, so "
                "no row after it is mistaken for deleted"
            ) from exc
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot read the file: {exc.strerror or exc}") from exc

    def _decode_error(self) -> SourceError:
        line = _first_undecodable_line(self.path, self.encoding)
        where = f" on line {line}" if line is not None else ""
        hint = "" if self.options.encoding else "; set `encoding` for this source"
        return SourceError(
            f"{self.path}: the file cannot be decoded as {self.encoding}{where}{hint}"
        )


def _skip_blank_lines(text: IO[str], lines_before: int, line: str) -> tuple[int, str]:
    """Skip empty lines above the header; returns the lines skipped and the first other."""
    while line and not line.strip():
        lines_before += 1
        line = text.readline()
    return lines_before, line


def _sep_directive(line: str) -> str | None:
    """The delimiter named by Excel's ``sep=;`` first line, or None if it is not one."""
    text = line.rstrip("\r\n")
    if len(text) >= 7 and text[0] == text[-1] == '"':
        text = text[1:-1]
    if len(text) < 5 or text[:4].lower() != "sep=":
        return None
    delimiter, rest = text[4], text[5:]
    # A spreadsheet that re-saved the file pads the line with delimiters.
    if rest.strip(delimiter) or delimiter in "\r\n":
        return None
    return delimiter


def _sniff_delimiter(header_line: str, quotechar: str) -> str:
    """The candidate that occurs most often outside quotes in the header line."""
    counts = dict.fromkeys(_DELIMITER_CANDIDATES, 0)
    inside_quotes = False
    for char in header_line:
        if char == quotechar:
            inside_quotes = not inside_quotes
        elif not inside_quotes and char in counts:
            counts[char] += 1
    return max(_DELIMITER_CANDIDATES, key=counts.__getitem__)


def _layout(header: list[str], path: Path, line: int) -> _Layout:
    names = [cell.strip() for cell in header]
    width = len(names)
    while width and not names[width - 1]:
        width -= 1
    if width == 0:
        raise SourceError(f"{path}: the header (line {line}) has no column names")
    keep = tuple(i for i in range(width) if names[i])
    _check_unique(names, keep, path, line)
    columns = tuple(names[i] for i in keep)
    return _Layout(columns, width, None if len(keep) == width else keep)


def _check_unique(names: list[str], keep: Iterable[int], path: Path, line: int) -> None:
    positions: dict[str, list[int]] = {}
    for i in keep:
        positions.setdefault(names[i].casefold(), []).append(i)
    repeated = [found for found in positions.values() if len(found) > 1]
    if not repeated:
        return
    described = "; ".join(
        " and ".join(f"{names[i]!r} (column {i + 1})" for i in found) for found in repeated
    )
    raise SourceError(
        f"{path}: duplicate column names in the header (line {line}), "
        f"compared ignoring case: {described}"
    )


def _is_blank(cells: list[str]) -> bool:
    return all(not cell or cell.isspace() for cell in cells)


def _first_undecodable_line(path: Path, encoding: str) -> int | None:
    """The line (counted like the reader counts them) holding the first bad byte."""
    decoder = codecs.getincrementaldecoder(encoding)()
    breaks = 0
    ended_with_cr = False
    try:
        with path.open("rb") as raw:
            while chunk := raw.read(_CHUNK_BYTES):
                pending = decoder.getstate()[0]
                try:
                    decoded = decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    good = (pending + chunk)[: exc.start]
                    decoded = codecs.decode(good, encoding, errors="replace")
                    return breaks + _line_breaks(decoded, ended_with_cr) + 1
                breaks += _line_breaks(decoded, ended_with_cr)
                ended_with_cr = decoded.endswith("\r") if decoded else ended_with_cr
            decoder.decode(b"", final=True)
    except UnicodeError:
        return breaks + 1  # the file ends inside a character, or a codec refused to start
    except OSError:
        return None
    return None


def _line_breaks(text: str, after_cr: bool) -> int:
    """Line breaks in text, with CRLF as one (also across a chunk boundary)."""
    count = text.count("\n") + text.count("\r") - text.count("\r\n")
    if after_cr and text.startswith("\n"):
        count -= 1
    return count
