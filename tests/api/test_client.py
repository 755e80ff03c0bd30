"""ContactsApi against the real sandbox app: paging, filters, CRUD, errors, headers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sync.api import ContactsApi, normalize_base_url
from sync.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
)
from sync.sandbox import sandbox_transport

from .helpers import (
    BASE_URL,
    KEY,
    RecordingTransport,
    body,
    client,
    logged,
    query_values,
    sandbox,
    seed_contacts,
    state_of,
)


async def collect(api: ContactsApi, **filters: Any) -> list[dict[str, Any]]:
    return [contact async for contact in api.list_contacts(**filters)]


def test_list_follows_page_tokens_past_50() -> None:
    """120 contacts come back in full over three pages of 50, in order, each once."""
    app = sandbox()
    expected = seed_contacts(app, 120)

    async def scenario() -> list[dict[str, Any]]:
        async with client(app) as api:
            return await collect(api)

    contacts = asyncio.run(scenario())
    assert [c["externalId"] for c in contacts] == expected
    pages = logged(app, "GET", "/v1/contacts")
    assert len(pages) == 3
    assert [query_values(p.query, "maxResults") for p in pages] == [["50"]] * 3
    assert query_values(pages[0].query, "pageToken") == []
    assert all(query_values(p.query, "pageToken") for p in pages[1:])


@pytest.mark.parametrize(("page_size", "sent", "requests"), [(7, "7", 18), (500, "50", 3)])
def test_page_size_is_capped_at_50(page_size: int, sent: str, requests: int) -> None:
    """maxResults is min(50, page_size); every page is fetched whatever the size."""
    app = sandbox()
    seed_contacts(app, 120)

    async def scenario() -> int:
        async with client(app) as api:
            return len(await collect(api, page_size=page_size))

    assert asyncio.run(scenario()) == 120
    pages = logged(app, "GET", "/v1/contacts")
    assert len(pages) == requests
    assert {query_values(p.query, "maxResults")[0] for p in pages} == {sent}


def test_bad_page_size_is_refused() -> None:
    """A page size below 1 is a programming error, refused before any request."""
    app = sandbox()

    async def scenario() -> None:
        async with client(app) as api:
            await collect(api, page_size=0)

    with pytest.raises(ValueError, match="page_size"):
        asyncio.run(scenario())
    assert logged(app) == []


def test_external_ids_are_chunked_by_20_with_repeated_keys() -> None:
    """45 ids are looked up in three requests of at most 20 repeated externalIds keys."""
    app = sandbox()
    ids = seed_contacts(app, 60)
    wanted = [*ids[:40], "missing-1", "missing-2", "missing-3", "missing-4", "missing-5"]

    async def scenario() -> dict[str, list[dict[str, Any]]]:
        async with client(app) as api:
            return await api.find_by_external_ids(wanted)

    found = asyncio.run(scenario())
    assert list(found) == wanted
    assert all(len(found[i]) == 1 and found[i][0]["externalId"] == i for i in ids[:40])
    assert all(found[f"missing-{n}"] == [] for n in range(1, 6))
    lookups = logged(app, "GET", "/v1/contacts")
    sizes = [len(query_values(entry.query, "externalIds")) for entry in lookups]
    assert sizes == [20, 20, 5]
    assert all("externalIds%5B%5D" not in entry.query for entry in lookups)
    assert sorted(v for e in lookups for v in query_values(e.query, "externalIds")) == sorted(wanted)


def test_duplicate_ids_are_asked_once_and_all_holders_returned() -> None:
    """An id given twice is sent once; contacts sharing an externalId are all returned."""
    app = sandbox()
    seed_contacts(app, 2, prefix="dup-")
    service = state_of(app).contacts
    twin = service.create(body("other"))
    state_of(app).store.set_external_id(twin, "dup-0000")  # a duplicate made by another tool

    async def scenario() -> dict[str, list[dict[str, Any]]]:
        async with client(app) as api:
            return await api.find_by_external_ids(["dup-0000", "dup-0000", "dup-0001"])

    found = asyncio.run(scenario())
    assert len(found["dup-0000"]) == 2
    assert len(found["dup-0001"]) == 1
    (lookup,) = logged(app, "GET", "/v1/contacts")
    assert query_values(lookup.query, "externalIds") == ["dup-0000", "dup-0001"]


def test_find_by_external_ids_filters_by_source() -> None:
    """With a source, only that source's contacts come back (and the filter is sent)."""
    app = sandbox()
    seed_contacts(app, 3, prefix="a-", source="crm-export")
    seed_contacts(app, 3, prefix="b-", source="sheet")

    async def scenario() -> dict[str, list[dict[str, Any]]]:
        async with client(app) as api:
            return await api.find_by_external_ids(["a-0000", "b-0000"], source="sheet")

    found = asyncio.run(scenario())
    assert found["a-0000"] == []
    assert [c["source"] for c in found["b-0000"]] == ["sheet"]
    (lookup,) = logged(app, "GET", "/v1/contacts")
    assert query_values(lookup.query, "sources") == ["sheet"]


