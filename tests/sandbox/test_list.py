"""List: maxResults 1..50 required, repeated-key filters (at most 20), opaque page tokens."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .harness import Sandbox, contact_body


def _seed(sandbox: Sandbox, count: int, *, source: str = "crm-a", prefix: str = "ext-") -> list[str]:
    """Store contacts straight into the sandbox (no requests); their externalIds."""
    ids = [f"{prefix}{i:03d}" for i in range(count)]
    for external_id in ids:
        sandbox.state.contacts.create(contact_body(externalId=external_id, source=source))
    return ids


def _list(sandbox: Sandbox, params: Any) -> httpx.Response:
    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/v1/contacts", params=params)

    return sandbox.run(scenario)


@pytest.mark.parametrize(
    "params",
    [{}, {"maxResults": 0}, {"maxResults": 51}, {"maxResults": "ten"}, {"maxResults": -1}],
    ids=["missing", "zero", "51", "not-a-number", "negative"],
)
def test_max_results_is_required_between_1_and_50(sandbox: Sandbox, params: dict[str, Any]):
    """maxResults missing or out of 1..50 is a 400 naming /maxResults."""
    response = _list(sandbox, params)
    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == ["/maxResults"]


@pytest.mark.parametrize("count", [1, 50])
def test_max_results_bounds_are_inclusive(sandbox: Sandbox, count: int):
    """1 and 50 are accepted."""
    _seed(sandbox, 60)
    response = _list(sandbox, {"maxResults": count})
    assert response.status_code == 200
    assert len(response.json()["data"]) == count


def test_pages_follow_next_page_token_until_null(sandbox: Sandbox):
    """Every contact comes exactly once; the last page has nextPageToken null; totalItems set."""
    expected = _seed(sandbox, 23)

    async def scenario(client: httpx.AsyncClient) -> list[dict[str, Any]]:
        pages, token = [], None
        while True:
            params: dict[str, Any] = {"maxResults": 10}
            if token is not None:
                params["pageToken"] = token
            page = (await client.get("/v1/contacts", params=params)).json()
            pages.append(page)
            token = page["nextPageToken"]
            if token is None:
                return pages

    pages = sandbox.run(scenario)
    assert [len(p["data"]) for p in pages] == [10, 10, 3]
    assert [c["externalId"] for p in pages for c in p["data"]] == expected
    assert all(p["totalItems"] == 23 for p in pages)
    assert isinstance(pages[0]["nextPageToken"], str)
    assert not pages[0]["nextPageToken"].isdigit(), "the token is opaque, not an offset"


def test_an_exact_last_page_has_a_null_token(sandbox: Sandbox):
    """With 10 contacts and maxResults 10, the first page is also the last."""
    _seed(sandbox, 10)
    assert _list(sandbox, {"maxResults": 10}).json()["nextPageToken"] is None


def test_an_empty_workspace_lists_nothing(sandbox: Sandbox):
    """No contacts: data [], totalItems 0, nextPageToken null."""
    assert _list(sandbox, {"maxResults": 5}).json() == {"data": [], "totalItems": 0, "nextPageToken": None}


def test_a_garbage_page_token_gets_400(sandbox: Sandbox):
    """A token the sandbox did not issue is refused."""
    response = _list(sandbox, {"maxResults": 5, "pageToken": "%%%"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/pageToken"


def test_external_ids_filter_with_repeated_keys(sandbox: Sandbox):
    """externalIds=a&externalIds=b returns exactly those contacts."""
    ids = _seed(sandbox, 5)
    response = _list(sandbox, [("maxResults", 50), ("externalIds", ids[1]), ("externalIds", ids[3]),
                               ("externalIds", "unknown")])
    assert [c["externalId"] for c in response.json()["data"]] == [ids[1], ids[3]]
    assert response.json()["totalItems"] == 2


def test_bracketed_array_keys_work_like_the_real_qs_parser(sandbox: Sandbox):
    """externalIds[]=a is read as the same array (qs parses both forms)."""
    ids = _seed(sandbox, 3)
    response = _list(sandbox, [("maxResults", 50), ("externalIds[]", ids[2])])
    assert [c["externalId"] for c in response.json()["data"]] == [ids[2]]


@pytest.mark.parametrize("name", ["externalIds", "sources"])
def test_more_than_20_values_of_an_array_key_is_a_400(sandbox: Sandbox, name: str):
    """21 repeated values: 400 (the real parser turns them into an object); 20 pass."""
    twenty = [("maxResults", 50)] + [(name, f"v{i}") for i in range(20)]
    assert _list(sandbox, twenty).status_code == 200
    response = _list(sandbox, [*twenty, (name, "v20")])
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == f"/{name}"


def test_sources_filter_and_filters_combine(sandbox: Sandbox):
    """sources narrows by source; with externalIds both must match."""
    a = _seed(sandbox, 3, source="crm-a", prefix="a-")
    b = _seed(sandbox, 3, source="crm-b", prefix="b-")
    by_source = _list(sandbox, {"maxResults": 50, "sources": "crm-b"}).json()["data"]
    assert [c["externalId"] for c in by_source] == b
    both = _list(sandbox, [("maxResults", 50), ("sources", "crm-b"),
                           ("externalIds", a[0]), ("externalIds", b[1])]).json()["data"]
    assert [c["externalId"] for c in both] == [b[1]]


def test_an_empty_filter_value_is_refused(sandbox: Sandbox):
    """Each externalIds value must be 1..75 characters."""
    response = _list(sandbox, [("maxResults", 5), ("externalIds", "")])
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/externalIds/0"


def test_filtered_pages_carry_on_with_the_same_filter(sandbox: Sandbox):
    """Paging through a source filter yields only that source's contacts."""
    _seed(sandbox, 4, source="crm-a", prefix="a-")
    b = _seed(sandbox, 5, source="crm-b", prefix="b-")
    first = _list(sandbox, {"maxResults": 3, "sources": "crm-b"}).json()
    second = _list(sandbox, {"maxResults": 3, "sources": "crm-b",
                             "pageToken": first["nextPageToken"]}).json()
    assert [c["externalId"] for c in first["data"] + second["data"]] == b
    assert second["nextPageToken"] is None
