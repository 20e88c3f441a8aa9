"""cabinet.documents.validate (a dry run of create/update), the payment status a client states on
a received invoice, and listing the documents that point at one (both databases)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs
import pytest
from cabinet_core.entities import Document, DocumentLine, Party, PaymentStatus
from cabinet_core.errors import Conflict, NotFound, ValidationError
from cabinet_core.storage import DocumentQuery
from fixtures_services import World

DAY = date(2026, 11, 20)


def cost_invoice(world: World, **changes: object) -> Document:
    document = Document(
        client_id=world.client_id(world.client_a),
        doc_type="cost_invoice",
        issue_date=DAY,
        seller=Party(name="Dostawca S.A.", nip="5260001246"),
        lines=(DocumentLine(name="Papier", unit_price=Decimal("10.00")),),
        extra={"seller_invoice_number": "S/77/2026"},
    )
    return attrs.evolve(document, **changes)


def sales_invoice(world: World, **changes: object) -> Document:
    document = Document(
        client_id=world.client_id(world.client_a),
        doc_type="vat_invoice",
        issue_date=DAY,
        buyer=Party(name="Kupiec sp. z o.o.", nip="5260001246"),
        lines=(DocumentLine(name="Usługa", unit_price=Decimal("100.00")),),
    )
    return attrs.evolve(document, **changes)


def count_documents(world: World) -> int:
    return world.cabinet.documents.list(world.actor(world.admin), DocumentQuery()).total


def test_validate_prepares_like_create_and_writes_nothing(world: World) -> None:
    alice = world.actor(world.alice)
    outbox_before = len(world.cabinet.store.list_outbox(limit=1000))
    prepared = world.cabinet.documents.validate(alice, cost_invoice(world))
    assert prepared.id is None and prepared.status == "draft"
    assert prepared.totals is not None and prepared.totals.gross == Decimal("12.30")
    assert prepared.buyer is not None and prepared.buyer.nip == world.client_a.nip
    assert count_documents(world) == 0
    assert len(world.cabinet.store.list_outbox(limit=1000)) == outbox_before
    stored = world.cabinet.documents.create(alice, cost_invoice(world))
    assert attrs.evolve(stored, id=None, created_at=None, updated_at=None) == prepared


def test_validate_raises_what_create_and_update_raise(world: World) -> None:
    alice = world.actor(world.alice)
    with pytest.raises(ValidationError) as caught:
        world.cabinet.documents.validate(alice, cost_invoice(world, lines=()))
    assert caught.value.errors
    stored = world.cabinet.documents.create(alice, sales_invoice(world))
    assert stored.id is not None
    changed = world.cabinet.documents.validate(
        alice, attrs.evolve(stored, lines=(DocumentLine(name="X", unit_price=Decimal(5)),))
    )
    assert changed.id == stored.id and changed.totals is not None
    assert changed.totals.gross == Decimal("6.15")
    assert world.cabinet.documents.get(alice, stored.id) == stored  # nothing written
    world.cabinet.documents.transition(alice, stored.id, "issue")
    with pytest.raises(Conflict):
        world.cabinet.documents.validate(alice, stored)
    with pytest.raises(NotFound):
        world.cabinet.documents.validate(world.actor(world.bob), stored)


def test_a_client_states_the_payment_of_a_received_invoice_only(world: World) -> None:
    alice = world.actor(world.alice)
    paid = world.cabinet.documents.create(
        alice, cost_invoice(world, payment_status=PaymentStatus.PAID)
    )
    assert paid.payment_status is PaymentStatus.PAID
    partly = world.cabinet.documents.update(
        alice, attrs.evolve(paid, payment_status=PaymentStatus.PARTIALLY_PAID)
    )
    assert partly.payment_status is PaymentStatus.PARTIALLY_PAID
    # A sales document's payment is the workflow's business, not the form's.
    sale = world.cabinet.documents.create(
        alice, sales_invoice(world, payment_status=PaymentStatus.PAID)
    )
    assert sale.payment_status is PaymentStatus.UNPAID
    sale = world.cabinet.documents.update(
        alice, attrs.evolve(sale, payment_status=PaymentStatus.PAID)
    )
    assert sale.payment_status is PaymentStatus.UNPAID


def test_list_the_documents_pointing_at_one(world: World) -> None:
    alice = world.actor(world.alice)
    original = world.cabinet.documents.create(alice, sales_invoice(world))
    other = world.cabinet.documents.create(alice, sales_invoice(world))
    assert original.id is not None and other.id is not None
    pointing = world.cabinet.documents.create(
        alice, sales_invoice(world, related_id=original.id, notes="linked")
    )
    world.cabinet.documents.create(alice, sales_invoice(world, related_id=other.id))
    page = world.cabinet.documents.list(alice, DocumentQuery(related_id=original.id))
    assert [d.id for d in page.items] == [pointing.id] and page.total == 1
    # Still narrowed to what the actor may see.
    hidden = world.cabinet.documents.list(
        world.actor(world.bob), DocumentQuery(related_id=original.id)
    )
    assert hidden.total == 0
