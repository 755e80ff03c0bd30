"""SQL source: a table or a query of any database SQLAlchemy reaches, streamed.

- The URL comes from the environment variable ``url_env`` names, never from the config
  file, and is only ever shown with its password hidden (driver messages are scrubbed too).
- ``table`` (``customers`` or ``sales.customers``; a part in double quotes may hold a dot)
  is quoted as identifiers by the dialect, never pasted into SQL; ``query`` runs as given.
- The read happens in a read-only transaction where the database has one: PostgreSQL
  ``SET TRANSACTION READ ONLY``, MySQL/MariaDB ``START TRANSACTION READ ONLY``, SQLite
  ``PRAGMA query_only`` (the connection is closed afterwards). A query that writes fails.
- Rows are streamed (server-side cursors on PostgreSQL, unbuffered cursors on MySQL,
  ``yield_per`` batches everywhere), so memory does not grow with the table.
- Values are the driver's own (``Decimal``, ``date``, ``datetime``, ``bool``, ``bytes``,
  ``None`` for NULL): converting them is the coercion stage's job, and time zones the
  mapping's. Column names are the result's, trimmed; matching them is the mapping's job.

Each record's ``row`` is its 1-based position in the result.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, quote_plus

from pydantic import Field, field_validator, model_validator
from sqlalchemy import Connection, CursorResult, Engine, create_engine, inspect, literal_column, select, table
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, NoSuchTableError, SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import ColumnElement, Select, quoted_name

from connectors.base import RecordStream, Source, SourceContext, SourceOptions, SupportsKeyOrder
from sync.config import resolve_sqlite_url
from sync.errors import ConfigError, SourceError
from sync.models import SourceRecord

CONNECT_TIMEOUT_SECONDS: Final = 15

# The drivers our extras install; a URL that names no driver gets these.
_OUR_DRIVERS: Final = {"postgresql": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}
_BACKEND_ALIASES: Final = {"postgres": "postgresql"}  # Heroku-style URLs
_EXTRAS: Final = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}
# Drivers that give binary columns as bytes already (others may give memoryview).
_BYTES_DRIVERS: Final = frozenset({"psycopg", "pymysql", "pysqlite"})

# How each database says "this transaction is read-only" (PostgreSQL SQLSTATE, MySQL
# error number, SQLite message), to explain the refusal.
_PG_READ_ONLY_SQLSTATE: Final = "25006"
_MYSQL_READ_ONLY_ERRNO: Final = 1792
_SQLITE_READ_ONLY_TEXT: Final = "readonly database"
# PostgreSQL reads through a cursor (DECLARE ... FOR <query>), which takes only a SELECT,
# so a DELETE there is a syntax error before it can be a read-only refusal.
_PG_SYNTAX_ERROR_SQLSTATE: Final = "42601"
_READING_KEYWORDS: Final = frozenset({"select", "with", "values", "table"})


class SqlOptions(SourceOptions):
    """The ``[[sources]]`` keys of a ``type = "sql"`` source."""

    url_env: str
    table: str | None = None
    query: str | None = None
    batch_size: int = Field(default=1000, ge=1, le=100_000)

    @field_validator("url_env")
    @classmethod
    def _url_env_named(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("url_env must name the environment variable that holds the URL")
        return value

    @field_validator("table")
    @classmethod
    def _table_parses(cls, value: str | None) -> str | None:
        if value is not None:
            split_table_name(value)
        return value

    @field_validator("query")
    @classmethod
    def _query_not_empty(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("query must not be empty")
        return value

    @model_validator(mode="after")
    def _table_or_query(self) -> SqlOptions:
        if (self.table is None) == (self.query is None):
            raise ValueError("set exactly one of `table` (a table name) or `query` (a SELECT)")
        return self


def split_table_name(text: str) -> tuple[str, ...]:
    """``"sales.customers"`` → ``("sales", "customers")``; a part in double quotes may hold dots.

    Raises:
        ValueError: an empty part, an unclosed quote, or more than ``schema.table``.
    """
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    was_quoted = False
    i = 0
    while i < len(text):
        char = text[i]
        if quoted:
            if char == '"' and text[i + 1 : i + 2] == '"':
                current.append('"')
                i += 1
            elif char == '"':
                quoted = False
            else:
                current.append(char)
        elif char == '"' and not "".join(current).strip():
            quoted = was_quoted = True
            current = []
        elif char == ".":
            parts.append(_table_part(current, was_quoted))
            current, was_quoted = [], False
        else:
            current.append(char)
        i += 1
    if quoted:
        raise ValueError(f"table {text!r}: a double quote is not closed")
    parts.append(_table_part(current, was_quoted))
    if len(parts) > 2:
        raise ValueError(f"table {text!r}: expected `table` or `schema.table`")
    return tuple(parts)


def _table_part(chars: list[str], was_quoted: bool) -> str:
    part = "".join(chars)
    # Outside quotes, spaces around a name are layout; inside, they are the name.
    part = part if was_quoted else part.strip()
    if not part:
        raise ValueError("table: a schema or table name is empty")
    return part


class SqlSource(Source, SupportsKeyOrder):
    """Reads contacts from a SQL table or query, streamed; see the module docstring."""

    type_name = "sql"
    Options = SqlOptions

    def __init__(self, options: SourceOptions, context: SourceContext) -> None:
        if not isinstance(options, SqlOptions):
            raise ConfigError(
                f"source {context.name!r}: sql needs SqlSource.Options, not {type(options).__name__}"
            )
        super().__init__(options, context)
        self.sql_options = options

    def describe(self) -> str:
        """Type, name, database (password hidden) and table or query, for logs."""
        try:
            where = _display(self._url())
        except ConfigError:
            where = f"URL in ${self.sql_options.url_env}"
        return f"sql source {self.name!r} ({where}, {self._what()})"

    def open(self) -> AbstractContextManager[RecordStream]:
        """Run the table's SELECT or the query; the connection is closed when the block ends.

        ``stream.info`` holds ``database`` (the URL, password hidden) and ``read_only``
        (how the read was made read-only, or ``"unsupported"``).

        Raises:
            ConfigError: ``url_env`` is unset, the URL does not parse, or its driver is
                not installed (the message names the extra to install).
            SourceError: the database is unreachable, refuses the login, has no such
                table, or rejects the query (also raised while iterating ``records``).
        """
        return self._open()

    def open_in_key_order(self, key_columns: Sequence[str]) -> AbstractContextManager[RecordStream]:
        """A table's rows sorted by the key columns as text in code point order (the
        planner then keeps memory flat); a query's rows as it returns them."""
        return self._open(key_columns)

    def _what(self) -> str:
        if self.sql_options.table is not None:
            return f"table {'.'.join(split_table_name(self.sql_options.table))}"
        return "query"

    def _url(self) -> URL:
        name = self.sql_options.url_env
        raw = self.context.env.get(name, "").strip()
        if not raw:
            raise ConfigError(
                f"source {self.name!r}: url_env: the environment variable {name} is not set; "
                "export it with the database URL (e.g. postgresql+psycopg://user:pass@host/db)"
            )
        try:
            url = make_url(resolve_sqlite_url(raw, self.context.base_dir))
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            # Not chained on purpose: SQLAlchemy's message quotes the URL, password and all.
            raise ConfigError(
                f"source {self.name!r}: ${name} is not a database URL (expected e.g. "
                "postgresql+psycopg://user@host/db, mysql+pymysql://..., sqlite:///file.db)"
            ) from None
        backend = _BACKEND_ALIASES.get(url.drivername, url.drivername)
        driver = _OUR_DRIVERS.get(backend)
        return url.set(drivername=f"{backend}+{driver}") if driver else url

    @contextmanager
    def _open(self, key_columns: Sequence[str] = ()) -> Iterator[RecordStream]:
        url = self._url()
        errors = _Errors(self.name, url, self.sql_options.query)
        engine = _create_engine(url, errors)
        try:
            connection = _connect(engine, errors)
            try:
                read_only = _start_read_only(connection, errors)
                result = self._execute(connection, errors, key_columns)
                records = _records(result, connection.dialect.driver, errors)
                info = {"database": _display(url), "read_only": read_only}
                try:
                    yield RecordStream(columns=_columns(result, errors), records=records, info=info)
                finally:
                    records.close()
                    result.close()
            finally:
                connection.close()
        finally:
            engine.dispose()

    def _execute(
        self, connection: Connection, errors: _Errors, key_columns: Sequence[str] = ()
    ) -> CursorResult[Any]:
        options = self.sql_options
        streaming = {"stream_results": True, "yield_per": options.batch_size}
        if options.table is not None:
            *schema, name = split_table_name(options.table)
            source = table(quoted_name(name, True), schema=quoted_name(schema[0], True) if schema else None)
            query: Select[Any] = select(literal_column("*")).select_from(source)
            with errors.translated(f"cannot read {self._what()}"):
                if key_columns:
                    query = query.order_by(*_key_order(connection, name, schema, key_columns))
                return connection.execute(query, execution_options=streaming)
        assert options.query is not None  # the options' validator guarantees one of them
        with errors.translated("the query failed"):
            # no_parameters: the text reaches the driver as written (a `%` or `:x` in it
            # is not taken for a placeholder).
            return connection.exec_driver_sql(
                options.query, execution_options={**streaming, "no_parameters": True}
            )


