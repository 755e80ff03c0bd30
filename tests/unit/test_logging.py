"""Log redaction keeps personal data and secrets out of logs, and leaves times readable."""

from __future__ import annotations

import pytest

from sync.logging import redact, redact_text, register_secret


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param("call +1 (415) 555-0100 now", "call <phone> now", id="us-phone"),
        pytest.param("+442079460958", "<phone>", id="e164"),
        pytest.param("ada@example.com wrote", "<email> wrote", id="email"),
        pytest.param("postgresql://u:pw123@db/x", "postgresql://u:***@db/x", id="url-password"),
        pytest.param("2026-12-04T07:18:00+00:00", "2026-12-04T07:18:00+00:00", id="iso-datetime"),
        pytest.param("2026-12-04 07:18:00.123Z", "2026-12-04 07:18:00.123Z", id="space-datetime"),
        pytest.param("due 2024-03-04", "due 2024-03-04", id="date"),
        pytest.param("on 2024-03-04 rang +44 20 7946 0958", "on 2024-03-04 rang <phone>",
                     id="date-then-phone"),
    ],
)
def test_phones_emails_and_url_passwords_are_masked_but_dates_are_not(text: str, shown: str):
    """A timestamp is a run of digits too; it must stay readable (the scheduler logs its next run)."""
    assert redact_text(text) == shown


def test_registered_secrets_and_secret_named_keys_are_masked_everywhere():
    """The API key is masked in any value; a value under a secret-sounding key is dropped."""
    # The registry is process-wide and other tests register words too, so the texts here
    # hold nothing but the secret and punctuation.
    register_secret("opk_test_RedactMe42")
    event = redact(None, "info", {
        "event": "<opk_test_RedactMe42>", "detail": "[opk_test_RedactMe42]",
        "api_key": "anything", "next_run_at": "2026-12-04T08:00:00+00:00",
    })
    assert event == {
        "event": "<***>", "detail": "[***]", "api_key": "***",
        "next_run_at": "2026-12-04T08:00:00+00:00",
    }
