"""What every scenario shares: paths, the sync config, timing, memory and child processes.

Each measured run happens in a fresh child process (``python -m bench.<scenario> ...``)
that prints one JSON object as its last line of output; its peak RSS is its own
``VmHWM``, so nothing the harness itself allocated is counted.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
API_KEY = "bench-key-0123456789"
SEED = 20240611
SOURCE = "crm"

SOURCE_TOML = """
[openphone]
base_url = "{base_url}"
rate_limit = {rate}
concurrency = {concurrency}
max_retries = 8

[state]
url = {state_url}

[[sources]]
name = "{source}"
{connector}
key = "id"
default_region = "US"
delete = "mirror"

[sources.fields]
firstName = "First Name"
lastName = "Last Name"
company = "Company"
emails = {{ work = "Email" }}
phoneNumbers = {{ mobile = "Mobile" }}

[sources.custom_fields]
"Account Tier" = "Tier"
"""


def csv_connector(path: Path) -> str:
    """The connector lines of a CSV source."""
    return f'type = "csv"\npath = {json.dumps(str(path))}'


def sql_connector(table: str, url_env: str, batch_size: int = 2000) -> str:
    """The connector lines of a SQL source reading a whole table."""
    return f'type = "sql"\nurl_env = "{url_env}"\ntable = "{table}"\nbatch_size = {batch_size}'


def write_config(
    folder: Path,
    connector: str,
    *,
    base_url: str = "http://sandbox.bench",
    rate: float = 10,
    concurrency: int = 8,
) -> Path:
    """Write ``sync.toml`` (state in ``state.db`` next to it) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    text = SOURCE_TOML.format(
        base_url=base_url, rate=rate, concurrency=concurrency, source=SOURCE,
        state_url=json.dumps(f"sqlite:///{folder / 'state.db'}"), connector=connector,
    )
    path = folder / "sync.toml"
    path.write_text(text, encoding="utf-8")
    return path


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (VmHWM; ru_maxrss elsewhere)."""
    with contextlib.suppress(OSError):  # no /proc (not Linux): the portable figure below
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``action`` took, and what it returned."""
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def median(values: Sequence[float]) -> float:
    """The median (of at least one value)."""
    return float(statistics.median(values))


def emit(result: dict[str, Any]) -> None:
    """Print a child's result as the last line of its output (read by :func:`run_child`)."""
    result.setdefault("peak_rss_mb", round(peak_rss_mb(), 1))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def run_child(module: str, *args: str, env: dict[str, str] | None = None,
              timeout: float = 900) -> dict[str, Any]:
    """Run ``python -m bench.<module> args`` in a fresh process; return its JSON result."""
    completed = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True,
        timeout=timeout, check=False,
    )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        raise RuntimeError(
            f"bench.{module} {' '.join(args)} exited {completed.returncode}:\n"
            f"{completed.stderr[-4000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def rate(count: float, seconds: float) -> float:
    """Count per second (0 when no time passed)."""
    return count / seconds if seconds > 0 else 0.0