def _create_engine(url: URL, errors: _Errors) -> Engine:
    backend = url.get_backend_name()
    if backend == "sqlite":
        _check_sqlite_file(url, errors)
    connect_args: dict[str, Any] = {}
    if backend in _EXTRAS and "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    try:
        # NullPool: one connection for one read, really closed when the read ends.
        return create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except (ImportError, NoSuchModuleError) as exc:
        raise ConfigError(_missing_driver(url, errors.source)) from exc
    except (SQLAlchemyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"source {errors.source!r}: cannot use {_display(url)}: {errors.scrub(str(exc))}"
        ) from exc


def _connect(engine: Engine, errors: _Errors) -> Connection:
    try:
        with errors.translated("cannot connect"):
            return engine.connect()
    except TypeError as exc:  # PyMySQL, for an unknown option in the URL's query string
        raise ConfigError(
            f"{errors.prefix}: the driver does not accept the URL's options: {errors.scrub(str(exc))}"
        ) from exc


def _check_sqlite_file(url: URL, errors: _Errors) -> None:
    """SQLite would create a missing file and then find no table in it; say what is wrong."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    if not Path(database).is_file():
        raise SourceError(f"source {errors.source!r}: the SQLite file {database} does not exist")


def _missing_driver(url: URL, source: str) -> str:
    backend, _, driver = url.drivername.partition("+")
    extra = _EXTRAS.get(backend)
    if extra is None:
        return (
            f"source {source!r}: no installed SQLAlchemy dialect or driver for {url.drivername!r}; "
            "supported out of the box: postgresql+psycopg, mysql+pymysql, sqlite"
        )
    ours = _OUR_DRIVERS[backend]
    return (
        f"source {source!r}: the {backend} driver {driver or backend!r} is not installed; run "
        f"`pip install 'openphone-sync[{extra}]'` and use a {backend}+{ours}:// URL"
    )


def _start_read_only(connection: Connection, errors: _Errors) -> str:
    """Make this connection's transaction read-only; returns how, for ``info``."""
    backend = connection.dialect.name
    statement = {
        "postgresql": "SET TRANSACTION READ ONLY",
        "mysql": "START TRANSACTION READ ONLY",  # also the name MariaDB's dialect uses
        "sqlite": "PRAGMA query_only = ON",  # the connection is closed, not reused, after
    }.get(backend)
    if statement is None:
        return "unsupported"
    with errors.translated("cannot start a read-only transaction"):
        connection.exec_driver_sql(statement)
    return statement


