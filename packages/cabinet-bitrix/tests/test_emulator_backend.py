"""The BitrixBackend delivering cabinet documents through the emulator, end to end: items,
product rows in the same batch, the origin field on quotes and smart processes, no duplicates
on retry, and faults becoming the right DeliveryError once the client's retries are spent."""

from __future__ import annotations

import attrs
import httpx
import pytest
from bitrix24_emulator import Emulator, EmulatorConfig, VirtualClock
from cabinet_bitrix import BitrixBackend, BitrixSettings
from cabinet_bitrix.client import RetryPolicy
from cabinet_core.crm import DeliveryError
from cabinet_core.entities import Document, OutboxMessage
from emulated import emulated_client


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def emulator(clock):
    return Emulator(EmulatorConfig(write_seconds=0.25), clock=clock)


def make_backend(emulator, clock=None, retry=None, **settings):
    clock = clock or emulator.clock
    client = emulated_client(emulator, clock, retry=retry)
    return BitrixBackend(
        BitrixSettings(webhook_url=emulator.webhook_url, **settings), client=client
    )


def message_about(document):
    return OutboxMessage(id=1, topic="document.updated", entity="document", entity_id=document.id)


def spa_items(emulator):
    return list(emulator.portal.items[1038].values())


def test_a_document_becomes_a_smart_process_item_with_rows(cabinet, emulator, document):
    backend = make_backend(emulator, entity_types={"vat_invoice": 1038})
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    (item,) = spa_items(emulator)
    assert item["xmlId"] == f"cabinet-document-{document.id}"
    assert item["title"] == "Faktura VAT FV/1/11/2026"
    assert item["stageId"] == "DT1038_37:PREPARATION"
    rows = emulator.portal.rows[("T40e", item["id"])]
    assert [r["productName"] for r in rows] == ["Obsługa księgowa", "Książka", "Szkolenie"]
    assert rows[1]["priceExclusive"] == 10.5 and rows[1]["quantity"] == 2.0


def test_an_item_and_its_rows_go_in_one_batch_request(cabinet, emulator, document):
    backend = make_backend(emulator, entity_types={"vat_invoice": 1038})
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    # One lookup batch, one write batch (the add and the rows referring to its id).
    assert [name for name, _ in emulator.requests] == ["batch", "batch"]
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    assert len(spa_items(emulator)) == 1


class LostAnswers(httpx.BaseTransport):
    """The portal does the work, then the connection drops before the answer arrives."""

    def __init__(self, inner: httpx.BaseTransport, lose: int) -> None:
        self.inner = inner
        self.lose = lose

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.lose > 0 and b"crm.item.add" in request.content:
            self.lose -= 1
            raise httpx.ReadTimeout("connection dropped after the write", request=request)
        return response


def test_an_answer_lost_after_the_write_does_not_duplicate(cabinet, emulator, document):
    backend = make_backend(emulator, entity_types={"vat_invoice": 1038})
    backend.client._http._transport = LostAnswers(emulator.transport(), lose=1)
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    # The client retried the lost write: the retry looked the item up and updated it.
    (item,) = spa_items(emulator)
    assert len(emulator.portal.rows[("T40e", item["id"])]) == 3


def test_rows_refused_after_the_add_leave_one_item_on_redelivery(cabinet, clock, document):
    # crm.item.productrow.set is over its operating budget: in the batch the add runs, the
    # rows command is refused — a fault between the two writes.
    emulator = Emulator(
        EmulatorConfig(method_seconds={"crm.item.productrow.set": 481.0}), clock=clock
    )
    backend = make_backend(emulator, entity_types={"vat_invoice": 1038})
    other = attrs.evolve(document, id=None, number="FV/2/11/2026")
    with cabinet.store.transaction() as tx:
        other = tx.add_document(other)
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(other))  # spends the rows' budget
    # Another worker, which has not seen that answer, delivers next.
    worker = make_backend(emulator, entity_types={"vat_invoice": 1038})
    with pytest.raises(DeliveryError) as caught:
        worker.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    assert not caught.value.permanent
    assert "OPERATION_TIME_LIMIT" in str(caught.value)
    # This worker knows no reset time: the whole ten-minute window, waited without spending
    # one of the message's attempts.
    assert caught.value.retry_after == 600.0 and caught.value.deferred
    assert len(spa_items(emulator)) == 2
    clock.advance(600)
    worker.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    items = [i for i in spa_items(emulator) if i["xmlId"] == f"cabinet-document-{document.id}"]
    (item,) = items
    assert len(emulator.portal.rows[("T40e", item["id"])]) == 3


