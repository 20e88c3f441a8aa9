"""cabinet.invoicing on SQLite: proforma → invoice, correcting invoices (KOR), correction
requests to sellers and their closing by the received correction, sending and auto-sending."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Document, DocumentLine, Party, Role
from cabinet_core.errors import Conflict, NotFound, ValidationError
from cabinet_core.ksef import document_to_fa3, parse_fa3, validate_fa3
from cabinet_core.services.invoicing import MAIL_TOPIC
from cabinet_core.storage import DocumentQuery, Store
from fixtures_services import HookRecorder, World
from invoicing_support import (
    BUYER,
    CapturingMailer,
    buyer_client,
    example,
    issued,
    mail_cabinet,
    sales_document,
)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """These flows run on SQLite; test_mail_delivery_postgres.py covers PostgreSQL."""
    return f"sqlite:///{tmp_path / 'cabinet.sqlite3'}"


@pytest.fixture
def mailer() -> CapturingMailer:
    return CapturingMailer()


@pytest.fixture
def cabinet(
    store: Store, tmp_path: Path, mailer: CapturingMailer, hooks: HookRecorder
) -> Iterator[Cabinet]:
    yield mail_cabinet(store, tmp_path, mailer, hooks)


AFTER_DAY = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def mails_of(cabinet: Cabinet, doc_id: int | None) -> list[dict[str, object]]:
    """The mails queued for the document, oldest first."""
    assert doc_id is not None
    with cabinet.store.transaction(readonly=True) as tx:
        queued = sorted(tx.outbox_for("document", doc_id), key=lambda m: m.id or 0)
    return [dict(m.payload) for m in queued if m.topic == MAIL_TOPIC]


def audit_actions(world: World, doc_id: int | None) -> list[str]:
    entries = world.cabinet.audit.list(world.actor(world.admin), entity="document")
    return [entry.action for entry in entries if entry.entity_id == doc_id]


# -- proforma → VAT invoice --------------------------------------------------------------------


def test_an_issued_proforma_becomes_a_vat_invoice_draft_once(
    monkeypatch: pytest.MonkeyPatch, world: World, hooks: HookRecorder
) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    # The invoice is issued "today": pin the clock to the day after the proforma, so its due
    # date and month-numbered series do not depend on when the suite runs.
    monkeypatch.setattr(cabinet.store, "clock", lambda: AFTER_DAY)
    proforma = issued(
        cabinet,
        alice,
        sales_document(world.client_id(world.client_a), "proforma", currency="PLN", language="en"),
    )
    assert proforma.id is not None and proforma.number is not None
    invoice = cabinet.invoicing.convert_proforma(alice, proforma.id)

    assert (invoice.doc_type, invoice.status, invoice.number) == ("vat_invoice", "draft", None)
    assert invoice.related_id == proforma.id
    assert invoice.lines == proforma.lines
    assert (invoice.buyer, invoice.seller) == (proforma.buyer, proforma.seller)
    assert (invoice.currency, invoice.language) == ("PLN", "en")
    assert (invoice.payment_method, invoice.due_date) == (
        proforma.payment_method,
        date(2026, 12, 4),
    )
    assert invoice.totals == proforma.totals
    converted = cabinet.documents.get(alice, proforma.id)
    assert converted.status == "converted"
    assert cabinet.document_type("proforma").workflow.state("converted").label == {
        "pl": "Zamieniona na fakturę",
        "en": "Converted to invoice",
    }
    # Audit and hooks: the new invoice and the proforma's move, written together.
    assert "document.transition" in audit_actions(world, proforma.id)
    assert "document.convert" in audit_actions(world, invoice.id)
    assert ("document_status_changed", "converted") in [
        (name, call.get("new")) for name, call in hooks.calls
    ]

    with pytest.raises(Conflict):
        cabinet.invoicing.convert_proforma(alice, proforma.id)
    invoices = cabinet.documents.list(alice, DocumentQuery(doc_types=("vat_invoice",)))
    assert invoices.total == 1


def test_conversion_is_not_a_move_anybody_makes_by_hand(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    proforma = issued(cabinet, alice, sales_document(world.client_id(world.client_a), "proforma"))
    assert proforma.id is not None
    keys = [t.key for t in cabinet.documents.transitions(world.actor(world.admin), proforma.id)]
    assert "convert" not in keys and "send" in keys
    with pytest.raises(Exception, match="not allowed"):
        cabinet.documents.transition(world.actor(world.admin), proforma.id, "convert")


def test_only_issued_proformas_of_ones_own_client_convert(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    draft = cabinet.documents.create(
        alice, sales_document(world.client_id(world.client_a), "proforma")
    )
    assert draft.id is not None
    with pytest.raises(Conflict):
        cabinet.invoicing.convert_proforma(alice, draft.id)
    with pytest.raises(NotFound):
        cabinet.invoicing.convert_proforma(world.actor(world.bob), draft.id)
    invoice = issued(cabinet, alice, sales_document(world.client_id(world.client_a)))
    assert invoice.id is not None
    with pytest.raises(Conflict):
        cabinet.invoicing.convert_proforma(alice, invoice.id)


# -- correcting invoice (KOR) ----------------------------------------------------------------


def test_a_correction_starts_as_before_and_after_rows_of_the_invoice(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    invoice = issued(cabinet, alice, sales_document(world.client_id(world.client_a)))
    assert invoice.id is not None
    correction = cabinet.invoicing.correct(alice, invoice.id, reason="Rabat posprzedażowy")

    assert (correction.doc_type, correction.status, correction.related_id) == (
        "correcting_invoice",
        "draft",
        invoice.id,
    )
    assert [line.before for line in correction.lines] == [True, False, True, False]
    assert [attrs.evolve(line, before=False) for line in correction.lines[::2]] == list(
        invoice.lines
    )
    assert correction.extra["corrected_number"] == invoice.number
    assert correction.extra["corrected_issue_date"] == invoice.issue_date.isoformat()
    assert correction.extra["reason"] == "Rabat posprzedażowy"
    # Nothing changed yet: a correction by zero.
    assert correction.totals is not None and correction.totals.gross == Decimal("0.00")


def test_an_edited_correction_issues_a_schema_valid_kor_with_stan_przed(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    invoice = issued(cabinet, alice, sales_document(world.client_id(world.client_a)))
    assert invoice.id is not None
    draft = cabinet.invoicing.correct(alice, invoice.id, reason="Zwrot jednej sztuki")
    lines = list(draft.lines)
    lines[1] = attrs.evolve(lines[1], quantity=Decimal(1))  # Doradztwo: 2 → 1
    edited = cabinet.documents.update(alice, attrs.evolve(draft, lines=tuple(lines)))
    assert edited.totals is not None
    assert (edited.totals.net, edited.totals.vat, edited.totals.gross) == (
        Decimal("-100.00"),
        Decimal("-23.00"),
        Decimal("-123.00"),
    )
    assert edited.id is not None
    kor = cabinet.documents.transition(alice, edited.id, "issue")
    xml = document_to_fa3(
        kor, seller=kor.seller or Party(name="x"), created_at=kor.updated_at or kor.created_at
    )
    assert validate_fa3(xml) == []
    text = xml.decode()
    assert "<RodzajFaktury>KOR</RodzajFaktury>" in text
    assert text.count("<StanPrzed>1</StanPrzed>") == 2
    assert f"<NrFaKorygowanej>{invoice.number}</NrFaKorygowanej>" in text
    assert "<P_15>-123.00</P_15>" in text
    # Read back, the file is the same correction.
    back = parse_fa3(xml, doc_type="correcting_invoice")
    assert back.kind == "KOR" and back.warnings == ()
    assert back.computed_totals is not None and back.computed_totals.gross == Decimal("-123.00")


def test_a_foreign_currency_correction_keeps_the_corrected_invoices_rate(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    invoice = issued(
        cabinet, alice, sales_document(world.client_id(world.client_a), currency="EUR")
    )
    assert invoice.id is not None and invoice.exchange_rate is not None
    correction = cabinet.invoicing.correct(alice, invoice.id)
    assert correction.exchange_rate == invoice.exchange_rate


def test_only_issued_vat_invoices_are_corrected(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    draft = cabinet.documents.create(alice, sales_document(world.client_id(world.client_a)))
    assert draft.id is not None
    with pytest.raises(Conflict):
        cabinet.invoicing.correct(alice, draft.id)
    proforma = issued(cabinet, alice, sales_document(world.client_id(world.client_a), "proforma"))
    assert proforma.id is not None
    with pytest.raises(Conflict):
        cabinet.invoicing.correct(alice, proforma.id)


# -- sending ---------------------------------------------------------------------------------


def test_send_queues_one_mail_row_with_its_audit_entry_and_resends_are_visible(
    world: World,
) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    invoice = issued(cabinet, alice, sales_document(world.client_id(world.client_a), language="en"))
    assert invoice.id is not None
    queued = cabinet.invoicing.send(alice, invoice.id, message="  Thank you!  ")
    assert queued.topic == MAIL_TOPIC and queued.entity_id == invoice.id
    assert dict(queued.payload) == {
        "document_id": invoice.id,
        "to": BUYER.email,
        "message": "Thank you!",
        "language": "en",
        "requested_by": world.alice.id,
    }
    cabinet.invoicing.send(alice, invoice.id, to="ktos@inny.example")
    assert [m["to"] for m in mails_of(cabinet, invoice.id)] == [BUYER.email, "ktos@inny.example"]
    assert audit_actions(world, invoice.id).count("document.send") == 2
    # Queued is not sent: the state changes when the mail is delivered.
    assert cabinet.documents.get(alice, invoice.id).status == "issued"


def test_send_refuses_drafts_bad_addresses_and_other_clients(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    client_id = world.client_id(world.client_a)
    draft = cabinet.documents.create(alice, sales_document(client_id))
    assert draft.id is not None
    with pytest.raises(Conflict):
        cabinet.invoicing.send(alice, draft.id)
    no_email = issued(
        cabinet, alice, sales_document(client_id, buyer=attrs.evolve(BUYER, email=""))
    )
    assert no_email.id is not None
    with pytest.raises(ValidationError) as missing:
        cabinet.invoicing.send(alice, no_email.id)
    assert [(e.field, e.code) for e in missing.value.errors] == [("to", "required")]
    with pytest.raises(ValidationError) as bad:
        cabinet.invoicing.send(alice, no_email.id, to="not an address")
    assert [(e.field, e.code) for e in bad.value.errors] == [("to", "email")]
    with pytest.raises(NotFound):
        cabinet.invoicing.send(world.actor(world.bob), no_email.id, to="x@y.example")
    assert mails_of(cabinet, no_email.id) == [] and mails_of(cabinet, draft.id) == []


def test_auto_send_queues_the_mail_in_the_issue_transaction(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    client_id = world.client_id(world.client_a)
    cabinet.clients.set_preferences(
        world.actor(world.admin), client_id, auto_send=True, default_template=None
    )
    invoice = issued(cabinet, alice, sales_document(client_id))
    assert [m["to"] for m in mails_of(cabinet, invoice.id)] == [BUYER.email]
    # Without a buyer e-mail the issue still stands and the issuer is told.
    lonely = issued(cabinet, alice, sales_document(client_id, buyer=attrs.evolve(BUYER, email="")))
    assert lonely.status == "issued" and mails_of(cabinet, lonely.id) == []
    notes = cabinet.notifications.list(alice)
    assert [n.kind for n in notes] == ["document.not_sent"]
    assert lonely.number is not None and lonely.number in notes[0].text
    assert "document.send_skipped" in audit_actions(world, lonely.id)


def test_no_auto_send_when_the_client_has_it_off(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    invoice = issued(cabinet, alice, sales_document(world.client_id(world.client_a)))
    assert mails_of(cabinet, invoice.id) == []


# -- correction requests and the correction that answers them -------------------------------


def test_a_correction_request_is_sent_to_the_seller_and_closed_by_the_received_kor(
    world: World, mailer: CapturingMailer, hooks: HookRecorder
) -> None:
    cabinet = world.cabinet
    client = buyer_client(cabinet)
    assert client.id is not None
    staff = world.actor(world.admin)
    original = cabinet.invoicing.import_fa3(staff, client.id, example(1)).document
    assert original.id is not None
    cabinet.documents.transition(staff, original.id, "submit")

    # The carrying-in service was free: its line should say 0.
    wanted = (*original.lines[:1], attrs.evolve(original.lines[1], quantity=Decimal(0)))
    wanted = (*wanted, *original.lines[2:])
    request = cabinet.invoicing.request_correction(
        staff,
        original.id,
        reason="Wniesienie sprzętu miało być gratis.",
        lines=wanted,
        seller_email="sprzedaz@sprzedawca.example",
    )
    assert (request.doc_type, request.status, request.related_id) == (
        "correction_request",
        "draft",
        original.id,
    )
    assert request.extra["original_number"] == "FV2026/02/150"
    assert request.extra["seller_email"] == "sprzedaz@sprzedawca.example"
    assert sum(line.before for line in request.lines) == len(original.lines)
    assert request.totals is not None
    assert (request.totals.net, request.totals.vat) == (Decimal("-40.65"), Decimal("-9.35"))

    assert request.id is not None
    queued = cabinet.invoicing.send(staff, request.id)
    sent = cabinet.documents.get(staff, request.id)
    assert sent.status == "sent" and sent.number is not None
    assert queued.payload["to"] == "sprzedaz@sprzedawca.example"
    cabinet.mail_delivery.deliver(cabinet, queued)
    (mail,) = mailer.sent
    assert mail.to == ("sprzedaz@sprzedawca.example",)
    assert "FV2026/02/150" in mail.body and "Wniesienie sprzętu miało być gratis." in mail.body
    assert [a.media_type for a in mail.attachments] == ["application/pdf"]

    received = cabinet.invoicing.import_fa3(staff, client.id, example(2))
    assert received.document.related_id == original.id
    assert received.document.extra["corrected_number"] == "FV2026/02/150"
    assert cabinet.documents.get(staff, request.id).status == "accepted"
    assert ("document_status_changed", "accepted") in [
        (name, call.get("new")) for name, call in hooks.calls
    ]
    # The request was the admin's own: nobody else needs telling.
    assert cabinet.notifications.list(staff) == []


def test_the_author_of_a_request_hears_when_the_correction_arrives(world: World) -> None:
    cabinet = world.cabinet
    client = buyer_client(cabinet)
    assert client.id is not None
    user = cabinet.users.create(
        Actor.system(),
        email="jan@nabywca.example",
        name="Jan",
        role=Role.CLIENT,
        client_id=client.id,
        password="correct horse battery",
    )
    jan = Actor.of(user)
    original = cabinet.invoicing.import_fa3(jan, client.id, example(1)).document
    cabinet.documents.transition(jan, original.id or 0, "submit")
    request = cabinet.invoicing.request_correction(
        jan, original.id or 0, reason="Zła cena", seller_email="s@sprzedawca.example"
    )
    cabinet.invoicing.send(jan, request.id or 0)
    # The accountant imports the seller's KOR from KSeF.
    kor = cabinet.invoicing.import_fa3(world.actor(world.admin), client.id, example(2)).document
    (note,) = cabinet.notifications.list(jan)
    assert note.kind == "correction_request.accepted" and note.link == f"/documents/{kor.id}"
    assert note.text == "Prośba o korektę PK/1/2026: sprzedawca wystawił korektę FK2026/03/200."


def test_a_hand_made_correction_links_when_submitted(world: World) -> None:
    cabinet = world.cabinet
    client = buyer_client(cabinet)
    assert client.id is not None
    staff = world.actor(world.admin)
    original = cabinet.invoicing.import_fa3(staff, client.id, example(1)).document
    assert original.id is not None and original.seller is not None
    cabinet.documents.transition(staff, original.id, "submit")
    request = cabinet.invoicing.request_correction(
        staff, original.id, reason="Zła cena", seller_email="s@sprzedawca.example"
    )
    assert request.id is not None and request.lines == ()
    cabinet.documents.transition(staff, request.id, "send")  # the move mails it too
    assert [m["to"] for m in mails_of(cabinet, request.id)] == ["s@sprzedawca.example"]
    by_hand = cabinet.documents.create(
        staff,
        Document(
            client_id=client.id,
            doc_type="cost_invoice",
            issue_date=date(2026, 3, 10),
            seller=original.seller,
            lines=(DocumentLine(name="Rabat", unit_price=Decimal("10.00")),),
            extra={"seller_invoice_number": "FK/1", "corrected_number": "FV2026/02/150"},
        ),
    )
    assert by_hand.id is not None and by_hand.related_id is None
    submitted = cabinet.documents.transition(staff, by_hand.id, "submit")
    # The move answers with the document as stored: linked, at its newest version.
    assert submitted == cabinet.documents.get(staff, by_hand.id)
    assert submitted.related_id == original.id
    assert cabinet.documents.get(staff, request.id).status == "accepted"


def test_a_correction_request_needs_a_reason_an_address_and_a_cost_invoice(
    world: World, mailer: CapturingMailer
) -> None:
    cabinet = world.cabinet
    client = buyer_client(cabinet)
    assert client.id is not None
    staff = world.actor(world.admin)
    draft = cabinet.invoicing.import_fa3(staff, client.id, example(1)).document
    assert draft.id is not None
    with pytest.raises(ValidationError) as bad:
        cabinet.invoicing.request_correction(staff, draft.id, reason=" ", seller_email="nope")
    assert {e.field for e in bad.value.errors} == {"reason", "seller_email"}
    alice = world.actor(world.alice)
    sales = issued(cabinet, alice, sales_document(world.client_id(world.client_a)))
    assert sales.id is not None
    with pytest.raises(Conflict):
        cabinet.invoicing.request_correction(
            alice, sales.id, reason="x", seller_email="s@sprzedawca.example"
        )
    # A draft is not registered yet: submit it first.
    with pytest.raises(Conflict):
        cabinet.invoicing.request_correction(
            staff, draft.id, reason="x", seller_email="s@sprzedawca.example"
        )
    cabinet.documents.transition(staff, draft.id, "submit")
    # The request goes to the address given when sending, with the message.
    request = cabinet.invoicing.request_correction(
        staff, draft.id, reason="Zła cena", seller_email="s@sprzedawca.example"
    )
    assert request.id is not None
    queued = cabinet.invoicing.send(
        staff, request.id, to="reklamacje@sprzedawca.example", message="Pilne."
    )
    assert (queued.payload["to"], queued.payload["message"]) == (
        "reklamacje@sprzedawca.example",
        "Pilne.",
    )
    assert [m["to"] for m in mails_of(cabinet, request.id)] == ["reklamacje@sprzedawca.example"]
    cabinet.mail_delivery.deliver(cabinet, queued)
    (mail,) = mailer.sent
    assert mail.to == ("reklamacje@sprzedawca.example",) and "Pilne." in mail.body
    # A sent request may be mailed again.
    cabinet.invoicing.send(staff, request.id)
    assert len(mails_of(cabinet, request.id)) == 2


def test_client_users_act_only_on_their_own_documents(world: World) -> None:
    cabinet = world.cabinet
    invoice = issued(
        cabinet, world.actor(world.alice), sales_document(world.client_id(world.client_a))
    )
    assert invoice.id is not None
    bob: Actor = world.actor(world.bob)
    for call in (
        lambda: cabinet.invoicing.correct(bob, invoice.id or 0),
        lambda: cabinet.invoicing.send(bob, invoice.id or 0),
    ):
        with pytest.raises(NotFound):
            call()


def test_a_split_payment_marking_carries_to_the_invoice_and_its_correction(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    client_id = world.client_id(world.client_a)
    marked = {"split_payment": True}
    proforma = issued(cabinet, alice, sales_document(client_id, "proforma", extra=marked))
    assert proforma.id is not None and proforma.extra["split_payment"] is True
    invoice = cabinet.invoicing.convert_proforma(alice, proforma.id)
    assert invoice.extra["split_payment"] is True and invoice.id is not None
    issued_invoice = cabinet.documents.transition(alice, invoice.id, "issue")
    correction = cabinet.invoicing.correct(alice, issued_invoice.id or 0)
    assert correction.extra["split_payment"] is True


def test_tv10_a_price_cut_states_the_difference_of_the_rounded_states(world: World) -> None:
    """poland.md TV10: 3 × 10.00 at 23 % corrected to 3 × 5.50 → −13.50 / −3.10 / −16.60."""
    cabinet, alice = world.cabinet, world.actor(world.alice)
    line = DocumentLine(name="Usługa", quantity=Decimal(3), unit_price=Decimal("10.00"))
    invoice = issued(cabinet, alice, sales_document(world.client_id(world.client_a), lines=(line,)))
    draft = cabinet.invoicing.correct(alice, invoice.id or 0, reason="Obniżka ceny")
    before, after = draft.lines
    edited = cabinet.documents.update(
        alice,
        attrs.evolve(draft, lines=(before, attrs.evolve(after, unit_price=Decimal("5.50")))),
    )
    assert edited.totals is not None
    assert (edited.totals.net, edited.totals.vat, edited.totals.gross) == (
        Decimal("-13.50"),
        Decimal("-3.10"),
        Decimal("-16.60"),
    )
    kor = cabinet.documents.transition(alice, edited.id or 0, "issue")
    xml = document_to_fa3(
        kor, seller=kor.seller or Party(name="x"), created_at=kor.updated_at or kor.created_at
    )
    assert validate_fa3(xml) == []
    for element in ("<P_13_1>-13.50</P_13_1>", "<P_14_1>-3.10</P_14_1>", "<P_15>-16.60</P_15>"):
        assert element in xml.decode()
