"""Reading links for planning, and the bookkeeping done without API calls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, insert

from state import StateStore
from state.models import links

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _seed(raw_db: Engine, source: str, keys: list[str], **overrides: object) -> None:
    """Insert synced links directly (fast), as earlier runs would have left them."""
    rows = [
        {
            "source": source,
            "external_id": key,
            "contact_id": f"c-{key}",
            "fingerprint": f"fp-{key}",
            "raw_hash": f"raw-{key}",
            "payload": "{}",
            "status": "synced",
            "attempts": 0,
            "missing_runs": 0,
            "row": n + 2,
            "created_at": NOW,
            "updated_at": NOW,
            "synced_at": NOW,
            **overrides,
        }
        for n, key in enumerate(keys)
    ]
    with raw_db.begin() as connection:
        connection.execute(insert(links), rows)


def _fail(store: StateStore, key: str, source: str = "crm") -> None:
    intent = store.begin_intent("run-x", source, key, "update", None, None)
    store.fail_intent(intent, source=source, external_id=key, error="boom", row=None)


@pytest.fixture
def statement_sizes() -> Iterator[list[int]]:
    """The number of bound parameters of every statement any engine runs meanwhile."""
    sizes: list[int] = []

    def record(_conn: object, _cursor: object, _sql: str, params: object, *_rest: object) -> None:
        if isinstance(params, dict | tuple | list):
            sizes.append(len(params))

    event.listen(Engine, "before_cursor_execute", record)
    yield sizes
    event.remove(Engine, "before_cursor_execute", record)


def test_load_index_maps_every_key_to_its_raw_hash(store: StateStore, raw_db: Engine) -> None:
    """The index holds each link of the source; a failed link's hash reads as None."""
    _seed(raw_db, "crm", ["a", "b", "c"])
    _seed(raw_db, "other", ["a"])
    _fail(store, "b")

    assert store.load_index("crm") == {"a": "raw-a", "b": None, "c": "raw-c"}
    assert store.load_index("nobody") == {}


def test_keys_differing_only_by_case_or_trailing_space_are_distinct(store: StateStore) -> None:
    """External ids compare exactly on every backend (MySQL collations would not)."""
    for key in ("Ab", "ab", "ab "):
        intent = store.begin_intent("run-1", "crm", key, "create", key, None)
        store.complete_upsert(
            intent,
            source="crm",
            external_id=key,
            contact_id=f"c{key}",
            fingerprint=key,
            raw_hash=key,
            payload={},
            row=1,
        )

    assert store.load_index("crm") == {"Ab": "Ab", "ab": "ab", "ab ": "ab "}
    assert sorted(store.load_links("crm", ["ab"])) == ["ab"]


def test_load_links_batches_more_than_500_keys(
    store: StateStore, raw_db: Engine, statement_sizes: list[int]
) -> None:
    """1,234 keys come back in full, through queries of at most 500 keys each."""
    keys = [f"k{n:05d}" for n in range(1234)]
    _seed(raw_db, "crm", keys)
    statement_sizes.clear()

    found = store.load_links("crm", [*keys, "absent", keys[0]])

    assert sorted(found) == keys
    assert found["k00007"].contact_id == "c-k00007"
    assert len([size for size in statement_sizes if size > 100]) >= 3
    assert max(statement_sizes) <= 501  # the keys plus the source


def test_load_links_without_keys_returns_the_whole_source(store: StateStore, raw_db: Engine) -> None:
    """With no keys given, every link of the source is returned, and only those."""
    _seed(raw_db, "crm", ["a", "b"])
    _seed(raw_db, "other", ["z"])

    assert sorted(store.load_links("crm")) == ["a", "b"]
    assert store.load_links("crm", []) == {}


def test_count_links_counts_only_contacts_the_source_owns(store: StateStore, raw_db: Engine) -> None:
    """A failed create (no contact id) is not a contact the source owns."""
    _seed(raw_db, "crm", ["a", "b"])
    _fail(store, "never-created")

    assert store.count_links("crm") == 2
    assert store.count_links("other") == 0


def test_sources_lists_each_source_once_sorted(store: StateStore, raw_db: Engine) -> None:
    """Every source with links appears once, in name order."""
    _seed(raw_db, "zeta", ["1", "2"])
    _seed(raw_db, "alpha", ["1"])

    assert store.sources() == ["alpha", "zeta"]


def test_set_raw_hashes_updates_synced_links_only(store: StateStore, raw_db: Engine) -> None:
    """Raw hashes are stored for synced links; failed and unknown keys are left alone."""
    keys = [f"k{n}" for n in range(600)]
    _seed(raw_db, "crm", keys)
    _fail(store, "k1")

    store.set_raw_hashes("crm", {key: f"new-{key}" for key in [*keys, "unknown"]})

    index = store.load_index("crm")
    assert index["k0"] == "new-k0"
    assert index["k599"] == "new-k599"
    assert index["k1"] is None
    assert "unknown" not in index
    assert store.load_links("crm", ["k1"])["k1"].raw_hash is None


def test_missing_counters_grow_and_reset(store: StateStore, raw_db: Engine) -> None:
    """Each bump adds one run missing; a reset clears it; unknown keys are ignored."""
    keys = [f"k{n}" for n in range(700)]
    _seed(raw_db, "crm", keys)

    assert store.bump_missing("crm", ["k1", "k2", "nope"]) == {"k1": 1, "k2": 1}
    assert store.bump_missing("crm", ["k1"] * 600) == {"k1": 2}
    expected = {key: {"k1": 3, "k2": 2}.get(key, 1) for key in keys}
    assert store.bump_missing("crm", keys) == expected
    store.reset_missing("crm", [key for key in keys if key != "k2"])

    assert store.missing_counts("crm") == {"k2": 2}
    assert store.missing_counts("other") == {}


def test_failed_links_lists_the_latest_failures(store: StateStore, raw_db: Engine) -> None:
    """Failed links come newest first with their error, up to the limit."""
    _seed(raw_db, "crm", ["a", "b", "c"])
    for key in ("a", "b", "c"):
        _fail(store, key)

    failed = store.failed_links(limit=2)

    assert [link.external_id for link in failed] == ["c", "b"]
    assert {link.last_error for link in failed} == {"boom"}
    assert len(store.failed_links()) == 3
