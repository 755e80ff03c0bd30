"""Measure how many requests a second the sandbox answers on loopback.

Starts ``sync sandbox`` (uvicorn, rate limit raised, no latency) in a subprocess, then
drives it for a few seconds with concurrent httpx clients (one process each, so the
clients do not share a GIL) doing a realistic mix: create, get, patch, list by
externalId, delete. Prints requests/s, counted from the start of the clients.

    .venv/bin/python bench/sandbox_throughput.py [--seconds 3] [--clients 4]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

KEY = "bench-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(port: int) -> subprocess.Popen[bytes]:
    code = "from sync.sandbox.cli import sandbox_command; sandbox_command()"
    args = ["--port", str(port), "--api-key", KEY, "--rate-limit", "1000000"]
    process = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/_sandbox/stats", timeout=1).raise_for_status()
        except httpx.TransportError:
            time.sleep(0.05)
        else:
            return process
    process.kill()
    raise SystemExit("sandbox did not start")


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; Linux only."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _one_cycle(client: httpx.Client, n: int) -> int:
    """Create, get, patch, list by externalId, delete one contact: five requests."""
    phone = f"+1555{n % 10_000_000:07d}"
    body = {
        "defaultFields": {"firstName": f"Bench {n}", "phoneNumbers": [{"name": "m", "value": phone}]},
        "externalId": f"bench-{n}",
    }
    created = client.post("/v1/contacts", json=body).json()["data"]["id"]
    client.get(f"/v1/contacts/{created}")
    client.patch(f"/v1/contacts/{created}", json={"defaultFields": {"lastName": "X"}})
    client.get("/v1/contacts", params={"maxResults": 10, "externalIds": f"bench-{n}"})
    response = client.delete(f"/v1/contacts/{created}")
    assert response.status_code == 204, response.text
    return 5


def _worker(args: tuple[str, float, int]) -> int:
    """One client: a keep-alive httpx.Client doing cycles until the deadline."""
    base_url, seconds, worker = args
    done = 0
    with httpx.Client(base_url=base_url, headers={"Authorization": KEY}) as client:
        deadline = time.monotonic() + seconds
        n = worker * 10_000_000
        while time.monotonic() < deadline:
            done += _one_cycle(client, n)
            n += 1
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=4, help="concurrent client processes")
    options = parser.parse_args()
    port = _free_port()
    server = _start_server(port)
    try:
        base_url = f"http://127.0.0.1:{port}"
        jobs = [(base_url, options.seconds, w) for w in range(options.clients)]
        cpu_before = _cpu_seconds(server.pid)
        started = time.monotonic()
        with multiprocessing.Pool(options.clients) as pool:
            total = sum(pool.map(_worker, jobs))
        elapsed = time.monotonic() - started
        cpu_after = _cpu_seconds(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"{total} requests in {elapsed:.2f} s: {total / elapsed:,.0f} requests/s "
          f"({options.clients} concurrent httpx clients, one process each)")
    if cpu_before is not None and cpu_after is not None and total:
        per_request = (cpu_after - cpu_before) / total
        print(f"server CPU: {per_request * 1e6:,.0f} us per request, "
              f"so one core serves about {1 / per_request:,.0f} requests/s")


if __name__ == "__main__":
    main()
