"""A Google Sheet, end to end: fake Sheets -> engine -> sandbox, driven by a config file."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

import connectors.google_sheets as google_sheets
from sync.config import load_config
from sync.engine import Engine, RunOptions, RunResult
from sync.sandbox import SandboxSettings, create_app, sandbox_transport
from tests.connectors.fake_sheets import FakeSheets, FakeWorksheet

API_KEY = "test-key-0123456789"
SHEET_ID = "1ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210_-abc"
EMAIL = "sync-bot@test-project.iam.gserviceaccount.com"
KEY_ENV = "GOOGLE_SERVICE_ACCOUNT_JSON"
HEADER = ["id", "First Name", "Last Name", "Company", "Email", "Mobile", "OpenPhone ID", "Sync status", "Last synced"]

CONFIG = """
[openphone]
base_url = "http://sandbox.test"
rate_limit = 1000
concurrency = 4
max_retries = 4

[state]
url = {state_url}

[[sources]]
name = "team-sheet"
type = "google_sheets"
spreadsheet = "https://docs.google.com/spreadsheets/d/{sheet_id}/edit#gid=0"
worksheet = "Contacts"
header_row = 2
credentials_json_env = "{key_env}"
key = "id"
default_region = "US"
writeback = {{ contact_id = "OpenPhone ID", status = "Sync status", synced_at = "Last synced" }}

[sources.fields]
firstName = "First Name"
lastName = "Last Name"
company = "Company"
emails = {{ work = "Email" }}
phoneNumbers = {{ mobile = "Mobile" }}
"""


@dataclass
class SheetWorld:
    """A config, a fake spreadsheet and a sandbox, and a way to run the engine on them."""

    tmp: Path
    fake: FakeSheets
    app: Starlette = field(init=False)

    def __post_init__(self) -> None:
        self.app = create_app(SandboxSettings(api_keys=(API_KEY,), rate_limit=1000))
        state_url = json.dumps(f"sqlite:///{self.tmp / 'state.db'}")
        (self.tmp / "sync.toml").write_text(
            CONFIG.format(state_url=state_url, sheet_id=SHEET_ID, key_env=KEY_ENV)
        )
        self.env = {"OPENPHONE_API_KEY": API_KEY, KEY_ENV: json.dumps(self.fake.add_account(EMAIL))}

    def share(self, rows: Sequence[Sequence[str]]) -> FakeWorksheet:
        title_row = ["Team contacts (do not sort: OpenPhone sync writes into this tab)"]
        sheet = self.fake.add_spreadsheet(SHEET_ID, {"Contacts": [title_row, HEADER, *rows]},
                                          shared_with={EMAIL: "writer"})
        return sheet.worksheets[0]

    def run(self, **options: Any) -> RunResult:
        config = load_config(self.tmp / "sync.toml", env={})
        engine = Engine(config, env=self.env, transport=sandbox_transport(self.app))
        return engine.run(RunOptions(**options))

    def contacts(self) -> dict[str, dict[str, Any]]:
        return {c["externalId"]: c for c in self.app.state.sandbox.all_contacts()}

    def api_writes(self, *methods: str) -> list[Any]:
        wanted = methods or ("POST", "PATCH", "DELETE")
        return [r for r in self.app.state.sandbox.log
                if r.path.startswith("/v1") and r.method in wanted and r.status is not None and r.status < 300]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[SheetWorld]:
    fake = FakeSheets()
    google_sheets.session_factory = fake.session
    try:
        yield SheetWorld(tmp_path, fake)
    finally:
        google_sheets.session_factory = None
        fake.close()


def sheet_reads(world: SheetWorld) -> list[Any]:
    """Whole-sheet values reads (write-back's one-row header check is not one)."""
    return [c for c in world.fake.calls("values") if not re.search(r"!(\d+):\1$", c.path)]


def row(n: int, **overrides: str) -> list[str]:
    values = {"id": f"K{n}", "First Name": f"First{n}", "Last Name": f"Last{n}", "Company": "Acme",
              "Email": f"person{n}@example.com", "Mobile": f"+1 (415) 555-{100 + n:04d}"}
    values.update(overrides)
    return [values.get(name, "") for name in HEADER]


def test_sheet_to_sandbox_then_one_edited_cell_is_one_patch(world: SheetWorld) -> None:
    """Rows become contacts; editing one cell in the sheet makes exactly one PATCH."""
    tab = world.share([row(1), row(2), [], row(3, Mobile="+44 20 7946 0958")])
    first = world.run()
    assert first.exit_code == 0 and first.plan.summary()["create"] == 3
    contacts = world.contacts()
    assert set(contacts) == {"K1", "K2", "K3"}
    assert contacts["K3"]["defaultFields"]["phoneNumbers"][0]["value"] == "+442079460958"
    assert contacts["K1"]["source"] == "team-sheet"
    assert sorted(op.row or 0 for op in first.plan.ops()) == [3, 4, 6]  # the sheet's own rows
    assert len(sheet_reads(world)) == 1

    tab.put(4, HEADER.index("Company") + 1, "Globex")
    world.app.state.sandbox.log.clear()
    second = world.run()
    assert second.plan.summary()["update"] == 1
    assert len(world.api_writes()) == 1 and len(world.api_writes("PATCH")) == 1
    assert world.contacts()["K2"]["defaultFields"]["company"] == "Globex"
    assert len(sheet_reads(world)) == 2
    assert len(world.fake.calls("batch_update")) == 2  # one write-back per real run


def test_write_back_after_a_real_run_fills_the_columns_and_changes_no_later_read(world: SheetWorld) -> None:
    """A real run writes ids and statuses back in one batch; the next run still writes nothing to the API."""
    tab = world.share([row(1), row(2, id="")])
    world.run(dry_run=True)
    assert world.fake.calls("batch_update") == [], "a dry run never writes back"
    world.run()
    assert len(world.fake.calls("batch_update")) == 1

    contact_id = world.contacts()["K1"]["id"]
    column = {name: HEADER.index(name) + 1 for name in HEADER}
    assert tab.cell(3, column["OpenPhone ID"]) == contact_id
    assert tab.cell(3, column["Sync status"]) == "synced"
    assert tab.cell(3, column["Last synced"]).startswith(datetime.now(UTC).strftime("%Y-%m-%d"))
    assert tab.cell(4, column["Sync status"]).startswith("rejected: ")
    assert tab.cell(4, column["OpenPhone ID"]) == ""

    world.app.state.sandbox.log.clear()
    again = world.run()
    assert again.plan.summary()["unchanged"] == 1 and world.api_writes() == []
