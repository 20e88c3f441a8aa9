"""Reconciliation: stage changes whose events were lost still reach the cabinet, and every
document converges on its CRM item: missing items, rows the portal never confirmed, stale
stages, another Responsible or company are pushed again, documents whose messages were still
queued are compared again later, and a pass costs far less than a request per 50 documents."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from backlog import SPA, BacklogRig, assert_in_crm_exactly_once
from bitrix24_emulator import Emulator, VirtualClock
from cabinet_bitrix import BitrixBackend, BitrixSettings
from cabinet_bitrix.client import BitrixError, RetryPolicy
from cabinet_bitrix.convergence import (
    MAX_REPAIRS,
    REPAIRED_PREFIX,
    SYNCED_PREFIX,
    converge,
    document_states,
)
from cabinet_bitrix.convergence import STATE_KEY as CONVERGENCE_KEY
from cabinet_bitrix.reconcile import reconcile, reconcile_if_due
from cabinet_core.crm import DeliveryError
from cabinet_core.entities import (
    Document,
    DocumentLine,
    OutboxMessage,
    PaymentStatus,
    Role,
    User,
)
from cabinet_core.storage import outbox as outbox_table
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
    settings = BitrixSettings(webhook_url=emulator.webhook_url, entity_types={"vat_invoice": SPA})
    return BitrixBackend(settings, client=client)


@pytest.fixture
def port(cabinet):
    return cabinet.sync_port("bitrix24")


def created(document):
    return OutboxMessage(id=1, topic="document.created", entity="document", entity_id=document.id)


def stored(cabinet, document):
    with cabinet.store.transaction(readonly=True) as tx:
        return tx.get_document(document.id)


def copies(cabinet, document, count):
    with cabinet.store.transaction() as tx:
        return [
            tx.add_document(attrs.evolve(document, id=None, number=f"FV/{n}/2026"))
            for n in range(2, count + 2)
        ]


def queued(cabinet, document_id):
    with cabinet.store.transaction(readonly=True) as tx:
        return tx.outbox_for("document", document_id)


def item_of(emulator, document):
    (item,) = [
        i
        for i in emulator.portal.items[SPA].values()
        if i.get("xmlId") == f"cabinet-document-{document.id}"
    ]
    return item


def deliver_queued(cabinet, backend):
    """Deliver what reconciliation queued, in one batch, and mark it done (as the worker
    does)."""
    port = cabinet.sync_port("bitrix24")
    pending = list(port.deliveries("pending", limit=1000))
    outcome = backend.deliver_many(port, pending)
    assert all(result is None for result in outcome.values()), outcome
    cabinet.store.mark_delivered_many(
        [m.id for m in pending], subscriber="bitrix24", now=port.now()
    )


# -- staff changes coming back -------------------------------------------------------------


def test_a_stage_moved_while_events_were_lost_arrives_by_reconciliation(
    cabinet, emulator, clock, backend, document
):
    backend.deliver(cabinet.sync_port("bitrix24"), created(document))
    first = reconcile(cabinet.sync_port("bitrix24"), backend)
    assert first.since is None and first.items_checked == 1 and first.applied == ()
    (item,) = emulator.portal.items[SPA].values()
    clock.advance(600)
    emulator.act(
        "crm.item.update",
        {"entityTypeId": SPA, "id": item["id"], "fields": {"stageId": "DT1038_37:CLIENT"}},
    )
    assert stored(cabinet, document).status == "issued"
    report = reconcile(cabinet.sync_port("bitrix24"), backend)
    assert report.applied == (f"status: document {document.id} issued → sent",)
    assert stored(cabinet, document).status == "sent"
    # The staff change is the cabinet's now: convergence finds nothing to push back.
    assert report.requeued == () and report.convergence.in_sync == 1
    assert report.since is not None and report.since < report.until
    clock.advance(600)
    again = reconcile(cabinet.sync_port("bitrix24"), backend)
    assert (again.items_checked, again.applied) == (1, ())
    clock.advance(600)
    quiet = reconcile(cabinet.sync_port("bitrix24"), backend)
    assert (quiet.items_checked, quiet.applied) == (0, ())


def test_only_items_changed_since_the_window_start_are_read(
    cabinet, emulator, clock, backend, document
):
    others = copies(cabinet, document, 3)
    backend.push_documents(cabinet.sync_port("bitrix24"), [document, *others])
    clock.advance(3600)
    middle = datetime.fromtimestamp(clock.now(), UTC)
    clock.advance(3600)
    items = sorted(emulator.portal.items[SPA].values(), key=lambda i: i["id"])
    emulator.act(
        "crm.item.update",
        {"entityTypeId": SPA, "id": items[2]["id"], "fields": {"stageId": "DT1038_37:FAIL"}},
    )
    report = reconcile(cabinet.sync_port("bitrix24"), backend, since=middle)
    assert report.items_checked == 1
    assert stored(cabinet, others[1]).status == "cancelled"


def test_the_worker_runs_it_on_a_schedule_and_after_a_failure(cabinet, emulator, backend, document):
    port = cabinet.sync_port("bitrix24")
    tasks = {task.name: task for task in backend.periodic_tasks(port)}
    assert set(tasks) == {
        "bitrix24.reconcile",
        "bitrix24.repair",
        "bitrix24.files",
        "bitrix24.news",
        "bitrix24.chat",
    }
    task = tasks["bitrix24.reconcile"]
    assert task.interval_seconds == 300
    backend.deliver(port, created(document))
    task.run(port)
    with cabinet.store.transaction(readonly=True) as tx:
        assert tx.get_setting("bitrix24.reconcile")["last_run"]
    # The repair task runs a pass only after a failed delivery, once nothing is due.
    assert reconcile_if_due(port, backend) is None
    (other,) = copies(cabinet, document, 1)
    emulator.inject("down")
    with pytest.raises(DeliveryError):
        backend.deliver(port, created(other))
    emulator.clear_faults()
    assert port.state("convergence_due")
    report = reconcile_if_due(port, backend)
    assert report is not None and report.requeued == (other.id,)
    assert port.state("convergence_due") is None
    # Now a delivery is due (the re-queued one): the next check waits for it.
    port.set_state("convergence_due", port.now().isoformat())
    assert reconcile_if_due(port, backend) is None
    # Waiting for a later retry, with nothing delivered since the failure: the portal may
    # still be down, so no pass yet.
    (waiting,) = port.deliveries("pending")
    cabinet.store.mark_retry(
        waiting.id,
        subscriber="bitrix24",
        error="down",
        next_attempt_at=port.now() + timedelta(hours=1),
    )
    assert reconcile_if_due(port, backend) is None
    # Nothing left waiting and the portal still down: the pass fails, and the next one is
    # not tried at once.
    cabinet.store.mark_delivered_many([waiting.id], subscriber="bitrix24", now=port.now())
    port.set_state("convergence_due", port.now().isoformat())
    emulator.inject("down")
    with pytest.raises(BitrixError):
        reconcile_if_due(port, backend)
    emulator.clear_faults()
    assert reconcile_if_due(port, backend) is None
    assert port.state("convergence_retry")["tries"] == 1


# -- convergence -----------------------------------------------------------------------------


def test_documents_whose_push_never_arrived_are_pushed_and_waiting_ones_checked_later(
    cabinet, emulator, backend, document, port
):
    lost, waiting = copies(cabinet, document, 2)
    with cabinet.store.transaction() as tx:
        message = tx.add_outbox(
            OutboxMessage(topic="document.created", entity="document", entity_id=waiting.id),
            subscribers=(backend.name,),
        )
    backend.deliver(port, created(document))
    report = reconcile(port, backend)
    passed = report.convergence
    # The pushed one is there, the waiting one is still with the worker: only the lost one.
    assert passed.checked == 3 and passed.in_sync == 1
    assert passed.repaired == {lost.id: ("unconfirmed",)}
    assert passed.waiting == (waiting.id,)
    (again,) = queued(cabinet, lost.id)
    with cabinet.store.transaction(readonly=True) as tx:
        (entry,) = tx.list_audit(entity="document", entity_id=lost.id)
    # Queued through the port: the document as stored now, and an audit entry saying why.
    assert again.topic == "document.updated"
    payload = decode_payload(again)
    assert isinstance(payload, Document) and payload.id == lost.id
    assert entry.action == "sync.requeue" and entry.detail["reason"] == "reconcile: unconfirmed"
    # The waiting document is remembered, not passed over for good.
    assert port.state(CONVERGENCE_KEY)["waiting"] == [waiting.id]
    assert document_states(port, [document.id, lost.id, waiting.id]) == {
        document.id: "in_sync",
        lost.id: "waiting",
        waiting.id: "waiting",
    }
    # Its message fails for good (an outage longer than the attempts): the next pass, which
    # looks at it first, pushes it again; so it is with the lost one.
    with cabinet.store.transaction() as tx:
        outbox_table.update_one(tx.connection, "bitrix24", message.id, failed_at=port.now())
    deliver_queued(cabinet, backend)
    second = converge(port, backend, budget=1)
    assert second.repaired == {waiting.id: ("unconfirmed",)}
    deliver_queued(cabinet, backend)
    assert len(emulator.portal.items[SPA]) == 3
    final = converge(port, backend)
    assert final.repaired == {} and final.in_sync == 3
    assert document_states(port, [document.id, lost.id, waiting.id]) == {
        document.id: "in_sync",
        lost.id: "repaired",
        waiting.id: "repaired",
    }


def test_missing_items_rows_stale_stage_responsible_and_links_are_repaired(
    cabinet, emulator, backend, document, port
):
    with cabinet.store.transaction() as tx:
        manager = tx.add_user(User(email="ewa@firm.example", name="Ewa", role=Role.MANAGER))
        owner = tx.get_client(document.client_id)
        tx.update_client(attrs.evolve(owner, manager_id=manager.id))
    # Ewa is user 2 on the portal (mapped by an admin).
    port.set_state("people", {str(manager.id): 2})
    gone, rows, stage, person, link = copies(cabinet, document, 5)
    backend.push_documents(port, [document, gone, rows, stage, person, link])
    assert converge(port, backend).in_sync == 6
    items = {d.id: item_of(emulator, d) for d in (gone, rows, stage, person, link)}
    assert {i["assignedById"] for i in items.values()} == {2}
    # The portal loses an item; an edit's rows never arrived; a status change never
    # arrived; somebody gives an item to another Responsible and unties another's company.
    emulator.act("crm.item.delete", {"entityTypeId": SPA, "id": items[gone.id]["id"]})
    with cabinet.store.transaction() as tx:
        tx.update_document(
            attrs.evolve(
                stored(cabinet, rows),
                lines=(DocumentLine(name="Nowa pozycja", unit_price=Decimal("77")),),
            )
        )
        tx.update_document(attrs.evolve(stored(cabinet, stage), status="sent"))
    items[person.id]["assignedById"] = 1
    # The item's tag of the client's company (the document's buyer is typed in, no contact).
    items[link.id]["mycompanyId"] = 0
    report = converge(port, backend)
    assert report.repaired == {
        gone.id: ("missing",),
        rows.id: ("content",),
        stage.id: ("stage",),
        person.id: ("responsible",),
        link.id: ("links",),
    }
    assert report.in_sync == 1
    deliver_queued(cabinet, backend)
    # Every difference is gone, nothing was created twice.
    origins = Counter(i.get("xmlId") for i in emulator.portal.items[SPA].values())
    assert set(origins.values()) == {1} and len(origins) == 6
    assert [
        r["productName"] for r in emulator.portal.rows[("T40e", item_of(emulator, rows)["id"])]
    ] == ["Nowa pozycja"]
    assert item_of(emulator, stage)["stageId"] == "DT1038_37:CLIENT"
    assert item_of(emulator, person)["assignedById"] == 2
    assert int(item_of(emulator, link)["mycompanyId"]) > 0
    assert len(emulator.portal.rows[("T40e", item_of(emulator, gone)["id"])]) == 3
    # The stage move was done once: the repair's flag is cleared.
    assert port.state(f"{REPAIRED_PREFIX}{stage.id}")["move"] is False
    after = converge(port, backend)
    assert after.repaired == {} and after.in_sync == 6


def test_rows_deleted_or_changed_behind_the_cabinets_back_are_read_back_and_repaired(
    cabinet, emulator, backend, document, port
):
    deleted, changed, extra = copies(cabinet, document, 3)
    backend.push_documents(port, [document, deleted, changed, extra])
    first = converge(port, backend)
    assert first.in_sync == 4 and first.rows_checked == 4
    # Staff delete a row of one item, change a price and a quantity on another, and add a
    # row to a third, straight in Bitrix24: nothing in the cabinet changed.
    rows_of_item = {
        d.id: emulator.portal.rows[("T40e", item_of(emulator, d)["id"])]
        for d in (deleted, changed, extra)
    }
    rows_of_item[deleted.id].pop()
    rows_of_item[changed.id][0]["price"] = 1.0
    rows_of_item[changed.id][1]["quantity"] = 7
    rows_of_item[extra.id].append({**rows_of_item[extra.id][0], "id": 999_999, "sort": 990})
    report = converge(port, backend)
    assert report.repaired == {
        deleted.id: ("rows",),
        changed.id: ("rows",),
        extra.id: ("rows",),
    }
    assert report.in_sync == 1
    deliver_queued(cabinet, backend)
    for doc in (deleted, changed, extra):
        rows = emulator.portal.rows[("T40e", item_of(emulator, doc)["id"])]
        assert [(r["productName"], r["quantity"]) for r in rows] == [
            (line.name, float(line.quantity)) for line in stored(cabinet, doc).lines
        ]
    after = converge(port, backend)
    assert after.repaired == {} and after.in_sync == 4 and after.rows_checked == 4


def test_a_paid_document_belongs_on_the_paid_stage_and_staffs_own_stages_are_kept(
    cabinet, emulator, backend, document, port
):
    other = copies(cabinet, document, 1)[0]
    backend.push_documents(port, [document, other])
    with cabinet.store.transaction() as tx:
        tx.update_document(
            attrs.evolve(stored(cabinet, document), payment_status=PaymentStatus.PAID)
        )
    # A stage the mapping does not name is staff's business.
    item_of(emulator, other)["stageId"] = "DT1038_37:UC_CUSTOM"
    report = converge(port, backend)
    assert report.repaired == {document.id: ("stage",)}
    deliver_queued(cabinet, backend)
    assert item_of(emulator, document)["stageId"] == "DT1038_37:SUCCESS"
    assert item_of(emulator, other)["stageId"] == "DT1038_37:UC_CUSTOM"


def test_a_difference_that_cannot_be_repaired_is_left_failed(
    cabinet, emulator, backend, document, port
):
    backend.push_documents(port, [document])
    for n in range(MAX_REPAIRS):
        # Each push is confirmed, yet the portal keeps the old Responsible (a rule there).
        item_of(emulator, document)["assignedById"] = 1
        port.set_state(
            f"{SYNCED_PREFIX}{document.id}",
            {**port.state(f"{SYNCED_PREFIX}{document.id}"), "assigned": 2},
        )
        assert converge(port, backend).repaired == {document.id: ("responsible",)}, n
        deliver_queued(cabinet, backend)
        port.set_state(
            f"{SYNCED_PREFIX}{document.id}",
            {**port.state(f"{SYNCED_PREFIX}{document.id}"), "assigned": 2},
        )
    report = converge(port, backend)
    assert report.failed == (document.id,) and report.repaired == {}
    assert document_states(port, [document.id]) == {document.id: "failed"}
    assert port.deliveries("pending") == []


def test_a_stage_change_that_failed_for_good_is_delivered_again(
    cabinet, emulator, backend, document, port
):
    from cabinet_core.sync import DocumentStatusChange, Topic, encode_payload

    backend.deliver(port, created(document))
    item = item_of(emulator, document)
    assert item["stageId"] == "DT1038_37:PREPARATION"
    # The invoice is sent; its stage change never reached Bitrix24 (the portal was down for
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
        outbox_table.update_one(
            tx.connection, "bitrix24", message.id, failed_at=cabinet.store.clock()
        )
    assert document_states(port, [document.id]) == {document.id: "in_sync"}
    report = reconcile(port, backend)
    assert report.requeued == (document.id,)
    # The failed delivery itself goes again (a stage change moves the item).
    (pending,) = port.deliveries("pending")
    assert pending.id == message.id
    backend.deliver(port, pending)
    assert item_of(emulator, document)["stageId"] == "DT1038_37:CLIENT"


def test_a_pass_is_bounded_and_the_walk_wraps(cabinet, backend, document, port):
    documents = [document, *copies(cabinet, document, 4)]
    backend.push_documents(port, documents)
    ids = [d.id for d in documents]
    first = converge(port, backend, budget=2)
    assert (first.checked, first.scan_after, first.wrapped) == (2, ids[1], False)
    second = converge(port, backend, budget=2)
    assert (second.checked, second.scan_after) == (2, ids[3])
    # The last document, then round to the first; never one twice in a pass.
    third = converge(port, backend, budget=2)
    assert third.wrapped and third.checked == 2 and third.scan_after == ids[0]
    whole = converge(port, backend, budget=100)
    assert whole.checked == 5 and whole.in_sync == 5


def test_a_pass_costs_far_less_than_a_request_per_50_documents(
    cabinet, emulator, clock, backend, document, port
):
    documents = [document, *copies(cabinet, document, 499)]
    for n in range(0, len(documents), 50):
        backend.push_documents(port, documents[n : n + 50])
    before = len(emulator.requests)
    report = converge(port, backend)
    assert report.checked == 500 and report.in_sync == 500
    sent = len(emulator.requests) - before
    assert sent == report.requests <= 500 // 50
    # 10 reads of 50 ids fit one batch request; the rest of the allowance (one request per
    # 50 documents) reads back the rows of 450 documents, one command each.
    assert sent == 10
    assert report.rows_checked == 450
    # The whole pass after such a backlog (every item changed since the last one): per
    # entity type (the default quotes, whose origin field is created once, and the smart
    # process) the changed items' first page and their other pages in one batch, then the
    # comparison.
    before = len(emulator.requests)
    whole = reconcile(port, backend)
    assert whole.items_checked == 500 and whole.convergence.in_sync == 500
    methods = [method for method, _ in emulator.requests[before:]]
    assert methods == [
        # The quotes' origin field: looked for by its xmlId, then by the documented name, made.
        "userfieldconfig.list",
        "userfieldconfig.list",
        "userfieldconfig.add",
        "crm.item.list",
        "crm.item.list",
        "batch",
        # The comparison: the items, then as many rows as the allowance has left.
        "batch",
        "batch",
        "batch",
        "batch",
    ]
    assert len(methods) <= 500 // 50
    assert whole.convergence.rows_checked == 150
    # The next pass reads again what changed in the margin before this one (all of it: the
    # backlog was pushed within two minutes); the one after finds nothing changed.
    clock.advance(3600)
    reconcile(port, backend)
    clock.advance(3600)
    before = len(emulator.requests)
    quiet = reconcile(port, backend)
    assert quiet.items_checked == 0 and quiet.convergence.in_sync == 500
    assert len(emulator.requests) - before == 500 // 50
    assert quiet.convergence.rows_checked == 350


# -- the whole path: a pass while everything is queued, then an outage -------------------------


def test_a_pass_during_queued_pushes_then_an_outage_still_brings_every_document(
    tmp_path: Path,
):
    with BacklogRig(
        tmp_path,
        documents=100,
        rows=1,
        backend_name="bitrix24",
        with_plugin=False,
        retry=RetryPolicy(attempts=2, max_wait=60),
        worker_max_attempts=3,
        seed=1,
    ) as rig:
        cabinet, clock, emulator, worker = rig.cabinet, rig.clock, rig.emulator, rig.worker
        ids = rig.document_ids
        (backend,) = cabinet.crm_backends()
        port = cabinet.sync_port("bitrix24")
        # A pass while all 100 wait for the worker: nothing to compare yet, all remembered.
        report = reconcile(port, backend)
        assert len(report.convergence.waiting) == 100 and report.requeued == ()
        emulator.inject("down")
        for _ in range(20):
            worker.run_once()
            clock.advance(3600)
        assert len(cabinet.store.list_outbox(status="failed", limit=1000)) == 100
        assert emulator.portal.items.get(SPA, {}) == {}
        emulator.clear_faults()
        # The pass after the outage compares the waiting documents first: every one again.
        report = reconcile(port, backend)
        assert sorted(report.requeued) == ids
        for _ in range(10):
            if not worker.run_once():
                break
        assert_in_crm_exactly_once(emulator, ids, rows=1)
        assert reconcile(port, backend).convergence.in_sync == 100
