"""Seeded faults: 5xx answers, dropped connections, spurious 429s, ambiguous creates, latency."""

from __future__ import annotations

import time

import httpx
import pytest

from sync.sandbox import SandboxSettings
from sync.sandbox.faults import FaultInjector, FaultKind

from .harness import Sandbox, contact_body


def _statuses(sandbox: Sandbox, count: int) -> list[int | str]:
    """Status of ``count`` list requests, "dropped" for a cut connection."""

    async def scenario(client: httpx.AsyncClient) -> list[int | str]:
        found: list[int | str] = []
        for _ in range(count):
            try:
                response = await client.get("/v1/contacts", params={"maxResults": 5})
            except httpx.RemoteProtocolError:
                found.append("dropped")
            else:
                found.append(response.status_code)
        return found

    return sandbox.run(scenario)


def test_fail_rate_answers_500_502_or_503_with_the_documented_body(sandbox_factory):
    """fail_rate=1: every request fails with a 5xx, each shaped like a documented error."""
    sandbox = sandbox_factory(fail_rate=1.0, rate_limit=100)
    statuses = _statuses(sandbox, 30)
    assert set(statuses) == {500, 502, 503}
    assert sandbox.state.stats()["faults"] == {"fail": 30}


def test_a_failed_request_is_not_processed(sandbox_factory):
    """A fault 5xx happens before the operation: no contact is created."""
    sandbox = sandbox_factory(fail_rate=1.0)

    async def scenario(client: httpx.AsyncClient) -> int:
        return (await client.post("/v1/contacts", json=contact_body())).status_code

    assert sandbox.run(scenario) in {500, 502, 503}
    assert len(sandbox.state.store) == 0


def test_reset_rate_drops_the_connection_as_a_remote_protocol_error(sandbox_factory):
    """reset_rate=1: the client sees httpx.RemoteProtocolError, the log a dropped request."""
    sandbox = sandbox_factory(reset_rate=1.0)
    assert _statuses(sandbox, 3) == ["dropped"] * 3
    assert [entry.status for entry in sandbox.state.log] == [None] * 3
    assert sandbox.state.stats()["by_status"] == {"dropped": 3}


def test_spurious_429s_come_under_the_limit_with_headers(sandbox_factory):
    """spurious_429_rate=1: 429 on the first request, with the rate-limit headers."""
    sandbox = sandbox_factory(spurious_429_rate=1.0)

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/v1/contact-custom-fields")

    response = sandbox.run(scenario)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert "ratelimit" in response.headers and "ratelimit-policy" in response.headers
    stats = sandbox.state.stats()
    assert (stats["rate_limited"], stats["sent_429"], stats["faults"]) == (0, 1, {"spurious_429": 1})


def test_an_ambiguous_create_is_committed_but_answered_with_a_failure(sandbox_factory):
    """ambiguous_create_rate=1: every create is stored, yet the client sees 5xx or a drop."""
    sandbox = sandbox_factory(ambiguous_create_rate=1.0, seed=5)

    async def scenario(client: httpx.AsyncClient) -> list[int | str]:
        outcomes: list[int | str] = []
        for n in range(10):
            try:
                response = await client.post("/v1/contacts", json=contact_body(externalId=f"e{n}"))
            except httpx.RemoteProtocolError:
                outcomes.append("dropped")
            else:
                outcomes.append(response.status_code)
        return outcomes

    outcomes = sandbox.run(scenario)
    assert "dropped" in outcomes and {o for o in outcomes if o != "dropped"} <= {500, 502, 503}
    assert any(o != "dropped" for o in outcomes)
    assert sorted(c["externalId"] for c in sandbox.state.all_contacts()) == [f"e{n}" for n in range(10)]


def test_ambiguous_creates_only_affect_creates(sandbox_factory):
    """Reads and refused creates are answered normally under ambiguous_create_rate=1."""
    sandbox = sandbox_factory(ambiguous_create_rate=1.0)

    async def scenario(client: httpx.AsyncClient) -> list[int]:
        listed = await client.get("/v1/contacts", params={"maxResults": 5})
        refused = await client.post("/v1/contacts", json={"defaultFields": {}})
        return [listed.status_code, refused.status_code]

    assert sandbox.run(scenario) == [200, 400]


def test_faults_are_reproducible_with_a_seed(sandbox_factory):
    """The same seed gives the same sequence of faults; another seed a different one."""
    settings = {"fail_rate": 0.3, "reset_rate": 0.2, "spurious_429_rate": 0.2, "rate_limit": 100}
    first = _statuses(sandbox_factory(seed=42, **settings), 40)
    second = _statuses(sandbox_factory(seed=42, **settings), 40)
    other = _statuses(sandbox_factory(seed=43, **settings), 40)
    assert first == second
    assert first != other
    assert {200, 429, "dropped"} <= set(first) and set(first) & {500, 502, 503}


def test_reset_restarts_the_fault_sequence(sandbox_factory):
    """POST /_sandbox/reset reseeds: the same requests fail the same way again."""
    sandbox = sandbox_factory(seed=9, fail_rate=0.5, rate_limit=100)
    first = _statuses(sandbox, 20)

    async def reset(client: httpx.AsyncClient) -> int:
        return (await client.post("/_sandbox/reset")).status_code

    assert sandbox.run(reset) == 204
    assert _statuses(sandbox, 20) == first


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_fault_rates_are_probabilities(rate: float):
    """Over many draws the share of failures is close to the rate."""
    injector = FaultInjector(SandboxSettings(seed=1, fail_rate=rate))
    kinds = [injector.draw(is_create=False).kind for _ in range(4000)]
    share = kinds.count(FaultKind.FAIL) / len(kinds)
    assert abs(share - rate) < 0.03


def test_latency_and_jitter_stay_within_bounds_and_vary():
    """Delays are latency plus or minus jitter, uniformly, and never negative."""
    injector = FaultInjector(SandboxSettings(seed=3, latency_ms=50, jitter_ms=20))
    delays = [injector.draw(is_create=False).delay_seconds for _ in range(2000)]
    assert all(0.030 <= d <= 0.070 for d in delays)
    assert min(delays) < 0.033 and max(delays) > 0.067
    assert len(set(delays)) > 1000
    tiny = FaultInjector(SandboxSettings(seed=3, latency_ms=5, jitter_ms=50))
    assert all(tiny.draw(is_create=False).delay_seconds >= 0 for _ in range(500))


def test_latency_is_applied_to_answers(sandbox_factory):
    """latency_ms=80: a request takes at least that long."""
    sandbox = sandbox_factory(latency_ms=80)

    async def scenario(client: httpx.AsyncClient) -> float:
        started = time.monotonic()
        await client.get("/v1/contact-custom-fields")
        return time.monotonic() - started

    assert sandbox.run(scenario) >= 0.079


def test_no_faults_by_default(sandbox_factory):
    """Default settings never inject a fault."""
    sandbox = sandbox_factory(rate_limit=1000)
    assert set(_statuses(sandbox, 200)) == {200}
