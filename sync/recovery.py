"""Recover from a run that died: take over its lock, then resolve the intents it left open.

A run killed with SIGKILL (or by a power loss) cannot release the state store's lock. Its
owner names the host and the process (``host:pid:run``), so a run on the same host sees
that the process is gone and takes the lock over at once; a holder on another host is
waited out: leases are short (:data:`LOCK_LEASE_SECONDS`) and renewed while a run lasts.

A run killed between sending a write and recording its answer leaves an *open intent*.
Nothing about it can be assumed, so each is checked against the API:

- create: look the externalId up; if the contact exists, link it (the next plan brings it
  up to date); if not, the create never happened and the row is planned again.
- update: the PATCH may or may not have landed. If the contact now holds exactly what
  the intent meant to write (same fingerprint), it did, and the link says so; otherwise
  the link is marked for a fresh compare-and-patch (idempotent: PATCH sends the whole
  contact).
- delete: if the contact is gone, the link is removed; if not, the delete is planned again.

The fingerprint check needs the custom fields each source writes (``owned_custom``):
a payload holds only those.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Final

import structlog

from sync.apply import owned_view, pick_adoptable
from sync.errors import LockHeldError, NotFoundError, StateError
from sync.fingerprint import fingerprint

if TYPE_CHECKING:
    from state.records import Intent
    from state.store import StateStore
    from sync.api.client import ContactsApi

log = structlog.get_logger(__name__)

INTERRUPTED = "interrupted before its outcome was recorded; checked again this run"
LOCK_LEASE_SECONDS: Final = 120.0
LOCK_RENEW_SECONDS: Final = 30.0

_held_here: set[str] = set()
"""Lock owners of runs alive in this process (a dead run may have had our pid)."""


def lock_owner(run_id: str) -> str:
    """The lock owner of a run: ``host:pid:run_id``."""
    return f"{os.uname().nodename}:{os.getpid()}:{run_id}"


def take_run_lock(store: StateStore, owner: str, wait_seconds: float) -> None:
    """Take the run lock, first releasing it if its holder is a process on this host that died.

    Raises:
        LockHeldError: a live run holds it (or one on another host whose lease still runs).
    """
    holder = store.lock_holder()
    if holder is not None and holder.owner != owner and _died(holder.owner):
        log.warning("taking over the lock of a run that died", holder=holder.owner)
        store.release_lock(holder.owner)  # only if that dead owner still holds it
    store.acquire_lock(owner, wait_seconds=wait_seconds, lease_seconds=LOCK_LEASE_SECONDS)
    _held_here.add(owner)


def release_run_lock(store: StateStore, owner: str) -> None:
    """Let go of the run lock."""
    _held_here.discard(owner)
    store.release_lock(owner)


async def keep_run_lock(
    store: StateStore,
    owner: str,
    on_lost: Callable[[], None],
    *,
    every: float = LOCK_RENEW_SECONDS,
    lease_seconds: float = LOCK_LEASE_SECONDS,
) -> None:
    """Renew the lease every ``every`` seconds until cancelled; on losing it, call ``on_lost``."""
    while True:
        await asyncio.sleep(every)
        try:
            store.renew_lock(owner, lease_seconds=lease_seconds)
        except LockHeldError as exc:
            log.warning("lost the run lock; stopping after the requests in flight", error=str(exc))
            on_lost()
            return
        except StateError as exc:  # the next renewal may get through; the lease has time
            log.warning("could not renew the run lock", error=str(exc))


def _died(owner: str) -> bool:
    """True when ``owner`` was a process on this host that no longer runs."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != os.uname().nodename or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return owner not in _held_here  # a restarted container may give us the dead run's pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, under another user
    return False


async def resolve_open_intents(
    api: ContactsApi,
    store: StateStore,
    owned_custom: Mapping[str, Collection[str]] | None = None,
) -> int:
    """Resolve every open intent; returns how many there were."""
    owned = owned_custom or {}
    intents = store.open_intents()
    creates = [i for i in intents if i.kind == "create"]
    found = await api.find_by_external_ids([i.external_id for i in creates]) if creates else {}
    for intent in intents:
        keys = owned.get(intent.source, ())
        if intent.kind == "create":
            contacts = [c for c in found.get(intent.external_id, []) if c.get("source") == intent.source]
            _settle_create(store, intent, contacts, keys)
        elif intent.kind == "update":
            await _settle_update(api, store, intent, keys)
        else:
            await _settle_delete(api, store, intent)
    if intents:
        log.info("resolved interrupted operations", count=len(intents))
    return len(intents)


def _settle_create(
    store: StateStore, intent: Intent, contacts: list[dict[str, Any]], keys: Collection[str]
) -> None:
    if not contacts:
        store.abandon_intent(intent.id, "the create never reached OpenPhone")
        return
    remote = pick_adoptable(contacts, intent.source)
    view = owned_view(remote, keys)
    intended = intent.fingerprint or ""
    exact = bool(intended) and fingerprint(view) == intended
    # The contact was made by our create, so what it holds is what we wrote: recorded as
    # the payload, a later edit of the row replaces those items instead of keeping them
    # as a user's. Unless it matches the intent exactly, an empty fingerprint makes the
    # next plan bring it up to date with a GET and a whole-contact PATCH.
    store.complete_upsert(
        intent.id, source=intent.source, external_id=intent.external_id,
        contact_id=str(remote["id"]), fingerprint=intended if exact else "",
        raw_hash=None, payload=view, row=None,
    )


async def _settle_update(
    api: ContactsApi, store: StateStore, intent: Intent, keys: Collection[str]
) -> None:
    assert intent.contact_id is not None
    try:
        remote = await api.get_contact(intent.contact_id)
    except NotFoundError:
        remote = None
    if remote is not None and intent.fingerprint:
        view = owned_view(remote, keys)
        if fingerprint(view) == intent.fingerprint:
            # The PATCH landed: record what it wrote, or a later edit of the row would
            # keep these items as if a user had added them.
            store.complete_upsert(
                intent.id, source=intent.source, external_id=intent.external_id,
                contact_id=intent.contact_id, fingerprint=intent.fingerprint,
                raw_hash=None, payload=view, row=None,
            )
            return
    store.fail_intent(
        intent.id, source=intent.source, external_id=intent.external_id, error=INTERRUPTED, row=None,
    )


async def _settle_delete(api: ContactsApi, store: StateStore, intent: Intent) -> None:
    assert intent.contact_id is not None
    try:
        await api.get_contact(intent.contact_id)
    except NotFoundError:
        store.complete_delete(intent.id, source=intent.source, external_id=intent.external_id)
    else:
        store.abandon_intent(intent.id, "the delete never reached OpenPhone")
