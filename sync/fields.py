"""``sync fields``: the workspace's custom fields, and which column feeds each one.

Reads ``GET /v1/contact-custom-fields`` (no writes), caches the definitions in the state
store like a real run does, and resolves every source's ``[sources.custom_fields]`` against
them, so a user sees at once which names match and which do not.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from sync.config import SyncConfig
from sync.custom_fields import resolve_custom_fields
from sync.errors import ConfigError


@dataclass(frozen=True)
class FieldRow:
    """One workspace field and the columns mapped to it (source → column)."""

    name: str
    key: str
    type: str
    fed_by: tuple[tuple[str, str], ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {
            "name": self.name,
            "key": self.key,
            "type": self.type,
            "mapped_from": [{"source": s, "column": c} for s, c in self.fed_by],
        }


@dataclass(frozen=True)
class FieldsReport:
    """The workspace's fields, plus the mapping problems found (empty when all resolve)."""

    fields: list[FieldRow]
    problems: list[str]

    def as_dict(self) -> dict[str, Any]:
        """The ``--output json`` document."""
        return {"fields": [f.as_dict() for f in self.fields], "problems": self.problems}


async def _fetch(config: SyncConfig, env: Mapping[str, str],
                 transport: httpx.AsyncBaseTransport | None) -> list[dict[str, str]]:
    from sync.engine import make_api

    async with make_api(config, env, transport) as api:
        return [
            {"name": d["name"], "key": d["key"], "type": d["type"]}
            for d in await api.list_custom_fields()
        ]


def fields_report(
    config: SyncConfig,
    *,
    env: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FieldsReport:
    """Read the definitions, cache them, and say which column feeds each field."""
    from state.store import StateStore

    env = os.environ if env is None else env
    defs = asyncio.run(_fetch(config, env, transport))
    with StateStore.open(config.state_url(env)) as store:
        store.save_custom_fields(defs)
    fed: dict[str, list[tuple[str, str]]] = {d["key"]: [] for d in defs}
    problems: list[str] = []
    for source in config.sources:
        try:
            resolved = resolve_custom_fields(source.name, source.custom_fields, defs)
        except ConfigError as exc:
            problems.extend(p for p in exc.problems if not p.startswith("the workspace's"))
            continue
        for field in resolved:
            fed[field.key].append((source.name, field.column))
    rows = [FieldRow(d["name"], d["key"], d["type"], tuple(fed[d["key"]])) for d in defs]
    return FieldsReport(rows, problems)
