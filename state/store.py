"""The state store: what the engine remembers between runs, on any SQLAlchemy URL.

:class:`StateStore` is the one door to it. It keeps

- *links*: each source row's contact, the fingerprint and payload we last wrote;
- the *journal*: an intent is written before each API write and completed after it, in
  the same transaction as the link change it describes (issue 7's crash safety);
- *runs*, the *custom-field definitions* cache, and the *run lock* (see :mod:`state.lock`).

Queries use SQLAlchemy Core on the sqlmodel tables: the planning index of a million links
must not build a million ORM objects. Every SQLAlchemy error leaves as
:class:`~sync.errors.StateError`, with the URL's password hidden.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from sqlalchemy import (
    bindparam,
    case,
    delete,
    func,
    insert,
    inspect,
    null,
    select,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.elements import ColumnElement

from state import journal, lock
from state._db import SQLITE_BUSY_TIMEOUT_MS, Database, display_url, parse_url
from state.journal import dump_json
from state.migrations import FORMAT_KEY, applied_migrations, migrate, migrations_table, put_meta
from state.models import custom_fields, links, meta, runs, utc_now
from state.records import (
    RUN_MODES,
    RUN_OUTCOMES,
    Intent,
    Link,
    LockInfo,
    RunRecord,
    link_from_row,
    run_from_row,
)
from sync.errors import StateError

IN_BATCH: Final = 500
"""Keys per ``IN (...)`` query: far below every backend's parameter limit."""
EXECUTEMANY_BATCH: Final = 5_000
CUSTOM_FIELDS_FETCHED: Final = "custom_fields_fetched_at"


def new_store_location(url: str) -> tuple[str, Path | None]:
    """Where a state store not created yet will be: its URL as shown to people (password
    hidden) and, for a SQLite file, the folder it goes in (``None`` for a database server)."""
    parsed = parse_url(url)
    folder = None
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).expanduser().absolute().parent
    return display_url(parsed), folder


def _sqlite_locked(exc: StateError) -> bool:
    cause = exc.__cause__
    return (
        isinstance(cause, OperationalError)
        and "database is locked" in str(cause.orig)
        and cause.orig.__class__.__module__.startswith("sqlite3")
    )


