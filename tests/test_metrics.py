"""--summary-file and --metrics-file: the JSON summary and Prometheus text, written atomically."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from sync.errors import ConfigError, LockHeldError, SyncError
from sync.metrics import (
    RunFacts,
    atomic_write_text,
    facts_of_error,
    facts_of_result,
    parse_samples,
    prometheus_text,
    summary_document,
    write_metrics_file,
)
from sync.runner import RunOutputs, execute
from tests.helpers import API_KEY, World, contact_row

# The text exposition format: comments, or name{labels} value.
_LINE = re.compile(r'^(# (HELP|TYPE) \w+ .+|[a-zA-Z_:][\w:]*(\{(\w+="[^"\\]*"(,\w+="[^"\\]*")*)?\})? -?[\d.e+]+)$')


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")


def _run(world: World, outputs: RunOutputs, **kw):
    from sync.sandbox import sandbox_transport

    return execute(world.config(), dry_run=kw.pop("dry_run", False), output="quiet", outputs=outputs,
                   env={"OPENPHONE_API_KEY": API_KEY}, transport=sandbox_transport(world.app), **kw)


def test_summary_file_is_the_json_document_plus_exit_code(world: World, tmp_path: Path):
    """The summary file holds RunResult.to_dict() plus exit_code and finished_at."""
    world.write_rows([contact_row(n) for n in range(4)])
    summary = tmp_path / "out" / "summary.json"
    summary.parent.mkdir()
    result = _run(world, RunOutputs(summary_file=str(summary)))
    document = json.loads(summary.read_text())
    assert document["summary"]["create"] == 4 and document["exit_code"] == 0
    assert document["run_id"] == result.run_id and document["mode"] == "apply"
    assert document["api"]["calls"] == result.api_calls > 0
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", document["finished_at"])
    assert {k for k in result.to_dict()} <= set(document)


def test_metrics_file_is_valid_exposition_text_with_the_run_counts(world: World, tmp_path: Path):
    """Every line parses as the text format; operations, calls and success reflect the run."""
    world.write_rows([contact_row(n) for n in range(5)])
    metrics = tmp_path / "openphone_sync.prom"
    result = _run(world, RunOutputs(metrics_file=str(metrics)))
    text = metrics.read_text()
    assert all(_LINE.match(line) for line in text.splitlines()), text
    samples = parse_samples(text)
    assert samples['openphone_sync_operations{kind="create",outcome="done"}'] == 5
    assert samples['openphone_sync_operations{kind="update",outcome="done"}'] == 0
    assert samples["openphone_sync_api_calls_total"] == result.api_calls
    assert samples["openphone_sync_last_run_success"] == 1
    assert samples["openphone_sync_run_duration_seconds"] > 0
    assert samples['openphone_sync_runs_total{outcome="ok"}'] == 1
    for name in ("rate_limited_total", "last_run_timestamp_seconds", "last_success_timestamp_seconds"):
        assert f"openphone_sync_{name}" in samples
    assert oct(metrics.stat().st_mode & 0o777) == "0o644"


def test_counters_add_up_across_runs_and_gauges_describe_the_last(world: World, tmp_path: Path):
    """api_calls_total and runs_total grow run after run; operations are the last run's only."""
    world.write_rows([contact_row(n) for n in range(3)])
    metrics = tmp_path / "m.prom"
    first = _run(world, RunOutputs(metrics_file=str(metrics)))
    second = _run(world, RunOutputs(metrics_file=str(metrics)))
    samples = parse_samples(metrics.read_text())
    assert samples["openphone_sync_api_calls_total"] == first.api_calls + second.api_calls
    assert samples['openphone_sync_runs_total{outcome="ok"}'] == 2
    assert samples['openphone_sync_operations{kind="create",outcome="done"}'] == 0
    assert samples['openphone_sync_rows{state="unchanged"}'] == 3


def test_a_failed_start_updates_metrics_and_keeps_the_last_success(tmp_path: Path):
    """A run that cannot start sets success 0 and its exit code; the last success time stays."""
    metrics = tmp_path / "m.prom"
    write_metrics_file(metrics, RunFacts(finished_at=1000.0, exit_code=0, outcome="ok", api_calls=7))
    write_metrics_file(metrics, facts_of_error(LockHeldError("held"), finished_at=2000.0))
    samples = parse_samples(metrics.read_text())
    assert samples["openphone_sync_last_run_success"] == 0
    assert samples["openphone_sync_last_run_exit_code"] == 4
    assert samples["openphone_sync_last_success_timestamp_seconds"] == 1000
    assert samples["openphone_sync_last_run_timestamp_seconds"] == 2000
    assert samples["openphone_sync_api_calls_total"] == 7
    assert samples['openphone_sync_runs_total{outcome="ok"}'] == 1
    assert samples['openphone_sync_runs_total{outcome="error"}'] == 1


def test_an_error_before_the_run_still_writes_the_summary(world: World, tmp_path: Path):
    """With the key missing, execute raises and the summary file records the error and exit code."""
    world.write_rows([contact_row(1)])
    summary = tmp_path / "s.json"
    with pytest.raises(ConfigError):
        execute(world.config(), dry_run=False, output="quiet", env={},
                outputs=RunOutputs(summary_file=str(summary)))
    document = json.loads(summary.read_text())
    assert document["outcome"] == "error" and document["exit_code"] == 2
    assert "OPENPHONE_API_KEY" in document["error"]["message"]


def test_output_folders_are_checked_before_the_run(tmp_path: Path):
    """A missing folder for an output file is a usage error (exit 2) before anything runs."""
    with pytest.raises(ConfigError, match="--metrics-file"):
        RunOutputs(metrics_file=str(tmp_path / "nope" / "m.prom")).check()


def test_atomic_write_replaces_in_one_rename_and_leaves_no_temp_file(tmp_path: Path):
    """The target is replaced whole; no temporary file is left beside it."""
    target = tmp_path / "file.prom"
    target.write_text("old\n")
    inode_before = target.stat().st_ino
    atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_ino != inode_before
    assert os.listdir(tmp_path) == ["file.prom"]


def test_atomic_write_into_a_missing_folder_is_our_error(tmp_path: Path):
    """A write that cannot happen raises SyncError, not OSError."""
    with pytest.raises(SyncError):
        atomic_write_text(tmp_path / "missing" / "x.prom", "x")


def test_dry_run_metrics_say_so(world: World, tmp_path: Path):
    """A dry run's metrics mark it and count its planned creates as pending."""
    world.write_rows([contact_row(n) for n in range(2)])
    result = _run(world, RunOutputs(), dry_run=True)
    samples = parse_samples(prometheus_text(facts_of_result(result)))
    assert samples["openphone_sync_last_run_dry_run"] == 1
    assert samples['openphone_sync_operations{kind="create",outcome="pending"}'] == 2
    assert summary_document(result)["mode"] == "dry-run"
