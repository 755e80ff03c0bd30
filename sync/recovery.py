"""Resolve the intents an interrupted run left open, before planning anything new.

A run killed between sending a write and recording its answer leaves an *open intent*.
Nothing about it can be assumed, so each is checked against the API:

- create: look the externalId up; if the contact exists, link it (the next plan brings it
  up to date); if not, the create never happened and the row is planned again.
- update: the PATCH may or may not have landed; the link is marked for a fresh
  compare-and-patch (idempotent: PATCH sends the whole contact).
- delete: if the contact is gone, the link is removed; if not, the delete is planned again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from sync.apply import pick_adoptable
from sync.errors import NotFoundError

if TYPE_CHECKING:
    from state.store import StateStore
    from sync.api.client import ContactsApi

log = structlog.get_logger(__name__)

INTERRUPTED = "interrupted before its outcome was recorded; checked again this run"


async def resolve_open_intents(api: ContactsApi, store: StateStore) -> int:
    """Resolve every open intent; returns how many there were."""
    intents = store.open_intents()
    creates = [i for i in intents if i.kind == "create"]
    found = await api.find_by_external_ids([i.external_id for i in creates]) if creates else {}
    for intent in intents:
        if intent.kind == "create":
            contacts = [c for c in found.get(intent.external_id, []) if c.get("source") == intent.source]
            if contacts:
                remote = pick_adoptable(contacts, intent.source)
                # An empty payload and no fingerprint: the next plan sees a difference and
                # brings the contact up to date with a GET and a whole-contact PATCH.
                store.complete_upsert(
                    intent.id, source=intent.source, external_id=intent.external_id,
                    contact_id=str(remote["id"]), fingerprint="", raw_hash=None, payload={}, row=None,
                )
            else:
                store.abandon_intent(intent.id, "the create never reached OpenPhone")
        elif intent.kind == "update":
            store.fail_intent(
                intent.id, source=intent.source, external_id=intent.external_id,
                error=INTERRUPTED, row=None,
            )
        else:
            assert intent.contact_id is not None
            try:
                await api.get_contact(intent.contact_id)
            except NotFoundError:
                store.complete_delete(intent.id, source=intent.source, external_id=intent.external_id)
            else:
                store.abandon_intent(intent.id, "the delete never reached OpenPhone")
    if intents:
        log.info("resolved interrupted operations", count=len(intents))
    return len(intents)
