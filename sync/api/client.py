"""Typed async calls of the OpenPhone contacts API (v1), over a :class:`ThrottledTransport`.

:class:`ContactsApi` returns the API's JSON as plain dicts (the ``data`` member of each
answer) and raises only :mod:`sync.errors` errors: statuses go through
:func:`~sync.api.classify.classify`, and httpx's own errors are translated here.

Quirks of the API that this module absorbs:

- the raw key goes in ``Authorization`` with no ``Bearer``;
- list filters repeat the query key (``externalIds=a&externalIds=b``) and carry at most
  20 values, or the server's query parser turns them into objects and answers 400;
- ``maxResults`` is required and at most 50; paging follows ``nextPageToken`` until it is
  null and never trusts ``totalItems``;
- a create whose outcome is unknown (5xx, read timeout, dropped connection after sending)
  raises :class:`~sync.errors.AmbiguousCreateError` and is never retried blindly.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from importlib.metadata import PackageNotFoundError, version
from itertools import product
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from sync.api.classify import classify
from sync.api.stats import ApiStats
from sync.api.transport import NEVER_SENT_ERRORS, ThrottledTransport
from sync.errors import AmbiguousCreateError, ConfigError, TransientApiError

Json = dict[str, Any]
QueryList = list[tuple[str, str | int | float | bool | None]]

MAX_FILTER_VALUES = 20
"""Values per repeated query key the server's parser accepts (qs ``arrayLimit``)."""

MAX_PAGE_SIZE = 50
"""The largest ``maxResults`` the list endpoint accepts."""

DEFAULT_TIMEOUT = httpx.Timeout(45.0, connect=10.0)
"""Above the gateway's own 30 s, so the gateway's answer reaches us before we give up."""


def _user_agent() -> str:
    try:
        return f"openphone-sync/{version('openphone-sync')}"
    except PackageNotFoundError:
        return "openphone-sync/unknown"


def normalize_base_url(base_url: str) -> str:
    """``https://host``, ``https://host/`` or ``https://host/v1/`` → ``https://host/v1/``."""
    url = httpx.URL(base_url.strip())
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"openphone.base_url must be an http(s) URL, not {base_url!r}")
    path = url.path.rstrip("/")
    if not path.endswith("/v1"):
        path += "/v1"
    return str(url.copy_with(path=path + "/", query=None, fragment=None))


def _chunks(values: Sequence[str] | None) -> list[list[str] | None]:
    """Distinct values in slices of at most :data:`MAX_FILTER_VALUES`; ``[None]`` for no filter."""
    if values is None:
        return [None]
    distinct = list(dict.fromkeys(values))
    return [distinct[i : i + MAX_FILTER_VALUES] for i in range(0, len(distinct), MAX_FILTER_VALUES)]


