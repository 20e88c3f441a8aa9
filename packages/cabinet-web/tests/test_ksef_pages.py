"""KSeF on the web, on SQLite and PostgreSQL: the document page's KSeF panel (not sent, waiting,
accepted with its number, QR code and UPO, rejected with KSeF's code), the KSeF number typed
after a manual upload, the staff list "KSeF: rejected and waiting", and the same in the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Document, DocumentLine, Party
from cabinet_core.ksef.submission import VerificationCode
from starlette.testclient import TestClient
from web_support import World, csrf_of, login, pdf_cabinet

NUMBER = "5250000110-20261120-0A1B2C3D4E5F-00"
AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
QR_URL = "https://qr-test.ksef.mf.gov.pl/invoice/5250000110/20-11-2026/aGFzaA"


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    return database_urls


@pytest.fixture
def cabinet(tmp_path: Path, database_url: str | None) -> Iterator[Cabinet]:
    yield from pdf_cabinet(tmp_path, database_url)


def issued(cabinet: Cabinet, world: World) -> Document:
    actor = Actor.of(world.client_user)
    today = date.today()
    document = cabinet.documents.create(
        actor,
        Document(
            client_id=world.client.id or 0,
            doc_type="vat_invoice",
            issue_date=today,
            sale_date=today,
            due_date=today + timedelta(days=14),
            buyer=Party(name="Gamma S.A.", nip="9510000239", email="buyer@gamma.pl"),
            lines=(
                DocumentLine(name="Doradztwo", quantity=Decimal("2"), unit_price=Decimal("500")),
            ),
        ),
    )
    return cabinet.documents.transition(actor, document.id or 0, "issue")


def ksef_on(cabinet: Cabinet, world: World) -> None:
    cabinet.ksef_port().set_enabled(world.client.id or 0, True)


def test_an_invoice_outside_ksef_says_so_and_takes_a_typed_ksef_number(
    cabinet: Cabinet, world: World, client_web: TestClient
) -> None:
    invoice = issued(cabinet, world)
    page = client_web.get(f"/documents/{invoice.id}")
    assert page.status_code == 200
    assert 'data-test="ksef-not-sent"' in page.text
    assert "Ta faktura nie została wysłana do KSeF" in page.text  # Polish: the user's language
    assert 'data-test="ksef-number-form"' in page.text
    token = csrf_of(client_web, f"/documents/{invoice.id}")
    bad = client_web.post(
        f"/documents/{invoice.id}/ksef-number",
        data={"ksef_number": "5250000110-20261120-0A1B2C3D4E5F-01", "csrf_token": token},
    )
    assert bad.status_code == 422
    assert "To nie jest poprawny numer KSeF" in bad.text
    good = client_web.post(
        f"/documents/{invoice.id}/ksef-number",
        data={"ksef_number": NUMBER, "csrf_token": token},
    )
    assert good.status_code == 200 and good.url.path == f"/documents/{invoice.id}"
    assert f'data-test="ksef-number">{NUMBER}<' in good.text
    assert 'data-state="accepted"' in good.text
    assert "Zapisano numer KSeF." in good.text and "Wpisano numer KSeF" in good.text


def test_an_accepted_invoice_shows_its_number_qr_code_and_upo(
    cabinet: Cabinet, world: World, client_web: TestClient
) -> None:
    ksef_on(cabinet, world)
    invoice = issued(cabinet, world)
    page = client_web.get(f"/documents/{invoice.id}")
    assert 'data-state="queued"' in page.text and "ksef-not-sent" not in page.text
    cabinet.ksef_port().mark_accepted(
        invoice.id or 0,
        ksef_number=NUMBER,
        acquired_at=AT,
        upo=b"<Potwierdzenie/>",
        verification=(VerificationCode(url=QR_URL, label=NUMBER),),
    )
    page = client_web.get(f"/documents/{invoice.id}")
    assert f'data-test="ksef-number">{NUMBER}<' in page.text
    assert 'data-test="ksef-qr"' in page.text and "<svg" in page.text
    assert f"<figcaption>{NUMBER}</figcaption>" in page.text
    assert 'data-test="ksef-upo"' in page.text
    assert "ksef-number-form" not in page.text  # KSeF gave the number: nothing to type
    upo = client_web.get(f"/documents/{invoice.id}/upo")
    assert upo.status_code == 200 and upo.content == b"<Potwierdzenie/>"
    pdf = client_web.get(f"/documents/{invoice.id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # Another client's user sees none of it.
    other = TestClient(client_web.app, base_url="http://testserver")
    login(other, world.other_user.email)
    assert other.get(f"/documents/{invoice.id}/upo").status_code == 404


def test_a_rejected_invoice_shows_ksefs_code_and_can_be_fixed(
    cabinet: Cabinet, world: World, client_web: TestClient
) -> None:
    ksef_on(cabinet, world)
    invoice = issued(cabinet, world)
    cabinet.ksef_port().mark_rejected(
        invoice.id or 0, code=450, description="Błąd weryfikacji semantyki dokumentu faktury"
    )
    page = client_web.get(f"/documents/{invoice.id}")
    assert 'data-test="ksef-rejection"' in page.text
    assert "KSeF odrzucił tę fakturę (kod 450)." in page.text
    assert "Błąd weryfikacji semantyki dokumentu faktury" in page.text
    assert 'data-status="ksef_rejected"' in page.text
    assert 'data-test="edit"' in page.text and 'data-test="transition-issue"' in page.text


def test_the_staff_list_and_the_api_show_rejected_and_waiting_invoices(
    cabinet: Cabinet, world: World, web: TestClient
) -> None:
    ksef_on(cabinet, world)
    waiting = issued(cabinet, world)
    rejected = issued(cabinet, world)
    cabinet.ksef_port().mark_rejected(rejected.id or 0, code=440, description="Duplikat faktury")
    login(web, world.manager.email)
    home = web.get("/")
    assert 'href="/ksef/submissions"' in home.text
    page = web.get("/ksef/submissions")
    assert page.status_code == 200
    assert page.text.count('data-test="ksef-row"') == 2
    assert "Duplikat faktury" in page.text and "kod 440" in page.text
    only = web.get("/ksef/submissions?state=rejected")
    assert only.text.count('data-test="ksef-row"') == 1
    listed = web.get("/api/v1/ksef/submissions").json()
    assert listed["total"] == 2
    assert {item["submission"]["document_id"] for item in listed["items"]} == {
        waiting.id,
        rejected.id,
    }
    rejected_only = web.get("/api/v1/ksef/submissions?state=rejected").json()
    assert [i["submission"]["error_code"] for i in rejected_only["items"]] == [440]
    bad = web.get("/api/v1/ksef/submissions?state=lost")
    assert bad.status_code == 422
    overview = web.get(f"/api/v1/documents/{waiting.id}/ksef").json()
    assert overview["applies"] and overview["submission"]["state"] == "queued"


def test_clients_see_no_staff_list_and_record_numbers_through_the_api(
    cabinet: Cabinet, world: World, client_web: TestClient
) -> None:
    assert client_web.get("/ksef/submissions").status_code == 403
    assert 'href="/ksef/submissions"' not in client_web.get("/").text
    invoice = issued(cabinet, world)
    _, secret = cabinet.tokens.create(Actor.of(world.client_user), name="tests")
    headers = {"Authorization": f"Bearer {secret}"}
    bad: Any = client_web.post(
        f"/api/v1/documents/{invoice.id}/ksef-number",
        json={"ksef_number": "nope"},
        headers=headers,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "ksef_number"
    good = client_web.post(
        f"/api/v1/documents/{invoice.id}/ksef-number", json={"ksef_number": NUMBER}, headers=headers
    )
    assert good.status_code == 200, good.text
    assert good.json()["ksef_number"] == NUMBER and good.json()["mode"] == "manual"
    missing = client_web.get(f"/api/v1/documents/{invoice.id}/ksef/upo", headers=headers)
    assert missing.status_code == 404


def test_an_offline_invoice_shows_its_mode_and_deadline_and_a_rejected_one_its_correction(
    cabinet: Cabinet, world: World, client_web: TestClient
) -> None:
    import io

    from cabinet_core.ksef.submission import KsefOfflineMode
    from pypdf import PdfReader

    ksef_on(cabinet, world)
    invoice = issued(cabinet, world)
    port = cabinet.ksef_port()
    port.mark_offline(
        invoice.id or 0,
        reason="KSeF nie odpowiada",
        verification=(VerificationCode(url=QR_URL, label="OFFLINE"),),
    )
    page = client_web.get(f"/documents/{invoice.id}")
    assert 'data-mode="offline24"' in page.text
    assert "offline24 (KSeF nie odpowiadał)" in page.text
    send_by = KsefOfflineMode.OFFLINE24.send_by(invoice.issue_date, None)
    assert send_by is not None and 'data-test="ksef-send-by"' in page.text
    pdf = client_web.get(f"/documents/{invoice.id}/pdf")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Faktura wystawiona w trybie offline24" in " ".join(text.split())

    # A failure announced meanwhile: the emergency mode, its deadline after the end.
    port.mark_offline(invoice.id or 0, reason="Awaria", offline_mode=KsefOfflineMode.EMERGENCY)
    page = client_web.get(f"/documents/{invoice.id}")
    assert "tryb awaryjny (ogłoszona awaria KSeF)" in page.text
    assert "termin biegnie od zakończenia ogłoszonej niedostępności" in page.text

    # Sent later with offlineMode and rejected for a technical reason: a technical correction.
    port.mark_sent(
        invoice.id or 0, invoice_hash="aGFzaA==", session_reference="s", invoice_reference="r"
    )
    port.mark_rejected(invoice.id or 0, code=450, description="Błąd weryfikacji semantyki")
    page = client_web.get(f"/documents/{invoice.id}")
    assert 'data-test="ksef-technical-correction"' in page.text
    assert "Wyślij ponownie jako korektę techniczną" in page.text
    token = csrf_of(client_web, f"/documents/{invoice.id}")
    sent = client_web.post(f"/documents/{invoice.id}/transitions/issue", data={"csrf_token": token})
    assert sent.status_code == 200
    submission = port.submission(invoice.id or 0)
    assert submission is not None and submission.corrected_hash == "aGFzaA=="
    assert 'data-test="ksef-technical-correction"' in sent.text  # the fact, on the page
    assert "Zakolejkowano do KSeF jako korektę techniczną" in sent.text  # the history
    api = client_web.get(f"/api/v1/documents/{invoice.id}/ksef").json()["submission"]
    assert api["corrected_hash"] == "aGFzaA==" and api["offline_mode"] == "emergency"


def test_a_permission_rejection_is_no_technical_correction(
    cabinet: Cabinet, world: World, client_web: TestClient
) -> None:
    ksef_on(cabinet, world)
    invoice = issued(cabinet, world)
    port = cabinet.ksef_port()
    port.mark_offline(invoice.id or 0, reason="KSeF nie odpowiada")
    port.mark_sent(
        invoice.id or 0, invoice_hash="aA==", session_reference="s", invoice_reference="r"
    )
    port.mark_rejected(invoice.id or 0, code=410, description="Nieprawidłowy zakres uprawnień")
    page = client_web.get(f"/documents/{invoice.id}")
    assert 'data-test="ksef-technical-correction"' not in page.text
    assert "Faktura nie została wystawiona: popraw ją i wystaw ponownie." in page.text
    assert "korektę techniczną" not in page.text
