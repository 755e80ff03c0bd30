"""``sync doctor``: check, in order, everything a run needs, and print a checklist.

1. the config is valid;
2. the API key is accepted (one read: ``GET /v1/phone-numbers``);
3. the custom-field mapping resolves against the workspace's definitions;
4. each source is reachable and its key column (and every mapped column) is present;
5. the state store is reachable, migrated and writable;
6. no lock is stuck.

Nothing is written to the API. The state store gets what any run gives it: pending
migrations, and a moment's hold of the run lock (taken and released) to prove it is
writable; a held lock is reported, never taken. A check that cannot run because an
earlier one failed is shown as skipped, and counts as not passed.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from state.records import LockInfo
from state.store import StateStore, new_store_location
from sync.api.client import ContactsApi
from sync.config import SourceConfig, SyncConfig, config_path, load_config
from sync.custom_fields import ResolvedField, resolve_custom_fields
from sync.engine import make_source
from sync.errors import ApiError, ConfigError, LockHeldError, SyncError
from sync.logging import register_secret
from sync.mapping import RowMapper

PROBE_LEASE_SECONDS = 30.0


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    name: str
    ok: bool
    detail: str
    skipped: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for ``--output json``."""
        return {"check": self.name, "ok": self.ok, "skipped": self.skipped, "detail": self.detail}


def skipped(name: str, why: str) -> Check:
    """A check that could not run because an earlier one failed."""
    return Check(name, ok=False, detail=f"skipped: {why}", skipped=True)


def run_checks(
    config_file: str | os.PathLike[str] | None,
    *,
    env: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Check]:
    """Every check, in order (``transport`` swaps in the sandbox for tests)."""
    env = dict(os.environ if env is None else env)
    path = config_path(config_file, env)
    try:
        config = load_config(path, env)
    except ConfigError as exc:
        return [
            Check("config valid", False, str(exc)),
            *(skipped(name, "the config is not valid") for name in
              ("API key accepted", "custom fields resolve", "sources readable", "state store", "lock")),
        ]
    checks = [Check("config valid", True, _describe_config(config, path))]
    defs, api_check = asyncio.run(_check_api(config, env, transport))
    checks.append(api_check)
    resolved, field_check = _check_custom_fields(config, defs)
    checks.append(field_check)
    checks.extend(_check_source(config, name, env, resolved.get(name, [])) for name in
                  (s.name for s in config.sources))
    checks.extend(_check_state(config, env))
    return checks


def _describe_config(config: SyncConfig, path: Path) -> str:
    names = ", ".join(s.name for s in config.sources)
    count = len(config.sources)
    return f"{path}: {count} source{'s' if count != 1 else ''} ({names})"


async def _check_api(
    config: SyncConfig, env: Mapping[str, str], transport: httpx.AsyncBaseTransport | None
) -> tuple[list[dict[str, str]] | None, Check]:
    """Authenticate with one cheap read, then read the custom-field definitions."""
    name = "API key accepted"
    try:
        key = config.api_key(env)
    except ConfigError as exc:
        return None, Check(name, False, exc.problems[0])
    register_secret(key)
    api = ContactsApi(
        config.openphone.base_url, key, rate_limit=config.openphone.rate_limit,
        timeout=httpx.Timeout(min(config.openphone.timeout, 20.0), connect=5.0),
        transport=transport, max_retries=1, max_rate_limit_wait=30.0,
    )
    try:
        await api.check_connection()
        listed = await api.list_custom_fields()
        defs = [{"name": d["name"], "key": d["key"], "type": d["type"]} for d in listed]
    except ApiError as exc:
        return None, Check(name, False, f"{config.openphone.base_url}: {exc}")
    finally:
        await api.aclose()
    where = f"${config.openphone.api_key_env}"
    return defs, Check(name, True, f"by {config.openphone.base_url} (key from {where})")


def _check_custom_fields(
    config: SyncConfig, defs: Sequence[Mapping[str, str]] | None
) -> tuple[dict[str, list[ResolvedField]], Check]:
    name = "custom fields resolve"
    mapped = {s.name: s for s in config.sources if s.custom_fields}
    if not mapped:
        return {}, Check(name, True, "no custom fields are mapped")
    if defs is None:
        return {}, skipped(name, "the workspace's definitions come from the API, which did not answer")
    resolved: dict[str, list[ResolvedField]] = {}
    problems: list[str] = []
    for source_name, src in mapped.items():
        try:
            resolved[source_name] = resolve_custom_fields(
                source_name, src.custom_fields, defs, default_timezone=src.timezone)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        return resolved, Check(name, False, "\n".join(problems))
    count = sum(len(fields) for fields in resolved.values())
    plural = "s" if count != 1 else ""
    return resolved, Check(name, True, f"{count} mapped field{plural} found in the workspace")


