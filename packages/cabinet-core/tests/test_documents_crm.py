"""cabinet.documents' CRM side and deliveries: status and payment changes made in the CRM, the
deliveries view of the outbox, and the split-payment flag set on save (both databases)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs
import pytest
from cabinet_core.entities import (
    Document,
    DocumentLine,
    ExchangeRate,
    OutboxMessage,
    Party,
    PaymentStatus,
)
from cabinet_core.errors import NotFound
from cabinet_core.sync import MAIL_SUBSCRIBER
from fixtures_services import HookRecorder, World

DAY = date(2026, 11, 20)
BUYER = Party(name="Kupiec sp. z o.o.", nip="5260001246", email="kupiec@example.com")


def invoice(world: World, *lines: DocumentLine, **changes: object) -> Document:
    document = Document(
        client_id=world.client_id(world.client_a),
        doc_type="vat_invoice",
        issue_date=DAY,
        buyer=BUYER,
        lines=lines or (DocumentLine(name="Usługa", unit_price=Decimal("100.00")),),
    )
    return attrs.evolve(document, **changes)


def created(world: World, document: Document) -> Document:
    stored = world.cabinet.documents.create(world.actor(world.alice), document)
    assert stored.id is not None
    return stored


def outbox(world: World) -> list[OutboxMessage]:
    return world.cabinet.store.list_outbox(limit=1000)


# -- apply_crm_status ---------------------------------------------------------------------------


def test_crm_status_moves_without_a_transition_and_says_where_from(
    world: World, hooks: HookRecorder
) -> None:
    document = created(world, invoice(world))
    assert document.id is not None
    # Staff moved the deal straight to "issued" in the CRM: the document gets its number too.
    moved = world.cabinet.documents.apply_crm_status(
        document.id, "issued", comment="z Bitrix24", source="bitrix24"
    )
    assert moved is not None
    assert moved.status == "issued" and moved.number is not None
    assert moved.number.startswith("FV/1/11/2026")
    # The newest message to a CRM (the client's users are also e-mailed a notification).
    last = next(m for m in outbox(world) if not m.topic.startswith("mail."))
    assert last.topic == "document.status_changed" and last.entity_id == document.id
    # The origin is the message's, not the payload's: the backend it came from gets no
    # delivery, every other active one (here "null") does.
    assert last.origin == "bitrix24" and "origin" not in last.payload
    assert last.subscriber == "null"
    assert (last.payload["old_status"], last.payload["new_status"]) == ("draft", "issued")
    audit = world.cabinet.audit.list(world.actor(world.admin), entity="document")[0]
    assert audit.action == "document.crm_status" and audit.actor_id is None
    assert audit.detail["source"] == "bitrix24" and audit.detail["comment"] == "z Bitrix24"
    # The author hears of it (somebody else moved the document).
    notes = world.cabinet.notifications.list(world.actor(world.alice))
    assert notes and "z Bitrix24" in notes[0].text and notes[0].link.endswith(f"/{document.id}")
    assert hooks.calls[-1][0] == "document_status_changed"
    assert hooks.calls[-1][1]["old"] == "draft" and hooks.calls[-1][1]["new"] == "issued"


def test_crm_status_equal_is_skipped_and_unknown_refused(world: World) -> None:
    document = created(world, invoice(world))
    assert document.id is not None
    before = len(outbox(world))
    assert world.cabinet.documents.apply_crm_status(document.id, "draft") is None
    assert len(outbox(world)) == before
    with pytest.raises(ValueError, match="not a state"):
        world.cabinet.documents.apply_crm_status(document.id, "approved")  # a cost-invoice state
    with pytest.raises(NotFound):
        world.cabinet.documents.apply_crm_status(999_999, "issued")
    assert world.cabinet.documents.get(world.actor(world.alice), document.id) == document


def test_crm_paid_status_marks_the_payment_and_keeps_the_number(world: World) -> None:
    alice = world.actor(world.alice)
    document = created(world, invoice(world))
    assert document.id is not None
    issued = world.cabinet.documents.transition(alice, document.id, "issue")
    paid = world.cabinet.documents.apply_crm_status(document.id, "paid")
    assert paid is not None
    assert paid.status == "paid" and paid.payment_status is PaymentStatus.PAID
    assert paid.number == issued.number


def test_crm_payment(world: World) -> None:
    document = created(world, invoice(world))
    assert document.id is not None
    paid = world.cabinet.documents.apply_crm_payment(document.id, "paid", source="bitrix24")
    assert paid is not None
    assert paid.payment_status is PaymentStatus.PAID and paid.status == document.status
    message = outbox(world)[0]
    assert message.topic == "document.payment_changed"
    assert message.origin == "bitrix24" and "origin" not in message.payload
    assert message.payload["new_payment_status"] == "paid"
    assert world.cabinet.documents.apply_crm_payment(document.id, PaymentStatus.PAID) is None
    with pytest.raises(ValueError):
        world.cabinet.documents.apply_crm_payment(document.id, "half")
    back = world.cabinet.documents.apply_crm_payment(document.id, PaymentStatus.UNPAID)
    assert back is not None and back.payment_status is PaymentStatus.UNPAID


# -- deliveries ---------------------------------------------------------------------------------


def test_deliveries_show_mail_and_for_staff_the_newest_crm_row(world: World) -> None:
    alice = world.actor(world.alice)
    document = created(world, invoice(world))
    assert document.id is not None
    store = world.cabinet.store
    with store.transaction() as tx:
        first = tx.add_outbox(
            OutboxMessage(
                topic="mail.document",
                entity="document",
                entity_id=document.id,
                payload={"to": "kupiec@example.com"},
            ),
            subscribers=(MAIL_SUBSCRIBER,),
        )
        second = tx.add_outbox(
            OutboxMessage(
                topic="mail.document",
                entity="document",
                entity_id=document.id,
                payload={"to": "inny@example.com"},
            ),
            subscribers=(MAIL_SUBSCRIBER,),
        )
        # Another document's mail stays out of this one's list.
        tx.add_outbox(
            OutboxMessage(topic="mail.document", entity="document", entity_id=document.id + 1),
            subscribers=(MAIL_SUBSCRIBER,),
        )
    assert first.id is not None and second.id is not None
    store.mark_failed(
        first.id, subscriber=MAIL_SUBSCRIBER, error="550 mailbox unavailable", now=store.clock()
    )
    world.cabinet.documents.transition(alice, document.id, "issue")
    with store.transaction(readonly=True) as tx:
        everything = tx.outbox_for("document", document.id)
    crm_rows = [m for m in everything if not m.topic.startswith("mail.")]
    assert [m.topic for m in crm_rows] == ["document.status_changed", "document.created"]

    seen_by_client = world.cabinet.documents.deliveries(alice, document.id)
    assert [m.id for m in seen_by_client] == [second.id, first.id]
    assert seen_by_client[1].failed_at is not None
    assert seen_by_client[1].last_error == "550 mailbox unavailable"
    seen_by_staff = world.cabinet.documents.deliveries(world.actor(world.manager), document.id)
    assert [m.id for m in seen_by_staff] == [crm_rows[0].id, second.id, first.id]
    with pytest.raises(NotFound):
        world.cabinet.documents.deliveries(world.actor(world.bob), document.id)


def test_a_crm_change_reaches_every_other_backend_and_staff_see_each_ones_newest(
    world: World,
) -> None:
    world.cabinet.settings = attrs.evolve(
        world.cabinet.settings, crm_backends=("bitrix24", "webhook")
    )
    document = created(world, invoice(world))
    assert document.id is not None
    world.cabinet.documents.apply_crm_status(document.id, "issued", source="bitrix24")
    with world.cabinet.store.transaction(readonly=True) as tx:
        rows = tx.outbox_for("document", document.id)
        assert tx.outbox_pending("document", document.id, subscriber="webhook")
        assert tx.outbox_pending("document", document.id, subscriber="bitrix24")  # the create
    by_topic = {(m.topic, m.subscriber) for m in rows}
    # The cabinet's own change goes to both; the CRM's change only to the other one.
    assert by_topic == {
        ("document.created", "bitrix24"),
        ("document.created", "webhook"),
        ("document.status_changed", "webhook"),
    }
    newest = world.cabinet.documents.deliveries(world.actor(world.manager), document.id)
    assert [(m.topic, m.subscriber) for m in newest] == [
        ("document.status_changed", "webhook"),
        ("document.created", "bitrix24"),
    ]
    assert world.cabinet.documents.deliveries(world.actor(world.alice), document.id) == []
    created_id = next(m.id for m in rows if m.subscriber == "bitrix24")
    assert created_id is not None
    world.cabinet.store.mark_delivered(
        created_id, subscriber="bitrix24", now=world.cabinet.store.clock()
    )
    with world.cabinet.store.transaction(readonly=True) as tx:
        assert not tx.outbox_pending("document", document.id, subscriber="bitrix24")
        assert tx.outbox_pending("document", document.id, subscriber="webhook")


# -- split payment on save ----------------------------------------------------------------------


def annex15(price: str, **changes: object) -> DocumentLine:
    return DocumentLine(
        name="Stal",
        unit_price=Decimal(price),
        annex15=True,
        **changes,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # 12 195.13 net + 23 % = 15 000.01 gross: above the threshold.
        ((annex15("12195.13"),), True),
        # 15 000.00 exactly is not above it.
        ((annex15("12195.12"),), False),
        # Above it, but nothing from annex 15.
        ((DocumentLine(name="Usługa", unit_price=Decimal("20000.00")),), False),
    ],
    ids=["15000.01", "15000.00", "no-annex-15"],
)
def test_split_payment_is_set_when_the_law_requires_it(
    world: World, lines: tuple[DocumentLine, ...], expected: bool
) -> None:
    stored = created(world, invoice(world, *lines))
    assert stored.lines[0].annex15 is lines[0].annex15  # stored and read back
    assert bool(stored.extra.get("split_payment")) is expected


def test_split_payment_converts_a_foreign_total_at_the_fixed_rate(world: World) -> None:
    # EUR 3 000.00 net + 23 % = 3 690.00 EUR; at the offline provider's rate that is well above
    # 15 000 PLN; EUR 500.00 is well below it.
    big = created(world, invoice(world, annex15("3000.00"), currency="EUR"))
    small = created(world, invoice(world, annex15("500.00"), currency="EUR"))
    assert isinstance(big.exchange_rate, ExchangeRate) and big.exchange_rate.rate > Decimal(4)
    assert big.extra["split_payment"] is True
    assert small.extra.get("split_payment") is False


def test_a_hand_ticked_flag_is_kept_and_a_required_one_cannot_be_cleared(world: World) -> None:
    alice = world.actor(world.alice)
    ticked = created(world, invoice(world, extra={"split_payment": True}))
    assert ticked.extra["split_payment"] is True
    required = created(world, invoice(world, annex15("20000.00")))
    assert required.extra["split_payment"] is True
    cleared = world.cabinet.documents.update(
        alice, attrs.evolve(required, extra={**required.extra, "split_payment": False})
    )
    assert cleared.extra["split_payment"] is True


def test_correction_uses_the_corrected_total_not_the_difference(world: World) -> None:
    original = created(world, invoice(world, annex15("20000.00")))
    assert original.id is not None
    before = annex15("20000.00", before=True)
    after = annex15("19900.00")
    correction = created(
        world,
        invoice(
            world,
            before,
            after,
            doc_type="correcting_invoice",
            related_id=original.id,
            extra={
                "corrected_number": "FV/1/11/2026",
                "corrected_issue_date": "2026-11-20",
                "reason": "Rabat",
            },
        ),
    )
    assert correction.totals is not None and correction.totals.gross < 0
    assert correction.extra["split_payment"] is True
