from __future__ import annotations

from decimal import Decimal

import attrs
import pytest
from bitrix24_emulator import Emulator, EmulatorConfig, VirtualClock
from cabinet_bitrix.backend import BitrixBackend, owner_type, product_row
from cabinet_bitrix.client import NO_RETRY
from cabinet_bitrix.settings import BitrixSettings
from cabinet_core.crm import CrmBackend, DeliveryError
from cabinet_core.entities import DocumentLine, DocumentTotals, OutboxMessage, PriceMode
from emulated import emulated_client
from hypothesis import given
from hypothesis import strategies as st


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def emulator(clock):
    return Emulator(EmulatorConfig(strict_user_fields=True), clock=clock)


@pytest.fixture
def backend(emulator, clock):
    client = emulated_client(emulator, clock)
    return BitrixBackend(BitrixSettings(webhook_url=emulator.webhook_url), client=client)


def quotes(emulator):
    return list(emulator.portal.items[7].values())


def message_about(document, topic="document.updated"):
    return OutboxMessage(id=1, topic=topic, entity="document", entity_id=document.id)


def test_is_a_crm_backend(backend):
    assert isinstance(backend, CrmBackend)
    assert backend.name == "bitrix24"


def test_first_delivery_creates_a_quote_with_the_cabinet_id_and_product_rows(
    cabinet, backend, emulator, document
):
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    (item,) = quotes(emulator)
    assert item["UF_CRM_QUOTE_CABINET_ID"] == f"cabinet-document-{document.id}"
    assert item["title"] == "Faktura VAT FV/1/11/2026"
    assert item["currencyId"] == "PLN"
    assert item["begindate"].startswith("2026-11-27")
    assert item["closedate"].startswith("2026-12-11")
    assert item["comments"] == "Płatne przelewem"
    rows = emulator.portal.rows[("Q", item["id"])]
    assert [row["productName"] for row in rows] == ["Obsługa księgowa", "Książka", "Szkolenie"]
    # The row's price includes the tax (10.50 net at 5 %), its net is priceExclusive.
    assert (rows[1]["price"], rows[1]["priceExclusive"]) == (11.03, 10.5)
    assert rows[1]["quantity"] == 2
    assert rows[1]["taxRate"] == 5
    assert rows[2]["taxRate"] is None  # "zw" is an exemption, not a percentage
    assert all(row["taxIncluded"] == "N" for row in rows)


def test_redelivery_updates_the_same_item_instead_of_creating_another(
    cabinet, backend, emulator, document
):
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    with cabinet.store.transaction() as tx:
        tx.update_document(attrs.evolve(document, notes="Zmienione"))
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    (item,) = quotes(emulator)
    assert item["comments"] == "Zmienione"
    assert len(emulator.portal.rows[("Q", item["id"])]) == 3


def test_a_timeout_between_add_and_rows_leaves_one_item_after_redelivery(
    cabinet, emulator, clock, document
):
    # The item was added but the answer never came: the worker retries the message.
    client = emulated_client(emulator, clock, retry=NO_RETRY)
    backend = BitrixBackend(BitrixSettings(webhook_url=emulator.webhook_url), client=client)
    backend.deliver(
        cabinet.sync_port("bitrix24"), message_about(document)
    )  # creates the user field and the item
    emulator.portal.rows.clear()
    emulator.inject("timeout", 1, methods=["batch"])
    with pytest.raises(DeliveryError) as caught:
        backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    assert not caught.value.permanent
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    (item,) = quotes(emulator)
    assert len(emulator.portal.rows[("Q", item["id"])]) == 3


def test_api_errors_fail_the_message_for_good(cabinet, emulator, clock, document):
    client = emulated_client(emulator, clock)
    settings = BitrixSettings(
        webhook_url=emulator.webhook_url, default_entity_type=5, origin_field="xmlId"
    )
    with pytest.raises(DeliveryError) as caught:
        BitrixBackend(settings, client=client).deliver(
            cabinet.sync_port("bitrix24"), message_about(document)
        )
    assert caught.value.permanent
    assert "ENTITY_TYPE_NOT_SUPPORTED" in str(caught.value)


