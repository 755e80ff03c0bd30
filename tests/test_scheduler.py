"""`sync schedule`: runs on time, never overlaps itself, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from state.store import StateStore
from sync.errors import ConfigError
from sync.metrics import parse_samples
from sync.sandbox import SandboxSettings, create_app
from sync.sandbox.server import serve_in_thread
from sync.scheduler import ScheduleSpec, crontab_weekdays, parse_every
from tests.helpers import API_KEY, World, contact_row

# --- the flags ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    ("1h", 3600), ("15m", 900), ("30s", 30), ("1h30m", 5400), ("1d", 86400), ("90", 90), (" 2M ", 120),
])
def test_every_accepts_durations(text: str, seconds: int):
    """--every takes 1h, 15m, 30s, compound and bare-second forms."""
    assert parse_every(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "1x", "0s", "0.5s", "h1"])
def test_every_refuses_what_is_not_a_duration_of_a_second_or_more(text: str):
    """Anything else is a ConfigError (exit 2)."""
    with pytest.raises(ConfigError):
        parse_every(text)


@pytest.mark.parametrize(("field", "names"), [
    ("1-5", "mon,tue,wed,thu,fri"), ("0", "sun"), ("7", "sun"), ("0,6", "sun,sat"),
    ("*/2", "sun,tue,thu,sat"), ("*", "*"), ("mon-fri", "mon-fri"),
])
def test_crontab_weekday_numbers_keep_their_crontab_meaning(field: str, names: str):
    """Crontab's 0 is Sunday; APScheduler 3.x's is Monday, so numbers become names."""
    assert crontab_weekdays(field) == names


def test_spec_builds_interval_and_cron_triggers_with_jitter():
    """--every gives an interval trigger, --cron a cron trigger; both carry the jitter."""
    interval = ScheduleSpec.from_flags("15m", None, jitter=30).trigger()
    assert isinstance(interval, IntervalTrigger) and interval.interval == timedelta(minutes=15)
    assert interval.jitter == 30
    cron = ScheduleSpec.from_flags(None, "0 * * * 1-5", jitter=5).trigger()
    assert isinstance(cron, CronTrigger) and cron.jitter == 5
    assert "day_of_week='mon,tue,wed,thu,fri'" in repr(cron) and "minute='0'" in repr(cron)
    assert ScheduleSpec.from_flags(None, None).every == timedelta(hours=1)


@pytest.mark.parametrize(("every", "cron"), [("1h", "0 * * * *"), (None, "0 * *"), (None, "99 * * * *")])
def test_spec_refuses_both_flags_and_bad_crontabs(every: str | None, cron: str):
    """--every with --cron, a crontab without five fields, or an impossible one: ConfigError."""
    with pytest.raises(ConfigError):
        ScheduleSpec.from_flags(every, cron)


# --- the process --------------------------------------------------------------------------


class EventLog:
    """The JSON log lines a subprocess writes on stderr, collected by a thread."""

    def __init__(self, stream: Any) -> None:
        self.events: list[dict[str, Any]] = []
        self.other: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            try:
                event = json.loads(line)
            except ValueError:
                with self._lock:
                    self.other.append(line)
                continue
            with self._lock:
                self.events.append(event)

    def named(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events if e.get("event") == name]

    def wait_for(self, what: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not what():
            if time.monotonic() > deadline:
                with self._lock:
                    names = [e.get("event") for e in self.events]
                raise AssertionError(f"timed out; events so far: {names}; other: {self.other[-5:]}")
            time.sleep(0.05)

    def join(self) -> None:
        self._thread.join(timeout=10)


@pytest.fixture
def slow_world(tmp_path: Path) -> Iterator[World]:
    """A config pointing at a sandbox on loopback that answers each request after 150 ms."""
    world = World(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    world.app = create_app(SandboxSettings(api_keys=(API_KEY,), rate_limit=1000, latency_ms=150))
    world.write_rows([contact_row(n) for n in range(8)])
    with serve_in_thread(world.app) as base_url:
        toml = tmp_path / "sync.toml"
        text = toml.read_text().replace("http://sandbox.test", base_url)
        toml.write_text(text.replace("concurrency = 4", "concurrency = 1"))
        yield world


def _start(world: World, *flags: str) -> subprocess.Popen[str]:
    env = {**os.environ, "OPENPHONE_API_KEY": API_KEY}
    return subprocess.Popen(
        [sys.executable, "-m", "sync", "schedule", "--config", str(world.tmp / "sync.toml"),
         "--json-logs", *flags],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def _assert_never_overlapped(log: EventLog) -> None:
    """Started and finished alternate: no run began before the previous one ended."""
    sequence = [e["event"] for e in log.events if e["event"] in ("scheduled run started", "scheduled run finished")]
    assert sequence, "no runs"
    for i, name in enumerate(sequence):
        assert name == ("scheduled run started" if i % 2 == 0 else "scheduled run finished"), sequence


def test_one_second_schedule_runs_repeatedly_skips_overlaps_and_stops_on_sigterm(slow_world: World):
    """Every 1 s: several runs, a slow one is never overlapped (the due run is skipped and logged),
    and SIGTERM mid-run lets it finish its requests in flight, then the process exits 0."""
    metrics = slow_world.tmp / "sync.prom"
    process = _start(slow_world, "--every", "1s", "--run-now", "--misfire-grace", "5",
                     "--metrics-file", str(metrics))
    log = EventLog(process.stderr)
    try:
        log.wait_for(lambda: len(log.named("scheduled run finished")) >= 3, timeout=40)
        assert log.named("scheduled run skipped: the previous run is still going"), "the slow run was not detected"
        assert any("maximum number of running instances" in str(e.get("event")) for e in log.events)

        # A slow run again: 30 new rows at 150 ms each; stop it part way.
        slow_world.write_rows([contact_row(n) for n in range(38)])
        runs_before = len(log.named("scheduled run started"))
        log.wait_for(lambda: len(log.named("scheduled run started")) > runs_before, timeout=10)
        log.wait_for(lambda: len(log.named("scheduled run started")) > runs_before
                     and _created(slow_world) > 8, timeout=10)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.join()
        assert process.stderr is not None
        process.stderr.close()
    _assert_never_overlapped(log)
    assert log.events[-1]["event"] == "scheduler stopped"
    last = log.named("scheduled run finished")[-1]
    assert last["interrupted"] is True and last["exit_code"] == 1
    assert 8 < _created(slow_world) < 38
    assert not log.named("scheduled run failed")
    with StateStore.open(slow_world.config().state_url({})) as store:
        assert store.open_intents() == [], "SIGTERM left a write unaccounted for"
        assert store.lock_holder() is None
        runs = store.recent_runs(100)
        assert len(runs) == len(log.named("scheduled run finished"))
        assert all(r.finished_at is not None for r in runs)
    assert parse_samples(metrics.read_text())['openphone_sync_runs_total{outcome="interrupted"}'] == 1


def _created(world: World) -> int:
    return len(world.by_external_id())


def test_a_broken_config_stops_the_scheduler_before_it_starts(tmp_path: Path):
    """An invalid config exits 2 at once instead of failing every hour."""
    (tmp_path / "sync.toml").write_text("[openphone]\nrate_limit = -1\n")
    done = subprocess.run([sys.executable, "-m", "sync", "schedule", "--config", str(tmp_path / "sync.toml")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "rate_limit" in done.stderr
