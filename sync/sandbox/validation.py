"""Request validation: the spec's schemas, the rules it states in prose, custom-field types.

Validators are built once from the shipped extract of the vendor spec
(``openapi-contacts.json``) when the app is created; each request only runs them.
Problems come back as :class:`FieldError` items shaped like the API's ``errors[]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_FILE = Path(__file__).with_name("openapi-contacts.json")
SPEC_URI = "urn:openphone-sync:sandbox-spec"
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*$")
RESERVED_SOURCES = frozenset({"openphone", "device", "csv", "zapier", "google-people", "other"})
RESERVED_SOURCE_PREFIXES = ("openphone", "csv")
MAX_ARRAY_QUERY_VALUES = 20
_NO_VALUE: Any = object()


@dataclass(frozen=True, slots=True)
class FieldError:
    """One item of an error body's ``errors[]``: where, what, and the expected type."""

    path: str
    message: str
    schema_type: str
    value: Any = _NO_VALUE

    def to_api(self) -> dict[str, Any]:
        """The item in the API's shape (``value`` only when there was one)."""
        item: dict[str, Any] = {"path": self.path, "message": self.message}
        if self.value is not _NO_VALUE:
            item["value"] = self.value
        item["schema"] = {"type": self.schema_type}
        return item


@cache
def load_spec() -> dict[str, Any]:
    """The shipped extract of the vendor spec (read once per process)."""
    spec: dict[str, Any] = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
    return spec


def pointer(*parts: str) -> str:
    """A JSON pointer into the spec document, escaping ``~`` and ``/``."""
    escaped = (p.replace("~", "~0").replace("/", "~1") for p in parts)
    return SPEC_URI + "#/" + "/".join(escaped)


