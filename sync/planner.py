"""Read one source and plan it against the state store.

The only I/O here is reading the source (through its connector) and reading the state
store; the decisions are the pure functions of :mod:`sync.diff` and :mod:`sync.gates`.

The steady state is meant to be nearly free: a row whose mapped cells hash to the value
stored at the last sync is counted as unchanged without being normalized, and the state is
read once per source into a plain dict (key → raw hash).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from connectors.base import Source
from sync.config import SourceConfig
from sync.custom_fields import ResolvedField
from sync.diff import Candidate, diff_candidates, plan_deletes
from sync.errors import MissingColumnError
from sync.gates import GateInput, hold_reason
from sync.mapping import RowMapper, resolve_column
from sync.models import Issue
from sync.plan import SourcePlan

if TYPE_CHECKING:
    from state.store import StateStore


def plan_source(
    config: SourceConfig,
    source: Source,
    store: StateStore,
    custom_fields: Sequence[ResolvedField] = (),
    *,
    allow_deletes: int | None = None,
) -> tuple[SourcePlan, RowMapper | None]:
    """Read ``source`` and decide every write it needs. Returns the plan and the mapper."""
    plan = SourcePlan(config.name)
    custom_names = {f.key: f.name for f in custom_fields}
    index = store.load_index(config.name)
    with source.open() as stream:
        plan.info.update(stream.info)
        missing_key = _missing_key_column(config, stream.columns)
        if missing_key:
            plan.hold_reason = missing_key
            _hold_all(plan, store, config, custom_names)
            return plan, None
        mapper = RowMapper(config, stream.columns, custom_fields)
        candidates: dict[str, Candidate] = {}
        first_row: dict[str, int] = {}
        duplicates: dict[str, list[int]] = {}
        unchanged_keys: set[str] = set()
        rows_read = 0
        for record in stream.records:
            rows_read += 1
            key = mapper.key_of(record.values)
            problem = mapper.check_key(key)
            if problem or key is None:
                plan.issues.append(
                    Issue(config.name, record.row, key, "row", ",".join(config.key), None,
                          problem or "no key")
                )
                continue
            if key in first_row:
                duplicates.setdefault(key, [first_row[key]]).append(record.row)
                continue
            first_row[key] = record.row
            digest = mapper.raw_hash(record.values)
            if index.get(key) == digest:
                unchanged_keys.add(key)
                continue
            contact, issues = mapper.to_contact(key, record)
            plan.issues.extend(issues)
            if contact is not None:
                # A row with values left out keeps no raw hash, so it is normalized (and its
                # problems reported) on every run until it is fixed; it still costs no write.
                candidates[key] = Candidate(record.row, contact, None if issues else digest)
        plan.info.update(stream.info)  # final only once the records are used up
    plan.rows_read = rows_read
    for key, rows in duplicates.items():
        candidates.pop(key, None)
        unchanged_keys.discard(key)
        plan.issues.extend(
            Issue(config.name, row, key, "row", ",".join(config.key), key,
                  f"the key {key!r} appears on {len(rows)} rows ({', '.join(map(str, rows))}); "
                  "none of them is synced until it is unique")
            for row in rows
        )
    links = store.load_links(config.name, list(candidates)) if candidates else {}
    result = diff_candidates(config.name, candidates, links, custom_names)
    plan.ops.extend(result.ops)
    plan.unchanged = len(unchanged_keys) + result.unchanged
    plan.refresh_hashes = result.refresh_hashes

    missing_keys = [k for k in index if k not in first_row]
    counts = store.missing_counts(config.name)
    plan.missing = missing_keys
    plan.reappeared = [k for k in counts if k in first_row]
    if config.delete == "mirror" and missing_keys:
        missing_links = store.load_links(config.name, missing_keys)
        deletes = plan_deletes(
            config.name, missing_links, counts,
            after_runs=config.delete_after_missing_runs, custom_names=custom_names,
        )
        _gate(plan, config, deletes, store.count_links(config.name), allow_deletes)
    return plan, mapper


def _missing_key_column(config: SourceConfig, columns: Sequence[str]) -> str | None:
    for column in config.key:
        try:
            resolve_column(columns, column, source=config.name, what="key")
        except MissingColumnError as exc:
            return f"{exc}; deletes are held back"
    return None


def _gate(
    plan: SourcePlan,
    config: SourceConfig,
    deletes: list,  # type: ignore[type-arg]  # list[Op]; kept loose to avoid a cycle in hints
    owned: int,
    allow_deletes: int | None,
) -> None:
    reason = hold_reason(
        GateInput(
            deletes=len(deletes),
            rows_read=plan.rows_read,
            owned=owned,
            max_deletes=config.max_deletes,
            max_delete_ratio=config.max_delete_ratio,
            allow_deletes=allow_deletes,
        )
    )
    if reason:
        plan.hold_reason = reason
        for op in deletes:
            op.outcome = "held"
        plan.held.extend(deletes)
    else:
        plan.ops.extend(deletes)


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
