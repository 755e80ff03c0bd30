"""Custom-field definitions during a run: read at the start, read again once if the API refuses one.

At the start of a run the definitions come from ``GET /v1/contact-custom-fields`` (a
dry run without a key falls back to the state store's cache) and each source's mapping is
resolved against them (:func:`load_custom_fields`).

A field can be renamed, retyped or deleted in the app while a run writes. The API then
answers 400 "Invalid Custom Field Item". :class:`FieldRefresh` reads the definitions
again, **once per run**: the workers that meet the refusal at the same time share that one
read. Each source's mapping is resolved again, field by field, and every operation not
yet written is brought up to date before it is sent (:meth:`FieldRefresh.rewrite`):

- a field that still resolves to the same key and type is written as planned;
- a field whose key or type changed (mapped by key and renamed, or retyped) is converted
  to the new type when the source's text is at hand (the old type was ``string``, which
  keeps the source's text), or else left out of the write with a value-level issue;
- a field that no longer resolves (mapped by name and renamed, or deleted) is no longer
  written; the rest of the contact is, and the operation is recorded failed with the same
  message the start of a run gives (:func:`sync.custom_fields.resolve_custom_fields`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from sync.coerce import CoercionError, coerce_value
from sync.config import SourceConfig
from sync.custom_fields import ResolvedField, resolve_custom_fields
from sync.errors import ApiError, ConfigError, Fatal
from sync.fingerprint import fingerprint
from sync.models import Issue
from sync.plan import FieldChange, Op, Plan

if TYPE_CHECKING:
    from state.store import StateStore
    from sync.api.client import ContactsApi

log = structlog.get_logger(__name__)

Definitions = list[dict[str, str]]


async def fetch_definitions(api: ContactsApi) -> Definitions:
    """The workspace's definitions, reduced to ``name``, ``key`` and ``type``."""
    return [
        {"name": d["name"], "key": d["key"], "type": d["type"]}
        for d in await api.list_custom_fields()
    ]


async def load_custom_fields(
    selected: Sequence[SourceConfig],
    api: ContactsApi | None,
    store: StateStore,
    *,
    dry_run: bool,
    notes: list[str],
) -> dict[str, list[ResolvedField]]:
    """Each source's resolved custom fields, from the API (cached for dry runs) or the cache.

    Raises:
        ConfigError: a mapped field does not resolve, or no definitions could be had.
        ApiError: the definitions could not be read on a real run.
    """
    if not any(cfg.custom_fields for cfg in selected):
        return {}
    defs: Definitions | None = None
    if api is not None:
        try:
            defs = await fetch_definitions(api)
        except ApiError as exc:
            if not dry_run or isinstance(exc, Fatal):
                raise
            notes.append(f"could not read custom field definitions: {exc}")
        if defs is not None and not dry_run:
            store.save_custom_fields(defs)
    if defs is None:
        defs = store.load_custom_fields()
        if defs is None:
            raise ConfigError(
                "custom fields are mapped, but their definitions could not be read from "
                "OpenPhone and none are cached; set the API key and run again"
            )
        notes.append("custom field definitions come from the cache of the last real run")
    return {
        cfg.name: resolve_custom_fields(
            cfg.name, cfg.custom_fields, defs, default_timezone=cfg.timezone
        )
        for cfg in selected
    }


def resolve_each(config: SourceConfig, defs: Definitions) -> dict[str, ResolvedField | str]:
    """Each mapped field (by what the config says) resolved alone, or the error it gives."""
    resolved: dict[str, ResolvedField | str] = {}
    for mapped_as, spec in config.custom_fields.items():
        try:
            [field] = resolve_custom_fields(
                config.name, {mapped_as: spec}, defs, default_timezone=config.timezone
            )
        except ConfigError as exc:
            resolved[mapped_as] = str(exc)
        else:
            resolved[mapped_as] = field
    return resolved


def recoerce(old: ResolvedField, new: ResolvedField, value: Any) -> Any:
    """``value`` (coerced for ``old``) for the field as it is now.

    Raises:
        CoercionError: it does not fit the new type, or the source's text is not at hand.
    """
    if value is None or (old.type == new.type and old.options == new.options):
        return value
    if old.type == "string" and isinstance(value, str):
        # A string field keeps the source's text, trimmed; every type trims first.
        return coerce_value(new.type, value, new.options)
    raise CoercionError(
        f"its type changed from {old.type} to {new.type} during the run and the source's "
        "value is not at hand to convert; the next run writes it"
    )


@dataclass(frozen=True)
class Rewrite:
    """What the refreshed definitions change in one operation's write."""

    issues: tuple[Issue, ...] = ()
    gone: tuple[str, ...] = ()

    @property
    def error(self) -> str | None:
        """The failure to record after the write, when a mapped field is no longer written."""
        if not self.gone:
            return None
        return "\n".join(self.gone)


