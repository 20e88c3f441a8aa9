"""The JSON API: token authentication, the endpoints over the services, problem documents."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from cabinet_web.problems import PROBLEM_MEDIA_TYPE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from web_support import World

INVOICE = {
    "doc_type": "vat_invoice",
    "issue_date": "2026-11-20",
    "sale_date": "2026-11-20",
    "due_date": "2026-12-04",
    "buyer": {"name": "Gamma S.A.", "nip": "9510000239"},
    "seller": {"name": "Alfa sp. z o.o.", "nip": "5250000110"},
    "lines": [
        {"name": "Consulting", "quantity": "3", "unit_price": "1000.00", "vat_rate": "23"},
        {"name": "Book", "quantity": "1", "unit_price": "50", "vat_rate": "5"},
    ],
}


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    """The API runs on SQLite and on PostgreSQL (ids are 32-bit there, money is NUMERIC)."""
    return database_urls


def bearer(
    cabinet: Cabinet, user: Any, *, scopes: Sequence[str] = ("read", "write")
) -> dict[str, str]:
    """Authorization headers with a fresh personal token of ``user`` (reading and writing, as
    the service's default; pass ``scopes=["admin"]`` to manage users and tokens)."""
    _, secret = cabinet.tokens.create(Actor.of(user), name="tests", scopes=scopes)
    assert secret.startswith("cab_")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def as_client(cabinet: Cabinet, world: World) -> dict[str, str]:
    return bearer(cabinet, world.client_user)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    return body


def test_me_with_a_token_never_shows_the_password_hash(
    web: TestClient, as_client: dict[str, str], world: World
) -> None:
    body = web.get("/api/v1/me", headers=as_client).json()
    assert body["email"] == world.client_user.email
    assert body["role"] == "client"
    assert "password_hash" not in body


def test_missing_or_wrong_token_is_a_401_problem(web: TestClient) -> None:
    body = assert_problem(web.get("/api/v1/me"), 401)
    assert body["title"] == "Zaloguj się"
    response = web.get("/api/v1/me", headers={"Authorization": "Bearer cab_wrong"})
    assert response.headers["www-authenticate"] == "Bearer"
    assert_problem(response, 401)
    assert_problem(web.get("/api/v1/me", headers={"Authorization": "Basic abc"}), 401)


def test_revoked_token_stops_working(cabinet: Cabinet, web: TestClient, world: World) -> None:
    token, secret = cabinet.tokens.create(Actor.of(world.client_user), name="once")
    headers = {"Authorization": f"Bearer {secret}"}
    assert web.get("/api/v1/me", headers=headers).status_code == 200
    assert token.id is not None
    cabinet.tokens.revoke(Actor.of(world.client_user), token.id)
    assert_problem(web.get("/api/v1/me", headers=headers), 401)


def test_clients_are_narrowed_by_the_services(
    cabinet: Cabinet, web: TestClient, world: World, as_client: dict[str, str]
) -> None:
    mine = web.get("/api/v1/clients", headers=as_client).json()
    assert [client["id"] for client in mine] == [world.client.id]
    assert_problem(web.get(f"/api/v1/clients/{world.other_client.id}", headers=as_client), 404)
    staff = bearer(cabinet, world.accountant)
    everyone = web.get("/api/v1/clients", headers=staff).json()
    assert {client["id"] for client in everyone} == {world.client.id, world.other_client.id}


def test_patch_client_changes_only_the_fields_sent(
    web: TestClient, world: World, as_client: dict[str, str]
) -> None:
    response = web.patch(
        f"/api/v1/clients/{world.client.id}",
        headers=as_client,
        json={"email": "biuro@alfa.pl", "address": {"city": "Kraków"}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] == "biuro@alfa.pl"
    assert body["address"] == {
        "line1": "ul. Prosta 1",
        "line2": "",
        "postal_code": "00-001",
        "city": "Kraków",
        "country": "PL",
    }
    assert body["nip"] == "5250000110"


def test_validation_problem_lists_fields_in_the_request_language(
    cabinet: Cabinet, web: TestClient, world: World, as_client: dict[str, str]
) -> None:
    url = f"/api/v1/clients/{world.client.id}"
    body = assert_problem(web.patch(url, headers=as_client, json={"nip": "1234567890"}), 422)
    assert body["errors"] == [
        {
            "field": "nip",
            "code": "nip_checksum",
            "message": "Ten NIP jest nieprawidłowy (zła cyfra kontrolna).",
        }
    ]
    # The other client's user chose English; the user's choice decides the language.
    english = bearer(cabinet, world.other_user)
    url = f"/api/v1/clients/{world.other_client.id}"
    body = assert_problem(web.patch(url, headers=english, json={"nip": "1234567890"}), 422)
    assert body["title"] == "The data is not valid"
    assert body["errors"][0]["message"] == "This NIP is not valid (wrong check digit)."


def test_counterparties_and_products_round_trip(
    web: TestClient, world: World, as_client: dict[str, str]
) -> None:
    created = web.post(
        "/api/v1/counterparties", headers=as_client, json={"name": "Gamma", "nip": "9510000239"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["client_id"] == world.client.id
    listed = web.get("/api/v1/counterparties?search=gamma", headers=as_client).json()
    assert listed["total"] == 1
    assert listed["items"][0]["name"] == "Gamma"
    product = web.post(
        "/api/v1/products",
        headers=as_client,
        json={"name": "Audit", "unit_price": "1234.50", "vat_rate": "23"},
    )
    assert product.status_code == 201, product.text
    assert product.json()["unit_price"] in ("1234.50", "1234.500000")
    page = web.get("/api/v1/products?limit=1", headers=as_client).json()
    assert page["limit"] == 1
    assert page["total"] == 1


def test_nobody_writes_into_a_client_they_do_not_serve(
    cabinet: Cabinet, web: TestClient, world: World, as_client: dict[str, str]
) -> None:
    response = web.post(
        "/api/v1/counterparties",
        headers=as_client,
        json={"name": "Sneaky", "client_id": world.other_client.id},
    )
    # A client user always works on its own client, whatever the body says.
    assert response.status_code == 201
    assert response.json()["client_id"] == world.client.id
    manager = bearer(cabinet, world.manager)  # manages Alfa only
    response = web.post(
        "/api/v1/counterparties",
        headers=manager,
        json={"name": "Sneaky", "client_id": world.other_client.id},
    )
    assert response.status_code in (403, 404)
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    listing = web.get(f"/api/v1/products?client_id={world.other_client.id}", headers=manager)
    assert listing.status_code in (403, 404)
    assert_problem(web.get("/api/v1/products", headers=manager), 422)  # staff must say which


def test_documents_create_get_list_and_transition(
    web: TestClient, world: World, as_client: dict[str, str]
) -> None:
    created = web.post("/api/v1/documents", headers=as_client, json=INVOICE)
    assert created.status_code == 201, created.text
    document = created.json()
    assert document["status"] == "draft"
    assert document["number"] is None
    assert document["totals"]["net"] == "3050.00"
    assert document["totals"]["vat"] == "692.50"
    assert document["totals"]["gross"] == "3742.50"
    fetched = web.get(f"/api/v1/documents/{document['id']}", headers=as_client).json()
    assert fetched["lines"][0]["name"] == "Consulting"
    issued = web.post(f"/api/v1/documents/{document['id']}/transitions/issue", headers=as_client)
    assert issued.status_code == 200, issued.text
    assert issued.json()["status"] == "issued"
    assert issued.json()["number"].startswith("FV/1/")
    listed = web.get("/api/v1/documents?status=issued", headers=as_client).json()
    assert [item["id"] for item in listed["items"]] == [document["id"]]
    again = web.post(f"/api/v1/documents/{document['id']}/transitions/issue", headers=as_client)
    assert again.status_code in (403, 409)
    assert_problem(again, again.status_code)


def test_server_fields_in_a_new_document_are_ignored(
    web: TestClient, as_client: dict[str, str]
) -> None:
    forged = {**INVOICE, "status": "paid", "number": "FV/999/2026", "id": 77, "version": 9}
    body = web.post("/api/v1/documents", headers=as_client, json=forged).json()
    assert body["status"] == "draft"
    assert body["number"] is None
    assert body["id"] != 77


def test_preview_totals_saves_nothing(web: TestClient, as_client: dict[str, str]) -> None:
    response = web.post("/api/v1/documents/preview-totals", headers=as_client, json=INVOICE)
    assert response.status_code == 200, response.text
    totals = response.json()
    assert [row["rate"] for row in totals["rows"]] == ["23", "5"]
    assert totals["gross"] == "3742.50"
    assert web.get("/api/v1/documents", headers=as_client).json()["total"] == 0


def test_preview_with_an_unknown_currency_is_a_field_error(
    web: TestClient, as_client: dict[str, str]
) -> None:
    for currency in (None, "XYZ", "pln "):
        body = assert_problem(
            web.post(
                "/api/v1/documents/preview-totals",
                headers=as_client,
                json={**INVOICE, "currency": currency},
            ),
            422,
        )
        assert body["errors"][0]["field"] == "currency"


def test_invalid_document_is_a_422_with_field_paths(
    web: TestClient, as_client: dict[str, str]
) -> None:
    bad = {**INVOICE, "lines": [{"name": "", "unit_price": "-1", "vat_rate": "99"}]}
    body = assert_problem(web.post("/api/v1/documents", headers=as_client, json=bad), 422)
    fields = {error["field"] for error in body["errors"]}
    assert {"lines.0.name", "lines.0.unit_price", "lines.0.vat_rate"} <= fields


def test_wrong_types_are_422_and_name_the_field(web: TestClient, as_client: dict[str, str]) -> None:
    bad = {**INVOICE, "issue_date": "yesterday", "lines": [{"name": "x", "unit_price": 1.5}]}
    body = assert_problem(web.post("/api/v1/documents", headers=as_client, json=bad), 422)
    fields = {error["field"] for error in body["errors"]}
    assert "issue_date" in fields


def test_float_amounts_are_read_as_exact_decimals(
    web: TestClient, as_client: dict[str, str]
) -> None:
    # 0.1 + 0.2 style literals must not pass through a binary float on the way in.
    body = {**INVOICE, "lines": [{"name": "x", "unit_price": 0.1, "quantity": 3}]}
    response = web.post("/api/v1/documents/preview-totals", headers=as_client, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["net"] == "0.30"


def test_malformed_json_is_a_400_problem(web: TestClient, as_client: dict[str, str]) -> None:
    headers = {**as_client, "Content-Type": "application/json"}
    for raw in (b"{", b"\xff\xfe", b'{"a": NaN}', b"[" * 100_000):
        body = assert_problem(web.post("/api/v1/documents", headers=headers, content=raw), 400)
        assert body["errors"][0]["field"] == "body"
    assert_problem(web.post("/api/v1/documents", headers=headers, content=b"[1, 2]"), 422)
    form = {**as_client, "Content-Type": "text/plain"}
    assert_problem(web.post("/api/v1/documents", headers=form, content=b"{}"), 422)


@pytest.mark.parametrize(
    ("price", "quantity", "field", "code"),
    [
        ("NaN", "1", "lines.0.unit_price", "number"),
        ("-Infinity", "1", "lines.0.unit_price", "number"),
        ("1e400", "1", "lines.0.unit_price", "too_large"),
        ("1", "1e30", "lines.0.quantity", "too_large"),
        ("1.1234567", "1", "lines.0.unit_price", "precision"),
        ("999999999999", "999999", "lines", "too_large"),
    ],
)
def test_numbers_the_storage_cannot_hold_are_field_errors(
    web: TestClient, as_client: dict[str, str], price: str, quantity: str, field: str, code: str
) -> None:
    line = {"name": "x", "unit_price": price, "quantity": quantity}
    for endpoint in ("/api/v1/documents", "/api/v1/documents/preview-totals"):
        body = assert_problem(
            web.post(endpoint, headers=as_client, json={**INVOICE, "lines": [line]}), 422
        )
        assert {"field": field, "code": code} in [
            {"field": error["field"], "code": error["code"]} for error in body["errors"]
        ]


def test_ids_out_of_range_are_not_found_or_invalid(
    web: TestClient, as_client: dict[str, str]
) -> None:
    huge = 10**22
    assert_problem(web.get(f"/api/v1/documents/{huge}", headers=as_client), 404)
    assert_problem(web.get(f"/api/v1/clients/{huge}", headers=as_client), 404)
    assert_problem(web.post(f"/api/v1/documents/{huge}/transitions/issue", headers=as_client), 404)
    body = assert_problem(
        web.post(
            "/api/v1/counterparties", headers=as_client, json={"name": "x", "client_id": huge}
        ),
        422,
    )
    assert body["errors"][0] == {
        "field": "client_id",
        "code": "range",
        "message": "Liczba jest poza zakresem.",
    }
    assert_problem(web.get(f"/api/v1/documents?client_id={huge}", headers=as_client), 422)


def test_bad_query_parameters_are_422(web: TestClient, as_client: dict[str, str]) -> None:
    body = assert_problem(
        web.get("/api/v1/documents?date_from=31.12.2026&limit=100000", headers=as_client), 422
    )
    assert {error["field"] for error in body["errors"]} == {"date_from", "limit"}
    assert_problem(web.get("/api/v1/counterparties?offset=-1", headers=as_client), 422)


def test_unknown_paths_and_methods_are_problems(web: TestClient, as_client: dict[str, str]) -> None:
    assert_problem(web.get("/api/v1/nothing", headers=as_client), 404)
    assert_problem(web.get("/api/v1/documents/abc", headers=as_client), 404)
    assert_problem(web.delete("/api/v1/me", headers=as_client), 405)


def test_news_is_listed(cabinet: Cabinet, web: TestClient, as_client: dict[str, str]) -> None:
    from cabinet_core.entities import NewsItem

    cabinet.news.publish(Actor.system(), NewsItem(title="Nowe stawki", body="…"))
    body = web.get("/api/v1/news", headers=as_client).json()
    assert [item["title"] for item in body["items"]] == ["Nowe stawki"]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
LINE_KEYS = st.sampled_from(["quantity", "unit_price", "vat_rate", "name", "product_id"])
DOCUMENT_KEYS = st.sampled_from(
    [
        "doc_type",
        "issue_date",
        "lines",
        "currency",
        "buyer",
        "seller",
        "client_id",
        "extra",
        "payment_method",
        "price_mode",
        "due_date",
        "bank_account",
        "exchange_rate",
    ]
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    patch=st.dictionaries(DOCUMENT_KEYS, JSON_VALUES, max_size=4),
    line=st.dictionaries(LINE_KEYS, JSON_VALUES, max_size=3),
    endpoint=st.sampled_from(
        [
            "/api/v1/documents",
            "/api/v1/documents/preview-totals",
            "/api/v1/counterparties",
            "/api/v1/products",
        ]
    ),
)
def test_fuzzed_bodies_never_cause_a_500(
    web: TestClient,
    as_client: dict[str, str],
    patch: dict[str, Any],
    line: dict[str, Any],
    endpoint: str,
) -> None:
    body = {**INVOICE, "lines": [{**INVOICE["lines"][0], **line}], **patch}  # type: ignore[dict-item]
    response = web.post(
        endpoint,
        headers={**as_client, "Content-Type": "application/json"},
        content=json.dumps(body).encode(),
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)


def test_a_contract_without_its_template_is_a_422(
    web: TestClient, as_client: dict[str, str]
) -> None:
    contract = {
        "doc_type": "contract",
        "issue_date": "2026-11-02",
        "buyer": {"name": "Jan Zleceniobiorca"},
        "extra": {
            "contract_kind": "zlecenie",
            "subject": "Prace projektowe",
            "date_from": "2026-11-03",
            "rate_type": "lump_sum",
            "amount": "5000.00",
            "contractor_pesel": "44051401359",
        },
    }
    body = assert_problem(web.post("/api/v1/documents", headers=as_client, json=contract), 422)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("extra.template_version_id", "template_required")
    ]
    listed = web.get("/api/v1/documents?doc_type=contract", headers=as_client).json()
    assert listed["items"] == []
