"""SIGKILL a real sync process at random points against a faulty sandbox: nothing is lost or doubled.

The figures of the README's reliability section come from this test: it prints them and
keeps them in ``chaos-report.json`` under the test's tmp dir.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from state.records import Intent
from state.store import StateStore
from tests.chaos.harness import (
    Sandbox,
    audit,
    row,
    run_sync,
    sandbox_process,
    start_sync,
    write_config,
    write_rows,
)

SEED = 20261203
ROWS = 300
KILLS = 24
MAX_KILLS = 60  # kills go on past KILLS until a create, an update and a delete were each cut
FAULTS = (
    "--rate-limit", "200", "--latency-ms", "4", "--jitter-ms", "3", "--fail-rate", "0.05",
    "--reset-rate", "0.02", "--spurious-429-rate", "0.01", "--ambiguous-create-rate", "0.10",
)
# Deletes are what this test kills mid-flight, not what the gates hold (tested elsewhere).
NO_RATIO_GATE = "max_delete_ratio = 1.0"


def _mutate(rows: dict[str, dict[str, str]], rng: random.Random, step: int) -> dict[str, int]:
    """Edit, delete and add a few rows, so updates and deletes get killed mid-flight too."""
    keys = sorted(rows, key=lambda k: int(k[1:]))
    for key in rng.sample(keys, 6):
        column = rng.choice(["Email", "Company", "Mobile", "Tier", "Email"])
        n = int(key[1:])
        rows[key][column] = {
            "Email": f"p{n}.s{step}@example.com",
            "Company": f"Company {step}",
            "Mobile": f"(415) 555-{100 + rng.randrange(100):04d}",
            "Tier": rng.choice(["Gold", "Silver", ""]),
        }[column]
    for key in rng.sample(keys, 2):
        del rows[key]
    for _ in range(2):
        n = ROWS + step * 10 + _
        rows[f"K{n}"] = row(n)
    return {"edited": 6, "deleted": 2, "added": 2}


def _kill_somewhere(sandbox: Sandbox, config: Path, rng: random.Random, tag: str) -> bool:
    """Start a sync and SIGKILL it after a random number of API requests (or a random delay).

    Returns True when it was killed, False when it finished first.
    """
    process, _, _ = start_sync(config, "--output", "json", tag=tag)
    by_time = rng.random() < 0.2  # some kills land during start-up, recovery or planning
    deadline = time.monotonic() + rng.uniform(0.2, 1.5)
    target = sandbox.requests_seen() + rng.randint(1, 60)
    while process.poll() is None:
        if (time.monotonic() >= deadline) if by_time else (sandbox.requests_seen() >= target):
            process.kill()
            process.wait()
            return True
        time.sleep(0.01)
    return False


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing_and_duplicates_nothing(tmp_path: Path):
    """≥20 SIGKILLs over a few hundred rows with faults on: each contact once, right values, state agrees."""
    rng = random.Random(SEED)
    rows = {f"K{n}": row(n) for n in range(ROWS)}
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    csv_path = tmp_path / "contacts.csv"
    changes = {"edited": 0, "deleted": 0, "added": 0}
    mid_flight: Counter[str] = Counter()  # writes a kill left without an outcome, by kind
    with sandbox_process(tmp_path, *FAULTS, seed=SEED) as sandbox:
        config = write_config(tmp_path / "sync.toml", sandbox.base_url, state_url,
                              sources=[("crm", "contacts.csv", NO_RATIO_GATE)])
        kills = runs_finished = 0
        started = time.monotonic()
        # Where a kill lands depends on timing: go on until each kind of write has been cut
        # off mid-flight at least once, so every run of the test exercises all three.
        while kills < KILLS or (kills < MAX_KILLS and not _each_kind_cut(mid_flight)):
            if kills >= 4:
                for what, count in _mutate(rows, rng, kills).items():
                    changes[what] += count
            write_rows(csv_path, list(rows.values()))
            if _kill_somewhere(sandbox, config, rng, tag=f"run{kills}-{runs_finished}"):
                kills += 1
                for intent in _open_intents(state_url):
                    mid_flight[intent.kind] += 1
            else:
                runs_finished += 1
        finals = []
        for _ in range(4):  # let it finish; a row may still fail once under 5% faults
            finals.append(run_sync(config, "--output", "json"))
            if finals[-1].returncode == 0:
                break
        elapsed = time.monotonic() - started
        assert finals[-1].returncode == 0, finals[-1].stderr[-3000:]
        result = audit(sandbox.contacts(), list(rows.values()), state_url)
        stats = sandbox.stats()
        quiet = run_sync(config, "--output", "json").json()
    report = _report(kills, runs_finished, len(finals), changes, stats, result, rows, elapsed)
    report["writes_cut_off_by_kills"] = dict(mid_flight)
    (tmp_path / "chaos-report.json").write_text(json.dumps(report, indent=2))
    print("chaos report:", json.dumps(report, indent=2))
    assert kills >= 20
    assert _each_kind_cut(mid_flight), f"in {kills} kills: {dict(mid_flight)}"
    assert result.duplicates == [] and result.lost == [] and result.extra == []
    assert result.wrong_values == {}
    assert result.state_mismatches == []
    assert result.open_intents == 0
    assert stats["by_status"].get("409", 0) == 0, "a create was sent for a contact that existed"
    assert quiet["summary"]["unchanged"] == len(rows)
    assert quiet["summary"]["create"] == quiet["summary"]["update"] == quiet["summary"]["delete"] == 0


def _each_kind_cut(mid_flight: Counter[str]) -> bool:
    return all(mid_flight[kind] for kind in ("create", "update", "delete"))


def _open_intents(state_url: str) -> list[Intent]:
    if not Path(state_url.removeprefix("sqlite:///")).exists():
        return []  # killed before the store was made
    with StateStore.open(state_url) as store:
        return store.open_intents()


def _report(
    kills: int, finished: int, final_runs: int, changes: dict[str, int],
    stats: dict[str, Any], result: Any, rows: dict[str, Any], elapsed: float,
) -> dict[str, Any]:
    return {
        "seed": SEED,
        "rows_at_end": len(rows),
        "kills_survived": kills,
        "runs_that_finished_before_their_kill_point": finished,
        "final_runs_to_finish": final_runs,
        "row_changes_between_kills": changes,
        "api_requests": stats["requests"],
        "faults_injected": stats["faults"],
        "responses_by_status": stats["by_status"],
        "duplicate_creates_refused_409": stats["by_status"].get("409", 0),
        "duplicates_found": len(result.duplicates),
        "rows_lost": len(result.lost),
        "contacts_not_in_source": len(result.extra),
        "wrong_values": len(result.wrong_values),
        "state_mismatches": len(result.state_mismatches),
        "open_intents": result.open_intents,
        "seconds": round(elapsed, 1),
    }


def test_a_run_after_a_sigkill_takes_the_dead_runs_lock_over(tmp_path: Path):
    """After kill -9 the lock is still held by the dead run; the next run takes it over and finishes."""
    rows = [row(n) for n in range(40)]
    write_rows(tmp_path / "contacts.csv", rows)
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    with sandbox_process(tmp_path, "--rate-limit", "200", "--latency-ms", "20") as sandbox:
        config = write_config(tmp_path / "sync.toml", sandbox.base_url, state_url, rate=20)
        process, _, _ = start_sync(config, tag="killed")
        deadline = time.monotonic() + 20
        while sandbox.stats()["by_method"].get("POST", 0) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        process.kill()
        assert process.wait(timeout=10) == -9
        assert run_sync(config).returncode == 0, "the next run takes the dead run's lock over"
        assert audit(sandbox.contacts(), rows, state_url).clean
