"""Read one source and plan it against the state store.

The only I/O here is reading the source (through its connector) and reading the state
store; the decisions are the pure functions of :mod:`sync.diff` and :mod:`sync.gates`.

The steady state is meant to be nearly free: a row whose mapped cells hash to the value
stored at the last sync is counted as unchanged without being normalized, and the state is
read once per source into a plain dict (key → raw hash).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

import structlog

from connectors.base import RecordStream, Source, SupportsKeyOrder
from sync.config import SourceConfig
from sync.custom_fields import ResolvedField
from sync.diff import Candidate, diff_candidates, plan_deletes
from sync.errors import MissingColumnError
from sync.gates import GateInput, hold_reason
from sync.mapping import MAX_EXTERNAL_ID, RowMapper, resolve_column
from sync.models import Issue, SourceRecord
from sync.plan import Op, Plan, SourcePlan

if TYPE_CHECKING:
    from state.store import StateStore

log = structlog.get_logger(__name__)


def plan_source(
    config: SourceConfig,
    source: Source,
    store: StateStore,
    custom_fields: Sequence[ResolvedField] = (),
    *,
    allow_deletes: int | None = None,
) -> tuple[SourcePlan, RowMapper | None]:
    """Read ``source`` and decide every write it needs. Returns the plan and the mapper.

    A source that can give its records in key order is planned by a merge with the state's
    links streamed in the same order: memory stays flat however large the source. Out of
    order (a CSV that is not sorted, a collation unlike Python's), it is planned again
    against the whole state index held in memory.
    """
    if isinstance(source, SupportsKeyOrder):
        try:
            return _plan(config, source.open_in_key_order(config.key), store, custom_fields,
                         allow_deletes, _Merged(store, config.name))
        except _OutOfOrder as exc:
            log.info("source not in key order; planning against the whole state index",
                     source=config.name, row=exc.row)
    return _plan(config, source.open(), store, custom_fields, allow_deletes,
                 _Indexed(store, config.name))


def _plan(
    config: SourceConfig,
    opened: AbstractContextManager[RecordStream],
    store: StateStore,
    custom_fields: Sequence[ResolvedField],
    allow_deletes: int | None,
    known: _Indexed | _Merged,
) -> tuple[SourcePlan, RowMapper | None]:
    plan = SourcePlan(config.name)
    custom_names = {f.key: f.name for f in custom_fields}
    with opened as stream:
        plan.info.update(stream.info)
        missing_key = _missing_key_column(config, stream.columns)
        if missing_key:
            plan.hold_reason = missing_key
            _hold_all(plan, store, config, custom_names)
            return plan, None
        mapper = RowMapper(config, stream.columns, custom_fields)
        duplicates: dict[str, list[int]] = {}
        nothing_to_sync: set[str] = set()
        keyless: list[SourceRecord] = []  # the first of them, to tell a cleared key from a gone row
        rows_read = unchanged = keyless_rows = 0
        batch = _DiffBatch(config.name, store, custom_names, plan)
        # The hot loop: a million rows of a steady-state run come through here, and all
        # but the changed ones stop at the raw-hash comparison. ``first_seen`` records a key
        # (returning the row it was first seen on), ``take_known`` gives its raw hash from
        # the state once; the keys never taken are the ones gone from the source.
        key_of, raw_hash, to_contact = mapper.key_reader, mapper.hash_reader, mapper.to_contact
        with collector_paused(), known:
            first_seen, take_known = known.first_seen, known.take
            for row, values in stream.records:
                rows_read += 1
                key = key_of(values)
                if key is None or len(key) > MAX_EXTERNAL_ID:
                    if key is None:
                        keyless_rows += 1
                        if len(keyless) < MAX_KEYLESS_KEPT:
                            keyless.append(SourceRecord(row, values))
                    plan.issues.append(
                        Issue(config.name, row, key, "row", ",".join(config.key), None,
                              mapper.check_key(key) or "no key")
                    )
                    continue
                first = first_seen(key, row)
                if first != row:
                    duplicates.setdefault(key, [first]).append(row)
                    continue
                digest = raw_hash(values)
                state_hash = take_known(key, _ABSENT)
                if state_hash == digest:
                    unchanged += 1
                    continue
                contact, issues = to_contact(key, SourceRecord(row, values))
                plan.issues.extend(issues)
                if contact is None:
                    nothing_to_sync.add(key)
                    continue
                # A row with values left out keeps no raw hash, so it is normalized (and its
                # problems reported) on every run until it is fixed; it still costs no write.
                batch.add(key, Candidate(row, contact, None if issues else digest),
                          state_hash is not _ABSENT)
            batch.flush()
            missing_keys = known.missing()  # the keys the loop did not take
        plan.info.update(stream.info)  # final only once the records are used up
    plan.rows_read = rows_read
    plan.unchanged = unchanged + batch.unchanged
    if duplicates:
        _drop_duplicates(plan, config, duplicates, batch, nothing_to_sync)

    counts = store.missing_counts(config.name)
    plan.missing = missing_keys
    gone = set(missing_keys)
    plan.reappeared = [k for k in counts if k not in gone]
    if config.delete == "mirror" and missing_keys:
        missing_links = store.load_links(config.name, missing_keys)
        deletes = plan_deletes(
            config.name, missing_links, counts,
            after_runs=config.delete_after_missing_runs, custom_names=custom_names,
        )
        lookalikes = _lookalikes(mapper, keyless, deletes) if deletes and keyless else ()
        _gate(plan, config, deletes, store.count_links(config.name), allow_deletes,
              keyless_rows=keyless_rows, lookalikes=lookalikes)
    return plan, mapper


class _OutOfOrder(Exception):
    """A key came before the one read last: the merge cannot go on."""

    def __init__(self, row: int | None) -> None:
        super().__init__(row)
        self.row = row


class _Indexed:
    """The state as one dict in memory (key → raw hash); any source order works."""

    def __init__(self, store: StateStore, source: str) -> None:
        self.store, self.source = store, source
        self.index: dict[str, str | None] = {}
        self.first_rows: dict[str, int] = {}
        self.first_seen = self.first_rows.setdefault  # bound dict methods: the loop calls C
        self.take = self.index.pop

    def __enter__(self) -> _Indexed:
        self.index.update(self.store.load_index(self.source))
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def missing(self) -> list[str]:
        return list(self.index)


class _Merged:
    """The state streamed in key order beside a source read in key order.

    Memory holds the current link and the keys gone from the source, nothing per row. A
    key repeated in the source comes right after its first row; a key smaller than the one
    before it (in the source or the state) ends the merge with :class:`_OutOfOrder`.
    """

    def __init__(self, store: StateStore, source: str) -> None:
        self._reading = store.ordered_index(source)
        self._links: Iterator[tuple[str, str | None]] = iter(())
        self._gone: list[str] = []
        self._key: str | None = None
        self._hash: str | None = None
        self._last_key = ""
        self._last_row = 0

    def __enter__(self) -> _Merged:
        self._links = self._reading.__enter__()
        self._step()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._reading.__exit__(*exc)

    def _step(self) -> None:
        """Move to the next link; a key not after the one before ends the merge."""
        before = self._key
        link = next(self._links, None)
        if link is None:
            self._key = None
            return
        self._key, self._hash = link
        if before is not None and self._key <= before:
            raise _OutOfOrder(None)  # the database sorted otherwise than Python compares

    def first_seen(self, key: str, row: int) -> int:
        last = self._last_key
        if key <= last and last:
            if key == last:
                return self._last_row  # a repeat: the row it was first seen on
            raise _OutOfOrder(row)
        self._last_key, self._last_row = key, row
        return row

    def take(self, key: str, default: object) -> object:
        state_key = self._key
        if state_key != key:
            while state_key is not None and state_key < key:
                self._gone.append(state_key)
                self._step()
                state_key = self._key
            if state_key != key:
                return default
        # The common case, a row still in the source: step inline (a call less per row).
        found = self._hash
        link = next(self._links, None)
        if link is None:
            self._key = None
        else:
            self._key, self._hash = link
            if self._key <= key:
                raise _OutOfOrder(None)
        return found

    def missing(self) -> list[str]:
        while self._key is not None:
            self._gone.append(self._key)
            self._step()
        return self._gone


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while planning.

    Planning makes a few objects per row, none of them in a reference cycle, and keeps
    most of them; the collector would walk the whole growing heap again and again (40% of
    a 100,000-row first run, measured). Anything cyclic is still collected afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_ABSENT = object()
"""What the index gives for a key it never had (a key with a failed link gives None)."""


class _DiffBatch:
    """Candidates diffed a thousand at a time, with their links read in one query.

    Streaming keeps memory to the ops themselves (a run after a mapping change normalizes
    every row, and most come out unchanged), and only keys the state store knows are
    looked up (a first run looks up none).
    """

    SIZE = 1000

    def __init__(
        self, source: str, store: StateStore, custom_names: Mapping[str, str], plan: SourcePlan
    ) -> None:
        self.source, self.store, self.custom_names, self.plan = source, store, custom_names, plan
        self.candidates: dict[str, Candidate] = {}
        self.linked: list[str] = []
        self.unchanged = 0

    def add(self, key: str, candidate: Candidate, has_link: bool) -> None:
        self.candidates[key] = candidate
        if has_link:
            self.linked.append(key)
        if len(self.candidates) >= self.SIZE:
            self.flush()

    def flush(self) -> None:
        if not self.candidates:
            return
        links = self.store.load_links(self.source, self.linked) if self.linked else {}
        result = diff_candidates(self.source, self.candidates, links, self.custom_names)
        self.plan.ops.extend(result.ops)
        self.plan.refresh_hashes.update(result.refresh_hashes)
        self.unchanged += result.unchanged
        self.candidates, self.linked = {}, []


def _drop_duplicates(
    plan: SourcePlan,
    config: SourceConfig,
    duplicates: Mapping[str, list[int]],
    batch: _DiffBatch,
    nothing_to_sync: set[str],
) -> None:
    """Take every row of a repeated key out of the plan, and report each of them.

    The key's first row was planned before its repeat turned up: its op is removed, or, if
    it was found unchanged, it is no longer counted so.
    """
    planned = {op.external_id for op in plan.ops}
    plan.ops[:] = [op for op in plan.ops if op.external_id not in duplicates]
    for key, rows in duplicates.items():
        plan.refresh_hashes.pop(key, None)
        if key not in planned and key not in nothing_to_sync:
            plan.unchanged -= 1
        plan.issues.extend(
            Issue(config.name, row, key, "row", ",".join(config.key), key,
                  f"the key {key!r} appears on {len(rows)} rows ({', '.join(map(str, rows))}); "
                  "none of them is synced until it is unique")
            for row in rows
        )


def reject_shared_creates(plan: Plan, key_columns: Mapping[str, str]) -> None:
    """Take out creates of one externalId planned by several sources, and report each row.

    ExternalIds are unique in a workspace: the second create would be refused (409), and
    adopting the first source's contact would let two sources write it (and one delete
    it). As with a key repeated within a source, no row of the key is synced until the
    key is unique. ``key_columns`` names each source's key column(s) for the report.
    """
    creating = [(sp.source, {op.external_id for op in sp.ops if op.kind == "create"}) for sp in plan.sources]
    creating = [(source, keys) for source, keys in creating if keys]
    if len(creating) < 2:
        return  # the common case: one source, or one that creates; a first run has 100,000s
    seen: set[str] = set()
    repeated: set[str] = set()
    for _, keys in creating:
        repeated |= keys & seen
        seen |= keys
    shared = {key: {s for s, keys in creating if key in keys} for key in repeated}
    if not shared:
        return
    for sp in plan.sources:
        kept = []
        for op in sp.ops:
            names = shared.get(op.external_id) if op.kind == "create" else None
            if names is None:
                kept.append(op)
                continue
            others = ", ".join(repr(n) for n in sorted(names - {sp.source}))
            sp.issues.append(Issue(
                sp.source, op.row or 0, op.external_id, "row", key_columns.get(sp.source),
                op.external_id,
                f"the key {op.external_id!r} is also a row of source {others}; externalIds "
                "must be unique across sources, so none of them is synced until it is",
            ))
        sp.ops[:] = kept


def _missing_key_column(config: SourceConfig, columns: Sequence[str]) -> str | None:
    for column in config.key:
        try:
            resolve_column(columns, column, source=config.name, what="key", setting="key")
        except MissingColumnError as exc:
            held = "; its deletes are held back" if config.delete == "mirror" else ""
            return f"{exc}: nothing from this source is synced{held}"
    return None


def _gate(
    plan: SourcePlan,
    config: SourceConfig,
    deletes: list,  # type: ignore[type-arg]  # list[Op]; kept loose to avoid a cycle in hints
    owned: int,
    allow_deletes: int | None,
    *,
    keyless_rows: int = 0,
    lookalikes: tuple[str, ...] = (),
) -> None:
    reason = hold_reason(
        GateInput(
            deletes=len(deletes),
            rows_read=plan.rows_read,
            owned=owned,
            max_deletes=config.max_deletes,
            max_delete_ratio=config.max_delete_ratio,
            allow_deletes=allow_deletes,
            keyless_rows=keyless_rows,
            lookalikes=lookalikes,
        )
    )
    if reason:
        plan.hold_reason = reason
        for op in deletes:
            op.outcome = "held"
        plan.held.extend(deletes)
    else:
        plan.ops.extend(deletes)


MAX_KEYLESS_KEPT = 1000
"""Rows without a key kept for :func:`_lookalikes`; more than this is a broken key column."""


def _lookalikes(mapper: RowMapper, keyless: Sequence[SourceRecord], deletes: Sequence[Op]) -> tuple[str, ...]:
    """Deletes whose contact shares a phone number or email with a row that has no key.

    Such a row is most likely the contact's own row with its key cleared: deleting the
    contact would lose it although the row is still there. Each is named ``row N looks
    like KEY``.
    """
    owners: dict[str, str] = {}
    for op in deletes:
        previous = op.previous or {}
        for item in (*previous.get("emails", ()), *previous.get("phoneNumbers", ())):
            if item.get("value"):
                owners.setdefault(str(item["value"]).casefold(), op.external_id)
    found: dict[str, int] = {}
    for record in keyless:
        contact, _ = mapper.to_contact("?", record)
        if contact is None:
            continue
        for item in (*contact.emails, *contact.phone_numbers):
            key = owners.get(item.value.casefold())
            if key is not None:
                found.setdefault(key, record.row)
    return tuple(f"row {row} looks like {key}" for key, row in sorted(found.items(), key=lambda kv: kv[1]))


def _hold_all(
    plan: SourcePlan, store: StateStore, config: SourceConfig, custom_names: dict[str, str]
) -> None:
    if config.delete != "mirror":
        return
    links = store.load_links(config.name)
    deletes = plan_deletes(config.name, links, {}, after_runs=1, custom_names=custom_names)
    for op in deletes:
        op.outcome = "held"
    plan.held.extend(deletes)
