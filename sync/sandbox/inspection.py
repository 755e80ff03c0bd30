"""The ``/_sandbox`` routes: look inside the sandbox and steer it. No auth, never rate limited.

- ``GET /_sandbox/contacts``: every contact, full objects.
- ``GET /_sandbox/requests[?limit=N]``: the request log (last 10,000; keys shown by suffix).
- ``GET /_sandbox/stats``: counts per method, status and fault; 429s sent.
- ``POST /_sandbox/reset``: clear contacts, log and counters (definitions stay).
- ``GET /_sandbox/custom-fields`` / ``PUT /_sandbox/custom-fields``: read or replace the
  definitions with a full list, to rename, retype, add or remove fields at runtime.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sync.errors import ConfigError
from sync.sandbox.state import SandboxState


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


async def _contacts(request: Request) -> Response:
    return JSONResponse({"data": _state(request).all_contacts()})


async def _requests(request: Request) -> Response:
    log = list(_state(request).log)
    limit = request.query_params.get("limit")
    if limit is not None:
        if not limit.isdigit():
            return JSONResponse({"error": "limit must be a whole number"}, status_code=400)
        log = log[-int(limit):] if int(limit) else []
    return JSONResponse({"data": [entry.to_json() for entry in log]})


async def _stats(request: Request) -> Response:
    return JSONResponse(_state(request).stats())


async def _reset(request: Request) -> Response:
    _state(request).reset()
    return Response(status_code=204)


async def _get_custom_fields(request: Request) -> Response:
    return JSONResponse({"data": _state(request).custom_fields()})


async def _put_custom_fields(request: Request) -> Response:
    try:
        _state(request).set_custom_fields(json.loads(await request.body()))
    except ValueError as exc:
        return JSONResponse({"error": f"body is not JSON: {exc}"}, status_code=400)
    except ConfigError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse({"data": _state(request).custom_fields()})


def inspection_routes() -> list[Route]:
    """The routes, for :func:`sync.sandbox.create_app` to mount."""
    return [
        Route("/_sandbox/contacts", _contacts, methods=["GET"]),
        Route("/_sandbox/requests", _requests, methods=["GET"]),
        Route("/_sandbox/stats", _stats, methods=["GET"]),
        Route("/_sandbox/reset", _reset, methods=["POST"]),
        Route("/_sandbox/custom-fields", _get_custom_fields, methods=["GET"]),
        Route("/_sandbox/custom-fields", _put_custom_fields, methods=["PUT"]),
    ]
