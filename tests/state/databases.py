"""Fresh state databases for tests: a SQLite file, a PostgreSQL schema, a MariaDB database.

A pytest plugin module: ``tests/state/conftest.py`` imports its fixtures, and a root
``tests/conftest.py`` can offer them to every test with
``pytest_plugins = ["tests.state.databases"]``.

``state_url`` (SQLite and PostgreSQL) is what the engine tests run against; ``any_state_url``
adds MySQL/MariaDB for the store's own tests. Every URL points at an empty database made
for one test and removed after it. The servers are part of CI (``.ci/run`` starts them):
when one is unreachable the test fails, it is never skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

POSTGRES_URLS = (
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg://root@127.0.0.1:5432/test",
)
MYSQL_URL = "mysql+pymysql://root@127.0.0.1:3306/test"


def _server(urls: tuple[str, ...], what: str) -> tuple[Engine, str]:
    """An admin engine on the first URL that answers; fails the test when none does."""
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
def postgres_admin() -> Iterator[tuple[Engine, str]]:
    """An engine on the test PostgreSQL server, and the URL it used."""
    engine, url = _server(POSTGRES_URLS, "PostgreSQL at 127.0.0.1:5432")
    yield engine, url
    engine.dispose()


@pytest.fixture(scope="session")
def mysql_admin() -> Iterator[tuple[Engine, str]]:
    """An engine on the test MariaDB/MySQL server, and the URL it used."""
    engine, url = _server((MYSQL_URL,), "MariaDB at 127.0.0.1:3306")
    yield engine, url
    engine.dispose()


@contextmanager
def _postgres_schema(admin: tuple[Engine, str]) -> Iterator[str]:
    engine, url = admin
    schema = f"state_test_{uuid.uuid4().hex[:12]}"
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@contextmanager
def _mysql_database(admin: tuple[Engine, str]) -> Iterator[str]:
    engine, url = admin
    database = f"state_test_{uuid.uuid4().hex[:12]}"
    with engine.begin() as connection:
        connection.execute(text(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4"))
    try:
        yield url.rsplit("/", 1)[0] + f"/{database}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP DATABASE `{database}`"))


@contextmanager
def fresh_state_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database on ``backend``, removed when the block ends."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
    elif backend == "postgresql":
        with _postgres_schema(request.getfixturevalue("postgres_admin")) as url:
            yield url
    elif backend == "mysql":
        with _mysql_database(request.getfixturevalue("mysql_admin")) as url:
            yield url
    else:
        raise ValueError(f"unknown backend {backend!r}")


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty state database, once on SQLite and once on PostgreSQL."""
    with fresh_state_url(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def any_state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty state database on every supported backend."""
    with fresh_state_url(request, request.param, tmp_path) as url:
        yield url
