"""The state store's tables as sqlmodel models, and the column types they share.

The models describe the *current* schema and are what queries use (through their Core
tables, for speed). The schema is created and changed only by :mod:`state.migrations`;
a test checks that the migrated database matches these models on every backend.

Portability choices, the same on SQLite, PostgreSQL and MySQL/MariaDB:

- Datetimes are stored as naive UTC (:class:`UtcDateTime`) and come back timezone-aware.
- Keys (source names, external ids) compare exactly everywhere: ``"ABC"`` and ``"abc"``,
  ``"a "`` and ``"a"`` are two keys. MySQL's collations would fold case or ignore trailing
  spaces, so there keys are stored as their UTF-8 bytes (:func:`key_string`) and every
  table is utf8mb4 with a binary collation.
- JSON is kept as text, which every backend stores and returns unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final, cast

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, String, Table, Text, text
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import registry
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Field, SQLModel

SOURCE_LENGTH: Final = 100  # source names are at most 72 characters (issue 3)
KEY_LENGTH: Final = 255  # externalId is at most 75 on the API; joined keys may be longer

# InnoDB for transactions; utf8mb4_bin so keys are case- and trailing-space-sensitive.
MYSQL_TABLE_ARGS: Final[dict[str, Any]] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime, stored as naive UTC with microseconds everywhere."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """MySQL's plain DATETIME drops the microseconds; ask for them."""
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=False))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes: a wrong offset would silently move a lease expiry."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the state store keeps UTC only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Give the stored naive UTC value its zone back."""
        return None if value is None else value.replace(tzinfo=UTC)


class _Utf8Bytes(TypeDecorator[str]):
    """Text kept as UTF-8 bytes (MySQL only): compared byte for byte, no PAD SPACE."""

    impl = mysql.VARBINARY
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        """Encode on the way in."""
        return None if value is None else value.encode("utf-8")

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        """Decode on the way out."""
        return None if value is None else bytes(value).decode("utf-8")


def key_string(length: int) -> TypeEngine[str]:
    """A key column: a VARCHAR, or on MySQL/MariaDB bytes, so it compares exactly."""
    return String(length).with_variant(_Utf8Bytes(length * 4), "mysql", "mariadb")


