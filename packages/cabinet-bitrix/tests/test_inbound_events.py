"""Events from the emulator's outbound delivery reaching the cabinet: a stage moved by staff
becomes the document's status (through apply_crm_status, not echoed back), a foreign token
changes nothing, other events are ignored politely, junk never raises."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import attrs
import httpx
import pytest
from bitrix24_emulator import Emulator, VirtualClock
from cabinet_bitrix import BitrixBackend, BitrixSettings
from cabinet_bitrix.auth import PortTokenStore, install
from cabinet_bitrix.inbound import APPLICATION_TOKEN_KEY
from cabinet_core.entities import OutboxMessage, PaymentStatus
from cabinet_core.sync import InboundRequest
from emulated import emulated_client

HANDLER = "https://cabinet.example/hooks/bitrix24"


class Portal:
    """An emulated portal with the app installed in the cabinet and its events recorded."""

    def __init__(self, cabinet, clock, **settings) -> None:
        self.posted: list[dict[str, str]] = []
        self.emulator = Emulator(clock=clock, event_transport=httpx.MockTransport(self._receive))
        self.tokens = self.emulator.install_app()
        install(PortTokenStore(cabinet.sync_port("bitrix24")), {"auth": self.tokens})
        with httpx.Client(transport=self.emulator.transport()) as http:
            for event in ("ONCRMDYNAMICITEMUPDATE", "ONCRMQUOTEUPDATE", "ONCRMQUOTEADD"):
                answer = http.post(
                    self.tokens["client_endpoint"] + "event.bind",
                    json={"auth": self.tokens["access_token"], "event": event, "handler": HANDLER},
                )
                assert answer.status_code == 200
        client = emulated_client(self.emulator, clock)
        self.backend = BitrixBackend(
            BitrixSettings(webhook_url=self.emulator.webhook_url, **settings), client=client
        )

    def _receive(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == HANDLER
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        self.posted.append(dict(parse_qsl(request.content.decode())))
        return httpx.Response(200)

    def take(self) -> list[dict[str, str]]:
        posted, self.posted = self.posted, []
        return posted


def _flat(form: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in form.items():
        name = f"{prefix}[{key}]" if prefix else key
        flat.update(_flat(value, name) if isinstance(value, Mapping) else {name: str(value)})
    return flat


def handle_event(cabinet, form, *, backend):
    """Post ``form`` to the backend's inbound handler as the portal does, then run the work
    its answer schedules: that work's outcome, ``"rejected"`` for a 403, ``"invalid: …"`` for
    a 400."""
    request = InboundRequest(
        method="POST",
        path="/hooks/bitrix24",
        headers={"content-type": "application/x-www-form-urlencoded"},
        body=urlencode(_flat(form)).encode(),
    )
    reply = backend.inbound.handle(cabinet.sync_port("bitrix24"), request)
    if reply.status == 403:
        assert reply.after is None  # refused: nothing runs
        return "rejected"
    if reply.status == 400:
        return f"invalid: {json.loads(reply.body)['detail']}"
    assert (reply.status, reply.body) == (200, b"accepted")
    assert reply.after is not None
    return reply.after()


def created(document):
    return OutboxMessage(id=1, topic="document.created", entity="document", entity_id=document.id)


def pushed(cabinet, portal, document):
    """Create the document's item, then push a status change: the update event it causes."""
    portal.backend.deliver(cabinet.sync_port("bitrix24"), created(document))
    portal.take()
    changed = attrs.evolve(created(document), topic="document.status_changed")
    portal.backend.deliver(cabinet.sync_port("bitrix24"), changed)
    (form,) = portal.take()
    return form


def status_of(cabinet, document):
    with cabinet.store.transaction(readonly=True) as tx:
        return tx.get_document(document.id)


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def spa(cabinet, clock):
    return Portal(cabinet, clock, entity_types={"vat_invoice": 1038})


def test_a_stage_moved_by_staff_reaches_the_cabinet_once(cabinet, spa, document):
    spa.backend.deliver(cabinet.sync_port("bitrix24"), created(document))
    assert spa.take() == []  # an add fires ONCRMDYNAMICITEMADD, not bound here
    # The cabinet's own stage write comes back as an event too: it changes nothing.
    spa.backend.deliver(
        cabinet.sync_port("bitrix24"),
        attrs.evolve(created(document), topic="document.status_changed"),
    )
    assert [handle_event(cabinet, form, backend=spa.backend) for form in spa.take()] == [
        f"unchanged: document {document.id} is issued"
    ]
    (item,) = spa.emulator.portal.items[1038].values()
    spa.emulator.act(
        "crm.item.update",
        {"entityTypeId": 1038, "id": item["id"], "fields": {"stageId": "DT1038_37:CLIENT"}},
        user_id=2,
    )
    (form,) = spa.take()
    assert form["event"] == "ONCRMDYNAMICITEMUPDATE"
    assert handle_event(cabinet, form, backend=spa.backend) == (
        f"status: document {document.id} issued → sent"
    )
    assert status_of(cabinet, document).status == "sent"
    # The outbox row says where the change came from, and the backend does not push it back.
    with cabinet.store.transaction(readonly=True) as tx:
        (change,) = [
            m for m in tx.outbox_for("document", document.id) if m.topic.endswith("status_changed")
        ]
    # Its origin is this backend, which therefore has no delivery of it.
    assert change.origin == "bitrix24" and change.subscriber != "bitrix24"
    before = len(spa.emulator.requests)
    spa.backend.deliver(cabinet.sync_port("bitrix24"), change)
    assert len(spa.emulator.requests) == before
    # The same event delivered twice changes nothing more.
    assert handle_event(cabinet, form, backend=spa.backend).startswith("unchanged")