class StateStore:
    """The state of openphone-sync in one database. Use :meth:`open`, then :meth:`close`.

    Safe to share between threads: each call takes its own pooled connection.
    """

    def __init__(self, db: Database) -> None:
        """Wrap an open, migrated database. Use :meth:`open` instead."""
        self._db = db
        self.url_for_display: str = db.url_for_display

    @classmethod
    def open(cls, url: str) -> StateStore:
        """Connect to ``url``, apply pending migrations and check the format version.

        Raises:
            StateError: the database is unreachable, its directory is missing, or it was
                written by a newer openphone-sync.
        """
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        while True:
            db = Database(url)
            try:
                migrate(db)
            except StateError as exc:
                db.dispose()
                # SQLite answers "locked" at once, without waiting, where waiting could
                # deadlock: two processes turning a new file to WAL, or upgrading a read
                # to a write. Opening is idempotent, so it is simply tried again.
                if not _sqlite_locked(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                continue
            except BaseException:
                db.dispose()
                raise
            return cls(db)

    @classmethod
    def open_for_preview(cls, url: str) -> tuple[StateStore, bool]:
        """The store a dry run reads, created nowhere: ``url``'s if a run set it up, else an
        empty one in memory. Returns the store and whether it is that empty stand-in.

        A dry run promises no write to the state, and creating the file (or the tables in
        someone's PostgreSQL) before the first real run would be one.
        """
        if cls.exists(url):
            return cls.open(url), False
        return cls.open("sqlite://"), True

    @staticmethod
    def exists(url: str) -> bool:
        """Whether a run already created the state store at ``url`` (looked at, not written).

        Raises:
            StateError: the URL does not parse, or its database cannot be reached.
        """
        parsed = parse_url(url)
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database or ""
            if database in ("", ":memory:") or database.startswith("file:"):
                return True  # nothing on disk to spare; opening it as usual creates no file
            return Path(database).expanduser().exists()
        db = Database(url)
        try:
            with db.read("look for the state store's tables") as connection:
                return inspect(connection).has_table(migrations_table.name)
        finally:
            db.dispose()

    def close(self) -> None:
        """Close every connection. Calling it twice is harmless."""
        self._db.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def applied_migrations(self) -> list[str]:
        """The names of the migrations applied to this store, oldest first (for ``doctor``)."""
        with self._db.read("read the migrations") as connection:
            return applied_migrations(connection)

    # --- the run lock -------------------------------------------------------------------

    def acquire_lock(self, owner: str, *, wait_seconds: float = 5.0, lease_seconds: float = 600.0) -> None:
        """Take the run lock, waiting up to ``wait_seconds``; an expired lease is taken over.

        Raises:
            LockHeldError: another owner still holds it; the message names it and its expiry.
        """
        lock.acquire(self._db, owner, wait_seconds=wait_seconds, lease_seconds=lease_seconds)

    def renew_lock(self, owner: str, *, lease_seconds: float = 600.0) -> None:
        """Extend the lease. Raises LockHeldError when ``owner`` lost the lock."""
        lock.renew(self._db, owner, lease_seconds=lease_seconds)

    def release_lock(self, owner: str) -> None:
        """Release the lock if ``owner`` holds it."""
        lock.release(self._db, owner)

    def lock_holder(self) -> LockInfo | None:
        """The lock's holder (its lease may have run out), or ``None`` when free."""
        return lock.holder(self._db)

    # --- links --------------------------------------------------------------------------

    def load_index(self, source: str) -> dict[str, str | None]:
        """Every link of ``source``: external id → raw hash (``None`` for failed links).

        One query, plain tuples: this is what planning reads for every row of a source.
        """
        raw_hash = case((links.c.status == "synced", links.c.raw_hash), else_=null())
        query = select(links.c.external_id, raw_hash).where(links.c.source == source)
        return self._db.read_dict("load the link index", query)

    @contextmanager
    def ordered_index(
        self, source: str, batch_size: int = 10_000
    ) -> Iterator[Iterator[tuple[str, str | None]]]:
        """Every link of ``source`` as (external id, raw hash), streamed in code point order
        of the id (as Python compares strings); memory does not grow with the links.

        The read transaction stays open while the block runs. Callers check the order
        they get (a database collation could differ); see :mod:`sync.planner`.
        """
        raw_hash = case((links.c.status == "synced", links.c.raw_hash), else_=null())
        external_id = links.c.external_id
        # PostgreSQL's own collation may be a locale's; SQLite compares binary by default and
        # the MySQL column is utf8mb4_bin.
        order: ColumnElement[Any] = (
            external_id.collate("C") if self._db.dialect_name == "postgresql" else external_id
        )
        query = select(external_id, raw_hash).where(links.c.source == source).order_by(order)
        with self._db.stream_pairs("read the link index", query, batch_size) as pairs:
            yield pairs

    def load_links(self, source: str, external_ids: Iterable[str] | None = None) -> dict[str, Link]:
        """Full links of ``source`` for these keys (all of its links when ``None``)."""
        query = select(links).where(links.c.source == source)
        with self._db.read("load links") as connection:
            if external_ids is None:
                rows = connection.execute(query).mappings()
                return {row["external_id"]: link_from_row(row) for row in rows}
            found: dict[str, Link] = {}
            for chunk in _chunks(external_ids, IN_BATCH):
                rows = connection.execute(query.where(links.c.external_id.in_(chunk))).mappings()
                found.update((row["external_id"], link_from_row(row)) for row in rows)
            return found

    def sources_linking(self, contact_ids: Iterable[str]) -> dict[str, str]:
        """Which source links each of these OpenPhone contact ids (ids no source links are left out)."""
        wanted = sorted(set(contact_ids))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            query = select(links.c.contact_id, links.c.source).where(
                links.c.contact_id.in_(wanted[start:start + 500])
            )
            with self._db.read("look up which source links a contact") as connection:
                found.update((str(cid), str(src)) for cid, src in connection.execute(query))
        return found

    def count_links(self, source: str) -> int:
        """How many contacts ``source`` owns (links with a contact id)."""
        query = select(func.count()).where(links.c.source == source, links.c.contact_id.is_not(None))
        with self._db.read("count links") as connection:
            return int(connection.execute(query).scalar_one())

    def sources(self) -> list[str]:
        """The names of the sources that have links, sorted."""
        query = select(links.c.source).distinct().order_by(links.c.source)
        with self._db.read("list sources") as connection:
            return list(connection.execute(query).scalars())

    def failed_links(self, limit: int = 100) -> list[Link]:
        """Links whose last write failed, most recent first (for ``sync status``)."""
        query = (
            select(links)
            .where(links.c.status == "failed")
            .order_by(links.c.updated_at.desc(), links.c.source, links.c.external_id)
            .limit(limit)
        )
        with self._db.read("list failed links") as connection:
            return [link_from_row(row) for row in connection.execute(query).mappings()]

    # --- the journal (see state.journal) -------------------------------------------------

    def begin_intent(
        self,
        run_id: str,
        source: str,
        external_id: str,
        kind: str,
        fingerprint: str | None,
        contact_id: str | None,
    ) -> int:
        """Journal a write before its API call; return the intent's id.

        ``kind`` is ``"create"``, ``"update"`` or ``"delete"``.
        """
        return journal.begin_intent(self._db, run_id, source, external_id, kind, fingerprint, contact_id)

    def complete_upsert(
        self,
        intent_id: int,
        *,
        source: str,
        external_id: str,
        contact_id: str,
        fingerprint: str,
        raw_hash: str | None,
        payload: dict[str, Any],
        row: int | None,
    ) -> None:
        """A create, update or adoption succeeded: write the link and close the intent.

        The link becomes synced (no error, no failed attempts, not missing). ``row=None``
        keeps the row number already recorded.

        Raises:
            StateError: the intent is not open, or belongs to another row.
        """
        journal.complete_upsert(
            self._db,
            intent_id,
            source=source,
            external_id=external_id,
            contact_id=contact_id,
            fingerprint=fingerprint,
            raw_hash=raw_hash,
            payload=payload,
            row=row,
        )

    def complete_delete(self, intent_id: int, *, source: str, external_id: str) -> None:
        """A delete succeeded (or found the contact gone): drop the link, close the intent."""
        journal.complete_delete(self._db, intent_id, source=source, external_id=external_id)

    def fail_intent(
        self, intent_id: int, *, source: str, external_id: str, error: str, row: int | None
    ) -> None:
        """A write failed: mark the link failed so the next run retries it; close the intent.

        Its payload, fingerprint and contact id stay as they were (the last good write);
        ``attempts`` grows by one; the raw hash is cleared so the row is planned again
        even if it does not change. A row never synced gets a failed link without contact.
        """
        journal.fail_intent(self._db, intent_id, source=source, external_id=external_id, error=error, row=row)

    def open_intents(self) -> list[Intent]:
        """Intents whose outcome was never recorded (a run died), oldest first."""
        return journal.open_intents(self._db)

    def abandon_intent(self, intent_id: int, error: str) -> None:
        """Resolve an open intent as "never happened" (the write did not reach the API).

        Raises:
            StateError: there is no open intent with this id.
        """
        journal.abandon_intent(self._db, intent_id, error)

    def prune_intents(self, older_than: timedelta = timedelta(days=30)) -> int:
        """Forget intents closed longer ago than ``older_than``; return how many went.

        Every write leaves one closed intent behind; without pruning the journal grows by
        the number of writes, forever. Open intents are always kept.
        """
        return journal.prune_closed(self._db, utc_now() - older_than)

    # --- bookkeeping without an API call ------------------------------------------------

    def set_raw_hashes(self, source: str, hashes: Mapping[str, str]) -> None:
        """Record the raw hash of rows found unchanged (fingerprint matched); synced links only.

        A failed link keeps its raw hash cleared, so it is retried.
        """
        query = (
            update(links)
            .where(
                links.c.source == source,
                links.c.external_id == bindparam("b_external_id"),
                links.c.status == "synced",
            )
            .values(raw_hash=bindparam("b_raw_hash"))
        )
        params = ({"b_external_id": key, "b_raw_hash": value} for key, value in hashes.items())
        with self._db.write("record raw hashes") as connection:
            for batch in _chunks(params, EXECUTEMANY_BATCH):
                connection.execute(query, batch)

    def bump_missing(self, source: str, external_ids: Iterable[str]) -> dict[str, int]:
        """Count one more run these rows were missing from; return their new counts.

        A key given twice still counts once: it is one run.
        """
        counts: dict[str, int] = {}
        with self._db.write("count missing rows") as connection:
            for chunk in _chunks(dict.fromkeys(external_ids), IN_BATCH):
                these = (links.c.source == source, links.c.external_id.in_(chunk))
                connection.execute(update(links).where(*these).values(missing_runs=links.c.missing_runs + 1))
                query = select(links.c.external_id, links.c.missing_runs).where(*these)
                counts.update(connection.execute(query).all())
        return counts

    def reset_missing(self, source: str, external_ids: Iterable[str]) -> None:
        """These rows are back: their missing counts start over at zero."""
        with self._db.write("reset missing rows") as connection:
            for chunk in _chunks(external_ids, IN_BATCH):
                connection.execute(
                    update(links)
                    .where(
                        links.c.source == source,
                        links.c.external_id.in_(chunk),
                        links.c.missing_runs > 0,
                    )
                    .values(missing_runs=0)
                )

    def missing_counts(self, source: str) -> dict[str, int]:
        """Links of ``source`` missing from at least one run: external id → runs missing."""
        query = select(links.c.external_id, links.c.missing_runs).where(
            links.c.source == source, links.c.missing_runs > 0
        )
        with self._db.read("read missing counts") as connection:
            return dict(connection.execute(query).all())

    # --- runs ---------------------------------------------------------------------------

    def start_run(self, run_id: str, mode: str) -> None:
        """Record that a run began; ``mode`` is ``"dry-run"`` or ``"apply"``."""
        if mode not in RUN_MODES:
            raise ValueError(f"run mode must be one of {sorted(RUN_MODES)}, not {mode!r}")
        values = {"run_id": run_id, "started_at": utc_now(), "mode": mode}
        with self._db.write("record a run") as connection:
            connection.execute(insert(runs).values(**values, api_calls=0, rate_limited=0))

    def finish_run(
        self,
        run_id: str,
        *,
        outcome: str,
        summary: dict[str, Any],
        api_calls: int,
        rate_limited: int,
    ) -> None:
        """Record how a run ended.

        Raises:
            StateError: no run with this id was started.
        """
        if outcome not in RUN_OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(RUN_OUTCOMES)}, not {outcome!r}")
        query = (
            update(runs)
            .where(runs.c.run_id == run_id)
            .values(
                finished_at=utc_now(),
                outcome=outcome,
                summary=dump_json(summary),
                api_calls=api_calls,
                rate_limited=rate_limited,
            )
        )
        with self._db.write("record the end of a run") as connection:
            if connection.execute(query).rowcount == 0:
                raise StateError(f"no run {run_id!r} was started")

    def recent_runs(self, limit: int = 10) -> list[RunRecord]:
        """The last ``limit`` runs, newest first."""
        query = select(runs).order_by(runs.c.started_at.desc(), runs.c.run_id.desc()).limit(limit)
        with self._db.read("list runs") as connection:
            return [run_from_row(row) for row in connection.execute(query).mappings()]

    # --- custom-field definitions -------------------------------------------------------

    def save_custom_fields(self, defs: Sequence[Mapping[str, str]]) -> None:
        """Replace the cached definitions (each with ``name``, ``key`` and ``type``)."""
        now = utc_now()
        rows = [
            {
                "key": d["key"],
                "name": d["name"],
                "type": d["type"],
                "position": i,
                "fetched_at": now,
            }
            for i, d in enumerate(defs)
        ]
        with self._db.write("cache custom-field definitions") as connection:
            connection.execute(delete(custom_fields))
            if rows:
                connection.execute(insert(custom_fields), rows)
            put_meta(connection, CUSTOM_FIELDS_FETCHED, now.isoformat())

    def load_custom_fields(self) -> list[dict[str, str]] | None:
        """The cached definitions in the order saved; ``None`` when never fetched."""
        marker = select(meta.c.value).where(meta.c.key == CUSTOM_FIELDS_FETCHED)
        query = select(custom_fields).order_by(custom_fields.c.position)
        with self._db.read("read custom-field definitions") as connection:
            if connection.execute(marker).first() is None:
                return None
            rows = connection.execute(query).mappings()
            return [{"name": r["name"], "key": r["key"], "type": r["type"]} for r in rows]

    def format_version(self) -> int:
        """The format version recorded in the store."""
        with self._db.read("read the format version") as connection:
            value = connection.execute(select(meta.c.value).where(meta.c.key == FORMAT_KEY))
            return int(value.scalar_one())


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
