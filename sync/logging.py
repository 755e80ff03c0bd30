"""Configure structlog once, at the edge (only the CLI calls :func:`configure_logging`).

Logs go to stderr: a console renderer on a terminal, JSON lines otherwise. A redaction
processor masks API keys, URL passwords, email addresses and phone numbers in every event
value, because contact data is personal data and keys are secrets. Library modules only
call ``structlog.get_logger()``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d\s().-]{7,}\d")
# Dates and times look like digit runs too; they are matched first and kept as they are.
_DATE_OR_PHONE = re.compile(
    r"(?P<date>\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?)"
    r"|" + _PHONE.pattern
)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\s]+):[^@\s]+@", re.I)
_SECRET_KEYS = ("key", "token", "password", "secret", "authorization", "credentials")

_PLAIN_KEYS = frozenset({"timestamp", "level", "logger", "run_id", "event"})

_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Mask this exact text wherever it appears in a log event (the API key, say)."""
    if value and len(value) >= 4:
        _secrets.add(value)


def mask_secrets(text: str) -> str:
    """Mask registered secrets and URL passwords."""
    for secret in _secrets:
        text = text.replace(secret, "***")
    return _URL_PASSWORD.sub(r"\g<scheme>:***@", text)


def redact_text(text: str) -> str:
    """Mask secrets, URL passwords, emails and phone numbers in free text."""
    text = mask_secrets(text)
    text = _EMAIL.sub("<email>", text)
    return _DATE_OR_PHONE.sub(_keep_dates, text)


def _keep_dates(match: re.Match[str]) -> str:
    return match.group() if match.group("date") else "<phone>"


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: redact every string value; drop values of secret-named keys."""
    for key, value in list(event_dict.items()):
        if key in _PLAIN_KEYS:
            if isinstance(value, str):
                event_dict[key] = mask_secrets(value)
            continue
        if any(word in key.lower() for word in _SECRET_KEYS) and key != "key_count":
            event_dict[key] = "***"
        elif isinstance(value, str):
            event_dict[key] = redact_text(value)
    return event_dict


def configure_logging(*, json: bool | None = None, level: str = "INFO") -> None:
    """Route structlog and the stdlib (httpx, apscheduler) to stderr through one pipeline."""
    if json is None:
        json = not sys.stderr.isatty()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer,
        ])
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO; keep that for --verbose.
    logging.getLogger("httpx").setLevel(logging.WARNING if level.upper() != "DEBUG" else logging.DEBUG)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
