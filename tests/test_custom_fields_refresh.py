"""Custom fields changed in the app while a run writes (issue 4): one refresh, then carry on.

The API answers 400 "Invalid Custom Field Item" to a write built from definitions that
changed since the run read them. The run reads the definitions again, once, and brings every
write not yet sent up to date; a field mapped by name that no longer resolves is left out
of the write and the operation recorded failed with the start-of-run message.
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from state.store import StateStore
from sync.config import load_config
from sync.engine import Engine, RunOptions, RunResult
from sync.errors import ConfigError
from sync.plan import Plan
from sync.sandbox import SandboxSettings, create_app, sandbox_transport
from tests.helpers import API_KEY

LEAD, SCORE, RENEWAL, VIP, NOTES = (f"b{n:023d}" for n in range(1, 6))
FIELDS = [
    {"name": "Lead Source", "key": LEAD, "type": "string"},
    {"name": "Score", "key": SCORE, "type": "string"},
    {"name": "Renewal Date", "key": RENEWAL, "type": "date"},
    {"name": "VIP", "key": VIP, "type": "boolean"},
    {"name": "Notes", "key": NOTES, "type": "string"},
]

TOML = """
[openphone]
base_url = "http://sandbox.test"
rate_limit = 1000
concurrency = {concurrency}

[state]
url = {state}

[[sources]]
name = "crm"
type = "csv"
path = "contacts.csv"
key = "id"

[sources.fields]
firstName = "name"

[sources.custom_fields]
"Lead Source" = "lead"
"{score}" = "score"
"Renewal Date" = {{ column = "renewal", format = "%d/%m/%Y" }}
"VIP" = "vip"
"""
HEADER = ["id", "name", "lead", "score", "renewal", "vip"]


def person(n: int, **overrides: str) -> dict[str, str]:
    values = {"id": str(n), "name": f"Person{n}", "lead": "Referral", "score": str(n),
              "renewal": "03/04/2027", "vip": "yes"}
    values.update(overrides)
    return values


class Workspace:
    """A CSV, a config mapping Score by key (the others by name), and the sandbox."""

    def __init__(self, tmp: Path, state_url: str, *, concurrency: int = 4, latency_ms: float = 0.0) -> None:
        self.tmp = tmp
        self.state_url = state_url
        self.app = create_app(SandboxSettings(api_keys=(API_KEY,), rate_limit=1000,
                                              custom_fields=FIELDS, latency_ms=latency_ms))
        (tmp / "sync.toml").write_text(
            TOML.format(state=json.dumps(state_url), score=SCORE, concurrency=concurrency)
        )

    def write(self, rows: Sequence[Mapping[str, str]]) -> None:
        with open(self.tmp / "contacts.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=HEADER)
            writer.writeheader()
            writer.writerows(rows)

    def run(self, transport: httpx.AsyncBaseTransport | None = None, **options: Any) -> RunResult:
        config = load_config(self.tmp / "sync.toml", env={})
        engine = Engine(config, env={"OPENPHONE_API_KEY": API_KEY},
                        transport=transport or sandbox_transport(self.app))
        return engine.run(RunOptions(**options))

    def change(self, **by_key: dict[str, str] | None) -> Callable[[Plan], None]:
        """An ``on_planned`` hook: as an admin in the app, change (or delete: None) fields by key."""
        def hook(plan: Plan) -> None:
            definitions = []
            for definition in self._sandbox("GET", "/_sandbox/custom-fields")["data"]:
                if definition["key"] in by_key:
                    changes = by_key[definition["key"]]
                    if changes is None:
                        continue
                    definition = {**definition, **changes}
                definitions.append({k: definition[k] for k in ("name", "key", "type")})
            self._sandbox("PUT", "/_sandbox/custom-fields", definitions)
        return hook

    def reads_of_definitions(self) -> int:
        """GET /v1/contact-custom-fields requests, as ``/_sandbox/requests`` logs them."""
        log = self._sandbox("GET", "/_sandbox/requests")["data"]
        return sum(1 for r in log if r["method"] == "GET" and r["path"] == "/v1/contact-custom-fields")

    def statuses(self, method: str) -> list[int]:
        log = self._sandbox("GET", "/_sandbox/requests")["data"]
        return [r["status"] for r in log if r["method"] == method and r["path"].startswith("/v1/contacts")]

    def custom(self) -> dict[str, dict[str, Any]]:
        """Each contact's custom fields by their current name, by externalId."""
        return {c["externalId"]: {f["name"]: f["value"] for f in c["customFields"]}
                for c in self._sandbox("GET", "/_sandbox/contacts")["data"]}

    def contacts(self) -> dict[str, dict[str, Any]]:
        return {c["externalId"]: c for c in self._sandbox("GET", "/_sandbox/contacts")["data"]}

    def _sandbox(self, method: str, path: str, body: Any = None) -> Any:
        async def call() -> Any:
            async with httpx.AsyncClient(transport=sandbox_transport(self.app),
                                         base_url="http://sandbox.test") as client:
                response = await client.request(method, path, json=body)
                response.raise_for_status()
                return response.json()

        # on_planned runs inside the engine's event loop: make the requests from a thread.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, call()).result()


