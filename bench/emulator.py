"""``python -m bench emulator``: how many requests a second the served Bitrix24 emulator
answers when many arrive at once (it has no single global lock: the state, the request bucket
and the faults have their own, and parsing and encoding hold none).

The emulator runs as ``bitrix24-emulator`` in a child process on loopback, on the
``unlimited`` plan (no request-rate limit: the portal's own 2 a second would be all we
measured) and with no simulated server time; ``--threads`` clients (threads with a plain
``http.client`` connection each, kept alive), send a mix of three ``crm.item.get``, one
``crm.item.list`` and one write (``crm.item.add``) for ``--seconds``. Every answer must be
200. Each ``--threads`` value gets a fresh emulator: a list scans every item, so a portal grown
by the previous run would slow the next.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

WEBHOOK = "bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the emulator exited at start-up")
        try:
            httpx.get(base + "/_emulator/state", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the emulator did not start")


def _client(
    address: tuple[str, int], path: str, stop: float, counts: list[int], errors: list[str]
) -> None:
    # http.client rather than httpx: the client's own cost per request is then small next to
    # the emulator's, which is what is measured (both share the machine).
    n = 0
    connection = http.client.HTTPConnection(*address, timeout=30)
    headers = {"Content-Type": "application/json"}
    bodies = {
        "crm.item.add": json.dumps({"entityTypeId": 1038, "fields": {"title": "B"}}),
        "crm.item.list": json.dumps({"entityTypeId": 1038, "order": {"id": "DESC"}, "start": -1}),
        "crm.item.get": json.dumps({"entityTypeId": 1038, "id": 1}),
    }
    try:
        while time.monotonic() < stop:
            method = (
                "crm.item.add" if n % 5 == 4 else "crm.item.list" if n % 5 == 2 else "crm.item.get"
            )
            connection.request("POST", path + method, body=bodies[method], headers=headers)
            response = connection.getresponse()
            answer = response.read()
            if response.status != 200 or b'"result"' not in answer:
                errors.append(f"{response.status}: {answer[:200]!r}")
                return
            n += 1
    finally:
        connection.close()
    counts.append(n)


def measure(hook: str, threads: int, seconds: float) -> dict[str, Any]:
    """Requests a second answered by ``threads`` concurrent clients for ``seconds``."""
    parts = urlsplit(hook)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    counts: list[int] = []
    errors: list[str] = []
    start = time.monotonic()
    stop = start + seconds
    workers = [
        threading.Thread(target=_client, args=(address, parts.path, stop, counts, errors))
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - start
    if errors:
        raise RuntimeError(f"the emulator refused a request: {errors[0]}")
    return {
        "benchmark": "bitrix24 emulator, concurrent requests",
        "threads": threads,
        "seconds": round(elapsed, 2),
        "requests": sum(counts),
        "requests_per_second": round(sum(counts) / elapsed, 1),
    }


def main(argv: list[str]) -> list[dict[str, Any]]:
    """Run the measurement for each ``--threads`` value; the rows for the results file."""
    parser = argparse.ArgumentParser(prog="python -m bench emulator")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    return [_run(threads, args.seconds) for threads in args.threads]


def _run(threads: int, seconds: float) -> dict[str, Any]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "bitrix24_emulator",
        "--port",
        str(port),
        "--plan",
        "unlimited",
        "--webhook-token",
        WEBHOOK,
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        _wait(base, process)
        hook = f"{base}/rest/1/{WEBHOOK}/"
        httpx.post(hook + "crm.item.add", json={"entityTypeId": 1038, "fields": {"title": "A"}})
        return measure(hook, threads, seconds)
    finally:
        process.terminate()
        process.wait(timeout=10)
