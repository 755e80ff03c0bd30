"""The ``sync`` command: a thin shell over the library.

It parses flags, loads the config, calls one library function, shows the result and maps
errors to the documented exit codes:

    0 done (rejected rows are reported, not failures)   1 some operations failed
    2 bad config or usage                               3 a safety gate held operations back
    4 the run could not start (bad key, unreachable source or state, another run in progress)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from sync.errors import SyncError

EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 some operations failed or the run was interrupted; 2 bad config or "
    "usage; 3 a safety gate held deletes (or a whole source) back; 4 the run could not start."
)


def _console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


@contextmanager
def _errors_to_exit(output: str = "text") -> Iterator[None]:
    """Map our errors to exit codes; anything else is a bug and says so."""
    try:
        yield
    except SyncError as exc:
        code = exc.exit_code
        if output == "json":
            click.echo(json.dumps({"error": {"message": str(exc), "exit_code": code}}))
        else:
            _console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}", markup=True,
                                        highlight=False)
        sys.exit(code)


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--config, --verbose and --json-logs, shared by every command that reads the config."""
    func = click.option("--config", "config_file", metavar="FILE", default=None,
                        help="Config file [default: sync.toml, or $OPENPHONE_SYNC_CONFIG].")(func)
    func = click.option("-v", "--verbose", is_flag=True, help="Debug logging.")(func)
    func = click.option("--json-logs/--console-logs", default=None,
                        help="Log format on stderr [default: console on a terminal, else JSON].")(func)
    return func


def output_file_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--summary-file and --metrics-file, shared by the one-shot run and ``schedule``."""
    func = click.option("--metrics-file", metavar="FILE",
                        help="Write run metrics in the Prometheus text format (node-exporter textfile "
                             "collector); replaced atomically.")(func)
    func = click.option("--summary-file", metavar="FILE",
                        help="Write the run's summary as JSON; replaced atomically.")(func)
    return func


def _setup_logging(verbose: bool, json_logs: bool | None) -> None:
    from sync.logging import configure_logging

    configure_logging(json=json_logs, level="DEBUG" if verbose else "INFO")


@click.group(invoke_without_command=True, epilog=EXIT_CODES_HELP)
@common_options
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: print one JSON document on stdout and nothing else.")
@click.option("--source", "sources", multiple=True, metavar="NAME",
              help="Only this source (repeatable).")
@click.option("--rejects", metavar="FILE", help="Write rejected rows and values to this CSV file.")
@click.option("--allow-deletes", type=click.IntRange(min=0), metavar="N",
              help="Let this one run delete up to N contacts past the safety gates.")
@output_file_options
@click.option("--report", "report_file", metavar="FILE",
              help="Write the plan (and, on a real run, each outcome) as one self-contained HTML page.")
@click.version_option(package_name="openphone-sync")
@click.pass_context
def main(
    ctx: click.Context,
    config_file: str | None,
    verbose: bool,
    json_logs: bool | None,
    dry_run: bool,
    output: str,
    sources: tuple[str, ...],
    rejects: str | None,
    allow_deletes: int | None,
    summary_file: str | None,
    metrics_file: str | None,
    report_file: str | None,
) -> None:
    """Sync contacts from CSV files, Google Sheets and SQL databases into OpenPhone.

    With no command: run the sync once for the config's sources.
    """
    if ctx.invoked_subcommand is not None:
        return
    _setup_logging(verbose, json_logs)
    with _errors_to_exit(output):
        from sync.runner import RunOutputs, run_once

        code = run_once(
            config_file, dry_run=dry_run, output=output, sources=sources, rejects=rejects,
            allow_deletes=allow_deletes,
            outputs=RunOutputs(summary_file, metrics_file, report_file),
        )
    sys.exit(code)


@main.command()
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def demo(output: str) -> None:
    """Run the bundled example data against an in-process sandbox (no API key, no network)."""
    from sync.logging import configure_logging

    configure_logging(level="WARNING")
    with _errors_to_exit(output):
        from sync.demo import run_demo

        sys.exit(run_demo(output=output))


@main.command()
@common_options
@click.option("--limit", default=10, show_default=True, help="How many runs to show.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def status(config_file: str | None, verbose: bool, json_logs: bool | None, limit: int,
           output: str) -> None:
    """Show the last runs and the rows currently failing, from the state store."""
    _setup_logging(verbose, json_logs)
    with _errors_to_exit(output):
        from sync.runner import show_status

        show_status(config_file, limit=limit, output=output)


@main.command()
@common_options
@click.option("--every", metavar="DURATION",
              help="Run at this interval: 1h, 15m, 30s, 1h30m [default: 1h unless --cron].")
@click.option("--cron", metavar="EXPR", help='Run on a crontab schedule instead, e.g. "0 * * * *".')
@click.option("--run-now", is_flag=True, help="Also run once at start, without waiting for the first slot.")
@click.option("--jitter", type=click.FloatRange(min=0), default=0, show_default=True, metavar="SECONDS",
              help="Delay each run by a random 0..SECONDS, so many installs do not call at once.")
@click.option("--misfire-grace", type=click.FloatRange(min=1), default=300, show_default=True,
              metavar="SECONDS", help="A run that could not start on time still starts within this window.")
@click.option("--source", "sources", multiple=True, metavar="NAME", help="Only this source (repeatable).")
@output_file_options
def schedule(config_file: str | None, verbose: bool, json_logs: bool | None, every: str | None,
             cron: str | None, run_now: bool, jitter: float, misfire_grace: float,
             sources: tuple[str, ...], summary_file: str | None, metrics_file: str | None) -> None:
    """Run the sync on a schedule until SIGTERM (then finish the requests in flight, exit 0).

    Never two runs at once: a run still going when the next is due is skipped and logged.
    Each run logs one summary event (JSON lines when stderr is not a terminal).
    """
    _setup_logging(verbose, json_logs)
    with _errors_to_exit():
        from sync.runner import RunOutputs
        from sync.scheduler import ScheduleSpec, run_schedule

        spec = ScheduleSpec.from_flags(every, cron, jitter=jitter, misfire_grace=misfire_grace,
                                       run_now=run_now)
        code = run_schedule(config_file, spec, sources=sources,
                            outputs=RunOutputs(summary_file, metrics_file))
    sys.exit(code)


@main.command()
@common_options
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def doctor(config_file: str | None, verbose: bool, json_logs: bool | None, output: str) -> None:
    """Check config, API key, custom fields, sources, state store and lock; writes nothing to the API.

    Exit 0 only when every check passes, else 1.
    """
    _setup_logging(verbose, json_logs)
    with _errors_to_exit(output):
        from sync.doctor import run_doctor

        code = run_doctor(config_file, output=output)
    sys.exit(code)


@main.command()
@common_options
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def fields(config_file: str | None, verbose: bool, json_logs: bool | None, output: str) -> None:
    """List the workspace's custom fields and which column feeds each one."""
    _setup_logging(verbose, json_logs)
    with _errors_to_exit(output):
        from sync.runner import show_fields

        sys.exit(show_fields(config_file, output=output))


def _register_optional_commands() -> None:
    from sync.sandbox.cli import sandbox_command

    main.add_command(sandbox_command, "sandbox")


_register_optional_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
