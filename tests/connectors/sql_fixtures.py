"""Real databases for the SQL source's tests: a SQLite file, PostgreSQL and MariaDB.

Import the fixtures into a test module (``from tests.connectors.sql_fixtures import
database``); there is no conftest here on purpose, so other connectors' tests stay apart.

Every test gets uniquely named tables (``t_<hex>``) through :class:`Database`, dropped
afterwards even when the test fails. The servers are part of CI (``.ci/run`` starts them):
when one is unreachable the test fails, it is never skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Engine, MetaData, Table, Text, create_engine, insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from connectors.base import SourceContext
from connectors.sql import SqlOptions, SqlSource

URL_ENV = "TEST_DB_URL"
POSTGRES_URLS = (
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg://root@127.0.0.1:5432/test",
)
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test"
KINDS = ("sqlite", "postgresql", "mariadb")
_LOCK_TIMEOUT = {
    "sqlite": "PRAGMA busy_timeout = 5000",
    "postgresql": "SET LOCAL lock_timeout = '5s'",
    "mariadb": "SET SESSION lock_wait_timeout = 5",
}


def unique_name(prefix: str = "t") -> str:
    """A table (or schema) name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def sql_source(
    url: str,
    base_dir: Path,
    *,
    table: str | None = None,
    query: str | None = None,
    batch_size: int = 1000,
    name: str = "app-db",
) -> SqlSource:
    """A SQL source whose URL is in ``$TEST_DB_URL`` of its (test-made) environment."""
    options = SqlOptions(url_env=URL_ENV, table=table, query=query, batch_size=batch_size)
    return SqlSource(options, SourceContext(name, base_dir, {URL_ENV: url}))


def _server(urls: Sequence[str], what: str) -> tuple[Engine, str]:
    problems = []
    for url in urls:
        engine = create_engine(url, connect_args={"connect_timeout": 5})
        try:
            with engine.connect():
                return engine, url
        except OperationalError as exc:
            problems.append(f"{url}: {exc.orig}")
            engine.dispose()
    pytest.fail(f"{what} is not reachable (CI starts it): " + "; ".join(problems))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[tuple[Engine, str]]:
    """An admin engine on the test PostgreSQL server, and the URL it used."""
    engine, url = _server(POSTGRES_URLS, "PostgreSQL at 127.0.0.1:5432")
    yield engine, url
    engine.dispose()


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[tuple[Engine, str]]:
    """An admin engine on the test MariaDB server, and the URL it used."""
    engine, url = _server((MARIADB_URL,), "MariaDB at 127.0.0.1:3306")
    yield engine, url
    engine.dispose()


@dataclass
class Database:
    """One test's view of a database: its URL, an admin engine, and what to drop afterwards."""

    kind: str
    url: str
    engine: Engine
    base_dir: Path
    metadata: MetaData = field(default_factory=MetaData)
    cleanups: list[str] = field(default_factory=list)

    def table(
        self,
        columns: Sequence[str | Column[Any]],
        rows: Sequence[Sequence[Any]] = (),
        *,
        name: str | None = None,
        schema: str | None = None,
    ) -> Table:
        """Create a table (a str column is TEXT) holding ``rows`` in order; dropped afterwards."""
        cols = [Column(c, Text) if isinstance(c, str) else c for c in columns]
        table = Table(
            name or unique_name(), self.metadata, *cols, schema=schema,
            mysql_charset="utf8mb4",
        )
        table.create(self.engine)
        if rows:
            names = [c.name for c in cols]
            with self.engine.begin() as conn:
                conn.execute(insert(table), [dict(zip(names, row, strict=True)) for row in rows])
        return table

    def execute(self, sql: str, *, cleanup: str | None = None) -> None:
        """Run admin SQL; ``cleanup`` is run after the test (in reverse order)."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql(sql)
        if cleanup:
            self.cleanups.append(cleanup)

    def count(self, table: Table) -> int:
        """How many rows ``table`` holds now."""
        with self.engine.connect() as conn:
            return len(conn.execute(table.select()).all())

    def quote(self, name: str) -> str:
        """``name`` quoted as an identifier for this database (for test-made SQL only)."""
        return self.engine.dialect.identifier_preparer.quote_identifier(name)

    def source(
        self,
        *,
        table: str | None = None,
        query: str | None = None,
        url: str | None = None,
        batch_size: int = 1000,
        name: str = "app-db",
    ) -> SqlSource:
        """A SQL source on this database (or on ``url``), its URL in ``$TEST_DB_URL``."""
        return sql_source(
            self.url if url is None else url, self.base_dir,
            table=table, query=query, batch_size=batch_size, name=name,
        )

    def drop_everything(self) -> None:
        """Drop the tables made by this test, then run the cleanups.

        With a lock timeout: a reader the code under test leaked makes teardown fail
        (and say so) instead of waiting forever for its lock.
        """
        with self.engine.begin() as conn:
            conn.exec_driver_sql(_LOCK_TIMEOUT[self.kind])
            try:
                self.metadata.drop_all(conn)
                for sql in reversed(self.cleanups):
                    conn.exec_driver_sql(sql)
            finally:
                if self.kind == "mariadb":  # a session setting on a pooled connection
                    conn.exec_driver_sql("SET SESSION lock_wait_timeout = DEFAULT")


@pytest.fixture(params=KINDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """Each test once on SQLite, PostgreSQL and MariaDB, with its tables dropped afterwards."""
    yield from _database(request, request.param, tmp_path)


@pytest.fixture
def postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """PostgreSQL only, for what is PostgreSQL's own (schemas, sequences, big tables)."""
    yield from _database(request, "postgresql", tmp_path)


@pytest.fixture
def sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """SQLite only (a file in tmp_path)."""
    yield from _database(request, "sqlite", tmp_path)


@pytest.fixture
def mariadb(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """MariaDB only."""
    yield from _database(request, "mariadb", tmp_path)


def _database(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> Iterator[Database]:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'source.db'}"
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect():  # creates the file: the source refuses a missing one
            pass
        dispose: Callable[[], None] = engine.dispose
    else:
        server = "postgres_server" if kind == "postgresql" else "mariadb_server"
        engine, url = request.getfixturevalue(server)
        dispose = _nothing
    db = Database(kind, url, engine, tmp_path)
    try:
        yield db
    finally:
        db.drop_everything()
        dispose()


def _nothing() -> None:
    """The session's server engines are disposed at the end of the session."""
