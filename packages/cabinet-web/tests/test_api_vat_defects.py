"""The VAT-law defects of issue #10 point 7 through the JSON API: field errors (RFC 9457
problems naming the field), never a 500."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from cabinet_core.app import Cabinet
from starlette.testclient import TestClient
from test_api import INVOICE, assert_problem, bearer
from web_support import World


@pytest.fixture
def as_client(cabinet: Cabinet, world: World) -> dict[str, str]:
    return bearer(cabinet, world.client_user)


def fields(body: dict[str, Any]) -> dict[str, str]:
    return {error["field"]: error["code"] for error in body["errors"]}


@pytest.mark.parametrize(
    "changes",
    [
        {"issue_date": "0001-01-01", "sale_date": None, "due_date": None, "currency": "EUR"},
        {"issue_date": "2010-12-31", "sale_date": None, "due_date": None, "currency": "USD"},
    ],
)
def test_dates_before_2011_are_field_errors_on_save_and_preview(
    web: TestClient, as_client: dict[str, str], changes: dict[str, Any]
) -> None:
    body = {**INVOICE, **changes}
    for path in ("/api/v1/documents", "/api/v1/documents/preview-totals"):
        problem = assert_problem(web.post(path, headers=as_client, json=body), 422)
        assert fields(problem).get("issue_date") == "out_of_range"


def test_an_invoice_dated_tomorrow_is_refused(web: TestClient, as_client: dict[str, str]) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    body = {**INVOICE, "issue_date": tomorrow, "sale_date": tomorrow, "due_date": None}
    problem = assert_problem(web.post("/api/v1/documents", headers=as_client, json=body), 422)
    assert fields(problem) == {"issue_date": "in_future"}


def test_a_wdt_line_needs_the_buyers_eu_vat_number(
    web: TestClient, as_client: dict[str, str]
) -> None:
    lines = [{"name": "Washing machine", "quantity": "1", "unit_price": "900", "vat_rate": "0 WDT"}]
    buyer = {"name": "Kunde GmbH", "address": {"line1": "Hauptstr. 1", "country": "DE"}}
    body = {
        **INVOICE,
        "issue_date": date.today().isoformat(),
        "sale_date": None,
        "due_date": None,
        "buyer": buyer,
        "lines": lines,
    }
    problem = assert_problem(web.post("/api/v1/documents", headers=as_client, json=body), 422)
    assert fields(problem) == {"buyer.vat_eu": "required"}
    ok = web.post(
        "/api/v1/documents",
        headers=as_client,
        json={**body, "buyer": {**buyer, "vat_eu": "DE136695976"}},
    )
    assert ok.status_code == 201, ok.text
