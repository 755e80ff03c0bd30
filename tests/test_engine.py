"""The whole engine, CSV → plan → sandbox, behaves as a user of a contact sync expects."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from sync.errors import LockHeldError, MissingColumnError
from sync.sandbox import SandboxSettings, sandbox_transport
from tests.helpers import API_KEY, World, contact_row, state_tables

TIER_KEY = "66f1c2a4e9b07d3a5c8e1f21"   # "Account Tier" in the sandbox's bundled fields
NOTES_KEY = "66f1c2b19d4e5a7f20c3b6a8"  # "Notes": a field the mapping does not use


@pytest.fixture
def world(tmp_path: Path, state_url: str) -> World:
    return World(tmp_path, state_url)


def test_first_run_creates_every_valid_row_with_normalized_values(world: World):
    """Every valid row becomes one contact, with E.164 phones and trimmed values."""
    world.write_rows([contact_row(n) for n in range(5)] + [
        contact_row(9, **{"First Name": "  Zoë  ", "Email": " Zoe@Example.COM ", "Mobile": "+44 20 7946 0958"}),
    ])
    result = world.run()
    assert result.exit_code == 0
    assert result.plan.summary()["create"] == 6
    contacts = world.by_external_id()
    assert set(contacts) == {"K0", "K1", "K2", "K3", "K4", "K9"}
    zoe = contacts["K9"]
    assert zoe["defaultFields"]["firstName"] == "Zoë"
    assert zoe["defaultFields"]["emails"][0]["value"] == "Zoe@example.com"
    assert zoe["defaultFields"]["phoneNumbers"][0]["value"] == "+442079460958"
    assert zoe["source"] == "crm"
    assert {"key": TIER_KEY, "value": "Gold"}.items() <= {
        k: v for c in zoe["customFields"] if c["key"] == TIER_KEY for k, v in c.items()
    }.items()


def test_second_run_makes_no_write_calls(world: World):
    """Running again on unchanged data writes nothing."""
    world.write_rows([contact_row(n) for n in range(10)])
    world.run()
    world.clear_log()
    result = world.run()
    assert result.plan.summary()["unchanged"] == 10
    assert world.writes() == 0


def test_editing_three_rows_makes_three_patches_with_whole_arrays(world: World):
    """Three edited rows give exactly three PATCHes; each carries the whole arrays."""
    rows = [contact_row(n) for n in range(10)]
    world.write_rows(rows)
    world.run()
    rows[1]["Company"] = "Globex"
    rows[4]["Email"] = "new4@example.com"
    rows[7]["Tier"] = "Silver"
    world.write_rows(rows)
    world.clear_log()
    result = world.run()
    assert result.plan.summary()["update"] == 3
    patches = world.requests("PATCH")
    assert len(patches) == 3 and world.writes() == 3
    contacts = world.by_external_id()
    assert contacts["K1"]["defaultFields"]["company"] == "Globex"
    assert [e["value"] for e in contacts["K4"]["defaultFields"]["emails"]] == ["new4@example.com"]
    assert contacts["K4"]["defaultFields"]["phoneNumbers"], "the phone survived the email change"
    tiers = {c["key"]: c["value"] for c in contacts["K7"]["customFields"]}
    assert tiers[TIER_KEY] == "Silver"


def test_removing_a_row_deletes_its_contact_when_mirroring(world: World):
    """A row gone from the source deletes the contact it created (delete = mirror)."""
    rows = [contact_row(n) for n in range(5)]
    world.write_rows(rows)
    world.run()
    world.write_rows(rows[:4])
    result = world.run()
    assert result.plan.summary()["delete"] == 1
    assert set(world.by_external_id()) == {"K0", "K1", "K2", "K3"}


def test_removing_a_row_keeps_its_contact_when_delete_is_never(world: World):
    """With delete = never, contacts outlive their rows."""
    world.write_config(delete="never")
    rows = [contact_row(n) for n in range(5)]
    world.write_rows(rows)
    world.run()
    world.write_rows(rows[:4])
    result = world.run()
    assert result.plan.summary()["delete"] == 0
    assert len(world.contacts()) == 5


def test_rejected_rows_are_reported_and_change_nothing(world: World, tmp_path: Path):
    """Rows without a key or with a repeated key are rejected with reasons; the rest sync."""
    rows = [contact_row(1), contact_row(2, id=""), contact_row(3), contact_row(4, id="K3"),
            contact_row(5, Mobile="12345", Email="not-an-email")]
    world.write_rows(rows)
    rejects = tmp_path / "rejects.csv"
    result = world.run(rejects_path=str(rejects))
    assert result.exit_code == 0
    summary = result.plan.summary()
    assert summary["rejected"] == 3  # no key; K3 twice
    assert summary["warnings"] == 2  # the bad phone and email of K5
    assert set(world.by_external_id()) == {"K1", "K5"}
    k5 = world.by_external_id()["K5"]["defaultFields"]
    assert k5["phoneNumbers"] == [] and k5["emails"] == []
    text = rejects.read_text()
    assert text.splitlines()[0] == "source,row,key,level,column,value,reason"
    assert "appears on 2 rows (4, 5)" in text
    assert ",value,Mobile,12345," in text


def test_dry_run_writes_nothing_to_the_api_or_the_state(world: World):
    """A dry run plans but makes no write and records no run."""
    world.write_rows([contact_row(n) for n in range(3)])
    result = world.run(dry_run=True)
    assert result.plan.summary()["create"] == 3
    assert world.writes() == 0 and world.contacts() == []
    assert world.run(dry_run=True).plan.summary()["create"] == 3


def test_lost_state_file_gives_no_duplicates(world: World, tmp_path: Path):
    """With the state gone, existing contacts are found by externalId and adopted: the one
    whose row changed is patched, the five that already hold their row's values are linked
    without a write, and the run after that finds nothing to do."""
    rows = [contact_row(n) for n in range(6)]
    world.write_rows(rows)
    world.run()
    # Same sandbox, a brand-new state store: as if the state file had been deleted.
    (tmp_path / "state2").mkdir()
    world.state_url = "sqlite:///" + str(tmp_path / "state2" / "state.db")
    world.write_config()
    rows[2]["Company"] = "Changed"
    world.write_rows(rows)
    writes_before = world.writes()
    result = world.run()
    summary = result.plan.summary()
    assert (summary["create"], summary["update"], summary["unchanged"]) == (0, 1, 5)
    [patched] = [op for op in result.plan.ops() if op.kind == "update"]
    assert patched.external_id == "K2"
    assert [(c.field, c.before, c.after) for c in patched.changes] == [("company", "Acme", "Changed")]
    assert world.writes() == writes_before + 1, "one PATCH, nothing else written"
    contacts = world.by_external_id()  # asserts no duplicate externalId
    assert len(contacts) == 6
    assert contacts["K2"]["defaultFields"]["company"] == "Changed"
    again = world.run()
    assert again.plan.summary()["unchanged"] == 6 and again.plan.is_empty


def test_adopting_a_contact_shows_only_what_the_patch_changes(world: World):
    """A contact made elsewhere with this externalId (adopt = "any"), a role (unmapped), a
    user's email and another custom field: the plan lists the mapped fields that change and
    the new source label, never the role, the user's email or the other field as cleared;
    all survive."""
    world.write_config(extra_source='adopt = "any"')
    other_field = next(d for d in world.state.custom_fields() if d["type"] == "string"
                       and d["name"] != "Account Tier")["key"]
    world.state.contacts.create({
        "externalId": "K1", "source": "old-crm",
        "defaultFields": {"firstName": "Someone", "role": "CFO",
                          "emails": [{"name": "home", "value": "home@example.org"}]},
        "customFields": [{"key": other_field, "value": "kept"}],
    })
    world.write_rows([contact_row(1)])
    preview = world.run(dry_run=True)
    [op] = list(preview.plan.ops())
    fields = {c.field for c in op.changes}
    assert op.kind == "update" and {"firstName", "source", "emails"} <= fields
    assert "role" not in fields and not any("kept" in str(c.before) for c in op.changes)
    emails = next(c for c in op.changes if c.field == "emails")
    assert "home: home@example.org" in emails.before and "home: home@example.org" in emails.after
    world.run()
    contact = world.by_external_id()["K1"]
    assert contact["defaultFields"]["role"] == "CFO" and contact["source"] == "crm"
    assert {c["key"]: c["value"] for c in contact["customFields"]}[other_field] == "kept"


def test_items_added_in_the_app_survive_an_update(world: World):
    """A custom field and an email a user added on the OpenPhone side are kept."""
    rows = [contact_row(1)]
    world.write_rows(rows)
    world.run()
    contact = world.by_external_id()["K1"]

    async def user_edit() -> None:
        async with httpx.AsyncClient(transport=sandbox_transport(world.app),
                                     base_url="http://sandbox.test") as client:
            fields = contact["defaultFields"]
            body = {
                "defaultFields": {
                    "firstName": fields["firstName"],
                    "emails": [*fields["emails"], {"name": "home", "value": "home1@example.com"}],
                    "phoneNumbers": fields["phoneNumbers"],
                },
                "customFields": [
                    *({"key": c["key"], "value": c["value"]} for c in contact["customFields"]),
                    {"key": NOTES_KEY, "value": "met at the fair"},
                ],
            }
            response = await client.patch(f"/v1/contacts/{contact['id']}", json=body,
                                          headers={"Authorization": API_KEY})
            assert response.status_code == 200, response.text

    asyncio.run(user_edit())
    rows[0]["Company"] = "New Company"
    rows[0]["Email"] = "work1@example.com"
    world.write_rows(rows)
    world.run()
    after = world.by_external_id()["K1"]
    emails = {e["value"] for e in after["defaultFields"]["emails"]}
    assert emails == {"home1@example.com", "work1@example.com"}
    custom = {c["key"]: c["value"] for c in after["customFields"]}
    assert custom[NOTES_KEY] == "met at the fair"
    assert after["defaultFields"]["company"] == "New Company"


def test_a_429_storm_slows_the_run_without_failing_it(tmp_path: Path, state_url: str):
    """With the sandbox allowing 5 requests a second and the client asking for 50, nothing fails."""
    world = World(tmp_path, state_url, rate=50,
                  sandbox=SandboxSettings(api_keys=(API_KEY,), rate_limit=5, send_retry_after=True))
    world.write_rows([contact_row(n) for n in range(12)])
    result = world.run()
    assert result.exit_code == 0
    assert result.plan.summary()["failed"] == 0
    assert result.rate_limited > 0
    assert len(world.by_external_id()) == 12


def test_contact_deleted_in_the_app_is_created_again(world: World):
    """A 404 on update re-creates the contact and relinks it."""
    rows = [contact_row(1)]
    world.write_rows(rows)
    world.run()
    contact_id = world.by_external_id()["K1"]["id"]
    world.state.store.remove(contact_id)
    rows[0]["Company"] = "Other"
    world.write_rows(rows)
    result = world.run()
    assert result.exit_code == 0
    again = world.by_external_id()["K1"]
    assert again["id"] != contact_id and again["defaultFields"]["company"] == "Other"


def test_a_second_run_on_a_held_lock_cannot_start(world: World):
    """While another run holds the state store's lock, a run exits 4 without writing."""
    from state.store import StateStore

    world.write_rows([contact_row(1)])
    config = world.config()
    with StateStore.open(config.state_url({})) as store:
        store.acquire_lock("someone-else", wait_seconds=0)
        with pytest.raises(LockHeldError) as err:
            world.run(lock_wait=0.2)
        assert err.value.exit_code == 4
    assert world.writes() == 0


def test_a_mapped_column_missing_from_the_source_names_the_setting_and_the_columns(world: World):
    """A typo in a column name stops the run before any write (exit 4), naming the config key
    to fix and listing the columns the source does have."""
    world.write_rows([contact_row(1)])
    text = (world.tmp / "sync.toml").read_text().replace('company = "Company"', 'company = "Compnay"')
    (world.tmp / "sync.toml").write_text(text)
    with pytest.raises(MissingColumnError) as caught:
        world.run()
    message = str(caught.value)
    assert "the company column 'Compnay' (sources[crm].fields.company) is not in the source" in message
    assert "'Company'" in message and caught.value.exit_code == 4
    assert world.contacts() == []


def test_a_dry_run_before_the_first_run_creates_no_state_store(world: World, state_url: str):
    """A preview writes nothing to the state: no SQLite file, no tables in PostgreSQL; it
    plans as a first run and says why. The first real run then creates the store."""
    world.write_rows([contact_row(n) for n in range(3)])
    preview = world.run(dry_run=True)
    assert preview.plan.summary()["create"] == 3
    assert any("does not exist yet" in note for note in preview.notes)
    assert state_tables(state_url) == []
    world.run()
    assert "_migrations" in state_tables(state_url)

