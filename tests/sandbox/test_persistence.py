"""--data: the sandbox's contacts (and definitions) survive a restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from sync.errors import ConfigError
from sync.sandbox import SandboxSettings, create_app

from .harness import VIP, Sandbox, contact_body, create


def _run_lifespan(app: Starlette) -> list[str]:
    """Start and stop the app the way a server does; the message types it sent back."""
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message["type"])

    asyncio.run(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send))
    return sent


def test_contacts_survive_a_restart_with_a_data_file(tmp_path: Path):
    """Contacts made in one app are saved at shutdown and served by the next app."""
    data = tmp_path / "sandbox.json"
    first = Sandbox(SandboxSettings(data_file=data, seed=1))

    async def make(client: httpx.AsyncClient) -> list[dict[str, Any]]:
        return [
            await create(client, contact_body(externalId="p-1", customFields=[{"key": VIP, "value": True}])),
            await create(client, contact_body("Grace", externalId="p-2")),
        ]

    made = first.run(make)
    assert not data.exists(), "nothing is written before shutdown"
    assert _run_lifespan(first.app) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    second = Sandbox(SandboxSettings(data_file=data, seed=2))

    async def read(client: httpx.AsyncClient) -> tuple[Any, int]:
        listed = (await client.get("/v1/contacts", params={"maxResults": 10, "externalIds": "p-2"})).json()
        dup = await client.post("/v1/contacts", json=contact_body(externalId="p-1"))
        return listed["data"], dup.status_code

    listed, dup_status = second.run(read)
    assert second.state.all_contacts() == made
    assert listed == [made[1]]
    assert dup_status == 409, "the externalId index is rebuilt on load"


def test_a_missing_data_file_starts_empty_and_is_created_at_shutdown(tmp_path: Path):
    """--data naming a file that does not exist yet is fine."""
    data = tmp_path / "new.json"
    app = create_app(SandboxSettings(data_file=data))
    assert app.state.sandbox.all_contacts() == []
    _run_lifespan(app)
    saved = json.loads(data.read_text())
    assert saved["contacts"] == [] and len(saved["customFields"]) == 9


def test_saved_definitions_are_used_unless_definitions_are_configured(tmp_path: Path):
    """Definitions edited at runtime are saved too; configured ones take precedence."""
    data = tmp_path / "defs.json"
    app = create_app(SandboxSettings(data_file=data))
    app.state.sandbox.set_custom_fields([{"name": "Only", "key": "c" * 24, "type": "url"}])
    _run_lifespan(app)
    assert create_app(SandboxSettings(data_file=data)).state.sandbox.custom_fields() == [
        {"name": "Only", "key": "c" * 24, "type": "url"}]
    configured = [{"name": "Mine", "key": "d" * 24, "type": "string"}]
    reopened = create_app(SandboxSettings(data_file=data, custom_fields=configured))
    assert reopened.state.sandbox.custom_fields() == configured


@pytest.mark.parametrize("content", ["not json", '{"contacts": []}', '{"format": "other"}'])
def test_a_broken_data_file_is_a_config_error(tmp_path: Path, content: str):
    """A file that is not a sandbox data file is refused at start, naming the file."""
    data = tmp_path / "broken.json"
    data.write_text(content)
    with pytest.raises(ConfigError, match=r"broken\.json"):
        create_app(SandboxSettings(data_file=data))


def test_a_malformed_contact_in_the_data_file_is_a_config_error(tmp_path: Path):
    """A contact missing its fields is reported, not half-loaded."""
    data = tmp_path / "bad-contact.json"
    data.write_text(json.dumps({"format": "openphone-sync-sandbox/1", "contacts": [{"id": "x"}]}))
    with pytest.raises(ConfigError, match="malformed contact"):
        create_app(SandboxSettings(data_file=data))
