"""Load the TOML config into frozen, typed models.

Layers, lowest to highest: the TOML file, then environment variables named
``OPENPHONE_SYNC__SECTION__KEY`` (for the ``[openphone]`` and ``[state]`` tables), then
CLI flags (applied by the caller). Secrets never live in the TOML: it names the
environment variables that hold them (``api_key_env``, ``url_env``, ...).

Every problem found is collected into one :class:`~sync.errors.ConfigError` that names the
file and the key (``sources[0].fields.emails``).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sync.errors import ConfigError

ENV_PREFIX = "OPENPHONE_SYNC__"
DEFAULT_CONFIG = "sync.toml"
CONFIG_ENV = "OPENPHONE_SYNC_CONFIG"

# The API refuses these `source` labels (research §4.1).
RESERVED_SOURCES = frozenset({"openphone", "device", "csv", "zapier", "google-people", "other"})
RESERVED_SOURCE_PREFIXES = ("openphone", "csv")
SCALAR_FIELDS = ("firstName", "lastName", "company", "role")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpenPhoneConfig(_Model):
    """The ``[openphone]`` table."""

    base_url: str = "https://api.openphone.com"
    api_key_env: str = "OPENPHONE_API_KEY"
    rate_limit: float = Field(default=10, gt=0, le=1000)
    concurrency: int = Field(default=8, ge=1, le=64)
    timeout: float = Field(default=45, gt=0)
    max_retries: int = Field(default=4, ge=0, le=20)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http(s) URL such as https://api.openphone.com")
        return value.rstrip("/")


class StateConfig(_Model):
    """The ``[state]`` table."""

    url: str = "sqlite:///openphone-sync.db"
    url_env: str | None = None


class CustomFieldSpec(_Model):
    """One custom field mapping, the long form: ``{ column = "renewal", format = "%d/%m/%Y" }``."""

    column: str
    format: str | None = None
    separator: str = ";"
    decimal: Literal[".", ","] = "."
    serial: bool = False
    assume_https: bool = False
    timezone: str | None = None


class FieldsConfig(_Model):
    """``[sources.fields]``: OpenPhone field = source column."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    company: str | None = None
    role: str | None = None
    emails: dict[str, str] = Field(default_factory=dict)
    phone_numbers: dict[str, str] = Field(default_factory=dict, alias="phoneNumbers")


class SourceConfig(BaseModel):
    """One ``[[sources]]`` entry. Keys not listed here belong to the connector's options."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(min_length=1, max_length=72)
    type: str
    key: list[str]
    default_region: str | None = None
    country_column: str | None = None
    timezone: str | None = None
    delete: Literal["mirror", "never"] = "mirror"
    max_deletes: int = Field(default=50, ge=0)
    max_delete_ratio: float = Field(default=0.10, ge=0, le=1)
    delete_after_missing_runs: int = Field(default=1, ge=1)
    # Which contacts already in OpenPhone a create may adopt instead of duplicating: "own",
    # those carrying this source's label (a lost state file); "any", also another tool's.
    adopt: Literal["own", "any"] = "own"
    fields: FieldsConfig = Field(default_factory=FieldsConfig)
    custom_fields: dict[str, CustomFieldSpec] = Field(default_factory=dict)

    @field_validator("key", mode="before")
    @classmethod
    def _key_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("key")
    @classmethod
    def _key_not_empty(cls, value: list[str]) -> list[str]:
        if not value or any(not v.strip() for v in value):
            raise ValueError("must name at least one column")
        return value

    @field_validator("custom_fields", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: {"column": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        lowered = value.strip().lower()
        if lowered in RESERVED_SOURCES or lowered.startswith(RESERVED_SOURCE_PREFIXES):
            raise ValueError(
                f"{value!r} is reserved by OpenPhone (not allowed: {', '.join(sorted(RESERVED_SOURCES))}, "
                "or anything starting with 'openphone' or 'csv'); pick another name, e.g. 'crm-export'"
            )
        return value

    @property
    def options(self) -> dict[str, Any]:
        """The keys meant for the connector (everything this model does not know)."""
        return dict(self.model_extra or {})


class SyncConfig(_Model):
    """The whole config file."""

    openphone: OpenPhoneConfig = Field(default_factory=OpenPhoneConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    sources: list[SourceConfig] = Field(min_length=1)
    path: Path = Path(DEFAULT_CONFIG)

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the config are taken from."""
        return self.path.parent

    def source(self, name: str) -> SourceConfig:
        """The source with this name; ConfigError listing the names when there is none."""
        for src in self.sources:
            if src.name == name:
                return src
        names = ", ".join(s.name for s in self.sources)
        raise ConfigError(f"no source named {name!r}; the config has: {names}", path=str(self.path))

    def api_key(self, env: Mapping[str, str] | None = None) -> str:
        """The API key from the environment variable the config names."""
        env = os.environ if env is None else env
        key = env.get(self.openphone.api_key_env, "").strip()
        if not key:
            raise ConfigError(
                f"openphone.api_key_env: the environment variable {self.openphone.api_key_env} "
                "is not set; export it with your OpenPhone API key",
                path=str(self.path),
            )
        bad = next((i for i, ch in enumerate(key) if not "!" <= ch <= "~"), None)
        if bad is not None:
            # The key goes into a header: a line break or a non-ASCII character would be
            # refused by the HTTP library, in an error that quotes the header (the key).
            raise ConfigError(
                f"openphone.api_key_env: the value of {self.openphone.api_key_env} is not an "
                f"API key: character {bad + 1} is {_describe_char(key[bad])} (API keys are "
                "letters and digits; the key is not shown)",
                path=str(self.path),
            )
        return key

    def state_url(self, env: Mapping[str, str] | None = None) -> str:
        """The state store URL; SQLite paths are taken relative to the config file."""
        env = os.environ if env is None else env
        url = self.state.url
        if self.state.url_env:
            url = env.get(self.state.url_env, "").strip()
            if not url:
                raise ConfigError(
                    f"state.url_env: the environment variable {self.state.url_env} is not set",
                    path=str(self.path),
                )
        return resolve_sqlite_url(url, self.base_dir)


