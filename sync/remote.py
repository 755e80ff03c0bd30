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


def adoption_refusal(
    external_id: str,
    contacts: Sequence[Mapping[str, Any]],
    source: str,
    *,
    configured: Iterable[str],
    adopt_any: bool,
    linked: Mapping[str, str],
) -> str | None:
    """Why ``source`` may not adopt any of ``contacts`` (they share ``external_id``), or None.

    Its own label marks a contact it made (its state was lost): always adoptable. Another
    of the config's sources, or a link of another source in the state store (``linked``:
    contact id → source), owns a contact: never. Any other label is another tool's or
    another setup's: adopted only when the source says ``adopt = "any"``, since adopting
    relabels the contact and a later delete of the row deletes it.
    """
    owner = foreign_owner(contacts, source, configured)
    if owner is not None:
        return taken_message(external_id, owner)
    for contact in contacts:
        holder = linked.get(str(contact.get("id")))
        if holder is not None and holder != source:
            return taken_message(external_id, holder)
    if adopt_any or any(c.get("source") == source for c in contacts):
        return None
    labels = ", ".join(sorted({repr(str(c.get("source"))) for c in contacts}))
    return (
        f"a contact with externalId {external_id!r} already exists in OpenPhone, labelled "
        f"{labels} (another tool, or another openphone-sync setup); it is not taken over. "
        f'Set adopt = "any" on sources[{source}] to adopt it, or give the row a key of its own'
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