def long_text() -> TypeEngine[str]:
    """Text for JSON documents; MySQL's TEXT stops at 64 KB, MEDIUMTEXT at 16 MB."""
    return Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def partial_index(name: str, *columns: str, where: str) -> Index:
    """An index of only the rows matching ``where`` on PostgreSQL and SQLite.

    Such an index stays tiny (few links are missing or failed) and costs no writes for
    the other rows; above all, the planner never prefers it to the primary key for key
    lookups. MySQL has no partial indexes and indexes every row.
    """
    return Index(name, *columns, postgresql_where=text(where), sqlite_where=text(where))


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the one clock the store uses)."""
    return datetime.now(UTC)


class _StateModel(SQLModel, registry=registry()):
    """Base of our tables: its own registry keeps them out of ``SQLModel.metadata``.

    Other code in the process may declare sqlmodel tables; they must never end up in
    our migrations, nor ours in theirs.
    """


class LinkRow(_StateModel, table=True):
    """``state_links``: one row per (source, external_id)."""

    __tablename__ = "state_links"
    __table_args__ = (
        partial_index("ix_state_links_missing", "source", "missing_runs", where="missing_runs > 0"),
        partial_index("ix_state_links_failed", "status", "updated_at", where="status = 'failed'"),
        MYSQL_TABLE_ARGS,
    )

    source: str = Field(sa_column=Column(key_string(SOURCE_LENGTH), primary_key=True))
    external_id: str = Field(sa_column=Column(key_string(KEY_LENGTH), primary_key=True))
    contact_id: str | None = Field(sa_column=Column(String(64), nullable=True))
    fingerprint: str | None = Field(sa_column=Column(String(128), nullable=True))
    raw_hash: str | None = Field(sa_column=Column(String(128), nullable=True))
    payload: str | None = Field(sa_column=Column(long_text(), nullable=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    last_error: str | None = Field(sa_column=Column(Text(), nullable=True))
    attempts: int = Field(sa_column=Column(Integer(), nullable=False))
    missing_runs: int = Field(sa_column=Column(Integer(), nullable=False))
    row: int | None = Field(sa_column=Column(BigInteger(), nullable=True))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    synced_at: datetime | None = Field(sa_column=Column(UtcDateTime(), nullable=True))


class RunRow(_StateModel, table=True):
    """``state_runs``: one row per run, dry or real."""

    __tablename__ = "state_runs"
    __table_args__ = (Index("ix_state_runs_started", "started_at"), MYSQL_TABLE_ARGS)

    run_id: str = Field(sa_column=Column(String(64), primary_key=True))
    started_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    finished_at: datetime | None = Field(sa_column=Column(UtcDateTime(), nullable=True))
    mode: str = Field(sa_column=Column(String(16), nullable=False))
    outcome: str | None = Field(sa_column=Column(String(16), nullable=True))
    summary: str | None = Field(sa_column=Column(long_text(), nullable=True))
    api_calls: int = Field(sa_column=Column(Integer(), nullable=False))
    rate_limited: int = Field(sa_column=Column(Integer(), nullable=False))


class IntentRow(_StateModel, table=True):
    """``state_intents``: the crash journal; a write is journaled before its API call."""

    __tablename__ = "state_intents"
    __table_args__ = (
        partial_index("ix_state_intents_open", "status", where="status = 'open'"),
        MYSQL_TABLE_ARGS,
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    )
    run_id: str = Field(sa_column=Column(String(64), nullable=False))
    source: str = Field(sa_column=Column(key_string(SOURCE_LENGTH), nullable=False))
    external_id: str = Field(sa_column=Column(key_string(KEY_LENGTH), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    fingerprint: str | None = Field(sa_column=Column(String(128), nullable=True))
    contact_id: str | None = Field(sa_column=Column(String(64), nullable=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    error: str | None = Field(sa_column=Column(Text(), nullable=True))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    completed_at: datetime | None = Field(sa_column=Column(UtcDateTime(), nullable=True))


class CustomFieldDefRow(_StateModel, table=True):
    """``state_custom_fields``: the workspace's custom-field definitions, as last fetched."""

    __tablename__ = "state_custom_fields"
    __table_args__ = MYSQL_TABLE_ARGS

    key: str = Field(sa_column=Column(String(100), primary_key=True))
    name: str = Field(sa_column=Column(String(255), nullable=False))
    type: str = Field(sa_column=Column(String(32), nullable=False))
    position: int = Field(sa_column=Column(Integer(), nullable=False))
    fetched_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class LockRow(_StateModel, table=True):
    """``state_locks``: leases; a row is a held lock until its ``expires_at``."""

    __tablename__ = "state_locks"
    __table_args__ = MYSQL_TABLE_ARGS

    name: str = Field(sa_column=Column(String(100), primary_key=True))
    owner: str = Field(sa_column=Column(String(255), nullable=False))
    acquired_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class MetaRow(_StateModel, table=True):
    """``_state_meta``: facts about the store itself (format version, cache markers)."""

    __tablename__ = "_state_meta"
    __table_args__ = MYSQL_TABLE_ARGS

    key: str = Field(sa_column=Column(String(100), primary_key=True))
    value: str = Field(sa_column=Column(Text(), nullable=False))


def _table(model: type[SQLModel]) -> Table:
    """The Core table behind a table model (queries use Core: no ORM objects per row)."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]  # set by table=True


links: Final = _table(LinkRow)
runs: Final = _table(RunRow)
intents: Final = _table(IntentRow)
custom_fields: Final = _table(CustomFieldDefRow)
locks: Final = _table(LockRow)
meta: Final = _table(MetaRow)
