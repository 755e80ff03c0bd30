"""Run a scenario against a sandbox app in-process, every answer checked against the spec."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from starlette.applications import Starlette

from sync.sandbox import SandboxSettings, SandboxState, create_app, sandbox_transport

from .conformance import ConformanceLog

KEY = "sandbox-key"
BASE_URL = "http://sandbox.test"
T = TypeVar("T")

# Keys of the bundled custom-field definitions (sync/sandbox/default_custom_fields.json).
LEAD_SOURCE = "66f1c2a4e9b07d3a5c8e1f20"
ACCOUNT_TIER = "66f1c2a4e9b07d3a5c8e1f21"
NOTES = "66f1c2b19d4e5a7f20c3b6a8"
OFFICE_ADDRESS = "66f1c2c37a0b9e4d1f6a2c55"
WEBSITE = "66f1c2d05e8a3b7c9d1e4f02"
VIP = "66f1c2dd2c6f0a9b8e7d5c31"
ANNUAL_REVENUE = "66f1c2ea8b1d4c6e0f2a9b77"
RENEWAL_DATE = "66f1c2f74f3e2d1c0b9a8e6d"
TAGS = "66f1c3041a2b3c4d5e6f7a8b"


class Sandbox:
    """One sandbox app plus clients whose every answer is validated against the spec."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.app: Starlette = create_app(settings)
        self.conformance = ConformanceLog()

    @property
    def state(self) -> SandboxState:
        """The app's state (``app.state.sandbox``)."""
        state: SandboxState = self.app.state.sandbox
        return state

    def client(self, key: str | None = KEY) -> httpx.AsyncClient:
        """An in-process client sending ``key`` raw in ``Authorization`` (none if ``None``)."""
        headers = {} if key is None else {"Authorization": key}
        return httpx.AsyncClient(
            transport=sandbox_transport(self.app),
            base_url=BASE_URL,
            headers=headers,
            event_hooks={"response": [self.conformance.async_hook]},
        )

    def run(self, scenario: Callable[[httpx.AsyncClient], Awaitable[T]], key: str | None = KEY) -> T:
        """Run ``scenario(client)`` to completion on a fresh event loop."""

        async def main() -> T:
            async with self.client(key) as client:
                return await scenario(client)

        return asyncio.run(main())


def make_sandbox(**settings: Any) -> Sandbox:
    """A sandbox with the default key, seeded, with these settings."""
    settings.setdefault("seed", 11)
    return Sandbox(SandboxSettings(**settings))


def contact_body(first: str = "Ada", **extra: Any) -> dict[str, Any]:
    """A valid create body with a phone and an email."""
    body: dict[str, Any] = {
        "defaultFields": {
            "firstName": first,
            "lastName": "Lovelace",
            "company": "Analytical Engines",
            "role": "Engineer",
            "emails": [{"name": "work", "value": "ada@example.com"}],
            "phoneNumbers": [{"name": "mobile", "value": "+15555550100"}],
        },
    }
    body.update(extra)
    return body


async def create(client: httpx.AsyncClient, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Create a contact and return its object; fails unless the answer is 201."""
    response = await client.post("/v1/contacts", json=body or contact_body())
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data
