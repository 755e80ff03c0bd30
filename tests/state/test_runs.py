"""Runs for ``sync status``, and the custom-field definitions cache."""

from __future__ import annotations

from datetime import UTC

import pytest

from state import StateStore
from sync.errors import StateError

SUMMARY = {"create": 3, "update": 1, "delete": 0, "failed": 1, "note": "café"}


def test_a_run_is_recorded_from_start_to_finish(store: StateStore) -> None:
    """A started run has no outcome; finishing it records outcome, summary and counters."""
    store.start_run("run-1", "apply")
    started = store.recent_runs()[0]
    assert (started.mode, started.outcome, started.finished_at) == ("apply", None, None)
    assert started.started_at.tzinfo == UTC

    store.finish_run("run-1", outcome="failed", summary=SUMMARY, api_calls=42, rate_limited=3)

    finished = store.recent_runs()[0]
    assert (finished.outcome, finished.summary) == ("failed", SUMMARY)
    assert (finished.api_calls, finished.rate_limited) == (42, 3)
    assert finished.finished_at is not None
    assert finished.finished_at >= finished.started_at


def test_recent_runs_come_newest_first_up_to_the_limit(store: StateStore) -> None:
    """``sync status`` sees the latest runs first."""
    for n in range(4):
        store.start_run(f"run-{n}", "dry-run" if n % 2 else "apply")

    assert [run.run_id for run in store.recent_runs(limit=3)] == ["run-3", "run-2", "run-1"]
    assert store.recent_runs(limit=3)[0].summary == {}


def test_finishing_an_unknown_run_is_an_error(store: StateStore) -> None:
    """An outcome for a run that never started is refused."""
    with pytest.raises(StateError, match="no run 'ghost'"):
        store.finish_run("ghost", outcome="ok", summary={}, api_calls=0, rate_limited=0)


def test_a_run_id_is_used_once(store: StateStore) -> None:
    """Starting the same run twice is a state error, not a second row."""
    store.start_run("run-1", "apply")

    with pytest.raises(StateError, match="could not record a run"):
        store.start_run("run-1", "apply")
    assert len(store.recent_runs()) == 1


def test_unknown_modes_and_outcomes_are_refused(store: StateStore) -> None:
    """Only the documented modes and outcomes are stored."""
    with pytest.raises(ValueError, match="run mode"):
        store.start_run("run-1", "maybe")
    store.start_run("run-1", "apply")
    with pytest.raises(ValueError, match="outcome"):
        store.finish_run("run-1", outcome="meh", summary={}, api_calls=0, rate_limited=0)


def test_custom_fields_are_unknown_until_fetched(store: StateStore) -> None:
    """Never fetched is None; fetched and empty is an empty list."""
    assert store.load_custom_fields() is None

    store.save_custom_fields([])

    assert store.load_custom_fields() == []


def test_saving_custom_fields_replaces_the_cache(store: StateStore) -> None:
    """The cache holds exactly the last definitions saved, in their order."""
    store.save_custom_fields(
        [
            {"name": "Region", "key": "k2", "type": "string"},
            {"name": "Old", "key": "k9", "type": "boolean"},
        ]
    )
    latest = [
        {"name": "Zip", "key": "k3", "type": "string"},
        {"name": "Région", "key": "k2", "type": "multi-select"},
    ]

    store.save_custom_fields(latest)

    assert store.load_custom_fields() == latest
