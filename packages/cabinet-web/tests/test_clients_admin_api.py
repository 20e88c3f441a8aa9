"""``POST /api/v1/clients`` and bank sub-accounts through ``PATCH``: the same rules as the pages."""

from __future__ import annotations

from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from starlette.testclient import TestClient
from test_api import assert_problem, bearer
from web_support import World

SYSTEM = Actor.system()
NEW_CLIENT: dict[str, Any] = {
    "name": "Gamma sp. z o.o.",
    "nip": "123-456-32-18",
    "address": {"line1": "ul. Długa 1", "postal_code": "00-950", "city": "Warszawa"},
    "bank_accounts": [
        {"currency": "PLN", "iban": "61 1090 1014 0000 0712 1981 2874", "bank_name": "Santander"},
        {"currency": "EUR", "iban": "DE89370400440532013000", "label": "EUR"},
    ],
}


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    return database_urls


def test_a_manager_creates_a_client_of_their_own(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    headers = bearer(cabinet, world.manager)
    response = web.post(
        "/api/v1/clients",
        headers=headers,
        json={**NEW_CLIENT, "manager_id": world.admin.id, "id": 999, "active": False},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] != 999
    assert body["manager_id"] == world.manager.id
    assert body["nip"] == "1234563218"
    assert [a["iban"] for a in body["bank_accounts"]] == [
        "PL61109010140000071219812874",
        "DE89370400440532013000",
    ]
    assert web.get(f"/api/v1/clients/{body['id']}", headers=headers).json() == body


def test_bad_bank_accounts_are_field_errors_and_nothing_is_saved(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    headers = bearer(cabinet, world.admin)
    before = cabinet.clients.list(SYSTEM)
    bad = {
        **NEW_CLIENT,
        "bank_accounts": [
            {"currency": "GBP", "iban": "PL61109010140000071219812875"},
            {"currency": "EUR"},
        ],
    }
    problem = assert_problem(web.post("/api/v1/clients", headers=headers, json=bad), 422)
    assert {e["field"] for e in problem["errors"]} == {"bank_accounts.1.iban"}
    bad["bank_accounts"] = bad["bank_accounts"][:1]
    problem = assert_problem(web.post("/api/v1/clients", headers=headers, json=bad), 422)
    assert {(e["field"], e["code"]) for e in problem["errors"]} == {
        ("bank_accounts.0.currency", "unsupported"),
        ("bank_accounts.0.iban", "iban"),
    }
    assert cabinet.clients.list(SYSTEM) == before


def test_patch_validates_bank_accounts(cabinet: Cabinet, web: TestClient, world: World) -> None:
    headers = bearer(cabinet, world.client_user)
    url = f"/api/v1/clients/{world.client.id}"
    problem = assert_problem(
        web.patch(
            url, headers=headers, json={"bank_accounts": [{"currency": "USD", "iban": "DE00"}]}
        ),
        422,
    )
    assert [e["field"] for e in problem["errors"]] == ["bank_accounts.0.iban"]
    saved = web.patch(url, headers=headers, json={"bank_accounts": NEW_CLIENT["bank_accounts"]})
    assert saved.status_code == 200, saved.text
    assert [a["currency"] for a in saved.json()["bank_accounts"]] == ["PLN", "EUR"]


def test_only_managers_and_admins_create_clients(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    for user in (world.client_user, world.accountant):
        assert_problem(
            web.post("/api/v1/clients", headers=bearer(cabinet, user), json=NEW_CLIENT), 403
        )
    assert all(c.name != NEW_CLIENT["name"] for c in cabinet.clients.list(SYSTEM))
