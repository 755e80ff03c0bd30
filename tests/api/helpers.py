"""Shared set-up for the API client tests: a real sandbox app reached in-process."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import httpx
from starlette.applications import Starlette

from sync.api import ContactsApi
from sync.sandbox import SandboxSettings, SandboxState, create_app, sandbox_transport

KEY = "opk_test_SECRET_5f3c9a1e7b2d4c6a"
"""The API key the sandbox accepts; tests assert it never shows up anywhere."""

BASE_URL = "http://sandbox.test"


def sandbox(**settings: Any) -> Starlette:
    """A sandbox app accepting :data:`KEY`, seeded, fast unless told otherwise."""
    settings.setdefault("seed", 7)
    settings.setdefault("rate_limit", 1000)
    return create_app(SandboxSettings(api_keys=(KEY,), **settings))


def state_of(app: Starlette) -> SandboxState:
    """The sandbox's state, to seed contacts and read its request log."""
    state: SandboxState = app.state.sandbox
    return state


def client(app: Starlette, *, key: str = KEY, **options: Any) -> ContactsApi:
    """A ContactsApi on the sandbox with tiny backoff so retries stay fast."""
    options.setdefault("rate_limit", 1000)
    options.setdefault("backoff_base", 0.01)
    options.setdefault("seed", 1)
    return ContactsApi(BASE_URL, key, transport=sandbox_transport(app), **options)


def body(external_id: str, *, source: str = "crm-export", first: str = "Ada") -> dict[str, Any]:
    """A valid create body."""
    return {
        "defaultFields": {
            "firstName": first,
            "lastName": "Lovelace",
            "emails": [{"name": "work", "value": f"{external_id}@example.com"}],
            "phoneNumbers": [{"name": "mobile", "value": "+15555550100"}],
        },
        "externalId": external_id,
        "source": source,
    }


def seed_contacts(
    app: Starlette, count: int, *, prefix: str = "ext-", source: str = "crm-export"
) -> list[str]:
    """Store ``count`` contacts directly in the sandbox (no requests); their externalIds."""
    service = state_of(app).contacts
    ids = [f"{prefix}{i:04d}" for i in range(count)]
    for external_id in ids:
        service.create(body(external_id, source=source))
    return ids


def logged(app: Starlette, method: str | None = None, path: str | None = None) -> list[Any]:
    """The sandbox's request log, filtered."""
    return [
        entry
        for entry in state_of(app).log
        if (method is None or entry.method == method) and (path is None or entry.path == path)
    ]


def query_values(query: str, name: str) -> list[str]:
    """The values of a repeated query key."""
    return parse_qs(query).get(name, [])


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests through to another transport and keeps a copy of each request."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
