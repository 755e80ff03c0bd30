"""The whole engine on a PostgreSQL table: plan, apply to the sandbox, then follow edits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, Numeric, Table
from starlette.applications import Starlette

from sync.config import load_config
from sync.engine import Engine, RunOptions, RunResult
from sync.sandbox import SandboxSettings, create_app, sandbox_transport
from tests.connectors.sql_fixtures import (  # noqa: F401  # fixtures, used by name
    Database,
    postgres,
    postgres_server,
)
from tests.helpers import API_KEY

TIER_KEY = "66f1c2a4e9b07d3a5c8e1f21"  # "Account Tier" in the sandbox's bundled fields

CONFIG = """
[openphone]
base_url = "http://sandbox.test"
rate_limit = 1000
concurrency = 4
max_retries = 4

[state]
url = {state_url}

[[sources]]
name = "app-db"
type = "sql"
url_env = "CONTACTS_DB_URL"
table = {table}
key = "id"
default_region = "US"
delete = "mirror"

[sources.fields]
firstName = "first_name"
lastName = "last_name"          # the table's column is a quoted "Last_Name"
company = "company"
emails = {{ work = "email" }}
phoneNumbers = {{ mobile = "mobile" }}

[sources.custom_fields]
"Account Tier" = "tier"
"""


def person(n: int, **overrides: Any) -> dict[str, Any]:
    """A valid row with a fictional number; override any column."""
    row = {
        "id": n, "first_name": f"First{n}", "Last_Name": f"Last{n}", "company": "Acme",
        "email": f"person{n}@example.com", "mobile": f"(415) 555-{100 + n:04d}",
        "tier": "Gold", "score": Decimal("12.50"),
    }
    row.update(overrides)
    return row


@dataclass
class SqlWorld:
    """A PostgreSQL table, a config reading it, a state file and a sandbox."""

    db: Database
    tmp: Path
    table: Table
    app: Starlette

    def run(self) -> RunResult:
        config = load_config(self.tmp / "sync.toml", env={})
        env = {"OPENPHONE_API_KEY": API_KEY, "CONTACTS_DB_URL": self.db.url}
        return Engine(config, env=env, transport=sandbox_transport(self.app)).run(RunOptions())

    def sql(self, statement: str) -> None:
        self.db.execute(statement.format(table=self.db.quote(self.table.name)))

    def contacts(self) -> dict[str, dict[str, Any]]:
        """The sandbox's contacts by externalId."""
        return {c["externalId"]: c for c in self.app.state.sandbox.all_contacts()}

    def requests(self, method: str) -> list[Any]:
        """Successful requests to /v1 with this method since the log was cleared."""
        return [r for r in self.app.state.sandbox.log
                if r.path.startswith("/v1") and r.method == method and r.status is not None and r.status < 300]

    def writes(self) -> int:
        return sum(len(self.requests(m)) for m in ("POST", "PATCH", "DELETE"))

    def clear_log(self) -> None:
        self.app.state.sandbox.log.clear()


@pytest.fixture
def world(postgres: Database, tmp_path: Path) -> SqlWorld:  # noqa: F811
    """Five people in a PostgreSQL table (one with no company), synced once."""
    columns: list[str | Column[Any]] = [Column("id", Integer, primary_key=True, autoincrement=False), "first_name",
               "Last_Name", "company", "email", "mobile", "tier", Column("score", Numeric(10, 2))]
    table = postgres.table(columns, [tuple(person(n, company=None if n == 3 else "Acme").values())
                                     for n in range(1, 6)])
    (tmp_path / "sync.toml").write_text(CONFIG.format(
        state_url=json.dumps(f"sqlite:///{tmp_path / 'state.db'}"), table=json.dumps(table.name),
    ))
    app = create_app(SandboxSettings(api_keys=(API_KEY,), rate_limit=1000))
    return SqlWorld(postgres, tmp_path, table, app)


def test_first_run_creates_a_contact_per_row(world: SqlWorld) -> None:
    """Every row becomes one contact; NULL is no value, a mixed-case column is found."""
    result = world.run()
    assert result.exit_code == 0 and result.plan.summary()["create"] == 5
    contacts = world.contacts()
    assert set(contacts) == {"1", "2", "3", "4", "5"}
    three = contacts["3"]["defaultFields"]
    assert three["lastName"] == "Last3"
    assert three.get("company") in (None, "")
    assert "None" not in json.dumps(contacts["3"])
    assert contacts["1"]["defaultFields"]["phoneNumbers"][0]["value"] == "+14155550101"
    assert {"key": TIER_KEY, "value": "Gold"}.items() <= next(
        c for c in contacts["1"]["customFields"] if c["key"] == TIER_KEY
    ).items()


def test_unchanged_table_makes_no_writes(world: SqlWorld) -> None:
    """A second run over the same rows writes nothing."""
    world.run()
    world.clear_log()
    result = world.run()
    assert result.plan.summary()["unchanged"] == 5
    assert world.writes() == 0


def test_an_update_of_one_row_makes_one_patch(world: SqlWorld) -> None:
    """``UPDATE`` one row: exactly one PATCH, carrying the new value."""
    world.run()
    world.sql("UPDATE {table} SET company = 'Globex' WHERE id = 2")
    world.clear_log()
    result = world.run()
    assert result.plan.summary()["update"] == 1
    assert len(world.requests("PATCH")) == 1 and world.writes() == 1
    assert world.contacts()["2"]["defaultFields"]["company"] == "Globex"


def test_a_deleted_row_deletes_its_contact(world: SqlWorld) -> None:
    """``DELETE`` one row: with delete = mirror, exactly its contact is deleted."""
    world.run()
    world.sql("DELETE FROM {table} WHERE id = 4")
    world.clear_log()
    result = world.run()
    assert result.plan.summary()["delete"] == 1
    assert len(world.requests("DELETE")) == 1 and world.writes() == 1
    assert set(world.contacts()) == {"1", "2", "3", "5"}
