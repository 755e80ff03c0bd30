"""Turn a source's records into normalized contacts, per the source's field mapping.

Pure: :class:`RowMapper` is compiled once from the source's config, its column names and
the resolved custom fields, then maps each record without I/O. Bad values are left out
with an :class:`~sync.models.Issue`; the contact still syncs. A row is rejected only when
it has no usable key or nothing to sync.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sync.coerce import CoercionError, coerce_value
from sync.config import SourceConfig
from sync.custom_fields import ResolvedField
from sync.errors import ConfigError, MissingColumnError
from sync.fingerprint import mapping_seed, row_hasher
from sync.models import Contact, Issue, Item, SourceRecord
from sync.normalize import email_key, normalize_email, normalize_name, normalize_phone

MAX_EXTERNAL_ID = 75  # the API's limit on externalId
_MAPPING_KEYS = {"key", "default_region", "country_column", "timezone", "fields", "custom_fields"}


def resolve_column(
    columns: Sequence[str], wanted: str, *, source: str, what: str, setting: str | None = None
) -> int:
    """The index of ``wanted`` in ``columns``: an exact match wins, else a unique case-insensitive one.

    ``setting`` is the config key that names the column (``fields.company``), for messages.

    Raises:
        MissingColumnError: no column matches; the message lists the columns there are.
        ConfigError: several columns differ from ``wanted`` only by case.
    """
    if wanted in columns:
        return columns.index(wanted)
    folded = wanted.strip().casefold()
    matches = [i for i, c in enumerate(columns) if c.strip().casefold() == folded]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(repr(columns[i]) for i in matches)
        raise ConfigError(
            f"source {source!r}: {what} column {wanted!r} matches {names}, which differ only "
            "by case; name the one you mean exactly"
        )
    shown = ", ".join(repr(c) for c in columns) or "(none)"
    where = f" (sources[{source}].{setting})" if setting else ""
    raise MissingColumnError(
        f"source {source!r}: the {what} column {wanted!r}{where} is not in the source; "
        f"its columns are: {shown}"
    )


def as_text(value: Any) -> str:
    """A cell as text for keys and hashes (``None`` is empty)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class _Slot:
    column: str
    index: int


