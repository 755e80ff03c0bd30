"""Compare what a source wants with what the state store says we wrote. Pure.

Input: the candidate contacts (rows whose raw cells changed since the last run, or that
have never been synced) and their links; output: create / update / unchanged decisions.
Rows whose raw hash matched the state never get here: they cost nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sync.fingerprint import fingerprint
from sync.merge import field_changes
from sync.models import Contact
from sync.plan import Op


class LinkLike(Protocol):
    """What the diff needs of a state-store link."""

    @property
    def contact_id(self) -> str | None: ...
    @property
    def fingerprint(self) -> str | None: ...
    @property
    def raw_hash(self) -> str | None: ...
    @property
    def payload(self) -> dict[str, Any] | None: ...
    @property
    def status(self) -> str: ...
    @property
    def last_error(self) -> str | None: ...


@dataclass(frozen=True)
class Candidate:
    """A normalized row that may need a write."""

    row: int
    contact: Contact
    raw_hash: str | None


@dataclass
class DiffResult:
    """What :func:`diff_candidates` decided."""

    ops: list[Op]
    unchanged: int
    refresh_hashes: dict[str, str]


def diff_candidates(
    source: str,
    candidates: Mapping[str, Candidate],
    links: Mapping[str, LinkLike],
    custom_names: Mapping[str, str] | None = None,
) -> DiffResult:
    """Decide create / update / unchanged for each candidate."""
    ops: list[Op] = []
    unchanged = 0
    refresh: dict[str, str] = {}
    for key, cand in candidates.items():
        link = links.get(key)
        if link is None or link.contact_id is None:
            note = None
            if link is not None and link.status == "failed":
                note = f"retrying; last run failed: {link.last_error}"
            # Its fingerprint and field list follow from the contact: worked out when used.
            ops.append(Op("create", source, key, cand.row, cand.contact, raw_hash=cand.raw_hash,
                          note=note, custom_names=custom_names))
            continue
        payload = cand.contact.payload()
        fp = fingerprint(payload)
        if fp == link.fingerprint and link.status == "synced":
            unchanged += 1
            if cand.raw_hash is not None and link.raw_hash != cand.raw_hash:
                refresh[key] = cand.raw_hash
            continue
        note = None
        if link.status == "failed":
            note = f"retrying; last run failed: {link.last_error}"
        ops.append(
            Op("update", source, key, cand.row, cand.contact, contact_id=link.contact_id,
               previous=link.payload, fingerprint=fp, raw_hash=cand.raw_hash,
               changes=field_changes(link.payload, payload, custom_names), note=note)
        )
    return DiffResult(ops, unchanged, refresh)


def plan_deletes(
    source: str,
    missing: Mapping[str, LinkLike],
    missing_counts: Mapping[str, int],
    *,
    after_runs: int,
    custom_names: Mapping[str, str] | None = None,
) -> list[Op]:
    """Deletes for links whose row has now been absent ``after_runs`` reads in a row.

    ``missing_counts`` holds the counts *before* this read; this read adds one. Only links
    with a contact id (contacts this source created or adopted) can be deleted.
    """
    ops = []
    for key, link in sorted(missing.items()):
        if link.contact_id is None:
            continue
        if missing_counts.get(key, 0) + 1 < after_runs:
            continue
        ops.append(
            Op("delete", source, key, None, None, contact_id=link.contact_id, previous=link.payload,
               changes=field_changes(link.payload, {}, custom_names) if link.payload else ())
        )
    return ops