def _check_source(
    config: SyncConfig, source_name: str, env: Mapping[str, str], custom: Sequence[ResolvedField]
) -> Check:
    """Open the source, read its header, and compile the mapping against it."""
    name = f"source {source_name}"
    source_config = config.source(source_name)
    try:
        source = make_source(source_config, config, env)
        with source.open() as stream:
            columns = stream.columns
        mapper = RowMapper(source_config, columns, custom)
    except SyncError as exc:
        return Check(name, False, str(exc))
    keys = ", ".join(repr(c) for c in source_config.key)
    del mapper  # compiling it was the check: every mapped column resolved
    mapped = len(_mapped_columns(source_config, custom))
    return Check(name, True, f"{source.describe()}: {len(columns)} columns; key {keys} and all "
                             f"{mapped} mapped columns present")


def _mapped_columns(config: SourceConfig, custom: Sequence[ResolvedField]) -> set[str]:
    fields = config.fields
    scalars = (fields.first_name, fields.last_name, fields.company, fields.role, config.country_column)
    return {
        *config.key, *(c for c in scalars if c), *fields.emails.values(), *fields.phone_numbers.values(),
        *(f.column for f in custom),
    }


def _check_state(config: SyncConfig, env: Mapping[str, str]) -> list[Check]:
    try:
        url = config.state_url(env)
        if not StateStore.exists(url):  # doctor does not create it: the first real run does
            return _not_created_yet(url)
        store = StateStore.open(url)
    except SyncError as exc:
        return [Check("state store", False, str(exc)), skipped("lock", "the state store is not reachable")]
    with store:
        try:
            holder = store.lock_holder()  # read before the probe, which would take over a stale lease
            migrations = store.applied_migrations()
            count = len(migrations)
            state = Check("state store", True, f"{store.url_for_display}: reachable, migrated (format "
                          f"{store.format_version()}, {count} migration{'s' if count != 1 else ''}), "
                          f"{_probe_writable(store, holder)}")
        except SyncError as exc:
            return [Check("state store", False, f"{store.url_for_display}: {exc}"),
                    skipped("lock", "the state store could not be read")]
        return [state, check_lock(holder)]


def _not_created_yet(url: str) -> list[Check]:
    shown, folder = new_store_location(url)
    if folder is not None:
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            return [Check("state store", False, f"{shown}: not created yet, and its folder {folder} "
                                                "is missing or not writable"),
                    skipped("lock", "there is no state store yet")]
        where = f"its folder {folder} is writable"
    else:
        where = "the database answers"
    return [Check("state store", True, f"{shown}: not created yet ({where}); the first real run "
                                       "creates it"),
            Check("lock", True, "free (no state store yet)")]


def _probe_writable(store: StateStore, holder: LockInfo | None) -> str:
    """Take and release the run lock: a real write and delete in the store's lock table."""
    if holder is not None and _utc(holder.expires_at) > datetime.now(UTC):
        return "writable not probed while a run holds the lock"
    owner = f"doctor:{os.uname().nodename}:{os.getpid()}"
    try:
        store.acquire_lock(owner, wait_seconds=0, lease_seconds=PROBE_LEASE_SECONDS)
    except LockHeldError:
        return "writable not probed: a run took the lock just now"
    store.release_lock(owner)
    return "writable"


def check_lock(holder: LockInfo | None, *, now: datetime | None = None, host: str | None = None) -> Check:
    """Is the run lock free, held by a live run, or stuck (its process gone, lease not run out)?"""
    now = now or datetime.now(UTC)
    host = host or os.uname().nodename
    if holder is None:
        return Check("lock", True, "free")
    expires = f"{_utc(holder.expires_at):%Y-%m-%d %H:%M:%S} UTC"
    if _utc(holder.expires_at) < now:
        return Check("lock", True, f"left by {holder.owner!r}, whose lease ran out at {expires}; "
                                   "the next run takes it over")
    owner_host, _, rest = holder.owner.partition(":")
    pid_text = rest.partition(":")[0]
    if owner_host == host and pid_text.isdigit() and not _process_alive(int(pid_text)):
        return Check("lock", False, f"stuck: held by process {pid_text} on this host, which is no longer "
                                    f"running; runs fail with exit 4 until the lease runs out at {expires}")
    return Check("lock", True, f"held by a run in progress ({holder.owner!r}) until {expires} at the latest")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def exit_code(checks: Sequence[Check]) -> int:
    """0 when every check passed, else 1."""
    return 0 if all(c.ok for c in checks) else 1


def render(console: Console, checks: Sequence[Check]) -> None:
    """The checklist: one line per check, a mark, its name and a short reason."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for check in checks:
        mark = "[green]✓[/green]" if check.ok else ("[yellow]-[/yellow]" if check.skipped else "[red]✗[/red]")
        grid.add_row(mark, check.name, escape(check.detail))
    console.print(grid)
    failed = sum(1 for c in checks if not c.ok)
    if failed:
        console.print(f"[red]{failed} of {len(checks)} checks did not pass.[/red]")
    else:
        console.print(f"[green]All {len(checks)} checks passed.[/green]")


def run_doctor(config_file: str | None, *, output: str = "text") -> int:
    """``sync doctor``: run the checks, show them, return the exit code."""
    checks = run_checks(config_file)
    if output == "json":
        print(json.dumps({"ok": exit_code(checks) == 0, "checks": [c.as_dict() for c in checks]}))
    else:
        render(Console(highlight=False), checks)
    return exit_code(checks)
