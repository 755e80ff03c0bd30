"""Database failures surface as StateError, never with a password in them."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from state import StateStore
from sync.errors import StateError

SECRET_URL = "postgresql+psycopg://u:s3cret@127.0.0.1:1/x"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and every cause or context behind it."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def test_an_unreachable_server_is_a_state_error_without_the_password() -> None:
    """The error names the store with the password hidden, in every chained message."""
    with pytest.raises(StateError) as caught:
        StateStore.open(SECRET_URL)

    message = str(caught.value)
    assert "u:***@127.0.0.1:1/x" in message
    assert "could not open the state store" in message
    chain = _chain(caught.value)
    assert any(isinstance(exc, SQLAlchemyError) for exc in chain)
    for exc in chain:
        assert "s3cret" not in str(exc)
        assert "s3cret" not in repr(exc)
        assert "s3cret" not in repr(exc.args)


@pytest.mark.parametrize(
    "url", ["s3cret-but-not-a-url", "postgresql+psycopg://u:s3cret@127.0.0.1:notaport/test"]
)
def test_an_unparseable_url_is_not_echoed(url: str) -> None:
    """A URL SQLAlchemy cannot parse (or whose port is not a number) is refused without
    repeating it (it may hold secrets)."""
    with pytest.raises(StateError, match="not a database URL") as caught:
        StateStore.open(url)

    assert all("s3cret" not in str(exc) for exc in _chain(caught.value))


def test_a_missing_driver_is_a_state_error() -> None:
    """An unknown backend is reported as a state error naming it."""
    with pytest.raises(StateError, match="nosuchdb"):
        StateStore.open("nosuchdb://u:s3cret@host/db")


def test_errors_during_use_are_translated(store: StateStore, raw_db: Engine) -> None:
    """A query that fails later (table gone) raises StateError naming what was attempted."""
    with raw_db.begin() as connection:
        connection.execute(text("DROP TABLE state_links"))

    with pytest.raises(StateError, match="could not load the link index") as caught:
        store.load_index("crm")
    assert isinstance(caught.value.__cause__, SQLAlchemyError)
    assert "[SQL:" not in str(caught.value)
