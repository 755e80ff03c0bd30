"""Auth: the raw key in Authorization, the observed 401 body, several keys."""

from __future__ import annotations

import httpx

from .harness import KEY, Sandbox


def test_a_missing_authorization_header_gets_401_missing_authorization_header(sandbox: Sandbox):
    """No header at all: 401 with the observed {"error": ...} body and its message."""

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/v1/contacts", params={"maxResults": 10})

    response = sandbox.run(scenario, key=None)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["message"] == "Missing authorization header"
    assert error["key"] == "Unauthorized"
    assert error["trace"].isdigit()


def test_an_unknown_key_gets_401_unauthorized(sandbox: Sandbox):
    """A key that is not configured: 401 "Unauthorized", and nothing is created."""

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/v1/contacts", json={"defaultFields": {"firstName": "A"}})

    response = sandbox.run(scenario, key="not-a-key")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Unauthorized"
    assert len(sandbox.state.store) == 0


def test_a_bearer_prefixed_key_is_refused(sandbox: Sandbox):
    """The API wants the raw key: "Bearer <key>" is an unknown key."""

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/v1/contact-custom-fields")

    response = sandbox.run(scenario, key=f"Bearer {KEY}")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Unauthorized"


def test_the_raw_key_is_accepted(sandbox: Sandbox):
    """The configured key, raw, opens every route."""

    async def scenario(client: httpx.AsyncClient) -> list[int]:
        answers = [
            await client.get("/v1/contact-custom-fields"),
            await client.get("/v1/phone-numbers"),
            await client.get("/v1/contacts", params={"maxResults": 1}),
        ]
        return [a.status_code for a in answers]

    assert sandbox.run(scenario) == [200, 200, 200]


def test_every_configured_key_is_accepted(sandbox_factory):
    """Several keys can be configured; each one works and others do not."""
    sandbox = sandbox_factory(api_keys=("key-one", "key-two"))

    async def scenario(client: httpx.AsyncClient) -> list[int]:
        statuses = []
        for key in ("key-one", "key-two", "key-three"):
            response = await client.get("/v1/contact-custom-fields", headers={"Authorization": key})
            statuses.append(response.status_code)
        return statuses

    assert sandbox.run(scenario, key=None) == [200, 200, 401]


def test_auth_is_checked_before_the_rate_limit(sandbox_factory):
    """401s are not admitted into a window, so bad keys never eat a good key's budget."""
    sandbox = sandbox_factory(rate_limit=2)

    async def scenario(client: httpx.AsyncClient) -> list[int]:
        bad = [await client.get("/v1/contact-custom-fields", headers={"Authorization": "nope"})
               for _ in range(5)]
        good = [await client.get("/v1/contact-custom-fields") for _ in range(2)]
        return [r.status_code for r in bad + good]

    assert sandbox.run(scenario) == [401] * 5 + [200, 200]
