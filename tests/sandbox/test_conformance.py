"""The spec checker used by every test really refuses answers the spec does not allow."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conformance import check_response, operation_path


def _response(method: str, path: str, status: int, body: Any = None, **kwargs: Any) -> httpx.Response:
    request = httpx.Request(method, f"http://sandbox.test{path}")
    if body is not None:
        kwargs["json"] = body
    return httpx.Response(status, request=request, **kwargs)


GOOD_CONTACT: dict[str, Any] = {
    "id": "0123456789abcdef01234567", "externalId": None, "source": "public-api", "sourceUrl": None,
    "defaultFields": {"firstName": "A", "lastName": None, "company": None, "role": None,
                      "emails": [], "phoneNumbers": []},
    "customFields": [], "createdAt": "2024-01-01T00:00:00.000Z",
    "updatedAt": "2024-01-01T00:00:00.000Z", "createdByUserId": "USx",
}


def test_a_conforming_contact_passes():
    """The reference contact is valid for GET /v1/contacts/{id}."""
    check_response(_response("GET", "/v1/contacts/abc", 200, {"data": GOOD_CONTACT}))


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"data": {**GOOD_CONTACT, "createdByUserId": "X1"}}),
        (200, {"data": {**GOOD_CONTACT, "createdAt": "yesterday"}}),
        (200, {"data": {k: v for k, v in GOOD_CONTACT.items() if k != "customFields"}}),
        (200, {"data": {**GOOD_CONTACT, "customFields": [
            {"name": "VIP", "key": "k", "id": "i", "type": "boolean", "value": "false"}]}}),
        (404, {"message": "x", "code": "0700404", "status": 404, "docs": "https://quo.com/docs",
               "title": "Not Found"}),
        (400, {"message": "x", "code": "0800400", "status": 400, "docs": "https://quo.com/docs",
               "title": "Bad Request"}),
        (401, {"error": {"message": "Unauthorized", "key": "Unauthorized"}}),
        (429, {"message": "x", "code": "0700429", "status": 429, "docs": "https://quo.com/docs",
               "title": "Too Many Requests"}),
    ],
    ids=["creator", "date-time", "missing-customFields", "boolean-as-string", "wrong-family",
         "docs-code-not-spec-code", "auth-without-trace", "429-wrong-family"],
)
def test_a_non_conforming_answer_is_refused(status: int, body: Any):
    """Each of these breaks the spec (or the observed 401 shape) and must fail the check."""
    with pytest.raises(AssertionError):
        check_response(_response("GET", "/v1/contacts/abc", status, body))


def test_a_status_the_operation_cannot_send_is_refused():
    """418 is not an answer of any operation."""
    with pytest.raises(AssertionError, match="may not answer 418"):
        check_response(_response("GET", "/v1/contact-custom-fields", 418, {"message": "teapot"}))


def test_unknown_routes_must_be_html_404s():
    """A JSON answer on an unknown route fails; the Express page passes."""
    with pytest.raises(AssertionError):
        check_response(_response("GET", "/v1/nope", 404, {"message": "Not Found"}))
    page = "<pre>Cannot GET /v1/nope</pre>"
    check_response(_response("GET", "/v1/nope", 404, headers={"content-type": "text/html"},
                             content=page.encode()))


def test_a_204_must_be_empty():
    """DELETE's 204 carries no body."""
    with pytest.raises(AssertionError):
        check_response(_response("DELETE", "/v1/contacts/abc", 204, {"ok": True}))


def test_operation_paths_follow_the_spec_templates():
    """Paths map to their template only for methods the spec defines there."""
    assert operation_path("PATCH", "/v1/contacts/abc") == "/v1/contacts/{id}"
    assert operation_path("PUT", "/v1/contacts/abc") is None
    assert operation_path("GET", "/v1/contacts/abc/more") is None