def test_paid_follows_the_success_stage_and_back(cabinet, spa, document):
    spa.backend.deliver(cabinet.sync_port("bitrix24"), created(document))
    spa.take()
    (item,) = spa.emulator.portal.items[1038].values()
    for stage in ("DT1038_37:SUCCESS", "DT1038_37:CLIENT"):
        spa.emulator.act(
            "crm.item.update",
            {"entityTypeId": 1038, "id": item["id"], "fields": {"stageId": stage}},
        )
        (form,) = spa.take()
        handle_event(cabinet, form, backend=spa.backend)
        if stage.endswith("SUCCESS"):
            paid = status_of(cabinet, document)
            assert (paid.status, paid.payment_status) == ("paid", PaymentStatus.PAID)
    back = status_of(cabinet, document)
    assert (back.status, back.payment_status) == ("sent", PaymentStatus.UNPAID)


def test_a_wrong_application_token_changes_nothing(cabinet, spa, document):
    spa.backend.deliver(cabinet.sync_port("bitrix24"), created(document))
    spa.take()
    (item,) = spa.emulator.portal.items[1038].values()
    spa.emulator.act(
        "crm.item.update",
        {"entityTypeId": 1038, "id": item["id"], "fields": {"stageId": "DT1038_37:FAIL"}},
    )
    (form,) = spa.take()
    requests = len(spa.emulator.requests)
    for forged in (
        {**form, "auth[application_token]": "f" * 32},
        {k: v for k, v in form.items() if k != "auth[application_token]"},
        {**form, "auth[member_id]": "another-portal", "auth[application_token]": "x"},
    ):
        assert handle_event(cabinet, forged, backend=spa.backend) == "rejected"
    assert status_of(cabinet, document).status == "issued"
    assert len(spa.emulator.requests) == requests  # not even read


def test_an_outgoing_webhook_token_from_the_settings_is_accepted(cabinet, spa, document):
    form = pushed(cabinet, spa, document)
    webhook_form = {k: v for k, v in form.items() if not k.startswith("auth[")}
    webhook_form["auth[application_token]"] = "outgoing-webhook-token"
    assert handle_event(cabinet, webhook_form, backend=spa.backend) == "rejected"
    # As the settings page saves it: the same key the handler's one check reads.
    cabinet.sync_port("bitrix24").set_state(APPLICATION_TOKEN_KEY, "outgoing-webhook-token")
    assert handle_event(cabinet, webhook_form, backend=spa.backend).startswith("unchanged")


def test_a_quote_event_is_handled_and_its_add_event_ignored(cabinet, clock, document):
    portal = Portal(cabinet, clock)
    portal.backend.deliver(cabinet.sync_port("bitrix24"), created(document))
    events = {form["event"]: form for form in portal.take()}
    assert handle_event(cabinet, events["ONCRMQUOTEADD"], backend=portal.backend) == (
        "ignored: ONCRMQUOTEADD"
    )
    (quote,) = portal.emulator.portal.items[7].values()
    portal.emulator.act(
        "crm.item.update",
        {"entityTypeId": 7, "id": quote["id"], "fields": {"stageId": "APPROVED"}},
    )
    (form,) = portal.take()
    assert form["event"] == "ONCRMQUOTEUPDATE" and "data[FIELDS][ENTITY_TYPE_ID]" not in form
    assert handle_event(cabinet, form, backend=portal.backend).startswith("status:")
    assert status_of(cabinet, document).status == "paid"


def test_an_item_tagged_with_another_client_is_refused(cabinet, spa, document):
    spa.backend.deliver(cabinet.sync_port("bitrix24"), created(document))
    (item,) = spa.emulator.portal.items[1038].values()
    stranger = spa.emulator.act(
        "crm.item.add", {"entityTypeId": 4, "fields": {"title": "Obca firma"}}
    )["item"]
    spa.emulator.act(
        "crm.item.update",
        {
            "entityTypeId": 1038,
            "id": item["id"],
            "fields": {"mycompanyId": stranger["id"], "stageId": "DT1038_37:FAIL"},
        },
    )
    (form,) = spa.take()
    assert handle_event(cabinet, form, backend=spa.backend).startswith("refused:")
    assert status_of(cabinet, document).status == "issued"


