"""Opening a store: migrations applied once and recorded, the format version checked."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, inspect, select, update
from sqlmodel import SQLModel

from state import MIGRATIONS, STATE_FORMAT_VERSION, StateStore
from state._db import Database
from state.migrations import migrate, migrations_table
from state.models import custom_fields, intents, links, locks, meta, runs
from sync.errors import StateError

MODEL_TABLES = (links, runs, intents, custom_fields, locks, meta)


def test_open_applies_and_records_every_migration(store: StateStore, raw_db: Engine) -> None:
    """A fresh store has every migration recorded once, in order, and the format version."""
    assert store.applied_migrations() == [m.name for m in MIGRATIONS]
    assert store.format_version() == STATE_FORMAT_VERSION
    with raw_db.connect() as connection:
        recorded = connection.execute(select(migrations_table)).mappings().all()
    assert [row["name"] for row in recorded] == ["0001_initial"]
    assert recorded[0]["applied_at"].tzinfo is not None


def test_migrating_again_changes_nothing(any_state_url: str, raw_db: Engine) -> None:
    """Reopening a store, or migrating it again, applies nothing a second time."""
    StateStore.open(any_state_url).close()
    with StateStore.open(any_state_url) as reopened:
        assert reopened.applied_migrations() == ["0001_initial"]
    database = Database(any_state_url)
    try:
        assert migrate(database) == []
    finally:
        database.dispose()
    with raw_db.connect() as connection:
        count = connection.execute(select(func.count()).select_from(migrations_table)).scalar()
    assert count == len(MIGRATIONS)


def test_two_processes_opening_a_fresh_store_at_once_both_succeed(any_state_url: str) -> None:
    """Concurrent first opens are serialized: each migration runs exactly once."""
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def open_store() -> None:
        barrier.wait()
        try:
            with StateStore.open(any_state_url) as opened:
                outcomes.append(opened.applied_migrations())
        except StateError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes == [["0001_initial"], ["0001_initial"]]


def test_the_migrated_schema_matches_the_models(store: StateStore, raw_db: Engine) -> None:
    """What the migrations built is what the models describe: columns, keys, indexes."""
    inspector = inspect(raw_db)
    for table in MODEL_TABLES:
        columns = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name: c.nullable for c in table.columns}, table.name
        primary_key = inspector.get_pk_constraint(table.name)["constrained_columns"]
        assert primary_key == [c.name for c in table.primary_key.columns], table.name
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        assert {i.name for i in table.indexes} <= indexes, table.name


def test_a_store_of_a_newer_format_is_refused(any_state_url: str, raw_db: Engine) -> None:
    """A store written by a newer release is not touched: the user is told to upgrade."""
    StateStore.open(any_state_url).close()
    with raw_db.begin() as connection:
        connection.execute(update(meta).where(meta.c.key == "format_version").values(value="2"))

    with pytest.raises(StateError, match="Upgrade openphone-sync") as caught:
        StateStore.open(any_state_url)
    assert "format version 2" in str(caught.value)
    assert f"understands format {STATE_FORMAT_VERSION} at most" in str(caught.value)


def test_a_store_of_the_same_format_with_unknown_migrations_opens(any_state_url: str, raw_db: Engine) -> None:
    """A newer release's additive migrations (same format) do not lock older code out."""
    StateStore.open(any_state_url).close()
    with raw_db.begin() as connection:
        connection.execute(
            migrations_table.insert().values(name="0002_from_the_future", applied_at=func.current_timestamp())
        )

    with StateStore.open(any_state_url) as reopened:
        assert "0002_from_the_future" in reopened.applied_migrations()


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    """A SQLite file in a directory that does not exist is a clear error naming it."""
    missing = tmp_path / "nowhere"

    with pytest.raises(StateError, match=f"directory {missing} does not exist"):
        StateStore.open(f"sqlite:///{missing / 'state.db'}")
    assert not missing.exists()


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    """The SQLite store runs in WAL mode, so readers never block the writer."""
    path = tmp_path / "state.db"
    with StateStore.open(f"sqlite:///{path}"):
        pass

    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        connection.close()


def test_an_in_memory_store_works(tmp_path: Path) -> None:
    """``sqlite://`` keeps one in-memory database for the store's lifetime."""
    with StateStore.open("sqlite://") as store:
        store.start_run("r1", "dry-run")
        assert [run.run_id for run in store.recent_runs()] == ["r1"]


def test_state_tables_stay_out_of_the_global_sqlmodel_metadata() -> None:
    """Other sqlmodel code in the process never sees (or creates) our tables."""
    assert not {t.name for t in MODEL_TABLES} & set(SQLModel.metadata.tables)
