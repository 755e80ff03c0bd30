"""An in-process test bench: CSV sources, a config, the sandbox app, and engine runs on them.

Like :class:`tests.helpers.World`, but with any number of sources (the delete gates are
per source) and the config of :mod:`tests.chaos.harness`, so a bench can also be handed
to a real ``python -m sync`` process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from sync.config import load_config
from sync.engine import Engine, RunOptions, RunResult
from sync.sandbox import SandboxSettings, create_app, sandbox_transport
from tests.chaos.harness import API_KEY, TIER_KEY, write_config, write_rows

BASE_URL = "http://sandbox.test"


@dataclass
class Bench:
    """Sources ``name -> CSV``, their extra config lines, and a sandbox app."""

    tmp: Path
    state_url: str
    sources: Mapping[str, str] = field(default_factory=lambda: {"crm": ""})
    settings: SandboxSettings | None = None
    max_retries: int = 4
    app: Starlette = field(init=False)

    def __post_init__(self) -> None:
        self.app = create_app(self.settings or SandboxSettings(api_keys=(API_KEY,), rate_limit=1000))
        self.configure()

    @property
    def config_path(self) -> Path:
        return self.tmp / "sync.toml"

    def configure(self, **extra: str) -> None:
        """(Re)write the config; ``extra`` replaces a source's extra config lines."""
        lines = {**self.sources, **extra}
        write_config(
            self.config_path, BASE_URL, self.state_url,
            sources=[(name, f"{name}.csv", lines[name]) for name in self.sources],
            rate=1000, max_retries=self.max_retries,
        )

    def write(self, source: str, rows: Sequence[Mapping[str, str]]) -> None:
        """Write a source's CSV (header only when ``rows`` is empty)."""
        write_rows(self.tmp / f"{source}.csv", rows)

    def run(
        self, *, dry_run: bool = False, transport: httpx.AsyncBaseTransport | None = None, **options: Any
    ) -> RunResult:
        """One engine run against the sandbox app (or ``transport`` in front of it)."""
        engine = Engine(load_config(self.config_path, env={}), env={"OPENPHONE_API_KEY": API_KEY},
                        transport=transport or sandbox_transport(self.app))
        return engine.run(RunOptions(dry_run=dry_run, **options))

    @property
    def state(self) -> Any:
        return self.app.state.sandbox

    def contacts(self, source: str | None = None) -> dict[str, dict[str, Any]]:
        """The sandbox's contacts (of ``source``, or all) by externalId; asserts no duplicates."""
        found: dict[str, dict[str, Any]] = {}
        for contact in self.state.all_contacts():
            if source is not None and contact["source"] != source:
                continue
            key = str(contact["externalId"])
            assert key not in found, f"duplicate externalId {key}"
            found[key] = contact
        return found

    def add_foreign(self, external_id: str | None, source: str, first_name: str) -> dict[str, Any]:
        """A contact someone else made (another integration, a user), through the sandbox."""
        body: dict[str, Any] = {"defaultFields": {"firstName": first_name}, "source": source}
        if external_id is not None:
            body["externalId"] = external_id
        return dict(self.state.contacts.render(self.state.contacts.create(body)))

    def retype_tier(self, field_type: str) -> None:
        """Change the type of the "Account Tier" field in the sandbox (as an admin might)."""
        definitions = [dict(d) for d in self.state.custom_fields()]
        for definition in definitions:
            if definition["key"] == TIER_KEY:
                definition["type"] = field_type
        self.state.set_custom_fields(definitions)

    def writes(self, *methods: str) -> list[Any]:
        """Write requests the sandbox answered with a success."""
        wanted = methods or ("POST", "PATCH", "DELETE")
        return [r for r in self.state.log if r.path.startswith("/v1") and r.method in wanted
                and r.status is not None and r.status < 300]
