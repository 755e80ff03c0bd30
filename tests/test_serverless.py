"""The serverless handler runs one sync against a sandbox served on loopback, as a platform would."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from sync.errors import AuthError, ConfigError
from sync.sandbox import SandboxSettings, create_app
from sync.sandbox.server import serve_in_thread
from sync.serverless import CONFIG_TOML_ENV, handler
from tests.helpers import API_KEY, World, contact_row


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """The handler configures logging for its process; put the test process's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[World, str]]:
    """A world whose config points at a real sandbox server on a free loopback port."""
    world = World(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    world.app = create_app(SandboxSettings(api_keys=(API_KEY,), rate_limit=1000))
    world.write_rows([contact_row(n) for n in range(4)])
    with serve_in_thread(world.app) as base_url:
        toml = world.tmp / "sync.toml"
        toml.write_text(toml.read_text().replace("http://sandbox.test", base_url))
        yield world, toml.read_text()


class _Context:
    aws_request_id = "req-1"


def test_handler_with_a_config_path_runs_and_returns_the_summary(served: tuple[World, str]):
    """OPENPHONE_SYNC_CONFIG names the file; the handler syncs and returns the summary dict."""
    world, _ = served
    env = {"OPENPHONE_SYNC_CONFIG": str(world.tmp / "sync.toml"), "OPENPHONE_API_KEY": API_KEY}
    document = handler({"source": "aws.events", "detail-type": "Scheduled Event"}, _Context(), env=env)
    assert document["exit_code"] == 0 and document["mode"] == "apply"
    assert document["summary"]["create"] == 4
    assert set(world.by_external_id()) == {"K0", "K1", "K2", "K3"}
    assert json.loads(json.dumps(document)) == document, "the return value is plain JSON"


def test_handler_with_inline_toml_and_a_dry_run_event(served: tuple[World, str], tmp_path: Path):
    """OPENPHONE_SYNC_CONFIG_TOML carries the config itself; {"dry_run": true} writes nothing."""
    world, text = served
    text = text.replace('path = "contacts.csv"', f"path = {json.dumps(str(world.csv_path))}")
    env = {CONFIG_TOML_ENV: text, "OPENPHONE_API_KEY": API_KEY}
    document = handler({"dry_run": True}, None, env=env)
    assert document["mode"] == "dry-run" and document["summary"]["create"] == 4
    assert world.contacts() == []


def test_handler_without_config_or_with_both_raises_config_error():
    """No config at all, or both variables, is a ConfigError naming the variables."""
    with pytest.raises(ConfigError, match="OPENPHONE_SYNC_CONFIG_TOML"):
        handler({}, None, env={})
    with pytest.raises(ConfigError, match="not both"):
        handler({}, None, env={"OPENPHONE_SYNC_CONFIG": "a.toml", CONFIG_TOML_ENV: "x = 1"})


def test_a_run_that_cannot_start_raises_so_the_platform_counts_a_failure(served: tuple[World, str]):
    """With a key the API refuses, the handler raises AuthError (exit code 4) and writes nothing."""
    world, _ = served
    env = {"OPENPHONE_SYNC_CONFIG": str(world.tmp / "sync.toml"), "OPENPHONE_API_KEY": "refused"}
    with pytest.raises(AuthError) as caught:
        handler({}, None, env=env)
    assert caught.value.exit_code == 4
    assert world.contacts() == []


def test_handler_reads_the_process_environment_in_a_fresh_interpreter(served: tuple[World, str]):
    """Called as a platform calls it (no env argument), it reads os.environ and logs JSON."""
    world, _ = served
    env = {**os.environ, "OPENPHONE_SYNC_CONFIG": str(world.tmp / "sync.toml"), "OPENPHONE_API_KEY": API_KEY}
    code = "import json, sync.serverless as s; print(json.dumps(s.handler({}, None)))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["create"] == 4
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    finished = [e for e in events if e["event"] == "serverless run finished"]
    assert len(finished) == 1 and finished[0]["exit_code"] == 0
