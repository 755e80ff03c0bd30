"""The per-key sliding-window rate limiter and seeded fault injection.

Both are plain objects with no I/O so tests can drive them with a fake clock or a seed.
Faults are drawn from one :class:`random.Random`: the same seed and the same sequence of
requests give the same faults, delays and fault kinds.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from sync.sandbox.settings import SandboxSettings

WINDOW_SECONDS = 1.0
FAIL_STATUSES = (500, 502, 503)


class ConnectionDropped(Exception):
    """Internal signal: the sandbox drops this connection without an answer.

    Raised only in-process; :func:`sync.sandbox.sandbox_transport` turns it into
    :class:`httpx.RemoteProtocolError`. Over a socket the connection is really cut.
    """


@dataclass(frozen=True, slots=True)
class Admission:
    """The limiter's verdict on one arrival."""

    admitted: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        """The ``ratelimit`` / ``ratelimit-policy`` headers the real API is seen to send."""
        return {
            "ratelimit": f'"per-second"; r={self.remaining}; t={self.reset_seconds}',
            "ratelimit-policy": f'"per-second"; q={self.limit}; w=1',
        }


class SlidingWindowLimiter:
    """Admit at most ``limit`` requests per key in any sliding one-second window.

    Only admitted requests count: a client hammering through 429s is not punished
    further, which matches a gateway counting what it forwards.
    """

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._windows: dict[str, deque[float]] = {}

    def admit(self, key: str) -> Admission:
        """Record an arrival for ``key`` and say whether it is admitted."""
        now = self._clock()
        window = self._windows.setdefault(key, deque())
        horizon = now - WINDOW_SECONDS
        while window and window[0] <= horizon:
            window.popleft()
        admitted = len(window) < self.limit
        if admitted:
            window.append(now)
        reset = window[0] + WINDOW_SECONDS - now if window else WINDOW_SECONDS
        return Admission(
            admitted=admitted,
            limit=self.limit,
            remaining=self.limit - len(window),
            reset_seconds=max(1, math.ceil(reset)),
        )

    def clear(self) -> None:
        """Forget every window."""
        self._windows.clear()


class FaultKind(Enum):
    """What the sandbox does to one admitted request besides answering it."""

    NONE = "none"
    SPURIOUS_429 = "spurious_429"
    RESET = "reset"
    FAIL = "fail"
    AMBIGUOUS_CREATE = "ambiguous_create"


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """The faults drawn for one request.

    Attributes:
        delay_seconds: how long to wait before answering.
        kind: the fault, if any.
        status: the 5xx to answer with for ``FAIL`` and ``AMBIGUOUS_CREATE``.
        drop: for ``AMBIGUOUS_CREATE``, drop the connection instead of answering 5xx.
    """

    delay_seconds: float
    kind: FaultKind
    status: int
    drop: bool


class FaultInjector:
    """Draw a :class:`FaultPlan` per admitted request from a seeded generator.

    Every request consumes the same number of draws whatever the rates, so changing one
    rate does not reshuffle the delays of an otherwise identical run.
    """

    def __init__(self, settings: SandboxSettings) -> None:
        self._settings = settings
        self._random = random.Random(settings.seed)  # noqa: S311  (faults, not secrets)

    def reseed(self) -> None:
        """Start the sequence again (same seed: same faults)."""
        self._random = random.Random(self._settings.seed)  # noqa: S311

    def draw(self, *, is_create: bool) -> FaultPlan:
        """The faults for the next request; ambiguous creates only apply to creates."""
        s = self._settings
        draws = [self._random.random() for _ in range(7)]
        jitter, u429, ureset, ufail, uambiguous, ustatus, udrop = draws
        delay_ms = s.latency_ms + (2.0 * jitter - 1.0) * s.jitter_ms
        status = FAIL_STATUSES[min(int(ustatus * len(FAIL_STATUSES)), len(FAIL_STATUSES) - 1)]
        kind = FaultKind.NONE
        if u429 < s.spurious_429_rate:
            kind = FaultKind.SPURIOUS_429
        elif ureset < s.reset_rate:
            kind = FaultKind.RESET
        elif ufail < s.fail_rate:
            kind = FaultKind.FAIL
        elif is_create and uambiguous < s.ambiguous_create_rate:
            kind = FaultKind.AMBIGUOUS_CREATE
        return FaultPlan(
            delay_seconds=max(0.0, delay_ms) / 1000.0,
            kind=kind,
            status=status,
            drop=udrop < 0.5,
        )
