"""Resolve custom-field mappings (by name or key) against the workspace's definitions.

Pure: the definitions come in as plain dicts, as ``GET /v1/contact-custom-fields`` returns
them. Names match case-insensitively after trimming; a key always matches exactly and wins,
so a field mapped by key survives a rename in the app.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sync.coerce import FIELD_TYPES, CoerceOptions, FieldType
from sync.config import CustomFieldSpec
from sync.errors import ConfigError


@dataclass(frozen=True)
class ResolvedField:
    """A mapped custom field: which workspace field, fed by which column, coerced how."""

    mapped_as: str  # what the config says (a name or a key)
    key: str
    name: str
    type: FieldType
    column: str
    options: CoerceOptions


def workspace_table(defs: Sequence[Mapping[str, str]]) -> str:
    """The workspace's fields as an indented table, for error messages."""
    if not defs:
        return "    (the workspace has no custom fields)"
    width = max(len(d["name"]) for d in defs)
    return "\n".join(f"    {d['name']:<{width}}  {d['key']}  {d['type']}" for d in defs)


def resolve_custom_fields(
    source: str,
    mapping: Mapping[str, CustomFieldSpec],
    defs: Sequence[Mapping[str, str]],
    *,
    default_timezone: str | None = None,
) -> list[ResolvedField]:
    """Resolve every mapped field, or raise one ConfigError naming all that do not resolve."""
    by_key = {d["key"]: d for d in defs}
    resolved: list[ResolvedField] = []
    problems: list[str] = []
    for mapped_as, spec in mapping.items():
        definition = by_key.get(mapped_as.strip())
        if definition is None:
            wanted = mapped_as.strip().casefold()
            matches = [d for d in defs if d["name"].strip().casefold() == wanted]
            if len(matches) != 1:
                what = "no custom field" if not matches else f"{len(matches)} custom fields"
                problems.append(
                    f"sources[{source}].custom_fields: {what} named {mapped_as!r} in the "
                    "workspace; map it by its key instead, or fix the name"
                )
                continue
            definition = matches[0]
        field_type = definition["type"]
        if field_type not in FIELD_TYPES:
            problems.append(
                f"sources[{source}].custom_fields.{mapped_as!r}: the workspace says its type is "
                f"{field_type!r}, which this version does not know"
            )
            continue
        try:
            options = CoerceOptions(
                format=spec.format,
                separator=spec.separator,
                decimal=spec.decimal,
                serial=spec.serial,
                assume_https=spec.assume_https,
                timezone=spec.timezone or default_timezone,
            )
        except ConfigError as exc:
            problems.extend(f"sources[{source}].custom_fields.{mapped_as!r}: {p}" for p in exc.problems)
            continue
        resolved.append(
            ResolvedField(
                mapped_as=mapped_as,
                key=definition["key"],
                name=definition["name"],
                type=field_type,
                column=spec.column,
                options=options,
            )
        )
    if problems:
        problems.append("the workspace's custom fields (name, key, type):\n" + workspace_table(defs))
        raise ConfigError(problems)
    return resolved
