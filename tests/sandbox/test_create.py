"""Create: the spec's schema and prose rules, defaults, ids, and 409 on a taken externalId."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from .harness import Sandbox, contact_body, create

HEX24 = re.compile(r"^[0-9a-f]{24}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _post(sandbox: Sandbox, body: Any) -> httpx.Response:
    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/v1/contacts", json=body)

    return sandbox.run(scenario)


def test_a_valid_create_answers_201_with_the_full_contact(sandbox: Sandbox):
    """201 {"data": contact}: 24-hex ids, ISO times, US... creator, public-api source."""
    response = _post(sandbox, contact_body(externalId="crm-1", sourceUrl="https://crm.example/c/1"))
    assert response.status_code == 201
    data = response.json()["data"]
    assert HEX24.match(data["id"])
    assert all(HEX24.match(item["id"]) for item in data["defaultFields"]["emails"])
    assert all(HEX24.match(item["id"]) for item in data["defaultFields"]["phoneNumbers"])
    assert ISO.match(data["createdAt"]) and data["createdAt"] == data["updatedAt"]
    assert data["createdByUserId"].startswith("US")
    assert data["source"] == "public-api"
    assert (data["externalId"], data["sourceUrl"]) == ("crm-1", "https://crm.example/c/1")
    assert data["defaultFields"]["phoneNumbers"][0]["value"] == "+15555550100"
    assert sandbox.state.all_contacts() == [data]


def test_first_name_may_be_null_but_must_be_present(sandbox: Sandbox):
    """The key firstName is required on create; its value may be null."""
    assert _post(sandbox, {"defaultFields": {"firstName": None}}).status_code == 201
    response = _post(sandbox, {"defaultFields": {"lastName": "Only"}})
    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == ["/defaultFields/firstName"]


def test_a_400_has_the_documented_body_with_the_contact_code(sandbox: Sandbox):
    """message, code 0801400, status, docs, title, description, errors[] with path and message."""
    body = _post(sandbox, {"defaultFields": {"firstName": 5}}).json()
    assert body["code"] == "0801400"
    assert body["status"] == 400
    assert body["docs"] == "https://quo.com/docs"
    assert body["title"] == body["description"] == "Invalid Custom Field Item"
    assert "/defaultFields/firstName" in body["message"]
    assert body["errors"] == [{
        "path": "/defaultFields/firstName", "message": "Expected string or null",
        "value": 5, "schema": {"type": "string|null"},
    }]


INVALID_BODIES = [
    pytest.param({}, "/defaultFields", id="no-defaultFields"),
    pytest.param([], "", id="not-an-object"),
    pytest.param(contact_body(externalId=""), "/externalId", id="externalId-empty"),
    pytest.param(contact_body(externalId="x" * 76), "/externalId", id="externalId-76"),
    pytest.param(contact_body(source=""), "/source", id="source-empty"),
    pytest.param(contact_body(source="s" * 73), "/source", id="source-73"),
    pytest.param(contact_body(source=None), "/source", id="source-null"),
    pytest.param(contact_body(sourceUrl="not a uri"), "/sourceUrl", id="sourceUrl-not-uri"),
    pytest.param(contact_body(sourceUrl="https://x.example/" + "a" * 190), "/sourceUrl",
                 id="sourceUrl-too-long"),
    pytest.param(contact_body(createdByUserId="XX1"), "/createdByUserId", id="creator-not-US"),
    pytest.param({"defaultFields": {"firstName": "A", "emails": [{"value": "a@b.example"}]}},
                 "/defaultFields/emails/0/name", id="email-without-name"),
    pytest.param({"defaultFields": {"firstName": "A", "emails": [{"name": "work"}]}},
                 "/defaultFields/emails/0/value", id="email-without-value"),
    pytest.param({"defaultFields": {"firstName": "A", "phoneNumbers": [{"value": "+15555550100"}]}},
                 "/defaultFields/phoneNumbers/0/name", id="phone-without-name"),
    pytest.param({"defaultFields": {"firstName": "A", "phoneNumbers": [{"name": "m"}]}},
                 "/defaultFields/phoneNumbers/0/value", id="phone-without-value"),
    pytest.param({"defaultFields": {"firstName": "A", "phoneNumbers": [
        {"name": "m", "value": "+15555550100"}, {"name": "m", "value": "555-0100"}]}},
        "/defaultFields/phoneNumbers/1/value", id="phone-not-e164"),
    pytest.param({"defaultFields": {"firstName": "A", "phoneNumbers": [
        {"name": "m", "value": "+05555550100"}]}}, "/defaultFields/phoneNumbers/0/value",
        id="phone-leading-zero"),
    pytest.param({"defaultFields": {"firstName": "A", "phoneNumbers": [
        {"name": "m", "value": "+1234567890123456"}]}}, "/defaultFields/phoneNumbers/0/value",
        id="phone-16-digits"),
]


@pytest.mark.parametrize(("body", "path"), INVALID_BODIES)
def test_an_invalid_body_gets_400_naming_the_field(sandbox: Sandbox, body: Any, path: str):
    """Each rule of the spec (schema or prose) refuses with the offending path."""
    response = _post(sandbox, body)
    assert response.status_code == 400
    assert path in [e["path"] for e in response.json()["errors"]]
    assert len(sandbox.state.store) == 0


def test_a_body_that_is_not_json_gets_400(sandbox: Sandbox):
    """Garbage instead of JSON is refused with the documented body."""

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/v1/contacts", content=b"{not json",
                                 headers={"content-type": "application/json"})

    response = sandbox.run(scenario)
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == ""


@pytest.mark.parametrize(
    "source", ["openphone", "device", "csv", "zapier", "google-people", "other",
               "openphone-sync", "csv-import", "OpenPhone"],
)
def test_reserved_sources_and_prefixes_are_refused(sandbox: Sandbox, source: str):
    """Sources that are reserved words or start with openphone/csv get 400."""
    response = _post(sandbox, contact_body(source=source))
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/source"


@pytest.mark.parametrize("source", ["public-api", "custom-hubspot", "crm-export", "s" * 72,
                                    "my-csv", "devices"])
def test_unreserved_sources_up_to_72_characters_are_accepted(sandbox: Sandbox, source: str):
    """A source that only contains a reserved word, or is exactly 72 long, is fine."""
    response = _post(sandbox, contact_body(source=source))
    assert response.status_code == 201
    assert response.json()["data"]["source"] == source


def test_limits_are_inclusive(sandbox: Sandbox):
    """externalId of 75 and a sourceUrl of 200 characters are accepted."""
    url = "https://x.example/" + "a" * 182
    assert len(url) == 200
    response = _post(sandbox, contact_body(externalId="e" * 75, sourceUrl=url))
    assert response.status_code == 201


def test_a_taken_external_id_gets_409_and_nothing_is_created(sandbox: Sandbox):
    """Create with another contact's externalId: 409 with the documented body."""

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        await create(client, contact_body(externalId="dup-1"))
        return await client.post("/v1/contacts", json=contact_body("Other", externalId="dup-1"))

    response = sandbox.run(scenario)
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["title"], body["message"]) == (
        "0800409", "Conflict", "Failed to create contact")
    assert len(sandbox.state.store) == 1


def test_duplicate_phone_numbers_and_null_external_ids_are_allowed(sandbox: Sandbox):
    """Only externalId is unique: same phones, and several contacts without externalId, pass."""

    async def scenario(client: httpx.AsyncClient) -> list[int]:
        bodies = [contact_body(), contact_body(), contact_body(externalId=None)]
        return [(await client.post("/v1/contacts", json=b)).status_code for b in bodies]

    assert sandbox.run(scenario) == [201, 201, 201]


def test_items_with_a_null_value_are_not_stored_on_create(sandbox: Sandbox):
    """An email whose value is null is accepted by the schema and simply not kept."""
    body = {"defaultFields": {"firstName": "A", "emails": [{"name": "old", "value": None}]}}
    response = _post(sandbox, body)
    assert response.status_code == 201
    assert response.json()["data"]["defaultFields"]["emails"] == []
