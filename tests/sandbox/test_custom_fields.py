"""Custom fields: the definitions route, type checks per definition, null clears, runtime edits."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from sync.sandbox.settings import CUSTOM_FIELD_TYPES, looks_like_real_key

from .harness import (
    ACCOUNT_TIER,
    ANNUAL_REVENUE,
    LEAD_SOURCE,
    NOTES,
    OFFICE_ADDRESS,
    RENEWAL_DATE,
    TAGS,
    VIP,
    WEBSITE,
    Sandbox,
    contact_body,
    create,
)


def _with_custom(*items: dict[str, Any]) -> dict[str, Any]:
    return contact_body(customFields=list(items))


def test_the_bundled_definitions_cover_every_type_with_two_strings(sandbox: Sandbox):
    """GET /v1/contact-custom-fields: all seven types, at least two strings, real-looking keys."""

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/v1/contact-custom-fields")

    data = sandbox.run(scenario).json()["data"]
    types = [d["type"] for d in data]
    assert set(types) == set(CUSTOM_FIELD_TYPES)
    assert types.count("string") >= 2
    assert all(looks_like_real_key(d["key"]) for d in data)
    names = {d["name"] for d in data}
    assert {"Lead Source", "Office Address", "Website", "VIP", "Annual Revenue",
            "Renewal Date", "Tags"} <= names


def test_configured_definitions_replace_the_bundled_set(sandbox_factory):
    """SandboxSettings.custom_fields (the shape of the API's data) is what the route lists."""
    fields = [{"name": "Region", "key": "a" * 24, "type": "string"}]
    sandbox = sandbox_factory(custom_fields=fields)

    async def scenario(client: httpx.AsyncClient) -> Any:
        return (await client.get("/v1/contact-custom-fields")).json()["data"]

    assert sandbox.run(scenario) == fields


GOOD_VALUES = [
    (LEAD_SOURCE, "Trade show"),
    (NOTES, ""),
    (OFFICE_ADDRESS, "1 Main St, Springfield"),
    (WEBSITE, "https://acme.example"),
    (VIP, True),
    (VIP, False),
    (ANNUAL_REVENUE, 1250000),
    (ANNUAL_REVENUE, 99.5),
    (RENEWAL_DATE, "2025-03-01T00:00:00.000Z"),
    (TAGS, ["gold", "east"]),
    (TAGS, []),
]


@pytest.mark.parametrize(("key", "value"), GOOD_VALUES)
def test_a_value_of_the_right_type_is_stored_and_returned(sandbox: Sandbox, key: str, value: Any):
    """Each type accepts its JSON shape; the answer names the field and gives its type."""

    async def scenario(client: httpx.AsyncClient) -> dict[str, Any]:
        return await create(client, _with_custom({"key": key, "value": value}))

    (item,) = sandbox.run(scenario)["customFields"]
    definition = sandbox.state.store.definitions[key]
    assert (item["key"], item["name"], item["type"]) == (key, definition.name, definition.type)
    assert item["value"] == value
    assert len(item["id"]) == 24


BAD_VALUES = [
    pytest.param(LEAD_SOURCE, 5, id="string-given-number"),
    pytest.param(OFFICE_ADDRESS, {"street": "1 Main"}, id="address-given-object"),
    pytest.param(WEBSITE, ["https://a.example"], id="url-given-list"),
    pytest.param(VIP, "false", id="boolean-given-string"),
    pytest.param(VIP, 1, id="boolean-given-number"),
    pytest.param(ANNUAL_REVENUE, "424242", id="number-given-string"),
    pytest.param(ANNUAL_REVENUE, True, id="number-given-boolean"),
    pytest.param(RENEWAL_DATE, "2025-03-01", id="date-given-bare-date"),
    pytest.param(RENEWAL_DATE, "2025-03-01T10:00:00", id="date-without-zone"),
    pytest.param(RENEWAL_DATE, "2025-02-30T10:00:00Z", id="date-impossible"),
    pytest.param(RENEWAL_DATE, 1740787200, id="date-given-number"),
    pytest.param(TAGS, "gold", id="multi-select-given-string"),
    pytest.param(TAGS, ["gold", 3], id="multi-select-with-number"),
]


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_a_value_of_the_wrong_type_gets_400_invalid_custom_field_item(
    sandbox: Sandbox, key: str, value: Any
):
    """The definition's type decides; a mismatch is 400 "Invalid Custom Field Item"."""

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/v1/contacts", json=_with_custom(
            {"key": LEAD_SOURCE, "value": "ok"}, {"key": key, "value": value}))

    response = sandbox.run(scenario)
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == body["title"] == "Invalid Custom Field Item"
    assert body["code"] == "0801400"
    assert [e["path"] for e in body["errors"]] == ["/customFields/1/value"]
    assert len(sandbox.state.store) == 0


