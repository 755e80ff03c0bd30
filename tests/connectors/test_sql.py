"""The SQL connector against real SQLite, PostgreSQL and MariaDB databases."""

from __future__ import annotations

import importlib.util
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    Text,
)

from connectors.base import Source, SourceContext
from connectors.registry import get_connector
from connectors.sql import SqlOptions, SqlSource, split_table_name
from sync.errors import ConfigError, SourceError
from sync.mapping import resolve_column
from tests.connectors.contract import SourceContract, read_all
from tests.connectors.sql_fixtures import (  # noqa: F401  # fixtures, used by name
    Database,
    database,
    mariadb,
    mariadb_server,
    postgres,
    postgres_server,
    sql_source,
    sqlite,
    unique_name,
)

PASSWORD = "hunter2-Zq9"


def values_of(source: Source) -> list[tuple[Any, ...]]:
    """Every record's values, in order."""
    return [r.values for r in read_all(source)[1]]


class TestSqlContract(SourceContract):
    """The shared connector contract, reading a table on each database."""

    @pytest.fixture(autouse=True)
    def _use(self, database: Database) -> None:  # noqa: F811  # the fixture
        self.db = database

    def make_source(
        self, tmp_path: Path, columns: Sequence[str], rows: Sequence[Sequence[str]]
    ) -> Source:
        # MariaDB refuses column names that end in a space (leading ones are still tested).
        names = [c.rstrip() for c in columns] if self.db.kind == "mariadb" else columns
        return self.db.source(table=self.db.table(names, rows).name)


def test_registry_finds_the_sql_source() -> None:
    """``type = "sql"`` names this connector."""
    assert get_connector("sql") is SqlSource


# --- options ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{}, {"table": "t", "query": "SELECT 1"}, {"table": " "}, {"query": "  "}],
)
def test_exactly_one_of_table_and_query(options: dict[str, str]) -> None:
    """Neither, both, or a blank one is a config error."""
    with pytest.raises(ValidationError):
        SqlOptions.model_validate({"url_env": "DB_URL", **options})


def test_url_env_and_batch_size_are_checked() -> None:
    """``url_env`` must name a variable; ``batch_size`` must be positive."""
    with pytest.raises(ValidationError):
        SqlOptions(url_env=" ", table="t")
    with pytest.raises(ValidationError):
        SqlOptions(url_env="DB_URL", table="t", batch_size=0)
    with pytest.raises(ValidationError):
        SqlOptions(url_env="DB_URL", table="t", url="sqlite://")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("text_", "parts"),
    [
        ("customers", ("customers",)),
        ("sales.customers", ("sales", "customers")),
        (" sales . customers ", ("sales", "customers")),
        ('"has.dot"', ("has.dot",)),
        ('sales."Customer ""VIP"" list"', ("sales", 'Customer "VIP" list')),
        ("it's a table", ("it's a table",)),
        ('odd "name" here', ('odd "name" here',)),
        ("customers; DROP TABLE x", ("customers; DROP TABLE x",)),
    ],
)
def test_table_names_split_into_schema_and_table(text_: str, parts: tuple[str, ...]) -> None:
    """A dot separates schema and table, except inside double quotes."""
    assert split_table_name(text_) == parts


@pytest.mark.parametrize("bad", ["", "a.b.c", "sales.", ".t", '"unclosed'])
def test_table_names_that_cannot_be_split_are_refused(bad: str) -> None:
    """An empty part, three parts or an open quote is a config error."""
    with pytest.raises(ValidationError):
        SqlOptions(url_env="DB_URL", table=bad)


# --- reading ---------------------------------------------------------------------------


def test_a_query_reads_what_it_selects(database: Database) -> None:  # noqa: F811
    """A query runs as written (``%`` and ``:name`` included) and gives its own columns."""
    table = database.table(["id", "name", "note"], [("1", "Ann", "a:b"), ("2", "Bob", "x"), ("3", "Al", "")])
    q = database.quote
    query = (
        f"SELECT {q('id')} AS ident, {q('name')} FROM {q(table.name)} "
        f"WHERE {q('name')} LIKE 'A%' AND {q('note')} <> ':x' ORDER BY {q('id')}"
    )
    columns, records, _ = read_all(database.source(query=query))
    assert columns == ("ident", "name")
    assert [(r.row, r.values) for r in records] == [(1, ("1", "Ann")), (2, ("3", "Al"))]


