"""VAT statement benchmark: the statement of one client-month on a large database against the
bare SQL it needs, and the JPK_V7M(3) writer's time and peak memory as rows grow.

* ``vat_statement_<engine>``: ``cabinet.vat_statements.statement(actor, client, month)`` (access
  check, both registers read and turned into rows in PLN with their K fields, totals, the
  declaration) on the list benchmark's database (:mod:`bench.lists`, built and cached on first
  use; 1,000,000 documents by default, the measured client holding 20,000 of them spread over
  47 months, about 400 a month). The baseline is the bare SQL the statement needs: the same two
  ``SELECT``s (the register's documents of the month with their totals, and the GTU codes of their
  lines) for both registers, fetched as raw DBAPI tuples, no Python objects built. Both are timed
  in alternating batches; goal: statement ≤ 1.5 × baseline. The statement reuses the rows of
  unchanged documents it built before (as the page, its downloads and the JPK's two passes do);
  ``statement_rows_rebuilt`` is the same call after :meth:`forget_rows`, every row built anew.
  ``--stages`` times each stage alone; ``--minimums N`` runs one call of each (bare SQL, the
  statement, the statement with every row rebuilt, the access check) in turn N times and gives
  the minimum and median of each and their ratios, steadier on a busy machine than the batches.
* ``jpk_v7m_<n>``: :func:`cabinet_core.vat_statement.write_jpk` of ``n`` sales rows (and n/10
  purchase rows) streamed to a sink that only counts bytes, with the peak of ``tracemalloc``
  while writing; the rows come from a generator, as the service streams them from the database,
  so a flat peak from 1,000 to 10,000 rows shows the writer keeps nothing per row.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from statistics import median
from typing import Any

import sqlalchemy as sa
from cabinet_core import access
from cabinet_core.entities import Actor, Address, Party
from cabinet_core.storage import schema as t
from cabinet_core.storage.vat_register import register_params, register_queries
from cabinet_core.vat import POLAND_2026, TaxRules
from cabinet_core.vat_statement import (
    PURCHASE,
    SALES,
    JpkHeader,
    KTotals,
    Period,
    RegisterEntry,
    RegisterRow,
    RegisterTotals,
    Taxpayer,
    build_row,
    compute_declaration,
    write_jpk,
)

from bench import lists
from bench._timing import alternating

RESULTS = Path(__file__).resolve().parent / "results"
#: The month measured: a full month of the list database's data (which ends 2026-11-27).
MONTH = Period(year=2026, number=10)
#: The issue's database: a million documents, the measured client holding 20,000 of them. Built
#: once by :mod:`bench.lists` and cached under ``bench/results/`` (gitignored): about 25 minutes
#: on the shared 2-core machine; later runs reuse it (``--documents 200000`` for a quicker one).
DEFAULT_SIZE = lists.Size(documents=1_000_000, own=20_000, clients=500, suppliers=3000)


# -- the statement against its bare SQL --------------------------------------------------------


def _bare_queries(cabinet: Any, client_id: int) -> list[sa.Select[Any]]:
    """The statements the service runs for one month (the storage module builds them)."""
    queries: list[sa.Select[Any]] = []
    for side in (SALES, PURCHASE):
        built = register_queries(
            tuple(cabinet.vat_statements.selections(side)), buyer_side=side == PURCHASE
        )
        params = register_params(client_id, MONTH.first_day, MONTH.last_day)
        queries.extend(query.params(params) for query in built)
    return queries


def measure_statement(cabinet: Any, label: str, *, calls: int, rounds: int) -> dict[str, Any]:
    """The service's statement against the raw fetch of the same rows, alternating."""
    engine: sa.Engine = cabinet.store.engine
    with engine.connect() as connection:
        marker = connection.execute(
            sa.select(t.settings.c.value).where(t.settings.c.key == lists.MARKER)
        ).scalar_one()
    client_id = int(marker["measured_client"])
    actor = Actor.system()
    compiled = [
        str(query.compile(engine, compile_kwargs={"literal_binds": True}))
        for query in _bare_queries(cabinet, client_id)
    ]

    def service() -> object:
        return cabinet.vat_statements.statement(actor, client_id, MONTH)

    def cold() -> object:
        cabinet.vat_statements.forget_rows()
        return cabinet.vat_statements.statement(actor, client_id, MONTH)

    def bare() -> object:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            rows = 0
            for sql in compiled:
                cursor.execute(sql)
                rows += len(cursor.fetchall())
            cursor.close()
            return rows
        finally:
            raw.close()

    built = _bare_queries(cabinet, client_id)

    def through_sqlalchemy() -> object:
        with engine.connect() as connection:
            return sum(len(connection.execute(query).fetchall()) for query in built)

    statement = service()
    rows = len(statement.sales) + len(statement.purchases)  # type: ignore[attr-defined]
    # SQLite runs inside this process: its CPU time is the cost and is far less disturbed by
    # the other processes of a shared machine than wall time; PostgreSQL works in its server,
    # so there wall time is the measure.
    clock = time.process_time if label == "sqlite" else time.perf_counter
    service_s, bare_s, sqlalchemy_s, cold_s = alternating(
        [service, bare, through_sqlalchemy, cold], calls=calls, rounds=rounds, clock=clock
    )
    return {
        "name": f"vat_statement_{label}",
        "documents_in_database": marker["documents"],
        "client_documents": marker["own"],
        "rows_in_month": rows,
        "statement_ms": round(service_s * 1000, 2),
        "bare_sql_ms": round(bare_s * 1000, 2),
        "same_sql_through_sqlalchemy_ms": round(sqlalchemy_s * 1000, 2),
        "ratio": round(service_s / bare_s, 2),
        "statement_rows_rebuilt_ms": round(cold_s * 1000, 2),
        "ratio_rows_rebuilt": round(cold_s / bare_s, 2),
        "clock": "process CPU" if label == "sqlite" else "wall",
        "goal": "ratio <= 1.5",
    }


