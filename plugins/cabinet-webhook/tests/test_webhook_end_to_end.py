"""The whole loop on a real cabinet: a change leaves through the outbox and the worker to a
loopback receiver, signed; a signed change comes back through ``POST /hooks/webhook`` and the
cabinet's own sync port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Client, Document, DocumentLine, Party, PaymentStatus
from cabinet_core.hookspecs import Register, hookimpl
from cabinet_core.settings import Settings
from cabinet_core.worker import Worker
from cabinet_web.app import create_app
from cabinet_webhook import WebhookBackend, WebhookSettings, secret_key, sign, verify
from starlette.testclient import TestClient
from webhook_support import SECRET, Receiver

KEY = secret_key(SECRET)
SYSTEM = Actor.system()


class WebhookTo:
    """Registers the webhook backend aimed at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url

    @hookimpl
    def register_crm_backends(self, register: Register) -> None:
        settings = WebhookSettings(url=self.url, secret=SECRET, timeout=5)
        register("webhook", lambda cabinet: WebhookBackend(settings))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


@pytest.fixture
def cabinet(tmp_path: Path, receiver: Receiver) -> Iterator[Cabinet]:
    settings = Settings(data_dir=tmp_path, crm_backends=("webhook",), secret_key="k" * 40)
    with Cabinet(settings, load_entrypoints=False, plugins=[WebhookTo(receiver.url)]) as made:
        made.migrate()
        yield made


def _invoice(cabinet: Cabinet) -> Document:
    client = cabinet.clients.create(SYSTEM, Client(name="Alfa sp. z o.o.", nip="5250000110"))
    assert client.id is not None
    return cabinet.documents.create(
        SYSTEM,
        Document(
            client_id=client.id,
            doc_type="vat_invoice",
            issue_date=date(2026, 12, 1),
            buyer=Party(name="Kupiec sp. z o.o.", nip="5260001246"),
            lines=(DocumentLine(name="Usługa", unit_price=Decimal("100.00")),),
        ),
    )


def test_a_new_document_reaches_the_receiver_signed_through_the_worker(
    cabinet: Cabinet, receiver: Receiver
) -> None:
    invoice = _invoice(cabinet)
    assert Worker(cabinet).run_once() == 2
    topics = [json.loads(call.body)["topic"] for call in receiver.calls]
    assert sorted(topics) == ["client.created", "document.created"]
    call = next(c for c in receiver.calls if json.loads(c.body)["topic"] == "document.created")
    now = int(call.headers["webhook-timestamp"])
    assert verify(KEY, call.headers, call.body, now=now) == (call.headers["webhook-id"], now)
    data = json.loads(call.body)["data"]
    assert data["id"] == invoice.id
    assert data["lines"][0]["name"] == "Usługa"
    assert cabinet.store.list_outbox(status="pending", limit=10) == []


def test_a_receiver_error_leaves_the_message_for_a_retry(
    cabinet: Cabinet, receiver: Receiver
) -> None:
    _invoice(cabinet)
    receiver.script = [(503, {"Retry-After": "120"}), (503, {"Retry-After": "120"})]
    Worker(cabinet).run_once()
    waiting = cabinet.store.list_outbox(status="pending", limit=10)
    assert len(waiting) == 2
    assert all("503" in (message.last_error or "") for message in waiting)


def test_a_signed_payment_change_comes_back_through_the_route_and_the_port(
    cabinet: Cabinet,
) -> None:
    invoice = _invoice(cabinet)
    assert invoice.id is not None
    raw = json.dumps({"document_id": invoice.id, "payment_status": "paid"}).encode()
    stamp = int(cabinet.store.clock().timestamp())
    headers = {
        "Content-Type": "application/json",
        "Webhook-Id": "make-7781",
        "Webhook-Timestamp": str(stamp),
        "Webhook-Signature": sign(KEY, "make-7781", stamp, raw),
    }
    with TestClient(create_app(cabinet)) as web:
        accepted = web.post("/hooks/webhook", content=raw, headers=headers)
        replayed = web.post("/hooks/webhook", content=raw, headers=headers)
        unknown = json.dumps({"document_id": invoice.id, "status": "teleported"}).encode()
        refused = web.post(
            "/hooks/webhook",
            content=unknown,
            headers={
                **headers,
                "Webhook-Id": "make-7782",
                "Webhook-Signature": sign(KEY, "make-7782", stamp, unknown),
            },
        )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["changed"] is True
    assert replayed.status_code == 409
    assert refused.status_code == 422
    stored = cabinet.sync_port("webhook").document(invoice.id)
    assert stored is not None
    assert stored.payment_status is PaymentStatus.PAID
    assert stored.status == "draft"