def spec_registry(spec: Mapping[str, Any]) -> Registry[Any]:
    """A registry in which the spec's internal ``$ref`` s resolve."""
    resource: Resource[Any] = Resource.from_contents(dict(spec), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


def schema_type(schema: Any) -> str:
    """A one-word type for an ``errors[].schema.type``."""
    if not isinstance(schema, Mapping):
        return "unknown"
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind
    if isinstance(kind, list):
        return "|".join(str(k) for k in kind)
    if "anyOf" in schema:
        return "|".join(schema_type(sub) for sub in schema["anyOf"])
    return "object" if "allOf" in schema else "unknown"


def _message(error: ValidationError) -> str:
    kind, expected = error.validator, error.validator_value
    messages = {
        "type": f"Expected {expected}",
        "minLength": f"Expected string length greater or equal to {expected}",
        "maxLength": f"Expected string length less or equal to {expected}",
        "pattern": f"Expected string to match '{expected}'",
        "minimum": f"Expected number to be greater or equal to {expected}",
        "maximum": f"Expected number to be less or equal to {expected}",
        "anyOf": f"Expected {schema_type(error.schema).replace('|', ' or ')}",
    }
    return messages.get(str(kind), str(error.message))


def _field_errors(error: ValidationError, prefix: str) -> list[FieldError]:
    path = prefix + "".join(f"/{part}" for part in error.absolute_path)
    if error.validator == "required":
        properties = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        return [
            FieldError(f"{path}/{name}", "Expected required property", schema_type(properties.get(name)))
            for name in error.validator_value
            if name not in instance
        ]
    return [FieldError(path, _message(error), schema_type(error.schema), error.instance)]


def inline_refs(node: Any, spec: Mapping[str, Any], depth: int = 0) -> Any:
    """A copy of ``node`` with every internal ``$ref`` replaced by its target.

    Done once per app, so a request never pays for reference lookups (they nearly double
    the cost of validating a create body).
    """
    if depth > 50:
        raise ValueError("$ref nesting too deep (a cycle?)")
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = spec
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return inline_refs(target, spec, depth + 1)
        return {key: inline_refs(value, spec, depth + 1) for key, value in node.items()}
    if isinstance(node, list):
        return [inline_refs(item, spec, depth + 1) for item in node]
    return node


class CompiledSchema:
    """One schema of the spec, resolved once and reused for every request."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._validator = Draft202012Validator(schema)

    def errors(self, instance: Any, prefix: str = "") -> list[FieldError]:
        """Every violation, in document order."""
        found: list[FieldError] = []
        for error in sorted(self._validator.iter_errors(instance), key=lambda e: list(map(str, e.path))):
            found.extend(_field_errors(error, prefix))
        return found


def _query_schema(parameters: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """An object schema equivalent to an operation's query parameters."""
    query = [p for p in parameters if p.get("in") == "query"]
    return {
        "type": "object",
        "properties": {p["name"]: p["schema"] for p in query},
        "required": [p["name"] for p in query if p.get("required")],
    }


class RequestValidators:
    """The request schemas of the sandbox's operations, compiled at app creation."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        def body(path: str, method: str) -> Any:
            schema = spec["paths"][path][method]["requestBody"]["content"]["application/json"]
            return inline_refs(schema["schema"], spec)

        self.create_body = CompiledSchema(body("/v1/contacts", "post"))
        self.update_body = CompiledSchema(body("/v1/contacts/{id}", "patch"))
        parameters = inline_refs(spec["paths"]["/v1/contacts"]["get"]["parameters"], spec)
        self._list_query = Draft202012Validator(_query_schema(parameters))

    def list_query_errors(self, query: Mapping[str, Any]) -> list[FieldError]:
        """Violations of the list operation's query parameters."""
        found: list[FieldError] = []
        for error in self._list_query.iter_errors(query):
            found.extend(_field_errors(error, ""))
        return found


def is_uri(value: str) -> bool:
    """An absolute URI (scheme plus something), as JSON Schema's ``uri`` format wants."""
    if any(ch.isspace() for ch in value) or ":" not in value:
        return False
    parts = urlsplit(value)
    return bool(_URI_SCHEME.match(parts.scheme)) and bool(parts.netloc or parts.path)


def source_problem(source: Any) -> str | None:
    """Why a ``source`` is refused by the spec's prose rule, or ``None``."""
    if not isinstance(source, str):
        return None
    lowered = source.lower()
    if lowered in RESERVED_SOURCES:
        return f"'{source}' is a reserved source"
    if lowered.startswith(RESERVED_SOURCE_PREFIXES):
        return f"source cannot start with {' or '.join(RESERVED_SOURCE_PREFIXES)}"
    return None


def prose_errors(body: Mapping[str, Any]) -> list[FieldError]:
    """The rules the spec states in words: reserved sources, URI sourceUrl, E.164 phones."""
    found: list[FieldError] = []
    problem = source_problem(body.get("source"))
    if problem:
        found.append(FieldError("/source", problem, "string", body["source"]))
    url = body.get("sourceUrl")
    if isinstance(url, str) and not is_uri(url):
        found.append(FieldError("/sourceUrl", "Expected string to match 'uri' format", "string", url))
    defaults = body.get("defaultFields") or {}
    for index, item in enumerate(defaults.get("phoneNumbers") or []):
        value = item.get("value")
        if isinstance(value, str) and not E164.match(value):
            path = f"/defaultFields/phoneNumbers/{index}/value"
            found.append(FieldError(path, "Expected phone number in E.164 format", "string", value))
    return found


def parse_date_time(value: str) -> datetime | None:
    """An RFC 3339 date-time (with a time zone), or ``None`` if ``value`` is not one."""
    if not RFC3339.match(value):
        return None
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return None


def normalize_date_time(value: str) -> str:
    """Store dates the way the API returns them: UTC with milliseconds and ``Z``."""
    parsed = parse_date_time(value)
    if parsed is None:
        raise ValueError(f"not an RFC 3339 date-time: {value!r}")
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def custom_value_problem(field_type: str, value: Any) -> str | None:
    """Why ``value`` does not fit a custom field of ``field_type``, or ``None`` if it does."""
    if value is None:
        return None
    if field_type in ("string", "address", "url"):
        ok = isinstance(value, str)
    elif field_type == "boolean":
        ok = isinstance(value, bool)
    elif field_type == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif field_type == "date":
        ok = isinstance(value, str) and parse_date_time(value) is not None
    elif field_type == "multi-select":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        ok = False
    return None if ok else f"Expected {_EXPECTED.get(field_type, field_type)}"


_EXPECTED = {
    "string": "string",
    "address": "string",
    "url": "string",
    "boolean": "boolean",
    "number": "number",
    "date": "ISO 8601 date-time string",
    "multi-select": "array of strings",
}
