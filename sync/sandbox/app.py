"""The sandbox's ASGI app: the ``/v1`` contact routes behind auth, rate limit and faults.

Every ``/v1`` request passes the same gate, in the order the real service applies it:
the raw key in ``Authorization`` (401), the per-key sliding window (429, counted on
arrival), then the seeded latency and faults, then the operation itself. Every admitted
answer carries the ``ratelimit`` / ``ratelimit-policy`` headers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sync.sandbox import bodies
from sync.sandbox.bodies import ErrorFamily
from sync.sandbox.contacts import ApiProblem, parse_list_query
from sync.sandbox.faults import Admission, ConnectionDropped, FaultKind, FaultPlan
from sync.sandbox.inspection import inspection_routes
from sync.sandbox.phone_numbers import phone_numbers_body
from sync.sandbox.settings import SandboxSettings
from sync.sandbox.state import SandboxState
from sync.sandbox.validation import FieldError

IN_PROCESS_SCOPE_KEY = "openphone_sync.sandbox.in_process"
Handler = Callable[[Request, SandboxState], Awaitable[Response]]


class DroppedConnection(Response):
    """Answer with nothing usable: the client sees the connection cut.

    In-process it raises :class:`ConnectionDropped` for the transport to map; on a real
    socket it sends headers and a truncated body, then ends the call, and the server
    closes the connection, which httpx reports as ``RemoteProtocolError``.
    """

    def __init__(self) -> None:
        super().__init__(status_code=502)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get(IN_PROCESS_SCOPE_KEY):
            raise ConnectionDropped
        headers = [(b"content-type", b"application/json"), (b"content-length", b"1024")]
        await send({"type": "http.response.start", "status": 502, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"mess', "more_body": True})


@dataclass(frozen=True, slots=True)
class Operation:
    """One ``/v1`` operation and the error family its refusals use."""

    family: ErrorFamily
    handler: Handler
    is_create: bool = False


def _error(state: SandboxState, family: ErrorFamily, problem: ApiProblem) -> JSONResponse:
    body = bodies.error_body(
        family, problem.status, problem.message, state.store.ids.trace(), problem.errors
    )
    return JSONResponse(body, status_code=problem.status)


def _too_many(state: SandboxState, family: ErrorFamily, admission: Admission) -> JSONResponse:
    response = _error(state, family, ApiProblem(429, "Rate limit exceeded"))
    if state.settings.send_retry_after:
        response.headers["retry-after"] = str(admission.reset_seconds)
    return response


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError as exc:
        error = FieldError("", f"Expected a JSON body ({exc})", "object")
        raise ApiProblem(400, "Invalid request: body is not JSON", [error]) from exc


class Gate:
    """Auth, rate limit, latency and faults in front of every ``/v1`` operation."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def handle(self, request: Request, op: Operation) -> Response:
        """Answer one ``/v1`` request and record it."""
        key = request.headers.get("authorization")
        fault = FaultKind.NONE
        if key is None or key not in self.state.api_keys:
            message = "Missing authorization header" if key is None else "Unauthorized"
            body = bodies.auth_error_body(message, self.state.store.ids.trace())
            response: Response = JSONResponse(body, status_code=401)
        else:
            admission = self.state.limiter.admit(key)
            if admission.admitted:
                plan = self.state.faults.draw(is_create=op.is_create)
                response, fault = await self._admitted(request, op, plan)
            else:
                self.state.rate_limited += 1
                response = _too_many(self.state, op.family, admission)
            response.headers.update(admission.headers())
        status = None if isinstance(response, DroppedConnection) else response.status_code
        self.state.record(
            request.method, request.url.path, request.url.query, status, key, fault
        )
        return response

    async def _admitted(
        self, request: Request, op: Operation, plan: FaultPlan
    ) -> tuple[Response, FaultKind]:
        if plan.delay_seconds > 0:
            await asyncio.sleep(plan.delay_seconds)
        if plan.kind is FaultKind.SPURIOUS_429:
            admission = Admission(False, self.state.limiter.limit, 0, 1)
            return _too_many(self.state, op.family, admission), plan.kind
        if plan.kind is FaultKind.RESET:
            return DroppedConnection(), plan.kind
        if plan.kind is FaultKind.FAIL:
            return self._server_error(op, plan), plan.kind
        try:
            response = await op.handler(request, self.state)
        except ApiProblem as problem:
            return _error(self.state, op.family, problem), FaultKind.NONE
        if plan.kind is FaultKind.AMBIGUOUS_CREATE and response.status_code == 201:
            # The contact is stored; the client just never learns it.
            failed = DroppedConnection() if plan.drop else self._server_error(op, plan)
            return failed, plan.kind
        return response, FaultKind.NONE

    def _server_error(self, op: Operation, plan: FaultPlan) -> Response:
        message = "An unknown error occurred" if plan.status == 500 else "Upstream unavailable"
        return _error(self.state, op.family, ApiProblem(plan.status, message))


