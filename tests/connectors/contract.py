"""The behaviour every source connector shares, as a reusable test base class.

A connector's test module subclasses :class:`SourceContract` in a class named ``Test…``
and overrides :meth:`SourceContract.make_source` to build a source that holds the given
header and rows; pytest then runs every ``test_`` method below against that connector.
Nothing here knows about files: a Sheets or SQL connector builds its source however it
needs to (``tmp_path`` is there for the ones that need a place on disk).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from connectors.base import RecordStream, Source
from sync.models import SourceRecord

COLUMNS = ("id", "First Name", "Email", "Phone")
ROWS = (
    ("1", "Ann", "ann@example.com", "+14155550101"),
    ("2", "Zoë", "", "(415) 555-0102"),
    ("3", "O'Brien, \"Jr\"", "ob@example.com", ""),
    ("4", "José; the second", "jose@example.org", "415.555.0104"),
)


def read_all(source: Source) -> tuple[tuple[str, ...], list[SourceRecord], dict[str, object]]:
    """Open the source once and read everything: columns, records and info."""
    with source.open() as stream:
        assert isinstance(stream, RecordStream)
        records = list(stream.records)
        return stream.columns, records, dict(stream.info)


class SourceContract:
    """Checks any connector passes. Subclass as ``Test…`` and override ``make_source``."""

    def make_source(
        self, tmp_path: Path, columns: Sequence[str], rows: Sequence[Sequence[str]]
    ) -> Source:
        """A source whose header is ``columns`` and whose records are ``rows``, as text."""
        raise NotImplementedError

    def test_columns_are_the_header_in_order(self, tmp_path: Path) -> None:
        """The stream's columns are the header's names, in order, as a tuple of str."""
        columns, _, _ = read_all(self.make_source(tmp_path, COLUMNS, ROWS))
        assert columns == COLUMNS

    def test_records_carry_values_aligned_with_columns(self, tmp_path: Path) -> None:
        """Each record holds one value per column, in column order, as the source held it."""
        columns, records, _ = read_all(self.make_source(tmp_path, COLUMNS, ROWS))
        assert all(isinstance(r, SourceRecord) for r in records)
        assert all(len(r.values) == len(columns) for r in records)
        assert [r.values for r in records] == [tuple(row) for row in ROWS]

    def test_records_carry_increasing_row_numbers(self, tmp_path: Path) -> None:
        """Row numbers are positive, distinct and in reading order, for reports."""
        _, records, _ = read_all(self.make_source(tmp_path, COLUMNS, ROWS))
        rows = [r.row for r in records]
        assert all(isinstance(row, int) and row > 0 for row in rows)
        assert rows == sorted(set(rows))
        assert len(rows) == len(ROWS)

    def test_reading_twice_gives_the_same_records(self, tmp_path: Path) -> None:
        """Two reads of an unchanged source agree exactly (what the diff relies on)."""
        source = self.make_source(tmp_path, COLUMNS, ROWS)
        assert read_all(source)[:2] == read_all(source)[:2]

    def test_header_only_source_yields_no_records(self, tmp_path: Path) -> None:
        """A source with a header and no rows has its columns and yields nothing."""
        columns, records, _ = read_all(self.make_source(tmp_path, COLUMNS, []))
        assert columns == COLUMNS
        assert records == []

    def test_column_names_are_trimmed(self, tmp_path: Path) -> None:
        """Spaces around header names are not part of the column names."""
        padded = ("  id", "First Name  ", " Email ", "Phone")
        columns, records, _ = read_all(self.make_source(tmp_path, padded, ROWS[:1]))
        assert columns == COLUMNS
        assert records[0].values == ROWS[0]

    def test_many_rows_arrive_in_order(self, tmp_path: Path) -> None:
        """A few thousand rows all arrive, in source order (nothing batched away)."""
        rows = [(str(i), f"Name {i}", f"n{i}@example.com", "") for i in range(3000)]
        _, records, _ = read_all(self.make_source(tmp_path, COLUMNS, rows))
        assert [r.values[0] for r in records] == [str(i) for i in range(3000)]

    def test_info_is_a_plain_dict(self, tmp_path: Path) -> None:
        """``stream.info`` is a dict with string keys, for reports and logs."""
        _, _, info = read_all(self.make_source(tmp_path, COLUMNS, ROWS))
        assert all(isinstance(key, str) for key in info)
