"""The one small interface every source connector implements.

A connector opens a :class:`RecordStream`: the source's column names, then its records,
streamed. It does not know about contacts, keys or mappings; the engine's mapping stage
turns records into contacts. Optional capabilities (write-back) are separate ABCs checked
with ``isinstance``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from sync.models import SourceRecord


class SourceOptions(BaseModel):
    """Base of each connector's own config keys (the ones besides name/type/key/fields)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class RecordStream:
    """An open source: its columns, then its records in order. Iterate ``records`` once."""

    columns: tuple[str, ...]
    records: Iterator[SourceRecord]
    # Facts a connector wants reported (encoding detected, delimiter found, ...).
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceContext:
    """What a connector may need from its surroundings, passed in rather than looked up."""

    name: str
    base_dir: Path
    env: Mapping[str, str]


class Source(ABC):
    """A place contacts are read from (a CSV file, a sheet, a SQL table).

    Subclasses set ``type_name`` (the config's ``type``) and ``Options`` (a pydantic model
    of their own config keys), and implement :meth:`open`.
    """

    type_name: ClassVar[str]
    Options: ClassVar[type[SourceOptions]] = SourceOptions

    def __init__(self, options: SourceOptions, context: SourceContext) -> None:
        self.options = options
        self.context = context

    @property
    def name(self) -> str:
        """The source's name from the config (also the contacts' ``source`` label)."""
        return self.context.name

    @abstractmethod
    def open(self) -> AbstractContextManager[RecordStream]:
        """Open the source for one read.

        Raises:
            SourceError: the source cannot be read at all (missing, unreachable, refused).
            ConfigError: the options make no sense for this source.
        """

    def describe(self) -> str:
        """A short, credential-free description for logs and ``doctor``."""
        return f"{self.type_name} source {self.name!r}"


@dataclass(frozen=True)
class WritebackRow:
    """What to write back for one source row after a real run."""

    row: int
    values: Mapping[str, str]  # writeback role (contact_id, status, synced_at) -> text


class SupportsWriteback(ABC):
    """Capability: the source can record each row's outcome next to the row."""

    @abstractmethod
    def write_back(self, rows: Sequence[WritebackRow]) -> int:
        """Write the outcomes in one batch; returns how many cells were written."""


class SupportsKeyOrder(ABC):
    """Capability: the source can hand its records over sorted by the key.

    With records in key order, the planner walks them beside the state's links read in the
    same order (a merge), so memory does not grow with the source. The order is a hint,
    never trusted: the planner checks it row by row and, at the first key out of order,
    plans again from :meth:`Source.open` with the whole state in memory. So a source may
    implement this when reading it twice is cheap and it is often in order (a CSV export),
    or when it can sort (a SQL table).
    """

    @abstractmethod
    def open_in_key_order(self, key_columns: Sequence[str]) -> AbstractContextManager[RecordStream]:
        """Open for one read, records sorted by the text of ``key_columns`` where the source can
        (code point order, as Python compares strings); else as :meth:`Source.open` does."""
