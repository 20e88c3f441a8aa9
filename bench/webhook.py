"""``python -m bench webhook``: the webhook backend delivering documents to a loopback receiver.

What runs: N documents (default 3,000) created through the services in a cabinet on SQLite,
each queueing its ``document.created`` message (and the client's messages once), then drained
by the real worker (its production claim, ``Settings.worker_batch_size``) and
``WebhookBackend`` (8 kept-alive connections) to a
receiver on 127.0.0.1 in a spawned child process, so its work does not share this
interpreter's lock, as a real receiver would not. The receiver is a lean asyncio HTTP/1.1
server (the machine's time should go to the side being measured); it checks every signature
(HMAC over id, timestamp and body, as the docs tell receivers to) and answers 204.

Reported: documents a second through the worker (claims, the signed POSTs, marking delivered),
documents per CPU second of the delivering process (what one free core would reach: the machine
is shared, and wall time also counts other processes' turns),
the same bodies POSTed by bare httpx on the same pool size without the cabinet (the ceiling of
this machine and receiver), their ratio, and any call the receiver refused. The goal is at
least 500 documents a second.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import multiprocessing
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Client, Document, DocumentLine, Party
from cabinet_core.hookspecs import Register, hookimpl
from cabinet_core.settings import Settings
from cabinet_core.worker import Worker
from cabinet_webhook import WebhookBackend, WebhookSettings

SECRET = "whsec_" + base64.b64encode(b"bench-webhook-secret-32-bytes!!!").decode()
CONNECTIONS = 8
GOAL = 500.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class _Receiving:
    """One HTTP/1.1 keep-alive connection of the receiver: parse each request, check its
    signature, count it, answer 204 (401 for a bad signature)."""

    def __init__(self, key: bytes, accepted: Any, refused: Any) -> None:
        self.key = key
        self.accepted = accepted
        self.refused = refused
        self.buffer = b""
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            signed = f"{headers.get('webhook-id')}.{headers.get('webhook-timestamp')}.".encode()
            mac = hmac.new(self.key, signed + body, hashlib.sha256).digest()
            expected = "v1," + base64.b64encode(mac).decode()
            good = hmac.compare_digest(expected, headers.get("webhook-signature", ""))
            counter = self.accepted if good else self.refused
            with counter.get_lock():
                counter.value += 1
            status = b"204 No Content" if good else b"401 Unauthorized"
            self.transport.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n")

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def eof_received(self) -> bool:
        return False


def _serve(port: int, accepted: Any, refused: Any) -> None:
    """The receiver (in the child process): a lean asyncio HTTP/1.1 server, so the machine's
    time goes to the cabinet's side, which is what is measured."""
    import asyncio

    key = base64.b64decode(SECRET.removeprefix("whsec_"))

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _Receiving(key, accepted, refused), "127.0.0.1", port
        )
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


@contextmanager
def receiver() -> Iterator[tuple[str, Any, Any]]:
    """A receiver in a spawned process: its URL and its accepted/refused counters."""
    context = multiprocessing.get_context("spawn")
    accepted, refused = context.Value("i", 0), context.Value("i", 0)
    port = _free_port()
    process = context.Process(target=_serve, args=(port, accepted, refused), daemon=True)
    process.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the receiver did not start") from None
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/cabinet", accepted, refused
    finally:
        process.terminate()
        process.join(10)


class WebhookTo:
    """Registers the webhook backend aimed at the receiver."""

    def __init__(self, url: str) -> None:
        self.url = url

    @hookimpl
    def register_crm_backends(self, register: Register) -> None:
        settings = WebhookSettings(url=self.url, secret=SECRET, connections=CONNECTIONS)
        register("webhook", lambda cabinet: WebhookBackend(settings))