def _key_order(
    connection: Connection, name: str, schema: Sequence[str], key_columns: Sequence[str]
) -> list[ColumnElement[Any]]:
    """ORDER BY terms sorting rows by the key columns' text in code point order (as Python
    compares strings), or none when a key column is not found (the mapping reports that).

    Only a hint to the planner, which checks the order it gets: a value whose text the
    database writes otherwise than the mapping (a float, padding) just costs a re-read.
    """
    try:
        columns = inspect(connection).get_columns(name, schema=schema[0] if schema else None)
    except NoSuchTableError:
        return []  # the SELECT then fails with the database's own words
    names = [c["name"] for c in columns]
    found = []
    for wanted in key_columns:
        exact = [n for n in names if n == wanted]
        folded = [n for n in names if n.strip().casefold() == wanted.strip().casefold()]
        match = exact or folded
        if len(match) != 1:
            return []
        found.append(match[0])
    dialect = connection.dialect.name
    quote = connection.dialect.identifier_preparer.quote
    if dialect == "postgresql":
        return [literal_column(f'CAST({quote(n)} AS TEXT) COLLATE "C"') for n in found]
    if dialect in ("mysql", "mariadb"):
        return [literal_column(f"CAST({quote(n)} AS BINARY)") for n in found]
    if dialect == "sqlite":
        return [literal_column(f"CAST({quote(n)} AS TEXT)") for n in found]
    return [literal_column(quote(n)) for n in found]


