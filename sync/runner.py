"""What the CLI commands do, as plain functions: load config, run, show the result.

Kept apart from :mod:`sync.cli` so the click layer stays a thin shell, and so the
serverless handler and the scheduler can call the same code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import click
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from sync.config import SyncConfig, config_path, load_config
from sync.engine import Engine, RunOptions, RunResult
from sync.plan import Op, Plan
from sync.report import render_plan, render_summary


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
) -> RunResult:
    """Run once and show it (a table and a progress bar as text, or one JSON document)."""
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

    engine = Engine(config, env=env, transport=transport)
    options = RunOptions(
        dry_run=dry_run, sources=list(sources) or None, allow_deletes=allow_deletes,
        rejects_path=rejects, on_planned=on_planned, on_op_done=on_op_done,
    )
    try:
        result = engine.run(options)
    finally:
        if progress is not None:
            progress.stop()
    if show_text:
        render_summary(console, result)
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
) -> int:
    """``sync [--dry-run]``: one run of the config; returns the exit code."""
    config = load_config(config_path(config_file))
    result = execute(
        config, dry_run=dry_run, output=output, sources=sources, rejects=rejects,
        allow_deletes=allow_deletes,
    )
    return result.exit_code


def show_status(config_file: str | None, *, limit: int, output: str) -> None:
    """``sync status``: the last runs and the rows failing now."""
    from state.store import StateStore

    config = load_config(config_path(config_file))
    with StateStore.open(config.state_url(os.environ)) as store:
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
    from rich.table import Table

    from rich import box

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
            ft.add_row(f.source, f.external_id, str(f.row or ""), str(f.attempts), f.last_error or "")
        console.print(ft)
    else:
        console.print("No rows are failing.")
