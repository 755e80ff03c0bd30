"""SandboxSettings and custom-field definition files refuse bad values, listing them all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.errors import ConfigError
from sync.sandbox import SandboxSettings
from sync.sandbox.settings import default_field_definitions, load_field_definitions


def test_defaults_match_the_issue():
    """One key "sandbox-key", 10 requests/s, no latency or faults, Retry-After on, replace."""
    settings = SandboxSettings()
    assert settings.api_keys == ("sandbox-key",)
    assert (settings.rate_limit, settings.latency_ms, settings.jitter_ms) == (10, 0, 0)
    assert (settings.fail_rate, settings.reset_rate, settings.ambiguous_create_rate,
            settings.spurious_429_rate) == (0, 0, 0, 0)
    assert (settings.seed, settings.send_retry_after, settings.patch_mode) == (None, True, "replace")
    assert (settings.custom_fields, settings.data_file) == (None, None)


def test_every_bad_value_is_reported_at_once():
    """Negative latency, rates outside 0..1, a zero limit and a bad mode: one error, four lines."""
    with pytest.raises(ConfigError) as info:
        SandboxSettings(rate_limit=0, latency_ms=-1, fail_rate=1.5, patch_mode="upsert")  # type: ignore[arg-type]
    assert len(info.value.problems) == 4


@pytest.mark.parametrize("keys", [(), ("",), "sandbox-key"])
def test_api_keys_must_be_a_non_empty_tuple_of_keys(keys: object):
    """No keys, an empty key, or a bare string are refused."""
    with pytest.raises(ConfigError):
        SandboxSettings(api_keys=keys)  # type: ignore[arg-type]


def test_the_default_definitions_file_is_valid():
    """The bundled file parses and has unique keys."""
    definitions = default_field_definitions()
    assert len({d.key for d in definitions}) == len(definitions) == 9


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{}", "expected a JSON list"),
        ("[1]", "expected an object"),
        ('[{"name": "A", "key": "k", "type": "colour"}]', "'type' must be one of"),
        ('[{"name": "", "key": "k", "type": "url"}]', "'name' must be"),
        ('[{"name": "A", "key": "k", "type": "url"}, {"name": "B", "key": "k", "type": "url"}]',
         "duplicate key"),
        ("not json", "cannot read custom fields"),
    ],
)
def test_a_bad_definitions_file_is_refused(tmp_path: Path, content: str, problem: str):
    """Definition files are checked item by item."""
    path = tmp_path / "fields.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=problem):
        load_field_definitions(path)


def test_a_definitions_file_in_the_api_shape_loads(tmp_path: Path):
    """The same shape as GET /v1/contact-custom-fields data."""
    path = tmp_path / "fields.json"
    path.write_text(json.dumps([{"name": "Region", "key": "k1", "type": "string"}]))
    (definition,) = load_field_definitions(path)
    assert definition.to_api() == {"name": "Region", "key": "k1", "type": "string"}