def test_an_unknown_key_gets_400_invalid_custom_field_item(sandbox: Sandbox):
    """A key with no definition is refused, naming the item."""

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/v1/contacts", json=_with_custom({"key": "f" * 24, "value": "x"}))

    response = sandbox.run(scenario)
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid Custom Field Item"
    assert response.json()["errors"][0]["path"] == "/customFields/0/key"


def test_a_date_is_stored_as_utc_with_milliseconds(sandbox: Sandbox):
    """Any RFC 3339 date-time is accepted and returned the way the API writes dates."""

    async def scenario(client: httpx.AsyncClient) -> dict[str, Any]:
        return await create(client, _with_custom(
            {"key": RENEWAL_DATE, "value": "2024-09-11T00:00:00-04:00"}))

    assert sandbox.run(scenario)["customFields"][0]["value"] == "2024-09-11T04:00:00.000Z"


def test_null_clears_a_value(sandbox: Sandbox):
    """value: null on create stores nothing; on PATCH it removes the value."""

    async def scenario(client: httpx.AsyncClient) -> tuple[Any, Any]:
        contact = await create(client, _with_custom(
            {"key": VIP, "value": True}, {"key": ACCOUNT_TIER, "value": None}))
        patched = await client.patch(f"/v1/contacts/{contact['id']}", json={
            "customFields": [{"key": VIP, "value": None}]})
        return contact["customFields"], patched.json()["data"]["customFields"]

    created, patched = sandbox.run(scenario)
    assert [item["key"] for item in created] == [VIP]
    assert patched == []


def test_renaming_a_definition_at_runtime_shows_in_contacts(sandbox: Sandbox):
    """PUT /_sandbox/custom-fields renames a field; contacts show the new name, same key."""

    async def scenario(client: httpx.AsyncClient) -> tuple[int, Any, Any]:
        contact = await create(client, _with_custom({"key": LEAD_SOURCE, "value": "Web"}))
        fields = (await client.get("/_sandbox/custom-fields")).json()["data"]
        for field in fields:
            if field["key"] == LEAD_SOURCE:
                field["name"] = "Origin"
        put = await client.put("/_sandbox/custom-fields", content=json.dumps(fields))
        listed = (await client.get("/v1/contact-custom-fields")).json()["data"]
        again = (await client.get(f"/v1/contacts/{contact['id']}")).json()["data"]
        return put.status_code, listed, again["customFields"]

    status, listed, custom = sandbox.run(scenario)
    assert status == 200
    assert {"name": "Origin", "key": LEAD_SOURCE, "type": "string"} in listed
    assert [(c["name"], c["key"], c["value"]) for c in custom] == [("Origin", LEAD_SOURCE, "Web")]


def test_retyping_removing_and_adding_definitions_at_runtime(sandbox: Sandbox):
    """Removed fields vanish from contacts, retyped ones drop values that no longer fit."""
    new_key = "b" * 24

    async def scenario(client: httpx.AsyncClient) -> tuple[Any, int]:
        contact = await create(client, _with_custom(
            {"key": LEAD_SOURCE, "value": "Web"}, {"key": NOTES, "value": "hi"},
            {"key": VIP, "value": True}))
        sandbox.state.set_custom_fields([
            {"name": "Lead Source", "key": LEAD_SOURCE, "type": "number"},  # retyped
            {"name": "VIP", "key": VIP, "type": "boolean"},  # kept; NOTES removed
            {"name": "Score", "key": new_key, "type": "number"},  # added
        ])
        again = (await client.get(f"/v1/contacts/{contact['id']}")).json()["data"]
        created = await client.post("/v1/contacts", json=_with_custom({"key": new_key, "value": 7}))
        return again["customFields"], created.status_code

    custom, status = sandbox.run(scenario)
    assert [(c["key"], c["value"]) for c in custom] == [(VIP, True)]
    assert status == 201


def test_bad_definitions_are_refused_by_the_inspection_route(sandbox: Sandbox):
    """PUT /_sandbox/custom-fields checks types and duplicate keys, changing nothing."""

    async def scenario(client: httpx.AsyncClient) -> list[int]:
        bad_type = [{"name": "X", "key": "k1", "type": "color"}]
        dup = [{"name": "X", "key": "k1", "type": "string"}, {"name": "Y", "key": "k1", "type": "url"}]
        answers = [await client.put("/_sandbox/custom-fields", json=body) for body in (bad_type, dup)]
        answers.append(await client.put("/_sandbox/custom-fields", content=b"nope"))
        return [a.status_code for a in answers]

    assert sandbox.run(scenario) == [400, 400, 400]
    assert len(sandbox.state.custom_fields()) == 9
