"""Core benchmarks: VAT totals of an invoice, and saving + numbering a document.

* ``vat_totals``: ``cabinet_core.vat.compute_totals`` on a 10-line, 3-rate invoice, against a
  bare per-rate Decimal loop doing the same arithmetic without validation or rate lookups.
* ``document_issue``: creating and issuing an invoice through the one save use case,
  ``cabinet.documents.save(actor, draft, transition="issue")`` (validation, totals, a gapless
  number, audit and outbox rows, one transaction) on SQLite and PostgreSQL, against a bare
  SQLAlchemy Core transaction inserting one document row and bumping a counter. The same work as
  two calls (``documents.create`` then ``documents.transition``) is measured alongside, as
  ``document_create_then_issue``, to show what the one use case saves.

``python -m bench core --profile`` prints a cProfile of the save use case on SQLite instead.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Address, Client, Document, DocumentLine, Party, Role
from cabinet_core.settings import Settings
from cabinet_core.storage import Store
from cabinet_core.testing.databases import (
    postgres_server,
    postgres_unreachable,
    throwaway_database,
)
from cabinet_core.vat import compute_totals

from bench._timing import alternating, per_call

RATES = ["23", "8", "5"]
LINES = tuple(
    DocumentLine(
        name=f"Usługa {i}",
        quantity=Decimal(i % 3 + 1),
        unit_price=Decimal("149.99") + i,
        vat_rate=RATES[i % 3],
    )
    for i in range(10)
)
CENT = Decimal("0.01")


def _bare_totals() -> Decimal:
    net: dict[str, Decimal] = defaultdict(Decimal)
    for line in LINES:
        net[line.vat_rate] += (line.quantity * line.unit_price).quantize(CENT, ROUND_HALF_UP)
    total = Decimal(0)
    for rate, value in net.items():
        total += value + (value * Decimal(rate) / 100).quantize(CENT, ROUND_HALF_UP)
    return total


def bench_vat_totals() -> dict[str, Any]:
    assert compute_totals(LINES, currency="PLN").gross == _bare_totals()
    ours = per_call(lambda: compute_totals(LINES, currency="PLN"), calls=2000)
    bare = per_call(_bare_totals, calls=2000)
    return {
        "name": "vat_totals",
        "ours_us": round(ours * 1e6, 1),
        "baseline_us": round(bare * 1e6, 1),
        "ratio": round(ours / bare, 2),
    }


def _bare_issue(engine: sa.Engine, table: sa.Table, counter: sa.Table) -> None:
    with engine.begin() as conn:
        value = conn.execute(
            sa.update(counter).values(value=counter.c.value + 1).returning(counter.c.value)
        ).scalar_one()
        conn.execute(sa.insert(table).values(number=f"FV/{value}/11/2026", gross=Decimal("123.00")))


def bench_document_issue(url: str, label: str, *, profile: bool = False) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.from_url(url)
        store.migrate()
        cabinet = Cabinet(
            Settings(data_dir=Path(tmp), secret_key="bench"), load_entrypoints=False, store=store
        )
        system = Actor.system()
        client = cabinet.clients.create(
            system,
            Client(
                name="Alfa sp. z o.o.",
                nip="1234563218",
                address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
            ),
        )
        user = cabinet.users.create(
            system,
            email="bench@alfa.example",
            name="Bench",
            role=Role.CLIENT,
            client_id=client.id,
            password="correct horse battery",
        )
        actor = Actor.of(user)
        assert client.id is not None
        client_id = client.id

        draft = Document(
            client_id=client_id,
            doc_type="vat_invoice",
            issue_date=date(2026, 11, 20),
            sale_date=date(2026, 11, 20),
            buyer=Party(
                name="Beta S.A.",
                nip="5260001246",
                address=Address(line1="ul. Długa 2", postal_code="00-002", city="Kraków"),
            ),
            lines=LINES,
        )

        def save_and_issue() -> None:
            saved = cabinet.documents.save(actor, draft, transition="issue")
            assert saved.document.number is not None

        def create_then_issue() -> None:
            doc = cabinet.documents.create(actor, draft)
            assert doc.id is not None
            cabinet.documents.transition(actor, doc.id, "issue")

        if profile:
            _profile(save_and_issue)
            cabinet.close()
            return []

        engine = sa.create_engine(url if "sqlite" not in url else f"sqlite:///{tmp}/bare.sqlite3")
        if engine.dialect.name == "sqlite":
            # The same durability settings as the cabinet store, or it is no baseline.
            @sa.event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                cursor = dbapi_conn.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()

        meta = sa.MetaData()
        table = sa.Table(
            "bare_documents",
            meta,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("number", sa.String(40)),
            sa.Column("gross", sa.Numeric(18, 2)),
        )
        counter = sa.Table("bare_counter", meta, sa.Column("value", sa.Integer, nullable=False))
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(sa.insert(counter).values(value=0))
        # Batches of the three alternate, so a burst of load on the shared machine falls on
        # all of them rather than on one side of a ratio.
        # SQLite runs inside this process (WAL with synchronous=NORMAL does not wait for the
        # disk on commit), so its work is all CPU time of the process, which other processes on
        # the shared machine disturb far less than wall time; PostgreSQL works in another
        # process, so only wall time sees it.
        in_process = engine.dialect.name == "sqlite"
        ours, composed, bare = alternating(
            [save_and_issue, create_then_issue, lambda: _bare_issue(engine, table, counter)],
            calls=40,
            rounds=7,
            clock=time.process_time if in_process else time.perf_counter,
        )
        cabinet.close()
        engine.dispose()
    return [
        {
            "name": f"document_issue_{label}",
            "clock": "cpu" if in_process else "wall",
            "ours_ms": round(ours * 1e3, 2),
            "baseline_ms": round(bare * 1e3, 2),
            "ratio": round(ours / bare, 2),
        },
        {
            "name": f"document_create_then_issue_{label}",
            "clock": "cpu" if in_process else "wall",
            "ours_ms": round(composed * 1e3, 2),
            "baseline_ms": round(bare * 1e3, 2),
            "ratio": round(composed / bare, 2),
        },
    ]


def _profile(fn: Callable[[], object], calls: int = 200) -> None:
    """Print where ``calls`` runs of ``fn`` spend their time (top 40, cumulative unless
    ``BENCH_PROFILE_SORT`` names another pstats order, such as ``tottime``)."""
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [fn() for _ in range(calls)])
    order = os.environ.get("BENCH_PROFILE_SORT", "cumulative")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats(order).print_stats(40)


def run(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Every core benchmark; PostgreSQL only when the test server is reachable.

    ``--profile`` prints a cProfile of the save use case on SQLite and measures nothing else.
    """
    if argv and "--profile" in argv:
        with tempfile.TemporaryDirectory() as tmp:
            bench_document_issue(f"sqlite:///{tmp}/bench.sqlite3", "sqlite", profile=True)
        return []
    results = [bench_vat_totals()]
    with tempfile.TemporaryDirectory() as tmp:
        results += bench_document_issue(f"sqlite:///{tmp}/bench.sqlite3", "sqlite")
    server = postgres_server()
    if postgres_unreachable(server) is not None:
        return results
    with throwaway_database(server, prefix="bench") as url:
        results += bench_document_issue(url, "postgresql")
    return results
