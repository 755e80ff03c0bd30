"""The API key never shows: not in reprs, error messages, tracebacks or log lines."""

from __future__ import annotations

import asyncio
import logging
import traceback

import pytest
import structlog

from sync.api import ContactsApi
from sync.errors import ApiError

from .helpers import KEY, body, client, sandbox


async def provoke_errors(api: ContactsApi) -> list[ApiError]:
    """Run calls that fail in every way the sandbox can make them fail."""
    errors: list[ApiError] = []
    calls = [
        api.check_connection(),
        api.get_contact("missing"),
        api.create_contact(body("dup")),
        api.create_contact(body("dup")),
        api.create_contact({"defaultFields": {}}),
        api.delete_contact("missing"),
    ]
    for call in calls:
        try:
            await call
        except ApiError as exc:
            errors.append(exc)
    return errors


def assert_hidden(text: str) -> None:
    assert KEY not in text
    assert KEY[-12:] not in text  # not even a recognizable tail


def test_key_not_in_reprs() -> None:
    """repr() of the client, its transport, limiter and HTTP client hide the key."""
    app = sandbox()

    async def scenario() -> list[str]:
        async with client(app) as api:
            return [
                repr(api),
                str(api),
                repr(api.transport),
                repr(api.transport.limiter),
                repr(api._http),
                repr(api._http.headers),
                repr(vars(api)),
            ]

    for text in asyncio.run(scenario()):
        assert_hidden(text)


@pytest.mark.parametrize(
    "faults",
    [
        {},
        {"fail_rate": 1.0},
        {"reset_rate": 1.0},
        {"ambiguous_create_rate": 1.0},
        {"spurious_429_rate": 1.0},
    ],
)
def test_key_not_in_errors_or_tracebacks(faults: dict[str, float]) -> None:
    """Every error raised, with its cause chain and traceback, is free of the key."""
    app = sandbox(**faults)
    api = client(app, max_retries=1, max_rate_limit_wait=0.05)

    async def scenario() -> list[ApiError]:
        async with api:
            return await provoke_errors(api)

    errors = asyncio.run(scenario())
    assert len(errors) >= 4
    for error in errors:
        assert_hidden(str(error))
        assert_hidden(repr(error))
        assert_hidden("".join(traceback.format_exception(error)))
        assert_hidden(repr(vars(error)))


def test_refused_key_is_not_echoed() -> None:
    """An AuthError for a wrong key does not repeat the key that was sent."""
    app = sandbox()
    wrong = "opk_wrong_" + KEY[::-1]

    async def scenario() -> list[ApiError]:
        async with client(app, key=wrong) as api:
            return await provoke_errors(api)

    errors = asyncio.run(scenario())
    assert len(errors) == 6
    for error in errors:
        text = "".join(traceback.format_exception(error))
        assert wrong not in text
        assert "401" in text


def test_key_not_in_log_lines(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    """httpx's request lines and our retry events carry URLs and reasons, never the key."""
    app = sandbox(spurious_429_rate=0.5, fail_rate=0.3, send_retry_after=False, seed=3)

    async def scenario() -> None:
        async with client(app, max_retries=8) as api:
            await provoke_errors(api)
            await api.list_custom_fields()

    with structlog.testing.capture_logs() as events, caplog.at_level(logging.DEBUG):
        asyncio.run(scenario())
    http_lines = [r for r in caplog.records if r.name == "httpx"]
    assert any("HTTP Request: GET http://sandbox.test/v1/" in r.getMessage() for r in http_lines)
    assert any(event["event"] == "api.retry" for event in events)
    for record in caplog.records:
        assert_hidden(record.getMessage())
        assert_hidden(repr(record.args))
    for event in events:
        assert_hidden(repr(event))
    captured = capsys.readouterr()
    assert_hidden(captured.out + captured.err)
