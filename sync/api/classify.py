"""The one place where an HTTP answer of the OpenPhone API becomes one of our errors.

:func:`classify` returns ``None`` for a 2xx answer and raises an :class:`~sync.errors.ApiError`
subclass for anything else. It branches on the HTTP status only: the API's ``code`` values
differ between its spec and its docs, so they are kept for logs, never for decisions.

Bodies are parsed defensively because the API answers in several shapes: the documented
flat ``{message, code, status, title, errors?}``, the gateway's ``{"error": {message, key}}``
on auth failures, Express HTML on unknown routes, and sometimes nothing at all.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from sync.errors import (
    ApiError,
    AuthError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    TransientApiError,
)

MAX_DETAIL = 300
"""Characters of a raw (non-JSON) body kept in a message."""

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_REDACTED = "[redacted]"


def classify(response: httpx.Response) -> None:
    """Raise the error an API answer stands for; return ``None`` for a 2xx answer.

    Raises:
        InvalidRequestError: 400 and any other 4xx not listed here (and a stray 1xx/3xx).
        AuthError: 401 (the key was refused) or 403 (the key lacks permission).
        NotFoundError: 404.
        ConflictError: 409.
        RateLimitedError: 429, with ``retry_after`` from a ``Retry-After`` header if sent.
        TransientApiError: 5xx.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    raise error_for(response)


def error_for(response: httpx.Response) -> ApiError:
    """The error (not raised) that a non-2xx answer stands for; see :func:`classify`."""
    status = response.status_code
    detail, code = _detail_and_code(response)
    detail = _redact(detail, response)
    where = _where(response)
    if status == 401:
        return AuthError(f"the API key was refused (401): {detail}", status=status, code=code)
    if status == 403:
        return AuthError(
            f"the API key lacks permission (403) for {where}: {detail}", status=status, code=code
        )
    if status == 404:
        return NotFoundError(f"not found (404): {where}: {detail}", status=status, code=code)
    if status == 409:
        return ConflictError(f"conflict (409) on {where}: {detail}", status=status, code=code)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return RateLimitedError(
            f"rate limited (429) on {where}: {detail}",
            status=status,
            code=code,
            retry_after=retry_after,
        )
    if status >= 500:
        return TransientApiError(f"server error ({status}) on {where}: {detail}", status=status, code=code)
    return InvalidRequestError(f"the API refused {where} ({status}): {detail}", status=status, code=code)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    Returns ``None`` when the header is absent or unreadable; never a negative number.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_date(text, now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _seconds_until_date(text: str, now: datetime | None) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        when = when.replace(tzinfo=UTC)
    reference = now or datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


def _detail_and_code(response: httpx.Response) -> tuple[str, str | None]:
    """The most useful human text in a body, and the API's error code if any."""
    text = _body_text(response)
    body = _json_or_none(text)
    if isinstance(body, dict):
        detail, code = _from_json(body)
        if detail:
            return detail, code
        return _fallback(text, response), code
    return _fallback(text, response), None


def _from_json(body: dict[str, Any]) -> tuple[str, str | None]:
    error = body.get("error")
    nested: dict[str, Any] = error if isinstance(error, dict) else {}
    code = body.get("code", nested.get("code", nested.get("key")))
    code_text = str(code) if isinstance(code, str | int) and not isinstance(code, bool) else None
    reasons, message = _joined_errors(body.get("errors")), body.get("message")
    if reasons and isinstance(message, str) and message.strip() and message.strip() not in reasons:
        # Both: the message says what kind of refusal ("Invalid Custom Field Item"), the
        # errors say where.
        return f"{message.strip()}: {reasons}", code_text
    candidates = (reasons, message, nested.get("message"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip(), code_text
    return "", code_text


def _joined_errors(errors: Any) -> str:
    """``errors[]`` items as "path: message", joined with "; "."""
    if not isinstance(errors, list):
        return ""
    parts = []
    for item in errors:
        if not isinstance(item, dict):
            continue
        path, message = item.get("path"), item.get("message")
        if isinstance(message, str) and message:
            parts.append(f"{path}: {message}" if isinstance(path, str) and path else message)
    return "; ".join(parts)


def _fallback(text: str, response: httpx.Response) -> str:
    """A raw body made readable: tags stripped, whitespace collapsed, truncated."""
    plain = _SPACE.sub(" ", _TAG.sub(" ", text)).strip()
    if not plain:
        return response.reason_phrase or f"HTTP {response.status_code}"
    if len(plain) > MAX_DETAIL:
        return plain[: MAX_DETAIL - 1] + "…"
    return plain


def _body_text(response: httpx.Response) -> str:
    try:
        return response.text
    except (httpx.ResponseNotRead, UnicodeDecodeError, LookupError):
        return ""


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _where(response: httpx.Response) -> str:
    """``METHOD /path`` of the request (no query string, no headers)."""
    try:
        request = response.request
    except RuntimeError:
        return "the request"
    return f"{request.method} {request.url.path}"


def _redact(text: str, response: httpx.Response) -> str:
    """Mask the request's Authorization value should a server ever echo it back."""
    try:
        secret = response.request.headers.get("authorization")
    except RuntimeError:
        return text
    if secret and len(secret) >= 4:
        return text.replace(secret, _REDACTED)
    return text
