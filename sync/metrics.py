"""A run's summary for other tools: a JSON document, and Prometheus text for node-exporter.

``--summary-file`` writes :func:`summary_document`; ``--metrics-file`` writes
:func:`prometheus_text` in the text exposition format that node-exporter's textfile
collector reads. Both files are replaced atomically (a temporary file in the same folder,
then a rename), so a reader never sees half a file.

The ``*_total`` series are counters across runs: each write adds this run to the values
found in the previous file, so they only grow, as Prometheus expects of a counter (a lost
file reads as a counter reset, which Prometheus handles). The other series describe the
last run and are gauges.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sync.errors import SyncError

if TYPE_CHECKING:
    from sync.engine import RunResult

PREFIX = "openphone_sync"
OP_KINDS = ("create", "update", "delete")
OP_OUTCOMES = ("done", "failed", "pending", "skipped", "held")
COUNTERS = ("runs_total", "api_calls_total", "rate_limited_total")
_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{[^}]*\})?\s+(?P<value>\S+)")


@dataclass(frozen=True)
class RunFacts:
    """What the metrics say about one run, whether it ran or could not start."""

    finished_at: float
    exit_code: int
    dry_run: bool = False
    outcome: str = "error"
    duration: float = 0.0
    api_calls: int = 0
    rate_limited: int = 0
    operations: Mapping[tuple[str, str], int] | None = None
    rows: Mapping[str, int] | None = None

    @property
    def success(self) -> bool:
        """True when the run did everything it planned (exit code 0)."""
        return self.exit_code == 0


def facts_of_result(result: RunResult, finished_at: float | None = None) -> RunFacts:
    """The facts of a run that happened."""
    operations: dict[tuple[str, str], int] = {}
    for op in [*result.plan.ops(), *result.plan.held()]:
        operations[(op.kind, op.outcome)] = operations.get((op.kind, op.outcome), 0) + 1
    summary = result.plan.summary()
    return RunFacts(
        finished_at=time.time() if finished_at is None else finished_at,
        exit_code=result.exit_code,
        dry_run=result.dry_run,
        outcome=result.outcome,
        duration=result.duration,
        api_calls=result.api_calls,
        rate_limited=result.rate_limited,
        operations=operations,
        rows={k: summary[k] for k in ("unchanged", "rejected", "warnings")},
    )


def facts_of_error(error: SyncError, finished_at: float | None = None) -> RunFacts:
    """The facts of a run that could not start or stopped on a fatal error."""
    return RunFacts(finished_at=time.time() if finished_at is None else finished_at,
                    exit_code=error.exit_code)


def summary_document(result: RunResult) -> dict[str, Any]:
    """``RunResult.to_dict()`` plus the exit code and the finishing time (UTC, ISO 8601)."""
    document = result.to_dict()
    document["exit_code"] = result.exit_code
    document["finished_at"] = _iso_now()
    return document


def error_document(error: SyncError) -> dict[str, Any]:
    """The summary of a run that could not start (bad config, refused key, lock held...)."""
    return {
        "outcome": "error",
        "error": {"type": type(error).__name__, "message": str(error)},
        "exit_code": error.exit_code,
        "finished_at": _iso_now(),
    }


def prometheus_text(facts: RunFacts, previous: Mapping[str, float] | None = None) -> str:
    """The metrics file: counters carried on from ``previous``, gauges of this run."""
    previous = previous or {}
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {PREFIX}_{name} {help_text}")
        lines.append(f"# TYPE {PREFIX}_{name} {kind}")
        lines.extend(f"{PREFIX}_{name}{labels} {_number(value)}" for labels, value in samples)

    def counter(name: str, labels: str, increment: float) -> tuple[str, float]:
        return labels, previous.get(f"{PREFIX}_{name}{labels}", 0.0) + increment

    outcome_label = f'{{outcome="{facts.outcome}"}}'
    runs = [(key.removeprefix(f"{PREFIX}_runs_total"), value) for key, value in previous.items()
            if key.startswith(f"{PREFIX}_runs_total{{")]
    runs = [(labels, value) for labels, value in runs if labels != outcome_label]
    metric("runs_total", "counter", "Runs finished, by outcome.",
           sorted([*runs, counter("runs_total", outcome_label, 1)]))
    metric("api_calls_total", "counter", "Requests sent to the OpenPhone API.",
           [counter("api_calls_total", "", facts.api_calls)])
    metric("rate_limited_total", "counter", "429 answers met (each one waited out and retried).",
           [counter("rate_limited_total", "", facts.rate_limited)])
    ops = facts.operations or {}
    metric("operations", "gauge", "Operations of the last run, by kind and outcome.", [
        (f'{{kind="{kind}",outcome="{outcome}"}}', ops.get((kind, outcome), 0))
        for kind in OP_KINDS for outcome in OP_OUTCOMES
    ])
    rows = facts.rows or {}
    metric("rows", "gauge", "Rows of the last run: unchanged, rejected, or with values left out.",
           [(f'{{state="{state}"}}', rows.get(state, 0)) for state in ("unchanged", "rejected", "warnings")])
    metric("run_duration_seconds", "gauge", "How long the last run took.", [("", facts.duration)])
    metric("last_run_timestamp_seconds", "gauge", "When the last run finished (Unix time).",
           [("", facts.finished_at)])
    metric("last_run_success", "gauge", "1 when the last run's exit code was 0, else 0.",
           [("", 1 if facts.success else 0)])
    metric("last_run_exit_code", "gauge", "The last run's exit code (see sync --help).",
           [("", facts.exit_code)])
    metric("last_run_dry_run", "gauge", "1 when the last run was a dry run.",
           [("", 1 if facts.dry_run else 0)])
    last_success = facts.finished_at if facts.success else previous.get(
        f"{PREFIX}_last_success_timestamp_seconds", 0.0)
    metric("last_success_timestamp_seconds", "gauge",
           "When a run last finished with exit code 0 (Unix time; 0 if never).", [("", last_success)])
    return "\n".join(lines) + "\n"


def parse_samples(text: str) -> dict[str, float]:
    """Samples of a metrics file as ``name{labels}`` → value (comments and junk skipped)."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line.strip())
        if match is None or line.startswith("#"):
            continue
        try:
            samples[match["name"] + (match["labels"] or "")] = float(match["value"])
        except ValueError:
            continue
    return samples


def read_previous(path: str | os.PathLike[str]) -> dict[str, float]:
    """The samples of an earlier metrics file, or nothing when there is none."""
    try:
        return parse_samples(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, UnicodeDecodeError):
        return {}
    except OSError as exc:
        raise SyncError(f"cannot read the metrics file {path}: {exc}") from exc


def write_metrics_file(path: str | os.PathLike[str], facts: RunFacts) -> None:
    """Write the metrics file atomically, carrying the counters on from the old one."""
    atomic_write_text(path, prometheus_text(facts, read_previous(path)))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` with ``text`` in one rename (readers see the old file or the new).

    The temporary file sits in the same folder so the rename stays on one file system;
    its name starts with a dot and does not end in ``.prom``, so a textfile collector
    never reads it half written.
    """
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    except OSError as exc:
        raise SyncError(f"cannot write {target}: {exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; collectors often run as another user
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise SyncError(f"cannot write {target}: {exc}") from exc


def _number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