def test_a_table_reads_every_column_and_row(database: Database) -> None:  # noqa: F811
    """``table`` reads the whole table, rows numbered from 1 in the order they come."""
    table = database.table(["id", "name"], [("1", "Ann"), ("2", "Bob")])
    columns, records, info = read_all(database.source(table=table.name, batch_size=1))
    assert columns == ("id", "name")
    assert [(r.row, r.values) for r in records] == [(1, ("1", "Ann")), (2, ("2", "Bob"))]
    assert info["database"] == database.url


KEYS_OUT_OF_ORDER = ["b", "B", "a-2", "a10", "a2", "Zoë", "zoe", "_x", "ä", "10", "9"]


def test_a_table_read_in_key_order_comes_in_code_point_order(database: Database) -> None:  # noqa: F811
    """open_in_key_order sorts by the key's text as Python compares strings, whatever the
    database's collation (upper before lower case, digits as text, accents last); the key
    column is found case-insensitively, and a query's rows come as it returns them."""
    table = database.table(["Id", "name"], [(k, f"n{k}") for k in KEYS_OUT_OF_ORDER])
    with database.source(table=table.name, batch_size=3).open_in_key_order(["id"]) as stream:
        keys = [r.values[0] for r in stream.records]
    assert keys == sorted(KEYS_OUT_OF_ORDER)
    query = f"SELECT * FROM {database.quote(table.name)}"
    with database.source(query=query).open_in_key_order(["id"]) as stream:
        assert sorted(r.values[0] for r in stream.records) == sorted(KEYS_OUT_OF_ORDER)


def test_an_integer_key_is_read_in_the_order_of_its_text(database: Database) -> None:  # noqa: F811
    """9 comes after 10: the planner compares the key as text."""
    table = database.table([Column("id", Integer), Column("name", Text)],
                           [(n, f"n{n}") for n in (9, 10, 1, 100, 2)])
    with database.source(table=table.name).open_in_key_order(["id"]) as stream:
        keys = [r.values[0] for r in stream.records]
    assert [str(k) for k in keys] == sorted(str(k) for k in (9, 10, 1, 100, 2))


def test_schema_qualified_table_on_postgresql(postgres: Database) -> None:  # noqa: F811
    """``schema.table`` reads that schema's table, not a same-named one elsewhere."""
    schema = unique_name("s")
    postgres.execute(f"CREATE SCHEMA {schema}", cleanup=f"DROP SCHEMA {schema} CASCADE")
    name = unique_name()
    postgres.table(["id"], [("public",)], name=name)
    postgres.table(["id"], [("in schema",)], name=name, schema=schema)
    assert values_of(postgres.source(table=f"{schema}.{name}")) == [("in schema",)]
    assert values_of(postgres.source(table=name)) == [("public",)]


def test_database_qualified_table(database: Database) -> None:  # noqa: F811
    """The qualifier SQLite (``main``) and MariaDB (the database) use for schemas works too."""
    table = database.table(["id"], [("1",)])
    schema = {"sqlite": "main", "mariadb": "test", "postgresql": "public"}[database.kind]
    assert values_of(database.source(table=f"{schema}.{table.name}")) == [("1",)]


def test_odd_table_names_are_quoted_as_identifiers(database: Database) -> None:  # noqa: F811
    """A name with a space, both quote kinds, a percent sign and a dot reads fine."""
    odd = f"""odd "name" it's 100% {unique_name()}"""
    database.table(["id"], [("1",)], name=odd)
    assert values_of(database.source(table=odd)) == [("1",)]
    dotted = f"has.dot {unique_name()}"
    database.table(["id"], [("2",)], name=dotted)
    assert values_of(database.source(table=f'"{dotted}"')) == [("2",)]


def test_injection_in_table_finds_no_table_and_drops_nothing(database: Database) -> None:  # noqa: F811
    """``customers; DROP TABLE x`` is one (missing) table name, not two statements."""
    victim = database.table(["id"], [("1",)])
    attempts = [
        f"{victim.name}; DROP TABLE {victim.name}",
        f'{victim.name}"; DROP TABLE {victim.name}; --',
        f"{victim.name}`; DROP TABLE {victim.name}; --",
    ]
    for attempt in attempts:
        with pytest.raises(SourceError, match="cannot read table"):
            read_all(database.source(table=attempt))
    assert database.count(victim) == 1


def test_a_missing_table_is_a_source_error_with_the_database_message(database: Database) -> None:  # noqa: F811
    """The error names the source and carries what the database said."""
    name = unique_name()
    with pytest.raises(SourceError) as err:
        read_all(database.source(table=name))
    assert err.value.exit_code == 4
    assert "source 'app-db'" in str(err.value) and name in str(err.value)


