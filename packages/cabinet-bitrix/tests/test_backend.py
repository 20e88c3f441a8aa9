from __future__ import annotations

from decimal import Decimal

import attrs
import httpx
import pytest
from bitrix_portal import WEBHOOK
from cabinet_bitrix.backend import BitrixBackend, owner_type, product_row
from cabinet_bitrix.settings import BitrixSettings
from cabinet_core.crm import CrmBackend, DeliveryError
from cabinet_core.entities import DocumentLine, DocumentTotals, OutboxMessage, PriceMode
from hypothesis import given
from hypothesis import strategies as st


def message_about(document, topic="document.saved"):
    return OutboxMessage(id=1, topic=topic, entity="document", entity_id=document.id)


def test_is_a_crm_backend(backend):
    assert isinstance(backend, CrmBackend)
    assert backend.name == "bitrix24"


def test_first_delivery_creates_a_quote_with_the_cabinet_id_and_product_rows(
    cabinet, backend, portal, document
):
    backend.deliver(cabinet, message_about(document))
    assert portal.methods == ["crm.item.list", "crm.item.add", "crm.item.productrow.set"]
    (item,) = portal.items[7].values()
    assert item["xmlId"] == f"cabinet-document-{document.id}"
    assert item["title"] == "Faktura VAT FV/1/11/2026"
    assert item["currencyId"] == "PLN"
    assert item["begindate"] == "2026-11-27"
    assert item["closedate"] == "2026-12-11"
    assert item["comments"] == "Płatne przelewem"
    rows = portal.rows[("Q", item["id"])]
    assert [row["productName"] for row in rows] == ["Obsługa księgowa", "Książka", "Szkolenie"]
    assert rows[1]["price"] == "10.5"
    assert rows[1]["quantity"] == "2"
    assert rows[1]["taxRate"] == 5
    assert "taxRate" not in rows[2]  # "zw" is an exemption, not a percentage
    assert all(row["taxIncluded"] == "N" for row in rows)


def test_redelivery_updates_the_same_item_instead_of_creating_another(
    cabinet, backend, portal, document
):
    backend.deliver(cabinet, message_about(document))
    with cabinet.store.transaction() as tx:
        tx.update_document(attrs.evolve(document, notes="Zmienione"))
    backend.deliver(cabinet, message_about(document))
    assert len(portal.items[7]) == 1
    (item,) = portal.items[7].values()
    assert item["comments"] == "Zmienione"
    assert portal.methods[3:] == ["crm.item.list", "crm.item.update", "crm.item.productrow.set"]


def test_a_retry_after_a_failed_attempt_finds_the_item_created_before(
    cabinet, backend, portal, document
):
    # The item was added, then the product rows call timed out: the worker will retry.
    portal.fail_next(httpx.ReadTimeout("timed out"), method="crm.item.productrow.set")
    with pytest.raises(DeliveryError) as caught:
        backend.deliver(cabinet, message_about(document))
    assert not caught.value.permanent
    assert len(portal.items[7]) == 1
    backend.deliver(cabinet, message_about(document))
    assert len(portal.items[7]) == 1
    assert portal.methods[-3:] == ["crm.item.list", "crm.item.update", "crm.item.productrow.set"]


def test_query_limit_becomes_a_retry_with_the_portals_wait(cabinet, backend, portal, document):
    portal.fail_next(
        httpx.Response(
            503, json={"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
        )
    )
    with pytest.raises(DeliveryError) as caught:
        backend.deliver(cabinet, message_about(document))
    assert not caught.value.permanent
    assert caught.value.retry_after == 1.0
    assert "QUERY_LIMIT_EXCEEDED" in str(caught.value)
    assert portal.items == {}


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, json={"error": "INTERNAL_SERVER_ERROR", "error_description": ""}),
        httpx.Response(503, text="<html>Service unavailable</html>"),
        httpx.ReadTimeout("timed out"),
    ],
)
def test_outages_are_retried_with_the_workers_backoff(cabinet, backend, portal, document, failure):
    portal.fail_next(failure)
    with pytest.raises(DeliveryError) as caught:
        backend.deliver(cabinet, message_about(document))
    assert not caught.value.permanent
    assert caught.value.retry_after is None


def test_api_errors_fail_the_message_for_good(cabinet, backend, portal, document):
    portal.fail_next(
        httpx.Response(
            400,
            json={"error": "ENTITY_TYPE_NOT_SUPPORTED", "error_description": "Entity type 5"},
        )
    )
    with pytest.raises(DeliveryError) as caught:
        backend.deliver(cabinet, message_about(document))
    assert caught.value.permanent
    assert "ENTITY_TYPE_NOT_SUPPORTED" in str(caught.value)


def test_mapping_sends_a_type_to_its_smart_process(cabinet, client, portal, document):
    settings = BitrixSettings(webhook_url=WEBHOOK, entity_types={"vat_invoice": 1038})
    BitrixBackend(settings, client=client).deliver(cabinet, message_about(document))
    (item,) = portal.items[1038].values()
    assert ("T40e", item["id"]) in portal.rows


def test_stored_totals_set_the_opportunity_as_a_decimal_string(cabinet, backend, document):
    totals = DocumentTotals(currency="PLN", gross=Decimal("1555.05"))
    assert backend.item_fields(cabinet, document).get("opportunity") is None
    fields = backend.item_fields(cabinet, attrs.evolve(document, totals=totals))
    assert fields["opportunity"] == "1555.05"
    assert fields["isManualOpportunity"] == "Y"


def test_other_messages_and_deleted_documents_need_no_call(cabinet, backend, portal, document):
    backend.deliver(cabinet, OutboxMessage(id=2, topic="chat.posted", entity="chat", entity_id=1))
    backend.deliver(
        cabinet,
        OutboxMessage(
            id=3, topic="document.saved", entity="document", entity_id=document.id + 1000
        ),
    )
    assert portal.requests == []


def test_correction_before_rows_are_not_sent(cabinet, backend, portal, document):
    before = DocumentLine(name="Stan przed korektą", unit_price=Decimal("1"), before=True)
    with cabinet.store.transaction() as tx:
        tx.update_document(attrs.evolve(document, lines=(before, *document.lines)))
    backend.deliver(cabinet, message_about(document))
    (rows,) = portal.rows.values()
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
    row = product_row(
        DocumentLine(name="x", unit_price=price, quantity=quantity), PriceMode.NET, 10
    )
    for key, value in (("price", price), ("quantity", quantity)):
        assert isinstance(row[key], str)
        assert "E" not in row[key]
        assert Decimal(row[key]) == value
