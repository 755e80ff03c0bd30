"""The benchmark harness keeps working: its quick run (tiny sizes) writes every scenario.

Timing targets live in ``bench/RESULTS.md`` from the full run, never in tests; what is
checked here is that each scenario runs and that the counts it reports are right.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bench.scenario_plan import PG_URL

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "data"


@pytest.mark.slow
def test_the_quick_bench_run_writes_every_scenario_with_the_right_counts(tmp_path: Path):
    """Five scenarios; exactly as many writes as rows changed; no failed operation; nothing
    left behind: no file in the bench cache, no schema or table in PostgreSQL."""
    cache_before = _files(CACHE)
    out = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    text = out.read_text(encoding="utf-8")
    for number in range(1, 6):
        assert f"\n## {number}. " in text
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert rows["planned"].endswith("| met |")
    assert rows["write calls of the real run"].startswith("| write calls of the real run | 200 (200 PATCH)")
    assert rows["failed operations"].endswith("| met |")
    assert rows["with 429 bursts: failed operations"].endswith("| met |")
    assert rows["our write calls, hourly run"].startswith("| our write calls, hourly run | 5 |")
    assert rows["guide's loop: calls, hourly run"].startswith("| guide's loop: calls, hourly run | 500 (500 PATCH)")
    assert rows["planned creates"].endswith("| met |")
    assert _files(CACHE) == cache_before, "a quick run keeps its files in its temporary folder"
    assert _quick_schemas() == 0


def _files(folder: Path) -> set[Path]:
    return set(folder.rglob("*")) if folder.exists() else set()


def _quick_schemas() -> int:
    """Schemas a quick run made in PostgreSQL and did not drop."""
    engine = create_engine(PG_URL)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(
                "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'bench_quick_%'"
            )).scalar_one())
    finally:
        engine.dispose()
