"""Custom fields of every type, end to end against the sandbox (issue 4's "done when")."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.config import load_config
from sync.engine import Engine, RunOptions, RunResult
from sync.errors import ConfigError
from sync.fields import fields_report
from sync.sandbox import SandboxSettings, create_app, sandbox_transport
from tests.helpers import API_KEY

FIELDS = [
    {"name": "Lead Source", "key": "a00000000000000000000001", "type": "string"},
    {"name": "Notes", "key": "a00000000000000000000002", "type": "string"},
    {"name": "Office Address", "key": "a00000000000000000000003", "type": "address"},
    {"name": "Website", "key": "a00000000000000000000004", "type": "url"},
    {"name": "VIP", "key": "a00000000000000000000005", "type": "boolean"},
    {"name": "Annual Revenue", "key": "a00000000000000000000006", "type": "number"},
    {"name": "Renewal Date", "key": "a00000000000000000000007", "type": "date"},
    {"name": "Tags", "key": "a00000000000000000000008", "type": "multi-select"},
]
KEY = {f["name"]: f["key"] for f in FIELDS}

TOML = """
[openphone]
base_url = "http://sandbox.test"
rate_limit = 1000

[state]
url = {state}

[[sources]]
name = "crm"
type = "csv"
path = "contacts.csv"
key = "id"
default_region = "US"

[sources.fields]
firstName = "name"

[sources.custom_fields]
"lead source" = "lead"
"Office Address" = "address"
"Website" = {{ column = "site", assume_https = true }}
"VIP" = "vip"
"Annual Revenue" = {{ column = "revenue", decimal = "," }}
{renewal} = {{ column = "renewal", format = "%d/%m/%Y" }}
"Tags" = {{ column = "tags", separator = "|" }}
"""

HEADER = ["id", "name", "lead", "address", "site", "vip", "revenue", "renewal", "tags"]
ROW = {"id": "1", "name": "Ann", "lead": " Referral ", "address": "1 Main St\r\nSpringfield",
       "site": "example.com/ann", "vip": "Yes", "revenue": "1.234,50", "renewal": "03/04/2027",
       "tags": "gold| retail |gold|"}


class Setup:
    def __init__(self, tmp: Path, state_url: str, renewal: str = '"Renewal Date"') -> None:
        self.tmp = tmp
        self.app = create_app(SandboxSettings(api_keys=(API_KEY,), rate_limit=1000, custom_fields=FIELDS))
        (tmp / "sync.toml").write_text(TOML.format(state=json.dumps(state_url), renewal=renewal))

    def write(self, *rows: dict[str, str]) -> None:
        with open(self.tmp / "contacts.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=HEADER)
            writer.writeheader()
            writer.writerows(rows)

    def run(self, **kw: Any) -> RunResult:
        config = load_config(self.tmp / "sync.toml", env={})
        engine = Engine(config, env={"OPENPHONE_API_KEY": API_KEY}, transport=sandbox_transport(self.app))
        return engine.run(RunOptions(**kw))

    def custom(self, external_id: str = "1") -> dict[str, Any]:
        [contact] = [c for c in self.app.state.sandbox.all_contacts() if c["externalId"] == external_id]
        return {c["name"]: c["value"] for c in contact["customFields"]}

    def set_user_value(self, name: str, value: Any) -> None:
        """As a user editing the contact in the app: set one custom field (whole-contact PATCH)."""
        [contact] = [c for c in self.app.state.sandbox.all_contacts() if c["externalId"] == "1"]
        fields = [{"key": c["key"], "value": c["value"]} for c in contact["customFields"]]
        body = {"defaultFields": contact["defaultFields"], "customFields": [*fields, {"key": KEY[name], "value": value}]}

        async def patch() -> None:
            async with httpx.AsyncClient(transport=sandbox_transport(self.app), base_url="http://sandbox.test") as client:
                response = await client.patch(f"/v1/contacts/{contact['id']}", json=body,
                                              headers={"Authorization": API_KEY})
                assert response.status_code == 200, response.text

        asyncio.run(patch())


@pytest.fixture
def setup(tmp_path: Path, state_url: str) -> Setup:
    return Setup(tmp_path, state_url)


def test_first_run_writes_every_type_correctly_typed(setup: Setup):
    """Each of the seven types arrives as the JSON type the API expects."""
    setup.write(ROW)
    result = setup.run()
    assert result.exit_code == 0, result.to_dict()
    assert setup.custom() == {
        "Lead Source": "Referral",
        "Office Address": "1 Main St\nSpringfield",
        "Website": "https://example.com/ann",
        "VIP": True,
        "Annual Revenue": 1234.5,
        "Renewal Date": "2027-04-03T00:00:00.000Z",
        "Tags": ["gold", "retail"],
    }


def test_a_changed_cell_changes_exactly_that_field(setup: Setup):
    """Editing one cell makes one PATCH whose only difference is that field."""
    setup.write(ROW)
    setup.run()
    before = setup.custom()
    setup.write({**ROW, "vip": "no"})
    result = setup.run()
    assert result.plan.summary()["update"] == 1
    [op] = list(result.plan.ops())
    assert [c.field for c in op.changes] == ["custom: VIP"]
    assert setup.custom() == {**before, "VIP": False}


def test_a_users_value_on_an_unmapped_field_survives(setup: Setup):
    """A value set in the app on a field nobody maps is still there after an update."""
    setup.write(ROW)
    setup.run()
    setup.set_user_value("Notes", "prefers mornings")
    setup.write({**ROW, "lead": "Website"})
    setup.run()
    custom = setup.custom()
    assert custom["Notes"] == "prefers mornings"
    assert custom["Lead Source"] == "Website"


def test_a_bad_value_rejects_only_that_value(setup: Setup):
    """An ambiguous date is left out with a reason; the rest of the contact syncs."""
    setup.write({**ROW, "renewal": "2027-13-45", "revenue": "lots"})
    result = setup.run()
    assert result.exit_code == 0
    reasons = {i.column: i.reason for i in result.plan.issues()}
    assert set(reasons) == {"renewal", "revenue"}
    custom = setup.custom()
    assert "Renewal Date" not in custom and "Annual Revenue" not in custom
    assert custom["VIP"] is True


def test_emptying_a_cell_clears_the_value_we_wrote(setup: Setup):
    """An empty cell sends null for a field we wrote before."""
    setup.write(ROW)
    setup.run()
    setup.write({**ROW, "tags": ""})
    setup.run()
    assert "Tags" not in setup.custom()


def test_a_field_renamed_in_the_app_stops_a_name_mapping_with_a_clear_error(setup: Setup):
    """Mapped by name, a renamed field is a config error that lists the workspace's fields."""
    setup.write(ROW)
    setup.run()
    renamed = [dict(f, name="Renews On") if f["name"] == "Renewal Date" else f for f in FIELDS]
    setup.app.state.sandbox.set_custom_fields(renamed)
    setup.write({**ROW, "vip": "no"})
    with pytest.raises(ConfigError) as err:
        setup.run()
    text = str(err.value)
    assert "no custom field named 'Renewal Date'" in text
    assert "Renews On" in text and KEY["Renewal Date"] in text
    assert setup.custom()["VIP"] is True, "nothing was written"


