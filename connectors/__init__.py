"""Source connectors: CSV files, Google Sheets, SQL databases, and any installed plugin."""

from __future__ import annotations

from connectors.base import (
    RecordStream,
    Source,
    SourceContext,
    SourceOptions,
    SupportsWriteback,
    WritebackRow,
)
from connectors.registry import get_connector, known_types

__all__ = [
    "RecordStream",
    "Source",
    "SourceContext",
    "SourceOptions",
    "SupportsWriteback",
    "WritebackRow",
    "get_connector",
    "known_types",
]
