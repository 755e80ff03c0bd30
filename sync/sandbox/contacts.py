"""What the contact operations do: create, read, update (replace or merge), delete, list.

The operations take parsed JSON and return API objects; a refusal is an
:class:`ApiProblem` that the app turns into the documented error body.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync.sandbox.settings import FieldDefinition, PatchMode
from sync.sandbox.store import (
    SANDBOX_USER_ID,
    SCALAR_FIELDS,
    ContactStore,
    Item,
    StoredContact,
    now_iso,
)
from sync.sandbox.validation import (
    MAX_ARRAY_QUERY_VALUES,
    FieldError,
    RequestValidators,
    custom_value_problem,
    normalize_date_time,
    prose_errors,
)

INVALID_CUSTOM_FIELD = "Invalid Custom Field Item"
_TOKEN_PREFIX = "sandbox-page:"  # noqa: S105  (a page-token prefix, not a secret)


@dataclass
class ApiProblem(Exception):
    """A refusal with its HTTP status, message and ``errors[]`` items."""

    status: int
    message: str
    errors: Sequence[FieldError] = field(default_factory=tuple)

    def __str__(self) -> str:
        return f"{self.status} {self.message}"


def _invalid(errors: Sequence[FieldError]) -> ApiProblem:
    first = errors[0]
    return ApiProblem(400, f"Invalid request: {first.path or '/'}: {first.message}", errors)


def _refusal(errors: Sequence[FieldError], body: Any) -> ApiProblem:
    """A 400 for schema errors; only custom-field items wrong: "Invalid Custom Field Item"."""
    if all(e.path.startswith("/customFields/") for e in errors):
        return ApiProblem(400, INVALID_CUSTOM_FIELD, [_custom_item_error(e, body) for e in errors])
    return _invalid(errors)


def _custom_item_error(error: FieldError, body: Any) -> FieldError:
    """Say which part of an item fits no value variant of the spec: its ``value``."""
    parts = error.path.split("/")
    if len(parts) != 3 or not parts[2].isdigit():
        return error
    item = body["customFields"][int(parts[2])]
    if not isinstance(item, Mapping):
        return error
    if "value" not in item:
        return FieldError(f"{error.path}/value", "Expected required property", "union")
    message = "Expected a string, boolean, number, array of strings or null"
    return FieldError(f"{error.path}/value", message, "union", item["value"])


def _new_items(requested: Sequence[Mapping[str, Any]], new_id: Callable[[], str]) -> list[Item]:
    return [
        {"id": new_id(), "name": r["name"], "value": r["value"]}
        for r in requested
        if r["value"] is not None
    ]


def replace_items(
    old: Sequence[Item], requested: Sequence[Mapping[str, Any]], new_id: Callable[[], str]
) -> list[Item]:
    """The PATCH replace rule for emails and phones: the request is the new list.

    Items with ``value: null`` are dropped. An item keeps its id when the request names
    that id, or, failing that, when it is unchanged (same name and value).
    """
    unclaimed = {item["id"]: item for item in old}
    claimed_by_id = {r["id"] for r in requested if r.get("id") in unclaimed}
    result: list[Item] = []
    for req in requested:
        if req["value"] is None:
            continue
        item_id = req.get("id")
        if item_id in claimed_by_id and unclaimed.pop(item_id, None) is not None:
            result.append({"id": item_id, "name": req["name"], "value": req["value"]})
            continue
        same = next(
            (i for i in unclaimed.values() if i["id"] not in claimed_by_id
             and (i["name"], i["value"]) == (req["name"], req["value"])),
            None,
        )
        if same is not None:
            del unclaimed[same["id"]]
        result.append(dict(same) if same else {"id": new_id(), "name": req["name"], "value": req["value"]})
    return result


def merge_items(
    old: Sequence[Item], requested: Sequence[Mapping[str, Any]], new_id: Callable[[], str]
) -> list[Item]:
    """The older PATCH rule: update items named by id, append the rest, null removes."""
    result = [dict(item) for item in old]
    for req in requested:
        target = next((i for i in result if req.get("id") is not None and i["id"] == req["id"]), None)
        if target is None:
            if req["value"] is not None:
                result.append({"id": new_id(), "name": req["name"], "value": req["value"]})
        elif req["value"] is None:
            result.remove(target)
        else:
            target.update(name=req["name"], value=req["value"])
    return result


class ContactService:
    """The contact operations over one :class:`ContactStore`."""

    def __init__(
        self, store: ContactStore, validators: RequestValidators, patch_mode: PatchMode
    ) -> None:
        self.store = store
        self.validators = validators
        self.patch_mode = patch_mode

    def render(self, contact: StoredContact) -> dict[str, Any]:
        """The API object of a stored contact."""
        return contact.to_api(self.store.definitions)

    def get(self, contact_id: str) -> StoredContact:
        """The contact, or a 404."""
        contact = self.store.get(contact_id)
        if contact is None:
            raise ApiProblem(404, f"Contact {contact_id} not found")
        return contact

    def create(self, body: Any) -> StoredContact:
        """Validate a create body, refuse a taken ``externalId`` (409), store the contact."""
        errors = self.validators.create_body.errors(body) or prose_errors(body)
        if errors:
            raise _refusal(errors, body)
        custom = self._custom_values(body.get("customFields", []), {})
        external_id = body.get("externalId")
        if external_id is not None and self.store.has_external_id(external_id):
            raise ApiProblem(409, "Failed to create contact")
        defaults, new_id = body["defaultFields"], self.store.ids.new_id
        contact = StoredContact(
            id=new_id(),
            seq=self.store.next_seq(),
            external_id=external_id,
            source=body.get("source", "public-api"),
            source_url=body.get("sourceUrl"),
            scalars={name: defaults.get(name) for name in SCALAR_FIELDS},
            emails=_new_items(defaults.get("emails", []), new_id),
            phone_numbers=_new_items(defaults.get("phoneNumbers", []), new_id),
            custom={key: {"id": new_id(), "value": value} for key, value in custom if value is not None},
            created_by_user_id=body.get("createdByUserId", SANDBOX_USER_ID),
        )
        self.store.add(contact)
        return contact

    def update(self, contact_id: str, body: Any) -> StoredContact:
        """Apply a PATCH body under the configured mode (see the issue's replace rule)."""
        errors = self.validators.update_body.errors(body) or prose_errors(body)
        if errors:
            raise _refusal(errors, body)
        contact = self.get(contact_id)
        by_id = {entry["id"]: key for key, entry in contact.custom.items()}
        custom = self._custom_values(body.get("customFields", []), by_id)
        for name, attr in (("source", "source"), ("sourceUrl", "source_url")):
            if name in body:
                setattr(contact, attr, body[name])
        if "externalId" in body:
            self.store.set_external_id(contact, body["externalId"])
        defaults = body.get("defaultFields") or {}
        contact.scalars.update({k: defaults[k] for k in SCALAR_FIELDS if k in defaults})
        self._update_items(contact, defaults)
        self._update_custom(contact, custom, "customFields" in body)
        contact.updated_at = now_iso()
        return contact

    def delete(self, contact_id: str) -> None:
        """Remove a contact, or a 404."""
        if self.store.remove(contact_id) is None:
            raise ApiProblem(404, f"Contact {contact_id} not found")

    def _update_items(self, contact: StoredContact, defaults: Mapping[str, Any]) -> None:
        new_id = self.store.ids.new_id
        for name, attr in (("emails", "emails"), ("phoneNumbers", "phone_numbers")):
            old: list[Item] = getattr(contact, attr)
            if self.patch_mode == "replace":
                setattr(contact, attr, replace_items(old, defaults.get(name, []), new_id))
            elif name in defaults:
                setattr(contact, attr, merge_items(old, defaults[name], new_id))

    def _update_custom(
        self, contact: StoredContact, values: list[tuple[str, Any]], present: bool
    ) -> None:
        if self.patch_mode == "merge" and not present:
            return
        keep = dict(contact.custom) if self.patch_mode == "merge" else {}
        for key, value in values:
            if value is None:
                keep.pop(key, None)
                continue
            old = contact.custom.get(key)
            keep[key] = {"id": old["id"] if old else self.store.ids.new_id(), "value": value}
        contact.custom = keep

    def _custom_values(
        self, items: Sequence[Mapping[str, Any]], key_by_item_id: Mapping[str, str]
    ) -> list[tuple[str, Any]]:
        """Resolve request items to ``(key, value)``; any bad item is a 400 for all."""
        resolved: list[tuple[str, Any]] = []
        errors: list[FieldError] = []
        for index, item in enumerate(items):
            outcome = self._resolve_custom_item(index, item, key_by_item_id)
            if isinstance(outcome, FieldError):
                errors.append(outcome)
            else:
                resolved.append(outcome)
        if errors:
            raise ApiProblem(400, INVALID_CUSTOM_FIELD, errors)
        return resolved

    def _resolve_custom_item(
        self, index: int, item: Mapping[str, Any], key_by_item_id: Mapping[str, str]
    ) -> tuple[str, Any] | FieldError:
        """One item by ``key`` (or, on PATCH, by the contact's item ``id``), type-checked."""
        key = item.get("key") or key_by_item_id.get(item.get("id", ""))
        definition = self.store.definitions.get(key) if key else None
        if definition is None:
            ref = item.get("key", item.get("id"))
            message = f"Unknown custom field {ref!r}"
            return FieldError(f"/customFields/{index}/key", message, "string", ref)
        value = item["value"]
        problem = custom_value_problem(definition.type, value)
        if problem:
            message = f"{problem} for '{definition.name}'"
            return FieldError(f"/customFields/{index}/value", message, definition.type, value)
        return definition.key, _stored_value(definition, value)

    def list(self, query: Mapping[str, Any]) -> dict[str, Any]:
        """One page of contacts matching the (already parsed) list query."""
        errors = self.validators.list_query_errors(query)
        if errors:
            raise _invalid(errors)
        offset = _decode_page_token(query.get("pageToken"))
        external_ids, sources = query.get("externalIds"), query.get("sources")
        candidates = (
            self.store.with_external_ids(external_ids) if external_ids is not None else list(self.store)
        )
        if sources is not None:
            wanted = set(sources)
            candidates = [c for c in candidates if c.source in wanted]
        end = offset + int(query["maxResults"])
        return {
            "data": [self.render(c) for c in candidates[offset:end]],
            "totalItems": len(candidates),
            "nextPageToken": _encode_page_token(end) if end < len(candidates) else None,
        }


def _stored_value(definition: FieldDefinition, value: Any) -> Any:
    if definition.type == "date" and isinstance(value, str):
        return normalize_date_time(value)
    return value


def parse_list_query(params: Any) -> dict[str, Any]:
    """Turn a query string into the list operation's parameters.

    Arrays come as repeated keys (``externalIds=a&externalIds=b``; ``externalIds[]`` works
    too, as with the real API's ``qs`` parser). More than 20 values is a 400, as there.
    """
    query: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name in ("externalIds", "sources"):
        values = [*params.getlist(name), *params.getlist(f"{name}[]")]
        if len(values) > MAX_ARRAY_QUERY_VALUES:
            message = f"Expected array of at most {MAX_ARRAY_QUERY_VALUES} items (got {len(values)})"
            errors.append(FieldError(f"/{name}", message, "array", values))
        elif values:
            query[name] = values
    raw = params.get("maxResults")
    if raw is not None:
        query["maxResults"] = int(raw) if raw.lstrip("-").isdigit() else raw
    if params.get("pageToken") is not None:
        query["pageToken"] = params.get("pageToken")
    if errors:
        raise _invalid(errors)
    return query


def _encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_TOKEN_PREFIX}{offset}".encode()).decode().rstrip("=")


def _decode_page_token(token: str | None) -> int:
    if token is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        offset = int(text.removeprefix(_TOKEN_PREFIX)) if text.startswith(_TOKEN_PREFIX) else -1
    except (binascii.Error, UnicodeDecodeError, ValueError):
        offset = -1
    if offset < 0:
        raise _invalid([FieldError("/pageToken", "Invalid page token", "string", token)])
    return offset
