"""Run every benchmark scenario and write ``bench/RESULTS.md``.

    .venv/bin/python -m bench.run                 # the full run, about 15 minutes
    .venv/bin/python -m bench.run --quick --out /tmp/RESULTS.md   # tiny sizes (CI)
    .venv/bin/python -m bench.run --only 1 3      # some scenarios

Data is generated deterministically and cached in ``bench/data/`` (git-ignored): CSV
files, seeded state stores, and PostgreSQL tables named ``bench_contacts_*`` in the
database ``test`` (``--clean`` drops them all). Every measurement runs in a fresh child
process; see :mod:`bench.child`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench import scenario_api, scenario_plan
from bench.common import DATA, ROOT
from bench.report import Section, render

RESULTS = ROOT / "bench" / "RESULTS.md"


def clean() -> None:
    """Forget the cached data: files and the PostgreSQL tables."""
    import psycopg

    shutil.rmtree(DATA, ignore_errors=True)
    url = scenario_plan.PG_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE 'bench\\_contacts\\_%'"
        ).fetchall()
        for (name,) in tables:
            conn.execute(f'DROP TABLE "{name}"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the harness works")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"where to write (default {RESULTS})")
    parser.add_argument("--only", type=int, nargs="+", metavar="N", help="run only these scenarios")
    parser.add_argument("--clean", action="store_true", help="drop the cached data and exit")
    args = parser.parse_args(argv)
    if args.clean:
        clean()
        return 0
    plan_sizes = scenario_plan.Sizes.quick() if args.quick else scenario_plan.Sizes.full()
    api_sizes = scenario_api.ApiSizes.quick() if args.quick else scenario_api.ApiSizes.full()
    chosen = [
        *((n, lambda work, f=f: f(plan_sizes, work)) for n, f in scenario_plan.scenarios()),
        *((n, lambda work, f=f: f(api_sizes, work)) for n, f in scenario_api.scenarios()),
    ]
    chosen = sorted((n, f) for n, f in chosen if not args.only or n in args.only)
    started = time.monotonic()
    sections: list[Section] = []
    with tempfile.TemporaryDirectory(prefix="openphone-sync-bench-") as tmp:
        for number, scenario in chosen:
            print(f"scenario {number} ...", file=sys.stderr, flush=True)
            began = time.monotonic()
            section = scenario(Path(tmp))
            sections.append(section)
            print(f"scenario {number}: {section.verdict} ({time.monotonic() - began:.0f} s)",
                  file=sys.stderr, flush=True)
    command = "python -m bench.run" + (" --quick" if args.quick else "") + (
        f" --only {' '.join(map(str, args.only))}" if args.only else "")
    args.out.write_text(render(sections, command, time.monotonic() - started, args.quick), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
