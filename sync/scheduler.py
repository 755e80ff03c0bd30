"""``sync schedule``: run the configured sync on a schedule, in one long-running process.

APScheduler 3.x, used conservatively: one job per config with a stable id,
``replace_existing=True``, ``max_instances=1`` (a sync never overlaps itself: a run still
going when the next is due is skipped, and logged), ``coalesce=True`` (runs missed while
the process was stalled become one) and an explicit ``misfire_grace_time``. An optional
jitter spreads many installs over a window instead of the same second.

Runs happen on the scheduler's single worker thread; the main thread waits for a signal.
SIGTERM or SIGINT stops new runs and asks the current one to stop once its requests in
flight are answered (:meth:`Engine.request_stop`), then the process exits 0. A second
signal exits at once (the journal lets the next run settle any write left open).

The config is read again before every run, so an edit applies from the next run on. Each
run logs one ``scheduled run finished`` event with its counts (or ``scheduled run failed``
when it could not start).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from sync.config import config_path, load_config
from sync.engine import EXIT_FAILED, EXIT_OK, Engine
from sync.errors import ConfigError, SyncError
from sync.runner import RunOutputs, execute

log = structlog.get_logger(__name__)

DEFAULT_EVERY = "1h"
DEFAULT_MISFIRE_GRACE = 300.0
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_every(text: str) -> timedelta:
    """``1h``, ``15m``, ``30s``, ``1h30m``, ``1d`` or plain seconds (``90``) as a timedelta.

    Raises:
        ConfigError: not a duration, or shorter than one second.
    """
    value = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    elif value and _DURATION_PART.sub("", value) == "":
        seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(value))
    else:
        raise ConfigError(f"--every {text!r}: write a duration such as 1h, 15m, 30s or 1h30m")
    if seconds < 1:
        raise ConfigError(f"--every {text!r}: the interval must be at least 1 second")
    return timedelta(seconds=seconds)


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field in APScheduler 3.x's terms.

    Crontab counts 0 (and 7) as Sunday; APScheduler 3.x counts 0 as Monday, so ``1-5``
    would silently mean Tuesday to Saturday. Numbers and steps are turned into day names.
    """
    parts = []
    for part in field.lower().split(","):
        match = re.fullmatch(r"(\*|\d+)(?:-(\d+))?(?:/(\d+))?", part)
        if match is None:  # names (mon-fri) mean the same in both
            parts.append(part)
            continue
        start_text, end_text, step_text = match.groups()
        if start_text == "*" and step_text is None:
            parts.append("*")
            continue
        start = 0 if start_text == "*" else int(start_text)
        end = 6 if start_text == "*" else int(end_text or (6 if step_text else start_text))
        if not 0 <= start <= 7 or not 0 <= end <= 7 or end < start:
            raise ConfigError(f"--cron: day of week {part!r} is not a day number from 0 to 7")
        days = range(start, end + 1, int(step_text or 1))
        parts.extend(dict.fromkeys(_CRON_DAYS[d] for d in days))
    return ",".join(dict.fromkeys(parts))


@dataclass(frozen=True)
class ScheduleSpec:
    """When to run: an interval or a crontab expression, with jitter and misfire grace."""

    every: timedelta | None = None
    cron: str | None = None
    jitter: float = 0.0
    misfire_grace: float = DEFAULT_MISFIRE_GRACE
    run_now: bool = False

    @classmethod
    def from_flags(cls, every: str | None, cron: str | None, *, jitter: float = 0.0,
                   misfire_grace: float = DEFAULT_MISFIRE_GRACE, run_now: bool = False) -> ScheduleSpec:
        """Check the ``sync schedule`` flags (``--every`` and ``--cron`` exclude each other)."""
        if every and cron:
            raise ConfigError("--every and --cron exclude each other; pick one")
        if jitter < 0 or misfire_grace <= 0:
            raise ConfigError("--jitter must not be negative and --misfire-grace must be positive")
        interval = None if cron else parse_every(every or DEFAULT_EVERY)
        spec = cls(interval, cron, jitter, misfire_grace, run_now)
        spec.trigger()  # a bad crontab fails here, before the process settles in
        return spec

    def trigger(self) -> BaseTrigger:
        """The APScheduler trigger for this spec."""
        jitter = self.jitter or None
        if self.cron is None:
            assert self.every is not None
            return IntervalTrigger(seconds=self.every.total_seconds(), jitter=jitter)
        fields = self.cron.split()
        if len(fields) != 5:
            raise ConfigError(f"--cron {self.cron!r}: write five fields, e.g. \"0 * * * *\" (hourly)")
        minute, hour, day, month, weekday = fields
        try:
            return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                               day_of_week=crontab_weekdays(weekday), jitter=jitter)
        except ValueError as exc:
            raise ConfigError(f"--cron {self.cron!r}: {exc}") from exc

    def describe(self) -> str:
        """``every 1:00:00`` or ``cron 0 * * * *``, plus jitter."""
        text = f"cron {self.cron}" if self.cron else f"every {self.every}"
        return text + (f" (jitter up to {self.jitter:g} s)" if self.jitter else "")


def job_id(config_file: Path) -> str:
    """The job's stable id: one job per config file."""
    return f"openphone-sync:{config_file.resolve()}"