def measure_stages(cabinet: Any, *, calls: int = 20) -> dict[str, Any]:
    """Where a statement's time goes: the minimum over ``calls`` of each stage alone (process
    CPU time): the SQL through SQLAlchemy, reading the register entries, building the rows from
    entries already read, the totals of rows already built, and the whole statement."""
    engine: sa.Engine = cabinet.store.engine
    with engine.connect() as connection:
        marker = connection.execute(
            sa.select(t.settings.c.value).where(t.settings.c.key == lists.MARKER)
        ).scalar_one()
    client_id = int(marker["measured_client"])
    actor = Actor.system()
    service = cabinet.vat_statements
    built = _bare_queries(cabinet, client_id)

    def best(run: Callable[[], object]) -> float:
        times = []
        for _ in range(calls):
            started = time.process_time()
            run()
            times.append(time.process_time() - started)
        return round(min(times) * 1000, 2)

    def read() -> dict[str, list[RegisterEntry]]:
        with cabinet.store.transaction(readonly=True) as tx:
            return {
                side: list(
                    tx.vat_register_entries(
                        client_id=client_id,
                        selections=service.selections(side),
                        start=MONTH.first_day,
                        end=MONTH.last_day,
                        buyer_side=side == PURCHASE,
                    )
                )
                for side in (SALES, PURCHASE)
            }

    def fetch() -> None:
        with engine.connect() as connection:
            for query in built:
                connection.execute(query).fetchall()

    entries = read()
    rules = service._rules()

    def build() -> dict[str, list[RegisterRow]]:
        return {
            side: [build_row(e, side=side, lp=n, rules=rules) for n, e in enumerate(found, 1)]
            for side, found in entries.items()
        }

    rows = build()
    order = cabinet.tax_rules_on(MONTH.last_day).order

    def totals() -> None:
        for side, found in rows.items():
            sums = KTotals(side=side)
            for row in found:
                sums.add(row)
            RegisterTotals.of(found, order)

    return {
        "name": "vat_statement_stages_ms",
        "sql_through_sqlalchemy": best(fetch),
        "read_entries": best(read),
        "build_rows": best(build),
        "totals": best(totals),
        "statement": best(lambda: service.statement(actor, client_id, MONTH)),
    }


