"""After a real run, tell sources that can record outcomes (a sheet's status columns) what happened.

Only rows this run touched are written: each synced row gets its contact id, "synced" and the
time; a failed row its error; a rejected row the reason. Unchanged rows keep what an earlier
run wrote. A write-back failure never undoes a run that has been applied: it becomes a note.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import structlog

from connectors.base import Source, SupportsWriteback, WritebackRow
from sync.errors import SyncError
from sync.plan import Plan, SourcePlan

log = structlog.get_logger(__name__)


def writeback_rows(plan: SourcePlan, now: datetime) -> list[WritebackRow]:
    """The outcome of every row this run wrote or rejected, for one source."""
    stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    rows: list[WritebackRow] = []
    for op in (*plan.ops, *plan.linked):
        if op.row is None or op.kind == "delete" or op.outcome == "pending":
            continue
        status = "synced" if op.outcome == "done" else f"{op.outcome}: {op.error or 'no reason given'}"
        rows.append(WritebackRow(op.row, {"contact_id": op.contact_id or "", "status": status,
                                          "synced_at": stamp}))
    for issue in plan.issues:
        if issue.level == "row":
            rows.append(WritebackRow(issue.row, {"status": f"rejected: {issue.reason}"}))
    return rows


def write_back(plan: Plan, sources: Mapping[str, Source], now: datetime | None = None) -> list[str]:
    """Write outcomes to every source that supports it; returns notes about failures."""
    notes: list[str] = []
    moment = now or datetime.now(UTC)
    for source_plan in plan.sources:
        source = sources.get(source_plan.source)
        if not isinstance(source, SupportsWriteback):
            continue
        rows = writeback_rows(source_plan, moment)
        if not rows:
            continue
        try:
            cells = source.write_back(rows)
        except SyncError as exc:
            notes.append(f"{source_plan.source}: could not write the outcomes back: {exc}")
            continue
        log.info("outcomes written back", source=source_plan.source, rows=len(rows), cells=cells)
    return notes