class RowMapper:
    """The compiled mapping of one source."""

    def __init__(
        self,
        config: SourceConfig,
        columns: Sequence[str],
        custom_fields: Sequence[ResolvedField] = (),
    ) -> None:
        self.source = config.name
        self.config = config
        self.columns = tuple(columns)

        def slot(column: str, what: str, setting: str) -> _Slot:
            index = resolve_column(self.columns, column, source=self.source, what=what, setting=setting)
            return _Slot(column, index)

        self.key_slots = [slot(c, "key", "key") for c in config.key]
        fields = config.fields
        self.scalars: list[tuple[str, _Slot]] = [
            (name, slot(column, name, f"fields.{name}"))
            for name, column in (
                ("firstName", fields.first_name),
                ("lastName", fields.last_name),
                ("company", fields.company),
                ("role", fields.role),
            )
            if column
        ]
        self.email_slots = [
            (label, slot(col, f"emails.{label}", f"fields.emails.{label}"))
            for label, col in fields.emails.items()
        ]
        self.phone_slots = [
            (label, slot(col, f"phoneNumbers.{label}", f"fields.phoneNumbers.{label}"))
            for label, col in fields.phone_numbers.items()
        ]
        self.country_slot = (
            slot(config.country_column, "country", "country_column") if config.country_column else None
        )
        self.custom = [
            (f, slot(f.column, f"custom field {f.name!r}", f"custom_fields.{f.mapped_as!r}"))
            for f in custom_fields
        ]

        used = {s.index for s in self.key_slots}
        used |= {s.index for _, s in self.scalars + self.email_slots + self.phone_slots}
        used |= {s.index for _, s in self.custom}
        if self.country_slot:
            used.add(self.country_slot.index)
        self._used = sorted(used)
        # key_reader and hash_reader are what key_of and raw_hash call; the planner's loop
        # calls them directly, a method call less per row.
        self.key_reader = _key_reader([s.index for s in self.key_slots])
        self.seed = mapping_seed(
            {
                "version": 1,
                "columns": [self.columns[i] for i in self._used],
                # Only what turns cells into a contact: a moved file, another batch size or a
                # new delete setting must not make every row look changed.
                "config": config.model_dump(mode="json", include=_MAPPING_KEYS),
                "custom": [(f.key, f.type, f.column, repr(f.options)) for f, _ in self.custom],
            }
        )
        self.hash_reader = row_hasher(self.seed, self._used)

    @property
    def owned_scalars(self) -> frozenset[str]:
        """The default fields this source writes (the others stay as they are in OpenPhone)."""
        return frozenset(name for name, _ in self.scalars)

    @property
    def owned_custom_keys(self) -> frozenset[str]:
        """The custom field keys this source writes."""
        return frozenset(f.key for f, _ in self.custom)

    def key_of(self, values: tuple[Any, ...]) -> str | None:
        """The record's externalId, or None when a key cell is empty."""
        return self.key_reader(values)

    def raw_hash(self, values: tuple[Any, ...]) -> str:
        """A hash of the mapped cells, keyed by the mapping: equal means nothing to normalize."""
        return self.hash_reader(values)

    def check_key(self, key: str | None) -> str | None:
        """Why a key is unusable as an externalId, or None when it is fine."""
        if key is None:
            names = ", ".join(s.column for s in self.key_slots)
            return f"no key: the key column {names} is empty"
        if len(key) > MAX_EXTERNAL_ID:
            return f"the key is {len(key)} characters long; OpenPhone allows at most {MAX_EXTERNAL_ID}"
        return None

    def to_contact(self, key: str, record: SourceRecord) -> tuple[Contact | None, list[Issue]]:
        """Normalize one record. Returns (None, issues) when the row has nothing to sync."""
        row, values = record
        issues: list[Issue] = []
        scalars = {name: normalize_name(values[s.index]) for name, s in self.scalars}
        emails: list[Item] = []
        for label, s in self.email_slots:
            value, problem = normalize_email(values[s.index])
            if problem:
                issues.append(self._left_out(row, key, s, values, problem))
            elif value and all(email_key(e.value) != email_key(value) for e in emails):
                emails.append(Item(label, value))
        region = self.config.default_region
        if self.country_slot is not None:
            region = as_text(values[self.country_slot.index]).strip().upper() or region
        phones: list[Item] = []
        for label, s in self.phone_slots:
            result = normalize_phone(values[s.index], region)
            if result.problem:
                issues.append(self._left_out(row, key, s, values, result.problem))
            elif result.e164 and all(p.value != result.e164 for p in phones):
                phones.append(Item(label, result.e164))
        custom: dict[str, Any] = {}
        for f, s in self.custom:
            try:
                custom[f.key] = coerce_value(f.type, values[s.index], f.options)
            except CoercionError as exc:
                # Left out, not cleared: the contact keeps whatever value it has.
                issues.append(self._left_out(row, key, s, values, f"custom field {f.name!r}: {exc}"))
        if not emails and not phones and not any(scalars.values()):
            issues.append(
                Issue(self.source, row, key, "row", None, None,
                      "nothing to sync: no name, no valid phone number and no valid email")
            )
            return None, issues
        contact = Contact(
            key,
            scalars.get("firstName"),
            scalars.get("lastName"),
            scalars.get("company"),
            scalars.get("role"),
            tuple(emails),
            tuple(phones),
            custom,
        )
        return contact, issues

    def _left_out(self, row: int, key: str, slot: _Slot, values: tuple[Any, ...], reason: str) -> Issue:
        return Issue(self.source, row, key, "value", slot.column, as_text(values[slot.index]), reason)


def _key_reader(indices: Sequence[int]) -> Callable[[tuple[Any, ...]], str | None]:
    """The externalId of a row (parts joined by ``:``), or None when a part is empty.

    One key column holding text is the common case and the planner's hottest line, so it
    gets a reader of its own.
    """
    if len(indices) == 1:
        (i,) = indices

        def single(values: tuple[Any, ...]) -> str | None:
            value = values[i]
            text = value.strip() if type(value) is str else as_text(value).strip()
            return text or None

        return single
    pick = operator.itemgetter(*indices)

    def joined(values: tuple[Any, ...]) -> str | None:
        parts = [as_text(v).strip() for v in pick(values)]
        return ":".join(parts) if all(parts) else None

    return joined