async def _create(request: Request, state: SandboxState) -> Response:
    contact = state.contacts.create(await _json_body(request))
    return JSONResponse({"data": state.contacts.render(contact)}, status_code=201)


async def _get(request: Request, state: SandboxState) -> Response:
    contact = state.contacts.get(request.path_params["id"])
    return JSONResponse({"data": state.contacts.render(contact)})


async def _update(request: Request, state: SandboxState) -> Response:
    contact = state.contacts.update(request.path_params["id"], await _json_body(request))
    return JSONResponse({"data": state.contacts.render(contact)})


async def _delete(request: Request, state: SandboxState) -> Response:
    state.contacts.delete(request.path_params["id"])
    return Response(status_code=204)


async def _list(request: Request, state: SandboxState) -> Response:
    return JSONResponse(state.contacts.list(parse_list_query(request.query_params)))


async def _custom_fields(request: Request, state: SandboxState) -> Response:
    return JSONResponse({"data": state.custom_fields()})


async def _phone_numbers(request: Request, state: SandboxState) -> Response:
    return JSONResponse(phone_numbers_body(request.query_params.get("userId")))


def _v1_route(path: str, method: str, op: Operation) -> Route:
    async def endpoint(request: Request) -> Response:
        gate: Gate = request.app.state.gate
        return await gate.handle(request, op)

    return Route(path, endpoint, methods=[method], include_in_schema=False)


def _v1_routes() -> list[Route]:
    contacts, fields, numbers = bodies.CONTACTS, bodies.CUSTOM_FIELDS, bodies.PHONE_NUMBERS
    return [
        _v1_route("/v1/contacts", "POST", Operation(contacts, _create, is_create=True)),
        _v1_route("/v1/contacts", "GET", Operation(contacts, _list)),
        _v1_route("/v1/contacts/{id}", "GET", Operation(contacts, _get)),
        _v1_route("/v1/contacts/{id}", "PATCH", Operation(contacts, _update)),
        _v1_route("/v1/contacts/{id}", "DELETE", Operation(contacts, _delete)),
        _v1_route("/v1/contact-custom-fields", "GET", Operation(fields, _custom_fields)),
        _v1_route("/v1/phone-numbers", "GET", Operation(numbers, _phone_numbers)),
    ]


async def _unknown_route(request: Request, exc: Exception) -> Response:
    """404 (also for a known path with another method), as Express answers: HTML."""
    state: SandboxState = request.app.state.sandbox
    key = request.headers.get("authorization")
    state.record(request.method, request.url.path, request.url.query, 404, key)
    page = bodies.not_found_page(request.method, request.url.path)
    return HTMLResponse(page, status_code=404)


def create_app(settings: SandboxSettings | None = None) -> Starlette:
    """Build a sandbox app. Its state is ``app.state.sandbox`` (a :class:`SandboxState`).

    With ``settings.data_file`` set, the file is loaded now and saved at shutdown.
    """
    state = SandboxState(settings or SandboxSettings())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        state.save()

    handlers: dict[Any, Any] = {404: _unknown_route, 405: _unknown_route}
    app = Starlette(
        routes=[*_v1_routes(), *inspection_routes()],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False
    app.state.sandbox = state
    app.state.gate = Gate(state)
    return app