def resolve_sqlite_url(url: str, base_dir: Path) -> str:
    """Make a relative ``sqlite:///file.db`` relative to ``base_dir`` instead of the cwd."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////"):
        rest = url[len(prefix) :]
        if rest and rest != ":memory:" and not rest.startswith(":"):
            return prefix + str((base_dir / rest).resolve())
    return url


def config_path(explicit: str | os.PathLike[str] | None, env: Mapping[str, str] | None = None) -> Path:
    """Where the config is: the flag, else ``$OPENPHONE_SYNC_CONFIG``, else ``sync.toml``."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit)
    return Path(env.get(CONFIG_ENV) or DEFAULT_CONFIG)


def _describe_char(ch: str) -> str:
    """A character named without showing it (it is part of a secret)."""
    if ch in "\r\n":
        return "a line break"
    if ch.isspace():
        return "a space"
    if ord(ch) < 32 or ord(ch) == 127:
        return "a control character"
    return "not plain ASCII"


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> SyncConfig:
    """Read, layer and validate a config file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            "config file not found; copy config.example.toml to sync.toml or pass --config",
            path=str(path),
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config file: {exc}", path=str(path)) from exc
    return parse_config(text, path, env)


def parse_config(text: str, path: Path, env: Mapping[str, str] | None = None) -> SyncConfig:
    """Validate TOML text as a config (``path`` is used for messages and relative paths)."""
    env = os.environ if env is None else env
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(path)) from exc
    _apply_env_overrides(raw, env)
    raw["path"] = path
    try:
        config = SyncConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc), path=str(path)) from None
    problems = _cross_checks(config)
    if problems:
        raise ConfigError(problems, path=str(path))
    return config


def _apply_env_overrides(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) == 2 and parts[0] in ("openphone", "state"):
            raw.setdefault(parts[0], {})[parts[1]] = value


def _describe(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = ""
        for part in err["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against config.example.toml)"
        problems.append(f"{loc or '(top level)'}: {message}")
    return problems


def _cross_checks(config: SyncConfig) -> list[str]:
    """Checks that span keys, and each connector's own options."""
    from connectors.registry import get_connector  # connectors import sync.models; keep lazy

    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, src in enumerate(config.sources):
        where = f"sources[{i}]"
        if src.name in seen:
            problems.append(f"{where}.name: {src.name!r} is also the name of sources[{seen[src.name]}]")
        seen.setdefault(src.name, i)
        if src.default_region is not None:
            from sync.normalize import is_valid_region

            if not is_valid_region(src.default_region):
                problems.append(
                    f"{where}.default_region: {src.default_region!r} is not a region code "
                    "(use two letters, e.g. US, GB, DE)"
                )
        try:
            cls = get_connector(src.type)
        except ConfigError as exc:
            problems.append(f"{where}.type: {exc.problems[0]}")
            continue
        try:
            cls.Options.model_validate(src.options)
        except ValidationError as exc:
            problems.extend(f"{where}.{p}" for p in _describe(exc))
    return problems
