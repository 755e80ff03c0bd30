"""``--report FILE``: one self-contained HTML page for whoever approves a plan.

Summary counts, then deletes (they matter most), held deletes, updates and creates, each
with its field-level before and after, then the rows and values left out with reasons.
Plain JavaScript filters by kind, source and text. The page loads nothing: CSS and JS are
inline, and its Content-Security-Policy allows only its own script (by hash), so even a
value that slipped through escaping could not run.

Contact data is untrusted (a CSV cell can hold ``<script>``): every value goes through
:func:`html.escape`, in text and in attributes alike, and the script reads data only
from attributes and writes only ``textContent``.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files
from string import Template
from typing import TYPE_CHECKING, Any

from sync.metrics import atomic_write_text
from sync.models import Issue
from sync.plan import Op

if TYPE_CHECKING:
    from sync.engine import RunResult

MAX_ITEMS_PER_GROUP = 2000
"""Past this many changes in one group the page lists the first ones and says how many more."""

GROUPS = (
    ("delete", "to delete", "deletes"),
    ("held", "deletes held back by a safety gate", "held"),
    ("update", "to update", "updates"),
    ("create", "to create", "creates"),
)
KIND_LABELS = {"delete": "deletes", "held": "held deletes", "update": "updates", "create": "creates",
               "rejected": "left out"}


def _asset(name: str) -> str:
    return files("sync").joinpath("templates", name).read_text(encoding="utf-8")


def _version() -> str:
    try:
        return version("openphone-sync")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def render_report(result: RunResult, *, generated: datetime | None = None) -> str:
    """The whole page for a run or a dry run."""
    generated = generated or datetime.now(UTC)
    plan = result.plan
    ops = list(plan.ops())
    held = list(plan.held())
    issues = sorted(plan.issues(), key=lambda i: (i.source, i.row, i.column or ""))
    js = _asset("report.js")
    mode = "Dry run" if result.dry_run else "Run"
    title = f"openphone-sync: {'plan to approve' if result.dry_run else 'run report'} {result.run_id}"
    sources = [sp.source for sp in plan.sources]
    meta = " · ".join([
        f"{mode} {result.run_id}",
        f"generated {generated:%Y-%m-%d %H:%M} UTC",
        *(f"{sp.source}: {sp.rows_read} rows read" for sp in plan.sources),
    ])
    by_kind = {kind: [op for op in ops if op.kind == kind] for kind in ("delete", "update", "create")}
    by_kind["held"] = held
    groups = [_group(kind, title_text, by_kind[kind], not result.dry_run) for kind, title_text, _ in GROUPS]
    groups.append(_rejected_group(issues))
    return Template(_asset("report.html")).substitute(
        title=escape(title),
        meta=escape(meta),
        version=escape(_version()),
        generated=escape(f"{generated:%Y-%m-%d %H:%M:%S} UTC"),
        css=_asset("report.css"),
        js=js,
        script_hash="sha256-" + base64.b64encode(hashlib.sha256(js.encode()).digest()).decode(),
        summary=_summary(result),
        notes=_notes(result),
        kind_filters="\n".join(
            f'<label><input type="checkbox" name="kind" value="{kind}" checked> {label}</label>'
            for kind, label in KIND_LABELS.items()
        ),
        source_options="\n".join(f'<option value="{_a(s)}">{escape(s)}</option>' for s in sources),
        groups="\n".join(g for g in groups if g),
    )


def write_report(path: str | os.PathLike[str], result: RunResult) -> None:
    """Render the page and replace ``path`` with it atomically."""
    atomic_write_text(path, render_report(result))


def _a(value: Any) -> str:
    """Text for an attribute value (quotes included in the escaping)."""
    return escape("" if value is None else str(value), quote=True)


def _summary(result: RunResult) -> str:
    s = result.plan.summary()
    verb = "will be " if result.dry_run else ""
    cards = [
        ("delete", s["delete"], f"{verb}deleted"),
        ("update", s["update"], f"{verb}updated"),
        ("create", s["create"], f"{verb}created"),
        ("held", s["held"], "deletes held back"),
        ("unchanged", s["unchanged"], "unchanged"),
        ("rejected", s["rejected"], "rows rejected"),
        ("warnings", s["warnings"], "values left out"),
    ]
    if not result.dry_run:
        cards.append(("failed", s["failed"], "failed"))
    return "\n".join(
        f'<div class="card {kind}" data-count="{kind}"><span class="n">{n}</span>'
        f'<span class="label">{escape(label)}</span></div>'
        for kind, n, label in cards
    )


def _notes(result: RunResult) -> str:
    lines = [f"{sp.source}: {sp.hold_reason}" for sp in result.plan.sources if sp.hold_reason]
    lines += result.notes
    if not lines:
        return ""
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return f'<section class="notes" aria-label="Notes"><ul>{items}</ul></section>'


def _group(kind: str, title: str, ops: Sequence[Op], show_outcome: bool) -> str:
    if not ops:
        return ""
    shown = ops[:MAX_ITEMS_PER_GROUP]
    body = "\n".join(_change(op, kind, show_outcome) for op in shown)
    if len(ops) > len(shown):
        body += (f'\n<p class="more">{len(ops) - len(shown)} more not shown here; '
                 "see <code>sync --dry-run --output json</code>.</p>")
    return (
        f'<section data-group="{kind}" id="group-{kind}"><h2>{len(ops)} {escape(title)} '
        f'<span class="count" data-shown></span></h2>\n{body}\n</section>'
    )


def _change(op: Op, kind: str, show_outcome: bool) -> str:
    name = _display_name(op)
    badges = [f'<span class="badge {kind}">{escape(KIND_LABELS[kind].rstrip("s"))}</span>']
    if show_outcome and op.outcome in ("done", "failed", "skipped"):
        badges.append(f'<span class="badge {op.outcome}">{escape(op.outcome)}</span>')
    tags = [f"source {op.source}", f"externalId {op.external_id}"]
    if op.row:
        tags.append(f"row {op.row}")
    if op.contact_id:
        tags.append(f"contact {op.contact_id}")
    head = (
        f'<div class="change-head">{"".join(badges)}<span class="name">{escape(name or "(no name)")}</span>'
        + "".join(f'<span class="tag">{escape(t)}</span>' for t in tags)
        + "</div>"
    )
    extra = ""
    if op.note:
        extra += f'<p class="note">{escape(op.note)}</p>'
    if op.error:
        extra += f'<p class="error">{escape(op.error)}</p>'
    search = " ".join([name, op.external_id, op.source]).lower()
    return (
        f'<article class="change {kind}" data-item data-kind="{kind}" data-source="{_a(op.source)}" '
        f'data-search="{_a(search)}">{head}{extra}{_fields(op, kind)}</article>'
    )


def _fields(op: Op, kind: str) -> str:
    if not op.changes:
        return ""
    if kind == "update":
        header = "<tr><th>field</th><th>before</th><th>after</th></tr>"
        rows = (f"<tr><td>{escape(c.field)}</td><td class=\"before\">{_value(c.before)}</td>"
                f"<td class=\"after\">{_value(c.after)}</td></tr>" for c in op.changes)
        return f'<table class="fields">{header}{"".join(rows)}</table>'
    # A create or a delete has one side only: fields laid out compactly, several per line.
    side = "after" if kind == "create" else "before"
    cells = "".join(
        f'<div class="{side}"><dt>{escape(c.field)}</dt><dd>{_value(getattr(c, side))}</dd></div>'
        for c in op.changes
    )
    caption = "new values" if kind == "create" else "values removed with the contact"
    return f'<dl class="kv" aria-label="{caption}">{cells}</dl>'


def _value(value: Any) -> str:
    if value is None or value == [] or value == "":
        return '<span class="empty">∅</span>'
    if isinstance(value, list | tuple):
        return '<ul class="values">' + "".join(f"<li>{escape(str(v))}</li>" for v in value) + "</ul>"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return escape(str(value))


def _display_name(op: Op) -> str:
    contact = op.contact
    if contact is not None:
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
        return name or contact.company or ""
    previous = op.previous or {}
    name = " ".join(str(p) for p in (previous.get("firstName"), previous.get("lastName")) if p)
    return name or str(previous.get("company") or "")


def _rejected_group(issues: Iterable[Issue]) -> str:
    issues = list(issues)
    if not issues:
        return ""
    shown = issues[:MAX_ITEMS_PER_GROUP]
    rows = "\n".join(
        f'<tr data-item data-kind="rejected" data-source="{_a(i.source)}" '
        f'data-search="{_a(" ".join([i.key or "", i.source, i.column or ""]).lower())}">'
        f"<td>{escape(i.source)}</td><td>{i.row}</td><td>{escape(i.key or '')}</td>"
        f"<td>{'row rejected' if i.level == 'row' else 'value left out'}</td>"
        f"<td>{escape(i.column or '')}</td><td>{_value(i.value)}</td><td>{escape(i.reason)}</td></tr>"
        for i in shown
    )
    more = ""
    if len(issues) > len(shown):
        more = f'<p class="more">{len(issues) - len(shown)} more not shown here; see --rejects FILE.</p>'
    return (
        f'<section data-group="rejected" id="group-rejected"><h2>{len(issues)} '
        f'{"row or value" if len(issues) == 1 else "rows or values"} left out '
        '<span class="count" data-shown></span></h2>'
        '<table class="rejected-table"><tr><th>source</th><th>row</th><th>key</th><th>what</th>'
        f"<th>column</th><th>value</th><th>reason</th></tr>\n{rows}\n</table>{more}</section>"
    )
