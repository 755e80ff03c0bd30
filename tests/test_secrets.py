"""After a failing run, the API key and the database password are nowhere: not in the logs
(stderr, console or JSON, debug included), the JSON output, the state store, exception
messages or tracebacks."""

from __future__ import annotations

import sqlite3
import traceback
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pytest

from sync.config import load_config
from sync.engine import Engine, RunOptions
from sync.errors import AuthError, StateError, SyncError
from sync.sandbox import SandboxSettings, create_app, sandbox_transport
from tests.chaos.bench import BASE_URL
from tests.chaos.harness import (
    API_KEY,
    SyncRun,
    finish,
    free_port,
    row,
    sandbox_process,
    start_sync,
    sync_env,
    write_config,
    write_rows,
)

BAD_KEY = "opk_live_Zq7Hx2SeCrEtv9Lw3mNpA"
PASSWORD = "pwS3cr3tZq9xKv7"
VARIANTS = ([], ["--output", "json"], ["-v", "--json-logs"], ["--dry-run", "-v", "--console-logs"])


def _fragments(secret: str) -> list[str]:
    """The secret, and its middle (a secret cut short, or wrapped, still leaks)."""
    return [secret, secret[4:-4]]


def _leaks(texts: Iterable[str], secret: str) -> list[str]:
    return [text[:200] for text in texts for part in _fragments(secret) if part in text]


def _traceback_text(exc: BaseException) -> str:
    """The whole printed chain, plus each link's repr and args (what a crash report shows)."""
    parts = ["".join(traceback.format_exception(exc))]
    seen: BaseException | None = exc
    while seen is not None:
        parts += [repr(seen), repr(seen.args), str(seen)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


def _dump_sqlite(path: Path) -> str:
    """Every table of the state store, as SQL."""
    with sqlite3.connect(path) as connection:
        dump = "\n".join(connection.iterdump())
    connection.close()
    return dump


def _run_all(config: Path, variants: Sequence[Sequence[str]], env: Mapping[str, str]) -> list[SyncRun]:
    """Run ``sync`` once per argument list, side by side (each is a second of start-up)."""
    started = [start_sync(config, *args, env=env, tag=f"variant{i}") for i, args in enumerate(variants)]
    return [finish(*process) for process in started]


def _outputs(runs: Iterable[SyncRun]) -> list[str]:
    return [text for run in runs for text in (run.stdout, run.stderr)]


@pytest.mark.slow
def test_a_refused_api_key_appears_nowhere(tmp_path: Path):
    """Bad key → 401 → exit 4: key absent from stdout, stderr (every log format), the store, tracebacks."""
    state_db = tmp_path / "state.db"
    write_rows(tmp_path / "contacts.csv", [row(n) for n in range(5)])
    with sandbox_process(tmp_path) as sandbox:
        config = write_config(tmp_path / "sync.toml", sandbox.base_url, f"sqlite:///{state_db}")
        runs = _run_all(config, [*VARIANTS, ["status"]], sync_env(api_key=BAD_KEY))
    for run in runs[:-1]:
        assert run.returncode == 4, run.stderr[-2000:]
        assert "401" in run.stdout + run.stderr
    assert "the API key was refused (401)" in runs[1].json()["error"]["message"]
    assert "\"level\": \"debug\"" in runs[2].stderr, "debug logs were on"

    app = create_app(SandboxSettings(api_keys=(API_KEY,)))
    write_config(tmp_path / "inproc.toml", BASE_URL, f"sqlite:///{tmp_path / 'inproc.db'}")
    engine = Engine(load_config(tmp_path / "inproc.toml", env={}), env={"OPENPHONE_API_KEY": BAD_KEY},
                    transport=sandbox_transport(app))
    with pytest.raises(AuthError) as raised:
        engine.run(RunOptions())

    texts = [*_outputs(runs), _dump_sqlite(state_db), _dump_sqlite(tmp_path / "inproc.db"),
             _traceback_text(raised.value)]
    assert _leaks(texts, BAD_KEY) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("key", "what"),
    [
        pytest.param(BAD_KEY[:12] + "\n" + BAD_KEY[12:], "a line break", id="newline"),
        pytest.param(BAD_KEY[:12] + "\r" + BAD_KEY[12:], "a line break", id="carriage-return"),
        pytest.param(BAD_KEY[:12] + "\x07" + BAD_KEY[12:], "a control character", id="control"),
        pytest.param(BAD_KEY[:12] + "€" + BAD_KEY[12:], "not plain ASCII", id="non-ascii"),
        pytest.param(BAD_KEY[:12] + " " + BAD_KEY[12:], "a space", id="space"),
    ],
)
def test_a_key_that_cannot_be_a_header_is_a_config_error_that_does_not_show_it(
    tmp_path: Path, key: str, what: str
):
    """A key pasted with a line break or a stray character: exit 2 naming the variable and
    the character's position, in every output format, dry run too; the key itself nowhere
    (the HTTP library's own error quotes the header it refuses)."""
    write_rows(tmp_path / "contacts.csv", [row(1)])
    config = write_config(tmp_path / "sync.toml", BASE_URL, f"sqlite:///{tmp_path / 'state.db'}")
    summary = tmp_path / "summary.json"
    runs = _run_all(config, [*VARIANTS, ["--summary-file", str(summary)]], sync_env(api_key=key))
    for run in runs:
        assert run.returncode == 2, run.stderr[-2000:]
        shown = " ".join((run.stdout + run.stderr).split())  # the console wraps long lines
        assert "OPENPHONE_API_KEY is not an API key: character 13 is " + what in shown
    assert runs[1].json()["error"]["message"].endswith("the key is not shown)")
    assert _leaks([*_outputs(runs), summary.read_text(encoding="utf-8")], key) == []
    assert _leaks([*_outputs(runs)], BAD_KEY[:12]) == [], "no part of the key either"


