"""Every reference a client's record makes (a line's product, the counterparty, the related
document, a cash slip's counterparty and invoice, an attachment's document) must name one of
that client's own records. Another client's id is refused exactly like an id that does not
exist: the same field, code and message, nothing written, so the answer tells nothing about
the other client (both databases)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest
from cabinet_core.cashdesk import CashSlip, SlipKind
from cabinet_core.entities import Counterparty, Document, DocumentLine, Party, Product
from cabinet_core.errors import NotFound, ValidationError
from cabinet_core.storage import DocumentQuery
from fixtures_services import World

DAY = date(2026, 11, 20)
MISSING = 987_654


def _invoice(world: World, **changes: Any) -> Document:
    document = Document(
        client_id=world.client_id(world.client_a),
        doc_type="vat_invoice",
        issue_date=DAY,
        sale_date=DAY,
        buyer=Party(name="Kupiec sp. z o.o.", nip="5260001246"),
        lines=(DocumentLine(name="Usługa", unit="szt.", unit_price=Decimal("100.00")),),
    )
    return attrs.evolve(document, **changes)


def _refusal(call: Callable[[], object]) -> set[tuple[str, str, str]]:
    with pytest.raises(ValidationError) as caught:
        call()
    return {(e.field, e.code, e.message) for e in caught.value.errors}


def _b_records(world: World) -> tuple[int, int, int]:
    """A product, a counterparty and an issued invoice of client B (ids)."""
    bob = world.actor(world.bob)
    b = world.client_id(world.client_b)
    product = world.cabinet.products.create(
        bob, Product(client_id=b, name="Towar B", unit="szt.", unit_price=Decimal("5.00"))
    )
    counterparty = world.cabinet.counterparties.create(
        bob, Counterparty(client_id=b, name="Kontrahent B", nip="5260250274")
    )
    invoice = world.cabinet.documents.create(bob, _invoice(world, client_id=b))
    assert product.id is not None and counterparty.id is not None and invoice.id is not None
    return product.id, counterparty.id, invoice.id


def _documents_of_a(world: World) -> int:
    page = world.cabinet.documents.list(world.actor(world.admin), DocumentQuery())
    return sum(1 for d in page.items if d.client_id == world.client_id(world.client_a))


@pytest.mark.parametrize("who", ["alice", "admin", "manager"])
def test_a_line_cannot_name_another_clients_product(world: World, who: str) -> None:
    actor = world.actor(getattr(world, who))
    product_b, _, _ = _b_records(world)
    documents = world.cabinet.documents

    def with_product(product_id: int) -> Document:
        line = DocumentLine(name="Usługa", unit_price=Decimal("1.00"), product_id=product_id)
        return _invoice(world, lines=(line,))

    foreign = _refusal(lambda: documents.create(actor, with_product(product_b)))
    assert foreign == _refusal(lambda: documents.create(actor, with_product(MISSING)))
    assert foreign == {("lines.0.product_id", "unknown", "Choose one of your products.")}
    assert _refusal(lambda: documents.validate(actor, with_product(product_b))) == foreign
    assert _refusal(lambda: documents.save(actor, with_product(product_b))) == foreign
    assert _documents_of_a(world) == 0


def test_an_edit_cannot_bring_in_another_clients_product(world: World) -> None:
    alice = world.actor(world.alice)
    product_b, _, _ = _b_records(world)
    own = world.cabinet.products.create(
        alice,
        Product(
            client_id=world.client_id(world.client_a),
            name="Towar A",
            unit="szt.",
            unit_price=Decimal("7.00"),
        ),
    )
    line = DocumentLine(name="Towar A", unit_price=Decimal("7.00"), product_id=own.id)
    saved = world.cabinet.documents.create(alice, _invoice(world, lines=(line,)))
    assert saved.lines[0].product_id == own.id
    edited = attrs.evolve(saved, lines=(attrs.evolve(line, product_id=product_b), line))
    refused = _refusal(lambda: world.cabinet.documents.update(alice, edited))
    assert refused == {("lines.0.product_id", "unknown", "Choose one of your products.")}
    assert saved.id is not None
    assert world.cabinet.documents.get(alice, saved.id).lines == saved.lines


def test_counterparty_and_related_document_of_another_client(world: World) -> None:
    alice = world.actor(world.alice)
    _, counterparty_b, invoice_b = _b_records(world)
    create = world.cabinet.documents.create
    foreign = _refusal(lambda: create(alice, _invoice(world, counterparty_id=counterparty_b)))
    assert foreign == _refusal(lambda: create(alice, _invoice(world, counterparty_id=MISSING)))
    assert {field for field, _, _ in foreign} == {"counterparty_id"}
    foreign = _refusal(lambda: create(alice, _invoice(world, related_id=invoice_b)))
    assert foreign == _refusal(lambda: create(alice, _invoice(world, related_id=MISSING)))
    assert {field for field, _, _ in foreign} == {"related_id"}
    assert _documents_of_a(world) == 0


def test_cash_slip_cannot_name_another_clients_counterparty_or_invoice(world: World) -> None:
    alice = world.actor(world.alice)
    cash = world.cabinet.cash
    _, counterparty_b, invoice_b = _b_records(world)
    desk = cash.add_desk(alice, world.client_id(world.client_a), name="Kasa", symbol="KASA")
    assert desk.id is not None
    desk_id = desk.id
    cash.open_report(alice, desk_id, period_from=date(2026, 11, 1), period_to=date(2026, 11, 30))

    def slip(**more: int) -> CashSlip:
        return CashSlip(
            desk_id=desk_id,
            kind=SlipKind.KP,
            on=DAY,
            amount=Decimal("10.00"),
            party_name="Jan Kowalski",
            title="Wpłata",
            **more,  # type: ignore[arg-type]
        )

    def refusal(field: str, value: int) -> set[tuple[str, str, str]]:
        return _refusal(lambda: cash.add_slip(alice, slip(**{field: value})))

    for field, foreign_id in (("counterparty_id", counterparty_b), ("document_id", invoice_b)):
        foreign = refusal(field, foreign_id)
        assert foreign == refusal(field, MISSING)
        assert {f for f, _, _ in foreign} == {field}
    assert cash.list_slips(alice, desk_id) == []


def test_attachment_of_another_clients_document(world: World) -> None:
    alice = world.actor(world.alice)
    _, _, invoice_b = _b_records(world)
    pdf = b"%PDF-1.4\n%%EOF\n"
    attachments = world.cabinet.attachments
    with pytest.raises(NotFound) as foreign:
        attachments.add(alice, invoice_b, filename="x.pdf", data=pdf)
    with pytest.raises(NotFound) as missing:
        attachments.add(alice, MISSING, filename="x.pdf", data=pdf)
    assert foreign.value.title == missing.value.title
    assert attachments.list(world.actor(world.bob), invoice_b) == []
    own = attachments.add(world.actor(world.bob), invoice_b, filename="b.pdf", data=pdf)
    assert own.id is not None
    own_id = own.id
    with pytest.raises(NotFound):
        attachments.open(alice, own_id)
    with pytest.raises(NotFound):
        attachments.delete(alice, own_id)
    assert [a.id for a in attachments.list(world.actor(world.bob), invoice_b)] == [own_id]
