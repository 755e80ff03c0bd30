"""Counters of what the API layer did, read by the engine for its run summary.

One :class:`ApiStats` is shared by a :class:`~sync.api.transport.ThrottledTransport` and
the :class:`~sync.api.client.ContactsApi` built on it. Every request that goes out,
retries included, is counted once in ``requests_sent``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ApiStats:
    """What the transport sent, met and waited for.

    Attributes:
        requests_sent: requests handed to the network, retries included.
        by_method: ``requests_sent`` split by HTTP method.
        by_status: answers received, by status code.
        rate_limited: 429 answers met (each one, including those later retried).
        retries: requests sent again after a 429, a 5xx or a transport error.
        transport_errors: requests that got no answer (timeouts, refused or dropped connections).
        limiter_wait: seconds requests spent waiting for the rate limiter, summed over
            requests (with requests in flight side by side it can exceed the wall time).
        backoff_wait: seconds spent sleeping before retries (``Retry-After`` or backoff),
            summed the same way.
    """

    requests_sent: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0
    retries: int = 0
    transport_errors: int = 0
    limiter_wait: float = 0.0
    backoff_wait: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (status codes become string keys)."""
        return {
            "requests_sent": self.requests_sent,
            "by_method": dict(sorted(self.by_method.items())),
            "by_status": {str(code): n for code, n in sorted(self.by_status.items())},
            "rate_limited": self.rate_limited,
            "retries": self.retries,
            "transport_errors": self.transport_errors,
            "limiter_wait": round(self.limiter_wait, 3),
            "backoff_wait": round(self.backoff_wait, 3),
        }
