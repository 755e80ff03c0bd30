"""Plain value objects shared by every stage. No I/O here.

- :class:`SourceRecord`: one row as a connector read it, values aligned with the columns.
- :class:`Contact`: the canonical, normalized contact a source wants to exist.
- :class:`Issue`: a row left out (``level="row"``) or a value left out (``level="value"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

JsonValue = Any
"""A value that :func:`json.dumps` accepts (str, int, float, bool, None, list, dict)."""


class SourceRecord(NamedTuple):
    """One record of a source.

    A named tuple rather than a dataclass: connectors make one per row, millions per run,
    and a tuple is the cheapest object Python builds.

    Attributes:
        row: where a person finds it: the CSV line or Sheets row number, or the 1-based
            position in a SQL result.
        values: the raw values, aligned with the stream's ``columns``. Text sources give
            ``str`` (``""`` for an empty cell); SQL gives the driver's types, ``None`` for NULL.
    """

    row: int
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Item:
    """A labelled email or phone number, as the API holds them."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Contact:
    """What a source wants one OpenPhone contact to be, after normalization.

    ``custom_fields`` maps a custom field *key* to its JSON value; it holds only the
    fields this source maps (a value of ``None`` means "no value").
    """

    external_id: str
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    role: str | None = None
    emails: tuple[Item, ...] = ()
    phone_numbers: tuple[Item, ...] = ()
    custom_fields: Mapping[str, JsonValue] = field(default_factory=dict)

    def payload(self) -> dict[str, JsonValue]:
        """The owned data as a plain dict: what the fingerprint and the state store keep."""
        return {
            "firstName": self.first_name,
            "lastName": self.last_name,
            "company": self.company,
            "role": self.role,
            "emails": [{"name": i.name, "value": i.value} for i in self.emails],
            "phoneNumbers": [{"name": i.name, "value": i.value} for i in self.phone_numbers],
            "customFields": {k: self.custom_fields[k] for k in sorted(self.custom_fields)},
        }


IssueLevel = Literal["row", "value"]


@dataclass(frozen=True, slots=True)
class Issue:
    """A row or a value that was left out, with the reason, for reports and ``--rejects``."""

    source: str
    row: int
    key: str | None
    level: IssueLevel
    column: str | None
    value: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """A plain dict, in the column order of the rejects CSV."""
        return {
            "source": self.source,
            "row": self.row,
            "key": self.key,
            "level": self.level,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
        }
