"""``sync demo``: the bundled example data against an in-process sandbox.

No API key, no network, any working directory: the example CSV and its config ship in
the package, the sandbox runs inside this process, and the state lives in a temporary
folder that is removed afterwards. It shows the plan, applies it, then plans again to show
there is nothing left to do.
"""

from __future__ import annotations

import json
import tempfile
from importlib.resources import files
from pathlib import Path

import click
from rich.console import Console

from sync.config import parse_config
from sync.engine import EXIT_OK
from sync.runner import execute
from sync.sandbox import SandboxSettings, create_app, sandbox_transport

DEMO_KEY = "demo-key"
DEMO_RATE = 50


def run_demo(output: str = "text") -> int:
    """Run the demo; returns the exit code of the last step."""
    examples = Path(str(files("sync").joinpath("examples")))
    console = Console(highlight=False)
    app = create_app(SandboxSettings(api_keys=(DEMO_KEY,), rate_limit=DEMO_RATE))
    env = {"OPENPHONE_API_KEY": DEMO_KEY}
    documents = []
    with tempfile.TemporaryDirectory(prefix="openphone-sync-demo-") as tmp:
        text = (examples / "demo.toml").read_text(encoding="utf-8")
        text = text.replace('path = "contacts.csv"', f"path = {json.dumps(str(examples / 'contacts.csv'))}")
        text = text.replace("sqlite:///demo-state.db", f"sqlite:///{Path(tmp) / 'state.db'}")
        config = parse_config(text, Path(tmp) / "demo.toml", env)
        steps = [
            ("1/3  sync --dry-run: what would change in an empty workspace", True),
            ("2/3  sync: apply it to the sandbox", False),
            ("3/3  sync --dry-run again: nothing left to do", True),
        ]
        code = EXIT_OK
        for title, dry_run in steps:
            if output == "text":
                console.rule(f"[bold]{title}")
            result = execute(
                config, dry_run=dry_run, output="quiet" if output == "json" else output,
                env=env, transport=sandbox_transport(app), console=console, show_plan=dry_run,
            )
            documents.append(result.to_dict())
            code = result.exit_code
    if output == "json":
        click.echo(json.dumps({"steps": documents}, default=str))
    else:
        console.rule()
        console.print(
            "The demo ran against a local sandbox of the OpenPhone API. To try your own data: "
            "copy config.example.toml to sync.toml, point it at your CSV, and run "
            "`sync --dry-run` (see README.md)."
        )
    return code
