"""The document actions in the browser: send by e-mail (delivered by the worker, failures
visible), convert a proforma, issue a correction, ask a seller for a correction, import FA(3)."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import attrs
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Document, DocumentLine, Party
from cabinet_core.settings import SmtpSettings
from cabinet_core.worker import Worker
from starlette.testclient import TestClient
from web_support import SYSTEM, World, closed_port, csrf_of, login, pdf_cabinet

#: The Ministry's example 01 among the repository's test fixtures (see testdata/ksef-fa3).
EXAMPLE_01 = Path(__file__).resolve().parents[3] / "testdata/ksef-fa3/examples/FA_3_Przyklad_01.xml"


@pytest.fixture
def mail_settings() -> dict[str, Any]:
    """The mailer of the test cabinet: the folder mailer under the data directory."""
    return {"mailer": "folder"}


@pytest.fixture
def cabinet(tmp_path: Path, mail_settings: dict[str, Any]) -> Iterator[Cabinet]:
    """A migrated cabinet with the PDF renderer (sent documents carry their PDF)."""
    yield from pdf_cabinet(tmp_path, worker_max_attempts=3, **mail_settings)


class Clock:
    """A worker clock that only moves when told (retries come due without sleeping)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def client_actor(world: World) -> Actor:
    return Actor.of(world.client_user)


def issued(cabinet: Cabinet, world: World, doc_type: str = "vat_invoice", **extra: Any) -> Document:
    """An issued sales document of the client to a buyer with an e-mail address."""
    actor = client_actor(world)
    today = date.today()
    document = cabinet.documents.create(
        actor,
        Document(
            client_id=world.client.id or 0,
            doc_type=doc_type,
            issue_date=today,
            sale_date=today,
            due_date=today + timedelta(days=14),
            buyer=Party(name="Gamma S.A.", nip="9510000239", email="buyer@gamma.pl"),
            lines=(
                DocumentLine(name="Doradztwo", quantity=Decimal("2"), unit_price=Decimal("500")),
            ),
            extra=extra,
        ),
    )
    assert document.id is not None
    return cabinet.documents.transition(actor, document.id, "issue")


def mails(cabinet: Cabinet) -> list[EmailMessage]:
    folder = cabinet.settings.mail_dir
    return [
        email.message_from_bytes(path.read_bytes(), policy=default_policy)  # type: ignore[misc]
        for path in sorted(folder.glob("*.eml"))
    ]


