"""Two sync processes started at the same moment on one state store: one runs, one exits 4."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from state.store import StateStore
from sync.errors import LockHeldError
from sync.recovery import keep_run_lock
from tests.chaos.bench import Bench
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


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.parametrize("pid", ["dead", "ours"])
def test_the_lock_of_a_run_killed_on_this_host_is_taken_over(tmp_path: Path, state_url: str, pid: str):
    """A lock left by a dead process on this host (or a restarted container's old pid) is taken over."""
    bench = Bench(tmp_path, state_url)
    bench.write("crm", [row(1)])
    holder_pid = _dead_pid() if pid == "dead" else os.getpid()
    with StateStore.open(state_url) as store:
        store.acquire_lock(f"{os.uname().nodename}:{holder_pid}:deadrun", wait_seconds=0)
    assert bench.run(lock_wait=0).exit_code == 0
    with StateStore.open(state_url) as store:
        assert store.lock_holder() is None


@pytest.mark.parametrize("owner", [
    f"{os.uname().nodename}:{os.getppid()}:live",  # a live process on this host
    "another-host:1:remote",  # another host: its lease is waited out
    "not-an-owner-we-wrote",
])
def test_a_lock_held_by_a_live_or_unknown_run_is_respected(tmp_path: Path, state_url: str, owner: str):
    """Live holders, holders on other hosts and foreign owner strings keep the lock: LockHeldError."""
    bench = Bench(tmp_path, state_url)
    bench.write("crm", [row(1)])
    with StateStore.open(state_url) as store:
        store.acquire_lock(owner, wait_seconds=0)
        with pytest.raises(LockHeldError):
            bench.run(lock_wait=0.2)
        assert store.lock_holder().owner == owner  # type: ignore[union-attr]
    assert bench.contacts() == {}


def test_a_run_keeps_its_lease_alive_and_stops_if_the_lock_is_lost(state_url: str):
    """keep_run_lock renews a short lease (nobody can take it); when the lock is gone it calls on_lost."""
    lost: list[bool] = []

    async def scenario(store: StateStore) -> None:
        store.acquire_lock("me", wait_seconds=0, lease_seconds=0.3)
        keeper = asyncio.create_task(
            keep_run_lock(store, "me", lambda: lost.append(True), every=0.05, lease_seconds=0.3)
        )
        await asyncio.sleep(0.8)  # well past the first lease
        with pytest.raises(LockHeldError):
            store.acquire_lock("intruder", wait_seconds=0)
        assert not lost
        store.release_lock("me")  # as if the lease had run out and another run took it
        await asyncio.wait_for(keeper, timeout=2)
        assert lost == [True]

    with StateStore.open(state_url) as store:
        asyncio.run(scenario(store))
