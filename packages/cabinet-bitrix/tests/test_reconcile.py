"""Reconciliation: stage changes whose events were lost still reach the cabinet, documents
whose push never arrived are queued again, and each run starts where the last one ended."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest
from bitrix24_emulator import Emulator, VirtualClock
from cabinet_bitrix import BitrixBackend, BitrixSettings
from cabinet_bitrix.reconcile import STATE_KEY, reconcile
from cabinet_core.entities import Document, OutboxMessage
from cabinet_core.sync import decode_payload
from emulated import emulated_client


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def emulator(clock):
    # No event handler is bound: every event is lost.
    return Emulator(clock=clock)


@pytest.fixture
def backend(emulator, clock):
    client = emulated_client(emulator, clock)
    settings = BitrixSettings(webhook_url=emulator.webhook_url, entity_types={"vat_invoice": 1038})
    return BitrixBackend(settings, client=client)


def created(document):
    return OutboxMessage(id=1, topic="document.created", entity="document", entity_id=document.id)


def stored(cabinet, document):
    with cabinet.store.transaction(readonly=True) as tx:
        return tx.get_document(document.id)


def test_a_stage_moved_while_events_were_lost_arrives_by_reconciliation(
    cabinet, emulator, clock, backend, document
):
    backend.deliver(cabinet.sync_port("bitrix24"), created(document))
    first = reconcile(cabinet.sync_port("bitrix24"), backend)
    assert first.since is None and first.items_checked == 1 and first.applied == ()
    (item,) = emulator.portal.items[1038].values()
    clock.advance(600)
    emulator.act(
        "crm.item.update",
        {"entityTypeId": 1038, "id": item["id"], "fields": {"stageId": "DT1038_37:CLIENT"}},
    )
    assert stored(cabinet, document).status == "issued"
    report = reconcile(cabinet.sync_port("bitrix24"), backend)
    assert report.applied == (f"status: document {document.id} issued → sent",)
    assert stored(cabinet, document).status == "sent"
    # The window starts at the previous run (less the margin), so untouched items are not read.
    assert report.since is not None and report.since < report.until
    clock.advance(600)
    # The margin reads the item again (it changed just before the last run): nothing to do.
    again = reconcile(cabinet.sync_port("bitrix24"), backend)
    assert (again.items_checked, again.applied) == (1, ())
    clock.advance(600)
    quiet = reconcile(cabinet.sync_port("bitrix24"), backend)
    assert (quiet.items_checked, quiet.applied) == (0, ())


def test_only_items_changed_since_the_window_start_are_read(
    cabinet, emulator, clock, backend, document
):
    others = []
    with cabinet.store.transaction() as tx:
        for n in range(2, 5):
            others.append(tx.add_document(attrs.evolve(document, id=None, number=f"FV/{n}/2026")))
    backend.push_documents(cabinet.sync_port("bitrix24"), [document, *others])
    clock.advance(3600)
    middle = datetime.fromtimestamp(clock.now(), UTC)
    clock.advance(3600)
    items = sorted(emulator.portal.items[1038].values(), key=lambda i: i["id"])
    emulator.act(
        "crm.item.update",
        {"entityTypeId": 1038, "id": items[2]["id"], "fields": {"stageId": "DT1038_37:FAIL"}},
    )
    report = reconcile(cabinet.sync_port("bitrix24"), backend, since=middle)
    assert report.items_checked == 1
    assert stored(cabinet, others[1]).status == "cancelled"


def test_documents_whose_push_never_arrived_are_queued_again(
    cabinet, emulator, clock, backend, document
):
    with cabinet.store.transaction() as tx:
        lost = tx.add_document(attrs.evolve(document, id=None, number="FV/2/2026"))
        waiting = tx.add_document(attrs.evolve(document, id=None, number="FV/3/2026"))
        tx.add_outbox(
            OutboxMessage(topic="document.created", entity="document", entity_id=waiting.id),
            subscribers=(backend.name,),
        )
    backend.deliver(cabinet.sync_port("bitrix24"), created(document))
    report = reconcile(cabinet.sync_port("bitrix24"), backend)
    # The pushed one is there, the waiting one is still with the worker: only the lost one.
    assert report.documents_checked == 3
    assert report.requeued == (lost.id,)
    with cabinet.store.transaction(readonly=True) as tx:
        (again,) = tx.outbox_for("document", lost.id)
        state = tx.get_setting("bitrix24." + STATE_KEY)
        (entry,) = tx.list_audit(entity="document", entity_id=lost.id)
    # Queued through the port: the document as stored now, and an audit entry saying why.
    assert again.topic == "document.updated"
    queued = decode_payload(again)
    assert isinstance(queued, Document) and queued.id == lost.id
    assert entry.action == "sync.requeue" and entry.detail["backend"] == "bitrix24"
    assert state["last_document_id"] == waiting.id
    # Delivering the re-queued message creates the item; the next run checks only new ones.
    backend.deliver(cabinet.sync_port("bitrix24"), again)
    assert len(emulator.portal.items[1038]) == 2
    with cabinet.store.transaction() as tx:
        newest = tx.add_document(attrs.evolve(document, id=None, number="FV/4/2026"))
    report = reconcile(cabinet.sync_port("bitrix24"), backend)
    assert (report.documents_checked, report.requeued) == (1, (newest.id,))


def test_the_worker_runs_it_on_a_schedule(cabinet, backend, document):
    tasks = {task.name: task for task in backend.periodic_tasks(cabinet.sync_port("bitrix24"))}
    assert set(tasks) == {"bitrix24.reconcile", "bitrix24.files", "bitrix24.news", "bitrix24.chat"}
    task = tasks["bitrix24.reconcile"]
    assert task.interval_seconds == 300
    task.run(cabinet.sync_port("bitrix24"))
    with cabinet.store.transaction(readonly=True) as tx:
        assert tx.get_setting("bitrix24." + STATE_KEY)["last_run"]


def test_a_stage_change_that_failed_for_good_is_picked_up_by_reconciliation(
    cabinet, emulator, backend, document
):
    from cabinet_bitrix.reconcile import MAX_STAGE_RETRIES
    from cabinet_core.storage import outbox as outbox_table
    from cabinet_core.sync import DocumentStatusChange, Topic, encode_payload

    port = cabinet.sync_port("bitrix24")
    backend.deliver(port, created(document))
    (item,) = emulator.portal.items[1038].values()
    assert item["stageId"] == "DT1038_37:PREPARATION"
    # The invoice is sent; its stage change reached Bitrix24 never (the portal was down for
    # longer than the worker's attempts), so the delivery is marked failed.
    with cabinet.store.transaction() as tx:
        sent = tx.update_document(attrs.evolve(document, status="sent"))
        change = DocumentStatusChange(
            document=sent, transition="send", old_status="issued", new_status="sent"
        )
        message = tx.add_outbox(
            OutboxMessage(
                topic=Topic.DOCUMENT_STATUS_CHANGED.value,
                entity="document",
                entity_id=sent.id,
                payload=encode_payload(Topic.DOCUMENT_STATUS_CHANGED, change),
                created_at=cabinet.store.clock(),
            ),
            subscribers=("bitrix24",),
            json_ready=True,
        )

    def fail_it():
        with cabinet.store.transaction() as tx:
            outbox_table.update_one(
                tx.connection, "bitrix24", message.id, failed_at=cabinet.store.clock()
            )

    fail_it()
    assert [m.id for m in port.deliveries("failed")] == [message.id]
    report = reconcile(port, backend)
    assert report.retried == (message.id,)
    (pending,) = port.deliveries("pending")
    assert pending.id == message.id
    backend.deliver(port, pending)
    assert item["stageId"] == "DT1038_37:CLIENT"
    # A change that keeps failing is retried a few times, then left to the admin's button.
    for _ in range(MAX_STAGE_RETRIES + 1):
        fail_it()
        reconcile(port, backend)
    fail_it()
    assert reconcile(port, backend).retried == ()
    assert [m.id for m in port.deliveries("failed")] == [message.id]