def test_sources_filter_is_chunked_too() -> None:
    """More than 20 sources are split into requests of at most 20."""
    app = sandbox()
    seed_contacts(app, 1, prefix="s-", source="src-07")
    sources = [f"src-{n:02d}" for n in range(25)]

    async def scenario() -> list[dict[str, Any]]:
        async with client(app) as api:
            return await collect(api, sources=sources)

    assert [c["externalId"] for c in asyncio.run(scenario())] == ["s-0000"]
    lookups = logged(app, "GET", "/v1/contacts")
    assert [len(query_values(e.query, "sources")) for e in lookups] == [20, 5]


def test_empty_filter_matches_nothing_and_sends_nothing() -> None:
    """An empty id list is not 'no filter': no request, no contacts."""
    app = sandbox()
    seed_contacts(app, 5)

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        async with client(app) as api:
            return await collect(api, external_ids=[]), await api.find_by_external_ids([])

    assert asyncio.run(scenario()) == ([], {})
    assert logged(app) == []


def test_create_get_update_delete_round_trip() -> None:
    """A contact can be created, read, replaced by PATCH and deleted; 404 after."""
    app = sandbox()

    async def scenario() -> None:
        async with client(app) as api:
            created = await api.create_contact(body("crm-1"))
            assert created["externalId"] == "crm-1"
            assert (await api.get_contact(created["id"]))["defaultFields"]["firstName"] == "Ada"
            patch = body("crm-1", first="Grace")
            patch["defaultFields"]["emails"] = []
            updated = await api.update_contact(created["id"], patch)
            assert updated["defaultFields"]["firstName"] == "Grace"
            assert updated["defaultFields"]["emails"] == []
            await api.delete_contact(created["id"])
            with pytest.raises(NotFoundError):
                await api.get_contact(created["id"])
            with pytest.raises(NotFoundError, match=r"DELETE /v1/contacts/"):
                await api.delete_contact(created["id"])
            with pytest.raises(NotFoundError):
                await api.update_contact(created["id"], patch)

    asyncio.run(scenario())
    assert state_of(app).all_contacts() == []
    assert [e.status for e in logged(app)] == [201, 200, 200, 204, 404, 404, 404]


def test_create_with_taken_external_id_is_a_conflict() -> None:
    """A second create with the same externalId raises ConflictError (409)."""
    app = sandbox()
    seed_contacts(app, 1, prefix="taken-")

    async def scenario() -> None:
        async with client(app) as api:
            await api.create_contact(body("taken-0000"))

    with pytest.raises(ConflictError, match="409"):
        asyncio.run(scenario())
    assert len(state_of(app).all_contacts()) == 1


def test_invalid_body_is_an_invalid_request_with_the_api_reasons() -> None:
    """A 400 carries the API's per-field reasons and is not retried."""
    app = sandbox()
    bad = body("x")
    bad["customFields"] = [{"key": "no-such-field", "value": "v"}]

    async def scenario() -> None:
        async with client(app) as api:
            await api.create_contact(bad)

    with pytest.raises(InvalidRequestError) as caught:
        asyncio.run(scenario())
    assert "/customFields/0/key" in str(caught.value)
    assert caught.value.is_invalid_custom_field
    assert len(logged(app)) == 1


