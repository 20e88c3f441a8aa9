"""The document list's cost: statements per page and the indices that serve it (both databases).

The benchmark (bench/, 1M documents) measures the time; this test pins what makes it fast: a
summary page is two SELECTs (the page and its count) whatever its size, and the client's
documents are found through the client/type/date index, never by scanning every document.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from cabinet_core.entities import Document, DocumentLine, Party, PaymentMethod, PaymentStatus
from cabinet_core.storage import DocumentQuery, Store
from fixtures_services import World

SELLERS = (
    Party(name="Dostawca Łódź S.A.", nip="5260001246"),
    Party(name="Hurtownia Kraków sp. z o.o.", nip="7251801126"),
)


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """Every SQL statement sent to the database inside the block."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)


def cost_invoice(world: World, number: int) -> Document:
    return Document(
        client_id=world.client_id(world.client_a),
        doc_type="cost_invoice",
        issue_date=date(2026, 11, 1) + timedelta(days=number % 20),
        currency="EUR" if number % 3 == 0 else "PLN",
        seller=SELLERS[number % 2],
        payment_method=PaymentMethod.TRANSFER if number % 4 else PaymentMethod.CASH,
        lines=(
            DocumentLine(name="Papier", unit_price=Decimal(10 + number)),
            DocumentLine(name="Toner", unit_price=Decimal("99.90"), vat_rate="8"),
        ),
        extra={"seller_invoice_number": f"S/{number}/2026"},
    )


@pytest.fixture
def listed(world: World) -> World:
    alice = world.actor(world.alice)
    for number in range(12):
        world.cabinet.documents.create(alice, cost_invoice(world, number))
    return world


def test_a_summary_page_is_two_selects_without_lines(listed: World) -> None:
    query = DocumentQuery(
        doc_types=("cost_invoice",),
        search="łódź",
        currency="PLN",
        payment_status=PaymentStatus.UNPAID,
        limit=3,
        summary=True,
    )
    store = listed.cabinet.store
    with statements(store) as seen:
        result = listed.cabinet.documents.list(listed.actor(listed.alice), query)
    # 12 documents: even numbers are from Łódź, every third is in EUR → 0,2,4,6,8,10 minus 0,6.
    assert result.total == 4 and len(result.items) == 3
    assert all(doc.lines == () and doc.totals is not None for doc in result.items)
    assert all(doc.seller == SELLERS[0] and doc.currency == "PLN" for doc in result.items)
    selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, seen
    assert len(seen) <= 5, seen  # BEGIN/COMMIT included


def test_a_page_that_is_not_full_is_its_own_count(listed: World) -> None:
    alice = listed.actor(listed.alice)
    store = listed.cabinet.store
    query = DocumentQuery(doc_types=("cost_invoice",), search="łódź", limit=50, summary=True)
    with statements(store) as seen:
        result = listed.cabinet.documents.list(alice, query)
    assert result.total == 6 and len(result.items) == 6
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 1, seen
    # The last, partial page: offset + its length.
    last = listed.cabinet.documents.list(alice, DocumentQuery(limit=5, offset=10, summary=True))
    assert (last.total, len(last.items)) == (12, 2)
    # Past the end there is nothing to count from: the count runs.
    with statements(store) as seen:
        beyond = listed.cabinet.documents.list(alice, DocumentQuery(offset=40, summary=True))
    assert (beyond.total, beyond.items) == (12, ())
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 2
    # Exactly a full page: counted, and right.
    full = listed.cabinet.documents.list(alice, DocumentQuery(limit=12, summary=True))
    assert (full.total, len(full.items)) == (12, 12)
    empty = listed.cabinet.documents.list(alice, DocumentQuery(search="nic takiego"))
    assert (empty.total, empty.items) == (0, ())


def test_a_full_page_loads_all_lines_in_one_more_query(listed: World) -> None:
    query = DocumentQuery(doc_types=("cost_invoice",), limit=10)
    with statements(listed.cabinet.store) as seen:
        result = listed.cabinet.documents.list(listed.actor(listed.manager), query)
    assert result.total == 12 and len(result.items) == 10
    assert all(len(doc.lines) == 2 for doc in result.items)
    # A manager's visible clients (1), the page, its count and every page's lines at once.
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 4
    assert len(seen) <= 6


def test_summary_and_full_pages_agree_on_everything_but_lines(listed: World) -> None:
    alice = listed.actor(listed.alice)
    full = listed.cabinet.documents.list(alice, DocumentQuery(order="-gross"))
    summary = listed.cabinet.documents.list(alice, DocumentQuery(order="-gross", summary=True))
    assert [d.id for d in summary.items] == [d.id for d in full.items]
    assert [d.totals for d in summary.items] == [d.totals for d in full.items]
    assert summary.total == full.total == 12


def _plan(store: Store, statement: sa.Select[Any]) -> str:
    with store.engine.connect() as connection:
        if store.dialect == "sqlite":
            compiled = statement.compile(
                dialect=connection.dialect, compile_kwargs={"literal_binds": True}
            )
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
            return "\n".join(str(row[-1]) for row in rows)
        # Tiny tables make a sequential scan the cheapest; forbid it to see which index serves.
        connection.exec_driver_sql("SET enable_seqscan = off")
        compiled = statement.compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True}
        )
        rows = connection.exec_driver_sql(f"EXPLAIN {compiled}")
        return "\n".join(str(row[0]) for row in rows)


def test_the_list_index_alone_serves_the_page_ids_and_the_count(listed: World) -> None:
    from cabinet_core.storage import schema as t
    from cabinet_core.storage.queries import DOCUMENT_ORDERS, document_search

    d = t.documents
    conditions = (
        d.c.client_id.in_([listed.client_id(listed.client_a)]),
        d.c.doc_type.in_(["cost_invoice"]),
        d.c.status.in_(["draft"]),
        d.c.currency == "PLN",
        document_search("hurtownia"),
    )
    ids = sa.select(d.c.id).where(*conditions).order_by(*DOCUMENT_ORDERS["-issue_date"]).limit(50)
    count = sa.select(sa.func.count()).select_from(d).where(*conditions)
    store = listed.cabinet.store
    if store.dialect == "postgresql":
        # Index-only scans need the visibility map that VACUUM keeps (autovacuum does, live).
        autocommit = store.engine.execution_options(isolation_level="AUTOCOMMIT")
        with autocommit.connect() as connection:
            connection.exec_driver_sql("VACUUM ANALYZE documents")
    for statement in (ids, count):
        plan = _plan(store, statement)
        # From the index alone: no read of the client's table rows, no sort of them.
        if store.dialect == "sqlite":
            assert "COVERING INDEX ix_documents_list" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
        else:
            assert "Index Only Scan" in plan and "ix_documents_list" in plan, plan
            assert "Sort" not in plan and "Seq Scan" not in plan, plan