def test_send_page_queues_the_mail_and_the_worker_delivers_it(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    invoice = issued(cabinet, world)
    path = f"/documents/{invoice.id}/send"
    page = client_web.get(path)
    assert page.status_code == 200
    assert 'value="buyer@gamma.pl"' in page.text  # the buyer's address is the default
    response = client_web.post(
        path,
        data={"csrf_token": csrf_of(client_web, path), "to": "", "message": "Dziękujemy"},
    )
    assert response.url.path == f"/documents/{invoice.id}"
    page = client_web.get(path).text
    assert 'data-test="delivery-queued"' in page
    Worker(cabinet).run_once()
    page = client_web.get(path).text
    assert 'data-test="delivery-sent"' in page
    assert 'data-test="send-again"' in page
    (message,) = mails(cabinet)
    assert message["To"] == "buyer@gamma.pl"
    attachments = [part.get_content_type() for part in message.iter_attachments()]
    assert "application/pdf" in attachments
    assert cabinet.documents.get(SYSTEM, invoice.id or 0).status == "sent"


def test_a_bad_address_is_a_field_error_and_nothing_is_queued(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    invoice = issued(cabinet, world)
    path = f"/documents/{invoice.id}/send"
    response = client_web.post(
        path, data={"csrf_token": csrf_of(client_web, path), "to": "not-an-address"}
    )
    assert response.status_code == 422
    assert 'id="e-to"' in response.text
    assert 'value="not-an-address"' in response.text
    assert cabinet.documents.deliveries(client_actor(world), invoice.id or 0) == []


def test_a_draft_cannot_be_sent(cabinet: Cabinet, client_web: TestClient, world: World) -> None:
    actor = client_actor(world)
    draft = cabinet.documents.create(
        actor,
        Document(
            client_id=world.client.id or 0,
            doc_type="vat_invoice",
            issue_date=date.today(),
            buyer=Party(name="Gamma S.A.", email="buyer@gamma.pl"),
            lines=(DocumentLine(name="X", unit_price=Decimal("1")),),
        ),
    )
    path = f"/documents/{draft.id}/send"
    response = client_web.post(path, data={"csrf_token": csrf_of(client_web, path)})
    assert response.status_code == 409
    assert cabinet.documents.deliveries(client_actor(world), draft.id or 0) == []


def test_another_clients_document_is_not_found(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    invoice = issued(cabinet, world)
    login(web, world.other_user.email)
    assert web.get(f"/documents/{invoice.id}/send").status_code == 404
    response = web.post(
        f"/documents/{invoice.id}/convert", data={"csrf_token": csrf_of(web, "/profile")}
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "mail_settings",
    [{"mailer": "smtp", "smtp": SmtpSettings(host="127.0.0.1", port=closed_port())}],
)
def test_a_mail_that_cannot_be_sent_shows_failed_after_the_retries(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    invoice = issued(cabinet, world)
    path = f"/documents/{invoice.id}/send"
    client_web.post(path, data={"csrf_token": csrf_of(client_web, path)})
    clock = Clock()
    worker = Worker(cabinet, clock=clock)
    worker.run_once()
    page = client_web.get(path).text
    assert 'data-test="delivery-retrying"' in page
    assert "(próba 1)" in page or "(attempt 1)" in page
    for _ in range(cabinet.settings.worker_max_attempts):
        clock.now += timedelta(days=1)
        worker.run_once()
    page = client_web.get(path).text
    assert 'data-test="delivery-failed"' in page
    assert 'data-test="send-again"' in page
    assert cabinet.documents.get(SYSTEM, invoice.id or 0).status == "issued"


def test_convert_a_proforma_opens_the_invoice_draft(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    proforma = issued(cabinet, world, "proforma")
    response = client_web.post(
        f"/documents/{proforma.id}/convert",
        data={"csrf_token": csrf_of(client_web, "/profile")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    target = response.headers["location"]
    assert target.endswith("/edit")
    invoice_id = int(target.split("/")[2])
    invoice = cabinet.documents.get(SYSTEM, invoice_id)
    assert invoice.doc_type == "vat_invoice"
    assert invoice.status == "draft"
    assert invoice.related_id == proforma.id
    assert cabinet.documents.get(SYSTEM, proforma.id or 0).status == "converted"
    # Twice is a conflict, shown as a page, not a 500.
    again = client_web.post(
        f"/documents/{proforma.id}/convert", data={"csrf_token": csrf_of(client_web, "/profile")}
    )
    assert again.status_code == 409


def test_correct_an_invoice_makes_a_kor_draft(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    invoice = issued(cabinet, world)
    response = client_web.post(
        f"/documents/{invoice.id}/correct",
        data={"csrf_token": csrf_of(client_web, "/profile"), "reason": "Rabat posprzedażowy"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    correction = cabinet.documents.get(SYSTEM, int(response.headers["location"].split("/")[2]))
    assert correction.doc_type == "correcting_invoice"
    assert correction.related_id == invoice.id
    assert correction.extra["corrected_number"] == invoice.number
    assert correction.extra["reason"] == "Rabat posprzedażowy"
    assert [line.before for line in correction.lines] == [True, False]


def submitted_cost_invoice(cabinet: Cabinet, world: World) -> Document:
    actor = client_actor(world)
    cost = cabinet.documents.create(
        actor,
        Document(
            client_id=world.client.id or 0,
            doc_type="cost_invoice",
            issue_date=date(2026, 3, 2),
            seller=Party(name="Delta sp. z o.o.", nip="9510000239", email="faktury@delta.pl"),
            lines=(DocumentLine(name="Papier", quantity=Decimal("10"), unit_price=Decimal("20")),),
            extra={"seller_invoice_number": "FV/7/2026"},
        ),
    )
    return cabinet.documents.transition(actor, cost.id or 0, "submit")


def test_correction_request_from_a_cost_invoice_then_sent_to_the_seller(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    cost = submitted_cost_invoice(cabinet, world)
    path = f"/documents/{cost.id}/correction-request"
    page = client_web.get(path)
    assert page.status_code == 200
    assert 'value="faktury@delta.pl"' in page.text
    assert 'value="Papier"' in page.text  # the lines start as the invoice's
    # A bad price in a proposed line comes back at that line; nothing is saved.
    form = {
        "csrf_token": csrf_of(client_web, path),
        "reason": "Cena papieru to 18 zł",
        "seller_email": "faktury@delta.pl",
        "change_lines": "on",
        "lines.0.name": "Papier",
        "lines.0.quantity": "10",
        "lines.0.unit": "szt.",
        "lines.0.unit_price": "osiemnaście",
        "lines.0.vat_rate": "23",
    }
    response = client_web.post(path, data=form)
    assert response.status_code == 422
    assert 'id="e-lines.0.unit_price"' in response.text
    assert 'value="osiemnaście"' in response.text
    form["lines.0.unit_price"] = "18,00"
    response = client_web.post(path, data=form, follow_redirects=False)
    assert response.status_code == 303
    request_id = int(response.headers["location"].split("/")[2])
    created = cabinet.documents.get(SYSTEM, request_id)
    assert created.doc_type == "correction_request"
    assert created.related_id == cost.id
    assert created.status == "draft"
    after = [line for line in created.lines if not line.before]
    assert [line.unit_price for line in after] == [Decimal("18.00")]
    # Its own send: numbered, queued to the seller, delivered by the worker.
    send_path = f"/documents/{request_id}/send"
    assert 'value="faktury@delta.pl"' in client_web.get(send_path).text
    client_web.post(send_path, data={"csrf_token": csrf_of(client_web, send_path)})
    assert cabinet.documents.get(SYSTEM, request_id).status == "sent"
    Worker(cabinet).run_once()
    # The seller gets the request; the accountant was e-mailed a notification of the submitted
    # cost invoice.
    assert [m["To"] for m in mails(cabinet) if m["To"] != "accountant@test.pl"] == [
        "faktury@delta.pl"
    ]


def test_correction_request_needs_a_reason_and_an_address(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    cost = submitted_cost_invoice(cabinet, world)
    path = f"/documents/{cost.id}/correction-request"
    response = client_web.post(
        path, data={"csrf_token": csrf_of(client_web, path), "seller_email": "zly-adres"}
    )
    assert response.status_code == 422
    assert 'id="e-reason"' in response.text
    assert 'id="e-seller_email"' in response.text


def test_import_fa3_shows_the_one_grosz_warning(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    example = EXAMPLE_01
    # The MF example's buyer is another company: the client here is its buyer.
    page = client_web.get("/documents/import")
    assert page.status_code == 200
    assert 'name="client_id"' not in page.text  # a client user imports for itself
    response = client_web.post(
        "/documents/import",
        data={"csrf_token": csrf_of(client_web, "/documents/import")},
        files={"file": (example.name, example.read_bytes(), "application/xml")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    doc_id = int(response.headers["location"].split("/")[2])
    document = cabinet.documents.get(SYSTEM, doc_id)
    assert document.doc_type == "cost_invoice"
    assert document.status == "draft"
    assert document.client_id == world.client.id
    assert document.extra["import_warnings"]
    flashes = client_web.get("/documents/import").text  # the next page shows the flashes
    # MF example 01 states 2051 due where its own amounts sum to 2050.99.
    assert "2050.99" in flashes or "2050,99" in flashes


def test_a_file_that_is_not_fa3_is_a_field_error_and_nothing_is_saved(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    for data in (b"<html>no</html>", b"not xml at all", b""):
        response = client_web.post(
            "/documents/import",
            data={"csrf_token": csrf_of(client_web, "/documents/import")},
            files={"file": ("x.xml", data, "application/xml")},
        )
        assert response.status_code == 422
        assert 'id="e-file"' in response.text
    from cabinet_core.storage import DocumentQuery

    assert cabinet.documents.list(SYSTEM, DocumentQuery()).total == 0


def test_staff_choose_the_client_to_import_for(
    cabinet: Cabinet, manager_web: TestClient, world: World
) -> None:
    example = EXAMPLE_01
    page = manager_web.get("/documents/import").text
    assert "Alfa sp. z o.o." in page
    response = manager_web.post(
        "/documents/import",
        data={"csrf_token": csrf_of(manager_web, "/documents/import")},
        files={"file": (example.name, example.read_bytes(), "application/xml")},
    )
    assert response.status_code == 422
    assert 'id="e-client_id"' in response.text
    response = manager_web.post(
        "/documents/import",
        data={
            "csrf_token": csrf_of(manager_web, "/documents/import"),
            "client_id": str(world.client.id),
        },
        files={"file": (example.name, example.read_bytes(), "application/xml")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    # Another manager's client: not found, nothing saved.
    response = manager_web.post(
        "/documents/import",
        data={
            "csrf_token": csrf_of(manager_web, "/documents/import"),
            "client_id": str(world.other_client.id),
        },
        files={"file": (example.name, example.read_bytes(), "application/xml")},
    )
    assert response.status_code == 404


def test_the_preview_offers_the_actions_of_each_document(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    proforma = issued(cabinet, world, "proforma")
    page = client_web.get(f"/documents/{proforma.id}").text
    assert 'data-test="convert"' in page
    assert 'data-test="send-submit"' in page
    assert 'value="buyer@gamma.pl"' in page
    assert 'data-test="correct"' not in page
    invoice = cabinet.invoicing.convert_proforma(client_actor(world), proforma.id or 0)
    draft_page = client_web.get(f"/documents/{invoice.id}").text
    assert f'href="/documents/{proforma.id}"' in draft_page  # the related proforma
    assert 'data-test="send-submit"' not in draft_page  # a draft is not sent
    # The proforma links to the invoice made from it.
    page = client_web.get(f"/documents/{proforma.id}").text
    assert f'href="/documents/{invoice.id}"' in page
    assert 'data-test="related-vat_invoice"' in page
    issued_invoice = cabinet.documents.transition(client_actor(world), invoice.id or 0, "issue")
    page = client_web.get(f"/documents/{issued_invoice.id}").text
    assert 'data-test="correct"' in page
    assert 'data-test="convert"' not in page
    correction = cabinet.invoicing.correct(client_actor(world), issued_invoice.id or 0)
    page = client_web.get(f"/documents/{issued_invoice.id}").text
    assert f'href="/documents/{correction.id}"' in page  # invoice -> its correction
    cost = submitted_cost_invoice(cabinet, world)
    page = client_web.get(f"/documents/{cost.id}").text
    assert f'href="/documents/{cost.id}/correction-request"' in page
    assert 'data-test="send-submit"' not in page  # a received invoice is not sent on
    request = cabinet.invoicing.request_correction(
        client_actor(world), cost.id or 0, reason="Cena", seller_email="faktury@delta.pl"
    )
    page = client_web.get(f"/documents/{cost.id}").text
    assert 'data-test="related-correction_request"' in page
    page = client_web.get(f"/documents/{request.id}").text
    assert f'href="/documents/{cost.id}"' in page  # the request -> its invoice
    assert 'value="faktury@delta.pl"' in page  # sent to the seller


def test_the_accountant_sees_the_mail_status_but_no_actions(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    invoice = issued(cabinet, world)
    cabinet.invoicing.send(client_actor(world), invoice.id or 0)
    login(web, world.accountant.email)
    page = web.get(f"/documents/{invoice.id}").text
    assert 'data-test="delivery-queued"' in page
    assert 'data-test="correct"' not in page
    assert 'data-test="send-submit"' not in page
    assert 'data-test="send-again"' not in page


def test_import_warnings_stay_visible_on_the_preview(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    result = cabinet.invoicing.import_fa3(
        client_actor(world), world.client.id or 0, EXAMPLE_01.read_bytes()
    )
    page = client_web.get(f"/documents/{result.document.id}").text
    assert 'data-test="import-warnings"' in page
    assert "2050.99" in page


def test_auto_send_switched_on_in_the_profile_sends_on_issue(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    client_web.post(
        "/profile/preferences",
        data={"csrf_token": csrf_of(client_web, "/profile"), "auto_send": "on"},
    )
    invoice = issued(cabinet, world)  # issued by the client: the mail is queued with the move
    page = client_web.get(f"/documents/{invoice.id}").text
    assert 'data-test="delivery-queued"' in page
    assert "buyer@gamma.pl" in page
    Worker(cabinet).run_once()
    assert [m["To"] for m in mails(cabinet)] == ["buyer@gamma.pl"]
    assert cabinet.documents.get(SYSTEM, invoice.id or 0).status == "sent"


def import_page(web: TestClient, path: Path) -> int:
    response = web.post(
        "/documents/import",
        data={"csrf_token": csrf_of(web, "/documents/import")},
        files={"file": (path.name, path.read_bytes(), "application/xml")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return int(response.headers["location"].split("/")[2])


def test_received_kor_closes_the_request_and_the_three_link_to_each_other(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    # MF example 01 is an invoice; example 02 is the seller's KOR of it.
    original_id = import_page(client_web, EXAMPLE_01)
    cabinet.documents.transition(client_actor(world), original_id, "submit")
    path = f"/documents/{original_id}/correction-request"
    response = client_web.post(
        path,
        data={
            "csrf_token": csrf_of(client_web, path),
            "reason": "Wniesienie sprzętu miało być gratis.",
            "seller_email": "sprzedaz@sprzedawca.example",
        },
        follow_redirects=False,
    )
    request_id = int(response.headers["location"].split("/")[2])
    send_path = f"/documents/{request_id}/send"
    client_web.post(send_path, data={"csrf_token": csrf_of(client_web, send_path)})
    assert cabinet.documents.get(SYSTEM, request_id).status == "sent"

    kor_id = import_page(client_web, EXAMPLE_01.with_name("FA_3_Przyklad_02.xml"))
    assert cabinet.documents.get(SYSTEM, kor_id).related_id == original_id
    assert cabinet.documents.get(SYSTEM, request_id).status == "accepted"
    original_page = client_web.get(f"/documents/{original_id}").text
    assert f'href="/documents/{request_id}"' in original_page
    assert f'href="/documents/{kor_id}"' in original_page
    assert f'href="/documents/{original_id}"' in client_web.get(f"/documents/{kor_id}").text


@pytest.mark.parametrize("price", ["1e400", "Infinity", "NaN", "-0,001", "12.3456789", "1 000,5x"])
def test_numbers_no_column_can_hold_are_field_errors_in_a_request(
    cabinet: Cabinet, client_web: TestClient, world: World, price: str
) -> None:
    cost = submitted_cost_invoice(cabinet, world)
    path = f"/documents/{cost.id}/correction-request"
    response = client_web.post(
        path,
        data={
            "csrf_token": csrf_of(client_web, path),
            "reason": "Cena",
            "seller_email": "faktury@delta.pl",
            "change_lines": "on",
            "lines.0.name": "Papier",
            "lines.0.quantity": "1",
            "lines.0.unit_price": price,
            "lines.0.vat_rate": "23",
        },
    )
    assert response.status_code == 422, response.text
    assert 'id="e-lines.0.unit_price"' in response.text


def test_a_refused_conversion_says_why_on_the_proformas_page(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    """An exempt proforma issued before it had to give the exemption's legal basis: the
    invoice it would make is refused, and the page says why instead of a bare 422."""
    basis = "art. 43 ust. 1 pkt 29 lit. c ustawy o VAT"
    proforma = issued(cabinet, world, "proforma", exemption_basis=basis)
    exempt = tuple(attrs.evolve(line, vat_rate="zw") for line in proforma.lines)
    with cabinet.store.transaction() as tx:
        stored = tx.get_document(proforma.id or 0)
        assert stored is not None
        tx.update_document(attrs.evolve(stored, lines=exempt, extra={"split_payment": False}))
    response = client_web.post(
        f"/documents/{proforma.id}/convert",
        data={"csrf_token": csrf_of(client_web, "/profile")},
    )
    assert response.status_code == 200
    assert str(response.url).endswith(f"/documents/{proforma.id}")
    assert "Nie można zamienić proformy na fakturę:" in response.text
    assert "Podaj podstawę prawną zwolnienia z VAT." in response.text
    assert cabinet.documents.get(SYSTEM, proforma.id or 0).status == "issued"


def test_issuing_an_unchanged_correction_says_why_on_its_page(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    invoice = issued(cabinet, world)
    draft = cabinet.invoicing.correct(client_actor(world), invoice.id or 0)
    response = client_web.post(
        f"/documents/{draft.id}/transitions/issue",
        data={"csrf_token": csrf_of(client_web, "/profile")},
    )
    assert response.status_code == 422
    assert "Podaj przyczynę korekty." in response.text
    assert "Korekta niczego nie zmienia: popraw pozycje po korekcie." in response.text
    assert cabinet.documents.get(SYSTEM, draft.id or 0).status == "draft"