def test_nulls_are_none(database: Database) -> None:  # noqa: F811
    """NULL arrives as None in text and number columns alike, never as "None"."""
    table = database.table(["id", Column("n", Integer), "note"], [("1", None, None), ("2", 5, "x")])
    assert values_of(database.source(table=table.name)) == [("1", None, None), ("2", 5, "x")]


def typed_columns() -> list[Column[Any]]:
    """A column of each type the coercion stage meets (fresh objects: one table each)."""
    return [
        Column("id", Integer),
        Column("big", BigInteger),
        Column("amount", Numeric(10, 2)),
        Column("ratio", Float),
        Column("flag", Boolean),
        Column("born", Date),
        Column("seen_at", DateTime(timezone=False)),
        Column("photo", LargeBinary),
    ]
TYPED_ROW = (
    1, 2**40, Decimal("1234.50"), 0.25, True, date(1990, 4, 1),
    datetime(2024, 5, 6, 7, 8, 9), b"\x00\xffPNG",  # noqa: DTZ001  # a naive column on purpose
)


@pytest.mark.parametrize(
    ("kind", "flag"),
    [("postgresql", True), ("mariadb", 1)],  # MariaDB's BOOLEAN is TINYINT(1)
)
def test_driver_types_arrive_untouched(request: pytest.FixtureRequest, kind: str, flag: object) -> None:
    """Decimal, int, float, bool, date, naive datetime and bytes keep their Python types."""
    db: Database = request.getfixturevalue("postgres" if kind == "postgresql" else "mariadb")
    table = db.table(typed_columns(), [TYPED_ROW])
    [values] = values_of(db.source(table=table.name))
    assert values == (*TYPED_ROW[:4], flag, *TYPED_ROW[5:])
    assert [type(v) for v in values] == [int, int, Decimal, float, type(flag), date, datetime, bytes]
    assert values[6].tzinfo is None


def test_aware_datetimes_arrive_aware_on_postgresql(postgres: Database) -> None:  # noqa: F811
    """A ``timestamptz`` arrives as an aware datetime for the same instant."""
    instant = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=-7)))
    table = postgres.table([Column("at", DateTime(timezone=True))], [(instant,)])
    [(value,)] = values_of(postgres.source(table=table.name))
    assert isinstance(value, datetime) and value.tzinfo is not None
    assert value == instant and value.astimezone(UTC) == instant.astimezone(UTC)


def test_sqlite_values_are_what_sqlite_stores(sqlite: Database) -> None:  # noqa: F811
    """SQLite gives its storage classes: int, float, text and bytes, untouched."""
    table = sqlite.table([Column("n", Integer), Column("r", Float), "t", Column("b", LargeBinary)],
                           [(7, 1.5, "x", b"\x00\x01")])
    assert values_of(sqlite.source(table=table.name)) == [(7, 1.5, "x", b"\x00\x01")]


def test_column_names_are_the_databases(database: Database) -> None:  # noqa: F811
    """A quoted ``"First_Name"`` keeps its case, and the mapping finds it as ``first_name``."""
    table = database.table(["id", "First_Name", "EMAIL"], [("1", "Ann", "a@example.com")])
    columns, _, _ = read_all(database.source(table=table.name))
    assert columns == ("id", "First_Name", "EMAIL")
    assert resolve_column(columns, "first_name", source="app-db", what="firstName") == 1


def test_a_query_naming_a_column_twice_is_refused(database: Database) -> None:  # noqa: F811
    """Two result columns with one name would be ambiguous for the mapping."""
    table = database.table(["id"], [("1",)])
    q = database.quote
    with pytest.raises(SourceError, match="more than once"):
        read_all(database.source(query=f"SELECT {q('id')}, {q('id')} FROM {q(table.name)}"))


# --- read-only --------------------------------------------------------------------------


def test_a_query_that_writes_is_refused(database: Database) -> None:  # noqa: F811
    """A DELETE as the query fails with a SourceError, and the rows are still there."""
    table = database.table(["id"], [("1",), ("2",)])
    with pytest.raises(SourceError) as err:
        read_all(database.source(query=f"DELETE FROM {database.quote(table.name)}"))
    assert err.value.exit_code == 4
    assert "read-only transaction: the query must not write" in str(err.value)
    assert database.count(table) == 2


def test_a_writing_function_is_refused_on_postgresql(postgres: Database) -> None:  # noqa: F811
    """``SELECT nextval(...)`` writes, so the read-only transaction refuses it."""
    sequence = unique_name("seq")
    postgres.execute(f"CREATE SEQUENCE {sequence}", cleanup=f"DROP SEQUENCE {sequence}")
    with pytest.raises(SourceError, match="read-only transaction") as err:
        read_all(postgres.source(query=f"SELECT nextval('{sequence}') AS n"))
    assert "nextval" in str(err.value)


