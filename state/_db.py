"""Connecting to the state database, and translating its errors into ours.

Per backend, what a correct and durable state store needs:

- SQLite: WAL (readers never block the writer), a busy timeout, and ``BEGIN IMMEDIATE``
  for every write transaction, so two processes queue for the write lock instead of one
  failing at once when it upgrades a read lock. ``synchronous`` stays FULL: an intent must
  be on disk before its API call, or a power loss could lead to a duplicate create.
- PostgreSQL and MySQL/MariaDB: a connect timeout (an unreachable host fails fast) and
  ``pool_pre_ping`` (a long run outlives idle connections the server dropped).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, Select, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from sync.errors import StateError

SQLITE_BUSY_TIMEOUT_MS: Final = 15_000
CONNECT_TIMEOUT_SECONDS: Final = 10
_PLAIN_TEXT_DIALECTS: Final = frozenset({"sqlite", "postgresql"})
READ_ONLY: Final = "openphone_sync_read_only"
"""Execution option: this transaction only reads (SQLite then starts a deferred one)."""


def display_url(url: str | URL) -> str:
    """The URL as it may be shown to a person: the password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return "<unparseable database URL>"


def parse_url(url: str) -> URL:
    """Parse a SQLAlchemy URL, or raise StateError without echoing it (it may hold a password)."""
    try:
        return make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        # Not chained on purpose: SQLAlchemy's message quotes the whole URL, password and all.
        raise StateError(
            "state.url is not a database URL (expected e.g. sqlite:///state.db or "
            "postgresql+psycopg://user@host/db)"
        ) from None


def connect(url: URL) -> Engine:
    """An engine for ``url``, set up for its backend (see the module docstring).

    Raises:
        StateError: the backend's driver is not installed, or the URL's options are wrong.
    """
    try:
        if url.get_backend_name() == "sqlite":
            return _sqlite_engine(url)
        return _server_engine(url)
    except (SQLAlchemyError, ImportError) as exc:
        raise StateError(f"cannot use state store {display_url(url)}: {exc}") from exc


def _server_engine(url: URL) -> Engine:
    args: dict[str, Any] = {}
    if url.get_backend_name() in ("postgresql", "mysql", "mariadb"):
        args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    return create_engine(url, pool_pre_ping=True, connect_args=args)


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in database
    if not in_memory and not database.startswith("file:"):
        parent = Path(database).expanduser().absolute().parent
        if not parent.is_dir():
            raise StateError(
                f"state store directory {parent} does not exist (state.url {display_url(url)}); "
                "create it or point state.url elsewhere"
            )
    # The pool hands a connection to one thread at a time, so sharing across threads is safe;
    # an in-memory database exists only inside its one connection.
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False},
        poolclass=StaticPool if in_memory else None,
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the sqlite3 module: we emit BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def describe_error(exc: BaseException, secret: str | None = None) -> str:
    """The database's own message, without the SQL statement and its parameters.

    The parameters carry contact data, which does not belong in an error message; the
    password is masked too, should a driver ever echo its connection string.
    """
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = str(exc.orig)
    else:
        text = str(exc).split("[SQL:", 1)[0]
    text = " ".join(text.split()) or type(exc).__name__
    return text.replace(secret, "***") if secret else text


class Database:
    """An engine plus what is needed to talk about it safely (display URL, password)."""

    def __init__(self, url: str) -> None:
        parsed = parse_url(url)
        self.url_for_display = display_url(parsed)
        self._password = parsed.password if isinstance(parsed.password, str) else None
        self.engine = connect(parsed)

    @property
    def dialect_name(self) -> str:
        """The backend's name: ``sqlite``, ``postgresql``, ``mysql``, ..."""
        return self.engine.dialect.name

    @contextmanager
    def translated(self, action: str) -> Iterator[None]:
        """Re-raise SQLAlchemy errors as :class:`StateError` naming the store and the action."""
        try:
            yield
        except SQLAlchemyError as exc:
            raise StateError(
                f"state store {self.url_for_display}: could not {action}: "
                f"{describe_error(exc, self._password)}"
            ) from exc

    @contextmanager
    def write(self, action: str) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on any error."""
        with self.translated(action), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def read(self, action: str) -> Iterator[Connection]:
        """One read-only transaction (deferred on SQLite, so it does not block writers)."""
        with self.translated(action), self.engine.connect() as connection:
            connection.execution_options(**{READ_ONLY: True})
            with connection.begin():
                yield connection

    def read_dict(self, action: str, query: Select[Any], batch_size: int = 10_000) -> dict[Any, Any]:
        """The rows of a two-column query as a dict (see :meth:`stream_pairs`)."""
        with self.stream_pairs(action, query, batch_size) as pairs:
            return dict(pairs)

    @contextmanager
    def stream_pairs(
        self, action: str, query: Select[Any], batch_size: int = 10_000
    ) -> Iterator[Iterator[tuple[Any, Any]]]:
        """The rows of a two-column query, streamed as plain tuples inside a read transaction.

        For the planner's million links, SQLAlchemy's Row objects cost more than the data,
        so the statement (still compiled by SQLAlchemy for the dialect) runs on the driver's
        own cursor where text columns arrive as ``str``: a server-side one on PostgreSQL,
        so memory stays flat. Drivers that hand text over as something else (PyMySQL gives
        ``bytes`` for a binary collation) stream through SQLAlchemy, which converts them.
        A driver error is raised as SQLAlchemy wraps it, so :meth:`read` translates it.
        """
        with self.read(action) as connection:
            if self.dialect_name not in _PLAIN_TEXT_DIALECTS:
                result = connection.execute(
                    query, execution_options={"stream_results": True, "yield_per": batch_size}
                )
                try:
                    yield (tuple(row) for batch in result.partitions() for row in batch)
                finally:
                    result.close()
                return
            compiled = query.compile(dialect=connection.dialect)
            params: Any = compiled.params
            if compiled.positional:
                params = tuple(compiled.params[name] for name in compiled.positiontup or ())
            driver_error = connection.dialect.loaded_dbapi.Error
            raw = connection.connection
            named = self.dialect_name == "postgresql"
            cursor = raw.cursor(name="openphone_sync_stream") if named else raw.cursor()

            def batches() -> Iterator[Sequence[tuple[Any, Any]]]:
                try:
                    while rows := cursor.fetchmany(batch_size):
                        yield rows
                except driver_error as exc:
                    raise DBAPIError.instance(None, None, exc, driver_error) from exc

            try:
                try:
                    cursor.execute(str(compiled), params)
                except driver_error as exc:
                    raise DBAPIError.instance(None, None, exc, driver_error) from exc
                yield chain.from_iterable(batches())
            finally:
                cursor.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
