"""Status ↔ stage: the default mapping per built-in type, admins' overrides in the settings
store, stage ids of a smart process's real pipeline, and what a push does with them."""

from __future__ import annotations

import attrs
import pytest
from bitrix24_emulator import Emulator, VirtualClock
from bitrix24_emulator.state import spa_type
from cabinet_bitrix import BitrixBackend, BitrixSettings
from cabinet_bitrix.stages import SETTINGS_KEY, StageMap, check_mapping, default_mapping
from cabinet_core.crm import DeliveryError
from cabinet_core.default_document_types import BUILT_IN_TYPES
from cabinet_core.entities import OutboxMessage, PaymentStatus
from emulated import emulated_client
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture(scope="module")
def cabinet_types():
    return {doc_type.key: doc_type() for doc_type in BUILT_IN_TYPES}


@pytest.fixture
def emulator(clock):
    return Emulator(clock=clock)


def make_backend(emulator, clock, **settings):
    client = emulated_client(emulator, clock)
    settings = BitrixSettings(webhook_url=emulator.webhook_url, **settings)
    return BitrixBackend(settings, client=client)


def message(document, topic="document.updated", **payload):
    return OutboxMessage(
        id=1, topic=topic, entity="document", entity_id=document.id, payload=payload
    )


def test_defaults_cover_every_state_of_the_built_in_types(cabinet):
    for key, doc_type in cabinet.document_types.items():
        states = {s.key for s in doc_type.workflow.states}
        for entity_type_id, stages in (
            (7, {"DRAFT", "SENT", "APPROVED", "DECLAINED"}),
            (1038, {"NEW", "PREPARATION", "CLIENT", "SUCCESS", "FAIL"}),
        ):
            mapping = default_mapping(doc_type, entity_type_id)
            assert set(mapping) == states, key
            assert set(mapping.values()) <= stages, key


def test_a_stage_maps_back_without_undoing_a_number(cabinet):
    stages = StageMap(categories={1038: 37})
    sales = cabinet.document_types["vat_invoice"]
    # An issued invoice leaves the draft stage; moved back to it, it stays issued (never a
    # draft again, nor refused by KSeF on the CRM's word).
    assert stages.stage_for(sales, 1038, "issued") == "DT1038_37:PREPARATION"
    assert stages.stage_for(sales, 7, "issued") == "SENT"
    assert stages.status_for(sales, 1038, "DT1038_37:NEW", "issued") is None
    assert stages.status_for(sales, 1038, "DT1038_37:NEW", "sent") is None
    assert stages.status_for(sales, 1038, "DT1038_37:PREPARATION", "sent") == "issued"
    assert stages.status_for(sales, 7, "SENT", "issued") == "issued"
    assert stages.status_for(sales, 1038, "DT1038_37:NEW", "draft") == "draft"
    assert stages.status_for(sales, 1038, "DT1038_37:SUCCESS", "sent") == "paid"
    assert stages.status_for(sales, 1038, "DT1038_37:UC_OTHER", "sent") is None
    cost = cabinet.document_types["cost_invoice"]
    assert stages.status_for(cost, 7, "APPROVED", "submitted") == "approved"
    assert stages.status_for(cost, 7, "APPROVED", "booked") == "booked"
    assert stages.status_for(cost, 7, "DECLAINED", "submitted") == "returned"
    assert stages.stage_for(cost, 1038, "approved") == "DT1038_37:PREPARATION"
    assert stages.stage_for(cost, 7, "paid") == "APPROVED"


def test_admins_override_a_type_and_bad_mappings_are_refused(cabinet):
    with cabinet.store.transaction() as tx:
        tx.set_setting(SETTINGS_KEY, {"cost_invoice": {"submitted": "NEW", "approved": "UC_OK"}})
    stages = StageMap.load(cabinet.sync_port("bitrix24"))
    stages.categories[1038] = 5
    cost = cabinet.document_types["cost_invoice"]
    assert stages.stage_for(cost, 1038, "approved") == "DT1038_5:UC_OK"
    assert stages.stage_for(cost, 1038, "paid") is None  # not mapped: left alone
    assert stages.status_for(cost, 1038, "DT1038_5:UC_OK", "submitted") == "approved"
    # Other types keep their defaults.
    assert (
        stages.stage_for(cabinet.document_types["vat_invoice"], 1038, "sent") == "DT1038_5:CLIENT"
    )
    with pytest.raises(ValueError, match=r"bitrix24\.stage_map"):
        check_mapping({"cost_invoice": ["NEW"]})
    with pytest.raises(ValueError, match=r"bitrix24\.stage_map"):
        check_mapping({"cost_invoice": {"approved": ""}})


