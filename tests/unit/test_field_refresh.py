"""The pure parts of the mid-run custom-field refresh: converting a planned value to a new type,
and resolving each mapped field alone."""

from __future__ import annotations

from typing import Any

import pytest

from sync.coerce import CoerceOptions, CoercionError, FieldType
from sync.config import CustomFieldSpec, SourceConfig
from sync.custom_fields import ResolvedField
from sync.field_refresh import recoerce, resolve_each


def field(field_type: FieldType, key: str = "k1", name: str = "Score", **options: Any) -> ResolvedField:
    return ResolvedField(mapped_as=name, key=key, name=name, type=field_type, column="score",
                         options=CoerceOptions(**options))


@pytest.mark.parametrize(
    ("old", "new", "value", "expected"),
    [
        ("string", "number", "42", 42),
        ("string", "number", "7.5", 7.5),
        ("string", "boolean", "yes", True),
        ("string", "multi-select", "a; b;a", ["a", "b"]),
        ("string", "date", "2027-04-03", "2027-04-03T00:00:00.000Z"),
        ("string", "string", "same", "same"),
        ("number", "number", 12, 12),
        ("boolean", "string", None, None),
    ],
)
def test_a_planned_value_follows_a_new_type_when_the_source_text_is_at_hand(
    old: FieldType, new: FieldType, value: Any, expected: Any
):
    """From a string field (the source's text, trimmed) any type can be read again; no value stays none."""
    assert recoerce(field(old), field(new), value) == expected


def test_a_string_field_that_becomes_a_number_honours_the_declared_decimal():
    """The new type is read with the mapping's own options."""
    assert recoerce(field("string"), field("number", decimal=","), "1.234,50") == 1234.5


@pytest.mark.parametrize(
    ("old", "new", "value", "reason"),
    [
        ("string", "number", "high", "number"),
        ("boolean", "string", True, "changed from boolean to string during the run"),
        ("number", "string", 1234.5, "changed from number to string during the run"),
        ("multi-select", "string", ["a"], "the source's value is not at hand"),
    ],
)
def test_a_planned_value_that_cannot_follow_is_a_coercion_error(
    old: FieldType, new: FieldType, value: Any, reason: str
):
    """Text that does not fit, or a value whose source text is gone, is left out with a reason."""
    with pytest.raises(CoercionError, match=reason):
        recoerce(field(old), field(new), value)


def test_each_mapped_field_resolves_alone_or_gives_the_start_of_run_message():
    """A field that no longer resolves gets the config error's text; the others still resolve."""
    config = SourceConfig.model_validate({
        "name": "crm", "type": "csv", "key": "id",
        "custom_fields": {"Score": "score", "Gone": CustomFieldSpec(column="gone").model_dump()},
    })
    defs = [{"name": "Score", "key": "k1", "type": "number"}]
    resolved = resolve_each(config, defs)
    score = resolved["Score"]
    assert isinstance(score, ResolvedField) and (score.key, score.type) == ("k1", "number")
    gone = resolved["Gone"]
    assert isinstance(gone, str)
    assert "no custom field named 'Gone'" in gone and "Score  k1  number" in gone
