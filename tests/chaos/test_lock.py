"""Two sync processes started at the same moment on one state store: one runs, one exits 4."""

from __future__ import annotations

from pathlib import Path

import pytest

from state.store import StateStore
from tests.chaos.harness import (
    audit,
    finish,
    row,
    sandbox_process,
    start_sync,
    write_config,
    write_rows,
)

ROWS = 160
RATE = 20  # requests a second: the first run holds the lock well past the second's 5 s wait


@pytest.mark.slow
def test_two_syncs_started_together_one_runs_the_other_exits_4(tmp_path: Path, state_url: str):
    """Started together: exactly one applies (each contact created once), the other exits 4 untouched."""
    rows = [row(n) for n in range(ROWS)]
    write_rows(tmp_path / "contacts.csv", rows)
    with sandbox_process(tmp_path, "--rate-limit", "200", "--latency-ms", "5") as sandbox:
        config = write_config(tmp_path / "sync.toml", sandbox.base_url, state_url, rate=RATE)
        first = start_sync(config, "--output", "json", tag="first")
        second = start_sync(config, "--output", "json", tag="second")
        results = [finish(*first), finish(*second)]
        stats = sandbox.stats()
        result = audit(sandbox.contacts(), rows, state_url)
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 4], [(r.returncode, r.stderr[-2000:]) for r in results]
    winner = next(r for r in results if r.returncode == 0)
    loser = next(r for r in results if r.returncode == 4)
    assert winner.json()["summary"]["create"] == ROWS
    assert "another run holds the lock" in loser.json()["error"]["message"]
    assert stats["by_method"]["POST"] == ROWS, "every contact was sent once"
    assert "PATCH" not in stats["by_method"] and "DELETE" not in stats["by_method"]
    assert result.clean, result
    with StateStore.open(state_url) as store:
        assert len(store.recent_runs()) == 1, "the loser never started a run"
        assert store.lock_holder() is None