def test_reads_report_their_read_only_mode(database: Database) -> None:  # noqa: F811
    """``info`` says how the read was made read-only."""
    table = database.table(["id"], [("1",)])
    _, _, info = read_all(database.source(table=table.name))
    expected = {
        "sqlite": "PRAGMA query_only = ON",
        "postgresql": "SET TRANSACTION READ ONLY",
        "mariadb": "START TRANSACTION READ ONLY",
    }
    assert info["read_only"] == expected[database.kind]


def test_the_read_leaves_nothing_open(database: Database) -> None:  # noqa: F811
    """Stopping after one record releases the connection: the table can be dropped at once."""
    table = database.table(["id"], [(str(i),) for i in range(5000)])
    with database.source(table=table.name, batch_size=100).open() as stream:
        assert next(stream.records).values == ("0",)
    # A leaked reader would hold a lock that makes this DROP wait, then fail.
    drop = f"DROP TABLE {database.quote(table.name)}"
    statements = {
        "sqlite": ["PRAGMA busy_timeout = 2000", drop],
        "postgresql": ["SET LOCAL lock_timeout = '2s'", drop],
        "mariadb": [f"SET STATEMENT lock_wait_timeout = 2 FOR {drop}"],
    }[database.kind]
    with database.engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    database.metadata.remove(table)
    # And SQLite's query_only was that connection's only: the file is writable again.
    with database.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE after_read (x int)")
        conn.exec_driver_sql("DROP TABLE after_read")


# --- connection problems ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/test",
        f"mysql+pymysql://root:{PASSWORD}@127.0.0.1:1/test",
    ],
)
def test_an_unreachable_server_is_a_source_error_without_the_password(tmp_path: Path, url: str) -> None:
    """Nothing listens on port 1: exit code 4, the message says so, the password is hidden."""
    with pytest.raises(SourceError) as err:
        read_all(sql_source(url, tmp_path, table="t"))
    message = str(err.value)
    assert err.value.exit_code == 4
    assert "cannot connect" in message and "127.0.0.1:1" in message
    assert PASSWORD not in message and "***" in message


def test_wrong_password_on_mariadb(mariadb: Database) -> None:  # noqa: F811
    """A refused login is a SourceError with the server's reason and no password."""
    url = mariadb.url.replace("root@", f"root:{PASSWORD}@")
    with pytest.raises(SourceError, match="Access denied") as err:
        read_all(mariadb.source(table="t", url=url))
    assert PASSWORD not in str(err.value)


def test_password_echoed_by_the_server_is_scrubbed(postgres: Database) -> None:  # noqa: F811
    """Even when the driver's message contains the password text, it is replaced."""
    # Trust auth accepts any password; naming a database after it makes the server echo it.
    url = postgres.url.replace("@", f":{PASSWORD}@").replace("/test", f"/{PASSWORD}")
    with pytest.raises(SourceError, match=r'database "\*\*\*" does not exist') as err:
        read_all(postgres.source(table="t", url=url))
    assert PASSWORD not in str(err.value)
    assert PASSWORD not in postgres.source(table="t", url=url).describe()


def test_describe_hides_the_password(tmp_path: Path, postgres: Database) -> None:  # noqa: F811
    """``describe`` names the database and table, never the password."""
    url = postgres.url.replace("@", f":{PASSWORD}@")
    described = postgres.source(table="sales.customers", url=url).describe()
    assert PASSWORD not in described
    assert "***" in described and "table sales.customers" in described
    assert postgres.source(query="SELECT 1").describe().endswith(", query)")


def test_an_unset_url_env_is_a_config_error(tmp_path: Path) -> None:
    """No URL in the environment: a ConfigError naming the variable."""
    source = SqlSource(SqlOptions(url_env="CONTACTS_DB_URL", table="t"),
                       SourceContext("app-db", tmp_path, {}))
    with pytest.raises(ConfigError, match="CONTACTS_DB_URL is not set"):
        read_all(source)
    assert "URL in $CONTACTS_DB_URL" in source.describe()


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(f"not a url {PASSWORD}", id="not-a-url"),
        pytest.param(f"postgresql+psycopg://u:{PASSWORD}@127.0.0.1:notaport/test", id="bad-port"),
    ],
)
def test_an_unparseable_url_is_a_config_error_that_does_not_echo_it(tmp_path: Path, url: str) -> None:
    """The URL may hold a password, so the message does not repeat it."""
    with pytest.raises(ConfigError, match="is not a database URL") as err:
        read_all(sql_source(url, tmp_path, table="t"))
    assert PASSWORD not in str(err.value)


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [
        (f"postgresql+pg8000://u:{PASSWORD}@127.0.0.1/test", "pg8000", "postgres"),
        (f"mysql+mysqldb://u:{PASSWORD}@127.0.0.1/test", "MySQLdb", "mysql"),
    ],
)
def test_a_driver_that_is_not_installed_names_the_extra(
    tmp_path: Path, url: str, module: str, extra: str
) -> None:
    """A URL for a missing driver says which extra to install, without the password."""
    assert importlib.util.find_spec(module) is None, f"{module} is installed; pick another driver"
    source = sql_source(url, tmp_path, table="t")
    with pytest.raises(ConfigError) as err:
        read_all(source)
    assert f"pip install 'openphone-sync[{extra}]'" in str(err.value)
    assert PASSWORD not in str(err.value)


