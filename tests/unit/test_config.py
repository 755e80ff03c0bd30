"""The config loads into typed models, and every mistake is named with its key and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.config import load_config, parse_config, resolve_sqlite_url
from sync.errors import ConfigError

GOOD = """
[openphone]
rate_limit = 5

[[sources]]
name = "crm"
type = "csv"
path = "contacts.csv"
key = "id"
default_region = "US"

[sources.fields]
firstName = "First"
emails = { work = "Email" }

[sources.custom_fields]
"Lead Source" = "lead"
"Renewal Date" = { column = "renewal", format = "%d/%m/%Y" }
"""


def parse(text: str, env: dict[str, str] | None = None):
    return parse_config(text, Path("/etc/sync/sync.toml"), env or {})


def test_good_config_parses_into_models():
    """Short and long custom-field forms, a key string and defaults all parse."""
    config = parse(GOOD)
    src = config.sources[0]
    assert config.openphone.rate_limit == 5
    assert src.key == ["id"]
    assert src.custom_fields["Lead Source"].column == "lead"
    assert src.custom_fields["Renewal Date"].format == "%d/%m/%Y"
    assert src.options == {"path": "contacts.csv"}


def test_all_problems_are_reported_at_once_with_their_keys():
    """Several mistakes give one error that lists each, naming the file and the key."""
    text = GOOD.replace('name = "crm"', 'name = "csv"').replace("rate_limit = 5", "rate_limit = -1")
    text = text.replace('default_region = "US"', 'default_region = "USA"\ncolour = "blue"')
    with pytest.raises(ConfigError) as err:
        parse(text)
    message = str(err.value)
    assert "/etc/sync/sync.toml" in message
    assert "openphone.rate_limit" in message
    assert "sources[0].name" in message and "reserved" in message


def test_unknown_connector_option_is_named():
    """A misspelled connector key is reported against that source."""
    with pytest.raises(ConfigError, match=r"sources\[0\]\.pathh: unknown key"):
        parse(GOOD.replace('path = "contacts.csv"', 'pathh = "contacts.csv"'))


def test_unknown_source_type_lists_known_ones():
    """An unknown type says which types exist."""
    with pytest.raises(ConfigError, match=r"known types: .*csv"):
        parse(GOOD.replace('type = "csv"', 'type = "airtable"'))


def test_duplicate_source_names_are_refused():
    """Two sources with one name would fight over the same contacts."""
    second = GOOD[GOOD.index("[[sources]]"):]
    with pytest.raises(ConfigError, match="also the name of sources"):
        parse(GOOD + second)


def test_environment_overrides_a_table_key():
    """OPENPHONE_SYNC__OPENPHONE__RATE_LIMIT wins over the file."""
    config = parse(GOOD, {"OPENPHONE_SYNC__OPENPHONE__RATE_LIMIT": "2"})
    assert config.openphone.rate_limit == 2


def test_api_key_comes_only_from_the_named_variable():
    """A missing key is a config error naming the variable."""
    config = parse(GOOD)
    with pytest.raises(ConfigError, match="OPENPHONE_API_KEY"):
        config.api_key({})
    assert config.api_key({"OPENPHONE_API_KEY": " k1 "}) == "k1"


def test_relative_sqlite_state_is_next_to_the_config():
    """A relative SQLite path is taken from the config file's folder, not the cwd."""
    assert resolve_sqlite_url("sqlite:///state.db", Path("/srv/app")) == "sqlite:////srv/app/state.db"
    assert resolve_sqlite_url("postgresql://h/db", Path("/x")) == "postgresql://h/db"


def test_missing_file_and_bad_toml_are_config_errors(tmp_path: Path):
    """Both name the file."""
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[openphone\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_example_config_is_valid():
    """config.example.toml, as shipped, loads."""
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    config = load_config(example, env={})
    assert config.sources[0].name == "crm-export"