@pytest.fixture
def ws(tmp_path: Path, state_url: str) -> Workspace:
    return Workspace(tmp_path, state_url)


def test_a_field_mapped_by_key_retyped_mid_run_is_refreshed_once_and_converted(ws: Workspace):
    """Score (by key) becomes a number after planning: one more read, the rows sync with numbers;
    a score that is no number is left out with a warning and the rest of that contact syncs."""
    ws.write([person(n) for n in range(1, 6)] + [person(6, score="high")])
    result = ws.run(on_planned=ws.change(**{SCORE: {"type": "number"}}))
    assert result.exit_code == 0, result.to_dict()
    assert ws.reads_of_definitions() == 2, "the start of the run, and one refresh"
    custom = ws.custom()
    assert [custom[str(n)]["Score"] for n in range(1, 6)] == [1, 2, 3, 4, 5]
    assert "Score" not in custom["6"] and custom["6"]["Lead Source"] == "Referral"
    [issue] = result.plan.issues()
    assert (issue.key, issue.level, issue.column, issue.value) == ("6", "value", "score", "high")
    assert "custom field 'Score'" in issue.reason
    assert any("read again" in note for note in result.notes)
    with StateStore.open(ws.state_url) as store:
        cached = {d["key"]: d["type"] for d in store.load_custom_fields() or []}
    assert cached[SCORE] == "number", "the refreshed definitions are cached"
    again = ws.run()
    assert again.exit_code == 0 and again.plan.summary()["create"] == 0
    assert ws.reads_of_definitions() == 3, "the next run reads them once, as usual"


def test_a_retype_the_value_cannot_follow_leaves_it_out_and_the_next_run_writes_it(ws: Workspace):
    """VIP (a boolean) becomes text mid-run: the planned True is not the source's text, so it
    is left out with a warning; the next run, reading the new type, writes "yes"."""
    ws.write([person(1)])
    result = ws.run(on_planned=ws.change(**{VIP: {"type": "string"}}))
    assert result.exit_code == 0, result.to_dict()
    assert ws.reads_of_definitions() == 2
    assert "VIP" not in ws.custom()["1"] and ws.custom()["1"]["Score"] == "1"
    [issue] = result.plan.issues()
    assert "changed from boolean to string during the run" in issue.reason
    again = ws.run()
    assert again.exit_code == 0 and again.plan.summary()["update"] == 1
    assert ws.custom()["1"]["VIP"] == "yes"


def test_a_field_mapped_by_key_renamed_mid_run_keeps_working(ws: Workspace):
    """Score (by key) renamed in the app after planning: nothing is refused, nothing re-read."""
    ws.write([person(n) for n in range(1, 4)])
    result = ws.run(on_planned=ws.change(**{SCORE: {"name": "Points"}}))
    assert result.exit_code == 0, result.to_dict()
    assert ws.reads_of_definitions() == 1
    assert [ws.custom()[str(n)]["Points"] for n in range(1, 4)] == ["1", "2", "3"]


def test_a_field_mapped_by_key_renamed_and_retyped_mid_run_keeps_working(ws: Workspace):
    """Renamed and retyped: the key still finds it, the value is converted, the row syncs."""
    ws.write([person(1, score="7.5")])
    result = ws.run(on_planned=ws.change(**{SCORE: {"name": "Points", "type": "number"}}))
    assert result.exit_code == 0, result.to_dict()
    assert ws.custom()["1"]["Points"] == 7.5
    [op] = list(result.plan.ops())
    assert ("custom: Points", None, 7.5) in [(c.field, c.before, c.after) for c in op.changes]


def _assert_clear_error(error: str | None, gone_name: str) -> None:
    assert error is not None
    assert f"custom field {gone_name!r} changed in OpenPhone during the run" in error
    assert f"no custom field named {gone_name!r}" in error  # the start-of-run message
    assert "the workspace's custom fields (name, key, type)" in error
    assert "Lead Source" in error and LEAD in error


def test_a_field_mapped_by_name_deleted_mid_run_fails_the_row_with_a_clear_error(ws: Workspace):
    """Renewal Date (by name) deleted after planning: refused, re-read once; the rows are written
    without it and recorded failed with the message the next run stops with (exit 2)."""
    ws.write([person(1), person(2, renewal="")])
    result = ws.run(on_planned=ws.change(**{RENEWAL: None}))
    assert result.exit_code == 1
    assert ws.reads_of_definitions() == 2
    failed = result.to_dict()["failed"]
    assert [op["externalId"] for op in failed] == ["1"], "row 2 had no renewal date to write"
    _assert_clear_error(failed[0]["error"], "Renewal Date")
    custom = ws.custom()
    assert custom["1"] == {"Lead Source": "Referral", "Score": "1", "VIP": True}
    assert ws.contacts()["1"]["defaultFields"]["firstName"] == "Person1"
    with StateStore.open(ws.state_url) as store:
        link = store.load_links("crm")["1"]
    assert link.status == "failed" and link.contact_id == ws.contacts()["1"]["id"]
    assert link.attempts == 1 and link.last_error == failed[0]["error"]
    assert any("'Renewal Date'" in note for note in result.notes)
    with pytest.raises(ConfigError, match="no custom field named 'Renewal Date'"):
        ws.run()