def fill(cabinet: Cabinet, documents: int) -> None:
    """One client and ``documents`` invoices with two lines each, queued in the outbox."""
    system = Actor.system()
    client = cabinet.clients.create(system, Client(name="Alfa sp. z o.o.", nip="5250000110"))
    assert client.id is not None
    buyer = Party(name="Kupiec S.A.", nip="5260001246")
    lines = (
        DocumentLine(name="Obsługa księgowa", unit_price=Decimal("1234.56")),
        DocumentLine(name="Szkolenie", quantity=Decimal(2), unit_price=Decimal("300.00")),
    )
    for _ in range(documents):
        cabinet.documents.create(
            system,
            Document(
                client_id=client.id,
                doc_type="vat_invoice",
                issue_date=date(2026, 12, 1),
                buyer=buyer,
                lines=lines,
            ),
        )


def through_the_worker(cabinet: Cabinet) -> tuple[int, float, float]:
    """Drain the outbox with the worker; (messages, wall seconds, this process's CPU seconds).

    The backend is built first (its client's TLS context and imports are start-up cost, paid
    once per worker process, not per document)."""
    cabinet.crm_backends()
    worker = Worker(cabinet)
    handled = 0
    start, cpu = time.perf_counter(), time.process_time()
    while True:
        done = worker.run_once()
        if not done:
            break
        handled += done
    return handled, time.perf_counter() - start, time.process_time() - cpu


def bare(url: str, bodies: list[bytes]) -> float:
    """Seconds for bare httpx to POST ``bodies`` (signed the same way) on the same pool."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    with (
        httpx.Client(limits=limits, timeout=10) as client,
        ThreadPoolExecutor(CONNECTIONS) as pool,
    ):

        def post(index_body: tuple[int, bytes]) -> int:
            index, body = index_body
            stamp = str(int(time.time()))
            signed = f"{index}.{stamp}.".encode() + body
            mac = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
            headers = {
                "Content-Type": "application/json",
                "Webhook-Id": str(index),
                "Webhook-Timestamp": stamp,
                "Webhook-Signature": f"v1,{mac}",
            }
            return client.post(url, content=body, headers=headers).status_code

        start = time.perf_counter()
        statuses = list(pool.map(post, enumerate(bodies)))
        elapsed = time.perf_counter() - start
    assert set(statuses) == {204}, set(statuses)
    return elapsed


def run(documents: int = 3000) -> list[dict[str, Any]]:
    """The benchmark (see the module docstring)."""
    with receiver() as (url, accepted, refused), tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), crm_backends=("webhook",), secret_key="bench-" + "x" * 32
        )
        with Cabinet(settings, load_entrypoints=False, plugins=[WebhookTo(url)]) as cabinet:
            cabinet.migrate()
            fill(cabinet, documents)
            pending = cabinet.store.list_outbox(status="pending", limit=documents + 10)
            bodies = [
                json.dumps(
                    {"id": m.id, "topic": m.topic, "data": dict(m.payload)},
                    ensure_ascii=False,
                    separators=(",", ":"),
                ).encode()
                for m in pending
            ]
            messages, seconds, cpu_seconds = through_the_worker(cabinet)
            left = len(cabinet.store.list_outbox(status="pending", limit=10))
        delivered = accepted.value
        bare_seconds = bare(url, bodies)
    rate = messages / seconds
    bare_rate = len(bodies) / bare_seconds
    return [
        {
            "name": "webhook_delivery",
            "documents": documents,
            "messages": messages,
            "seconds": round(seconds, 2),
            "per_second": round(rate, 1),
            "per_cpu_second": round(messages / cpu_seconds, 1),
            "bare_httpx_per_second": round(bare_rate, 1),
            "ratio_to_bare": round(rate / bare_rate, 2),
            "received": delivered,
            "refused_by_receiver": refused.value,
            "left_pending": left,
            "connections": CONNECTIONS,
            "goal": f">= {GOAL:g} documents/s",
            "met": rate >= GOAL,
        }
    ]


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """``python -m bench webhook [--documents N]``."""
    parser = argparse.ArgumentParser(prog="python -m bench webhook")
    parser.add_argument("--documents", type=int, default=3000)
    args = parser.parse_args(argv)
    rows = run(args.documents)
    for row in rows:
        print(json.dumps(row), file=sys.stderr)
    return rows