def test_ids_with_odd_characters_stay_in_the_path_segment() -> None:
    """A contact id with '/' or '?' is escaped, never changing the route or the query."""
    app = sandbox()
    recorder = RecordingTransport(sandbox_transport(app))

    async def scenario() -> None:
        async with ContactsApi(BASE_URL, KEY, transport=recorder) as api:
            await api.get_contact("a/b?c")

    with pytest.raises(NotFoundError):
        asyncio.run(scenario())
    (request,) = recorder.requests
    assert request.url.raw_path == b"/v1/contacts/a%2Fb%3Fc"


def test_custom_fields_and_connection_check() -> None:
    """list_custom_fields returns the definitions; check_connection passes with a good key."""
    app = sandbox()

    async def scenario() -> list[dict[str, Any]]:
        async with client(app) as api:
            await api.check_connection()
            return await api.list_custom_fields()

    fields = asyncio.run(scenario())
    assert fields == state_of(app).custom_fields()
    assert all({"name", "key", "type"} <= set(f) for f in fields)
    assert [(e.method, e.path) for e in logged(app)] == [
        ("GET", "/v1/phone-numbers"),
        ("GET", "/v1/contact-custom-fields"),
    ]


def test_refused_key_is_an_auth_error() -> None:
    """A wrong key makes check_connection raise AuthError with the API's reason."""
    app = sandbox()

    async def scenario() -> None:
        async with client(app, key="not-the-key") as api:
            await api.check_connection()

    with pytest.raises(AuthError, match=r"^the API key was refused \(401\): Unauthorized$"):
        asyncio.run(scenario())
    assert len(logged(app)) == 1  # a 401 is not retried


def test_headers_sent() -> None:
    """The raw key (no Bearer), JSON content type and our User-Agent go with each request."""
    app = sandbox()
    recorder = RecordingTransport(sandbox_transport(app))

    async def scenario() -> None:
        async with ContactsApi(BASE_URL, KEY, transport=recorder, rate_limit=1000) as api:
            await api.create_contact(body("h-1"))

    asyncio.run(scenario())
    (request,) = recorder.requests
    assert request.headers["authorization"] == KEY
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("openphone-sync/")
    assert request.url == "http://sandbox.test/v1/contacts"


@pytest.mark.parametrize(
    "given",
    [
        "https://api.openphone.com",
        "https://api.openphone.com/",
        "https://api.openphone.com/v1",
        "https://api.openphone.com/v1/",
        " https://api.openphone.com// ",
    ],
)
def test_base_url_is_normalized(given: str) -> None:
    """With or without a trailing slash or /v1, requests go to <host>/v1/..."""
    assert normalize_base_url(given) == "https://api.openphone.com/v1/"


def test_base_url_with_a_prefix_path_keeps_it() -> None:
    """A proxy path before /v1 is kept."""
    assert normalize_base_url("http://127.0.0.1:8080/proxy") == "http://127.0.0.1:8080/proxy/v1/"


@pytest.mark.parametrize("given", ["api.openphone.com", "ftp://x.example", "", "https://"])
def test_bad_base_url_is_a_config_error(given: str) -> None:
    """A base URL that is not http(s) with a host is a ConfigError naming the setting."""
    with pytest.raises(ConfigError, match="base_url"):
        normalize_base_url(given)


def test_empty_key_is_a_config_error() -> None:
    """An empty key is refused before any request."""
    with pytest.raises(ConfigError, match="key is empty"):
        ContactsApi(BASE_URL, "  ")


@pytest.mark.parametrize("url", [BASE_URL, BASE_URL + "/", BASE_URL + "/v1", BASE_URL + "/v1/"])
def test_every_base_url_form_reaches_the_api(url: str) -> None:
    """Each spelling of the base URL reaches the same /v1 routes."""
    app = sandbox()

    async def scenario() -> None:
        async with ContactsApi(url, KEY, transport=sandbox_transport(app)) as api:
            await api.check_connection()

    asyncio.run(scenario())
    assert [e.path for e in logged(app)] == ["/v1/phone-numbers"]
