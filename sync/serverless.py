"""``sync.serverless:handler``: one sync per invocation, for AWS Lambda and the like.

The configuration comes from ``OPENPHONE_SYNC_CONFIG`` (a path, e.g. a file shipped in
the bundle) or ``OPENPHONE_SYNC_CONFIG_TOML`` (the TOML itself, for platforms with no
file system to ship it on); secrets come from the environment variables the config
names, as everywhere. Relative paths in TOML given inline are taken from the working
directory. Keep the state on PostgreSQL or MySQL: a function's disk does not survive.

The handler returns the run's summary (``RunResult.to_dict()`` plus ``exit_code``). A run
that could not start (bad config, refused key, lock held) raises its error, so the
platform counts the invocation as failed and its alarms see it. The event may carry
``{"dry_run": true}`` and ``{"sources": ["name", ...]}``; anything else in it (such as
an EventBridge schedule's fields) is ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog

from sync.config import CONFIG_ENV, SyncConfig, load_config, parse_config
from sync.errors import ConfigError, SyncError
from sync.metrics import summary_document
from sync.runner import execute

CONFIG_TOML_ENV = "OPENPHONE_SYNC_CONFIG_TOML"
LOG_LEVEL_ENV = "OPENPHONE_SYNC_LOG_LEVEL"

log = structlog.get_logger(__name__)
_logging_ready = False


def config_from_env(env: Mapping[str, str]) -> SyncConfig:
    """The config named by ``OPENPHONE_SYNC_CONFIG`` or given by ``OPENPHONE_SYNC_CONFIG_TOML``."""
    path, text = env.get(CONFIG_ENV, "").strip(), env.get(CONFIG_TOML_ENV, "")
    if path and text.strip():
        raise ConfigError(f"set either {CONFIG_ENV} (a path) or {CONFIG_TOML_ENV} (the TOML), not both")
    if path:
        return load_config(path, env)
    if text.strip():
        return parse_config(text, Path.cwd() / CONFIG_TOML_ENV, env)
    raise ConfigError(f"no configuration: set {CONFIG_ENV} to a config file's path, "
                      f"or {CONFIG_TOML_ENV} to the TOML itself")


def _event_options(event: Any) -> tuple[bool, list[str]]:
    if not isinstance(event, Mapping):
        return False, []
    dry_run = event.get("dry_run", False)
    sources = event.get("sources") or []
    if not isinstance(dry_run, bool) or not isinstance(sources, list) or not all(
        isinstance(s, str) for s in sources
    ):
        raise ConfigError('the event may hold "dry_run" (true or false) and "sources" (a list of names)')
    return dry_run, sources


def _setup_logging(env: Mapping[str, str]) -> None:
    """JSON logs, once per container: the platform keeps stderr lines as they are."""
    global _logging_ready  # configured once per warm container
    if _logging_ready:
        return
    from sync.logging import configure_logging

    configure_logging(json=True, level=env.get(LOG_LEVEL_ENV, "INFO"))
    _logging_ready = True


def handler(event: Any, context: Any, *, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run the configured sync once and return its summary as a JSON-ready dict.

    ``env`` replaces ``os.environ`` (for tests and embedding); platforms call
    ``handler(event, context)``.

    Raises:
        SyncError: the run could not start or stopped on a fatal error (logged first).
    """
    env = dict(os.environ if env is None else env)
    _setup_logging(env)
    request_id = getattr(context, "aws_request_id", None)
    try:
        dry_run, sources = _event_options(event)
        config = config_from_env(env)
        result = execute(config, dry_run=dry_run, output="quiet", sources=sources, env=env)
    except SyncError as exc:
        log.error("serverless run failed", error=str(exc), exit_code=exc.exit_code,  # noqa: TRY400
                  request_id=request_id)
        raise
    document: dict[str, Any] = json.loads(json.dumps(summary_document(result), default=str))
    log.info("serverless run finished", run_id=result.run_id, outcome=result.outcome,
             exit_code=result.exit_code, **result.plan.summary(), api_calls=result.api_calls,
             rate_limited=result.rate_limited, duration_seconds=round(result.duration, 3),
             request_id=request_id)
    return document