def test_a_field_renamed_in_the_app_keeps_working_when_mapped_by_key(tmp_path: Path, state_url: str):
    """Mapped by key, a rename in the app changes nothing."""
    setup = Setup(tmp_path, state_url, renewal=json.dumps(KEY["Renewal Date"]))
    setup.write(ROW)
    setup.run()
    renamed = [dict(f, name="Renews On") if f["name"] == "Renewal Date" else f for f in FIELDS]
    setup.app.state.sandbox.set_custom_fields(renamed)
    setup.write({**ROW, "renewal": "05/06/2028"})
    assert setup.run().exit_code == 0
    assert setup.custom()["Renews On"] == "2028-06-05T00:00:00.000Z"


def test_dry_run_shows_custom_changes_by_name_with_old_and_new(setup: Setup):
    """The preview names the field as users see it."""
    setup.write(ROW)
    setup.run()
    setup.write({**ROW, "revenue": "99"})
    result = setup.run(dry_run=True)
    [op] = list(result.plan.ops())
    [change] = op.changes
    assert (change.field, change.before, change.after) == ("custom: Annual Revenue", 1234.5, 99)


def test_fields_report_says_which_column_feeds_each_field(setup: Setup):
    """`sync fields` lists every workspace field and the column mapped to it."""
    config = load_config(setup.tmp / "sync.toml", env={})
    report = fields_report(config, env={"OPENPHONE_API_KEY": API_KEY},
                           transport=sandbox_transport(setup.app))
    by_name = {f.name: f for f in report.fields}
    assert by_name["VIP"].fed_by == (("crm", "vip"),)
    assert by_name["Notes"].fed_by == ()
    assert report.problems == []
