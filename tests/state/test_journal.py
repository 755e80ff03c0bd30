"""The crash journal: intents before writes, outcomes recorded atomically with the link."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import Engine, select

from state import StateStore
from state.models import intents
from sync.errors import StateError

PAYLOAD = {"firstName": "Zoë", "emails": [{"name": "work", "value": "zoe@example.com"}]}


def _create(store: StateStore, key: str = "K1", *, payload: dict | None = None) -> None:
    intent = store.begin_intent("run-1", "crm", key, "create", "fp1", None)
    store.complete_upsert(
        intent,
        source="crm",
        external_id=key,
        contact_id=f"c-{key}",
        fingerprint="fp1",
        raw_hash="raw1",
        payload=payload or PAYLOAD,
        row=2,
    )


def _intent_row(raw_db: Engine, intent_id: int) -> dict:
    with raw_db.connect() as connection:
        row = connection.execute(select(intents).where(intents.c.id == intent_id)).mappings()
        return dict(row.one())


def test_begin_intent_is_listed_as_open(store: StateStore) -> None:
    """An intent is open, with what it was journaled with, until its outcome is recorded."""
    first = store.begin_intent("run-1", "crm", "K1", "create", "fp1", None)
    second = store.begin_intent("run-1", "crm", "K2", "update", "fp2", "c-2")

    listed = store.open_intents()

    assert [i.id for i in listed] == [first, second]
    assert (listed[1].kind, listed[1].fingerprint, listed[1].contact_id) == ("update", "fp2", "c-2")
    assert listed[0].status == "open"
    assert listed[0].created_at.tzinfo == UTC
    assert listed[0].completed_at is None


def test_complete_upsert_writes_a_synced_link_and_closes_the_intent(
    store: StateStore, raw_db: Engine
) -> None:
    """After a create succeeds, the link holds the contact and payload; the intent is done."""
    intent = store.begin_intent("run-1", "crm", "K1", "create", "fp1", None)
    store.complete_upsert(
        intent,
        source="crm",
        external_id="K1",
        contact_id="c-1",
        fingerprint="fp1",
        raw_hash="raw1",
        payload=PAYLOAD,
        row=7,
    )

    link = store.load_links("crm", ["K1"])["K1"]
    assert (link.contact_id, link.fingerprint, link.raw_hash) == ("c-1", "fp1", "raw1")
    assert link.payload == PAYLOAD
    assert (link.status, link.last_error, link.attempts, link.missing_runs) == (
        "synced",
        None,
        0,
        0,
    )
    assert link.row == 7
    assert link.synced_at is not None
    assert link.synced_at.tzinfo == UTC
    assert store.open_intents() == []
    closed = _intent_row(raw_db, intent)
    assert (closed["status"], closed["contact_id"]) == ("done", "c-1")
    assert closed["completed_at"] is not None


def test_fail_intent_keeps_the_last_good_write(store: StateStore) -> None:
    """A failed update keeps payload, fingerprint and contact id; clears the raw hash."""
    _create(store)
    for attempt in (1, 2):
        intent = store.begin_intent("run-2", "crm", "K1", "update", "fp2", "c-K1")
        store.fail_intent(intent, source="crm", external_id="K1", error=f"400 #{attempt}", row=9)

    link = store.load_links("crm", ["K1"])["K1"]
    assert link.payload == PAYLOAD
    assert (link.fingerprint, link.contact_id) == ("fp1", "c-K1")
    assert (link.status, link.last_error, link.attempts) == ("failed", "400 #2", 2)
    assert link.raw_hash is None
    assert link.row == 9
    assert store.load_index("crm") == {"K1": None}
    assert store.open_intents() == []


def test_fail_intent_of_a_first_create_records_a_link_without_contact(store: StateStore) -> None:
    """A create that never succeeded leaves a failed link with no contact, to retry next run."""
    intent = store.begin_intent("run-1", "crm", "K9", "create", "fp9", None)
    store.fail_intent(intent, source="crm", external_id="K9", error="invalid phone", row=4)

    link = store.load_links("crm")["K9"]
    assert (link.contact_id, link.payload, link.fingerprint, link.synced_at) == (
        None,
        None,
        None,
        None,
    )
    assert (link.status, link.attempts, link.row) == ("failed", 1, 4)
    assert store.count_links("crm") == 0


def test_success_after_failures_resets_the_link(store: StateStore) -> None:
    """Once a write succeeds again the link is synced with no error and no attempts."""
    _create(store)
    failed = store.begin_intent("run-2", "crm", "K1", "update", "fp2", "c-K1")
    store.fail_intent(failed, source="crm", external_id="K1", error="boom", row=None)
    store.bump_missing("crm", ["K1"])
    retried = store.begin_intent("run-3", "crm", "K1", "update", "fp2", "c-K1")
    store.complete_upsert(
        retried,
        source="crm",
        external_id="K1",
        contact_id="c-K1",
        fingerprint="fp2",
        raw_hash="raw2",
        payload={"firstName": "Zoe"},
        row=None,
    )

    link = store.load_links("crm")["K1"]
    assert (link.status, link.last_error, link.attempts, link.missing_runs) == (
        "synced",
        None,
        0,
        0,
    )
    assert (link.fingerprint, link.payload, link.row) == ("fp2", {"firstName": "Zoe"}, 2)


def test_complete_delete_removes_the_link(store: StateStore, raw_db: Engine) -> None:
    """A successful delete drops the link and closes its intent as done."""
    _create(store)
    intent = store.begin_intent("run-2", "crm", "K1", "delete", "fp1", "c-K1")
    store.complete_delete(intent, source="crm", external_id="K1")

    assert store.load_links("crm") == {}
    assert _intent_row(raw_db, intent)["status"] == "done"


def test_an_outcome_is_recorded_only_once(store: StateStore) -> None:
    """Closing an intent that is already closed is refused, and changes nothing."""
    _create(store)
    intent = store.begin_intent("run-2", "crm", "K1", "delete", "fp1", "c-K1")
    store.fail_intent(intent, source="crm", external_id="K1", error="503", row=None)

    with pytest.raises(StateError, match="not an open intent"):
        store.complete_delete(intent, source="crm", external_id="K1")
    assert "K1" in store.load_links("crm")


def test_an_outcome_for_another_row_rolls_back_the_link_change(store: StateStore) -> None:
    """Completing an intent with another row's key fails and writes no link (one transaction)."""
    intent = store.begin_intent("run-1", "crm", "K1", "create", "fp1", None)

    with pytest.raises(StateError, match="not an open intent of crm/K2"):
        store.complete_upsert(
            intent,
            source="crm",
            external_id="K2",
            contact_id="c-2",
            fingerprint="fp1",
            raw_hash=None,
            payload={},
            row=1,
        )
    assert store.load_links("crm") == {}
    assert [i.id for i in store.open_intents()] == [intent]


