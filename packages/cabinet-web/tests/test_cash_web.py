"""Cash desks on the web: the JSON API (desks, reports, KP/KW entries, PDFs, RFC 9457 problems)
and the pages (menu, inline entries, field errors), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.cashdesk import CashSlip, SlipKind
from cabinet_core.entities import (
    Actor,
    Counterparty,
    Document,
    DocumentLine,
    Party,
    PaymentStatus,
)
from cabinet_web.problems import PROBLEM_MEDIA_TYPE
from pypdf import PdfReader
from starlette.testclient import TestClient
from web_support import World, csrf_of, login, pdf_cabinet

NOV_FROM, NOV_TO = "2026-11-01", "2026-11-30"


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    """The endpoints run on SQLite and on PostgreSQL."""
    return database_urls


@pytest.fixture
def cabinet(tmp_path: Path, database_url: str | None) -> Iterator[Cabinet]:
    """A migrated cabinet with the PDF plugin (it prints KP, KW and the reports)."""
    yield from pdf_cabinet(tmp_path, database_url)


def bearer(cabinet: Cabinet, user: Any) -> dict[str, str]:
    _, secret = cabinet.tokens.create(Actor.of(user), name="tests")
    return {"Authorization": f"Bearer {secret}"}


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def fields(body: dict[str, Any]) -> dict[str, str]:
    return {error["field"]: error["code"] for error in body["errors"]}


def pdf_text(content: bytes) -> str:
    return " ".join(
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split()
    )


def test_the_api_keeps_a_cash_book(web: TestClient, cabinet: Cabinet, world: World) -> None:
    client = bearer(cabinet, world.client_user)
    desk = web.post("/api/v1/cash-desks", json={"name": "Kasa", "symbol": "kasa"}, headers=client)
    assert desk.status_code == 201, desk.text
    desk_id = desk.json()["id"]
    assert desk.json()["symbol"] == "KASA" and desk.json()["currency"] == "PLN"
    eur = web.post(
        "/api/v1/cash-desks",
        json={"name": "Kasa EUR", "symbol": "EUR", "currency": "EUR"},
        headers=client,
    )
    assert eur.status_code == 201
    assert [d["symbol"] for d in web.get("/api/v1/cash-desks", headers=client).json()] == [
        "EUR",
        "KASA",
    ]
    report = web.post(
        f"/api/v1/cash-desks/{desk_id}/reports",
        json={"period_from": NOV_FROM, "period_to": "2026-11-15", "initial_balance": "100.00"},
        headers=client,
    )
    assert report.status_code == 201, report.text
    report_id = report.json()["id"]
    assert report.json()["number"] == "RK/1/2026/KASA" and report.json()["status"] == "open"
    kp = web.post(
        f"/api/v1/cash-reports/{report_id}/entries",
        json={
            "kind": "KP",
            "date": "2026-11-03",
            "party_name": "Jan Nowak",
            "title": "Wpłata",
            "amount": "250.00",
        },
        headers=client,
    )
    assert kp.status_code == 201, kp.text
    assert kp.json()["number"] == "KP/1/2026/KASA"
    kw = web.post(
        f"/api/v1/cash-reports/{report_id}/entries",
        json={
            "kind": "KW",
            "date": "2026-11-04",
            "party_name": "Sklep",
            "title": "Materiały",
            "amount": 300,
        },
        headers=client,
    )
    assert kw.status_code == 201, kw.text
    # Too much: the balance would go below zero at this entry.
    too_much = web.post(
        f"/api/v1/cash-reports/{report_id}/entries",
        json={"kind": "KW", "date": "2026-11-05", "party_name": "X", "title": "Y", "amount": "51"},
        headers=client,
    )
    assert fields(problem(too_much, 422)) == {"amount": "negative_balance"}
    # Lowering the receipt would take the KW below zero: named in the problem.
    lowered = web.put(
        f"/api/v1/cash-slips/{kp.json()['id']}",
        json={"date": "2026-11-03", "party_name": "Jan Nowak", "title": "Wpłata", "amount": "1"},
        headers=client,
    )
    body = problem(lowered, 422)
    assert fields(body) == {"amount": "negative_balance_later"}
    assert "KW/1/2026/KASA" in body["errors"][0]["message"]
    # Too precise, a bad date or kind, no payer, an unknown field: field errors, never a 500.
    entry = {"kind": "KP", "date": "2026-11-05", "party_name": "J", "title": "t", "amount": "1"}
    for change, field in (
        ({"amount": 1.505}, "amount"),
        ({"amount": True}, "amount"),
        ({"date": "2026-13-01"}, "date"),
        ({"kind": "KZ"}, "kind"),
        ({"party_name": ""}, "party_name"),
        ({"x": 1}, "x"),
    ):
        payload = {**entry, **change}
        refused = web.post(
            f"/api/v1/cash-reports/{report_id}/entries", json=payload, headers=client
        )
        assert field in fields(problem(refused, 422)), payload
    book = web.get(f"/api/v1/cash-reports/{report_id}", headers=client).json()
    assert [e["balance"] for e in book["entries"]] == ["350.00", "50.00"]
    assert (book["opening"], book["receipts"], book["payments"], book["closing"]) == (
        "100.00",
        "250.00",
        "300.00",
        "50.00",
    )
    gap = web.post(
        f"/api/v1/cash-desks/{desk_id}/reports",
        json={"period_from": "2026-11-17", "period_to": NOV_TO},
        headers=client,
    )
    assert fields(problem(gap, 422)) == {"period_from": "gap"}
    overlap = web.post(
        f"/api/v1/cash-desks/{desk_id}/reports",
        json={"period_from": "2026-11-15", "period_to": NOV_TO},
        headers=client,
    )
    assert fields(problem(overlap, 422)) == {"period_from": "overlap"}
    second = web.post(
        f"/api/v1/cash-desks/{desk_id}/reports",
        json={"period_from": "2026-11-16", "period_to": NOV_TO},
        headers=client,
    )
    assert second.status_code == 201
    carried = web.get(f"/api/v1/cash-reports/{second.json()['id']}", headers=client).json()
    assert carried["opening"] == "50.00"
    closed = web.post(
        f"/api/v1/cash-reports/{report_id}/transitions",
        json={"transition": "close"},
        headers=client,
    )
    assert closed.json()["status"] == "closed" and closed.json()["prepared_by"] == "Jan"
    approve = web.post(
        f"/api/v1/cash-reports/{report_id}/transitions",
        json={"transition": "approve"},
        headers=client,
    )
    problem(approve, 403)
    accountant = bearer(cabinet, world.accountant)
    approved = web.post(
        f"/api/v1/cash-reports/{report_id}/transitions",
        json={"transition": "approve"},
        headers=accountant,
    )
    assert approved.json()["approved_by"] == "Kasia"
    frozen = web.delete(f"/api/v1/cash-slips/{kw.json()['id']}", headers=client)
    assert fields(problem(frozen, 422)) == {"slip": "report_closed"}
    pdf = web.get(f"/api/v1/cash-slips/{kw.json()['id']}/pdf?language=en", headers=client)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "KW — Cash payment" in pdf_text(pdf.content)
    assert "three hundred PLN 00/100" in pdf_text(pdf.content)
    report_pdf = web.get(f"/api/v1/cash-reports/{report_id}/pdf", headers=client)
    text = pdf_text(report_pdf.content)
    assert "Raport kasowy RK/1/2026/KASA" in text and "Kasia" in text
    # Another client's user learns nothing; the accountant reads but does not write.
    other = bearer(cabinet, world.other_user)
    problem(web.get(f"/api/v1/cash-reports/{report_id}", headers=other), 404)
    problem(web.get(f"/api/v1/cash-slips/{kw.json()['id']}/pdf", headers=other), 404)
    assert web.get("/api/v1/cash-desks", headers=other).json() == []
    problem(
        web.post(
            "/api/v1/cash-desks",
            json={"client_id": world.client.id, "name": "X", "symbol": "X"},
            headers=accountant,
        ),
        403,
    )
    listed = web.get(f"/api/v1/cash-desks/{desk_id}/slips?kind=KW", headers=accountant).json()
    assert [s["number"] for s in listed] == ["KW/1/2026/KASA"]
    spec = web.get("/api/v1/openapi.json").json()
    assert "/api/v1/cash-reports/{report_id}/entries" in spec["paths"]


def _form(web: TestClient, path: str, data: dict[str, str]) -> Any:
    return web.post(path, data={"csrf_token": csrf_of(web, "/cash"), **data})


def test_the_pages_add_change_and_refuse_entries_inline(
    web: TestClient, cabinet: Cabinet, world: World
) -> None:
    login(web, world.client_user.email)
    home = web.get("/")
    assert 'href="/cash"' in home.text
    documents = web.get("/documents")
    assert 'data-test="new-cash-report"' in documents.text
    created = _form(web, "/cash", {"name": "Kasa główna", "symbol": "KASA", "currency": "PLN"})
    assert created.status_code == 200 and "Kasa główna" in created.text
    desk_path = str(created.url.path)
    opened = _form(
        web,
        f"{desk_path}/reports",
        {"period_from": NOV_FROM, "period_to": NOV_TO, "initial_balance": "10,00"},
    )
    report_path = str(opened.url.path)
    assert re.fullmatch(r"/cash/reports/\d+", report_path)
    added = _form(
        web,
        f"{report_path}/entries",
        {
            "kind": "KP",
            "date": "2026-11-02",
            "party_name": "Jan",
            "title": "Wpłata",
            "amount": "1 000,50",
        },
    )
    assert "KP/1/2026/KASA" in added.text and "1010,50" in added.text.replace("\xa0", "").replace(
        " ", ""
    )
    refused = _form(
        web,
        f"{report_path}/entries",
        {
            "kind": "KW",
            "date": "2026-11-01",
            "party_name": "Sklep",
            "title": "Papier",
            "amount": "20",
        },
    )
    assert refused.status_code == 422
    assert 'data-error-for="amount"' in refused.text
    assert "poniżej zera" in refused.text  # Polish, at the new row's amount
    slip_id = cabinet.cash.list_slips(Actor.of(world.client_user), int(desk_path.split("/")[-1]))[
        0
    ].id
    changed = _form(
        web,
        f"{report_path}/entries/{slip_id}",
        {"date": "2026-11-02", "party_name": "Jan Nowak", "title": "Wpłata", "amount": "5"},
    )
    assert "Jan Nowak" in changed.text and changed.status_code == 200
    supplier = cabinet.counterparties.create(
        Actor.of(world.client_user),
        Counterparty(client_id=world.client.id or 0, name="Hurtownia Papieru"),
    )
    paid = _form(
        web,
        f"{report_path}/entries",
        {
            "kind": "KW",
            "date": "2026-11-03",
            "counterparty_id": str(supplier.id),
            "party_name": "",
            "title": "Papier",
            "amount": "2,50",
        },
    )
    assert paid.status_code == 200 and "KW/1/2026/KASA" in paid.text
    assert 'value="Hurtownia Papieru"' in paid.text
    later = _form(
        web, desk_path + "/reports", {"period_from": "2026-12-01", "period_to": "2026-12-02"}
    )
    refused_close = _form(web, f"{later.url.path}/move", {"transition": "close"})
    assert refused_close.status_code == 422
    assert 'data-error-for="transition"' in refused_close.text
    closed = _form(web, f"{report_path}/move", {"transition": "close"})
    desk_page = web.get(desk_path)
    # The next report is offered from the day after the last one, to that month's end.
    assert 'value="2026-12-03"' in desk_page.text and 'value="2026-12-31"' in desk_page.text
    assert 'data-status="closed"' in closed.text and 'data-test="entry-add"' not in closed.text
    pdf = web.get(f"/cash/slips/{slip_id}/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "KP — Kasa przyjmie" in pdf_text(pdf.content)
    login(web, world.other_user.email)
    assert web.get(report_path).status_code == 404
    assert 'data-test="cash-desk-row"' not in web.get("/cash").text


def test_staff_choose_the_client_of_a_new_desk(
    web: TestClient, cabinet: Cabinet, world: World
) -> None:
    login(web, world.manager.email)
    page = web.get("/cash")
    assert "Alfa sp. z o.o." in page.text and "Beta s.c." not in page.text
    refused = _form(web, "/cash", {"client_id": "", "name": "K", "symbol": "K"})
    assert refused.status_code == 422 and 'data-error-for="client_id"' in refused.text
    added = _form(web, "/cash", {"client_id": str(world.client.id), "name": "K", "symbol": "K"})
    assert added.status_code == 200
    login(web, world.accountant.email)
    assert "Alfa sp. z o.o." in web.get("/cash").text
    assert 'data-test="cash-desk-form"' not in web.get("/cash").text


def test_a_row_paying_an_invoice_keeps_its_link_when_saved(
    web: TestClient, cabinet: Cabinet, world: World
) -> None:
    actor = Actor.of(world.client_user)
    day = date(2026, 11, 4)
    draft = cabinet.documents.create(
        actor,
        Document(
            client_id=world.client.id or 0,
            doc_type="vat_invoice",
            issue_date=day,
            sale_date=day,
            buyer=Party(name="Gamma S.A.", nip="9510000239"),
            lines=(DocumentLine(name="Doradztwo", unit_price=Decimal("100")),),
        ),
    )
    invoice = cabinet.documents.transition(actor, draft.id or 0, "issue")
    login(web, world.client_user.email)
    desk = cabinet.cash.add_desk(actor, world.client.id or 0, name="Kasa", symbol="KASA")
    report = cabinet.cash.open_report(
        actor, desk.id or 0, period_from=date(2026, 11, 1), period_to=date(2026, 11, 30)
    )
    page = f"/cash/reports/{report.id}"
    added = _form(
        web,
        f"{page}/entries",
        {
            "kind": "KP",
            "date": "2026-11-05",
            "party_name": "Gamma S.A.",
            "title": f"Zapłata za {invoice.number}",
            "amount": "123,00",
            "document_id": str(invoice.id),
        },
    )
    assert added.status_code == 200
    assert cabinet.documents.get(actor, invoice.id or 0).payment_status is PaymentStatus.PAID
    selected = f'<option value="{invoice.id}" selected>{invoice.number}'
    assert selected in added.text
    slip = cabinet.cash.list_slips(actor, desk.id or 0)[0]
    saved = _form(
        web,
        f"{page}/entries/{slip.id}",
        {
            "date": "2026-11-05",
            "party_name": "Gamma S.A.",
            "title": "Zapłata",
            "amount": "100,00",
            "document_id": str(invoice.id),
        },
    )
    assert selected in saved.text
    assert cabinet.cash.get_slip(actor, slip.id or 0).document_id == invoice.id
    stored = cabinet.documents.get(actor, invoice.id or 0)
    assert stored.payment_status is PaymentStatus.PARTIALLY_PAID


def test_a_row_is_reached_only_through_its_own_desks_report(
    web: TestClient, cabinet: Cabinet, world: World
) -> None:
    """A user's own slip named through another client's report is not found: the row's URL
    must be consistent, not a way to act while redirecting into another client's report."""
    own, other = Actor.of(world.client_user), Actor.of(world.other_user)
    assert world.client.id is not None and world.other_client.id is not None
    desks = [
        cabinet.cash.add_desk(actor, client_id, name="Kasa", symbol="KASA")
        for actor, client_id in ((own, world.client.id), (other, world.other_client.id))
    ]
    reports = [
        cabinet.cash.open_report(
            actor, desk.id or 0, period_from=date(2026, 11, 1), period_to=date(2026, 11, 30)
        )
        for actor, desk in zip((own, other), desks, strict=True)
    ]
    slip = cabinet.cash.add_slip(
        own,
        CashSlip(
            desk_id=desks[0].id or 0,
            kind=SlipKind.KP,
            on=date(2026, 11, 2),
            amount=Decimal("10.00"),
            party_name="Jan Kowalski",
            title="Wpłata",
        ),
    )
    login(web, world.client_user.email)
    token = csrf_of(web, "/cash")
    for suffix in ("", "/delete"):
        response = web.post(
            f"/cash/reports/{reports[1].id}/entries/{slip.id}{suffix}",
            data={"csrf_token": token, "amount": "20,00"},
            follow_redirects=False,
        )
        assert response.status_code == 404, suffix
    assert slip.id is not None
    assert cabinet.cash.get_slip(own, slip.id).amount == Decimal("10.00")
