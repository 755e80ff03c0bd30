"""Request bodies keep what the source does not own (PATCH replaces whole arrays)."""

from __future__ import annotations

from sync.merge import create_body, field_changes, patch_body
from sync.models import Contact, Item

REMOTE = {
    "id": "c1",
    "defaultFields": {
        "firstName": "Ann",
        "lastName": "Lee",
        "company": "Old Co",
        "role": "Owner",
        "emails": [
            {"id": "e1", "name": "work", "value": "ann@old.example"},
            {"id": "e2", "name": "home", "value": "ann@home.example"},  # added in the app
        ],
        "phoneNumbers": [{"id": "p1", "name": "mobile", "value": "+14155550100"}],
    },
    "customFields": [
        {"name": "Tier", "key": "k-tier", "id": "i1", "type": "string", "value": "Gold"},
        {"name": "Notes", "key": "k-notes", "id": "i2", "type": "string", "value": "user note"},
    ],
}
PREVIOUS = {
    "firstName": "Ann", "lastName": "Lee", "company": "Old Co", "role": None,
    "emails": [{"name": "work", "value": "ann@old.example"}],
    "phoneNumbers": [{"name": "mobile", "value": "+14155550100"}],
    "customFields": {"k-tier": "Gold"},
}


def contact(**kw: object) -> Contact:
    base: dict[str, object] = {
        "external_id": "x1", "first_name": "Ann", "last_name": "Lee", "company": "New Co",
        "emails": (Item("work", "ann@new.example"),),
        "phone_numbers": (Item("mobile", "+14155550100"),),
        "custom_fields": {"k-tier": "Silver"},
    }
    base.update(kw)
    return Contact(**base)  # type: ignore[arg-type]


def body() -> dict:
    return patch_body(REMOTE, contact(), PREVIOUS, owned_scalars={"firstName", "lastName", "company"},
                      owned_custom_keys={"k-tier"}, source="crm")


def test_create_body_has_first_name_key_even_when_empty():
    """A create always carries defaultFields.firstName (the API requires the key)."""
    created = create_body(Contact("x", emails=(Item("work", "a@b.example"),)), "crm")
    assert created["defaultFields"]["firstName"] is None
    assert created["externalId"] == "x" and created["source"] == "crm"


def test_create_body_leaves_out_empty_custom_values():
    """Custom fields with no value are not sent on create."""
    created = create_body(Contact("x", first_name="A", custom_fields={"k1": None, "k2": 3}), "crm")
    assert created["customFields"] == [{"key": "k2", "value": 3}]


def test_patch_keeps_an_email_the_user_added_in_the_app():
    """An email item this source never wrote survives an update."""
    emails = body()["defaultFields"]["emails"]
    assert {"id": "e2", "name": "home", "value": "ann@home.example"} in emails


def test_patch_replaces_the_email_this_source_wrote():
    """The item written last time is replaced by the source's new value."""
    values = [e["value"] for e in body()["defaultFields"]["emails"]]
    assert "ann@old.example" not in values and "ann@new.example" in values


def test_patch_keeps_item_ids_of_unchanged_items():
    """An unchanged phone keeps its id, so the API sees no change to it."""
    assert body()["defaultFields"]["phoneNumbers"] == [
        {"id": "p1", "name": "mobile", "value": "+14155550100"}
    ]


def test_patch_keeps_unmapped_custom_fields_and_unowned_scalars():
    """A custom field nobody maps, and a default field the source does not map, are sent back."""
    sent = body()
    assert {"key": "k-notes", "value": "user note"} in sent["customFields"]
    assert {"key": "k-tier", "value": "Silver"} in sent["customFields"]
    assert sent["defaultFields"]["role"] == "Owner"


def test_empty_cell_clears_a_custom_value_we_wrote():
    """An owned field whose cell is now empty is cleared only if we wrote its value."""
    sent = patch_body(REMOTE, contact(custom_fields={"k-tier": None}), PREVIOUS,
                      owned_scalars=set(), owned_custom_keys={"k-tier"}, source="crm")
    assert {"key": "k-tier", "value": None} in sent["customFields"]


def test_empty_cell_keeps_a_custom_value_a_user_set():
    """An owned field set by a user in the app (not by us) is kept when the cell is empty."""
    sent = patch_body(REMOTE, contact(custom_fields={"k-tier": None}), {"customFields": {}},
                      owned_scalars=set(), owned_custom_keys={"k-tier"}, source="crm")
    assert {"key": "k-tier", "value": "Gold"} in sent["customFields"]


def test_field_changes_show_custom_fields_by_name():
    """Changes name custom fields as users see them, with before and after."""
    changes = field_changes(PREVIOUS, contact().payload(), {"k-tier": "Account Tier"})
    by_field = {c.field: (c.before, c.after) for c in changes}
    assert by_field["custom: Account Tier"] == ("Gold", "Silver")
    assert by_field["company"] == ("Old Co", "New Co")
    assert "firstName" not in by_field
