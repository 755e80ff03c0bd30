"""``sync sandbox``: serve the sandbox on loopback with uvicorn.

Prints the base URL and an example key, stops cleanly on Ctrl-C, and with ``--data``
loads the file on start and saves it on shutdown. ``sync/cli.py`` registers
:data:`sandbox_command`; the library does not need click.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import click
import uvicorn

from sync.errors import ConfigError
from sync.sandbox.app import create_app
from sync.sandbox.settings import PatchMode, SandboxSettings, load_field_definitions
from sync.sandbox.transport import quiet_dropped_connection_logs

_RATE = click.FloatRange(0.0, 1.0)


def build_settings(
    *,
    api_keys: tuple[str, ...],
    rate_limit: int,
    latency_ms: float,
    jitter_ms: float,
    fail_rate: float,
    reset_rate: float,
    ambiguous_create_rate: float,
    spurious_429_rate: float,
    seed: int | None,
    custom_fields: Path | None,
    data: Path | None,
    no_retry_after: bool,
    patch_mode: PatchMode,
) -> SandboxSettings:
    """The settings the flags describe; keywords are the click parameter names.

    ``--api-key`` defaults to ``sandbox-key``; a custom-fields file is read and checked here.
    """
    definitions = None
    if custom_fields is not None:
        definitions = [d.to_api() for d in load_field_definitions(custom_fields)]
    return SandboxSettings(
        api_keys=api_keys or ("sandbox-key",),
        rate_limit=rate_limit,
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        fail_rate=fail_rate,
        reset_rate=reset_rate,
        ambiguous_create_rate=ambiguous_create_rate,
        spurious_429_rate=spurious_429_rate,
        seed=seed,
        send_retry_after=not no_retry_after,
        patch_mode=patch_mode,
        custom_fields=definitions,
        data_file=data,
    )


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(0, 65535))
@click.option("--api-key", "api_keys", multiple=True, help="Accepted key (repeat for several).")
@click.option("--rate-limit", default=10, show_default=True, type=click.IntRange(min=1),
              help="Requests per key in any one-second window.")
@click.option("--latency-ms", default=0.0, show_default=True, type=click.FloatRange(min=0.0))
@click.option("--jitter-ms", default=0.0, show_default=True, type=click.FloatRange(min=0.0))
@click.option("--fail-rate", default=0.0, show_default=True, type=_RATE,
              help="Share of requests answered 500/502/503.")
@click.option("--reset-rate", default=0.0, show_default=True, type=_RATE,
              help="Share of requests whose connection is dropped.")
@click.option("--ambiguous-create-rate", default=0.0, show_default=True, type=_RATE,
              help="Share of creates committed, then answered 5xx or dropped.")
@click.option("--spurious-429-rate", default=0.0, show_default=True, type=_RATE,
              help="Share of requests answered 429 though under the limit.")
@click.option("--seed", type=int, default=None, help="Seed for faults, jitter and ids.")
@click.option("--custom-fields", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON list of {name, key, type} custom-field definitions.")
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON file to load at start and save at shutdown.")
@click.option("--no-retry-after", "no_retry_after", is_flag=True,
              help="Send 429s without a Retry-After header.")
@click.option("--patch-mode", type=click.Choice(["replace", "merge"]), default="replace",
              show_default=True, help="PATCH deletes omitted arrays (replace) or keeps them.")
def sandbox_command(host: str, port: int, **flags: Any) -> None:
    """Serve a local sandbox of the OpenPhone contacts API."""
    try:
        settings = build_settings(**flags)
        app = create_app(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    state = app.state.sandbox
    _announce(settings, f"http://{host}:{port}", len(state.store))
    quiet_dropped_connection_logs()
    # uvicorn shuts down gracefully on Ctrl-C, then re-raises the signal; a Ctrl-C during
    # start-up arrives as KeyboardInterrupt directly. Either way we stop cleanly.
    with contextlib.suppress(KeyboardInterrupt):
        config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                                access_log=False, lifespan="on")
        uvicorn.Server(config).run()
    if settings.data_file is not None:
        state.save()  # the app's shutdown saved already, unless stopped mid-start-up
        click.echo(f"Saved {len(state.store)} contacts to {settings.data_file}")


def _announce(settings: SandboxSettings, base_url: str, loaded: int) -> None:
    """Say where the data lives, which key to use, and where the sandbox listens."""
    data = settings.data_file
    if data is not None:
        click.echo(f"Loaded {loaded} contacts from {data}" if data.exists()
                   else f"Will save contacts to {data}")
    key, others = settings.api_keys[0], len(settings.api_keys) - 1
    click.echo(f"API key: {key}" + (f" (and {others} more)" if others else ""))
    click.echo(f"Try: curl -H 'Authorization: {key}' '{base_url}/v1/contacts?maxResults=10'")
    click.echo(f"OpenPhone sandbox on {base_url} (Ctrl-C to stop)")
