"""ThrottledTransport and ContactsApi under the sandbox's faults: 429s, 5xx, drops, ambiguity."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from sync.api import ContactsApi, ThrottledTransport
from sync.errors import AmbiguousCreateError, RateLimitedError, TransientApiError
from sync.sandbox import sandbox_transport

from .helpers import BASE_URL, KEY, body, client, logged, sandbox, seed_contacts, state_of


async def create_many(api: ContactsApi, ids: list[str]) -> list[dict[str, Any]]:
    return await asyncio.gather(*(api.create_contact(body(i)) for i in ids))


def test_429_storm_slows_down_without_failing() -> None:
    """Sandbox at 3/s, client at 20/s: every create lands once; the 429s are counted."""
    app = sandbox(rate_limit=3, send_retry_after=False)
    ids = [f"storm-{n}" for n in range(6)]

    async def scenario() -> ContactsApi:
        async with client(app, rate_limit=20, backoff_base=0.05, max_retries=0) as api:
            await create_many(api, ids)
        return api

    api = asyncio.run(scenario())
    assert sorted(c["externalId"] for c in state_of(app).all_contacts()) == sorted(ids)
    sandbox_stats = state_of(app).stats()
    assert sandbox_stats["sent_429"] > 0
    assert api.stats.rate_limited == sandbox_stats["sent_429"]
    assert api.stats.by_status[201] == 6
    assert api.stats.by_method["POST"] == 6 + api.stats.rate_limited
    assert api.stats.retries == api.stats.rate_limited  # max_retries=0: 429s are not budgeted


def test_retry_after_is_honoured() -> None:
    """A 429 with Retry-After waits exactly that long before the retry."""
    app = sandbox(rate_limit=1, send_retry_after=True)

    async def scenario() -> tuple[ContactsApi, float]:
        async with client(app, rate_limit=20) as api:
            start = time.monotonic()
            await asyncio.gather(api.check_connection(), api.check_connection())
            return api, time.monotonic() - start

    api, elapsed = asyncio.run(scenario())
    assert api.stats.rate_limited >= 1
    retry_after = 1.0  # the sandbox says "1": the window frees up within the second
    assert api.stats.backoff_wait == pytest.approx(retry_after * api.stats.rate_limited)
    assert elapsed >= retry_after
    assert [e.status for e in logged(app)].count(200) == 2


def test_429_without_retry_after_backs_off_with_jitter() -> None:
    """Without Retry-After the wait is jittered exponential backoff from backoff_base."""
    app = sandbox(spurious_429_rate=0.5, send_retry_after=False)

    async def scenario() -> ContactsApi:
        async with client(app, backoff_base=0.02) as api:
            for _ in range(10):
                await api.check_connection()
        return api

    api = asyncio.run(scenario())
    assert api.stats.rate_limited == state_of(app).stats()["sent_429"] > 0
    assert api.stats.by_status[200] == 10
    # Each wait is at most base * 2**(n-1) for the n-th 429 of one request.
    assert 0 < api.stats.backoff_wait < 0.02 * 2 * api.stats.rate_limited


def test_429s_past_the_wait_cap_are_returned() -> None:
    """When 429s keep coming, the transport gives up after max_rate_limit_wait seconds."""
    app = sandbox(spurious_429_rate=1.0, send_retry_after=False)
    transport = ThrottledTransport(
        sandbox_transport(app), rate_limit=1000, backoff_base=0.05, max_rate_limit_wait=0.3, seed=3
    )

    async def scenario() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, headers={"Authorization": KEY}) as http:
            return await http.get(f"{BASE_URL}/v1/phone-numbers")

    started = time.monotonic()
    response = asyncio.run(scenario())
    assert response.status_code == 429
    assert time.monotonic() - started >= transport.stats.backoff_wait
    assert transport.stats.backoff_wait <= 0.3
    assert transport.stats.rate_limited == transport.stats.requests_sent > 1


def test_client_raises_rate_limited_once_the_cap_is_spent() -> None:
    """A 429 that outlasts the cap reaches the caller as RateLimitedError with retry_after."""
    app = sandbox(spurious_429_rate=1.0, send_retry_after=True)
    api = client(app, max_rate_limit_wait=0.5)  # less than the sandbox's Retry-After of 1 s

    async def scenario() -> None:
        async with api:
            await api.get_contact("c1")

    with pytest.raises(RateLimitedError) as caught:
        asyncio.run(scenario())
    assert caught.value.retry_after == 1.0
    assert api.stats.requests_sent == 1
    assert api.stats.backoff_wait == 0


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_5xx_is_retried_for_repeatable_methods(method: str) -> None:
    """GET, PATCH and DELETE succeed through a 50% rate of 5xx answers."""
    app = sandbox(fail_rate=0.5, seed=11)
    contacts = [state_of(app).contacts.create(body(f"f-{n}")).id for n in range(8)]

    async def call(api: ContactsApi, contact_id: str) -> None:
        if method == "GET":
            await api.get_contact(contact_id)
        elif method == "PATCH":
            await api.update_contact(contact_id, body("renamed-" + contact_id))
        else:
            await api.delete_contact(contact_id)

    async def scenario() -> ContactsApi:
        async with client(app, max_retries=8) as api:
            for contact_id in contacts:
                await call(api, contact_id)
        return api

    api = asyncio.run(scenario())
    failed = state_of(app).stats()["faults"].get("fail", 0)
    assert failed > 0
    assert api.stats.retries == failed
    assert sum(n for code, n in api.stats.by_status.items() if code >= 500) == failed
    if method == "DELETE":
        assert state_of(app).all_contacts() == []


def test_5xx_gives_up_after_max_retries() -> None:
    """A GET that keeps failing is tried 1 + max_retries times, then TransientApiError."""
    app = sandbox(fail_rate=1.0)

    async def scenario() -> ContactsApi:
        async with client(app, max_retries=3) as api:
            with pytest.raises(TransientApiError, match=r"server error \(50[023]\)"):
                await api.list_custom_fields()
        return api

    api = asyncio.run(scenario())
    assert api.stats.requests_sent == 4
    assert api.stats.retries == 3
    assert len(logged(app)) == 4


def test_dropped_connections_are_retried_for_reads() -> None:
    """Paging through contacts survives a 40% rate of cut connections."""
    app = sandbox(reset_rate=0.4, seed=5)
    expected = seed_contacts(app, 120)

    async def scenario() -> tuple[ContactsApi, list[str]]:
        async with client(app, max_retries=10) as api:
            return api, [c["externalId"] async for c in api.list_contacts(page_size=10)]

    api, got = asyncio.run(scenario())
    assert got == expected
    dropped = state_of(app).stats()["faults"]["reset"]
    assert dropped > 0
    assert api.stats.transport_errors == dropped == api.stats.retries


def test_dropped_connection_gives_up_as_transient() -> None:
    """A read whose connection is always cut ends as TransientApiError after the retries."""
    app = sandbox(reset_rate=1.0)

    async def scenario() -> ContactsApi:
        async with client(app, max_retries=2) as api:
            with pytest.raises(TransientApiError, match="RemoteProtocolError") as caught:
                await api.get_contact("c1")
            assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)
        return api

    assert asyncio.run(scenario()).stats.requests_sent == 3


def test_ambiguous_create_is_reported_not_retried_and_really_exists() -> None:
    """A create committed then answered 5xx or cut is AmbiguousCreateError, sent once."""
    app = sandbox(ambiguous_create_rate=1.0, seed=2)
    ids = [f"amb-{n}" for n in range(8)]

    async def scenario() -> tuple[list[BaseException | dict[str, Any]], dict[str, Any]]:
        async with client(app) as api:
            results = await asyncio.gather(
                *(api.create_contact(body(i)) for i in ids), return_exceptions=True
            )
            return results, await api.find_by_external_ids(ids)

    results, found = asyncio.run(scenario())
    assert all(isinstance(r, AmbiguousCreateError) for r in results)
    assert all(len(found[i]) == 1 for i in ids)  # each was committed exactly once
    statuses = {e.status for e in logged(app, "POST")}
    assert None in statuses  # some were cut ...
    assert statuses & {500, 502, 503}  # ... and some answered 5xx
    assert len(logged(app, "POST")) == len(ids)  # none was retried
    messages = [str(r) for r in results]
    assert all("may have been committed" in m for m in messages)
    assert all(f"'{i}'" in m for i, m in zip(ids, messages, strict=True))


def test_create_failing_before_commit_is_still_ambiguous() -> None:
    """A 5xx or cut connection on POST is ambiguous to the client even if nothing was stored."""
    app = sandbox(fail_rate=0.5, reset_rate=0.5, seed=4)

    async def scenario() -> list[BaseException | dict[str, Any]]:
        async with client(app, max_retries=4) as api:
            return await asyncio.gather(
                *(api.create_contact(body(f"p-{n}")) for n in range(10)), return_exceptions=True
            )

    results = asyncio.run(scenario())
    posts = logged(app, "POST")
    assert len(posts) == 10  # never retried
    for result, entry in zip(results, posts, strict=False):
        assert (entry.status == 201) == isinstance(result, dict)
    assert sum(isinstance(r, AmbiguousCreateError) for r in results) == sum(e.status != 201 for e in posts)
    assert not any(isinstance(r, Exception) and not isinstance(r, AmbiguousCreateError) for r in results)


def test_spurious_429_on_create_is_retried_without_duplicates() -> None:
    """A 429 means not processed, so a create is retried after it and lands once."""
    app = sandbox(spurious_429_rate=0.5, send_retry_after=False, seed=9)
    ids = [f"r-{n}" for n in range(10)]

    async def scenario() -> ContactsApi:
        async with client(app) as api:
            await create_many(api, ids)
        return api

    api = asyncio.run(scenario())
    assert api.stats.rate_limited > 0
    assert sorted(c["externalId"] for c in state_of(app).all_contacts()) == sorted(ids)


def test_stats_as_dict_is_json_ready() -> None:
    """The stats summary has plain keys and rounded seconds."""
    app = sandbox()

    async def scenario() -> ContactsApi:
        async with client(app) as api:
            await api.check_connection()
        return api

    summary = asyncio.run(scenario()).stats.as_dict()
    assert summary["requests_sent"] == 1
    assert summary["by_method"] == {"GET": 1}
    assert summary["by_status"] == {"200": 1}
    assert set(summary) >= {"rate_limited", "retries", "limiter_wait", "backoff_wait"}


@pytest.mark.parametrize(
    "options",
    [{"max_retries": -1}, {"backoff_base": -1.0}, {"max_rate_limit_wait": -5.0}],
)
def test_bad_transport_settings_are_refused(options: dict[str, Any]) -> None:
    """Negative retry or wait settings are a ValueError."""
    with pytest.raises(ValueError, match="must"):
        ThrottledTransport(httpx.AsyncHTTPTransport(), **options)
