"""Get, delete, 404s, unknown routes, phone numbers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .harness import Sandbox, create


def test_get_returns_the_contact_and_delete_answers_204(sandbox: Sandbox):
    """GET by id gives {"data": contact}; DELETE gives 204 and an empty body; then it is gone."""

    async def scenario(client: httpx.AsyncClient) -> list[Any]:
        contact = await create(client)
        got = await client.get(f"/v1/contacts/{contact['id']}")
        deleted = await client.delete(f"/v1/contacts/{contact['id']}")
        again = await client.get(f"/v1/contacts/{contact['id']}")
        return [contact, got.json()["data"], deleted.status_code, deleted.content, again.status_code]

    contact, got, status, content, again = sandbox.run(scenario)
    assert got == contact
    assert (status, content, again) == (204, b"", 404)
    assert sandbox.state.all_contacts() == []


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PATCH", {"defaultFields": {"firstName": "X"}}), ("DELETE", None)],
)
def test_an_unknown_contact_id_gets_404_with_the_documented_body(
    sandbox: Sandbox, method: str, body: Any
):
    """404 with code 0800404 and title Not Found for every by-id operation."""

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await client.request(method, "/v1/contacts/0123456789abcdef01234567", json=body)

    response = sandbox.run(scenario)
    assert response.status_code == 404
    payload = response.json()
    assert (payload["code"], payload["title"], payload["status"]) == ("0800404", "Not Found", 404)
    assert "0123456789abcdef01234567" in payload["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/contactz"), ("GET", "/v1/contacts/abc/notes"), ("PUT", "/v1/contacts/abc"),
     ("POST", "/v1/contact-custom-fields"), ("GET", "/v2/contacts"), ("GET", "/v1/contacts/")],
)
def test_an_unknown_route_gets_an_html_404(sandbox: Sandbox, method: str, path: str):
    """Like the real API (Express), unknown routes and methods answer an HTML 404 page."""

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await client.request(method, path)

    response = sandbox.run(scenario)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert f"<pre>Cannot {method} {path}</pre>" in response.text


def test_phone_numbers_answers_a_connectivity_check(sandbox: Sandbox):
    """GET /v1/phone-numbers lists one plausible number (E.164, PN id, a US owner)."""

    async def scenario(client: httpx.AsyncClient) -> list[Any]:
        everyone = (await client.get("/v1/phone-numbers")).json()["data"]
        owner = everyone[0]["users"][0]["id"]
        mine = (await client.get("/v1/phone-numbers", params={"userId": owner})).json()["data"]
        other = (await client.get("/v1/phone-numbers", params={"userId": "USnobody"})).json()["data"]
        return [everyone, mine, other]

    everyone, mine, other = sandbox.run(scenario)
    assert len(everyone) == 1 and everyone[0]["id"].startswith("PN")
    assert everyone[0]["number"].startswith("+1")
    assert mine == everyone
    assert other == []
