"""cabinet.documents.save: a document with a new counterparty, catalogue products from its lines
and a workflow move, saved in one transaction and prepared once, or nothing saved at all; and
documents.preview, the form's live totals (both databases)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from cabinet_core.entities import Address, Counterparty, Document, DocumentLine, Party, Product
from cabinet_core.errors import Conflict, ValidationError
from cabinet_core.ksef.fa3_import import MAX_FA3_BYTES
from cabinet_core.services.documents import DocumentService
from cabinet_core.storage import DocumentQuery
from fixtures_services import HookRecorder, World

DAY = date(2026, 11, 20)
SUPPLIER = Counterparty(
    client_id=0,  # the service puts the document's client here
    name="Dostawca GmbH",
    vat_eu="DE136695976",
    address=Address(line1="Hauptstraße 1", postal_code="10115", city="Berlin", country="DE"),
)
LINES = (
    DocumentLine(name="Papier A4", quantity=Decimal(2), unit="ryza", unit_price=Decimal("20.00")),
    DocumentLine(name="Toner", unit="szt.", unit_price=Decimal("300.00")),
)


def cost_invoice(world: World, **changes: Any) -> Document:
    document = Document(
        client_id=world.client_id(world.client_a),
        doc_type="cost_invoice",
        issue_date=DAY,
        lines=LINES,
        extra={"seller_invoice_number": "S/77/2026"},
    )
    return attrs.evolve(document, **changes)


def sales_invoice(world: World) -> Document:
    return Document(
        client_id=world.client_id(world.client_a),
        doc_type="vat_invoice",
        issue_date=DAY,
        sale_date=DAY,
        buyer=Party(name="Kupiec sp. z o.o.", nip="5260001246"),
        lines=LINES,
    )


@attrs.define
class Statements:
    """Every transaction begun and every statement run on the store's engine while on."""

    begins: int = 0
    sql: list[str] = attrs.Factory(list)
    on: bool = False

    def client_reads(self) -> int:
        """SELECTs from the clients table."""
        return sum(1 for text in self.sql if CLIENT_READ.match(text))


CLIENT_READ = re.compile(r"\s*SELECT\b.*?\bFROM\s+clients\b", re.IGNORECASE | re.DOTALL)


@pytest.fixture
def statements(world: World) -> Iterator[Statements]:
    seen = Statements()
    engine = world.cabinet.store.engine

    def on_begin(_connection: Any) -> None:
        if seen.on:
            seen.begins += 1

    def on_statement(*args: Any) -> None:
        if seen.on:
            seen.sql.append(str(args[2]))

    sa.event.listen(engine, "begin", on_begin)
    sa.event.listen(engine, "before_cursor_execute", on_statement)
    yield seen
    sa.event.remove(engine, "begin", on_begin)
    sa.event.remove(engine, "before_cursor_execute", on_statement)


def counts(world: World) -> dict[str, int]:
    """How many documents, counterparties, products, outbox rows and audit entries exist."""
    admin = world.actor(world.admin)
    cabinet = world.cabinet
    client_id = world.client_id(world.client_a)
    return {
        "documents": cabinet.documents.list(admin, DocumentQuery()).total,
        "counterparties": cabinet.counterparties.list(admin, client_id).total,
        "products": cabinet.products.list(admin, client_id).total,
        "outbox": len(cabinet.store.list_outbox(limit=1000)),
        "audit": len(cabinet.audit.list(admin)),
    }


