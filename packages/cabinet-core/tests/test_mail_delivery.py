"""cabinet.mail_delivery on SQLite: the mail of a queued document (language, attachments),
the issued → sent move on delivery, retryable and permanent failures, and the worker end to
end (delivered; refused until the attempts run out, then failed and visible in deliveries)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.crm import DeliveryError
from cabinet_core.entities import OutboxMessage
from cabinet_core.ksef import validate_fa3
from cabinet_core.storage import Store
from cabinet_core.worker import Worker
from fixtures_services import HookRecorder, World
from invoicing_support import BUYER, CapturingMailer, issued, mail_cabinet, sales_document


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cabinet.sqlite3'}"


@pytest.fixture
def mailer() -> CapturingMailer:
    return CapturingMailer()


@pytest.fixture
def cabinet(
    store: Store, tmp_path: Path, mailer: CapturingMailer, hooks: HookRecorder
) -> Iterator[Cabinet]:
    yield mail_cabinet(store, tmp_path, mailer, hooks)


def queue(world: World, *, doc_type: str = "vat_invoice", **changes: object) -> OutboxMessage:
    alice = world.actor(world.alice)
    document = issued(
        world.cabinet, alice, sales_document(world.client_id(world.client_a), doc_type, **changes)
    )
    assert document.id is not None
    return world.cabinet.invoicing.send(alice, document.id, message="Proszę o terminową wpłatę.")


def status_of(world: World, message: OutboxMessage) -> str:
    return world.cabinet.documents.get(world.actor(world.admin), message.entity_id or 0).status


def test_a_vat_invoice_goes_in_polish_with_its_pdf_and_fa3_and_becomes_sent(
    world: World, mailer: CapturingMailer, hooks: HookRecorder
) -> None:
    message = queue(world)
    world.cabinet.mail_delivery.deliver(world.cabinet, message)

    (mail,) = mailer.sent
    assert mail.to == (BUYER.email,) and mail.language == "pl"
    assert mail.subject == "Faktura VAT FV/1/11/2026 — Alfa sp. z o.o."
    assert "w załączniku przesyłamy dokument: Faktura VAT nr FV/1/11/2026" in mail.body
    assert "Kwota do zapłaty: 298,50 PLN." in mail.body
    assert "Termin płatności: 2026-12-04." in mail.body
    assert "Proszę o terminową wpłatę." in mail.body
    assert mail.reply_to == world.client_a.email
    pdf, xml = mail.attachments
    assert (pdf.filename, pdf.media_type) == ("FV-1-11-2026.pdf", "application/pdf")
    assert pdf.content.startswith(b"%PDF") and b" pl" in pdf.content
    assert (xml.filename, xml.media_type) == ("FV-1-11-2026.xml", "application/xml")
    assert validate_fa3(xml.content) == []
    assert b"<P_2>FV/1/11/2026</P_2>" in xml.content

    assert status_of(world, message) == "sent"
    entries = world.cabinet.audit.list(world.actor(world.admin), entity="document")
    moved = [e for e in entries if e.action == "document.transition" and e.detail["to"] == "sent"]
    assert [e.actor_id for e in moved] == [None]  # the system, not a user
    assert ("document_status_changed", "sent") in [(n, c.get("new")) for n, c in hooks.calls]


@pytest.mark.parametrize(
    ("language", "subject", "phrases"),
    [
        ("en", "VAT invoice FV/1/11/2026 — Alfa sp. z o.o.", ["please find attached", "298.50"]),
        (
            "pl+en",
            "Faktura VAT FV/1/11/2026 — Alfa sp. z o.o. / "
            "VAT invoice FV/1/11/2026 — Alfa sp. z o.o.",
            ["w załączniku", "please find attached"],
        ),
    ],
)
def test_the_mail_speaks_the_documents_language(
    world: World, mailer: CapturingMailer, language: str, subject: str, phrases: list[str]
) -> None:
    message = queue(world, language=language)
    world.cabinet.mail_delivery.deliver(world.cabinet, message)
    (mail,) = mailer.sent
    assert (mail.subject, mail.language) == (subject, language)
    for phrase in phrases:
        assert phrase in mail.body
    assert mail.attachments[0].content.endswith(language.encode())


def test_a_proforma_goes_without_fa3_and_a_resend_keeps_the_state(
    world: World, mailer: CapturingMailer
) -> None:
    message = queue(world, doc_type="proforma")
    world.cabinet.mail_delivery.deliver(world.cabinet, message)
    assert status_of(world, message) == "sent"
    again = world.cabinet.invoicing.send(world.actor(world.alice), message.entity_id or 0)
    world.cabinet.mail_delivery.deliver(world.cabinet, again)
    assert [m.subject for m in mailer.sent] == [
        "Faktura proforma PRO/1/11/2026 — Alfa sp. z o.o."
    ] * 2
    assert [[a.media_type for a in m.attachments] for m in mailer.sent] == [["application/pdf"]] * 2
    assert status_of(world, message) == "sent"


def test_a_refused_mail_is_retryable_and_leaves_the_document_issued(
    world: World, mailer: CapturingMailer
) -> None:
    message = queue(world)
    mailer.failures = 1
    with pytest.raises(DeliveryError) as info:
        world.cabinet.mail_delivery.deliver(world.cabinet, message)
    assert not info.value.permanent and "421" in str(info.value)
    assert status_of(world, message) == "issued"


def test_a_document_that_may_no_longer_be_sent_fails_for_good(
    world: World, mailer: CapturingMailer
) -> None:
    message = queue(world, doc_type="proforma")
    world.cabinet.documents.transition(
        world.actor(world.alice), message.entity_id or 0, "cancel", comment="Oferta nieaktualna"
    )
    with pytest.raises(DeliveryError) as cancelled:
        world.cabinet.mail_delivery.deliver(world.cabinet, message)
    assert cancelled.value.permanent
    gone = attrs.evolve(message, payload={**message.payload, "document_id": 999_999})
    with pytest.raises(DeliveryError) as missing:
        world.cabinet.mail_delivery.deliver(world.cabinet, gone)
    assert missing.value.permanent
    assert mailer.sent == []


def test_the_worker_delivers_queued_mail_and_the_document_becomes_sent(
    world: World, mailer: CapturingMailer
) -> None:
    message = queue(world)
    handled = Worker(world.cabinet).run_once()
    assert handled >= 1
    assert [m.to for m in mailer.sent] == [(BUYER.email,)]
    assert status_of(world, message) == "sent"
    (delivery,) = world.cabinet.documents.deliveries(
        world.actor(world.alice), message.entity_id or 0
    )
    assert delivery.delivered_at is not None and delivery.failed_at is None


def test_a_mail_the_server_keeps_refusing_is_retried_then_failed_and_visible(
    world: World, mailer: CapturingMailer
) -> None:
    message = queue(world)
    mailer.failures = 100
    now = [datetime(2026, 11, 27, 12, 0, tzinfo=UTC)]
    worker = Worker(world.cabinet, clock=lambda: now[0])
    attempts = []
    for _ in range(world.cabinet.settings.worker_max_attempts):
        worker.run_once()
        (delivery,) = world.cabinet.documents.deliveries(
            world.actor(world.alice), message.entity_id or 0
        )
        attempts.append((delivery.attempts, delivery.failed_at is not None))
        now[0] += timedelta(hours=2)  # past any backoff
    assert attempts == [(1, False), (2, False), (3, True)]
    assert delivery.last_error is not None and "421" in delivery.last_error
    assert mailer.sent == [] and status_of(world, message) == "issued"
