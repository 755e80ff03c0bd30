"""Plain value objects the state store hands out. No I/O here.

- :class:`Link`: what we know about one source row and the contact it became.
- :class:`Intent`: one journaled write (issue 7's crash journal).
- :class:`RunRecord`: one run, for ``sync status``.
- :class:`LockInfo`: who holds the state store's lock, for ``doctor``.

All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

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