def test_save_with_counterparty_products_and_submit_is_one_transaction(
    world: World, hooks: HookRecorder, statements: Statements
) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    outbox_before = len(cabinet.store.list_outbox(limit=1000))
    hooks.calls.clear()
    statements.on = True
    saved = cabinet.documents.save(
        alice,
        cost_invoice(world),
        new_counterparty=SUPPLIER,
        catalogue_lines=[0, 1],
        transition="submit",
    )
    statements.on = False

    assert statements.begins == 1
    # The client is read once per transaction, though access, the document row and the move
    # all need it.
    assert statements.client_reads() == 1
    document = saved.document
    assert saved.created and saved.transition == "submit"
    assert document.status == "submitted" and document.id is not None
    assert saved.counterparty is not None and saved.counterparty.id is not None
    assert saved.counterparty.client_id == world.client_a.id
    assert document.counterparty_id == saved.counterparty.id
    # The counterparty fills the document's empty seller.
    assert document.seller is not None and document.seller.vat_eu == "DE136695976"
    assert [(p.name, p.unit, p.unit_price) for p in saved.products] == [
        ("Papier A4", "ryza", Decimal("20.00")),
        ("Toner", "szt.", Decimal("300.00")),
    ]
    assert document.totals is not None and document.totals.gross == Decimal("418.20")
    assert cabinet.documents.get(alice, document.id) == document

    # The same rows, in the same order, as the separate calls made.
    topics = [m.topic for m in cabinet.store.list_outbox(status="pending", limit=1000)]
    topics = topics[outbox_before:]
    assert topics == [
        "counterparty.created",
        "document.created",
        "product.created",
        "product.created",
        "document.status_changed",
        # The submitted cost invoice is e-mailed to the accountants as a notification.
        "mail.notification",
    ]
    actions = [entry.action for entry in cabinet.audit.list(world.actor(world.admin))]
    assert sorted(actions[: len(topics)]) == sorted(
        [
            "counterparty.create",
            "document.create",
            "product.create",
            "product.create",
            "document.transition",
            "notification.mail",
        ]
    )
    assert hooks.names() == ["document_saved", "document_status_changed"]
    assert hooks.calls[0][1]["created"] is True
    assert hooks.calls[1][1]["old"] == "draft" and hooks.calls[1][1]["new"] == "submitted"


