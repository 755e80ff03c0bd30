"""Wire sources, state and the API together for one run. The only module that does.

    resolve open intents → custom fields → read + plan each source → adoption look-ups
    → (dry run: stop here) → apply (custom fields read again once if the API refuses one)
    → bookkeeping → record the run
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from connectors.base import Source, SourceContext
from connectors.registry import get_connector
from state.store import StateStore
from sync.api.client import ContactsApi
from sync.apply import Applier, Ownership
from sync.config import SourceConfig, SyncConfig
from sync.custom_fields import ResolvedField
from sync.errors import ApiError, ConfigError, Fatal, NotStartedError
from sync.field_refresh import FieldRefresh, load_custom_fields
from sync.logging import register_secret
from sync.mapping import RowMapper
from sync.merge import field_changes, patch_body
from sync.plan import FieldChange, Op, Plan
from sync.planner import plan_source, reject_shared_creates
from sync.recovery import (
    keep_run_lock,
    lock_owner,
    release_run_lock,
    resolve_open_intents,
    take_run_lock,
)
from sync.remote import adoption_refusal, pick_adoptable, remote_payload
from sync.report import write_rejects
from sync.writeback import write_back

log = structlog.get_logger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_HELD, EXIT_NOT_STARTED = 0, 1, 2, 3, 4


@dataclass
class RunOptions:
    """How to run, beyond the config file."""

    dry_run: bool = False
    sources: Sequence[str] | None = None
    allow_deletes: int | None = None
    rejects_path: str | None = None
    lock_wait: float = 5.0
    on_planned: Callable[[Plan], None] | None = None
    on_op_done: Callable[[Op], None] | None = None


@dataclass
class RunResult:
    """What a run did: the plan (with each op's outcome), counters and the exit code."""

    run_id: str
    dry_run: bool
    plan: Plan
    started: float
    duration: float = 0.0
    outcome: str = "ok"
    interrupted: bool = False
    recovered: int = 0
    api_calls: int = 0
    rate_limited: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """The documented exit code for this result."""
        summary = self.plan.summary()
        if self.interrupted or summary["failed"]:
            return EXIT_FAILED
        if summary["held"] or self.plan.hold_reasons():
            return EXIT_HELD
        return EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        """The ``--output json`` document."""
        return {
            "run_id": self.run_id,
            "mode": "dry-run" if self.dry_run else "apply",
            "outcome": self.outcome,
            "interrupted": self.interrupted,
            "duration_seconds": round(self.duration, 3),
            "summary": self.plan.summary(),
            "api": {"calls": self.api_calls, "rate_limited": self.rate_limited},
            "sources": [
                {
                    "name": sp.source,
                    "rows_read": sp.rows_read,
                    "unchanged": sp.unchanged,
                    "held_reason": sp.hold_reason,
                    "info": sp.info,
                }
                for sp in self.plan.sources
            ],
            "operations": [op.as_dict() for op in self.plan.ops()],
            "held": [op.as_dict() for op in self.plan.held()],
            "failed": [op.as_dict() for op in self.plan.ops() if op.outcome == "failed"],
            "rejected": [i.as_dict() for i in self.plan.issues()],
            "notes": self.notes,
        }


def _ownership(mappers: Mapping[str, RowMapper | None]) -> dict[str, Ownership]:
    """What each source writes (the fields its mapping names); the rest of a contact is kept."""
    return {
        name: Ownership(m.owned_scalars, m.owned_custom_keys, adopt_any=m.config.adopt == "any")
        for name, m in mappers.items()
        if m is not None
    }


def _sorted_items(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with its emails and phone numbers in one order (their order means nothing)."""
    for name in ("emails", "phoneNumbers"):
        payload[name] = sorted(payload[name], key=lambda i: (str(i["name"]), str(i["value"])))
    return payload


def make_source(config: SourceConfig, sync_config: SyncConfig, env: Mapping[str, str]) -> Source:
    """Instantiate the connector of one ``[[sources]]`` entry."""
    cls = get_connector(config.type)
    options = cls.Options.model_validate(config.options)
    return cls(options, SourceContext(config.name, sync_config.base_dir, env))


def make_api(
    config: SyncConfig, env: Mapping[str, str], transport: httpx.AsyncBaseTransport | None
) -> ContactsApi:
    """The API client for this config (``transport`` swaps in the sandbox)."""
    key = config.api_key(env)
    register_secret(key)
    return ContactsApi(
        config.openphone.base_url,
        key,
        rate_limit=config.openphone.rate_limit,
        timeout=httpx.Timeout(config.openphone.timeout, connect=10.0),
        transport=transport,
        max_retries=config.openphone.max_retries,
    )


class Engine:
    """One run of the sync for a config."""

    def __init__(
        self,
        config: SyncConfig,
        *,
        env: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.env = dict(os.environ if env is None else env)
        self.transport = transport
        self.stop = asyncio.Event()
        self.lock_lost = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(self, options: RunOptions) -> RunResult:
        """Run to completion in a fresh event loop; SIGTERM/SIGINT stop it gracefully."""
        return asyncio.run(self._run_with_signals(options))

    def request_stop(self) -> None:
        """Stop after the requests in flight, from any thread (the scheduler's signal handler).

        ``stop`` belongs to the run's event loop, so it is set from inside that loop; before
        the run starts (or after it ended) the flag is simply set.
        """
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with suppress(RuntimeError):  # the loop closed between the check and the call
                loop.call_soon_threadsafe(self.stop.set)
                return
        self.stop.set()

    async def _run_with_signals(self, options: RunOptions) -> RunResult:
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            with suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.stop.set)
                installed.append(sig)
        try:
            return await self.arun(options)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    async def arun(self, options: RunOptions) -> RunResult:
        """The run itself (for callers with their own event loop)."""
        run_id = uuid.uuid4().hex[:12]
        self._loop = asyncio.get_running_loop()
        structlog.contextvars.bind_contextvars(run_id=run_id)
        try:
            return await self._arun(run_id, options)
        finally:
            structlog.contextvars.unbind_contextvars("run_id")

    def _lock_lost(self) -> None:
        self.lock_lost = True
        self.stop.set()

    def _selected_sources(self, options: RunOptions) -> list[SourceConfig]:
        if not options.sources:
            return list(self.config.sources)
        return [self.config.source(name) for name in options.sources]

    async def _arun(self, run_id: str, options: RunOptions) -> RunResult:
        result = RunResult(run_id, options.dry_run, Plan(), time.monotonic())
        selected = self._selected_sources(options)
        sources = {cfg.name: make_source(cfg, self.config, self.env) for cfg in selected}
        api: ContactsApi | None = None
        try:
            api = make_api(self.config, self.env, self.transport)
        except ConfigError:
            if not options.dry_run or self.env.get(self.config.openphone.api_key_env, "").strip():
                raise  # a dry run goes on without a key, not with a key that is wrong
            result.notes.append(
                f"no API key in ${self.config.openphone.api_key_env}: the preview did not check "
                "OpenPhone for existing contacts, and could not refresh custom field definitions"
            )
        if options.dry_run:
            store, stand_in = StateStore.open_for_preview(self.config.state_url(self.env))
            if stand_in:
                result.notes.append(
                    "the state store does not exist yet (a real run creates it): planned as "
                    "a first run"
                )
        else:
            store = StateStore.open(self.config.state_url(self.env))
        owner = lock_owner(run_id)
        locked = False
        keeper: asyncio.Task[None] | None = None
        try:
            if not options.dry_run:
                take_run_lock(store, owner, options.lock_wait)
                locked = True
                keeper = asyncio.create_task(keep_run_lock(store, owner, self._lock_lost))
                store.start_run(run_id, "apply")
            log.info("run started", mode="dry-run" if options.dry_run else "apply",
                     sources=[c.name for c in selected])
            try:
                await self._plan_and_apply(result, options, selected, sources, api, store, run_id)
            except BaseException:
                result.outcome = "error"
                raise
            finally:
                if locked:
                    self._finish(store, result, api)
        finally:
            if keeper is not None:
                keeper.cancel()
                with suppress(asyncio.CancelledError):
                    await keeper
            if locked:
                release_run_lock(store, owner)
            store.close()
            if api is not None:
                await api.aclose()
        return result

    async def _plan_and_apply(
        self,
        result: RunResult,
        options: RunOptions,
        selected: Sequence[SourceConfig],
        sources: Mapping[str, Source],
        api: ContactsApi | None,
        store: StateStore,
        run_id: str,
    ) -> None:
        try:
            custom, mappers = await self._plan(result, options, selected, sources, api, store)
        except ApiError as exc:
            if isinstance(exc, Fatal):
                raise
            # Nothing was written yet: for cron and alerting, the run did not start.
            raise NotStartedError(
                f"the run could not start: {exc}", status=exc.status, code=exc.code
            ) from exc
        if options.rejects_path:
            write_rejects(options.rejects_path, result.plan.issues())
        if options.on_planned:
            options.on_planned(result.plan)
        if options.dry_run or api is None:
            self._count_api(result, api)
            result.duration = time.monotonic() - result.started
            result.outcome = self._outcome(result)
            return
        await self._apply(result, options, selected, sources, api, store, run_id, custom, mappers)

    async def _plan(
        self,
        result: RunResult,
        options: RunOptions,
        selected: Sequence[SourceConfig],
        sources: Mapping[str, Source],
        api: ContactsApi | None,
        store: StateStore,
    ) -> tuple[dict[str, list[ResolvedField]], dict[str, RowMapper | None]]:
        """Reads only: custom fields, interrupted operations, each source's plan, look-ups."""
        # Custom fields first (a read): recovery needs to know which fields each source writes.
        custom = await load_custom_fields(
            selected, api, store, dry_run=options.dry_run, notes=result.notes
        )
        if api is not None and not options.dry_run:
            owned_custom = {name: [f.key for f in fields] for name, fields in custom.items()}
            result.recovered = await resolve_open_intents(api, store, owned_custom)
        elif options.dry_run and store.open_intents():
            result.notes.append(
                "an earlier run was interrupted; its unfinished operations will be checked "
                "against OpenPhone at the start of the next real run"
            )
        mappers: dict[str, RowMapper | None] = {}
        for cfg in selected:
            plan, mapper = plan_source(
                cfg, sources[cfg.name], store, custom.get(cfg.name, []),
                allow_deletes=options.allow_deletes,
            )
            result.plan.sources.append(plan)
            mappers[cfg.name] = mapper
        reject_shared_creates(result.plan, {c.name: ",".join(c.key) for c in selected})
        if api is not None:
            await self._adopt_existing(
                result.plan, api, store, {c.name for c in self.config.sources}, custom,
                _ownership(mappers),
            )
            linked = sum(len(sp.linked) for sp in result.plan.sources)
            if linked:
                result.notes.append(
                    f"{linked} contacts already in OpenPhone (same externalId, same values) "
                    + ("will be" if options.dry_run else "were")
                    + " linked to their rows without a write"
                )
        return custom, mappers

    async def _apply(
        self,
        result: RunResult,
        options: RunOptions,
        selected: Sequence[SourceConfig],
        sources: Mapping[str, Source],
        api: ContactsApi,
        store: StateStore,
        run_id: str,
        custom: Mapping[str, list[ResolvedField]],
        mappers: Mapping[str, RowMapper | None],
    ) -> None:
        ownership = _ownership(mappers)
        refresh = FieldRefresh(api, store, {c.name: c for c in selected}, custom) if custom else None
        applier = Applier(
            api, store, run_id, ownership,
            concurrency=self.config.openphone.concurrency, stop=self.stop,
            on_done=options.on_op_done, field_refresh=refresh,
            configured_sources=frozenset(c.name for c in self.config.sources),
        )
        try:
            await applier.run([op for op in result.plan.ops() if op.outcome == "pending"])
        finally:
            added = refresh is not None and refresh.report(result.plan, result.notes, applier.issues)
            if added and options.rejects_path:
                write_rejects(options.rejects_path, result.plan.issues())
        result.interrupted = self.stop.is_set()
        if self.lock_lost:
            result.notes.append("another run took the state store's lock over; this run stopped")
        self._bookkeeping(result.plan, store, run_id)
        result.notes.extend(write_back(result.plan, sources))
        self._count_api(result, api)
        result.duration = time.monotonic() - result.started
        result.outcome = self._outcome(result)

    async def _adopt_existing(
        self,
        plan: Plan,
        api: ContactsApi,
        store: StateStore,
        our_sources: set[str],
        custom: Mapping[str, Sequence[ResolvedField]],
        ownership: Mapping[str, Ownership],
    ) -> None:
        """Look creates up by externalId, so nothing that already exists is created twice.

        A contact found is adopted: its changes are what the PATCH would change (fields the
        source does not map are kept, so they are not shown as cleared). One that already
        holds the row's values, under this source's label, needs no write: it is only
        linked (``SourcePlan.linked``) and counts as unchanged.
        """
        creates = [(sp, op) for sp in plan.sources for op in sp.ops if op.kind == "create"]
        if not creates:
            return
        found = await api.find_by_external_ids([op.external_id for _, op in creates])
        linked = store.sources_linking(
            str(c["id"]) for contacts in found.values() for c in contacts if c.get("id")
        )
        for sp, op in creates:
            contacts = found.get(op.external_id) or []
            if not contacts:
                continue
            owned = ownership.get(op.source, Ownership(frozenset(), frozenset()))
            refusal = adoption_refusal(op.external_id, contacts, op.source, configured=our_sources,
                                       adopt_any=owned.adopt_any, linked=linked)
            if refusal is not None:
                op.outcome = "failed"
                op.error = refusal
                continue
            remote = pick_adoptable(contacts, op.source)
            assert op.contact is not None
            body = patch_body(
                remote, op.contact, None, owned_scalars=owned.scalars,
                owned_custom_keys=owned.custom_keys, source=op.source,
            )
            names = {f.key: f.name for f in custom.get(op.source, [])}
            changes = field_changes(_sorted_items(remote_payload(remote)),
                                    _sorted_items(remote_payload(body)), names)
            if remote.get("source") != op.source:
                changes = (FieldChange("source", remote.get("source"), op.source), *changes)
            op.contact_id = str(remote["id"])
            op.previous = None
            if not changes:
                sp.ops.remove(op)
                sp.linked.append(op)
                sp.unchanged += 1
                continue
            op.kind = "update"
            op.note = "adopts an existing contact with this externalId"
            op.changes = changes

    def _bookkeeping(self, plan: Plan, store: StateStore, run_id: str) -> None:
        for sp in plan.sources:
            for op in sp.linked:  # adopted contacts that already held the row's values
                assert op.contact is not None
                assert op.contact_id is not None
                intent = store.begin_intent(
                    run_id, op.source, op.external_id, "update", op.fingerprint, op.contact_id
                )
                store.complete_upsert(
                    intent, source=op.source, external_id=op.external_id,
                    contact_id=op.contact_id, fingerprint=op.fingerprint or "",
                    raw_hash=op.raw_hash, payload=op.contact.payload(), row=op.row,
                )
                op.outcome = "done"
            if sp.refresh_hashes:
                store.set_raw_hashes(sp.source, sp.refresh_hashes)
            if sp.reappeared:
                store.reset_missing(sp.source, sp.reappeared)
            if sp.missing:
                store.bump_missing(sp.source, sp.missing)

    def _count_api(self, result: RunResult, api: ContactsApi | None) -> None:
        if api is not None:
            result.api_calls = api.stats.requests_sent
            result.rate_limited = api.stats.rate_limited

    def _outcome(self, result: RunResult) -> str:
        summary = result.plan.summary()
        if result.interrupted:
            return "interrupted"
        if summary["failed"]:
            return "failed"
        if summary["held"] or result.plan.hold_reasons():
            return "held"
        return "ok"

    def _finish(self, store: StateStore, result: RunResult, api: ContactsApi | None) -> None:
        self._count_api(result, api)
        result.duration = time.monotonic() - result.started
        document = result.to_dict()
        store.finish_run(
            result.run_id,
            outcome=result.outcome,
            summary={"summary": document["summary"], "duration_seconds": document["duration_seconds"],
                     "interrupted": result.interrupted},
            api_calls=result.api_calls,
            rate_limited=result.rate_limited,
        )
        log.info("run finished", outcome=result.outcome, **result.plan.summary(),
                 api_calls=result.api_calls, rate_limited=result.rate_limited,
                 duration_seconds=round(result.duration, 2))

