"""The in-process way into a sandbox app, for tests and ``sync demo``.

:func:`sandbox_transport` wraps :class:`httpx.ASGITransport` so that a dropped-connection
fault reaches the client the way it does over a socket: as
:class:`httpx.RemoteProtocolError`. :class:`DroppedConnectionLogFilter` keeps uvicorn
from logging each deliberately cut connection as an application error.
"""

from __future__ import annotations

import logging

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from sync.sandbox.app import IN_PROCESS_SCOPE_KEY
from sync.sandbox.faults import ConnectionDropped

_UVICORN_INCOMPLETE = "ASGI callable returned without completing response."


class _InProcessMarker:
    """Tell the app it runs in-process, so a drop raises instead of cutting a socket."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app({**scope, IN_PROCESS_SCOPE_KEY: True}, receive, send)


class SandboxTransport(httpx.AsyncBaseTransport):
    """``httpx.ASGITransport`` plus the mapping of the sandbox's drop signal."""

    def __init__(self, app: ASGIApp) -> None:
        self._inner = httpx.ASGITransport(app=_InProcessMarker(app))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the app; a dropped connection raises ``RemoteProtocolError``."""
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped as exc:
            message = "Server disconnected without sending a response."
            raise httpx.RemoteProtocolError(message, request=request) from exc

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()


def sandbox_transport(app: ASGIApp) -> httpx.AsyncBaseTransport:
    """An httpx transport that talks to a sandbox app in-process."""
    return SandboxTransport(app)


class DroppedConnectionLogFilter(logging.Filter):
    """Drop uvicorn's error line for a response the sandbox cut on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for uvicorn's "returned without completing response" record."""
        return record.getMessage() != _UVICORN_INCOMPLETE


def quiet_dropped_connection_logs() -> None:
    """Install :class:`DroppedConnectionLogFilter` on uvicorn's error logger (once)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, DroppedConnectionLogFilter) for f in logger.filters):
        logger.addFilter(DroppedConnectionLogFilter())
