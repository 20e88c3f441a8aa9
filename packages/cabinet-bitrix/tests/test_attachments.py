"""An issued document's PDF and FA(3) XML reach its CRM item's timeline (one comment with
files), once per content: a status move posts nothing new, a changed document posts again,
and a draft posts nothing (against the emulator)."""

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


def test_an_issued_invoice_carries_its_pdf_and_fa3_on_the_items_timeline(
    cabinet, emulator, clock, document
):
    port = cabinet.sync_port("bitrix24")
    files = port.document_files(document.id)
    assert [f.media_type for f in files] == ["application/pdf", "application/xml"]
    backend = backend_for(emulator, clock)
    backend.deliver(port, message(document))
    (item,) = emulator.portal.items[7].values()
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
    assert len(comments(emulator)) == 1
    # What the document says changed: its files are posted again, in a batch delivery too.
    with cabinet.store.transaction() as tx:
        edited = tx.update_document(attrs.evolve(sent, notes="Termin przedłużony"))
    outcome = backend.deliver_many(port, [message(edited, "document.updated", 3)])
    assert outcome == {3: None}
    assert len(comments(emulator)) == 2


def test_a_smart_process_item_gets_its_files_and_a_draft_gets_none(
    cabinet, emulator, clock, document
):
    port = cabinet.sync_port("bitrix24")
    with cabinet.store.transaction() as tx:
        draft = tx.update_document(attrs.evolve(document, status="draft", number=None))
    backend = backend_for(emulator, clock, entity_types={"vat_invoice": 1038})
    backend.deliver(port, message(draft))
    assert comments(emulator) == [] and port.document_files(draft.id) == ()
    with cabinet.store.transaction() as tx:
        issued = tx.update_document(attrs.evolve(draft, status="issued", number="FV/2/11/2026"))
    backend.deliver(port, message(issued, "document.status_changed", 2))
    (comment,) = comments(emulator)
    assert comment["ENTITY_TYPE"] == timeline_type(1038) == "dynamic_1038"
    assert base64.b64encode(comment["FILES"][0]["content"])  # real bytes went over the wire
