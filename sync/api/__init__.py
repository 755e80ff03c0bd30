"""The OpenPhone API client: rate-limited, retrying, and raising only our errors.

- :class:`ContactsApi` (``client.py``): typed async calls of the contacts API.
- :class:`ThrottledTransport` (``transport.py``): rate limit, 429/5xx/network retries.
- :class:`RateLimiter` (``limiter.py``): at most N request starts in any window.
- :func:`classify` (``classify.py``): the one mapping from an HTTP answer to our errors.
- :class:`ApiStats` (``stats.py``): what was sent, met and waited for.
"""

from __future__ import annotations

from sync.api.classify import classify, parse_retry_after
from sync.api.client import ContactsApi, normalize_base_url
from sync.api.limiter import RateLimiter
from sync.api.stats import ApiStats
from sync.api.transport import ThrottledTransport

__all__ = [
    "ApiStats",
    "ContactsApi",
    "RateLimiter",
    "ThrottledTransport",
    "classify",
    "normalize_base_url",
    "parse_retry_after",
]
