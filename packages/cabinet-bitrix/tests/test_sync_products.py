"""Client products as catalogue products with a base price (idempotent by xmlId), and
document rows pointing at them."""

from __future__ import annotations

from decimal import Decimal

import attrs
import httpx
import pytest
from bitrix24_emulator import Emulator, VirtualClock
from cabinet_bitrix import BitrixBackend, BitrixSettings
from cabinet_core.entities import DocumentLine, OutboxMessage, Product
from emulated import emulated_client


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def emulator(clock):
    return Emulator(clock=clock)


def make_backend(emulator, clock, **settings):
    client = emulated_client(emulator, clock)
    settings = BitrixSettings(webhook_url=emulator.webhook_url, **settings)
    return BitrixBackend(settings, client=client)


def message(topic, entity, entity_id):
    return OutboxMessage(id=1, topic=topic, entity=entity, entity_id=entity_id)


@pytest.fixture
def product(cabinet, document):
    with cabinet.store.transaction() as tx:
        return tx.add_product(
            Product(
                client_id=document.client_id,
                name="Obsługa księgowa",
                unit="usł.",
                unit_price=Decimal("1000.50"),
            )
        )


def test_a_product_goes_to_the_crm_catalogue_with_its_price(cabinet, emulator, clock, product):
    make_backend(emulator, clock).deliver(
        cabinet.sync_port("bitrix24"), message("product.created", "product", product.id)
    )
    (stored,) = emulator.portal.products.values()
    assert stored["iblockId"] == 14  # the products catalogue, not the offers one
    assert stored["xmlId"] == f"cabinet-product-{product.id}"
    assert stored["name"] == "Obsługa księgowa"
    (price,) = emulator.portal.prices.values()
    assert (price["productId"], price["catalogGroupId"]) == (stored["id"], 1)
    assert (price["price"], price["currency"]) == (1000.5, "PLN")


def test_an_update_changes_the_same_product_and_price(cabinet, emulator, clock, product):
    make_backend(emulator, clock).deliver(
        cabinet.sync_port("bitrix24"), message("product.created", "product", product.id)
    )
    with cabinet.store.transaction() as tx:
        tx.update_product(attrs.evolve(product, name="Księgowość", unit_price=Decimal("1200")))
    make_backend(emulator, clock, price_type=1).deliver(
        cabinet.sync_port("bitrix24"), message("product.updated", "product", product.id)
    )
    (stored,) = emulator.portal.products.values()
    assert stored["name"] == "Księgowość"
    (price,) = emulator.portal.prices.values()
    assert price["price"] == 1200.0


class LostAnswers(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not self.lost and b"catalog.product.add" in request.content:
            self.lost = 1
            raise httpx.ReadTimeout("connection dropped after the write", request=request)
        return response


def test_a_lost_answer_does_not_add_the_product_twice(cabinet, emulator, clock, product):
    backend = make_backend(emulator, clock)
    backend.client._http._transport = lossy = LostAnswers(emulator.transport())
    backend.deliver(
        cabinet.sync_port("bitrix24"), message("product.created", "product", product.id)
    )
    assert lossy.lost == 1
    assert len(emulator.portal.products) == 1
    assert len(emulator.portal.prices) == 1


def test_document_rows_refer_to_catalogue_products(cabinet, emulator, clock, document, product):
    backend = make_backend(emulator, clock, entity_types={"vat_invoice": 1038})
    backend.deliver(
        cabinet.sync_port("bitrix24"), message("product.created", "product", product.id)
    )
    (catalogue_id,) = emulator.portal.products
    lines = (
        DocumentLine(name="Obsługa księgowa", unit_price=Decimal("1000.50"), product_id=product.id),
        DocumentLine(name="Coś jeszcze", unit_price=Decimal("5")),
    )
    with cabinet.store.transaction() as tx:
        document = tx.update_document(attrs.evolve(document, lines=lines))
    backend.deliver(
        cabinet.sync_port("bitrix24"), message("document.updated", "document", document.id)
    )
    (item,) = emulator.portal.items[1038].values()
    rows = emulator.portal.rows[("T40e", item["id"])]
    assert [row["productId"] for row in rows] == [catalogue_id, 0]
    assert rows[0]["productName"] == "Obsługa księgowa"


def test_a_chat_message_goes_to_the_chat_bridge(cabinet, emulator, clock, document):
    backend = make_backend(emulator, clock)
    posted = OutboxMessage(
        id=1,
        topic="chat.message_posted",
        entity="chat",
        entity_id=1,
        payload={
            "id": 1,
            "client_id": document.client_id,
            "author_id": None,
            "body": "Dzień dobry",
        },
    )
    backend.deliver(cabinet.sync_port("bitrix24"), posted)
    assert "im.message.add" in [name for name, _ in emulator.requests]
    assert any(m["text"].endswith("Dzień dobry") for m in emulator.portal.messages)


@pytest.mark.parametrize(("rate", "vat_id"), [("23", 5), ("8", 4), ("0 KR", 2), ("zw", 1)])
def test_the_product_carries_its_vat_rate(cabinet, emulator, clock, product, rate, vat_id):
    with cabinet.store.transaction() as tx:
        tx.update_product(attrs.evolve(product, vat_rate=rate))
    make_backend(emulator, clock).deliver(
        cabinet.sync_port("bitrix24"), message("product.updated", "product", product.id)
    )
    (stored,) = emulator.portal.products.values()
    assert int(stored["vatId"]) == vat_id
    assert stored["vatIncluded"] == "N"