def test_an_unknown_dialect_is_a_config_error(tmp_path: Path) -> None:
    """A URL naming no SQLAlchemy dialect says what is supported."""
    source = sql_source("nosuchdb://h/db", tmp_path, table="t")
    with pytest.raises(ConfigError, match="postgresql\\+psycopg"):
        read_all(source)


def test_a_url_without_a_driver_uses_ours(postgres: Database, mariadb: Database) -> None:  # noqa: F811
    """``postgresql://``, ``postgres://`` and ``mysql://`` read through psycopg and PyMySQL."""
    cases = [(postgres, "postgresql+psycopg://", "postgresql://"), (postgres, "postgresql+psycopg://", "postgres://"),
             (mariadb, "mysql+pymysql://", "mysql://")]
    for db, prefix, bare_prefix in cases:
        table = db.table(["id"], [("1",)])
        bare = db.url.replace(prefix, bare_prefix)
        _, records, info = read_all(db.source(table=table.name, url=bare))
        assert [r.values for r in records] == [("1",)]
        assert str(info["database"]).startswith(prefix)


def test_options_the_driver_refuses_are_a_config_error(mariadb: Database) -> None:  # noqa: F811
    """An unknown option in the URL's query string names the problem, not a TypeError."""
    url = mariadb.url.replace("root@", f"root:{PASSWORD}@") + "?no_such_option=1"
    with pytest.raises(ConfigError, match="no_such_option") as err:
        read_all(mariadb.source(table="t", url=url))
    assert PASSWORD not in str(err.value)


def test_a_missing_sqlite_file_is_a_source_error_and_is_not_created(tmp_path: Path) -> None:
    """SQLite would create an empty file; the source says the file is missing instead."""
    missing = tmp_path / "nope.db"
    source = sql_source("sqlite:///nope.db", tmp_path, table="t")
    with pytest.raises(SourceError, match="does not exist"):
        read_all(source)
    assert not missing.exists()


def test_a_relative_sqlite_path_is_taken_from_the_config_folder(sqlite: Database) -> None:  # noqa: F811
    """``sqlite:///source.db`` means the file next to the config, not in the cwd."""
    table = sqlite.table(["id"], [("1",)])
    assert values_of(sqlite.source(table=table.name, url="sqlite:///source.db")) == [("1",)]


# --- memory -------------------------------------------------------------------------------


def _fill(db: Database, rows: int) -> str:
    table = db.table([Column("id", Integer), "first_name", "email", "phone", Column("amount", Numeric(10, 2))])
    db.execute(
        f"INSERT INTO {table.name} SELECT g, 'Name ' || g, 'n' || g || '@example.com', "
        f"'+1415555' || lpad(mod(g, 10000)::text, 4, '0'), g / 7.0 FROM generate_series(1, {rows}) g"
    )
    return table.name


def _peak_while_reading(source: Source) -> tuple[int, int]:
    """(records read, tracemalloc peak in bytes) for one read that keeps nothing."""
    tracemalloc.start()
    try:
        count = 0
        with source.open() as stream:
            for _ in stream.records:
                count += 1
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_memory_stays_flat_on_a_250k_row_postgresql_table(postgres: Database) -> None:  # noqa: F811
    """Peak memory reading 250,000 rows is within 1.5x of reading 50,000 (streamed, not loaded)."""
    small, large = _fill(postgres, 50_000), _fill(postgres, 250_000)
    count_small, peak_small = _peak_while_reading(postgres.source(table=small))
    count_large, peak_large = _peak_while_reading(postgres.source(table=large))
    assert (count_small, count_large) == (50_000, 250_000)
    assert peak_large <= 1.5 * peak_small, (peak_small, peak_large)
