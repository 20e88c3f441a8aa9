"""``python -m bench bitrix``: syncing documents to Bitrix24 under the portal's limits.

What runs: N documents (default 5,000), each with two product rows, queued in a cabinet's
outbox (SQLite) and delivered by the real worker and ``BitrixBackend`` to the emulator served
over HTTP on loopback (uvicorn in a thread of this process), on the standard plan's limits
(bucket of 50 requests draining 2 a second; 480 s of server time per method per 10 minutes).
The emulator spends simulated server time per command on the real clock, so a batch of 50
commands takes 0, 0.25 or 1 s to answer, and it serves concurrent requests concurrently as a
portal does.

The emulator runs in a child process (``multiprocessing``, spawned) so that its own work does
not compete with the client's for one interpreter lock, as a real portal would not.

The ceiling: each document needs 2 commands (the item, and its rows referring to the item
through ``$result``), 50 commands fit in one ``batch``, so N documents need at least
``ceil(2N/50)`` requests. The bucket lets the first 50 through at once and then 2 a second,
and the last answer comes one batch's server time later:
``ceiling = max(0, requests - 50) / 2 + server_time_per_batch`` (5,000 documents: 200
requests, 75 s + 0/0.25/1 s). The fraction reported is ``ceiling / measured``; lookups, the
parties' writes and every other request the connector makes count against it.

Also reported: duplicates and lost items (counted by the origin id in the portal), requests
per document, and the 503/429 answers the portal gave (a client that overruns the bucket gets
503 QUERY_LIMIT_EXCEEDED).

The anchor, when ``fast_bitrix24`` is importable (cabinet-bitrix's test extra;
``--anchor-path`` adds a directory holding it to ``sys.path``): the same items created with
its ``call("crm.item.add", [...])`` at its default settings, then the rows with
``call("crm.item.productrow.set", [...])`` using the ids it got (it cannot refer to results
across its batches), on a fresh emulator at the same speed: the same 2 commands per document
and so the same ceiling. If it raises part-way, the same items are sent again as a naive
retry would, and the duplicates are counted.

The operating-limit run (``--operating``) is on the emulator's virtual clock, in-process:
``crm.item.add`` costs 1 s of server time, so the method may run at most 480 times in ten
minutes (0.8 a second in the long run); the connector must pace itself rather than be
refused with 429 OPERATION_TIME_LIMIT. Virtual time lets it cover a simulated hour in
seconds; server time of concurrent requests is counted one after the other there, which can
only make the run look slower.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import math
import multiprocessing
import os
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import cabinet_bitrix.backend
import cabinet_bitrix.plugin
import httpx
from bitrix24_emulator import Emulator, EmulatorConfig, VirtualClock
from bitrix24_emulator.server import free_port, serve_in_thread
from cabinet_bitrix import BitrixBackend, BitrixClient, BitrixSettings
from cabinet_bitrix.backend import make_client
from cabinet_bitrix.batching import BATCH_LIMIT
from cabinet_bitrix.limiter import STANDARD, OperatingBudget, RequestBucket
from cabinet_core import Cabinet, Settings, hookimpl
from cabinet_core.entities import Address, Client, Document, DocumentLine, OutboxMessage, Party
from cabinet_core.worker import Worker

SPA = 1038  # the emulator's smart process, "Faktury"
SPEEDS = (0.0, 0.25, 1.0)


def ceiling_seconds(documents: int, batch_seconds: float) -> float:
    """The shortest time the standard plan allows for ``documents`` (see the module doc)."""
    requests = math.ceil(2 * documents / BATCH_LIMIT)
    return max(0, requests - STANDARD.burst) / STANDARD.drain + batch_seconds


class _Registration:
    def __init__(self, backend: BitrixBackend) -> None:
        self.backend = backend

    @hookimpl
    def register_crm_backends(self, register: Any) -> None:
        register("bitrix24-bench", lambda cabinet: self.backend)


def _cabinet(directory: Path, backend: BitrixBackend) -> Cabinet:
    settings = Settings(data_dir=directory, crm_backends=("bitrix24-bench",))
    cabinet = Cabinet(
        settings, load_entrypoints=False, plugins=[cabinet_bitrix.plugin, _Registration(backend)]
    )
    cabinet.migrate()
    return cabinet


def _queue(cabinet: Cabinet, count: int) -> list[int]:
    """``count`` issued invoices with two lines each, one outbox message per document."""
    ids = []
    with cabinet.store.transaction() as tx:
        owner = tx.add_client(
            Client(name="Kancelaria Bench Sp. z o.o.", nip="5260250274", address=Address())
        )
        for n in range(count):
            document = tx.add_document(
                Document(
                    client_id=owner.id,
                    doc_type="vat_invoice",
                    status="issued",
                    number=f"FV/{n + 1}/11/2026",
                    issue_date=date(2026, 11, 27),
                    buyer=Party(name=f"Kontrahent {n % 20}", nip="1234563218"),
                    lines=(
                        DocumentLine(name=f"Obsługa {n}", unit_price=Decimal(100 + n % 50)),
                        DocumentLine(
                            name="Książka", quantity=Decimal(2), unit_price=Decimal("9.5")
                        ),
                    ),
                )
            )
            assert document.id is not None
            ids.append(document.id)
            tx.add_outbox(
                OutboxMessage(topic="document.created", entity="document", entity_id=document.id),
                subscribers=cabinet.settings.crm_backends,
            )
    return ids


def _drain(worker: Worker, cabinet: Cabinet, sleep: Callable[[float], object]) -> None:
    """Run the worker until the outbox is empty, waiting for scheduled retries."""
    while True:
        if worker.run_once():
            continue
        pending = cabinet.store.list_outbox(status="pending", limit=10)
        if not pending:
            return
        due = min((m.next_attempt_at for m in pending if m.next_attempt_at), default=None)
        now = worker.clock()
        sleep(max((due - now).total_seconds(), 0.01) if due is not None else 0.1)


def _portal_stats(emulator: Emulator) -> dict[str, Any]:
    """What the portal received and holds, for the tally."""
    items = list(emulator.portal.items.get(SPA, {}).values())
    return {
        "requests": len(emulator.requests),
        "statuses": dict(emulator.statuses),
        "busy_seconds": emulator.busy_seconds,
        "origins": [item.get("xmlId") for item in items],
        "with_rows": sum(1 for item in items if emulator.portal.rows.get(("T40e", item["id"]))),
    }


def _serve_emulator(
    port: int, token: str, speed: float, ready: Any, stop: Any, results: Any
) -> None:  # pragma: no cover - runs in the child process
    emulator = Emulator(
        EmulatorConfig(
            portal_url=f"http://127.0.0.1:{port}",
            webhook_token=token,
            read_seconds=speed / BATCH_LIMIT,
            write_seconds=speed / BATCH_LIMIT,
            deliver_events_inline=False,
        )
    )
    with serve_in_thread(emulator, port=port):
        ready.set()
        stop.wait()
    results.put(_portal_stats(emulator))


@contextmanager
def _portal(speed: float) -> Iterator[tuple[str, Callable[[], dict[str, Any]]]]:
    """An emulated portal at ``speed`` s per batch of 50, served by a child process (its own
    interpreter, so its work never competes with the client's for one GIL); yields the
    webhook URL and a function returning the portal's stats once the block is left."""
    context = multiprocessing.get_context("spawn")
    port, token = free_port(), secrets.token_hex(8)
    ready, stop, results = context.Event(), context.Event(), context.Queue()
    child = context.Process(
        target=_serve_emulator, args=(port, token, speed, ready, stop, results), daemon=True
    )
    child.start()
    stats: dict[str, Any] = {}
    try:
        if not ready.wait(60):
            raise RuntimeError("the emulator process did not start")
        yield f"http://127.0.0.1:{port}/rest/1/{token}/", lambda: stats
    finally:
        stop.set()
        stats.update(results.get(timeout=120))
        child.join(timeout=30)


def _items_now(webhook: str) -> int:
    """How many items the served emulator holds now (its control API)."""
    base = webhook.split("/rest/", 1)[0]
    state = httpx.get(f"{base}/_emulator/state", timeout=30).json()
    return len(state["items"].get(str(SPA), []))


def _tally(stats: dict[str, Any], origins: Sequence[str]) -> dict[str, Any]:
    seen = Counter(stats["origins"])
    wanted = set(origins)
    return {
        "items": len(stats["origins"]),
        "duplicates": sum(count - 1 for origin, count in seen.items() if origin in wanted),
        "lost": sum(1 for origin in wanted if origin not in seen),
        "items_with_rows": stats["with_rows"],
    }


def _timed(obj: object, name: str) -> list[float]:
    """Wrap ``obj.name`` to add its wall time to the returned one-element list."""
    spent = [0.0]
    method = getattr(obj, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - began

    setattr(obj, name, timed)
    return spent


def run_connector(
    documents: int, speed: float, *, batch_size: int, reconcile_after: bool = False
) -> dict[str, Any]:
    """The worker and ``BitrixBackend`` against the served emulator at ``speed`` s per 50;
    with ``reconcile_after``, then one reconciliation pass over the synced documents."""
    with _portal(speed) as (webhook, portal), tempfile.TemporaryDirectory() as tmp:
        settings = BitrixSettings(webhook_url=webhook, entity_types={"vat_invoice": SPA})
        # The production client: the plan's bucket (with its headroom), retries and timeouts.
        client = make_client(settings)
        backend = BitrixBackend(settings, client=client)
        cabinet = _cabinet(Path(tmp), backend)
        try:
            ids = _queue(cabinet, documents)
            worker = Worker(cabinet, batch_size=batch_size, lease_seconds=3600)
            pushing = _timed(backend, "deliver_many")
            start, cpu_start = time.perf_counter(), time.process_time()
            _drain(worker, cabinet, time.sleep)
            elapsed = time.perf_counter() - start
            cpu = time.process_time() - cpu_start
            delivered = len(cabinet.store.list_outbox(status="delivered", limit=documents + 1))
            failed = len(cabinet.store.list_outbox(status="failed", limit=documents + 1))
            checked: dict[str, Any] = {}
            if reconcile_after:
                checked = _reconcile_pass(cabinet, backend)
        finally:
            client.close()
            cabinet.close()
    stats = portal()
    # The sync's own requests: the reconciliation pass's are reported on their own.
    stats["requests"] -= checked.get("reconcile_requests", 0)
    ceiling = ceiling_seconds(documents, speed)
    return {
        **checked,
        "name": "bitrix_sync",
        "client": "cabinet",
        "documents": documents,
        "seconds_per_batch_of_50": speed,
        "worker_batch_size": batch_size,
        "in_flight": getattr(cabinet_bitrix.backend, "DEFAULT_IN_FLIGHT", None),
        "seconds": round(elapsed, 1),
        "ceiling_seconds": round(ceiling, 1),
        "fraction_of_ceiling": round(ceiling / elapsed, 3),
        # CPU time of this process (worker, backend, client threads, SQLite): what the
        # connector itself costs, and whether a run on a busy machine was CPU-bound.
        "client_cpu_seconds": round(cpu, 1),
        # Inside BitrixBackend.deliver_many (the rest is claiming and marking the outbox).
        "backend_seconds": round(pushing[0], 1),
        "load_average_1min": round(os.getloadavg()[0], 1),
        "emulator_busy_seconds": round(stats["busy_seconds"], 1),
        "requests": stats["requests"],
        "requests_per_document": round(stats["requests"] / documents, 4),
        "refused_503": stats["statuses"].get(503, 0),
        "refused_429": stats["statuses"].get(429, 0),
        "messages_delivered": delivered,
        "messages_failed": failed,
        **_tally(stats, [f"cabinet-document-{i}" for i in ids]),
    }


def _reconcile_pass(cabinet: Cabinet, backend: BitrixBackend) -> dict[str, Any]:
    """One reconciliation pass right after the backlog (every item changed since the last
    pass, every document compared): its requests against the target of at most one per 50
    documents, its time, and what it found."""
    from cabinet_bitrix.reconcile import reconcile

    before = backend.client.requests
    start = time.perf_counter()
    report = reconcile(cabinet.sync_port("bitrix24-bench"), backend)
    requests = backend.client.requests - before
    return {
        "reconcile_seconds": round(time.perf_counter() - start, 1),
        "reconcile_requests": requests,
        "reconcile_documents": report.convergence.checked,
        "reconcile_requests_per_50_documents": round(
            50 * requests / max(report.convergence.checked, 1), 3
        ),
        "reconcile_in_sync": report.convergence.in_sync,
        "reconcile_repaired": len(report.convergence.repaired),
    }


#: fast_bitrix24 was seen to stop sending without returning; its run is cut off after this.
ANCHOR_TIMEOUT = 300.0


def _bounded(call: Callable[[], object], seconds: float) -> str | None:
    """Run ``call`` in a daemon thread: ``None`` if it returned, else what stopped it (an
    exception, or no return within ``seconds``, the thread then being abandoned)."""
    outcome: list[str | None] = []

    def target() -> None:
        try:
            call()
            outcome.append(None)
        except Exception as exc:
            outcome.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if not outcome:
        return f"no return within {seconds:.0f} s (stopped sending)"
    return outcome[0]


def run_anchor(documents: int, speed: float) -> dict[str, Any]:
    """fast_bitrix24 at its defaults creating the same number of items (see the module doc)."""
    import fast_bitrix24  # type: ignore[import-not-found]

    origins = [f"anchor-{n}" for n in range(documents)]
    items = [
        {"entityTypeId": SPA, "fields": {"title": f"FV/{n + 1}/11/2026", "xmlId": origin}}
        for n, origin in enumerate(origins)
    ]
    row: dict[str, Any] = {
        "name": "bitrix_sync",
        "client": f"fast_bitrix24 {importlib.metadata.version('fast-bitrix24')}",
        "documents": documents,
        "seconds_per_batch_of_50": speed,
        "what": "items, then their rows in a second pass (it has no $result references)",
    }
    with _portal(speed) as (webhook, portal):
        bitrix = fast_bitrix24.Bitrix(webhook, verbose=False)

        def create() -> None:
            created = bitrix.call("crm.item.add", items)
            rows = [
                {
                    "ownerType": "T40e",
                    "ownerId": answer.get("item", answer)["id"],
                    "productRows": [
                        {"productName": f"Obsługa {n}", "price": "100", "quantity": "1"},
                        {"productName": "Książka", "price": "9.5", "quantity": "2"},
                    ],
                }
                for n, answer in enumerate(created)
            ]
            bitrix.call("crm.item.productrow.set", rows)

        start = time.perf_counter()
        row["gave_up"] = _bounded(create, ANCHOR_TIMEOUT)
        row["seconds"] = round(time.perf_counter() - start, 1)
        if row["gave_up"]:
            # What a naive caller does next: run the job again, with a new client (the same
            # object sends nothing more after giving up).
            row["items_after_first_try"] = _items_now(webhook)
            again = fast_bitrix24.Bitrix(webhook, verbose=False)
            row["retry_gave_up"] = _bounded(
                lambda: again.call("crm.item.add", items), ANCHOR_TIMEOUT
            )
    stats = portal()
    row["requests"] = stats["requests"]
    row["refused_503"] = stats["statuses"].get(503, 0)
    row["refused_429"] = stats["statuses"].get(429, 0)
    row.update(_tally(stats, origins))
    ceiling = ceiling_seconds(documents, speed)
    row["ceiling_seconds"] = round(ceiling, 1)
    if not row["gave_up"]:
        row["fraction_of_ceiling"] = round(ceiling / row["seconds"], 3)
    return row


def run_operating(documents: int, *, batch_size: int) -> dict[str, Any]:
    """``crm.item.add`` at 1 s of server time each, on the virtual clock (see the module doc)."""
    clock = VirtualClock()
    emulator = Emulator(
        EmulatorConfig(method_seconds={"crm.item.add": 1.0}, deliver_events_inline=False),
        clock=clock,
    )

    def sleep(seconds: float) -> None:
        clock.advance(seconds)

    client = BitrixClient(
        emulator.webhook_url,
        transport=emulator.transport(),
        bucket=RequestBucket(STANDARD, clock=clock.now, sleep=sleep),
        budget=OperatingBudget(clock=clock.now, sleep=sleep),
        clock=clock.now,
        sleep=sleep,
    )
    backend = BitrixBackend(
        BitrixSettings(webhook_url=emulator.webhook_url, entity_types={"vat_invoice": SPA}),
        client=client,
    )
    # One batch in flight: on a virtual clock the waits of concurrent threads would add up
    # instead of overlapping, and when a method's server-time budget binds, more requests in
    # flight cannot make it go faster anyway.
    in_flight = cabinet_bitrix.backend.DEFAULT_IN_FLIGHT  # type: ignore[attr-defined]
    cabinet_bitrix.backend.DEFAULT_IN_FLIGHT = 1  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as tmp:
        cabinet = _cabinet(Path(tmp), backend)
        try:
            ids = _queue(cabinet, documents)
            worker = Worker(
                cabinet,
                batch_size=batch_size,
                lease_seconds=24 * 3600,
                clock=lambda: datetime.fromtimestamp(clock.now(), UTC),
            )
            start_virtual, start_real = clock.now(), time.perf_counter()
            _drain(worker, cabinet, sleep)
            virtual = clock.now() - start_virtual
            real = time.perf_counter() - start_real
            failed = len(cabinet.store.list_outbox(status="failed", limit=documents + 1))
        finally:
            cabinet_bitrix.backend.DEFAULT_IN_FLIGHT = in_flight  # type: ignore[attr-defined]
            client.close()
            cabinet.close()
    # 480 s of crm.item.add per 10 minutes: the first 480 adds may go at once (one per
    # second of server time), then 480 more each time a window's worth of baskets expires.
    limit = 480
    windows = max(math.ceil(documents / limit) - 1, 0)
    ceiling = windows * 600 + (documents - windows * limit)
    return {
        "name": "bitrix_operating_limit",
        "client": "cabinet",
        "documents": documents,
        "server_seconds_per_item_add": 1.0,
        "virtual_seconds": round(virtual, 1),
        "real_seconds": round(real, 1),
        "ceiling_virtual_seconds": ceiling,
        "fraction_of_ceiling": round(ceiling / virtual, 3),
        "adds_per_second": round(documents / virtual, 3),
        "refused_429": emulator.statuses[429],
        "refused_503": emulator.statuses[503],
        "held_back_seconds": round(client.budget.waited, 1),
        "messages_failed": failed,
        **_tally(_portal_stats(emulator), [f"cabinet-document-{i}" for i in ids]),
    }


def main(argv: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Parse ``argv`` (see ``--help``), run, and return the result rows."""
    parser = argparse.ArgumentParser(prog="python -m bench bitrix", description=__doc__)
    parser.add_argument("--documents", type=int, default=5000)
    parser.add_argument(
        "--speeds",
        default=",".join(str(s) for s in SPEEDS),
        help="seconds of server time per batch of 50 commands, comma-separated",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="messages the worker claims at once (default: all the documents)",
    )
    parser.add_argument("--connector", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--anchor", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--anchor-path", type=Path, help="a directory holding fast_bitrix24")
    parser.add_argument("--operating", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--operating-documents", type=int, default=1500)
    parser.add_argument(
        "--reconcile",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="after the connector's sync, one reconciliation pass over its documents",
    )
    parser.add_argument(
        "--in-flight",
        type=int,
        default=None,
        help="batches the backend keeps in flight (default: the connector's own, "
        "cabinet_bitrix.pipeline.DEFAULT_IN_FLIGHT); 1 is a client that waits for each answer",
    )
    args = parser.parse_args(list(argv))
    if args.in_flight is not None:
        cabinet_bitrix.backend.DEFAULT_IN_FLIGHT = args.in_flight  # type: ignore[attr-defined]
    if args.anchor_path:
        sys.path.append(str(args.anchor_path))  # after site-packages: never shadows ours
    speeds = [float(s) for s in args.speeds.split(",") if s.strip()]
    batch_size = args.batch_size or args.documents
    rows: list[dict[str, Any]] = []
    for speed in speeds:
        if args.connector:
            rows.append(
                run_connector(
                    args.documents, speed, batch_size=batch_size, reconcile_after=args.reconcile
                )
            )
            print(rows[-1], file=sys.stderr, flush=True)
        if args.anchor:
            try:
                rows.append(run_anchor(args.documents, speed))
            except ImportError as exc:
                rows.append({"name": "bitrix_sync", "client": "fast_bitrix24", "skipped": str(exc)})
            print(rows[-1], file=sys.stderr, flush=True)
    if args.operating:
        rows.append(run_operating(args.operating_documents, batch_size=args.operating_documents))
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


if __name__ == "__main__":
    for result in main(sys.argv[1:]):
        print(result)