def _columns(result: CursorResult[Any], errors: _Errors) -> tuple[str, ...]:
    if not result.returns_rows:
        raise SourceError(f"{errors.prefix}: the query returns no rows (is it a SELECT?)")
    names = result.keys()
    columns = tuple(str(name).strip() for name in names)
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise SourceError(
            f"{errors.prefix}: the result names a column more than once "
            f"({', '.join(map(repr, repeated))}); give each one its own alias"
        )
    return columns


def _records(
    result: CursorResult[Any], driver: str, errors: _Errors
) -> Generator[SourceRecord, None, None]:
    new, record = tuple.__new__, SourceRecord  # new(record, ...) skips a Python-level __new__
    # Checking every value costs a third of the read; only other drivers need it.
    as_values = tuple if driver in _BYTES_DRIVERS else _bytes_for_memoryviews
    row = 0
    with errors.translated("reading the rows failed"):
        for batch in result.partitions():
            for values in batch:
                row += 1
                yield new(record, (row, as_values(values)))


def _bytes_for_memoryviews(values: Sequence[Any]) -> tuple[Any, ...]:
    """The row as a tuple, a ``memoryview`` (psycopg2 and others, for binary) as bytes."""
    return tuple(bytes(v) if isinstance(v, memoryview) else v for v in values)


class _Errors:
    """Turns SQLAlchemy errors into SourceErrors that never show the URL's password."""

    def __init__(self, source: str, url: URL, query: str | None = None) -> None:
        self.source = source
        self.url = url
        self.query = query
        self.prefix = f"source {source!r} ({_display(url)})"

    def scrub(self, text: str) -> str:
        """The text with every spelling of the password replaced by ``***``."""
        return _scrub(text, self.url.password)

    @contextmanager
    def translated(self, doing: str) -> Iterator[None]:
        """Re-raise database errors inside the block as SourceError: ``prefix: doing: why``."""
        try:
            yield
        except DBAPIError as exc:
            raise SourceError(f"{self.prefix}: {doing}: {self._reason(exc)}") from exc
        except SQLAlchemyError as exc:
            raise SourceError(f"{self.prefix}: {doing}: {self.scrub(str(exc))}") from exc

    def _reason(self, exc: DBAPIError) -> str:
        orig = exc.orig
        args: tuple[Any, ...] = getattr(orig, "args", ())
        if len(args) == 2 and isinstance(args[0], int):  # PyMySQL: (errno, message)
            reason = f"{args[1]} (error {args[0]})"
        else:
            reason = str(orig).strip()
        if _is_read_only_refusal(orig) or self._is_not_a_select(orig):
            reason += " (sources are read in a read-only transaction: the query must not write)"
        return self.scrub(reason)

    def _is_not_a_select(self, orig: BaseException | None) -> bool:
        if self.query is None or getattr(orig, "sqlstate", None) != _PG_SYNTAX_ERROR_SQLSTATE:
            return False
        first_word = re.match(r"\s*\(*\s*(\w+)", self.query)
        return first_word is not None and first_word.group(1).lower() not in _READING_KEYWORDS


def _is_read_only_refusal(orig: BaseException | None) -> bool:
    if getattr(orig, "sqlstate", None) == _PG_READ_ONLY_SQLSTATE:
        return True
    args: tuple[Any, ...] = getattr(orig, "args", ())
    if args and args[0] == _MYSQL_READ_ONLY_ERRNO:
        return True
    return _SQLITE_READ_ONLY_TEXT in str(orig)


def _display(url: URL) -> str:
    """The URL with its password hidden, also where its text recurs (a database named alike)."""
    return _scrub(url.render_as_string(hide_password=True), url.password)


def _scrub(text: str, password: str | None) -> str:
    """``text`` with every spelling of ``password`` (plain, URL-quoted) replaced by ``***``."""
    if not password:
        return text
    # Longest first, so a spelling that contains another is replaced whole.
    for secret in sorted({password, quote(password, safe=""), quote_plus(password)}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