class ContactsApi:
    """The OpenPhone contacts API, rate-limited and retried by a :class:`ThrottledTransport`.

    Args:
        base_url: ``https://api.openphone.com`` or a sandbox URL, with or without ``/v1``.
        api_key: the workspace's API key (sent raw in ``Authorization``; never shown).
        rate_limit: requests per second for this key.
        timeout: default connect 10 s, read/write/pool 45 s.
        transport: the *inner* transport (e.g. the sandbox's); always wrapped.
        max_retries: retries after 5xx or no answer, per request (429s do not count).
        backoff_base: the first backoff ceiling in seconds.
        seed: seeds the backoff jitter.
        max_rate_limit_wait: total seconds one request may wait out 429s before the 429
            is raised as :class:`~sync.errors.RateLimitedError`.

    Use as ``async with ContactsApi(...) as api:`` or call :meth:`aclose`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        rate_limit: float = 10,
        timeout: httpx.Timeout | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 4,
        backoff_base: float = 1.0,
        seed: int | None = None,
        max_rate_limit_wait: float = 300.0,
    ) -> None:
        if not api_key or not api_key.strip():
            raise ConfigError("the OpenPhone API key is empty")
        self.base_url = normalize_base_url(base_url)
        self.stats = ApiStats()
        self.transport = ThrottledTransport(
            transport,
            rate_limit=rate_limit,
            max_retries=max_retries,
            backoff_base=backoff_base,
            max_rate_limit_wait=max_rate_limit_wait,
            seed=seed,
            stats=self.stats,
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=self.transport,
            timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
            headers={
                "Authorization": api_key.strip(),
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": _user_agent(),
            },
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        rate = self.transport.limiter.rate
        return f"ContactsApi(base_url={self.base_url!r}, rate_limit={rate!r})"

    async def __aenter__(self) -> ContactsApi:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections (and the inner transport)."""
        await self._http.aclose()

    # -- contacts --------------------------------------------------------------------------

    async def list_contacts(
        self,
        *,
        external_ids: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[Json]:
        """Yield every contact matching the filters, page after page.

        ``None`` means "no filter"; an empty sequence matches nothing (and sends nothing).
        Filters longer than 20 values are split into several requests.
        """
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, not {page_size!r}")
        page_size = min(MAX_PAGE_SIZE, page_size)
        for ids, srcs in product(_chunks(external_ids), _chunks(sources)):
            params: QueryList = [("externalIds", v) for v in ids or ()]
            params += [("sources", v) for v in srcs or ()]
            params.append(("maxResults", str(page_size)))
            async for contact in self._pages(params):
                yield contact

    async def find_by_external_ids(
        self, external_ids: Sequence[str], *, source: str | None = None
    ) -> dict[str, list[Json]]:
        """Map each given ``externalId`` to the contacts that have it (often one, maybe none).

        Several contacts may share an ``externalId`` (duplicates made by other tools), so
        the values are lists. With ``source``, only that source's contacts are returned.
        """
        found: dict[str, list[Json]] = {external_id: [] for external_id in external_ids}
        sources = None if source is None else [source]
        async for contact in self.list_contacts(external_ids=list(found), sources=sources):
            external_id = contact.get("externalId")
            matches = found.get(external_id) if isinstance(external_id, str) else None
            if matches is not None and (source is None or contact.get("source") == source):
                matches.append(contact)
        return found

    async def get_contact(self, contact_id: str) -> Json:
        """The contact with this OpenPhone id. Raises NotFoundError on 404."""
        return _data_object(await self._call("GET", _contact_path(contact_id)))

    async def create_contact(self, body: Json) -> Json:
        """Create a contact (201) and return it.

        Raises:
            AmbiguousCreateError: 5xx, read timeout or dropped connection after sending;
                the contact may exist now. Look it up by ``externalId``; never just retry.
            ConflictError: 409, a contact with this ``externalId`` exists.
        """
        label = _create_label(body)
        try:
            response = await self._http.post("/contacts", content=_dump(body))
        except NEVER_SENT_ERRORS as exc:
            raise TransientApiError(f"could not reach the API to create {label}: {_describe(exc)}") from exc
        except httpx.TransportError as exc:
            raise AmbiguousCreateError(
                f"the create of {label} may have been committed: {_describe(exc)}"
            ) from exc
        if response.status_code >= 500:
            raise AmbiguousCreateError(
                f"the create of {label} may have been committed: server error ({response.status_code})",
                status=response.status_code,
            )
        classify(response)
        try:
            return _data_object(response)
        except TransientApiError as exc:
            raise AmbiguousCreateError(f"the create of {label} answered {exc}") from exc

    async def update_contact(self, contact_id: str, body: Json) -> Json:
        """PATCH a contact and return it. The API *replaces* emails, phones and custom fields."""
        response = await self._call("PATCH", _contact_path(contact_id), content=_dump(body))
        return _data_object(response)

    async def delete_contact(self, contact_id: str) -> None:
        """Delete a contact (204). Raises NotFoundError on 404; the caller decides what it means."""
        await self._call("DELETE", _contact_path(contact_id))

    # -- workspace -------------------------------------------------------------------------

    async def list_custom_fields(self) -> list[Json]:
        """The workspace's custom field definitions: ``{name, key, type}`` each."""
        data = _data(await self._call("GET", "/contact-custom-fields"))
        if not isinstance(data, list):
            raise TransientApiError("the custom field list answered without a data list")
        return [item for item in data if isinstance(item, dict)]

    async def check_connection(self) -> None:
        """Make one cheap authenticated call. Raises AuthError when the key is refused."""
        await self._call("GET", "/phone-numbers")

    # -- plumbing --------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: QueryList | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send one request (the transport retries what is safe) and classify the answer."""
        try:
            response = await self._http.request(method, path, params=params, content=content)
        except httpx.TransportError as exc:
            raise TransientApiError(f"{method} {path} got no answer: {_describe(exc)}") from exc
        classify(response)
        return response

    async def _pages(self, params: QueryList) -> AsyncIterator[Json]:
        """Follow ``nextPageToken`` until it is null; ``totalItems`` is never trusted."""
        token: str | None = None
        seen: set[str] = set()
        while True:
            page_params = params if token is None else [*params, ("pageToken", token)]
            page = _json(await self._call("GET", "/contacts", params=page_params))
            data = page.get("data")
            if not isinstance(data, list):
                raise TransientApiError("the contact list answered without a data list")
            for contact in data:
                if isinstance(contact, dict):
                    yield contact
            token = page.get("nextPageToken")
            if not token:
                return
            if token in seen:  # a server bug would otherwise loop forever
                raise TransientApiError("the contact list returned a page token twice")
            seen.add(token)


def _contact_path(contact_id: str) -> str:
    if not contact_id:
        raise ValueError("contact_id must not be empty")
    return "/contacts/" + quote(contact_id, safe="")


def _dump(body: Json) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _json(response: httpx.Response) -> Json:
    """The answer's JSON object; a 2xx answer that is not one is treated as transient."""
    try:
        body = response.json()
    except ValueError as exc:
        raise TransientApiError(
            f"the API answered {response.status_code} with a body that is not JSON",
            status=response.status_code,
        ) from exc
    if not isinstance(body, dict):
        raise TransientApiError(
            f"the API answered {response.status_code} with JSON that is not an object",
            status=response.status_code,
        )
    return body


def _data(response: httpx.Response) -> Any:
    return _json(response).get("data")


def _data_object(response: httpx.Response) -> Json:
    data = _data(response)
    if not isinstance(data, dict):
        raise TransientApiError(
            f"the API answered {response.status_code} without a data object",
            status=response.status_code,
        )
    return data


def _create_label(body: Json) -> str:
    external_id = body.get("externalId")
    return f"externalId {external_id!r}" if external_id else "a contact without externalId"


def _describe(exc: httpx.TransportError) -> str:
    """An httpx error as text; several of them have an empty message."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