class SyncScheduler:
    """The ``sync schedule`` process: a BackgroundScheduler and a main thread that waits."""

    def __init__(
        self,
        config_file: str | os.PathLike[str] | None,
        spec: ScheduleSpec,
        *,
        sources: Sequence[str] = (),
        outputs: RunOutputs | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.config_file = config_path(config_file)
        self.spec = spec
        self.sources = tuple(sources)
        self.outputs = outputs or RunOutputs()
        self.env = env
        self.runs = 0
        self._stopping = threading.Event()
        self._engine_lock = threading.Lock()
        self._engine: Engine | None = None
        self._job: Job | None = None

    # --- the job --------------------------------------------------------------------------

    def run_job(self) -> None:
        """One scheduled run; logs one summary event. Never raises our errors."""
        if self._stopping.is_set():
            return
        self.runs += 1
        started = time.monotonic()
        log.info("scheduled run started", run=self.runs)
        try:
            config = load_config(self.config_file)
            engine = Engine(config, env=self.env)
            with self._engine_lock:
                self._engine = engine
            if self._stopping.is_set():
                log.info("scheduled run not started: stopping", run=self.runs)
                return
            result = execute(config, dry_run=False, output="quiet", sources=self.sources,
                             outputs=self.outputs, engine=engine)
        except SyncError as exc:
            # Our errors carry their own message; a traceback would only bury it.
            log.error(  # noqa: TRY400
                "scheduled run failed", run=self.runs, error=str(exc), exit_code=exc.exit_code,
                duration_seconds=round(time.monotonic() - started, 3), next_run_at=self._next_run(),
            )
            return
        finally:
            with self._engine_lock:
                self._engine = None
        log.info(
            "scheduled run finished", run=self.runs, run_id=result.run_id, outcome=result.outcome,
            exit_code=result.exit_code, interrupted=result.interrupted, **result.plan.summary(),
            api_calls=result.api_calls, rate_limited=result.rate_limited,
            duration_seconds=round(result.duration, 3), next_run_at=self._next_run(),
        )

    def _next_run(self) -> str | None:
        # Read the Job's attribute, not scheduler.get_job(): the job thread must never take
        # the scheduler's locks, which shutdown() holds while it waits for this very job.
        when = getattr(self._job, "next_run_time", None)
        return None if when is None or self._stopping.is_set() else when.isoformat()

    def _on_event(self, event: JobEvent) -> None:
        """Our own log lines for what APScheduler decided (it logs them too, via structlog)."""
        when = getattr(event, "scheduled_run_times", None) or [getattr(event, "scheduled_run_time", None)]
        due = [t.isoformat() for t in when if t is not None]
        if event.code == EVENT_JOB_MAX_INSTANCES:
            log.warning("scheduled run skipped: the previous run is still going", due=due)
        elif event.code == EVENT_JOB_MISSED:
            log.warning("scheduled run missed: the process was busy or asleep past the grace time",
                        due=due, misfire_grace_seconds=self.spec.misfire_grace)
        elif event.code == EVENT_JOB_ERROR:
            log.error("scheduled run crashed (a bug: please report it)", due=due,
                      error=repr(getattr(event, "exception", None)))

    # --- the process ----------------------------------------------------------------------

    def request_stop(self) -> None:
        """Stop scheduling and let the current run stop after its requests in flight."""
        self._stopping.set()
        with self._engine_lock:
            engine = self._engine
        if engine is not None:
            engine.request_stop()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self._stopping.is_set():
            log.warning("second signal: exiting now; the next run settles any write left open",
                        signal=name)
            os._exit(EXIT_FAILED)
        log.info("stopping: the current run finishes its requests in flight", signal=name)
        self.request_stop()

    def start(self) -> BackgroundScheduler:
        """Check the config, then start the scheduler thread (the caller waits)."""
        load_config(self.config_file)  # a broken config fails now (exit 2), not at the first run
        scheduler = BackgroundScheduler(executors={"default": ThreadPoolExecutor(max_workers=1)})
        scheduler.add_listener(self._on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
        options: dict[str, Any] = {}
        if self.spec.run_now:
            options["next_run_time"] = datetime.now(UTC)
        self._job = scheduler.add_job(
            self.run_job, self.spec.trigger(), id=job_id(self.config_file), name="openphone-sync",
            replace_existing=True, max_instances=1, coalesce=True,
            misfire_grace_time=max(1, round(self.spec.misfire_grace)), **options,
        )
        _quiet_apscheduler()
        scheduler.start()
        log.info("scheduler started", schedule=self.spec.describe(), config=str(self.config_file),
                 next_run_at=self._next_run())
        return scheduler

    def serve(self) -> int:
        """Run until SIGTERM or SIGINT, then wait for the current run; returns the exit code."""
        handled = (signal.SIGTERM, signal.SIGINT)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in handled}
        try:
            scheduler = self.start()
            while not self._stopping.wait(0.5):
                pass
            scheduler.shutdown(wait=True)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("scheduler stopped", runs=self.runs)
        return EXIT_OK


def _quiet_apscheduler() -> None:
    """APScheduler's "Running job"/"executed" lines each run are noise unless debugging."""
    logger = logging.getLogger("apscheduler")
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logger.setLevel(logging.WARNING)


def run_schedule(
    config_file: str | None,
    spec: ScheduleSpec,
    *,
    sources: Sequence[str] = (),
    outputs: RunOutputs | None = None,
) -> int:
    """``sync schedule``: serve until stopped; returns the exit code."""
    (outputs or RunOutputs()).check()
    return SyncScheduler(config_file, spec, sources=sources, outputs=outputs).serve()
