"""Safety gates hold deletes back when a source looks broken, and only then."""

from __future__ import annotations

import pytest

from sync.gates import GateInput, hold_reason


def facts(**kw: object) -> GateInput:
    base: dict[str, object] = {"deletes": 1, "rows_read": 99, "owned": 100, "max_deletes": 50,
                               "max_delete_ratio": 0.10}
    base.update(kw)
    return GateInput(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "held"),
    [
        pytest.param({}, False, id="one-row-removed"),
        pytest.param({"deletes": 0, "rows_read": 0}, False, id="nothing-to-delete"),
        pytest.param({"deletes": 100, "rows_read": 0}, True, id="empty-source"),
        pytest.param({"deletes": 51, "owned": 1000}, True, id="over-max-deletes"),
        pytest.param({"deletes": 9, "owned": 20}, False, id="under-ratio-floor"),
        pytest.param({"deletes": 10, "owned": 50}, True, id="over-ratio"),
        pytest.param({"deletes": 10, "owned": 200}, False, id="within-ratio"),
        pytest.param({"deletes": 3, "owned": 3}, False, id="small-sheet-under-floor"),
        pytest.param({"deletes": 60, "owned": 60, "allow_deletes": 60}, False, id="allowed"),
        pytest.param({"deletes": 61, "owned": 60, "allow_deletes": 60}, True, id="over-allowed"),
        pytest.param({"deletes": 8, "owned": 8, "rows_read": 8, "keyless_rows": 8}, True,
                     id="every-key-blank"),
        pytest.param({"keyless_rows": 1}, False, id="one-unrelated-keyless-row"),
        pytest.param({"keyless_rows": 1, "lookalikes": ("row 7 looks like K5",)}, True,
                     id="cleared-key-lookalike"),
        pytest.param({"keyless_rows": 1, "lookalikes": ("row 7 looks like K5",), "allow_deletes": 1},
                     False, id="lookalike-allowed"),
    ],
)
def test_gate_table(kw: dict, held: bool):
    """Each case holds back deletes exactly when the rule says so."""
    assert (hold_reason(facts(**kw)) is not None) is held


def test_a_lookalike_reason_names_the_rows_and_the_way_out():
    """A cleared key is told apart from a removed row by the row that is still there."""
    reason = hold_reason(facts(keyless_rows=2, lookalikes=("row 7 looks like K5", "row 9 looks like K8")))
    assert reason is not None
    assert "row 7 looks like K5, row 9 looks like K8" in reason and "--allow-deletes" in reason


def test_reason_names_the_limit():
    """The reason tells the user which limit was hit and how to let it through."""
    reason = hold_reason(facts(deletes=51, owned=1000))
    assert reason is not None and "max_deletes = 50" in reason and "--allow-deletes" in reason
