"""An httpx transport that keeps to the rate limit and retries what is safe to retry.

:class:`ThrottledTransport` wraps an inner transport (the network, or the sandbox app)::

    request ─► RateLimiter.acquire ─► inner transport ─► answer
                 ▲                                        │
                 └──── wait (Retry-After or backoff) ◄────┘ 429, or 5xx/no answer when safe

What is retried, and why:

- **429**, any method: the server refused before doing anything. Wait ``Retry-After``
  when sent, else exponential backoff with full jitter. 429s do not use up the retry
  budget; they have their own cap on total time waited, after which the 429 is returned.
- **5xx, timeouts, dropped connections**: retried up to ``max_retries`` times, but only
  for GET, PATCH and DELETE (repeating them is harmless; PATCH sends the whole contact).
- **POST** is retried only when the request provably never left (connect error or
  timeout, no free connection). A 5xx, a read timeout or a dropped connection after
  sending is returned or raised as is: the create may have been committed, so the client
  reports it as ambiguous and the engine looks the contact up instead of creating twice.

Every request, retries included, first acquires the :class:`RateLimiter`. Each answer is
read whole inside the transport (the API's bodies are small JSON), so a connection cut in
the middle of a body counts as a dropped connection and is retried (or not) as above.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

import httpx
import structlog

from sync.api.classify import parse_retry_after
from sync.api.limiter import RateLimiter
from sync.api.stats import ApiStats

log = structlog.get_logger(__name__)

REPEATABLE_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
"""Methods whose repetition cannot create a second contact."""

NEVER_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
"""Errors that prove the request never reached the server: safe to retry for any method."""

RETRYABLE_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)
"""Errors worth retrying on a repeatable method (not: bad URL, local protocol misuse)."""


@dataclass
class _RetryState:
    """What one logical request has used up so far."""

    failures: int = 0
    rate_limited: int = 0
    rate_limit_wait: float = 0.0


class ThrottledTransport(httpx.AsyncBaseTransport):
    """Rate-limits every request and retries 429s, and 5xx/no answer where safe.

    Args:
        inner: the transport that does the I/O; default ``httpx.AsyncHTTPTransport()``.
        rate_limit: requests per second, used when no ``limiter`` is given.
        limiter: a shared :class:`RateLimiter` (one per API key).
        max_retries: retries of one request after 5xx or no answer (429s not counted).
        backoff_base: first backoff ceiling in seconds; it doubles per attempt.
        backoff_cap: the largest backoff ceiling in seconds.
        max_rate_limit_wait: total seconds one request may wait across 429s before the
            429 is returned to the caller.
        seed: seeds the jitter, for reproducible runs; ignored when ``rng`` is given.
        rng: the random source of the jitter.
        stats: where to count; a fresh :class:`ApiStats` by default.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport | None = None,
        *,
        rate_limit: float = 10.0,
        limiter: RateLimiter | None = None,
        max_retries: int = 4,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
        max_rate_limit_wait: float = 300.0,
        seed: int | None = None,
        rng: random.Random | None = None,
        stats: ApiStats | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must not be negative, not {max_retries!r}")
        if backoff_base < 0 or backoff_cap < 0 or max_rate_limit_wait < 0:
            raise ValueError("backoff_base, backoff_cap and max_rate_limit_wait must be >= 0")
        self.inner = inner if inner is not None else httpx.AsyncHTTPTransport()
        self.limiter = limiter if limiter is not None else RateLimiter(rate_limit)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_rate_limit_wait = max_rate_limit_wait
        self.rng = rng if rng is not None else random.Random(seed)  # noqa: S311 (jitter, not crypto)
        self.stats = stats if stats is not None else ApiStats()

    def __repr__(self) -> str:
        return (
            f"ThrottledTransport(rate={self.limiter.rate!r}/{self.limiter.window!r}s, "
            f"max_retries={self.max_retries!r}, inner={type(self.inner).__name__})"
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` within the rate limit, retrying as the module docstring says."""
        await request.aread()  # the body must be sendable again on a retry
        state = _RetryState()
        while True:
            self.stats.limiter_wait += await self.limiter.acquire()
            self.stats.requests_sent += 1
            self.stats.by_method[request.method] += 1
            try:
                response = await self._send(request)
            except httpx.TransportError as exc:
                self.stats.transport_errors += 1
                delay = self._delay_after_error(request.method, exc, state)
                if delay is None:
                    raise
                reason = type(exc).__name__
            else:
                self.stats.by_status[response.status_code] += 1
                delay = self._delay_after_response(request.method, response, state)
                if delay is None:
                    return response
                await response.aclose()
                reason = str(response.status_code)
            await self._wait_before_retry(request, reason, delay)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """One attempt, body included: a body cut halfway fails the attempt like a drop."""
        response = await self.inner.handle_async_request(request)
        try:
            await response.aread()
        except BaseException:
            await response.aclose()
            raise
        return response

    def _delay_after_error(self, method: str, exc: httpx.TransportError, state: _RetryState) -> float | None:
        """Seconds to wait before retrying after no answer, or None to give up."""
        safe = isinstance(exc, NEVER_SENT_ERRORS) or (
            method in REPEATABLE_METHODS and isinstance(exc, RETRYABLE_ERRORS)
        )
        if not safe or state.failures >= self.max_retries:
            return None
        state.failures += 1
        return self._backoff(state.failures)

    def _delay_after_response(
        self, method: str, response: httpx.Response, state: _RetryState
    ) -> float | None:
        """Seconds to wait before retrying after this answer, or None to return it."""
        status = response.status_code
        if status == 429:
            self.stats.rate_limited += 1
            state.rate_limited += 1
            delay = parse_retry_after(response.headers.get("retry-after"))
            if delay is None:
                delay = self._backoff(state.rate_limited)
            if state.rate_limit_wait + delay > self.max_rate_limit_wait:
                return None
            state.rate_limit_wait += delay
            return delay
        if status >= 500 and method in REPEATABLE_METHODS and state.failures < self.max_retries:
            state.failures += 1
            return self._backoff(state.failures)
        return None

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1)))."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** min(attempt - 1, 32))
        return self.rng.uniform(0.0, ceiling)

    async def _wait_before_retry(self, request: httpx.Request, reason: str, delay: float) -> None:
        # Debug: retries are routine (the run summary counts them); a log line each is noise.
        log.debug(
            "api.retry",
            method=request.method,
            path=request.url.path,
            reason=reason,
            delay=round(delay, 3),
        )
        self.stats.retries += 1
        self.stats.backoff_wait += delay
        await asyncio.sleep(delay)
