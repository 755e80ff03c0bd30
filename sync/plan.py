"""The plan of a run: what will be created, updated and deleted, per source. No I/O.

A :class:`Plan` is what ``--dry-run`` shows and what ``apply`` executes; its
:meth:`Plan.to_dict` is the ``--output json`` document.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from sync.models import Contact, Issue

OpKind = Literal["create", "update", "delete"]
OpOutcome = Literal["pending", "done", "failed", "held", "skipped"]


class FieldChange(NamedTuple):
    """One field's value before and after (``None`` when absent).

    A named tuple: a first run makes several for every row.
    """

    field: str
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {"field": self.field, "before": self.before, "after": self.after}


class Op:
    """One write to the API, and what became of it.

    A create's ``changes`` (every field, for display) and ``fingerprint`` (for the state
    after the write) follow from its contact alone, so they are worked out when first
    asked for: a dry run of a first run plans 100,000s of creates and shows 15. Passing
    them, or setting them, overrides that. Ops compare by identity.
    """

    __slots__ = ("_changes", "_fingerprint", "contact", "contact_id", "custom_names", "error",
                 "external_id", "kind", "note", "outcome", "previous", "raw_hash", "row", "source")

    def __init__(
        self,
        kind: OpKind,
        source: str,
        external_id: str,
        row: int | None = None,
        contact: Contact | None = None,
        *,
        contact_id: str | None = None,
        previous: dict[str, Any] | None = None,
        changes: tuple[FieldChange, ...] | None = None,
        fingerprint: str | None = None,
        raw_hash: str | None = None,
        note: str | None = None,
        outcome: OpOutcome = "pending",
        error: str | None = None,
        custom_names: Mapping[str, str] | None = None,
    ) -> None:
        self.kind: OpKind = kind
        self.source = source
        self.external_id = external_id
        self.row = row
        self.contact = contact
        self.contact_id = contact_id
        self.previous = previous
        self.raw_hash = raw_hash
        self.note = note
        self.outcome: OpOutcome = outcome
        self.error = error
        self.custom_names = custom_names
        self._changes = changes
        self._fingerprint = fingerprint

    @property
    def changes(self) -> tuple[FieldChange, ...]:
        """What the write changes, field by field (custom fields by name)."""
        if self._changes is None:
            from sync.merge import field_changes  # merge builds FieldChanges: imported late

            self._changes = (
                field_changes(self.previous, self.contact.payload(), self.custom_names)
                if self.contact is not None else ()
            )
        return self._changes

    @changes.setter
    def changes(self, value: tuple[FieldChange, ...]) -> None:
        self._changes = value

    @property
    def fingerprint(self) -> str | None:
        """The fingerprint of the payload this op writes (``None`` for a delete)."""
        if self._fingerprint is None and self.contact is not None:
            from sync.fingerprint import fingerprint

            self._fingerprint = fingerprint(self.contact.payload())
        return self._fingerprint

    @fingerprint.setter
    def fingerprint(self, value: str | None) -> None:
        self._fingerprint = value

    def __repr__(self) -> str:
        return (f"Op({self.kind!r}, {self.source!r}, {self.external_id!r}, row={self.row!r}, "
                f"outcome={self.outcome!r})")

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {
            "source": self.source,
            "externalId": self.external_id,
            "kind": self.kind,
            "row": self.row,
            "contactId": self.contact_id,
            "note": self.note,
            "outcome": self.outcome,
            "error": self.error,
            "changes": [c.as_dict() for c in self.changes],
        }


@dataclass
class SourcePlan:
    """Everything planned for one source."""

    source: str
    rows_read: int = 0
    unchanged: int = 0
    ops: list[Op] = field(default_factory=list)
    held: list[Op] = field(default_factory=list)
    hold_reason: str | None = None
    issues: list[Issue] = field(default_factory=list)
    # Bookkeeping a real run writes to the state store without any API call.
    refresh_hashes: dict[str, str] = field(default_factory=dict)
    linked: list[Op] = field(default_factory=list)
    """Adoptions that need no write (the contact holds the row's values): linked by a real run."""
    missing: list[str] = field(default_factory=list)
    reappeared: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """The plan of a whole run."""

    sources: list[SourcePlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def ops(self) -> Iterator[Op]:
        """Every op, deletes first (they are what a reviewer must see first)."""
        order = {"delete": 0, "update": 1, "create": 2}
        all_ops = [op for sp in self.sources for op in sp.ops]
        yield from sorted(all_ops, key=lambda op: order[op.kind])

    def held(self) -> Iterator[Op]:
        """Every op a safety gate held back."""
        for sp in self.sources:
            yield from sp.held

    def hold_reasons(self) -> dict[str, str]:
        """Why each held source was held: its deletes, or all of it (its key column is gone).

        A source can be held with no op to hold (``delete = "never"``, or nothing linked
        yet); it still synced nothing, which a run must not report as done.
        """
        return {sp.source: sp.hold_reason for sp in self.sources if sp.hold_reason}

    def issues(self) -> Iterator[Issue]:
        """Every row and value left out."""
        for sp in self.sources:
            yield from sp.issues

    def summary(self) -> dict[str, int]:
        """The counts of ``--output json``'s ``summary``."""
        ops = list(self.ops())
        kinds = Counter(op.kind for op in ops)
        levels = Counter(issue.level for issue in self.issues())
        return {
            "create": kinds["create"],
            "update": kinds["update"],
            "delete": kinds["delete"],
            "unchanged": sum(sp.unchanged for sp in self.sources),
            "rejected": levels["row"],
            "warnings": levels["value"],
            "failed": sum(1 for op in ops if op.outcome == "failed"),
            "held": sum(len(sp.held) for sp in self.sources),
            # Not attempted: every op of a dry run; those a stopped run never reached.
            "pending": sum(1 for op in ops if op.outcome == "pending"),
        }

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to write."""
        return not any(sp.ops for sp in self.sources)