def test_the_document_is_prepared_once(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    calls: dict[str, int] = {"complete": 0, "errors": 0, "totals": 0}

    def counted(name: str) -> Any:
        original = getattr(DocumentService, f"_{name}")

        def wrapper(self: DocumentService, *args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return original(self, *args, **kwargs)

        return wrapper

    for name in calls:
        monkeypatch.setattr(DocumentService, f"_{name}", counted(name))
    saved = cabinet.documents.save(alice, sales_invoice(world), transition="issue")
    assert calls == {"complete": 1, "errors": 1, "totals": 1}
    assert saved.document.status == "issued" and saved.document.number is not None


def test_create_and_issue_in_one_call(
    world: World, hooks: HookRecorder, statements: Statements
) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    hooks.calls.clear()
    statements.on = True
    saved = cabinet.documents.save(alice, sales_invoice(world), transition="issue")
    statements.on = False
    assert statements.begins == 1
    # Access, the document's copy of the NIP and name, and auto-send on issue share one read.
    assert statements.client_reads() == 1
    document = saved.document
    assert document.status == "issued" and document.number is not None
    assert document.number.startswith("FV/1/")
    assert hooks.names() == ["document_saved", "document_status_changed"]
    stored = cabinet.documents.get(alice, document.id or 0)
    assert (stored.status, stored.number) == ("issued", document.number)


def test_every_problem_comes_at_once_and_nothing_is_saved(
    world: World, hooks: HookRecorder
) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    before = counts(world)
    hooks.calls.clear()
    lines = (
        attrs.evolve(LINES[0], unit=""),  # a product needs a unit
        attrs.evolve(LINES[1], vat_rate="42"),  # no such rate
    )
    with pytest.raises(ValidationError) as caught:
        cabinet.documents.save(
            alice,
            cost_invoice(world, lines=lines),
            new_counterparty=attrs.evolve(SUPPLIER, vat_eu=None, nip="1234567890"),
            catalogue_lines=[0, 1],
            transition="submit",
        )
    fields = {error.field for error in caught.value.errors}
    assert {"seller.nip", "lines.0.unit", "lines.1.vat_rate"} <= fields
    # One message per field, although the party is checked as a counterparty and on the document.
    assert len(fields) == len(caught.value.errors)
    assert counts(world) == before
    assert hooks.calls == []


@pytest.mark.parametrize(
    ("transition", "error"),
    [("approve", "PermissionDenied"), ("issue", "Conflict")],
)
def test_a_refused_move_saves_nothing(world: World, transition: str, error: str) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    before = counts(world)
    with pytest.raises(Exception) as caught:
        cabinet.documents.save(
            alice,
            cost_invoice(world),
            new_counterparty=SUPPLIER,
            catalogue_lines=[0],
            transition=transition,
        )
    assert type(caught.value).__name__ == error
    assert counts(world) == before


def test_an_edit_over_a_newer_version_saves_nothing(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    first = cabinet.documents.save(alice, cost_invoice(world, seller=Party(name="Stary")))
    document = first.document
    cabinet.documents.update(alice, attrs.evolve(document, notes="changed meanwhile"))
    before = counts(world)
    with pytest.raises(Conflict):
        cabinet.documents.save(
            alice,
            attrs.evolve(document, seller=None, notes="mine"),
            new_counterparty=SUPPLIER,
            catalogue_lines=[1],
            transition="submit",
        )
    assert counts(world) == before


def test_an_edit_links_a_new_counterparty_and_resubmits(world: World, hooks: HookRecorder) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    accountant = world.actor(world.accountant)
    draft = cost_invoice(world, seller=Party(name="Dostawca"))
    submitted = cabinet.documents.save(alice, draft, transition="submit").document
    assert submitted.id is not None
    returned = cabinet.documents.transition(accountant, submitted.id, "return", comment="NIP?")
    hooks.calls.clear()
    saved = cabinet.documents.save(
        alice,
        attrs.evolve(returned, seller=None),
        new_counterparty=SUPPLIER,
        transition="resubmit",
    )
    assert not saved.created
    assert saved.document.status == "submitted"
    assert saved.document.counterparty_id == (saved.counterparty and saved.counterparty.id)
    assert saved.document.version == returned.version + 2  # the edit, then the move
    assert hooks.names() == ["document_saved", "document_status_changed"]
    assert hooks.calls[0][1]["created"] is False


def test_a_counterparty_chosen_and_a_new_one_is_refused(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    known = cabinet.counterparties.create(alice, attrs.evolve(SUPPLIER, name="Znany"))
    with pytest.raises(ValidationError) as caught:
        cabinet.documents.save(
            alice, cost_invoice(world, counterparty_id=known.id), new_counterparty=SUPPLIER
        )
    assert "counterparty_id" in {error.field for error in caught.value.errors}


def test_a_line_from_the_catalogue_is_not_added_again(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    product = cabinet.products.create(
        alice,
        Product(
            client_id=world.client_id(world.client_a),
            name="Toner",
            unit="szt.",
            unit_price=Decimal("300.00"),
        ),
    )
    lines = (LINES[0], attrs.evolve(LINES[1], product_id=product.id))
    saved = cabinet.documents.save(
        alice,
        cost_invoice(world, lines=lines, seller=Party(name="Dostawca")),
        catalogue_lines=[0, 1],
    )
    assert [p.name for p in saved.products] == ["Papier A4"]
    with pytest.raises(ValueError, match="no line 5"):
        cabinet.documents.save(alice, cost_invoice(world), catalogue_lines=[5])


def test_create_and_update_are_saves(world: World, hooks: HookRecorder) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    hooks.calls.clear()
    created = cabinet.documents.create(alice, attrs.evolve(sales_invoice(world), id=999))
    assert created.id != 999 and created.status == "draft"
    updated = cabinet.documents.update(alice, attrs.evolve(created, notes="Dziękujemy"))
    assert updated.version == created.version + 1 and updated.notes == "Dziękujemy"
    assert [call[1]["created"] for call in hooks.calls] == [True, False]


def test_preview_gives_totals_and_the_rate_saving_would_fix(world: World) -> None:
    documents = world.cabinet.documents
    euro = attrs.evolve(sales_invoice(world), currency="EUR")
    preview = documents.preview(euro)
    assert preview.exchange_rate is not None and preview.exchange_rate.currency == "EUR"
    assert preview.totals.gross == Decimal("418.20")
    assert preview.totals.vat_pln is not None
    saved = documents.save(world.actor(world.alice), euro).document
    assert saved.exchange_rate == preview.exchange_rate
    assert documents.preview(sales_invoice(world)).exchange_rate is None
    with pytest.raises(ValidationError) as caught:
        documents.preview(attrs.evolve(euro, currency="XYZ"))
    assert caught.value.errors[0].field == "currency"


@pytest.mark.parametrize(
    ("data", "code"), [(b"", "required"), (b" " * (MAX_FA3_BYTES + 1), "too_large")]
)
def test_an_fa3_import_refuses_an_empty_or_oversized_file(
    world: World, data: bytes, code: str
) -> None:
    before = counts(world)
    with pytest.raises(ValidationError) as caught:
        world.cabinet.invoicing.import_fa3(
            world.actor(world.alice), world.client_id(world.client_a), data
        )
    assert [(e.field, e.code) for e in caught.value.errors] == [("file", code)]
    assert counts(world) == before
