"""An issued document's PDF and FA(3) XML reach its CRM item's timeline (one comment with
files), once per content: a status move posts nothing new, a changed document posts again,
and a draft posts nothing (against the emulator). The files follow the items: a delivery only
records them as owed, and the periodic task ``bitrix24.files`` posts them once no delivery is
due."""

from __future__ import annotations

import base64
from pathlib import Path

import attrs
import cabinet_bitrix.plugin
import cabinet_pdf.plugin
import pytest
from bitrix24_emulator import Emulator, VirtualClock
from cabinet_bitrix import BitrixBackend, BitrixSettings
from cabinet_bitrix.attachments import fingerprint, timeline_type
from cabinet_core import Cabinet, Settings
from cabinet_core.entities import OutboxMessage, PaymentStatus
from cabinet_core.ksef.validation import validate_fa3
from cabinet_core.sync import Topic
from emulated import emulated_client


@pytest.fixture
def cabinet(tmp_path: Path):
    # With the PDF renderer, as a real cabinet has it.
    settings = Settings(data_dir=tmp_path)
    plugins = [cabinet_bitrix.plugin, cabinet_pdf.plugin]
    with Cabinet(settings, load_entrypoints=False, plugins=plugins) as cab:
        cab.migrate()
        yield cab


@pytest.fixture
def document(document, cabinet):
    # The exempt line's legal basis, so the invoice can be written as FA(3).
    with cabinet.store.transaction() as tx:
        return tx.update_document(
            attrs.evolve(document, extra={"exemption_basis": "art. 43 ust. 1 pkt 29 ustawy o VAT"})
        )


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def emulator(clock):
    return Emulator(clock=clock)


def backend_for(emulator, clock, **settings):
    return BitrixBackend(
        BitrixSettings(webhook_url=emulator.webhook_url, **settings),
        client=emulated_client(emulator, clock),
    )


def message(document, topic="document.created", id_=1):
    return OutboxMessage(id=id_, topic=topic, entity="document", entity_id=document.id)


def comments(emulator):
    return [c for c in emulator.portal.timeline if c.get("FILES")]


def post_files(backend, port):
    """One pass of the worker's ``bitrix24.files`` task."""
    (task,) = [t for t in backend.periodic_tasks(port) if t.name == "bitrix24.files"]
    return task.run(port)


def test_an_issued_invoice_carries_its_pdf_and_fa3_on_the_items_timeline(
    cabinet, emulator, clock, document
):
    port = cabinet.sync_port("bitrix24")
    files = port.document_files(document.id)
    assert [f.media_type for f in files] == ["application/pdf", "application/xml"]
    backend = backend_for(emulator, clock)
    backend.deliver(port, message(document))
    (item,) = emulator.portal.items[7].values()
    assert comments(emulator) == []  # the item first; its files are owed
    assert port.states("files.owed.") == {f"files.owed.{document.id}": item["id"]}
    assert post_files(backend, port) == 1
    assert port.states("files.owed.") == {}
    (comment,) = comments(emulator)
    assert comment["ENTITY_TYPE"] == "quote" and comment["ENTITY_ID"] == item["id"]
    assert "FV/1/11/2026" in comment["COMMENT"]
    pdf, xml = comment["FILES"]
    assert pdf["name"].endswith(".pdf") and pdf["content"].startswith(b"%PDF")
    assert xml["name"].endswith(".xml")
    assert validate_fa3(xml["content"]) == []
    assert xml["content"] == files[1].content

    # Sent, then paid: the content is the same, so nothing is posted again.
    with cabinet.store.transaction() as tx:
        sent = tx.update_document(
            attrs.evolve(document, status="sent", payment_status=PaymentStatus.PAID)
        )
    assert fingerprint(sent) == fingerprint(document)
    backend.deliver(port, message(sent, "document.status_changed", 2))
    post_files(backend, port)
    assert len(comments(emulator)) == 1
    # What the document says changed: its files are posted again, in a batch delivery too.
    with cabinet.store.transaction() as tx:
        edited = tx.update_document(attrs.evolve(sent, notes="Termin przedłużony"))
    outcome = backend.deliver_many(port, [message(edited, "document.updated", 3)])
    assert outcome == {3: None}
    assert len(comments(emulator)) == 1
    post_files(backend, port)
    assert len(comments(emulator)) == 2


def test_a_smart_process_item_gets_its_files_and_a_draft_gets_none(
    cabinet, emulator, clock, document
):
    port = cabinet.sync_port("bitrix24")
    with cabinet.store.transaction() as tx:
        draft = tx.update_document(attrs.evolve(document, status="draft", number=None))
    backend = backend_for(emulator, clock, entity_types={"vat_invoice": 1038})
    backend.deliver(port, message(draft))
    assert port.states("files.owed.") == {}  # a draft owes nothing
    post_files(backend, port)
    assert comments(emulator) == [] and port.document_files(draft.id) == ()
    with cabinet.store.transaction() as tx:
        issued = tx.update_document(attrs.evolve(draft, status="issued", number="FV/2/11/2026"))
    backend.deliver(port, message(issued, "document.status_changed", 2))
    post_files(backend, port)
    (comment,) = comments(emulator)
    assert comment["ENTITY_TYPE"] == timeline_type(1038) == "dynamic_1038"
    assert base64.b64encode(comment["FILES"][0]["content"])  # real bytes went over the wire


def test_files_wait_behind_due_deliveries_and_outlive_the_worker(
    cabinet, emulator, clock, document
):
    port = cabinet.sync_port("bitrix24")
    backend_for(emulator, clock).deliver(port, message(document))
    # A delivery due for this backend: the items come first, the files wait.
    port.requeue(Topic.DOCUMENT_UPDATED, "document", document.id, reason="test")
    assert port.deliveries("pending")
    restarted = backend_for(emulator, clock)  # the list is durable: a new worker finds it
    assert post_files(restarted, port) == 0
    assert comments(emulator) == [] and port.states("files.owed.")
    (pending,) = port.deliveries("pending")
    assert restarted.deliver_many(port, [pending]) == {pending.id: None}
    cabinet.store.mark_delivered(pending.id, subscriber="bitrix24", now=port.now())
    assert post_files(restarted, port) == 1
    assert len(comments(emulator)) == 1 and port.states("files.owed.") == {}
