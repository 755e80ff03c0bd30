"""What the CLI commands do, as plain functions: load config, run, show the result.

Kept apart from :mod:`sync.cli` so the click layer stays a thin shell, and so the
serverless handler and the scheduler can call the same code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from sync.config import SyncConfig, config_path, load_config
from sync.engine import Engine, RunOptions, RunResult
from sync.errors import ConfigError, SyncError
from sync.plan import Op, Plan
from sync.report import render_plan, render_summary


@dataclass(frozen=True)
class RunOutputs:
    """Files a run writes for other tools and people, besides what it prints."""

    summary_file: str | None = None
    metrics_file: str | None = None
    report_file: str | None = None

    def check(self) -> None:
        """Fail before the run (exit 2) when a file could not be written to its folder."""
        for flag, path in (("--summary-file", self.summary_file), ("--metrics-file", self.metrics_file),
                           ("--report", self.report_file)):
            if path is None:
                continue
            folder = Path(path).parent
            if not folder.is_dir():
                raise ConfigError(f"{flag} {path}: the folder {folder} does not exist")
            if not os.access(folder, os.W_OK):
                raise ConfigError(f"{flag} {path}: the folder {folder} is not writable")

    def write(self, result: RunResult) -> None:
        """Write each file asked for, atomically."""
        from sync.metrics import atomic_write_text, facts_of_result, summary_document, write_metrics_file

        if self.summary_file:
            atomic_write_text(self.summary_file, json.dumps(summary_document(result), default=str) + "\n")
        if self.metrics_file:
            write_metrics_file(self.metrics_file, facts_of_result(result))
        if self.report_file:
            from sync.html_report import write_report

            write_report(self.report_file, result)

    def write_error(self, error: SyncError) -> None:
        """A run that could not start still updates the summary and the metrics (not the report)."""
        from sync.metrics import atomic_write_text, error_document, facts_of_error, write_metrics_file

        if self.summary_file:
            atomic_write_text(self.summary_file, json.dumps(error_document(error)) + "\n")
        if self.metrics_file:
            write_metrics_file(self.metrics_file, facts_of_error(error))


def execute(
    config: SyncConfig,
    *,
    dry_run: bool,
    output: str = "text",
    sources: Sequence[str] = (),
    rejects: str | None = None,
    allow_deletes: int | None = None,
    env: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    console: Console | None = None,
    show_plan: bool = True,
    outputs: RunOutputs | None = None,
    engine: Engine | None = None,
) -> RunResult:
    """Run once and show it (a table and a progress bar as text, or one JSON document).

    ``outputs`` names files to write after the run (also after a run that could not
    start, for the summary and metrics); ``engine`` lets a caller keep a handle on the run
    (the scheduler stops it on SIGTERM); it must have been built for ``config``.
    """
    outputs = outputs or RunOutputs()
    console = console or Console(highlight=False)
    show_text = output == "text"
    progress: Progress | None = None
    task: Any = None

    def on_planned(plan: Plan) -> None:
        nonlocal progress, task
        if not show_text:
            return
        if show_plan:
            render_plan(console, plan, dry_run=dry_run)
        pending = sum(1 for op in plan.ops() if op.outcome == "pending")
        if not dry_run and pending and console.is_terminal:
            progress = Progress(
                TextColumn("applying"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:.1f} ops/s"), TimeRemainingColumn(),
                console=console, transient=True,
            )
            progress.start()
            task = progress.add_task("apply", total=pending, rate=0.0)

    def on_op_done(op: Op) -> None:
        if progress is not None:
            progress.advance(task)
            speed = progress.tasks[0].speed or 0.0
            progress.update(task, rate=speed)

    engine = engine or Engine(config, env=env, transport=transport)
    options = RunOptions(
        dry_run=dry_run, sources=list(sources) or None, allow_deletes=allow_deletes,
        rejects_path=rejects, on_planned=on_planned, on_op_done=on_op_done,
    )
    try:
        result = engine.run(options)
    except SyncError as exc:
        outputs.write_error(exc)
        raise
    finally:
        if progress is not None:
            progress.stop()
    outputs.write(result)
    if show_text:
        render_summary(console, result)
        if outputs.report_file:
            console.print(f"report written to {outputs.report_file}")
    elif output == "json":
        click.echo(json.dumps(result.to_dict(), default=str))
    return result


def run_once(
    config_file: str | None,
    *,
    dry_run: bool,
    output: str,
    sources: Sequence[str],
    rejects: str | None,
    allow_deletes: int | None,
    outputs: RunOutputs | None = None,
) -> int:
    """``sync [--dry-run]``: one run of the config; returns the exit code."""
    outputs = outputs or RunOutputs()
    outputs.check()
    try:
        config = load_config(config_path(config_file))
    except ConfigError as exc:
        outputs.write_error(exc)
        raise
    result = execute(
        config, dry_run=dry_run, output=output, sources=sources, rejects=rejects,
        allow_deletes=allow_deletes, outputs=outputs,
    )
    return result.exit_code


def show_status(config_file: str | None, *, limit: int, output: str) -> None:
    """``sync status``: the last runs and the rows failing now."""
    from state.store import StateStore

    config = load_config(config_path(config_file))
    store, _ = StateStore.open_for_preview(config.state_url(os.environ))  # never creates it
    with store:
        runs = store.recent_runs(limit)
        failed = store.failed_links(100)
    if output == "json":
        click.echo(json.dumps({
            "runs": [
                {"run_id": r.run_id, "started_at": r.started_at, "finished_at": r.finished_at,
                 "mode": r.mode, "outcome": r.outcome, "summary": r.summary,
                 "api_calls": r.api_calls, "rate_limited": r.rate_limited}
                for r in runs
            ],
            "failing": [
                {"source": f.source, "externalId": f.external_id, "row": f.row,
                 "attempts": f.attempts, "error": f.last_error}
                for f in failed
            ],
        }, default=str))
        return
    console = Console(highlight=False)
    from rich import box
    from rich.table import Table

    table = Table(title="Last runs (c/u/d = created/updated/deleted)", title_justify="left",
                  box=box.SIMPLE_HEAD)
    for col in ("run", "started UTC", "outcome", "c/u/d", "same", "failed", "calls", "429"):
        table.add_column(col, no_wrap=True)
    for r in runs:
        s = (r.summary or {}).get("summary", {})
        table.add_row(
            r.run_id, f"{r.started_at:%m-%d %H:%M}", r.outcome or "running",
            f"{s.get('create', 0)}/{s.get('update', 0)}/{s.get('delete', 0)}",
            str(s.get("unchanged", "")), str(s.get("failed", "")),
            str(r.api_calls), str(r.rate_limited),
        )
    console.print(table if runs else "No runs recorded yet.")
    if failed:
        ft = Table(title=f"{len(failed)} rows failing (retried every run)", title_justify="left")
        for col in ("source", "externalId", "row", "attempts", "error"):
            ft.add_column(col)
        for f in failed:
            ft.add_row(*map(escape, (f.source, f.external_id, str(f.row or ""), str(f.attempts),
                                     f.last_error or "")))
        console.print(ft)
    else:
        console.print("No rows are failing.")


def show_fields(config_file: str | None, *, output: str) -> int:
    """``sync fields``: the workspace's custom fields and the column feeding each; 2 on a bad mapping."""
    from rich import box
    from rich.table import Table

    from sync.fields import fields_report

    config = load_config(config_path(config_file))
    report = fields_report(config)
    code = 2 if report.problems else 0
    if output == "json":
        click.echo(json.dumps(report.as_dict()))
        return code
    console = Console(highlight=False)
    table = Table(title="Custom fields in the workspace", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("name")
    table.add_column("key", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("fed by")
    for row in report.fields:
        fed = escape(", ".join(f"{s}: {c}" for s, c in row.fed_by)) or "[dim]not mapped[/dim]"
        table.add_row(escape(row.name), escape(row.key), escape(row.type), fed)
    console.print(table)
    for problem in report.problems:
        console.print(f"[red]✗[/red] {escape(problem)}")
    return code
