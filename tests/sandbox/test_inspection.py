"""The /_sandbox routes: contacts, request log, stats, reset. No auth, not rate limited."""

from __future__ import annotations

from typing import Any

import httpx

from sync.sandbox.state import REQUEST_LOG_SIZE

from .harness import KEY, Sandbox, create


def test_the_request_log_records_method_path_query_status_and_key_suffix(sandbox: Sandbox):
    """Each /v1 request is logged with a key suffix only, never the key."""

    async def scenario(client: httpx.AsyncClient) -> list[dict[str, Any]]:
        await create(client)
        await client.get("/v1/contacts", params={"maxResults": 3})
        await client.get("/v1/contacts", headers={"Authorization": "wrong-key-1234"})
        return (await client.get("/_sandbox/requests")).json()["data"]

    log = sandbox.run(scenario)
    assert [(e["method"], e["path"], e["query"], e["status"]) for e in log] == [
        ("POST", "/v1/contacts", "", 201),
        ("GET", "/v1/contacts", "maxResults=3", 200),
        ("GET", "/v1/contacts", "", 401),
    ]
    assert [e["key"] for e in log] == ["…-key", "…-key", "…1234"]
    assert all(KEY not in str(e) for e in log)
    assert all(e["timestamp"].endswith("Z") and e["fault"] is None for e in log)


def test_the_request_log_can_be_limited_and_is_bounded(sandbox_factory):
    """?limit=N gives the last N entries; the log keeps at most REQUEST_LOG_SIZE entries."""
    sandbox = sandbox_factory(rate_limit=100)

    async def scenario(client: httpx.AsyncClient) -> list[Any]:
        for _ in range(5):
            await client.get("/v1/phone-numbers")
        last_two = (await client.get("/_sandbox/requests", params={"limit": 2})).json()["data"]
        bad = await client.get("/_sandbox/requests", params={"limit": "x"})
        return [len(last_two), bad.status_code]

    assert sandbox.run(scenario) == [2, 400]
    assert sandbox.state.log.maxlen == REQUEST_LOG_SIZE == 10_000


def test_stats_count_methods_statuses_and_429s(sandbox_factory):
    """GET /_sandbox/stats sums requests per method and status, and the 429s sent."""
    sandbox = sandbox_factory(rate_limit=2)

    async def scenario(client: httpx.AsyncClient) -> dict[str, Any]:
        await create(client)
        await client.get("/v1/contact-custom-fields")
        await client.get("/v1/contact-custom-fields")
        return (await client.get("/_sandbox/stats")).json()

    stats = sandbox.run(scenario)
    assert stats["requests"] == 3
    assert stats["by_method"] == {"POST": 1, "GET": 2}
    assert stats["by_status"] == {"201": 1, "200": 1, "429": 1}
    assert (stats["rate_limited"], stats["sent_429"], stats["contacts"]) == (1, 1, 1)


def test_inspection_routes_need_no_key_and_are_not_rate_limited(sandbox_factory):
    """/_sandbox answers without Authorization, however often, and is not logged."""
    sandbox = sandbox_factory(rate_limit=1)

    async def scenario(client: httpx.AsyncClient) -> set[int]:
        return {(await client.get("/_sandbox/contacts")).status_code for _ in range(20)}

    assert sandbox.run(scenario, key=None) == {200}
    assert len(sandbox.state.log) == 0


def test_contacts_route_lists_full_objects(sandbox: Sandbox):
    """GET /_sandbox/contacts gives every contact as the API renders it."""

    async def scenario(client: httpx.AsyncClient) -> tuple[Any, Any]:
        made = [await create(client), await create(client)]
        return made, (await client.get("/_sandbox/contacts")).json()["data"]

    made, listed = sandbox.run(scenario)
    assert listed == made


def test_reset_clears_contacts_log_counters_and_windows(sandbox_factory):
    """POST /_sandbox/reset empties the sandbox (definitions stay) and refills the rate budget."""
    sandbox = sandbox_factory(rate_limit=2)

    async def scenario(client: httpx.AsyncClient) -> list[Any]:
        await create(client)
        await create(client)
        limited = (await client.get("/v1/contact-custom-fields")).status_code
        reset = (await client.post("/_sandbox/reset")).status_code
        after = (await client.get("/v1/contact-custom-fields")).status_code
        return [limited, reset, after, (await client.get("/_sandbox/stats")).json()]

    limited, reset, after, stats = sandbox.run(scenario)
    assert (limited, reset, after) == (429, 204, 200)
    assert stats["requests"] == 1 and stats["contacts"] == 0
    assert len(sandbox.state.custom_fields()) == 9
