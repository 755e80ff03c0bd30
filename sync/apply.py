"""Execute a plan's operations through the API, recording every outcome in the state store.

Each write is journaled before its request (an *intent*) and completed after the answer,
in the same transaction as the link it changes; a run that dies in between leaves the
intent open for the next run to resolve (:mod:`sync.recovery`).

What happens on an error is decided by its marker (see :mod:`sync.errors`):
``Fatal`` stops the run, ``Skippable`` and ``Retriable`` (after the transport's own retries)
fail this one operation, which is recorded with its reason and retried next run. A create
whose outcome is unknown is never repeated blindly: the contact is looked up by
``externalId`` first.

One 400 is looked at more closely: "Invalid Custom Field Item", sent for a write built from
definitions that changed in the app since the run read them. The definitions are read again
(once per run, see :mod:`sync.field_refresh`), every operation not yet written is brought
up to date, and the refused one is tried once more. A refusal of a write built from the
refreshed definitions fails that operation, as any other 400 does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from sync.errors import (
    AmbiguousCreateError,
    ConflictError,
    Fatal,
    InvalidRequestError,
    NotFoundError,
    Retriable,
    Skippable,
    SyncError,
)
from sync.fingerprint import fingerprint
from sync.merge import create_body, patch_body
from sync.models import Issue
from sync.plan import Op
from sync.remote import adoption_refusal, owned_view, pick_adoptable, remote_payload

if TYPE_CHECKING:
    from state.store import StateStore
    from sync.api.client import ContactsApi
    from sync.field_refresh import FieldRefresh

log = structlog.get_logger(__name__)

__all__ = ["Applier", "Ownership", "owned_view", "pick_adoptable", "remote_payload"]


@dataclass(frozen=True)
class Ownership:
    """What a source writes, so a PATCH keeps everything else."""

    scalars: frozenset[str]
    custom_keys: frozenset[str]
    adopt_any: bool = False  # the source's `adopt = "any"`: it may take other tools' contacts


ProgressHook = Callable[[Op], None]

CREATE_ATTEMPTS = 3
"""Creates sent per row and run while the answers leave their outcome unknown."""


class Applier:
    """Runs operations with bounded concurrency; the API client keeps the rate."""

    def __init__(
        self,
        api: ContactsApi,
        store: StateStore,
        run_id: str,
        ownership: Mapping[str, Ownership],
        *,
        concurrency: int = 8,
        stop: asyncio.Event | None = None,
        on_done: ProgressHook | None = None,
        field_refresh: FieldRefresh | None = None,
        configured_sources: frozenset[str] = frozenset(),
    ) -> None:
        self.api = api
        self.configured_sources = configured_sources or frozenset(ownership)
        self.store = store
        self.run_id = run_id
        self.ownership = ownership
        self.concurrency = concurrency
        self.stop = stop or asyncio.Event()
        self.on_done = on_done
        self.fatal: BaseException | None = None
        self.field_refresh = field_refresh
        self.issues: list[Issue] = []
        """Values left out during the apply stage (a field retyped mid-run), for the report."""
        self._fresh: dict[tuple[str, str], str | None] = {}  # rewritten ops: error to record
        self._retry_pending: set[tuple[str, str]] = set()  # in flight, built before the refresh
        self._abandoned: set[tuple[str, str]] = set()  # refused, waiting for the refresh

    async def run(self, ops: Sequence[Op]) -> None:
        """Apply ``ops``; returns when all are done, the run is stopped, or a fatal error hit."""
        queue: asyncio.Queue[Op] = asyncio.Queue()
        for op in ops:
            queue.put_nowait(op)

        async def worker() -> None:
            while not self.stop.is_set() and self.fatal is None:
                try:
                    op = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await self._one(op)

        workers = [asyncio.create_task(worker()) for _ in range(max(1, self.concurrency))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            # A bug (or a cancellation) in one worker: stop the others before the engine
            # records the run and lets go of the lock; their open intents go to recovery.
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        if self.fatal is not None:
            raise self.fatal

    async def _one(self, op: Op) -> None:
        try:
            await self._write_checked(op)
            error = self._fresh.get((op.source, op.external_id))
            if error is None:
                op.outcome = "done"
            else:
                self._record_failure(op, error)
        except SyncError as exc:
            if isinstance(exc, Fatal):
                self.fatal = exc
                op.outcome = "skipped"
                return
            op.outcome = "failed"
            op.error = str(exc)
        finally:
            if self.on_done is not None and _finished(op):
                self.on_done(op)

    async def _write(self, op: Op) -> None:
        if op.kind == "create":
            await self._create(op)
        elif op.kind == "update":
            await self._update(op)
        else:
            await self._delete(op)

    async def _write_checked(self, op: Op) -> None:
        """Write ``op``; refused for custom fields read before a refresh: refresh, retry once."""
        refresh = self.field_refresh
        if refresh is None or op.contact is None:
            await self._write(op)
            return
        where = (op.source, op.external_id)
        if not self._freshen(op, refresh):
            self._retry_pending.add(where)
        try:
            await self._write(op)
        except InvalidRequestError as exc:
            self._retry_pending.discard(where)
            if where not in self._abandoned:
                raise
            if not await refresh.run():
                self._record_failure(op, str(exc))
                raise
            self._freshen(op, refresh)
            log.info("retrying after the custom field refresh", source=op.source,
                     external_id=op.external_id)
            await self._write(op)
        finally:
            self._retry_pending.discard(where)
            self._abandoned.discard(where)

    def _may_retry(self, op: Op, exc: SyncError) -> bool:
        """A refused custom field in a write built before the refresh, which may still help."""
        refresh = self.field_refresh
        return (
            refresh is not None
            and (op.source, op.external_id) in self._retry_pending
            and isinstance(exc, InvalidRequestError)
            and exc.is_invalid_custom_field
            and not refresh.failed
        )

    def _freshen(self, op: Op, refresh: FieldRefresh) -> bool:
        """Rewrite ``op`` for the refreshed definitions (once); False while there are none."""
        if not refresh.ready:
            return False
        where = (op.source, op.external_id)
        if where not in self._fresh:
            rewrite = refresh.rewrite(op)
            self.issues.extend(rewrite.issues)
            self._fresh[where] = rewrite.error
        return True

    def _record_failure(self, op: Op, error: str) -> None:
        """Record ``op`` failed after its write (or its refusal) was already settled.

        Used when the contact was written without a mapped field that no longer resolves,
        and when the retry a refused custom field waited for cannot happen. The link keeps
        what was last written (contact id, payload, fingerprint) and is retried next run.
        """
        intent = self._begin(op, "update" if op.contact_id else op.kind, op.contact_id)
        self._fail(intent, op, error)
        op.outcome = "failed"
        op.error = error

    def _owned_custom(self, source: str) -> frozenset[str]:
        planned = self.ownership[source].custom_keys
        if self.field_refresh is None:
            return planned
        return self.field_refresh.owned_keys(source, planned)

    async def _journaled(
        self, op: Op, kind: str, contact_id: str | None, call: Callable[[], Awaitable[Any]]
    ) -> Any:
        """Run ``call`` between an intent and its outcome; failures are recorded, then re-raised."""
        intent = self._begin(op, kind, contact_id)
        try:
            result = await call()
        except SyncError as exc:
            self._settle_failure(intent, op, exc)
            raise
        return intent, result

    def _begin(self, op: Op, kind: str, contact_id: str | None) -> int:
        return self.store.begin_intent(
            self.run_id, op.source, op.external_id, kind, op.fingerprint, contact_id
        )

    def _settle_failure(self, intent: int, op: Op, exc: SyncError) -> None:
        """Record a failed write; a fatal error leaves its intent open for recovery to check."""
        # The markers are plain mixins, not exceptions: an ``except`` clause naming them
        # raises TypeError, so the root is caught and the marker tested here.
        if self._may_retry(op, exc):
            # Not a failure yet: the write did not happen, and is retried after the refresh.
            self.store.abandon_intent(intent, f"retried after reading the custom fields again: {exc}")
            self._abandoned.add((op.source, op.external_id))
        elif isinstance(exc, Skippable | Retriable):
            self._fail(intent, op, str(exc))
        else:
            log.debug("intent left open", intent=intent, error=type(exc).__name__)

    def _fail(self, intent: int, op: Op, error: str) -> None:
        self.store.fail_intent(
            intent, source=op.source, external_id=op.external_id, error=error, row=op.row
        )

    def _record(self, intent: int, op: Op, contact_id: str) -> None:
        assert op.contact is not None
        assert op.fingerprint is not None
        self.store.complete_upsert(
            intent,
            source=op.source,
            external_id=op.external_id,
            contact_id=contact_id,
            fingerprint=op.fingerprint,
            raw_hash=op.raw_hash,
            payload=op.contact.payload(),
            row=op.row,
        )
        op.contact_id = contact_id

    async def _create(self, op: Op) -> None:
        """POST the contact; an answer that leaves its fate unknown is settled by a look-up."""
        assert op.contact is not None
        body = create_body(op.contact, op.source)
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            intent = self._begin(op, "create", None)
            try:
                created = await self.api.create_contact(body)
            except (AmbiguousCreateError, ConflictError) as exc:
                # The intent stays open until the look-up says what happened: a run killed
                # in between leaves it for recovery, never a contact nobody knows about.
                if await self._settle_uncertain_create(op, intent, exc, last=attempt == CREATE_ATTEMPTS):
                    return
                continue
            except SyncError as exc:
                self._settle_failure(intent, op, exc)
                raise
            self._record(intent, op, created["id"])
            return

    async def _settle_uncertain_create(
        self, op: Op, intent: int, exc: AmbiguousCreateError | ConflictError, *, last: bool
    ) -> bool:
        """Look the contact up after a create of unknown outcome. False: create it again.

        Found: it is linked (and adopted with a PATCH unless it already holds exactly what
        we sent). Not found after a 409, or after the last attempt: the row is recorded as
        failed and the error raised; the next run looks it up again before creating.
        """
        found = await self.api.find_by_external_ids([op.external_id])
        contacts = found.get(op.external_id) or []
        refusal = adoption_refusal(
            op.external_id, contacts, op.source, configured=self.configured_sources,
            adopt_any=self.ownership[op.source].adopt_any,
            linked=self.store.sources_linking(str(c["id"]) for c in contacts if c.get("id")),
        ) if contacts else None
        if refusal is not None:  # made meanwhile by another source, tool or setup: not ours
            self._fail(intent, op, refusal)
            raise ConflictError(refusal, status=409)
        if not contacts:
            if isinstance(exc, ConflictError) or last:
                self._fail(intent, op, str(exc))
                raise exc
            self.store.abandon_intent(intent, "the create did not reach OpenPhone")
            return False
        await self._link_found(op, intent, pick_adoptable(contacts, op.source))
        return True

    async def _link_found(self, op: Op, intent: int, remote: Mapping[str, Any]) -> None:
        """Close a create's intent on the contact found by externalId, then bring it up to date."""
        assert op.contact is not None
        contact_id = str(remote["id"])
        ours = remote.get("source") == op.source
        view = owned_view(remote, op.contact.custom_fields)
        if ours and fingerprint(view) == op.fingerprint:
            op.note = "the create had reached OpenPhone; found by externalId"
            self._record(intent, op, contact_id)
            return
        # A contact carrying our own source label holds what this source sent once: its
        # items count as ours, so a stale email is replaced, not kept as a user's.
        previous = view if ours else None
        self.store.complete_upsert(
            intent, source=op.source, external_id=op.external_id, contact_id=contact_id,
            fingerprint="", raw_hash=None, payload=previous or {}, row=op.row,
        )
        op.contact_id = contact_id
        op.previous = previous
        op.note = "adopted an existing contact with the same externalId"
        await self._patch(op, remote)

    async def _update(self, op: Op) -> None:
        assert op.contact_id is not None
        try:
            remote = await self.api.get_contact(op.contact_id)
        except NotFoundError:
            await self._recreate(op)
            return
        await self._patch(op, remote)

    async def _patch(self, op: Op, remote: Mapping[str, Any]) -> None:
        assert op.contact is not None
        owned = self.ownership[op.source]
        body = patch_body(
            remote, op.contact, op.previous,
            owned_scalars=owned.scalars, owned_custom_keys=self._owned_custom(op.source),
            source=op.source,
        )
        contact_id = str(remote["id"])
        try:
            intent, _ = await self._journaled(
                op, "update", contact_id, lambda: self.api.update_contact(contact_id, body)
            )
        except NotFoundError:
            await self._recreate(op)
            return
        self._record(intent, op, contact_id)

    async def _recreate(self, op: Op) -> None:
        """The contact was deleted in the app: create it again and relink."""
        op.note = "the contact was deleted in OpenPhone; created again"
        op.previous = None
        await self._create(op)

    async def _delete(self, op: Op) -> None:
        assert op.contact_id is not None
        contact_id = op.contact_id

        async def call() -> None:
            try:
                await self.api.delete_contact(contact_id)
            except NotFoundError:
                return  # already gone: that is what we wanted

        intent, _ = await self._journaled(op, "delete", contact_id, call)
        self.store.complete_delete(intent, source=op.source, external_id=op.external_id)


def _finished(op: Op) -> bool:
    """True once the op has an outcome (a bug escaping as an exception leaves it pending)."""
    return op.outcome != "pending"
