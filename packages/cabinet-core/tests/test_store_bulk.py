"""The store's bulk reads and writes a sync backend uses per claim: many documents with their
lines in a few queries, many settings in one statement (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from cabinet_core.entities import Address, Client, Document, DocumentLine, Party
from cabinet_core.storage import Store


def _documents(store: Store, count: int) -> list[Document]:
    with store.transaction() as tx:
        owner = tx.add_client(
            Client(name="Kancelaria Test Sp. z o.o.", nip="5260250274", address=Address())
        )
        return [
            tx.add_document(
                Document(
                    client_id=owner.id or 0,
                    doc_type="vat_invoice",
                    status="issued",
                    number=f"FV/{n + 1}/12/2026",
                    issue_date=date(2026, 12, 7),
                    buyer=Party(name=f"Kontrahent {n}", nip="1234563218"),
                    lines=tuple(
                        DocumentLine(name=f"Pozycja {n}.{k}", unit_price=Decimal(10 + k))
                        for k in range(n % 3 + 1)
                    ),
                )
            )
            for n in range(count)
        ]


def test_documents_are_read_in_bulk_with_their_lines_as_one_by_one(store: Store) -> None:
    made = _documents(store, 620)
    wanted = [d.id or 0 for d in reversed(made)] + [999_999, made[0].id or 0]
    with store.transaction(readonly=True) as tx:
        found = tx.get_documents(wanted)
        one_by_one = {d.id: tx.get_document(d.id or 0) for d in made}
    # Every existing one (across the 500-id chunks), none for an unknown id, each once.
    assert sorted(found) == sorted(d.id for d in made)
    assert all(found[doc_id] == one_by_one[doc_id] for doc_id in found)
    assert [line.name for line in found[made[2].id or 0].lines] == [
        "Pozycja 2.0",
        "Pozycja 2.1",
        "Pozycja 2.2",
    ]


def test_settings_are_written_and_deleted_in_bulk(store: Store) -> None:
    with store.transaction() as tx:
        tx.set_setting("bulk.kept", {"a": 1})
        tx.set_setting("bulk.gone", 5)
        tx.set_settings(
            {
                **{f"bulk.n{n}": {"item": n} for n in range(700)},
                "bulk.kept": {"a": 2},
                "bulk.gone": None,
                "bulk.never": None,
            }
        )
    with store.transaction(readonly=True) as tx:
        values = tx.settings_of([f"bulk.n{n}" for n in range(700)] + ["bulk.kept", "bulk.gone"])
    assert values["bulk.kept"] == {"a": 2}
    assert "bulk.gone" not in values
    assert values["bulk.n699"] == {"item": 699} and len(values) == 701
