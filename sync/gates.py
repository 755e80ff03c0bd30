"""Safety gates on deletes. Pure.

A sheet that comes back empty, or an export that lost most of its rows, must never
delete a workspace's contacts. Per source, deletes are held back when the source read no
rows at all while it owns contacts (or only rows without a key), when a row without a key
holds the phone number or email of a contact that would be deleted (its key was cleared,
the row is still there), or when there are more than ``max_deletes``, or at
least :data:`RATIO_FLOOR` deletes that are also more than ``max_delete_ratio`` of the
contacts the source owns. ``--allow-deletes N`` lets one run through with at most N.
"""

from __future__ import annotations

from dataclasses import dataclass

RATIO_FLOOR = 10


@dataclass(frozen=True)
class GateInput:
    """The facts a gate decision needs, for one source."""

    deletes: int
    rows_read: int
    owned: int
    max_deletes: int
    max_delete_ratio: float
    key_missing: bool = False
    allow_deletes: int | None = None
    keyless_rows: int = 0
    lookalikes: tuple[str, ...] = ()
    """Deletes whose contact shares a phone number or email with a row that has no key."""


def hold_reason(facts: GateInput) -> str | None:
    """Why the deletes must be held back, or None when they may go ahead."""
    if facts.deletes == 0:
        return None
    if facts.allow_deletes is not None:
        if facts.deletes <= facts.allow_deletes:
            return None
        return (
            f"{facts.deletes} deletes planned but --allow-deletes allows {facts.allow_deletes}"
        )
    if facts.key_missing:
        return "the source lost its key column; nothing will be deleted"
    if facts.rows_read == 0:
        return (
            f"the source returned no rows but owns {facts.owned} contacts; "
            "refusing to delete them all (pass --allow-deletes N if this is what you want)"
        )
    if facts.keyless_rows == facts.rows_read:
        return (
            f"none of the {facts.rows_read} rows has a key (the key column is empty); "
            "nothing will be deleted"
        )
    if facts.lookalikes:
        return (
            "rows without a key share a phone number or email with contacts that would be "
            f"deleted ({', '.join(facts.lookalikes)}): their keys were probably cleared. "
            "Fill the keys in, or pass --allow-deletes N for one run"
        )
    if facts.deletes > facts.max_deletes:
        return (
            f"{facts.deletes} deletes is more than max_deletes = {facts.max_deletes} "
            "(raise it, or pass --allow-deletes N for one run)"
        )
    if facts.owned and facts.deletes >= RATIO_FLOOR:
        ratio = facts.deletes / facts.owned
        if ratio > facts.max_delete_ratio:
            return (
                f"{facts.deletes} deletes is {ratio:.0%} of the {facts.owned} contacts this source "
                f"owns, more than max_delete_ratio = {facts.max_delete_ratio:.0%} "
                "(pass --allow-deletes N for one run)"
            )
    return None