def test_mapping_sends_a_type_to_its_smart_process(cabinet, emulator, clock, document):
    settings = BitrixSettings(webhook_url=emulator.webhook_url, entity_types={"vat_invoice": 1038})
    client = emulated_client(emulator, clock)
    BitrixBackend(settings, client=client).deliver(
        cabinet.sync_port("bitrix24"), message_about(document)
    )
    (item,) = emulator.portal.items[1038].values()
    assert item["xmlId"] == f"cabinet-document-{document.id}"
    assert ("T40e", item["id"]) in emulator.portal.rows
    assert "CRM_37" not in emulator.portal.user_fields  # xmlId needs no user field


def test_a_document_without_lines_clears_the_rows(cabinet, backend, emulator, document):
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    with cabinet.store.transaction() as tx:
        tx.update_document(attrs.evolve(document, lines=()))
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    (item,) = quotes(emulator)
    assert emulator.portal.rows[("Q", item["id"])] == []


def test_stored_totals_set_the_opportunity_as_a_decimal_string(cabinet, backend, document):
    totals = DocumentTotals(currency="PLN", gross=Decimal("1555.05"))
    assert backend.item_fields(cabinet.sync_port("bitrix24"), document).get("opportunity") is None
    fields = backend.item_fields(
        cabinet.sync_port("bitrix24"), attrs.evolve(document, totals=totals)
    )
    assert fields["opportunity"] == "1555.05"
    assert fields["isManualOpportunity"] == "Y"


def test_other_messages_and_deleted_documents_need_no_call(cabinet, backend, emulator, document):
    backend.deliver(
        cabinet.sync_port("bitrix24"),
        OutboxMessage(id=2, topic="chat.posted", entity="chat", entity_id=1),
    )
    backend.deliver(
        cabinet.sync_port("bitrix24"),
        OutboxMessage(
            id=3, topic="document.updated", entity="document", entity_id=document.id + 1000
        ),
    )
    # A topic a newer core may add is ignored, not guessed at.
    backend.deliver(
        cabinet.sync_port("bitrix24"),
        OutboxMessage(id=4, topic="document.archived", entity="document", entity_id=document.id),
    )
    assert emulator.requests == []


def test_correction_before_rows_are_not_sent(cabinet, backend, emulator, document):
    before = DocumentLine(name="Stan przed korektą", unit_price=Decimal("1"), before=True)
    with cabinet.store.transaction() as tx:
        tx.update_document(attrs.evolve(document, lines=(before, *document.lines)))
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    (rows,) = emulator.portal.rows.values()
    assert [row["productName"] for row in rows] == ["Obsługa księgowa", "Książka", "Szkolenie"]
    assert [row["sort"] for row in rows] == [10, 20, 30]


def test_gross_prices_are_sent_as_tax_included():
    line = DocumentLine(name="Bilet", unit_price=Decimal("123.00"), vat_rate="8")
    row = product_row(line, PriceMode.GROSS, 10)
    assert row == {
        "productId": 0,
        "productName": "Bilet",
        "price": "123",
        "quantity": "1",
        "measureName": "szt.",
        "taxIncluded": "Y",
        "taxRate": 8,
        "sort": 10,
    }


@pytest.mark.parametrize(
    ("entity_type_id", "code"), [(7, "Q"), (2, "D"), (31, "SI"), (128, "T80"), (1038, "T40e")]
)
def test_owner_type_codes(entity_type_id, code):
    assert owner_type(entity_type_id) == code


def test_entity_types_that_cannot_own_rows_are_refused():
    with pytest.raises(ValueError, match="8"):
        owner_type(8)


@given(
    price=st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False),
    quantity=st.decimals(min_value=Decimal("0.001"), max_value=10**6, places=3, allow_nan=False),
)
def test_amounts_travel_as_exact_plain_decimal_strings(price, quantity):
    # A net price goes with its tax (the row's price includes it): 23 % on top, exactly.
    row = product_row(
        DocumentLine(name="x", unit_price=price, quantity=quantity), PriceMode.NET, 10
    )
    for key, value in (("price", price * Decimal("1.23")), ("quantity", quantity)):
        assert isinstance(row[key], str)
        assert "E" not in row[key]
        assert Decimal(row[key]) == value
