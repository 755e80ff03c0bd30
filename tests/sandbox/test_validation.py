"""The validation helpers: $ref inlining, URI, RFC 3339 date-times, custom-field types."""

from __future__ import annotations

from typing import Any

import pytest

from sync.sandbox.validation import (
    custom_value_problem,
    inline_refs,
    is_uri,
    normalize_date_time,
    parse_date_time,
    source_problem,
)


def test_inline_refs_replaces_nested_references():
    """Refs inside refs are followed; ~1 in a pointer is a slash."""
    spec = {"components": {"schemas": {"A": {"items": {"$ref": "#/components/schemas/a~1b"}},
                                       "a/b": {"type": "string"}}}}
    assert inline_refs({"$ref": "#/components/schemas/A"}, spec) == {"items": {"type": "string"}}


def test_inline_refs_refuses_a_cycle():
    """A self-referencing schema cannot be inlined and says so."""
    spec = {"components": {"schemas": {"A": {"$ref": "#/components/schemas/A"}}}}
    with pytest.raises(ValueError, match="cycle"):
        inline_refs({"$ref": "#/components/schemas/A"}, spec)


@pytest.mark.parametrize(
    ("value", "ok"),
    [("https://crm.example/c/1", True), ("mailto:a@b.example", True), ("urn:isbn:123", True),
     ("crm.example/c/1", False), ("https://has space.example", False), ("1http://x", False),
     ("", False)],
)
def test_is_uri(value: str, ok: bool):
    """An absolute URI needs a scheme; spaces are never allowed."""
    assert is_uri(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("2024-09-11T04:00:00.000Z", True), ("2024-09-11T04:00:00+02:00", True),
     ("2024-09-11t04:00:00z", True), ("2024-09-11", False), ("2024-09-11T04:00:00", False),
     ("2024-13-11T04:00:00Z", False), ("11/09/2024", False)],
)
def test_parse_date_time_wants_rfc3339_with_a_zone(value: str, ok: bool):
    """Bare dates, missing zones and impossible dates are not date-times."""
    assert (parse_date_time(value) is not None) is ok


def test_dates_are_normalized_to_utc_milliseconds():
    """The stored form is what the API returns."""
    assert normalize_date_time("2024-09-11T00:00:00.5-04:00") == "2024-09-11T04:00:00.500Z"
    with pytest.raises(ValueError, match="RFC 3339"):
        normalize_date_time("2024-09-11")


@pytest.mark.parametrize(
    ("field_type", "value", "ok"),
    [("number", 1, True), ("number", 1.5, True), ("number", True, False), ("boolean", 0, False),
     ("string", None, True), ("multi-select", ["a"], True), ("multi-select", [None], False),
     ("colour", "red", False)],
)
def test_custom_value_types(field_type: str, value: Any, ok: bool):
    """Booleans are not numbers and numbers not booleans; null fits every type."""
    assert (custom_value_problem(field_type, value) is None) is ok


def test_source_rule_ignores_non_strings():
    """The prose rule only judges strings (the schema judges types)."""
    assert source_problem(None) is None
    assert source_problem("CSV") is not None
