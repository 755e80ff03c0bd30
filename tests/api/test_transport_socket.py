"""The API client over real loopback sockets: refused connections, read timeouts, cuts."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from sync.api import ContactsApi, ThrottledTransport
from sync.errors import AmbiguousCreateError, TransientApiError

from .helpers import KEY, body, logged, sandbox, state_of


def closed_port() -> int:
    """A loopback port with nothing listening on it (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("method", ["POST", "GET", "PATCH", "DELETE"])
def test_refused_connection_is_retried_for_every_method(method: str) -> None:
    """A connect error proves the request never left, so even a POST is retried."""

    async def scenario() -> ThrottledTransport:
        transport = ThrottledTransport(rate_limit=100, max_retries=2, backoff_base=0.01)
        async with httpx.AsyncClient(transport=transport) as http:
            with pytest.raises(httpx.ConnectError):
                await http.request(method, f"http://127.0.0.1:{closed_port()}/v1/contacts")
        return transport

    transport = asyncio.run(scenario())
    assert transport.stats.requests_sent == 3
    assert transport.stats.by_method == {method: 3}
    assert transport.stats.retries == 2
    assert transport.stats.transport_errors == 3
    assert transport.stats.by_status == {}


def test_unreachable_api_is_a_transient_error_not_an_ambiguous_create() -> None:
    """A create that could not connect after all retries is transient, not ambiguous."""

    async def scenario() -> ContactsApi:
        url = f"http://127.0.0.1:{closed_port()}"
        async with ContactsApi(url, "k", max_retries=1, backoff_base=0.01) as api:
            with pytest.raises(TransientApiError, match="could not reach the API") as caught:
                await api.create_contact({"defaultFields": {"firstName": "A"}, "externalId": "e1"})
            assert type(caught.value) is TransientApiError
            assert isinstance(caught.value.__cause__, httpx.ConnectError)
        return api

    assert asyncio.run(scenario()).stats.requests_sent == 2


@contextmanager
def served(app: Starlette) -> Iterator[str]:
    """Serve the sandbox app with uvicorn on a loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def fast_timeout(read: float) -> httpx.Timeout:
    return httpx.Timeout(read, connect=2.0)


def wait_for_log(app: Starlette, count: int) -> None:
    """Wait until the sandbox has finished handling ``count`` requests."""
    deadline = time.monotonic() + 5
    while len(state_of(app).log) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_read_timeout_on_create_is_ambiguous_and_not_retried() -> None:
    """Over a real socket, a create that times out reading is ambiguous and sent only once."""
    app = sandbox(latency_ms=300)
    with served(app) as url:

        async def scenario() -> dict[str, list[dict[str, Any]]]:
            async with ContactsApi(url, KEY, timeout=fast_timeout(0.1), seed=1) as api:
                with pytest.raises(AmbiguousCreateError, match="ReadTimeout") as caught:
                    await api.create_contact(body("slow-1"))
                assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
                assert api.stats.requests_sent == 1
            await asyncio.sleep(0.4)  # let the server finish with what it was given
            async with ContactsApi(url, KEY) as lookup:
                return await lookup.find_by_external_ids(["slow-1"])

        found = asyncio.run(scenario())
    # Whether the server committed depends on when it read the body; twice it never is.
    assert len(found["slow-1"]) <= 1
    assert [e.method for e in logged(app)].count("POST") <= 1


def test_read_timeout_on_get_is_retried_then_transient() -> None:
    """A GET that keeps timing out is tried 1 + max_retries times, then TransientApiError."""
    app = sandbox(latency_ms=300)
    with served(app) as url:

        async def scenario() -> ContactsApi:
            options: dict[str, Any] = {"max_retries": 2, "backoff_base": 0.01}
            async with ContactsApi(url, KEY, timeout=fast_timeout(0.1), **options) as api:
                with pytest.raises(TransientApiError, match="got no answer: ReadTimeout"):
                    await api.get_contact("c1")
            return api

        api = asyncio.run(scenario())
        wait_for_log(app, 3)
    assert api.stats.requests_sent == api.stats.transport_errors == 3
    assert len(logged(app, "GET")) == 3


def test_cut_connection_over_a_socket(caplog: pytest.LogCaptureFixture) -> None:
    """A real cut connection: reads are retried, a create is ambiguous; logs hide the key."""
    app = sandbox(reset_rate=1.0)
    with served(app) as url:

        async def scenario() -> ContactsApi:
            async with ContactsApi(url, KEY, max_retries=1, backoff_base=0.01) as api:
                # The sandbox sends a 502 head, then cuts the body: a drop, not a 502.
                with pytest.raises(TransientApiError, match=r"got no answer: (ReadError|Remote)"):
                    await api.list_custom_fields()
                with pytest.raises(AmbiguousCreateError, match="may have been committed") as cut:
                    await api.create_contact(body("cut-1"))
                assert isinstance(cut.value.__cause__, httpx.ReadError | httpx.RemoteProtocolError)
            return api

        with caplog.at_level(logging.DEBUG):
            api = asyncio.run(scenario())
    assert api.stats.by_method == {"GET": 2, "POST": 1}
    assert api.stats.transport_errors == 3
    assert api.stats.by_status == {}
    assert any(r.name.startswith("httpcore") for r in caplog.records)
    assert all(KEY not in r.getMessage() for r in caplog.records)
