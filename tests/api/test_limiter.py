"""RateLimiter: a sliding-window log, tested on a fake clock so times are exact."""

from __future__ import annotations

import asyncio

import pytest

from sync.api.limiter import RateLimiter


class FakeClock:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def make(rate: float, window: float = 1.0, margin: float = 0.0) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    limiter = RateLimiter(rate, window, margin=margin, clock=clock, sleep=clock.sleep)
    return limiter, clock


async def start_times(limiter: RateLimiter, clock: FakeClock, n: int) -> list[float]:
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        times.append(clock.now)

    await asyncio.gather(*(one() for _ in range(n)))
    return times


def max_in_any_window(times: list[float], window: float) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


def test_first_rate_requests_start_at_once() -> None:
    """Up to `rate` requests start immediately when the window is empty."""
    limiter, clock = make(10)
    times = asyncio.run(start_times(limiter, clock, 10))
    assert times == [0.0] * 10
    assert clock.sleeps == []


def test_next_request_waits_for_the_oldest_to_leave_the_window() -> None:
    """The 11th request at rate 10 starts exactly one window plus the margin later."""
    limiter, clock = make(10, margin=0.02)
    times = asyncio.run(start_times(limiter, clock, 21))
    assert times[:10] == [0.0] * 10
    assert times[10:20] == [pytest.approx(1.02)] * 10
    assert times[20] == pytest.approx(2.04)


def test_never_more_than_rate_in_any_window() -> None:
    """However requests arrive, no window of `window` seconds holds more than `rate` starts."""

    async def scenario() -> list[float]:
        limiter, clock = make(5, window=1.0, margin=0.0)
        times: list[float] = []

        async def burst(k: int) -> None:
            for _ in range(k):
                await limiter.acquire()
                times.append(clock.now)

        await asyncio.gather(burst(7), burst(9), burst(4))
        return times

    times = asyncio.run(scenario())
    assert len(times) == 20
    assert max_in_any_window(times, 1.0) == 5


def test_no_burst_of_two_windows_after_idle() -> None:
    """Unlike a token bucket, idling does not bank credit: 2N requests take a window."""
    limiter, clock = make(10)
    clock.now = 100.0  # long idle before the burst
    times = asyncio.run(start_times(limiter, clock, 20))
    assert max_in_any_window(times, 1.0) == 10
    assert times[-1] == pytest.approx(101.0)


def test_acquire_reports_time_waited() -> None:
    """acquire() returns 0 when a slot is free, else the seconds it waited."""

    async def scenario() -> list[float]:
        limiter, _ = make(1, window=2.0)
        return [await limiter.acquire(), await limiter.acquire()]

    assert asyncio.run(scenario()) == [0.0, pytest.approx(2.0)]


def test_waiters_are_served_first_come_first_served() -> None:
    """Requests start in the order they asked."""

    async def scenario() -> list[int]:
        limiter, _ = make(2)
        order: list[int] = []

        async def one(i: int) -> None:
            await limiter.acquire()
            order.append(i)

        tasks = []
        for i in range(9):
            tasks.append(asyncio.create_task(one(i)))
            await asyncio.sleep(0)  # let task i queue before task i+1 exists
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(scenario()) == list(range(9))


def test_fractional_rate_is_rounded_down_never_up() -> None:
    """rate=2.5 lets 2 start per window; rate=0.5 lets 1 start per two windows."""
    limiter, clock = make(2.5)
    times = asyncio.run(start_times(limiter, clock, 6))
    assert times == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]

    slow, slow_clock = make(0.5)
    assert asyncio.run(start_times(slow, slow_clock, 3)) == [0.0, 2.0, 4.0]


def test_slots_free_up_as_time_passes_without_waiting() -> None:
    """A request after the window has passed starts at once."""

    async def scenario() -> list[float]:
        limiter, clock = make(1)
        first = await limiter.acquire()
        clock.now += 1.5
        return [first, await limiter.acquire()]

    assert asyncio.run(scenario()) == [0.0, 0.0]


def test_cancelled_waiter_does_not_take_a_slot() -> None:
    """A waiter cancelled while queued leaves the next one unaffected."""

    async def scenario() -> float:
        limiter, clock = make(1)
        await limiter.acquire()
        waiting = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await limiter.acquire()
        return clock.now

    # The cancelled waiter never started, so the next start is one window after the first.
    assert asyncio.run(scenario()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("rate", "window", "margin"),
    [(0, 1.0, 0.0), (-1, 1.0, 0.0), (float("inf"), 1.0, 0.0), (1, 0.0, 0.0), (1, 1.0, -0.1)],
)
def test_bad_settings_are_refused(rate: float, window: float, margin: float) -> None:
    """A rate, window or margin that makes no sense is a ValueError."""
    with pytest.raises(ValueError, match="must"):
        RateLimiter(rate, window, margin=margin)


def test_real_clock_spaces_requests() -> None:
    """With the real clock, the third request at 2 per 0.1 s starts a window later."""

    async def scenario() -> float:
        limiter = RateLimiter(2, 0.1, margin=0.0)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for _ in range(3):
            await limiter.acquire()
        return loop.time() - start

    assert 0.095 <= asyncio.run(scenario()) < 0.3
