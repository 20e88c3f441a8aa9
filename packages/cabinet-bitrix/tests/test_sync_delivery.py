"""The worker's batch path (deliver_many) over every kind of message the sync handles, and a
deleted document's item."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest
from bitrix24_emulator import Emulator, VirtualClock
from cabinet_bitrix import BitrixBackend, BitrixSettings
from cabinet_core.crm import BatchCrmBackend, DeliveryError
from cabinet_core.entities import Counterparty, OutboxMessage, Product
from cabinet_core.sync import (
    BatchDelivery,
    InboundCapable,
    InboundHandler,
    PeriodicWork,
    Topic,
    encode_payload,
)
from emulated import emulated_client


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def emulator(clock):
    return Emulator(clock=clock)


@pytest.fixture
def backend(emulator, clock):
    client = emulated_client(emulator, clock)
    settings = BitrixSettings(webhook_url=emulator.webhook_url, entity_types={"vat_invoice": 1038})
    return BitrixBackend(settings, client=client)


def test_the_backend_declares_its_capabilities(backend):
    # The worker and the web shell check these with isinstance, never with getattr.
    assert isinstance(backend, BatchCrmBackend)
    assert isinstance(backend, BatchDelivery)
    assert isinstance(backend, PeriodicWork)
    assert isinstance(backend, InboundCapable)
    assert isinstance(backend.inbound, InboundHandler)
    assert backend.inbound is backend.inbound  # one handler per backend


def test_one_claimed_batch_of_every_kind(cabinet, emulator, backend, document):
    assert isinstance(backend, BatchCrmBackend)
    with cabinet.store.transaction() as tx:
        counterparty = tx.add_counterparty(
            Counterparty(client_id=document.client_id, name="Kupiec Sp. z o.o.")
        )
        product = tx.add_product(
            Product(client_id=document.client_id, name="Audyt", unit_price=Decimal("10"))
        )
        second = tx.add_document(attrs.evolve(document, id=None, number="FV/2/11/2026"))
        sent = tx.update_document(attrs.evolve(second, status="sent"))
    messages = [
        OutboxMessage(id=1, topic="document.created", entity="document", entity_id=document.id),
        OutboxMessage(id=2, topic="document.created", entity="document", entity_id=sent.id),
        OutboxMessage(id=3, topic="document.status_changed", entity="document", entity_id=sent.id),
        OutboxMessage(
            id=4, topic="counterparty.created", entity="counterparty", entity_id=counterparty.id
        ),
        OutboxMessage(id=5, topic="product.created", entity="product", entity_id=product.id),
        OutboxMessage(id=6, topic="news.published", entity="news", entity_id=1),
        OutboxMessage(id=7, topic="document.updated", entity="document", entity_id=9999),
    ]
    outcome = backend.deliver_many(cabinet.sync_port("bitrix24"), messages)
    assert outcome == dict.fromkeys(range(1, 8))
    items = {i["xmlId"]: i for i in emulator.portal.items[1038].values()}
    assert items[f"cabinet-document-{sent.id}"]["stageId"] == "DT1038_37:CLIENT"
    assert items[f"cabinet-document-{document.id}"]["stageId"] == "DT1038_37:PREPARATION"
    origins = {c["originId"] for c in emulator.portal.items[4].values()}
    assert origins == {
        f"cabinet-client-{document.client_id}",
        f"cabinet-counterparty-{counterparty.id}",
    }
    assert len(emulator.portal.products) == 1


def test_failures_are_reported_per_message(cabinet, emulator, backend, document):
    emulator.inject("down")
    outcome = backend.deliver_many(
        cabinet.sync_port("bitrix24"),
        [OutboxMessage(id=1, topic="document.created", entity="document", entity_id=document.id)],
    )
    (error,) = outcome.values()
    assert isinstance(error, DeliveryError) and not error.permanent


def test_a_deleted_document_deletes_its_item(cabinet, emulator, backend, document):
    backend.deliver(
        cabinet.sync_port("bitrix24"),
        OutboxMessage(id=1, topic="document.created", entity="document", entity_id=document.id),
    )
    assert len(emulator.portal.items[1038]) == 1
    gone = OutboxMessage(
        id=2,
        topic="document.deleted",
        entity="document",
        entity_id=document.id,
        payload=encode_payload(Topic.DOCUMENT_DELETED, document),
    )
    backend.deliver(cabinet.sync_port("bitrix24"), gone)
    assert emulator.portal.items[1038] == {}
    # Delivered again: nothing left to delete, no error.
    backend.deliver(cabinet.sync_port("bitrix24"), gone)
    # A payload that is not the topic's type can never be delivered: a permanent error.
    broken = attrs.evolve(gone, payload={"doc_type": "vat_invoice"})
    with pytest.raises(DeliveryError) as refused:
        backend.deliver(cabinet.sync_port("bitrix24"), broken)
    assert refused.value.permanent
