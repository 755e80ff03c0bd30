"""The command line: documented, thin, and keeping its promises about stdout and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sync.cli import main
from tests.chaos.harness import (
    free_port,
    row,
    run_sync,
    sandbox_process,
    sync_env,
    write_config,
    write_rows,
)
from tests.helpers import World, contact_row

ROOT = Path(__file__).resolve().parents[1]


def test_every_command_has_help_and_is_in_the_readme():
    """Each subcommand explains itself and the README mentions it."""
    readme = (ROOT / "README.md").read_text()
    for name, command in main.commands.items():
        assert command.help, f"sync {name} has no help text"
        assert f"sync {name}" in readme, f"sync {name} is not in the README"
    for code in range(5):
        assert f"| {code} |" in readme, f"exit code {code} is not documented"


def test_library_does_not_depend_on_the_cli():
    """`import sync` and the engine do not load the CLI modules (the CLI is a thin shell)."""
    code = "import sys, sync, sync.engine; print(sorted(m for m in sys.modules if m in ('sync.cli', 'sync.runner')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bad_config_exits_2_and_names_the_file(tmp_path: Path):
    """A config mistake is exit code 2 with the file and key in the message."""
    bad = tmp_path / "sync.toml"
    bad.write_text('[openphone]\nrate_limit = "fast"\n[[sources]]\nname="a"\ntype="csv"\npath="x.csv"\nkey="id"\n')
    result = CliRunner().invoke(main, ["--config", str(bad), "--dry-run"])
    assert result.exit_code == 2
    assert str(bad) in result.output and "openphone.rate_limit" in result.output


def test_missing_config_exits_2_and_says_what_to_do(tmp_path: Path):
    """No sync.toml: the message says to copy the example or pass --config."""
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "nope.toml"), "--dry-run"])
    assert result.exit_code == 2
    assert "config.example.toml" in result.output


def test_json_output_is_one_document_and_nothing_else(tmp_path: Path, state_url: str):
    """--output json prints exactly one JSON document on stdout, errors included."""
    world = World(tmp_path, state_url)
    world.write_rows([contact_row(1)])
    config = tmp_path / "sync.toml"
    config.write_text(config.read_text().split("[sources.custom_fields]")[0])
    result = subprocess.run(
        [sys.executable, "-m", "sync", "--config", str(tmp_path / "sync.toml"), "--dry-run",
         "--output", "json"],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path, check=False,
    )
    # No API key in the environment: the dry run still plans, and says so.
    document = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert document["summary"]["create"] == 1
    assert any("no API key" in note for note in document["notes"])


@pytest.mark.parametrize("args", [["--help"], ["demo", "--help"], ["sandbox", "--help"]])
def test_help_runs(args: list[str]):
    """Help texts print and exit 0."""
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_demo_runs_from_any_directory(tmp_path: Path):
    """`sync demo` needs no key, no network and no files of the user's."""
    result = subprocess.run([sys.executable, "-m", "sync", "demo", "--output", "json"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    steps = json.loads(result.stdout)["steps"]
    assert steps[0]["summary"]["create"] > 250
    assert steps[1]["summary"]["failed"] == 0
    assert steps[2]["summary"]["create"] == steps[2]["summary"]["update"] == 0


def test_an_api_nobody_answers_exits_4_could_not_start_and_writes_nothing(tmp_path: Path):
    """OpenPhone unreachable before the first write: exit 4 (the run could not start), not 1
    (which promises operations were tried and will be retried), in text and JSON output."""
    write_rows(tmp_path / "contacts.csv", [row(n) for n in range(3)])
    config = write_config(tmp_path / "sync.toml", f"http://127.0.0.1:{free_port()}",
                          f"sqlite:///{tmp_path / 'state.db'}", max_retries=1)
    text = run_sync(config, env=sync_env())
    assert text.returncode == 4, text.stderr[-2000:]
    assert "the run could not start" in text.stderr
    document = run_sync(config, "--output", "json", env=sync_env())
    assert document.returncode == 4
    assert document.json()["error"]["message"].startswith("the run could not start")


def test_text_that_looks_like_markup_is_shown_as_typed_and_never_crashes_a_run(tmp_path: Path):
    """Names, keys and column names like "[/b]" or "[red]" are contact data, not console
    markup: a text-mode run (what cron runs) applies them and shows them as typed, and an
    error naming such a column keeps its exit code and its text."""
    rows = [row(1, **{"First Name": "[/b]", "Company": "[red]Acme"}), row(2, id="[red]k2")]
    write_rows(tmp_path / "contacts.csv", rows)
    with sandbox_process(tmp_path) as sandbox:
        config = write_config(tmp_path / "sync.toml", sandbox.base_url, f"sqlite:///{tmp_path / 'state.db'}")
        env = sync_env(COLUMNS="200")
        preview = run_sync(config, "--dry-run", env=env)
        assert preview.returncode == 0, preview.stderr[-2000:]
        assert "[/b]" in preview.stdout and "[red]k2" in preview.stdout and "[red]Acme" in preview.stdout
        applied = run_sync(config, env=env)
        assert applied.returncode == 0, applied.stderr[-2000:]
        assert {c["externalId"] for c in sandbox.contacts()} == {"K1", "[red]k2"}
    header = (tmp_path / "contacts.csv").read_text(encoding="utf-8").replace("Company", "[/x]", 1)
    (tmp_path / "contacts.csv").write_text(header, encoding="utf-8")
    broken = run_sync(config, "--dry-run", env=env)
    assert broken.returncode == 4, broken.stderr[-2000:]
    shown = " ".join(broken.stderr.split())
    assert "the company column 'Company' (sources[crm].fields.company) is not in the source" in shown
    assert "'[/x]'" in shown
