"""Helpers for the invoicing and mail-delivery tests: a cabinet whose mail is captured (or
refused) and whose PDFs come from a tiny stand-in renderer, plus document builders.

The real PDF renderer lives in cabinet-pdf (the core must not import reportlab); the
cross-package test ``tests/test_mail_delivery_smtp.py`` runs the real one.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
from cabinet_core.app import Cabinet
from cabinet_core.entities import (
    Actor,
    Address,
    Client,
    Document,
    DocumentLine,
    Party,
    Template,
)
from cabinet_core.hookspecs import Register, hookimpl
from cabinet_core.mail import MailError, MailMessage
from cabinet_core.rendering import Rendered
from cabinet_core.settings import Settings
from cabinet_core.storage import Store

#: The Ministry's FA(3) examples among the repository's test fixtures (see testdata/ksef-fa3).
EXAMPLES = Path(__file__).resolve().parents[3] / "testdata" / "ksef-fa3" / "examples"
DAY = date(2026, 11, 20)
BUYER = Party(name="Kupiec sp. z o.o.", nip="5260001246", email="faktury@kupiec.example")
LINES = (
    DocumentLine(name="Doradztwo", quantity=Decimal(2), unit_price=Decimal("100.00")),
    DocumentLine(name="Książka", quantity=Decimal(1), unit_price=Decimal("50.00"), vat_rate="5"),
)


class CapturingMailer:
    """Keeps every message; ``failures`` makes the next sends raise :class:`MailError`."""

    name = "capture"

    def __init__(self) -> None:
        self.sent: list[MailMessage] = []
        self.failures = 0

    def send(self, message: MailMessage) -> None:
        if self.failures:
            self.failures -= 1
            raise MailError("SMTP delivery failed: 421 try later")
        self.sent.append(message)


class StandInPdf:
    """A renderer of ``application/pdf`` that writes what it was asked (no reportlab here)."""

    name = "stand-in-pdf"
    media_type = "application/pdf"
    document_types = ("proforma", "vat_invoice", "correcting_invoice", "correction_request")

    def render(
        self,
        cabinet: Cabinet,
        document: Document,
        *,
        client: Client,
        template: Template | None,
        language: str,
    ) -> Rendered:
        content = f"%PDF-stand-in {document.doc_type} {document.number} {language}".encode()
        name = (document.number or "draft").replace("/", "-")
        return Rendered(content=content, media_type=self.media_type, filename=f"{name}.pdf")


class MailPlugin:
    """Registers the capturing mailer and the stand-in renderer like any plugin would."""

    def __init__(self, mailer: CapturingMailer) -> None:
        self.mailer = mailer

    @hookimpl
    def register_mailers(self, register: Register) -> None:
        register("capture", lambda cabinet: self.mailer)

    @hookimpl
    def register_renderers(self, register: Register) -> None:
        register(StandInPdf())


def mail_cabinet(
    store: Store, tmp_path: Path, mailer: CapturingMailer, *plugins: object, **settings: Any
) -> Cabinet:
    """A cabinet on ``store`` whose mail goes to ``mailer``."""
    from cabinet_core.services.users import UserService
    from fixtures_services import FAST_HASHER

    options: dict[str, Any] = {
        "data_dir": tmp_path,
        "secret_key": "test",
        "rate_provider": "offline",
        "mailer": "capture",
        "worker_max_attempts": 3,
    } | settings
    app = Cabinet(
        Settings(**options),
        load_entrypoints=False,
        store=store,
        plugins=[MailPlugin(mailer), *plugins],
    )
    app.users = UserService(app, hasher=FAST_HASHER)
    return app


def sales_document(client_id: int, doc_type: str = "vat_invoice", **changes: Any) -> Document:
    document = Document(
        client_id=client_id,
        doc_type=doc_type,
        issue_date=DAY,
        due_date=date(2026, 12, 4),
        buyer=BUYER,
        lines=LINES,
    )
    return attrs.evolve(document, **changes)


def issued(cabinet: Cabinet, actor: Actor, document: Document) -> Document:
    stored = cabinet.documents.create(actor, document)
    assert stored.id is not None
    return cabinet.documents.transition(actor, stored.id, "issue")


def example(number: int) -> bytes:
    return (EXAMPLES / f"FA_3_Przyklad_{number:02d}.xml").read_bytes()


def buyer_client(cabinet: Cabinet, **changes: Any) -> Client:
    """The buyer of the MF examples (NIP 1111111111) as a client of the firm."""
    client = Client(
        name="Nabywca MF sp. z o.o.",
        nip="1111111111",
        email="ksiegowosc@nabywca.example",
        address=Address(line1="ul. Kwiatowa 1", postal_code="00-001", city="Warszawa"),
    )
    return cabinet.clients.create(Actor.system(), attrs.evolve(client, **changes))
