"""Reports benchmark: an XLSX export of 10,000 and 100,000 rows, and a report's aggregate over a
large table against the bare SQL aggregate it needs.

The database (SQLite under a temporary directory by default; ``--url`` for PostgreSQL) gets one
client with ``--documents`` sales invoices (default 100,000) over two years, in PLN, EUR and USD
with a rate, paid and unpaid, inserted by SQLAlchemy Core ``executemany`` with the columns the
documents table really holds (the services would take minutes for 100,000 documents).

Measured, one part per run so that each stays under two minutes on a shared machine
(``python -m bench reports export --documents 10000``, ``... export --documents 100000``,
``... aggregate --documents 100000``):

* ``xlsx_export_<n>``: ``cabinet.reports.write_xlsx`` of the document list (one row per
  document, 12 columns, then the totals) to a file: the time and the peak of Python allocations
  during the same pass (``tracemalloc`` is on, so the time includes its overhead; ``--no-trace``
  times it alone). CPU seconds are given beside the wall time: on a shared machine they are the
  figure that compares across runs. Flat memory
  from 10,000 to 100,000 rows means the rows are streamed, never held.
* ``report_aggregate``: ``cabinet.reports.run`` grouped by month (the rows, the totals per
  currency and in PLN, the chart) against the bare SQL it needs, the two ``GROUP BY``
  statements written by hand, both on the same warm database; medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Client, Role
from cabinet_core.settings import Settings
from cabinet_core.storage import schema as t

RATES = {"PLN": None, "EUR": Decimal("4.2512"), "USD": Decimal("3.9811")}
BUYERS = ("Kupiec sp. z o.o.", "Zakład Łąka", "Hurtownia Kraków S.A.", "Gamma s.c.", "Delta")


def seed(cabinet: Cabinet, documents: int, seed_value: int = 7) -> Actor:
    """One client with ``documents`` sales invoices; its user as the actor."""
    system = Actor.system()
    client = cabinet.clients.create(system, Client(name="Bench sp. z o.o.", nip="5250000110"))
    assert client.id is not None
    user = cabinet.users.create(
        system,
        email="bench@example.com",
        name="Bench",
        role=Role.CLIENT,
        client_id=client.id,
        password="bench password 123",
    )
    rng = random.Random(seed_value)
    start = date(2025, 1, 1)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    with cabinet.store.engine.begin() as connection:
        for index in range(documents):
            currency = rng.choice(("PLN", "PLN", "PLN", "EUR", "USD"))
            net = Decimal(rng.randint(1_000, 5_000_000)) / 100
            vat = (net * Decimal("0.23")).quantize(Decimal("0.01"))
            rate = RATES[currency]
            issue = start + timedelta(days=rng.randrange(730))
            rows.append(
                {
                    "client_id": client.id,
                    "doc_type": "vat_invoice",
                    "status": rng.choice(("issued", "sent", "paid")),
                    "number": f"FV/{index + 1}/{issue.month:02d}/{issue.year}",
                    "currency": currency,
                    "language": "pl",
                    "issue_date": issue,
                    "due_date": issue + timedelta(days=14),
                    "payment_method": "6",
                    "payment_status": rng.choice(("paid", "unpaid", "partially_paid")),
                    "counterparty_name": rng.choice(BUYERS),
                    "search_key": f"fv/{index + 1}",
                    "price_mode": "net",
                    "vat_method": "per_rate",
                    "fx_currency": currency if rate else None,
                    "fx_rate": rate,
                    "net": net,
                    "vat": vat,
                    "gross": net + vat,
                    "vat_pln": (vat * rate).quantize(Decimal("0.01")) if rate else vat,
                    "notes": "",
                    "extra": {},
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            )
            if len(rows) == 5000:
                connection.execute(sa.insert(t.documents), rows)
                rows = []
        if rows:
            connection.execute(sa.insert(t.documents), rows)
    return Actor.of(user)


def measure_export(cabinet: Cabinet, actor: Actor, work: Path, *, trace: bool) -> dict[str, Any]:
    """Export every document (one row each, plus the totals) as XLSX: wall and CPU time and,
    with ``trace``, the peak of Python allocations traced during the same pass."""
    query = cabinet.reports.parse({"group_by": "document"})
    target = work / "export.xlsx"
    if trace:
        tracemalloc.start()
    try:
        started, cpu = time.perf_counter(), time.process_time()
        with target.open("wb") as out:
            written = cabinet.reports.write_xlsx(actor, query, out)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        peak = tracemalloc.get_traced_memory()[1] if trace else None
    finally:
        if trace:
            tracemalloc.stop()
    return {
        "name": f"xlsx_export_{written}",
        "rows_written": written,
        "traced": trace,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "rows_per_cpu_second": round(written / cpu_seconds),
        "peak_mib": round(peak / 2**20, 1) if peak is not None else None,
        "file_mib": round(target.stat().st_size / 2**20, 1),
    }


def _bare(connection: sa.Connection, client_id: int, doc_types: tuple[str, ...]) -> list[Any]:
    """The same figures by hand, with the same WHERE: per month and currency, then per
    currency (net, VAT, gross; in PLN each foreign document at its rate, rounded, its stated
    VAT in PLN)."""
    d = t.documents
    month = (
        sa.cast(sa.extract("year", d.c.issue_date), sa.Integer),
        sa.cast(sa.extract("month", d.c.issue_date), sa.Integer),
    )
    foreign = d.c.currency != "PLN"
    net_pln = sa.func.round(d.c.net * d.c.fx_rate, 2)
    sums = (
        sa.func.count(),
        sa.func.sum(d.c.net),
        sa.func.sum(d.c.vat),
        sa.func.sum(d.c.gross),
        sa.func.sum(sa.case((foreign, net_pln), else_=d.c.net)),
        sa.func.sum(sa.case((foreign, d.c.vat_pln), else_=d.c.vat)),
        sa.func.sum(sa.case((foreign, net_pln + d.c.vat_pln), else_=d.c.gross)),
    )
    where = (d.c.client_id == client_id, d.c.doc_type.in_(doc_types), d.c.number.is_not(None))
    by_month = sa.select(*month, d.c.currency, *sums).where(*where).group_by(*month, d.c.currency)
    by_currency = sa.select(d.c.currency, *sums).where(*where).group_by(d.c.currency)
    return [*connection.execute(by_month).all(), *connection.execute(by_currency).all()]


def measure_aggregate(cabinet: Cabinet, actor: Actor, repeat: int) -> dict[str, Any]:
    """``reports.run`` by month against the bare SQL, medians of ``repeat`` alternating runs."""
    query = cabinet.reports.parse({"group_by": "month"})
    cabinet.reports.run(actor, query)
    assert actor.client_id is not None
    sales = tuple(key for key, known in cabinet.document_types.items() if known.ledger == "sales")
    with cabinet.store.engine.connect() as connection:
        _bare(connection, actor.client_id, sales)
    ours, bare = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        report = cabinet.reports.run(actor, query)
        ours.append(time.perf_counter() - started)
        with cabinet.store.engine.connect() as connection:
            started = time.perf_counter()
            _bare(connection, actor.client_id, sales)
            bare.append(time.perf_counter() - started)
    ours_ms, bare_ms = statistics.median(ours) * 1000, statistics.median(bare) * 1000
    return {
        "name": "report_aggregate",
        "documents": report.total_pln.count,
        "rows": len(report.rows),
        "report_ms": round(ours_ms, 1),
        "bare_sql_ms": round(bare_ms, 1),
        "ratio": round(ours_ms / bare_ms, 2),
    }


def main(argv: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench reports")
    parser.add_argument("what", choices=("export", "aggregate"))
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--no-trace", action="store_true", help="time the export without tracemalloc"
    )
    parser.add_argument("--url", default=None, help="an empty database (default: SQLite)")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cabinet-bench-reports-") as work_dir:
        work = Path(work_dir)
        settings = Settings(
            data_dir=work, secret_key="bench", rate_provider="offline", database_url=options.url
        )
        with Cabinet(settings, load_entrypoints=False) as cabinet:
            cabinet.migrate()
            started = time.perf_counter()
            actor = seed(cabinet, options.documents)
            seeded = time.perf_counter() - started
            engine = cabinet.store.engine.dialect.name
            results: list[dict[str, Any]] = [
                {
                    "name": "seed",
                    "engine": engine,
                    "documents": options.documents,
                    "seconds": round(seeded, 1),
                }
            ]
            if options.what == "export":
                results.append(
                    {
                        "engine": engine,
                        **measure_export(cabinet, actor, work, trace=not options.no_trace),
                    }
                )
            else:
                results.append(
                    {"engine": engine, **measure_aggregate(cabinet, actor, options.repeat)}
                )
    return results