def test_quotes_get_a_user_field_for_the_cabinet_id_with_default_settings(cabinet, clock, document):
    # Quotes have no xmlId (bitrix24.md §3.4); a strict portal stores only user fields that
    # exist, so the backend must create its own before the first quote.
    emulator = Emulator(EmulatorConfig(strict_user_fields=True), clock=clock)
    backend = make_backend(emulator)
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    (item,) = emulator.portal.items[7].values()
    assert item["UF_CRM_QUOTE_CABINET_ID"] == f"cabinet-document-{document.id}"
    assert len(emulator.portal.rows[("Q", item["id"])]) == 3
    (field,) = emulator.portal.user_fields["CRM_QUOTE"].values()
    assert (field["fieldName"], field["userTypeId"]) == ("UF_CRM_QUOTE_CABINET_ID", "string")
    # A second backend (another worker) finds the field instead of adding it again.
    make_backend(emulator).deliver(cabinet.sync_port("bitrix24"), message_about(document))
    assert len(emulator.portal.items[7]) == 1
    assert len(emulator.portal.user_fields["CRM_QUOTE"]) == 1


def test_a_user_field_origin_on_a_smart_process_uses_its_type_id(cabinet, clock, document):
    emulator = Emulator(EmulatorConfig(strict_user_fields=True), clock=clock)
    backend = make_backend(
        emulator, entity_types={"vat_invoice": 1038}, origin_field="UF_CRM_37_CABINET_ID"
    )
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    (item,) = spa_items(emulator)
    assert item["UF_CRM_37_CABINET_ID"] == f"cabinet-document-{document.id}"
    assert "UF_CRM_37_CABINET_ID" in emulator.portal.user_fields["CRM_37"]


def test_many_documents_share_batches(cabinet, emulator, document):
    with cabinet.store.transaction() as tx:
        others = [
            tx.add_document(attrs.evolve(document, id=None, number=f"FV/{n}/11/2026"))
            for n in range(2, 61)
        ]
    documents: list[Document] = [document, *others]
    backend = make_backend(emulator, entity_types={"vat_invoice": 1038})
    outcome = backend.push_documents(cabinet.sync_port("bitrix24"), documents)
    assert sorted(outcome) == sorted(d.id for d in documents)
    assert all(isinstance(v, int) for v in outcome.values())
    # 60 lookups as 2 IN-filter commands in 1 batch; 60 items + 60 row sets in 3 batches.
    assert len(emulator.requests) == 4
    assert len(spa_items(emulator)) == 60
    again = backend.push_documents(cabinet.sync_port("bitrix24"), documents)
    assert again == outcome
    assert len(spa_items(emulator)) == 60


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
def test_a_short_fault_is_retried_by_the_client(cabinet, emulator, document, kind, permanent):
    backend = make_backend(emulator, entity_types={"vat_invoice": 1038})
    emulator.inject(kind, 1, location="https://nowa.bitrix24.pl")
    if permanent:
        with pytest.raises(DeliveryError) as caught:
            backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
        assert caught.value.permanent
        assert "PORTAL_MOVED" in str(caught.value)
    else:
        backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
        assert backend.client.retries == 1
    assert len(spa_items(emulator)) == (0 if permanent else 1)


@pytest.mark.parametrize("kind", ["down", "internal_error", "html_error", "timeout"])
def test_a_lasting_outage_gives_up_visibly_then_recovers(cabinet, emulator, document, kind):
    retry = RetryPolicy(attempts=4, base=1.0, factor=2.0, cap=5.0)
    backend = make_backend(emulator, retry=retry, entity_types={"vat_invoice": 1038})
    emulator.inject(kind, 4)
    with pytest.raises(DeliveryError) as caught:
        backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    assert not caught.value.permanent
    # Three pauses between four tries: 1, 2, 4 seconds (bounded by the cap).
    assert [p for p in backend.client._sleep.pauses if p >= 1] == [1.0, 2.0, 4.0]
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    assert len(spa_items(emulator)) == 1


def test_a_burst_from_another_client_is_waited_out(cabinet, emulator, document):
    backend = make_backend(emulator, entity_types={"vat_invoice": 1038})
    with httpx.Client(transport=emulator.transport()) as http:
        for _ in range(50):
            http.post(emulator.webhook_url + "profile")
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    assert backend.client.retries == 1  # one 503, then the bucket waited for room
    assert len(spa_items(emulator)) == 1


def test_operation_time_limit_is_paced_not_hit(cabinet, clock, document):
    emulator = Emulator(EmulatorConfig(method_seconds={"crm.item.list": 500.0}), clock=clock)
    backend = make_backend(emulator, entity_types={"vat_invoice": 1038})
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    start = clock.now()
    backend.deliver(cabinet.sync_port("bitrix24"), message_about(document))
    # The lookup waited for the oldest basket to expire instead of being refused.
    assert clock.now() - start >= 500
    assert len(spa_items(emulator)) == 1


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
    make_backend(emulator, clock, entity_types={"vat_invoice": 1038}).deliver(
        cabinet.sync_port("bitrix24"), message_about(document)
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
