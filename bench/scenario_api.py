"""Scenarios 3 and 4: how well a run uses the API's budget, and how many calls it needs.

Scenario 3 runs the sync (a child process) against ``sync sandbox`` served by uvicorn in
another process, at the real limit (10 requests a second per key) with 200 ms ± 50 ms of
latency, and reads the write times from the sandbox's request log. Scenario 4 counts the
calls of an hourly run next to the vendor guide's loop, in-process (only counts matter).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.common import API_KEY, SEED, csv_connector, median, run_child, write_config
from bench.data import changed_rows, people, write_csv
from bench.report import Section

LATENCY = ("--latency-ms", "200", "--jitter-ms", "50")


@dataclass(frozen=True)
class ApiSizes:
    """How big the API scenarios run."""

    creates: int
    rate_repeats: int
    naive_creates: int
    economy_rows: int

    @classmethod
    def full(cls) -> ApiSizes:
        return cls(500, 3, 100, 10_000)

    @classmethod
    def quick(cls) -> ApiSizes:
        return cls(30, 1, 10, 500)


@contextmanager
def sandbox_server(*flags: str) -> Iterator[str]:
    """``sync sandbox`` on a free loopback port in its own process; yields its base URL."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "sync", "sandbox", "--port", str(port), "--api-key", API_KEY, *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/_sandbox/stats", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the sandbox did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _inspect(url: str, what: str) -> Any:
    return httpx.get(f"{url}/_sandbox/{what}", timeout=30).json()


def _write_rate(url: str) -> tuple[int, float]:
    """Creates the sandbox answered 201, and their rate from the first to the last."""
    log = _inspect(url, "requests")["data"]
    times = sorted(
        datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")).timestamp()
        for e in log if e["method"] == "POST" and e["path"] == "/v1/contacts" and e["status"] == 201
    )
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return len(times), (len(times) - 1) / span if span else 0.0


def _one_sync(folder: Path, count: int, url: str) -> dict[str, Any]:
    shutil.rmtree(folder, ignore_errors=True)
    source = write_csv_rows(folder / "contacts.csv", count)
    config = write_config(folder, csv_connector(source), base_url=url, rate=10, concurrency=8)
    return run_child("child", "run", str(config))


def write_csv_rows(path: Path, count: int) -> Path:
    write_csv(path, people(count, SEED + 3))
    return path