def test_a_field_mapped_by_name_renamed_mid_run_is_no_longer_written_after_the_refresh(ws: Workspace):
    """A rename alone is never refused (writes go by key); when another field's retype makes the
    run re-read the definitions, Renewal Date (by name) no longer resolves: the clear error,
    and the rest of the contact, including the converted Score, is written."""
    ws.write([person(1)])
    hook = ws.change(**{RENEWAL: {"name": "Renews On"}, SCORE: {"type": "number"}})
    result = ws.run(on_planned=hook)
    assert result.exit_code == 1
    [failed] = result.to_dict()["failed"]
    _assert_clear_error(failed["error"], "Renewal Date")
    assert "Renews On" in failed["error"] and RENEWAL in failed["error"]
    assert ws.custom()["1"] == {"Lead Source": "Referral", "Score": 1, "VIP": True}


def test_an_update_retried_after_the_refresh_keeps_a_users_own_value(ws: Workspace):
    """The PATCH retried after a refresh still sends back a value a user set on an unmapped field."""
    ws.write([person(1)])
    assert ws.run().exit_code == 0
    contact = ws.contacts()["1"]
    fields = [{"key": f["key"], "value": f["value"]} for f in contact["customFields"]]
    _user_sets_notes(ws, contact, fields)
    ws.write([person(1, score="12")])
    result = ws.run(on_planned=ws.change(**{SCORE: {"type": "number"}}))
    assert result.exit_code == 0, result.to_dict()
    assert 400 in ws.statuses("PATCH"), "the first PATCH was refused"
    assert ws.custom()["1"] == {"Lead Source": "Referral", "Score": 12, "Renewal Date": "2027-04-03T00:00:00.000Z",
                                "VIP": True, "Notes": "mornings"}


def _user_sets_notes(ws: Workspace, contact: dict[str, Any], fields: list[dict[str, Any]]) -> None:
    async def patch() -> None:
        async with httpx.AsyncClient(transport=sandbox_transport(ws.app), base_url="http://sandbox.test") as client:
            body = {"defaultFields": contact["defaultFields"],
                    "customFields": [*fields, {"key": NOTES, "value": "mornings"}]}
            response = await client.patch(f"/v1/contacts/{contact['id']}", json=body,
                                          headers={"Authorization": API_KEY})
            assert response.status_code == 200, response.text

    asyncio.run(patch())


def test_many_rows_refused_at_once_share_one_refresh(tmp_path: Path, state_url: str):
    """60 rows, 8 workers, some latency: the workers refused together wait for one read, and
    the rows not yet sent are brought up to date before they go (no second refusal each)."""
    ws = Workspace(tmp_path, state_url, concurrency=8, latency_ms=5)
    ws.write([person(n) for n in range(1, 61)])
    result = ws.run(on_planned=ws.change(**{SCORE: {"type": "number"}}))
    assert result.exit_code == 0, result.to_dict()
    assert ws.reads_of_definitions() == 2
    refused = ws.statuses("POST").count(400)
    assert 2 <= refused <= 8, "the first requests in flight were refused together"
    assert ws.statuses("POST").count(201) == 60
    assert all(ws.custom()[str(n)]["Score"] == n for n in range(1, 61))


class RefreshRefused(httpx.AsyncBaseTransport):
    """The sandbox, except that a second read of the definitions is refused."""

    def __init__(self, ws: Workspace) -> None:
        self.inner = sandbox_transport(ws.app)
        self.reads = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/v1/contact-custom-fields":
            self.reads += 1
            if self.reads == 2:
                return httpx.Response(400, json={"message": "Bad request"}, request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_a_refresh_that_fails_fails_only_the_refused_rows_with_the_apis_message(ws: Workspace):
    """The one refresh cannot read the definitions: the refused rows fail as a 400 always did
    (once each, with the API's words); it is not tried again."""
    ws.write([person(1), person(2, score="")])
    transport = RefreshRefused(ws)
    result = ws.run(transport=transport, on_planned=ws.change(**{SCORE: {"type": "number"}}))
    assert result.exit_code == 1 and transport.reads == 2
    [failed] = result.to_dict()["failed"]
    assert failed["externalId"] == "1"
    assert "Expected number for 'Score'" in failed["error"]
    assert "2" in ws.contacts(), "the row without a score still synced"
    with StateStore.open(ws.state_url) as store:
        link = store.load_links("crm")["1"]
    assert (link.status, link.contact_id, link.attempts) == ("failed", None, 1)
    assert any("could not read custom field definitions again" in note for note in result.notes)
