"""classify(): the one mapping from an HTTP answer to our errors, table-driven."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sync.api.classify import MAX_DETAIL, classify, parse_retry_after
from sync.errors import (
    ApiError,
    AuthError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    TransientApiError,
)

KEY = "sk_live_SECRET_1234567890"


def answer(
    status: int,
    body: Any = None,
    *,
    text: str | None = None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    path: str = "/v1/contacts",
) -> httpx.Response:
    request = httpx.Request(
        method, f"https://api.openphone.com{path}?externalIds=a", headers={"Authorization": KEY}
    )
    if text is not None:
        return httpx.Response(status, text=text, headers=headers, request=request)
    if body is None:
        return httpx.Response(status, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


FLAT_409 = {
    "message": "Failed to create contact",
    "code": "0800409",
    "status": 409,
    "docs": "https://openphone.com/docs",
    "title": "Conflict",
}
VALIDATION_400 = {
    "message": "Bad Request",
    "code": "0800400",
    "errors": [
        {"path": "/defaultFields/emails/0/value", "message": "must be a string", "schema": {}},
        {"path": "/externalId", "message": "too long", "schema": {}},
    ],
}
GATEWAY_401 = {"error": {"message": "Unauthorized", "key": "Unauthorized", "trace": "123"}}
HTML_404 = "<!DOCTYPE html><html><body><pre>Cannot GET /v1/nope</pre></body></html>"

CASES = [
    # status, body or text, expected class, text the message must contain, code
    (
        400,
        VALIDATION_400,
        InvalidRequestError,
        "/defaultFields/emails/0/value: must be a string; /externalId: too long",
        "0800400",
    ),
    (
        400,
        {"message": "Invalid Custom Field Item", "code": "0801400"},
        InvalidRequestError,
        "Invalid Custom Field Item",
        "0801400",
    ),
    (401, GATEWAY_401, AuthError, "the API key was refused (401): Unauthorized", "Unauthorized"),
    (
        401,
        {"error": {"message": "Missing authorization header"}},
        AuthError,
        "the API key was refused (401): Missing authorization header",
        None,
    ),
    (
        403,
        {"message": "Not Phone Number User", "code": "0801403"},
        AuthError,
        "lacks permission (403)",
        "0801403",
    ),
    (404, {"message": "Not Found", "code": "0800404"}, NotFoundError, "Not Found", "0800404"),
    (404, HTML_404, NotFoundError, "Cannot GET /v1/nope", None),
    (
        409,
        FLAT_409,
        ConflictError,
        "conflict (409) on POST /v1/contacts: Failed to create",
        "0800409",
    ),
    (429, {"message": "Rate limit exceeded"}, RateLimitedError, "Rate limit exceeded", None),
    (
        500,
        {"message": "Unknown", "code": "0801500"},
        TransientApiError,
        "server error (500)",
        "0801500",
    ),
    (502, "", TransientApiError, "Bad Gateway", None),
    (503, None, TransientApiError, "Service Unavailable", None),
    (504, "upstream request timeout", TransientApiError, "upstream request timeout", None),
    (
        402,
        {"message": "Subscription Expired", "code": "0201402"},
        InvalidRequestError,
        "(402): Subscription Expired",
        "0201402",
    ),
    (422, {"unexpected": True}, InvalidRequestError, '(422): {"unexpected":true}', None),
    (418, [1, 2, 3], InvalidRequestError, "(418): [1,2,3]", None),
    (302, None, InvalidRequestError, "Found", None),
]


@pytest.mark.parametrize(("status", "body", "expected", "fragment", "code"), CASES)
def test_status_maps_to_error(
    status: int, body: Any, expected: type[ApiError], fragment: str, code: str | None
) -> None:
    """Each status raises its error class with a readable message and the API's code."""
    response = answer(status, text=body) if isinstance(body, str) else answer(status, body)
    with pytest.raises(expected) as caught:
        classify(response)
    assert type(caught.value) is expected
    assert fragment in str(caught.value)
    assert caught.value.status == status
    assert caught.value.code == code


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_success_returns_none(status: int) -> None:
    """A 2xx answer is not an error: classify returns without raising."""
    classify(answer(status, {"data": {}}))