def measure_minimums(cabinet: Any, *, calls: int = 60) -> dict[str, Any]:
    """The statement (rows reused, and every row rebuilt), the bare SQL and the access check
    with its transaction, one call of each in turn ``calls`` times (process CPU): the minimum and
    the median of each and their ratios. Single calls are far less disturbed by a busy machine
    than the batches of :func:`measure_statement`, so two versions of the code compare closer."""
    engine: sa.Engine = cabinet.store.engine
    with engine.connect() as connection:
        marker = connection.execute(
            sa.select(t.settings.c.value).where(t.settings.c.key == lists.MARKER)
        ).scalar_one()
    client_id = int(marker["measured_client"])
    actor = Actor.system()
    service = cabinet.vat_statements
    compiled = [
        str(query.compile(engine, compile_kwargs={"literal_binds": True}))
        for query in _bare_queries(cabinet, client_id)
    ]

    def bare() -> None:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            for sql in compiled:
                cursor.execute(sql)
                cursor.fetchall()
            cursor.close()
        finally:
            raw.close()

    def reused() -> None:
        service.statement(actor, client_id, MONTH)

    def rebuilt() -> None:
        service.forget_rows()
        service.statement(actor, client_id, MONTH)

    def access_check() -> None:
        with cabinet.store.transaction(readonly=True) as tx:
            access.client_for(tx, actor, client_id)

    runs: dict[str, Callable[[], None]] = {
        "bare_sql": bare,
        "statement": reused,
        "statement_rows_rebuilt": rebuilt,
        "access_check": access_check,
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    reused()
    for _ in range(calls):
        for name, run in runs.items():
            started = time.process_time()
            run()
            times[name].append(time.process_time() - started)
    result: dict[str, Any] = {"name": "vat_statement_minimums_sqlite", "calls": calls}
    for name, found in times.items():
        result[f"{name}_ms"] = [round(min(found) * 1000, 2), round(median(found) * 1000, 2)]
    for name in ("statement", "statement_rows_rebuilt"):
        result[f"ratio_{name}"] = [
            round(min(times[name]) / min(times["bare_sql"]), 2),
            round(median(times[name]) / median(times["bare_sql"]), 2),
        ]
    result["figures"] = "[minimum, median]"
    return result


# -- the JPK writer --------------------------------------------------------------------------------


class CountingSink:
    """A binary stream that keeps nothing: what a socket or a file is to the writer."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        return None


def synthetic_rows(count: int, side: str) -> Iterator[RegisterRow]:
    """``count`` register rows built one at a time, like the service's stream."""

    def rules(_: date) -> TaxRules:
        return POLAND_2026

    for number in range(1, count + 1):
        foreign = number % 7 == 0
        rows: list[dict[str, Any]] = [
            {"rate": "23", "net": f"{100 + number % 900}.{number % 100:02d}", "vat": "23.00"},
            {"rate": "8", "net": "45.50", "vat": "3.64"},
        ]
        if foreign:
            rows[0]["vat_pln"] = "97.78"
        entry = RegisterEntry(
            document_id=number,
            doc_type="bench",
            number=f"FV/{number}/10/2026",
            seller_number=f"FZ/{number}/2026" if side == PURCHASE else None,
            issue_date=date(2026, 10, 1 + number % 28),
            sale_date=None,
            receipt_date=date(2026, 10, 28) if side == PURCHASE else None,
            currency="EUR" if foreign else "PLN",
            counterparty=Party(
                name=f"Kontrahent {number} sp. z o.o.", nip="5260250274", address=Address()
            ),
            totals={"rows": rows},
            fx_rate=Decimal("4.2512") if foreign else None,
            fx_table="200/A/NBP/2026" if foreign else None,
            fx_date=date(2026, 10, 1) if foreign else None,
            ksef_number=None,
            line_gtu=("GTU_12",) if number % 3 == 0 else (),
        )
        yield build_row(entry, side=side, lp=number, rules=rules)


def measure_jpk(count: int) -> dict[str, Any]:
    """Write a JPK of ``count`` sales and ``count // 10`` purchase rows; time and peak memory."""
    declaration = compute_declaration({"K_19": Decimal("1000")}, {"K_43": Decimal("10")})
    header = JpkHeader(
        year=2026, month=10, tax_office="1471", created_at=datetime(2026, 11, 5, tzinfo=UTC)
    )
    taxpayer = Taxpayer(nip="5260250274", name="Zażółć Gęślą Jaźń Sp. z o.o.", email="b@z.pl")

    def write(sink: CountingSink) -> None:
        write_jpk(
            sink,  # type: ignore[arg-type]
            header=header,
            taxpayer=taxpayer,
            declaration=declaration,
            sales=synthetic_rows(count, SALES),
            purchases=synthetic_rows(count // 10, PURCHASE),
        )

    # Timed without tracemalloc (which slows allocation-heavy code several times), then traced.
    sink = CountingSink()
    started = time.perf_counter()
    write(sink)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    write(CountingSink())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "name": f"jpk_v7m_{count}",
        "rows": count + count // 10,
        "seconds": round(seconds, 3),
        "rows_per_second": round((count + count // 10) / seconds),
        "bytes_written": sink.size,
        "peak_kib": round(peak / 1024, 1),
    }


def run(
    size: lists.Size = DEFAULT_SIZE,
    *,
    calls: int = 5,
    rounds: int = 5,
    jpk_rows: tuple[int, ...] = (1000, 10_000),
    engines: tuple[str, ...] = ("sqlite",),
    folder: Path = RESULTS,
    log: Callable[[str], None] | None = None,
    stages: bool = False,
    minimums: int = 0,
) -> list[dict[str, Any]]:
    """Measure the statement on each engine and the JPK writer at each size."""
    log = log or (lambda text: print(text, file=sys.stderr))
    folder.mkdir(parents=True, exist_ok=True)
    results = [measure_jpk(count) for count in jpk_rows]
    if "sqlite" in engines:
        with lists.sqlite_cabinet(size, folder, log=log) as cabinet:
            results.append(measure_statement(cabinet, "sqlite", calls=calls, rounds=rounds))
            if stages:
                results.append(measure_stages(cabinet))
            if minimums:
                results.append(measure_minimums(cabinet, calls=minimums))
    if "postgresql" in engines:
        server = lists.postgres_server()
        unreachable = lists.postgres_unreachable(server)
        if unreachable is not None:
            log(f"vat_statement_postgresql skipped: {unreachable}")
        else:
            with lists.postgres_cabinet(size, server, log=log) as cabinet:
                results.append(measure_statement(cabinet, "postgresql", calls=calls, rounds=rounds))
    return results


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """``python -m bench vat [--documents N] [--own N] [--engine E] [--jpk-rows N] [--stages]
    [--minimums N]``."""
    parser = argparse.ArgumentParser(prog="python -m bench vat")
    parser.add_argument("--documents", type=int, default=DEFAULT_SIZE.documents)
    parser.add_argument("--own", type=int, default=DEFAULT_SIZE.own)
    parser.add_argument("--clients", type=int, default=DEFAULT_SIZE.clients)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jpk-rows", type=int, action="append")
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), action="append")
    parser.add_argument(
        "--stages", action="store_true", help="also time each stage of the statement (SQLite)"
    )
    parser.add_argument(
        "--minimums",
        type=int,
        default=0,
        metavar="N",
        help="also N single calls of each in turn: minimum and median (SQLite)",
    )
    args = parser.parse_args(argv)
    size = lists.Size(
        documents=args.documents,
        own=args.own,
        clients=args.clients,
        suppliers=DEFAULT_SIZE.suppliers,
    )
    return run(
        size,
        calls=args.calls,
        rounds=args.rounds,
        jpk_rows=tuple(args.jpk_rows or (1000, 10_000)),
        engines=tuple(args.engine or ("sqlite",)),
        stages=args.stages,
        minimums=args.minimums,
    )
