"""Service-account credentials and the HTTP session of the Google Sheets source.

The key comes from the environment the engine passes in (``SourceContext.env``), never
from ``os.environ``: either a path to the JSON key file (``credentials_env``) or the JSON
itself (``credentials_json_env``, for serverless hosts that only have env vars). Every
problem with it is a :class:`~sync.errors.ConfigError` naming the variable and the file,
and never quoting the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2.service_account import Credentials

from sync.errors import ConfigError

SCOPE_READONLY = "https://www.googleapis.com/auth/spreadsheets.readonly"
SCOPE_READWRITE = "https://www.googleapis.com/auth/spreadsheets"
_REQUIRED_FIELDS = ("client_email", "private_key", "token_uri")


@dataclass(frozen=True)
class ServiceAccount:
    """Loaded credentials, the account's email (to tell users whom to share with) and origin."""

    credentials: Credentials
    email: str
    origin: str  # "the file /x.json named by $VAR": where the key came from, for messages


def load_service_account(
    env: Mapping[str, str],
    *,
    credentials_env: str | None,
    credentials_json_env: str | None,
    base_dir: Path,
    scopes: list[str],
    label: str,
) -> ServiceAccount:
    """Read the service-account key named by the options and build scoped credentials.

    ``credentials_json_env`` wins when set; a relative path in ``credentials_env`` is
    taken from ``base_dir`` (the config file's folder), like a csv source's ``path``.

    Raises:
        ConfigError: the variable is unset, the file is missing or unreadable, the text
            is not JSON, or it is not a usable service-account key.
    """
    if credentials_json_env:
        text = env.get(credentials_json_env, "")
        if not text.strip():
            raise ConfigError(
                f"{label}: ${credentials_json_env} is not set; it should hold the JSON key "
                "of a Google service account"
            )
        origin = f"the JSON in ${credentials_json_env}"
    elif credentials_env:
        value = env.get(credentials_env, "")
        if not value.strip():
            raise ConfigError(
                f"{label}: ${credentials_env} is not set; set it to the path of a Google "
                "service account's JSON key file (or set credentials_json_env)"
            )
        path = Path(value.strip()).expanduser()
        path = path if path.is_absolute() else base_dir / path
        origin = f"the file {path} named by ${credentials_env}"
        text = _read_key_file(path, origin, label)
    else:
        raise ConfigError(f"{label}: set credentials_env or credentials_json_env")
    info = _parse_key(text, origin, label)
    return ServiceAccount(_credentials(info, scopes, origin, label), info["client_email"], origin)


def _read_key_file(path: Path, origin: str, label: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{label}: {origin} does not exist") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{label}: {origin} is a directory, not a JSON key file") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{label}: {origin} is not a JSON key file (not text)") from exc
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read {origin}: {exc.strerror or exc}") from exc


def _parse_key(text: str, origin: str, label: str) -> dict[str, Any]:
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{label}: {origin} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "it should be the JSON key downloaded for a service account"
        ) from exc
    if not isinstance(info, dict):
        raise ConfigError(f"{label}: {origin} is JSON but not a service-account key (not an object)")
    kind = info.get("type")
    if kind != "service_account":
        raise ConfigError(
            f"{label}: {origin} is not a service-account key (its type is {kind!r}); create a "
            "key for a service account in the Google Cloud console (IAM > Service accounts > "
            "Keys > Add key > JSON) and share the spreadsheet with that account's email"
        )
    missing = [name for name in _REQUIRED_FIELDS if not isinstance(info.get(name), str) or not info[name]]
    if missing:
        raise ConfigError(f"{label}: {origin} lacks {', '.join(missing)}; download a new JSON key")
    return info


def _credentials(info: dict[str, Any], scopes: list[str], origin: str, label: str) -> Credentials:
    try:
        # google-auth ships no annotations for these.
        return Credentials.from_service_account_info(  # type: ignore[no-any-return,no-untyped-call]
            info, scopes=scopes
        )
    except (ValueError, TypeError) as exc:
        # The message of a key that does not parse says nothing secret, but keep it short.
        raise ConfigError(
            f"{label}: {origin} holds a private key that cannot be used "
            f"({type(exc).__name__}); download a new JSON key"
        ) from exc


def authorized_session(credentials: Credentials, transport: requests.Session | None) -> AuthorizedSession:
    """A session that signs every request with the credentials' access token.

    ``transport`` is the test seam: when given, its mounted adapters carry every request,
    the token exchange included; otherwise google-auth's defaults reach the real network.
    """
    # google-auth ships no annotations for AuthorizedSession.
    if transport is None:
        return AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
    session = AuthorizedSession(credentials, auth_request=Request(transport))  # type: ignore[no-untyped-call]
    for prefix, adapter in transport.adapters.items():
        session.mount(prefix, adapter)
    return session
