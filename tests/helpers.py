"""Shared helpers for tests that run the whole engine against the sandbox."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from sync.config import SyncConfig, load_config
from sync.engine import Engine, RunOptions, RunResult
from sync.sandbox import SandboxSettings, create_app, sandbox_transport

API_KEY = "test-key-0123456789"
HEADER = ["id", "First Name", "Last Name", "Company", "Email", "Mobile", "Tier", "Notes"]

BASE_TOML = """
[openphone]
base_url = "http://sandbox.test"
rate_limit = {rate}
concurrency = 4
max_retries = 4

[state]
url = {state_url}

[[sources]]
name = "crm"
type = "csv"
path = "contacts.csv"
key = "id"
default_region = "US"
delete = "{delete}"
{extra_source}

[sources.fields]
firstName = "First Name"
lastName = "Last Name"
company = "Company"
emails = {{ work = "Email" }}
phoneNumbers = {{ mobile = "Mobile" }}

[sources.custom_fields]
"Account Tier" = "Tier"
"""


def contact_row(n: int, **overrides: str) -> dict[str, str]:
    """A valid row with a fictional number; override any column."""
    row = {
        "id": f"K{n}", "First Name": f"First{n}", "Last Name": f"Last{n}", "Company": "Acme",
        "Email": f"person{n}@example.com", "Mobile": f"(415) 555-{100 + n % 100:04d}",
        "Tier": "Gold", "Notes": "",
    }
    row.update(overrides)
    return row


@dataclass
class World:
    """A tmp folder with a CSV, a config and a sandbox, and ways to run the engine on them."""

    tmp: Path
    state_url: str
    app: Starlette = field(init=False)
    rate: float = 1000
    delete: str = "mirror"
    extra_source: str = ""
    sandbox: SandboxSettings | None = None

    def __post_init__(self) -> None:
        settings = self.sandbox or SandboxSettings(api_keys=(API_KEY,), rate_limit=1000)
        self.app = create_app(settings)
        self.write_config()

    @property
    def csv_path(self) -> Path:
        return self.tmp / "contacts.csv"

    def write_config(self, **kw: Any) -> None:
        text = BASE_TOML.format(
            rate=kw.get("rate", self.rate), state_url=json.dumps(self.state_url),
            delete=kw.get("delete", self.delete), extra_source=kw.get("extra_source", self.extra_source),
        )
        (self.tmp / "sync.toml").write_text(text)

    def write_rows(self, rows: Sequence[dict[str, str]], header: Sequence[str] = HEADER) -> None:
        with open(self.csv_path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(header), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    def config(self) -> SyncConfig:
        return load_config(self.tmp / "sync.toml", env={})

    def run(self, *, dry_run: bool = False, **options: Any) -> RunResult:
        engine = Engine(self.config(), env={"OPENPHONE_API_KEY": API_KEY},
                        transport=sandbox_transport(self.app))
        return engine.run(RunOptions(dry_run=dry_run, **options))

    # What the sandbox holds now.
    @property
    def state(self) -> Any:
        return self.app.state.sandbox

    def contacts(self) -> list[dict[str, Any]]:
        return list(self.state.all_contacts())

    def by_external_id(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for c in self.contacts():
            assert c["externalId"] not in found, f"duplicate externalId {c['externalId']}"
            found[c["externalId"]] = c
        return found

    def requests(self, *methods: str) -> list[Any]:
        """Logged requests to /v1 with these methods (all when none given)."""
        return [r for r in self.state.log
                if r.path.startswith("/v1") and (not methods or r.method in methods)]

    def writes(self) -> int:
        """Write requests the sandbox answered with a success."""
        return sum(1 for r in self.requests("POST", "PATCH", "DELETE")
                   if r.status is not None and r.status < 300)

    def clear_log(self) -> None:
        self.state.log.clear()


def state_tables(url: str) -> list[str]:
    """The tables at a state URL, looked at without creating anything."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not path.exists():
            return []
    engine = create_engine(parsed)
    try:
        with engine.connect() as connection:
            return sorted(inspect(connection).get_table_names())
    finally:
        engine.dispose()
