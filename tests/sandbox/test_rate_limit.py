"""Rate limit: a sliding one-second window per key, the observed headers, Retry-After."""

from __future__ import annotations

import asyncio
import time

import httpx

from sync.sandbox.faults import SlidingWindowLimiter

from .harness import Sandbox


def test_an_eleventh_request_within_a_second_gets_429(sandbox: Sandbox):
    """With the default limit of 10, a burst of 11 gets ten answers and one 429."""

    async def scenario(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [await client.get("/v1/contact-custom-fields") for _ in range(11)]

    responses = sandbox.run(scenario)
    assert [r.status_code for r in responses] == [200] * 10 + [429]
    body = responses[-1].json()
    assert (body["status"], body["title"], body["code"]) == (429, "Too Many Requests", "0700429")
    assert sandbox.state.stats()["rate_limited"] == 1


def test_ratelimit_headers_are_sent_on_successes_and_on_429(sandbox: Sandbox):
    """Every admitted answer says the remaining budget; the policy header gives the limit."""

    async def scenario(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [await client.get("/v1/phone-numbers") for _ in range(11)]

    responses = sandbox.run(scenario)
    assert responses[0].headers["ratelimit"] == '"per-second"; r=9; t=1'
    assert responses[9].headers["ratelimit"] == '"per-second"; r=0; t=1'
    assert responses[10].headers["ratelimit"] == '"per-second"; r=0; t=1'
    for response in responses:
        assert response.headers["ratelimit-policy"] == '"per-second"; q=10; w=1'


def test_retry_after_is_sent_on_429_by_default(sandbox: Sandbox):
    """A 429 carries Retry-After in whole seconds unless switched off."""

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        for _ in range(10):
            await client.get("/v1/contact-custom-fields")
        return await client.get("/v1/contact-custom-fields")

    response = sandbox.run(scenario)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"


def test_retry_after_can_be_switched_off(sandbox_factory):
    """send_retry_after=False: the 429 has no Retry-After (clients must cope with both)."""
    sandbox = sandbox_factory(send_retry_after=False, rate_limit=1)

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        await client.get("/v1/contact-custom-fields")
        return await client.get("/v1/contact-custom-fields")

    response = sandbox.run(scenario)
    assert response.status_code == 429
    assert "retry-after" not in response.headers
    assert "ratelimit" in response.headers


def test_the_limit_is_per_key(sandbox_factory):
    """One key's burst does not limit another key."""
    sandbox = sandbox_factory(api_keys=("key-a", "key-b"), rate_limit=3)

    async def scenario(client: httpx.AsyncClient) -> list[int]:
        a = [await client.get("/v1/phone-numbers", headers={"Authorization": "key-a"})
             for _ in range(4)]
        b = [await client.get("/v1/phone-numbers", headers={"Authorization": "key-b"})
             for _ in range(3)]
        return [r.status_code for r in a + b]

    assert sandbox.run(scenario, key=None) == [200, 200, 200, 429, 200, 200, 200]


def test_the_limit_applies_to_every_v1_route_and_the_429_uses_its_route_family(sandbox_factory):
    """Writes count like reads; a contacts 429 has a contacts code."""
    sandbox = sandbox_factory(rate_limit=2)

    async def scenario(client: httpx.AsyncClient) -> list[httpx.Response]:
        body = {"defaultFields": {"firstName": "A"}}
        return [await client.post("/v1/contacts", json=body) for _ in range(3)]

    responses = sandbox.run(scenario)
    assert [r.status_code for r in responses] == [201, 201, 429]
    assert responses[2].json()["code"] == "0800429"
    assert len(sandbox.state.store) == 2


def test_the_window_slides_and_counts_only_admitted_requests():
    """A request is admitted again once the oldest admitted one is a second old."""
    now = [100.0]
    limiter = SlidingWindowLimiter(2, clock=lambda: now[0])
    assert limiter.admit("k").admitted
    now[0] = 100.5
    assert limiter.admit("k").admitted
    now[0] = 100.9
    refused = limiter.admit("k")
    assert not refused.admitted
    assert refused.remaining == 0
    now[0] = 100.99  # the refused arrival at 100.9 did not count
    assert not limiter.admit("k").admitted
    now[0] = 101.0  # the arrival at 100.0 left the window
    assert limiter.admit("k").admitted
    now[0] = 101.4
    assert not limiter.admit("k").admitted
    now[0] = 101.5
    assert limiter.admit("k").admitted


def test_the_window_is_any_one_second_span_not_a_fixed_bucket():
    """10 at t=0.9 and 10 at t=1.1 would pass fixed buckets; the sliding window refuses."""
    now = [0.9]
    limiter = SlidingWindowLimiter(10, clock=lambda: now[0])
    assert all(limiter.admit("k").admitted for _ in range(10))
    now[0] = 1.1
    assert not any(limiter.admit("k").admitted for _ in range(10))


def test_latency_comes_after_admission_so_the_window_counts_arrivals(sandbox_factory):
    """With a slow sandbox, a burst beyond the limit is refused at once, not after the wait."""
    sandbox = sandbox_factory(rate_limit=2, latency_ms=300)

    async def timed(client: httpx.AsyncClient) -> tuple[int, float]:
        started = time.monotonic()
        response = await client.get("/v1/contact-custom-fields")
        return response.status_code, time.monotonic() - started

    async def scenario(client: httpx.AsyncClient) -> list[tuple[int, float]]:
        return list(await asyncio.gather(*(timed(client) for _ in range(3))))

    results = sorted(sandbox.run(scenario))
    assert [status for status, _ in results] == [200, 200, 429]
    assert all(elapsed >= 0.29 for status, elapsed in results if status == 200)
    assert results[2][1] < 0.25
