"""The planner's one-call row hash is exactly raw_hash of the mapped cells' text."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.fingerprint import raw_hash, row_hasher

SEED = b"0123456789abcdef"


def _reference(values: tuple[Any, ...], indices: list[int]) -> str:
    """What the state store holds for a row: raw_hash of the texts (repr when not all text)."""
    picked = [values[i] for i in indices]
    if all(type(v) is str for v in picked):
        return raw_hash(picked, SEED)
    return raw_hash(["\x00" if v is None else repr(v) for v in picked], SEED)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(("K1", "Ada", "", "ada@x.org"), id="text"),
        pytest.param(("K1", "Zoë", "\u202eRTL", "😀"), id="unicode"),
        pytest.param(("K1", "lone \udc80 surrogate", "b", "c"), id="surrogate"),
        pytest.param((1, None, Decimal("1.50"), date(2024, 3, 4)), id="sql-values"),
        pytest.param(("K1", None, "b", "c"), id="text-and-null"),
    ],
)
@pytest.mark.parametrize("indices", [[0], [1], [0, 1, 2, 3], [3, 1]], ids=str)
def test_the_row_hash_equals_raw_hash_of_the_cells(values: tuple[Any, ...], indices: list[int]):
    assert row_hasher(SEED, indices)(values) == _reference(values, indices)


cells = st.one_of(st.text(), st.none(), st.integers(), st.decimals(allow_nan=False))


@given(st.lists(cells, min_size=1, max_size=6), st.data())
def test_any_row_hashes_as_raw_hash_does(values: list[Any], data: st.DataObject):
    indices = data.draw(st.lists(st.integers(0, len(values) - 1), min_size=1, max_size=len(values)))
    row = tuple(values)
    assert row_hasher(SEED, indices)(row) == _reference(row, indices)