@pytest.mark.slow
@pytest.mark.parametrize("how", ["url_env", "url"])
def test_a_database_password_appears_nowhere(tmp_path: Path, how: str):
    """Unreachable PostgreSQL URL with a password → exit 4: password absent from every output and trace."""
    url = f"postgresql+psycopg://syncuser:{PASSWORD}@127.0.0.1:{free_port()}/syncdb"
    write_rows(tmp_path / "contacts.csv", [row(1)])
    config = tmp_path / "sync.toml"
    if how == "url_env":
        write_config(config, BASE_URL, state_url_env="SYNC_STATE_URL")
    else:
        write_config(config, BASE_URL, url)
    env = sync_env(SYNC_STATE_URL=url)
    runs = _run_all(config, [*VARIANTS, ["status", "--output", "json"], ["doctor"]], env)
    for run in runs[:-1]:
        assert run.returncode == 4, run.stderr[-2000:]
    assert "127.0.0.1" in runs[1].json()["error"]["message"], "the error still says where"

    engine = Engine(load_config(config, env=env), env=env,
                    transport=sandbox_transport(create_app(SandboxSettings(api_keys=(API_KEY,)))))
    with pytest.raises(StateError) as raised:
        engine.run(RunOptions())
    assert raised.value.__cause__ is not None, "the driver's error is chained for debugging"

    texts = [*_outputs(runs), _traceback_text(raised.value)]
    assert _leaks(texts, PASSWORD) == []


def _connect_with_a_leaky_driver() -> None:
    raise ValueError(f"postgresql://u:{PASSWORD}@h/db")


def _wrap_a_leaky_error() -> None:
    try:
        _connect_with_a_leaky_driver()
    except ValueError as inner:
        raise SyncError("wrapped") from inner


def test_the_leak_check_would_see_a_leak():
    """The scanner finds a secret in a chained traceback, and a key cut short (so the tests above can fail)."""
    with pytest.raises(SyncError) as raised:
        _wrap_a_leaky_error()
    assert _leaks([_traceback_text(raised.value)], PASSWORD)
    assert _leaks(["key=…live_Zq7Hx2SeCrEtv9Lw3m…"], BAD_KEY)
