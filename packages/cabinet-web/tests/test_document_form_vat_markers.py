"""The document form's JPK_V7M(3) line markers: GTU and procedure markers on a sales line (filled
from the catalogue product, or chosen), a purchase line marked not deductible, and bad markers
shown at the line's field with nothing saved."""

from __future__ import annotations

from decimal import Decimal

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Product
from cabinet_core.storage import DocumentQuery
from starlette.testclient import TestClient
from test_document_form import cost_invoice_form
from web_support import World, csrf_of


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    return database_urls


def _sale_form(web: TestClient, **lines: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_of(web, "/documents/new?type=vat_invoice"),
        "doc_type": "vat_invoice",
        "issue_date": "2026-11-20",
        "sale_date": "2026-11-20",
        "currency": "PLN",
        "language": "pl",
        "payment_method": "6",
        "counterparty_id": "",
        "party.name": "Gamma S.A.",
        "party.nip": "9510000239",
        "action": "save",
        **lines,
    }


def test_sales_lines_take_gtu_and_procedures_from_the_product_or_the_form(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    actor = Actor.of(world.client_user)
    product = cabinet.products.create(
        actor,
        Product(
            client_id=world.client.id or 0,
            name="Porada prawna",
            unit="h",
            unit_price=Decimal("400.00"),
            gtu="GTU_12",
            procedures=("TP",),
        ),
    )
    page = client_web.get("/documents/new?type=vat_invoice").text
    assert 'data-test="line-gtu"' in page and 'data-test="line-procedures"' in page
    assert 'data-gtu="GTU_12" data-procedures="TP"' in page
    assert 'data-test="line-non-deductible"' not in page
    form = _sale_form(
        client_web,
        **{
            "lines.0.product_id": str(product.id),
            "lines.1.name": "Wynajem auta",
            "lines.1.unit": "usł.",
            "lines.1.unit_price": "100",
            "lines.1.vat_rate": "23",
            "lines.1.gtu": "",
            "lines.1.procedures": "mr_uz",
            "lines.1.save_product": "true",
        },
    )
    response = client_web.post("/documents/new", data=form)
    assert response.status_code == 200, response.text
    [saved] = cabinet.documents.list(Actor.system(), DocumentQuery(limit=10)).items
    assert [(line.gtu, line.procedures) for line in saved.lines] == [
        ("GTU_12", ("TP",)),
        (None, ("MR_UZ",)),
    ]
    made = {p.name: p for p in cabinet.products.list(actor, world.client.id).items}
    assert made["Wynajem auta"].procedures == ("MR_UZ",)
    edit = client_web.get(f"/documents/{saved.id}/edit").text
    assert 'name="lines.1.procedures" value="MR_UZ"' in edit
    assert '<option value="GTU_12" selected>' in edit


def test_bad_line_markers_are_shown_at_the_line_and_nothing_is_saved(
    cabinet: Cabinet, client_web: TestClient
) -> None:
    form = _sale_form(
        client_web,
        **{
            "lines.0.name": "Porada",
            "lines.0.unit_price": "100",
            "lines.0.vat_rate": "23",
            "lines.0.gtu": "GTU_99",
            "lines.0.procedures": "TP XYZ",
        },
    )
    refused = client_web.post("/documents/new", data=form)
    assert refused.status_code == 422
    assert 'data-error-for="lines.0.gtu"' in refused.text
    assert 'data-error-for="lines.0.procedures"' in refused.text
    assert "XYZ" in refused.text
    assert cabinet.documents.list(Actor.system(), DocumentQuery(limit=10)).items == ()


def test_a_cost_invoice_line_marked_not_deductible(
    cabinet: Cabinet, client_web: TestClient
) -> None:
    page = client_web.get("/documents/new?type=cost_invoice").text
    assert 'data-test="line-non-deductible"' in page and 'data-test="line-gtu"' not in page
    response = client_web.post(
        "/documents/new",
        data=cost_invoice_form(client_web, **{"lines.1.non_deductible": "true"}),
    )
    assert response.status_code == 200, response.text
    [saved] = cabinet.documents.list(Actor.system(), DocumentQuery(limit=10)).items
    assert [line.non_deductible for line in saved.lines] == [False, True, False]
    edit = client_web.get(f"/documents/{saved.id}/edit").text
    assert 'name="lines.1.non_deductible" value="true" checked' in edit


def test_the_api_takes_a_products_and_a_lines_markers_as_its_schema_says(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    _, secret = cabinet.tokens.create(Actor.of(world.client_user), name="t")
    headers = {"Authorization": f"Bearer {secret}"}
    schemas = web.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert schemas["Product"]["properties"]["procedures"]["items"]["enum"][:3] == [
        "WSTO_EE",
        "IED",
        "TP",
    ]
    assert "GTU_12" in schemas["DocumentLine"]["properties"]["gtu"]["anyOf"][0]["enum"]
    created = web.post(
        "/api/v1/products",
        json={"name": "Porada", "unit_price": "400.00", "gtu": "GTU_12", "procedures": ["TP"]},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["procedures"] == ["TP"]
    refused = web.post(
        "/api/v1/products", json={"name": "X", "procedures": ["NOPE"]}, headers=headers
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "procedures"
