"""The bodies the sandbox answers with when it refuses something.

- Documented errors (``message``, ``code``, ``status``, ``docs``, ``title``, ...): the codes
  of the spec per route family (contacts ``08``, custom fields ``07``, phone numbers
  ``04``). The spec fixes one title per status; a contact 400 is always titled
  "Invalid Custom Field Item" there, so the ``message`` says what was actually wrong.
- Auth failures: the observed ``{"error": {"message", "key", "trace"}}`` shape.
- Unknown routes: the bare Express HTML page the real API sends.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sync.sandbox.validation import FieldError

DOCS_URL = "https://quo.com/docs"
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Unknown",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class ErrorFamily:
    """A route family's error codes: ``<prefix><00|01><status>``, as in the spec."""

    prefix: str
    titles: dict[int, str] = field(default_factory=dict)
    # Statuses whose code uses the ``01`` middle and whose body carries a description.
    special: frozenset[int] = frozenset()

    def code(self, status: int) -> str:
        """The error code for ``status`` (e.g. ``0801400``, ``0800404``, ``0801500``)."""
        middle = "01" if status >= 500 or status in self.special else "00"
        return f"{self.prefix}{middle}{status}"

    def title(self, status: int) -> str:
        """The error title for ``status``."""
        return self.titles.get(status, _TITLES.get(status, "Error"))


CONTACTS = ErrorFamily(
    "08",
    {400: "Invalid Custom Field Item", 403: "Not Phone Number User"},
    frozenset({400, 403}),
)
CUSTOM_FIELDS = ErrorFamily("07")
PHONE_NUMBERS = ErrorFamily("04")


def error_body(
    family: ErrorFamily,
    status: int,
    message: str,
    trace: str,
    errors: Sequence[FieldError] = (),
) -> dict[str, Any]:
    """A documented error body."""
    title = family.title(status)
    body: dict[str, Any] = {
        "message": message,
        "code": family.code(status),
        "status": status,
        "docs": DOCS_URL,
        "title": title,
    }
    if status in family.special:
        body["description"] = title
    body["trace"] = trace
    if errors:
        body["errors"] = [e.to_api() for e in errors]
    return body


def auth_error_body(message: str, trace: str) -> dict[str, Any]:
    """The 401 body the real API is seen to send (not the documented shape)."""
    return {"error": {"message": message, "key": "Unauthorized", "trace": trace}}


def not_found_page(method: str, path: str) -> str:
    """Express's default 404 page, which the real API answers unknown routes with."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>Error</title>\n</head>\n<body>\n"
        f"<pre>Cannot {html.escape(method)} {html.escape(path)}</pre>\n"
        "</body>\n</html>\n"
    )
