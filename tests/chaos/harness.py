"""Real processes for the chaos and safety tests: a ``sync sandbox`` server and ``sync`` runs.

Everything here talks to the code under test the way a user does: the sandbox is a
subprocess on a free loopback port, each sync is ``python -m sync --config FILE`` with the
key in ``OPENPHONE_API_KEY``, and the test looks at the result through the sandbox's
``/_sandbox`` inspection routes and the state store's own API.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from state.store import StateStore

API_KEY = "chaos-key-4b1d9e0c7a"
TIER_KEY = "66f1c2a4e9b07d3a5c8e1f21"  # "Account Tier" in the sandbox's bundled fields
HEADER = ["id", "First Name", "Last Name", "Company", "Email", "Mobile", "Tier"]
START_TIMEOUT = 20.0

CONFIG = """\
[openphone]
base_url = {base_url}
rate_limit = {rate}
concurrency = {concurrency}
max_retries = {max_retries}
timeout = 10

[state]
{state}

{sources}
"""

SOURCE = """\
[[sources]]
name = "{name}"
type = "csv"
path = "{path}"
key = "id"
default_region = "US"
delete = "mirror"
{extra}

[sources.fields]
firstName = "First Name"
lastName = "Last Name"
company = "Company"
emails = {{ work = "Email" }}
phoneNumbers = {{ mobile = "Mobile" }}

[sources.custom_fields]
"Account Tier" = "Tier"
"""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def row(n: int, **overrides: str) -> dict[str, str]:
    """A valid source row with a fictional number (555-01xx); override any column."""
    values = {
        "id": f"K{n}", "First Name": f"First{n}", "Last Name": f"Last{n}", "Company": "Acme",
        "Email": f"person{n}@example.com", "Mobile": f"(415) 555-{100 + n % 100:04d}",
        "Tier": "Gold",
    }
    values.update(overrides)
    return values


def write_rows(path: Path, rows: Sequence[Mapping[str, str]]) -> None:
    """Write ``rows`` as the source CSV."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def e164(mobile: str) -> str:
    """The E.164 form of a ``(415) 555-0123`` number, as the sync normalizes it."""
    return "+1" + "".join(ch for ch in mobile if ch.isdigit())


def write_config(
    path: Path,
    base_url: str,
    state_url: str | None = None,
    *,
    sources: Sequence[tuple[str, str, str]] = (("crm", "contacts.csv", ""),),
    rate: float = 200,
    concurrency: int = 4,
    max_retries: int = 4,
    state_url_env: str | None = None,
) -> Path:
    """A config with one ``[[sources]]`` entry per ``(name, csv path, extra lines)``."""
    state = f"url_env = {json.dumps(state_url_env)}" if state_url_env else f"url = {json.dumps(state_url)}"
    text = CONFIG.format(
        base_url=json.dumps(base_url), rate=rate, concurrency=concurrency,
        max_retries=max_retries, state=state,
        sources="\n".join(SOURCE.format(name=n, path=p, extra=e) for n, p, e in sources),
    )
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Sandbox:
    """A ``sync sandbox`` subprocess on a free loopback port."""

    base_url: str
    process: subprocess.Popen[bytes]
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url, timeout=10.0)

    def contacts(self) -> list[dict[str, Any]]:
        """Every contact the sandbox holds."""
        data: list[dict[str, Any]] = self.client.get("/_sandbox/contacts").json()["data"]
        return data

    def stats(self) -> dict[str, Any]:
        """The sandbox's counters (requests, statuses, faults injected)."""
        stats: dict[str, Any] = self.client.get("/_sandbox/stats").json()
        return stats

    def requests_seen(self) -> int:
        """How many /v1 requests the sandbox has answered (or dropped) so far."""
        return int(self.stats()["requests"])

    def add_contact(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a contact as someone else would, through the public API."""
        response = self.client.post("/v1/contacts", json=dict(body), headers={"Authorization": API_KEY})
        response.raise_for_status()
        data: dict[str, Any] = response.json()["data"]
        return data

    def set_custom_fields(self, definitions: Sequence[Mapping[str, str]]) -> None:
        """Replace the custom-field definitions (to retype a field, say)."""
        self.client.put("/_sandbox/custom-fields", json=list(definitions)).raise_for_status()

    def custom_fields(self) -> list[dict[str, str]]:
        """The current custom-field definitions."""
        data: list[dict[str, str]] = self.client.get("/_sandbox/custom-fields").json()["data"]
        return data

    def close(self) -> None:
        """Stop the server (Ctrl-C, as a user would) and close the inspection client."""
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def sandbox_process(tmp: Path, *flags: str, seed: int = 7) -> Iterator[Sandbox]:
    """Start ``sync sandbox`` with ``flags`` and wait until it answers."""
    port = free_port()
    log = open(tmp / f"sandbox-{port}.log", "wb")  # noqa: SIM115  (closed below)
    command = [
        sys.executable, "-m", "sync", "sandbox", "--port", str(port), "--api-key", API_KEY,
        "--seed", str(seed), *flags,
    ]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    sandbox = Sandbox(f"http://127.0.0.1:{port}", process)
    try:
        _wait_until_up(sandbox)
        yield sandbox
    finally:
        sandbox.close()
        log.close()


def _wait_until_up(sandbox: Sandbox) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if sandbox.process.poll() is not None:
            raise RuntimeError(f"the sandbox exited with {sandbox.process.returncode}")
        try:
            sandbox.stats()
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        else:
            return


def sync_env(api_key: str = API_KEY, **extra: str) -> dict[str, str]:
    """The environment of a sync process: ours, plus the key, minus config overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENPHONE_SYNC")}
    env.update(OPENPHONE_API_KEY=api_key, **extra)
    return env


@dataclass
class SyncRun:
    """A finished ``sync`` process: its exit code, stdout and stderr."""

    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        """The ``--output json`` document."""
        document: dict[str, Any] = json.loads(self.stdout)
        return document


def start_sync(
    config: Path, *args: str, env: Mapping[str, str] | None = None, tag: str = "run"
) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """Start ``python -m sync --config FILE ARGS``; returns the process and its output files."""
    out, err = config.parent / f"{tag}.out", config.parent / f"{tag}.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "sync", "--config", str(config), *args],
            stdout=stdout, stderr=stderr, env=dict(env or sync_env()), cwd=config.parent,
        )
    return process, out, err


