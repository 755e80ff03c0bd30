"""Find source connectors by their ``type`` name through entry points.

Our own connectors and any installed package's are declared in the
``openphone_sync.connectors`` entry-point group, so a user's package can add a source
without touching ours.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from connectors.base import Source
from sync.errors import ConfigError

GROUP = "openphone_sync.connectors"

# Ours, so a source checkout that was never pip-installed still finds them.
BUILTIN: dict[str, str] = {
    "csv": "connectors.csv_file:CsvSource",
    "google_sheets": "connectors.google_sheets:GoogleSheetsSource",
    "sql": "connectors.sql:SqlSource",
}


def known_types() -> list[str]:
    """Every connector type name that can be used in ``[[sources]] type``."""
    names = set(BUILTIN)
    names.update(ep.name for ep in entry_points(group=GROUP))
    return sorted(names)


def get_connector(type_name: str) -> type[Source]:
    """The connector class for a ``type`` name.

    Raises:
        ConfigError: the name is unknown (the message lists the known ones), or the entry
            point does not name a :class:`Source`.
    """
    target = None
    for ep in entry_points(group=GROUP):
        if ep.name == type_name:
            target = ep
            break
    if target is not None:
        cls = target.load()
    elif type_name in BUILTIN:
        module_name, _, attr = BUILTIN[type_name].partition(":")
        module = __import__(module_name, fromlist=[attr])
        cls = getattr(module, attr)
    else:
        raise ConfigError(
            f"unknown source type {type_name!r}; known types: {', '.join(known_types())}"
        )
    if not (isinstance(cls, type) and issubclass(cls, Source)):
        raise ConfigError(f"source type {type_name!r} does not name a Source class ({cls!r})")
    return cls
