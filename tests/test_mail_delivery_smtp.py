"""A document mailed for real: cabinet-core's invoicing and mail delivery, cabinet-pdf's
renderer and the SMTP mailer against an aiosmtpd server on loopback, driven by the worker.

Checks what the buyer receives (subject and Content-Language in the document's language, the
PDF with its FA(3) XML embedded and the XML attached beside it, both schema-valid) and the
failure path: a server that keeps refusing → retried, then failed, visible in deliveries.
"""

from __future__ import annotations

import email
import email.policy
import io
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import cabinet_pdf.plugin
import pytest
from aiosmtpd.controller import Controller
from cabinet_core.app import Cabinet
from cabinet_core.entities import (
    Actor,
    Address,
    Client,
    Document,
    DocumentLine,
    OutboxMessage,
    Party,
)
from cabinet_core.ksef import validate_fa3
from cabinet_core.settings import Settings, SmtpSettings
from cabinet_core.sync import MAIL_SUBSCRIBER
from cabinet_core.worker import Worker
from pypdf import PdfReader

BUYER = Party(
    name="Kupiec sp. z o.o.",
    nip="5260001246",
    email="faktury@kupiec.example",
    address=Address(line1="ul. Długa 5", postal_code="00-950", city="Warszawa"),
)


class _Server:
    """An aiosmtpd handler that keeps what it receives, or refuses every message."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []
        self.refuse = False
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 Requested action aborted: local error in processing"
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[_Server, int]]:
    handler = _Server()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def cabinet(tmp_path: Path, smtp: tuple[_Server, int]) -> Iterator[Cabinet]:
    _, port = smtp
    settings = Settings(
        data_dir=tmp_path,
        secret_key="test",
        database_url=f"sqlite:///{tmp_path / 'cabinet.sqlite3'}",
        rate_provider="offline",
        mailer="smtp",
        smtp=SmtpSettings(host="127.0.0.1", port=port, sender="panel@kancelaria.example"),
        worker_max_attempts=2,
    )
    app = Cabinet(settings, load_entrypoints=False, plugins=[cabinet_pdf.plugin])
    app.migrate()
    try:
        yield app
    finally:
        app.close()


def _client(cabinet: Cabinet) -> Client:
    return cabinet.clients.create(
        Actor.system(),
        Client(
            name="Alfa sp. z o.o.",
            nip="1234563218",
            email="biuro@alfa.example",
            address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
        ),
    )


def _issued_invoice(cabinet: Cabinet, client_id: int, language: str) -> Document:
    system = Actor.system()
    draft = cabinet.documents.create(
        system,
        Document(
            client_id=client_id,
            doc_type="vat_invoice",
            language=language,
            issue_date=date(2026, 11, 20),
            due_date=date(2026, 12, 4),
            buyer=BUYER,
            lines=(
                DocumentLine(name="Doradztwo prawne", quantity=Decimal(3), unit_price=Decimal(400)),
            ),
        ),
    )
    assert draft.id is not None
    return cabinet.documents.transition(system, draft.id, "issue")


def _mails(cabinet: Cabinet, doc_id: int) -> list[OutboxMessage]:
    """The document's e-mails as the deliveries list shows them (staff also see the CRM's)."""
    return [
        m
        for m in cabinet.documents.deliveries(Actor.system(), doc_id)
        if m.subscriber == MAIL_SUBSCRIBER
    ]


def _parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize(
    ("language", "subject", "content_language"),
    [
        ("pl", "Faktura VAT FV/1/11/2026 — Alfa sp. z o.o.", "pl"),
        ("en", "VAT invoice FV/1/11/2026 — Alfa sp. z o.o.", "en"),
    ],
)
def test_the_buyer_receives_the_invoice_pdf_with_its_fa3(
    cabinet: Cabinet,
    smtp: tuple[_Server, int],
    language: str,
    subject: str,
    content_language: str,
) -> None:
    server, _ = smtp
    client = _client(cabinet)
    assert client.id is not None
    invoice = _issued_invoice(cabinet, client.id, language)
    assert invoice.id is not None
    cabinet.invoicing.send(Actor.system(), invoice.id, message="Dziękujemy / Thank you")
    assert Worker(cabinet).run_once() >= 1  # the mail and the CRM's document rows

    ((recipients, data),) = server.received
    assert recipients == [BUYER.email]
    mail = _parse(data)
    assert mail["Subject"] == subject
    assert mail["Content-Language"] == content_language
    assert mail["Reply-To"] == "biuro@alfa.example"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and "Dziękujemy / Thank you" in body.get_content()
    parts = {part.get_filename(): part for part in mail.iter_attachments()}
    assert set(parts) == {"FV-1-11-2026.pdf", "FV-1-11-2026.xml"}
    pdf_bytes = parts["FV-1-11-2026.pdf"].get_payload(decode=True)
    xml = parts["FV-1-11-2026.xml"].get_payload(decode=True)
    assert isinstance(pdf_bytes, bytes) and isinstance(xml, bytes)
    assert validate_fa3(xml) == []

    reader = PdfReader(io.BytesIO(pdf_bytes))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "FV/1/11/2026" in text
    ((embedded,),) = reader.attachments.values()
    assert embedded == xml  # the same file inside the PDF and beside it

    assert cabinet.documents.get(Actor.system(), invoice.id).status == "sent"


def test_a_refusing_server_means_retries_then_a_visible_failure(
    cabinet: Cabinet, smtp: tuple[_Server, int]
) -> None:
    server, _ = smtp
    server.refuse = True
    client = _client(cabinet)
    assert client.id is not None
    invoice = _issued_invoice(cabinet, client.id, "pl")
    assert invoice.id is not None
    cabinet.invoicing.send(Actor.system(), invoice.id)
    now = [datetime(2026, 11, 27, 12, 0, tzinfo=UTC)]
    worker = Worker(cabinet, clock=lambda: now[0])

    worker.run_once()
    (first,) = _mails(cabinet, invoice.id)
    assert (first.attempts, first.failed_at, first.delivered_at) == (1, None, None)
    assert first.last_error is not None and "451" in first.last_error
    now[0] += timedelta(hours=2)
    worker.run_once()
    (last,) = _mails(cabinet, invoice.id)
    assert last.attempts == 2 and last.failed_at is not None and last.delivered_at is None
    assert server.received == []
    assert cabinet.documents.get(Actor.system(), invoice.id).status == "issued"


def test_a_server_that_refuses_then_accepts_gets_each_mail_once(
    cabinet: Cabinet, smtp: tuple[_Server, int]
) -> None:
    """A mail server down for a while: every e-mail arrives once it is back, none twice, and no
    more were handed over than the deliveries' attempts show."""
    server, _ = smtp
    server.refuse = True
    client = _client(cabinet)
    assert client.id is not None
    invoices = [_issued_invoice(cabinet, client.id, "pl") for _ in range(12)]
    for invoice in invoices:
        assert invoice.id is not None
        cabinet.invoicing.send(Actor.system(), invoice.id)
    now = [datetime(2026, 11, 27, 12, 0, tzinfo=UTC)]
    worker = Worker(cabinet, clock=lambda: now[0])

    worker.run_once()  # every delivery refused once
    assert server.received == []
    server.refuse = False
    now[0] += timedelta(hours=2)
    while worker.run_once():
        pass

    mails = [mail for invoice in invoices for mail in _mails(cabinet, invoice.id or 0)]
    assert len(mails) == len(invoices)
    assert all(mail.delivered_at is not None and mail.failed_at is None for mail in mails)
    assert all(mail.attempts == 2 for mail in mails)
    # Exactly one message per invoice reached the server, each to the buyer.
    assert len(server.received) == len(invoices)
    subjects = [email.message_from_bytes(content).get("Subject") for _, content in server.received]
    assert len(set(subjects)) == len(invoices)
    assert all(recipients == [BUYER.email] for recipients, _ in server.received)
