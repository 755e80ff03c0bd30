"""Turn the rows Google returns into columns and records, and outcomes into write ranges.

Pure functions over already-parsed JSON: no I/O, so the header rules and the write-back
ranges are tested on their own as well as through the fake backend.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gspread.utils import absolute_range_name, rowcol_to_a1

from connectors.base import WritebackRow
from sync.errors import SourceError
from sync.models import SourceRecord

_DATE_TYPES = frozenset({"DATE", "DATE_TIME"})
_RANGE_START_ROW = re.compile(r"^\$?[A-Za-z]*\$?(\d+)")


@dataclass(frozen=True)
class Layout:
    """Which header cells become columns, and where every named column sits."""

    columns: tuple[str, ...]
    width: int  # header cells up to the last non-blank one
    keep: tuple[int, ...]  # 0-based sheet columns that become record values
    positions: Mapping[str, int]  # casefolded name -> 0-based column, every named column
    plain: bool  # every column up to ``width`` is kept: rows are taken as slices

    def values(self, cells: Sequence[str]) -> tuple[str, ...]:
        """The row's values aligned with the columns; short rows read as empty cells."""
        # The hot loop of a 50,000-row read: whole rows of a plain header take a slice.
        size = len(cells)
        if self.plain:
            if size >= self.width:
                return tuple(cells[: self.width])
            return (*cells, *("",) * (self.width - size))
        return tuple(cells[i] if i < size else "" for i in self.keep)


def column_letter(index: int) -> str:
    """The A1 letter(s) of a 0-based column."""
    return rowcol_to_a1(1, index + 1)[:-1]


def layout_from_header(cells: Sequence[str], *, excluded: Collection[str], where: str) -> Layout:
    """Read a header row: trimmed names; blank cells drop their column; no name twice.

    Args:
        cells: the header row's cells as Google returned them.
        excluded: casefolded names that are not record columns (the write-back columns).
        where: how messages name the row, e.g. ``source 'x', spreadsheet y, row 3``.

    Raises:
        SourceError: the header has no names, or names a column twice (ignoring case).
    """
    names = [str(cell).strip() for cell in cells]
    width = len(names)
    while width and not names[width - 1]:
        width -= 1
    if width == 0:
        raise SourceError(f"{where}: the header row has no column names (is header_row right?)")
    positions: dict[str, list[int]] = {}
    for i in range(width):
        if names[i]:
            positions.setdefault(names[i].casefold(), []).append(i)
    repeated = [found for found in positions.values() if len(found) > 1]
    if repeated:
        described = "; ".join(
            " and ".join(f"{names[i]!r} (column {column_letter(i)})" for i in found) for found in repeated
        )
        raise SourceError(
            f"{where}: duplicate column names in the header, compared ignoring case: {described}"
        )
    keep = tuple(i for i in range(width) if names[i] and names[i].casefold() not in excluded)
    return Layout(
        columns=tuple(names[i] for i in keep),
        width=width,
        keep=keep,
        positions={name: found[0] for name, found in positions.items()},
        plain=keep == tuple(range(width)),
    )


def range_start_row(a1_range: str | None) -> int:
    """The 1-based first row of a range Google echoes back (``'Sheet 1'!A1:D9`` -> 1)."""
    if not a1_range:
        return 1
    cells = a1_range.rsplit("!", 1)[-1]
    found = _RANGE_START_ROW.match(cells)
    return int(found.group(1)) if found else 1


def records(
    rows: Sequence[Any],
    *,
    first: int,
    row_of_first: int,
    layout: Layout,
    to_cells: Callable[[Any], Sequence[str]] | None,
    info: dict[str, Any],
) -> Iterator[SourceRecord]:
    """Yield a record per non-blank row of ``rows[first:]``, by index (the list is not copied).

    ``row_of_first`` is the sheet row number of ``rows[first]``; ``to_cells`` turns a raw row
    into its cells (None when the rows already are lists of text).
    """
    width = layout.width
    for index in range(first, len(rows)):
        cells = rows[index] if to_cells is None else to_cells(rows[index])
        values = layout.values(cells)
        if len(cells) > width and any(str(cell).strip() for cell in cells[width:]):
            info["extra_cells_rows"] += 1
        if any(value and not value.isspace() for value in values):
            yield SourceRecord(row_of_first + index - first, values)


def grid_cells(row: Mapping[str, Any]) -> list[str]:
    """One ``rowData`` entry as text: date cells as serial numbers, the rest as formatted."""
    return [_grid_cell_text(cell) for cell in row.get("values") or ()]


def _grid_cell_text(cell: Mapping[str, Any]) -> str:
    number_format = (cell.get("effectiveFormat") or {}).get("numberFormat") or {}
    number = (cell.get("effectiveValue") or {}).get("numberValue")
    if number_format.get("type") in _DATE_TYPES and isinstance(number, int | float):
        return serial_text(number)
    return str(cell.get("formattedValue", ""))


def serial_text(number: float) -> str:
    """A serial day number as text: ``45123`` for whole days, shortest exact decimal otherwise."""
    value = float(number)
    return str(int(value)) if value.is_integer() else repr(value)


def writeback_ranges(
    title: str, rows: Sequence[WritebackRow], columns: Mapping[str, int]
) -> tuple[list[dict[str, Any]], int]:
    """The ``values:batchUpdate`` data writing each row's outcome into its role's column.

    Only the cells named by a row and a role in ``columns`` (role -> 0-based column) are
    covered: adjacent columns of a row share a range, and runs of consecutive rows with
    the same columns share a block, so a 50,000-row write-back stays one small request.

    Returns:
        The ``data`` list and the number of cells it writes.
    """
    by_row: dict[int, dict[int, str]] = {}
    for item in rows:
        cells = by_row.setdefault(item.row, {})
        for role, text in item.values.items():
            if role in columns:
                cells[columns[role]] = str(text)
    runs: list[tuple[int, int, list[str]]] = []  # (first column, row, texts) per row run
    for row in sorted(by_row):
        runs.extend((start, row, texts) for start, texts in _adjacent_runs(by_row[row]))
    runs.sort(key=lambda run: (run[0], len(run[2]), run[1]))
    data: list[dict[str, Any]] = []
    count = 0
    block: list[list[str]] = []
    for i, (start, row, texts) in enumerate(runs):
        block.append(texts)
        following = runs[i + 1] if i + 1 < len(runs) else None
        if following and (following[0], len(following[2]), following[1]) == (start, len(texts), row + 1):
            continue
        first_row = row - len(block) + 1
        a1 = f"{rowcol_to_a1(first_row, start + 1)}:{rowcol_to_a1(row, start + len(texts))}"
        data.append({"range": absolute_range_name(title, a1), "majorDimension": "ROWS", "values": block})
        count += len(block) * len(texts)
        block = []
    return data, count


def _adjacent_runs(cells: Mapping[int, str]) -> Iterator[tuple[int, list[str]]]:
    """Split a row's cells (column -> text) into runs of adjacent columns."""
    start: int | None = None
    texts: list[str] = []
    for column in sorted(cells):
        if start is not None and column == start + len(texts):
            texts.append(cells[column])
            continue
        if start is not None:
            yield start, texts
        start, texts = column, [cells[column]]
    if start is not None:
        yield start, texts
