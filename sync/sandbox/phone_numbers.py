"""The one phone number the sandbox workspace has, for a client's connectivity check."""

from __future__ import annotations

from typing import Any

from sync.sandbox.store import SANDBOX_USER_ID

SANDBOX_GROUP_ID = "GRsandbox01"
_CREATED_AT = "2024-01-15T17:04:12.000Z"


def sandbox_phone_number() -> dict[str, Any]:
    """A plausible phone-number object, valid against the spec's ``ListPhoneNumbersResponse``."""
    unrestricted = {"CA": "unrestricted", "Intl": "restricted", "US": "unrestricted"}
    return {
        "id": "PNsandbox01",
        "groupId": SANDBOX_GROUP_ID,
        "portRequestId": None,
        "formattedNumber": "(415) 555-0142",
        "forward": None,
        "name": "Sandbox Line",
        "number": "+14155550142",
        "portingStatus": None,
        "symbol": "📞",
        "users": [
            {
                "email": "owner@sandbox.example",
                "firstName": "Sandbox",
                "lastName": "Owner",
                "id": SANDBOX_USER_ID,
                "role": "owner",
                "groupId": SANDBOX_GROUP_ID,
            }
        ],
        "createdAt": _CREATED_AT,
        "updatedAt": _CREATED_AT,
        "restrictions": {"calling": dict(unrestricted), "messaging": dict(unrestricted)},
    }


def phone_numbers_body(user_id: str | None) -> dict[str, Any]:
    """``GET /v1/phone-numbers``: every number, or those the given user can use."""
    number = sandbox_phone_number()
    if user_id is not None and user_id not in {u["id"] for u in number["users"]}:
        return {"data": []}
    return {"data": [number]}
