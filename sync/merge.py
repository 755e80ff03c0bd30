"""Build request bodies, and field-level changes, from plain data. No I/O.

PATCH replaces the ``emails``, ``phoneNumbers`` and ``customFields`` arrays: whatever a
body omits is deleted on the contact. So :func:`patch_body` always sends them whole, built
from the contact as it is in OpenPhone now: items this source did not write (a user's own
email, a custom field nobody maps) are sent back unchanged; items this source wrote last
time (``previous``) are replaced by what the source says now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from operator import itemgetter
from typing import Any

from sync.models import Contact, Item
from sync.normalize import email_key
from sync.plan import FieldChange

SCALARS = ("firstName", "lastName", "company", "role")


def create_body(contact: Contact, source: str) -> dict[str, Any]:
    """The POST /v1/contacts body for a new contact."""
    payload = contact.payload()
    default_fields: dict[str, Any] = {"firstName": payload["firstName"]}
    for name in SCALARS[1:]:
        if payload[name] is not None:
            default_fields[name] = payload[name]
    default_fields["emails"] = payload["emails"]
    default_fields["phoneNumbers"] = payload["phoneNumbers"]
    return {
        "defaultFields": default_fields,
        "customFields": [
            {"key": k, "value": v} for k, v in payload["customFields"].items() if v is not None
        ],
        "externalId": contact.external_id,
        "source": source,
    }


def _item_key(kind: str, name: str, value: str | None) -> tuple[str, str]:
    text = value or ""
    return (name, email_key(text) if kind == "emails" else text)


def _merge_items(
    kind: str,
    remote: Iterable[Mapping[str, Any]],
    desired: Iterable[Item],
    previous: Iterable[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Remote items we did not write, then ours; a remote item equal to one of ours keeps its id."""
    ours_before = {_item_key(kind, p["name"], p["value"]) for p in previous}
    wanted = [(_item_key(kind, i.name, i.value), i) for i in desired]
    wanted_keys = {k for k, _ in wanted}
    remote_ids: dict[tuple[str, str], str] = {}
    kept: list[dict[str, Any]] = []
    for item in remote:
        if item.get("value") is None:
            continue
        key = _item_key(kind, str(item.get("name") or ""), item["value"])
        if key in wanted_keys:
            if item.get("id"):
                remote_ids.setdefault(key, item["id"])
            continue
        if key in ours_before:
            continue  # ours, and the source no longer says it: drop it
        kept.append({k: item[k] for k in ("id", "name", "value") if item.get(k) is not None})
    result = list(kept)
    for key, mine in wanted:
        entry: dict[str, Any] = {"name": mine.name, "value": mine.value}
        if key in remote_ids:
            entry = {"id": remote_ids[key], **entry}
        result.append(entry)
    return result


def patch_body(
    remote: Mapping[str, Any],
    contact: Contact,
    previous: Mapping[str, Any] | None,
    *,
    owned_scalars: Iterable[str],
    owned_custom_keys: Iterable[str],
    source: str,
) -> dict[str, Any]:
    """The PATCH body that makes ``remote`` say what ``contact`` says, keeping what is not ours."""
    payload = contact.payload()
    previous = previous or {}
    remote_fields = remote.get("defaultFields") or {}
    default_fields: dict[str, Any] = {}
    for name in SCALARS:
        default_fields[name] = payload[name] if name in owned_scalars else remote_fields.get(name)
    default_fields["emails"] = _merge_items(
        "emails", remote_fields.get("emails") or [], contact.emails, previous.get("emails") or []
    )
    default_fields["phoneNumbers"] = _merge_items(
        "phoneNumbers",
        remote_fields.get("phoneNumbers") or [],
        contact.phone_numbers,
        previous.get("phoneNumbers") or [],
    )
    return {
        "defaultFields": default_fields,
        "customFields": _merge_custom(
            remote.get("customFields") or [],
            payload["customFields"],
            previous.get("customFields") or {},
            set(owned_custom_keys),
        ),
        "externalId": contact.external_id,
        "source": source,
    }


def _merge_custom(
    remote: Iterable[Mapping[str, Any]],
    desired: Mapping[str, Any],
    previous: Mapping[str, Any],
    owned: set[str],
) -> list[dict[str, Any]]:
    """Every custom field the contact has, with ours set to the source's values.

    An owned field whose cell is now empty is cleared (``null``) only if we wrote its
    current value; a value a user set in the app is kept. A field whose cell could not be
    coerced is absent from ``desired`` and keeps whatever value it has.
    """
    result: dict[str, Any] = {}
    for item in remote:
        key = item.get("key")
        if key and item.get("value") is not None:
            result[key] = item["value"]
    for key in owned:
        if key not in desired:
            continue
        value = desired[key]
        if value is not None:
            result[key] = value
        elif key in result and previous.get(key) is not None:
            result[key] = None
    return [{"key": k, "value": v} for k, v in result.items()]


def field_changes(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    custom_names: Mapping[str, str] | None = None,
) -> tuple[FieldChange, ...]:
    """What differs between two payloads, field by field; custom fields shown by name."""
    names = custom_names or {}
    if not before:
        return _new_fields(after, names)
    changes: list[FieldChange] = []
    for name in SCALARS:
        old, new = before.get(name), after.get(name)
        if old != new:
            changes.append(FieldChange(name, old, new))
    for name in ("emails", "phoneNumbers"):
        old_items, new_items = _labelled(before.get(name)), _labelled(after.get(name))
        if old_items != new_items:
            changes.append(FieldChange(name, old_items or None, new_items or None))
    old_custom = before.get("customFields") or {}
    new_custom = after.get("customFields") or {}
    for key in sorted(set(old_custom) | set(new_custom), key=lambda k: names.get(k, k)):
        if old_custom.get(key) != new_custom.get(key):
            label = names.get(key, key)
            changes.append(FieldChange(f"custom: {label}", old_custom.get(key), new_custom.get(key)))
    return tuple(changes)


def _new_fields(after: Mapping[str, Any], names: Mapping[str, str]) -> tuple[FieldChange, ...]:
    """The changes of a contact that had nothing before: every field that has a value.

    The same result as comparing with an empty payload, made directly: a first run makes
    one of these for every row.
    """
    changes = [FieldChange(name, None, after[name]) for name in SCALARS if after.get(name) is not None]
    for name in ("emails", "phoneNumbers"):
        items = _labelled(after.get(name))
        if items:
            changes.append(FieldChange(name, None, items))
    custom = after.get("customFields")
    if custom:
        labelled = sorted(
            ((names.get(k, k), v) for k, v in custom.items() if v is not None), key=itemgetter(0)
        )
        changes.extend(FieldChange(f"custom: {label}", None, value) for label, value in labelled)
    return tuple(changes)


def _labelled(items: Iterable[Mapping[str, Any]] | None) -> list[str]:
    return [f"{i['name']}: {i['value']}" for i in items or ()]
