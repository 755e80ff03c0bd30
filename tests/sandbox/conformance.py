"""Check every sandbox answer against the vendor spec's response schema for its operation.

The spec is the extract the sandbox ships (``openapi-contacts.json``), which a test keeps
identical to the vendor file. Bodies the spec does not describe get schemas written here
from what the real API is seen to send: the ``{"error": ...}`` 401, the documented error
envelope for 429/502/503, and the HTML page of an unknown route.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from jsonschema import Draft202012Validator, FormatChecker

from sync.sandbox.validation import load_spec, pointer, spec_registry

SPEC = load_spec()
REGISTRY = spec_registry(SPEC)

AUTH_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "key", "trace"],
            "additionalProperties": False,
            "properties": {
                "message": {"enum": ["Missing authorization header", "Unauthorized"]},
                "key": {"const": "Unauthorized"},
                "trace": {"type": "string", "pattern": "^[0-9]+$"},
            },
        }
    },
}

# Statuses the sandbox may send that the spec does not list, per route family prefix.
_UNLISTED_TITLES = {429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Unavailable"}

FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    """RFC 3339: a date, a ``T``, a time and a zone."""
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
        raise ValueError(f"not an RFC 3339 date-time: {value!r}")
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme and ":" in value)


@FORMATS.checks("email")
def _is_email(value: object) -> bool:
    return not isinstance(value, str) or re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) is not None


def _templates() -> list[tuple[re.Pattern[str], str]]:
    found = []
    for template in SPEC["paths"]:
        regex = re.sub(r"\\\{[^/]+\\\}", "[^/]+", re.escape(template))
        found.append((re.compile(f"^{regex}$"), template))
    return found


_TEMPLATES = _templates()


def operation_path(method: str, path: str) -> str | None:
    """The spec's path template serving ``method path``, or ``None`` for an unknown route."""
    for regex, template in _TEMPLATES:
        if regex.match(path) and method.lower() in SPEC["paths"][template]:
            return template
    return None


def _unlisted_error_schema(template: str, method: str, status: int) -> dict[str, Any]:
    """The documented error envelope with this status (the spec lists no 429/502/503)."""
    listed_500 = SPEC["paths"][template][method]["responses"]["500"]
    prefix = listed_500["content"]["application/json"]["schema"]["properties"]["code"]["const"][:2]
    errors_ref = pointer(
        "paths", template, method, "responses", "500", "content", "application/json",
        "schema", "properties", "errors",
    )
    return {
        "type": "object",
        "required": ["message", "code", "status", "docs", "title"],
        "additionalProperties": False,
        "properties": {
            "message": {"type": "string", "minLength": 1},
            "code": {"type": "string", "pattern": f"^{prefix}0[01]{status}$"},
            "status": {"const": status},
            "docs": {"const": "https://quo.com/docs"},
            "title": {"const": _UNLISTED_TITLES[status]},
            "trace": {"type": "string"},
            "errors": {"$ref": errors_ref},
        },
    }


def response_schema(method: str, path: str, status: int, body: Any) -> Mapping[str, Any]:
    """The schema an answer must satisfy; fails for a status the operation cannot send."""
    template = operation_path(method, path)
    assert template is not None, f"{method} {path} is not an operation of the spec"
    method = method.lower()
    if status == 401 and isinstance(body, Mapping) and "error" in body:
        return AUTH_ERROR_SCHEMA
    responses = SPEC["paths"][template][method]["responses"]
    if str(status) in responses:
        return {"$ref": pointer("paths", template, method, "responses", str(status),
                                "content", "application/json", "schema")}
    assert status in _UNLISTED_TITLES, f"{method.upper()} {template} may not answer {status}"
    return _unlisted_error_schema(template, method, status)


def check_response(response: httpx.Response) -> None:
    """Assert that an answer (already read) is what the spec allows. ``/_sandbox`` is exempt."""
    request = response.request
    path = request.url.path
    if path.startswith("/_sandbox/"):
        return
    if operation_path(request.method, path) is None:
        assert response.status_code == 404, f"unknown route answered {response.status_code}"
        assert response.headers["content-type"].startswith("text/html")
        assert f"Cannot {request.method} {path}" in response.text
        return
    if response.status_code == 204:
        assert response.content == b"", "a 204 carries no body"
        return
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    schema = response_schema(request.method, path, response.status_code, body)
    validator = Draft202012Validator(schema, registry=REGISTRY, format_checker=FORMATS)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.path)))
    assert not errors, (
        f"{request.method} {path} -> {response.status_code} violates the spec:\n"
        + "\n".join(f"  {list(e.absolute_path)}: {e.message}" for e in errors[:5])
    )


class ConformanceLog:
    """Counts checked answers, so a test can prove the checking really happened."""

    def __init__(self) -> None:
        self.checked: list[tuple[str, str, int]] = []

    async def async_hook(self, response: httpx.Response) -> None:
        """httpx response hook for ``AsyncClient``."""
        await response.aread()
        self._check(response)

    def sync_hook(self, response: httpx.Response) -> None:
        """httpx response hook for ``Client``."""
        response.read()
        self._check(response)

    def _check(self, response: httpx.Response) -> None:
        check_response(response)
        self.checked.append((response.request.method, response.request.url.path, response.status_code))