class FieldRefresh:
    """One run's second look at the definitions, shared by every worker of the apply stage."""

    def __init__(
        self,
        api: ContactsApi,
        store: StateStore,
        configs: Mapping[str, SourceConfig],
        resolved: Mapping[str, Sequence[ResolvedField]],
    ) -> None:
        self.api = api
        self.store = store
        self.configs = configs
        self.resolved = resolved
        self.attempted = False
        self.ready = False
        self.error: str | None = None
        self._lock = asyncio.Lock()
        self._now: dict[str, dict[str, ResolvedField | str]] = {}

    @property
    def failed(self) -> bool:
        """True once the one refresh of the run was tried and could not read the definitions."""
        return self.error is not None

    async def run(self) -> bool:
        """Read the definitions again, once per run; True when the new ones are in hand.

        Raises:
            ApiError: a fatal one (the key was refused), which stops the run.
        """
        async with self._lock:  # the workers refused meanwhile wait for this one read
            if self.attempted:
                return self.ready
            self.attempted = True
            log.info("custom field definitions read again after 'Invalid Custom Field Item'")
            try:
                defs = await fetch_definitions(self.api)
            except ApiError as exc:
                if isinstance(exc, Fatal):
                    raise
                self.error = f"could not read custom field definitions again: {exc}"
                log.warning("custom field refresh failed", error=str(exc))
                return False
            self.store.save_custom_fields(defs)
            self._now = {
                name: resolve_each(self.configs[name], defs)
                for name in self.resolved
                if name in self.configs
            }
            self.ready = True
            return True

    def owned_keys(self, source: str, planned: frozenset[str]) -> frozenset[str]:
        """The custom field keys ``source`` writes now (``planned`` before any refresh)."""
        now = self._now.get(source)
        if not self.ready or now is None:
            return planned
        return frozenset(f.key for f in now.values() if isinstance(f, ResolvedField))

    def gone_fields(self) -> list[str]:
        """The mapped fields that no longer resolve, as ``source: mapped as``."""
        return [
            f"{source}: {mapped_as!r}"
            for source, now in self._now.items()
            for mapped_as, field in now.items()
            if isinstance(field, str)
        ]

    def report(self, plan: Plan, notes: list[str], issues: Sequence[Issue]) -> bool:
        """Add the apply stage's value issues to ``plan`` and a note; True when issues were added."""
        if not self.attempted:
            return False
        by_source = {sp.source: sp for sp in plan.sources}
        for issue in issues:
            by_source[issue.source].issues.append(issue)
        note = ("OpenPhone refused a custom field ('Invalid Custom Field Item'), so the custom "
                "field definitions were read again")
        gone = self.gone_fields()
        if self.error:
            note += f", but {self.error}"
        elif gone:
            note += ("; these mapped fields no longer resolve and were not written (see the "
                     "failed operations): " + ", ".join(gone))
        notes.append(note)
        return bool(issues)

    def rewrite(self, op: Op) -> Rewrite:
        """Bring ``op``'s contact (and fingerprint, changes) in line with the refreshed fields."""
        now = self._now.get(op.source)
        if not self.ready or now is None or op.contact is None:
            return Rewrite()
        values = op.contact.custom_fields
        previous = (op.previous or {}).get("customFields") or {}
        written: dict[str, Any] = {}
        relabel: dict[str, tuple[str, Any] | None] = {}
        issues: list[Issue] = []
        gone: list[str] = []
        for old in self.resolved[op.source]:
            if old.key not in values:
                continue  # left out at planning already
            value, new = values[old.key], now.get(old.mapped_as)
            if not isinstance(new, ResolvedField):
                relabel[old.name] = None
                if value is not None or previous.get(old.key) is not None:
                    gone.append(_gone_message(op.source, old, new))
                continue
            try:
                written[new.key] = recoerce(old, new, value)
            except CoercionError as exc:
                relabel[old.name] = None
                issues.append(_value_issue(op, old, new, value, exc.reason))
                continue
            if (new.key, new.name, written[new.key]) != (old.key, old.name, value):
                relabel[old.name] = (new.name, written[new.key])
        if relabel:
            _apply(op, written, relabel)
        return Rewrite(tuple(issues), tuple(gone))


def _apply(op: Op, written: dict[str, Any], relabel: Mapping[str, tuple[str, Any] | None]) -> None:
    assert op.contact is not None
    planned = op.changes  # as planned, under the old names: read before the contact changes
    op.contact = dataclasses.replace(op.contact, custom_fields=written)
    op.fingerprint = fingerprint(op.contact.payload())
    op.raw_hash = None  # normalized again next run, under the new definitions
    changes: list[FieldChange] = []
    for change in planned:
        label = change.field.removeprefix("custom: ")
        if not change.field.startswith("custom: ") or label not in relabel:
            changes.append(change)
            continue
        target = relabel[label]
        if target is not None:
            changes.append(FieldChange(f"custom: {target[0]}", change.before, target[1]))
    op.changes = tuple(changes)


def _gone_message(source: str, old: ResolvedField, problem: str | None) -> str:
    return (
        f"custom field {old.mapped_as!r} changed in OpenPhone during the run and no longer "
        f"resolves, so its value was not written (the rest of the contact was). Fix "
        f"sources[{source}].custom_fields; until then the next run stops with: {problem}"
    )


def _value_issue(op: Op, old: ResolvedField, new: ResolvedField, value: Any, reason: str) -> Issue:
    return Issue(
        op.source, op.row or 0, op.external_id, "value", old.column,
        None if value is None else str(value), f"custom field {new.name!r}: {reason}",
    )