def test_abandon_intent_closes_it_without_touching_links(store: StateStore, raw_db: Engine) -> None:
    """An abandoned intent is failed with the reason given, and no link appears."""
    intent = store.begin_intent("run-1", "crm", "K1", "create", "fp1", None)
    store.abandon_intent(intent, "not found on the API after the crash")

    assert store.open_intents() == []
    assert store.load_links("crm") == {}
    row = _intent_row(raw_db, intent)
    assert (row["status"], row["error"]) == ("failed", "not found on the API after the crash")
    with pytest.raises(StateError, match="is not open"):
        store.abandon_intent(intent, "again")


def test_an_unknown_intent_kind_is_a_programming_error(store: StateStore) -> None:
    """Only create, update and delete can be journaled."""
    with pytest.raises(ValueError, match="intent kind"):
        store.begin_intent("run-1", "crm", "K1", "upsert", None, None)


def test_prune_forgets_closed_intents_only(store: StateStore) -> None:
    """Pruning drops closed intents older than the cut-off and keeps every open one."""
    _create(store, "K1")
    still_open = store.begin_intent("run-2", "crm", "K2", "create", "fp", None)

    assert store.prune_intents(timedelta(days=1)) == 0
    assert store.prune_intents(timedelta(0)) == 1
    assert [i.id for i in store.open_intents()] == [still_open]
    assert store.prune_intents(timedelta(0)) == 0