def finish(process: subprocess.Popen[bytes], out: Path, err: Path, timeout: float = 120) -> SyncRun:
    """Wait for a started sync and collect what it printed."""
    process.wait(timeout=timeout)
    return SyncRun(process.returncode, out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8"))


def run_sync(config: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120) -> SyncRun:
    """Run ``python -m sync`` to the end."""
    return finish(*start_sync(config, *args, env=env), timeout=timeout)


def expected_contact(source_row: Mapping[str, str]) -> dict[str, Any]:
    """What the sandbox must hold for a source row (in the shape :func:`actual_contact` gives)."""
    return {
        "firstName": source_row["First Name"],
        "lastName": source_row["Last Name"],
        "company": source_row["Company"],
        "emails": [source_row["Email"]],
        "phones": [e164(source_row["Mobile"])],
        "tier": source_row["Tier"] or None,
    }


def actual_contact(contact: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a sandbox contact the sync writes, comparable with :func:`expected_contact`."""
    fields = contact["defaultFields"]
    custom = {c["key"]: c.get("value") for c in contact.get("customFields") or []}
    return {
        "firstName": fields.get("firstName"),
        "lastName": fields.get("lastName"),
        "company": fields.get("company"),
        "emails": [e["value"] for e in fields.get("emails") or []],
        "phones": [p["value"] for p in fields.get("phoneNumbers") or []],
        "tier": custom.get(TIER_KEY),
    }


@dataclass
class Audit:
    """How the sandbox and the state store compare with the source."""

    duplicates: list[str]
    lost: list[str]
    extra: list[str]
    wrong_values: dict[str, tuple[Any, Any]]
    state_mismatches: list[str]
    open_intents: int

    @property
    def clean(self) -> bool:
        """True when nothing at all is wrong."""
        return not (self.duplicates or self.lost or self.extra or self.wrong_values
                    or self.state_mismatches or self.open_intents)


def audit(
    contacts: Sequence[Mapping[str, Any]],
    rows: Sequence[Mapping[str, str]],
    state_url: str,
    source: str = "crm",
) -> Audit:
    """Compare the sandbox's contacts of ``source`` and the state store with the source rows."""
    ours = [c for c in contacts if c.get("source") == source]
    by_id: dict[str, list[Mapping[str, Any]]] = {}
    for contact in ours:
        by_id.setdefault(str(contact.get("externalId")), []).append(contact)
    wanted = {r["id"]: r for r in rows}
    wrong = {
        key: (expected_contact(wanted[key]), actual_contact(found[0]))
        for key, found in by_id.items()
        if key in wanted and actual_contact(found[0]) != expected_contact(wanted[key])
    }
    with StateStore.open(state_url) as store:
        links = store.load_links(source)
        open_intents = len(store.open_intents())
    mismatches = []
    for key, link in links.items():
        found = by_id.get(key, [])
        if link.status != "synced" or link.contact_id is None:
            mismatches.append(f"{key}: link {link.status} (contact {link.contact_id})")
        elif [str(c["id"]) for c in found] != [link.contact_id]:
            mismatches.append(f"{key}: link says {link.contact_id}, sandbox has {[c['id'] for c in found]}")
    mismatches += [f"{key}: in the sandbox but not linked" for key in by_id if key not in links]
    return Audit(
        duplicates=sorted(k for k, found in by_id.items() if len(found) > 1),
        lost=sorted(k for k in wanted if k not in by_id),
        extra=sorted(k for k in by_id if k not in wanted),
        wrong_values=wrong,
        state_mismatches=mismatches,
        open_intents=open_intents,
    )
