"""The one-shot run's person-facing output and output files, through the real CLI."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner
from rich.console import Console

from sync.cli import main
from sync.metrics import parse_samples
from sync.runner import execute
from sync.sandbox import SandboxSettings, create_app, sandbox_transport
from sync.sandbox.server import serve_in_thread
from tests.helpers import API_KEY, World, contact_row


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """The CLI configures logging for the process; put the test process's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)


def _slow_world(tmp_path: Path, rows: int) -> World:
    world = World(tmp_path, f"sqlite:///{tmp_path / 'state.db'}",
                  sandbox=SandboxSettings(api_keys=(API_KEY,), rate_limit=1000, latency_ms=40))
    world.write_rows([contact_row(n) for n in range(rows)])
    return world


def _apply(world: World, console: Console) -> None:
    execute(world.config(), dry_run=False, env={"OPENPHONE_API_KEY": API_KEY},
            transport=sandbox_transport(world.app), console=console, show_plan=False)


def test_progress_bar_shows_rate_and_eta_on_a_terminal(tmp_path: Path):
    """On a terminal, applying shows a bar with done/total, ops per second and time remaining."""
    world = _slow_world(tmp_path, 24)
    out = StringIO()
    _apply(world, Console(file=out, force_terminal=True, width=120, color_system=None))
    text = out.getvalue()
    frames = re.findall(r"applying\S*\s.*?(\d+)/24 ([\d.]+) ops/s (\d:\d\d:\d\d)", text)
    assert frames, text
    assert any(float(rate) > 0 and int(done) > 0 for done, rate, _ in frames)


def test_no_progress_bar_when_not_a_terminal(tmp_path: Path):
    """Piped or logged output gets the summary but no progress bar."""
    world = _slow_world(tmp_path, 6)
    out = StringIO()
    _apply(world, Console(file=out, force_terminal=False, width=120))
    text = out.getvalue()
    assert "applying" not in text and "ops/s" not in text
    assert "Run " in text and "6 create" in text


def test_cli_dry_run_writes_report_summary_and_metrics(tmp_path: Path):
    """`sync --dry-run --report --summary-file --metrics-file` against a sandbox on loopback."""
    app = create_app(SandboxSettings(api_keys=(API_KEY,), rate_limit=1000))
    with serve_in_thread(app) as base_url:
        world = World(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
        world.write_rows([contact_row(n) for n in range(3)])
        config = tmp_path / "sync.toml"
        config.write_text(config.read_text().replace("http://sandbox.test", base_url))
        args = ["--config", str(config), "--dry-run", "--report", str(tmp_path / "plan.html"),
                "--summary-file", str(tmp_path / "s.json"), "--metrics-file", str(tmp_path / "m.prom")]
        result = CliRunner().invoke(main, args, env={"OPENPHONE_API_KEY": API_KEY})
    assert result.exit_code == 0, result.output
    assert 'data-count="create"><span class="n">3</span>' in (tmp_path / "plan.html").read_text()
    assert json.loads((tmp_path / "s.json").read_text())["summary"]["create"] == 3
    assert parse_samples((tmp_path / "m.prom").read_text())["openphone_sync_last_run_dry_run"] == 1
    assert not list(app.state.sandbox.all_contacts()), "a dry run wrote to the API"


def test_cli_bad_config_still_writes_the_error_summary(tmp_path: Path):
    """A config that does not load exits 2 and the summary file says why."""
    (tmp_path / "sync.toml").write_text("[openphone]\nbase_url = 'nope'\n")
    summary = tmp_path / "s.json"
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "sync.toml"), "--summary-file", str(summary)])
    assert result.exit_code == 2
    document = json.loads(summary.read_text())
    assert document["exit_code"] == 2 and "base_url" in document["error"]["message"]