def test_a_new_item_goes_to_the_stage_of_its_status_in_the_real_pipeline(cabinet, clock, document):
    # A smart process whose default pipeline is not the first one and has another id.
    emulator = Emulator(clock=clock)
    crm = spa_type(1040, 41, "Faktury", 9)
    emulator.portal.types[1040] = crm
    emulator.portal.items[1040] = {}
    with cabinet.store.transaction() as tx:
        sent = tx.update_document(attrs.evolve(document, status="sent"))
    make_backend(emulator, clock, entity_types={"vat_invoice": 1040}).deliver(
        cabinet.sync_port("bitrix24"), message(sent, "document.created")
    )
    (item,) = emulator.portal.items[1040].values()
    assert item["stageId"] == "DT1040_9:CLIENT"


def test_a_status_change_moves_the_item_and_a_plain_edit_does_not(
    cabinet, emulator, clock, document
):
    backend = make_backend(emulator, clock, entity_types={"vat_invoice": 1038})
    backend.deliver(cabinet.sync_port("bitrix24"), message(document, "document.created"))
    (item,) = emulator.portal.items[1038].values()
    assert item["stageId"] == "DT1038_37:PREPARATION"
    # Staff moved it meanwhile; an edit in the cabinet must not undo that.
    emulator.act(
        "crm.item.update",
        {"entityTypeId": 1038, "id": item["id"], "fields": {"stageId": "DT1038_37:NEW"}},
    )
    backend.deliver(cabinet.sync_port("bitrix24"), message(document, "document.updated"))
    assert item["stageId"] == "DT1038_37:NEW"
    with cabinet.store.transaction() as tx:
        sent = tx.update_document(attrs.evolve(document, status="sent"))
    backend.deliver(
        cabinet.sync_port("bitrix24"), message(sent, "document.status_changed", new_status="sent")
    )
    assert item["stageId"] == "DT1038_37:CLIENT"


def test_a_change_that_came_from_the_crm_is_not_pushed_back(cabinet, emulator, clock, document):
    backend = make_backend(emulator, clock, entity_types={"vat_invoice": 1038})
    # The outbox gives such a message no delivery to this backend; should one arrive anyway
    # (a message queued by hand), the backend still does not push it back.
    port = cabinet.sync_port("bitrix24")
    echo = attrs.evolve(message(document, "document.status_changed"), origin="bitrix24")
    backend.deliver(port, echo)
    assert emulator.requests == []
    outcome = backend.deliver_many(
        port,
        [attrs.evolve(message(document, "document.payment_changed"), id=7, origin="bitrix24")],
    )
    assert outcome == {7: None}
    assert emulator.requests == []
    # A change another backend made (its origin) is this backend's news: it is pushed.
    backend.deliver(
        port, attrs.evolve(message(document, "document.status_changed"), origin="webhook")
    )
    assert emulator.requests != []


def test_quotes_use_the_quote_directory(cabinet, emulator, clock, document):
    with cabinet.store.transaction() as tx:
        paid = tx.update_document(attrs.evolve(document, status="paid"))
    make_backend(emulator, clock).deliver(
        cabinet.sync_port("bitrix24"), message(paid, "document.created")
    )
    (quote,) = emulator.portal.items[7].values()
    assert quote["stageId"] == "APPROVED"
    assert quote["stageSemanticId"] == "S"


