"""Sending and delivering a document on PostgreSQL: convert a proforma, issue the invoice with
auto-send on, and let the worker mail it (the outbox claim, the audit and the issued → sent
move in PostgreSQL's transactions)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.ksef import validate_fa3
from cabinet_core.services.invoicing import MAIL_TOPIC
from cabinet_core.storage import Store
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


def test_proforma_to_invoice_auto_sent_and_delivered_by_the_worker(
    world: World, mailer: CapturingMailer
) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
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