@contextmanager
def noisy_neighbour(url: str, every: float = 4.0, burst: int = 25) -> Iterator[dict[str, int]]:
    """Another client on the same key firing ``burst`` requests at once every ``every`` seconds.

    The limit is per key, so each burst fills the window and the sync meets a burst of 429s.
    """
    seen = {"bursts": 0, "requests": 0}
    stop = threading.Event()

    def fire() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": API_KEY}, timeout=10) as client, \
                ThreadPoolExecutor(burst) as pool:
            while not stop.wait(every):
                list(pool.map(lambda _: client.get("/v1/phone-numbers"), range(burst)))
                seen["bursts"] += 1
                seen["requests"] += burst

    thread = threading.Thread(target=fire, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(timeout=30)


def rate_budget(sizes: ApiSizes, work: Path) -> Section:
    n = sizes.creates
    section = Section(
        3, "The rate budget is used, not wasted",
        f"{n} new rows synced against `sync sandbox` (uvicorn, its own process) at 10 requests/s "
        f"per key with 200 ms ± 50 ms latency; the sync runs in its own process at `rate_limit = 10`. "
        "Write rate: creates answered 201, from the first to the last, in the sandbox's log; median of "
        f"{sizes.rate_repeats} runs. Reference: the vendor guide's loop, one request at a time, "
        f"{sizes.naive_creates} creates against the same sandbox.",
    )
    rates, failures, met_429, sent_429 = [], 0, 0, 0
    for i in range(sizes.rate_repeats):
        with sandbox_server("--rate-limit", "10", *LATENCY, "--seed", str(7 + i)) as url:
            result = _one_sync(work / f"s3-{i}", n, url)
            created, write_rate = _write_rate(url)
            sent_429 += _inspect(url, "stats")["sent_429"]
        assert created == n, f"run {i} created {created} of {n}"
        rates.append(write_rate)
        failures += result["summary"]["failed"]
        met_429 += result["rate_limited"]
    ours = median(rates)
    with sandbox_server("--rate-limit", "10", *LATENCY, "--seed", "3") as url:
        naive = _naive_creates(url, sizes.naive_creates)
    section.add("our write rate", f"{ours:.2f} creates/s (runs: {', '.join(f'{r:.2f}' for r in rates)})")
    section.add("write rate ÷ 10", f"{ours / 10:.3f}", "≥ 0.95", ours / 10 >= 0.95)
    section.add("failed operations", str(failures), "0", failures == 0)
    section.add("429s met (all runs)", f"{met_429} (the sandbox sent {sent_429})")
    section.add("guide's loop, one at a time", f"{naive:.2f} creates/s")
    section.add("ours ÷ guide's loop", f"{ours / naive:.1f}x")

    with sandbox_server("--rate-limit", "10", *LATENCY, "--seed", "11") as url, \
            noisy_neighbour(url) as neighbour:
        stormy = _one_sync(work / "s3-bursts", n, url)
        created, stormy_rate = _write_rate(url)
        stormy_sent = _inspect(url, "stats")["sent_429"]
    section.add("with 429 bursts: failed operations", str(stormy["summary"]["failed"]), "0",
                stormy["summary"]["failed"] == 0 and created == n)
    section.add("with 429 bursts: 429s met", f"{stormy['rate_limited']} (the sandbox sent {stormy_sent}, "
                f"{neighbour['bursts']} bursts of 25 requests from another client on the same key)")
    section.add("with 429 bursts: write rate", f"{stormy_rate:.2f} creates/s (the neighbour used "
                f"{neighbour['requests']} requests of the budget)")
    return section


def _naive_creates(url: str, count: int) -> float:
    """The guide's loop: one create at a time; returns creates per second."""
    bodies = [
        {"defaultFields": {"firstName": p.first, "lastName": p.last,
                           "phoneNumbers": [{"name": "primary", "value": p.e164}]}}
        for p in people(count, SEED + 9)
    ]
    with httpx.Client(base_url=url, headers={"Authorization": API_KEY}, timeout=30) as client:
        started = time.perf_counter()
        for body in bodies:
            client.post("/v1/contacts", json=body).raise_for_status()
        return count / (time.perf_counter() - started)


def economy(sizes: ApiSizes, work: Path) -> Section:
    n = sizes.economy_rows
    section = Section(
        4, "API economy: an hourly run over 10,000 contacts, 1% changed" if n == 10_000
        else f"API economy: an hourly run over {n:,} contacts, 1% changed",
        f"{n:,} rows synced once into the sandbox; then 1% of the rows edited and the next run's calls "
        "counted, next to the vendor guide's loop over the same file (which PATCHes every row that has "
        "a contact id).",
    )
    folder = work / "s4"
    shutil.rmtree(folder, ignore_errors=True)
    source = folder / "contacts.csv"
    write_csv(source, people(n, SEED + 4))
    config = write_config(folder, csv_connector(source), rate=1000, concurrency=16)
    data = folder / "sandbox.json"
    first = run_child("child", "apply", str(config), str(data))
    assert first["summary"]["create"] == n, first["summary"]
    changed = changed_rows(n, 0.01, SEED + 4)
    write_csv(source, people(n, SEED + 4, changed))
    hourly = run_child("child", "apply", str(config), str(data))
    naive = run_child("child", "naive", str(source), str(data))
    by_method = hourly["by_method"]
    writes = sum(by_method.get(m, 0) for m in ("POST", "PATCH", "DELETE"))
    total = sum(by_method.values())
    naive_writes = naive["by_method"].get("PATCH", 0) + naive["by_method"].get("POST", 0)
    section.add("first run (setup)", f"{first['summary']['create']:,} creates, {first['api_calls']:,} calls "
                "(creates plus look-ups by externalId, 20 keys a call)")
    section.add("our write calls, hourly run", f"{writes:,}", f"≈ {len(changed):,} (rows changed)",
                writes == len(changed))
    section.add("our calls in all, hourly run", f"{total:,} ({_methods(by_method)})")
    section.add("guide's loop: calls, hourly run", f"{naive['calls']:,} ({_methods(naive['by_method'])})")
    section.add("guide's write calls ÷ ours", f"{naive_writes / max(writes, 1):,.0f}x")
    section.add("time at 10 requests/s: ours vs the guide's",
                f"{total / 10:,.0f} s vs {naive['calls'] / 10:,.0f} s")
    return section


def _methods(by_method: dict[str, int]) -> str:
    return ", ".join(f"{count:,} {method}" for method, count in sorted(by_method.items()))


def scenarios() -> Iterator[tuple[int, Any]]:
    """The API scenarios, by number."""
    yield 3, rate_budget
    yield 4, economy
