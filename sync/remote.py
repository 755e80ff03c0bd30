"""A contact as the API returns it, seen the way a source's payload shows one. Pure.

Shared by the apply stage, the engine's adoption look-ups and recovery.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def foreign_owner(
    contacts: Sequence[Mapping[str, Any]], source: str, configured: Iterable[str]
) -> str | None:
    """The other configured source owning this externalId, when no contact is ``source``'s.

    ExternalIds are unique in a workspace, so a source may never adopt a contact another
    of the config's sources made: both would write it, and one's delete would remove the
    other's row.
    """
    if any(c.get("source") == source for c in contacts):
        return None
    owners = sorted({str(c.get("source")) for c in contacts} & (set(configured) - {source}))
    return owners[0] if owners else None


def taken_message(external_id: str, owner: str) -> str:
    """Why a row whose externalId another configured source owns is not synced."""
    return (
        f"externalId {external_id!r} already belongs to source {owner!r}; keys must be "
        "unique across sources"
    )


def pick_adoptable(contacts: Sequence[Mapping[str, Any]], source: str) -> Mapping[str, Any]:
    """Of the contacts sharing an externalId, the one to adopt: ours first, else the oldest."""
    ours = [c for c in contacts if c.get("source") == source]
    pool = ours or list(contacts)
    return min(pool, key=lambda c: (str(c.get("createdAt") or ""), str(c.get("id"))))


def remote_payload(remote: Mapping[str, Any]) -> dict[str, Any]:
    """A contact as the API returns it, in the payload shape, for showing changes."""
    fields = remote.get("defaultFields") or {}
    return {
        "firstName": fields.get("firstName"),
        "lastName": fields.get("lastName"),
        "company": fields.get("company"),
        "role": fields.get("role"),
        "emails": [{"name": i.get("name"), "value": i.get("value")} for i in fields.get("emails") or []],
        "phoneNumbers": [
            {"name": i.get("name"), "value": i.get("value")} for i in fields.get("phoneNumbers") or []
        ],
        "customFields": {
            c["key"]: c.get("value") for c in remote.get("customFields") or [] if c.get("key")
        },
    }


def owned_view(remote: Mapping[str, Any], custom_keys: Iterable[str]) -> dict[str, Any]:
    """The contact as a source's payload would show it: only the custom fields ``custom_keys``.

    Its fingerprint equals a payload's exactly when the contact holds that payload and
    nothing more, which is how recovery learns that an interrupted write did land.
    """
    payload = remote_payload(remote)
    values = payload["customFields"]
    payload["customFields"] = {key: values.get(key) for key in sorted(custom_keys)}
    return payload
