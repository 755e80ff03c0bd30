"""The sandbox served by uvicorn on a real loopback socket."""

from __future__ import annotations

import logging

import httpx
import pytest

from sync.sandbox import SandboxSettings, create_app
from sync.sandbox.server import serve_in_thread as served

from .conformance import ConformanceLog
from .harness import KEY, contact_body


def _client(base_url: str, log: ConformanceLog, key: str = KEY) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": key},
                        event_hooks={"response": [log.sync_hook]}, timeout=10)


def test_create_list_patch_delete_and_a_burst_over_a_real_socket():
    """The curl session of the issue, with httpx: CRUD works and the 11th request is a 429."""
    app = create_app(SandboxSettings(api_keys=(KEY, "burst-key"), seed=1))
    log = ConformanceLog()
    with served(app) as base_url, _client(base_url, log) as client:
        created = client.post("/v1/contacts", json=contact_body(externalId="sock-1"))
        assert created.status_code == 201
        contact_id = created.json()["data"]["id"]
        listed = client.get("/v1/contacts", params={"maxResults": 10, "externalIds": "sock-1"})
        assert [c["id"] for c in listed.json()["data"]] == [contact_id]
        patched = client.patch(f"/v1/contacts/{contact_id}", json={"defaultFields": {"role": "CTO"}})
        assert patched.json()["data"]["defaultFields"]["role"] == "CTO"
        assert patched.json()["data"]["defaultFields"]["emails"] == []  # replace semantics
        assert client.delete(f"/v1/contacts/{contact_id}").status_code == 204
        with _client(base_url, log, key="burst-key") as burst:
            statuses = [burst.get("/v1/contact-custom-fields").status_code for _ in range(11)]
        assert statuses == [200] * 10 + [429]
    assert len(log.checked) == 4 + 11


def test_the_server_thread_saves_data_at_shutdown(tmp_path):
    """Leaving serve_in_thread runs the app's shutdown, which writes --data."""
    data = tmp_path / "served.json"
    app = create_app(SandboxSettings(data_file=data))
    with served(app) as base_url, _client(base_url, ConformanceLog()) as client:
        assert client.post("/v1/contacts", json=contact_body()).status_code == 201
    assert data.exists() and '"firstName": "Ada"' in data.read_text()


def test_a_dropped_connection_over_a_socket_is_a_transport_error(caplog: pytest.LogCaptureFixture):
    """reset_rate=1 on a real server: httpx raises RemoteProtocolError; uvicorn logs no error."""
    app = create_app(SandboxSettings(reset_rate=1.0, seed=1))
    with caplog.at_level(logging.WARNING), served(app) as base_url, \
            _client(base_url, ConformanceLog()) as client:
        for _ in range(2):
            with pytest.raises(httpx.RemoteProtocolError):
                client.get("/v1/contact-custom-fields")
    assert [entry.status for entry in app.state.sandbox.log] == [None, None]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_an_ambiguous_create_over_a_socket_is_stored_but_not_acknowledged():
    """The client sees a 5xx or a cut connection, yet the contact exists."""
    app = create_app(SandboxSettings(ambiguous_create_rate=1.0, seed=5))
    outcomes: list[int | str] = []
    with served(app) as base_url, _client(base_url, ConformanceLog()) as client:
        for n in range(6):
            try:
                outcomes.append(client.post("/v1/contacts", json=contact_body(externalId=f"a{n}")).status_code)
            except httpx.RemoteProtocolError:
                outcomes.append("dropped")
    assert "dropped" in outcomes and {500, 502, 503} & set(outcomes)
    assert len(app.state.sandbox.all_contacts()) == 6