def test_a_stage_the_portal_does_not_have_is_not_sent(cabinet, emulator, clock, document):
    with cabinet.store.transaction() as tx:
        tx.set_setting(SETTINGS_KEY, {"vat_invoice": {"issued": "NEW", "sent": "UC_GONE"}})
    backend = make_backend(emulator, clock, entity_types={"vat_invoice": 1038})
    backend.deliver(cabinet.sync_port("bitrix24"), message(document, "document.created"))
    # The pipeline was read with the first lookup, its stages with the next one.
    assert [m for m, _ in emulator.requests] == ["batch", "batch"]
    with cabinet.store.transaction() as tx:
        sent = tx.update_document(attrs.evolve(document, status="sent"))
    backend.deliver(cabinet.sync_port("bitrix24"), message(sent, "document.status_changed"))
    (item,) = emulator.portal.items[1038].values()
    assert item["stageId"] == "DT1038_37:NEW"
    assert backend._stage_ids[1038] >= {"DT1038_37:NEW", "DT1038_37:SUCCESS"}


STAGE_CODES = st.sampled_from(["NEW", "PREPARATION", "CLIENT", "SUCCESS", "FAIL", "UC_X"])


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_pushed_stage_read_back_never_changes_the_status(cabinet_types, data):
    # Whatever the mapping, the stage a status is pushed to maps back to that same status, so
    # the cabinet's own writes coming back as events change nothing (no echo loop).
    doc_type = data.draw(st.sampled_from(sorted(cabinet_types)))
    document_type = cabinet_types[doc_type]
    states = [s.key for s in document_type.workflow.states]
    mapping = data.draw(st.dictionaries(st.sampled_from(states), STAGE_CODES))
    stages = StageMap({doc_type: mapping} if data.draw(st.booleans()) else {}, {1038: 37})
    status = data.draw(st.sampled_from(states))
    stage = stages.stage_for(document_type, 1038, status)
    if stage is not None:
        assert stages.status_for(document_type, 1038, stage, status) == status
        # From any other status, the stage never turns a document back into a draft, nor
        # into a state only the cabinet sets (refused by KSeF): nothing is taken from it then.
        initial = document_type.workflow.initial
        sharing = {s for s in states if stages.stage_for(document_type, 1038, s) == stage}
        back = stages.status_for(document_type, 1038, stage, "elsewhere")
        if sharing <= {initial, "ksef_rejected"}:
            assert back is None
        else:
            assert back in sharing - {initial, "ksef_rejected"}


def test_a_malformed_mapping_holds_deliveries_with_a_clear_error(
    cabinet, emulator, clock, document
):
    with cabinet.store.transaction() as tx:
        tx.set_setting(SETTINGS_KEY, {"vat_invoice": "SUCCESS"})
    backend = make_backend(emulator, clock)
    with pytest.raises(DeliveryError, match=r"bitrix24\.stage_map\['vat_invoice'\]") as caught:
        backend.deliver(cabinet.sync_port("bitrix24"), message(document, "document.created"))
    assert not caught.value.permanent and caught.value.retry_after
    outcome = backend.deliver_many(
        cabinet.sync_port("bitrix24"), [message(document, "document.created")]
    )
    assert isinstance(outcome[1], DeliveryError)
    assert emulator.portal.items[7] == {}


def test_issued_and_paid_invoices_land_on_their_default_stages(cabinet, emulator, clock, document):
    """An issued invoice leaves the quote's DRAFT at once; a payment recorded without a status
    change (the bank import, the CRM) still lands it on the won stage."""
    quote = make_backend(emulator, clock)
    port = cabinet.sync_port("bitrix24")
    quote.deliver(port, message(document, "document.created"))
    (item,) = emulator.portal.items[7].values()
    assert item["stageId"] == "SENT"
    with cabinet.store.transaction() as tx:
        paid = tx.update_document(attrs.evolve(document, payment_status=PaymentStatus.PAID))
    assert paid.status == "issued"
    quote.deliver(port, message(paid, "document.payment_changed"))
    assert item["stageId"] == "APPROVED"
    spa = make_backend(emulator, clock, entity_types={"vat_invoice": 1038})
    spa.deliver(port, message(paid, "document.created"))
    (spa_item,) = emulator.portal.items[1038].values()
    assert spa_item["stageId"] == "DT1038_37:SUCCESS"
    # The cabinet's own write, read back by an event or a reconciliation, changes nothing.
    from cabinet_bitrix.inbound import apply_item

    field = spa.settings.origin_field_for(1038)
    read_back = {**spa_item, field: spa.origin_id(paid)}
    assert apply_item(port, spa, 1038, read_back) == f"unchanged: document {paid.id} is paid"
