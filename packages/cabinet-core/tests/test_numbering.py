"""Gapless per-series numbering (``Tx.next_number``), on SQLite and on PostgreSQL.

The proof the issue asks for: 500 documents created concurrently by 16 threads, each in its own
transaction (take the next number, save the document), end up numbered exactly 1..500; and when
some of those transactions roll back, their numbers are reused, so the committed set still has
no gap.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
import sqlalchemy as sa
from cabinet_core.entities import Client, Document, Party
from cabinet_core.storage import DocumentQuery, Store

CREATIONS = 500
WORKERS = 16
SERIES = "FV/{seq}/{MM}/{YYYY}|2026-02"


class Rollback(Exception):
    """Raised inside a transaction on purpose, after the number was taken."""


def _client(store: Store, name: str = "Numerator sp. z o.o.") -> int:
    with store.transaction() as tx:
        client_id = tx.add_client(Client(name=name, nip="5260250274")).id
    assert client_id is not None
    return client_id


def _with_retry(store: Store, work: Callable[[], int | None]) -> int | None:
    """Run ``work``, retrying when SQLite reports a lock it could not wait out."""
    for attempt in range(20):
        try:
            return work()
        except sa.exc.OperationalError as exc:
            if store.dialect != "sqlite" or "locked" not in str(exc):
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("the database stayed locked")


def _create(store: Store, client_id: int, index: int, *, roll_back: bool) -> int | None:
    def work() -> int | None:
        try:
            with store.transaction() as tx:
                number = tx.next_number(client_id, SERIES)
                tx.add_document(
                    Document(
                        client_id=client_id,
                        doc_type="vat_invoice",
                        series=SERIES,
                        number=f"FV/{number}/02/2026",
                        issue_date=date(2026, 2, 1),
                        buyer=Party(name=f"Kupiec {index}"),
                        extra={"seq": number},
                    )
                )
                if roll_back:
                    raise Rollback
                return number
        except Rollback:
            return None

    return _with_retry(store, work)


def _stored_numbers(store: Store, client_id: int) -> list[int]:
    with store.transaction(readonly=True) as tx:
        page = tx.list_documents(DocumentQuery(client_ids=(client_id,), limit=10_000, order="-id"))
    return sorted(doc.extra["seq"] for doc in page.items)


def test_numbers_start_at_one_and_are_per_client_and_series(store: Store) -> None:
    first, second = _client(store), _client(store, "Druga")
    with store.transaction() as tx:
        assert tx.current_number(first, "FV") == 0
        assert [tx.next_number(first, "FV") for _ in range(3)] == [1, 2, 3]
        assert tx.next_number(first, "PRO") == 1
        assert tx.next_number(second, "FV") == 1
        assert tx.current_number(first, "FV") == 3


def test_a_rolled_back_number_is_handed_out_again(store: Store) -> None:
    client_id = _client(store)
    with store.transaction() as tx:
        assert tx.next_number(client_id, "FV") == 1
    with pytest.raises(Rollback), store.transaction() as tx:
        assert tx.next_number(client_id, "FV") == 2
        raise Rollback
    with store.transaction() as tx:
        assert tx.next_number(client_id, "FV") == 2


@pytest.mark.slow
def test_500_concurrent_creations_are_numbered_1_to_500(store: Store) -> None:
    client_id = _client(store)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        returned = list(
            pool.map(lambda i: _create(store, client_id, i, roll_back=False), range(CREATIONS))
        )
    assert sorted(n for n in returned if n is not None) == list(range(1, CREATIONS + 1))
    assert _stored_numbers(store, client_id) == list(range(1, CREATIONS + 1))
    with store.transaction() as tx:
        assert tx.current_number(client_id, SERIES) == CREATIONS


@pytest.mark.slow
def test_concurrent_creations_with_rollbacks_stay_gapless(store: Store) -> None:
    client_id = _client(store)
    # Every seventh transaction takes a number, saves its document and then rolls back.
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        returned = list(
            pool.map(lambda i: _create(store, client_id, i, roll_back=i % 7 == 3), range(CREATIONS))
        )
    committed = CREATIONS - sum(1 for i in range(CREATIONS) if i % 7 == 3)
    assert sorted(n for n in returned if n is not None) == list(range(1, committed + 1))
    assert _stored_numbers(store, client_id) == list(range(1, committed + 1))
    with store.transaction() as tx:
        assert tx.current_number(client_id, SERIES) == committed
