"""cabinet.attachments on both databases, and the content-addressed FileStore."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from cabinet_core.entities import Document, DocumentLine, Party
from cabinet_core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from cabinet_core.files import FileStore, safe_filename, sniff_content_type
from fixtures_services import World

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(32)


def cost_invoice(world: World) -> Document:
    return Document(
        client_id=world.client_id(world.client_a),
        doc_type="cost_invoice",
        issue_date=date(2026, 11, 20),
        seller=Party(name="Dostawca S.A.", nip="5260001246"),
        lines=(DocumentLine(name="Papier", unit_price=Decimal("10.00")),),
        extra={"seller_invoice_number": "S/77/2026"},
    )


def draft(world: World) -> Document:
    """A cost invoice in an editable state (submitted on save, so returned to the client)."""
    alice = world.actor(world.alice)
    stored = world.cabinet.documents.create(alice, cost_invoice(world))
    assert stored.id is not None
    if not world.cabinet.document_type("cost_invoice").workflow.state(stored.status).editable:
        stored = world.cabinet.documents.transition(
            world.actor(world.accountant), stored.id, "return", comment="Attach the scan"
        )
    return stored


def test_add_list_open_delete(world: World) -> None:
    alice = world.actor(world.alice)
    document = draft(world)
    assert document.id is not None
    added = world.cabinet.attachments.add(
        alice, document.id, filename="C:\\Users\\Alice\\skan faktury.PDF", data=PDF
    )
    assert added.id is not None
    assert (added.filename, added.content_type, added.size) == (
        "skan faktury.pdf",
        "application/pdf",
        len(PDF),
    )
    assert added.sha256 == hashlib.sha256(PDF).hexdigest()
    assert added.client_id == document.client_id and added.created_by == world.alice.id
    png = world.cabinet.attachments.add(alice, document.id, filename="photo.png", data=PNG)
    assert [a.id for a in world.cabinet.attachments.list(alice, document.id)] == [added.id, png.id]
    # The accountant reads what the client attached.
    accountant = world.actor(world.accountant)
    opened, data = world.cabinet.attachments.open(accountant, added.id)
    assert opened == added and data == PDF
    # The file lives under its digest, nowhere near the user's name for it.
    stored_path = FileStore(world.cabinet.settings.files_dir).path_of(added.sha256)
    assert stored_path.read_bytes() == PDF and "skan" not in str(stored_path)
    world.cabinet.attachments.delete(alice, added.id)
    assert [a.id for a in world.cabinet.attachments.list(alice, document.id)] == [png.id]
    with pytest.raises(NotFound):
        world.cabinet.attachments.open(alice, added.id)
    actions = [e.action for e in world.cabinet.audit.list(world.actor(world.admin))]
    assert actions.count("attachment.add") == 2 and actions.count("attachment.delete") == 1


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "required"),
        (b"MZ\x90\x00 an .exe renamed to .pdf", "type"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "type"),
        (b"%PD", "type"),
    ],
    ids=["empty", "exe", "svg", "truncated-pdf"],
)
def test_bad_files_are_field_errors_and_nothing_is_saved(
    world: World, data: bytes, code: str
) -> None:
    alice = world.actor(world.alice)
    document = draft(world)
    assert document.id is not None
    with pytest.raises(ValidationError) as caught:
        world.cabinet.attachments.add(alice, document.id, filename="invoice.pdf", data=data)
    assert [(e.field, e.code) for e in caught.value.errors] == [("file", code)]
    assert world.cabinet.attachments.list(alice, document.id) == []
    files_dir = world.cabinet.settings.files_dir
    assert not files_dir.exists() or not any(p.is_file() for p in files_dir.rglob("*"))


def test_size_limit_comes_from_the_settings(world: World) -> None:
    alice = world.actor(world.alice)
    document = draft(world)
    assert document.id is not None
    world.cabinet.settings = attrs.evolve(world.cabinet.settings, attachment_max_bytes=len(PDF))
    world.cabinet.attachments.add(alice, document.id, filename="ok.pdf", data=PDF)
    with pytest.raises(ValidationError) as caught:
        world.cabinet.attachments.add(alice, document.id, filename="big.pdf", data=PDF + b"x")
    assert [(e.field, e.code) for e in caught.value.errors] == [("file", "too_large")]


def test_only_while_the_document_is_editable(world: World) -> None:
    alice = world.actor(world.alice)
    document = draft(world)
    assert document.id is not None
    kept = world.cabinet.attachments.add(alice, document.id, filename="a.jpg", data=JPEG)
    assert kept.id is not None
    move = "submit" if document.status == "draft" else "resubmit"
    submitted = world.cabinet.documents.transition(alice, document.id, move)
    assert not world.cabinet.document_type("cost_invoice").workflow.state(submitted.status).editable
    with pytest.raises(Conflict):
        world.cabinet.attachments.add(alice, document.id, filename="b.png", data=PNG)
    with pytest.raises(Conflict):
        world.cabinet.attachments.delete(alice, kept.id)
    # Still readable once frozen.
    assert world.cabinet.attachments.open(alice, kept.id)[1] == JPEG


def test_other_clients_and_read_only_staff(world: World) -> None:
    document = draft(world)
    assert document.id is not None
    added = world.cabinet.attachments.add(
        world.actor(world.alice), document.id, filename="a.pdf", data=PDF
    )
    assert added.id is not None
    bob = world.actor(world.bob)
    with pytest.raises(NotFound):
        world.cabinet.attachments.list(bob, document.id)
    with pytest.raises(NotFound):
        world.cabinet.attachments.open(bob, added.id)
    with pytest.raises(NotFound):
        world.cabinet.attachments.add(bob, document.id, filename="x.pdf", data=PDF)
    with pytest.raises(NotFound):
        world.cabinet.attachments.open(world.actor(world.other_manager), added.id)
    with pytest.raises(PermissionDenied):
        world.cabinet.attachments.add(
            world.actor(world.accountant), document.id, filename="x.pdf", data=PDF
        )
    # The client's manager may attach for the client.
    world.cabinet.attachments.add(
        world.actor(world.manager), document.id, filename="from-manager.png", data=PNG
    )


def test_deleting_a_draft_deletes_its_attachment_rows(world: World) -> None:
    alice = world.actor(world.alice)
    invoice = world.cabinet.documents.create(
        alice,
        Document(
            client_id=world.client_id(world.client_a),
            doc_type="vat_invoice",
            issue_date=date(2026, 11, 20),
            buyer=Party(name="Kupiec sp. z o.o.", nip="5260001246"),
            lines=(DocumentLine(name="Usługa", unit_price=Decimal("100.00")),),
        ),
    )
    assert invoice.id is not None and invoice.status == "draft"
    added = world.cabinet.attachments.add(alice, invoice.id, filename="umowa.pdf", data=PDF)
    assert added.id is not None
    world.cabinet.documents.delete(alice, invoice.id)
    with world.cabinet.store.transaction(readonly=True) as tx:
        assert tx.get_attachment(added.id) is None
    # Content-addressed: the file may be shared with other attachments, so it stays.
    assert FileStore(world.cabinet.settings.files_dir).exists(added.sha256)


def test_the_same_content_is_stored_once(world: World) -> None:
    alice = world.actor(world.alice)
    document = draft(world)
    assert document.id is not None
    first = world.cabinet.attachments.add(alice, document.id, filename="a.pdf", data=PDF)
    second = world.cabinet.attachments.add(alice, document.id, filename="b.pdf", data=PDF)
    assert first.id != second.id and first.sha256 == second.sha256
    files = [p for p in world.cabinet.settings.files_dir.rglob("*") if p.is_file()]
    assert len(files) == 1


# -- the file store and names (no database) ----------------------------------------------------


def test_file_store_round_trip_and_corruption(tmp_path: Path) -> None:
    files = FileStore(tmp_path / "files")
    digest = files.put(PNG)
    assert files.get(digest) == PNG and files.put(PNG) == digest
    assert not [p for p in (tmp_path / "files").rglob(".upload-*")]
    files.path_of(digest).write_bytes(PNG + b"tampered")
    with pytest.raises(OSError, match="corrupt"):
        files.get(digest)
    with pytest.raises(FileNotFoundError):
        files.get("0" * 64)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABC", "0" * 63, "g" * 64, "0" * 64 + "/"])
def test_file_store_refuses_anything_but_a_digest(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        FileStore(tmp_path).path_of(bad)


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("faktura.pdf", "application/pdf", "faktura.pdf"),
        ("../../etc/passwd", "application/pdf", "passwd.pdf"),
        ('a"b\r\nContent-Type: x.pdf', "application/pdf", "ab Content-Type x.pdf"),
        ("Żółć łódź.JPEG", "image/jpeg", "Żółć łódź.jpg"),
        ("scan.jpeg", "image/png", "scan.png"),
        ("invoice.exe", "application/pdf", "invoice.exe.pdf"),
        ("", "image/png", "attachment.png"),
        ("...", "application/pdf", "attachment.pdf"),
        ("x" * 500 + ".pdf", "application/pdf", "x" * 196 + ".pdf"),
    ],
)
def test_safe_filename(name: str, content_type: str, expected: str) -> None:
    assert safe_filename(name, content_type) == expected


def test_sniffing_reads_the_content() -> None:
    assert sniff_content_type(PDF) == "application/pdf"
    assert sniff_content_type(JPEG) == "image/jpeg"
    assert sniff_content_type(PNG) == "image/png"
    assert sniff_content_type(b"GIF89a") is None
