"""Ordered, named migrations of the state store, and its format version.

Each migration runs in its own transaction together with the row in ``_migrations`` that
records it, so a crash leaves either both or neither (MySQL/MariaDB commit DDL implicitly,
so there a migration's DDL must be safe to run again: ``0001`` creates only what is
missing). Two processes opening one fresh store at once are serialized: PostgreSQL and
MySQL take a named lock for the duration, SQLite's ``BEGIN IMMEDIATE`` does the same.

A migration describes the schema *as of that migration*, never the current models: the
models may move on, a migration never changes once released.

``STATE_FORMAT_VERSION`` says which stores this code can use. A migration that makes the
schema unreadable to older releases bumps it; additive ones do not. A store whose format
is newer than the code's is refused before anything is touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    inspect,
    select,
    text,
    update,
)

from state._db import Database
from state.models import (
    KEY_LENGTH,
    MYSQL_TABLE_ARGS,
    SOURCE_LENGTH,
    UtcDateTime,
    key_string,
    long_text,
    meta,
    partial_index,
    utc_now,
)
from sync.errors import StateError

STATE_FORMAT_VERSION: Final = 1
FORMAT_KEY: Final = "format_version"
_LOCK_WAIT_SECONDS: Final = 60

_bookkeeping = MetaData()
migrations_table: Final = Table(
    "_migrations",
    _bookkeeping,
    Column("name", String(100), primary_key=True),
    Column("applied_at", UtcDateTime(), nullable=False),
    **MYSQL_TABLE_ARGS,
)


@dataclass(frozen=True)
class Migration:
    """One schema change. ``format_version``: the format it brings, when it changes it."""

    name: str
    apply: Callable[[Connection], None]
    format_version: int | None = None


def _v1_schema() -> MetaData:
    """The schema as ``0001_initial`` created it."""
    schema = MetaData()

    def utc(name: str, *, nullable: bool) -> Column[object]:
        return Column(name, UtcDateTime(), nullable=nullable)

    Table(
        "state_links", schema,
        Column("source", key_string(SOURCE_LENGTH), primary_key=True),
        Column("external_id", key_string(KEY_LENGTH), primary_key=True),
        Column("contact_id", String(64)),
        Column("fingerprint", String(128)),
        Column("raw_hash", String(128)),
        Column("payload", long_text()),
        Column("status", String(16), nullable=False),
        Column("last_error", Text()),
        Column("attempts", Integer(), nullable=False),
        Column("missing_runs", Integer(), nullable=False),
        Column("row", BigInteger()),
        utc("created_at", nullable=False),
        utc("updated_at", nullable=False),
        utc("synced_at", nullable=True),
        partial_index("ix_state_links_missing", "source", "missing_runs", where="missing_runs > 0"),
        partial_index("ix_state_links_failed", "status", "updated_at", where="status = 'failed'"),
        **MYSQL_TABLE_ARGS,
    )  # fmt: skip
    Table(
        "state_runs", schema,
        Column("run_id", String(64), primary_key=True),
        utc("started_at", nullable=False),
        utc("finished_at", nullable=True),
        Column("mode", String(16), nullable=False),
        Column("outcome", String(16)),
        Column("summary", long_text()),
        Column("api_calls", Integer(), nullable=False),
        Column("rate_limited", Integer(), nullable=False),
        Index("ix_state_runs_started", "started_at"),
        **MYSQL_TABLE_ARGS,
    )  # fmt: skip
    Table(
        "state_intents", schema,
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
        Column("run_id", String(64), nullable=False),
        Column("source", key_string(SOURCE_LENGTH), nullable=False),
        Column("external_id", key_string(KEY_LENGTH), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("fingerprint", String(128)),
        Column("contact_id", String(64)),
        Column("status", String(16), nullable=False),
        Column("error", Text()),
        utc("created_at", nullable=False),
        utc("completed_at", nullable=True),
        partial_index("ix_state_intents_open", "status", where="status = 'open'"),
        **MYSQL_TABLE_ARGS,
    )  # fmt: skip
    Table(
        "state_custom_fields", schema,
        Column("key", String(100), primary_key=True),
        Column("name", String(255), nullable=False),
        Column("type", String(32), nullable=False),
        Column("position", Integer(), nullable=False),
        utc("fetched_at", nullable=False),
        **MYSQL_TABLE_ARGS,
    )  # fmt: skip
    Table(
        "state_locks", schema,
        Column("name", String(100), primary_key=True),
        Column("owner", String(255), nullable=False),
        utc("acquired_at", nullable=False),
        utc("expires_at", nullable=False),
        **MYSQL_TABLE_ARGS,
    )  # fmt: skip
    Table(
        "_state_meta", schema,
        Column("key", String(100), primary_key=True),
        Column("value", Text(), nullable=False),
        **MYSQL_TABLE_ARGS,
    )  # fmt: skip
    return schema


def _initial(connection: Connection) -> None:
    # MySQL commits DDL at once, so a crash may leave tables without their record:
    # there, create only what is missing. Elsewhere an existing table is a real conflict.
    _v1_schema().create_all(connection, checkfirst=_ddl_is_not_transactional(connection))


MIGRATIONS: Final[tuple[Migration, ...]] = (Migration("0001_initial", _initial, format_version=1),)


def migrate(db: Database) -> list[str]:
    """Apply the pending migrations; return the names applied (empty when up to date).

    Raises:
        StateError: the store is of a newer format than this code, or a migration failed.
    """
    applied: list[str] = []
    with (
        db.translated("open the state store"),
        db.engine.connect() as connection,
        _serialized(connection),
    ):
        with connection.begin():
            migrations_table.create(connection, checkfirst=True)
            check_format(connection, db.url_for_display)
        for migration in MIGRATIONS:
            if _apply_one(connection, migration):
                applied.append(migration.name)
    return applied


def applied_migrations(connection: Connection) -> list[str]:
    """The names recorded in ``_migrations``, oldest first."""
    rows = connection.execute(select(migrations_table.c.name).order_by(migrations_table.c.applied_at))
    return list(rows.scalars())


def stored_format_version(connection: Connection) -> int | None:
    """The format version the store records, or ``None`` for a store not yet initialized."""
    if not inspect(connection).has_table(meta.name):
        return None
    value = connection.execute(select(meta.c.value).where(meta.c.key == FORMAT_KEY)).scalar()
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise StateError(f"state store format version {value!r} is not a number") from None


def check_format(connection: Connection, url_for_display: str) -> None:
    """Refuse a store written by a newer openphone-sync than this one."""
    found = stored_format_version(connection)
    if found is not None and found > STATE_FORMAT_VERSION:
        raise StateError(
            f"state store {url_for_display} has format version {found}, but this "
            f"openphone-sync understands format {STATE_FORMAT_VERSION} at most: a newer "
            "openphone-sync wrote it. Upgrade openphone-sync (pip install -U openphone-sync)."
        )


def _apply_one(connection: Connection, migration: Migration) -> bool:
    with connection.begin():
        done = connection.execute(
            select(migrations_table.c.name).where(migrations_table.c.name == migration.name)
        ).first()
        if done is not None:
            return False
        migration.apply(connection)
        connection.execute(insert(migrations_table).values(name=migration.name, applied_at=utc_now()))
        if migration.format_version is not None:
            put_meta(connection, FORMAT_KEY, str(migration.format_version))
    return True


def put_meta(connection: Connection, key: str, value: str) -> None:
    """Set one ``_state_meta`` fact (inside the caller's transaction)."""
    changed = connection.execute(update(meta).where(meta.c.key == key).values(value=value))
    if changed.rowcount == 0:
        connection.execute(insert(meta).values(key=key, value=value))


def _ddl_is_not_transactional(connection: Connection) -> bool:
    return connection.dialect.name in ("mysql", "mariadb")


@contextmanager
def _serialized(connection: Connection) -> Iterator[None]:
    """Hold a server-side named lock while migrating (PostgreSQL, MySQL); SQLite needs none."""
    name = connection.dialect.name
    if name == "postgresql":
        key = "hashtext('openphone-sync migrate ' || current_schema())"
        connection.execute(text(f"SELECT pg_advisory_lock({key})"))
        connection.commit()
        try:
            yield
        finally:
            connection.rollback()
            connection.execute(text(f"SELECT pg_advisory_unlock({key})"))
            connection.commit()
    elif name in ("mysql", "mariadb"):
        key = "CONCAT('opsync_mig_', LEFT(SHA1(COALESCE(DATABASE(), '')), 40))"
        got = connection.execute(text(f"SELECT GET_LOCK({key}, {_LOCK_WAIT_SECONDS})")).scalar()
        connection.commit()
        if got != 1:
            raise StateError("another process has been migrating the state store for too long")
        try:
            yield
        finally:
            connection.rollback()
            connection.execute(text(f"SELECT RELEASE_LOCK({key})"))
            connection.commit()
    else:
        yield
