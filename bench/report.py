"""The results of a bench run, and ``bench/RESULTS.md`` written from them."""

from __future__ import annotations

import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.common import ROOT


@dataclass
class Figure:
    """One measured figure, optionally next to its target."""

    name: str
    value: str
    target: str = ""
    met: bool | None = None  # None: no target (reported only)


@dataclass
class Section:
    """One scenario's results."""

    number: int
    title: str
    setup: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, value: str, target: str = "", met: bool | None = None) -> None:
        self.figures.append(Figure(name, value, target, met))

    @property
    def verdict(self) -> str:
        checked = [f.met for f in self.figures if f.met is not None]
        if not checked:
            return "reported"
        return "met" if all(checked) else "NOT met"


def _machine() -> list[str]:
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown CPU"
    try:
        memory_kb = int(next(
            line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ))
        memory = f"{memory_kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "unknown"
    import os

    return [
        f"- machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), {memory} RAM",
        f"- Python {platform.python_version()}; "
        + ", ".join(f"{name} {_version(name)}" for name in
                    ("openphone-sync", "httpx", "sqlalchemy", "phonenumbers", "psycopg", "uvicorn")),
        f"- commit {_commit()}",
    ]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=False, timeout=10)
    except OSError:
        return "unknown"
    # Only code counts: a README being edited while the bench runs changes no figure.
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "*.py",
                            "pyproject.toml"], cwd=ROOT, capture_output=True, text=True, check=False,
                           timeout=10).stdout.strip()
    return (done.stdout.strip() or "unknown") + (" (with uncommitted code changes)" if dirty else "")


def render(sections: list[Section], command: str, seconds: float, quick: bool) -> str:
    """RESULTS.md as text."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results" + (" (quick run: tiny sizes, for CI; figures mean nothing)" if quick else ""),
        "",
        f"Written by `{command}` on {when}, in {seconds / 60:.1f} minutes.",
        "",
        *_machine(),
        "",
        "Each figure is measured in this one run, next to its reference, so the ratios hold on a "
        "noisy machine. Times are medians of the runs noted; memory is the peak RSS (VmHWM) of the "
        "process that did the work, interpreter and imports included.",
        "",
        "| # | scenario | verdict |",
        "|---|---|---|",
        *[f"| {s.number} | {s.title} | {s.verdict} |" for s in sections],
        "",
    ]
    for s in sections:
        lines += [f"## {s.number}. {s.title}", "", s.setup, "",
                  "| figure | value | target | |", "|---|---|---|---|"]
        for f in s.figures:
            mark = "" if f.met is None else ("met" if f.met else "**not met**")
            lines.append(f"| {f.name} | {f.value} | {f.target} | {mark} |")
        lines.append("")
        # A note starting with spaces continues the one before it, as a sub-item.
        lines += [*(f"  - {n.strip()}" if n.startswith("  ") else f"- {n}" for n in s.notes), ""] \
            if s.notes else []
    return "\n".join(lines).rstrip() + "\n"
