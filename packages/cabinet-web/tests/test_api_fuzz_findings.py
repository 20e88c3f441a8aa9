"""What fuzzing the API found (proof/test_api_fuzzing.py), each pinned by a fast test: field
problems instead of server errors, the OpenAPI document declaring what the server enforces,
``limit=0`` refused, and 405 answers naming every method of the path."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.doctypes.common import EARLIEST_DATE, LATEST_DATE
from cabinet_core.entities import Actor, Client, DocumentLine, Party, User
from cabinet_core.limits import text_limits
from cabinet_web.api.openapi import date_pattern
from cabinet_web.problems import PROBLEM_MEDIA_TYPE
from starlette.testclient import TestClient
from web_support import World

INVOICE = {
    "doc_type": "vat_invoice",
    "issue_date": "2026-11-16",
    "buyer": {"name": "Gamma S.A."},
    "lines": [{"name": "Usługa", "unit_price": "100.00"}],
}


def bearer(cabinet: Cabinet, user: User) -> dict[str, str]:
    _, secret = cabinet.tokens.create(Actor.of(user), name="tests")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def as_client(cabinet: Cabinet, world: World) -> dict[str, str]:
    return bearer(cabinet, world.client_user)


def field_problems(response: Any) -> set[tuple[str, str]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    return {(error["field"], error["code"]) for error in response.json()["errors"]}


def test_an_unknown_product_on_a_line_is_a_field_problem(
    web: TestClient, as_client: dict[str, str]
) -> None:
    body = {**INVOICE, "lines": [{"name": "Usługa", "unit_price": "1", "product_id": 999999}]}
    response = web.post("/api/v1/documents", headers=as_client, json=body)
    assert field_problems(response) == {("lines.0.product_id", "unknown")}


def test_an_existing_product_on_a_line_is_accepted(
    cabinet: Cabinet, web: TestClient, world: World, as_client: dict[str, str]
) -> None:
    created = web.post(
        "/api/v1/products",
        headers=as_client,
        json={"name": "Porada", "unit_price": "100.00"},
    )
    assert created.status_code == 201, created.text
    line = {"name": "Porada", "unit_price": "100.00", "product_id": created.json()["id"]}
    response = web.post("/api/v1/documents", headers=as_client, json={**INVOICE, "lines": [line]})
    assert response.status_code == 201, response.text


def test_the_service_refuses_an_unknown_product_before_writing(
    cabinet: Cabinet, world: World
) -> None:
    from cabinet_core.entities import Document
    from cabinet_core.errors import ValidationError

    assert world.client.id is not None
    document = Document(
        client_id=world.client.id,
        doc_type="vat_invoice",
        issue_date=date(2026, 11, 16),
        buyer=Party(name="Gamma S.A."),
        lines=(DocumentLine(name="Usługa", unit_price=Decimal(1), product_id=424242),),
    )
    with pytest.raises(ValidationError) as raised:
        cabinet.documents.create(Actor.of(world.client_user), document)
    assert [(e.field, e.code) for e in raised.value.errors] == [("lines.0.product_id", "unknown")]


@pytest.mark.parametrize(
    ("dates", "path"),
    [
        ({"issue_date": "2005-01-01"}, "/api/v1/documents"),
        ({"issue_date": "0001-01-02", "currency": "EUR"}, "/api/v1/documents/preview-totals"),
        ({"issue_date": "0001-01-01", "currency": "USD"}, "/api/v1/documents"),
    ],
)
def test_dates_outside_the_range_are_field_problems(
    web: TestClient, as_client: dict[str, str], dates: dict[str, str], path: str
) -> None:
    response = web.post(path, headers=as_client, json={**INVOICE, **dates})
    assert ("issue_date", "out_of_range") in field_problems(response)


def test_the_document_declares_the_date_range_the_core_enforces(web: TestClient) -> None:
    schemas = web.get("/api/v1/openapi.json").json()["components"]["schemas"]
    pattern = schemas["Document"]["properties"]["issue_date"]["pattern"]
    assert pattern == date_pattern(EARLIEST_DATE, LATEST_DATE)
    for value, allowed in [
        (EARLIEST_DATE, True),
        (LATEST_DATE, True),
        (date(2010, 12, 31), False),
        (date(2100, 1, 1), False),
        (date(1, 1, 1), False),
    ]:
        assert bool(re.match(pattern, value.isoformat())) is allowed, value


def test_the_date_pattern_needs_whole_years() -> None:
    with pytest.raises(ValueError, match="whole years"):
        date_pattern(date(2011, 2, 1), LATEST_DATE)


def test_the_document_declares_the_lengths_the_core_enforces(web: TestClient) -> None:
    schemas = web.get("/api/v1/openapi.json").json()["components"]["schemas"]
    for entity in (Client, Party, DocumentLine):
        properties = schemas[entity.__name__]["properties"]
        for name, limit in text_limits(entity).items():
            options = properties[name].get("anyOf", [properties[name]])
            strings = [o for o in options if o.get("type") == "string" and "enum" not in o]
            assert all(o["maxLength"] == limit for o in strings), (entity, name)


def test_a_text_longer_than_declared_is_a_field_problem(
    web: TestClient, as_client: dict[str, str]
) -> None:
    limit = text_limits(DocumentLine)["name"]
    body = {**INVOICE, "lines": [{"name": "x" * (limit + 1), "unit_price": "1"}]}
    response = web.post("/api/v1/documents", headers=as_client, json=body)
    assert ("lines.0.name", "too_long") in field_problems(response)


@pytest.mark.parametrize("path", ["/api/v1/documents", "/api/v1/notifications", "/api/v1/news"])
def test_limit_zero_is_a_problem_not_the_default(
    web: TestClient, as_client: dict[str, str], path: str
) -> None:
    assert field_problems(web.get(path, headers=as_client, params={"limit": 0})) == {
        ("limit", "range")
    }
    assert web.get(path, headers=as_client).status_code == 200


def test_paging_is_declared_as_it_is_checked(web: TestClient) -> None:
    document = web.get("/api/v1/openapi.json").json()
    for operation in (
        document["paths"]["/api/v1/documents"]["get"],
        document["paths"]["/api/v1/notifications"]["get"],
    ):
        limit = next(p for p in operation["parameters"] if p["name"] == "limit")
        number = limit["schema"]["anyOf"][0]  # or sent empty: read as absent
        assert (number["minimum"], number["maximum"]) == (1, 200)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/api/v1/clients/1", {"GET", "HEAD", "PATCH"}),
        ("DELETE", "/api/v1/clients", {"GET", "HEAD", "POST"}),
        ("PATCH", "/api/v1/documents/1", {"GET", "HEAD", "PUT", "DELETE"}),
        ("GET", "/api/v1/reports/exports", {"POST"}),
        ("OPTIONS", "/api/v1/documents/1/attachments/1", {"GET", "HEAD", "DELETE"}),
    ],
)
def test_a_wrong_method_names_every_method_of_the_path(
    web: TestClient, as_client: dict[str, str], method: str, path: str, allowed: set[str]
) -> None:
    response = web.request(method, path, headers=as_client)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


def test_a_literal_path_is_not_taken_by_a_parameterised_sibling(
    web: TestClient, as_client: dict[str, str]
) -> None:
    # /reports/{kind} must not answer for /reports/exports, nor /reports/exports for a kind.
    response = web.get("/api/v1/reports/accounts", headers=as_client)
    assert response.status_code != 405


def test_forgot_password_wants_a_textual_address_and_answers_without_a_body(
    web: TestClient,
) -> None:
    assert field_problems(web.post("/api/v1/password/forgot", json={"email": {}})) == {
        ("email", "string")
    }
    assert field_problems(web.post("/api/v1/password/forgot", json={})) == {("email", "required")}
    assert field_problems(
        web.post("/api/v1/password/forgot", json={"email": "a" * 321 + "@x.pl"})
    ) == {("email", "too_long")}
    accepted = web.post("/api/v1/password/forgot", json={"email": "nobody@example.pl"})
    assert (accepted.status_code, accepted.content) == (202, b"")
    operation = web.get("/api/v1/openapi.json").json()["paths"]["/api/v1/password/forgot"]
    assert "content" not in operation["post"]["responses"]["202"]


@pytest.fixture
def as_admin(cabinet: Cabinet, world: World) -> dict[str, str]:
    return bearer(cabinet, world.admin)


def test_a_contract_preview_in_an_unknown_language_is_a_field_problem(
    web: TestClient, as_admin: dict[str, str]
) -> None:
    body = {"body": "<p>{{ amount_in_words }}</p>", "contract_kind": "zlecenie", "language": "AAA"}
    response = web.post("/api/v1/contract-templates/preview", headers=as_admin, json=body)
    assert field_problems(response) == {("language", "invalid_choice")}


def test_a_client_name_longer_than_its_column_is_refused(
    web: TestClient, as_admin: dict[str, str]
) -> None:
    limit = text_limits(Client)["name"]
    response = web.post("/api/v1/clients", headers=as_admin, json={"name": "x" * (limit + 1)})
    assert ("name", "too_long") in field_problems(response)


def test_a_number_is_not_an_address(web: TestClient) -> None:
    response = web.post(
        "/api/v1/password/forgot",
        content=b'{"email": 6.8e16}',
        headers={"content-type": "application/json"},
    )
    assert field_problems(response) == {("email", "string")}


def test_include_inactive_is_a_boolean_or_nothing(
    web: TestClient, as_admin: dict[str, str]
) -> None:
    path = "/api/v1/contract-templates"
    assert field_problems(web.get(path, headers=as_admin, params={"include_inactive": "0.5"})) == {
        ("include_inactive", "type")
    }
    for value in ("true", "false", ""):
        response = web.get(path, headers=as_admin, params={"include_inactive": value})
        assert response.status_code == 200, value


def test_a_whole_number_may_be_written_with_a_zero_fraction(
    web: TestClient, as_client: dict[str, str]
) -> None:
    response = web.get("/api/v1/documents", headers=as_client, params={"limit": "10.0"})
    assert (response.status_code, response.json()["limit"]) == (200, 10)
    assert field_problems(
        web.get("/api/v1/documents", headers=as_client, params={"limit": "10.5"})
    ) == {("limit", "integer")}


def test_the_document_bounds_integers_and_allows_empty_query_values(web: TestClient) -> None:
    document = web.get("/api/v1/openapi.json").json()
    product_id = document["components"]["schemas"]["DocumentLine"]["properties"]["product_id"]
    integer = next(option for option in product_id["anyOf"] if option["type"] == "integer")
    assert (integer["minimum"], integer["maximum"]) == (-(2**31 - 1), 2**31 - 1)
    date_to = next(
        p
        for p in document["paths"]["/api/v1/documents"]["get"]["parameters"]
        if p["name"] == "date_to"
    )
    assert {"type": "string", "maxLength": 0} in date_to["schema"]["anyOf"]
    read = document["paths"]["/api/v1/chat/{client_id}/read"]["post"]
    up_to = read["requestBody"]["content"]["application/json"]["schema"]["properties"]["up_to"]
    assert up_to["type"] == ["integer", "null"]


def test_text_fields_take_only_json_strings(web: TestClient, as_client: dict[str, str]) -> None:
    for name in ({}, None, 5):
        response = web.post("/api/v1/counterparties", headers=as_client, json={"name": name})
        assert ("name", "type") in field_problems(response), name


def test_report_export_params_are_an_object_or_null(
    web: TestClient, as_admin: dict[str, str]
) -> None:
    body = {"kind": "accounts", "format": "csv", "params": False}
    response = web.post("/api/v1/reports/exports", headers=as_admin, json=body)
    assert field_problems(response) == {("params", "type")}


def test_enums_and_whole_numbers_in_bodies(web: TestClient, as_client: dict[str, str]) -> None:
    # Text is taken only from JSON strings, yet a str enum (the party's kind) still is one.
    created = web.post(
        "/api/v1/counterparties", headers=as_client, json={"kind": "person", "name": "Jan"}
    )
    assert (created.status_code, created.json()["kind"]) == (201, "person"), created.text
    line = {"name": 5.5, "unit_price": "1"}
    response = web.post("/api/v1/documents", headers=as_client, json={**INVOICE, "lines": [line]})
    assert field_problems(response) == {("lines.0.name", "type")}
    assert field_problems(
        web.get("/api/v1/notifications", headers=as_client, params={"unread": 7})
    ) == {("unread", "choice")}
    body = web.post(
        "/api/v1/chat/1/messages",
        headers=as_client,
        content=b'{"body": 5.0}',
    )
    assert body.status_code in (404, 422), body.text


def test_a_read_marker_may_be_written_with_a_zero_fraction(
    web: TestClient, as_client: dict[str, str], world: World
) -> None:
    path = f"/api/v1/chat/{world.client.id}/read"
    headers = {**as_client, "content-type": "application/json"}
    assert web.post(path, headers=headers, content=b'{"up_to": 1.0}').status_code == 200
    assert field_problems(web.post(path, headers=headers, content=b'{"up_to": 1.5}')) == {
        ("up_to", "integer")
    }
    assert field_problems(web.post(path, headers=headers, content=b'{"up_to": "1"}')) == {
        ("up_to", "integer")
    }


def test_a_patch_body_requires_nothing(web: TestClient) -> None:
    operation = web.get("/api/v1/openapi.json").json()["paths"]["/api/v1/clients/{client_id}"]
    schema = operation["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert "required" not in schema
    assert schema["properties"]["name"]["maxLength"] == text_limits(Client)["name"]
