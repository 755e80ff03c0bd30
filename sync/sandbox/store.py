"""In-memory contacts and custom-field definitions, with JSON load and save.

Contacts are kept in creation order (the order ``GET /v1/contacts`` pages through) with
an index on ``externalId``. The data file holds the contacts in the API's own shape, so
a person can read it, plus the definitions they were written against.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync.errors import ConfigError
from sync.sandbox.settings import FieldDefinition, parse_field_definitions
from sync.sandbox.validation import custom_value_problem

DATA_FORMAT = "openphone-sync-sandbox/1"
SANDBOX_USER_ID = "USsandbox0wner"

Item = dict[str, Any]
"""An email or phone item: ``{"id", "name", "value"}``."""


def now_iso() -> str:
    """The current UTC time as the API writes it (milliseconds, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class IdFactory:
    """Makes 24-hex ids (like the real ones) and error traces, seeded for reproducibility."""

    def __init__(self, seed: int | None) -> None:
        # A stream apart from the faults', so ids never shift which requests fail.
        self._random = random.Random(None if seed is None else f"ids:{seed}")  # noqa: S311

    def new_id(self) -> str:
        """A fresh 24-character lowercase hex id."""
        return f"{self._random.getrandbits(96):024x}"

    def trace(self) -> str:
        """A trace number as error bodies carry it."""
        return str(self._random.getrandbits(63))


@dataclass(slots=True)
class StoredContact:
    """One contact as the sandbox keeps it; ``custom`` maps a field key to ``{id, value}``."""

    id: str
    seq: int
    external_id: str | None
    source: str | None
    source_url: str | None
    scalars: dict[str, str | None]
    emails: list[Item]
    phone_numbers: list[Item]
    custom: dict[str, Item] = field(default_factory=dict)
    created_at: str = field(default_factory=now_iso)
    updated_at: str = ""  # a new contact's: the same instant as created_at (one clock read)
    created_by_user_id: str = SANDBOX_USER_ID

    def __post_init__(self) -> None:
        if not self.updated_at:
            self.updated_at = self.created_at

    def to_api(self, definitions: Mapping[str, FieldDefinition]) -> dict[str, Any]:
        """The contact object of the API, custom fields named by their current definition."""
        return {
            "id": self.id,
            "externalId": self.external_id,
            "source": self.source,
            "sourceUrl": self.source_url,
            "defaultFields": {
                **self.scalars,
                "emails": [dict(item) for item in self.emails],
                "phoneNumbers": [dict(item) for item in self.phone_numbers],
            },
            "customFields": [
                {**definitions[key].to_api(), "id": entry["id"], "value": entry["value"]}
                for key, entry in self.custom.items()
                if key in definitions
            ],
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "createdByUserId": self.created_by_user_id,
        }


SCALAR_FIELDS = ("firstName", "lastName", "company", "role")


class ContactStore:
    """The sandbox's data: definitions by key and contacts by id."""

    def __init__(self, definitions: Iterable[FieldDefinition], ids: IdFactory) -> None:
        self.ids = ids
        self.definitions: dict[str, FieldDefinition] = {d.key: d for d in definitions}
        self._contacts: dict[str, StoredContact] = {}
        self._by_external_id: dict[str, set[str]] = {}
        self._next_seq = 0

    def __len__(self) -> int:
        return len(self._contacts)

    def __iter__(self) -> Iterator[StoredContact]:
        return iter(list(self._contacts.values()))

    def get(self, contact_id: str) -> StoredContact | None:
        """The contact with this id, if any."""
        return self._contacts.get(contact_id)

    def next_seq(self) -> int:
        """The creation-order number for the next contact."""
        self._next_seq += 1
        return self._next_seq

    def add(self, contact: StoredContact) -> None:
        """Store a new contact."""
        self._contacts[contact.id] = contact
        self._index(contact)

    def remove(self, contact_id: str) -> StoredContact | None:
        """Delete a contact; returns it, or ``None`` if it did not exist."""
        contact = self._contacts.pop(contact_id, None)
        if contact is not None:
            self._unindex(contact)
        return contact

    def set_external_id(self, contact: StoredContact, external_id: str | None) -> None:
        """Change a contact's ``externalId``, keeping the index right."""
        self._unindex(contact)
        contact.external_id = external_id
        self._index(contact)

    def has_external_id(self, external_id: str) -> bool:
        """True when some contact carries this ``externalId``."""
        return bool(self._by_external_id.get(external_id))

    def with_external_ids(self, external_ids: Iterable[str]) -> list[StoredContact]:
        """Contacts carrying any of these ``externalId`` values, in creation order."""
        found = {cid for ext in external_ids for cid in self._by_external_id.get(ext, ())}
        return sorted((self._contacts[cid] for cid in found), key=lambda c: c.seq)

    def clear(self) -> None:
        """Forget every contact (definitions stay)."""
        self._contacts.clear()
        self._by_external_id.clear()

    def set_definitions(self, definitions: Iterable[FieldDefinition]) -> None:
        """Replace the definitions; values of removed or retyped-incompatible fields go."""
        self.definitions = {d.key: d for d in definitions}
        for contact in self._contacts.values():
            contact.custom = {
                key: entry
                for key, entry in contact.custom.items()
                if key in self.definitions
                and custom_value_problem(self.definitions[key].type, entry["value"]) is None
            }

    def _index(self, contact: StoredContact) -> None:
        if contact.external_id is not None:
            self._by_external_id.setdefault(contact.external_id, set()).add(contact.id)

    def _unindex(self, contact: StoredContact) -> None:
        if contact.external_id is not None:
            holders = self._by_external_id.get(contact.external_id, set())
            holders.discard(contact.id)
            if not holders:
                self._by_external_id.pop(contact.external_id, None)

    def to_document(self) -> dict[str, Any]:
        """Everything worth keeping, as one JSON-ready object."""
        return {
            "format": DATA_FORMAT,
            "customFields": [d.to_api() for d in self.definitions.values()],
            "contacts": [c.to_api(self.definitions) for c in self._contacts.values()],
        }

    def save(self, path: Path) -> None:
        """Write the data file atomically (a crash mid-write leaves the old file)."""
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_document(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def read_document(path: Path) -> dict[str, Any]:
    """Read and sanity-check a data file written by :meth:`ContactStore.save`."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read sandbox data: {exc}", path=str(path)) from exc
    if not isinstance(document, dict) or document.get("format") != DATA_FORMAT:
        raise ConfigError(f"not a sandbox data file (expected format {DATA_FORMAT})", path=str(path))
    return document


def document_definitions(document: Mapping[str, Any], path: Path) -> tuple[FieldDefinition, ...]:
    """The definitions a data file was saved with."""
    return parse_field_definitions(document.get("customFields", []), where=str(path))


def load_contacts(store: ContactStore, document: Mapping[str, Any], path: Path) -> None:
    """Put the contacts of a data file into ``store``."""
    try:
        for raw in document.get("contacts", []):
            store.add(_contact_from_api(raw, store.next_seq()))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"malformed contact in sandbox data: {exc!r}", path=str(path)) from exc


def _contact_from_api(raw: Mapping[str, Any], seq: int) -> StoredContact:
    defaults = raw["defaultFields"]
    return StoredContact(
        id=raw["id"],
        seq=seq,
        external_id=raw["externalId"],
        source=raw["source"],
        source_url=raw["sourceUrl"],
        scalars={name: defaults[name] for name in SCALAR_FIELDS},
        emails=[dict(item) for item in defaults["emails"]],
        phone_numbers=[dict(item) for item in defaults["phoneNumbers"]],
        custom={cf["key"]: {"id": cf["id"], "value": cf["value"]} for cf in raw["customFields"]},
        created_at=raw["createdAt"],
        updated_at=raw["updatedAt"],
        created_by_user_id=raw["createdByUserId"],
    )
