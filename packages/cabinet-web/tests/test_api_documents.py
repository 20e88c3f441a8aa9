"""The documents JSON API beyond create/list: totals with the NBP rate, update and delete,
attachments, PDF and FA(3) downloads, exchange rates; responses match the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from cabinet_web.problems import PROBLEM_MEDIA_TYPE
from starlette.testclient import TestClient
from test_document_page import png_bytes
from test_openapi import _conforms
from web_support import World, pdf_cabinet

COST_INVOICE = {
    "doc_type": "cost_invoice",
    "currency": "EUR",
    "issue_date": "2026-11-16",
    "sale_date": "2026-11-16",
    "seller": {"name": "Dostawca GmbH", "vat_eu": "DE136695976"},
    "extra": {"seller_invoice_number": "RE-42"},
    "lines": [
        {"name": "Beratung", "quantity": "2", "unit_price": "500.00", "vat_rate": "23"},
        {"name": "Bücher", "quantity": "1", "unit_price": "500", "vat_rate": "8"},
        {"name": "Schulung", "quantity": "1", "unit_price": "200", "vat_rate": "zw"},
    ],
}


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    """The documents API runs on SQLite and on PostgreSQL."""
    return database_urls


@pytest.fixture
def cabinet(tmp_path: Path, database_url: str | None) -> Iterator[Cabinet]:
    """The test cabinet, with PDFs."""
    yield from pdf_cabinet(tmp_path, database_url)


def bearer(cabinet: Cabinet, user: Any) -> dict[str, str]:
    _, secret = cabinet.tokens.create(Actor.of(user), name="tests")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def as_client(cabinet: Cabinet, world: World) -> dict[str, str]:
    return bearer(cabinet, world.client_user)


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body: dict[str, Any] = response.json()
    return body


def conforms(web: TestClient, path: str, method: str, status: int, value: Any) -> None:
    document = web.get("/api/v1/openapi.json").json()
    operation = document["paths"][path][method]
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    _conforms(value, schema, document["components"]["schemas"], path)


def test_preview_totals_bring_the_nbp_rate_and_the_vat_in_pln(
    web: TestClient, as_client: dict[str, str]
) -> None:
    response = web.post("/api/v1/documents/preview-totals", headers=as_client, json=COST_INVOICE)
    assert response.status_code == 200, response.text
    body = response.json()
    conforms(web, "/api/v1/documents/preview-totals", "post", 200, body)
    assert (body["net"], body["vat"], body["gross"]) == ("1700.00", "270.00", "1970.00")
    assert [row["rate"] for row in body["rows"]] == ["23", "8", "zw"]
    assert [row["vat_pln"] for row in body["rows"]] == ["977.78", "170.05", None]
    assert body["vat_pln"] == "1147.83"
    rate = body["exchange_rate"]
    assert rate["currency"] == "EUR"
    assert rate["rate"] == "4.2512"
    assert rate["effective_date"] == "2026-11-13"  # the business day before the 16th (Monday)
    assert rate["table_no"].endswith("/A/NBP/2026")
    pln = web.post(
        "/api/v1/documents/preview-totals",
        headers=as_client,
        json={**COST_INVOICE, "currency": "PLN"},
    ).json()
    assert pln["exchange_rate"] is None and pln["vat_pln"] is None
    assert web.get("/api/v1/documents", headers=as_client).json()["total"] == 0


def test_update_with_the_version_read_and_delete_a_draft(
    web: TestClient, as_client: dict[str, str]
) -> None:
    created = web.post("/api/v1/documents", headers=as_client, json=COST_INVOICE).json()
    url = f"/api/v1/documents/{created['id']}"
    changed = {**COST_INVOICE, "version": created["version"], "notes": "poprawione"}
    changed["lines"] = [{"name": "Beratung", "quantity": "3", "unit_price": "500"}]
    updated = web.put(url, headers=as_client, json=changed)
    assert updated.status_code == 200, updated.text
    assert updated.json()["notes"] == "poprawione"
    assert updated.json()["totals"]["net"] == "1500.00"
    assert updated.json()["version"] == created["version"] + 1
    problem(web.put(url, headers=as_client, json=changed), 409)  # stale version
    invalid = {**changed, "version": updated.json()["version"], "issue_date": "x"}
    assert problem(web.put(url, headers=as_client, json=invalid), 422)["errors"][0]["field"] == (
        "issue_date"
    )
    assert web.delete(url, headers=as_client).status_code == 204
    problem(web.get(url, headers=as_client), 404)


def test_a_submitted_document_cannot_be_deleted(web: TestClient, as_client: dict[str, str]) -> None:
    created = web.post("/api/v1/documents", headers=as_client, json=COST_INVOICE).json()
    url = f"/api/v1/documents/{created['id']}"
    assert web.post(f"{url}/transitions/submit", headers=as_client).status_code == 200
    problem(web.delete(url, headers=as_client), 409)
    assert web.get(url, headers=as_client).json()["status"] == "submitted"


def test_attachments_upload_list_content_delete(
    cabinet: Cabinet, web: TestClient, world: World, as_client: dict[str, str]
) -> None:
    created = web.post("/api/v1/documents", headers=as_client, json=COST_INVOICE).json()
    url = f"/api/v1/documents/{created['id']}/attachments"
    added = web.post(url, headers=as_client, files={"file": ("skan.png", png_bytes(), "image/png")})
    assert added.status_code == 201, added.text
    attachment = added.json()
    conforms(web, "/api/v1/documents/{doc_id}/attachments", "post", 201, attachment)
    assert attachment["content_type"] == "image/png"
    assert attachment["size"] == len(png_bytes())
    listing = web.get(url, headers=as_client).json()
    conforms(web, "/api/v1/documents/{doc_id}/attachments", "get", 200, listing)
    assert [item["id"] for item in listing] == [attachment["id"]]
    content = web.get(f"{url}/{attachment['id']}", headers=as_client)
    assert content.content == png_bytes()
    assert content.headers["content-type"] == "image/png"
    assert content.headers["x-content-type-options"] == "nosniff"
    fake = web.post(
        url, headers=as_client, files={"file": ("f.pdf", b"hello, not a pdf", "application/pdf")}
    )
    error = problem(fake, 422)["errors"][0]
    assert (error["field"], error["code"]) == ("file", "type")
    assert problem(web.post(url, headers=as_client, files={}), 422)["errors"][0]["field"] == "file"
    json_body = web.post(url, headers=as_client, json={"file": "x"})
    assert problem(json_body, 422)["errors"][0]["field"] == "file"
    second = web.post("/api/v1/documents", headers=as_client, json=COST_INVOICE).json()
    elsewhere = f"/api/v1/documents/{second['id']}/attachments/{attachment['id']}"
    problem(web.get(elsewhere, headers=as_client), 404)
    other = bearer(cabinet, world.other_user)
    problem(web.get(url, headers=other), 404)
    problem(web.get(f"{url}/{attachment['id']}", headers=other), 404)
    problem(web.delete(f"{url}/{attachment['id']}", headers=other), 404)
    assert web.delete(f"{url}/{attachment['id']}", headers=as_client).status_code == 204
    assert web.get(url, headers=as_client).json() == []


def test_pdf_and_fa3_xml_downloads(web: TestClient, as_client: dict[str, str]) -> None:
    invoice = {
        "doc_type": "vat_invoice",
        "issue_date": "2026-11-20",
        "sale_date": "2026-11-20",
        "buyer": {"name": "Gamma S.A.", "nip": "9510000239"},
        "lines": [{"name": "Consulting", "quantity": "3", "unit_price": "1000.00"}],
    }
    created = web.post("/api/v1/documents", headers=as_client, json=invoice).json()
    url = f"/api/v1/documents/{created['id']}"
    problem(web.get(f"{url}/xml", headers=as_client), 422)  # a draft has no number
    web.post(f"{url}/transitions/issue", headers=as_client)
    pdf = web.get(f"{url}/pdf", headers=as_client)
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-")
    xml = web.get(f"{url}/xml", headers=as_client)
    assert xml.status_code == 200
    assert b"<P_15>3690.00</P_15>" in xml.content
    proforma = web.post(
        "/api/v1/documents", headers=as_client, json={**invoice, "doc_type": "proforma"}
    ).json()
    problem(web.get(f"/api/v1/documents/{proforma['id']}/xml", headers=as_client), 404)


def test_exchange_rate_lookup(web: TestClient, as_client: dict[str, str]) -> None:
    response = web.get(
        "/api/v1/exchange-rates?currency=usd&tax_point=2026-11-12", headers=as_client
    )
    assert response.status_code == 200, response.text
    body = response.json()
    conforms(web, "/api/v1/exchange-rates", "get", 200, body)
    # 11 November is a holiday and the 12th's rate is the day before's: the 10th.
    assert (body["currency"], body["effective_date"]) == ("USD", "2026-11-10")
    bad = problem(
        web.get("/api/v1/exchange-rates?currency=PLN&tax_point=soon", headers=as_client), 422
    )
    assert {error["field"] for error in bad["errors"]} == {"currency", "tax_point"}
