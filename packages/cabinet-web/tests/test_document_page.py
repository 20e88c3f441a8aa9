"""One document's page and the list: attachments, the accountant's approval path, downloads,
filters and paging, and what another client may not see."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import (
    Actor,
    Counterparty,
    Document,
    DocumentLine,
    Party,
    PaymentMethod,
)
from starlette.testclient import TestClient
from web_support import World, csrf_of, login, pdf_cabinet


def png_bytes() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    """The document page runs on SQLite and on PostgreSQL."""
    return database_urls


@pytest.fixture
def cabinet(tmp_path: Path, database_url: str | None) -> Iterator[Cabinet]:
    """The test cabinet, with PDFs."""
    yield from pdf_cabinet(tmp_path, database_url)


def cost_invoice(cabinet: Cabinet, world: World, **changes: Any) -> Document:
    assert world.client.id is not None
    document = Document(
        client_id=world.client.id,
        doc_type="cost_invoice",
        issue_date=date(2026, 11, 16),
        receipt_date=date(2026, 11, 17),
        seller=Party(name="Dostawca sp. z o.o.", nip="9510000239"),
        lines=(DocumentLine(name="Papier", unit_price=Decimal("100.00")),),
        extra={"seller_invoice_number": "FV/77/2026"},
    )
    document = attrs.evolve(document, **changes)
    return cabinet.documents.create(Actor.of(world.client_user), document)


def test_upload_a_png_and_refuse_a_text_file_named_pdf(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    document = cost_invoice(cabinet, world)
    page = f"/documents/{document.id}"
    token = csrf_of(client_web, page)
    uploaded = client_web.post(
        f"{page}/attachments",
        data={"csrf_token": token},
        files={"file": ("skan faktury.png", png_bytes(), "image/png")},
    )
    assert uploaded.status_code == 200
    assert uploaded.url.path == page
    [attachment] = cabinet.attachments.list(Actor.of(world.client_user), document.id)
    assert attachment.content_type == "image/png"
    url = f"{page}/attachments/{attachment.id}"
    assert f'<img src="{url}"' in uploaded.text
    content = client_web.get(url)
    assert content.status_code == 200
    assert content.content == png_bytes()
    assert content.headers["content-type"] == "image/png"
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["content-disposition"].startswith("inline;")
    assert "skan" in content.headers["content-disposition"]
    assert "default-src 'none'" in content.headers["content-security-policy"]
    download = client_web.get(url + "?download=1")
    assert download.headers["content-disposition"].startswith("attachment;")
    # A text file calling itself a PDF: a field error at the upload, nothing stored.
    fake = client_web.post(
        f"{page}/attachments",
        data={"csrf_token": token},
        files={"file": ("faktura.pdf", b"just some text, not a PDF", "application/pdf")},
    )
    assert fake.status_code == 422
    assert 'data-error-for="file"' in fake.text
    assert len(cabinet.attachments.list(Actor.of(world.client_user), document.id)) == 1
    removed = client_web.post(f"{url}/delete", data={"csrf_token": token})
    assert removed.url.path == page
    assert cabinet.attachments.list(Actor.of(world.client_user), document.id) == []


def test_a_pdf_attachment_is_shown_in_an_object(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    document = cost_invoice(cabinet, world)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    cabinet.attachments.add(Actor.of(world.client_user), document.id, filename="a.pdf", data=pdf)
    page = client_web.get(f"/documents/{document.id}").text
    assert re.search(r'<object data="/documents/\d+/attachments/\d+" type="application/pdf"', page)


def test_accountant_returns_with_a_comment_and_the_client_fixes_and_resubmits(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    document = cost_invoice(cabinet, world)
    page = f"/documents/{document.id}"
    login(web, world.client_user.email)
    token = csrf_of(web, page)
    submitted = web.post(f"{page}/transitions/submit", data={"csrf_token": token})
    assert 'data-status="submitted"' in submitted.text
    assert "Przekazana" in submitted.text
    web.post("/logout", data={"csrf_token": token})

    login(web, world.accountant.email)
    home = web.get("/").text
    assert 'href="/documents?doc_type=cost_invoice&amp;status=submitted"' in home
    queue = web.get("/documents?doc_type=cost_invoice&status=submitted")
    assert f'data-id="{document.id}"' in queue.text
    token = csrf_of(web, page)
    assert 'data-test="transition-approve"' in web.get(page).text
    no_reason = web.post(f"{page}/transitions/return", data={"csrf_token": token, "comment": " "})
    assert no_reason.status_code == 422
    assert 'data-error-for="comment"' in no_reason.text
    returned = web.post(
        f"{page}/transitions/return",
        data={"csrf_token": token, "comment": "Brak NIP sprzedawcy na skanie"},
    )
    assert 'data-status="returned"' in returned.text
    web.post("/logout", data={"csrf_token": token})

    login(web, world.client_user.email)
    seen = web.get(page).text
    assert "Zwrócona" in seen
    assert 'data-test="return-comment"' in seen
    assert "Brak NIP sprzedawcy na skanie" in seen
    assert "Kasia" in seen  # the history says who returned it
    edit = web.get(f"{page}/edit")
    assert 'data-test="save-submit"' in edit.text
    version = re.search(r'name="version" value="(\d+)"', edit.text)
    assert version
    form = {
        "csrf_token": csrf_of(web, f"{page}/edit"),
        "doc_type": "cost_invoice",
        "version": version.group(1),
        "issue_date": "2026-11-16",
        "receipt_date": "2026-11-17",
        "currency": "PLN",
        "language": "pl",
        "payment_method": "6",
        "counterparty_id": "",
        "party.name": "Dostawca sp. z o.o.",
        "party.nip": "9510000239",
        "extra.seller_invoice_number": "FV/77/2026",
        "lines.0.name": "Papier A4",
        "lines.0.quantity": "2",
        "lines.0.unit": "ryza",
        "lines.0.unit_price": "100",
        "lines.0.vat_rate": "23",
        "action": "submit",
    }
    resubmitted = web.post(f"{page}/edit", data=form)
    assert resubmitted.url.path == page
    assert 'data-status="submitted"' in resubmitted.text
    stored = cabinet.documents.get(Actor.system(), document.id)
    assert stored.status == "submitted"
    assert stored.lines[0].name == "Papier A4"
    assert stored.totals is not None and stored.totals.gross == Decimal("246.00")


def test_pdf_and_fa3_downloads(cabinet: Cabinet, client_web: TestClient, world: World) -> None:
    assert world.client.id is not None
    actor = Actor.of(world.client_user)
    invoice = cabinet.documents.create(
        actor,
        Document(
            client_id=world.client.id,
            doc_type="vat_invoice",
            issue_date=date(2026, 11, 20),
            sale_date=date(2026, 11, 20),
            buyer=Party(name="Gamma S.A.", nip="9510000239"),
            lines=(DocumentLine(name="Usługa", unit_price=Decimal("1000")),),
        ),
    )
    page = f"/documents/{invoice.id}"
    draft = client_web.get(page).text
    assert 'data-test="download-pdf"' in draft
    assert 'data-test="download-xml"' not in draft  # no number yet, so no FA(3)
    cabinet.documents.transition(actor, invoice.id, "issue")
    issued = client_web.get(page).text
    assert 'data-test="download-xml"' in issued
    pdf = client_web.get(f"{page}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-disposition"].startswith("attachment;")
    xml = client_web.get(f"{page}/xml")
    assert xml.status_code == 200
    assert xml.headers["content-type"].startswith("application/xml")
    assert b"<Faktura" in xml.content and b"Gamma S.A." in xml.content
    cost = cost_invoice(cabinet, world)
    assert client_web.get(f"/documents/{cost.id}/xml").status_code == 404


def test_list_search_filters_and_paging(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    assert world.client.id is not None
    actor = Actor.of(world.client_user)
    other = cabinet.counterparties.create(
        actor, Counterparty(client_id=world.client.id, name="Hurtownia Omega", nip="7790000126")
    )
    for day in range(1, 28):
        cost_invoice(cabinet, world, issue_date=date(2026, 10, day), receipt_date=None)
    coffee = cost_invoice(
        cabinet,
        world,
        counterparty_id=other.id,
        seller=None,
        payment_method=PaymentMethod.CASH,
        currency="EUR",
        lines=(DocumentLine(name="Kawa", unit_price=Decimal("12.34")),),
    )
    first = client_web.get("/documents")
    assert first.text.count('data-test="document-row"') == 25
    assert 'data-test="new-cost_invoice"' in first.text
    assert 'href="/documents/import" data-test="import-fa3"' in first.text
    next_url = re.search(r'href="(/documents\?offset=25)"', first.text)
    assert next_url
    second = client_web.get(next_url.group(1))
    assert second.text.count('data-test="document-row"') == 3
    cash = client_web.get("/documents?payment_method=1")
    assert cash.text.count('data-test="document-row"') == 1
    assert ">Nieopłacona<" in cash.text or ">Unpaid<" in cash.text  # the payment column
    assert "Hurtownia Omega" in cash.text
    by_party = client_web.get(f"/documents?counterparty_id={other.id}")
    assert by_party.text.count('data-test="document-row"') == 1
    by_amount = client_web.get("/documents?search=15,18")  # 12.34 + 23 % VAT
    assert by_amount.text.count('data-test="document-row"') == 1
    eur = client_web.get("/documents?currency=EUR&date_from=2026-11-01")
    assert eur.text.count('data-test="document-row"') == 1
    bad = client_web.get("/documents?payment_method=99")
    assert bad.status_code == 422
    assert client_web.get("/documents?order=sideways").status_code == 422
    largest = client_web.get("/documents?order=-gross").text
    smallest = client_web.get("/documents?order=gross").text
    first_row = re.compile(r'data-test="document-row" data-id="(\d+)"')
    assert first_row.findall(smallest)[0] == str(coffee.id)  # 15.18 EUR, the smallest gross
    assert first_row.findall(largest)[0] != str(coffee.id)
    assert 'href="/documents?order=gross&amp;offset=25"' in smallest


def test_another_clients_document_and_files_are_not_found(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    document = cost_invoice(cabinet, world)
    attachment = cabinet.attachments.add(
        Actor.of(world.client_user), document.id, filename="x.png", data=png_bytes()
    )
    login(web, world.other_user.email)
    page = f"/documents/{document.id}"
    token = csrf_of(web, "/documents")
    assert web.get(page).status_code == 404
    assert web.get(f"{page}/pdf").status_code == 404
    assert web.get(f"{page}/attachments/{attachment.id}").status_code == 404
    upload = web.post(
        f"{page}/attachments",
        data={"csrf_token": token},
        files={"file": ("y.png", png_bytes(), "image/png")},
    )
    assert upload.status_code == 404
    moved = web.post(f"{page}/transitions/submit", data={"csrf_token": token})
    assert moved.status_code == 404
    assert 'data-test="document-row"' not in web.get("/documents").text
    assert cabinet.documents.get(Actor.system(), document.id).status == "draft"


def test_history_names_crm_changes_without_mistaking_them_for_states(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    document = cost_invoice(cabinet, world)
    cabinet.documents.transition(Actor.of(world.client_user), document.id, "submit")
    cabinet.documents.apply_crm_status(document.id, "approved", comment="OK z CRM")
    cabinet.documents.apply_crm_payment(document.id, "paid")
    page = client_web.get(f"/documents/{document.id}").text
    rows = re.findall(r'data-test="history-row" data-action="([\w.]+)"', page)
    assert rows == [
        "document.create",
        "document.transition",
        "document.crm_status",
        "document.crm_payment",
    ]
    crm_row = page[page.index('data-action="document.crm_status"') :]
    assert "→ Zatwierdzona" in crm_row.split("</tr>")[0]
    assert "OK z CRM" in crm_row.split("</tr>")[0]
    payment_row = page[page.index('data-action="document.crm_payment"') :].split("</tr>")[0]
    assert "→" not in payment_row  # "paid" here is a payment status, not a workflow state
