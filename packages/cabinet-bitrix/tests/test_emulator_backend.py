"""The BitrixBackend delivering cabinet documents through the emulator, end to end: items,
product rows, no duplicates on retry, and faults becoming the right DeliveryError."""

from __future__ import annotations

import httpx
import pytest
from cabinet_bitrix import BitrixBackend, BitrixClient, BitrixSettings
from cabinet_bitrix.emulator import Emulator, EmulatorConfig, VirtualClock
from cabinet_core.crm import DeliveryError
from cabinet_core.entities import OutboxMessage


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def emulator(clock):
    return Emulator(EmulatorConfig(write_seconds=0.25), clock=clock)


def make_backend(emulator, **settings):
    client = BitrixClient(emulator.webhook_url, transport=emulator.transport())
    return BitrixBackend(
        BitrixSettings(webhook_url=emulator.webhook_url, **settings), client=client
    )


def message_about(document):
    return OutboxMessage(id=1, topic="document.saved", entity="document", entity_id=document.id)


def spa_items(emulator):
    return list(emulator.portal.items[1038].values())


def test_a_document_becomes_a_smart_process_item_with_rows(cabinet, emulator, document):
    backend = make_backend(emulator, entity_types={"vat_invoice": 1038})
    backend.deliver(cabinet, message_about(document))
    (item,) = spa_items(emulator)
    assert item["xmlId"] == f"cabinet-document-{document.id}"
    assert item["title"] == "Faktura VAT FV/1/11/2026"
    assert item["stageId"] == "DT1038_37:NEW"
    rows = emulator.portal.rows[("T40e", item["id"])]
    assert [r["productName"] for r in rows] == ["Obsługa księgowa", "Książka", "Szkolenie"]
    assert rows[1]["price"] == 10.5 and rows[1]["quantity"] == 2.0


def test_redelivery_and_retry_after_a_timeout_leave_one_item(cabinet, emulator, document):
    backend = make_backend(emulator, entity_types={"vat_invoice": 1038})
    emulator.inject("timeout", 1, methods=["crm.item.productrow.set"])
    with pytest.raises(DeliveryError) as caught:
        backend.deliver(cabinet, message_about(document))
    assert not caught.value.permanent
    backend.deliver(cabinet, message_about(document))
    backend.deliver(cabinet, message_about(document))
    (item,) = spa_items(emulator)
    assert len(emulator.portal.rows[("T40e", item["id"])]) == 3


def test_quotes_need_a_user_field_for_the_cabinet_id(cabinet, emulator, document):
    # Quotes have no xmlId (bitrix24.md §3.4): the portal ignores it on add and refuses it in a
    # filter, so the idempotency lookup must use a user field on quotes.
    plain = make_backend(emulator)
    with pytest.raises(DeliveryError) as caught:
        plain.deliver(cabinet, message_about(document))
    assert caught.value.permanent
    backend = make_backend(emulator, origin_field="ufCrm_CABINET_ID")
    backend.deliver(cabinet, message_about(document))
    backend.deliver(cabinet, message_about(document))
    (item,) = emulator.portal.items[7].values()
    assert item["UF_CRM_CABINET_ID"] == f"cabinet-document-{document.id}"


@pytest.mark.parametrize(
    ("kind", "permanent"),
    [
        ("down", False),
        ("query_limit", False),
        ("internal_error", False),
        ("html_error", False),
        ("timeout", False),
        ("moved", True),
    ],
)
def test_faults_map_to_delivery_errors(cabinet, emulator, document, kind, permanent):
    backend = make_backend(emulator, entity_types={"vat_invoice": 1038})
    emulator.inject(kind, 1, location="https://nowa.bitrix24.pl")
    with pytest.raises(DeliveryError) as caught:
        backend.deliver(cabinet, message_about(document))
    assert caught.value.permanent is permanent
    if kind == "query_limit":
        assert caught.value.retry_after == 1.0


def test_a_real_burst_overflow_is_retryable_and_nothing_is_duplicated(
    cabinet, emulator, document, clock
):
    backend = make_backend(emulator, entity_types={"vat_invoice": 1038})
    with httpx.Client(transport=emulator.transport()) as http:
        for _ in range(50):
            http.post(emulator.webhook_url + "profile")
    with pytest.raises(DeliveryError) as caught:
        backend.deliver(cabinet, message_about(document))
    assert not caught.value.permanent
    clock.advance(caught.value.retry_after * 3)
    backend.deliver(cabinet, message_about(document))
    assert len(spa_items(emulator)) == 1


def test_operation_time_limit_is_retryable(cabinet, clock, document):
    emulator = Emulator(EmulatorConfig(method_seconds={"crm.item.list": 500.0}), clock=clock)
    backend = make_backend(emulator, entity_types={"vat_invoice": 1038})
    backend.deliver(cabinet, message_about(document))
    with pytest.raises(DeliveryError) as caught:
        backend.deliver(cabinet, message_about(document))
    assert not caught.value.permanent
    assert caught.value.retry_after == 60.0


def test_a_staff_stage_change_reaches_the_handler_as_an_event(cabinet, clock, document):
    posted = []
    emulator = Emulator(
        clock=clock,
        event_transport=httpx.MockTransport(lambda r: posted.append(r) or httpx.Response(200)),
    )
    tokens = emulator.install_app()
    with httpx.Client(transport=emulator.transport()) as http:
        http.post(
            tokens["client_endpoint"] + "event.bind",
            json={
                "auth": tokens["access_token"],
                "event": "ONCRMDYNAMICITEMUPDATE",
                "handler": "https://cabinet.example/bitrix/events",
            },
        )
    make_backend(emulator, entity_types={"vat_invoice": 1038}).deliver(
        cabinet, message_about(document)
    )
    (item,) = spa_items(emulator)
    emulator.act(
        "crm.item.update",
        {"entityTypeId": 1038, "id": item["id"], "fields": {"stageId": "DT1038_37:SUCCESS"}},
        user_id=2,
    )
    (event,) = posted
    body = event.content.decode()
    assert "ONCRMDYNAMICITEMUPDATE" in body and f"data%5BFIELDS%5D%5BID%5D={item['id']}" in body
