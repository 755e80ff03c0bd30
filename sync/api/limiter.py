"""A sliding-window-log rate limiter for asyncio.

:class:`RateLimiter` lets at most ``rate`` requests *start* in any ``window`` seconds.
It keeps the start times of the last ``capacity`` requests; a new request starts only
once the oldest of them has left the window. Unlike a token bucket with a burst allowance,
it never lets two windows' worth through in one window, which is what a server that counts
arrivals per second would punish with a 429.

A small safety margin is added to the window because the server measures arrivals, not
departures: a request that leaves a hair early must not land inside the previous window.
Waiters are served first come, first served (``asyncio.Lock`` wakes waiters in order).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

DEFAULT_MARGIN = 0.02
"""Seconds added to the window so that arrival jitter does not cross a server window."""


class RateLimiter:
    """At most ``rate`` request starts in any ``window`` seconds, FIFO.

    A fractional ``rate`` is honoured strictly: ``rate=2.5`` lets 2 requests start per
    window (never 3); ``rate=0.5`` lets 1 start per ``2 * window``.

    Args:
        rate: requests allowed per window; must be positive.
        window: the window length in seconds.
        margin: seconds added to the window (see the module docstring).
        clock: a monotonic clock; tests inject a fake one.
        sleep: the coroutine used to wait; tests inject one that advances the fake clock.
    """

    def __init__(
        self,
        rate: float,
        window: float = 1.0,
        *,
        margin: float = DEFAULT_MARGIN,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not rate > 0 or not math.isfinite(rate):
            raise ValueError(f"rate must be a positive number, not {rate!r}")
        if not window > 0:
            raise ValueError(f"window must be positive, not {window!r}")
        if margin < 0:
            raise ValueError(f"margin must not be negative, not {margin!r}")
        self.rate = rate
        self.window = window
        # Below one request per window, stretch the window instead of rounding the rate up.
        self.capacity = max(1, math.floor(rate))
        self._span = window if rate >= 1 else window / rate
        self._span += margin
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate!r}, window={self.window!r})"

    async def acquire(self) -> float:
        """Wait until a request may start, and count it as started.

        Returns:
            The seconds spent waiting (0.0 when a slot was free).
        """
        started = self._clock()
        async with self._lock:
            while (delay := self._delay(self._clock())) > 0:
                await self._sleep(delay)
            self._starts.append(self._clock())
        return self._clock() - started

    def _delay(self, now: float) -> float:
        """Seconds until a slot frees up; 0 when one is free now."""
        while self._starts and self._starts[0] + self._span <= now:
            self._starts.popleft()
        if len(self._starts) < self.capacity:
            return 0.0
        return self._starts[0] + self._span - now
