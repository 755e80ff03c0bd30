"""PATCH: replace semantics by default (omitted arrays deleted), merge as a switch."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .harness import ACCOUNT_TIER, LEAD_SOURCE, VIP, Sandbox, contact_body, create

FULL = contact_body(
    externalId="crm-9",
    source="crm-export",
    sourceUrl="https://crm.example/9",
    customFields=[{"key": LEAD_SOURCE, "value": "Web"}, {"key": VIP, "value": True}],
)
FULL["defaultFields"]["emails"].append({"name": "home", "value": "ada@home.example"})


def _patch_after_create(sandbox: Sandbox, patch: dict[str, Any]) -> tuple[dict[str, Any], httpx.Response]:
    async def scenario(client: httpx.AsyncClient) -> tuple[dict[str, Any], httpx.Response]:
        contact = await create(client, FULL)
        return contact, await client.patch(f"/v1/contacts/{contact['id']}", json=patch)

    return sandbox.run(scenario)


def test_omitted_arrays_are_deleted_and_omitted_scalars_kept(sandbox: Sandbox):
    """Replace: a body with only a name wipes emails, phones and custom fields, keeps the rest."""
    before, response = _patch_after_create(sandbox, {"defaultFields": {"firstName": "Augusta"}})
    assert response.status_code == 200
    after = response.json()["data"]
    defaults = after["defaultFields"]
    assert defaults["firstName"] == "Augusta"
    assert (defaults["lastName"], defaults["company"], defaults["role"]) == (
        "Lovelace", "Analytical Engines", "Engineer")
    assert defaults["emails"] == [] and defaults["phoneNumbers"] == []
    assert after["customFields"] == []
    assert (after["externalId"], after["source"], after["sourceUrl"]) == (
        before["externalId"], before["source"], before["sourceUrl"])
    assert after["createdAt"] == before["createdAt"]
    assert after["updatedAt"] >= before["updatedAt"]


def test_an_empty_body_deletes_every_array(sandbox: Sandbox):
    """{} is a valid PATCH: under replace it clears the arrays and nothing else."""
    _, response = _patch_after_create(sandbox, {})
    after = response.json()["data"]
    assert after["defaultFields"]["emails"] == [] and after["customFields"] == []
    assert after["defaultFields"]["firstName"] == "Ada"


def test_sending_the_full_state_back_changes_nothing_and_keeps_item_ids(sandbox: Sandbox):
    """The safe pattern (GET, modify, PATCH everything) round-trips; unchanged ids are stable."""

    async def scenario(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
        contact = await create(client, FULL)
        patch = {
            "defaultFields": contact["defaultFields"],
            "customFields": [{"key": c["key"], "value": c["value"]} for c in contact["customFields"]],
        }
        response = await client.patch(f"/v1/contacts/{contact['id']}", json=patch)
        return contact, response.json()["data"]

    before, after = sandbox.run(scenario)
    assert after["defaultFields"] == before["defaultFields"]
    assert after["customFields"] == before["customFields"]


def test_unchanged_items_keep_their_ids_even_when_sent_without_id(sandbox: Sandbox):
    """Items equal to an existing one keep its id; a changed item without id gets a new one."""
    emails = [{"name": "work", "value": "ada@example.com"}, {"name": "home", "value": "new@x.example"}]
    before, response = _patch_after_create(sandbox, {"defaultFields": {"emails": emails}})
    old = {e["value"]: e["id"] for e in before["defaultFields"]["emails"]}
    new = {e["value"]: e["id"] for e in response.json()["data"]["defaultFields"]["emails"]}
    assert new["ada@example.com"] == old["ada@example.com"]
    assert new["new@x.example"] not in old.values()


def test_an_item_named_by_id_keeps_its_id_when_changed(sandbox: Sandbox):
    """An email sent with its id and a new value is that same item, updated."""

    async def scenario(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
        contact = await create(client, FULL)
        emails = [dict(e) for e in contact["defaultFields"]["emails"]]
        emails[0]["value"] = "ada@new.example"
        response = await client.patch(f"/v1/contacts/{contact['id']}",
                                      json={"defaultFields": {"emails": emails}})
        return contact, response.json()["data"]

    before, after = sandbox.run(scenario)
    assert after["defaultFields"]["emails"][0] == {
        "id": before["defaultFields"]["emails"][0]["id"], "name": "work", "value": "ada@new.example"}


def test_an_item_with_a_null_value_is_removed(sandbox: Sandbox):
    """Sending an item with value null removes it; the other items stay."""

    async def scenario(client: httpx.AsyncClient) -> dict[str, Any]:
        contact = await create(client, FULL)
        emails = [dict(e) for e in contact["defaultFields"]["emails"]]
        emails[1]["value"] = None
        patch = {"defaultFields": {"emails": emails,
                                   "phoneNumbers": contact["defaultFields"]["phoneNumbers"]}}
        response = await client.patch(f"/v1/contacts/{contact['id']}", json=patch)
        return response.json()["data"]

    after = sandbox.run(scenario)
    assert [e["value"] for e in after["defaultFields"]["emails"]] == ["ada@example.com"]
    assert len(after["defaultFields"]["phoneNumbers"]) == 1


def test_a_scalar_sent_as_null_is_cleared(sandbox: Sandbox):
    """null clears firstName, company, externalId, source or sourceUrl."""
    patch = {"defaultFields": {"company": None}, "externalId": None, "source": None, "sourceUrl": None}
    _, response = _patch_after_create(sandbox, patch)
    after = response.json()["data"]
    assert after["defaultFields"]["company"] is None
    assert (after["externalId"], after["source"], after["sourceUrl"]) == (None, None, None)


def test_custom_fields_are_replaced_by_the_list_sent(sandbox: Sandbox):
    """Custom fields not in the list are deleted; a kept key keeps its item id."""
    patch = {"customFields": [{"key": VIP, "value": False}, {"key": ACCOUNT_TIER, "value": "Gold"}]}
    before, response = _patch_after_create(sandbox, patch)
    after = {c["key"]: c for c in response.json()["data"]["customFields"]}
    assert set(after) == {VIP, ACCOUNT_TIER}
    assert after[VIP]["value"] is False
    old_vip = next(c for c in before["customFields"] if c["key"] == VIP)
    assert after[VIP]["id"] == old_vip["id"]


def test_a_custom_field_can_be_named_by_its_item_id(sandbox: Sandbox):
    """PATCH accepts {id, value} for a custom field the contact already has."""

    async def scenario(client: httpx.AsyncClient) -> dict[str, Any]:
        contact = await create(client, FULL)
        items = [{"id": c["id"], "value": c["value"]} for c in contact["customFields"]]
        items[0]["value"] = "Referral"
        response = await client.patch(f"/v1/contacts/{contact['id']}", json={"customFields": items})
        return response.json()["data"]

    after = sandbox.run(scenario)
    assert {c["key"]: c["value"] for c in after["customFields"]} == {LEAD_SOURCE: "Referral", VIP: True}


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"externalId": ""}, "/externalId"),
        ({"source": "s" * 76}, "/source"),
        ({"source": "csv-upload"}, "/source"),
        ({"sourceUrl": "nope"}, "/sourceUrl"),
        ({"defaultFields": {"phoneNumbers": [{"name": "m", "value": "0044 20 7946"}]}},
         "/defaultFields/phoneNumbers/0/value"),
        ({"defaultFields": {"emails": [{"value": "a@b.example"}]}}, "/defaultFields/emails/0/name"),
        ({"customFields": [{"key": VIP, "value": "yes"}]}, "/customFields/0/value"),
    ],
)
def test_an_invalid_patch_gets_400_and_changes_nothing(sandbox: Sandbox, patch: Any, path: str):
    """PATCH is validated like create (75 for source here); a refusal leaves the contact as is."""
    before, response = _patch_after_create(sandbox, patch)
    assert response.status_code == 400
    assert path in [e["path"] for e in response.json()["errors"]]
    assert sandbox.state.all_contacts() == [before]


def test_merge_mode_keeps_omitted_arrays_and_appends_new_items(sandbox_factory):
    """patch_mode="merge": omitted arrays stay; items without id are added; null removes."""
    sandbox = sandbox_factory(patch_mode="merge")

    async def scenario(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
        contact = await create(client, FULL)
        work = contact["defaultFields"]["emails"][0]
        patch = {
            "defaultFields": {"emails": [{"id": work["id"], "name": "work", "value": None},
                                         {"name": "other", "value": "o@x.example"}]},
            "customFields": [{"key": VIP, "value": None}, {"key": ACCOUNT_TIER, "value": "Gold"}],
        }
        response = await client.patch(f"/v1/contacts/{contact['id']}", json=patch)
        return contact, response.json()["data"]

    before, after = sandbox.run(scenario)
    assert [e["value"] for e in after["defaultFields"]["emails"]] == ["ada@home.example", "o@x.example"]
    assert after["defaultFields"]["phoneNumbers"] == before["defaultFields"]["phoneNumbers"]
    assert {c["key"]: c["value"] for c in after["customFields"]} == {
        LEAD_SOURCE: "Web", ACCOUNT_TIER: "Gold"}


def test_merge_mode_with_an_empty_body_changes_nothing_but_updated_at(sandbox_factory):
    """Under merge, {} keeps everything."""
    sandbox = sandbox_factory(patch_mode="merge")
    before, response = _patch_after_create(sandbox, {})
    after = response.json()["data"]
    assert {**after, "updatedAt": None} == {**before, "updatedAt": None}
