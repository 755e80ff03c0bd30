"""`sync doctor`: the checklist in order, a reason on each line, exit 0 only when all pass."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner

from state.records import LockInfo
from state.store import StateStore
from sync.cli import main
from sync.doctor import check_lock, exit_code, run_checks
from sync.sandbox import SandboxSettings, create_app, sandbox_transport
from sync.sandbox.server import serve_in_thread
from tests.helpers import API_KEY, World, contact_row, state_tables

ORDER = ["config valid", "API key accepted", "custom fields resolve", "source crm", "state store", "lock"]
ENV = {"OPENPHONE_API_KEY": API_KEY}


@pytest.fixture
def world(tmp_path: Path) -> World:
    world = World(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    world.write_rows([contact_row(n) for n in range(3)])
    return world


def _checks(world: World, env: dict[str, str] | None = None):
    checks = run_checks(world.tmp / "sync.toml", env=ENV if env is None else env,
                        transport=sandbox_transport(world.app))
    return {c.name: c for c in checks}, checks


def test_all_checks_pass_in_order_and_nothing_is_written_to_the_api(world: World):
    """A good setup (synced once) passes the six checks, in the issue's order, with only GETs sent."""
    world.run()
    world.clear_log()
    by_name, checks = _checks(world)
    assert [c.name for c in checks] == ORDER
    assert all(c.ok for c in checks), [c.as_dict() for c in checks]
    assert exit_code(checks) == 0
    assert "key 'id'" in by_name["source crm"].detail
    assert "1 mapped field found" in by_name["custom fields resolve"].detail
    assert "writable" in by_name["state store"].detail and by_name["lock"].detail == "free"
    assert {r.method for r in world.requests()} == {"GET"}
    with StateStore.open(world.config().state_url({})) as store:
        assert store.lock_holder() is None, "the writability probe let go of the lock"


def test_doctor_and_status_before_the_first_run_create_no_state_store(tmp_path: Path, state_url: str):
    """On a fresh setup doctor passes, saying the first run creates the store, and neither
    doctor nor status creates it (no SQLite file, no tables in the PostgreSQL schema)."""
    url = state_url
    world = World(tmp_path, url)
    world.write_rows([contact_row(n) for n in range(3)])
    by_name, checks = _checks(world)
    assert exit_code(checks) == 0, [c.as_dict() for c in checks]
    assert "not created yet" in by_name["state store"].detail
    assert "the first real run creates it" in by_name["state store"].detail
    status = CliRunner().invoke(main, ["status", "--config", str(world.tmp / "sync.toml")])
    assert status.exit_code == 0 and "No runs recorded yet" in status.output
    assert state_tables(url) == []


def test_an_invalid_config_fails_first_and_skips_the_rest(world: World):
    """A bad config is ✗ with its reason; every later check is skipped and not passed."""
    (world.tmp / "sync.toml").write_text("[[sources]]\nname = 'x'\n")
    _, checks = _checks(world)
    assert [c.name for c in checks][:2] == ["config valid", "API key accepted"]
    assert not checks[0].ok and "sources[0]" in checks[0].detail
    assert all(c.skipped and not c.ok for c in checks[1:])
    assert exit_code(checks) == 1


def test_a_missing_or_refused_key_fails_the_api_check(world: World):
    """No key, or a key the API refuses, is ✗; the custom-field check is then skipped."""
    by_name, _ = _checks(world, env={})
    assert not by_name["API key accepted"].ok and "OPENPHONE_API_KEY" in by_name["API key accepted"].detail
    assert by_name["custom fields resolve"].skipped
    by_name, checks = _checks(world, env={"OPENPHONE_API_KEY": "wrong-key"})
    assert "401" in by_name["API key accepted"].detail
    assert by_name["source crm"].ok and exit_code(checks) == 1


def test_an_unknown_custom_field_is_named(world: World):
    """A mapped custom field the workspace does not have fails, naming it and listing the fields."""
    toml = world.tmp / "sync.toml"
    toml.write_text(toml.read_text().replace('"Account Tier" = "Tier"', '"Loyalty Level" = "Tier"'))
    by_name, _ = _checks(world)
    check = by_name["custom fields resolve"]
    assert not check.ok and "'Loyalty Level'" in check.detail and "Account Tier" in check.detail


def test_a_missing_key_column_or_source_file_is_reported(world: World):
    """The source check opens the file and reads its header: a missing key column is ✗."""
    world.write_rows([{"ident": "1", "First Name": "A"}], header=["ident", "First Name"])
    by_name, _ = _checks(world)
    assert not by_name["source crm"].ok and "'id'" in by_name["source crm"].detail
    world.csv_path.unlink()
    by_name, _ = _checks(world)
    assert not by_name["source crm"].ok and "contacts.csv" in by_name["source crm"].detail


def test_an_unreachable_state_store_fails_and_skips_the_lock(world: World):
    """A state store in a folder that does not exist is ✗; the lock check is skipped."""
    world.state_url = f"sqlite:///{world.tmp / 'missing' / 'state.db'}"
    world.write_config()
    by_name, _ = _checks(world)
    assert not by_name["state store"].ok and by_name["lock"].skipped


def test_a_lock_left_by_a_dead_process_on_this_host_is_stuck(world: World):
    """A live lease whose owner process is gone fails the lock check, naming the process."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead_pid = int(finished.stdout)
    with StateStore.open(world.config().state_url({})) as store:
        store.acquire_lock(f"{os.uname().nodename}:{dead_pid}:abc123", lease_seconds=600)
    by_name, checks = _checks(world)
    lock = by_name["lock"]
    assert not lock.ok and f"process {dead_pid}" in lock.detail and "stuck" in lock.detail
    assert "not probed" in by_name["state store"].detail
    assert exit_code(checks) == 1


def test_lock_states_free_expired_and_in_progress():
    """Free and expired locks pass; a live lease of a running process passes as a run in progress."""
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert check_lock(None, now=now).ok
    expired = LockInfo("sync", "otherhost:1:r", now - timedelta(hours=1), now - timedelta(minutes=50))
    assert check_lock(expired, now=now).ok and "ran out" in check_lock(expired, now=now).detail
    live = LockInfo("sync", f"thishost:{os.getpid()}:r", now, now + timedelta(minutes=10))
    assert check_lock(live, now=now, host="thishost").ok
    remote = LockInfo("sync", "otherhost:999999:r", now, now + timedelta(minutes=10))
    assert check_lock(remote, now=now, host="thishost").ok


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)


@pytest.mark.usefixtures("restore_logging")
def test_cli_prints_the_checklist_and_exits_by_it(world: World):
    """`sync doctor` prints ✓ lines and exits 0; with a refused key it prints ✗ and exits 1."""
    app = create_app(SandboxSettings(api_keys=(API_KEY,), rate_limit=1000))
    config = world.tmp / "sync.toml"
    with serve_in_thread(app) as base_url:
        config.write_text(config.read_text().replace("http://sandbox.test", base_url))
        good = CliRunner().invoke(main, ["doctor", "--config", str(config)], env=ENV)
        bad = CliRunner().invoke(main, ["doctor", "--config", str(config), "--output", "json"],
                                 env={"OPENPHONE_API_KEY": "nope"})
    assert good.exit_code == 0, good.output
    assert good.output.count("✓") == 6 and "All 6 checks passed." in good.output
    assert bad.exit_code == 1
    document = json.loads(bad.output)
    assert document["ok"] is False
    assert [c["check"] for c in document["checks"]] == ORDER
    assert [c["ok"] for c in document["checks"]] == [True, False, False, True, True, True]
