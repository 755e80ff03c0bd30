"""Fixtures of the state store tests: an open store and a plain engine on a fresh database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine

from state import StateStore
from tests.state.databases import any_state_url, mysql_admin, postgres_admin, state_url

__all__ = ["any_state_url", "mysql_admin", "postgres_admin", "raw_db", "state_url", "store"]


@pytest.fixture
def store(any_state_url: str) -> Iterator[StateStore]:
    """An open, migrated state store on a fresh database (every backend)."""
    with StateStore.open(any_state_url) as opened:
        yield opened


@pytest.fixture
def raw_db(any_state_url: str) -> Iterator[Engine]:
    """A plain engine on the same database as ``store``, to look under the hood."""
    engine = create_engine(any_state_url)
    yield engine
    engine.dispose()