def test_message_names_the_kind_then_the_errors_then_falls_back() -> None:
    """message and errors[] both show (kind, then where); else message; else error.message."""
    both = {"message": "flat", "error": {"message": "nested"}, "errors": [{"message": "item"}]}
    with pytest.raises(InvalidRequestError, match=r"\): flat: item$"):
        classify(answer(400, both))
    with pytest.raises(InvalidRequestError, match=r"\): item$"):
        classify(answer(400, {"errors": [{"message": "item"}]}))
    with pytest.raises(InvalidRequestError, match=r"\): flat$"):
        classify(answer(400, {"message": "flat", "error": {"message": "nested"}}))
    with pytest.raises(InvalidRequestError, match=r"\): nested$"):
        classify(answer(400, {"error": {"message": "nested"}, "errors": "not a list"}))


def test_long_raw_body_is_truncated_and_tags_stripped() -> None:
    """An HTML or text body is made readable and cut to a bounded length."""
    html = "<html><body>" + "<p>oops</p>" * 500 + "</body></html>"
    with pytest.raises(TransientApiError) as caught:
        classify(answer(500, text=html))
    detail = str(caught.value).split(": ", 1)[1]
    assert "<" not in detail
    assert len(detail) == MAX_DETAIL
    assert detail.endswith("…")


def test_message_names_method_and_path_but_not_query() -> None:
    """The message says which call failed without repeating the query string."""
    with pytest.raises(NotFoundError) as caught:
        classify(answer(404, {"message": "Not Found"}, method="DELETE", path="/v1/contacts/c1"))
    assert "DELETE /v1/contacts/c1" in str(caught.value)
    assert "externalIds" not in str(caught.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 429, 500])
def test_key_echoed_by_server_is_redacted(status: int) -> None:
    """Should a server echo the Authorization value, the message masks it."""
    with pytest.raises(ApiError) as caught:
        classify(answer(status, {"message": f"bad key {KEY} given"}))
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value)
    assert "[redacted]" in str(caught.value)


def test_retry_after_seconds_on_429() -> None:
    """A 429's Retry-After in seconds becomes retry_after."""
    with pytest.raises(RateLimitedError) as caught:
        classify(answer(429, {"message": "slow down"}, headers={"Retry-After": "2"}))
    assert caught.value.retry_after == 2.0


def test_retry_after_absent_on_429() -> None:
    """A 429 without Retry-After has retry_after None."""
    with pytest.raises(RateLimitedError) as caught:
        classify(answer(429, None))
    assert caught.value.retry_after is None


NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        ("-4", 0.0),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("Thu, 03 Dec 2026 12:00:07 GMT", 7.0),
        ("Thu, 03 Dec 2026 11:59:00 GMT", 0.0),
        ("Thu, 03 Dec 2026 12:00:07", 7.0),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    """Retry-After is read as delta-seconds or an HTTP date; junk and negatives are tamed."""
    assert parse_retry_after(value, now=NOW) == expected


def test_undecodable_body_does_not_break_classify() -> None:
    """A body in a bogus charset still yields an error, not a decode crash."""
    request = httpx.Request("GET", "https://api.openphone.com/v1/contacts")
    response = httpx.Response(
        500,
        content=json.dumps({"message": "x"}).encode(),
        headers={"Content-Type": "application/json; charset=no-such-charset"},
        request=request,
    )
    with pytest.raises(TransientApiError):
        classify(response)


def test_response_without_request_is_classified() -> None:
    """A bare response (no request attached) still maps to an error."""
    with pytest.raises(ConflictError, match="the request"):
        classify(httpx.Response(409, json=FLAT_409))
