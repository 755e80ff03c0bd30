"""Plain value objects the state store hands out. No I/O here.

- :class:`Link`: what we know about one source row and the contact it became.
- :class:`Intent`: one journaled write (issue 7's crash journal).
- :class:`RunRecord`: one run, for ``sync status``.
- :class:`LockInfo`: who holds the state store's lock, for ``doctor``.

All datetimes are timezone-aware UTC. The ``*_from_row`` functions build them from rows
of the store's tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

LinkStatus = Literal["synced", "failed"]
IntentKind = Literal["create", "update", "delete"]
IntentStatus = Literal["open", "done", "failed"]
RunMode = Literal["dry-run", "apply"]
RunOutcome = Literal["ok", "failed", "held", "interrupted", "error"]

INTENT_KINDS: Final = frozenset({"create", "update", "delete"})
RUN_MODES: Final = frozenset({"dry-run", "apply"})
RUN_OUTCOMES: Final = frozenset({"ok", "failed", "held", "interrupted", "error"})


@dataclass(frozen=True, slots=True)
class Link:
    """One source row's link to an OpenPhone contact.

    Attributes:
        contact_id: the OpenPhone contact id; ``None`` when a create never succeeded.
        fingerprint: hash of the normalized payload we last wrote.
        raw_hash: hash of the raw source row last seen in step with the contact; ``None``
            when unknown or when the link failed (so the next run looks at the row again).
        payload: the owned data we last wrote (for field-level diffs).
        attempts: failures in a row; 0 once the row syncs.
        missing_runs: consecutive successful reads the row was absent from.
        row: the row number the row was last seen at.
    """

    source: str
    external_id: str
    contact_id: str | None
    fingerprint: str | None
    raw_hash: str | None
    payload: dict[str, Any] | None
    status: LinkStatus
    last_error: str | None
    attempts: int
    missing_runs: int
    row: int | None
    created_at: datetime
    updated_at: datetime
    synced_at: datetime | None


@dataclass(frozen=True, slots=True)
class Intent:
    """A write journaled before its API call; ``open`` until its outcome is recorded."""

    id: int
    run_id: str
    source: str
    external_id: str
    kind: IntentKind
    fingerprint: str | None
    contact_id: str | None
    status: IntentStatus
    error: str | None
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as recorded; ``outcome`` and ``finished_at`` are ``None`` until it ends."""

    run_id: str
    started_at: datetime
    finished_at: datetime | None
    mode: RunMode
    outcome: RunOutcome | None
    summary: dict[str, Any]
    api_calls: int
    rate_limited: int


@dataclass(frozen=True, slots=True)
class LockInfo:
    """The current holder of the state store's lock (its lease may have expired)."""

    name: str
    owner: str
    acquired_at: datetime
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        """True when the lease ran out before ``now``, so another run may take it over."""
        return self.expires_at < now

    def describe(self) -> str:
        """A human sentence naming the holder and its expiry."""
        return (
            f"held by {self.owner!r} since {self.acquired_at.isoformat(timespec='seconds')}, "
            f"lease expires {self.expires_at.isoformat(timespec='seconds')}"
        )


def link_from_row(row: Mapping[Any, Any]) -> Link:
    """A :class:`Link` from a ``state_links`` row, its payload JSON decoded."""
    payload = row["payload"]
    return Link(
        source=row["source"],
        external_id=row["external_id"],
        contact_id=row["contact_id"],
        fingerprint=row["fingerprint"],
        raw_hash=row["raw_hash"],
        payload=None if payload is None else json.loads(payload),
        status=row["status"],
        last_error=row["last_error"],
        attempts=row["attempts"],
        missing_runs=row["missing_runs"],
        row=row["row"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        synced_at=row["synced_at"],
    )


def run_from_row(row: Mapping[Any, Any]) -> RunRecord:
    """A :class:`RunRecord` from a ``state_runs`` row, its summary JSON decoded."""
    summary = row["summary"]
    return RunRecord(
        run_id=row["run_id"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        mode=row["mode"],
        outcome=row["outcome"],
        summary={} if summary is None else json.loads(summary),
        api_calls=row["api_calls"],
        rate_limited=row["rate_limited"],
    )


def intent_from_row(row: Mapping[Any, Any]) -> Intent:
    """An :class:`Intent` from a ``state_intents`` row."""
    return Intent(
        id=row["id"],
        run_id=row["run_id"],
        source=row["source"],
        external_id=row["external_id"],
        kind=row["kind"],
        fingerprint=row["fingerprint"],
        contact_id=row["contact_id"],
        status=row["status"],
        error=row["error"],
        created_at=row["created_at"],
        completed_at=row["completed_at"],
    )
