"""Every knob of the sandbox, in one frozen value, plus the custom-field definition type.

The CLI builds a :class:`SandboxSettings` from its flags; tests build one directly. Bad
values raise :class:`sync.errors.ConfigError` listing every problem at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sync.errors import ConfigError

CUSTOM_FIELD_TYPES = ("address", "boolean", "date", "multi-select", "number", "string", "url")
DEFAULT_CUSTOM_FIELDS_FILE = Path(__file__).with_name("default_custom_fields.json")
PatchMode = Literal["replace", "merge"]
_HEX24 = re.compile(r"^[0-9a-f]{24}$")


@dataclass(frozen=True, slots=True)
class FieldDefinition:
    """One contact custom-field definition, as ``GET /v1/contact-custom-fields`` lists it."""

    name: str
    key: str
    type: str

    def to_api(self) -> dict[str, str]:
        """The definition in the API's shape."""
        return {"name": self.name, "key": self.key, "type": self.type}


def parse_field_definitions(raw: Any, *, where: str = "custom fields") -> tuple[FieldDefinition, ...]:
    """Check a JSON list of ``{"name", "key", "type"}`` objects and turn it into definitions."""
    if not isinstance(raw, list):
        raise ConfigError("expected a JSON list of {name, key, type} objects", path=where)
    problems: list[str] = []
    definitions: list[FieldDefinition] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            problems.append(f"item {index}: expected an object")
            continue
        name, key, kind = item.get("name"), item.get("key"), item.get("type")
        if not isinstance(name, str) or not name:
            problems.append(f"item {index}: 'name' must be a non-empty string")
        if not isinstance(key, str) or not key:
            problems.append(f"item {index}: 'key' must be a non-empty string")
        elif key in seen:
            problems.append(f"item {index}: duplicate key {key!r}")
        if kind not in CUSTOM_FIELD_TYPES:
            problems.append(f"item {index}: 'type' must be one of {', '.join(CUSTOM_FIELD_TYPES)}")
        if isinstance(name, str) and isinstance(key, str) and kind in CUSTOM_FIELD_TYPES:
            seen.add(key)
            definitions.append(FieldDefinition(name=name, key=key, type=str(kind)))
    if problems:
        raise ConfigError(problems, path=where)
    return tuple(definitions)


def load_field_definitions(path: Path) -> tuple[FieldDefinition, ...]:
    """Read a custom-field definitions file (the shape of the API's ``data`` list)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read custom fields: {exc}", path=str(path)) from exc
    return parse_field_definitions(raw, where=str(path))


def default_field_definitions() -> tuple[FieldDefinition, ...]:
    """The bundled set: every type, two plain string fields, keys that look real."""
    return load_field_definitions(DEFAULT_CUSTOM_FIELDS_FILE)


def looks_like_real_key(key: str) -> bool:
    """True for keys shaped like the live API's: 24 lowercase hex characters."""
    return bool(_HEX24.match(key))


@dataclass(frozen=True)
class SandboxSettings:
    """How a sandbox behaves. Rates are probabilities per admitted request (0.0 to 1.0).

    Attributes:
        api_keys: keys accepted in ``Authorization`` (raw, no ``Bearer``).
        rate_limit: admitted requests per key in any sliding one-second window.
        latency_ms: added to every admitted request.
        jitter_ms: the latency varies uniformly by plus or minus this much (seeded).
        fail_rate: share of requests answered 500, 502 or 503 without being processed.
        reset_rate: share of requests whose connection is dropped without an answer.
        ambiguous_create_rate: share of creates committed, then answered 5xx or dropped.
        spurious_429_rate: share of requests answered 429 although under the limit.
        seed: seeds faults, jitter and generated ids; ``None`` draws a fresh seed.
        send_retry_after: whether a 429 carries ``Retry-After``.
        patch_mode: ``replace`` (arrays omitted from a PATCH are deleted) or ``merge``.
        custom_fields: the definitions; ``None`` means the bundled default set.
        data_file: JSON file loaded at start and saved at shutdown, if given.
    """

    api_keys: tuple[str, ...] = ("sandbox-key",)
    rate_limit: int = 10
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    fail_rate: float = 0.0
    reset_rate: float = 0.0
    ambiguous_create_rate: float = 0.0
    spurious_429_rate: float = 0.0
    seed: int | None = None
    send_retry_after: bool = True
    patch_mode: PatchMode = "replace"
    custom_fields: Sequence[Mapping[str, str]] | None = None
    data_file: Path | None = None

    def __post_init__(self) -> None:
        problems = [*self._key_problems(), *self._number_problems()]
        if self.patch_mode not in ("replace", "merge"):
            problems.append(f"patch_mode must be 'replace' or 'merge', not {self.patch_mode!r}")
        if problems:
            raise ConfigError(problems)
        if self.custom_fields is not None:
            parse_field_definitions(list(self.custom_fields))

    def _key_problems(self) -> list[str]:
        if isinstance(self.api_keys, str) or not self.api_keys:
            return ["api_keys must be a non-empty tuple of keys"]
        return [f"api key {k!r} must be a non-empty string" for k in self.api_keys if not k]

    def _number_problems(self) -> list[str]:
        problems = []
        if self.rate_limit < 1:
            problems.append(f"rate_limit must be at least 1, not {self.rate_limit}")
        for name in ("latency_ms", "jitter_ms"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative")
        for name in ("fail_rate", "reset_rate", "ambiguous_create_rate", "spurious_429_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must be between 0.0 and 1.0")
        return problems

    def field_definitions(self) -> tuple[FieldDefinition, ...] | None:
        """The configured definitions, or ``None`` when the default set applies."""
        if self.custom_fields is None:
            return None
        return parse_field_definitions(list(self.custom_fields))
