"""The VAT statement page, its downloads and the JSON API, on SQLite and PostgreSQL: who may see
which client, the accountant's non-deductible toggle, PDF/CSV/JPK downloads (every JPK validated
against the official schema) and problems shown at the field or as RFC 9457 documents."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Document, DocumentLine, Party
from cabinet_core.vat_statement import validate_jpk
from cabinet_web.problems import PROBLEM_MEDIA_TYPE
from pypdf import PdfReader
from starlette.testclient import TestClient
from web_support import SYSTEM, World, login, pdf_cabinet

NOV = date(2026, 11, 10)
PERIOD = "2026-11"


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    return database_urls


@pytest.fixture
def cabinet(tmp_path: Path, database_url: str | None) -> Iterator[Cabinet]:
    yield from pdf_cabinet(tmp_path, database_url)


@pytest.fixture
def documents(cabinet: Cabinet, world: World) -> dict[str, Document]:
    """A client with an e-mail, a 23 % sale, an EUR sale and an approved cost invoice."""
    cabinet.clients.update(SYSTEM, attrs.evolve(world.client, email="biuro@alfa.pl"))
    alice = Actor.of(world.client_user)
    client_id = world.client.id or 0
    buyer = Party(name="Gamma S.A.", nip="9510000239")

    def sale(currency: str, price: str) -> Document:
        draft = cabinet.documents.create(
            alice,
            Document(
                client_id=client_id,
                doc_type="vat_invoice",
                issue_date=NOV,
                currency=currency,
                buyer=buyer,
                lines=(DocumentLine(name="Doradztwo", unit_price=Decimal(price), gtu="GTU_12"),),
            ),
        )
        return cabinet.documents.transition(alice, draft.id or 0, "issue")

    cost = cabinet.documents.create(
        alice,
        Document(
            client_id=client_id,
            doc_type="cost_invoice",
            issue_date=date(2026, 11, 3),
            receipt_date=date(2026, 11, 4),
            seller=Party(name="Delta sp. z o.o.", nip="9510000239"),
            lines=(DocumentLine(name="Laptop", unit_price=Decimal("1000.00")),),
            extra={"seller_invoice_number": "FZ/77/2026"},
        ),
    )
    cabinet.documents.transition(alice, cost.id or 0, "submit")
    cost = cabinet.documents.transition(Actor.of(world.accountant), cost.id or 0, "approve")
    return {"pln": sale("PLN", "100.00"), "eur": sale("EUR", "1000.00"), "cost": cost}


def _page(web: TestClient, client_id: int | None, **params: str) -> Any:
    query = {"period": PERIOD, **params}
    if client_id is not None:
        query["client_id"] = str(client_id)
    return web.get("/vat-statement", params=query)


def test_the_client_sees_its_statement_in_polish_and_the_menu_links_it(
    client_web: TestClient, world: World, documents: dict[str, Document]
) -> None:
    home = client_web.get("/")
    assert 'href="/vat-statement"' in home.text and "Zestawienie VAT" in home.text
    page = _page(client_web, None)
    assert page.status_code == 200
    text = page.text
    assert "Rejestr sprzedaży VAT" in text and "Rejestr zakupów VAT" in text
    assert documents["pln"].number in text and "FZ/77/2026" in text
    # The EUR row's amount and rate, as NBP publishes it in the page's (Polish) convention.
    assert 'data-test="fx"' in text and "4,2512" in text
    assert "Oznacz jako nieodliczany" not in text  # only bookkeeping toggles
    # Another client's statement is not found for this user.
    assert _page(client_web, world.other_client.id).status_code == 404


def test_staff_choose_among_the_clients_they_may_see(
    web: TestClient, world: World, documents: dict[str, Document]
) -> None:
    login(web, world.manager.email)
    page = _page(web, None)
    assert "Alfa sp. z o.o." in page.text and "Beta s.c." not in page.text
    assert "Wybierz klienta" in page.text
    assert documents["pln"].number in _page(web, world.client.id).text
    assert _page(web, world.other_client.id).status_code == 404


def test_the_accountant_toggles_a_purchase_not_deductible(
    cabinet: Cabinet, web: TestClient, world: World, documents: dict[str, Document]
) -> None:
    login(web, world.accountant.email)
    page = _page(web, world.client.id)
    assert "Oznacz jako nieodliczany" in page.text
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {
        "csrf_token": token,
        "client_id": str(world.client.id),
        "period": PERIOD,
        "document_id": str(documents["cost"].id),
        "non_deductible": "1",
    }
    after = web.post("/vat-statement/mark", data=form)
    assert after.status_code == 200 and 'data-test="not-deductible"' in after.text
    statement = cabinet.vat_statements.statement(
        Actor.of(world.accountant), world.client.id or 0, PERIOD
    )
    assert statement.purchases[0].non_deductible and statement.tax_deductible == 0
    # A client user posting the same form is refused and nothing changes.
    web.get("/logout")
    login(web, world.client_user.email)
    token = _page(web, None).text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    refused = web.post(
        "/vat-statement/mark", data={**form, "csrf_token": token, "non_deductible": ""}
    )
    assert refused.status_code == 403


def test_downloads_pdf_csv_and_a_valid_jpk(
    client_web: TestClient, world: World, documents: dict[str, Document]
) -> None:
    query = {"client_id": str(world.client.id), "period": PERIOD}
    pdf = client_web.get("/vat-statement/download/pdf", params=query)
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Zestawienie VAT 2026-11" in text and "FZ/77/2026" in text
    csv = client_web.get("/vat-statement/download/csv", params=query)
    assert csv.headers["content-type"].startswith("text/csv")
    assert "FZ/77/2026" in csv.content.decode("utf-8-sig")
    jpk = client_web.get("/vat-statement/jpk", params={**query, "tax_office": "1471"})
    assert jpk.status_code == 200, jpk.text
    assert "attachment" in jpk.headers["content-disposition"]
    assert validate_jpk(jpk.content) == []
    xml = jpk.content.decode()
    assert "<GTU_12>1</GTU_12>" in xml and "<K_19>4251.20</K_19>" in xml
    assert "<LiczbaWierszySprzedazy>2</LiczbaWierszySprzedazy>" in xml


def test_jpk_problems_are_shown_at_the_form(
    client_web: TestClient, world: World, documents: dict[str, Document]
) -> None:
    refused = client_web.get(
        "/vat-statement/jpk",
        params={"client_id": str(world.client.id), "period": PERIOD, "tax_office": "12"},
    )
    assert refused.status_code == 422
    assert "Podaj czterocyfrowy kod urzędu skarbowego." in refused.text
    assert _page(client_web, None, period="2026-99").status_code == 422


def test_a_quarter_says_why_there_is_no_v7k_and_offers_each_months_v7m(
    client_web: TestClient, world: World, documents: dict[str, Document]
) -> None:
    quarter = _page(client_web, None, period="2026-Q4")
    assert quarter.status_code == 200
    assert 'data-test="no-v7k"' in quarter.text and "JPK_V7K" in quarter.text
    assert "gabinet nie tworzy" in quarter.text
    assert documents["pln"].number in quarter.text
    months = quarter.text.split('data-test="jpk-month">', 1)[1].split("</select>", 1)[0]
    assert [part.split('"', 1)[0] for part in months.split('value="')[1:]] == [
        "2026-10",
        "2026-11",
        "2026-12",
    ]
    jpk = client_web.get(
        "/vat-statement/jpk",
        params={
            "client_id": str(world.client.id),
            "period": "2026-11",
            "declaration": "0",
            "tax_office": "1471",
        },
    )
    assert jpk.status_code == 200, jpk.text
    assert validate_jpk(jpk.content) == []
    assert b"<Deklaracja>" not in jpk.content and b"<Ewidencja>" in jpk.content


def test_the_json_api(
    cabinet: Cabinet, web: TestClient, world: World, documents: dict[str, Document]
) -> None:
    _, secret = cabinet.tokens.create(Actor.of(world.accountant), name="t")
    headers = {"Authorization": f"Bearer {secret}"}
    base = f"/api/v1/clients/{world.client.id}/vat-statement"
    body = web.get(base, params={"period": PERIOD}, headers=headers).json()
    assert body["period"] == PERIOD
    assert [row["number"] for row in body["sales"]] == [
        documents["pln"].number,
        documents["eur"].number,
    ]
    assert body["sales"][1]["k"] == {"K_19": "4251.20", "K_20": "977.78"}
    assert body["declaration"]["positions"]["P_51"] == 1001 - 230
    mark = web.put(
        f"/api/v1/documents/{documents['cost'].id}/vat-mark",
        json={"non_deductible": True},
        headers=headers,
    )
    assert mark.status_code == 200 and mark.json()["non_deductible"] is True
    jpk = web.get(f"{base}/jpk", params={"period": PERIOD, "tax_office": "1471"}, headers=headers)
    assert validate_jpk(jpk.content) == [] and b"FZ/77/2026" not in jpk.content
    csv = web.get(f"{base}/csv", params={"period": PERIOD, "language": "en"}, headers=headers)
    assert csv.content.decode("utf-8-sig").startswith("Register,No.")
    bad = web.get(
        f"{base}/jpk", params={"period": "2026-Q4", "tax_office": "1471"}, headers=headers
    )
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    sale_mark = web.put(
        f"/api/v1/documents/{documents['pln'].id}/vat-mark",
        json={"markers": ["GTU_99"]},
        headers=headers,
    )
    assert sale_mark.status_code == 422
    _, client_secret = cabinet.tokens.create(Actor.of(world.other_user), name="t")
    hidden = web.get(
        base, params={"period": PERIOD}, headers={"Authorization": f"Bearer {client_secret}"}
    )
    assert hidden.status_code == 404
    paths = web.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/clients/{client_id}/vat-statement" in paths
    assert "put" in paths["/api/v1/documents/{doc_id}/vat-mark"]
