"""Build the state of an already-synced source directly in the state store, in bulk.

Syncing a million rows through the API to get there would take a million creates (a
day at 10 requests/s); instead the links are written with SQLAlchemy Core executemany, as
the engine would have left them: the raw hash comes from the same :class:`RowMapper` over
the same connector the planner uses, and the payload and fingerprint from
:func:`bench.data.expected_contact`, checked against the real normalizers on a sample.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert
from sqlalchemy.pool import NullPool

from bench.data import expected_contact, person
from state.journal import dump_json
from state.models import links
from state.store import StateStore
from sync.config import load_config
from sync.custom_fields import resolve_custom_fields
from sync.engine import make_source
from sync.fingerprint import fingerprint
from sync.mapping import RowMapper
from sync.models import Contact, SourceRecord
from sync.sandbox.settings import default_field_definitions

BATCH = 10_000
SAMPLE = 300  # rows whose expected contact is checked against the real normalizers


def sandbox_field_definitions() -> list[dict[str, str]]:
    """The custom-field definitions the sandbox starts with (the bench maps one of them)."""
    return [d.to_api() for d in default_field_definitions()]


def fake_contact_id(n: int) -> str:
    """A contact id shaped like the API's, for rows no API call will touch."""
    return f"bc{n:022x}"


def seed_state(
    config_path: Path,
    env: Mapping[str, str],
    seed: int,
    contact_ids: Mapping[str, str] | None = None,
) -> int:
    """Link every row the config's source reads now, as synced; returns the rows linked.

    ``contact_ids`` gives the contact id of some keys (contacts that exist in a sandbox);
    the others get :func:`fake_contact_id`. Also caches the custom-field definitions, so a
    dry run without an API key resolves the mapping as a real run would.
    """
    config = load_config(config_path, env=dict(env))
    source_config = config.sources[0]
    defs = sandbox_field_definitions()
    with StateStore.open(config.state_url(env)) as store:
        store.save_custom_fields(defs)
    custom = resolve_custom_fields(source_config.name, source_config.custom_fields, defs)
    source = make_source(source_config, config, env)
    engine = create_engine(config.state_url(env), poolclass=NullPool)
    ids = contact_ids or {}
    linked = 0
    try:
        with source.open() as stream, engine.begin() as connection:
            mapper = RowMapper(source_config, stream.columns, custom)
            rows = _link_rows(stream.records, mapper, seed, ids, source_config.name)
            for batch in _batches(rows, BATCH):
                connection.execute(insert(links), batch)
                linked += len(batch)
    finally:
        engine.dispose()
    return linked


def _link_rows(
    records: Iterator[SourceRecord],
    mapper: RowMapper,
    seed: int,
    ids: Mapping[str, str],
    source: str,
) -> Iterator[dict[str, Any]]:
    now = datetime.now(UTC)
    check = _sample_checker(mapper, seed)
    for record in records:
        key = mapper.key_of(record.values)
        assert key is not None, f"row {record.row} has no key"
        n = int(key[1:])
        contact = check(n, record)
        payload = contact.payload()
        yield {
            "source": source, "external_id": key,
            "contact_id": ids.get(key) or fake_contact_id(n),
            "fingerprint": fingerprint(payload), "raw_hash": mapper.raw_hash(record.values),
            "payload": dump_json(payload), "status": "synced", "last_error": None,
            "attempts": 0, "missing_runs": 0, "row": record.row,
            "created_at": now, "updated_at": now, "synced_at": now,
        }


def _sample_checker(mapper: RowMapper, seed: int) -> Callable[[int, SourceRecord], Contact]:
    """The expected contact of row ``n``; on a seeded sample, compared with the real one."""
    rng = random.Random(f"{seed}:sample")

    def expected(n: int, record: SourceRecord) -> Contact:
        contact = expected_contact(person(n, seed))
        if rng.random() < SAMPLE / 1_000_000 or n < 20:
            real, issues = mapper.to_contact(contact.external_id, record)
            if issues or real is None or real.payload() != contact.payload():
                raise AssertionError(
                    f"the bench's expected contact for row {n} differs from the engine's: "
                    f"{contact.payload()} != {real.payload() if real else issues}"
                )
        return contact

    return expected


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
