"""Show a plan and a run to people: the dry-run table, the summary, the rejects file."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sync.models import Issue
from sync.plan import Op, Plan

if TYPE_CHECKING:
    from sync.engine import RunResult

REJECT_COLUMNS = ("source", "row", "key", "level", "column", "value", "reason")
SHOW_PER_KIND = 15


def write_rejects(path: str | Path, issues: Iterable[Issue]) -> int:
    """Write rows and values left out as CSV; returns how many lines were written."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=REJECT_COLUMNS)
        writer.writeheader()
        for issue in issues:
            writer.writerow(issue.as_dict())
            count += 1
    return count


def _value(value: Any) -> str:
    if value is None:
        return "∅"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "∅"
    return str(value)


def describe_new(op: Op) -> str:
    """A create in one or two lines: what the new contact will hold (console markup, data escaped)."""
    payload = op.contact.payload() if op.contact else {}
    parts = [str(payload[k]) for k in ("company", "role") if payload.get(k)]
    parts += [i["value"] for i in payload.get("phoneNumbers", [])]
    parts += [i["value"] for i in payload.get("emails", [])]
    custom = sum(1 for v in payload.get("customFields", {}).values() if v is not None)
    if custom:
        parts.append(f"{custom} custom field{'s' if custom > 1 else ''}")
    text = escape(" · ".join(parts)) or "(name only)"
    if op.note:
        text += f"\n({escape(op.note)})"
    if op.error:
        text += f"\n[red]{escape(op.error)}[/red]"
    return text


def describe_changes(op: Op, limit: int = 4) -> str:
    """Field-level before → after, one per line (console markup, data escaped)."""
    if op.kind == "delete":
        return "contact deleted"
    if op.kind == "create":
        return describe_new(op)
    lines = []
    for change in op.changes[:limit]:
        lines.append(escape(f"{change.field}: {_value(change.before)} → {_value(change.after)}"))
    if len(op.changes) > limit:
        lines.append(f"… {len(op.changes) - limit} more")
    if op.note:
        lines.append(f"({escape(op.note)})")
    if op.error:
        lines.append(f"[red]{escape(op.error)}[/red]")
    return "\n".join(lines)


def _name(op: Op) -> str:
    contact = op.contact
    if contact is not None:
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
        return name or (contact.company or "")
    previous = op.previous or {}
    return " ".join(p for p in (previous.get("firstName"), previous.get("lastName")) if p)


def _ops_table(title: str, ops: Sequence[Op], style: str) -> Table:
    table = Table(title=title, title_style=style, title_justify="left", expand=False)
    table.add_column("source")
    table.add_column("externalId")
    table.add_column("row", justify="right")
    table.add_column("name")
    table.add_column("what (before → after)" if title.endswith("updated") else "what")
    for op in ops[:SHOW_PER_KIND]:
        # Contact data is never markup: a name like "[/b]" is shown as typed (describe_changes
        # escapes its data itself and keeps its own styling of errors).
        table.add_row(*map(escape, (op.source, op.external_id, str(op.row or ""), _name(op))),
                      describe_changes(op))
    if len(ops) > SHOW_PER_KIND:
        table.add_row("…", f"{len(ops) - SHOW_PER_KIND} more", "", "", "see --output json or --report")
    return table


def render_plan(console: Console, plan: Plan, *, dry_run: bool) -> None:
    """The dry-run view: deletes first, then updates, then creates; held deletes; rejects."""
    for sp in plan.sources:
        info = ", ".join(f"{k} {v}" for k, v in sp.info.items() if k in ("encoding", "delimiter"))
        console.print(
            f"[bold]{escape(sp.source)}[/bold]: {sp.rows_read} rows read"
            + (f" ({escape(info)})" if info else "")
        )
    ops = list(plan.ops())
    verb = "will be" if dry_run else "to be"
    for kind, style in (("delete", "bold red"), ("update", "bold yellow"), ("create", "bold green")):
        chosen = [op for op in ops if op.kind == kind]
        if chosen:
            console.print(_ops_table(f"{len(chosen)} {verb} {kind}d", chosen, style))
    held = list(plan.held())
    if held:
        console.print(_ops_table(f"{len(held)} deletes held back by a safety gate", held, "bold magenta"))
    for source, reason in plan.hold_reasons().items():
        console.print(f"  [magenta]{escape(source)}[/magenta]: {escape(reason)}")
    render_issues(console, sorted(plan.issues(), key=lambda i: (i.source, i.row)))


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def render_issues(console: Console, issues: Sequence[Issue]) -> None:
    """Rejected rows and values left out, with the reasons."""
    if not issues:
        return
    table = Table(title=_count(len(issues), "row or value", "rows or values") + " left out",
                  title_style="bold",
                  title_justify="left")
    for col in ("source", "row", "key", "level", "column", "reason"):
        table.add_column(col)
    for issue in issues[: SHOW_PER_KIND * 2]:
        table.add_row(*map(escape, (issue.source, str(issue.row), issue.key or "", issue.level,
                                    issue.column or "", issue.reason)))
    if len(issues) > SHOW_PER_KIND * 2:
        table.add_row("…", "", f"{len(issues) - SHOW_PER_KIND * 2} more", "", "", "see --rejects FILE")
    console.print(table)


def render_summary(console: Console, result: RunResult) -> None:
    """The closing summary of a run or a dry run."""
    s = result.plan.summary()
    mode = "Dry run" if result.dry_run else "Run"
    verb = "would " if result.dry_run else ""
    parts = [
        f"{s['create']} {verb}create",
        f"{s['update']} {verb}update",
        f"{s['delete']} {verb}delete",
        f"{s['unchanged']} unchanged",
        _count(s["rejected"], "row", "rows") + " rejected",
        _count(s["warnings"], "value", "values") + " left out",
    ]
    if s["held"]:
        parts.append(f"[magenta]{s['held']} deletes held[/magenta]")
    if not result.dry_run:
        parts.append(f"[red]{s['failed']} failed[/red]" if s["failed"] else "0 failed")
        if s["pending"]:
            parts.append(f"[red]{s['pending']} not attempted (next run)[/red]")
    console.print(f"[bold]{mode}[/bold] {result.run_id}: " + ", ".join(parts))
    if not result.dry_run:
        console.print(
            f"{result.api_calls} API calls, {result.rate_limited} rate-limited (429), "
            f"{result.duration:.1f}s" + (" — [red]interrupted[/red]" if result.interrupted else "")
        )
    failed = [op for op in result.plan.ops() if op.outcome == "failed"]
    if failed:
        console.print(_ops_table(f"{len(failed)} failed (retried next run)", failed, "bold red"))
    for note in result.notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    if result.dry_run and result.plan.is_empty and not s["held"] and not result.plan.hold_reasons():
        console.print("Nothing to do: OpenPhone is in step with the sources.")
