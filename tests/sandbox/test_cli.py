"""``sync sandbox``: its options, and a real run stopped with Ctrl-C that saves --data."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from sync.sandbox import SandboxSettings, create_app
from sync.sandbox.cli import build_settings, sandbox_command

from .conformance import ConformanceLog
from .harness import contact_body

CLI = "from sync.sandbox.cli import sandbox_command; sandbox_command()"


def test_the_command_has_exactly_the_options_of_the_issue():
    """sandbox [--host] [--port] [--api-key]... and the fault, data and mode switches."""
    names = {opt for param in sandbox_command.params for opt in param.opts}
    assert sandbox_command.name == "sandbox"
    assert names == {
        "--host", "--port", "--api-key", "--rate-limit", "--latency-ms", "--jitter-ms",
        "--fail-rate", "--reset-rate", "--ambiguous-create-rate", "--spurious-429-rate",
        "--seed", "--custom-fields", "--data", "--no-retry-after", "--patch-mode",
    }
    defaults = {param.name: param.default for param in sandbox_command.params}
    assert (defaults["host"], defaults["port"], defaults["rate_limit"]) == ("127.0.0.1", 8787, 10)


def test_help_documents_every_option():
    """--help lists each option."""
    result = CliRunner().invoke(sandbox_command, ["--help"])
    assert result.exit_code == 0
    for option in ("--api-key", "--spurious-429-rate", "--no-retry-after", "--patch-mode"):
        assert option in result.output


def test_bad_values_are_refused_before_serving(tmp_path: Path):
    """A rate above 1 or a broken definitions file stops the command with a message."""
    runner = CliRunner()
    assert runner.invoke(sandbox_command, ["--fail-rate", "1.5"]).exit_code == 2
    fields = tmp_path / "fields.json"
    fields.write_text('[{"name": "A", "key": "k", "type": "colour"}]')
    result = runner.invoke(sandbox_command, ["--custom-fields", str(fields)])
    assert result.exit_code == 1
    assert "'type' must be one of" in result.output


def test_flags_become_settings(tmp_path: Path):
    """Repeated --api-key, --no-retry-after, --patch-mode and the files reach SandboxSettings."""
    fields = tmp_path / "fields.json"
    fields.write_text(json.dumps([{"name": "Region", "key": "a" * 24, "type": "string"}]))
    settings = build_settings(
        api_keys=("k1", "k2"), rate_limit=5, latency_ms=10, jitter_ms=2, fail_rate=0.1,
        reset_rate=0.2, ambiguous_create_rate=0.3, spurious_429_rate=0.4, seed=7,
        custom_fields=fields, data=tmp_path / "d.json", no_retry_after=True, patch_mode="merge",
    )
    assert settings.api_keys == ("k1", "k2")
    assert (settings.rate_limit, settings.seed, settings.send_retry_after) == (5, 7, False)
    assert settings.custom_fields == [{"name": "Region", "key": "a" * 24, "type": "string"}]
    assert settings.patch_mode == "merge" and settings.data_file == tmp_path / "d.json"
    assert build_settings(
        api_keys=(), rate_limit=10, latency_ms=0, jitter_ms=0, fail_rate=0, reset_rate=0,
        ambiguous_create_rate=0, spurious_429_rate=0, seed=None, custom_fields=None, data=None,
        no_retry_after=False, patch_mode="replace",
    ).api_keys == ("sandbox-key",)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(args: list[str]) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen([sys.executable, "-c", CLI, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines: list[str] = []
    while not any(line.startswith("OpenPhone sandbox on") for line in lines):
        line = process.stdout.readline()
        assert line, f"the sandbox exited early: {lines}"
        lines.append(line.rstrip("\n"))
    return process, lines


def _wait_until_serving(base_url: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.get(f"{base_url}/_sandbox/stats", timeout=1)
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the sandbox never answered"
            time.sleep(0.05)
        else:
            return


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=15)
    return process.returncode, output


def test_a_run_loads_data_prints_the_url_and_a_key_and_saves_on_ctrl_c(tmp_path: Path):
    """Start on a saved file, create a contact, Ctrl-C: exit 0 and both contacts saved."""
    port, data = _free_port(), tmp_path / "sandbox.json"
    seeded = create_app(SandboxSettings(data_file=data))
    seeded.state.sandbox.contacts.create(contact_body(externalId="saved-1"))
    seeded.state.sandbox.save()
    args = ["--port", str(port), "--api-key", "cli-key", "--data", str(data), "--seed", "3"]
    process, lines = _start(args)
    base_url = f"http://127.0.0.1:{port}"
    try:
        assert lines == [
            f"Loaded 1 contacts from {data}",
            "API key: cli-key",
            f"Try: curl -H 'Authorization: cli-key' '{base_url}/v1/contacts?maxResults=10'",
            f"OpenPhone sandbox on {base_url} (Ctrl-C to stop)",
        ]
        _wait_until_serving(base_url)
        log = ConformanceLog()
        with httpx.Client(base_url=base_url, headers={"Authorization": "cli-key"},
                          event_hooks={"response": [log.sync_hook]}) as client:
            created = client.post("/v1/contacts", json=contact_body(externalId="cli-1"))
        assert created.status_code == 201
    finally:
        code, output = _stop(process)
    assert code == 0, output
    assert output.strip().endswith(f"Saved 2 contacts to {data}")
    saved = json.loads(data.read_text())["contacts"]
    assert [c["externalId"] for c in saved] == ["saved-1", "cli-1"]
