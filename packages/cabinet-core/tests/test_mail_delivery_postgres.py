"""Invoicing on PostgreSQL: two conversions racing for one proforma make one invoice; a
proforma converted to an invoice with auto-send on, mailed by the worker (the outbox claim,
the audit and the issued → sent move in PostgreSQL's transactions)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.errors import Conflict
from cabinet_core.ksef import validate_fa3
from cabinet_core.services.invoicing import MAIL_TOPIC
from cabinet_core.storage import DocumentQuery, Store
from cabinet_core.worker import Worker
from fixtures_services import HookRecorder, World
from invoicing_support import BUYER, CapturingMailer, issued, mail_cabinet, sales_document

pytestmark = pytest.mark.postgres


@pytest.fixture
def db_url(pg_test_url: str) -> str:
    return pg_test_url


@pytest.fixture
def mailer() -> CapturingMailer:
    return CapturingMailer()


@pytest.fixture
def cabinet(
    store: Store, tmp_path: Path, mailer: CapturingMailer, hooks: HookRecorder
) -> Iterator[Cabinet]:
    yield mail_cabinet(store, tmp_path, mailer, hooks)


AFTER_DAY = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def test_proforma_to_invoice_auto_sent_and_delivered_by_the_worker(
    monkeypatch: pytest.MonkeyPatch, world: World, mailer: CapturingMailer
) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    # The invoice is issued "today": pin the clock to the day after the proforma, so its due
    # date and month-numbered series do not depend on when the suite runs.
    monkeypatch.setattr(cabinet.store, "clock", lambda: AFTER_DAY)
    client_id = world.client_id(world.client_a)
    cabinet.clients.set_preferences(
        world.actor(world.admin), client_id, auto_send=True, default_template=None
    )
    proforma = issued(cabinet, alice, sales_document(client_id, "proforma"))
    assert proforma.id is not None
    draft = cabinet.invoicing.convert_proforma(alice, proforma.id)
    assert draft.id is not None
    invoice = cabinet.documents.transition(alice, draft.id, "issue")
    # Auto-send queued both: the proforma on its issue, the invoice on its own.
    assert Worker(cabinet).run_once() >= 2
    assert sorted(m.subject.split(" — ")[0] for m in mailer.sent) == [
        "Faktura VAT FV/1/11/2026",
        "Faktura proforma PRO/1/11/2026",
    ]
    assert all(m.to == (BUYER.email,) for m in mailer.sent)
    (invoice_mail,) = [m for m in mailer.sent if m.subject.startswith("Faktura VAT")]
    assert validate_fa3(invoice_mail.attachments[1].content) == []
    assert cabinet.documents.get(alice, invoice.id or 0).status == "sent"
    # The converted proforma stays converted: a delivery never moves it back.
    assert cabinet.documents.get(alice, proforma.id).status == "converted"
    deliveries = cabinet.documents.deliveries(alice, invoice.id or 0)
    assert [(d.topic, d.delivered_at is not None) for d in deliveries] == [(MAIL_TOPIC, True)]


def test_two_concurrent_conversions_of_one_proforma_make_one_invoice(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    proforma = issued(cabinet, alice, sales_document(world.client_id(world.client_a), "proforma"))
    assert proforma.id is not None
    start = threading.Barrier(2)

    def convert() -> str:
        start.wait()
        try:
            cabinet.invoicing.convert_proforma(alice, proforma.id or 0)
        except Conflict:
            return "conflict"
        return "converted"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(lambda _: convert(), range(2)))
    assert outcomes == ["conflict", "converted"]
    invoices = cabinet.documents.list(alice, DocumentQuery(doc_types=("vat_invoice",)))
    assert invoices.total == 1 and invoices.items[0].related_id == proforma.id
