"""What one measured process does: ``python -m bench.child COMMAND ARGS``.

Each command prints one JSON object as its last line (see :func:`bench.common.emit`),
with the process's own peak RSS, so nothing the harness allocated is counted.

- ``csvreader CSV``: bare ``csv.reader`` over the file, the reference of scenario 1.
- ``plan CONFIG [--profile N]``: a dry run without an API key (the planner alone), timed
  from inside the process (interpreter start and imports excluded); ``--profile`` adds
  the N functions with the most own time.
- ``apply CONFIG DATA``: a real run against an in-process sandbox loaded from the sandbox
  data file DATA; reports the calls the sandbox answered, by method.
- ``run CONFIG``: a real run against the sandbox server the config names; reports the
  run's own counters (for the rate-budget scenario, which reads the server's log).
- ``naive CSV DATA``: the vendor guide's loop against the in-process sandbox of DATA: every
  row, one request at a time, PATCH when the row has a contact id, else POST.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

import structlog

from bench.common import API_KEY, emit


def _quiet() -> None:
    """Warnings only: the bench measures the engine, not its console output."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.getLogger().setLevel(logging.WARNING)


def csvreader(path: Path) -> dict[str, Any]:
    import csv

    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as fh:
        rows = sum(1 for _ in csv.reader(fh)) - 1
    return {"seconds": time.perf_counter() - started, "rows": rows}


def plan(config_path: Path, profile: int) -> dict[str, Any]:
    from sync.config import load_config
    from sync.engine import Engine, RunOptions

    config = load_config(config_path, env={})
    # No API key (the dry run plans from the state alone); the rest, e.g. a source's URL, stays.
    env = {k: v for k, v in os.environ.items() if k != config.openphone.api_key_env}
    engine = Engine(config, env=env)
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    result = engine.run(RunOptions(dry_run=True))
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {
        "seconds": seconds,
        "rows": sum(sp.rows_read for sp in result.plan.sources),
        "summary": result.plan.summary(),
    }
    if profiler is not None:
        out["profile"] = _top_functions(profiler, profile)
    return out


def _top_functions(profiler: cProfile.Profile, count: int) -> list[dict[str, Any]]:
    """The functions with the most own time, as (where, own seconds, calls)."""
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, name), (_, calls, own, _cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{Path(filename).name}:{line}({name})" if line else name
        rows.append({"where": where, "own_seconds": own, "calls": calls})
    rows.sort(key=lambda r: -r["own_seconds"])
    return rows[:count]


def apply(config_path: Path, data_path: Path) -> dict[str, Any]:
    from sync.config import load_config
    from sync.engine import Engine, RunOptions
    from sync.sandbox import SandboxSettings, create_app, sandbox_transport

    app = create_app(SandboxSettings(api_keys=(API_KEY,), rate_limit=1_000_000, seed=1,
                                     data_file=data_path))
    engine = Engine(load_config(config_path, env={}), env={"OPENPHONE_API_KEY": API_KEY},
                    transport=sandbox_transport(app))
    started = time.perf_counter()
    result = engine.run(RunOptions())
    seconds = time.perf_counter() - started
    app.state.sandbox.save()  # the next run (an hour later) starts from this workspace
    stats = app.state.sandbox.stats()
    return {
        "seconds": seconds,
        "summary": result.plan.summary(),
        "exit_code": result.exit_code,
        "by_method": stats["by_method"],
        "api_calls": result.api_calls,
    }


def run(config_path: Path) -> dict[str, Any]:
    from sync.config import load_config
    from sync.engine import Engine, RunOptions

    engine = Engine(load_config(config_path, env={}), env={"OPENPHONE_API_KEY": API_KEY})
    started = time.perf_counter()
    result = engine.run(RunOptions())
    return {
        "seconds": time.perf_counter() - started,
        "summary": result.plan.summary(),
        "exit_code": result.exit_code,
        "api_calls": result.api_calls,
        "rate_limited": result.rate_limited,
    }


def naive(csv_path: Path, data_path: Path) -> dict[str, Any]:
    """The guide's ``syncContacts`` (docs, "Sync your contacts"), ported as it is written.

    The guide keeps each row's contact id in a sheet column; here the ids come from the
    sandbox's data, which holds the contacts the first run made. Phone numbers are put in
    E.164 first, as the guide tells its readers to.
    """
    import asyncio
    import csv

    import httpx
    import phonenumbers

    from sync.sandbox import SandboxSettings, create_app, sandbox_transport

    app = create_app(SandboxSettings(api_keys=(API_KEY,), rate_limit=1_000_000, seed=1,
                                     data_file=data_path))
    ids = {c["externalId"]: c["id"] for c in app.state.sandbox.all_contacts()}
    statuses: dict[str, int] = {}

    def mapped(row: dict[str, str]) -> dict[str, Any]:
        phone = phonenumbers.format_number(phonenumbers.parse(row["Mobile"], "US"),
                                           phonenumbers.PhoneNumberFormat.E164)
        return {"defaultFields": {
            "firstName": row["First Name"], "lastName": row["Last Name"],
            "phoneNumbers": [{"name": "primary", "value": phone}],
            "emails": [{"name": "primary", "value": row["Email"]}],
        }}

    async def loop() -> None:
        async with httpx.AsyncClient(transport=sandbox_transport(app), base_url="http://sandbox",
                                     headers={"Authorization": API_KEY}) as client:
            with csv_path.open(newline="", encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    contact_id = ids.get(row["id"])
                    if contact_id:
                        response = await client.patch(f"/v1/contacts/{contact_id}", json=mapped(row))
                    else:
                        response = await client.post("/v1/contacts", json=mapped(row))
                    key = f"{response.request.method} {response.status_code}"
                    statuses[key] = statuses.get(key, 0) + 1

    started = time.perf_counter()
    asyncio.run(loop())
    return {"seconds": time.perf_counter() - started, "calls": sum(statuses.values()),
            "by_status": statuses, "by_method": app.state.sandbox.stats()["by_method"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("csvreader").add_argument("csv", type=Path)
    plan_parser = commands.add_parser("plan")
    plan_parser.add_argument("config", type=Path)
    plan_parser.add_argument("--profile", type=int, default=0)
    apply_parser = commands.add_parser("apply")
    apply_parser.add_argument("config", type=Path)
    apply_parser.add_argument("data", type=Path)
    commands.add_parser("run").add_argument("config", type=Path)
    naive_parser = commands.add_parser("naive")
    naive_parser.add_argument("csv", type=Path)
    naive_parser.add_argument("data", type=Path)
    args = parser.parse_args(argv)
    _quiet()
    if args.command == "csvreader":
        emit(csvreader(args.csv))
    elif args.command == "plan":
        emit(plan(args.config, args.profile))
    elif args.command == "apply":
        emit(apply(args.config, args.data))
    elif args.command == "naive":
        emit(naive(args.csv, args.data))
    else:
        emit(run(args.config))


if __name__ == "__main__":
    sys.exit(main())
