"""The crash journal: an intent before every API write, its outcome after, atomically.

A write's life: :func:`begin_intent` commits an ``open`` intent *before* the request is
sent; when the answer comes, :func:`complete_upsert`, :func:`complete_delete` or
:func:`fail_intent` close the intent *in the same transaction* as the link change. So a
run that dies anywhere leaves either an open intent (the next run checks the API to learn
what happened) or a finished one with its link, never a link change without its record.

Closing checks the intent is open and belongs to the same row: recording an outcome twice,
or on the wrong row, is a bug that must not pass silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from state._db import Database
from state.models import intents, links, utc_now
from state.records import INTENT_KINDS, Intent, intent_from_row
from sync.errors import StateError


def begin_intent(
    db: Database,
    run_id: str,
    source: str,
    external_id: str,
    kind: str,
    fingerprint: str | None,
    contact_id: str | None,
) -> int:
    """Journal a write before its API call; return the intent's id."""
    if kind not in INTENT_KINDS:
        raise ValueError(f"intent kind must be one of {sorted(INTENT_KINDS)}, not {kind!r}")
    values = {
        "run_id": run_id,
        "source": source,
        "external_id": external_id,
        "kind": kind,
        "fingerprint": fingerprint,
        "contact_id": contact_id,
        "status": "open",
        "created_at": utc_now(),
    }
    with db.write("journal an intent") as connection:
        key = connection.execute(insert(intents).values(values)).inserted_primary_key
        if key is None or key[0] is None:
            raise StateError("the database did not return the new intent's id")
        return int(key[0])


def complete_upsert(
    db: Database,
    intent_id: int,
    *,
    source: str,
    external_id: str,
    contact_id: str,
    fingerprint: str,
    raw_hash: str | None,
    payload: Mapping[str, Any],
    row: int | None,
) -> None:
    """A create, update or adoption succeeded: link synced, intent done."""
    now = utc_now()
    changes: dict[str, Any] = {
        "contact_id": contact_id,
        "fingerprint": fingerprint,
        "raw_hash": raw_hash,
        "payload": dump_json(payload),
        "status": "synced",
        "last_error": None,
        "attempts": 0,
        "missing_runs": 0,
        "updated_at": now,
        "synced_at": now,
    }
    with db.write("record a completed write") as connection:
        _close(connection, intent_id, source, external_id, "done", None, contact_id)
        _upsert_link(connection, source, external_id, changes, row, now)


def complete_delete(db: Database, intent_id: int, *, source: str, external_id: str) -> None:
    """A delete succeeded (or found the contact gone): link dropped, intent done."""
    with db.write("record a completed delete") as connection:
        _close(connection, intent_id, source, external_id, "done", None, None)
        connection.execute(delete(links).where(links.c.source == source, links.c.external_id == external_id))


def fail_intent(
    db: Database, intent_id: int, *, source: str, external_id: str, error: str, row: int | None
) -> None:
    """A write failed: link failed (kept, or created without a contact), intent failed."""
    now = utc_now()
    changes: dict[str, Any] = {
        "status": "failed",
        "last_error": error,
        "attempts": links.c.attempts + 1,
        "raw_hash": None,
        "updated_at": now,
    }
    first_failure = {**changes, "attempts": 1, "missing_runs": 0, "synced_at": None}
    with db.write("record a failed write") as connection:
        _close(connection, intent_id, source, external_id, "failed", error, None)
        _upsert_link(connection, source, external_id, changes, row, now, first_failure)


def open_intents(db: Database) -> list[Intent]:
    """Intents whose outcome was never recorded, oldest first."""
    query = select(intents).where(intents.c.status == "open").order_by(intents.c.id)
    with db.read("list open intents") as connection:
        return [intent_from_row(row) for row in connection.execute(query).mappings()]


def abandon_intent(db: Database, intent_id: int, error: str) -> None:
    """Resolve an open intent as "never happened"; no link changes."""
    query = (
        update(intents)
        .where(intents.c.id == intent_id, intents.c.status == "open")
        .values(status="failed", error=error, completed_at=utc_now())
    )
    with db.write("abandon an intent") as connection:
        if connection.execute(query).rowcount == 0:
            raise StateError(f"intent {intent_id} is not open")


def prune_closed(db: Database, before: datetime) -> int:
    """Delete intents closed before ``before``; open ones are never touched. Returns the count."""
    query = delete(intents).where(intents.c.status != "open", intents.c.completed_at < before)
    with db.write("prune the journal") as connection:
        return int(connection.execute(query).rowcount)


def dump_json(document: Mapping[str, Any]) -> str:
    """JSON text as the store keeps it: sorted keys, compact, UTF-8 as is."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _close(
    connection: Connection,
    intent_id: int,
    source: str,
    external_id: str,
    status: str,
    error: str | None,
    contact_id: str | None,
) -> None:
    values: dict[str, Any] = {"status": status, "error": error, "completed_at": utc_now()}
    if contact_id is not None:
        values["contact_id"] = contact_id
    query = (
        update(intents)
        .where(
            intents.c.id == intent_id,
            intents.c.status == "open",
            intents.c.source == source,
            intents.c.external_id == external_id,
        )
        .values(values)
    )
    if connection.execute(query).rowcount == 0:
        raise StateError(f"intent {intent_id} is not an open intent of {source}/{external_id}")


def _upsert_link(
    connection: Connection,
    source: str,
    external_id: str,
    changes: dict[str, Any],
    row: int | None,
    now: datetime,
    first: dict[str, Any] | None = None,
) -> None:
    """Update the link, or insert it (from ``first``, else ``changes``) when it is new.

    ``row=None`` keeps the row number on record. Update-then-insert works on every
    backend; the run lock keeps any second writer of the same key away.
    """
    if row is not None:
        changes = {**changes, "row": row}
    where = (links.c.source == source, links.c.external_id == external_id)
    if connection.execute(update(links).where(*where).values(changes)).rowcount == 0:
        values = {**(first if first is not None else changes), "row": row}
        connection.execute(
            insert(links).values(source=source, external_id=external_id, created_at=now, **values)
        )
