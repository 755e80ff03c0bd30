"""Errors of openphone-sync, classified by what the runner should do with them.

Every error we raise derives from :class:`SyncError`. A *marker* mixin says what the
executor does when it meets one; the executor decides by marker only, never by class::

    SyncError
    ├── ConfigError            (Fatal)   bad config or usage: exit 2, nothing written
    ├── SourceError            (Fatal)   a source cannot be read at all: exit 4
    │   └── MissingColumnError (Fatal)   a configured column is not in the source
    ├── StateError             (Fatal)   the state store is unreachable or corrupt: exit 4
    │   └── LockHeldError      (Fatal)   another run holds the lock: exit 4
    └── ApiError                         an answer of the OpenPhone API
        ├── AuthError          (Fatal)   401/403 on every call: exit 4
        ├── NotStartedError    (Fatal)   unreachable before any write: exit 4
        ├── RateLimitedError   (Retriable) 429
        ├── TransientApiError  (Retriable) 5xx, timeouts, dropped connections
        ├── AmbiguousCreateError (Retriable) a create that may have been committed
        ├── NotFoundError      (Skippable) 404 on one contact
        ├── ConflictError      (Skippable) 409 on create (duplicate externalId)
        └── InvalidRequestError (Skippable) 400: this one operation is refused

Anything else that escapes is a bug: the run aborts and records it. That is the opposite
of retry-by-default on purpose: a create that half-succeeded must never be blindly retried.

Foreign errors (httpx, SQLAlchemy, gspread, csv) are translated at the boundary where they
occur and re-raised as one of ours with ``from exc``.
"""

from __future__ import annotations

from collections.abc import Sequence


class Fatal:
    """Marker: stop the run."""


class Retriable:
    """Marker: the operation may succeed if tried again later."""


class Skippable:
    """Marker: this one operation failed for good; record it and go on."""


class SyncError(Exception):
    """Root of every error openphone-sync raises on purpose."""

    exit_code: int = 1


class ConfigError(SyncError, Fatal):
    """The configuration or the command line is wrong. Lists every problem found at once."""

    exit_code = 2

    def __init__(self, problems: Sequence[str] | str, *, path: str | None = None) -> None:
        self.problems: tuple[str, ...] = (problems,) if isinstance(problems, str) else tuple(problems)
        self.path = path
        where = f"{path}: " if path else ""
        if len(self.problems) == 1:
            text = f"{where}{self.problems[0]}"
        else:
            text = f"{where}{len(self.problems)} problems:\n" + "\n".join(
                f"  - {p}" for p in self.problems
            )
        super().__init__(text)


class SourceError(SyncError, Fatal):
    """A source could not be read at all (missing file, unreachable database, bad sheet)."""

    exit_code = 4


class MissingColumnError(SourceError):
    """A column named in the config (the key, or a mapped field) is not in the source."""


class StateError(SyncError, Fatal):
    """The state store could not be used."""

    exit_code = 4


class LockHeldError(StateError):
    """Another run holds the state store's lock."""


class ApiError(SyncError):
    """An answer of the OpenPhone API that is not a success."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after


class AuthError(ApiError, Fatal):
    """The API key was refused (401) or lacks permission (403)."""

    exit_code = 4


class NotStartedError(ApiError, Fatal):
    """The API kept failing (unreachable, 5xx after every retry) before anything was written.

    What a transient error becomes when it escapes the reads a run starts with (custom
    field definitions, interrupted operations, adoption look-ups): the run could not start.
    """

    exit_code = 4


class RateLimitedError(ApiError, Retriable):
    """429: wait, then try again. Does not use up an operation's retry budget."""


class TransientApiError(ApiError, Retriable):
    """5xx, a timeout or a dropped connection on a request that is safe to repeat."""


class AmbiguousCreateError(ApiError, Retriable):
    """A create whose outcome is unknown: the server may have committed it.

    Never retried blindly; the runner looks the contact up by ``externalId`` first.
    """


class NotFoundError(ApiError, Skippable):
    """404: the contact does not exist (any more)."""


class ConflictError(ApiError, Skippable):
    """409 on create: a contact with this ``externalId`` already exists."""


class InvalidRequestError(ApiError, Skippable):
    """400: the API refused this one operation (a bad value, an invalid custom field)."""

    @property
    def is_invalid_custom_field(self) -> bool:
        """True when the API said "Invalid Custom Field Item"."""
        # Branch on the message, not the code: the spec gives every contact 400 the code
        # 0801400, whatever its cause.
        return "invalid custom field item" in self.message.lower()