def test_the_handler_refuses_what_is_not_an_event_before_reading_it(cabinet, spa):
    port = cabinet.sync_port("bitrix24")
    form = {"content-type": "application/x-www-form-urlencoded"}
    handler = spa.backend.inbound
    requests = len(spa.emulator.requests)
    too_big = InboundRequest(
        method="POST", headers=form, body=b"event=X&" + b"a" * handler.max_body_bytes
    )
    assert handler.handle(port, too_big).status == 413
    as_json = InboundRequest(method="POST", headers={"content-type": "application/json"})
    refused = handler.handle(port, as_json)
    assert refused.status == 400 and refused.content_type == "application/problem+json"
    assert handler.handle(port, InboundRequest(method="GET", headers=form)).status == 405
    assert len(spa.emulator.requests) == requests  # the portal was never asked


@pytest.mark.parametrize(
    "junk",
    [
        {},
        {"event": "ONCRMDYNAMICITEMUPDATE"},
        {"event": "ONCRMDYNAMICITEMUPDATE", "data[FIELDS][ID]": "x"},
    ],
)
def test_junk_never_raises(cabinet, spa, junk):
    result = handle_event(cabinet, junk, backend=spa.backend)
    assert result == "invalid: not a Bitrix24 event"


def test_events_naming_no_item_or_a_foreign_item(cabinet, spa, document):
    token = spa.tokens["application_token"]
    base = {"auth[application_token]": token, "auth[member_id]": spa.tokens["member_id"]}
    assert handle_event(
        cabinet, {**base, "event": "ONCRMDYNAMICITEMUPDATE"}, backend=spa.backend
    ) == ("invalid: the event names no item")
    foreign = spa.emulator.act("crm.item.add", {"entityTypeId": 1038, "fields": {"title": "X"}})
    form = {
        **base,
        "event": "ONCRMDYNAMICITEMUPDATE",
        "data[FIELDS][ID]": str(foreign["item"]["id"]),
        "data[FIELDS][ENTITY_TYPE_ID]": "1038",
    }
    assert handle_event(cabinet, form, backend=spa.backend) == "ignored: not a cabinet document"
    gone = {**form, "data[FIELDS][ID]": "999"}
    assert handle_event(cabinet, gone, backend=spa.backend) == "ignored: item 999 no longer exists"
    nested = {
        "event": "ONCRMDYNAMICITEMDELETE",
        "auth": {"application_token": token, "member_id": spa.tokens["member_id"]},
    }
    assert handle_event(cabinet, nested, backend=spa.backend) == "ignored: ONCRMDYNAMICITEMDELETE"


def test_a_portal_that_cannot_be_read_fails_softly(cabinet, spa, document):
    form = pushed(cabinet, spa, document)
    spa.emulator.inject("internal_error", 10)
    assert handle_event(cabinet, form, backend=spa.backend).startswith("failed:")
    assert status_of(cabinet, document).status == "issued"


def test_a_draft_is_not_moved_by_staff(cabinet, spa, document):
    with cabinet.store.transaction() as tx:
        draft = tx.update_document(attrs.evolve(document, status="draft", number=None))
    form = pushed(cabinet, spa, draft)
    (item,) = spa.emulator.portal.items[1038].values()
    spa.emulator.act(
        "crm.item.update",
        {"entityTypeId": 1038, "id": item["id"], "fields": {"stageId": "DT1038_37:SUCCESS"}},
    )
    (form,) = spa.take()
    assert handle_event(cabinet, form, backend=spa.backend) == (
        f"ignored: document {draft.id} is still a draft"
    )
    assert status_of(cabinet, draft).status == "draft"


def test_a_returned_cost_invoice_carries_the_reason_staff_wrote(cabinet, clock, document):
    portal = Portal(cabinet, clock, entity_types={"cost_invoice": 1038})
    with cabinet.store.transaction() as tx:
        cost = tx.update_document(
            attrs.evolve(document, doc_type="cost_invoice", status="submitted")
        )
    form = pushed(cabinet, portal, cost)
    assert handle_event(cabinet, form, backend=portal.backend).startswith("unchanged")
    (item,) = portal.emulator.portal.items[1038].values()
    clock.advance(3600)
    portal.emulator.act(
        "crm.timeline.comment.add",
        {
            "fields": {
                "ENTITY_TYPE": "dynamic_1038",
                "ENTITY_ID": item["id"],
                "COMMENT": "Brak [b]NIP[/b] sprzedawcy",
            }
        },
    )
    portal.emulator.act(
        "crm.item.update",
        {"entityTypeId": 1038, "id": item["id"], "fields": {"stageId": "DT1038_37:FAIL"}},
    )
    (form,) = portal.take()
    assert handle_event(cabinet, form, backend=portal.backend) == (
        f"status: document {cost.id} submitted → returned"
    )
    with cabinet.store.transaction(readonly=True) as tx:
        (change,) = [
            m for m in tx.outbox_for("document", cost.id) if m.topic == "document.status_changed"
        ]
    assert change.payload["comment"] == "Brak NIP sprzedawcy"
