"""``python -m bench ksef``: a firm's month through KSeF, against the emulator's limits.

What runs: a cabinet on SQLite with the KSeF plugin, N clients (default 300) with KSeF switched
on, each issuing S sales invoices (default 25) at the month's end, all at once (the worst case:
the accountant issues the month's invoices on its last day), and receiving P purchase invoices
(default 50) that sellers put into KSeF at random moments over the simulated days. The KSeF
emulator runs in-process (``emulator_transport``, no socket) with the documented per-client
limits of ksef-api.md §8 switched on, on a ``VirtualClock``; the cabinet's real ``Worker`` (its
outbox claim, the plugin's ``KsefSender`` and ``Receiver`` as the plugin composes them) reads
the same clock. Time moves only when the worker has nothing to do: the clock then jumps to the
next moment something is due (a retry the outbox scheduled, a periodic pass, a purchase invoice
appearing). So hours of KSeF time take seconds, the limits' windows and ``Retry-After`` are
honoured exactly, and the CPU the worker spends is measured for real.

Reported:

* **send ratio**: for every client, the virtual time from its first to its last send against
  the least time KSeF's invoiceSend windows (10/s, 30/min, 180/h) allow for the same number of
  sends; the firm's ratio is the least time the limits allow for the whole burst (the clients
  are counted separately, so in parallel) over the time it took. Goal ≥ 0.9. With
  ``--heavy N`` one more client sends N invoices, so the hourly window (not just the
  per-second one) is what binds.
* **receive lag**: for every purchase invoice, the virtual time from when it appeared in KSeF
  (its permanent-storage date) to when it was in its client's cabinet; the goal is that the
  longest is under an hour.
* **one worker**: the process CPU seconds of the worker's loop (this one process; the
  emulator's share is measured apart and subtracted, since KSeF's work is not the cabinet's),
  and what that means a second of CPU, against the firm-wide rate the limits allow.
* **first full sync**: a client with 10,000 past purchase invoices, the hours the receiving
  pass needs in virtual time, against the least the limits allow on that path.

Scale: the full size (300 clients, 7,500 out, 15,000 in, over a month) does not fit in the few
minutes a benchmark on this shared 2-core machine may take: issuing an invoice through the
services and importing an FA(3) file each cost tens of milliseconds of CPU, and a month of
receiving passes every 30 minutes is 432,000 client passes. So by default the clients are scaled
to 10 (1/30: 250 out, 500 in) plus one heavy client sending 400 (so the hourly window binds), the
purchase invoices arrive over 1 day instead of 30 (30 times denser than a month: harder on the
limits, not easier), and the first full sync is of 400 invoices (more than a page, so it takes
the export path as 10,000 would). Per-invoice and per-pass costs do not depend on the number of
clients, so the CPU figures scale linearly. ``--clients 300 --days 30 --backlog 10000`` runs the
real size (hours here).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import cabinet_ksef.plugin
import sqlalchemy as sa
from cabinet_core.app import Cabinet
from cabinet_core.crm import PeriodicTask
from cabinet_core.entities import Actor, Address, Client, Document, DocumentLine, Party
from cabinet_core.ksef.submission import KsefState
from cabinet_core.settings import Settings
from cabinet_core.storage.schema import outbox_deliveries
from cabinet_core.testing import TEST_SECRET_KEY, fast_password_hashing
from cabinet_core.worker import Worker
from cabinet_ksef.client import KsefClient
from cabinet_ksef.connections import Connections
from cabinet_ksef.credentials import CredentialVault, token_credentials
from cabinet_ksef.demo import purchase_xml
from cabinet_ksef.receiving import PAGE_SIZE, Receiver
from cabinet_ksef.sending import KsefSender
from cabinet_ksef.settings import KsefSettings
from ksef_emulator import Emulator, EmulatorConfig
from ksef_emulator.clock import VirtualClock
from ksef_emulator.limits import DEFAULT_LIMITS
from ksef_emulator.transport import emulator_transport

SYSTEM = Actor.system()
SUPPLIER_NIP = "5260001246"
GOAL_SEND_RATIO = 0.9
GOAL_LAG_SECONDS = 3600.0
RECEIVE_MINUTES = 30
BACKLOG = 10_000


def nip(index: int) -> str:
    """The ``index``-th valid NIP of a run (checksum digit right, never 10)."""
    weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
    candidate = 526_000_000 + index * 7
    while True:
        digits = [int(d) for d in f"{candidate:09d}"]
        check = sum(w * d for w, d in zip(weights, digits, strict=True)) % 11
        if check != 10 and digits[0] != 0:
            return f"{candidate:09d}{check}"
        candidate += 1


def least_span(count: int, windows: tuple[tuple[float, int], ...]) -> float:
    """The least time from the first to the last of ``count`` sends that sliding windows of
    ``(seconds, allowed)`` let through (each send as early as every window allows)."""
    sent: list[float] = []
    now = 0.0
    for _ in range(count):
        while True:
            wait = 0.0
            for seconds, allowed in windows:
                inside = [t for t in sent if t > now - seconds]
                if len(inside) >= allowed:
                    wait = max(wait, inside[len(inside) - allowed] + seconds - now)
            if wait <= 0:
                break
            now += wait
        sent.append(now)
    return sent[-1] - sent[0] if sent else 0.0


def send_windows() -> tuple[tuple[float, int], ...]:
    limit = DEFAULT_LIMITS["invoiceSend"]
    return tuple((seconds, allowed) for seconds, allowed, _ in limit.windows())


class _Timed:
    """Process CPU spent inside the emulator (subtracted from the worker's: KSeF's own work
    runs on the Ministry's machines, not the firm's)."""

    def __init__(self) -> None:
        self.cpu = 0.0
        #: KSeF's 429 answers by endpoint path shape (there should be none: the cabinet paces).
        self.refused: dict[str, int] = {}

    @contextmanager
    def measure(self) -> Iterator[None]:
        start = time.process_time()
        try:
            yield
        finally:
            self.cpu += time.process_time() - start


def _timed_transport(emulator: Emulator, timer: _Timed) -> Any:
    import httpx

    inner = emulator_transport(emulator)

    class Transport(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            with timer.measure():
                response = inner.handle_request(request)
                response.read()
            if response.status_code == 429:
                shape = "/".join(p if len(p) < 20 else "*" for p in request.url.path.split("/"))
                timer.refused[shape] = timer.refused.get(shape, 0) + 1
            return response

    return Transport()


class Month:
    """The cabinet, the emulator and the one worker, all on one virtual clock."""

    def __init__(self, cabinet: Cabinet, emulator: Emulator, clock: VirtualClock) -> None:
        self.cabinet = cabinet
        self.emulator = emulator
        self.clock = clock
        self.timer = _Timed()
        port = cabinet.ksef_port()
        settings = KsefSettings.of(cabinet)
        transport = _timed_transport(emulator, self.timer)

        def client(base_url: str) -> KsefClient:
            return KsefClient(base_url, transport=transport, clock=self.now)

        self.sender = KsefSender(
            port, settings, Connections(client, port, self.now), monotonic=clock.now
        )
        self.receiver = Receiver(self.sender, clock=self.now)
        self.imported_at: dict[str, float] = {}
        original = port.import_purchase

        def recording(client_id: int, xml: bytes, **kwargs: Any) -> Any:
            result = original(client_id, xml, **kwargs)
            self.imported_at.setdefault(kwargs["ksef_number"], clock.now())
            return result

        self.sent_at: dict[int, float] = {}
        mark_sent = port.mark_sent

        def recording_send(document_id: int, **kwargs: Any) -> Any:
            self.sent_at.setdefault(document_id, clock.now())
            return mark_sent(document_id, **kwargs)

        port.mark_sent = recording_send  # type: ignore[method-assign]
        self.receive_task = PeriodicTask(
            name="ksef.receive", interval_seconds=60.0, run=lambda _s: self.receiver.run()
        )
        port.import_purchase = recording  # type: ignore[method-assign]
        # The worker serves the plugin's subscriber; this one reads the virtual clock.
        cabinet._instances[("subscriber", "ksef")] = self.sender
        self.sender.extra_tasks = [self.receive_task]
        self.worker = Worker(cabinet, clock=self.now)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), tz=UTC)


def _cabinet(data_dir: Path, *, receive_minutes: int = RECEIVE_MINUTES) -> Cabinet:
    settings = Settings(
        data_dir=data_dir,
        secret_key=TEST_SECRET_KEY,
        plugins={
            "ksef": {
                "base_url": "http://ksef.invalid/v2",
                "poll_seconds": "2",
                "receive_minutes": str(receive_minutes),
                "backfill_days": "90",
            }
        },
    )
    cabinet = Cabinet(settings, load_entrypoints=False, plugins=[cabinet_ksef.plugin])
    fast_password_hashing(cabinet)
    cabinet.migrate()
    return cabinet


def _connect(cabinet: Cabinet, emulator: Emulator, number: str, index: int) -> Client:
    client = cabinet.clients.create(
        SYSTEM,
        Client(
            name=f"Klient {index}",
            nip=number,
            email=f"klient{index}@example.com",
            address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
        ),
    )
    assert client.id is not None
    emulator.add_subject(number, f"Klient {index}")
    port = cabinet.ksef_port()
    vault = CredentialVault(KsefSettings.of(cabinet).credentials_key, port)
    vault.keep(
        client.id,
        token_credentials(number, emulator.add_token(number)),
        now=port.now(),
        valid_until=None,
    )
    port.set_enabled(client.id, True)
    return client


def _issue(cabinet: Cabinet, client: Client, doc_type: str, day: date, n: int) -> int:
    assert client.id is not None
    document = Document(
        client_id=client.id,
        doc_type=doc_type,
        issue_date=day,
        due_date=day,
        buyer=Party(
            name="Kupiec S.A.",
            nip=SUPPLIER_NIP,
            address=Address(line1="ul. Długa 2", postal_code="00-002", city="Warszawa"),
        ),
        lines=(
            DocumentLine(
                name=f"Usługa {n}", quantity=Decimal(1 + n % 5), unit_price=Decimal("120.00")
            ),
        ),
    )
    stored = cabinet.documents.create(SYSTEM, document)
    assert stored.id is not None
    cabinet.documents.transition(SYSTEM, stored.id, "issue")
    return stored.id


def _drain(month: Month, *, until: float) -> tuple[int, float]:
    """Run the worker until ``until`` (virtual); jump the clock whenever it is idle. Returns
    (worker rounds, CPU seconds of the loop)."""
    rounds = 0
    cpu_start = time.process_time()
    worker = month.worker
    while month.clock.now() < until:
        handled = worker.run_once()
        worker.run_due_tasks()
        rounds += 1
        if not handled:
            month.clock.advance(_idle_step(month, until))
    return rounds, time.process_time() - cpu_start


def _idle_step(month: Month, until: float) -> float:
    """How far the clock may jump when the worker is idle: to the next due KSeF delivery or
    periodic pass (never past ``until``, never less than 10 ms)."""
    now = month.now()
    moments = list(month.worker._next_run.values())
    d = outbox_deliveries.c
    with month.cabinet.store.engine.connect() as connection:
        due = connection.execute(
            sa.select(sa.func.min(d.next_attempt_at)).where(
                d.subscriber == "ksef", d.delivered_at.is_(None), d.failed_at.is_(None)
            )
        ).scalar()
    if due is not None:
        moments.append(due if due.tzinfo else due.replace(tzinfo=UTC))
    step = min(((m - now).total_seconds() for m in moments), default=60.0)
    return max(min(step, until - month.clock.now()), 0.01)


def run(
    *,
    clients: int = 10,
    sales: int = 25,
    purchases: int = 50,
    days: float = 1.0,
    heavy: int = 0,
    backlog: int = 400,
    seed: int = 7,
) -> list[dict[str, Any]]:
    """The month (see the module's text); one result row per measure. A tiny month runs first
    so that imports and schema builds (paid once per process) are not counted."""
    with tempfile.TemporaryDirectory(prefix="bench-ksef-") as tmp:
        _month(Path(tmp) / "warm", clients=1, sales=2, purchases=2, days=0.05, heavy=0, seed=seed)
        rows = _month(
            Path(tmp) / "month",
            clients=clients,
            sales=sales,
            purchases=purchases,
            days=days,
            heavy=heavy,
            seed=seed,
        )
        if backlog:
            rows.append(first_full_sync(Path(tmp) / "backlog", backlog))
    return rows


def _month(
    data_dir: Path, *, clients: int, sales: int, purchases: int, days: float, heavy: int, seed: int
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    data_dir.mkdir()
    real_start = time.perf_counter()
    clock = VirtualClock(time.time())
    emulator = Emulator(
        EmulatorConfig(base_url="http://ksef.invalid", seed="bench", processing_seconds=0.0),
        clock=clock,
    )
    with _cabinet(data_dir) as cabinet:
        doc_type = next(t.key for t in cabinet.document_types.values() if t.ksef_kind == "VAT")
        firm = [_connect(cabinet, emulator, nip(i), i) for i in range(clients)]
        if heavy:
            firm.append(_connect(cabinet, emulator, nip(clients), clients))
        today = datetime.now(UTC).date()
        documents: dict[int, list[int]] = {}
        for index, client in enumerate(firm):
            count = heavy if index == clients else sales
            assert client.id is not None
            documents[client.id] = [
                _issue(cabinet, client, doc_type, today, n) for n in range(count)
            ]
        setup_seconds = time.perf_counter() - real_start
        # The virtual month starts now (after the setup's real time passed).
        clock.set(time.time())
        month = Month(cabinet, emulator, clock)
        start = clock.now()
        # Purchase invoices: each at a random moment of the simulated days.
        arrivals = sorted(
            (start + rng.uniform(0, days * 86400), client.nip or "", n)
            for client in firm[:clients]
            for n in range(purchases)
        )
        appeared: dict[str, float] = {}
        cpu = 0.0
        rounds = 0
        emulator_cpu_before = month.timer.cpu
        for moment, buyer, n in arrivals:
            r, c = _drain(month, until=moment)
            rounds, cpu = rounds + r, cpu + c
            clock.set(max(clock.now(), moment))
            xml = purchase_xml(SUPPLIER_NIP, buyer, f"Z/{buyer}/{n}", today)
            with month.timer.measure():
                number = emulator.put_invoice(xml)
            appeared[number] = clock.now()
        # After the last arrival, an hour more for the passes to fetch it.
        r, c = _drain(month, until=clock.now() + 3600.0)
        rounds, cpu = rounds + r, cpu + c
        end = clock.now()
        emulator_cpu = month.timer.cpu - emulator_cpu_before
        rows = _send_rows(month, documents, clients, heavy)
        rows += _receive_rows(month, appeared)
        total_sent = sum(len(ids) for ids in documents.values())
        worker_cpu = max(cpu - emulator_cpu, 1e-9)
        allowed_rate = (clients + (1 if heavy else 0)) * DEFAULT_LIMITS["invoiceSend"].per_hour
        rows.append(
            {
                "name": "ksef.one_worker",
                "clients": clients,
                "sales_invoices": total_sent,
                "purchase_invoices": len(appeared),
                "simulated_hours": round((end - start) / 3600, 2),
                "worker_rounds": rounds,
                "ksef_429_answers": month.timer.refused,
                "process_cpu_seconds": round(cpu, 2),
                "emulator_cpu_seconds": round(emulator_cpu, 2),
                "worker_cpu_seconds": round(worker_cpu, 2),
                "worker_cpu_ms_per_invoice": round(
                    1000 * worker_cpu / max(total_sent + len(appeared), 1), 2
                ),
                "invoices_per_cpu_second": round((total_sent + len(appeared)) / worker_cpu, 1),
                "limit_allowed_sends_per_hour_firmwide": allowed_rate,
                "worker_cpu_share_at_that_rate": round(
                    allowed_rate * worker_cpu / max(total_sent + len(appeared), 1) / 3600, 3
                ),
                "setup_seconds": round(setup_seconds, 1),
                "real_seconds": round(time.perf_counter() - real_start, 1),
            }
        )
        month.sender.close()
    return rows


def _send_rows(
    month: Month, documents: dict[int, list[int]], clients: int, heavy: int
) -> list[dict[str, Any]]:
    port = month.cabinet.ksef_port()
    windows = send_windows()
    ratios: list[float] = []
    spans: list[float] = []
    least: list[float] = []
    not_accepted = 0
    states: dict[str, int] = {}
    first_send = float("inf")
    last_send = 0.0
    heavy_row: dict[str, Any] | None = None
    for index, (_client_id, ids) in enumerate(documents.items()):
        sent_at: list[float] = []
        for document_id in ids:
            submission = port.submission(document_id)
            assert submission is not None
            if submission.state is not KsefState.ACCEPTED:
                not_accepted += 1
                states[submission.state.value] = states.get(submission.state.value, 0) + 1
            if document_id in month.sent_at:
                sent_at.append(month.sent_at[document_id])
        if len(sent_at) < 2:
            continue
        span = max(sent_at) - min(sent_at)
        floor = least_span(len(sent_at), windows)
        if index == clients:
            first_hour = sum(1 for t in sent_at if t < min(sent_at) + 3600.0)
            heavy_row = {
                "name": "ksef.send_heavy_client",
                "invoices": len(ids),
                "span_hours": round(span / 3600, 3),
                "least_span_hours": round(floor / 3600, 3),
                "ratio": round(floor / span, 3) if span else 1.0,
                "first_hour_sends": first_hour,
                "first_hour_ratio": round(
                    min(len(sent_at), DEFAULT_LIMITS["invoiceSend"].per_hour)
                    and first_hour / min(len(sent_at), DEFAULT_LIMITS["invoiceSend"].per_hour),
                    3,
                ),
                "goal": GOAL_SEND_RATIO,
            }
            continue
        first_send, last_send = min(first_send, min(sent_at)), max(last_send, max(sent_at))
        spans.append(span)
        least.append(floor)
        ratios.append(floor / span if span else 1.0)
    firm_floor = max(least, default=0.0)
    firm_span = last_send - first_send if last_send else 0.0
    rows = [
        {
            "name": "ksef.send",
            "clients": clients,
            "invoices_per_client": len(next(iter(documents.values()), [])),
            "not_accepted": not_accepted,
            "not_accepted_states": states,
            "least_client_ratio": round(min(ratios, default=0.0), 3),
            "median_client_ratio": round(sorted(ratios)[len(ratios) // 2], 3) if ratios else 0.0,
            "client_least_span_seconds": round(firm_floor, 2),
            "firm_span_seconds": round(firm_span, 2),
            "firm_ratio": round(firm_floor / firm_span, 3) if firm_span else 1.0,
            "goal": GOAL_SEND_RATIO,
        }
    ]
    if heavy_row is not None:
        rows.append(heavy_row)
    return rows


def _receive_rows(month: Month, appeared: dict[str, float]) -> list[dict[str, Any]]:
    lags = sorted(
        month.imported_at[number] - moment
        for number, moment in appeared.items()
        if number in month.imported_at
    )
    missing = len(appeared) - len(lags)
    return [
        {
            "name": "ksef.receive",
            "purchase_invoices": len(appeared),
            "missing": missing,
            "median_lag_minutes": round(lags[len(lags) // 2] / 60, 1) if lags else None,
            "max_lag_minutes": round(lags[-1] / 60, 1) if lags else None,
            "within_the_hour": missing == 0 and bool(lags) and lags[-1] < GOAL_LAG_SECONDS,
            "receive_minutes": RECEIVE_MINUTES,
        }
    ]


def first_full_sync(data_dir: Path, backlog: int) -> dict[str, Any]:
    """A client whose ``backlog`` past purchase invoices (spread over the last 89 days) are in
    KSeF when it is switched on: the virtual hours until every one is in the cabinet, through
    the receiving pass as the worker runs it (which takes the export path for a window of more
    than a page), against the least the limits allow on either path."""
    data_dir.mkdir()
    now = time.time()
    clock = VirtualClock(now - 89 * 86400)
    emulator = Emulator(EmulatorConfig(base_url="http://ksef.invalid", seed="bench"), clock=clock)
    emulator.limiter.enabled = False  # seeding is the sellers' doing, not the client's budget
    with _cabinet(data_dir) as cabinet:
        client = _connect(cabinet, emulator, nip(1), 1)
        buyer = client.nip or ""
        step = 89 * 86400 / backlog
        seed_start = time.perf_counter()
        for n in range(backlog):
            issued = datetime.fromtimestamp(clock.now(), tz=UTC).date()
            emulator.put_invoice(purchase_xml(SUPPLIER_NIP, buyer, f"B/{n}", issued))
            clock.advance(step)
        seed_seconds = time.perf_counter() - seed_start
        emulator.limiter.enabled = True
        clock.set(time.time())
        month = Month(cabinet, emulator, clock)
        start = clock.now()
        cpu_start = time.process_time()
        emulator_cpu = month.timer.cpu
        horizon = start + 200 * 3600.0
        while len(month.imported_at) < backlog and clock.now() < horizon:
            _drain(month, until=clock.now() + 60.0)
        cpu = time.process_time() - cpu_start - (month.timer.cpu - emulator_cpu)
        done = max(month.imported_at.values(), default=start)
        counted = {
            group: len(hits)
            for (group, _ctx, _ip), hits in emulator.limiter._hits.items()  # what KSeF counted
        }
        month.sender.close()
    download = DEFAULT_LIMITS["invoiceDownload"].per_hour
    metadata = DEFAULT_LIMITS["invoiceMetadata"].per_hour
    pages = -(-backlog // PAGE_SIZE)
    virtual_hours = (done - start) / 3600
    return {
        "name": "ksef.first_full_sync",
        "backlog": backlog,
        "imported": len(month.imported_at),
        "virtual_hours": round(virtual_hours, 2),
        "import_cpu_seconds": round(cpu, 1),
        # The worker's real time is the passes' schedule plus the CPU the imports take.
        "hours_with_import_cpu": round(virtual_hours + cpu / 3600, 2),
        "requests": counted,
        # Export path: one metadata page to see the backlog, one export (≤ 10,000 a package),
        # its status and its part: no window binds; the limits' minimum is seconds.
        "limit_minimum_hours_export": round(
            (-(-backlog // 10_000) - 1) * 3600 / DEFAULT_LIMITS["invoiceExport"].per_hour / 3600,
            2,
        ),
        # Metadata and one download per invoice: 64 downloads an hour, 20 pages an hour.
        "limit_minimum_hours_downloads": round(
            max((backlog - 1) / download, (pages - 1) / metadata), 2
        ),
        "seed_seconds": round(seed_seconds, 1),
    }


def main(argv: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench ksef", description=__doc__)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--sales", type=int, default=25)
    parser.add_argument("--purchases", type=int, default=50)
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--heavy", type=int, default=400, help="one client with N sales (0: none)")
    parser.add_argument(
        "--backlog", type=int, default=400, help=f"first full sync size (the goal's: {BACKLOG})"
    )
    args = parser.parse_args(argv)
    return run(
        clients=args.clients,
        sales=args.sales,
        purchases=args.purchases,
        days=args.days,
        heavy=args.heavy,
        backlog=args.backlog,
    )
